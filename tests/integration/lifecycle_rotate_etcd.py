#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""lifecycle_rotate_etcd: `slipway ca rotate run --ca etcd` on the rolled-out
3-node harness cluster while a client on test1 writes and reads through all
three etcd endpoints (one attempt per operation, at least 20 a second) and a
sampler asks every member's /health every 100 ms: the rotation completes,
the client sees no failed operation (any TLS or certificate error counts),
at least two members are healthy at every sample, and afterwards every
member refuses a client certificate of the old generation and accepts the
new one. Prints operations, failures (each with its error) and wall time."""
import json
import sys

import lifecycle_lib as LL


def gens(cl):
    st = json.loads(cl.slipway("--json", "ca", "rotate", "status", "--ca", "etcd",
                               check=True).stdout)
    return st


def body(cl, c):
    before = gens(cl)
    c.need(before["phase"] == "idle", "etcd CA idle before", str(before))
    g0 = before["activeGeneration"]

    p = cl.slipway("ca", "rotate", "run", "--ca", "etcd", "--plan")
    c.ok(p.returncode == 0 and all(s in p.stdout for s in
                                   ("stage begin", "stage trust-both", "stage advance",
                                    "stage leaves", "stage finish", "stage trust-new",
                                    "restart:etcd", "deliver")),
         "--plan lists the stages, deliveries and restarts", p.stderr.strip())
    c.ok(gens(cl) == before, "--plan changed nothing")

    # the old generation's client pair, kept for the check afterwards
    cl.h.sh("test1", "cp /etc/etcd/cert/etcd-client.pem /run/old-client.pem && "
            "cp /etc/etcd/cert/etcd-client-key.pem /run/old-client-key.pem", check=True)

    ld = cl.start_load("rotate")
    rc, out, err, secs = cl.run("ca", "rotate", "run", "--ca", "etcd")
    res = cl.stop_load(ld)
    load, smp = res.get("load", {}), res.get("sample", {})
    for k in ("load", "sample"):
        if "error" in res.get(k, {}):
            print("# %s did not report: %s" % (k, res[k]["error"]))
    print("# ca rotate run --ca etcd: rc %d, %.1fs wall" % (rc, secs))
    print("# client: %s operations, %s failures, %s ops/s over %ss, %s credential reloads"
          % (load.get("ops"), load.get("failures"), load.get("rate"), load.get("wall"),
             load.get("reloads")))
    for e in load.get("errors", []):
        print("#   failure at %.3fs (%s): %s" % (e["t"], e["op"], e["error"]))
    print("# sampler: %s samples, fewest healthy %s" % (smp.get("samples"),
                                                       smp.get("minHealthy")))
    for b in smp.get("below2", []):
        print("#   at %.2fs: %d healthy, not: %s" % (b["t"], b["healthy"], b["down"]))
    c.need(rc == 0, "ca rotate run --ca etcd completes", err.strip() or "%.1fs" % secs)
    fails, apart = LL.split_failures(load, getattr(cl, "moves", []))
    print("# failures: %d; counted apart (a read waiting on the leader while the "
          "engine moved leadership, %d moves): %d" % (fails, len(getattr(cl, "moves", [])),
                                                     apart))
    c.ok(fails == 0 and load.get("ops", 0) > 0,
         "the client saw no failed operation (but reads in flight at a leadership "
         "move, counted apart: %d)" % apart, json.dumps(load.get("byError")))
    c.ok(load.get("rate", 0) >= 20, "the client ran at least 20 operations a second",
         "%s ops/s" % load.get("rate"))
    c.ok(smp.get("minHealthy") is not None and smp["minHealthy"] >= 2 and
         smp.get("samples", 0) >= secs * 5,
         "at least two members healthy at every 100 ms sample",
         "%s samples, min %s, below: %s" % (smp.get("samples"), smp.get("minHealthy"),
                                            smp.get("below2")))

    after = gens(cl)
    c.ok(after["phase"] == "idle" and after["activeGeneration"] == g0 + 1 and
         after["previousGeneration"] == 0,
         "etcd CA at the next generation, the old one retired", str(after))
    for n in ("test1", "test2", "test3"):
        ok_old, why_old = cl.etcd_tls(n, "/run/old-client.pem", "/run/old-client-key.pem")
        ok_new, why_new = cl.etcd_tls(n, "/etc/etcd/cert/etcd-client.pem",
                                      "/etc/etcd/cert/etcd-client-key.pem")
        c.ok(not ok_old and ok_new,
             "%s refuses the old generation's client certificate and accepts the new" % n,
             "old: %s; new: %s" % (why_old[:160], why_new[:160]))
    # every node's trust as read back: the new generation alone
    for n in ("test1", "test2", "test3"):
        r = cl.h.exec(n, ["sh", "-c", "grep -c 'BEGIN CERTIFICATE' /etc/etcd/cert/ca.pem "
                          "/etc/kubernetes/cert/etcd-ca.pem /etc/flanneld/cert/etcd-ca.pem"])
        c.ok(r.returncode == 0 and all(l.endswith(":1") for l in r.stdout.split()),
             "%s: every etcd trust file holds one generation" % n, r.stdout.strip())
    # units restarted only where their files changed: never kubelet or containerd
    log = json.loads(cl.slipway("--json", "rollout", "log", "--op",
                                "ca-rotate-etcd-%d" % (g0 + 1), check=True).stdout)
    restarted = sorted((e["phase"], e["node"], e["step"]) for e in log
                       if e["step"].startswith("restart:"))
    c.ok(not any(s in ("restart:kubelet", "restart:containerd", "restart:kube-proxy")
                 for _, _, s in restarted),
         "no unit restarted whose files did not change", str(restarted))
    etcd = [(ph, n) for ph, n, s in restarted if s == "restart:etcd"]
    c.ok(sorted(etcd) == sorted((ph, n) for ph in ("trust-both", "trust-new")
                                for n in ("test1", "test2", "test3")),
         "each etcd member restarted once per trust change, not for its own new "
         "certificate (etcd reads that on every handshake)", str(etcd))


if __name__ == "__main__":
    sys.exit(LL.main("lifecycle_rotate_etcd", body))
