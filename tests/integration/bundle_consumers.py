#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bundle_consumers: every rendered file is accepted by the program that
consumes it, for three clusters (the seed's; a mixed one with separate
etcd and worker nodes, aescbc and iptables; the seed's signing mode with
one CA and RSA keys):
- kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and
  kube-proxy: the k8sdouble check mode (the v1.35-v1.37 flag sets, no
  deprecated flag, config files, kubeconfigs, certificates) runs each
  rendered ExecStart exactly, with the bundle at its real paths, the
  double standing for the cluster's kubernetesVersion; a deprecated flag
  added to a copy fails (the check has teeth); kubernetesVersion drives
  the render: the v1.36 and v1.37 apiservers get --tls-curve-preferences
  (new in v1.36), the v1.35 one does not, and a v1.35 double refuses the
  v1.36 unit;
- systemd-analyze verify --root accepts every unit, silently;
- haproxy -c and keepalived's config test (on a node with that interface)
  accept every haproxy.cfg / keepalived.conf; one MASTER per cluster;
- kubectl config view --raw reads every kubeconfig; the embedded CA is the
  cluster's and the embedded client certificate verifies (openssl) for
  client auth; its key matches;
- every certificate verifies with openssl against its own CA, for its
  purpose, and not against the others; every key matches its certificate;
  the apiserver's has every SAN the seed lists;
- no private key of any CA is in any bundle in the default mode (every
  PRIVATE KEY block, also those inside kubeconfigs, compared by public key
  with every CA certificate); in signingMode controller-manager only the
  masters carry the kubernetes CA key;
- encryption config (provider, one 32-byte key on every master) and SA key
  pair (the same on every master);
- containerd config (TOML), CNI and flannel network config (JSON), the
  flanneld flags against flannel's documented flags;
- install.sh is POSIX sh, runs twice in test-root mode with the same
  result, sets every mode it lists and starts nothing;
- `slipway kubeconfig admin` gives an O=system:masters kubeconfig that
  kubectl reads, and no bundle holds such a certificate."""
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import tomllib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bundle_lib as L  # noqa: E402

K8S_UNITS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"]
# flanneld's command-line flags (flannel Documentation/configuration.md, v0.26)
FLANNEL_FLAGS = {"public-ip", "etcd-endpoints", "etcd-prefix", "etcd-keyfile", "etcd-certfile",
                 "etcd-cafile", "kube-subnet-mgr", "iface", "iface-regex", "iptables-resync",
                 "subnet-file", "net-config-path", "subnet-lease-renew-margin", "ip-masq", "v",
                 "healthz-ip", "healthz-port", "version"}

SEED = L.read(os.path.join(L.SRC, "examples", "seed-cluster.yaml"))
MIXED = """apiVersion: slipway/v1
kind: Cluster
cluster: {name: mixed, kubernetesVersion: v1.37.1}
network: {proxyMode: iptables, serviceCIDR: 10.96.0.0/12, dnsServiceIP: 10.96.0.10,
          clusterCIDR: 10.244.0.0/16, nodePortRange: 30000-32767, dnsDomain: corp.example}
apiserver: {vip: 10.9.0.100, vipPort: 9443, vipInterface: ens3, securePort: 6443}
security: {encryptionProvider: aescbc}
nodes:
  - {name: m1, ip: 10.9.0.1, roles: [etcd, master]}
  - {name: m2, ip: 10.9.0.2, roles: [etcd, master]}
  - {name: m3, ip: 10.9.0.3, roles: [master, worker]}
  - {name: e1, ip: 10.9.0.4, roles: [etcd], etcdClientPort: 12379, etcdPeerPort: 12380}
  - {name: w1, ip: 10.9.0.5, roles: [worker]}
  - {name: w2, ip: 10.9.0.6, roles: [worker]}
"""
SEEDMODE = """apiVersion: slipway/v1
kind: Cluster
cluster: {name: seedmode, kubernetesVersion: v1.35.0}
apiserver: {vip: 10.8.0.100, vipInterface: eth1}
certificates: {keyType: rsa-2048}
security: {signingMode: controller-manager, encryptionProvider: aescbc}
nodes:
  - {name: a, ip: 10.8.0.1, roles: [etcd, master, worker]}
  - {name: b, ip: 10.8.0.2, roles: [worker]}
