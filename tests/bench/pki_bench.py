#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""pki_bench: issue 3's benchmarks, each against a reference measured in
the same run. Prints ratios; never asserts a time.

1. `slipway init` + `cert seed-set` against the seed's cfssl procedure
   (initca + 7 gencert | cfssljson), RSA 2048 and ECDSA P-256; median of
   several runs each. Target: slipway at least 5x faster with RSA 2048.
2. Durable issuances per second (sign + LMDB commit, group commit over
   threads) against `openssl speed ecdsap256` signing on one core.
   Target: at least 0.3x the raw signing rate.
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SLIPWAY = os.environ["SLIPWAY"]
SRC = os.environ["SLW_SRC"]
BUILD = os.environ["SLW_BUILD"]
DATA = os.path.join(os.environ["SLW_DATA"], "seed-cfssl")
EXAMPLE = os.path.join(SRC, "examples", "seed-cluster.yaml")
NAMES = ["admin", "etcd", "flanneld", "kubernetes", "kube-controller-manager",
         "kube-scheduler", "kube-proxy"]
RUNS = int(os.environ.get("BENCH_RUNS", "5"))


def cfssl_dir(tmp, algo, size):
    d = os.path.join(tmp, "csr-%s%d" % (algo, size))
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(DATA):
        if f.endswith(".json"):
            j = json.load(open(os.path.join(DATA, f)))
            if "key" in j:
                j["key"] = {"algo": algo, "size": size}
            json.dump(j, open(os.path.join(d, f), "w"))
    return d


def time_cfssl(csr, work):
    sh = "set -e; cd %s; cfssl gencert -initca %s/ca-csr.json 2>/dev/null | cfssljson -bare ca; " % (work, csr)
    for n in NAMES:
        sh += ("cfssl gencert -ca=ca.pem -ca-key=ca-key.pem -config=%s/ca-config.json "
               "-profile=kubernetes %s/%s-csr.json 2>/dev/null | cfssljson -bare %s; " % (csr, csr, n, n))
    t0 = time.monotonic()
    subprocess.run(["sh", "-c", sh], check=True)
    return time.monotonic() - t0


def time_slipway(state, out, kt):
    t0 = time.monotonic()
    subprocess.run([SLIPWAY, "--state", state, "init", "--cluster", EXAMPLE, "--single-ca",
                    "--key-type", kt], check=True, capture_output=True)
    t1 = time.monotonic()
    subprocess.run([SLIPWAY, "--state", state, "cert", "seed-set", "--out", out],
                   check=True, capture_output=True)
    t2 = time.monotonic()
    return t2 - t0, t2 - t1


def bench_seedset(tmp):
    print("== cert seed-set vs the seed's cfssl procedure (median of %d runs)" % RUNS)
    for kt, algo, size in (("rsa-2048", "rsa", 2048), ("ecdsa-p256", "ecdsa", 256)):
        csr = cfssl_dir(tmp, algo, size)
        cf, sw_all, sw_set = [], [], []
        for i in range(RUNS):
            w = os.path.join(tmp, "cf-%s-%d" % (kt, i))
            os.mkdir(w)
            cf.append(time_cfssl(csr, w))
            a, b = time_slipway(os.path.join(tmp, "st-%s-%d" % (kt, i)),
                                os.path.join(tmp, "out-%s-%d" % (kt, i)), kt)
            sw_all.append(a)
            sw_set.append(b)
        c, a, b = statistics.median(cf), statistics.median(sw_all), statistics.median(sw_set)
        print("%-11s cfssl %.3f s | slipway init+seed-set %.3f s (%.1fx faster) | "
              "seed-set alone %.3f s (%.1fx)" % (kt, c, a, c / a, b, c / b))


def openssl_sign_rate(secs):
    out = subprocess.run(["taskset", "-c", "0", "openssl", "speed", "-seconds", str(secs),
                          "ecdsap256"], capture_output=True, text=True).stdout
    m = re.search(r"256 bits ecdsa \(nistp256\)\s+\S+\s+\S+\s+([\d.]+)", out)
    return float(m.group(1))


def bench_issue_rate(tmp):
    secs = int(os.environ.get("BENCH_SECONDS", "3"))
    state = os.path.join(tmp, "rate")
    subprocess.run([SLIPWAY, "--state", state, "init", "--cluster", EXAMPLE],
                   check=True, capture_output=True)
    ref = openssl_sign_rate(secs)
    out = subprocess.run([os.path.join(BUILD, "tests", "bench", "bench_pki_issue_rate"),
                          state, str(secs)], check=True, capture_output=True, text=True).stdout
    print("== durable issuances (sign + commit) vs openssl speed ecdsap256 on one core")
    print("openssl speed ecdsap256 sign/s (1 core): %.0f" % ref)
    for ln in out.splitlines():
        name, *rest = ln.split()
        rate = float(rest[-1])
        label = " ".join([name] + rest[:-2])
        print("%-40s %8.0f/s  = %.3fx openssl" % (label, rate, rate / ref))


def main():
    tmp = tempfile.mkdtemp(prefix="slw-bench-")
    try:
        bench_seedset(tmp)
        bench_issue_rate(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
