#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The kubelet TLS bootstrap through slipway, against the kube-apiserver and
kubelet doubles, checked with the real kubectl:

- `slipway cluster apply` creates the bootstrap-token Secrets (one per node,
  the token of the node's rendered bootstrap kubeconfig), the
  kubelet-bootstrap binding and the seed's apiserver-to-kubelet role and
  binding, removes the seed's auto-approving csr-crb bindings, and is
  idempotent; `kubectl get secret -n kube-system` shows the Secrets;
- a kubelet double bootstraps from `slipway bundle render`'s kubeconfig:
  client CSR -> `slipway approve --once` approves and signs it -> the kubelet
  registers its Node with the new certificate (it verifies against slipway's
  CA) -> its serving CSR -> approved and signed;
- node test1's token used by a kubelet calling itself test3 is denied, with
  the reason in the CSR condition, and that kubelet gives up;
- `kubectl get csr` / `kubectl certificate approve` work; a CSR of another
  signer approved with kubectl is left alone; a kubelet CSR approved with
  kubectl that the policy refuses is marked Failed, never signed;
- `slipway approve` as a loop bootstraps node test2 without help, and stops
  on SIGTERM; every issuance is in the store and the audit log, once.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import approver_lib as L  # noqa: E402


def run(e):
    e.init()
    e.start_apiserver()

    # the seed's csr-crb.yaml, as a migrated cluster would have it
    for name, role in (("auto-approve-csrs-for-group",
                        "system:certificates.k8s.io:certificatesigningrequests:nodeclient"),
                       ("node-client-cert-renewal",
                        "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient")):
        e.kubectl("create", "clusterrolebinding", name, "--clusterrole=" + role, "--group=system:bootstrappers")

    # --- cluster apply ---
    r = e.slipway("cluster", "apply")
    e.check("cluster apply (VIP of the inventory)", r.returncode == 0, r.stdout + r.stderr)
    print(r.stdout, end="")
    out = r.stdout
    e.check("cluster apply creates a bootstrap-token Secret per node",
            all("(node %s): created" % n in out for n, _ in L.NODES), out)
    e.check("cluster apply creates the kubelet-bootstrap binding and the seed's apiserver-to-kubelet RBAC",
            "clusterrolebinding kubelet-bootstrap: created" in out and
            "clusterrole system:kubernetes-to-kubelet: created" in out and
            "clusterrolebinding system:kubernetes: created" in out, out)
    e.check("cluster apply removes the auto-approving bindings (csr-crb.yaml)",
            "clusterrolebinding auto-approve-csrs-for-group (auto-approves CSRs; slipway's policy decides instead): "
            "deleted" in out and "clusterrolebinding node-client-cert-renewal" in out, out)
    e.check("no secret in the output", "token-secret" not in out and "." not in
            "".join(l.split("bootstrap-token-")[1].split(" ")[0] for l in out.splitlines() if "bootstrap-token-" in l),
            out)
    r = e.slipway("cluster", "apply", "--apiserver", e.url)
    e.check("cluster apply again: everything unchanged",
            r.returncode == 0 and "0 created, 0 updated, 6 unchanged, 0 deleted" in r.stdout, r.stdout + r.stderr)
    rc, so, se = e.kubectl("get", "secret", "-n", "kube-system")
    print(so, end="")
    e.check("kubectl get secret -n kube-system lists the three bootstrap tokens",
            rc == 0 and so.count("bootstrap.kubernetes.io/token") == 3, so + se)
    rc, so, se = e.kubectl("get", "clusterrolebinding", "kubelet-bootstrap", "-o", "json")
    crb = json.loads(so) if rc == 0 else {}
    e.check("kubelet-bootstrap binds system:node-bootstrapper to group system:bootstrappers",
            crb.get("roleRef", {}).get("name") == "system:node-bootstrapper" and
            crb.get("subjects") == [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io",
                                     "name": "system:bootstrappers"}], so + se)
    rc, so, se = e.kubectl("get", "clusterrolebindings", "-o", "name")
    e.check("no binding grants nodeclient/selfnodeclient any more",
            rc == 0 and "auto-approve" not in so and "node-client-cert-renewal" not in so, so)

    # the Secret carries exactly the token of the node's bootstrap kubeconfig
    kc1 = e.bootstrap_kubeconfig("test1")
    token = [l.split("token:")[1].strip() for l in open(kc1) if "token:" in l][0]
    tid, tsecret = token.split(".")
    code, sec = e.api("GET", "/api/v1/namespaces/kube-system/secrets/bootstrap-token-" + tid)
    data = {k: L.base64.b64decode(v).decode() for k, v in (sec.get("data") or {}).items()} if code == 200 else {}
    e.check("Secret bootstrap-token-<id> = the rendered kubeconfig's token, group system:bootstrappers:test1",
            data.get("token-id") == tid and data.get("token-secret") == tsecret and
            data.get("auth-extra-groups") == "system:bootstrappers:test1" and
            data.get("usage-bootstrap-authentication") == "true" and data.get("expiration", "").endswith("Z") and
            sec.get("type") == "bootstrap.kubernetes.io/token", {k: v for k, v in data.items() if k != "token-secret"})

    # --- kubelet test1: client CSR ---
    k1 = e.start_kubelet("test1", kc1, "192.168.0.91")
    pend = e.wait(lambda: e.pending(L.CLIENT, "system:bootstrap:" + tid), 30)
    e.check("kubelet test1 creates its client CSR with its bootstrap token", pend, e.log("kubelet-test1.log"))
    rc, so, se = e.kubectl("get", "csr")
    print(so, end="")
    e.check("kubectl get csr shows it Pending", rc == 0 and "Pending" in so and "system:bootstrap:" + tid in so, so + se)
    r = e.slipway("approve", "--once")
    print(r.stdout, end="")
    e.check("slipway approve --once approves and signs it",
            r.returncode == 0 and "approved csr node-csr-" in r.stdout and "signed csr node-csr-" in r.stdout and
            "for node test1 (kubelet-client)" in r.stdout, r.stdout + r.stderr)
    csr1 = e.csr(pend[0]["metadata"]["name"]) if pend else None
    c = L.cond(csr1, "Approved")
    e.check("the Approved condition carries the policy's reason",
            c and c.get("reason") == "SlipwayPolicy" and
            "node test1, requested by node test1's bootstrap token %s" % tid in c.get("message", ""), csr1)
    pem = L.cert_pem(csr1) or ""
    e.check("status.certificate: the certificate and the issuing CA",
            pem.count("BEGIN CERTIFICATE") == 2, pem[:200])
    txt = L.openssl_text(pem)
    e.check("the certificate is O=system:nodes, CN=system:node:test1, client auth only, no SANs",
            "O = system:nodes, CN = system:node:test1" in txt and "TLS Web Client Authentication" in txt and
            "Server Authentication" not in txt and "Subject Alternative Name" not in txt, txt)
    ready = e.wait(lambda: e.kubelet_cert("test1") and e.node_ready("test1"), 40)
    e.check("kubelet test1 connects with its new certificate (Node test1 registered, Ready)", ready,
            e.log("kubelet-test1.log"))
    if e.kubelet_cert("test1"):
        ok, msg = L.verify(e.p("ca.pem"), e.kubelet_cert("test1"))
        e.check("the kubelet's client certificate verifies against slipway's kubernetes CA", ok, msg)

    # --- kubelet test1: serving CSR ---
    spend = e.wait(lambda: e.pending(L.SERVING, "system:node:test1"), 30)
    e.check("kubelet test1 then creates its serving CSR as system:node:test1", spend, e.log("kubelet-test1.log"))
    r = e.slipway("approve", "--once")
    print(r.stdout, end="")
    e.check("slipway approve --once approves and signs the serving CSR",
            r.returncode == 0 and "for node test1 (kubelet-serving)" in r.stdout, r.stdout + r.stderr)
    scert = e.wait(lambda: e.kubelet_cert("test1", "server"), 30)
    e.check("kubelet test1 gets its serving certificate", scert, e.log("kubelet-test1.log"))
    if scert:
        txt = L.openssl_text(open(scert).read())
        e.check("serving certificate: server auth, SANs test1 and 192.168.0.91",
                "TLS Web Server Authentication" in txt and "DNS:test1" in txt and "IP Address:192.168.0.91" in txt, txt)
    r = e.slipway("approve", "--once")
    e.check("a second pass changes nothing", r.returncode == 0 and "0 approved, 0 denied, 0 signed" in r.stdout,
            r.stdout + r.stderr)

    # --- node test1's token used for another node ---
    k3 = e.start_kubelet("test3", kc1, "192.168.0.93", timeout=60)
    bad = e.wait(lambda: [c for c in e.pending(L.CLIENT, "system:bootstrap:" + tid)], 30)
    e.check("a kubelet calling itself test3 with test1's token creates a CSR", bad, e.log("kubelet-test3.log"))
    r = e.slipway("approve", "--once")
    print(r.stdout, end="")
    e.check("... which slipway denies", "denied csr" in r.stdout and
            "a bootstrap token of another node may not request a certificate for node test3" in r.stdout,
            r.stdout + r.stderr)
    obj = e.csr(bad[0]["metadata"]["name"]) if bad else None
    c = L.cond(obj, "Denied")
    e.check("the Denied condition names the rule", c and c.get("reason") == "SlipwayPolicy" and
            "carries group 'system:bootstrappers:test1'" in c.get("message", ""), obj)
    e.check("no certificate for it", not L.cert_pem(obj), obj)
    try:
        k3.wait(30)
    except Exception:
        pass
    e.check("the kubelet gives up: its CSR was denied",
            k3.poll() == 1 and "is denied" in e.log("kubelet-test3.log"), e.log("kubelet-test3.log")[-800:])

    # --- kubectl certificate approve, and a CSR slipway leaves alone ---
    key = e.p("alice.key")
    L.subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key], check=True)
    req = L.subprocess.run(["openssl", "req", "-new", "-key", key, "-subj", "/O=devs/CN=alice"], check=True,
                           capture_output=True).stdout
    body = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": "alice"},
            "spec": {"request": L.base64.b64encode(req).decode(), "signerName": "kubernetes.io/kube-apiserver-client",
                     "usages": ["client auth"]}}
    rc, so, se = e.kubectl("create", "-f", "-", input=json.dumps(body))
    e.check("kubectl create a CSR for kube-apiserver-client", rc == 0, so + se)
    rc, so, se = e.kubectl("certificate", "approve", "alice")
    e.check("kubectl certificate approve", rc == 0 and "approved" in so, so + se)
    r = e.slipway("approve", "--once")
    obj = e.csr("alice")
    e.check("slipway leaves another signer's approved CSR alone (no certificate, no condition of its own)",
            r.returncode == 0 and not L.cert_pem(obj) and
            all(c.get("reason") != "SlipwayPolicy" for c in obj["status"]["conditions"]), obj)
    # a kubelet CSR approved by someone else is signed only if the policy
    # allows it: here the requester is admin, so it is marked Failed
    key = e.p("admin-node.key")
    L.subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key], check=True)
    req = L.subprocess.run(["openssl", "req", "-new", "-key", key, "-subj", "/O=system:nodes/CN=system:node:test2"],
                           check=True, capture_output=True).stdout
    body["metadata"]["name"] = "by-admin"
    body["spec"].update(request=L.base64.b64encode(req).decode(), signerName=L.CLIENT,
                        usages=["digital signature", "client auth"])
    rc, so, se = e.kubectl("create", "-f", "-", input=json.dumps(body))
    rc2, so2, se2 = e.kubectl("certificate", "approve", "by-admin")
    e.check("admin creates a kubelet client CSR for test2 and approves it with kubectl", rc == 0 and rc2 == 0,
            so + se + so2 + se2)
    r = e.slipway("approve", "--once")
    print(r.stdout, end="")
    obj = e.csr("by-admin")
    c = L.cond(obj, "Failed")
    e.check("slipway refuses to sign it: Failed, with the policy's reason, no certificate",
            c and c.get("reason") == "SlipwayPolicy" and not L.cert_pem(obj) and
            "not signed: kube-apiserver-client-kubelet: requester 'admin' is neither node test2's bootstrap token "
            "nor system:node:test2" in c.get("message", ""), obj)
    rc, so, se = e.kubectl("get", "csr")
    print(so, end="")
    e.check("kubectl get csr: Approved,Issued / Denied / Approved / Approved,Failed",
            so.count("Approved,Issued") == 2 and "Denied" in so and "Approved,Failed" in so, so + se)

    # --- the loop: node test2 without help ---
    ap = e.start_approver()
    kc2 = e.bootstrap_kubeconfig("test2")
    e.slipway("cluster", "apply")  # bundle render made no new token: unchanged
    k2 = e.start_kubelet("test2", kc2, "192.168.0.92")
    ok = e.wait(lambda: e.kubelet_cert("test2") and e.kubelet_cert("test2", "server") and e.node_ready("test2"), 60)
    e.check("slipway approve (loop) bootstraps kubelet test2: client and serving certificates, Node Ready", ok,
            e.log("approver.log") + e.log("kubelet-test2.log")[-1500:])
    t = time.time()
    rc = e.stop(ap)
    e.check("the loop stops on SIGTERM at once, exit 0", rc == 0 and time.time() - t < 5, (rc, e.log("approver.log")))
    e.stop(k1)
    e.stop(k2)

    # --- the store: one record per issuance ---
    certs = e.certs()
    kub = [c for c in certs if c.get("purpose") in ("kubelet-client", "kubelet-serving")]
    per = {}
    for c in kub:
        per[(c["node"], c["purpose"])] = per.get((c["node"], c["purpose"]), 0) + 1
    e.check("store: exactly one kubelet-client and one kubelet-serving certificate for test1 and test2",
            per == {("test1", "kubelet-client"): 1, ("test1", "kubelet-serving"): 1,
                    ("test2", "kubelet-client"): 1, ("test2", "kubelet-serving"): 1}, per)
    au = e.audit()
    acts = {}
    for a in au:
        acts[a["action"]] = acts.get(a["action"], 0) + 1
    e.check("audit: 4 csr.approve, 4 csr.sign, 1 csr.deny, 1 csr.fail, kube.apply entries",
            acts.get("csr.approve") == 4 and acts.get("csr.sign") == 4 and acts.get("csr.deny") == 1 and
            acts.get("csr.fail") == 1 and
            acts.get("kube.apply", 0) >= 7, acts)
    e.check("audit: no token secret anywhere", tsecret not in json.dumps(au), "secret found in audit")
    r = e.slipway("audit", "verify")
    e.check("audit log verifies", r.returncode == 0, r.stdout + r.stderr)


if __name__ == "__main__":
    L.main("approver_tls_bootstrap", run)
