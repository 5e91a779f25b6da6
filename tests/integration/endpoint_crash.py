#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""endpoint_crash: kill -9 of `slipway serve` in the middle of a
redemption load (the endpoint_load pool, 2 clients per token), twice, then
a restart: the store opens, every consumed token has its issuance record
(and no record exists without a consumed token), every issued serial is
unique and in the certificate records, the audit chain verifies, and every
token the crash left unconsumed can still be redeemed exactly once.
"""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from endpoint_common import State, Server, check, done, log, load_client

N = 600
st = State(workers=50)
args = ("--fail-limit", "0", "--max-per-address", "512")


def make(n):
    return [st.token_json("w%04d" % (i % 50 + 1))["token"] for i in range(n)]


tokens = make(N)
by_id = {t.split(".")[0]: t for t in tokens}
path = os.path.join(st.tmp, "tokens.txt")
with open(path, "w") as f:
    f.write("\n".join(tokens) + "\n")

for round_ in (1, 2):
    srv = Server(st, *args)
    load = subprocess.Popen([load_client(), "--url", srv.url + "/v1/bundle",
                             "--tokens", path, "--per-token", "2",
                             "--concurrency", "64", "--timeout", "20"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # wait until redemptions are flowing, then kill -9 mid-stream
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if srv.log_text().count(" redeemed: ") >= 40 * round_:
            break
        time.sleep(0.05)
    srv.proc.kill()
    srv.proc.wait(30)
    log("round %d: killed serve with -9 after %d redemptions logged" %
        (round_, srv.log_text().count(" redeemed: ")))
    try:
        out, _ = load.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        load.kill()
        out, _ = load.communicate()
    log("load: " + out.decode().strip()[:300])

# restart: the store must open and be consistent
srv = Server(st, *args)
check(srv.pin is not None, "serve restarts after kill -9 (store opens)")
toks = st.tokens()
used = [t for t in toks if t["state"] == "used"]
active = [t for t in toks if t["state"] == "active"]
log("%d used, %d active after the crashes" % (len(used), len(active)))
check(len(used) > 0 and len(active) > 0, "the kills happened mid-load "
      "(some tokens used, some not)")
check(all(t.get("issuance") for t in used),
      "every consumed token has its issuance record")
check(st.db_entries("issuance") == len(used),
      "exactly one issuance record per consumed token (%d)" % len(used))
serials = [c["serial"].lower() for t in used for c in t["issuance"]["certificates"]]
# a worker's bundle holds 3 (its node certificate among them, as in
# endpoint_race)
check(len(serials) == 3 * len(used) and len(set(serials)) == len(serials),
      "%d serials, 3 per bundle, all distinct" % len(serials))
certs = json.loads(st.run("--json", "cert", "list").stdout)
known = [c["serial"].lower() for c in certs]
check(len(known) == len(set(known)), "certificate records: serials unique")
check(set(serials) <= set(known), "every issued serial is recorded")
nodes = {c["serial"].lower(): c["node"] for c in certs}
check(all(nodes.get(c["serial"].lower()) == t["node"] for t in used
          for c in t["issuance"]["certificates"]), "each certificate belongs to its token's node")
p = st.run("audit", "verify", check_rc=False)
check(p.returncode == 0, "the audit chain verifies")

# what was not consumed still works, exactly once
rest = os.path.join(st.tmp, "rest.txt")
open(rest, "w").write("\n".join(by_id[t["id"]] for t in active) + "\n")
p = subprocess.run([load_client(), "--url", srv.url + "/v1/bundle", "--tokens",
                    rest, "--per-token", "3", "--concurrency", "60"],
                   capture_output=True, text=True, timeout=600)
res = json.loads(p.stdout)
check(res["exactly_one"] == len(active) and res["network_errors"] == 0,
      "the %d unconsumed tokens each redeem exactly once after the restart" % len(active))
check(srv.stop() == 0, "serve stops cleanly")
check(st.db_entries("issuance") == N, "in the end, %d issuance records" % N)
done()
