#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# firmware_config: the appliance image's files, checked by the programs
# that consume them, without building the image: nft (syntax, then the
# ruleset in a network namespace against real TCP peers: port 22 closed
# until ssh-open.nft opens it to the operator networks), systemd-analyze
# verify and security (the exposure figure of every slipway unit, each at
# most 1.5), sshd -T on the operator's drop-in, the udev rule with
# udevadm, firstboot.sh in a test root (waits without a configuration,
# refuses each malformed file with one line and initialises nothing,
# initialises sealed from a good one, then does nothing), and the console
# stand-in (the recovery passphrase shown once, then removed).
set -u
S=${SLIPWAY:?}
SRC=${SLW_SRC:?}
FW=$SRC/firmware
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
ip -n $NS_B addr add 198.51.100.2/24 dev b0; ip -n $NS_A addr add 198.51.100.1/24 dev a0
for n in $NS_A $NS_B; do ip -n $n link set lo up; done
ip -n $NS_A link set a0 up; ip -n $NS_B link set b0 up
ip netns exec $NS_A nft -c -f "$FW/nftables.conf" && pass "nft -c accepts nftables.conf" || fail "nft -c"
ip netns exec $NS_A nft -f "$FW/nftables.conf" || fail "nft -f"
listen() { # listen NS PORT
	ip netns exec "$1" python3 -c "
import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
s.bind(('0.0.0.0',$2)); s.listen(8)
while True:
    c,_=s.accept(); c.sendall(b'hi'); c.close()" &
	pids+=($!)
}
connects() { # connects NS HOST PORT [SOURCE]
	ip netns exec "$1" python3 -c "
import socket,sys
s=socket.socket(); s.settimeout(1.5)
if '${4:-}': s.bind(('${4:-}', 0))
try:
    s.connect(('$2',$3)); sys.exit(0 if s.recv(2)==b'hi' else 1)
except Exception: sys.exit(1)"
}
listen $NS_A 8443; listen $NS_A 9999; listen $NS_A 22; listen $NS_B 2379; listen $NS_B 80
sleep 0.5
connects $NS_B 10.91.0.1 8443 && pass "inbound 8443 (bootstrap) accepted" || fail "inbound 8443 refused"
connects $NS_B 10.91.0.1 9999 && fail "inbound 9999 accepted" || pass "inbound 9999 dropped"
connects $NS_B 10.91.0.1 22 && fail "inbound 22 accepted without sshd" || pass "inbound 22 dropped while sshd is not running"
ip netns exec $NS_A nft -f "$FW/ssh-open.nft" && ip netns exec $NS_A nft -f "$FW/ssh-open.nft" ||
	fail "ssh-open.nft (twice: it must be idempotent)"
connects $NS_B 10.91.0.1 22 && pass "ssh-open.nft: inbound 22 accepted from an operator network" ||
	fail "inbound 22 refused after ssh-open.nft"
connects $NS_B 198.51.100.1 22 198.51.100.2 && fail "inbound 22 from outside the operator networks accepted" ||
	pass "inbound 22 from outside the operator networks dropped"
ip netns exec $NS_A nft flush chain inet slipway ssh_gate
connects $NS_B 10.91.0.1 22 && fail "22 still open after sshd stops" || pass "sshd's stop (flush ssh_gate) closes 22 again"
connects $NS_A 10.91.0.2 2379 && pass "outbound 2379 (etcd health gate) accepted" || fail "outbound 2379 refused"
connects $NS_A 10.91.0.2 80 && fail "outbound 80 accepted" || pass "outbound 80 dropped"
connects $NS_A 127.0.0.1 9999 && pass "loopback accepted" || fail "loopback refused"
drops=$(ip netns exec $NS_A nft list chain inet slipway input | grep -o 'counter packets [0-9]*' | tail -1 | awk '{print $3}')
[ "${drops:-0}" -gt 0 ] && pass "dropped packets are counted ($drops)" || fail "no drop counted"

