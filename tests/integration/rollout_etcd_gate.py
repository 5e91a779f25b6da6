#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""rollout_etcd_gate: an etcd member that fails its health check stops the
rollout at the etcd gate and the masters are not started. test2's etcd is
made to serve clients on 127.0.0.1 only (its unit is active, it is a member
of the cluster, but the appliance's mTLS /health check cannot reach it).
Then the member is repaired by hand and `rollout run --phase etcd` passes
the gate without redoing any step."""
import sys

import rollout_lib as L

# etcd ignores a repeated flag value it already has, hence two URLs.
BROKEN = """#!/bin/sh
# rollout_etcd_gate: etcd that answers clients on loopback only
exec /usr/bin/etcd "$@" --listen-client-urls=https://127.0.0.1:2379,https://127.0.0.2:2379
"""


def body(env, c):
    env.start_serve()
    env.h.write_file("test2", "/opt/k8s/bin/etcd", BROKEN, mode=0o755)
    rc, out, err, secs = env.rollout("--accept-new-host-keys", "--gate-timeout", "15")
    c.ok(rc != 0, "the run fails", "exit %d after %.1fs" % (rc, secs))
    c.ok("stopped at the etcd gate" in err and "test2" in err and "/health" in err and
         "stopped at the etcd gate, nothing after it was started" in err,
         "one clear line: the etcd gate, test2's /health", err.strip())
    st = env.status()
    s2, why2 = env.node_state(st, "etcd", "test2")
    c.ok(s2 == "failed" and why2.startswith("gate: ") and "10.77.0.12:2379/health" in why2,
         "rollout status: etcd on test2 failed its health check", "%s: %s" % (s2, why2))
    c.ok(env.phase(st, "etcd")["gate"]["state"] == "failed", "the etcd gate failed")
    c.ok(env.unit_active("test2", "etcd") == "active",
         "test2's etcd unit is active (it fails only the health check)")
    later = [e for e in env.log() if e["phase"] in ("ha", "masters", "workers")]
    c.ok(not later, "no command of the HA, masters or workers phase ran", str(len(later)))
    act = {n: env.unit_active(n, "kube-apiserver") for n in L.NODES}
    c.ok(all(v != "active" for v in act.values()), "kube-apiserver not started on any master",
         str(act))
    c.ok(env.phase(st, "masters")["state"] == "pending", "rollout status: masters pending")

    # Repair by hand, then check the gate again.
    env.h.exec("test2", ["install", "-m", "0755", "/usr/bin/etcd", "/opt/k8s/bin/etcd"],
               check=True)
    env.h.exec("test2", ["systemctl", "restart", "etcd"], check=True, timeout=90)
    last = max(e["seq"] for e in env.log())
    rc, out, err, secs = env.rollout("--phase", "etcd", "--gate-timeout", "30")
    c.ok(rc == 0, "after the repair the etcd gate passes", err.strip())
    new = [e for e in env.log() if e["seq"] > last]
    c.ok(not new, "no step was redone", str([(e["node"], e["step"]) for e in new]))
    st = env.status()
    c.ok(env.phase(st, "etcd")["state"] == "done", "rollout status: etcd done")


if __name__ == "__main__":
    sys.exit(L.main("rollout_etcd_gate", body))
