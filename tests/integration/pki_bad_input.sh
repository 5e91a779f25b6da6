#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# pki_bad_input: bad input to the console gets one clear line on stderr, a
# non-zero exit (never a crash), and changes nothing: bad inventories, a
# second init, init killed half-way, corrupt and truncated databases, a
# missing, wrong or world-readable key-encryption key, a read-only state
# directory, bad certificate requests, files that would be overwritten.
set -u
S=${SLIPWAY:?}
EX=${SLW_SRC:?}/examples/seed-cluster.yaml
T=$(mktemp -d /tmp/slw-bad.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

# expect_fail NAME PATTERN -- CMD...: non-zero (not a signal), one stderr
# line matching PATTERN, no key material in it.
expect_fail() {
	local name=$1 pat=$2; shift 3
	"$@" >"$T/out" 2>"$T/err"
	local rc=$?
	local lines; lines=$(wc -l <"$T/err")
	if [ $rc -eq 0 ]; then fail "$name: succeeded"; return; fi
	if [ $rc -ge 128 ]; then fail "$name: killed by signal (rc $rc)"; return; fi
	if [ "$lines" -ne 1 ]; then fail "$name: $lines stderr lines: $(cat "$T/err")"; return; fi
	if ! grep -qE -- "$pat" "$T/err"; then fail "$name: stderr '$(cat "$T/err")' lacks /$pat/"; return; fi
	if grep -q "PRIVATE\|SLIPWAY-KEK" "$T/err" "$T/out"; then fail "$name: key material printed"; return; fi
	pass "$name: $(cat "$T/err")"
}
dbsum() { [ -f "$1/db/data.mdb" ] && md5sum <"$1/db/data.mdb" | cut -c1-32 || echo none; }

# --- bad inventories: nothing at all is written -------------------------
cp "$EX" "$T/bad.yaml"
sed -i 's/serviceCIDR: 10.254.0.0\/16/serviceCIDR: 10.254.0.0\/16\n  colour: blue/' "$T/bad.yaml"
expect_fail "init: unknown key" "bad.yaml:[0-9]+:[0-9]+: unknown key 'colour'" -- \
	"$S" --state "$T/s1" init --cluster "$T/bad.yaml"
[ ! -e "$T/s1/db" ] && [ ! -e "$T/s1/kek" ] && pass "init: bad inventory wrote no state" || fail "init: bad inventory left state"
expect_fail "init: missing file" "cannot read" -- "$S" --state "$T/s1" init --cluster "$T/nope.yaml"
expect_fail "init: bad key type" "key-type" -- "$S" --state "$T/s1" init --cluster "$EX" --key-type dsa-1024

# --- a good state, then a second init ------------------------------------
"$S" --state "$T/s" init --cluster "$EX" >/dev/null || fail "init"
sum=$(dbsum "$T/s")
expect_fail "init twice" "already initialised" -- "$S" --state "$T/s" init --cluster "$EX"
[ "$(dbsum "$T/s")" = "$sum" ] && pass "second init changed nothing" || fail "second init changed the store"

# --- init killed half-way: never a half state ----------------------------
for delay in 0.05 0.2 0.5 1.0; do
	d="$T/kill-$delay"
	"$S" --state "$d" init --cluster "$EX" --key-type rsa-4096 >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	if [ -e "$d/db" ]; then
		"$S" --state "$d" audit verify >/dev/null 2>&1 && pass "kill -9 after ${delay}s: complete state" \
			|| fail "kill -9 after ${delay}s: db present but incomplete"
	else
		"$S" --state "$d" status >/dev/null 2>"$T/err"
		grep -q "not initialised" "$T/err" && pass "kill -9 after ${delay}s: no state (status: not initialised)" \
			|| fail "kill -9 after ${delay}s: $(cat "$T/err")"
		"$S" --state "$d" init --cluster "$EX" >/dev/null 2>&1 && "$S" --state "$d" audit verify >/dev/null \
			&& pass "kill -9 after ${delay}s: init again succeeds" || fail "kill -9 after ${delay}s: init again fails"
	fi
done

# P-256 init takes ~20 ms: kills land in key generation, in the
# transaction, or around the rename that publishes the state.
i=0
for delay in 0.002 0.004 0.006 0.008 0.010 0.012 0.015 0.018 0.022 0.030; do
	d="$T/killfast-$i"; i=$((i + 1))
	"$S" --state "$d" init --cluster "$EX" >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	if [ -e "$d/db" ]; then
		"$S" --state "$d" audit verify >/dev/null 2>&1 || fail "fast kill after ${delay}s: incomplete state"
	elif "$S" --state "$d" init --cluster "$EX" >/dev/null 2>&1 && \
	    "$S" --state "$d" audit verify >/dev/null 2>&1; then :
	else
		fail "fast kill after ${delay}s: cannot init again"
	fi
done
pass "10 kills during a fast init: each left a complete state or none"

# --- key-encryption key: missing, wrong, readable by others -------------
mv "$T/s/kek" "$T/kek.saved"
n_before=$("$S" --state "$T/s" cert list --json | grep -c '"serial"')
expect_fail "cert issue without KEK" "key-encryption key .*kek" -- \
	"$S" --state "$T/s" cert issue --profile client --cn x --out "$T/x"
[ ! -e "$T/x.pem" ] && [ ! -e "$T/x-key.pem" ] && pass "no files written without KEK" || fail "files written without KEK"
"$S" --state "$T/s" status >/dev/null 2>&1 && pass "status works without the KEK (no secrets needed)" || fail "status needs the KEK"
expect_fail "audit verify without KEK" "key-encryption key" -- "$S" --state "$T/s" audit verify
head -c 79 /dev/urandom | base64 | head -c 78 >"$T/wrong.kek"; echo >>"$T/wrong.kek"; chmod 600 "$T/wrong.kek"
expect_fail "malformed KEK file" "not a slipway key-encryption key" -- \
	"$S" --state "$T/s" --kek "$T/wrong.kek" cert issue --profile client --cn x --out "$T/x"
"$S" --state "$T/other" init --cluster "$EX" >/dev/null
expect_fail "KEK of another state" "wrong key" -- \
	"$S" --state "$T/s" --kek "$T/other/kek" cert list
cp "$T/kek.saved" "$T/s/kek"; chmod 644 "$T/s/kek"
expect_fail "KEK readable by others" "0600" -- \
	"$S" --state "$T/s" cert issue --profile client --cn x --out "$T/x"
chmod 600 "$T/s/kek"
n_after=$("$S" --state "$T/s" cert list --json | grep -c '"serial"')
[ "$n_before" = "$n_after" ] && pass "no certificate recorded by the failed issuances" || fail "records changed: $n_before -> $n_after"

# --- bad certificate requests: refused before anything is signed --------
sum=$(dbsum "$T/s")
expect_fail "cert issue: bad SAN" "invalid (DNS name|IP)" -- \
	"$S" --state "$T/s" cert issue --profile server --cn x --san "DNS:bad_name" --out "$T/x"
expect_fail "cert issue: unknown profile" "unknown profile" -- \
	"$S" --state "$T/s" cert issue --profile code-signing --cn x --out "$T/x"
expect_fail "cert issue: no such directory" "does not exist" -- \
	"$S" --state "$T/s" cert issue --profile client --cn x --out "$T/no/such/dir/x"
expect_fail "cert issue: bad validity" "validity" -- \
	"$S" --state "$T/s" cert issue --profile client --cn x --validity 10y --out "$T/x"
expect_fail "cert issue: control character in CN" "control characters" -- \
	"$S" --state "$T/s" cert issue --profile client --cn "$(printf 'a\tb')" --out "$T/x"
"$S" --state "$T/s" cert issue --profile client --cn ok --out "$T/ok" >/dev/null || fail "good issue"
sum=$(dbsum "$T/s")
expect_fail "cert issue: would overwrite" "already exists" -- \
	"$S" --state "$T/s" cert issue --profile client --cn ok --out "$T/ok"
mkdir -p "$T/seed"; touch "$T/seed/admin.pem"
expect_fail "seed-set: would overwrite" "already exists" -- \
	"$S" --state "$T/s" cert seed-set --out "$T/seed"
[ "$(dbsum "$T/s")" = "$sum" ] && pass "refused requests changed nothing" || fail "refused requests changed the store"
[ "$(ls "$T/seed")" = "admin.pem" ] && pass "seed-set wrote nothing" || fail "seed-set wrote files"
expect_fail "unknown command" "unknown command" -- "$S" --state "$T/s" frobnicate
expect_fail "ca export: bad CA" "--ca must be" -- "$S" --state "$T/s" ca export --ca nope

# --- revocations refused: one line each, nothing changed -----------------
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
rv=$(serial_of "$T/ok.pem")
"$S" --state "$T/s" cert revoke "$rv" --reason keyCompromise >/dev/null || fail "revoke ok.pem"
ca=$("$S" --state "$T/s" --json cert list | python3 -c \
	'import json,sys; print(next(c["serial"] for c in json.load(sys.stdin) if c["purpose"] == "ca"))')
"$S" --state "$T/s" bundle render --node test1 --out "$T/b1" >/dev/null || fail "bundle render test1"
peer=$(serial_of "$T/b1/etc/etcd/cert/etcd.pem")
sum=$(dbsum "$T/s")
expect_fail "revoke: twice" "already revoked \(keyCompromise" -- "$S" --state "$T/s" cert revoke "$rv"
expect_fail "revoke: a CA certificate" "certificate of CA .* not revoked" -- \
	"$S" --state "$T/s" cert revoke "$ca"
expect_fail "revoke: unknown serial" "no certificate with serial 0{31}1" -- \
	"$S" --state "$T/s" cert revoke 00000000000000000000000000000001
expect_fail "revoke: not a serial" "32 hex digits" -- "$S" --state "$T/s" cert revoke 12ab
expect_fail "revoke: unknown reason" "unknown --reason 'certificateHold'" -- \
	"$S" --state "$T/s" cert revoke "$peer" --reason certificateHold
expect_fail "revoke: an etcd member's peer certificate" "etcd peer certificate of test1: .* --force" -- \
	"$S" --state "$T/s" cert revoke "$peer"
expect_fail "revoke --node of an etcd member" "etcd peer certificate of test1" -- \
	"$S" --state "$T/s" cert revoke --node test1
expect_fail "revoke --node: nothing issued" "node nosuch has no certificate" -- \
	"$S" --state "$T/s" cert revoke --node nosuch
[ "$(dbsum "$T/s")" = "$sum" ] && pass "refused revocations changed nothing" || fail "refused revocations changed the store"
"$S" --state "$T/s" cert revoke "$peer" --force >"$T/out" 2>&1 && grep -qi "^revoked $peer " "$T/out" \
	&& pass "revoke --force: the peer certificate is revoked" || fail "revoke --force: $(cat "$T/out")"

# --- read-only state directory ------------------------------------------
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	cp -a "$T/s" "$T/ro"
	unshare -m sh -c "mount --bind '$T/ro' '$T/ro' && mount -o remount,bind,ro '$T/ro' && \
		'$S' --state '$T/ro' cert issue --profile client --cn y --out '$T/y'" >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -lt 128 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -qi "read-only\|permission" "$T/err"; then
		pass "read-only state: $(cat "$T/err")"
	else
		fail "read-only state: rc $rc: $(cat "$T/err")"
	fi
	[ ! -e "$T/y.pem" ] && pass "read-only state: nothing written" || fail "read-only state: files written"
else
	echo "skip read-only state (needs root and mount namespaces)"
fi

# --- corrupt and truncated databases ------------------------------------
cp -a "$T/s" "$T/c1"; dd if=/dev/urandom of="$T/c1/db/data.mdb" bs=4096 count=2 conv=notrunc 2>/dev/null
expect_fail "corrupt database" "corrupt|not an LMDB" -- "$S" --state "$T/c1" status
cp -a "$T/s" "$T/c2"; truncate -s 100 "$T/c2/db/data.mdb"
expect_fail "truncated database" "corrupt|store|LMDB|Invalid" -- "$S" --state "$T/c2" cert list
cp -a "$T/s" "$T/c3"; rm -f "$T/c3/db/data.mdb"
expect_fail "missing database file" "not initialised" -- "$S" --state "$T/c3" cert list

echo "$fails failure(s)"
[ $fails -eq 0 ]
