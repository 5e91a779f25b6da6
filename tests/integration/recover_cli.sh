#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# recover_cli: `slipway recover` and `cert revoke --deliver` on a state with
# no cluster to reach (no harness, about 20 seconds): before anything expired,
# recover says "nothing to recover", exits 0 and issues nothing; once the
# short leaves (certificates.leafLifetime 15s, allowShortLifetimes) have
# really expired, `recover --plan` (text and JSON) lists every node's
# delivery, the etcd members' restarts with one etcd gate after them, the
# masters' with one VIP gate, the workers' with each Node's Ready, and
# changes nothing; bad arguments get one line and exit 2; a revocation on
# a cluster this appliance never rolled out is recorded and says its CRL
# was not delivered. The lifecycle_recover_expired harness test runs the
# real thing.
set -u
S=${SLIPWAY:?}
EX=${SLW_SRC:?}/examples/seed-cluster.yaml
T=$(mktemp -d /tmp/slw-recover.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
certs() { "$S" --state "$T/s" --json cert list | python3 -c \
	'import json,sys; print(" ".join(sorted(c["serial"] for c in json.load(sys.stdin))))'; }

sed 's/  layout: separate/  layout: separate\n  leafLifetime: 15s\n  allowShortLifetimes: true/' \
	"$EX" >"$T/short.yaml"
"$S" --state "$T/s" init --cluster "$T/short.yaml" >/dev/null || { echo "FAIL init"; exit 1; }
"$S" --state "$T/s" recover >"$T/out" 2>"$T/err"; rc=$?
[ $rc -ne 0 ] && grep -q "no node holds a certificate" "$T/err" &&
	pass "recover before any rollout: $(cat "$T/err")" || fail "recover, nothing issued: rc $rc $(cat "$T/out" "$T/err")"
for n in test1 test2 test3; do
	"$S" --state "$T/s" bundle render --node $n --out "$T/b-$n" >/dev/null || fail "render $n"
done
before=$(certs)
"$S" --state "$T/s" recover >"$T/out" 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && grep -q "^nothing to recover: none of the [0-9]* certificates" "$T/out" &&
	pass "recover before the leaves expire: $(cat "$T/out")" || fail "recover, healthy: rc $rc $(cat "$T/out" "$T/err")"
[ "$(certs)" = "$before" ] && pass "and it issued nothing" || fail "recover on a healthy cluster issued certificates"

"$S" --state "$T/s" recover --bogus >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && pass "recover --bogus: $(cat "$T/err")" || fail "recover --bogus: rc $rc"
"$S" --state "$T/s" cert revoke --deliver 0123 >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "takes nothing else" "$T/err" && pass "cert revoke --deliver SERIAL: $(cat "$T/err")" ||
	fail "cert revoke --deliver SERIAL: rc $rc $(cat "$T/err")"
"$S" --state "$T/s" cert revoke --plan 0123 >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "goes with --deliver" "$T/err" && pass "cert revoke --plan alone: $(cat "$T/err")" ||
	fail "cert revoke --plan alone: rc $rc $(cat "$T/err")"

# a revocation etcd enforces, on a cluster never rolled out from here
ser=$("$S" --state "$T/s" --json cert list | python3 -c \
	'import json,sys; print([c["serial"] for c in json.load(sys.stdin) if c["node"] == "test2" and c["purpose"] == "etcd-client"][0])')
"$S" --state "$T/s" cert revoke "$ser" >"$T/out" 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && grep -q "^CRL not delivered: no rollout from this appliance" "$T/out" &&
	pass "revoked, CRL not delivered (no rollout from here)" || fail "revoke without rollout: rc $rc $(cat "$T/out" "$T/err")"
"$S" --state "$T/s" --json cert revoke --node test3 --force >"$T/out" 2>"$T/err"; rc=$?
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["delivery"]["state"] == "skipped", d["delivery"]' "$T/out" &&
	[ $rc -eq 0 ] && pass "--json: delivery skipped, with why" || fail "revoke --json delivery: rc $rc $(cat "$T/err")"
"$S" --state "$T/s" --json status >"$T/st" 2>/dev/null
python3 - "$T/st" <<'PY' && pass "status lists test3's revoked Kubernetes certificates as not enforced, ended by ca rotate run" || fail "status revokedNotEnforced"
import json, sys
x = json.load(open(sys.argv[1]))["expiry"]["revokedNotEnforced"]
own = {(c["owner"], c["purpose"]) for c in x}
assert ("test3", "kube-proxy") in own, own
assert not any(c["purpose"] in ("etcd-client", "etcd-member", "flanneld") for c in x), own
assert all(c["endedBy"].startswith("slipway ca rotate run --ca ") for c in x), x
PY

# the leaves really expire: wait for the last one's notAfter to pass
last=$("$S" --state "$T/s" --json cert list | python3 -c 'import json,sys,calendar,time
print(max(calendar.timegm(time.strptime(c["notAfter"], "%Y-%m-%dT%H:%M:%SZ"))
          for c in json.load(sys.stdin) if c["node"] != "-"))')
w=$((last - $(date +%s) + 2)); [ $w -gt 0 ] && [ $w -lt 60 ] && sleep $w
before=$(certs)
"$S" --state "$T/s" recover --plan >"$T/plan" 2>"$T/err"; rc=$?
[ $rc -eq 0 ] && head -1 "$T/plan" | grep -q "^recover: [0-9]* of [0-9]* certificates the nodes hold have expired" &&
	pass "recover --plan: $(head -1 "$T/plan")" || fail "recover --plan: rc $rc $(cat "$T/err")"
python3 - "$T/plan" <<'PY' && pass "the plan: deliveries, etcd together then gate:etcd, masters then gate:vip, workers then Ready" || fail "plan order"
import re, sys
steps = [l.split()[1:3] for l in open(sys.argv[1]) if re.match(r"\s+\d+\.", l)]
names = [s for _, s in steps]
idx = lambda s: names.index(s)
last = lambda s: len(names) - 1 - names[::-1].index(s)
assert [n for n, s in steps if s == "deliver"] == ["test1", "test2", "test3"], steps
assert last("deliver") < idx("restart:etcd") and last("restart:etcd") < idx("gate:etcd"), names
assert idx("gate:etcd") < idx("restart:kube-apiserver") and last("restart:kube-apiserver") < idx("gate:vip"), names
assert idx("gate:vip") < idx("restart:kubelet") and names.count("gate:ready") == 3, names
assert names.count("gate:etcd") == 1 and names.count("gate:vip") == 1, names
PY
"$S" --state "$T/s" --json recover --plan >"$T/pj" 2>"$T/err" && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/pj" &&
	pass "recover --plan --json parses" || fail "recover --plan --json: $(cat "$T/err")"
[ "$(certs)" = "$before" ] && pass "--plan issued nothing" || fail "--plan issued certificates"
[ $fails -eq 0 ] && echo "all passed" || echo "$fails failed"
exit $((fails > 0))
