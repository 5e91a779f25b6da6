# SPDX-License-Identifier: Apache-2.0
"""Key, CSR and certificate helpers: /usr/bin/openssl through subprocess and
the standard ssl module (which parses PEM and checks key/cert pairs)."""
import base64
import os
import re
import ssl
import subprocess
import tempfile

OPENSSL = os.environ.get("K8SDOUBLE_OPENSSL", "/usr/bin/openssl")


class PKIError(Exception):
    pass


def openssl(*args, data=None):
    r = subprocess.run([OPENSSL] + list(args), input=data, capture_output=True)
    if r.returncode != 0:
        msg = r.stderr.decode(errors="replace").strip().splitlines()
        raise PKIError(msg[0] if msg else "openssl %s failed" % args[0])
    return r.stdout


PEM_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.S)


def pem_blocks(data):
    if isinstance(data, str):
        data = data.encode()
    return [(m.group(1).decode(), m.group(0)) for m in PEM_RE.finditer(data)]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def check_cert_bundle(data, what="certificate"):
    """data: PEM bytes with one or more CERTIFICATE blocks, all parseable."""
    blocks = pem_blocks(data)
    certs = [b for t, b in blocks if t == "CERTIFICATE"]
    if not certs:
        raise PKIError("%s: no PEM CERTIFICATE block found" % what)
    for b in certs:
        try:
            openssl("x509", "-noout", data=b)
        except PKIError as e:
            raise PKIError("%s: cannot parse certificate: %s" % (what, e))
    return len(certs)


def check_cert_file(path, what=None):
    what = what or path
    if not os.path.exists(path):
        raise PKIError("%s: open %s: no such file or directory" % (what, path))
    return check_cert_bundle(read(path), what)


def check_key_data(data, what="key"):
    blocks = [b for t, b in pem_blocks(data) if "PRIVATE KEY" in t]
    if not blocks:
        raise PKIError("%s: no PEM PRIVATE KEY block found" % what)
    try:
        openssl("pkey", "-noout", data=blocks[0])
    except PKIError as e:
        raise PKIError("%s: cannot parse private key: %s" % (what, e))


def check_key_file(path, what=None):
    what = what or path
    if not os.path.exists(path):
        raise PKIError("%s: open %s: no such file or directory" % (what, path))
    check_key_data(read(path), what)


def check_pair_files(cert, key, what="certificate/key pair"):
    check_cert_file(cert)
    check_key_file(key)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        ctx.load_cert_chain(cert, key)
    except ssl.SSLError as e:
        raise PKIError("%s: private key does not match public key (%s, %s): %s" % (what, cert, key, e))


def check_public_or_private_key_file(path):
    """--service-account-key-file: PEM public or private keys (or certs)."""
    if not os.path.exists(path):
        raise PKIError("open %s: no such file or directory" % path)
    blocks = pem_blocks(read(path))
    if not blocks:
        raise PKIError("%s: data does not contain any valid RSA or ECDSA public keys" % path)
    for t, b in blocks:
        if "PRIVATE KEY" in t:
            openssl("pkey", "-noout", data=b)
        elif "PUBLIC KEY" in t:
            openssl("pkey", "-pubin", "-noout", data=b)
        elif t == "CERTIFICATE":
            openssl("x509", "-noout", data=b)


def gen_ec_key():
    """ECDSA P-256 key as SEC1 'EC PRIVATE KEY' PEM (what the kubelet writes)."""
    return openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout")


def make_csr(key_pem, subject, dns=(), ips=()):
    with tempfile.TemporaryDirectory() as d:
        kp = os.path.join(d, "k.pem")
        with open(kp, "wb") as f:
            f.write(key_pem)
        args = ["req", "-new", "-key", kp, "-subj", subject, "-sha256"]
        sans = ["DNS:" + x for x in dns] + ["IP:" + x for x in ips]
        if sans:
            args += ["-addext", "subjectAltName=" + ",".join(sans)]
        return openssl(*args)


