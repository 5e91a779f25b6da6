#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# unseal_sealed: a sealed appliance on loopback (docs/appliance.md), with
# real curl and a real software TPM (swtpm). `init --sealed` keeps the KEK
# only wrapped; `serve` starts sealed: /v1/* and /healthz 503 "sealed",
# a one-liner's pin refuses the throwaway certificate (curl exit 90, the
# token stays unused), commands cannot get the KEK; only root and the
# operator group may speak on the unseal socket; three wrong passphrases,
# then a delay that doubles, kept by serve; the passphrase, the recovery
# passphrase and a changed passphrase unseal; the KEK is in no file; the
# TPM unseals without a passphrase, a fresh TPM cannot and the appliance
# stays sealed. Bad input: one line, nothing created.
set -u
S=${SLIPWAY:?}
SRC=${SLW_SRC:?}
if [ "$(id -u)" != 0 ]; then echo "needs root (serve drops privileges; setpriv)"; exit 77; fi
for t in curl swtpm setpriv python3; do
	command -v $t >/dev/null || { echo "needs $t"; exit 77; }
done
T=$(mktemp -d /tmp/slw-unseal.XXXXXX)
chmod 711 "$T"
SPID= TPID=
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	[ -n "$TPID" ] && kill "$TPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fails=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export SLIPWAY_UNSEAL_SOCKET=$T/unseal.sock
ST=$T/state
PORT=$(port)
printf 'correct horse battery staple\n' >"$T/pass"
printf 'not the passphrase\n' >"$T/wrong"

# --- bad input: one line, nothing made ------------------------------------
printf 'short\n' >"$T/short"
out=$("$S" --state "$ST" init --cluster "$SRC/examples/seed-cluster.yaml" --sealed \
	--passphrase-file "$T/short" 2>&1); rc=$?
[ $rc -ne 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [ ! -e "$ST" ] &&
	printf '%s' "$out" | grep -q "at least 8" && pass "a short passphrase: one line ($out), nothing made" ||
	fail "short passphrase: rc $rc: $out"
out=$("$S" --state "$ST" --kek "$T/k" init --cluster "$SRC/examples/seed-cluster.yaml" --sealed 2>&1); rc=$?
[ $rc = 2 ] && [ ! -e "$ST" ] && [ ! -e "$T/k" ] && pass "--sealed with --kek refused" || fail "--sealed --kek: $rc $out"

# --- init --sealed ------------------------------------------------------------
"$S" --state "$ST" init --cluster "$SRC/examples/seed-cluster.yaml" --sealed \
	--passphrase-file "$T/pass" --recovery-out "$T/recovery" --tpm off >"$T/init.out" 2>&1 ||
	{ fail "init --sealed: $(cat "$T/init.out")"; echo "$fails failure(s)"; exit 1; }
REC=$(cat "$T/recovery")
[ ! -e "$ST/kek" ] && [ "$(stat -c %a "$ST/kek.wrapped")" = 600 ] && [ "$(stat -c %a "$T/recovery")" = 600 ] &&
	! grep -q "$REC" "$T/init.out" && pass "init --sealed: no KEK file, kek.wrapped 0600, recovery passphrase only in --recovery-out" ||
	fail "init --sealed: $(ls -la "$ST") $(cat "$T/init.out")"
chown -R nobody "$ST"	# serve drops to nobody; it opens the anchor once unsealed

start_serve() {
	"$S" --state "$ST" serve --listen 127.0.0.1:$PORT --user nobody --no-approve \
		>"$T/serve.out" 2>>"$T/serve.log" &
	SPID=$!
	for _ in $(seq 100); do grep -q "slipway serve: sealed\|slipway serve: ready" "$T/serve.out" && return 0; sleep 0.1; done
	return 1
}
stop_serve() { kill "$SPID"; wait "$SPID" 2>/dev/null; SPID=; }
code() { curl -sk -o "$T/body" -w '%{http_code}' --max-time 5 "https://127.0.0.1:$PORT$1"; }

start_serve || fail "serve did not start sealed: $(cat "$T/serve.log")"
grep -q "slipway serve: sealed" "$T/serve.out" && pass "serve starts sealed" || fail "serve: $(cat "$T/serve.out")"
c1=$(code /healthz); b1=$(cat "$T/body"); c2=$(code /v1/ca.pem); c3=$(code /v1/bundle)
[ "$c1 $c2 $c3" = "503 503 503" ] && [ "$b1" = '{"error":"sealed"}' ] &&
	pass "sealed: /healthz, /v1/ca.pem, /v1/bundle 503 $b1" || fail "sealed answers: $c1 $c2 $c3 $b1"
curl -sk "https://127.0.0.1:$PORT/metrics" | grep -qx "slipway_sealed 1" && pass "/metrics: slipway_sealed 1" || fail "metrics"
out=$("$S" --state "$ST" token create --node test1 2>&1) && fail "token create while sealed: $out" ||
	{ printf '%s' "$out" | grep -q "sealed: unseal it first" && pass "token create while sealed: $out" || fail "token create: $out"; }
"$S" --state "$ST" unseal --status >/dev/null; [ $? = 3 ] && pass "unseal --status: exit 3 while sealed" || fail "status exit"

# --- who may speak on the socket ---------------------------------------------
out=$(setpriv --reuid nobody --regid nogroup --clear-groups "$S" --state "$ST" unseal --status 2>&1); rc=$?
[ $rc = 1 ] && printf '%s' "$out" | grep -q "only root and the operator group" &&
	pass "a peer neither root nor operator is refused" || fail "peer nobody: $rc $out"
out=$(setpriv --reuid nobody --regid operator --clear-groups "$S" --state "$ST" unseal --status 2>&1); rc=$?
[ $rc = 3 ] && pass "the operator group may ask ($out)" || fail "peer operator: $rc $out"

# --- wrong passphrases: three tries, then a doubling delay -----------------
msgs=
for i in 1 2 3; do
	msgs="$msgs|$("$S" --state "$ST" unseal --passphrase-file "$T/wrong" 2>&1)"
done
out=$("$S" --state "$ST" unseal --passphrase-file "$T/pass" 2>&1); rc=$?
case $msgs in
*"wrong passphrase|"*"wrong passphrase|"*"wrong passphrase; the next try in 2 s") ok=1 ;; *) ok= ;; esac
[ -n "$ok" ] && [ $rc = 1 ] && printf '%s' "$out" | grep -q "too many wrong passphrases: the next try in [12] s" &&
	pass "three wrong tries, then even the right one must wait ($out)" || fail "delay: $msgs / $rc $out"
