#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""reliability_kill_sweep: KILL_SWEEP_ROUNDS (default 100) kill -9s of
`slipway serve` at random points of a mixed load, each followed by a
consistency check.

Each round starts serve and, at once: bundle redemptions (the endpoint_load
pool, 2 clients per token), enrolments (POST /v1/enroll with a node's own
CSR), `token create` from the CLI, and every fourth round a rotation step
(`ca rotate begin` or `abort` of the front-proxy CA) from the CLI. After a
random number of this round's redemptions (and up to 20 ms more) it sends
SIGKILL to either the monitor (the whole appliance: its children must die
with it) or the network child (the monitor must start a new one, which must
serve; then the monitor is killed too).
Then, with nothing running: the store opens, every used token has exactly
one issuance record (and there is none without one), every issued serial is
unique and in the certificate records, and the audit chain verifies. At the
end every token the kills left unused is redeemed exactly once. The random
points come from a seed printed first (KILL_SWEEP_SEED replays a run).
"""
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from endpoint_common import (State, Server, check, done, log, load_client,
                             curl)

ROUNDS = int(os.environ.get("KILL_SWEEP_ROUNDS", "100"))
SEED = int(os.environ.get("KILL_SWEEP_SEED", str(int(time.time()))))
BUNDLES = 12            # bundle tokens per round
ENROLS = 4              # enrolment tokens per round
rng = random.Random(SEED)
log("seed %d (KILL_SWEEP_SEED=%d replays), %d rounds" % (SEED, SEED, ROUNDS))

st = State(workers=40)
args = ("--fail-limit", "0", "--max-per-address", "512")
key = os.path.join(st.tmp, "node-key.pem")
subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey",
                "-noout", "-out", key], check=True, capture_output=True)
csr = os.path.join(st.tmp, "node.csr")
subprocess.run(["openssl", "req", "-new", "-key", key, "-subj",
                "/O=system:nodes/CN=system:node:test1", "-addext",
                "subjectAltName=DNS:test1,IP:192.168.0.91", "-out", csr],
               check=True, capture_output=True)

secrets = {}            # token id -> token, of every token made
kind = {}               # token id -> "bundle" | "enroll"
counts = {"monitor": 0, "child": 0, "bundles_200": 0, "enrols_200": 0,
          "cli_tokens": 0, "rotation_steps": 0, "checks": 0, "mid_load": 0}


def child_of(pid, name="slipway-net"):
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = open("/proc/%s/stat" % d).read()
            st_name = [l for l in open("/proc/%s/status" % d)
                       if l.startswith("Name:")][0].split()[1]
        except (OSError, IndexError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and st_name == name:
            return int(d)
    return None


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def make_tokens(node_of, n, what):
    out = []
    for i in range(n):
        t = st.token_json(node_of(i))["token"]
        secrets[t.split(".")[0]] = t
        kind[t.split(".")[0]] = what
        out.append(t)
    return out


def enrol(url, toks, stop):
    for t in toks:
        if stop.is_set():
            return
        s, _, _ = curl(url + "/v1/enroll", "--data-binary", "@" + csr, "-H",
                       "Content-Type: application/pkcs10", token=t, timeout=10)
        if s == 200:
            counts["enrols_200"] += 1


def cli_load(rnd, stop):
    """token create (and a rotation step) while serve runs; the CLI is not
    killed, so each either completes or refuses cleanly."""
    if rnd % 4 == 0:
        step = "begin" if (rnd // 4) % 2 == 0 else "abort"
        p = st.run("ca", "rotate", step, "--ca", "front-proxy", check_rc=False)
        if p.returncode == 0:
            counts["rotation_steps"] += 1
        elif "Traceback" in p.stderr or p.returncode < 0:
            check(False, "ca rotate %s: %s" % (step, p.stderr.strip()))
    for i in range(2):
        if stop.is_set():
            return
        p = st.run("--json", "token", "create", "--node", "w%04d" % (rnd % 40 + 1),
                   check_rc=False)
        if p.returncode == 0:
            t = json.loads(p.stdout)["token"]
            secrets[t.split(".")[0]] = t
            kind[t.split(".")[0]] = "bundle"
            counts["cli_tokens"] += 1


def consistent(rnd):
    """The store after a kill: opens, one issuance record per used token,
    serials unique and recorded, the audit chain verifies."""
    toks = st.tokens()
    used = [t for t in toks if t["state"] == "used"]
    n_iss = st.db_entries("issuance")
    bad = [t["id"] for t in used if not t.get("issuance")]
    if bad or n_iss != len(used):
        return "round %d: %d used tokens, %d issuance records, without: %s" % (
            rnd, len(used), n_iss, bad[:3])
    serials = [c["serial"].lower() for t in used for c in t["issuance"]["certificates"]]
    if len(set(serials)) != len(serials):
        return "round %d: an issued serial appears twice" % rnd
    certs = json.loads(st.run("--json", "cert", "list").stdout)
    known = [c["serial"].lower() for c in certs]
    if len(set(known)) != len(known):
        return "round %d: certificate records with the same serial" % rnd
    if not set(serials) <= set(known):
        return "round %d: an issued serial has no certificate record" % rnd
    p = st.run("audit", "verify", check_rc=False)
    if p.returncode != 0:
        return "round %d: audit verify: %s" % (rnd, p.stderr.strip())
    return None


t0 = time.monotonic()
failures = []
for rnd in range(ROUNDS):
    bundle = make_tokens(lambda i: "w%04d" % ((rnd * BUNDLES + i) % 40 + 1),
                         BUNDLES, "bundle")
    enrols = make_tokens(lambda i: "test1", ENROLS, "enroll")
    path = os.path.join(st.tmp, "round.txt")
    with open(path, "w") as f:
        f.write("\n".join(bundle) + "\n")
    srv = Server(st, *args)
    stop = threading.Event()
    load = subprocess.Popen([load_client(), "--url", srv.url + "/v1/bundle",
                             "--tokens", path, "--per-token", "2",
                             "--concurrency", "12", "--timeout", "10"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    threads = [threading.Thread(target=enrol, args=(srv.url, enrols, stop)),
               threading.Thread(target=cli_load, args=(rnd, stop))]
    for th in threads:
        th.start()
    # the kill point: after a random number of this round's redemptions
    # (0 to BUNDLES - 1) were logged, plus up to 20 ms
    want = rng.randrange(BUNDLES)
    end = time.monotonic() + 20
    while (srv.log_text().count(" redeemed: ") < want and
           time.monotonic() < end and load.poll() is None):
        time.sleep(0.005)
    time.sleep(rng.uniform(0, 0.02))
    if load.poll() is None:
        counts["mid_load"] += 1
    target = rng.choice(("monitor", "monitor", "monitor", "child", "child"))
    if target == "child":
        kid = child_of(srv.proc.pid)
        if kid is None:
            target = "monitor"
        else:
            os.kill(kid, signal.SIGKILL)
            # the monitor must bring a new child that serves
            end = time.monotonic() + 20
            new = None
            while time.monotonic() < end:
                new = child_of(srv.proc.pid)
                if new is not None and new != kid:
                    break
                time.sleep(0.02)
            if new is None or new == kid:
                failures.append("round %d: no new network child after kill -9" % rnd)
            else:
                s, _, _ = curl(srv.url + "/healthz", timeout=10)
                if s != 200:
                    failures.append("round %d: the new child answers /healthz %d"
                                    % (rnd, s))
            srv.proc.kill()     # then the monitor as well
    if target == "monitor":
        kid = child_of(srv.proc.pid)
        srv.proc.kill()
    counts[target] += 1
    srv.proc.wait(30)
    # a killed monitor's children go with it
    end = time.monotonic() + 10
    while kid is not None and alive(kid) and time.monotonic() < end:
        time.sleep(0.02)
    if kid is not None and alive(kid):
        failures.append("round %d: the network child outlived the monitor" % rnd)
        os.kill(kid, signal.SIGKILL)
    stop.set()
    try:
        out, _ = load.communicate(timeout=60)
        counts["bundles_200"] += json.loads(out).get("status", {}).get("200", 0)
    except (subprocess.TimeoutExpired, ValueError):
        load.kill()
        load.communicate()
    for th in threads:
        th.join(60)
    why = consistent(rnd)
    if why:
        failures.append(why)
    else:
        counts["checks"] += 1
    if len(failures) > 5:
        break
sweep_s = time.monotonic() - t0

log("sweep: %d rounds in %.1f s; kills: %d of the monitor, %d of the network "
    "child; %d bundles and %d enrolments answered 200, %d tokens made by the "
    "CLI, %d rotation steps; %d kills while redemptions were running; "
    "%d consistency checks passed" % (
        rnd + 1, sweep_s, counts["monitor"], counts["child"], counts["bundles_200"],
        counts["enrols_200"], counts["cli_tokens"], counts["rotation_steps"],
        counts["mid_load"], counts["checks"]))
check(not failures, "every round consistent%s" % (
    "" if not failures else ": " + "; ".join(failures[:5])))
check(counts["monitor"] + counts["child"] == ROUNDS, "%d kills" % ROUNDS)
check(counts["child"] > 0 and counts["monitor"] > 0,
      "both the monitor and the network child were killed")
check(counts["bundles_200"] > 0 and counts["enrols_200"] > 0 and
      counts["cli_tokens"] > 0 and counts["rotation_steps"] > 0,
      "every kind of load ran")
check(counts["mid_load"] >= ROUNDS // 2,
      "at least half of the kills hit running redemptions (%d)" % counts["mid_load"])

# what no round used still works, exactly once
srv = Server(st, *args)
toks = st.tokens()
active = [t["id"] for t in toks if t["state"] == "active" and
          kind.get(t["id"]) == "bundle"]
used = [t for t in toks if t["state"] == "used"]
log("%d tokens used by the rounds, %d bundle tokens left active" %
    (len(used), len(active)))
check(len(used) > 0 and len(active) > 0,
      "the kills happened mid-load (some tokens used, some not)")
rest = os.path.join(st.tmp, "rest.txt")
with open(rest, "w") as f:
    f.write("\n".join(secrets[i] for i in active) + "\n")
p = subprocess.run([load_client(), "--url", srv.url + "/v1/bundle", "--tokens",
                    rest, "--per-token", "2", "--concurrency", "32"],
                   capture_output=True, text=True, timeout=600)
res = json.loads(p.stdout)
check(res["exactly_one"] == len(active) and res["network_errors"] == 0,
      "the %d unused bundle tokens each redeem exactly once after the sweep"
      % len(active))
check(srv.stop() == 0, "serve stops cleanly")
why = consistent(ROUNDS)
check(why is None, "in the end: consistent%s" % ("" if why is None else ": " + why))
done()
