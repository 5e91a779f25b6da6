#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# firstboot.sh: the appliance's first boot (slipway-firstboot.service).
# Takes everything cluster-specific from the configuration disk (label
# SLIPWAY-CONFIG, or vfat labelled SLIPWAY-CFG: vfat labels hold 11
# characters; mounted read-only at /media/slipway/config):
#   cluster.yaml     the inventory (required)
#   authorized_keys  the operator's SSH public keys (optional; sshd runs,
#                    and port 22 opens, only with them)
#   ntp-servers      NTP servers, one per line (optional)
#   passphrase       the operator's unseal passphrase, one line (optional;
#                    else only the recovery passphrase opens, until the
#                    operator sets one with `slipway unseal --change-passphrase`)
# Checks all of it first; a bad file gets one line (on the console, via
# the status file) and nothing is initialised. Then `slipway init --sealed`:
# the KEK exists only wrapped (passphrase, recovery passphrase, the TPM if
# there is one); the recovery passphrase goes to RAM only
# (/run/slipway-firstboot/recovery), for the console to show once.
# Idempotent; never prints a key or a passphrase.
# SLIPWAY_ROOT=/dir runs it against a test root (every path under it).
set -eu
R=${SLIPWAY_ROOT:-}
SLIPWAY=${SLIPWAY_BIN:-/usr/bin/slipway}
CONF=$R/media/slipway/config
STATE=$R/var/lib/slipway
APPL=$R/var/lib/slipway-state/appliance
RUN=$R/run/slipway-firstboot

mkdir -p "$RUN"
# the console (user operator) reads the status and the recovery passphrase
if [ -z "$R" ] && getent group operator >/dev/null; then
	chgrp operator "$RUN"
	chmod 0770 "$RUN"
fi
status() { # the one line the console shows, and the journal
	printf '%s\n' "$1" >"$RUN/status.new" && chmod 0644 "$RUN/status.new" &&
		mv "$RUN/status.new" "$RUN/status"
	printf 'slipway-firstboot: %s\n' "$1"
}
reject() {
	status "configuration disk rejected: $1; nothing was initialised"
	exit 1
}

if [ -f "$STATE/db/data.mdb" ]; then
	echo "slipway-firstboot: $STATE already initialised"
	exit 0
fi
if [ ! -f "$CONF/cluster.yaml" ]; then
	if [ -d "$CONF" ] && [ -n "$(ls -A "$CONF" 2>/dev/null)" ]; then
		reject "it has no cluster.yaml"
	fi
	status "not configured: waiting for a configuration disk (ext4 labelled SLIPWAY-CONFIG, or vfat labelled SLIPWAY-CFG, with cluster.yaml)"
	exit 0
fi

# --- check everything before writing anything -----------------------------
size_ok() { # file max-bytes
	[ "$(wc -c <"$1")" -le "$2" ] || reject "$(basename "$1") is over $2 bytes"
}
size_ok "$CONF/cluster.yaml" 1048576
KEYS=
if [ -e "$CONF/authorized_keys" ]; then
	[ -f "$CONF/authorized_keys" ] || reject "authorized_keys is not a file"
	size_ok "$CONF/authorized_keys" 65536
	n=0 line_no=0
	KEYS=$(mktemp)
	trap 'rm -f "$KEYS"' EXIT
	while IFS= read -r line || [ -n "$line" ]; do
		line_no=$((line_no + 1))
		line=${line%"$(printf '\r')"}
		case $line in '' | '#'*) continue ;; esac
		# a bare key: no options (command=, from=, ...) may ride along
		case $line in
		ssh-ed25519\ * | ecdsa-sha2-nistp256\ * | ecdsa-sha2-nistp384\ * | \
		ecdsa-sha2-nistp521\ * | ssh-rsa\ * | sk-ssh-ed25519@openssh.com\ * | \
		sk-ecdsa-sha2-nistp256@openssh.com\ *) ;;
		*) reject "authorized_keys line $line_no is not a public key (type base64 [comment], no options)" ;;
		esac
		printf '%s\n' "$line" >"$KEYS.one"
		ssh-keygen -l -f "$KEYS.one" >/dev/null 2>&1 ||
			reject "authorized_keys line $line_no is not a valid public key"
		printf '%s\n' "$line" >>"$KEYS"
		n=$((n + 1))
	done <"$CONF/authorized_keys"
	rm -f "$KEYS.one"
	[ $n -ge 1 ] || reject "authorized_keys holds no key"
	[ $n -le 32 ] || reject "authorized_keys holds more than 32 keys"
