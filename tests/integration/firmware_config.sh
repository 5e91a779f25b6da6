#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# firmware_config: the appliance image's files, checked by the programs
# that consume them: nft (syntax, then the ruleset loaded in a network
# namespace against real TCP peers), systemd-analyze verify and security,
# and firstboot.sh in a test root (initialises once, then does nothing).
set -u
S=${SLIPWAY:?}
SRC=${SLW_SRC:?}
T=$(mktemp -d /tmp/slw-fw.XXXXXX)
NS_A=slwfw-a-$$ NS_B=slwfw-b-$$
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	ip netns del $NS_A 2>/dev/null; ip netns del $NS_B 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fails=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

# --- nftables ------------------------------------------------------------
if [ "$(id -u)" != 0 ]; then echo "needs root"; exit 77; fi
ip netns add $NS_A && ip netns add $NS_B
ip link add a0 netns $NS_A type veth peer name b0 netns $NS_B
ip -n $NS_A addr add 10.91.0.1/24 dev a0; ip -n $NS_B addr add 10.91.0.2/24 dev b0
for n in $NS_A $NS_B; do ip -n $n link set lo up; done
ip -n $NS_A link set a0 up; ip -n $NS_B link set b0 up
ip netns exec $NS_A nft -c -f "$SRC/firmware/nftables.conf" && pass "nft -c accepts nftables.conf" || fail "nft -c"
ip netns exec $NS_A nft -f "$SRC/firmware/nftables.conf" || fail "nft -f"
listen() { # listen NS PORT
	ip netns exec "$1" python3 -c "
import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
s.bind(('0.0.0.0',$2)); s.listen(8)
while True:
    c,_=s.accept(); c.sendall(b'hi'); c.close()" &
	pids+=($!)
}
connects() { # connects NS HOST PORT
	ip netns exec "$1" python3 -c "
import socket,sys
s=socket.socket(); s.settimeout(1.5)
try:
    s.connect(('$2',$3)); sys.exit(0 if s.recv(2)==b'hi' else 1)
except Exception: sys.exit(1)"
}
listen $NS_A 8443; listen $NS_A 9999; listen $NS_B 2379; listen $NS_B 80
sleep 0.5
connects $NS_B 10.91.0.1 8443 && pass "inbound 8443 (bootstrap) accepted" || fail "inbound 8443 refused"
connects $NS_B 10.91.0.1 9999 && fail "inbound 9999 accepted" || pass "inbound 9999 dropped"
connects $NS_A 10.91.0.2 2379 && pass "outbound 2379 (etcd health gate) accepted" || fail "outbound 2379 refused"
connects $NS_A 10.91.0.2 80 && fail "outbound 80 accepted" || pass "outbound 80 dropped"
connects $NS_A 127.0.0.1 9999 && pass "loopback accepted" || fail "loopback refused"
ip netns exec $NS_A nft list counters >/dev/null 2>&1
drops=$(ip netns exec $NS_A nft list chain inet slipway input | grep -o 'counter packets [0-9]*' | tail -1 | awk '{print $3}')
[ "${drops:-0}" -gt 0 ] && pass "dropped packets are counted ($drops)" || fail "no drop counted"

# --- systemd units ------------------------------------------------------
R=$T/root
mkdir -p "$R/usr/bin" "$R/usr/lib/slipway" "$R/etc/systemd/system" "$R/usr/lib/systemd"
cp -a /usr/lib/systemd/system "$R/usr/lib/systemd/"
cp "$S" "$R/usr/bin/slipway"
mkdir -p "$R/bin" && cp /bin/sh "$R/bin/sh"	# ExecReload (kill is its builtin)
cp "$SRC/firmware/firstboot.sh" "$R/usr/lib/slipway/"
cp "$SRC"/firmware/*.service "$R/etc/systemd/system/"
for u in slipway.service slipway-firstboot.service; do
	out=$(cd "$R" && systemd-analyze verify --root="$R" "$u" 2>&1)
	[ $? -eq 0 ] && [ -z "$out" ] && pass "systemd-analyze verify $u (no complaint)" || fail "verify $u: $out"
done
score=$(systemd-analyze security --offline=yes "$SRC/firmware/slipway.service" 2>/dev/null | \
	sed -n 's/.*Overall exposure level for slipway.service: \([0-9.]*\).*/\1/p')
if [ -n "$score" ] && awk "BEGIN{exit !($score <= 2.0)}"; then
	pass "systemd-analyze security: exposure $score (<= 2.0)"
else
	fail "systemd-analyze security: exposure '${score}'"
fi

# --- first boot ------------------------------------------------------------
F=$T/fb
mkdir -p "$F/etc/slipway"
SLIPWAY_ROOT=$F SLIPWAY_BIN=$S "$SRC/firmware/firstboot.sh" >"$T/out" 2>&1 && fail "firstboot without an inventory succeeded" \
	|| { grep -q "no inventory" "$T/out" && pass "firstboot without an inventory: one clear error" || fail "firstboot: $(cat "$T/out")"; }
cp "$SRC/examples/seed-cluster.yaml" "$F/etc/slipway/cluster.yaml"
SLIPWAY_ROOT=$F SLIPWAY_BIN=$S "$SRC/firmware/firstboot.sh" >"$T/out" 2>&1 && pass "firstboot initialises the state" || fail "firstboot: $(cat "$T/out")"
[ -f "$F/var/lib/slipway/db/data.mdb" ] && [ ! -e "$F/var/lib/slipway/kek" ] && \
	[ "$(stat -c %a "$F/var/lib/slipway-kek/kek")" = 600 ] && [ "$(stat -c %a "$F/var/lib/slipway-kek")" = 700 ] \
	&& pass "the KEK is 0600 in its own 0700 directory, not beside the database" || fail "KEK placement"
grep -q "PRIVATE\|SLIPWAY-KEK" "$T/out" && fail "firstboot printed key material" || pass "firstboot prints no key"
sum=$(md5sum <"$F/var/lib/slipway/db/data.mdb")
SLIPWAY_ROOT=$F SLIPWAY_BIN=$S "$SRC/firmware/firstboot.sh" >"$T/out" 2>&1 && grep -q "already initialised" "$T/out" \
	&& [ "$(md5sum <"$F/var/lib/slipway/db/data.mdb")" = "$sum" ] && pass "second first boot changes nothing" || fail "second firstboot"
"$S" --state "$F/var/lib/slipway" --kek "$F/var/lib/slipway-kek/kek" audit verify >/dev/null && pass "the state opens with the KEK from its directory" || fail "audit verify"

echo "$fails failure(s)"
[ $fails -eq 0 ]
