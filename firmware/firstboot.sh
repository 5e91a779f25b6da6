#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# slipway first boot: initialise the appliance state once, from the
# inventory shipped in the image, with the key-encryption key in its own
# directory (a separate mount in a real deployment). Idempotent: a second
# run finds the state and does nothing. Never prints a key.
# SLIPWAY_ROOT=/dir runs against a test root (paths under it).
set -eu
ROOT=${SLIPWAY_ROOT:-}
SLIPWAY=${SLIPWAY_BIN:-/usr/bin/slipway}
STATE=$ROOT/var/lib/slipway
KEKDIR=$ROOT/var/lib/slipway-kek
CLUSTER=$ROOT/etc/slipway/cluster.yaml

if [ -f "$STATE/db/data.mdb" ]; then
	echo "slipway-firstboot: $STATE already initialised"
	exit 0
fi
if [ ! -f "$CLUSTER" ]; then
	echo "slipway-firstboot: no inventory at $CLUSTER" >&2
	exit 1
fi
umask 077
mkdir -p "$STATE" "$KEKDIR"
chmod 0700 "$STATE" "$KEKDIR"
"$SLIPWAY" --state "$STATE" --kek "$KEKDIR/kek" init --cluster "$CLUSTER"
if id slipway >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	chown -R slipway:slipway "$STATE" "$KEKDIR"
fi
echo "slipway-firstboot: initialised; back up $KEKDIR/kek offline"
