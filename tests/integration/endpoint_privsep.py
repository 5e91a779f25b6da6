#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""endpoint_privsep: `slipway serve` as a monitor, a network child and a
CSR approver, as root on loopback, after real redemptions (curl one-liners
and an enroll), and against the kube-apiserver double for the approver:

1. the network child runs under a seccomp filter (Seccomp: 2), with
   no_new_privs, as the unprivileged user, without capabilities or an
   environment, re-executed (not a copy of the monitor's memory);
2. its maps and descriptors show no LMDB file (data.mdb, lock.mdb), no KEK
   file, nothing under the state directory: only sockets and stdio;
3. none of the CA private keys (every generation, unsealed by the test
   helper privsep_memscan) nor the KEK is anywhere in its memory, while
   the monitor's memory has each of them (so the scan does find keys);
4. the filter itself is unit_sandbox's: a forbidden call kills, open()
   fails; here: the child's filter count, and that it answers TLS under it;
5. kill -9 of the child, also in the middle of a redemption load: the
   monitor starts another one (same pin, again sandboxed) and the store
   stays consistent (every used token has its issuance record, serials
   unique, audit chain verifies); killed too often, the monitor stops
   with one clear line and a non-zero status; SIGTERM: exit 0, no child;
6. the approver process (slipway-approver) the same way: Seccomp: 2,
   no_new_privs, unprivileged, no capabilities, no environment, re-executed;
   no LMDB file, KEK or state file mapped or open; no CA key and no KEK in
   its memory (the monitor's has them); kill -9 of it while CSRs are being
   signed: the monitor starts another, and every CSR is signed exactly once
   (one issuance record, one certificate record, one csr.sign each, and
   status.certificate is the recorded certificate).
"""
import base64
import json
import os
import pwd
import re
import signal
import ssl
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from endpoint_common import (State, Server, check, done, log, curl, run_bash,
                             clean_env, load_client, BUILD, SLIPWAY)
import approver_lib as AL  # noqa: E402

MEMSCAN = os.environ.get("PRIVSEP_MEMSCAN") or os.path.join(
    BUILD, "tests", "privsep_memscan")


def status_of(pid):
    txt = open("/proc/%d/status" % pid).read()
    return {k: v.strip() for k, v in re.findall(r"(?m)^(\w+):[ \t]*(.*)$", txt)}


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = open("/proc/%s/stat" % d).read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            out.append(int(d))
    return out


def named_children(pid, name):
    out = []
    for k in children(pid):
        try:
            if status_of(k).get("Name") == name:
                out.append(k)
        except OSError:
            pass
    return out


def the_child(srv, timeout=30, other_than=None, name="slipway-net"):
    """The one child of that name of a Server (or of a pid)."""
    pid = srv if isinstance(srv, int) else srv.proc.pid
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = [k for k in named_children(pid, name) if k != other_than]
        if len(kids) == 1:
            return kids[0]
        time.sleep(0.05)
    return None


def confined(pid, what, name, arg, want, state_dir, extra_fds=()):
    """The checks both children pass: filter, privileges, a fresh image,
    nothing of the store reachable."""
    ps = status_of(pid)
    check(ps.get("Seccomp") == "2", "%s: Seccomp: 2 (filter mode), got %s" % (what, ps.get("Seccomp")))
    check(int(ps.get("Seccomp_filters", "0")) >= 1, "%s: %s seccomp filter(s)" %
          (what, ps.get("Seccomp_filters")))
    check(ps.get("NoNewPrivs") == "1", "%s: NoNewPrivs: 1" % what)
    check(all(int(u) == want.pw_uid for u in ps["Uid"].split()) and
          all(int(g) == want.pw_gid for g in ps["Gid"].split()),
          "%s: runs as %s (Uid: %s, Gid: %s)" % (what, want.pw_name, ps["Uid"], ps["Gid"]))
    check(ps.get("Groups", "") == "", "%s: no supplementary groups" % what)
    check(all(int(ps[c], 16) == 0 for c in ("CapEff", "CapPrm", "CapInh", "CapAmb")),
          "%s: no capabilities (CapEff %s CapPrm %s)" % (what, ps["CapEff"], ps["CapPrm"]))
    tasks = os.listdir("/proc/%d/task" % pid)
    check(all(status_of_t.get("Seccomp") == "2" for status_of_t in
              [dict(re.findall(r"(?m)^(\w+):[ \t]*(.*)$",
                               open("/proc/%d/task/%s/status" % (pid, t)).read()))
               for t in tasks]), "%s: every one of its %d threads is filtered" % (what, len(tasks)))
    check(open("/proc/%d/environ" % pid, "rb").read() == b"", "%s: empty environment" % what)
    argv = open("/proc/%d/cmdline" % pid, "rb").read().split(b"\0")
    check(argv[1] == arg.encode(), "%s: re-executed (a fresh image), not a fork of the monitor" % what)
    check(argv[0] == name.encode() and ps.get("Name") == name[:15],
          "%s: named %s (command line), %s (comm)" % (what, argv[0].decode(), ps.get("Name")))
    maps = open("/proc/%d/maps" % pid).read()
    check("data.mdb" not in maps and "lock.mdb" not in maps and state_dir not in maps,
          "%s: no LMDB map or state file in /proc/PID/maps" % what)
    fds = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            fds[int(fd)] = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            pass
    log("%s descriptors: %s" % (what, ", ".join("%d:%s" % (k, v) for k, v in sorted(fds.items()))))
    check(not any(state_dir in v or "kek" in v or ".mdb" in v for v in fds.values()),
          "%s: no descriptor of the store, the KEK or the state directory" % what)
    check(all(v.startswith("socket:") or v.startswith("anon_inode:") or k <= 2 or
              v.startswith(extra_fds) for k, v in fds.items()),
          "%s: only sockets, eventfds and stdio%s" % (what, " (and %s)" % ", ".join(extra_fds)
                                                      if extra_fds else ""))


def memscan(state_dir, mon, pid, what):
    """CA keys and the KEK: in the monitor's memory (so the scan finds
    them), never in pid's."""
    p = subprocess.run([MEMSCAN, "--state", state_dir, str(mon), str(pid)],
                       capture_output=True, text=True, timeout=300)
    check(p.returncode == 0, "memory scan ran (%s)" % p.stderr.strip())
    hits = {}
    for l in p.stdout.splitlines():
        name, hpid, n = l.split()
        hits[(name, int(hpid))] = int(n)
    names = sorted({n for n, _ in hits})
    log("secrets scanned: %s" % ", ".join(names))
    check(len([n for n in names if n != "kek"]) >= 3, "every CA key was unsealed for the scan")
    for n in names:
        check(hits[(n, mon)] > 0, "%s: found in the monitor's memory (%d times)" % (n, hits[(n, mon)]))
        check(hits[(n, pid)] == 0, "%s: absent from the %s's memory" % (n, what))
    check(not any(x in p.stdout.lower() for x in ("begin", "private")),
          "the helper printed counts only")


def wait_healthy(srv, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if curl(srv.url + "/healthz", timeout=5)[0] == 200:
            return True
        time.sleep(0.1)
    return False


def consistent(st, what):
    toks = st.tokens()
    used = [t for t in toks if t["state"] == "used"]
    check(all(t.get("issuance") for t in used),
          "%s: every used token (%d) has its issuance record" % (what, len(used)))
    check(st.db_entries("issuance") == len(used),
          "%s: exactly one issuance record per used token" % what)
    serials = [c["serial"].lower() for t in used
               for c in t["issuance"]["certificates"]]
    check(len(serials) == len(set(serials)), "%s: %d serials, all distinct" %
          (what, len(serials)))
    check(st.run("audit", "verify", check_rc=False).returncode == 0,
          "%s: the audit chain verifies" % what)
    return used


check(os.geteuid() == 0, "this test runs as root")
check(os.path.exists(MEMSCAN), "the memory scan helper is built (%s)" % MEMSCAN)
st = State(workers=20)
want = pwd.getpwnam("slipway") if "slipway" in [p.pw_name for p in pwd.getpwall()] \
    else pwd.getpwnam("nobody")
srv = Server(st, "--fail-limit", "0", "--max-per-address", "512")
mon = srv.proc.pid
kid = the_child(srv)
check(kid is not None, "serve has exactly one network child (slipway-net)")

# some real redemptions first
for node in ("test1", "test2", "w0001"):
    line, token, _ = st.token(node)
    p = run_bash(line.split(" | ")[0] + " | tar -tz > /dev/null", env=clean_env())
    check(p.returncode == 0, "one-liner of %s redeems through the child" % node)
key = os.path.join(st.tmp, "k.pem")
csr = os.path.join(st.tmp, "c.csr")
subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey",
                "-noout", "-out", key], check=True)
