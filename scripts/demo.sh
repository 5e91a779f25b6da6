#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# demo.sh: README command 1. Installs the dependencies (scripts/setup.sh),
# builds, initialises the example cluster (examples/seed-cluster.yaml) in
# ./state unless that exists, starts `slipway serve` on 127.0.0.1:8443 and
# prints a token's one-liner for node test1 that works from a second
# terminal. Ctrl-C stops the server. Never prints a key; the token is shown
# once, here, as the one-liner.
set -euo pipefail

cd "$(dirname "$0")/.."
STATE=${DEMO_STATE:-./state}	# readme_demo runs it with its own
CLUSTER=examples/seed-cluster.yaml
NODE=${NODE:-test1}
SLIPWAY=build/appliance/slipway

scripts/setup.sh
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
echo "demo: built $SLIPWAY"

if [ ! -d "$STATE/db" ]; then
	"$SLIPWAY" --state "$STATE" init --cluster "$CLUSTER"
else
	echo "demo: using the existing state in $STATE"
fi

# The inventory says where nodes reach the endpoint (bootstrap.address/port).
PORT=$(awk '/^bootstrap:/ {b=1} b && /^[[:space:]]+port:/ {print $2; exit}' "$CLUSTER")
PORT=${PORT:-8443}
LOG=$(mktemp -t slipway-serve.XXXXXX)
OUT=$(mktemp -t slipway-serve-out.XXXXXX)
"$SLIPWAY" --state "$STATE" serve --listen "127.0.0.1:$PORT" >"$OUT" 2>"$LOG" &
SERVE=$!
stop() {
	trap - INT TERM EXIT
	if kill -0 "$SERVE" 2>/dev/null; then
		kill -TERM "$SERVE" 2>/dev/null || true
		wait "$SERVE" 2>/dev/null || true
	fi
	rm -f "$OUT"
	echo
	echo "demo: server stopped (its log: $LOG)"
}
trap stop INT TERM EXIT

for _ in $(seq 1 300); do
	grep -q '^slipway serve: ready' "$OUT" && break
	if ! kill -0 "$SERVE" 2>/dev/null; then
		echo "demo: slipway serve did not start:" >&2
		cat "$LOG" >&2
		exit 1
	fi
	sleep 0.1
done
grep -q '^slipway serve: ready' "$OUT" || { echo "demo: serve not ready after 30 s" >&2; exit 1; }
cat "$OUT"

LINE=$("$SLIPWAY" --state "$STATE" token create --node "$NODE")
SAFE=${LINE% | tar -xz -C / && /etc/slipway/install.sh}
ROOT=${DEMO_ROOT:-/tmp/slipway-$NODE}
cat <<EOF

The endpoint is up at https://127.0.0.1:$PORT (log: $LOG).

On the node $NODE (a scratch machine or container that can reach this one),
as root, this one line fetches its bundle with the pinned key and installs it:

$LINE

Or, to look at it without installing anything, in a second terminal here
(the same token: it works for one of the two, once):

mkdir -p $ROOT && $SAFE | tar -xz -C $ROOT && SLIPWAY_ROOT=$ROOT $ROOT/etc/slipway/install.sh

The token works once and expires in the inventory's tokenTTL; make another
with: $SLIPWAY --state $STATE token create --node $NODE
Ctrl-C stops the server.
EOF
wait "$SERVE"
