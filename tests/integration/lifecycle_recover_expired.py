#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""lifecycle_recover_expired: a cluster whose certificates really expired,
brought back by `slipway recover`. A 3-node harness cluster of its own
(real etcd, haproxy, keepalived, the k8sdouble components) rolled out with
the short test lifetime (certificates.leafLifetime 150s,
allowShortLifetimes): nothing fakes the time, the test waits until every
leaf the nodes hold is past its notAfter. Then:

  1. etcd's /health (test1's own client pair) fails with an expired-
     certificate error, and /readyz through the VIP fails;
  2. `slipway recover` on it (--plan first: nothing changed) re-issues,
     delivers over SSH through the fleet engine and restarts tier by tier;
  3. afterwards etcd is healthy on all 3 members, /readyz through the VIP is
     ok, every Node is Ready, and no certificate a node holds has expired;
  4. `slipway recover` again: nothing to recover, nothing changed.
Prints how long the recovery took. About 4 minutes, most of it waiting for
the leaves to expire."""
import json
import os
import re
import sys
import time

import rollout_lib as L

LIFETIME = 150  # seconds; the shortest that outlives a rollout and a recovery


def write_inventory(self, _orig=L.Env.write_inventory):
    _orig(self)
    with open(self.inventory) as f:
        y = f.read()
    y = y.replace("  layout: separate", "  layout: separate\n  leafLifetime: %ds\n"
                  "  allowShortLifetimes: true" % LIFETIME, 1)
    with open(self.inventory, "w") as f:
        f.write(y)


L.Env.write_inventory = write_inventory


def start_serve(self):
    """serve with its renewal off (--renew-every 0): the cluster nobody
    looked after; with it on, serve renews the leaves at 2/3 of their
    lifetime and they never expire."""
    log = open(os.path.join(self.dir, "serve.log"), "w")
    self.logs.append(log)
    self.serve = self.h.popen("appliance", [L.SLIPWAY, "--state", self.state, "serve",
                                            "--listen", "%s:8443" % self.app_ip,
                                            "--renew-every", "0"],
                              stdout=log, stderr=L.subprocess.STDOUT)
    if not self.h.wait_tcp(self.app_ip, 8443, timeout=15):
        raise L.HarnessError("slipway serve did not come up (see %s)" % log.name)


L.Env.start_serve = start_serve


# signed by the CSR approver with the CSR's lifetime (a year), not the
# inventory's leafLifetime: they do not expire during the test
APPROVER_SIGNED = ("kubelet-client", "kubelet-serving")


def node_certs(env, bundle_only=True):
    """(node, purpose, notAfter) of every certificate a node holds; by
    default only the bundles' leaves (leafLifetime)."""
    st = json.loads(env.slipway("--json", "status").stdout)
    out = []
    for ow in st["expiry"]["owners"]:
        if not ow.get("node"):
            continue
        for pu in ow["purposes"]:
            if bundle_only and pu["purpose"] in APPROVER_SIGNED:
                continue
            for c in pu["certificates"]:
                if c.get("inUse"):
                    out.append((ow["owner"], pu["purpose"], c["notAfterUnix"]))
    return out


def certs_on_record(env):
    return sorted(x["serial"] for x in json.loads(env.slipway("--json", "cert", "list",
                                                               check=True).stdout))


def etcd_health(env, node):
    r = env.h.exec("test1", ["curl", "-sS", "--max-time", "5", "--cacert",
                             "/etc/etcd/cert/ca.pem", "--cert", "/etc/etcd/cert/etcd-client.pem",
                             "--key", "/etc/etcd/cert/etcd-client-key.pem",
                             "https://%s:2379/health" % env.h.ip(node)])
    return r.returncode == 0 and '"health":"true"' in r.stdout.replace(" ", ""), \
        (r.stdout + r.stderr).strip()


def fresh_readyz(env, timeout=5):
    """/readyz through the VIP with an admin kubeconfig made now (the one
    made earlier has the short lifetime too)."""
    try:
        os.unlink(os.path.join(env.dir, "admin.kubeconfig"))
    except FileNotFoundError:
        pass
    return env.readyz(timeout=timeout)


def nodes_ready(env):
    r = env.h.exec("appliance", ["kubectl", "--kubeconfig", env.admin_kubeconfig(),
                                 "--request-timeout", "5s", "get", "nodes", "-o", "json"],
                   timeout=20)
    if r.returncode != 0:
        return {}, r.stderr.strip()
    ready = {}
    for it in json.loads(r.stdout).get("items", []):
        conds = {c["type"]: c["status"] for c in it.get("status", {}).get("conditions", [])}
        ready[it["metadata"]["name"]] = conds.get("Ready") == "True"
    return ready, ""


