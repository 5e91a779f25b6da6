#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""lifecycle_rotate_bad_input: what `ca rotate` refuses on the rolled-out
3-node harness cluster, each with one line on stderr, a non-zero exit and
nothing changed: an unknown CA; a node that cannot be reached during the
delivery of the new trust (its cable cut: the run stops naming the node and
the step, no unit restarts anywhere); `begin` of a CA that is mid-rotation;
`advance` while a node lacks the new trust (naming it) and `finish` while a
node's leaves are of the old generation (naming it), both overridden by
--force (on a copy of the store, so that the cluster keeps its trust).
After the cable is back, the same `ca rotate run` resumes and completes
without redoing a finished step, and every member accepts the new
generation's client certificate."""
import json
import shutil
import subprocess
import sys

import lifecycle_lib as LL
import rollout_lib as L

NODES = ("test1", "test2", "test3")
CUT = "test3"


def status(cl, state=None):
    argv = [L.SLIPWAY, "--state", state or cl.state, "--json", "ca", "rotate", "status"]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise LL.HarnessError("ca rotate status: %s" % p.stderr.strip())
    return json.loads(p.stdout)


def etcd_of(st):
    return [x for x in st if "etcd" in x.get("ca", "")][0]	# keys have "key"


def one_line(err):
    return err.strip() != "" and err.strip().count("\n") == 0


def started(cl):
    """Every node's etcd ExecMainStartTimestamp (restarts show as changes)."""
    return {n: cl.h.exec(n, ["systemctl", "show", "-P", "ExecMainStartTimestampMonotonic",
                             "etcd"]).stdout.strip() for n in NODES}


def cut_off(cl, c, g0, op, t0):
    """While CUT's cable is cut: the run's stop, and the manual steps'
    refusals (the store is mid-rotation)."""
    rc, out, err, secs = cl.run("ca", "rotate", "run", "--ca", "etcd",
                                "--connect-timeout", "3")
    c.ok(rc != 0 and one_line(err), "the run stops with one line on stderr",
         "exit %d after %.1fs: %r" % (rc, secs, err))
    c.ok("stopped at trust-both" in err and CUT in err and "deliver" in err and
         "nothing after it was started" in err,
         "the line names the stage, the node (%s) and the step (deliver)" % CUT,
         err.strip())
    log = json.loads(cl.slipway("--json", "rollout", "log", "--op", op, check=True).stdout)
    later = [(e["phase"], e["node"], e["step"]) for e in log
             if e["step"].startswith(("restart:", "reload:")) or
             e["phase"] not in ("begin", "trust-both")]
    c.ok(not later, "no restart and no later stage ran", str(later))
    c.ok(started(cl) == t0, "no etcd member restarted", str(started(cl)))
    mid = etcd_of(status(cl))
    c.need(mid["phase"] == "pending" and mid["pendingGeneration"] == g0 + 1,
           "the store: generation %d begun, trusted, not signing" % (g0 + 1), str(mid))

    # -- begin of a CA that is mid-rotation
    p = cl.slipway("ca", "rotate", "begin", "--ca", "etcd")
    c.ok(p.returncode != 0 and one_line(p.stderr),
         "begin of a CA mid-rotation: refused with one line",
         "exit %d: %s" % (p.returncode, p.stderr.strip()))
    c.ok(etcd_of(status(cl)) == mid, "the refused begin changed nothing")

    # -- advance while a node lacks the new trust
    p = cl.slipway("ca", "rotate", "advance", "--ca", "etcd")
    c.ok(p.returncode != 0 and one_line(p.stderr) and CUT in p.stderr and
         "--force" in p.stderr,
         "advance refused while %s lacks generation %d's trust, naming it" % (CUT, g0 + 1),
         "exit %d: %s" % (p.returncode, p.stderr.strip()))
    c.ok(etcd_of(status(cl)) == mid, "the refused advance changed nothing")

    # -- --force overrides (on a copy: the cluster must keep working trust)
    copy = cl.state + "-force"
    shutil.rmtree(copy, ignore_errors=True)
    subprocess.run(["cp", "-a", cl.state, copy], check=True)
    try:
        def sw(*args):
            return subprocess.run([L.SLIPWAY, "--state", copy] + list(args),
                                  capture_output=True, text=True, timeout=60)
        p = sw("ca", "rotate", "advance", "--ca", "etcd", "--force")
        cs = etcd_of(status(cl, copy))
        c.ok(p.returncode == 0 and cs["phase"] == "advanced" and
             cs["activeGeneration"] == g0 + 1,
             "advance --force overrides: generation %d signs (copy of the store)" % (g0 + 1),
             "exit %d: %s; %s" % (p.returncode, p.stderr.strip(), cs))
        p = sw("ca", "rotate", "finish", "--ca", "etcd")
        c.ok(p.returncode != 0 and one_line(p.stderr) and
             any(n in p.stderr for n in NODES) and "--force" in p.stderr,
             "finish refused while a node's etcd certificates are of generation %d, "
             "naming it" % g0, "exit %d: %s" % (p.returncode, p.stderr.strip()))
        p = sw("ca", "rotate", "finish", "--ca", "etcd", "--force")
        cs = etcd_of(status(cl, copy))
        c.ok(p.returncode == 0 and cs["phase"] == "idle" and cs["previousGeneration"] == 0,
             "finish --force overrides: generation %d retired (copy of the store)" % g0,
             "exit %d: %s; %s" % (p.returncode, p.stderr.strip(), cs))
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    c.ok(etcd_of(status(cl)) == mid, "the cluster's store still mid-rotation")
    return mid


