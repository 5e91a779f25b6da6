# SPDX-License-Identifier: Apache-2.0
"""Shared pieces of the Kubernetes-side lifecycle tests
(lifecycle_rotate_kubernetes, _front_proxy, _sa, lifecycle_key_encryption)
on the shared rolled-out cluster (lifecycle_lib): traffic on test1
(k8s_load.py), the k8sdouble components' request counters on every node,
the doubles' flag check of the units as installed, a watcher that records
what each master's key files hold while an operation runs, and etcd reads
(which key a Secret is under, how often it was written)."""
import base64
import json
import os
import subprocess
import threading
import time

import rollout_lib as L

LOAD = os.path.join(L.SRC, "tests", "integration", "k8s_load.py")
CHECK_UNIT = os.path.join(L.SRC, "tests", "k8sdouble", "bin", "k8sdouble-check-unit")
UNITS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy")
ETCDCTL = ["/opt/k8s/bin/etcdctl", "--cacert=/etc/etcd/cert/ca.pem",
           "--cert=/etc/etcd/cert/etcd-client.pem", "--key=/etc/etcd/cert/etcd-client-key.pem"]


def vip(cl):
    return "%s:8443" % L.VIP


def stats(cl):
    """{node: {component: {requests, failures, errors, processes}}}."""
    out = {}
    for n in L.NODES:
        r = cl.h.exec(n, ["/usr/bin/python3", LOAD, "stats"])
        try:
            out[n] = json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            out[n] = {}
    return out


def stats_delta(before, after):
    """Requests and failures per component made between two stats(); the
    errors of the failures."""
    tot = {}
    for n, comps in after.items():
        for comp, s in comps.items():
            b = (before.get(n) or {}).get(comp) or {"requests": 0, "failures": 0}
            t = tot.setdefault(comp, {"requests": 0, "failures": 0, "errors": []})
            t["requests"] += s["requests"] - b["requests"]
            t["failures"] += s["failures"] - b["failures"]
            if s["failures"] > b["failures"]:
                t["errors"] += ["%s: %s" % (n, e) for e in s.get("errors", [])[-3:]]
    return tot


class Traffic:
    """k8s_load.py traffic on test1 while an operation runs."""

    def __init__(self, cl, tag, token=None, kubeconfig=None):
        self.cl, self.stop = cl, "/run/k8s-load-stop-%s" % tag
        cl.h.exec("test1", ["rm", "-f", self.stop])
        argv = ["/usr/bin/python3", LOAD, "traffic", "--stop", self.stop, "--vip", vip(cl),
                "--nodes", ",".join(cl.h.ip(n) for n in L.NODES)]
        if token:
            argv += ["--token", token]
        if kubeconfig:
            argv += ["--kubeconfig", kubeconfig]
        self.p = cl.h.popen("test1", argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.before = stats(cl)
        time.sleep(2.0)

    def finish(self):
        self.cl.h.exec("test1", ["touch", self.stop])
        try:
            out, err = self.p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            out, err = self.p.communicate()
        self.cl.h.exec("test1", ["rm", "-f", self.stop])
        try:
            res = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            res = {"error": (err or out)[-2000:]}
        res["components"] = stats_delta(self.before, stats(self.cl))
        return res


def kubelet_downtimes(cl, since):
    """{node ip: [(stopped, listening)]}: every kubelet restart after since
    (wall time), from systemd's "Stopping kubelet.service" to the double's
    "Starting to listen on" its API port, from the node's journal."""
    out = {}
    for n in L.NODES:
        r = cl.h.exec(n, ["journalctl", "-o", "short-unix", "--no-pager", "--since", "@%d" % int(since),
                          "-u", "kubelet"])
        wins, down = [], None
        for line in r.stdout.splitlines():
            try:
                t = float(line.split(" ", 1)[0])
            except ValueError:
                continue
            if "Stopping kubelet.service" in line and down is None:
                down = t
            elif "Starting to listen on" in line and down is not None:
                wins.append((down, t))
                down = None
        if down is not None:
            wins.append((down, time.time()))
        out[cl.h.ip(n)] = wins
    return out


def report(c, res, kinds, downtimes=None):
    """Prints the counts and checks that nothing failed. With downtimes
    (kubelet_downtimes), a refused connection to a kubelet's API while
    that kubelet was restarted by the operation (nothing listens then:
    the kubelet is one process) is counted apart and printed with the
    restart's length; any other failure fails."""
    if "error" in res:
        c.ok(False, "the traffic client reported", res["error"])
        return
    for k in kinds:
        r = res.get(k) or {}
        apart = []
        if downtimes is not None and k == "kubelet-api":
            for e in r.get("refused", []):
                ip = e["what"].split(" ")[-1]
                if any(a <= e["wall"] <= b + 0.5 for a, b in downtimes.get(ip, [])):
                    apart.append(e)
            if len(r.get("refused", [])) >= 2000:
                apart = []   # not all recorded: count none apart
        fails = r.get("failures", 0) - len(apart)
        print("# %s: %s requests, %s failures over %ss%s" % (
            k, r.get("requests"), fails, res.get("wall"),
            "; %d refused while that kubelet restarted (counted apart)" % len(apart) if apart else ""))
        if downtimes is not None and k == "kubelet-api":
            for ip, wins in sorted(downtimes.items()):
                print("#   kubelet %s restarts: %s" % (ip, ", ".join("%.1fs down" % (b - a) for a, b in wins)))
        other = [e for e in r.get("errors", [])
                 if not any(e.get("wall") == x["wall"] and e["what"] == x["what"] for x in apart)]
        for e in other:
            print("#   at %.3fs (%s): %s" % (e["t"], e["what"], e["error"]))
        c.ok(r.get("requests", 0) > 0 and fails == 0,
             "%s requests kept working throughout (0 failed%s)" % (
                 k, ", %d refused during kubelet restarts apart" % len(apart) if apart else ""),
             json.dumps(other[:3]))
    comps = res["components"]
    for comp in sorted(comps):
        s = comps[comp]
        print("# component %s: %d requests, %d failures" % (comp, s["requests"], s["failures"]))
        for e in s["errors"]:
            print("#   %s" % e)
    busy = [x for x in ("kubelet", "kube-controller-manager", "kube-scheduler", "kube-proxy") if x in comps]
    c.ok(all(comps[x]["requests"] > 0 for x in busy) and len(busy) == 4,
         "kubelet, controller-manager, scheduler and kube-proxy talked to the apiserver throughout",
         json.dumps({k: v["requests"] for k, v in comps.items()}))
    c.ok(all(s["failures"] == 0 for s in comps.values()),
         "no component request failed (counted by the doubles)",
         "; ".join("%s: %d" % (k, v["failures"]) for k, v in comps.items() if v["failures"]))


def unit_check(cl, node, unit):
    """The double's flag check of the unit as installed: (ok, text)."""
    r = cl.h.exec(node, ["/usr/bin/python3", CHECK_UNIT, "/etc/systemd/system/%s.service" % unit])
    return r.returncode == 0, (r.stdout + r.stderr).strip()


def all_units_check(cl, units=UNITS, nodes=L.NODES):
    bad = []
    for n in nodes:
        for u in units:
            ok, why = unit_check(cl, n, u)
            if not ok:
                bad.append("%s/%s: %s" % (n, u, why[-300:]))
    return bad


class Watch:
    """Samples what every master's files hold (a function of the node)
    every 0.5 s while an operation runs: the distinct values in order."""

    def __init__(self, cl, fn):
        self.cl, self.fn = cl, fn
        self.seen = {n: [] for n in L.NODES}
        self.stop = threading.Event()
        # the state before the operation, of every node, before it starts
        self.sample()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def sample(self):
        for n in L.NODES:
            try:
                v = self.fn(self.cl, n)
            except Exception as e:  # noqa: BLE001 (a sample)
                v = "error: %s" % e
            if v is not None and (not self.seen[n] or self.seen[n][-1] != v):
                self.seen[n].append(v)

    def run(self):
        while not self.stop.wait(0.5):
            self.sample()

    def finish(self):
        self.stop.set()
        self.t.join(10)
        return self.seen


def etcd_get(cl, key):
    """(value bytes, version) of an etcd key, read on test1."""
    r = cl.h.exec("test1", ETCDCTL + ["--endpoints=https://%s:2379" % cl.h.ip("test1"), "get", key,
                                      "-w", "json"])
    try:
        kvs = json.loads(r.stdout).get("kvs") or []
    except ValueError:
        return None, 0
    if not kvs:
        return None, 0
    return base64.b64decode(kvs[0]["value"]), int(kvs[0].get("version", 0))


def enc_key_of(value):
    """The key a stored value is under: "secretbox:key2", or "identity"."""
    if value is None:
        return None
    if not value.startswith(b"k8s:enc:"):
        return "identity"
    p = value[len(b"k8s:enc:"):].split(b":", 3)
    return "%s:%s" % (p[0].decode(), p[2].decode())


def kubectl(cl, *args, input=None):
    r = cl.h.exec("appliance", ["kubectl", "--kubeconfig", cl.admin_kubeconfig(),
                                "--request-timeout", "20s"] + list(args),
                  input=input, timeout=60)
    return r.returncode, r.stdout, r.stderr