fi
NTP=
if [ -e "$CONF/ntp-servers" ]; then
	[ -f "$CONF/ntp-servers" ] || reject "ntp-servers is not a file"
	size_ok "$CONF/ntp-servers" 4096
	n=0 line_no=0
	while IFS= read -r line || [ -n "$line" ]; do
		line_no=$((line_no + 1))
		line=${line%"$(printf '\r')"}
		case $line in '' | '#'*) continue ;; esac
		# a host name, an IPv4 or an IPv6 address: letters, digits . - :
		case $line in
		*[!A-Za-z0-9.:-]* | -* | .*) reject "ntp-servers line $line_no is not a host name or address" ;;
		esac
		[ ${#line} -le 253 ] || reject "ntp-servers line $line_no is too long"
		NTP="$NTP${NTP:+ }$line"
		n=$((n + 1))
	done <"$CONF/ntp-servers"
	[ $n -le 8 ] || reject "ntp-servers lists more than 8 servers"
fi
PASSOPT=
if [ -e "$CONF/passphrase" ]; then
	[ -f "$CONF/passphrase" ] || reject "passphrase is not a file"
	size_ok "$CONF/passphrase" 1025
	PASSOPT="--passphrase-file $CONF/passphrase"
fi

# --- initialise: all or nothing (slipway init checks the inventory) -------
status "initialising from the configuration disk"
umask 077
rm -f "$RUN/recovery"
# shellcheck disable=SC2086 # PASSOPT is one option and a path without spaces
if ! out=$("$SLIPWAY" --state "$STATE" init --cluster "$CONF/cluster.yaml" --sealed \
	--recovery-out "$RUN/recovery" $PASSOPT 2>&1); then
	rm -f "$RUN/recovery"
	reject "$(printf '%s' "$out" | tail -1 | sed 's/^slipway: //')"
fi
if [ -z "$R" ] && getent group operator >/dev/null; then
	chgrp operator "$RUN/recovery"
	chmod 0640 "$RUN/recovery"
fi
if [ -z "$R" ] && id slipway >/dev/null 2>&1; then
	chown -R slipway:slipway "$STATE"
fi

# --- the appliance's own settings, on the state partition ---------------
mkdir -p "$APPL"
chmod 0755 "$APPL"
if [ -n "$NTP" ]; then
	printf '# from the configuration disk at first boot\n[Time]\nNTP=%s\nFallbackNTP=\n' "$NTP" >"$APPL/timesyncd.conf.new"
else
	printf '# no NTP servers on the configuration disk: only DHCP-announced ones\n[Time]\nNTP=\nFallbackNTP=\n' >"$APPL/timesyncd.conf.new"
fi
chmod 0644 "$APPL/timesyncd.conf.new"
mv "$APPL/timesyncd.conf.new" "$APPL/timesyncd.conf"
hostkey=
if [ -n "$KEYS" ]; then
	rm -f "$APPL/ssh_host_ed25519_key" "$APPL/ssh_host_ed25519_key.pub"
	ssh-keygen -q -t ed25519 -N '' -C slipway -f "$APPL/ssh_host_ed25519_key"
	hostkey=$(ssh-keygen -l -f "$APPL/ssh_host_ed25519_key.pub" | awk '{print $2}')
	install -m 0644 "$KEYS" "$APPL/authorized_keys"
fi
status "initialised${hostkey:+; SSH host key $hostkey}${NTP:+; NTP $NTP}"
