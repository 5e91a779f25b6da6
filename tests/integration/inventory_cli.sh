#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# inventory_cli: `inventory show` prints the stored inventory, which parses
# back to no change; `inventory diff` lists nodes added, removed and
# re-addressed; bad input (YAML error, unknown key, duplicate name or
# address, a cluster-wide setting, a node's roles) gets one line naming it,
# exit 1, and the store is not touched.
set -u
S=${SLIPWAY:?}
EX=${SLW_SRC:?}/examples/seed-cluster.yaml
T=$(mktemp -d /tmp/slw-inv.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
expect_fail() {
	local name=$1 pat=$2; shift 3
	"$@" >"$T/out" 2>"$T/err"
	local rc=$?
	local lines; lines=$(wc -l <"$T/err")
	if [ $rc -ne 1 ]; then fail "$name: exit $rc"; return; fi
	if [ "$lines" -ne 1 ]; then fail "$name: $lines stderr lines: $(cat "$T/err")"; return; fi
	if ! grep -qE -- "$pat" "$T/err"; then fail "$name: stderr '$(cat "$T/err")' lacks /$pat/"; return; fi
	if [ -s "$T/out" ]; then fail "$name: printed on stdout: $(head -3 "$T/out")"; return; fi
	pass "$name: $(cat "$T/err")"
}
dbsum() { md5sum <"$T/st/db/data.mdb" | cut -c1-32; }

"$S" --state "$T/st" init --cluster "$EX" >/dev/null || { echo "FAIL init"; exit 1; }
"$S" --state "$T/st" inventory show >"$T/show.yaml" || fail "show"
cmp -s "$T/show.yaml" "$EX" && pass "show prints the stored cluster.yaml" || fail "show differs from the file init read"
"$S" --state "$T/st" inventory diff "$T/show.yaml" >"$T/out" 2>&1
grep -qx "0 changed, 3 unchanged" "$T/out" && pass "show round-trips: no change" || fail "round trip: $(cat "$T/out")"
"$S" --state "$T/st" --json inventory show | python3 -c '
import json,sys; j=json.load(sys.stdin)
assert [n["name"] for n in j["nodes"]]==["test1","test2","test3"], j["nodes"]
assert j["nodes"][0]["roles"]==["etcd","master","worker"]
assert j["vip"]=="192.168.0.235"' && pass "show --json" || fail "show --json"

before=$(dbsum)
sed 's/test3, ip: 192.168.0.93/test3, ip: 192.168.0.99/' "$EX" >"$T/new.yaml"
echo '  - { name: test4, ip: 192.168.0.94, roles: [worker] }' >>"$T/new.yaml"
"$S" --state "$T/st" inventory diff "$T/new.yaml" >"$T/out" 2>&1 || fail "diff: $(cat "$T/out")"
grep -q "^~ test3 (etcd,master,worker): re-address 192.168.0.93 -> 192.168.0.99" "$T/out" &&
grep -q "^+ test4 (worker, 192.168.0.94): add" "$T/out" &&
grep -q "Node Ready" "$T/out" && grep -qx "2 changed, 2 unchanged" "$T/out" &&
	pass "diff: re-address and add, with their steps" || fail "diff: $(cat "$T/out")"
"$S" --state "$T/st" --json inventory diff "$T/new.yaml" | python3 -c '
import json,sys; j=json.load(sys.stdin)
assert [(c["change"],c["node"]["name"]) for c in j["changes"]]==[("re-address","test3"),("add","test4")], j
assert j["unchanged"]==2' && pass "diff --json" || fail "diff --json"

printf 'nodes: [\n' >"$T/syntax.yaml"
expect_fail "YAML error" "syntax.yaml:[0-9]+:[0-9]+: " -- "$S" --state "$T/st" inventory diff "$T/syntax.yaml"
sed 's/  vipPort: 8443/  vipPort: 8443\n  colour: blue/' "$EX" >"$T/unk.yaml"
expect_fail "unknown key" "unk.yaml:[0-9]+:[0-9]+: unknown key 'colour' in apiserver" -- "$S" --state "$T/st" inventory diff "$T/unk.yaml"
cp "$EX" "$T/dupn.yaml"; echo '  - { name: test3, ip: 192.168.0.95, roles: [worker] }' >>"$T/dupn.yaml"
expect_fail "duplicate name" "dupn.yaml:[0-9]+:[0-9]+: duplicate node name 'test3'" -- "$S" --state "$T/st" inventory diff "$T/dupn.yaml"
cp "$EX" "$T/dupa.yaml"; echo '  - { name: test4, ip: 192.168.0.93, roles: [worker] }' >>"$T/dupa.yaml"
expect_fail "duplicate address" "duplicate node ip '192.168.0.93'" -- "$S" --state "$T/st" inventory diff "$T/dupa.yaml"
sed 's/vip: 192.168.0.235/vip: 192.168.0.236/' "$EX" >"$T/vip.yaml"
expect_fail "VIP" "apiserver.vip is cluster-wide and cannot change" -- "$S" --state "$T/st" inventory diff "$T/vip.yaml"
sed 's|clusterCIDR: 172.30.0.0/16|clusterCIDR: 172.31.0.0/16|' "$EX" >"$T/cidr.yaml"
expect_fail "cluster CIDR" "network.clusterCIDR is cluster-wide" -- "$S" --state "$T/st" inventory diff "$T/cidr.yaml"
sed 's/  name: kubernetes/  name: other/' "$EX" >"$T/name.yaml"
expect_fail "cluster name" "cluster.name is cluster-wide" -- "$S" --state "$T/st" inventory diff "$T/name.yaml"
sed 's/test3, ip: 192.168.0.93, roles: \[etcd, master, worker\]/test3, ip: 192.168.0.93, roles: [worker]/' "$EX" >"$T/roles.yaml"
expect_fail "roles" "node test3: roles cannot change" -- "$S" --state "$T/st" inventory diff "$T/roles.yaml"
expect_fail "missing file" "cannot read" -- "$S" --state "$T/st" inventory diff "$T/nope.yaml"
[ "$(dbsum)" = "$before" ] && pass "the store is unchanged" || fail "the store changed"
"$S" --state "$T/st" inventory show | cmp -s - "$EX" && pass "the stored inventory is unchanged" || fail "stored inventory changed"

# inventory apply refuses before changing anything
sed '/name: test3/d' "$EX" >"$T/nomaster.yaml"
expect_fail "apply: removing a master" "removing test3: removing an etcd member or a master is not supported yet" -- "$S" --state "$T/st" inventory apply "$T/nomaster.yaml"
expect_fail "apply: YAML error" "syntax.yaml:[0-9]+:[0-9]+: " -- "$S" --state "$T/st" inventory apply "$T/syntax.yaml"
expect_fail "apply: VIP" "apiserver.vip is cluster-wide" -- "$S" --state "$T/st" inventory apply "$T/vip.yaml"
[ "$(dbsum)" = "$before" ] && pass "apply: the store is unchanged" || fail "apply: the store changed"
"$S" --state "$T/st" inventory apply "$EX" >"$T/out" 2>&1 && grep -q "nothing to change" "$T/out" &&
	pass "apply of the stored inventory: nothing to change" || fail "apply stored: $(cat "$T/out")"
cp "$EX" "$T/add.yaml"; echo '  - { name: test4, ip: 192.168.0.94, roles: [worker] }' >>"$T/add.yaml"
"$S" --state "$T/st" inventory apply "$T/add.yaml" --plan >"$T/out" 2>&1
grep -q "adds test4" "$T/out" && ! grep -qE "^ +[0-9]+\. +test[123] " "$T/out" &&
	pass "apply --plan: steps for test4 and the appliance only" || fail "apply --plan: $(head -20 "$T/out")"
"$S" --state "$T/st" ca rotate begin --ca etcd >/dev/null 2>&1 || fail "ca rotate begin"
expect_fail "apply: during a CA rotation" "the CA rotation of CA etcd \(pending\) is not finished" -- "$S" --state "$T/st" inventory apply "$T/new.yaml" --plan
"$S" --state "$T/st" ca rotate abort --ca etcd >/dev/null 2>&1 || fail "ca rotate abort"

[ $fails -eq 0 ] && echo "inventory_cli: all passed" || echo "inventory_cli: $fails failed"
exit $((fails > 0))
