# SPDX-License-Identifier: Apache-2.0
"""reliability_rollback: an older data.mdb copied back is refused, and a
backup taken under load restores as a rollback that makes no token usable
again.

1. A copy of data.mdb is taken (serve stopped), tokens are redeemed, the
   copy is put back: `slipway serve` and `slipway audit verify` refuse it
   with one line that says what happened and how to proceed; the newer file
   put back opens again.
2. Under a redemption load (curl clients against `slipway serve` on
   127.0.0.1), `slipway backup --out FILE` runs: a hot, consistent copy.
   Tokens made after it are redeemed too, some left unused.
3. `slipway restore FILE` is refused while serve runs, refused without
   --rollback (older), and refused for a truncated, a bit-flipped and
   another appliance's backup, each with the state unchanged.
4. `slipway restore --rollback FILE`: every token is refused afterwards
   (used before the backup: used; unused at backup time, used since or
   not: voided; made after it: unknown), every certificate and issuance
   record of the backup is present, `audit verify` passes and the log ends
   with token.void and store.rollback; the database from before the
   restore is itself refused now.
"""
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from endpoint_common import State, Server, check, curl, done, log  # noqa: E402

t0 = time.monotonic()
st = State()
db = os.path.join(st.dir, "db", "data.mdb")


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def redeem(tok):
    return curl(srv.url + "/v1/bundle", token=tok, timeout=60)[0]


def one_line(p):
    return p.stderr.count("\n") == 1 and p.stderr.startswith("slipway: ")


# ---- 1. a copied-back data.mdb --------------------------------------------
toks = [st.token_json("test%d" % (1 + i % 3))["token"] for i in range(6)]
srv = Server(st)
check(all(redeem(t) == 200 for t in toks[:2]), "two tokens redeemed")
check(srv.stop() == 0, "serve stopped")
old = os.path.join(st.tmp, "old.mdb")
shutil.copyfile(db, old)
srv = Server(st)
check(all(redeem(t) == 200 for t in toks[2:4]), "two more redeemed after the copy")
check(srv.stop() == 0, "serve stopped")
newer = os.path.join(st.tmp, "newer.mdb")
shutil.copyfile(db, newer)
shutil.copyfile(old, db)
p = subprocess.run([os.environ.get("SLIPWAY", "slipway"), "--state", st.dir,
                    "serve", "--listen", "127.0.0.1:%d" % st.port, "--no-approve"],
                   capture_output=True, text=True, timeout=60)
check(p.returncode != 0 and "older than its rollback anchor" in p.stderr
      and "slipway restore --rollback" in p.stderr and one_line(p),
      "serve refuses the copied-back data.mdb: %s" % p.stderr.strip())
p = st.run("audit", "verify", check_rc=False)
check(p.returncode != 0 and "older than its rollback anchor" in p.stderr
      and one_line(p), "audit verify refuses it: %s" % p.stderr.strip())
shutil.copyfile(newer, db)
check(st.run("audit", "verify", check_rc=False).returncode == 0,
      "the newer data.mdb back: audit verify passes")

# ---- 2. backup under a redemption load ------------------------------------
before = [st.token_json("test%d" % (1 + i % 3))["token"] for i in range(24)]
srv = Server(st)
bk = os.path.join(st.tmp, "backup.slw")
load_status = {}
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    futs = {pool.submit(redeem, t): t for t in before[:16]}
    time.sleep(0.2)		# the load is under way
    p = st.run("--json", "backup", "--out", bk, check_rc=False)
    for f in concurrent.futures.as_completed(futs, timeout=120):
        load_status[futs[f]] = f.result()
check(p.returncode == 0, "backup during the load succeeds: %s" % p.stderr.strip())
man = json.loads(p.stdout) if p.returncode == 0 else {}
log("backup: generation %s, %s audit records, %s bytes" %
    (man.get("generation"), man.get("audit_records"), man.get("size")))
check(all(s == 200 for s in load_status.values()),
      "every redemption of the load succeeded (%d)" % len(load_status))
check(os.stat(bk).st_mode & 0o777 == 0o600, "the backup file is 0600")
# after the backup: more redemptions, and tokens made after it
check(all(redeem(t) == 200 for t in before[16:20]), "four more redeemed after it")
after = [st.token_json("test1")["token"] for _ in range(4)]
check(all(redeem(t) == 200 for t in after[:2]), "tokens made after it redeemed")
tokens_before_restore = {t["id"]: t for t in st.tokens()}