sleep 2
out=$("$S" --state "$ST" unseal --passphrase-file "$T/wrong" 2>&1)
printf '%s' "$out" | grep -q "wrong passphrase; the next try in 4 s" && pass "the delay doubles: $out" || fail "doubling: $out"
sleep 4

# --- unseal, serve, a token; sealed again after a restart ---------------------
out=$("$S" --state "$ST" unseal --passphrase-file "$T/pass" 2>&1); rc=$?
[ $rc = 0 ] && [ "$(code /healthz)" = 200 ] && grep -q "slipway serve: ready" "$T/serve.out" &&
	pass "the passphrase unseals: $out; /healthz 200" || fail "unseal: $rc $out"
PIN=$(sed -n 's/.*pin sha256\/\/\(.*\)$/\1/p' "$T/serve.out" | head -1)
LINE=$("$S" --state "$ST" token create --node test1 2>/dev/null)
CURL=${LINE%% | tar *}
CURL=${CURL//:8443\//:$PORT\/}
printf '%s' "$CURL" | grep -q "$PIN" && pass "token create takes the KEK from serve" || fail "token: $LINE"
python3 - "$SLIPWAY_UNSEAL_SOCKET" >"$T/kek.hex" <<'EOP'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(struct.pack(">I", 1) + bytes([4]))
def rd(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b)); assert c; b += c
    return b
