#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Self-test of the node and control-plane doubles against the apiserver
double: kubelet TLS bootstrap (client + serving certificate), node Ready and
Lease, controller-manager CSR approving/signing and leader election,
scheduler leader election, kube-proxy, the /healthz endpoints, and the
config/kubeconfig refusals.  Exit status 1 names the failed checks."""
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from k8sdouble import testpki  # noqa: E402
from test_apiserver_kubectl import API, RESULTS, PROCS, check, free_port, kubectl, start, wait_port  # noqa: E402

BIN = os.path.join(HERE, "bin")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def get(url, ca=None, timeout=3, cert=None):
    ctx = ssl.create_default_context(cafile=ca) if ca else ssl._create_unverified_context()
    ctx.check_hostname = False  # node serving certs name the node, not 127.0.0.1
    if cert:
        ctx.load_cert_chain(*cert)
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


def until(fn, timeout=20, step=0.2):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return None


def checkonly(name, args, env=None):
    e = dict(os.environ, K8SDOUBLE_CHECK_ONLY="1")
    e.update(env or {})
    return subprocess.run([os.path.join(BIN, name)] + args, capture_output=True, text=True, env=e)


def main():
    t0 = time.time()
    d = tempfile.mkdtemp(prefix="k8sdouble-comp-")
    try:
        run(d)
    finally:
        for p in reversed(PROCS):
            if p.poll() is None:
                p.terminate()
        for p in PROCS:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        failed = [n for n, ok, _ in RESULTS if not ok]
        if failed:
            for f in sorted(os.listdir(d)):
                if f.endswith(".log"):
                    print("---- %s (tail)" % f)
                    print("".join(open(os.path.join(d, f)).readlines()[-15:]))
        if os.environ.get("K8SDOUBLE_KEEP") != "1":
            shutil.rmtree(d, ignore_errors=True)
        else:
            print("kept", d)
    print("k8sdouble components test: %.1fs" % (time.time() - t0))
    print("%d passed, %d failed" % (len(RESULTS) - len(failed), len(failed)))
    if failed:
        print("failed checks: " + ", ".join(failed))
        return 1
    return 0


def run(d):
    p = lambda n: os.path.join(d, n)  # noqa: E731
    ca, cak = testpki.ca(d)
    testpki.cert(d, "apiserver", ca, cak, "kube-apiserver", ips=["127.0.0.1"], server=True, client=False)
    testpki.cert(d, "admin", ca, cak, "admin", orgs=["system:masters"])
    testpki.cert(d, "kcm", ca, cak, "system:kube-controller-manager")
    testpki.cert(d, "sched", ca, cak, "system:kube-scheduler")
    testpki.cert(d, "proxy", ca, cak, "system:kube-proxy")
    testpki.cert(d, "wrong-ca-user", *testpki.ca(d, "other"), "admin", orgs=["system:masters"])
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", p("sa-key.pem")], check=True)
    port = free_port()
    server = "https://127.0.0.1:%d" % port
    admin = testpki.kubeconfig(p("admin.kubeconfig"), server, ca, p("admin.pem"), p("admin-key.pem"))
    kcm_kc = testpki.kubeconfig(p("kcm.kubeconfig"), server, ca, p("kcm.pem"), p("kcm-key.pem"), embed=False)
    sched_kc = testpki.kubeconfig(p("sched.kubeconfig"), server, ca, p("sched.pem"), p("sched-key.pem"))
    proxy_kc = testpki.kubeconfig(p("proxy.kubeconfig"), server, ca, p("proxy.pem"), p("proxy-key.pem"))
    wrong_kc = testpki.kubeconfig(p("wrong.kubeconfig"), server, p("other.pem"), p("wrong-ca-user.pem"), p("wrong-ca-user-key.pem"))
    token = "07401b.f395accd246ae52d"
    boot_kc = testpki.kubeconfig(p("bootstrap.kubeconfig"), server, ca, token=token, user="kubelet-bootstrap")

    # ---- refusals in check-only mode ----
    r = checkonly("kubelet", ["--config=" + write(p("bad-kubelet.yaml"),
                              "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\naddress: 0.0.0.0\nfooBar: 1\n")])
    check("kubelet config with an unknown field refused", r.returncode == 1 and 'unknown field "fooBar"' in r.stderr, r.stderr)
    r = checkonly("kubelet", ["--config=" + write(p("dep-kubelet.yaml"),
                              "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\niptablesDropBit: 15\n")])
    check("kubelet config with a deprecated field refused", r.returncode == 1 and 'field "iptablesDropBit" is deprecated' in r.stderr, r.stderr)
    r = checkonly("kubelet", ["--config=" + write(p("gate-kubelet.yaml"),
                              "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfeatureGates:\n  RotateKubeletClientCertificate: true\n")])
    check("removed feature gate refused", r.returncode == 1 and "unrecognized feature gate: RotateKubeletClientCertificate" in r.stderr, r.stderr)
    r = checkonly("kube-proxy", ["--config=" + write(p("bad-proxy.yaml"),
                                 "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nclientConnection:\n  kubeconfig: %s\nmode: userspace\n" % proxy_kc)])
    check("kube-proxy mode userspace refused", r.returncode == 1 and "Invalid value: \"userspace\"" in r.stderr, r.stderr)
    r = checkonly("kube-scheduler", ["--kubeconfig=" + sched_kc])
    check("kube-scheduler --kubeconfig refused as deprecated", r.returncode == 1 and "flag --kubeconfig is deprecated" in r.stderr, r.stderr)
    write(p("broken.kubeconfig"), "apiVersion: v1\nkind: Config\nclusters: []\ncurrent-context: x\n")
    r = checkonly("kube-controller-manager", ["--kubeconfig=" + p("broken.kubeconfig")])
    check("kubeconfig without the current context refused", r.returncode == 1 and "context was not found" in r.stderr, r.stderr)
    r = checkonly("kube-controller-manager", ["--kubeconfig=" + kcm_kc, "--cluster-signing-cert-file=" + ca,
                                              "--cluster-signing-key-file=" + p("admin-key.pem")])
    check("signing cert/key mismatch refused", r.returncode == 1 and "does not match" in r.stderr, r.stderr)
    r = checkonly("kube-controller-manager", ["--kubeconfig=" + kcm_kc, "--controllers=*,csrsigning"])
    check("unknown controller name refused", r.returncode == 1 and '"csrsigning" is not in the list of known controllers' in r.stderr, r.stderr)
    enc = write(p("enc.yaml"), "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
                "- resources: [secrets]\n  providers:\n  - aescbc:\n      keys:\n      - name: key1\n        secret: c2hvcnQ=\n  - identity: {}\n")
    r = checkonly("kube-apiserver", ["--etcd-servers=https://127.0.0.1:1", "--service-account-issuer=x",
                                     "--service-account-signing-key-file=" + p("sa-key.pem"), "--encryption-provider-config=" + enc])
    check("encryption config with a 5-byte aescbc key refused", r.returncode == 1 and "secret is not of the expected length" in r.stderr, r.stderr)

    unit = write(p("kube-controller-manager.service"), "[Service]\nExecStart=%s/kube-controller-manager \\\n"
                 "  --kubeconfig=%s \\\n  --leader-elect=true --use-service-account-credentials=true \\\n"
                 "  --controllers=*,-certificatesigningrequest-signing-controller\nRestart=always\n" % (BIN, kcm_kc))
    r = subprocess.run([BIN + "/k8sdouble-check-unit", unit], capture_output=True, text=True)
    check("k8sdouble-check-unit accepts a good unit", r.returncode == 0, r.stderr)
    unit = write(p("bad-kcm.service"), "[Service]\nExecStart=%s/kube-controller-manager --kubeconfig=%s "
                 "--experimental-cluster-signing-duration=8760h\n" % (BIN, kcm_kc))
    r = subprocess.run([BIN + "/k8sdouble-check-unit", unit], capture_output=True, text=True)
    check("k8sdouble-check-unit refuses the seed's --experimental-cluster-signing-duration", r.returncode == 1 and
          "unknown flag: --experimental-cluster-signing-duration" in r.stderr, r.stderr)

    # ---- apiserver ----
    start([BIN + "/kube-apiserver", "--bind-address=127.0.0.1", "--secure-port=%d" % port,
           "--tls-cert-file=" + p("apiserver.pem"), "--tls-private-key-file=" + p("apiserver-key.pem"),
           "--client-ca-file=" + ca, "--etcd-servers=https://127.0.0.1:1",
           "--service-account-issuer=https://kubernetes.default.svc", "--service-account-signing-key-file=" + p("sa-key.pem"),
           "--service-account-key-file=" + p("sa-key.pem"), "--authorization-mode=Node,RBAC", "--anonymous-auth=false",
           "--enable-bootstrap-token-auth", "--enable-admission-plugins=NodeRestriction"],
          open(p("apiserver.log"), "w"), {"K8SDOUBLE_NO_ETCD": "1"})
    if not check("apiserver up", wait_port(port)):
        return
    adm = API(port, ca, p("admin.pem"), p("admin-key.pem"))
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
              "metadata": {"name": "bootstrap-token-07401b", "namespace": "kube-system"},
              "stringData": {"token-id": "07401b", "token-secret": "f395accd246ae52d",
                             "usage-bootstrap-authentication": "true", "auth-extra-groups": "system:bootstrappers:test1"}}
    check("bootstrap token secret", adm.req("POST", "/api/v1/namespaces/kube-system/secrets", secret)[0] == 201)
    for n, role in (("kubelet-bootstrap", "system:node-bootstrapper"),
                    ("node-client-auto-approve", "system:certificates.k8s.io:certificatesigningrequests:nodeclient")):
        code, _ = adm.req("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": n},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:bootstrappers"}]})
        check("binding %s" % n, code == 201)

    # ---- a component with a kubeconfig from another CA fails clearly ----
    r = subprocess.run([BIN + "/kube-controller-manager", "--kubeconfig=" + wrong_kc, "--secure-port=0"],
                       capture_output=True, text=True, timeout=30, env=dict(os.environ, K8SDOUBLE_CONNECT_TIMEOUT="5"))
    check("kcm with a foreign-CA kubeconfig fails with a clear TLS error", r.returncode == 1 and
          "cannot talk to the apiserver" in r.stderr and "certificate verify failed" in r.stderr, r.stderr)

    # ---- controller-manager (seed mode: signs with the CA) and scheduler ----
    kcm_port, sched_port = free_port(), free_port()
    kcm1 = start([BIN + "/kube-controller-manager", "--kubeconfig=" + kcm_kc, "--bind-address=127.0.0.1",
           "--secure-port=%d" % kcm_port, "--leader-elect=true", "--leader-elect-lease-duration=5s",
           "--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=1s", "--cluster-signing-cert-file=" + ca,
           "--cluster-signing-key-file=" + cak, "--root-ca-file=" + ca,
           "--service-account-private-key-file=" + p("sa-key.pem"), "--use-service-account-credentials=true",
           "--cluster-cidr=172.30.0.0/16", "--service-cluster-ip-range=10.254.0.0/16",
           "--controllers=*,bootstrap-signer-controller,token-cleaner-controller"], open(p("kcm.log"), "w"))
    sched_cfg = write(p("scheduler.yaml"), "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"
                      "clientConnection:\n  kubeconfig: %s\nleaderElection:\n  leaderElect: true\n" % sched_kc)
    start([BIN + "/kube-scheduler", "--config=" + sched_cfg, "--bind-address=127.0.0.1", "--secure-port=%d" % sched_port],
          open(p("scheduler.log"), "w"))
    for name, prt, lease in (("kube-controller-manager", kcm_port, "kube-controller-manager"),
                             ("kube-scheduler", sched_port, "kube-scheduler")):
        ok = until(lambda: get("https://127.0.0.1:%d/healthz" % prt)[0] == 200)
        check("%s /healthz 200 on its secure port" % name, ok, get("https://127.0.0.1:%d/healthz" % prt))
        lz = until(lambda: (lambda r: r[0] == 200 and r[1].get("spec", {}).get("holderIdentity") and r[1])(
            adm.req("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/" + lease)), 10)
        check("%s holds its Lease" % name, lz, lz)

    # ---- kubelet: TLS bootstrap, client cert auto-approved + signed by the kcm double ----
    hz, kport = free_port(), free_port()
    kcfg = write(p("kubelet.yaml"), """apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: %d
