#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# firmware_image: builds the appliance image (firmware/build-image.sh:
# debootstrap + the trixie mbedTLS pin + slipway) and boots it under qemu,
# with a guest network that reaches nothing but the one forwarded port.
# Proves, from outside and from a probe unit inside: first boot
# initialised the state (KEK 0600 in its own directory), nftables loaded
# the appliance rules, slipway serve runs as the slipway user under its
# hardened unit with its network child under seccomp, and a token minted
# inside the guest is redeemed from the host with the printed curl line
# (pinned key) into a complete bundle.
set -u
S=${SLIPWAY:?}
SRC=${SLW_SRC:?}
if [ "$(id -u)" != 0 ]; then echo "needs root"; exit 77; fi
T=$(mktemp -d /tmp/slw-img.XXXXXX)
CACHE=${SLIPWAY_IMAGE_CACHE:-/var/cache/slipway-image-debs}
QPID=
cleanup() { [ -n "$QPID" ] && kill "$QPID" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$T"; }
trap cleanup EXIT
fails=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

# A probe unit, only in the test image: reports to the serial console.
X=$T/extra
mkdir -p "$X/etc/systemd/system/multi-user.target.wants" "$X/usr/lib/slipway"
cat >"$X/usr/lib/slipway/image-probe.sh" <<'EOP'
#!/bin/sh
exec >/dev/ttyS1 2>&1	# a port of its own: the console is ttyS0
export SLIPWAY_STATE=/var/lib/slipway SLIPWAY_KEK=/var/lib/slipway-kek/kek
for i in $(seq 180); do systemctl is-active -q slipway.service && break; sleep 1; done
echo "PROBE active $(systemctl is-active slipway.service)"
pid=$(systemctl show -p MainPID --value slipway.service)
echo "PROBE user $(stat -c %U /proc/$pid)"
echo "PROBE nopriv $(awk '/^NoNewPrivs/ {print $2}' /proc/$pid/status)"
child=$(grep -l '^slipway-net$' /proc/[0-9]*/comm 2>/dev/null | head -1 | cut -d/ -f3)
echo "PROBE child ${child:+$(stat -c %U /proc/$child) seccomp $(awk '/^Seccomp:/ {print $2}' /proc/$child/status)}"
echo "PROBE kek $(stat -c '%a %U' /var/lib/slipway-kek/kek) dir $(stat -c '%a' /var/lib/slipway-kek)"
echo "PROBE nft $(nft list tables | tr '\n' ' ')"
echo "PROBE cas $(slipway status --json | grep -c '"generation"')"
echo "PROBE token $(slipway token create --node test1)"
before=$(systemctl show -p MainPID --value slipway.service)
systemctl reload slipway.service; sleep 2
echo "PROBE reload $(systemctl is-active slipway.service) same-pid $([ "$before" = "$(systemctl show -p MainPID --value slipway.service)" ] && echo yes || echo no) said $(journalctl -b -u slipway.service --no-pager | grep -c 'nothing to reload')"
journalctl -b -u slipway.service -u slipway-firstboot.service --no-pager -n 40 | sed 's/^/JOURNAL /'
echo "PROBE done"
EOP
chmod 755 "$X/usr/lib/slipway/image-probe.sh"
cat >"$X/etc/systemd/system/slipway-image-probe.service" <<'EOP'
[Unit]
Description=slipway image test probe (test images only)
After=slipway.service
[Service]
Type=oneshot
ExecStart=/usr/lib/slipway/image-probe.sh
[Install]
WantedBy=multi-user.target
EOP
ln -s ../slipway-image-probe.service "$X/etc/systemd/system/multi-user.target.wants/"

t0=$(date +%s)
if "$SRC/firmware/build-image.sh" --slipway "$S" --out "$T/img" --cache "$CACHE" --extra "$X" >"$T/build.log" 2>&1; then
	pass "image built in $(( $(date +%s) - t0 )) s ($(du -m "$T/img/rootfs.img" | cut -f1) MiB)"
else
	fail "build-image: $(tail -5 "$T/build.log")"; echo "$fails failure(s)"; exit 1
fi
keys=$(grep -rlE -- "-----BEGIN [A-Z ]*PRIVATE KEY-----|^SLIPWAY-KEK-1 " "$T/img/rootfs/etc" \
	"$T/img/rootfs/var/lib" "$T/img/rootfs/usr/lib/slipway" 2>/dev/null)
[ -z "$keys" ] && pass "the image holds no key (made at first boot)" || fail "key material in the image: $keys"
rm -rf "$T/img/rootfs"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
qemu-system-x86_64 -accel tcg -cpu max -m 1024 -smp 2 -display none -no-reboot \
	-kernel "$T/img/vmlinuz" -initrd "$T/img/initrd.img" \
	-append "root=/dev/vda rw console=ttyS0 panic=-1" \
	-drive file="$T/img/rootfs.img",format=raw,if=virtio \
	-netdev user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$PORT-:8443 \
	-device virtio-net-pci,netdev=n0 \
	-serial stdio -serial file:"$T/probe.log" \
	>"$T/serial.log" 2>&1 &
QPID=$!
t0=$(date +%s)
touch "$T/probe.log"
for _ in $(seq 420); do grep -aq "PROBE done" "$T/probe.log" && break; sleep 1; done
grep -aq "PROBE done" "$T/probe.log" && pass "booted; probe reported after $(( $(date +%s) - t0 )) s" \
	|| { fail "no probe report in 420 s: $(tail -c 600 "$T/serial.log")"; echo "$fails failure(s)"; exit 1; }
probe() { grep -a "^PROBE $1 " "$T/probe.log" | head -1 | sed "s/^PROBE $1 //" | tr -d '\r'; }
[ "$(probe active)" = active ] && pass "slipway.service active" || fail "slipway.service: $(probe active)"
[ "$(probe user)" = slipway ] && pass "serve runs as user slipway" || fail "serve runs as '$(probe user)'"
[ "$(probe nopriv)" = 1 ] && pass "serve has NoNewPrivs" || fail "NoNewPrivs: $(probe nopriv)"
[ "$(probe child)" = "slipway seccomp 2" ] && pass "the network child runs as slipway under its seccomp filter" \
	|| fail "network child: '$(probe child)'"
[ "$(probe kek)" = "600 slipway dir 700" ] && pass "KEK 0600 in its own 0700 directory" || fail "KEK: $(probe kek)"
probe nft | grep -q "table inet slipway" && pass "nftables rules loaded: $(probe nft)" || fail "nft: $(probe nft)"
[ "$(probe cas)" = 3 ] && pass "first boot made 3 CAs" || fail "CAs: $(probe cas)"
[ "$(probe reload)" = "active same-pid yes said 1" ] && pass "systemctl reload: SIGHUP checked the certificate, no restart" \
	|| fail "reload: $(probe reload)"

curl -skf --max-time 5 "https://127.0.0.1:$PORT/healthz" >/dev/null && pass "/healthz through the forwarded port" || fail "/healthz"
LINE=$(probe token)
case $LINE in curl*) ;; *) fail "no curl line: $LINE" ;; esac
CURL=${LINE%% | tar *}
CURL=${CURL//:8443\//:$PORT\/}
mkdir -p "$T/node"
if eval "$CURL" --max-time 20 | tar -xz -C "$T/node"; then
	pass "the guest's one-liner (pinned key) fetched the bundle from the host"
else
	fail "redeeming the token: $CURL"
fi
[ -f "$T/node/etc/etcd/cert/etcd-key.pem" ] && [ -f "$T/node/etc/systemd/system/kube-apiserver.service" ] \
	&& [ -x "$T/node/etc/slipway/install.sh" ] && pass "the bundle holds test1's files" || fail "bundle contents"
eval "$CURL" --max-time 20 -o /dev/null 2>/dev/null && fail "the token worked twice" || pass "the token works once"

if [ $fails -ne 0 ]; then
	echo "the guest's journal for slipway:"
	grep -a "^JOURNAL" "$T/probe.log" | tail -15
fi
echo "$fails failure(s)"
[ $fails -eq 0 ]
