#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bundle_roles: through `slipway bundle render`, each role gets exactly its
files (a worker no etcd or apiserver secret: its only private keys are its
own node key); rendering twice gives identical files apart from fresh keys,
the certificates on them and the kubeconfigs that embed those; every
certificate is recorded for its node with one bundle.render audit entry; an
unknown node, a non-empty output directory or missing arguments give one
clear error and change nothing (no directory, no leftovers, no records)."""
import json
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bundle_lib as L  # noqa: E402

NODE = {
    "/etc/cni/net.d/10-flannel.conflist", "/etc/containerd/config.toml",
    "/etc/flanneld/cert/etcd-ca.pem", "/etc/flanneld/cert/flanneld-key.pem",
    "/etc/flanneld/cert/flanneld.pem", "/etc/flanneld/net-conf.json",
    "/etc/kubernetes/cert/ca.pem", "/etc/kubernetes/kube-proxy.config.yaml",
    "/etc/kubernetes/kube-proxy.kubeconfig", "/etc/kubernetes/kubelet-bootstrap.kubeconfig",
    "/etc/kubernetes/kubelet.config.json", "/etc/slipway/install.sh",
    "/etc/slipway/node.pem", "/etc/slipway/node-key.pem",
    "/etc/systemd/system/containerd.service", "/etc/systemd/system/flanneld.service",
    "/etc/systemd/system/kube-proxy.service", "/etc/systemd/system/kubelet.service",
}
ETCD = {
    "/etc/etcd/cert/ca.pem", "/etc/etcd/cert/crl.der", "/etc/etcd/cert/etcd-client-key.pem",
    "/etc/etcd/cert/etcd-client.pem",
    "/etc/etcd/cert/etcd-key.pem", "/etc/etcd/cert/etcd.pem", "/etc/systemd/system/etcd.service",
}
MASTER = {
    "/etc/haproxy/haproxy.cfg", "/etc/keepalived/keepalived.conf",
    "/etc/kubernetes/audit-policy.yaml",
    "/etc/kubernetes/authentication-config.yaml",
    "/etc/kubernetes/cert/apiserver-etcd-client-key.pem",
    "/etc/kubernetes/cert/apiserver-etcd-client.pem",
    "/etc/kubernetes/cert/apiserver-kubelet-client-key.pem",
    "/etc/kubernetes/cert/apiserver-kubelet-client.pem",
    "/etc/kubernetes/cert/etcd-ca.pem", "/etc/kubernetes/cert/front-proxy-ca.pem",
    "/etc/kubernetes/cert/front-proxy-client-key.pem", "/etc/kubernetes/cert/front-proxy-client.pem",
    "/etc/kubernetes/cert/kube-controller-manager-key.pem",
    "/etc/kubernetes/cert/kube-controller-manager.pem",
    "/etc/kubernetes/cert/kube-scheduler-key.pem", "/etc/kubernetes/cert/kube-scheduler.pem",
    "/etc/kubernetes/cert/kubernetes-key.pem", "/etc/kubernetes/cert/kubernetes.pem",
    "/etc/kubernetes/cert/sa.key", "/etc/kubernetes/cert/sa.pub",
    "/etc/kubernetes/encryption-config.yaml",
    "/etc/kubernetes/kube-controller-manager.kubeconfig",
    "/etc/kubernetes/kube-scheduler.config.yaml", "/etc/kubernetes/kube-scheduler.kubeconfig",
    "/etc/systemd/system/kube-apiserver.service",
    "/etc/systemd/system/kube-controller-manager.service",
    "/etc/systemd/system/kube-scheduler.service",
}
SECRET = re.compile(r"(-key\.pem|\.key|\.kubeconfig|encryption-config\.yaml)$")

MIXED = """apiVersion: slipway/v1
kind: Cluster
cluster: {name: roles, kubernetesVersion: v1.36.0}
apiserver: {vip: 10.7.0.100}
nodes:
  - {name: cp1, ip: 10.7.0.1, roles: [etcd, master]}
  - {name: cp2, ip: 10.7.0.2, roles: [master]}
  - {name: db1, ip: 10.7.0.3, roles: [etcd]}
  - {name: db2, ip: 10.7.0.4, roles: [etcd]}
  - {name: wk1, ip: 10.7.0.5, roles: [worker]}
