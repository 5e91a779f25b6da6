#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# slipway set-up: installs every build and test dependency with apt on Debian 12.
# mbedTLS 3.6 comes from Debian trixie through an apt preferences allow-list,
# so that only the mbedTLS packages (and kubectl when none is installed) can
# come from trixie; nothing else is upgraded. Idempotent: a second run changes
# nothing. Must never touch packages outside its lists.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

TRIXIE_LIST=/etc/apt/sources.list.d/slipway-trixie.sources
TRIXIE_PREF=/etc/apt/preferences.d/slipway-trixie
MBEDTLS_PKGS="libmbedtls-dev libmbedtls21 libmbedcrypto16 libmbedx509-7"

# Packages that must come from trixie (allow-listed); kubectl only when absent.
ALLOW="$MBEDTLS_PKGS"
NEED_KUBECTL=0
if ! command -v kubectl >/dev/null 2>&1; then
	ALLOW="$ALLOW kubectl"
	NEED_KUBECTL=1
fi

changed=0
write_if_changed() { # path content
	local path=$1 content=$2
	if [ ! -f "$path" ] || [ "$(cat "$path")" != "$content" ]; then
		printf '%s\n' "$content" | $SUDO tee "$path" >/dev/null
		changed=1
	fi
}

# Mirror URI: reuse the one configured for bookworm (deb822 or one-line format).
uri=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
	uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
	uri=$(awk '$1=="deb" && $0 ~ /bookworm/ && $0 !~ /security/ {for(i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
fi
uri=${uri:-http://deb.debian.org/debian}

write_if_changed "$TRIXIE_LIST" "Types: deb
URIs: $uri
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"

write_if_changed "$TRIXIE_PREF" "# slipway: nothing comes from trixie except this allow-list.
Package: *
Pin: release n=trixie
Pin-Priority: -1

Package: $ALLOW
Pin: release n=trixie
Pin-Priority: 500"

BUILD_PKGS="build-essential cmake pkg-config git
 libmicrohttpd-dev liblmdb-dev lmdb-utils libssh2-1-dev libcurl4-gnutls-dev
 libcjson-dev libyaml-dev libarchive-dev zlib1g-dev libcmocka-dev libgnutls28-dev
 libseccomp-dev libargon2-dev libtss2-dev libncurses-dev"
TEST_PKGS="golang-cfssl openssl etcd-server etcd-client haproxy keepalived
 openssh-server openssh-client curl sslscan wrk hyperfine nginx-light systemd
 iproute2 procps psmisc python3 python3-yaml python3-cryptography python3-nacl clang
 libclang-rt-14-dev iputils-ping
 tar gzip util-linux nftables debootstrap qemu-system-x86 e2fsprogs systemd-container
 libfaketime mmdebstrap qemu-utils ovmf squashfs-tools dosfstools mtools fdisk
 cryptsetup-bin systemd-boot-efi swtpm swtpm-tools strace containerd python3-etcd3
 python3-grpcio python3-pexpect"

want="$BUILD_PKGS $TEST_PKGS $MBEDTLS_PKGS"
[ "$NEED_KUBECTL" = 1 ] && want="$want kubectl"

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
# mbedTLS must be 3.6 even if some 2.28 package is present.
if ! dpkg --compare-versions "$(dpkg-query -W -f='${Version}' libmbedtls-dev 2>/dev/null || echo 0)" ge 3.6; then
	missing="$missing $MBEDTLS_PKGS"
fi

if [ -n "$missing" ] || [ "$changed" = 1 ]; then
	$SUDO apt-get update -qq
fi
if [ -n "$missing" ]; then
	echo "setup: installing:$missing"
	# Services are started by the tests themselves, never at install time.
	$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

v=$(dpkg-query -W -f='${Version}' libmbedtls-dev)
if ! dpkg --compare-versions "$v" ge 3.6; then
	echo "setup: libmbedtls-dev is $v, slipway needs 3.6 (trixie pin failed)" >&2
	exit 1
fi
echo "setup: ok (mbedTLS $v)"