healthzBindAddress: 127.0.0.1
healthzPort: %d
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: %s
authorization:
  mode: Webhook
cgroupDriver: systemd
clusterDNS: [10.254.0.2]
clusterDomain: cluster.local
rotateCertificates: true
serverTLSBootstrap: true
nodeStatusUpdateFrequency: 1s
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
""" % (kport, hz, p("kubelet-ca.pem")))
    shutil.copy(ca, p("kubelet-ca.pem"))
    kargs = ["--config=" + kcfg, "--bootstrap-kubeconfig=" + boot_kc, "--kubeconfig=" + p("kubelet.kubeconfig"),
             "--cert-dir=" + p("pki"), "--hostname-override=test1", "--node-ip=192.0.2.91"]
    r = checkonly("kubelet", kargs)
    check("kubelet check-only accepts its rendered command line", r.returncode == 0, r.stderr)
    kubelet = start([BIN + "/kubelet"] + kargs, open(p("kubelet.log"), "w"))
    ok = until(lambda: os.path.exists(p("kubelet.kubeconfig")), 20)
    check("kubelet wrote its kubeconfig after the TLS bootstrap", ok)
    cur = p("pki/kubelet-client-current.pem")
    check("kubelet-client-current.pem is a symlink to the issued pair", os.path.islink(cur) and
          "BEGIN CERTIFICATE" in open(cur).read() and "PRIVATE KEY" in open(cur).read())
    subj = subprocess.run(["openssl", "x509", "-in", cur, "-noout", "-subject"], capture_output=True, text=True).stdout
    check("client certificate subject O=system:nodes CN=system:node:test1", "system:nodes" in subj and "system:node:test1" in subj, subj)
    code, lst = adm.req("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests")
    client_csr = [c for c in lst.get("items", []) if c["spec"]["signerName"] == "kubernetes.io/kube-apiserver-client-kubelet"]
    check("client CSR node-csr-* auto-approved by the kcm double", client_csr and client_csr[0]["metadata"]["name"].startswith("node-csr-")
          and any(x["reason"] == "AutoApproved" for x in client_csr[0]["status"].get("conditions", [])), client_csr)
    check("client CSR usages [digital signature, client auth]", client_csr and
          client_csr[0]["spec"]["usages"] == ["digital signature", "client auth"], client_csr)
    node = until(lambda: (lambda r: r[0] == 200 and any(c["type"] == "Ready" and c["status"] == "True"
                                                        for c in r[1].get("status", {}).get("conditions", [])) and r[1])(
        adm.req("GET", "/api/v1/nodes/test1")), 15)
    check("node test1 registered and Ready", node, node)
    check("node InternalIP from --node-ip", node and {"type": "InternalIP", "address": "192.0.2.91"} in node["status"]["addresses"], node)
    hb1 = node and [c for c in node["status"]["conditions"] if c["type"] == "Ready"][0]["lastHeartbeatTime"]
    time.sleep(2.2)
    node2 = adm.req("GET", "/api/v1/nodes/test1")[1]
    hb2 = [c for c in (node2.get("status") or {}).get("conditions", []) if c["type"] == "Ready"][:1]
    hb2 = hb2[0]["lastHeartbeatTime"] if hb2 else None
    check("Ready heartbeat renewed", hb2 != hb1, (hb1, hb2))
    code, lease = adm.req("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/test1")
    check("node Lease in kube-node-lease", code == 200 and lease["spec"]["holderIdentity"] == "test1", lease)
    check("kubelet /healthz on healthzPort", get("http://127.0.0.1:%d/healthz" % hz)[0] == 200)

    # ---- serving certificate: not auto-approved; approved with kubectl, then signed ----
    serving = until(lambda: [c for c in adm.req("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests")[1]["items"]
                             if c["spec"]["signerName"] == "kubernetes.io/kubelet-serving"], 10)
    check("serving CSR created (csr-*, pending, requested by system:node:test1)", serving and
          serving[0]["metadata"]["name"].startswith("csr-") and serving[0]["spec"]["username"] == "system:node:test1"
          and not serving[0].get("status", {}).get("conditions"), serving)
    if serving:
        rc, out, err = kubectl(d, admin, "certificate", "approve", serving[0]["metadata"]["name"])
        check("kubectl certificate approve (serving)", rc == 0, out + err)
        ok = until(lambda: os.path.exists(p("pki/kubelet-server-current.pem")), 15)
        check("kubelet wrote kubelet-server-current.pem", ok)
        san = subprocess.run(["openssl", "x509", "-in", p("pki/kubelet-server-current.pem"), "-noout", "-ext", "subjectAltName"],
                             capture_output=True, text=True).stdout
        check("serving certificate SANs: hostname + node IP", "DNS:test1" in san and "192.0.2.91" in san, san)
        adm_cert = (p("admin.pem"), p("admin-key.pem"))
        ok = until(lambda: get("https://127.0.0.1:%d/healthz" % kport, ca, cert=adm_cert)[0] == 200, 10)
        check("kubelet serves :port with the issued certificate", ok,
              get("https://127.0.0.1:%d/healthz" % kport, ca, cert=adm_cert))
        check("kubelet :port refuses a request without a client certificate (anonymous off): 401",
              get("https://127.0.0.1:%d/healthz" % kport, ca)[0] == 401)
        # clientCAFile is reloaded while the kubelet runs
        other = (p("wrong-ca-user.pem"), p("wrong-ca-user-key.pem"))
        before = get("https://127.0.0.1:%d/healthz" % kport, ca, cert=other)[0]
        write(p("kubelet-ca.pem"), open(ca).read() + open(p("other.pem")).read())
        ok = until(lambda: get("https://127.0.0.1:%d/healthz" % kport, ca, cert=other)[0] == 200, 5)
        check("kubelet reloads authentication.x509.clientCAFile: a client of the added CA refused before, "
              "accepted after, no restart", before != 200 and ok and kubelet.poll() is None, before)

    # ---- kubelet restarted without its kubeconfig: rewritten from the bootstrap kubeconfig, no new CSR ----
    ncsr = len(adm.req("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests")[1].get("items", []))
    kubelet.terminate()
    kubelet.wait(10)
    os.unlink(p("kubelet.kubeconfig"))
    kubelet = start([BIN + "/kubelet"] + kargs, open(p("kubelet2.log"), "w"))
    ok = until(lambda: os.path.exists(p("kubelet.kubeconfig")), 15)
    hb = until(lambda: "is Ready" in open(p("kubelet2.log")).read(), 15)
    n2 = len(adm.req("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests")[1].get("items", []))
    kcy = open(p("kubelet.kubeconfig")).read() if ok else ""
    check("kubelet restarted without its kubeconfig keeps its valid client certificate: kubeconfig rewritten "
          "from the bootstrap kubeconfig (its CA data), no new CSR, node heartbeats again",
          ok and hb and n2 == ncsr and "certificate-authority-data" in kcy and
          "kubelet-client-current.pem" in kcy, (ncsr, n2, kcy[:200]))

    # ---- kube-proxy ----
    pport = free_port()
    pcfg = write(p("proxy.yaml"), "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"
                 "clientConnection:\n  kubeconfig: %s\nbindAddress: 127.0.0.1\nhealthzBindAddress: 127.0.0.1:%d\n"
                 "metricsBindAddress: 127.0.0.1:0\nclusterCIDR: 172.30.0.0/16\nhostnameOverride: test1\nmode: ipvs\n"
                 "portRange: \"\"\n" % (proxy_kc, pport))
    r = checkonly("kube-proxy", ["--config=" + pcfg])
    check("kube-proxy config with the unused portRange refused", r.returncode == 1 and 'field "portRange" is deprecated' in r.stderr, r.stderr)
    pcfg = write(p("proxy.yaml"), open(pcfg).read().replace('portRange: ""\n', ""))
    start([BIN + "/kube-proxy", "--config=" + pcfg], open(p("proxy.log"), "w"))
    ok = until(lambda: get("http://127.0.0.1:%d/healthz" % pport)[0] == 200, 10)
    body = get("http://127.0.0.1:%d/healthz" % pport)[1]
    check("kube-proxy /healthz on healthzBindAddress", ok and "nodeEligible" in body, body)
    ok = until(lambda: "node test1 found" in open(p("proxy.log")).read(), 10)
    check("kube-proxy read its Node through its kubeconfig", ok, open(p("proxy.log")).read()[-500:])

    # ---- leader election: a second controller-manager waits, takes over when the first stops ----
    kcm2 = free_port()
    start([BIN + "/kube-controller-manager", "--kubeconfig=" + kcm_kc, "--bind-address=127.0.0.1",
           "--secure-port=%d" % kcm2, "--leader-elect-lease-duration=4s", "--leader-elect-renew-deadline=3s",
           "--leader-elect-retry-period=1s"], open(p("kcm2.log"), "w"))
    time.sleep(2)
    code, lease = adm.req("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager")
    first = lease["spec"]["holderIdentity"]
    check("second controller-manager does not steal the lease", "attempting to acquire" in open(p("kcm2.log")).read()
          and "successfully acquired" not in open(p("kcm2.log")).read(), first)
    kcm1.terminate()
    kcm1.wait(5)
    ok = until(lambda: "successfully acquired" in open(p("kcm2.log")).read(), 25, 0.5)
    code, lease = adm.req("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager")
    check("second controller-manager takes the lease over after the first stops", ok and
          lease["spec"]["holderIdentity"] != first and lease["spec"].get("leaseTransitions", 0) >= 1, lease)


if __name__ == "__main__":
    sys.exit(main())
