#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# build-image.sh: builds the slipway appliance image: a minimal Debian 12
# root (mmdebstrap) with slipway, its runtime libraries (mbedTLS 3.6 from
# the build host's own trixie packages) and the files of firmware/; made
# into a read-only squashfs under dm-verity (root hash on the kernel
# command line), booted by systemd-boot from an EFI system partition,
# with an empty ext4 state partition. Loop-free: no mount, no loop device.
#   firmware/build-image.sh --slipway BIN --out DIR [--mirror URI]
#     [--cache DIR] [--extra DIR] [--state-size MiB] [--reuse-root]
# --extra DIR is copied over the root last (the boot tests add a probe
# unit this way). --cache DIR keeps downloaded .debs between builds.
# --reuse-root skips mmdebstrap when DIR/rootfs is there from a build
# before (for working on firmware/: the rest of the steps are idempotent).
# Output: DIR/disk.img (GPT: ESP, root, root-verity, state), DIR/roothash,
# DIR/vmlinuz and DIR/initrd.img (what the ESP boots), DIR/build.log.
# Nothing cluster-specific and no key goes into the image: the cluster
# comes from a configuration disk at first boot (firmware/README.md).
set -euo pipefail

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
BIN= OUT= MIRROR= CACHE= EXTRA= STATE_MB=256 REUSE=
while [ $# -gt 0 ]; do
	case $1 in
	--slipway) BIN=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--mirror) MIRROR=$2; shift 2 ;;
	--cache) CACHE=$2; shift 2 ;;
	--extra) EXTRA=$2; shift 2 ;;
	--state-size) STATE_MB=$2; shift 2 ;;
	--reuse-root) REUSE=1; shift ;;
	-h|--help) usage 0 ;;
	*) echo "build-image: unknown argument $1" >&2; usage ;;
	esac
done
[ -n "$BIN" ] && [ -n "$OUT" ] || usage
[ "$(id -u)" = 0 ] || { echo "build-image: needs root (mmdebstrap --mode=root, chroot)" >&2; exit 1; }
for t in mmdebstrap mksquashfs veritysetup mkfs.vfat mcopy sfdisk mkfs.ext4; do
	command -v $t >/dev/null || { echo "build-image: $t is missing (scripts/setup.sh installs it)" >&2; exit 1; }
done
EFI=/usr/lib/systemd/boot/efi/systemd-bootx64.efi
[ -f $EFI ] || { echo "build-image: $EFI is missing (systemd-boot-efi)" >&2; exit 1; }
HERE=$(cd "$(dirname "$0")" && pwd)
if [ -z "$MIRROR" ]; then
	MIRROR=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
	MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
ROOT=$OUT/rootfs
LOG=$OUT/build.log
[ -n "$REUSE" ] && [ -f "$ROOT/.slipway-strapped" ] || { REUSE=; rm -rf "$ROOT"; }
rm -rf "$OUT/esp" "$OUT/local-debs"
: >"$LOG"
step() { echo "build-image: $*"; echo "== $*" >>"$LOG"; }
die() { echo "build-image: $*" >&2; tail -20 "$LOG" >&2; exit 1; }
t0=$(date +%s)

