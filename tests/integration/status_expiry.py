# SPDX-License-Identifier: Apache-2.0
"""status_expiry: `slipway status --json` and the metrics listener agree
with `openssl x509 -enddate`, to the second, for every certificate in every
rendered bundle (bundle render for each node of the example inventory)
and the admin kubeconfig; a certificate inside the warning window turns
`status` to exit 1.

- every certificate in every bundle (PEM files and the client certificates
  inside kubeconfigs) is in `status --json`: its serial under its node and
  purpose, in use, notAfterUnix equal to openssl's notAfter; CA
  certificates match their CA generation's serial and notAfter;
- on the metrics listener (serve --metrics-listen, plain HTTP),
  slipway_cert_expiry_seconds{ca,node,purpose} of each is notAfter minus
  serve's now, bracketed by the scrape's start and end; the CA gauges too;
- both /metrics pass the text-format check (promtext.py, promtool's
  rules); the bootstrap port has no per-node series;
- rendering test1's bundle again supersedes its old certificates: shown
  as superseded, no longer in use nor in the metrics;
- with everything valid for years, `status` exits 0; `cert issue
  --validity 240h` (10 days, inside the default 30-day window) turns it to
  exit 1 and names the certificate; a second serve with a different clock
  is not needed: the window is measured against the real one;
- the metrics listener answers 404/405 with JSON for anything but GET
  /metrics.
"""
import calendar
import glob
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from endpoint_common import State, Server, check, curl, done, free_port, log
import promtext

t0 = time.monotonic()
st = State()


def openssl_certs(pem_text):
    """[(serial lower hex, notAfter epoch, is_ca)] of each certificate."""
    out = []
    for block in re.findall(r"-----BEGIN CERTIFICATE-----.*?"
                            r"-----END CERTIFICATE-----", pem_text, re.S):
        p = subprocess.run(["openssl", "x509", "-noout", "-serial", "-enddate",
                            "-ext", "basicConstraints"], input=block,
                           capture_output=True, text=True, check=True)
        serial = re.search(r"serial=([0-9A-Fa-f]+)", p.stdout).group(1).lower()
        end = re.search(r"notAfter=(.*)", p.stdout).group(1).strip()
        epoch = calendar.timegm(time.strptime(end, "%b %d %H:%M:%S %Y GMT"))
        out.append((serial.zfill(32) if len(serial) < 32 else serial, epoch,
                    "CA:TRUE" in p.stdout))
    return out


def bundle_certs(d):
    """Certificates of a rendered bundle (or one file): PEM files, and the
    client certificates embedded in kubeconfigs (client-certificate-data)."""
    import base64
    found = {}
    paths = [d] if os.path.isfile(d) else \
        glob.glob(os.path.join(d, "**", "*"), recursive=True)
    for path in paths:
        if not os.path.isfile(path):
            continue
        txt = open(path, errors="replace").read()
        for c in openssl_certs(txt):
            found.setdefault(c, path)
        for b64 in re.findall(r"client-certificate-data:\s*(\S+)", txt):
            for c in openssl_certs(base64.b64decode(b64).decode()):
                found.setdefault(c, path + " (client-certificate-data)")
    return found


def status_json():
    p = st.run("--json", "status", check_rc=False)
    return p.returncode, json.loads(p.stdout)


def cert_index(x):
    """serial -> (owner, purpose, cert json) over owners and kubeconfigs."""
    idx = {}
    for ow in x["owners"]:
        for pu in ow["purposes"]:
            for c in pu["certificates"]:
                idx[c["serial"]] = (ow["owner"], pu["purpose"], c)
    for c in x["kubeconfigs"]:
        idx[c["serial"]] = (c["owner"], c["purpose"], c)
    return idx


# ---- bundles for every node, and the admin kubeconfig ----------------------
nodes = ["test1", "test2", "test3"]
bundles = {}
for n in nodes:
    d = os.path.join(st.tmp, "bundle-" + n)
    st.run("bundle", "render", "--node", n, "--out", d)
    bundles[n] = bundle_certs(d)
adm = os.path.join(st.tmp, "admin.conf")
st.run("kubeconfig", "admin", "--for", "tester", "--out", adm)
admin = bundle_certs(adm)
leaves = {}
cas = {}
for n, found in list(bundles.items()) + [("admin", admin)]:
    for (serial, end, is_ca), where in found.items():
        (cas if is_ca else leaves)[serial] = (end, n, where)
