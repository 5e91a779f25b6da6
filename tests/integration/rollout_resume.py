#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""rollout_resume: a node that cannot be reached (harness partition: its
cable is cut) stops the rollout at that phase's gate with a clear message
naming the node, and nothing of a later phase starts; after the cable is
back, `rollout run` resumes and completes without redoing any step that had
finished (asserted from the journal: which run wrote each step, and the
command log of every run)."""
import sys

import rollout_lib as L


def body(env, c):
    env.start_serve()
    rc, out, err, secs = env.rollout("--phase", "prepare", "--accept-new-host-keys")
    c.need(rc == 0, "prepare phase done on every node", err.strip())

    env.h.partition("test3")
    rc, out, err, secs = env.rollout("--accept-new-host-keys", "--connect-timeout", "3")
    c.ok(rc != 0, "the run fails while test3 is cut off", "exit %d after %.1fs" % (rc, secs))
    c.ok("stopped at the etcd gate" in err and "test3" in err and
         "stopped at the etcd gate, nothing after it was started" in err,
         "one clear line: stopped at the etcd gate, names test3", err.strip())
    c.ok(err.count("\n") == 1, "exactly one line on stderr")
    log1 = env.log()
    run2 = max(e["run"] for e in log1)
    later = [e for e in log1 if e["phase"] in ("ha", "masters", "workers")]
    c.ok(not later, "no command of a later phase ran",
         "%d records: %s" % (len(later), [(e["phase"], e["node"], e["step"]) for e in later]))
    act = {n: [env.unit_active(n, u) for u in ("haproxy", "keepalived", "kube-apiserver")]
           for n in ("test1", "test2")}
    c.ok(all(s != "active" for v in act.values() for s in v),
         "haproxy, keepalived and kube-apiserver not started on test1/test2", str(act))
    st = env.status()
    s3, why3 = env.node_state(st, "etcd", "test3")
    c.ok(s3 == "failed" and "10.77.0.13:22" in why3,
         "rollout status: etcd on test3 failed, with the reason", "%s: %s" % (s3, why3))
    c.ok(all(env.node_state(st, "etcd", n)[0] == "done" for n in ("test1", "test2")),
         "rollout status: etcd done on test1 and test2")
    c.ok(env.phase(st, "ha")["state"] == "pending" and env.phase(st, "workers")["state"] ==
         "pending", "rollout status: later phases pending")
    c.ok(L.wait_until(lambda: all(env.unit_active(n, "etcd") == "active"
                                  for n in ("test1", "test2")), 20),
         "etcd runs on test1 and test2 (quorum of 2 of 3)")

    env.h.heal("test3")
    rc, out, err, secs = env.rollout("--accept-new-host-keys", "--connect-timeout", "3")
    c.need(rc == 0, "after heal, rollout run resumes and completes", err.strip() or
           "%.1fs" % secs)
    log2 = env.log()
    run3 = max(e["run"] for e in log2)
    redo = [(e["phase"], e["node"], e["step"]) for e in log2
            if e["run"] == run3 and not e["step"].startswith("gate:") and
            (e["phase"] == "prepare" or (e["phase"] == "etcd" and e["node"] != "test3"))]
    c.ok(not redo, "the resumed run redid no finished step (command log)", str(redo))
    ran3 = sorted((e["phase"], e["step"]) for e in log2
                  if e["run"] == run3 and e["node"] == "test3" and e["phase"] == "etcd")
    c.ok(ran3 == [("etcd", "etcd")],
         "the resumed run did test3's etcd step (its bundle came in prepare)", str(ran3))
    st = env.status()
    steps = {(ph["phase"], n["node"], s["step"]): s for ph in st["phases"] for n in ph["nodes"]
             for s in n["steps"]}
    old = [k for k, s in steps.items() if k[0] == "etcd" and k[1] in ("test1", "test2")
           and (s.get("run") != run2 or s.get("attempts") != 1)]
    c.ok(not old, "journal: test1/test2 etcd steps written by run %d, one attempt each" % run2,
         str(old))
    c.ok(steps[("etcd", "test3", "etcd")].get("attempts") == 2,
         "journal: test3's etcd step took two attempts")
    c.ok(all(ph["state"] == "done" for ph in st["phases"]), "every phase done")


if __name__ == "__main__":
    sys.exit(L.main("rollout_resume", body))