subprocess.run(["openssl", "req", "-new", "-key", key, "-subj",
                "/O=system:nodes/CN=system:node:test3", "-out", csr], check=True)
s, _, body = curl(srv.url + "/v1/enroll", "--data-binary", "@" + csr,
                  token=st.token_json("test3")["token"])
check(s == 200 and b"BEGIN CERTIFICATE" in body, "an enroll through the child (%d)" % s)
s, _, body = curl(srv.url + "/metrics")
check(s == 200 and b'slipway_ca_expiry_seconds{ca="kubernetes"' in body and
      b'slipway_bundles_issued_total 3' in body,
      "metrics: the child's counters and the monitor's CA gauges")

# ---- 1.-3. the child's credentials, reach and memory --------------------
confined(kid, "child", "slipway-net", "serve-network-child", want, st.dir)
mps = status_of(mon)
check(all(int(u) == want.pw_uid for u in mps["Uid"].split()) and
      int(mps["CapEff"], 16) == 0, "monitor: unprivileged as before (%s)" % mps["Uid"])
check("data.mdb" in open("/proc/%d/maps" % mon).read(),
      "(the monitor does map data.mdb: the check would see it)")
mfds = [os.readlink("/proc/%d/fd/%s" % (mon, f)) for f in os.listdir("/proc/%d/fd" % mon)]
check(any("data.mdb" in v for v in mfds), "(the monitor has data.mdb open)")
memscan(st.dir, mon, kid, "network child")