n = struct.unpack(">I", rd(4))[0]; f = rd(n)
assert f[0] == 16 and struct.unpack(">i", f[1:5])[0] == 0
tl = struct.unpack(">H", f[13:15])[0]; assert f[15 + tl] == 1
print(f[16 + tl:48 + tl].hex())
EOP
KEK=$(cat "$T/kek.hex")
if [ ${#KEK} = 64 ]; then
	hits=$(python3 - "$KEK" "$ST" "$T" <<'EOP'
import os, sys
k = bytes.fromhex(sys.argv[1]); pats = [k, sys.argv[1].encode(), sys.argv[1].upper().encode()]
hits = []
for top in sys.argv[2:]:
    for d, _, fs in os.walk(top):
        for f in fs:
            p = os.path.join(d, f)
            if p.endswith("kek.hex"): continue
            try: data = open(p, "rb").read()
            except OSError: continue
            if any(x in data for x in pats): hits.append(p)
print(" ".join(hits))
EOP
)
	[ -z "$hits" ] && pass "the KEK (from serve's socket) is in no file of the state or the test" || fail "KEK in $hits"
else
	fail "no KEK from the socket: $KEK"
fi
stop_serve
start_serve
[ "$(code /healthz)" = 503 ] && pass "restarted: sealed again" || fail "restart not sealed"
eval "$CURL" --max-time 10 -o /dev/null 2>/dev/null; rc=$?
[ $rc = 90 ] && "$S" --state "$ST" token list | grep -q "test1 .*active" &&
	pass "sealed: the one-liner's pin refuses the throwaway certificate (curl 90), the token stays unused" ||
	fail "pinned curl while sealed: rc $rc"

# --- the recovery passphrase, a new operator passphrase ---------------------
out=$(printf '%s\n' "$REC" | tr a-z A-Z | "$S" --state "$ST" unseal --passphrase-file - 2>&1); rc=$?
[ $rc = 0 ] && printf '%s' "$out" | grep -q "recovery passphrase" && pass "the recovery passphrase (in capitals, from stdin) unseals" || fail "recovery: $rc $out"
mkdir -p "$T/node"
eval "$CURL" --max-time 20 | tar -xz -C "$T/node" && [ -f "$T/node/etc/etcd/cert/etcd-key.pem" ] &&
	pass "the same one-liner works once unsealed (same pin)" || fail "redeem after unseal"
printf '%s\n' "$REC" >"$T/rec1"
printf 'a brand new passphrase\n' >"$T/new"
out=$("$S" --state "$ST" unseal --change-passphrase --passphrase-file "$T/rec1" --new-passphrase-file "$T/new" 2>&1) &&
	pass "--change-passphrase with the recovery passphrase: $out" || fail "change: $out"
stop_serve
start_serve
"$S" --state "$ST" unseal --passphrase-file "$T/pass" >/dev/null 2>&1 && fail "the old passphrase still unseals" ||
	pass "the old passphrase no longer unseals"
"$S" --state "$ST" unseal --passphrase-file "$T/new" >/dev/null 2>&1 && [ "$(code /healthz)" = 200 ] &&
	pass "the new passphrase unseals" || fail "new passphrase"
stop_serve

# --- the TPM (swtpm) ----------------------------------------------------------
start_tpm() { # state dir
	local p
	p=$(port)
	swtpm socket --tpm2 --tpmstate dir="$1" --server type=tcp,port=$p,bindaddr=127.0.0.1 \
		--ctrl type=tcp,port=$((p + 1)),bindaddr=127.0.0.1 --flags not-need-init,startup-clear \
		>>"$T/swtpm.log" 2>&1 &
	TPID=$!
	export SLIPWAY_TPM_TCTI="swtpm:host=127.0.0.1,port=$p"
	for _ in $(seq 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$p),1)" 2>/dev/null && return; sleep 0.1; done
}
stop_tpm() { kill "$TPID"; wait "$TPID" 2>/dev/null; TPID=; }
mkdir -p "$T/tpm1" "$T/tpm2"
start_tpm "$T/tpm1"
ST=$T/state-tpm
"$S" --state "$ST" init --cluster "$SRC/examples/seed-cluster.yaml" --sealed \
	--passphrase-file "$T/pass" --recovery-out "$T/recovery2" --tpm on >"$T/init2.out" 2>&1 &&
	grep -q "sealed to this machine's TPM" "$T/init2.out" && pass "init --sealed --tpm on: sealed to swtpm" ||
	fail "init with TPM: $(cat "$T/init2.out")"
chown -R nobody "$ST"
start_serve
out=$("$S" --state "$ST" unseal --tpm 2>&1); rc=$?
[ $rc = 0 ] && [ "$(code /healthz)" = 200 ] && pass "unseal --tpm: serving without a passphrase ($out)" || fail "tpm unseal: $rc $out"
stop_serve
stop_tpm
start_tpm "$T/tpm2"	# a fresh TPM: another machine's, or cleared
start_serve
out=$("$S" --state "$ST" unseal --tpm 2>&1); rc=$?
[ $rc = 1 ] && [ "$(code /healthz)" = 503 ] && printf '%s' "$out" | grep -q "cannot unseal.*stays sealed" &&
	pass "a fresh TPM cannot unseal; still sealed: $out" || fail "fresh TPM: $rc $out"
"$S" --state "$ST" unseal --passphrase-file "$T/pass" >/dev/null 2>&1 && [ "$(code /healthz)" = 200 ] &&
	pass "...and the passphrase still does" || fail "passphrase after TPM failure"
stop_serve
stop_tpm

grep -q "correct horse\|brand new\|$REC" "$T/serve.log" && fail "a passphrase in serve's log" || pass "no passphrase in serve's log"
echo "$fails failure(s)"
[ $fails -eq 0 ]
