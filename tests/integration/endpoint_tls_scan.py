#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""endpoint_tls_scan: what the endpoint accepts, seen from outside.
sslscan: SSLv2/SSLv3/TLS 1.0/TLS 1.1 disabled, TLS 1.2 and 1.3 enabled,
every accepted suite AEAD (GCM or ChaCha20-Poly1305) and, in TLS 1.2,
ECDHE. openssl s_client per protocol and per cipher family confirms it,
with a control: the same client commands do connect to an openssl
s_server that allows them, so a refusal is the endpoint's and not the
client's. The certificate has the inventory's bootstrap address and
chains to /v1/ca.pem.
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from endpoint_common import State, Server, check, done, log, curl, free_port

st = State()
srv = Server(st)
hostport = "127.0.0.1:%d" % st.port

p = subprocess.run(["sslscan", "--no-colour", hostport], capture_output=True,
                   text=True, timeout=300)
out = p.stdout
log(out)
proto = dict(re.findall(r"(?m)^(SSLv2|SSLv3|TLSv1\.[0-3])\s+(enabled|disabled)", out))
for v in ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1"):
    check(proto.get(v) == "disabled", "sslscan: %s disabled" % v)
for v in ("TLSv1.2", "TLSv1.3"):
    check(proto.get(v) == "enabled", "sslscan: %s enabled" % v)
suites = re.findall(r"(?m)^(?:Preferred|Accepted)\s+(\S+)\s+\d+ bits\s+(\S+)", out)
check(len(suites) >= 4, "sslscan lists the accepted suites (%d)" % len(suites))
aead = re.compile(r"GCM|CHACHA20[-_]POLY1305")
for v, name in suites:
    check(aead.search(name) is not None and "CBC" not in name and
          not re.search(r"(-SHA|RC4|3DES|NULL|EXPORT|anon)$", name),
          "%s %s is AEAD" % (v, name))
    if v == "TLSv1.2":
        check(name.startswith("ECDHE-"), "%s %s uses ECDHE" % (v, name))

# openssl s_client: one handshake per protocol / cipher family
def s_client(target, *args):
    p = subprocess.run(["openssl", "s_client", "-connect", target, "-brief"] +
                       list(args), input=b"", capture_output=True, timeout=30)
    return p.returncode == 0 and b"CONNECTION ESTABLISHED" in p.stderr

legacy = ["-cipher", "DEFAULT:@SECLEVEL=0"]
cbc = "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256:" \
      "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES128-SHA:AES128-SHA:AES256-SHA256"
probes = [
    ("TLS 1.0", ["-tls1"] + legacy, False),
    ("TLS 1.1", ["-tls1_1"] + legacy, False),
    ("TLS 1.2 CBC suites", ["-tls1_2", "-cipher", cbc + ":@SECLEVEL=0"], False),
    ("TLS 1.2 static-RSA GCM", ["-tls1_2", "-cipher", "AES128-GCM-SHA256:AES256-GCM-SHA384"], False),
    ("TLS 1.2 DHE", ["-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256"], False),
    ("TLS 1.2", ["-tls1_2"], True),
    ("TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256", ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"], True),
    ("TLS 1.2 ECDHE-ECDSA-CHACHA20-POLY1305", ["-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"], True),
    ("TLS 1.3", ["-tls1_3"], True),
]
for name, args, want in probes:
    got = s_client(hostport, *args)
    check(got == want, "s_client %s: %s" % (name, "connects" if got else "refused"))

# control: an openssl s_server that allows the old things, same client
ctl_port = free_port()
key = os.path.join(st.tmp, "ctl-key.pem")
crt = os.path.join(st.tmp, "ctl.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=control",
                "-keyout", key, "-out", crt, "-days", "1"], capture_output=True,
               check=True)
ctl = subprocess.Popen(["openssl", "s_server", "-accept", str(ctl_port), "-key", key,
                        "-cert", crt, "-cipher", "ALL:@SECLEVEL=0", "-naccept", "100",
                        "-quiet"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
try:
    target = "127.0.0.1:%d" % ctl_port
    for _ in range(100):
        if s_client(target, "-tls1_2"):
            break
        time.sleep(0.05)
    for name, args, want in probes[:3]:
        check(s_client(target, *args), "control: the same client does %s with a "
              "server that allows it" % name)
finally:
    ctl.kill()
    ctl.wait(10)

# the certificate: inventory names, chains to /v1/ca.pem
p = subprocess.run(["openssl", "s_client", "-connect", hostport, "-showcerts"],
                   input=b"", capture_output=True, timeout=30)
pem = re.search(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", p.stdout, re.S)
open(os.path.join(st.tmp, "served.pem"), "wb").write(pem.group(0) if pem else b"")
_, _, ca = curl(srv.url + "/v1/ca.pem")
open(os.path.join(st.tmp, "ca.pem"), "wb").write(ca)
v = subprocess.run(["openssl", "verify", "-CAfile", os.path.join(st.tmp, "ca.pem"),
                    "-purpose", "sslserver", os.path.join(st.tmp, "served.pem")],
                   capture_output=True, text=True)
check(v.returncode == 0, "the served certificate verifies against /v1/ca.pem for TLS servers")
txt = subprocess.run(["openssl", "x509", "-in", os.path.join(st.tmp, "served.pem"),
                      "-noout", "-ext", "subjectAltName"], capture_output=True, text=True).stdout
check("IP Address:127.0.0.1" in txt and "DNS:localhost" in txt,
      "SANs: the bootstrap address 127.0.0.1 and localhost")
check(srv.stop() == 0, "serve stops cleanly")
done()