"""

CERT_CA = {  # stem -> (CA role, openssl purposes)
    "etcd/cert/etcd.pem": ("etcd", ["sslserver", "sslclient"]),
    "etcd/cert/etcd-client.pem": ("etcd", ["sslclient"]),
    "flanneld/cert/flanneld.pem": ("etcd", ["sslclient"]),
    "kubernetes/cert/kubernetes.pem": ("kubernetes", ["sslserver"]),
    "kubernetes/cert/apiserver-etcd-client.pem": ("etcd", ["sslclient"]),
    "kubernetes/cert/apiserver-kubelet-client.pem": ("kubernetes", ["sslclient"]),
    "kubernetes/cert/front-proxy-client.pem": ("front-proxy", ["sslclient"]),
    "kubernetes/cert/kube-controller-manager.pem": ("kubernetes", ["sslclient", "sslserver"]),
    "kubernetes/cert/kube-scheduler.pem": ("kubernetes", ["sslclient", "sslserver"]),
}
CA_FILES = {
    "/etc/kubernetes/cert/ca.pem": "kubernetes",
    "/etc/kubernetes/cert/etcd-ca.pem": "etcd",
    "/etc/kubernetes/cert/front-proxy-ca.pem": "front-proxy",
    "/etc/etcd/cert/ca.pem": "etcd",
    "/etc/flanneld/cert/etcd-ca.pem": "etcd",
}


def standin_root(tmp, bundle, name):
    """A root for systemd-analyze: the bundle, the host's unit library,
    and a stand-in executable for every absolute Exec* path of the units."""
    root = os.path.join(tmp, "sa-" + name)
    shutil.copytree(bundle, root, symlinks=True)
    os.makedirs(os.path.join(root, "usr/lib/systemd"), exist_ok=True)
    shutil.copytree("/usr/lib/systemd/system", os.path.join(root, "usr/lib/systemd/system"),
                    symlinks=True, dirs_exist_ok=True)
    units = os.path.join(root, "etc/systemd/system")
    for u in os.listdir(units):
        text = L.read(os.path.join(units, u))
        for key in ("ExecStart", "ExecStartPre", "ExecStartPost", "ExecReload"):
            if L.unit_value(text, key) is None:
                continue
            exe = L.unit_exec(text, key)[0].lstrip("-@+!:")
            p = os.path.join(root, exe.lstrip("/"))
            if not os.path.exists(p):
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p, "w") as f:
                    f.write("#!/bin/sh\nexit 0\n")
                os.chmod(p, 0o755)
    return root


def check_units(ck, tmp, cl, node, b):
    root = standin_root(tmp, b, "%s-%s" % (os.path.basename(cl.dir), node))
    for u in sorted(os.listdir(os.path.join(b, "etc/systemd/system"))):
        r = L.run(["systemd-analyze", "verify", "--root=" + root, u], cwd=root)
        ck.ok(r.returncode == 0 and not (r.stdout + r.stderr).strip(),
              "%s: systemd-analyze verify %s (no complaint)" % (node, u), (r.stdout + r.stderr).strip())


def check_doubles(ck, tmp, node, b, version):
    bins = {n: os.path.join(L.DOUBLES, n) for n in K8S_UNITS}
    view = L.NodeView(b, os.path.join(tmp, "ns-%s-%d" % (node, os.getpid())), bins=bins)
    env = dict(os.environ, K8SDOUBLE_CHECK_ONLY="1", K8SDOUBLE_VERSION=version)
    for comp in K8S_UNITS:
        path = os.path.join(b, "etc/systemd/system/%s.service" % comp)
        if not os.path.exists(path):
            continue
        argv = L.unit_exec(L.read(path))
        r = view.run(argv, env=env)
        ck.ok(r.returncode == 0 and "check only" in r.stderr,
              "%s: %s %s accepts the rendered ExecStart, config files and kubeconfigs" %
              (node, comp, version),
              (r.stdout + r.stderr).strip()[-800:])
    return view


def check_double_teeth(ck, view, b):
    """The check refuses a deprecated flag and a deprecated config field."""
    env = dict(os.environ, K8SDOUBLE_CHECK_ONLY="1")
    argv = L.unit_exec(L.read(os.path.join(b, "etc/systemd/system/kubelet.service")))
    r = view.run(argv + ["--pod-infra-container-image=registry.k8s.io/pause:3.10.1"], env=env)
    ck.ok(r.returncode != 0, "control: kubelet with a deprecated flag is refused by the check",
          r.stderr.strip()[-300:])
    argv = L.unit_exec(L.read(os.path.join(b, "etc/systemd/system/kube-apiserver.service")))
    r = view.run(argv + ["--apiserver-count=3"], env=env)
    ck.ok(r.returncode != 0, "control: kube-apiserver with a removed flag is refused by the check",
          r.stderr.strip()[-300:])


def check_versions(ck, tmp, seed, mixed, sm):
    """kubernetesVersion drives the render where the releases differ."""
    def apiserver(cl, node):
        return L.read(os.path.join(cl.bundles[node], "etc/systemd/system/kube-apiserver.service"))
    flag = "--tls-curve-preferences="
    ck.ok(flag in apiserver(seed, "test1") and flag in apiserver(mixed, "m1") and
          flag not in apiserver(sm, "a"),
          "kubernetesVersion: v1.36 and v1.37 apiservers get --tls-curve-preferences, v1.35's not")
    env = dict(os.environ, K8SDOUBLE_CHECK_ONLY="1", K8SDOUBLE_VERSION="v1.35.2")
    view = L.NodeView(seed.bundles["test1"], os.path.join(tmp, "ns-v135-%d" % os.getpid()),
                      bins={n: os.path.join(L.DOUBLES, n) for n in K8S_UNITS})
    r = view.run(L.unit_exec(apiserver(seed, "test1")), env=env)
    ck.ok(r.returncode != 0 and "unknown flag: --tls-curve-preferences" in r.stderr,
          "control: a v1.35 apiserver refuses the v1.36 unit (unknown flag)", r.stderr.strip()[-300:])


def check_ha(ck, tmp, node, b, iface):
    hc = os.path.join(b, "etc/haproxy/haproxy.cfg")
    r = L.run(["haproxy", "-c", "-f", hc])
    ck.ok(r.returncode == 0, "%s: haproxy -c accepts haproxy.cfg" % node, r.stdout + r.stderr)
    text = L.read(hc)
    ck.ok("bind 127.0.0.1:10080" in text and "stats auth" not in text and "123456" not in text,
          "%s: haproxy stats only on 127.0.0.1:10080, no password in the file" % node)
    kc = os.path.join(b, "etc/keepalived/keepalived.conf")
    # keepalived checks the interface exists: a network namespace with it
    r = L.run(["unshare", "-n", "sh", "-c",
               "ip link add %s type veth peer name slwpeer0 && ip link set %s up && "
               "keepalived -t -f %s" % (iface, iface, kc)])
    ck.ok(r.returncode == 0, "%s: keepalived -t accepts keepalived.conf (interface %s)" % (node, iface),
          r.stdout + r.stderr)
    k = L.read(kc)
    state = re.search(r"state (MASTER|BACKUP)", k).group(1)
    prio = int(re.search(r"priority (\d+)", k).group(1))
    return state, prio


def check_kubeconfigs(ck, cl, node, b):
    ca = L.read(cl.ca_pem("kubernetes"))
    for f in sorted(os.listdir(os.path.join(b, "etc/kubernetes"))):
        if not f.endswith(".kubeconfig"):
            continue
        path = os.path.join(b, "etc/kubernetes", f)
        r = L.run(["kubectl", "--kubeconfig", path, "config", "view", "--raw", "-o", "json"])
        ok = r.returncode == 0
        if ok:
            cfg = json.loads(r.stdout)
            ok = cfg["clusters"][0]["cluster"]["server"].startswith("https://") and \
                cfg["current-context"] != ""
        ck.ok(ok, "%s: kubectl config view --raw reads %s" % (node, f), r.stderr)
        blobs = L.kubeconfig_blobs(L.read(path))
        ck.ok(blobs.get("certificate-authority-data") == ca,
              "%s: %s embeds the kubernetes CA bundle" % (node, f))
        if "client-certificate-data" in blobs:
            good, why = L.openssl_verify(cl.ca_pem("kubernetes"), blobs["client-certificate-data"],
                                         "sslclient", cl.dir)
            ck.ok(good, "%s: %s: embedded client certificate verifies (openssl, client auth)" %
                  (node, f), why)
            ck.ok(L.pubkey_of_cert(blobs["client-certificate-data"]) ==
                  L.pubkey_of_private(blobs["client-key-data"]),
                  "%s: %s: embedded key matches the certificate" % (node, f))
        else:
            ck.ok(f == "kubelet-bootstrap.kubeconfig" and
                  re.search(r"token: [a-z0-9]{6}\.[a-z0-9]{16}\n", L.read(path)) is not None,
                  "%s: %s carries the node's bootstrap token" % (node, f))


def check_certs(ck, cl, node, b, single):
    roles = ["kubernetes", "etcd", "front-proxy"]
    for stem, (ca, purposes) in sorted(CERT_CA.items()):
        path = os.path.join(b, "etc", stem)
        if not os.path.exists(path):
            continue
        pem = L.read(path)
        for p in purposes:
            good, why = L.openssl_verify(cl.ca_pem(ca), pem, p, cl.dir)
            ck.ok(good, "%s: /etc/%s verifies against the %s CA for %s" % (node, stem, ca, p), why)
        if not single:
            for other in roles:
                if other != ca:
                    good, _ = L.openssl_verify(cl.ca_pem(other), pem, "any", cl.dir)
                    ck.ok(not good, "%s: /etc/%s does not verify against the %s CA" %
                          (node, stem, other))
        key = path[:-4] + "-key.pem"
        ck.ok(L.pubkey_of_cert(pem) == L.pubkey_of_private(L.read(key)),
              "%s: /etc/%s matches its key" % (node, stem))
    for path, ca in CA_FILES.items():
        full = os.path.join(b, path.lstrip("/"))
        if os.path.exists(full):
            ck.ok(L.read(full) == L.read(cl.ca_pem(ca)),
                  "%s: %s is the %s CA bundle" % (node, path, ca))


def check_apiserver_sans(ck, node, b, want):
    r = L.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in",
               os.path.join(b, "etc/kubernetes/cert/kubernetes.pem")])
    got = set(x.strip() for x in r.stdout.splitlines()[1].split(","))
    ck.ok(got == set(want), "%s: the apiserver certificate has every seed SAN" % node,
          "got %s" % sorted(got))


def private_keys(b):
    """(where, PEM) of every private key in the bundle, kubeconfigs too."""
    out = []
    for p in L.files_of(b):
        text = L.read(os.path.join(b, p.lstrip("/")), "rb").decode(errors="replace")
        texts = [text]
        if p.endswith(".kubeconfig"):
            texts += list(L.kubeconfig_blobs(text).values())
        for t in texts:
            for m in re.finditer(r"-----BEGIN ([A-Z ]*PRIVATE KEY)-----\n.*?-----END \1-----\n", t, re.S):
                out.append((p, m.group(0)))
    return out


def ca_pubkeys(cl):
    keys = {}
    for ca in ("kubernetes", "etcd", "front-proxy"):
        for m in re.finditer(r"-----BEGIN CERTIFICATE-----\n.*?-----END CERTIFICATE-----\n",
                             L.read(cl.ca_pem(ca)), re.S):
            keys.setdefault(L.pubkey_of_cert(m.group(0)), ca)  # single CA: kubernetes
    return keys


def check_no_ca_key(ck, cl, node, b, allowed):
    """allowed: {path: CA} where a CA key may be (signingMode controller-manager)."""
    cas = ca_pubkeys(cl)
    found = {}
    for where, pem in private_keys(b):
        pub = L.pubkey_of_private(pem)
        ck.ok(pub is not None, "%s: %s holds a readable private key" % (node, where))
        if pub in cas:
            found[where] = cas[pub]
    ck.ok(found == allowed, "%s: CA private keys in the bundle: %s" % (node, allowed or "none"),
          "found %s" % found)


def check_install(ck, tmp, node, b):
    sh = os.path.join(b, "etc/slipway/install.sh")
    r = L.run(["sh", "-n", sh])
    ck.ok(r.returncode == 0, "%s: install.sh parses as POSIX sh (dash)" % node, r.stderr)
    root = os.path.join(tmp, "root-" + node)
    shutil.copytree(b, root, symlinks=True)
    # as a tarball would leave them: everything 0644/0755 root
    for p in L.files_of(root):
        os.chmod(os.path.join(root, p.lstrip("/")), 0o644)
    env = dict(os.environ, SLIPWAY_ROOT=root)
    r1 = L.run(["sh", os.path.join(root, "etc/slipway/install.sh")], env=env)
    ck.ok(r1.returncode == 0, "%s: install.sh runs in test-root mode" % node, r1.stderr)
    listed = re.findall(r"^f (\d{4}) (\S+) (\S+)$", L.read(sh), re.M)
    bad = [p for m, o, p in listed
           if stat.S_IMODE(os.stat(os.path.join(root, p.lstrip("/"))).st_mode) != int(m, 8)]
    ck.ok(listed and not bad, "%s: install.sh gave every file its mode" % node, str(bad))
    ck.ok(set(p for _, _, p in listed) == set(L.files_of(b)),
          "%s: install.sh lists every file of the bundle" % node)
    chowns = set(re.findall(r"^would run: chown (\S+):\S+ %s(\S+)$" % re.escape(root), r1.stdout, re.M))
    ck.ok(set((o, p) for _, o, p in listed) <= set(chowns),
          "%s: install.sh gives every file its owner" % node)
    ck.ok(re.search(r"^would run: systemctl daemon-reload$", r1.stdout, re.M) is not None and
          re.search(r"^would run: systemctl enable .*kubelet\.service", r1.stdout, re.M) is not None,
          "%s: install.sh reloads systemd and enables the units" % node)
    ck.ok(not re.search(r"systemctl (start|restart)", r1.stdout + L.read(sh)),
          "%s: install.sh starts nothing" % node)
    r2 = L.run(["sh", os.path.join(root, "etc/slipway/install.sh")], env=env)
    ck.ok(r2.returncode == 0 and r2.stdout == r1.stdout,
          "%s: install.sh run twice: the same actions, no error" % node, r2.stderr)


def check_configs(ck, inv_cidr, node, b):
    try:
        t = tomllib.loads(L.read(os.path.join(b, "etc/containerd/config.toml")))
        rt = t["plugins"]["io.containerd.cri.v1.runtime"]
        ok = (t["version"] == 3 and
              rt["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is True and
              rt["cni"]["conf_dir"] == "/etc/cni/net.d")
    except (tomllib.TOMLDecodeError, KeyError) as e:
        ok = False
        print(e)
    ck.ok(ok, "%s: containerd config.toml is TOML, version 3, systemd cgroups, CNI dirs" % node)
    kcfg = json.loads(L.read(os.path.join(b, "etc/kubernetes/kubelet.config.json")))
    ck.ok(kcfg["cgroupDriver"] == "systemd" and
          kcfg["containerRuntimeEndpoint"] == "unix:///run/containerd/containerd.sock",
          "%s: kubelet and containerd agree (systemd cgroups, containerd socket)" % node)
    cni = json.loads(L.read(os.path.join(b, "etc/cni/net.d/10-flannel.conflist")))
    ck.ok(cni["plugins"][0]["type"] == "flannel", "%s: CNI conflist is JSON for flannel" % node)
    net = json.loads(L.read(os.path.join(b, "etc/flanneld/net-conf.json")))
    ck.ok(net == {"Network": inv_cidr, "SubnetLen": 24, "Backend": {"Type": "vxlan"}},
          "%s: flannel network config: clusterCIDR, vxlan" % node, str(net))
    argv = L.unit_exec(L.read(os.path.join(b, "etc/systemd/system/flanneld.service")))
    flags = [a[2:].split("=", 1)[0] for a in argv[1:]]
    ck.ok(all(a.startswith("--") for a in argv[1:]) and set(flags) <= FLANNEL_FLAGS and
          {"etcd-endpoints", "etcd-prefix", "etcd-cafile", "etcd-certfile", "etcd-keyfile"} <= set(flags),
          "%s: flanneld flags are flannel's documented etcd-backend flags" % node, str(flags))


def cluster_checks(ck, tmp, cl, nodes, masters, iface, single, seedmode, sans, cidr, provider,
                   version):
    views = []
    ha = {}
    for n in nodes:
        b = cl.render(n)
        check_units(ck, tmp, cl, n, b)
        views.append((check_doubles(ck, tmp, n, b, version), b))
        check_kubeconfigs(ck, cl, n, b)
        check_certs(ck, cl, n, b, single)
        check_configs(ck, cidr, n, b)
        check_install(ck, tmp, n, b)
        allowed = {}
        if seedmode and n in masters:
            allowed = {"/etc/kubernetes/cert/ca-key.pem": "kubernetes"}
        check_no_ca_key(ck, cl, n, b, allowed)
        if n in masters:
            ha[n] = check_ha(ck, tmp, n, b, iface)
            check_apiserver_sans(ck, n, b, sans)
    # one MASTER: the first master; the others BACKUP with lower priority
    first = masters[0]
    ck.ok(ha[first][0] == "MASTER" and all(ha[m][0] == "BACKUP" and ha[m][1] < ha[first][1]
                                            for m in masters[1:]),
          "%s: keepalived MASTER on %s, BACKUP with lower priority on the others" %
          (os.path.basename(cl.dir), first), str(ha))
    encs = set(L.read(os.path.join(cl.bundles[m], "etc/kubernetes/encryption-config.yaml"))
               for m in masters)
    enc = encs.pop() if len(encs) == 1 else ""
    key = re.search(r"secret: (\S+)", enc)
    ck.ok(not encs and ("- %s:" % provider) in enc and key and len(__import__("base64").b64decode(key.group(1))) == 32,
          "%s: one encryption config on every master (%s, 32-byte key)" % (os.path.basename(cl.dir), provider))
    sas = set(L.read(os.path.join(cl.bundles[m], "etc/kubernetes/cert/sa.key")) for m in masters)
    sa = sas.pop() if len(sas) == 1 else ""
    ck.ok(not sas and L.pubkey_of_private(sa) ==
          L.read(os.path.join(cl.bundles[first], "etc/kubernetes/cert/sa.pub")),
          "%s: one service-account key pair on every master" % os.path.basename(cl.dir))
    return views


def main():
    ck = L.Checker("bundle_consumers")
    tmp = tempfile.mkdtemp(prefix="slw-consumers-")
    try:
        if not ck.ok(L.have_namespaces(), "private mount namespaces with overlayfs are available"):
            return ck.done()
        seed_sans = ["IP Address:127.0.0.1", "IP Address:192.168.0.91", "IP Address:192.168.0.92",
                     "IP Address:192.168.0.93", "IP Address:192.168.0.235", "IP Address:10.254.0.1",
                     "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
                     "DNS:kubernetes.default.svc.cluster", "DNS:kubernetes.default.svc.cluster.local"]
        seed = L.Cluster(tmp, "seed", SEED)
        views = cluster_checks(ck, tmp, seed, ["test1", "test2", "test3"], ["test1", "test2", "test3"],
                               "eth0", False, False, seed_sans, "172.30.0.0/16", "secretbox",
                               "v1.36.0")
        check_double_teeth(ck, views[0][0], views[0][1])

        mixed = L.Cluster(tmp, "mixed", MIXED)
        mixed_sans = ["IP Address:127.0.0.1", "IP Address:10.9.0.1", "IP Address:10.9.0.2",
                      "IP Address:10.9.0.3", "IP Address:10.9.0.100", "IP Address:10.96.0.1",
                      "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
                      "DNS:kubernetes.default.svc.corp", "DNS:kubernetes.default.svc.corp.example"]
        cluster_checks(ck, tmp, mixed, ["m1", "m2", "m3", "e1", "w1", "w2"], ["m1", "m2", "m3"],
                       "ens3", False, False, mixed_sans, "10.244.0.0/16", "aescbc", "v1.37.1")

        sm = L.Cluster(tmp, "seedmode", SEEDMODE, "--single-ca")
        sm_sans = ["IP Address:127.0.0.1", "IP Address:10.8.0.1", "IP Address:10.8.0.100",
                   "IP Address:10.254.0.1", "DNS:kubernetes", "DNS:kubernetes.default",
                   "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster",
                   "DNS:kubernetes.default.svc.cluster.local"]
        cluster_checks(ck, tmp, sm, ["a", "b"], ["a"], "eth1", True, True, sm_sans,
                       "172.30.0.0/16", "aescbc", "v1.35.0")
        check_versions(ck, tmp, seed, mixed, sm)
        cm = L.read(os.path.join(sm.bundles["a"], "etc/systemd/system/kube-controller-manager.service"))
        ck.ok("--cluster-signing-key-file=/etc/kubernetes/cert/ca-key.pem" in cm and
              "-certificatesigningrequest-signing-controller" not in cm,
              "seedmode: the controller-manager signs with the CA key (the seed's way)")
        cm = L.read(os.path.join(seed.bundles["test1"],
                                 "etc/systemd/system/kube-controller-manager.service"))
        ck.ok("cluster-signing" not in cm and "-certificatesigningrequest-signing-controller" in cm,
              "seed: the controller-manager has no CA key and no CSR signing controller")

        # the operator's kubeconfig: console only
        adm = os.path.join(tmp, "admin.kubeconfig")
        r = seed.slipway("kubeconfig", "admin", "--out", adm)
        ck.ok(r.returncode == 0 and stat.S_IMODE(os.stat(adm).st_mode) == 0o600,
              "kubeconfig admin --out writes a 0600 file", r.stderr)
        r = L.run(["kubectl", "--kubeconfig", adm, "config", "view", "--raw"])
        ck.ok(r.returncode == 0, "kubectl reads the admin kubeconfig", r.stderr)
        blobs = L.kubeconfig_blobs(L.read(adm))
        good, why = L.openssl_verify(seed.ca_pem("kubernetes"), blobs["client-certificate-data"],
                                     "sslclient", tmp)
        subj = L.run(["openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253"],
                     input=blobs["client-certificate-data"]).stdout
        ck.ok(good and "O=system:masters" in subj and "CN=admin" in subj,
              "admin kubeconfig: CN=admin, O=system:masters, verifies", subj + why)
        r = seed.slipway("kubeconfig", "admin", "--out", adm)
        ck.ok(r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1,
              "kubeconfig admin refuses to overwrite a file", r.stderr)
        masters_certs = []
        for cl in (seed, mixed, sm):
            for node, b in cl.bundles.items():
                for p in L.files_of(b):
                    t = L.read(os.path.join(b, p.lstrip("/")), "rb").decode(errors="replace")
                    texts = [t] + (list(L.kubeconfig_blobs(t).values()) if p.endswith(".kubeconfig") else [])
                    for x in texts:
                        for m in re.finditer(r"-----BEGIN CERTIFICATE-----\n.*?-----END CERTIFICATE-----\n",
                                             x, re.S):
                            s = L.run(["openssl", "x509", "-noout", "-subject"], input=m.group(0)).stdout
                            if "system:masters" in s:
                                masters_certs.append("%s:%s" % (node, p))
        ck.ok(not masters_certs, "no bundle holds an O=system:masters certificate", str(masters_certs))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
