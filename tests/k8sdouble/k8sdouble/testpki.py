# SPDX-License-Identifier: Apache-2.0
"""Throw-away PKI for the self-tests (openssl): a CA, serving and client
certificates, kubeconfigs.  Not used by the doubles themselves."""
import base64
import os
import subprocess

import yaml

OPENSSL = "/usr/bin/openssl"


def _run(*args):
    subprocess.run([OPENSSL] + list(args), check=True, capture_output=True)


def ca(d, name="ca", cn="kubernetes"):
    key, crt = os.path.join(d, name + "-key.pem"), os.path.join(d, name + ".pem")
    _run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
    _run("req", "-x509", "-new", "-key", key, "-subj", "/CN=" + cn, "-days", "30", "-sha256",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
         "-out", crt)
    return crt, key


def cert(d, name, ca_crt, ca_key, cn, orgs=(), dns=(), ips=(), server=False, client=True):
    key, csr, crt = (os.path.join(d, name + s) for s in ("-key.pem", ".csr", ".pem"))
    _run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
    subj = "".join("/O=" + o for o in orgs) + "/CN=" + cn
    _run("req", "-new", "-key", key, "-subj", subj, "-out", csr)
    eku = ",".join(x for x, on in (("serverAuth", server), ("clientAuth", client)) if on)
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=%s\n" % eku)
        sans = ["DNS:" + x for x in dns] + ["IP:" + x for x in ips]
        if sans:
            f.write("subjectAltName=%s\n" % ",".join(sans))
    _run("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-set_serial",
         str(int.from_bytes(os.urandom(8), "big")), "-days", "30", "-sha256", "-extfile", ext, "-out", crt)
    return crt, key


def kubeconfig(path, server, ca_crt, cert=None, key=None, token=None, embed=True, user="user"):
    with open(ca_crt, "rb") as f:
        ca_data = base64.b64encode(f.read()).decode()
    u = {}
    if cert:
        if embed:
            with open(cert, "rb") as f:
                u["client-certificate-data"] = base64.b64encode(f.read()).decode()
            with open(key, "rb") as f:
                u["client-key-data"] = base64.b64encode(f.read()).decode()
        else:
            u["client-certificate"], u["client-key"] = cert, key
    if token:
        u["token"] = token
    cfg = {"apiVersion": "v1", "kind": "Config",
           "clusters": [{"name": "kubernetes", "cluster": {"server": server, "certificate-authority-data": ca_data}}],
           "users": [{"name": user, "user": u}],
           "contexts": [{"name": "default", "context": {"cluster": "kubernetes", "user": user}}],
           "current-context": "default"}
    with open(path, "w") as f:
        yaml.safe_dump(cfg, f)
    return path
