#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# firmware_build: builds the appliance image once for every firmware_* boot
# test (a CTest fixture) into $FW_IMAGE_DIR (default $SLW_BUILD/firmware-image),
# with the test probe (tests/integration/firmware_probe) added, and checks
# that it holds no key and nothing cluster-specific. Prints the build time
# and the image's size.
set -u
S=${SLIPWAY:?}
SRC=${SLW_SRC:?}
OUT=${FW_IMAGE_DIR:-${SLW_BUILD:?}/firmware-image}
CACHE=${SLIPWAY_IMAGE_CACHE:-/var/cache/slipway-image-debs}
if [ "$(id -u)" != 0 ]; then echo "needs root"; exit 77; fi
fails=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
rm -rf "$OUT"
t0=$(date +%s)
if ! "$SRC/firmware/build-image.sh" --slipway "$S" --out "$OUT" --cache "$CACHE" \
	--extra "$SRC/tests/integration/firmware_probe" >"$OUT.log" 2>&1; then
	tail -20 "$OUT.log"
	echo "FAIL build-image"
	exit 1
fi
secs=$(( $(date +%s) - t0 ))
pass "image built in $secs s: $(tail -1 "$OUT.log" | sed 's/^build-image: //')"
echo "image size: disk.img $(( $(stat -c %s "$OUT/disk.img") / 1048576 )) MiB apparent," \
	"$(( $(du -k "$OUT/disk.img" | cut -f1) / 1024 )) MiB allocated," \
	"$(( $(zstd -q -c -3 "$OUT/disk.img" | wc -c) / 1048576 )) MiB as zstd -3;" \
	"root squashfs $(( $(stat -c %s "$OUT/root.sqfs") / 1048576 )) MiB"
R=$OUT/rootfs
keys=$(grep -rlE -- "-----BEGIN [A-Z ]*PRIVATE KEY-----|^SLIPWAY-KEK-1 |^SWKW" "$R/etc" "$R/var/lib" \
	"$R/usr/lib/slipway" 2>/dev/null)
[ -z "$keys" ] && pass "no private key, KEK or wrapped KEK in the image" || fail "key material: $keys"
ls "$R"/etc/ssh/ssh_host_* >/dev/null 2>&1 && fail "SSH host keys baked into the image" ||
	pass "no SSH host key in the image (made at first boot)"
[ ! -e "$R/etc/slipway/cluster.yaml" ] && ! grep -rqs "192.168.0.91" "$R/etc" "$R/usr/lib/slipway" &&
	pass "nothing cluster-specific in the image" || fail "a cluster baked in"
[ -s "$R/etc/machine-id" ] && fail "a machine-id baked in" || pass "empty machine-id"
rm -rf "$R"
echo "$fails failure(s)"
[ $fails -eq 0 ]
