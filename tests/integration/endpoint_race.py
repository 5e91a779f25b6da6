#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""endpoint_race: 1,000 tokens, each redeemed by 20 concurrent clients
(a libcurl-multi pool, 100 requests in flight, every request on its own
new TLS connection) against a real `slipway serve`: exactly one success per
token, 19 refusals, no network errors; afterwards the store holds exactly
1,000 issuance records (counted with mdb_stat), every token is used with
its record, the 2,000 certificate serials are unique and recorded, and the
audit chain verifies. Set ENDPOINT_RACE_TOKENS to run a smaller race.
"""
import concurrent.futures
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from endpoint_common import State, Server, check, done, log, load_client

N = int(os.environ.get("ENDPOINT_RACE_TOKENS", "1000"))
PER = 20
WORKERS = 100

t0 = time.monotonic()
st = State(workers=WORKERS)
srv = Server(st, "--fail-limit", "0", "--max-per-address", "512",
             "--max-conns", "1024")


def make(i):
    return st.token_json("w%04d" % (i % WORKERS + 1))["token"]


with concurrent.futures.ThreadPoolExecutor(4) as ex:
    tokens = list(ex.map(make, range(N)))
path = os.path.join(st.tmp, "tokens.txt")
with open(path, "w") as f:
    os.fchmod(f.fileno(), 0o600)
    f.write("\n".join(tokens) + "\n")
t1 = time.monotonic()
log("made %d tokens in %.1f s" % (N, t1 - t0))

p = subprocess.run([load_client(), "--url", srv.url + "/v1/bundle", "--tokens",
                    path, "--per-token", str(PER), "--concurrency", "100",
                    "--timeout", "120"], capture_output=True, text=True,
                   timeout=900)
t2 = time.monotonic()
log("race: %s" % p.stdout.strip())
res = json.loads(p.stdout)
check(res["network_errors"] == 0, "no network errors")
check(res["exactly_one"] == N, "exactly one success for each of the %d tokens" % N)
check(res["status"].get("200") == N, "%d answers 200 in all" % N)
check(res["status"].get("401") == N * (PER - 1),
      "the other %d answers are the identical 401" % (N * (PER - 1)))
check(srv.stop() == 0, "serve stops cleanly on SIGTERM")

iss = st.db_entries("issuance")
check(iss == N, "exactly %d issuance records in the store (mdb_stat: %d)" % (N, iss))
toks = st.tokens()
used = [t for t in toks if t["state"] == "used"]
check(len(used) == N, "every token is used (%d)" % len(used))
check(all(t.get("issuance") and len(t["issuance"]["certificates"]) == 3
          for t in used), "each has its issuance record with its 3 certificates")
serials = [c["serial"] for t in used for c in t["issuance"]["certificates"]]
check(len(set(serials)) == len(serials) == 3 * N,
      "%d serials, all distinct" % len(serials))
listed = json.loads(st.run("--json", "cert", "list").stdout)
known = {c["serial"].lower() for c in listed} if isinstance(listed, list) else set()
check(set(s.lower() for s in serials) <= known, "every issued serial is in the certificate records")
p = st.run("audit", "verify", check_rc=False)
check(p.returncode == 0, "the audit chain verifies")
log("total %.1f s (tokens %.1f s, race %.1f s)" % (time.monotonic() - t0, t1 - t0, t2 - t1))
done()
