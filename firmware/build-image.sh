#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# build-image.sh: builds the slipway appliance image: a minimal Debian 12
# rootfs (debootstrap) with mbedTLS 3.6 pinned from trixie exactly as
# scripts/setup.sh does, slipway's runtime libraries, the binary, the
# hardened units, nftables rules and first-boot initialisation; then an
# ext4 disk image plus the kernel and initrd to boot it.
#   firmware/build-image.sh --slipway BIN --out DIR [--cluster FILE]
#     [--mirror URI] [--cache DIR] [--extra DIR]
# --extra DIR is copied over the rootfs last (site configuration: network,
# authorized keys, a drop-in; the boot test adds its probe unit this way).
# Output: DIR/rootfs.img (ext4), DIR/vmlinuz, DIR/initrd.img.
# Never puts a key into the image: the KEK and CAs are made at first boot.
set -euo pipefail

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
BIN= OUT= CLUSTER= MIRROR= CACHE= EXTRA=
while [ $# -gt 0 ]; do
	case $1 in
	--slipway) BIN=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--cluster) CLUSTER=$2; shift 2 ;;
	--mirror) MIRROR=$2; shift 2 ;;
	--cache) CACHE=$2; shift 2 ;;
	--extra) EXTRA=$2; shift 2 ;;
	-h|--help) usage 0 ;;
	*) echo "build-image: unknown argument $1" >&2; usage ;;
	esac
done
[ -n "$BIN" ] && [ -n "$OUT" ] || usage
[ "$(id -u)" = 0 ] || { echo "build-image: needs root (debootstrap, chroot)" >&2; exit 1; }
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
CLUSTER=${CLUSTER:-$SRC/examples/seed-cluster.yaml}
if [ -z "$MIRROR" ]; then
	MIRROR=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
	MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
ROOT=$OUT/rootfs
rm -rf "$ROOT"
mkdir -p "$ROOT"

# The runtime libraries slipway links (bookworm), and the base system.
RUNTIME="libmicrohttpd12 liblmdb0 libssh2-1 libcurl3-gnutls libcjson1
 libyaml-0-2 libarchive13 zlib1g libgnutls30 libseccomp2 libargon2-1
 libtss2-esys-3.0.2-0 libtss2-mu0 libtss2-rc0 libtss2-tctildr0
 libtss2-tcti-device0"
BASE="systemd systemd-sysv udev dbus iproute2 nftables ca-certificates
 linux-image-cloud-amd64 initramfs-tools zstd"
CACHEOPT=()
if [ -n "$CACHE" ]; then mkdir -p "$CACHE"; CACHEOPT=(--cache-dir="$CACHE"); fi
echo "build-image: debootstrap bookworm from $MIRROR"
debootstrap --variant=minbase "${CACHEOPT[@]}" \
	--include="$(echo $BASE $RUNTIME | tr ' ' ',')" bookworm "$ROOT" "$MIRROR" \
	>"$OUT/debootstrap.log" 2>&1 || { tail -20 "$OUT/debootstrap.log" >&2; exit 1; }

# mbedTLS 3.6 from trixie through the same allow-list as scripts/setup.sh.
cat >"$ROOT/etc/apt/sources.list.d/slipway-trixie.sources" <<EOS
Types: deb
URIs: $MIRROR
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
cat >"$ROOT/etc/apt/preferences.d/slipway-trixie" <<'EOS'
Package: *
Pin: release n=trixie
Pin-Priority: -1

Package: libmbedtls21 libmbedcrypto16 libmbedx509-7
Pin: release n=trixie
Pin-Priority: 500
EOS
mount --bind /proc "$ROOT/proc"
trap 'umount "$ROOT/proc" 2>/dev/null || true' EXIT
chroot "$ROOT" sh -c 'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq &&
	apt-get install -y -qq --no-install-recommends libmbedtls21 libmbedcrypto16 libmbedx509-7 &&
	apt-get clean && rm -rf /var/lib/apt/lists/*' >>"$OUT/debootstrap.log" 2>&1 || { tail -20 "$OUT/debootstrap.log" >&2; exit 1; }
umount "$ROOT/proc"
trap - EXIT

# slipway itself.
install -m 0755 "$BIN" "$ROOT/usr/bin/slipway"
install -d -m 0755 "$ROOT/usr/lib/slipway" "$ROOT/etc/slipway"
install -m 0755 "$HERE/firstboot.sh" "$ROOT/usr/lib/slipway/firstboot.sh"
install -m 0644 "$HERE/slipway.service" "$HERE/slipway-firstboot.service" \
	"$ROOT/lib/systemd/system/"
install -m 0644 "$HERE/nftables.conf" "$ROOT/etc/nftables.conf"
install -m 0644 "$CLUSTER" "$ROOT/etc/slipway/cluster.yaml"
if ! chroot "$ROOT" ldd /usr/bin/slipway | grep -q "not found"; then :; else
	chroot "$ROOT" ldd /usr/bin/slipway | grep "not found" >&2
	echo "build-image: slipway's libraries are missing in the image" >&2
	exit 1
fi
chroot "$ROOT" useradd --system --home-dir /var/lib/slipway --shell /usr/sbin/nologin slipway
chroot "$ROOT" systemctl enable slipway-firstboot.service slipway.service nftables.service >/dev/null 2>&1
# an appliance: no login on the consoles, no time sync to the outside
chroot "$ROOT" systemctl mask getty@tty1.service serial-getty@ttyS0.service \
	systemd-timesyncd.service >/dev/null 2>&1 || true
echo slipway >"$ROOT/etc/hostname"
printf '/dev/vda / ext4 defaults,errors=remount-ro 0 1\n' >"$ROOT/etc/fstab"
cat >"$ROOT/etc/systemd/network/10-eth.network" <<'EOS'
[Match]
Name=en* eth*
[Network]
DHCP=ipv4
EOS
chroot "$ROOT" systemctl enable systemd-networkd.service >/dev/null 2>&1

if [ -n "$EXTRA" ]; then
	cp -a "$EXTRA"/. "$ROOT"/
fi

# boot files and the disk image
cp -L "$ROOT/vmlinuz" "$OUT/vmlinuz"
cp -L "$ROOT/initrd.img" "$OUT/initrd.img"
rm -f "$OUT/rootfs.img"
size=$(( $(du -sm "$ROOT" | cut -f1) + 512 ))
mkfs.ext4 -q -F -L slipway -d "$ROOT" "$OUT/rootfs.img" "${size}M"
echo "build-image: $OUT/rootfs.img (${size} MiB), $OUT/vmlinuz, $OUT/initrd.img"
