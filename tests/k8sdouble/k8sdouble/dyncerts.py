# SPDX-License-Identifier: Apache-2.0
"""Certificate files the real components reload while running, and how.

k8s.io/apiserver/pkg/server/dynamiccertificates: DynamicFileCAContent
(dynamic_cafile_content.go) and DynamicCertKeyPairContent
(dynamic_serving_content.go) watch their files with fsnotify (and re-check
every minute); a changed file that parses replaces the content at once, an
empty or broken one is ignored (the last good content stays), and a
cert/key pair is only taken when the two match. The kube-apiserver uses
them for --client-ca-file ("client-ca-bundle"), --requestheader-client-ca-file
("request-header") and its serving certificate ("serving-cert"), and
offers the union of both CA bundles as acceptable client CAs in the TLS
handshake (union_content.go); the kubelet uses one for
authentication.x509.clientCAFile (pkg/kubelet/server/auth.go BuildAuthn).
The x509 authenticator verifies the client certificate on every request
against the current bundle, requiring the client-auth usage
(defaultVerifyOptions), so dropping a CA from the file ends the next
request of a connection made with it.

The double polls the files every 0.5 s instead of fsnotify (the same
effect: a change is seen about at once).
"""
import datetime
import ssl
import threading

from . import common
from . import pki

POLL = 0.5


def _load_certs(pem):
    from cryptography import x509
    out = []
    for t, block in pki.pem_blocks(pem):
        if t == "CERTIFICATE":
            out.append(x509.load_pem_x509_certificate(block))
    return out


def signed_by(leaf, ca):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    if leaf.issuer != ca.subject:
        return False
    pub = ca.public_key()
    try:
        if isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(leaf.signature, leaf.tbs_certificate_bytes, ec.ECDSA(leaf.signature_hash_algorithm))
        elif isinstance(pub, rsa.RSAPublicKey):
            pub.verify(leaf.signature, leaf.tbs_certificate_bytes, padding.PKCS1v15(), leaf.signature_hash_algorithm)
        else:
            return False
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


class DynamicCA:
    """A CA bundle file, reloaded when it changes."""

    def __init__(self, name, path):
        self.name, self.path = name, path
        self.pem = b""
        self.certs = []
        self.lock = threading.Lock()
        if not self.load():
            raise pki.PKIError("%s: no valid CA bundle in %s" % (name, path))

    def load(self):
        """True if the content changed (and was taken)."""
        try:
            pem = pki.read(self.path)
        except OSError:
            return False
        if not pem or pem == self.pem:
            return False
        try:
            certs = _load_certs(pem)
        except ValueError:
            certs = []
        if not certs:
            return False
        with self.lock:
            self.pem, self.certs = pem, certs
        common.log("dynamic-ca", "Loaded a new CA Bundle and Verifier name=%s::%s (%d certificates)"
                   % (self.name, self.path, len(certs)))
        return True

    def verify_client(self, der):
        """The leaf (DER) chains to a CA of the current bundle, is valid now
        and may be used for client authentication."""
        from cryptography import x509
        from cryptography.x509.oid import ExtendedKeyUsageOID
        try:
            leaf = x509.load_der_x509_certificate(der)
        except ValueError:
            return False
        now = datetime.datetime.utcnow()
        if not leaf.not_valid_before <= now <= leaf.not_valid_after:
            return False
        try:
            eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            if ExtendedKeyUsageOID.CLIENT_AUTH not in eku and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in eku:
                return False
        except x509.ExtensionNotFound:
            pass
        with self.lock:
            certs = list(self.certs)
        return any(signed_by(leaf, ca) for ca in certs)


class DynamicPair:
    """A serving cert/key pair, reloaded when both files change together."""

    def __init__(self, name, cert, key):
        self.name, self.cert, self.key = name, cert, key
        self.content = None
        if not self.load():
            raise pki.PKIError("%s: cannot load %s/%s" % (name, cert, key))

    def load(self):
        try:
            content = (pki.read(self.cert), pki.read(self.key))
        except OSError:
            return False
        if not content[0] or not content[1] or content == self.content:
            return False
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            ctx.load_cert_chain(self.cert, self.key)
        except (ssl.SSLError, OSError):
            return False        # one file written before the other
        # the files may have changed between the read and the load
        if (pki.read(self.cert), pki.read(self.key)) != content:
            return False
        self.content = content
        common.log("dynamic-serving", "Loaded a new cert/key pair name=%s::%s::%s" % (self.name, self.cert, self.key))
        return True


class Poller:
    """Calls each source's load() every POLL seconds; on a change, the
    callback."""

    def __init__(self, on_change):
        self.sources = []
        self.on_change = on_change
        self.stop = threading.Event()

    def add(self, src):
        if src is not None:
            self.sources.append(src)

    def start(self):
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self.stop.wait(POLL):
            changed = False
            for s in self.sources:
                try:
                    changed |= s.load()
                except Exception as e:  # noqa: BLE001 (keep polling)
                    common.log("dynamic-certs", "%s: %s" % (s.name, e), "E")
            if changed:
                try:
                    self.on_change()
                except Exception as e:  # noqa: BLE001
                    common.log("dynamic-certs", "applying new certificates: %s" % e, "E")


def server_context(pair, cas, min_version=None):
    """An SSLContext for a listener: the pair's cert, the union of the CA
    bundles as acceptable client CAs (optional client certificates)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = {"VersionTLS13": ssl.TLSVersion.TLSv1_3}.get(min_version, ssl.TLSVersion.TLSv1_2)
    ctx.load_cert_chain(pair.cert, pair.key)
    union = b"".join(c.pem.rstrip(b"\n") + b"\n" for c in cas if c is not None)
    if union:
        ctx.load_verify_locations(cadata=union.decode())
        ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx
