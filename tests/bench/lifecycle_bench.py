#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bench_lifecycle: where the time of a CA rotation goes, and how --plan
grows with the inventory. Prints times and ratios; asserts nothing about
time.

1. `slipway ca rotate run --ca etcd` on the 3-node harness cluster
   (tests/integration/lifecycle_lib.py; root): wall time, and its parts from
   the progress lines: deliveries (fetch, install, read back), restarts
   (the systemctl restart itself), gates and leadership moves (the rest of
   each restart step), the etcd settle waits, the store steps. Reference in
   the same run: the rollout that brought the cluster up.
2. `slipway ca rotate run --ca etcd --plan` for generated inventories of
   100, 1,000 and 10,000 nodes (3 etcd+master+worker nodes, the rest
   workers; no root): wall time, time per node and the ratio of each to
   the 100-node figure (linear growth: the per-node ratio stays near 1).

    tests/bench/lifecycle_bench.py [--sizes 100,1000,10000] [--no-harness]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "integration"))
import rollout_lib as L  # noqa: E402

LINE = re.compile(r"^\[\s*([\d.]+)s\]\s+(\S+)\s+(\S+)\s+(\S+)\s+(.*)$")


def harness():
    import lifecycle_lib as LL
    cl = LL.Cluster("bench")
    try:
        t_up = cl.bring_up()
        rc, out, err, secs = cl.run("ca", "rotate", "run", "--ca", "etcd")
        if rc != 0:
            raise RuntimeError("ca rotate run failed: %s" % err.strip())
        parts = {"deliver": 0.0, "restart": 0.0, "gates+moves": 0.0, "settle": 0.0,
                 "store": 0.0}
        counts = {"deliver": 0, "restart": 0, "settle": 0, "store": 0}
        for line in out.splitlines():
            m = LINE.match(line.strip())
            if not m:
                continue
            stage, node, step, msg = m.group(2), m.group(3), m.group(4), m.group(5)
            d = re.match(r"done \(([\d.]+)s\)", msg)
            r = re.search(r"(?:restarted|reloaded) in ([\d.]+)s", msg)
            s = re.search(r"settles (\d+) s", msg)
            if r:
                parts["restart"] += float(r.group(1))
                parts["gates+moves"] -= float(r.group(1))
                counts["restart"] += 1
            if s:
                parts["settle"] += float(s.group(1))
                parts["gates+moves"] -= float(s.group(1))
                counts["settle"] += 1
            if not d:
                continue
            t = float(d.group(1))
            if step == "deliver":
                parts["deliver"] += t
                counts["deliver"] += 1
            elif step.startswith(("restart:", "reload:", "gate:")):
                parts["gates+moves"] += t
            elif node == "appliance":
                parts["store"] += t
                counts["store"] += 1
        print("# ca rotate run --ca etcd on the 3-node harness: %.1fs wall; the rollout "
              "that brought the cluster up: %.1fs (ratio %.2f)" % (secs, t_up, secs / t_up))
        print("%-12s %9s %6s %7s" % ("part", "seconds", "count", "share"))
        for k in ("deliver", "restart", "gates+moves", "settle", "store"):
            print("%-12s %9.1f %6s %6.0f%%" % (k, parts[k], counts.get(k, ""),
                                              100 * parts[k] / secs))
        print("(deliveries run on every node at once: their seconds add up past the "
              "wall time they take)")
    finally:
        cl.down()


def inventory(n):
    with open(os.path.join(L.SRC, "examples", "seed-cluster.yaml")) as f:
        y = f.read()
    lines = []
    for i in range(n):
        roles = "[etcd, master, worker]" if i < 3 else "[worker]"
        lines.append("  - { name: n%05d, ip: 10.%d.%d.%d, roles: %s }" %
                     (i, 20 + i // 65000, (i // 250) % 256, 1 + i % 250, roles))
    return re.sub(r"(?ms)^nodes:\n.*\Z", "nodes:\n" + "\n".join(lines) + "\n", y)


def plans(sizes):
    tmp = tempfile.mkdtemp(prefix="bench-lifecycle-")
    res = {}
    try:
        for n in sizes:
            inv = os.path.join(tmp, "inv%d.yaml" % n)
            with open(inv, "w") as f:
                f.write(inventory(n))
            st = os.path.join(tmp, "state%d" % n)
            subprocess.run([L.SLIPWAY, "--state", st, "init", "--cluster", inv],
                           check=True, capture_output=True)
            best = None
            for _ in range(3):
                t0 = time.perf_counter()
                p = subprocess.run([L.SLIPWAY, "--state", st, "ca", "rotate", "run",
                                    "--ca", "etcd", "--plan"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
                t = time.perf_counter() - t0
                if p.returncode != 0:
                    raise RuntimeError("--plan for %d nodes: %s" % (n, p.stderr.strip()))
                best = t if best is None else min(best, t)
            steps = int(re.search(r": (\d+) steps", p.stdout).group(1))
            res[n] = (best, steps)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ref_n = sizes[0]
    ref = res[ref_n][0] / ref_n
    print("# ca rotate run --ca etcd --plan (best of 3), %d cores" % os.cpu_count())
    print("%8s %8s %10s %12s %10s" % ("nodes", "steps", "wall ms", "us/node", "ratio"))
    for n in sizes:
        t, steps = res[n]
        print("%8d %8d %10.1f %12.1f %10.2f" % (n, steps, t * 1e3, t * 1e6 / n,
                                                (t / n) / ref))
    print("(ratio: time per node against the %d-node run; linear growth keeps it "
          "near 1)" % ref_n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--no-harness", action="store_true")
    a = ap.parse_args()
    plans([int(x) for x in a.sizes.split(",")])
    if not a.no_harness:
        if os.geteuid() != 0:
            print("# harness part skipped: needs root")
        else:
            L.skip_unless_possible()
            harness()
    return 0


if __name__ == "__main__":
    sys.exit(main())