# ---- 3. refusals, each changing nothing -----------------------------------
h = sha(db)
p = st.run("restore", bk, "--rollback", check_rc=False)
check(p.returncode != 0 and "in use" in p.stderr and one_line(p),
      "restore refused while serve runs: %s" % p.stderr.strip())
check(srv.stop() == 0, "serve stopped")
h = sha(db)
p = st.run("restore", bk, check_rc=False)
check(p.returncode != 0 and "older than the store" in p.stderr and
      "--rollback" in p.stderr and one_line(p),
      "restore of an older backup needs --rollback: %s" % p.stderr.strip())
data = open(bk, "rb").read()
bad = os.path.join(st.tmp, "bad.slw")
open(bad, "wb").write(data[:len(data) // 2])
p = st.run("restore", bad, "--rollback", check_rc=False)
check(p.returncode != 0 and "truncated" in p.stderr and one_line(p),
      "a truncated backup is refused: %s" % p.stderr.strip())
flipped = bytearray(data)
flipped[len(data) // 3] ^= 0x04
open(bad, "wb").write(bytes(flipped))
p = st.run("restore", bad, "--rollback", check_rc=False)
check(p.returncode != 0 and "integrity" in p.stderr and one_line(p),
      "a bit-flipped backup is refused: %s" % p.stderr.strip())
other = State()
obk = os.path.join(other.tmp, "other.slw")
other.run("backup", "--out", obk)
p = st.run("restore", obk, "--rollback", check_rc=False)
check(p.returncode != 0 and "another appliance" in p.stderr and one_line(p),
      "another appliance's backup is refused: %s" % p.stderr.strip())
check(sha(db) == h, "nothing changed by the refused restores")
pre_restore = os.path.join(st.tmp, "pre-restore.mdb")
shutil.copyfile(db, pre_restore)

# ---- 4. the rollback ------------------------------------------------------
p = st.run("--json", "restore", bk, "--rollback", check_rc=False)
check(p.returncode == 0, "restore --rollback succeeds: %s" % p.stderr.strip())
res = json.loads(p.stdout) if p.returncode == 0 else {}
log("restore: %s" % json.dumps(res, sort_keys=True))
check(res.get("rollback") is True and res.get("generation", 0) >
      res.get("was_generation", 1), "the generation moved past where it was")
srv = Server(st, "--fail-limit", "0")	# every refusal is a 401, no 429
every = toks + before + after
refused = [t for t in every if redeem(t) != 401]
check(not refused, "every token is refused after the restore (%d tried, %d "
      "not refused)" % (len(every), len(refused)))
after_restore = {t["id"]: t for t in st.tokens()}
used_in_backup = [i for i, t in after_restore.items() if t["state"] == "used"]
check(all(tokens_before_restore[i]["state"] == "used" for i in used_in_backup),
      "tokens used in the backup are still used")
check(all(t["state"] in ("used", "revoked") for t in after_restore.values()),
      "no token is active after the rollback")
check(all(t.split(".")[0] not in after_restore for t in after),
      "the tokens made after the backup are unknown")
check(len(used_in_backup) >= 4, "the backup holds at least the %d redemptions "
      "made before it (%d)" % (4, len(used_in_backup)))
certs = json.loads(st.run("--json", "cert", "list").stdout)
serials = {c["serial"] for c in certs}
records = [c["serial"] for i in used_in_backup
           for c in (after_restore[i].get("issuance") or {}).get("certificates", [])]
check(all(after_restore[i].get("issuance") for i in used_in_backup),
      "every used token of the backup has its issuance record")
missing = [s for s in records if s not in serials]
check(records and not missing, "every certificate of those records is present "
      "(%d, %d missing)" % (len(records), len(missing)))
check(len(certs) == man.get("counts", {}).get("certs"),
      "the certificates are the backup's (%d, manifest %s)" %
      (len(certs), man.get("counts", {}).get("certs")))
p = st.run("audit", "verify", check_rc=False)
check(p.returncode == 0, "audit verify passes after the restore")
audit = json.loads(st.run("--json", "audit", "list").stdout)
check([e["action"] for e in audit[-2:]] == ["token.void", "store.rollback"],
      "the audit log ends with token.void and store.rollback")
check(srv.stop() == 0, "serve stopped")
shutil.copyfile(db, newer)
shutil.copyfile(pre_restore, db)
p = st.run("audit", "verify", check_rc=False)
check(p.returncode != 0 and "older than its rollback anchor" in p.stderr,
      "the database from before the restore is refused now")
shutil.copyfile(newer, db)
log("reliability_rollback took %.1f s" % (time.monotonic() - t0))
done()
