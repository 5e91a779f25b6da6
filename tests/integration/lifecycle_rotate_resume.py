#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""lifecycle_rotate_resume: `slipway ca rotate run --ca etcd` killed with
SIGKILL at one step boundary after another (at least 8: the store's begin,
advance and finish, deliveries, etcd and apiserver restarts before and while
they run), each time run again, until a run completes. A client on test1
writes and reads through all three etcd endpoints the whole time and a
sampler watches every member's /health: no failed client operation across
all runs (reads caught by a leadership move are counted apart, as in
lifecycle_rotate_etcd), never fewer than two healthy members, no step that
had finished runs again, and the rotation ends where one uninterrupted run
would: the next generation active, the old one retired, every member
refusing the old generation's client certificate."""
import json
import os
import re
import signal
import sys
import time

import lifecycle_lib as LL

# Where to kill, in order: the progress line that starts a step (or a wait
# inside one). A point whose step finished in an earlier run is skipped by
# the resumed run and never shows: the next point is tried.
POINTS = [
    r"begin\s+appliance\s+begin\s+running",
    r"trust-both\s+test\d\s+deliver\s+running",
    r"trust-both\s+test1\s+restart:etcd\s+running",
    r"trust-both\s+test2\s+restart:etcd\s+etcd restarted",
    r"trust-both\s+test3\s+restart:etcd\s+healthy; settles",
    r"trust-both\s+test2\s+restart:kube-apiserver\s+running",
    r"advance\s+appliance\s+advance\s+running",
    r"leaves\s+test2\s+deliver\s+running",
    r"leaves\s+test1\s+restart:kube-apiserver\s+running",
    r"finish\s+appliance\s+finish\s+running",
    r"trust-new\s+test1\s+deliver\s+running",
    r"trust-new\s+test2\s+restart:etcd\s+waits for every etcd member healthy",
    r"trust-new\s+test3\s+restart:kube-apiserver\s+running",
]
STEP_RE = re.compile(r"^\[\s*[\d.]+s\]\s+(\S+)\s+(\S+)\s+(\S+)\s+(.*)$")


def body(cl, c):
    before = json.loads(cl.slipway("--json", "ca", "rotate", "status", "--ca", "etcd",
                                   check=True).stdout)
    c.need(before["phase"] == "idle", "etcd CA idle before", str(before))
    g0 = before["activeGeneration"]
    cl.h.sh("test1", "cp /etc/etcd/cert/etcd-client.pem /run/old-client.pem && "
            "cp /etc/etcd/cert/etcd-client-key.pem /run/old-client-key.pem", check=True)
    ld = cl.start_load("resume")
    cl.moves = []
    done = {}          # step -> attempt that finished it
    redone = []
    kills = []
    t0 = time.time()
    point = 0
    final_rc = None
    for attempt in range(1, 40):
        p = cl.popen("ca", "rotate", "run", "--ca", "etcd")
        killed = None
        for line in p.stdout:
            print("    %d| %s" % (attempt, line.rstrip()), flush=True)
            if "leadership moved" in line:
                cl.moves.append(time.time())
            m = STEP_RE.match(line.strip())
            if m:
                key = (m.group(1), m.group(2), m.group(3))
                msg = m.group(4)
                if msg.startswith("running") and key in done:
                    redone.append((key, done[key], attempt))
                if msg.startswith("done (") and key not in done:
                    done[key] = attempt
            if point < len(POINTS) and re.search(POINTS[point], line):
                os.kill(p.pid, signal.SIGKILL)
                killed = POINTS[point]
                break
        p.stdout.close()
        rc = p.wait()
        err = p.stderr.read()
        p.stderr.close()
        if killed is not None:
            kills.append(killed)
            print("# attempt %d: killed with SIGKILL at /%s/" % (attempt, killed))
            point += 1
            continue
        if rc == 0:
            final_rc = 0
            print("# attempt %d: completed" % attempt)
            break
        # the point was not reached (its step done before): next point
        print("# attempt %d: exit %d without reaching /%s/: %s" %
              (attempt, rc, POINTS[point] if point < len(POINTS) else "-", err.strip()))
        if point < len(POINTS):
            point += 1
        else:
            final_rc = rc
            break
    wall = time.time() - t0
    res = cl.stop_load(ld)
    load, smp = res.get("load", {}), res.get("sample", {})
    fails, apart = LL.split_failures(load, cl.moves)
    print("# %d kills, %.1fs wall; client: %s operations, %d failures, %d counted apart "
          "(reads at %d leadership moves), %s ops/s" %
          (len(kills), wall, load.get("ops"), fails, apart, len(cl.moves), load.get("rate")))
    for e in load.get("errors", []):
        print("#   failure at %.3fs (%s): %s" % (e["t"], e["op"], e["error"]))
    print("# sampler: %s samples, fewest healthy %s" % (smp.get("samples"),
                                                       smp.get("minHealthy")))
    c.ok(len(kills) >= 8, "killed with SIGKILL at 8 or more step boundaries",
         "%d: %s" % (len(kills), kills))
    c.need(final_rc == 0, "a run after the last kill completes the rotation")
    c.ok(not redone, "no step that had finished ran again", str(redone[:5]))
    c.ok(fails == 0 and load.get("ops", 0) > 0,
         "no failed client operation across all runs (counted apart: %d)" % apart,
         json.dumps(load.get("byError")))
    c.ok(smp.get("minHealthy") is not None and smp["minHealthy"] >= 2,
         "quorum never lost: at least two healthy members at every sample",
         "%s samples, min %s, below: %s" % (smp.get("samples"), smp.get("minHealthy"),
                                            smp.get("below2")))
    after = json.loads(cl.slipway("--json", "ca", "rotate", "status", "--ca", "etcd",
                                  check=True).stdout)
    c.ok(after["phase"] == "idle" and after["activeGeneration"] == g0 + 1,
         "the rotation ended at the next generation, the old one retired", str(after))
    for n in ("test1", "test2", "test3"):
        ok_old, why_old = cl.etcd_tls(n, "/run/old-client.pem", "/run/old-client-key.pem")
        ok_new, why_new = cl.etcd_tls(n, "/etc/etcd/cert/etcd-client.pem",
                                      "/etc/etcd/cert/etcd-client-key.pem")
        c.ok(not ok_old and ok_new, "%s refuses the old generation and accepts the new" % n,
             "old: %s; new: %s" % (why_old[:120], why_new[:120]))
    st = cl.slipway("ca", "rotate", "run", "--ca", "etcd", "--plan")
    c.ok(st.returncode == 0 and "-> %d" % (g0 + 2) in st.stdout,
         "the finished rotation is not resumed: the next plan brings in the next "
         "generation", st.stdout.splitlines()[0] if st.stdout else st.stderr.strip())


if __name__ == "__main__":
    sys.exit(LL.main("lifecycle_rotate_resume", body))
