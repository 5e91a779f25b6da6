#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""endpoint_privsep: `slipway serve` as a monitor and a network child, as
root on loopback, after real redemptions (curl one-liners and an enroll):

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
   with one clear line and a non-zero status; SIGTERM: exit 0, no child.
"""
import json
import os
import pwd
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from endpoint_common import (State, Server, check, done, log, curl, run_bash,
                             clean_env, load_client, BUILD)

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


def the_child(srv, timeout=30, other_than=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = [k for k in children(srv.proc.pid) if k != other_than]
        if len(kids) == 1:
            try:
                if status_of(kids[0]).get("Name") == "slipway-net":
                    return kids[0]
            except OSError:
                pass
        time.sleep(0.05)
    return None


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

# ---- 1. the child's credentials ---------------------------------------
ps = status_of(kid)
check(ps.get("Seccomp") == "2", "child: Seccomp: 2 (filter mode), got %s" % ps.get("Seccomp"))
check(int(ps.get("Seccomp_filters", "0")) >= 1, "child: %s seccomp filter(s)" %
      ps.get("Seccomp_filters"))
check(ps.get("NoNewPrivs") == "1", "child: NoNewPrivs: 1")
check(all(int(u) == want.pw_uid for u in ps["Uid"].split()) and
      all(int(g) == want.pw_gid for g in ps["Gid"].split()),
      "child: runs as %s (Uid: %s, Gid: %s)" % (want.pw_name, ps["Uid"], ps["Gid"]))
check(ps.get("Groups", "") == "", "child: no supplementary groups")
check(all(int(ps[c], 16) == 0 for c in ("CapEff", "CapPrm", "CapInh", "CapAmb")),
      "child: no capabilities (CapEff %s CapPrm %s)" % (ps["CapEff"], ps["CapPrm"]))
tasks = os.listdir("/proc/%d/task" % kid)
check(all(status_of_t.get("Seccomp") == "2" for status_of_t in
          [dict(re.findall(r"(?m)^(\w+):[ \t]*(.*)$",
                           open("/proc/%d/task/%s/status" % (kid, t)).read()))
           for t in tasks]), "child: every one of its %d threads is filtered" % len(tasks))
check(open("/proc/%d/environ" % kid, "rb").read() == b"", "child: empty environment")
check(open("/proc/%d/cmdline" % kid, "rb").read().split(b"\0")[1] == b"serve-network-child",
      "child: re-executed (a fresh image), not a fork of the monitor")
mps = status_of(mon)
check(all(int(u) == want.pw_uid for u in mps["Uid"].split()) and
      int(mps["CapEff"], 16) == 0, "monitor: unprivileged as before (%s)" % mps["Uid"])

# ---- 2. what the child can reach --------------------------------------
maps = open("/proc/%d/maps" % kid).read()
kek_path = os.path.join(st.dir, "kek")
check("data.mdb" not in maps and "lock.mdb" not in maps and st.dir not in maps,
      "child: no LMDB map or state file in /proc/PID/maps")
check("data.mdb" in open("/proc/%d/maps" % mon).read(),
      "(the monitor does map data.mdb: the check would see it)")
fds = {}
for fd in os.listdir("/proc/%d/fd" % kid):
    try:
        fds[int(fd)] = os.readlink("/proc/%d/fd/%s" % (kid, fd))
    except OSError:
        pass
log("child descriptors: %s" % ", ".join("%d:%s" % (k, v) for k, v in sorted(fds.items())))
check(not any(st.dir in v or "kek" in v or ".mdb" in v for v in fds.values()),
      "child: no descriptor of the store, the KEK or the state directory")
check(all(v.startswith("socket:") or v.startswith("anon_inode:") or k <= 2
          for k, v in fds.items()),
      "child: only sockets, eventfds and stdio")
mfds = [os.readlink("/proc/%d/fd/%s" % (mon, f)) for f in os.listdir("/proc/%d/fd" % mon)]
check(any("data.mdb" in v for v in mfds), "(the monitor has data.mdb open)")

# ---- 3. CA keys and the KEK in memory ---------------------------------
p = subprocess.run([MEMSCAN, "--state", st.dir, str(mon), str(kid)],
                   capture_output=True, text=True, timeout=300)
check(p.returncode == 0, "memory scan ran (%s)" % p.stderr.strip())
hits = {}
for l in p.stdout.splitlines():
    name, pid, n = l.split()
    hits[(name, int(pid))] = int(n)
names = sorted({n for n, _ in hits})
log("secrets scanned: %s" % ", ".join(names))
check(len([n for n in names if n != "kek"]) >= 3, "every CA key was unsealed for the scan")
for n in names:
    check(hits[(n, mon)] > 0, "%s: found in the monitor's memory (%d times)" % (n, hits[(n, mon)]))
    check(hits[(n, kid)] == 0, "%s: absent from the network child's memory" % n)
check(not any(x in p.stdout.lower() for x in ("begin", "private")),
      "the helper printed counts only")

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
done()
