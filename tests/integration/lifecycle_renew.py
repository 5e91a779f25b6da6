#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""lifecycle_renew: a cluster whose node certificates live 10 minutes
(certificates.leafLifetime: 10m) is renewed by `slipway serve` alone, with
no operator action: every node certificate in use is replaced before it
expires, node after node behind the gates, while a client on test1 writes
and reads etcd through all three endpoints without a failed operation;
`slipway status` shows the new not-after.

Time: a leaf is valid from 5 minutes before its issue (slipway backdates
every certificate) to 10 minutes after, 15 minutes in all; with
certificates.renewAt: 2/5 it is due 6 minutes after notBefore, one minute
after the rollout issued it (plus a per-node jitter of up to 30 s), and
serve looks every 10 s (--renew-every 10s): the whole test takes about
three minutes of real time, and nothing fakes the clock."""
import json
import sys
import time

import lifecycle_lib as LL


def node_certs(cl):
    """{(node, purpose): (serial, notAfter)} of the node certificates in use."""
    st = json.loads(cl.slipway("--json", "cert", "list", check=True).stdout)
    out = {}
    items = st if isinstance(st, list) else st.get("certificates", [])
    for cert in items:
        node = cert.get("node") or ""
        if node not in ("test1", "test2", "test3"):
            continue
        if cert.get("status") != "valid" or cert.get("purpose", "").startswith("kubelet"):
            continue
        out[(node, cert["purpose"])] = (cert["serial"], cert.get("notAfter"))
    return out


def body(cl, c):
    t0 = time.time()
    before = node_certs(cl)
    c.need(len(before) >= 3 * 8, "the rollout issued the nodes' certificates",
           "%d in use" % len(before))
    ld = cl.start_load("renew")
    # until every one was replaced (or the first would expire)
    deadline = t0 + 9 * 60
    renewed = {}
    while time.time() < deadline:
        now = node_certs(cl)
        renewed = {k: v for k, v in now.items() if k in before and v[0] != before[k][0]}
        if len(renewed) == len(before):
            break
        time.sleep(5)
    secs = time.time() - t0
    res = cl.stop_load(ld)
    load, smp = res.get("load", {}), res.get("sample", {})
    fails, apart = LL.split_failures(load, [])
    print("# %d of %d node certificates renewed by serve in %.1fs; client: %s "
          "operations, %s failures, %s ops/s" % (len(renewed), len(before), secs,
                                                 load.get("ops"), load.get("failures"),
                                                 load.get("rate")))
    for e in load.get("errors", []):
        print("#   failure at %.3fs (%s): %s" % (e["t"], e["op"], e["error"]))
    c.ok(len(renewed) == len(before),
         "serve renewed every node certificate before it expired, with no operator action",
         "missing: %s" % sorted(set(before) - set(renewed)))
    c.ok(fails == 0 and load.get("ops", 0) > 0, "the etcd client saw no failed operation",
         json.dumps(load.get("byError")))
    c.ok(smp.get("minHealthy") is not None and smp["minHealthy"] >= 2,
         "at least two healthy etcd members at every sample",
         "min %s" % smp.get("minHealthy"))
    st = cl.slipway("status").stdout
    na = [v[1] for v in renewed.values() if v[1]]
    c.ok(bool(na) and any(x[:16] in st for x in na),
         "slipway status shows the new not-after", "%s" % na[:2])
    # the operations of serve's renewals are in the journal, done
    log = json.loads(cl.slipway("--json", "rollout", "log", "--op", "all",
                                check=True).stdout)
    ops = sorted(set(e.get("op", "") for e in log if e.get("op", "").startswith("cert-renew")))
    c.ok(bool(ops), "the renewals ran as fleet operations (journal)", str(ops[:5]))
    r = cl.etcd_tls("test2", "/etc/etcd/cert/etcd-client.pem",
                    "/etc/etcd/cert/etcd-client-key.pem")
    c.ok(r[0], "etcd answers with the renewed client certificate", r[1][:120])


if __name__ == "__main__":
    sys.exit(LL.main("lifecycle_renew", body, leaf_lifetime="10m", renew_at="2/5",
                     serve_args=["--renew-every", "10s"]))
