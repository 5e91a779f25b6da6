#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""rollout_failover: after the rollout (phase by phase with --phase, up to
the masters), the VIP fails over as keepalived is configured: stopping
keepalived on the VIP holder moves the VIP to another master within the
VRRP timeout (3 x advert_int + skew, from the rendered keepalived.conf), and
the apiserver double stays reachable through the VIP (haproxy on the new
holder); stopping haproxy on the new holder makes its track script lower
its priority, and the VIP moves again; both back, the VIP returns to the
first master."""
import re
import sys
import time

import rollout_lib as L


def vrrp_params(env, node):
    conf = env.h.read_file(node, "/etc/keepalived/keepalived.conf")

    def num(key, dflt):
        m = re.search(r"^\s*%s\s+(\d+)" % key, conf, re.M)
        return int(m.group(1)) if m else dflt
    return {"advert": num("advert_int", 1), "priority": num("priority", 100),
            "interval": num("interval", 1), "fall": num("fall", 1), "weight": 30}


def wait_holder(env, not_on, timeout, t0):
    holders = L.wait_until(lambda: (lambda h: h if len(h) == 1 and h[0] != not_on else None)(
        env.vip_holders()), timeout - (time.time() - t0), step=0.1)
    return holders, time.time() - t0


def body(env, c):
    env.start_serve()
    for ph in ("prepare", "etcd", "ha", "masters"):
        args = ["--phase", ph, "--parallel", "3"]
        if ph == "prepare":
            args.append("--accept-new-host-keys")
        rc, out, err, secs = env.rollout(*args)
        c.need(rc == 0, "rollout run --phase %s" % ph, err.strip() or "%.1fs" % secs)
    st = env.status()
    c.ok(env.phase(st, "workers")["state"] == "pending" and
         not [e for e in env.log() if e["phase"] == "workers"],
         "--phase ran exactly the phases asked for (workers not started)")

    holders = env.vip_holders()
    c.need(holders == ["test1"], "the VIP is on test1 (keepalived MASTER)", str(holders))
    ok, why = env.readyz()
    c.need(ok, "/readyz through the VIP", why)

    p1 = vrrp_params(env, "test1")
    p2 = vrrp_params(env, "test2")
    # Master down interval of a backup (RFC 5798): 3 x advert + skew.
    bound = 3 * p2["advert"] + (256 - p2["priority"]) / 256.0 * p2["advert"]
    t0 = time.time()
    env.h.exec("test1", ["systemctl", "stop", "keepalived"], check=True)
    holders, secs = wait_holder(env, "test1", bound + 2, t0)
    c.ok(holders is not None and secs <= bound,
         "keepalived stopped on test1: the VIP moves within the VRRP timeout",
         "to %s in %.1fs (timeout %.1fs)" % (holders, secs, bound))
    first = holders[0] if holders else None
    ok, why = env.readyz_wait(10)
    c.ok(ok, "the apiserver double answers through the VIP on %s" % first, why)
    c.ok(len(env.vip_holders()) == 1, "exactly one holder")

    if first is not None:
        pf = vrrp_params(env, first)
        # The track script notices after interval x fall; the lowered
        # priority is announced with the next advert and a backup with a
        # higher priority preempts.
        bound2 = pf["interval"] * pf["fall"] + pf["interval"] + 3 * pf["advert"] + 1
        t0 = time.time()
        env.h.exec(first, ["systemctl", "stop", "haproxy"], check=True)
        holders, secs = wait_holder(env, first, bound2 + 2, t0)
        c.ok(holders is not None and secs <= bound2,
             "haproxy stopped on %s: its priority drops and the VIP moves" % first,
             "to %s in %.1fs (bound %.1fs)" % (holders, secs, bound2))
        ok, why = env.readyz_wait(10)
        c.ok(ok, "the apiserver double still answers through the VIP", why)
        env.h.exec(first, ["systemctl", "start", "haproxy"], check=True)

    env.h.exec("test1", ["systemctl", "start", "keepalived"], check=True)
    holders = L.wait_until(lambda: env.vip_holders() == ["test1"] and ["test1"],
                           3 * p1["advert"] + 8, step=0.2)
    c.ok(holders == ["test1"], "keepalived back on test1: the VIP returns to it",
         str(env.vip_holders()))
    ok, why = env.readyz_wait(10)
    c.ok(ok, "/readyz through the VIP again", why)
    rc, out, err, secs = env.rollout("--phase", "ha")
    c.ok(rc == 0, "the HA gate passes again", err.strip())


if __name__ == "__main__":
    sys.exit(L.main("rollout_failover", body))
