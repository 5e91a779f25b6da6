# SPDX-License-Identifier: Apache-2.0
"""Encryption at rest of the kube-apiserver double, as the real transformers
do it (k8s.io/apiserver/pkg/storage/value/encrypt/{aes,secretbox} and
pkg/server/options/encryptionconfig):

* the first provider of the matching `resources` entry encrypts, with its
  first key; every provider, every key of it, is tried for reading, in
  order ("Each provider supports multiple keys - the keys are tried in
  order for decryption, and if the provider is the first provider, the
  first key is used for encryption", kubernetes/website
  content/en/docs/tasks/administer-cluster/encrypt-data.md);
* a value written by a key-based provider starts with
  `k8s:enc:<provider>:v1:<key name>:` and then the provider's bytes:
  aescbc = 16-byte IV + AES-256-CBC with PKCS#7 padding, aesgcm = 12-byte
  nonce + AES-GCM with the etcd key as additional data, secretbox = 24-byte
  nonce + NaCl secretbox (XSalsa20-Poly1305). So `etcdctl get
  /registry/secrets/NS/NAME` shows which key a Secret is under, as the
  page's "Verifying that data is encrypted" step does;
* a value under a key the configuration no longer has cannot be read
  ("If no provider can read the stored data due to a mismatch in format or
  secret key, an error is returned which prevents clients from accessing
  that resource");
* the file is read once at start unless
  --encryption-provider-config-automatic-reload is set (page section
  "Configure automatic reloading"); the double reloads it then.

Crypto: python3-cryptography (AES) and python3-nacl (secretbox), Debian's.
"""
import base64
import os

from . import configs

PREFIX = b"k8s:enc:"


class DecryptError(Exception):
    pass


def _aescbc_seal(key, data, _ctx):
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    iv = os.urandom(16)
    p = padding.PKCS7(128).padder()
    padded = p.update(data) + p.finalize()
    e = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return iv + e.update(padded) + e.finalize()


def _aescbc_open(key, data, _ctx):
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    if len(data) < 32 or len(data) % 16:
        raise DecryptError("the stored data is not a multiple of the block size")
    d = Cipher(algorithms.AES(key), modes.CBC(data[:16])).decryptor()
    padded = d.update(data[16:]) + d.finalize()
    u = padding.PKCS7(128).unpadder()
    try:
        return u.update(padded) + u.finalize()
    except ValueError:
        raise DecryptError("invalid PKCS7 data (empty or not padded)")


def _aesgcm_seal(key, data, ctx):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, data, ctx)


def _aesgcm_open(key, data, ctx):
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    try:
        return AESGCM(key).decrypt(data[:12], data[12:], ctx)
    except (InvalidTag, ValueError):
        raise DecryptError("cipher: message authentication failed")


def _secretbox_seal(key, data, _ctx):
    import nacl.secret
    import nacl.utils
    nonce = nacl.utils.random(nacl.secret.SecretBox.NONCE_SIZE)
    return nonce + nacl.secret.SecretBox(key).encrypt(data, nonce).ciphertext


def _secretbox_open(key, data, _ctx):
    import nacl.exceptions
    import nacl.secret
    try:
        return nacl.secret.SecretBox(key).decrypt(data[24:], data[:24])
    except (nacl.exceptions.CryptoError, ValueError):
        raise DecryptError("output array too small or secretbox open failed")


CIPHERS = {"aescbc": (_aescbc_seal, _aescbc_open),
           "aesgcm": (_aesgcm_seal, _aesgcm_open),
           "secretbox": (_secretbox_seal, _secretbox_open)}


class Transformer:
    """The providers of one `resources` entry, in order."""

    def __init__(self, providers):
        self.providers = providers   # [("identity", None) | (ptype, [(name, key)])]

    def write(self, data, ctx):
        ptype, keys = self.providers[0]
        if ptype == "identity":
            return data
        name, key = keys[0]
        return b"%s%s:v1:%s:" % (PREFIX, ptype.encode(), name.encode()) + CIPHERS[ptype][0](key, data, ctx)

    def read(self, value, ctx):
        """(plaintext, description of what it was under)."""
        if not value.startswith(PREFIX):
            if any(p == "identity" for p, _ in self.providers):
                return value, "identity"
            raise DecryptError("identity transformer tried to read encrypted data")
        errs = []
        for ptype, keys in self.providers:
            if ptype == "identity":
                continue
            head = b"%s%s:v1:" % (PREFIX, ptype.encode())
            if not value.startswith(head):
                continue
            rest = value[len(head):]
            for name, key in keys:
                tag = name.encode() + b":"
                if rest.startswith(tag):
                    return CIPHERS[ptype][1](key, rest[len(tag):], ctx), "%s:%s" % (ptype, name)
            errs.append("no matching key was found for the provided %s transformer" % ptype.upper())
        if not errs and any(p == "identity" for p, _ in self.providers):
            raise DecryptError("identity transformer tried to read encrypted data")
        raise DecryptError("; ".join(errs) or "no matching prefix found")


IDENTITY = Transformer([("identity", None)])


def load(path):
    """EncryptionConfiguration -> {resource plural (group-qualified for
    non-core): Transformer}. Wildcards are not rendered by slipway; the
    double accepts explicit names only (check_encryption_config validated
    the file)."""
    data = configs.check_encryption_config(path)
    out = {}
    for rc in data.get("resources") or []:
        provs = []
        for pv in rc.get("providers") or []:
            (ptype, pconf), = pv.items()
            if ptype == "identity":
                provs.append(("identity", None))
            elif ptype in CIPHERS:
                provs.append((ptype, [(k["name"], base64.b64decode(k["secret"]))
                                      for k in (pconf or {}).get("keys") or []]))
            else:
                raise configs.ConfigError("%s: provider %s is not implemented by the double" % (path, ptype))
        for r in rc.get("resources") or []:
            out.setdefault(r, Transformer(provs))
    return out


def describe(value):
    """What a stored value is under: "identity" or "<provider>:<key name>"
    (for tests reading etcd)."""
    if not value.startswith(PREFIX):
        return "identity"
    parts = value[len(PREFIX):].split(b":", 3)
    return "%s:%s" % (parts[0].decode(), parts[2].decode()) if len(parts) >= 3 else "unknown"