def csr_info(pem):
    """Verify a CSR's signature; returns {'cn', 'orgs', 'dns', 'ips'}."""
    blocks = pem_blocks(pem)
    if len(blocks) != 1 or blocks[0][0] != "CERTIFICATE REQUEST":
        raise PKIError("PEM block type must be CERTIFICATE REQUEST")
    try:
        out = openssl("req", "-noout", "-verify", "-subject", "-nameopt",
                      "sep_multiline,sname,utf8", "-text", data=blocks[0][1]).decode()
    except PKIError as e:
        raise PKIError("invalid certificate request: %s" % e)
    info = {"cn": "", "orgs": [], "dns": [], "ips": []}
    for line in out.splitlines():
        s = line.strip()
        if line.startswith("    ") and "=" in s and not line.startswith("        "):
            k, v = s.split("=", 1)
            if k == "CN":
                info["cn"] = v
            elif k == "O":
                info["orgs"].append(v)
        if s.startswith("DNS:") or s.startswith("IP Address:"):
            for part in s.split(","):
                part = part.strip()
                if part.startswith("DNS:"):
                    info["dns"].append(part[4:])
                elif part.startswith("IP Address:"):
                    info["ips"].append(part[11:])
    return info


def cert_subject(pem):
    out = openssl("x509", "-noout", "-subject", "-nameopt", "sep_multiline,sname,utf8",
                  data=pem).decode()
    cn, orgs = "", []
    for line in out.splitlines()[1:]:
        k, _, v = line.strip().partition("=")
        if k == "CN":
            cn = v
        elif k == "O":
            orgs.append(v)
    return cn, orgs


def self_signed(cn, dns=(), ips=(), days=365):
    """Self-signed serving cert + key (PEM bytes), like the components
    generate for their secure port when no --tls-cert-file is given."""
    key = gen_ec_key()
    with tempfile.TemporaryDirectory() as d:
        kp = os.path.join(d, "k.pem")
        with open(kp, "wb") as f:
            f.write(key)
        sans = ["DNS:" + x for x in dns] + ["IP:" + x for x in ips]
        args = ["req", "-x509", "-new", "-key", kp, "-subj", "/CN=" + cn, "-days", str(days),
                "-sha256", "-addext", "extendedKeyUsage=serverAuth"]
        if sans:
            args += ["-addext", "subjectAltName=" + ",".join(sans)]
        cert = openssl(*args)
    return cert, key


USAGE_KU = {"digital signature": "digitalSignature", "key encipherment": "keyEncipherment",
            "content commitment": "nonRepudiation", "key agreement": "keyAgreement",
            "data encipherment": "dataEncipherment", "cert sign": "keyCertSign",
            "crl sign": "cRLSign", "encipher only": "encipherOnly", "decipher only": "decipherOnly"}
USAGE_EKU = {"server auth": "serverAuth", "client auth": "clientAuth",
             "code signing": "codeSigning", "email protection": "emailProtection",
             "timestamping": "timeStamping", "ocsp signing": "OCSPSigning"}


def sign_csr(csr_pem, ca_cert, ca_key, usages, seconds=365 * 86400):
    """Sign a CSR with a CA (file paths), keeping subject and SANs, like the
    kube-controller-manager csrsigning controller.  Returns PEM."""
    ku = [USAGE_KU[u] for u in usages if u in USAGE_KU]
    eku = [USAGE_EKU[u] for u in usages if u in USAGE_EKU]
    with tempfile.TemporaryDirectory() as d:
        cp, ep = os.path.join(d, "c.pem"), os.path.join(d, "ext.cnf")
        with open(cp, "wb") as f:
            f.write(csr_pem)
        info = csr_info(csr_pem)
        lines = ["basicConstraints=critical,CA:FALSE"]
        if ku:
            lines.append("keyUsage=critical," + ",".join(ku))
        if eku:
            lines.append("extendedKeyUsage=" + ",".join(eku))
        sans = ["DNS:" + x for x in info["dns"]] + ["IP:" + x for x in info["ips"]]
        if sans:
            lines.append("subjectAltName=" + ",".join(sans))
        with open(ep, "w") as f:
            f.write("\n".join(lines) + "\n")
        days = max(1, int(seconds // 86400))
        return openssl("x509", "-req", "-in", cp, "-CA", ca_cert, "-CAkey", ca_key,
                       "-set_serial", str(int.from_bytes(os.urandom(8), "big")),
                       "-days", str(days), "-sha256", "-extfile", ep)


def b64decode_strict(s):
    if not isinstance(s, str):
        raise ValueError("not a string")
    s2 = "".join(s.split())
    return base64.b64decode(s2, validate=True)