strap() { # the Debian root, from scratch
	# mbedTLS 3.6 is not in bookworm: the image takes the very packages the
	# host built slipway against (scripts/setup.sh's trixie pin), as local .debs.
	local p v f src d
	LOCAL=$OUT/local-debs
	mkdir -p "$LOCAL"
	LOCAL_INC=()
	for p in libmbedtls21 libmbedcrypto16 libmbedx509-7; do
		v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null) || die "$p is not installed on the build host"
		f=${p}_${v//:/%3a}_amd64.deb
		src=
		for d in "$CACHE" /var/cache/apt/archives; do
			[ -n "$d" ] && [ -f "$d/$f" ] && { src=$d/$f; break; }
		done
		if [ -z "$src" ]; then
			(cd "$LOCAL" && apt-get download -q "$p=$v" >>"$LOG" 2>&1) || die "cannot download $p=$v"
		else
			cp "$src" "$LOCAL/"
		fi
		LOCAL_INC+=(--include="$LOCAL/$f")
	done

	# Runtime libraries slipway links (bookworm) and the base system.
	RUNTIME="libmicrohttpd12 liblmdb0 libssh2-1 libcurl3-gnutls libcjson1
	 libyaml-0-2 libarchive13 zlib1g libgnutls30 libseccomp2 libargon2-1 libncursesw6
	 libtss2-esys-3.0.2-0 libtss2-mu0 libtss2-rc0 libtss2-tctildr0 libtss2-tcti-device0"
	BASE="usr-is-merged systemd systemd-sysv systemd-timesyncd udev dbus kmod iproute2 nftables
	 openssh-server e2fsprogs linux-image-cloud-amd64 initramfs-tools zstd
	 cryptsetup-bin"
	HOOKS=(--hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount)
	if [ -n "$CACHE" ]; then
		mkdir -p "$CACHE"
		HOOKS+=(--skip=download/empty --skip=essential/unlink
			--setup-hook='mkdir -p "$1"/var/cache/apt/archives/'
			--setup-hook="sync-in $CACHE /var/cache/apt/archives/"
			--customize-hook="sync-out /var/cache/apt/archives $CACHE")
	fi
	# apt takes usrmerge (and perl) for init-system-helpers' 'usrmerge |
	# usr-is-merged'; the root is merged already
	HOOKS+=(--customize-hook='chroot "$1" apt-get -y -q purge --autoremove usrmerge perl libperl5.36 perl-modules-5.36 libfile-find-rule-perl libnumber-compare-perl libtext-glob-perl')
	step "mmdebstrap bookworm from $MIRROR"
	mmdebstrap --variant=minbase --mode=root --format=directory \
		--aptopt='APT::Install-Recommends "false"' \
		--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-exclude=/usr/share/info/*' \
		--include="$(echo $BASE $RUNTIME | tr ' ' ',')" "${LOCAL_INC[@]}" "${HOOKS[@]}" \
		bookworm "$ROOT" "deb $MIRROR bookworm main" >>"$LOG" 2>&1 || die "mmdebstrap failed"
	touch "$ROOT/.slipway-strapped"
}
[ -n "$REUSE" ] || strap
t_strap=$(( $(date +%s) - t0 ))

step "slipway and the appliance's files"
in_root() { chroot "$ROOT" "$@" >>"$LOG" 2>&1; }
install -m 0755 "$BIN" "$ROOT/usr/bin/slipway"
missing=$(chroot "$ROOT" ldd /usr/bin/slipway | grep "not found" || true)
[ -z "$missing" ] || die "slipway's libraries are missing in the image: $missing"
install -d -m 0755 "$ROOT/usr/lib/slipway" "$ROOT/var/lib/slipway" \
	"$ROOT/var/lib/slipway-state" "$ROOT/run/slipway-config"
install -m 0755 "$HERE/firstboot.sh" "$HERE/console" "$ROOT/usr/lib/slipway/"
install -m 0644 "$HERE/ssh-open.nft" "$ROOT/usr/lib/slipway/"
install -d -m 0700 "$ROOT/media/slipway"
install -d -m 0755 "$ROOT/media/slipway/config"
install -m 0644 "$HERE"/units/*.service "$HERE"/units/*.mount "$ROOT/lib/systemd/system/"
cp -a "$HERE/etc/." "$ROOT/etc/"
install -m 0644 "$HERE/nftables.conf" "$ROOT/etc/nftables.conf"
install -d -m 0755 "$ROOT/etc/initramfs-tools/hooks" "$ROOT/etc/initramfs-tools/scripts/local-top"
install -m 0755 "$HERE/initramfs/hook" "$ROOT/etc/initramfs-tools/hooks/slipway-verity"
install -m 0755 "$HERE/initramfs/local-top" "$ROOT/etc/initramfs-tools/scripts/local-top/slipway-verity"
# what the appliance's settings point at: the state partition (firstboot.sh)
install -d -m 0755 "$ROOT/etc/systemd/timesyncd.conf.d"
ln -sf /var/lib/slipway-state/appliance/timesyncd.conf "$ROOT/etc/systemd/timesyncd.conf.d/slipway.conf"

# users: the daemon's, and the operator's (keys only, into the console)
chroot "$ROOT" id slipway >/dev/null 2>&1 ||
	in_root useradd --system --home-dir /var/lib/slipway --no-create-home --shell /usr/sbin/nologin slipway
chroot "$ROOT" id operator >/dev/null 2>&1 ||
	in_root useradd --system --gid operator --home-dir / --no-create-home --shell /bin/sh operator
in_root usermod -p '*' operator	# no password: neither usable nor "locked" for sshd
in_root systemctl enable slipway-firstboot.service slipway.service slipway-unseal-tpm.service \
	slipway-console@tty1.service slipway-console@ttyS0.service nftables.service \
	systemd-networkd.service systemd-timesyncd.service ssh.service
# an appliance: the console instead of a login on every terminal
in_root systemctl mask getty@.service serial-getty@.service autovt@.service \
	systemd-firstboot.service ssh.socket apt-daily.timer apt-daily-upgrade.timer \
	e2scrub_all.timer e2scrub_reap.service
# the same host keys in every copy of the image would be no host keys at all:
# first boot makes them on the state partition
rm -f "$ROOT"/etc/ssh/ssh_host_*
echo slipway >"$ROOT/etc/hostname"
# the state partition by its PARTUUID (made here, one per build); the
# daemon's state and systemd's are bind mounts from it
STATE_UUID=$(cat /proc/sys/kernel/random/uuid)
cat >"$ROOT/etc/fstab" <<EOF
PARTUUID=$STATE_UUID /var/lib/slipway-state ext4 nodev,nosuid,noexec 0 2
/var/lib/slipway-state/slipway /var/lib/slipway none bind,x-systemd.requires-mounts-for=/var/lib/slipway-state 0 0
/var/lib/slipway-state/systemd /var/lib/systemd none bind,x-systemd.requires-mounts-for=/var/lib/slipway-state 0 0
tmpfs /tmp tmpfs nodev,nosuid,mode=1777 0 0
tmpfs /var/tmp tmpfs nodev,nosuid,mode=1777 0 0
tmpfs /var/log tmpfs nodev,nosuid,noexec,mode=0755 0 0
EOF
: >"$ROOT/etc/machine-id"
rm -f "$ROOT/var/lib/dbus/machine-id"
rm -f "$ROOT"/etc/apt/sources.list.d/* "$ROOT/etc/apt/sources.list"

step "initramfs: dm-verity root"
sed -i -e 's/^MODULES=.*/MODULES=list/' -e 's/^COMPRESS=.*/COMPRESS=zstd/' \
	"$ROOT/etc/initramfs-tools/initramfs.conf"
printf '%s\n' virtio_pci virtio_blk virtio_scsi sd_mod squashfs dm_mod dm_verity \
	>"$ROOT/etc/initramfs-tools/modules"
KV=$(ls "$ROOT/lib/modules" | head -1)
# modules an appliance VM or server never loads
for d in drivers/gpu drivers/media drivers/infiniband drivers/net/wireless sound \
	drivers/input/joystick drivers/bluetooth net/bluetooth net/wireless net/mac80211; do
	rm -rf "$ROOT/lib/modules/$KV/kernel/$d"
done
in_root depmod "$KV"
in_root update-initramfs -u -k "$KV" || die "update-initramfs failed"
cp -L "$ROOT/boot/vmlinuz-$KV" "$OUT/vmlinuz"
cp -L "$ROOT/boot/initrd.img-$KV" "$OUT/initrd.img"

if [ -n "$EXTRA" ]; then
	step "overlay $EXTRA"
	cp -a "$EXTRA"/. "$ROOT"/
fi

step "root: squashfs and dm-verity"
rm -f "$OUT/root.sqfs" "$OUT/root.verity"
mksquashfs "$ROOT" "$OUT/root.sqfs" -comp zstd -Xcompression-level 15 -noappend \
	-e boot -e var/cache/apt -e var/lib/apt/lists -e .slipway-strapped -no-progress \
	>>"$LOG" 2>&1 || die "mksquashfs failed"
truncate -s %4096 "$OUT/root.sqfs"
RH=$(veritysetup format "$OUT/root.sqfs" "$OUT/root.verity" 2>>"$LOG" | awk '/^Root hash:/ {print $3}')
[ ${#RH} = 64 ] || die "veritysetup format gave no root hash"
echo "$RH" >"$OUT/roothash"
uuid() { echo "${1:0:8}-${1:8:4}-${1:12:4}-${1:16:4}-${1:20:12}"; }
ROOT_UUID=$(uuid "${RH:0:32}")
VERITY_UUID=$(uuid "${RH:32:32}")

step "EFI system partition (systemd-boot)"
CMDLINE="roothash=$RH root=/dev/mapper/root rootfstype=squashfs ro systemd.verity=no systemd.gpt_auto=no console=tty1 console=ttyS0,115200 quiet systemd.show_status=false panic=10"
mkdir -p "$OUT/esp/EFI/BOOT" "$OUT/esp/loader/entries" "$OUT/esp/slipway"
cp $EFI "$OUT/esp/EFI/BOOT/BOOTX64.EFI"
cp "$OUT/vmlinuz" "$OUT/initrd.img" "$OUT/esp/slipway/"
printf 'timeout 0\neditor no\nconsole-mode keep\ndefault slipway.conf\n' >"$OUT/esp/loader/loader.conf"
printf 'title slipway\nlinux /slipway/vmlinuz\ninitrd /slipway/initrd.img\noptions %s\n' "$CMDLINE" \
	>"$OUT/esp/loader/entries/slipway.conf"
rm -f "$OUT/esp.img"
truncate -s 64M "$OUT/esp.img"
mkfs.vfat -F 32 -n ESP "$OUT/esp.img" >>"$LOG" 2>&1
mcopy -s -i "$OUT/esp.img" "$OUT/esp"/* ::/ >>"$LOG" 2>&1 || die "mcopy failed"

step "state partition (ext4, ${STATE_MB} MiB)"
# the skeleton firstboot.sh fills: slipway/ (the daemon's state, bind-mounted
# on /var/lib/slipway), appliance/ (root's: operator keys, NTP, host keys),
# systemd/ (bind-mounted on /var/lib/systemd: random seed, clock)
SK=$OUT/state-skel
rm -rf "$SK" "$OUT/state.img"
install -d -m 0755 "$SK" "$SK/appliance" "$SK/systemd"
install -d -m 0700 -o "$(chroot "$ROOT" id -u slipway)" -g "$(chroot "$ROOT" id -g slipway)" "$SK/slipway"
cp -a "$ROOT/var/lib/systemd/." "$SK/systemd/" 2>/dev/null || true
mkfs.ext4 -q -F -L slipway-state -d "$SK" "$OUT/state.img" "${STATE_MB}M" >>"$LOG" 2>&1 || die "mkfs.ext4 failed"
rm -rf "$SK"

step "disk: GPT"
mib() { echo $(( ($(stat -c %s "$1") + 1048575) / 1048576 )); }
R=$(mib "$OUT/root.sqfs") V=$(mib "$OUT/root.verity")
rm -f "$OUT/disk.img"
truncate -s $(( 1 + 64 + R + V + STATE_MB + 1 ))M "$OUT/disk.img"
sfdisk -q "$OUT/disk.img" >>"$LOG" 2>&1 <<EOF || die "sfdisk failed"
label: gpt
start=1MiB, size=64MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp
size=${R}MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=$ROOT_UUID, name=root
size=${V}MiB, type=2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5, uuid=$VERITY_UUID, name=root-verity
size=${STATE_MB}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$STATE_UUID, name=state
EOF
off=1
for f in esp.img root.sqfs root.verity state.img; do
	dd if="$OUT/$f" of="$OUT/disk.img" bs=1M seek=$off conv=notrunc,sparse status=none
	off=$(( off + $(mib "$OUT/$f") ))
done
[ $(( off - 1 - 64 - R - V )) = "$STATE_MB" ] || die "partition offsets do not add up"
rm -f "$OUT/esp.img" "$OUT/state.img" "$OUT/root.verity"
rm -rf "$OUT/esp" "$OUT/local-debs"
t_all=$(( $(date +%s) - t0 ))
echo "build-image: $OUT/disk.img: root $(( $(stat -c %s "$OUT/root.sqfs") / 1048576 )) MiB squashfs + verity, ${STATE_MB} MiB state; $(( $(du -k "$OUT/disk.img" | cut -f1) / 1024 )) MiB allocated; root hash $RH; built in ${t_all} s (mmdebstrap ${t_strap} s)"