check(len(leaves) == 3 * 11 + 1 and len(cas) == 3,
      "bundles hold %d leaf certificates and %d CA certificates"
      % (len(leaves), len(cas)))

rc, js = status_json()
x = js["expiry"]
idx = cert_index(x)
check(rc == 0 and x["ok"] and x["warnings"] == 0,
      "status exits 0 with every certificate valid for years (rc %d)" % rc)
bad = []
for serial, (end, n, where) in sorted(leaves.items()):
    e = idx.get(serial)
    if e is None:
        bad.append("%s (%s): not in status" % (serial, where))
    elif e[2]["notAfterUnix"] != end or not e[2]["inUse"]:
        bad.append("%s (%s): status %s in use %s, openssl %d" %
                   (serial, where, e[2]["notAfterUnix"], e[2]["inUse"], end))
    elif n != "admin" and e[0] != n:
        bad.append("%s (%s): owner %s" % (serial, where, e[0]))
check(not bad, "status --json: all %d leaves of the bundles in use, notAfter "
      "equal to openssl's to the second%s" % (len(leaves), "; " +
                                              "; ".join(bad[:5]) if bad else ""))
kc = [c for c in x["kubeconfigs"] if c["to"] == "tester"]
check(len(kc) == 1 and kc[0]["serial"] in leaves and kc[0]["inUse"]
      and kc[0]["issued"] <= time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
      "the admin kubeconfig is listed as handed to 'tester' with its serial")
ca_by_serial = {c["serial"].lower(): c for c in x["cas"]}
bad = ["%s: %s" % (s, ca_by_serial.get(s)) for s, (end, _, _) in cas.items()
       if s not in ca_by_serial or ca_by_serial[s]["notAfterUnix"] != end]
check(not bad, "status --json: the 3 CA generations' serial and notAfter "
      "equal openssl's%s" % ("; " + "; ".join(bad) if bad else ""))

# ---- the metrics listener --------------------------------------------------
mport = free_port()
srv = Server(st, "--metrics-listen", "127.0.0.1:%d" % mport)
murl = "http://127.0.0.1:%d/metrics" % mport
check(srv.wait_log(r"metrics \(every series, per node\) on http://127\.0\.0\.1:%d/"
                   % mport, timeout=10) is not None,
      "serve logs the metrics listener's address")


def scrape(url, ctx=None):
    before = int(time.time())
    with urllib.request.urlopen(url, timeout=30, context=ctx) as r:
        body = r.read().decode()
        ctype = r.headers.get("Content-Type")
    after = int(time.time()) + 1
    return body, ctype, before, after


body, ctype, before, after = scrape(murl)
series, problems = promtext.parse(body)
check(not problems, "metrics listener: valid text format (%d series)%s" %
      (len(series), "; " + "; ".join(problems[:5]) if problems else ""))
check(ctype == "text/plain; version=0.0.4; charset=utf-8",
      "metrics listener: Content-Type %s" % ctype)
bad = []
for serial, (end, n, where) in sorted(leaves.items()):
    owner, purpose, c = idx[serial]
    got = promtext.values(series, "slipway_cert_expiry_seconds",
                          ca=c["ca"], node=owner or "-", purpose=purpose)
    if len(got) != 1:
        bad.append("%s/%s: %d series" % (owner, purpose, len(got)))
        continue
    v = got[0][1]
    if not (end - after <= v <= end - before):
        bad.append("%s/%s: %d, openssl says %d - now (%d..%d)" %
                   (owner, purpose, v, end, end - after, end - before))
check(not bad, "slipway_cert_expiry_seconds{ca,node,purpose} of every bundle "
      "leaf is its notAfter minus serve's now%s" % ("; " + "; ".join(bad[:5])
                                                    if bad else ""))
bad = []
for serial, (end, _, _) in cas.items():
    c = ca_by_serial[serial]
    got = promtext.values(series, "slipway_ca_expiry_seconds", ca=c["ca"],
                          generation=str(c["caGeneration"]))
    if len(got) != 1 or not (end - after <= got[0][1] <= end - before):
        bad.append("%s/%s: %s" % (c["ca"], c["caGeneration"], got))
check(not bad, "slipway_ca_expiry_seconds{ca,generation} agree with openssl%s"
      % ("; " + "; ".join(bad) if bad else ""))