# ---- 5. the child dies: the monitor starts another --------------------
os.kill(kid, signal.SIGKILL)
kid2 = the_child(srv, other_than=kid)
check(kid2 is not None and kid2 != kid, "after kill -9 of the child, a new one (%s)" % kid2)
check(srv.proc.poll() is None, "the monitor keeps running")
check(wait_healthy(srv), "and serves again")
check(status_of(kid2).get("Seccomp") == "2", "the new child is sandboxed too")
line, token, pin = st.token("test1")
check(pin == srv.pin, "same serving key: the printed pin still holds")
p = run_bash(line.split(" | ")[0] + " | tar -tz > /dev/null", env=clean_env())
check(p.returncode == 0, "the new child redeems a token")
check("the network child exited (signal 9" in srv.log_text(),
      "the monitor logged how the child ended")
consistent(st, "after kill -9 of an idle child")

# ... and in the middle of a redemption load
N = 300
tokens = [st.token_json("w%04d" % (i % 20 + 1))["token"] for i in range(N)]
path = os.path.join(st.tmp, "tokens.txt")
open(path, "w").write("\n".join(tokens) + "\n")
load = subprocess.Popen([load_client(), "--url", srv.url + "/v1/bundle",
                         "--tokens", path, "--per-token", "2",
                         "--concurrency", "32", "--timeout", "20"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
base = srv.log_text().count(" redeemed: ")
deadline = time.monotonic() + 60
while time.monotonic() < deadline and srv.log_text().count(" redeemed: ") < base + 40:
    time.sleep(0.05)
os.kill(kid2, signal.SIGKILL)
log("killed the child after %d redemptions of the load" %
    (srv.log_text().count(" redeemed: ") - base))
out, _ = load.communicate(timeout=300)
log("load: " + out.decode().strip()[:300])
kid3 = the_child(srv, other_than=kid2)
check(kid3 is not None and wait_healthy(srv), "a third child serves after the kill under load")
used = consistent(st, "after kill -9 under load")
check(4 < len(used) < N + 4, "the kill happened mid-load (%d of %d used)" % (len(used), N + 4))
by_id = {t.split(".")[0]: t for t in tokens}
rest = [by_id[t["id"]] for t in st.tokens() if t["state"] == "active" and t["id"] in by_id]
rpath = os.path.join(st.tmp, "rest.txt")
open(rpath, "w").write("\n".join(rest) + "\n")
p = subprocess.run([load_client(), "--url", srv.url + "/v1/bundle", "--tokens",
                    rpath, "--per-token", "3", "--concurrency", "32"],
                   capture_output=True, text=True, timeout=600)
res = json.loads(p.stdout)
check(res["exactly_one"] == len(rest) and res["network_errors"] == 0,
      "the %d tokens left redeem exactly once with the new child" % len(rest))
consistent(st, "in the end")

# ---- SIGTERM: both processes go ---------------------------------------
check(srv.stop() == 0, "SIGTERM: serve exits with status 0")
time.sleep(0.2)
check(not children(srv.proc.pid) and (not os.path.exists("/proc/%d" % kid3) or
      status_of(kid3).get("Name") != "slipway-net"), "the network child is gone too")

# ---- killed too often: the monitor gives up, clearly -------------------
srv = Server(st)
last = None
gave_up = False
for i in range(10):
    k = the_child(srv, other_than=last, timeout=20)
    if k is None:
        break
    os.kill(k, signal.SIGKILL)
    last = k
    try:
        srv.proc.wait(timeout=0.5 if i < 5 else 10)
        gave_up = True
        break
    except subprocess.TimeoutExpired:
        pass
err = srv.log_text()
check(gave_up and srv.proc.returncode != 0,
      "the child killed again and again: serve stops (status %s)" % srv.proc.returncode)
lines = [l for l in err.splitlines() if l.startswith("slipway: serve:")]
check(len(lines) == 1 and "keeps exiting" in lines[0],
      "with one clear line: %s" % (lines[0] if lines else "(none)"))
check(not children(srv.proc.pid), "and leaves no child behind")
consistent(st, "after the monitor gave up")


# ---- 6. the approver process -------------------------------------------
def csr_body(e, node, n):
    """A client CSR of node, as its kubelet would renew its certificate."""
    key = e.p("k-%s-%d.pem" % (node, n))
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key], check=True)
    req = subprocess.run(["openssl", "req", "-new", "-key", key, "-subj", "/O=system:nodes/CN=system:node:" + node],
                         check=True, capture_output=True).stdout
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": "p-%s-%d" % (node, n)},
            "spec": {"request": base64.b64encode(req).decode(), "signerName": AL.CLIENT,
                     "usages": ["digital signature", "client auth"]}}


