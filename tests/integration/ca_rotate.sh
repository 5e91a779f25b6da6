#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# ca_rotate: a CA rotation without downtime, with real TLS peers. At every
# step, servers already running with old-generation certificates keep
# verifying for clients that fetched the current trust bundle, and new
# certificates verify as soon as they are issued; finish is refused while
# old leaves are in use, and only then removes the old generation from the
# bundle. Node bundles re-rendered after advance supersede their old
# certificates, which lets finish succeed without --force.
set -u
S=${SLIPWAY:?}
EX=${SLW_SRC:?}/examples/seed-cluster.yaml
T=$(mktemp -d /tmp/slw-rot.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
fails=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
sw() { "$S" --state "$T/s" "$@"; }
ncerts() { grep -c "BEGIN CERTIFICATE" "$1"; }
issuer_cn() { openssl x509 -in "$1" -noout -issuer -nameopt sep_multiline | sed -n 's/^ *CN=//p'; }

port=0
serve() { # serve NAME CERTPREFIX: openssl s_server on a free port
	local p
	p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	openssl s_server -accept "127.0.0.1:$p" -cert "$2.pem" -key "$2-key.pem" -www -quiet \
		>/dev/null 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && break; sleep 0.1; done
	port=$p
	eval "port_$1=$p"
}
# reaches PORT BUNDLE: curl verifies the server against the bundle
reaches() { curl -fsS --max-time 5 --cacert "$2" "https://127.0.0.1:$1/" -o /dev/null; }

sw init --cluster "$EX" >/dev/null || { echo "init failed"; exit 1; }
sw ca export --ca kubernetes >"$T/bundle0.pem"
sw cert issue --profile server --cn old --san 127.0.0.1 --out "$T/old" >/dev/null
serve old "$T/old"
reaches "$port_old" "$T/bundle0.pem" && pass "idle: server with a generation-1 cert verifies" || fail "idle: old server"
sw ca rotate status --ca kubernetes | grep -q "rotation idle" && pass "status: idle" || fail "status idle"

# finish and advance are refused from idle; nothing changes
sw ca rotate advance --ca kubernetes >/dev/null 2>"$T/err"; rc=$?
[ $rc -ne 0 ] && grep -q "idle" "$T/err" && pass "advance from idle refused: $(cat "$T/err")" || fail "advance from idle"

# --- begin ---------------------------------------------------------------
sw ca rotate begin --ca kubernetes >/dev/null || fail "begin"
sw ca export --ca kubernetes >"$T/bundle1.pem"
[ "$(ncerts "$T/bundle1.pem")" = 2 ] && pass "begin: the bundle holds both generations" || fail "begin: bundle has $(ncerts "$T/bundle1.pem")"
reaches "$port_old" "$T/bundle1.pem" && pass "begin: old server verifies with the new bundle" || fail "begin: old server vs new bundle"
reaches "$port_old" "$T/bundle0.pem" && pass "begin: old server verifies with the old bundle" || fail "begin: old server vs old bundle"
sw cert issue --profile server --cn mid --san 127.0.0.1 --out "$T/mid" >/dev/null
[ "$(issuer_cn "$T/mid.pem")" = kubernetes ] && pass "begin: new certificates are still signed by generation 1" || fail "begin: mid issued by $(issuer_cn "$T/mid.pem")"
sw ca rotate begin --ca kubernetes >/dev/null 2>&1 && fail "second begin accepted" || pass "second begin refused"
sw status | grep -q "kubernetes *pending" && pass "status shows the pending rotation" || fail "status lacks rotation"

# --- advance ---------------------------------------------------------------
sw ca rotate advance --ca kubernetes >/dev/null || fail "advance"
sw ca export --ca kubernetes >"$T/bundle2.pem"
sw cert issue --profile server --cn new --san 127.0.0.1 --out "$T/new" >/dev/null
[ "$(issuer_cn "$T/new.pem")" = kubernetes-gen2 ] && pass "advance: new certificates are signed by generation 2 (kubernetes-gen2)" || fail "advance: issuer $(issuer_cn "$T/new.pem")"
serve new "$T/new"
reaches "$port_new" "$T/bundle1.pem" && pass "advance: new server verifies with the bundle fetched at begin" || fail "advance: new server vs bundle1"
reaches "$port_old" "$T/bundle2.pem" && pass "advance: old server still verifies" || fail "advance: old server"
reaches "$port_new" "$T/bundle0.pem" && fail "a pre-rotation bundle trusts generation 2" || pass "advance: a bundle from before begin does not trust generation 2 (distribute first)"

# --- finish --------------------------------------------------------------
sw ca rotate finish --ca kubernetes >/dev/null 2>"$T/err"; rc=$?
[ $rc -ne 0 ] && grep -q "still has 2 valid certificate" "$T/err" && pass "finish refused while old leaves are valid: $(cat "$T/err")" || fail "finish not refused: rc $rc $(cat "$T/err")"
sw ca export --ca kubernetes >"$T/bundle3.pem"
[ "$(ncerts "$T/bundle3.pem")" = 2 ] && pass "refused finish changed nothing" || fail "refused finish changed the bundle"
sw ca rotate finish --ca kubernetes --force >/dev/null || fail "finish --force"
sw ca export --ca kubernetes >"$T/bundle4.pem"
[ "$(ncerts "$T/bundle4.pem")" = 1 ] && pass "finish: only generation 2 remains trusted" || fail "finish: bundle has $(ncerts "$T/bundle4.pem")"
reaches "$port_new" "$T/bundle4.pem" && pass "finish: new server verifies" || fail "finish: new server"
reaches "$port_old" "$T/bundle4.pem" && fail "finish: retired generation still trusted" || pass "finish: old server no longer verifies (retired)"
sw cert issue --profile client --cn after --out "$T/after" >/dev/null && [ "$(issuer_cn "$T/after.pem")" = kubernetes-gen2 ] \
	&& pass "issuance continues on generation 2" || fail "issuance after finish"

# --- abort paths -----------------------------------------------------------
sw ca rotate begin --ca etcd >/dev/null && sw ca rotate abort --ca etcd >/dev/null \
	&& [ "$(sw ca export --ca etcd | grep -c 'BEGIN CERT')" = 1 ] \
	&& pass "abort from pending: back to one etcd generation" || fail "abort from pending"
sw ca rotate begin --ca etcd >/dev/null && sw ca rotate advance --ca etcd >/dev/null
sw cert issue --profile client --ca etcd --cn g2 --out "$T/g2" >/dev/null	# signed by gen 2
sw ca rotate abort --ca etcd >/dev/null
sw ca rotate status --ca etcd | grep -q "rotation pending" && pass "abort from advanced: back to pending" || fail "abort from advanced"
sw cert issue --profile client --ca etcd --cn e --out "$T/e" >/dev/null
[ "$(issuer_cn "$T/e.pem")" = etcd-ca ] && pass "after the abort the old etcd generation signs again" || fail "abort: issuer $(issuer_cn "$T/e.pem")"
sw ca rotate abort --ca etcd >/dev/null 2>"$T/err" && fail "a generation with valid leaves was dropped" \
	|| { grep -q "has signed 1 valid certificate" "$T/err" && pass "abort refuses to drop a generation that signed valid leaves" || fail "abort: $(cat "$T/err")"; }
sw audit verify >/dev/null && pass "audit chain intact" || fail "audit verify"
[ "$(sw audit list | grep -c 'ca.rotate')" -ge 7 ] && pass "every step is in the audit log" || fail "audit lacks steps"

# --- bundles re-rendered after advance supersede their old certificates ----
if sw bundle render --help >/dev/null 2>&1; then
	"$S" --state "$T/b" init --cluster "$EX" >/dev/null
	"$S" --state "$T/b" bundle render --node test1 --out "$T/r1" >/dev/null || fail "bundle render"
	"$S" --state "$T/b" ca rotate begin --ca etcd >/dev/null
	"$S" --state "$T/b" ca rotate advance --ca etcd >/dev/null
	"$S" --state "$T/b" ca rotate finish --ca etcd >/dev/null 2>"$T/err" \
		&& fail "finish with test1's old etcd certificates" \
		|| { grep -q "node test1" "$T/err" && pass "finish names the node still on the old CA: $(cat "$T/err")" || fail "finish: $(cat "$T/err")"; }
	"$S" --state "$T/b" bundle render --node test1 --out "$T/r2" >/dev/null || fail "re-render"
	"$S" --state "$T/b" ca rotate finish --ca etcd >/dev/null 2>"$T/err" \
		&& pass "after re-rendering test1, finish succeeds without --force" || fail "finish after re-render: $(cat "$T/err")"
fi

echo "$fails failure(s)"
[ $fails -eq 0 ]