in_use = promtext.values(series, "slipway_certs_in_use")
x_now = status_json()[1]["expiry"]	# serve has its own certificate now
check(in_use and in_use[0][1] == x_now["inUse"] == x["inUse"] + 1,
      "slipway_certs_in_use equals status's inUse (%s: the bundles', the "
      "kubeconfig and serve's own)" % x_now["inUse"])
for name in ("slipway_certs_revoked_total", "slipway_csr_decisions_total",
             "slipway_fleet_last_run_id", "slipway_store_map_used_bytes",
             "slipway_store_map_size_bytes", "slipway_http_requests_total"):
    check(promtext.values(series, name), "metrics listener has %s" % name)
phases = promtext.values(series, "slipway_fleet_phase_state", state="pending")
check(len(phases) == 5 and all(v == 1 for _, v in phases),
      "slipway_fleet_phase_state: the 5 phases, pending before any rollout")

# the bootstrap port: aggregates only
status, _, bbody = curl(srv.url + "/metrics")
bseries, problems = promtext.parse(bbody.decode())
check(status == 200 and not problems,
      "bootstrap port /metrics: valid text format%s" %
      ("; " + "; ".join(problems[:5]) if problems else ""))
check(not any("node" in dict(l) for (_, l) in bseries) and
      not promtext.values(bseries, "slipway_cert_expiry_seconds"),
      "bootstrap port: no per-node series")

# anything else on the metrics listener
for method, path, want in (("GET", "/", 404), ("GET", "/v1/ca.pem", 404),
                           ("POST", "/metrics", 405)):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (mport, path),
                                 method=method, data=b"x" if method == "POST"
                                 else None)
    try:
        urllib.request.urlopen(req, timeout=10)
        code, jbody = 200, b""
    except urllib.error.HTTPError as e:
        code, jbody = e.code, e.read()
    check(code == want and jbody.startswith(b'{"error":'),
          "metrics listener: %s %s -> %d JSON" % (method, path, code))

# ---- a new bundle supersedes the old certificates --------------------------
old1 = {s for s, (_, n, _) in leaves.items() if n == "test1"}
st.run("bundle", "render", "--node", "test1", "--out",
       os.path.join(st.tmp, "bundle-test1-again"))
rc, js = status_json()
idx = cert_index(js["expiry"])
check(all(idx[s][2]["status"] == "superseded" and not idx[s][2]["inUse"]
          for s in old1),
      "re-rendering test1: its %d old certificates are superseded, not in use"
      % len(old1))
body, _, _, _ = scrape(murl)
series, _ = promtext.parse(body)
t1 = promtext.values(series, "slipway_cert_expiry_seconds", node="test1")
check(len(t1) == len({idx[s][1] for s in old1}),
      "metrics: one series per purpose of test1 (%d), the new ones" % len(t1))

# ---- the warning window ----------------------------------------------------
p = st.run("cert", "issue", "--profile", "client", "--cn", "soon",
           "--validity", "240h", "--out", os.path.join(st.tmp, "soon"))
soon = openssl_certs(open(os.path.join(st.tmp, "soon.pem")).read())[0]
rc, js = status_json()
x = js["expiry"]
e = cert_index(x).get(soon[0])
check(rc == 1 and not x["ok"] and x["warnings"] == 1 and e is not None
      and e[2]["warn"] and e[2]["notAfterUnix"] == soon[1],
      "a certificate valid 10 days turns status --json to exit 1 (rc %d)" % rc)
p = st.run("status", check_rc=False)
check(p.returncode == 1 and re.search(r"needs attention.*\n\s+- console: "
                                      r"\S+ \((9|10) days\)", p.stdout),
      "status (text) exits 1 and names it under 'needs attention'")
section = p.stdout[p.stdout.index("\nexpiry:"):p.stdout.index("\ntokens:")]
wide = [l for l in section.split("\n") if len(l) > 79]
check(not wide and "certificates by owner and purpose" in section,
      "the expiry text fits 80 columns")
body, _, _, _ = scrape(murl)
series, _ = promtext.parse(body)
exp = promtext.values(series, "slipway_certs_expiring")
check(exp and exp[0][1] == 1, "slipway_certs_expiring is 1")

check(srv.stop() == 0, "serve stops cleanly")
log("status_expiry took %.1f s" % (time.monotonic() - t0))
done()
