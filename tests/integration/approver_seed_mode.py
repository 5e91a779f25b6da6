#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The seed's signing mode (`security.signingMode: controller-manager`):
slipway decides and approves kubelet CSRs by the same policy but signs
nothing; the kube-controller-manager double, started with the signing CA
and kubeconfig of test1's rendered master bundle, signs what slipway
approved, and the kubelet double bootstraps with that certificate. A CSR
slipway denies is never signed by the controller-manager either, and with
slipway's cluster objects applied nothing in the cluster auto-approves."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import approver_lib as L  # noqa: E402


def run(e):
    e.init(signing_mode="controller-manager")
    e.start_apiserver()
    r = e.slipway("cluster", "apply")
    e.check("cluster apply", r.returncode == 0, r.stdout + r.stderr)

    # the controller-manager of test1's bundle: it signs with the CA key the
    # seed's mode puts on masters (and, as rendered, runs every controller)
    kc1 = e.bootstrap_kubeconfig("test1")
    cert = os.path.join(e.p("bundle-test1"), "etc", "kubernetes", "cert")
    kcm = os.path.join(e.p("bundle-test1"), "etc", "kubernetes", "kube-controller-manager.kubeconfig")
    e.check("the seed's mode puts the signing CA key in a master's bundle",
            os.path.exists(os.path.join(cert, "ca-key.pem")), os.listdir(cert))
    e.start([os.path.join(L.BIN, "kube-controller-manager"), "--kubeconfig=" + kcm, "--bind-address=127.0.0.1",
             "--secure-port=%d" % L.free_port(), "--leader-elect=true",
             "--cluster-signing-cert-file=" + os.path.join(cert, "cluster-signing-ca.pem"),
             "--cluster-signing-key-file=" + os.path.join(cert, "ca-key.pem"),
             "--cluster-signing-duration=720h", "--root-ca-file=" + os.path.join(cert, "ca.pem"),
             "--service-account-private-key-file=" + os.path.join(cert, "sa.key"),
             "--use-service-account-credentials=true", "--controllers=*"], "kcm.log",
            {"K8SDOUBLE_CONNECT_TIMEOUT": "30"})
    lease = e.wait(lambda: e.api("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/"
                                 "kube-controller-manager")[0] == 200, 30)
    e.check("the controller-manager double leads", lease, e.log("kcm.log"))

    e.start_kubelet("test1", kc1, "192.168.0.91")
    pend = e.wait(lambda: e.pending(L.CLIENT), 30)
    e.check("kubelet test1's client CSR", pend, e.log("kubelet-test1.log"))
    L.time.sleep(2)
    obj = e.csr(pend[0]["metadata"]["name"]) if pend else None
    e.check("the controller-manager's approving controller does not approve it (no auto-approving binding)",
            obj and not L.cond(obj, "Approved"), obj)
    r = e.slipway("approve", "--once")
    print(r.stdout, end="")
    e.check("slipway approves it and signs nothing", r.returncode == 0 and "approved csr node-csr-" in r.stdout and
            "0 signed" in r.stdout, r.stdout + r.stderr)
    ok = e.wait(lambda: e.kubelet_cert("test1") and e.node_ready("test1"), 40)
    e.check("the controller-manager signs the approved CSR; kubelet test1 connects with it", ok,
            e.log("kcm.log")[-1500:] + e.log("kubelet-test1.log")[-1500:])
    if e.kubelet_cert("test1"):
        good, msg = L.verify(e.p("ca.pem"), e.kubelet_cert("test1"))
        e.check("... and the certificate verifies against slipway's kubernetes CA", good, msg)
    spend = e.wait(lambda: e.pending(L.SERVING, "system:node:test1"), 30)
    r = e.slipway("approve", "--once")
    ok = e.wait(lambda: e.kubelet_cert("test1", "server"), 30)
    e.check("the serving CSR: approved by slipway, signed by the controller-manager", spend and ok,
            r.stdout + e.log("kcm.log")[-800:])

    # node test1's token for test2: slipway denies, the controller-manager never signs
    k2 = e.start_kubelet("test2", kc1, "192.168.0.92", timeout=40)
    bad = e.wait(lambda: e.pending(L.CLIENT), 30)
    r = e.slipway("approve", "--once")
    e.check("slipway denies test1's token asking for test2", "denied csr" in r.stdout, r.stdout + r.stderr)
    L.time.sleep(2)
    obj = e.csr(bad[0]["metadata"]["name"]) if bad else None
    e.check("the denied CSR gets no certificate", obj and L.cond(obj, "Denied") and not L.cert_pem(obj), obj)
    try:
        k2.wait(30)
    except Exception:
        pass
    e.check("kubelet test2 (with test1's token) gives up", k2.poll() == 1, e.log("kubelet-test2.log")[-600:])

    kub = [c for c in e.certs() if c.get("purpose") in ("kubelet-client", "kubelet-serving")]
    e.check("slipway recorded no kubelet certificate (it signed none)", not kub, kub)
    acts = [a["action"] for a in e.audit()]
    e.check("audit: csr.approve x2, csr.deny x1, no csr.sign",
            acts.count("csr.approve") == 2 and acts.count("csr.deny") == 1 and "csr.sign" not in acts, acts)


if __name__ == "__main__":
    L.main("approver_seed_mode", run)
