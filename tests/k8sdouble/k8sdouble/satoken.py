# SPDX-License-Identifier: Apache-2.0
"""Service-account tokens of the kube-apiserver double, as the real
TokenRequest issuer and JWT authenticator handle them
(kubernetes pkg/serviceaccount/jwt.go, pkg/kubeapiserver/options/
authentication.go, kube-apiserver reference page):

* tokens are JWS compact serialisations signed with the key in
  --service-account-signing-key-file: RS256 for an RSA key, ES256 for a
  P-256 key, with "kid" = base64url(SHA-256(PKIX DER of the public key));
* every key found in every --service-account-key-file verifies ("The
  specified file can contain multiple keys, and the flag can be specified
  multiple times with different files"; the validator tries each key in
  turn); a token verifies if any of them accepts its signature;
* the files are read when the apiserver starts and never again (the
  authenticator is built once from the parsed keys): a new public key takes
  effect only after a restart;
* --service-account-max-token-expiration must lie between 1 hour and 2^32
  seconds (kube-apiserver options validation) and caps the lifetime of
  every token issued; with --service-account-extend-token-expiration (the
  default, true) a Pod-bound token asked for with exactly 3607 s is
  extended to a year regardless of the cap ("ignoring value of
  service-account-max-token-expiration"), so a cluster that wants the cap
  to hold sets it to false.
"""
import base64
import hashlib
import json
import time

from . import pki

MIN_MAX_EXPIRATION = 3600
MAX_MAX_EXPIRATION = 1 << 32
WARN_ONLY_BOUND_SECONDS = 3607
EXTENDED_SECONDS = 365 * 24 * 3600


def b64url(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def unb64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _load_private(pem):
    from cryptography.hazmat.primitives import serialization
    for t, block in pki.pem_blocks(pem):
        if "PRIVATE KEY" in t:
            return serialization.load_pem_private_key(block, password=None)
    raise pki.PKIError("no PEM PRIVATE KEY block")


def load_public_keys(pem):
    """Every public key in a PEM file: PUBLIC KEY, private keys (their
    public half) and certificates."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    out = []
    for t, block in pki.pem_blocks(pem):
        if "PRIVATE KEY" in t:
            out.append(serialization.load_pem_private_key(block, password=None).public_key())
        elif "PUBLIC KEY" in t:
            out.append(serialization.load_pem_public_key(block))
        elif t == "CERTIFICATE":
            out.append(x509.load_pem_x509_certificate(block).public_key())
    return out


def key_id(pub):
    from cryptography.hazmat.primitives import serialization
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return b64url(hashlib.sha256(der).digest())


def _alg(key):
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "RS256"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        if key.curve.name != "secp256r1":
            raise pki.PKIError("unsupported curve %s" % key.curve.name)
        return "ES256"
    raise pki.PKIError("unsupported key type")


class Signer:
    def __init__(self, private_pem):
        self.key = _load_private(private_pem)
        self.alg = _alg(self.key)
        self.kid = key_id(self.key.public_key())

    def sign(self, claims):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
        head = {"alg": self.alg, "kid": self.kid}
        signing_input = (b64url(json.dumps(head, separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode())).encode()
        if self.alg == "RS256":
            sig = self.key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:
            r, s = utils.decode_dss_signature(self.key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return signing_input.decode() + "." + b64url(sig)


def verify(token, public_keys):
    """The claims if some key verifies the signature, else None (expiry and
    the rest are the caller's)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        head = json.loads(unb64url(parts[0]))
        claims = json.loads(unb64url(parts[1]))
        sig = unb64url(parts[2])
    except (ValueError, TypeError):
        return None
    signing_input = (parts[0] + "." + parts[1]).encode()
    for pub in public_keys:
        try:
            alg = _alg(pub)
        except pki.PKIError:
            continue
        if head.get("alg") != alg:
            continue
        try:
            if alg == "RS256":
                pub.verify(sig, signing_input, padding.PKCS1v15(), hashes.SHA256())
            else:
                if len(sig) != 64:
                    continue
                der = utils.encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
                pub.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
            return claims
        except InvalidSignature:
            continue
    return None


def lifetime(requested, max_expiration, extend, pod_bound):
    """The lifetime a TokenRequest gets (pkg/registry/core/serviceaccount/
    storage/token.go): capped by the max, except the extended bound token."""
    if extend and pod_bound and requested == WARN_ONLY_BOUND_SECONDS:
        return EXTENDED_SECONDS
    if max_expiration and requested > max_expiration:
        return max_expiration
    return requested


def claims_for(issuer, audiences, ns, name, uid, seconds, now=None):
    now = int(now or time.time())
    return {"aud": audiences, "exp": now + seconds, "iat": now, "nbf": now, "iss": issuer,
            "sub": "system:serviceaccount:%s:%s" % (ns, name),
            "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": name, "uid": uid}}}