def create_as(e, node, body):
    """Creates the CSR as node itself (its client certificate)."""
    ctx = ssl.create_default_context(cafile=e.p("ca.pem"))
    ctx.load_cert_chain(e.p("node-%s.pem" % node), e.p("node-%s-key.pem" % node))
    r = urllib.request.Request(e.url + AL.CSR_PATH, data=json.dumps(body).encode(), method="POST")
    r.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(r, context=ctx, timeout=10) as resp:
        if resp.status != 201:
            raise SystemExit("CSR %s not created: %d" % (body["metadata"]["name"], resp.status))
    return body["metadata"]["name"]


def signed(e, name):
    return AL.cert_pem(e.csr(name))


e = AL.Env("endpoint_privsep_approver")
try:
    e.init()
    e.start_apiserver()
    r = e.slipway("cluster", "apply")
    check(r.returncode == 0, "cluster apply against the API server double")
    for n in ("test1", "test2"):
        r = e.slipway("cert", "issue", "--profile", "client", "--cn", "system:node:" + n, "--org",
                      "system:nodes", "--out", e.p("node-" + n))
        check(r.returncode == 0, "a client certificate of node %s (to create CSRs as it)" % n)
    slog = e.p("serve.log")
    srv = subprocess.Popen([SLIPWAY, "--state", e.state, "serve", "--listen", "127.0.0.1:0"],
                           stdout=open(e.p("serve.out"), "w"), stderr=open(slog, "w"))
    e.procs.append(srv)
    check(e.wait(lambda: "approver: watching certificate signing requests" in e.log("serve.log"), 30),
          "serve's approver process watches the API server")
    mon = srv.pid
    ap = the_child(srv.pid, name="slipway-approve")
    check(ap is not None, "serve has exactly one approver process (slipway-approver; its comm "
          "holds 15 characters)")
    check(the_child(srv.pid) is not None, "... beside its network child")

    # 6.1-6.3: the approver's credentials, reach and memory
    confined(ap, "approver", "slipway-approver", "serve-approver-child", want, e.state,
             extra_fds=("/memfd:", "/etc/"))
    memscan(e.state, mon, ap, "approver")

    # a CSR signed through it
    first = create_as(e, "test1", csr_body(e, "test1", 0))
    check(e.wait(lambda: signed(e, first), 30), "the approver has the monitor sign a CSR")

    # 6.4: kill -9 of the approver while CSRs are being signed
    N = 40
    bodies = [("test%d" % (1 + i % 2), csr_body(e, "test%d" % (1 + i % 2), i + 1)) for i in range(N)]
    base = e.log("serve.log").count("approver: signed csr")
    names = [create_as(e, node, b) for node, b in bodies]
    e.wait(lambda: e.log("serve.log").count("approver: signed csr") >= base + 5, 30, 0.02)
    os.kill(ap, signal.SIGKILL)
    done_before = e.log("serve.log").count("approver: signed csr") - base
    log("killed the approver after %d of %d CSRs were signed" % (done_before, N))
    ap2 = the_child(srv.pid, other_than=ap, name="slipway-approve")
    check(ap2 is not None and ap2 != ap, "after kill -9 of the approver, a new one (%s)" % ap2)
    check(srv.poll() is None, "the monitor keeps running")
    check("the approver exited (signal 9" in e.log("serve.log"), "the monitor logged how the approver ended")
    check(status_of(ap2).get("Seccomp") == "2", "the new approver is sandboxed too")
    ok = e.wait(lambda: all(signed(e, n) for n in names), 90, 0.5)
    check(ok, "every pending CSR (%d) is signed after the restart" % N)
    check(0 < done_before < N, "the kill happened mid-way (%d of %d signed before)" % (done_before, N))
    # exactly once: issuance records, certificate records, audit, status
    allnames = [first] + names
    certs = [c for c in e.certs() if c.get("purpose") == "kubelet-client"]
    check(len(certs) == len(allnames), "one kubelet certificate record per CSR (%d for %d)" %
          (len(certs), len(allnames)))
    p = subprocess.run(["mdb_dump", "-s", "nodes", "-p", os.path.join(e.state, "db")],
                       capture_output=True, text=True, timeout=60)
    recs = re.findall(r"^ (test[12])/csr/", p.stdout, re.M)
    check(p.returncode == 0 and len(recs) == len(allnames),
          "one issuance record (<node>/csr/<uid>) per CSR (%d for %d)" % (len(recs), len(allnames)))
    per = {}
    for a in e.audit():
        if a["action"] == "csr.sign":
            per.setdefault(a["object"], []).append(a)
    check(all(len(per.get("csr/" + n, [])) == 1 for n in allnames),
          "exactly one csr.sign audit record per CSR")
    mism = []
    for n in allnames:
        serial = re.search(r"serial ([0-9a-f]+)", per["csr/" + n][0]["detail"]).group(1)
        out = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=signed(e, n),
                             capture_output=True, text=True).stdout.strip()
        if out.lower() != "serial=" + serial:
            mism.append(n)
    check(not mism, "each status.certificate is the one recorded in the store (%s)" % mism[:3])
    check(e.slipway("audit", "verify").returncode == 0, "the audit chain verifies")
    srv.send_signal(signal.SIGTERM)
    rc = srv.wait(30)
    check(rc == 0, "SIGTERM: serve exits 0, approver included (%s)" % rc)
    check(not os.path.exists("/proc/%d" % ap2) or status_of(ap2).get("Name") != "slipway-approve",
          "the approver is gone too")
finally:
    e.finish()
done()