# --- systemd units ------------------------------------------------------
R=$T/root
mkdir -p "$R/usr/bin" "$R/usr/lib/slipway" "$R/etc/systemd/system" "$R/usr/lib/systemd" "$R/bin" "$R/usr/sbin"
cp -a /usr/lib/systemd/system "$R/usr/lib/systemd/"
cp "$S" "$R/usr/bin/slipway"
cp /bin/sh "$R/bin/sh"	# ExecReload (kill is its builtin)
cp /bin/systemctl "$R/bin/systemctl" 2>/dev/null || cp /usr/bin/systemctl "$R/bin/systemctl"
cp "$(command -v nft)" "$R/usr/sbin/nft"
cp "$FW/firstboot.sh" "$FW/console" "$R/usr/lib/slipway/"
cp "$FW"/units/* "$R/etc/systemd/system/"
cp -a "$FW/etc/systemd/system/." "$R/etc/systemd/system/"
units="slipway.service slipway-firstboot.service slipway-unseal-tpm.service slipway-console@ttyS0.service media-slipway-config.mount"
for u in $units; do
	out=$(cd "$R" && systemd-analyze verify --root="$R" "$u" 2>&1 | grep -v "ssh.service\|dev-slipway")
	[ -z "$out" ] && pass "systemd-analyze verify $u (no complaint)" || fail "verify $u: $out"
done
echo "systemd-analyze security, exposure per unit:"
for f in "$FW"/units/*.service; do
	u=$(basename "$f")
	score=$(systemd-analyze security --offline=yes "$f" 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	echo "  $u: ${score:-?}"
	if [ -n "$score" ] && awk "BEGIN{exit !($score <= 1.5)}"; then
		pass "systemd-analyze security $u: exposure $score (<= 1.5)"
	else
		fail "systemd-analyze security $u: exposure '${score}'"
	fi
done

# --- sshd: keys only, the operator only, into the console --------------------
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
sed "s|/var/lib/slipway-state/appliance/ssh_host_ed25519_key|$T/hostkey|" \
	"$FW/etc/ssh/sshd_config.d/slipway.conf" >"$T/sshd.conf"
printf 'Include %s\nUsePAM yes\n' "$T/sshd.conf" >"$T/sshd_config"
made_run=
[ -d /run/sshd ] || { mkdir -m 0755 /run/sshd && made_run=1; }	# sshd -T wants it
cfg=$(/usr/sbin/sshd -T -f "$T/sshd_config" 2>&1); rc=$?
[ -n "$made_run" ] && rmdir /run/sshd
if [ $rc = 0 ]; then
	ok=1
	for want in "forcecommand /usr/lib/slipway/console" "passwordauthentication no" \
		"kbdinteractiveauthentication no" "permitrootlogin no" "allowusers operator" \
		"authenticationmethods publickey" "disableforwarding yes" \
		"authorizedkeysfile /var/lib/slipway-state/appliance/authorized_keys"; do
		printf '%s\n' "$cfg" | grep -qx "$want" || { ok=; fail "sshd -T lacks '$want'"; }
	done
	[ -n "$ok" ] && pass "sshd -T: the operator only, keys only, forced into the console"
else
	fail "sshd -T: $cfg"
fi

# --- the configuration disk's udev rule ---------------------------------------
out=$(udevadm verify "$FW/etc/udev/rules.d/70-slipway-config.rules" 2>&1) ||
	{ printf '%s' "$out" | grep -q "Unknown command\|invalid option" && out=; }
[ -z "$out" ] || printf '%s' "$out" | grep -q "Success" && pass "udev rule parses" || fail "udev rule: $out"
grep -q 'ENV{ID_FS_LABEL}=="SLIPWAY-CONFIG"' "$FW/etc/udev/rules.d/70-slipway-config.rules" &&
	grep -q 'ENV{ID_FS_LABEL}=="SLIPWAY-CFG"' "$FW/etc/udev/rules.d/70-slipway-config.rules" &&
	pass "labels: SLIPWAY-CONFIG (ext4), SLIPWAY-CFG (vfat)" || fail "labels"

# --- first boot ------------------------------------------------------------
F=$T/fb
fb() { # runs firstboot.sh against $F; its output in $T/out
	SLIPWAY_ROOT=$F SLIPWAY_BIN=$S "$FW/firstboot.sh" >"$T/out" 2>&1
}
st() { cat "$F/run/slipway-firstboot/status" 2>/dev/null; }
fresh() { # the image's mount points, empty
	rm -rf "$F/var" "$F/run"
	mkdir -p "$F/var/lib/slipway" "$F/var/lib/slipway-state"
	chmod 0700 "$F/var/lib/slipway"
}
C=$F/media/slipway/config
mkdir -p "$C"
fresh
fb && st | grep -q "waiting for a configuration disk" && pass "no configuration: exit 0, status '$(st)'" ||
	fail "no configuration: $(cat "$T/out")"
ssh-keygen -q -t ed25519 -N '' -C op@test -f "$T/op"
good() {
	rm -rf "$C"; mkdir -p "$C"
	cp "$SRC/examples/seed-cluster.yaml" "$C/cluster.yaml"
	cp "$T/op.pub" "$C/authorized_keys"
	printf 'ntp1.example.net\n# a comment\n192.0.2.123\n' >"$C/ntp-servers"
	printf 'correct horse battery staple\n' >"$C/passphrase"
}
# each malformed disk: exit 1, one status line naming the problem, nothing made
bad() { # what to expect, then the change to a good disk (a shell command)
	local want=$1
	good
	eval "$2"
	fresh
	if fb; then fail "malformed ($want): accepted"; return; fi
	if st | grep -q "configuration disk rejected: .*$want" && [ "$(st | wc -l)" = 1 ] &&
		[ -z "$(ls -A "$F/var/lib/slipway")" ] &&
		[ ! -e "$F/var/lib/slipway-state/appliance/authorized_keys" ]; then
		pass "malformed: $(st)"
	else
		fail "malformed ($want): status '$(st)', $(find "$F/var" -type f 2>/dev/null | head -3)"
	fi
}
bad "it has no cluster.yaml" 'rm "$C/cluster.yaml"'
bad "authorized_keys line 1 is not a public key" 'sed -i "s/^/command=\"\/bin\/sh\" /" "$C/authorized_keys"'
bad "authorized_keys line 2 is not a valid public key" 'echo "ssh-ed25519 AAAAnotbase64 x" >>"$C/authorized_keys"'
bad "ntp-servers line 2 is not a host name" 'printf "ok.example\nbad;server\n" >"$C/ntp-servers"'
bad "passphrase needs at least 8" 'echo short >"$C/passphrase"'
bad "cluster.yaml" 'printf "apiVersion: slipway/v1\nkind: Cluster\nnodes: 7\n" >"$C/cluster.yaml"'
good
fresh
fb && pass "a good configuration disk: initialised ($(st))" || fail "firstboot: $(cat "$T/out")"
[ -f "$F/var/lib/slipway/db/data.mdb" ] && [ ! -e "$F/var/lib/slipway/kek" ] &&
	[ "$(stat -c %a "$F/var/lib/slipway/kek.wrapped" 2>/dev/null)" = 600 ] &&
	pass "the state holds only the wrapped KEK (0600), no KEK file" || fail "KEK files: $(ls "$F/var/lib/slipway")"
REC=$(cat "$F/run/slipway-firstboot/recovery" 2>/dev/null)
[ ${#REC} = 35 ] && ! grep -q "$REC" "$T/out" && pass "the recovery passphrase waits in the run directory, not in the output" ||
	fail "recovery: '$REC' $(cat "$T/out")"
grep -qx "NTP=ntp1.example.net 192.0.2.123" "$F/var/lib/slipway-state/appliance/timesyncd.conf" &&
	grep -qx "FallbackNTP=" "$F/var/lib/slipway-state/appliance/timesyncd.conf" &&
	pass "timesyncd: the configuration's NTP servers, no fallback pool" || fail "timesyncd.conf"
cmp -s "$T/op.pub" "$F/var/lib/slipway-state/appliance/authorized_keys" &&
	ssh-keygen -l -f "$F/var/lib/slipway-state/appliance/ssh_host_ed25519_key.pub" >/dev/null &&
	st | grep -q "SSH host key SHA256:" && pass "the operator's keys, and a host key made at first boot: $(st)" ||
	fail "ssh files"
grep -q "PRIVATE\|SLIPWAY-KEK\|$REC" "$T/out" && fail "firstboot printed key material" || pass "firstboot prints no key or passphrase"
sum=$(md5sum <"$F/var/lib/slipway/db/data.mdb")
fb && grep -q "already initialised" "$T/out" && [ "$(md5sum <"$F/var/lib/slipway/db/data.mdb")" = "$sum" ] &&
	pass "second first boot changes nothing" || fail "second firstboot"

# --- the console stand-in: the recovery passphrase once, then gone ------------
out=$(printf '\n' | SLIPWAY_BIN=$S SLIPWAY_FIRSTBOOT_RUN=$F/run/slipway-firstboot \
	SLIPWAY_UNSEAL_SOCKET=$T/none.sock timeout 6 "$FW/console" 2>&1)
n=$(printf '%s' "$out" | grep -c "$REC")
[ "$n" = 1 ] && [ ! -e "$F/run/slipway-firstboot/recovery" ] && printf '%s' "$out" | grep -q "slipway: initialised" &&
	pass "console: the recovery passphrase shown once, then removed; then the status" ||
	fail "console: shown $n times: $out"
echo "$fails failure(s)"
[ $fails -eq 0 ]
