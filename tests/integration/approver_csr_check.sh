#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `slipway csr check` exit codes and reasons, with CSRs made by openssl and
# the token slipway made for node test1 (read from its rendered bootstrap
# kubeconfig). Every case runs; the failed ones are listed at the end.
set -u
SLIPWAY=${SLIPWAY:?SLIPWAY must name the slipway binary}
T=$(mktemp -d "${TMPDIR:-/tmp}/approver-csr-check.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
FAILED=""
PASS=0

cat > cluster.yaml <<'YAML'
apiVersion: slipway/v1
kind: Cluster
cluster: { name: kubernetes, kubernetesVersion: v1.36.0 }
apiserver: { vip: 192.168.0.235, vipPort: 8443 }
security: { kubeletCertificateMaxAge: 720h }
nodes:
  - { name: test1, ip: 192.168.0.91, roles: [etcd, master, worker] }
  - { name: test2, ip: 192.168.0.92, roles: [etcd, master, worker],
      extraNames: [test2.cluster.local] }
  - { name: test3, ip: 192.168.0.93, roles: [etcd, master, worker] }
YAML
S() { "$SLIPWAY" --state "$T/state" "$@"; }
S init --cluster cluster.yaml >/dev/null || { echo "init failed"; exit 1; }
S bundle render --node test1 --out b1 >/dev/null || { echo "bundle render failed"; exit 1; }
ID=$(sed -n 's/^ *token: \([a-z0-9]\{6\}\)\.[a-z0-9]\{16\}$/\1/p' b1/etc/kubernetes/kubelet-bootstrap.kubeconfig)
[ -n "$ID" ] || { echo "no token in the bootstrap kubeconfig"; exit 1; }

csr() { # name subject [san]
	openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" 2>/dev/null
	if [ $# -ge 3 ]; then
		openssl req -new -key "$1.key" -subj "$2" -addext "subjectAltName=$3" -out "$1.pem"
	else
		openssl req -new -key "$1.key" -subj "$2" -out "$1.pem"
	fi
}
csr c1 "/O=system:nodes/CN=system:node:test1"
csr c2 "/O=system:nodes/CN=system:node:test2"
csr m1 "/O=system:masters/CN=system:node:test1"
csr s2 "/O=system:nodes/CN=system:node:test2" "DNS:test2,DNS:test2.cluster.local,IP:192.168.0.92"
csr e2 "/O=system:nodes/CN=system:node:test2" "DNS:test2,DNS:evil.example.com"
csr u2 "/O=system:nodes/CN=system:node:test2" "DNS:test2,email:root@test2"
openssl req -in c1.pem -outform DER -out c1.der
sed 's/CERTIFICATE REQUEST/NEW CERTIFICATE REQUEST/' c1.pem > c1-new.pem
# flip one base64 character inside the signature (near the end)
/usr/bin/python3 - <<'PY'
import base64
lines = open("c1.pem").read().split("\n")
der = bytearray(base64.b64decode("".join(l for l in lines if l and not l.startswith("-----"))))
der[-3] ^= 1
b = base64.b64encode(bytes(der)).decode()
open("c1-bad.pem", "w").write("-----BEGIN CERTIFICATE REQUEST-----\n" +
    "\n".join(b[i:i+64] for i in range(0, len(b), 64)) + "\n-----END CERTIFICATE REQUEST-----\n")
PY

CLIENT=kubernetes.io/kube-apiserver-client-kubelet
SERVING=kubernetes.io/kubelet-serving
BOOT="--user system:bootstrap:$ID --group system:bootstrappers --group system:bootstrappers:test1"
NODE2="--user system:node:test2 --group system:nodes"

check() { # name want-exit want-substring -- args...
	name=$1 want=$2 sub=$3
	shift 4
	out=$(S csr check "$@" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ] && printf '%s' "$out" | grep -qF -- "$sub"; then
		PASS=$((PASS + 1))
		printf 'ok   %-48s exit %s  %s\n' "$name" "$rc" "$out"
	else
		FAILED="$FAILED
  $name: exit $rc (want $want), output: $out (want '$sub')"
		printf 'FAIL %-48s exit %s  %s\n' "$name" "$rc" "$out"
	fi
}

# shellcheck disable=SC2086
{
check "client, node's own bootstrap token" 0 "approve: kube-apiserver-client-kubelet: node test1, requested by node test1's bootstrap token $ID; validity 720h" -- \
	--csr c1.pem --signer $CLIENT $BOOT
check "client, explicit usages" 0 "approve:" -- \
	--csr c1.pem --signer $CLIENT $BOOT --usage "digital signature" --usage "key encipherment" --usage "client auth"
check "over-long expiration is capped" 0 "validity 720h (8760h requested, capped at the policy maximum)" -- \
	--csr c1.pem --signer $CLIENT $BOOT --expiration-seconds 31536000
check "client renewal by the node" 0 "approve: kube-apiserver-client-kubelet: node test2, requested by system:node:test2 itself (renewal)" -- \
	--csr c2.pem --signer $CLIENT $NODE2
check "serving with inventory SANs" 0 "approve: kubelet-serving: node test2" -- \
	--csr s2.pem --signer $SERVING $NODE2
check "node test1's token for node test2" 3 "deny: kube-apiserver-client-kubelet: requester system:bootstrap:$ID carries group 'system:bootstrappers:test1': a bootstrap token of another node may not request a certificate for node test2" -- \
	--csr c2.pem --signer $CLIENT $BOOT
check "a token that is not the node's" 3 "token zzzzzz is not node test1's bootstrap token" -- \
	--csr c1.pem --signer $CLIENT --user system:bootstrap:zzzzzz --group system:bootstrappers --group system:bootstrappers:test1
check "O mismatch" 3 "subject O must be exactly [system:nodes]" -- \
	--csr m1.pem --signer $CLIENT $BOOT
check "extra usage" 3 "usage 'server auth' is not allowed" -- \
	--csr c1.pem --signer $CLIENT $BOOT --usage "digital signature" --usage "client auth" --usage "server auth"
check "SANs on a client CSR" 3 "a client certificate has no SANs" -- \
	--csr s2.pem --signer $CLIENT $NODE2
check "serving SAN not in the inventory" 3 "DNS SAN 'evil.example.com' is neither node test2's name" -- \
	--csr e2.pem --signer $SERVING $NODE2
check "email SAN" 3 "email SAN 'root@test2' is not allowed" -- \
	--csr u2.pem --signer $SERVING $NODE2
check "tampered signature" 3 "CSR signature does not verify" -- \
	--csr c1-bad.pem --signer $CLIENT $BOOT
check "NEW CERTIFICATE REQUEST label" 3 "labelled 'NEW CERTIFICATE REQUEST', not 'CERTIFICATE REQUEST'" -- \
	--csr c1-new.pem --signer $CLIENT $BOOT
check "bare DER" 3 "not a PEM block labelled CERTIFICATE REQUEST" -- \
	--csr c1.der --signer $CLIENT $BOOT
check "another signer is ignored" 4 "ignore: signer 'kubernetes.io/kube-apiserver-client' is not handled by slipway" -- \
	--csr c1.pem --signer kubernetes.io/kube-apiserver-client --user alice
check "missing --csr is a usage error" 2 "--csr, --signer and --user are required" -- \
	--signer $CLIENT --user x
check "bad --expiration-seconds" 2 "--expiration-seconds must be a positive number" -- \
	--csr c1.pem --signer $CLIENT --user x --expiration-seconds 10m
check "unreadable CSR file" 1 "nope.pem" -- \
	--csr nope.pem --signer $CLIENT --user x
}
out=$(S --json csr check --csr c1.pem --signer $CLIENT $BOOT)
if printf '%s' "$out" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["decision"]=="approve" and d["node"]=="test1" and d["validitySeconds"]==2592000, d'; then
	PASS=$((PASS + 1)); echo "ok   --json"
else
	FAILED="$FAILED
  --json: $out"
fi
# csr check changes nothing: the audit log did not grow
before=$(S audit list | wc -l)
S csr check --csr c1.pem --signer $CLIENT $BOOT >/dev/null
after=$(S audit list | wc -l)
if [ "$before" = "$after" ]; then PASS=$((PASS + 1)); echo "ok   csr check changes nothing"; else
	FAILED="$FAILED
  csr check wrote to the audit log ($before -> $after lines)"; fi

echo "$PASS passed"
if [ -n "$FAILED" ]; then
	echo "failed:$FAILED"
	exit 1
fi
