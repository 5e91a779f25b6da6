#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""rollout_full: a full rollout of the seed's 3-node topology (every node
etcd + master + worker) on harness hosts succeeds: `rollout status` shows
every phase and node done; etcd is a 3-member cluster serving with the
bundles' certificates; the VIP is on exactly one master and the apiserver
answers through haproxy on it; every Node is Ready; host keys were pinned
(inventory for test1/test2) or recorded on first contact (test3, audited);
the journal holds every remote command once, with exit status and output,
and no token; the run makes each node's token in its own process (strace -f
sees no execve but its own start); a second run redoes nothing."""
import json
import os
import sys

import rollout_lib as L


def body(env, c):
    p = env.slipway("rollout", "plan")
    c.ok(p.returncode == 0 and all(("phase %d: %s" % (i + 1, ph)) in p.stdout for i, ph in
                                   enumerate(["prepare", "etcd", "ha", "masters", "workers"])),
         "rollout plan lists the five phases in the seed's order")
    env.start_serve()
    trace = os.path.join(env.dir, "rollout-exec.trace")
    tokens0 = [e for e in env.audit() if e.get("action") == "token.create"]
    rc, out, err, secs = env.rollout("--accept-new-host-keys", "--parallel", "3",
                                     trace_exec=trace)
    c.need(rc == 0, "rollout run completes", "%.1fs" % secs if rc == 0 else err.strip())

    # Tokens as a library call: the run made one token per node, bound to
    # the node's address, and no process of it ran a program (strace -f saw
    # exactly one execve: slipway's own start).
    made = [e for e in env.audit() if e.get("action") == "token.create"][len(tokens0):]
    c.ok(sorted(e.get("object") for e in made) == L.NODES and
         all(("source %s" % env.h.ip(e["object"])) in e.get("detail", "") for e in made),
         "the run made one token per node, bound to its address (audit token.create)",
         "; ".join("%s %s" % (e.get("object"), e.get("detail")) for e in made))
    execs = L.Env.execs(trace)
    c.ok(len(execs) == 1 and os.path.realpath(execs[0][1]) == os.path.realpath(L.SLIPWAY),
         "rollout run makes its tokens without a child process running slipway "
         "(strace -f: one execve, slipway's own)",
         "; ".join("pid %d: %s" % e for e in execs))

    st = env.status()
    bad = ["%s/%s: %s %s" % (ph["phase"], n["node"], n["state"], n.get("reason", ""))
           for ph in st["phases"] for n in ph["nodes"] if n["state"] != "done"]
    gates = [ph["phase"] for ph in st["phases"] if ph["gate"]["state"] != "passed"]
    c.ok(not bad and not gates and all(ph["state"] == "done" for ph in st["phases"]),
         "rollout status: every phase and node done, every gate passed",
         "; ".join(bad + gates))
    txt = env.slipway("rollout", "status").stdout
    c.ok(txt.count(" done ") >= 15 and "failed" not in txt, "rollout status (text) shows done")

    # etcd: three members, the bundles' certificates.
    eps = ",".join("https://%s:2379" % env.h.ip(n) for n in L.NODES)
    r = env.h.exec("test1", ["/opt/k8s/bin/etcdctl", "--endpoints=" + eps,
                             "--cacert=/etc/etcd/cert/ca.pem",
                             "--cert=/etc/etcd/cert/etcd-client.pem",
                             "--key=/etc/etcd/cert/etcd-client-key.pem",
                             "member", "list", "-w", "json"])
    names = sorted(m.get("name") for m in json.loads(r.stdout or "{}").get("members", []))
    c.ok(r.returncode == 0 and names == L.NODES, "etcd is a 3-member cluster (test1-3)",
         str(names) if r.returncode == 0 else r.stderr.strip())
    r = env.h.exec("test2", ["/opt/k8s/bin/etcdctl", "--endpoints=" + eps,
                             "--cacert=/etc/etcd/cert/ca.pem",
                             "--cert=/etc/etcd/cert/etcd-client.pem",
                             "--key=/etc/etcd/cert/etcd-client-key.pem",
                             "endpoint", "health"])
    c.ok(r.returncode == 0 and (r.stdout + r.stderr).count("is healthy") == 3,
         "every member healthy with the bundle's client certificate",
         "; ".join((r.stdout + r.stderr).strip().splitlines()))
    r = env.h.exec("test3", ["sh", "-c", "openssl s_client -connect %s:2379 -CAfile "
                             "/etc/etcd/cert/ca.pem -cert /etc/etcd/cert/etcd-client.pem -key "
                             "/etc/etcd/cert/etcd-client-key.pem </dev/null 2>/dev/null | "
                             "openssl x509 -noout -subject; openssl x509 -noout -subject -in "
                             "/etc/etcd/cert/etcd.pem" % env.h.ip("test3")])
    subj = [l for l in r.stdout.splitlines() if l.startswith("subject")]
    c.ok(len(subj) == 2 and subj[0] == subj[1],
         "etcd serves the member certificate from test3's bundle", " | ".join(subj))

    # The VIP: one holder, haproxy in front of the apiservers.
    holders = env.vip_holders()
    c.ok(holders == ["test1"], "the VIP is on exactly one master (test1, keepalived MASTER)",
         str(holders))
    ok, why = env.readyz()
    c.ok(ok, "/readyz answers ok through the VIP (haproxy) with the admin certificate", why)
    r = env.h.exec("appliance", ["kubectl", "--kubeconfig", env.admin_kubeconfig(), "get",
                                 "nodes", "-o", "json"])
    ready = []
    if r.returncode == 0:
        for it in json.loads(r.stdout)["items"]:
            for cond in it["status"].get("conditions", []):
                if cond["type"] == "Ready" and cond["status"] == "True":
                    ready.append(it["metadata"]["name"])
    c.ok(sorted(ready) == L.NODES, "kubectl get nodes through the VIP: test1-3 Ready",
         str(sorted(ready)) if r.returncode == 0 else r.stderr.strip())

    # Host keys: pinned for test1/test2, recorded on first contact for test3.
    acc = [e for e in env.audit() if e.get("action") == "ssh.hostkey.accept"]
    c.ok([e.get("object") for e in acc] == ["test3"],
         "only test3's host key was recorded on first contact (audited)",
         "; ".join("%s %s" % (e.get("object"), e.get("detail")) for e in acc))

    # The journal: each step's command once, all exit 0, no token anywhere.
    log = env.log(output=True)
    steps = [(e["phase"], e["node"], e["step"]) for e in log if not e["step"].startswith("gate:")]
    dup = sorted(set(s for s in steps if steps.count(s) > 1))
    c.ok(not dup and len(steps) == 3 * 16 + 2, "the journal has each step exactly once",
         "%d records, duplicates %s" % (len(steps), dup))
    c.ok(all(e["exit"] == 0 for e in log), "every remote command exited 0 (kept in the journal)")
    bundles = [e for e in log if e["step"] == "bundle"]
    c.ok(len(bundles) == 3 and all("Bearer [redacted]" in e["command"] and
                                   "install.sh" in e["output"] for e in bundles),
         "bundle steps ran the one-liner and install.sh, token redacted in the journal")
    blob = json.dumps(log) + env.slipway("rollout", "log", "--output").stdout + out + err
    c.ok(not L.TOKEN_RE.search(blob), "no token in the journal, the log or the progress lines")

    # A second run: gates checked again, nothing redone.
    rc, out2, err2, secs = env.rollout()
    new = [e for e in env.log() if e["seq"] > max(x["seq"] for x in log)]
    c.ok(rc == 0 and all(e["step"].startswith("gate:") for e in new),
         "a second run passes every gate again and redoes no step",
         "%d new records: %s" % (len(new), sorted(set(e["step"] for e in new))))


if __name__ == "__main__":
    sys.exit(L.main("rollout_full", body))
