#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""endpoint_enroll: POST /v1/enroll against a real `slipway serve`, with
CSRs made by openssl. A CSR for another node's subject or SANs (or another
group) gets 403 with the rule that failed; garbage, DER or an empty body
400; a body over 64 KiB 413 (declared with Content-Length, or chunked);
a bad token 401 before the body is looked at. None of these writes
anything (LMDB entry counts compared with mdb_stat) and the token stays
active. Then the node's own CSR gets a chain: leaf + CA, verifying with
openssl, for the node's own key, with the subject and SANs asked for;
the token is used and a second try is 401.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from endpoint_common import State, Server, check, done, log, curl

st = State()
srv = Server(st)
url = srv.url + "/v1/enroll"
tmp = st.tmp


def sh(*cmd, **kw):
    p = subprocess.run(list(cmd), capture_output=True, **kw)
    if p.returncode != 0:
        raise SystemExit("%s failed: %s" % (cmd[0], p.stderr))
    return p.stdout


key = os.path.join(tmp, "node-key.pem")
sh("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)


def csr(name, subj, san=None, fmt="PEM"):
    path = os.path.join(tmp, name)
    cmd = ["openssl", "req", "-new", "-key", key, "-subj", subj, "-out", path,
           "-outform", fmt]
    if san:
        cmd += ["-addext", "subjectAltName=" + san]
    sh(*cmd)
    return path


good = csr("good.csr", "/O=system:nodes/CN=system:node:test1",
           "DNS:test1,IP:192.168.0.91")
client = csr("client.csr", "/O=system:nodes/CN=system:node:test1")
foreign_cn = csr("foreign-cn.csr", "/O=system:nodes/CN=system:node:test2")
foreign_san = csr("foreign-san.csr", "/O=system:nodes/CN=system:node:test1",
                  "DNS:test2")
foreign_ip = csr("foreign-ip.csr", "/O=system:nodes/CN=system:node:test1",
                 "IP:192.168.0.92")
masters = csr("masters.csr", "/O=system:masters/CN=system:node:test1")
der = csr("good.der", "/O=system:nodes/CN=system:node:test1", fmt="DER")
garbage = os.path.join(tmp, "garbage")
open(garbage, "wb").write(b"-----BEGIN CERTIFICATE REQUEST-----\nnot base64\n")
big = os.path.join(tmp, "big")
open(big, "wb").write(open(good, "rb").read() + b"\n" * (70 * 1024))

tok = st.token_json("test1")["token"]
tid = tok.split(".")[0]


def post(path, token=tok, chunked=False):
    args = ["-X", "POST", "-H", "Content-Type: application/pkcs10",
            "--data-binary", "@" + path]
    if chunked:
        args += ["-H", "Transfer-Encoding: chunked"]
    return curl(url, *args, token=token)


before = st.counts()
for name, path, want, reason in (
        ("another node's CN", foreign_cn, 403, "CN must be 'system:node:test1'"),
        ("another node's DNS SAN", foreign_san, 403, "SAN DNS:test2 is not node test1's"),
        ("another node's IP SAN", foreign_ip, 403, "SAN IP:192.168.0.92 is not node test1's"),
        ("another group", masters, 403, "O must be exactly 'system:nodes'"),
        ("garbage", garbage, 400, ""),
        ("DER instead of PEM", der, 400, ""),
        ("over 64 KiB", big, 413, "over 65536 bytes")):
    s, h, b = post(path)
    try:
        err = json.loads(b)["error"]
    except Exception:
        err = None
    check(s == want and err is not None and reason in err,
          "%s: %d %s" % (name, s, err))
s, h, b = post(big, chunked=True)
check(s == 413, "over 64 KiB, chunked: %d" % s)
s, h, b = post("/dev/null")
check(s == 400, "empty body: %d" % s)
s, h, b = post(garbage, token="0123456789abcdef." + "0" * 40)
check(s == 401, "a bad token is refused before the body is read: %d" % s)
s, h, b = curl(url, token=tok)
check(s == 405 and h.get("allow") == "POST", "GET /v1/enroll: 405, Allow: POST")
after = st.counts()
check(before == after, "nothing written by any refused request (%s)" % after)
state = {t["id"]: t["state"] for t in st.tokens()}[tid]
check(state == "active", "the token is still active")

s, h, b = post(good)
check(s == 200 and h.get("content-type") == "application/x-pem-file",
      "the node's own CSR: 200, a PEM chain")
chain = b.decode()
certs = ["-----BEGIN CERTIFICATE-----" + c for c in
         chain.split("-----BEGIN CERTIFICATE-----")[1:]]
check(len(certs) >= 2, "leaf + CA (%d certificates)" % len(certs))
open(os.path.join(tmp, "leaf.pem"), "w").write(certs[0])
open(os.path.join(tmp, "ca.pem"), "w").write("".join(certs[1:]))
p = subprocess.run(["openssl", "verify", "-CAfile", os.path.join(tmp, "ca.pem"),
                    os.path.join(tmp, "leaf.pem")], capture_output=True, text=True)
check(p.returncode == 0, "openssl verify: the leaf chains to the CA in the answer")
_, _, ca = curl(srv.url + "/v1/ca.pem")
check(certs[1].strip().encode() in ca, "that CA is in /v1/ca.pem")
leaf_pub = sh("openssl", "x509", "-in", os.path.join(tmp, "leaf.pem"), "-noout", "-pubkey")
node_pub = sh("openssl", "pkey", "-in", key, "-pubout")
check(leaf_pub == node_pub, "the certificate is for the node's own key (it never left the node)")
text = sh("openssl", "x509", "-in", os.path.join(tmp, "leaf.pem"), "-noout", "-text").decode()
subj = [l for l in text.splitlines() if l.strip().startswith("Subject:")][0]
check("O = system:nodes," in subj and subj.endswith("CN = system:node:test1") and
      subj.count("O = ") == 1, "subject: %s" % subj.strip())
check("DNS:test1" in text and "IP Address:192.168.0.91" in text, "SANs as asked")
check("TLS Web Server Authentication" in text, "a kubelet serving certificate")
after2 = st.counts()
check(after2["certs"] == after["certs"] + 1 and after2["issuance"] == after["issuance"] + 1,
      "one certificate and one issuance record written")
t = [t for t in st.tokens() if t["id"] == tid][0]
check(t["state"] == "used" and t["usedFor"] == "enroll" and
      t["issuance"]["certificates"][0]["purpose"] == "kubelet-serving",
      "token used for enroll, issuance names the kubelet-serving certificate")
s, _, _ = post(good)
check(s == 401, "a second enrollment with the same token: 401")

# a client certificate (no SANs) with a fresh token
tok2 = st.token_json("test1")["token"]
s, h, b = post(client, token=tok2)
open(os.path.join(tmp, "client.pem"), "wb").write(b)
text = subprocess.run(["openssl", "x509", "-in", os.path.join(tmp, "client.pem"),
                       "-noout", "-text"], capture_output=True, text=True).stdout
check(s == 200 and "TLS Web Client Authentication" in text and
      "Server Authentication" not in text, "no SANs: a kubelet client certificate")
check("PRIVATE KEY" not in srv.log_text() and tok.split(".")[1] not in srv.log_text(),
      "no key or token secret in the log")
check(srv.stop() == 0, "serve stops cleanly")
done()
