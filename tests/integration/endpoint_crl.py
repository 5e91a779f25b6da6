#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""endpoint_crl: GET /v1/crl/<ca>.pem on a real `slipway serve`, and serve
re-signing its CRLs by itself.

- without credentials, each CA's CRL: PEM, verified by `openssl crl
  -verify` against that CA (ca export), nextUpdate 7 days after
  lastUpdate; an unknown CA (and a path that is not a CA name) is 404 with
  a JSON error; POST is 405;
- `cert revoke --reason keyCompromise` on the console while serve runs: the
  next GET lists the serial with its reason and a higher CRL Number;
- serve's clock (libfaketime, the monitor only) +3 days, under half the
  CRL's 7 days: serve re-signs nothing; +4 days: within seconds and
  without any request, serve re-signs it (a "crl.sign" audit record by
  serve), and the next GET has the new number and a lastUpdate on serve's
  new clock.
"""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from endpoint_common import State, Server, check, curl, done, log

LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
if not os.path.exists(LIB):
    raise SystemExit("libfaketime is not installed (scripts/setup.sh installs it)")


def crl_text(pem):
    p = subprocess.run(["openssl", "crl", "-noout", "-text"], input=pem,
                       capture_output=True, timeout=30)
    return p.stdout.decode()


def crl_number(txt):
    m = re.search(r"X509v3 CRL Number: *\n\s*(\d+)", txt)
    return int(m.group(1)) if m else None


def crl_dates(pem):
    p = subprocess.run(["openssl", "crl", "-noout", "-lastupdate", "-nextupdate",
                        "-dateopt", "iso_8601"], input=pem, capture_output=True,
                       timeout=30)
    out = p.stdout.decode()
    last = re.search(r"lastUpdate=(\S+ \S+)", out)
    nxt = re.search(r"nextUpdate=(\S+ \S+)", out)
    conv = lambda s: time.mktime(time.strptime(s, "%Y-%m-%d %H:%M:%SZ")) - time.timezone
    return (conv(last.group(1)) if last else None, conv(nxt.group(1)) if nxt else None)


def serve_signs(st, since):
    """crl.sign audit records by serve after audit seq `since`."""
    a = json.loads(st.run("--json", "audit", "list").stdout)
    return [e for e in a if e["seq"] > since and e["action"] == "crl.sign" and
            e["actor"] == "serve"]


def last_seq(st):
    a = json.loads(st.run("--json", "audit", "list").stdout)
    return max(e["seq"] for e in a)


t0 = time.monotonic()
st = State()
clock = os.path.join(st.tmp, "faketime")
open(clock, "w").write("+0d\n")
os.chmod(clock, 0o644)
env = dict(os.environ, LD_PRELOAD=LIB, FAKETIME_TIMESTAMP_FILE=clock,
           FAKETIME_NO_CACHE="1")
srv = Server(st, env=env)

pems = {}
for ca in ("etcd", "kubernetes", "front-proxy"):
    status, hdr, body = curl(srv.url + "/v1/crl/%s.pem" % ca)
    pems[ca] = body
    check(status == 200 and body.startswith(b"-----BEGIN X509 CRL-----"),
          "GET /v1/crl/%s.pem without credentials: 200, a PEM CRL" % ca)
    cafile = os.path.join(st.tmp, "ca-%s.pem" % ca)
    open(cafile, "w").write(st.run("ca", "export", "--ca", ca).stdout)
    crlfile = os.path.join(st.tmp, "crl-%s.pem" % ca)
    open(crlfile, "wb").write(body)
    v = subprocess.run(["openssl", "crl", "-in", crlfile, "-CAfile", cafile, "-verify",
                        "-noout"], capture_output=True, text=True, timeout=30)
    check("verify OK" in v.stdout + v.stderr,
          "openssl crl -CAfile <%s CA> -verify accepts it" % ca)
last, nxt = crl_dates(pems["etcd"])
check(last is not None and nxt is not None and abs(nxt - last - 7 * 86400) < 2,
      "nextUpdate is lastUpdate + 7 days")
n0 = crl_number(crl_text(pems["etcd"]))
check(n0 is not None, "the CRL has a CRL Number (%s)" % n0)

for path in ("/v1/crl/nope.pem", "/v1/crl/Etcd.pem", "/v1/crl/../ca.pem",
             "/v1/crl/etcd.der"):
    status, hdr, body = curl(srv.url + path, "--path-as-is")
    try:
        js = json.loads(body)
    except ValueError:
        js = {}
    check(status == 404 and "error" in js and
          hdr.get("content-type", "").startswith("application/json"),
          "GET %s: 404 with a JSON error (%s)" % (path, js.get("error")))
status, hdr, _ = curl(srv.url + "/v1/crl/etcd.pem", "-X", "POST")
check(status == 405, "POST /v1/crl/etcd.pem: 405")

# a revocation on the console while serve runs
out = os.path.join(st.tmp, "client")
st.run("cert", "issue", "--profile", "client", "--cn", "stolen", "--ca", "etcd",
       "--out", out)
serial = subprocess.run(["openssl", "x509", "-in", out + ".pem", "-noout", "-serial"],
                        capture_output=True, text=True).stdout.strip().split("=")[1]
st.run("cert", "revoke", serial, "--reason", "keyCompromise")
status, _, body = curl(srv.url + "/v1/crl/etcd.pem")
txt = crl_text(body)
at = txt.upper().find(serial.upper())
check(status == 200 and at >= 0 and "Key Compromise" in txt[at:at + 300],
      "after cert revoke the served CRL lists %s with Key Compromise" % serial)
n1 = crl_number(txt)
check(n1 is not None and n0 is not None and n1 > n0, "its CRL Number grew (%s)" % n1)

# serve's clock: +3 days (under half of 7), then +4 days
seq = last_seq(st)
open(clock, "w").write("+3d\n")
time.sleep(3)
check(serve_signs(st, seq) == [], "+3 days: serve re-signs nothing")
status, _, body = curl(srv.url + "/v1/crl/etcd.pem")
check(crl_number(crl_text(body)) == n1, "+3 days: the same CRL is served")
seq = last_seq(st)
open(clock, "w").write("+4d\n")
signed = []
end = time.monotonic() + 30
while time.monotonic() < end and not any("etcd/" in e["object"] for e in signed):
    signed = serve_signs(st, seq)
    time.sleep(0.2)
check(any(e["object"].startswith("etcd/") for e in signed),
      "+4 days: serve re-signs the etcd CRL by itself, without a request")
status, _, body = curl(srv.url + "/v1/crl/etcd.pem")
txt = crl_text(body)
n2 = crl_number(txt)
last2, _ = crl_dates(body)
check(n2 is not None and n2 > n1 and serial.upper() in txt.upper(),
      "the next GET: CRL Number %s, still listing %s" % (n2, serial))
check(last2 is not None and last2 > time.time() + 3.9 * 86400,
      "its lastUpdate is on serve's clock (+4 days)")
check(srv.stop() == 0, "serve stops cleanly")
check(st.run("audit", "verify").returncode == 0, "the audit chain verifies")
log("endpoint_crl: %.1f s" % (time.monotonic() - t0))
done()