def body(cl, c):
    before = status(cl)
    e0 = etcd_of(before)
    c.need(e0["phase"] == "idle", "etcd CA idle before", str(e0))
    g0 = e0["activeGeneration"]
    op = "ca-rotate-etcd-%d" % (g0 + 1)

    # -- an unknown CA
    for args in (("ca", "rotate", "run", "--ca", "nosuch"),
                 ("ca", "rotate", "begin", "--ca", "nosuch")):
        rc, out, err, secs = cl.run(*args)
        c.ok(rc != 0 and one_line(err) and "nosuch" in err,
             "%s: refused with one line naming it" % " ".join(args[:3]),
             "exit %d: %s" % (rc, err.strip()))
    c.ok(status(cl) == before, "an unknown CA changed no rotation")

    # -- a node cut off during the delivery of the new trust
    t0 = started(cl)
    cl.h.partition(CUT)
    try:
        cut_off(cl, c, g0, op, t0)
    finally:
        cl.h.heal(CUT)  # the shared cluster whole again, whatever failed

    # -- after heal, the same command resumes and completes (no client
    # load here: a 1 s settle after each etcd member is enough)
    rc, out, err, secs = cl.run("ca", "rotate", "run", "--ca", "etcd", "--settle", "1")
    c.need(rc == 0, "after heal, ca rotate run --ca etcd resumes and completes",
           err.strip() or "%.1fs" % secs)
    print("# resumed run: %.1fs" % secs)
    log = json.loads(cl.slipway("--json", "rollout", "log", "--op", op, check=True).stdout)
    runs = sorted({e["run"] for e in log})
    first = {(e["phase"], e["node"], e["step"]) for e in log
             if e["run"] == runs[0] and e["exit"] == 0 and
             not e["step"].startswith(("check:", "gate"))}
    redone = sorted(k for k in first for e in log
                    if e["run"] == runs[-1] and (e["phase"], e["node"], e["step"]) == k)
    c.ok(len(runs) >= 2 and not redone,
         "the resumed run redid no command that had succeeded before the cut",
         "runs %s, redone %s" % (runs, redone))
    c.ok(any(e["run"] == runs[-1] and e["node"] == CUT and e["phase"] == "trust-both"
             for e in log), "the resumed run delivered to %s" % CUT)
    after = etcd_of(status(cl))
    c.ok(after["phase"] == "idle" and after["activeGeneration"] == g0 + 1 and
         after["previousGeneration"] == 0,
         "etcd CA at generation %d, the old one retired" % (g0 + 1), str(after))
    for n in NODES:
        ok, why = cl.etcd_tls(n, "/etc/etcd/cert/etcd-client.pem",
                              "/etc/etcd/cert/etcd-client-key.pem")
        c.ok(ok, "%s accepts the new generation's client certificate" % n, why[:160])


if __name__ == "__main__":
    sys.exit(LL.main("lifecycle_rotate_bad_input", body))
