#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Install the Kubernetes component doubles as real-looking binaries.
#   install.sh [BINDIR]          default BINDIR: /opt/k8s/bin
# Copies the k8sdouble package to BINDIR/../lib/k8sdouble and writes one small
# launcher per component (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kube-proxy) plus k8sdouble-check-unit.
# Needs /usr/bin/python3 with PyYAML, python3-cryptography, python3-nacl and /usr/bin/openssl on the target.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bindir=${1:-/opt/k8s/bin}
libdir=$(cd "$(dirname "$bindir")" 2>/dev/null && pwd || echo "$(dirname "$bindir")")/lib/k8sdouble
mkdir -p "$bindir" "$libdir"
rm -rf "$libdir/k8sdouble"
cp -r "$here/k8sdouble" "$libdir/"
find "$libdir" -name __pycache__ -prune -exec rm -rf {} +
for n in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
	cat >"$bindir/$n" <<EOS
#!/bin/sh
# k8sdouble test double of $n (tests/k8sdouble in the slipway repository)
K8SDOUBLE_LIB=$libdir exec /usr/bin/python3 -c 'import os, sys; sys.path.insert(0, os.environ["K8SDOUBLE_LIB"]); from k8sdouble.main import main; sys.exit(main("$n", sys.argv[1:]))' "\$@"
EOS
	chmod 0755 "$bindir/$n"
done
sed "s|os.environ.get(\"K8SDOUBLE_LIB\") or|os.environ.get(\"K8SDOUBLE_LIB\") or \"$libdir\" or|" \
	"$here/bin/k8sdouble-check-unit" >"$bindir/k8sdouble-check-unit"
chmod 0755 "$bindir/k8sdouble-check-unit"
echo "k8sdouble: installed into $bindir (library $libdir)"
