#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""rollout_bench: wall time of the full harness rollout (the seed's 3-node
topology, tests/integration/rollout_lib.py), phase by phase, with the
parallelism used (--parallel 3: every node at once), against a reference
measured in the same run: the same rollout one node at a time
(--parallel 1, like the seed's `for node_ip in ${NODE_IPS[@]}` loops).
Prints times and ratios; asserts nothing about time. Each rollout gets
fresh hosts and a fresh state.

    tests/bench/rollout_bench.py [--parallel 3] [--reference 1]
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "integration"))
import rollout_lib as L  # noqa: E402

PHASES = ["prepare", "etcd", "ha", "masters", "workers"]
LINE = re.compile(r"^\[\s*([\d.]+)s\]\s+(\w+)\s+\S+\s+(phase|gate)\s+(.*)$")


def measure(name, parallel):
    env = L.Env(name)
    try:
        env.up()
        env.start_serve()
        rc, out, err, secs = env.rollout("--accept-new-host-keys", "--parallel", str(parallel))
        if rc != 0:
            raise RuntimeError("rollout with --parallel %d failed: %s" % (parallel, err.strip()))
        start, phase, gate = {}, {}, {}
        for line in out.splitlines():
            m = LINE.match(line)
            if not m:
                continue
            t, ph, kind, rest = float(m.group(1)), m.group(2), m.group(3), m.group(4)
            if kind == "phase" and rest.startswith("start"):
                start[ph] = t
            elif kind == "phase" and rest.startswith("done"):
                phase[ph] = t - start.get(ph, t)
            elif kind == "gate" and rest.startswith("passed"):
                gate[ph] = float(re.search(r"passed \(([\d.]+)s\)", rest).group(1))
        return {"total": secs, "phase": phase, "gate": gate}
    finally:
        env.down()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--parallel", type=int, default=3)
    ap.add_argument("--reference", type=int, default=1)
    a = ap.parse_args()
    L.skip_unless_possible()
    fast = measure("bench_parallel%d" % a.parallel, a.parallel)
    ref = measure("bench_parallel%d" % a.reference, a.reference)
    print("# full harness rollout: 3 nodes (etcd+master+worker each), %d cores" % os.cpu_count())
    print("%-8s %12s %12s %8s   %s" % ("phase", "parallel %d" % a.parallel,
                                       "parallel %d" % a.reference, "ratio",
                                       "of which gate (parallel %d)" % a.parallel))
    for ph in PHASES:
        f, r = fast["phase"].get(ph), ref["phase"].get(ph)
        print("%-8s %11.1fs %11.1fs %7.2fx   %.1fs" % (
            ph, f or 0, r or 0, (r / f) if f and r else 0, fast["gate"].get(ph, 0)))
    print("%-8s %11.1fs %11.1fs %7.2fx" % ("total", fast["total"], ref["total"],
                                           ref["total"] / fast["total"]))
    print("# ratio = time with --parallel %d / time with --parallel %d (higher: parallelism "
          "helps more)" % (a.reference, a.parallel))
    return 0


if __name__ == "__main__":
    sys.exit(main())