"""


def counts(cl):
    certs = json.loads(cl.slipway("cert", "list", "--json", check=True).stdout)
    audit = json.loads(cl.slipway("audit", "list", "--json", check=True).stdout)
    return certs, audit


def fresh(path):
    """Files that hold a key made for this render, or a certificate on it."""
    return (path.endswith("-key.pem") or
            (path.endswith(".pem") and "ca.pem" not in path and "ca-" not in path))


def masked(text):
    return re.sub(r"(client-(certificate|key)-data:) \S+", r"\1 X", text)


def main():
    ck = L.Checker("bundle_roles")
    tmp = tempfile.mkdtemp(prefix="slw-roles-")
    try:
        seed = L.Cluster(tmp, "seed", L.read(os.path.join(L.SRC, "examples", "seed-cluster.yaml")))
        mixed = L.Cluster(tmp, "mixed", MIXED)
        want = {"cp1": NODE | ETCD | MASTER, "cp2": NODE | MASTER, "db1": NODE | ETCD,
                "db2": NODE | ETCD, "wk1": NODE}
        for node, files in sorted(want.items()):
            b = mixed.render(node)
            got = set(L.files_of(b))
            ck.ok(got == files, "%s: exactly the files of its roles (%d)" % (node, len(files)),
                  "missing %s, extra %s" % (sorted(files - got), sorted(got - files)))
            bad = [p for p in got if bool(SECRET.search(p)) !=
                   (oct(os.stat(os.path.join(b, p.lstrip("/"))).st_mode & 0o777) == "0o600")]
            ck.ok(not bad, "%s: keys, kubeconfigs and the encryption config are 0600, the rest not" %
                  node, str(bad))
        w = mixed.bundles["wk1"]
        keys = []
        for p in L.files_of(w):
            t = L.read(os.path.join(w, p.lstrip("/")))
            texts = [t] + (list(L.kubeconfig_blobs(t).values()) if p.endswith(".kubeconfig") else [])
            if any("PRIVATE KEY" in x for x in texts):
                keys.append(p)
        ck.ok(sorted(keys) == ["/etc/flanneld/cert/flanneld-key.pem",
                               "/etc/kubernetes/kube-proxy.kubeconfig",
                               "/etc/slipway/node-key.pem"] and
              len({L.read(os.path.join(w, "etc/flanneld/cert/flanneld-key.pem")),
                   L.read(os.path.join(w, "etc/slipway/node-key.pem"))}) == 1,
              "wk1 (worker): the only private key is its node key (flanneld, kube-proxy, "
              "slipway's artifacts)", str(keys))
        ck.ok(not any(p.startswith("/etc/etcd/") for p in L.files_of(w)) and
              not os.path.exists(os.path.join(w, "etc/kubernetes/cert/sa.key")) and
              not os.path.exists(os.path.join(w, "etc/kubernetes/encryption-config.yaml")),
              "wk1 (worker): no etcd, service-account or encryption secret")

        # render twice
        for node in ("test1", "test2"):
            a = seed.render(node, os.path.join(seed.dir, "r1-" + node))
            b = seed.render(node, os.path.join(seed.dir, "r2-" + node))
            fa, fb = L.files_of(a), L.files_of(b)
            ck.ok(fa == fb, "%s: the same file list twice" % node)
            diff = []
            for p in fa:
                x = L.read(os.path.join(a, p.lstrip("/")), "rb")
                y = L.read(os.path.join(b, p.lstrip("/")), "rb")
                ma = os.stat(os.path.join(a, p.lstrip("/"))).st_mode
                mb = os.stat(os.path.join(b, p.lstrip("/"))).st_mode
                if ma != mb:
                    diff.append(p + " (mode)")
                if fresh(p):
                    if x == y:
                        diff.append(p + " (not fresh)")
                elif p.endswith(".kubeconfig"):
                    if masked(x.decode()) != masked(y.decode()):
                        diff.append(p)
                elif x != y:
                    diff.append(p)
            ck.ok(not diff, "%s: rendered twice, identical apart from fresh keys and certificates"
                  % node, str(diff))

        # records: each render adds its certificates and one audit entry
        certs0, audit0 = counts(seed)
        out = seed.render("test3", os.path.join(seed.dir, "r3"))
        certs1, audit1 = counts(seed)
        mine = [c for c in certs1 if c["node"] == "test3"]
        purposes = sorted(c["purpose"] for c in mine[-11:])
        ck.ok(len(certs1) - len(certs0) == 11 and sorted(set(c["purpose"] for c in mine)) == sorted([
            "apiserver-etcd-client", "apiserver-kubelet-client", "etcd-client", "etcd-member",
            "flanneld", "front-proxy-client", "kube-apiserver", "kube-controller-manager",
            "kube-proxy", "kube-scheduler", "slipway-node"]),
            "test3: its 11 certificates are recorded with their purposes", str(purposes))
        new = [e for e in audit1 if e["seq"] > max(x["seq"] for x in audit0)]
        ck.ok([e["action"] for e in new].count("bundle.render") == 1 and
              [e["action"] for e in new].count("cert.issue") == 11,
              "test3: one bundle.render audit entry and one per certificate",
              str([e["action"] for e in new]))
        r = seed.slipway("audit", "verify")
        ck.ok(r.returncode == 0, "the audit chain verifies", r.stderr)
        ck.ok(os.path.isdir(out), "test3: rendered")

        # bad input: one line, nothing changed
        before = counts(seed)
        entries = sorted(os.listdir(seed.dir))
        target = os.path.join(seed.dir, "nope")
        r = seed.slipway("bundle", "render", "--node", "nope", "--out", target)
        ck.ok(r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1 and "nope" in r.stderr,
              "unknown node: exit %d, one line: %s" % (r.returncode, r.stderr.strip()))
        ck.ok(not os.path.exists(target) and sorted(os.listdir(seed.dir)) == entries,
              "unknown node: no directory, no leftovers")
        ck.ok(counts(seed) == before, "unknown node: no certificate, token or audit record")
        full = os.path.join(seed.dir, "full")
        os.mkdir(full)
        with open(os.path.join(full, "keep"), "w") as f:
            f.write("x")
        r = seed.slipway("bundle", "render", "--node", "test1", "--out", full)
        ck.ok(r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1 and
              os.listdir(full) == ["keep"] and counts(seed) == before,
              "a non-empty --out is refused and nothing changes", r.stderr.strip())
        r = seed.slipway("bundle", "render", "--node", "test1")
        ck.ok(r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1,
              "missing --out: usage error", r.stderr.strip())
        empty = os.path.join(seed.dir, "empty")
        os.mkdir(empty)
        r = seed.slipway("bundle", "render", "--node", "test1", "--out", empty)
        ck.ok(r.returncode == 0 and os.path.exists(os.path.join(empty, "etc/slipway/install.sh")),
              "an empty --out directory is filled", r.stderr)
        ck.ok(not any(n.startswith(".slipway-bundle-") for n in os.listdir(seed.dir)),
              "no temporary directories left beside --out")
        # the same bootstrap token in both renders of a node (valid for a day)
        t1 = L.read(os.path.join(seed.dir, "r1-test1", "etc/kubernetes/kubelet-bootstrap.kubeconfig"))
        t2 = L.read(os.path.join(empty, "etc/kubernetes/kubelet-bootstrap.kubeconfig"))
        tok = re.findall(r"token: (\S+)", t1 + t2)
        ck.ok(len(tok) == 2 and tok[0] == tok[1], "the node keeps its bootstrap token across renders")
        other = re.findall(r"token: (\S+)", L.read(os.path.join(seed.dir, "r1-test2",
                                                   "etc/kubernetes/kubelet-bootstrap.kubeconfig")))
        ck.ok(other and other[0] != tok[0], "another node has another token")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
