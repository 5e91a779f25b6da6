#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""endpoint_kubelet_bootstrap: from a token to a Ready node, through
`slipway serve` alone. The node's bundle comes from the printed one-liner
(curl verbatim, pinned key); a kubelet double starts from the bundle's
kubelet-bootstrap.kubeconfig against the kube-apiserver double; the CSR
approver that serve runs in its own thread (unprivileged, as nobody)
approves and signs the kubelet's client and serving CSRs; the node
registers with a certificate that verifies against /v1/ca.pem. serve then
stops on SIGTERM, approver included.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import approver_lib as L  # noqa: E402
from endpoint_common import ONELINER, clean_env  # noqa: E402


def run(e):
    bport = L.free_port()
    nodes = "\n".join("  - { name: %s, ip: %s, roles: [etcd, master, worker] }" % n
                      for n in L.NODES)
    yaml = e.p("cluster.yaml")
    with open(yaml, "w") as f:
        f.write("apiVersion: slipway/v1\nkind: Cluster\n"
                "cluster: { name: kubernetes, kubernetesVersion: v1.36.0 }\n"
                "apiserver: { vip: 127.0.0.1, vipPort: %d }\n"
                "bootstrap: { address: 127.0.0.1, port: %d, tokenTTL: 15m }\n"
                "nodes:\n%s\n" % (e.port, bport, nodes))
    r = e.slipway("init", "--cluster", yaml)
    if r.returncode != 0:
        raise SystemExit("slipway init: " + r.stderr)
    for args in (["cert", "issue", "--profile", "server", "--cn", "kube-apiserver",
                  "--san", "IP:127.0.0.1", "--out", e.p("apiserver")],
                 ["cert", "issue", "--profile", "client", "--cn", "admin", "--org",
                  "system:masters", "--out", e.p("admin")]):
        r = e.slipway(*args)
        if r.returncode != 0:
            raise SystemExit("slipway %s: %s" % (" ".join(args[:2]), r.stderr))
    open(e.p("ca.pem"), "w").write(e.slipway("ca", "export", "--ca", "kubernetes").stdout)
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout",
                    "-out", e.p("sa-key.pem")], check=True, capture_output=True)
    e.start_apiserver()
    os.chmod(e.d, 0o755)

    mport = L.free_port()
    serve = e.start([L.SLIPWAY, "--state", e.state, "serve", "--listen",
                     "127.0.0.1:%d" % bport, "--metrics-listen",
                     "127.0.0.1:%d" % mport], "serve.log")
    e.check("serve is ready", e.wait(lambda: "ready on" in e.log("serve.log"), 30),
            e.log("serve.log"))
    e.check("serve's approver watches the API server",
            e.wait(lambda: "approver: watching certificate signing requests" in
                   e.log("serve.log"), 30), e.log("serve.log"))

    r = e.slipway("token", "create", "--node", "test1")
    line = r.stdout.strip()
    e.check("token create prints the one-liner", ONELINER.match(line) is not None, line[:40])
    root = e.p("root")
    os.mkdir(root)
    curl_part = line.split(" | ")[0]
    p = subprocess.run(["bash", "-c", curl_part + " | tar -xz -C " + root],
                       capture_output=True, env=clean_env(), timeout=60)
    e.check("the one-liner's curl fetches test1's bundle", p.returncode == 0, p.stderr)
    kc = os.path.join(root, "etc", "kubernetes", "kubelet-bootstrap.kubeconfig")
    e.check("the bundle has the kubelet bootstrap kubeconfig", os.path.exists(kc))

    r = e.slipway("cluster", "apply")
    e.check("cluster apply puts the node's bootstrap token in the cluster",
            r.returncode == 0, r.stdout + r.stderr)
    k = e.start_kubelet("test1", kc, "192.168.0.91")
    ready = e.wait(lambda: e.kubelet_cert("test1") and e.node_ready("test1"), 60)
    e.check("the kubelet gets a client certificate from serve's approver and its "
            "node is Ready", ready, e.log("serve.log")[-2000:] + e.log("kubelet-test1.log")[-1500:])
    if e.kubelet_cert("test1"):
        ok, msg = L.verify(e.p("ca.pem"), e.kubelet_cert("test1"))
        e.check("that certificate verifies against slipway's CA", ok, msg)
    e.check("and its serving certificate",
            e.wait(lambda: e.kubelet_cert("test1", "server"), 40), e.log("kubelet-test1.log")[-1500:])
    logtext = e.log("serve.log")
    e.check("the approval is in serve's log", re.search(r"approver: .*approved", logtext)
            is not None, logtext[-1500:])
    # the monitor counted both approvals, by the signer that decided
    import urllib.request
    met = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport,
                                 timeout=30).read().decode()
    got = {r: re.search(r'(?m)^slipway_csr_decisions_total\{decision="approve",'
                        r'rule="%s"\} (\d+)$' % r, met)
           for r in ("kube-apiserver-client-kubelet", "kubelet-serving")}
    e.check("slipway_csr_decisions_total counts the client and the serving "
            "approval", all(m is not None and int(m.group(1)) >= 1
                            for m in got.values()),
            [m.group(0) if m else None for m in got.values()])
    ps = open("/proc/%d/status" % serve.pid).read()
    e.check("serve (and so its approver thread) runs unprivileged",
            re.search(r"(?m)^Uid:\s+(\d+)", ps).group(1) != "0", ps[:200])
    e.stop(k)
    rc = e.stop(serve, timeout=30)
    e.check("serve stops on SIGTERM, approver included (status 0)", rc == 0, rc)
    tok = line.split("Bearer ")[1].split("'")[0]
    e.check("no token secret in serve's log", tok.split(".")[1] not in e.log("serve.log"))


L.main("endpoint_kubelet_bootstrap", run)
