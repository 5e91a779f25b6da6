#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""endpoint_oneliner: the exact one-liner `slipway token create` prints,
run by real curl (pinned key, -k, no CA file), downloads the node's bundle
from a real `slipway serve` on 127.0.0.1. The tar unpacks into a temporary
root with absolute-path entries and the right modes; install.sh runs there
in its test-root mode (SLIPWAY_ROOT); the certificates chain to
/v1/ca.pem; the same line run again fails; /metrics counts it all.

Only the tail of the line is redirected (tar -C ROOT and SLIPWAY_ROOT
instead of / ): the curl command is run verbatim.
"""
import os
import stat
import subprocess
import sys
import tarfile
import io

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from endpoint_common import (State, Server, check, done, log, run_bash,
                             clean_env, curl, ONELINER)

TAIL = " | tar -xz -C / && /etc/slipway/install.sh"

st = State()
srv = Server(st)
line, token, pin = st.token("test2")
check(ONELINER.match(line) is not None, "token create prints the DESIGN.md one-liner")
check(pin == srv.pin, "the pin in the one-liner is the key serve presents")
check("127.0.0.1:%d" % st.port in line, "the URL is the inventory's bootstrap address")
curl_part = line[:-len(TAIL)]
check(line.endswith(TAIL) and "|" not in curl_part, "one pipe: curl | tar && install.sh")

# 1. the curl part, verbatim, into a file (to look at the archive itself)
root = os.path.join(st.tmp, "root")
os.mkdir(root)
tgz = os.path.join(st.tmp, "bundle.tgz")
p = run_bash(curl_part + " > " + tgz, env=clean_env())
check(p.returncode == 0, "curl with the pinned key downloads the bundle (rc %d %s)"
      % (p.returncode, p.stderr.decode().strip()))
data = open(tgz, "rb").read()
check(data[:2] == b"\x1f\x8b", "the body is gzip")
names = []
with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tf:
    members = tf.getmembers()
    names = [m.name for m in members]
    check(all(not n.startswith("/") and ".." not in n.split("/") for n in names),
          "tar entries are relative to / without '..' (%d entries)" % len(names))
    modes = {m.name: m.mode for m in members if m.isfile()}
    check(all(m.uid == 0 and m.gid == 0 for m in members), "entries owned by root in the tar")
for must in ("etc/slipway/install.sh", "etc/kubernetes/cert/ca.pem",
             "etc/kubernetes/kubelet-bootstrap.kubeconfig",
             "etc/etcd/cert/etcd.pem", "etc/etcd/cert/etcd-key.pem",
             "etc/kubernetes/cert/kubernetes.pem",
             "etc/systemd/system/kubelet.service"):
    check(must in names, "bundle has /" + must)
keys = [n for n in modes if n.endswith("-key.pem") or n.endswith(".key")]
check(len(keys) > 0 and all(modes[k] & 0o077 == 0 for k in keys),
      "every private key is 0600 in the tar (%d keys)" % len(keys))
check(modes.get("etc/slipway/install.sh", 0) & 0o111 != 0, "install.sh is executable")
check(all(modes[n] & 0o022 == 0 for n in modes), "nothing group/world-writable")

# 2. the same pipeline into the test root, as the node would (tail redirected)
p = run_bash(curl_part.replace(token, token) + " > /dev/null", env=clean_env())
check(p.returncode != 0, "the same one-liner a second time fails (curl rc %d)" % p.returncode)
p = subprocess.run(["tar", "-xz", "-C", root], input=data, capture_output=True)
check(p.returncode == 0, "tar -xz unpacks it")
for n in names:
    if n in modes:
        full = os.path.join(root, n)
        if not os.path.isfile(full):
            check(False, "unpacked: /" + n)
            continue
        if stat.S_IMODE(os.stat(full).st_mode) != modes[n]:
            check(False, "mode of /%s" % n)
check(all(os.path.isfile(os.path.join(root, n)) for n in modes),
      "every file is at its absolute path under the root with its mode")
env = clean_env()
env["SLIPWAY_ROOT"] = root
p = subprocess.run([os.path.join(root, "etc/slipway/install.sh")], env=env,
                   capture_output=True, text=True, timeout=60)
check(p.returncode == 0, "install.sh runs in test-root mode (rc %d: %s)"
      % (p.returncode, (p.stderr or "").strip()[:300]))
check("would run: systemctl" in p.stdout, "install.sh prints what it would run as root")

# 3. the certificates chain to what /v1/ca.pem serves
status, hdr, ca = curl(srv.url + "/v1/ca.pem")
check(status == 200 and b"BEGIN CERTIFICATE" in ca, "GET /v1/ca.pem serves the trust bundle")
open(os.path.join(st.tmp, "trust.pem"), "wb").write(ca)
for cert in ("etc/kubernetes/cert/kubernetes.pem", "etc/etcd/cert/etcd.pem"):
    p = subprocess.run(["openssl", "verify", "-CAfile", os.path.join(st.tmp, "trust.pem"),
                        os.path.join(root, cert)], capture_output=True, text=True)
    check(p.returncode == 0, "openssl verify /%s against /v1/ca.pem" % cert)

# 4. the real, complete line (only the tail changed) for another node
line3, token3, _ = st.token("test3")
root3 = os.path.join(st.tmp, "root3")
os.mkdir(root3)
redirected = line3[:-len(TAIL)] + " | tar -xz -C %s && SLIPWAY_ROOT=%s %s/etc/slipway/install.sh" % (
    root3, root3, root3)
p = run_bash(redirected, env=clean_env())
check(p.returncode == 0, "curl | tar -xz && install.sh as a pipeline (rc %d)" % p.returncode)
check(os.path.isfile(os.path.join(root3, "etc/kubernetes/kubelet-bootstrap.kubeconfig")),
      "test3's bundle unpacked")

# 5. state: two tokens used, each with its issuance record; /metrics agrees
toks = {t["id"]: t for t in st.tokens()}
used = [t for t in toks.values() if t["state"] == "used"]
check(len(used) == 2 and all(t.get("issuance") for t in used),
      "token list: 2 used, each with an issuance record")
check(all(t["usedFor"] == "bundle" and t["usedFrom"] == "127.0.0.1" for t in used),
      "used tokens record endpoint and client address")
status, hdr, m = curl(srv.url + "/metrics")
m = m.decode()
check(status == 200 and hdr.get("content-type", "").startswith("text/plain"),
      "GET /metrics is Prometheus text")
check('slipway_http_requests_total{endpoint="/v1/bundle",code="200"} 2' in m,
      "metrics: 2 bundles served")
check('slipway_http_requests_total{endpoint="/v1/bundle",code="401"} 1' in m,
      "metrics: 1 refused")
check('slipway_bundles_issued_total 2' in m, "metrics: bundles issued")
check(all('slipway_ca_expiry_seconds{ca="%s",generation="1",state="active"}' % c in m
          for c in ("kubernetes", "etcd", "front-proxy")), "metrics: expiry of each CA")
status, hdr, body = curl(srv.url + "/healthz")
check(status == 200 and body == b"ok\n", "GET /healthz")
logtext = srv.log_text()
check(token not in logtext and token.split(".")[1] not in logtext and
      "PRIVATE KEY" not in logtext, "no token secret or key in the server's log")
check(token.split(".")[0] in logtext, "the log names the token by its id")
check(srv.stop() == 0, "serve stops on SIGTERM with status 0")
done()
