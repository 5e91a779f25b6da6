#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""inventory_add_worker: `slipway inventory apply` adds a fourth host
(test4, booted and prepared with the cluster but not in its inventory) as a
worker on the rolled-out harness cluster: diff and --plan show only
test4's steps; apply stores the inventory, serve takes it up by itself,
test4 fetches its bundle, its kubelet bootstraps (CSR approved by serve's
approver) and its Node becomes Ready; no unit on test1-3 was restarted
(their start times are unchanged); the run is journaled and audited;
applying the same file again changes nothing.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lifecycle_lib as LL  # noqa: E402
import rollout_lib as L  # noqa: E402

UNITS = ["etcd", "haproxy", "keepalived", "kube-apiserver", "kube-controller-manager",
         "kube-scheduler", "flanneld", "containerd", "kubelet", "kube-proxy"]


def start_times(cl):
    """{(node, unit): (active-enter monotonic usec, main pid)} on test1-3."""
    out = {}
    for n in L.NODES:
        r = cl.h.exec(n, ["systemctl", "show", "-p", "Id,ActiveEnterTimestampMonotonic,MainPID"]
                      + [u + ".service" for u in UNITS])
        for block in r.stdout.strip().split("\n\n"):
            kv = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
            if kv.get("Id"):
                out[(n, kv["Id"])] = (kv.get("ActiveEnterTimestampMonotonic"), kv.get("MainPID"))
    return out


def node_ready(cl, name):
    r = cl.h.exec("appliance", ["kubectl", "--kubeconfig", cl.admin_kubeconfig(),
                                "--request-timeout", "5s", "get", "node", name, "-o", "json"],
                  timeout=20)
    if r.returncode != 0:
        return False, (r.stdout + r.stderr).strip()[-300:]
    conds = json.loads(r.stdout).get("status", {}).get("conditions", [])
    ready = [x for x in conds if x.get("type") == "Ready"]
    return bool(ready) and ready[0].get("status") == "True", json.dumps(ready)


def body(cl, c):
    c.need("test4" in cl.h.nodes, "the harness has a spare host test4",
           "SLW_LIFECYCLE_SPARE=test4")
    before = start_times(cl)
    c.need(len(before) >= 3 * 5 and all(v[0] not in (None, "", "0") for v in before.values()),
           "unit start times read on test1-3", "%d units" % len(before))
    with open(cl.inventory) as f:
        y = f.read()
    new = os.path.join(os.path.dirname(cl.inventory), "cluster-add-test4.yaml")
    # the new node after the last one: sections may follow the nodes
    # (the harness writes versions: after them)
    lines = y.rstrip("\n").split("\n")
    last = max(i for i, l in enumerate(lines) if l.startswith("  - { name: "))
    lines.insert(last + 1, "  - { name: test4, ip: %s, roles: [worker] }" % cl.h.ip("test4"))
    with open(new, "w") as f:
        f.write("\n".join(lines) + "\n")

    p = cl.slipway("inventory", "diff", new)
    c.ok(p.returncode == 0 and "+ test4 (worker, %s): add" % cl.h.ip("test4") in p.stdout
         and "1 changed, 3 unchanged" in p.stdout, "diff: test4 added, 3 unchanged",
         (p.stdout + p.stderr).strip()[-300:])
    p = cl.slipway("--json", "inventory", "apply", new, "--plan")
    try:
        plan = json.loads(p.stdout)
    except ValueError:
        plan = {}
    steps = [s for st in plan.get("stages", []) for s in st.get("steps", [])] \
        if isinstance(plan.get("stages"), list) else plan.get("steps", [])
    nodes = sorted({s.get("node") for s in steps})
    c.ok(p.returncode == 0 and steps and set(nodes) <= {"test4", "appliance", "-"},
         "--plan: steps only on test4 and the appliance", "nodes %s, %d steps" % (nodes, len(steps))
         if steps else (p.stdout + p.stderr)[-300:])

    rc, out, err, secs = cl.run("inventory", "apply", new, "--accept-new-host-keys")
    c.need(rc == 0, "inventory apply adds test4", "%.1fs; %s" % (secs, err.strip()[-300:]))
    ok, why = node_ready(cl, "test4")
    c.ok(ok, "Node test4 is Ready", why)
    after = start_times(cl)
    changed = sorted("%s/%s" % k for k in before if after.get(k) != before[k])
    c.ok(not changed, "no unit on test1-3 restarted", ", ".join(changed) or
         "%d units, same start times and PIDs" % len(before))
    r = cl.h.exec("test4", ["systemctl", "is-active", "kubelet", "kube-proxy", "flanneld",
                            "containerd"])
    c.ok(r.stdout.split() == ["active"] * 4, "test4's worker units are active", r.stdout.strip())
    shown = cl.slipway("inventory", "show").stdout
    c.ok("name: test4" in shown, "the stored inventory has test4")
    audit = [a for a in cl.audit() if a.get("action", "").startswith("inventory.apply")]
    c.ok(any(a["action"] == "inventory.apply" for a in audit) and
         any("complete" in a.get("detail", "") for a in audit),
         "audited: the change and the complete run", "%d records" % len(audit))
    log = json.loads(cl.slipway("--json", "rollout", "log", "--op", "all").stdout or "[]")
    ops = {e.get("op") for e in log} if isinstance(log, list) else set()
    c.ok(any(o and o.startswith("inventory-") for o in ops), "journaled under its operation",
         ", ".join(sorted(o for o in ops if o)))
    p = cl.slipway("inventory", "apply", new)
    c.ok(p.returncode == 0 and "nothing to change" in p.stdout,
         "applying it again changes nothing", (p.stdout + p.stderr).strip()[-200:])


if __name__ == "__main__":
    sys.exit(LL.main("inventory_add_worker", body))