def body(env, c):
    env.start_serve()
    rc, out, err, secs = env.rollout("--accept-new-host-keys", "--parallel", "3")
    c.need(rc == 0, "rollout with %ds leaves" % LIFETIME, err.strip())
    certs = node_certs(env)
    c.need(len(certs) > 0, "the nodes hold certificates", str(certs)[:200])
    last = max(na for _, _, na in certs)
    lifetimes_ok = all(na - time.time() <= LIFETIME for _, _, na in certs)
    c.need(lifetimes_ok, "every bundle certificate has the short lifetime (%ds)" % LIFETIME,
           str(certs)[:300])
    wait = last - time.time() + 3
    print("# waiting %.0fs for the last node certificate to expire (%s)" %
          (wait, time.strftime("%H:%M:%SZ", time.gmtime(last))))
    if wait > 0:
        time.sleep(wait)

    st = node_certs(env)
    c.need(all(na < time.time() for _, _, na in st),
           "every certificate of the nodes' bundles expired")
    bad = [etcd_health(env, n) for n in L.NODES]
    c.ok(all(not ok and "expired" in why for ok, why in bad),
         "etcd /health fails on every member with an expired-certificate error",
         "; ".join(why[:120] for _, why in bad))
    ok, why = fresh_readyz(env)
    c.ok(not ok, "/readyz through the VIP fails", why[:200])
    print("# /readyz before: %s" % why[:200])

    before = certs_on_record(env)
    p = env.slipway("recover", "--plan")
    c.ok(p.returncode == 0 and "restart:etcd" in p.stdout and "gate:etcd" in p.stdout and
         "gate:vip" in p.stdout and "gate:ready" in p.stdout,
         "recover --plan lists the deliveries, the tiers' restarts and gates", p.stderr.strip())
    c.ok(certs_on_record(env) == before, "recover --plan changed nothing (no certificate "
         "issued)")

    t0 = time.time()
    p = env.slipway("recover", timeout=600, ns="appliance")
    rc, out, err, secs = p.returncode, p.stdout, p.stderr, time.time() - t0
    print("# slipway recover: rc %d in %.1fs" % (rc, secs))
    for line in out.splitlines()[-40:]:
        print("    | " + line)
    c.need(rc == 0, "slipway recover completes", err.strip()[-400:])
    c.ok(re.search(r"^recovered: \d+ expired certificates replaced", out, re.M) is not None,
         "it says what it replaced", out[-200:])

    for n in L.NODES:
        ok, why = etcd_health(env, n)
        c.ok(ok, "etcd healthy on %s after recover" % n, why[:200])
    r = env.h.exec("test1", ["/opt/k8s/bin/etcdctl", "--endpoints",
                             ",".join("https://%s:2379" % env.h.ip(n) for n in L.NODES),
                             "--cacert", "/etc/etcd/cert/ca.pem",
                             "--cert", "/etc/etcd/cert/etcd-client.pem",
                             "--key", "/etc/etcd/cert/etcd-client-key.pem",
                             "member", "list"], timeout=30)
    c.ok(r.returncode == 0 and len(r.stdout.strip().splitlines()) == 3,
         "etcd has its 3 members", (r.stdout + r.stderr).strip()[:300])
    ok, why = fresh_readyz(env)
    c.ok(ok, "/readyz through the VIP ok after recover", why[:200])
    ready, why = nodes_ready(env)
    c.ok(sorted(ready) == sorted(L.NODES) and all(ready.values()),
         "every Node Ready after recover", "%s %s" % (ready, why))
    st = node_certs(env, bundle_only=False)
    c.ok(all(na > time.time() for _, _, na in st),
         "no certificate a node holds has expired", str([x for x in st if x[2] <= time.time()]))
    print("# recovery took %.1fs (slipway recover, wall)" % secs)

    before = certs_on_record(env)
    p = env.slipway("recover", ns="appliance")
    c.ok(p.returncode == 0 and "nothing to recover" in p.stdout,
         "recover on the recovered cluster: nothing to recover", (p.stdout + p.stderr).strip())
    c.ok(certs_on_record(env) == before, "and it changed nothing (no certificate issued)")


if __name__ == "__main__":
    sys.exit(L.main("lifecycle_recover_expired", body))
