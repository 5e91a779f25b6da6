#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""rollout_crash: kill -9 of `slipway rollout run` in the middle of a phase
(the masters phase, while kube-apiserver starts on the nodes) leaves a
journal from which the next run resumes and completes: `rollout status`
shows the run interrupted and the steps that were running as failed
("interrupted"), the run lock is free, and the next run does those steps
again (idempotent on the node) without redoing any step that had finished."""
import os
import re
import signal
import sys
import time

import rollout_lib as L


def body(env, c):
    env.start_serve()
    p = env.rollout_popen("--accept-new-host-keys", "--parallel", "3")
    killed_at = None
    lines = []
    deadline = time.time() + 300
    for line in p.stdout:
        lines.append(line)
        print("    | " + line.rstrip(), flush=True)
        if re.search(r"\bmasters\s+test\d\s+kube-apiserver\s+running", line):
            # nsenter execs slipway in place: p.pid is slipway itself.
            with open("/proc/%d/comm" % p.pid) as f:
                comm = f.read().strip()
            c.need(comm == "slipway", "the process to kill is slipway", comm)
            os.kill(p.pid, signal.SIGKILL)
            killed_at = line.split("]")[0].strip("[ ")
            break
        if time.time() > deadline:
            break
    p.kill()
    p.wait()
    c.need(killed_at is not None and p.returncode == -signal.SIGKILL,
           "slipway rollout run killed with SIGKILL mid-phase (masters)",
           "at %s" % killed_at)
    time.sleep(0.5)

    st = env.status()
    c.ok(st.get("run", {}).get("state") == "interrupted", "rollout status: run interrupted",
         str(st.get("run")))
    inter = [(n["node"], s["step"]) for n in env.phase(st, "masters")["nodes"]
             for s in n["steps"] if "interrupted" in s.get("reason", "")]
    c.ok(len(inter) >= 1, "the step(s) running at the kill show as interrupted", str(inter))
    done_before = {(ph["phase"], n["node"], s["step"]) for ph in st["phases"]
                   for n in ph["nodes"] for s in n["steps"] if s["state"] == "done"}
    c.ok(("etcd", "test1", "etcd") in done_before and ("ha", "test3", "keepalived") in
         done_before, "the steps before the kill are done in the journal",
         "%d done" % len(done_before))
    last = max(e["seq"] for e in env.log())

    rc, out, err, secs = env.rollout("--accept-new-host-keys", "--parallel", "3")
    c.need(rc == 0, "the next run resumes and completes", err.strip() or "%.1fs" % secs)
    new = [e for e in env.log() if e["seq"] > last and not e["step"].startswith("gate:")]
    redone = [(e["phase"], e["node"], e["step"]) for e in new
              if (e["phase"], e["node"], e["step"]) in done_before]
    c.ok(not redone, "no step that had finished was run again", str(redone))
    again = {(e["node"], e["step"]) for e in new if e["phase"] == "masters"}
    c.ok(all(k in again for k in inter), "the interrupted steps ran again", str(sorted(again)))
    st = env.status()
    c.ok(all(ph["state"] == "done" for ph in st["phases"]) and st["run"]["state"] == "done",
         "every phase done")
    steps = {(n["node"], s["step"]): s for n in env.phase(st, "masters")["nodes"]
             for s in n["steps"]}
    c.ok(all(steps[k].get("attempts") == 2 for k in inter),
         "journal: the interrupted steps took two attempts")
    ok, why = env.readyz()
    c.ok(ok, "the apiserver answers through the VIP after the resumed run", why)


if __name__ == "__main__":
    sys.exit(L.main("rollout_crash", body))
