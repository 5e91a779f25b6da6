#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Self-test of the kube-apiserver double with the real kubectl and a real
etcd: starts the double on 127.0.0.1 with an openssl-made PKI and checks what
slipway relies on.  Exit status 1 names the failed checks."""
import base64
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from k8sdouble import testpki  # noqa: E402

BIN = os.path.join(HERE, "bin")
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
ETCD = shutil.which("etcd") or "/usr/bin/etcd"
RESULTS = []
PROCS = []


def check(name, ok, detail=""):
    RESULTS.append((name, bool(ok), detail))
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, "" if ok else ": " + str(detail)[:600]), flush=True)
    return ok


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def start(args, log, env=None):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=e)
    PROCS.append(p)
    return p


def kubectl(d, kc, *args, input=None):
    r = subprocess.run([KUBECTL, "--kubeconfig", kc, "--cache-dir", os.path.join(d, "cache")] + list(args),
                       capture_output=True, text=True, input=input, timeout=30,
                       env=dict(os.environ, HOME=d))
    return r.returncode, r.stdout, r.stderr


class API:
    """Plain HTTPS client (urllib) with or without a client certificate."""

    def __init__(self, port, ca, cert=None, key=None, token=None):
        self.base = "https://127.0.0.1:%d" % port
        self.ctx = ssl.create_default_context(cafile=ca)
        if cert:
            self.ctx.load_cert_chain(cert, key)
        self.token = token

    def req(self, method, path, body=None, ctype="application/json"):
        data = json.dumps(body).encode() if body is not None else None
        r = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            r.add_header("Content-Type", ctype)
        if self.token:
            r.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(r, context=self.ctx, timeout=10) as resp:
                raw = resp.read()
                return resp.status, (json.loads(raw) if raw[:1] in (b"{", b"[") else raw.decode())
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, raw.decode()

    def watch(self, path, max_events=10, timeout=5):
        r = urllib.request.Request(self.base + path)
        evs = []
        with urllib.request.urlopen(r, context=self.ctx, timeout=timeout + 5) as resp:
            while len(evs) < max_events:
                line = resp.readline()
                if not line:
                    break
                if line.strip():
                    evs.append(json.loads(line))
        return evs


def csr_body(name, cn, orgs, signer, usages, key_dir):
    kp = os.path.join(key_dir, name + ".key")
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", kp], check=True,
                   capture_output=True)
    subj = "".join("/O=" + o for o in orgs) + "/CN=" + cn
    pem = subprocess.run(["openssl", "req", "-new", "-key", kp, "-subj", subj], check=True,
                         capture_output=True).stdout
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": name},
            "spec": {"request": base64.b64encode(pem).decode(), "signerName": signer, "usages": usages}}


def main():
    t0 = time.time()
    d = tempfile.mkdtemp(prefix="k8sdouble-test-")
    try:
        run(d)
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.terminate()
        for p in PROCS:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        failed = [n for n, ok, _ in RESULTS if not ok]
        if failed and os.environ.get("K8SDOUBLE_KEEP") != "1":
            for f in ("apiserver.log", "etcd.log"):
                p = os.path.join(d, f)
                if os.path.exists(p):
                    print("---- %s (tail)" % f)
                    print("".join(open(p).readlines()[-30:]))
        if os.environ.get("K8SDOUBLE_KEEP") != "1":
            shutil.rmtree(d, ignore_errors=True)
        else:
            print("kept", d)
    npass = sum(1 for _, ok, _ in RESULTS if ok)
    print("k8sdouble kubectl test: %.1fs" % (time.time() - t0))
    print("%d passed, %d failed" % (npass, len(failed)))
    if failed:
        print("failed checks: " + ", ".join(failed))
        return 1
    return 0


def run(d):
    ca, cak = testpki.ca(d)
    testpki.cert(d, "apiserver", ca, cak, "kube-apiserver", dns=["localhost", "kubernetes"],
                 ips=["127.0.0.1"], server=True, client=False)
    testpki.cert(d, "admin", ca, cak, "admin", orgs=["system:masters"])
    testpki.cert(d, "node-a", ca, cak, "system:node:node-a", orgs=["system:nodes"])
    testpki.cert(d, "node-b", ca, cak, "system:node:node-b", orgs=["system:nodes"])
    testpki.cert(d, "etcd", ca, cak, "etcd", ips=["127.0.0.1"], server=True, client=True)
    testpki.cert(d, "apiserver-etcd-client", ca, cak, "kube-apiserver-etcd-client")
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out",
                    os.path.join(d, "sa-key.pem")], check=True)
    port, etcd_port, etcd_peer = free_port(), free_port(), free_port()
    server = "https://127.0.0.1:%d" % port
    admin = testpki.kubeconfig(os.path.join(d, "admin.kubeconfig"), server, ca,
                               os.path.join(d, "admin.pem"), os.path.join(d, "admin-key.pem"))
    node_a = testpki.kubeconfig(os.path.join(d, "node-a.kubeconfig"), server, ca,
                                os.path.join(d, "node-a.pem"), os.path.join(d, "node-a-key.pem"), embed=False)
    token = "abc123.0123456789abcdef"
    boot = testpki.kubeconfig(os.path.join(d, "bootstrap.kubeconfig"), server, ca, token=token, user="kubelet-bootstrap")
    p = lambda n: os.path.join(d, n)  # noqa: E731

    # --- flag fidelity (no server needed) ---
    api_flags = ["--bind-address=127.0.0.1", "--secure-port=%d" % port,
                 "--tls-cert-file=" + p("apiserver.pem"), "--tls-private-key-file=" + p("apiserver-key.pem"),
                 "--client-ca-file=" + ca, "--etcd-servers=https://127.0.0.1:%d" % etcd_port,
                 "--etcd-cafile=" + ca, "--etcd-certfile=" + p("apiserver-etcd-client.pem"),
                 "--etcd-keyfile=" + p("apiserver-etcd-client-key.pem"),
                 "--service-account-issuer=https://kubernetes.default.svc",
                 "--service-account-signing-key-file=" + p("sa-key.pem"),
                 "--service-account-key-file=" + p("sa-key.pem"),
                 "--authorization-mode", "Node,RBAC", "--anonymous-auth=false", "--enable-bootstrap-token-auth",
                 "--enable-admission-plugins=NodeRestriction"]
    r = subprocess.run([BIN + "/kube-apiserver"] + api_flags, capture_output=True, text=True,
                       env=dict(os.environ, K8SDOUBLE_CHECK_ONLY="1"))
    check("check-only mode accepts a good kube-apiserver command line", r.returncode == 0, r.stderr)
    r = subprocess.run([BIN + "/kube-apiserver", "--foo=bar"] + api_flags, capture_output=True, text=True,
                       env=dict(os.environ, K8SDOUBLE_CHECK_ONLY="1"))
    check("unknown flag refused", r.returncode == 1 and "Error: unknown flag: --foo" in r.stderr, r.stderr)
    r = subprocess.run([BIN + "/kube-apiserver", "--apiserver-count=3"] + api_flags, capture_output=True, text=True,
                       env=dict(os.environ, K8SDOUBLE_CHECK_ONLY="1"))
    check("seed-era --apiserver-count refused", r.returncode == 1 and "unknown flag: --apiserver-count" in r.stderr, r.stderr)
    r = subprocess.run([BIN + "/kube-apiserver", "--enable-admission-plugins=Initializers"] + api_flags,
                       capture_output=True, text=True, env=dict(os.environ, K8SDOUBLE_CHECK_ONLY="1"))
    check("unknown admission plugin refused", r.returncode == 1 and 'plugin "Initializers" is unknown' in r.stderr, r.stderr)
    r = subprocess.run([BIN + "/kubelet", "--address=127.0.0.1"], capture_output=True, text=True,
                       env=dict(os.environ, K8SDOUBLE_CHECK_ONLY="1"))
    check("deprecated kubelet flag refused", r.returncode == 1 and "flag --address is deprecated:" in r.stderr, r.stderr)
    r = subprocess.run([BIN + "/kube-scheduler", "--version"], capture_output=True, text=True)
    check("--version", r.returncode == 0 and r.stdout.strip() == "Kubernetes v1.36.0", r.stdout + r.stderr)

    # --- start the apiserver with etcd not yet running ---
    alog = open(p("apiserver.log"), "w")
    start([BIN + "/kube-apiserver"] + api_flags, alog,
          {"K8SDOUBLE_FAULTS": "1", "K8SDOUBLE_EVENT_HISTORY": "25", "K8SDOUBLE_BOOKMARK_INTERVAL": "1"})
    if not check("apiserver listens", wait_port(port)):
        return
    adm = API(port, ca, p("admin.pem"), p("admin-key.pem"))
    code, body = adm.req("GET", "/readyz")
    check("readyz fails (500) while etcd is unreachable", code == 500 and "[-]etcd failed" in str(body), (code, body))
    elog = open(p("etcd.log"), "w")
    start([ETCD, "--name", "t", "--data-dir", p("etcd-data"),
           "--listen-client-urls", "https://127.0.0.1:%d" % etcd_port,
           "--advertise-client-urls", "https://127.0.0.1:%d" % etcd_port,
           "--listen-peer-urls", "http://127.0.0.1:%d" % etcd_peer,
           "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % etcd_peer,
           "--initial-cluster", "t=http://127.0.0.1:%d" % etcd_peer,
           "--cert-file", p("etcd.pem"), "--key-file", p("etcd-key.pem"), "--client-cert-auth",
           "--trusted-ca-file", ca], elog)
    ready = False
    for _ in range(100):
        code, body = adm.req("GET", "/readyz")
        if code == 200:
            ready = True
            break
        time.sleep(0.1)
    check("readyz passes once etcd answers /health over mTLS", ready, (code, body))
    anon = API(port, ca)
    code, body = anon.req("GET", "/api")
    check("anonymous request -> 401 Status", code == 401 and isinstance(body, dict) and body.get("reason") == "Unauthorized", (code, body))

    # --- kubectl basics ---
    rc, out, err = kubectl(d, admin, "get", "ns")
    check("kubectl get ns", rc == 0 and "kube-system" in out and "kube-node-lease" in out, out + err)
    secret = {"apiVersion": "v1", "kind": "Secret",
              "metadata": {"name": "bootstrap-token-abc123", "namespace": "kube-system"},
              "type": "bootstrap.kubernetes.io/token",
              "stringData": {"token-id": "abc123", "token-secret": "0123456789abcdef",
                             "usage-bootstrap-authentication": "true", "usage-bootstrap-signing": "true",
                             "auth-extra-groups": "system:bootstrappers:node-a",
                             "expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 600))}}
    rc, out, err = kubectl(d, admin, "create", "-f", "-", input=json.dumps(secret))
    check("kubectl create bootstrap-token Secret", rc == 0, out + err)
    rc, out, err = kubectl(d, admin, "get", "secret", "-n", "kube-system")
    check("kubectl get secret -n kube-system", rc == 0 and "bootstrap-token-abc123" in out and
          "bootstrap.kubernetes.io/token" in out, out + err)
    print(out, end="")

    rc, out, err = kubectl(d, admin, "create", "namespace", "slipway-test")
    rc2, out2, err2 = kubectl(d, admin, "-n", "slipway-test", "create", "secret", "generic", "s1", "--from-literal=a=b")
    rc3, out3, err3 = kubectl(d, admin, "-n", "slipway-test", "get", "secret", "s1", "-o", "jsonpath={.data.a}")
    check("kubectl create namespace / secret generic (protobuf bodies)", rc == rc2 == rc3 == 0 and out3 == "Yg==",
          out + err + out2 + err2 + out3 + err3)

    # a body of unknown length (kubectl create --raw -f - streams stdin): chunked
    rc, out, err = kubectl(d, admin, "-n", "slipway-test", "create", "serviceaccount", "probe")
    tr = json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                     "spec": {"expirationSeconds": 3600}})
    rc2, out2, err2 = kubectl(d, admin, "create", "--raw",
                              "/api/v1/namespaces/slipway-test/serviceaccounts/probe/token", "-f", "-", input=tr)
    check("kubectl create --raw -f - (a chunked request body): a TokenRequest",
          rc == rc2 == 0 and (json.loads(out2 or "{}").get("status") or {}).get("token", "").count(".") == 2,
          out + err + out2 + err2)

    # --- bootstrap token: 403 before the binding, 201 after ---
    csr1 = csr_body("node-csr-one", "system:node:node-a", ["system:nodes"],
                    "kubernetes.io/kube-apiserver-client-kubelet", ["digital signature", "client auth"], d)
    rc, out, err = kubectl(d, boot, "create", "-f", "-", input=json.dumps(csr1))
    want = ('certificatesigningrequests.certificates.k8s.io is forbidden: User "system:bootstrap:abc123" cannot create '
            'resource "certificatesigningrequests" in API group "certificates.k8s.io" at the cluster scope')
    check("bootstrap token cannot create a CSR before the node-bootstrapper binding (403)", rc != 0 and want in err, err)
    crb = ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: kubelet-bootstrap\n"
           "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: system:node-bootstrapper\n"
           "subjects:\n- apiGroup: rbac.authorization.k8s.io\n  kind: Group\n  name: system:bootstrappers\n")
    with open(p("crb.yaml"), "w") as f:
        f.write(crb)
    rc, out, err = kubectl(d, admin, "auth", "can-i", "create", "certificatesigningrequests",
                           "--as=system:bootstrap:abc123", "--as-group=system:bootstrappers")
    check("kubectl auth can-i --as the token identity: no", out.strip() == "no", out + err)
    rc, out, err = kubectl(d, admin, "create", "-f", p("crb.yaml"))
    check("kubectl create -f ClusterRoleBinding", rc == 0 and "created" in out, out + err)
    rc, out, err = kubectl(d, admin, "auth", "can-i", "create", "certificatesigningrequests",
                           "--as=system:bootstrap:abc123", "--as-group=system:bootstrappers")
    check("kubectl auth can-i --as the token identity after the binding: yes", out.strip() == "yes", out + err)
    rc, out, err = kubectl(d, boot, "create", "-f", "-", input=json.dumps(csr1))
    check("bootstrap token creates a CSR after the binding", rc == 0, out + err)
    bt = API(port, ca, token=token)
    code, obj = bt.req("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests/node-csr-one")
    spec = obj.get("spec", {}) if isinstance(obj, dict) else {}
    check("server overwrote spec.username/groups with the token identity",
          code == 200 and spec.get("username") == "system:bootstrap:abc123" and
          spec.get("groups") == ["system:bootstrappers", "system:bootstrappers:node-a", "system:authenticated"], obj)
    code, obj = API(port, ca, token="abc123.ffffffffffffffff").req("GET", "/api")
    check("wrong bootstrap token secret -> 401", code == 401, (code, obj))

    # --- CSR approve / deny with kubectl ---
    csr2 = csr_body("node-csr-two", "system:node:node-a", ["system:nodes"],
                    "kubernetes.io/kube-apiserver-client-kubelet", ["digital signature", "client auth"], d)
    kubectl(d, boot, "create", "-f", "-", input=json.dumps(csr2))
    rc, out, err = kubectl(d, admin, "get", "csr")
    check("kubectl get csr lists both as Pending", rc == 0 and out.count("Pending") == 2 and
          "system:bootstrap:abc123" in out, out + err)
    print(out, end="")
    rc, out, err = kubectl(d, admin, "certificate", "approve", "node-csr-one")
    check("kubectl certificate approve", rc == 0 and "approved" in out, out + err)
    rc, out, err = kubectl(d, admin, "certificate", "deny", "node-csr-two")
    check("kubectl certificate deny", rc == 0 and "denied" in out, out + err)
    rc, out, err = kubectl(d, admin, "get", "csr")
    check("kubectl get csr shows Approved and Denied", rc == 0 and "Approved" in out and "Denied" in out, out + err)
    print(out, end="")
    code, obj = bt.req("PUT", "/apis/certificates.k8s.io/v1/certificatesigningrequests/node-csr-one/approval",
                       bt.req("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests/node-csr-one")[1])
    check("bootstrap token may not approve (403)", code == 403, (code, obj))
    code, cur = adm.req("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests/node-csr-one")
    cur["status"]["conditions"] = [{"type": "Denied", "status": "True", "reason": "x"}]
    code, obj = adm.req("PUT", "/apis/certificates.k8s.io/v1/certificatesigningrequests/node-csr-one/approval", cur)
    check("cannot un-approve (422)", code == 422 and "may not remove a condition of type \\\"Approved\\\"" in json.dumps(obj), (code, obj))
    code, cur = adm.req("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests/node-csr-one")
    stale = json.loads(json.dumps(cur))
    cur["metadata"].setdefault("labels", {})["x"] = "y"
    adm.req("PUT", "/apis/certificates.k8s.io/v1/certificatesigningrequests/node-csr-one", cur)
    code, obj = adm.req("PUT", "/apis/certificates.k8s.io/v1/certificatesigningrequests/node-csr-one", stale)
    want = ('Operation cannot be fulfilled on certificatesigningrequests.certificates.k8s.io "node-csr-one": the object '
            'has been modified; please apply your changes to the latest version and try again')
    check("PUT with stale resourceVersion -> 409 Conflict", code == 409 and obj.get("message") == want, (code, obj))
    code, obj = adm.req("GET", "/apis/certificates.k8s.io/v1/certificatesigningrequests/nope")
    check("GET missing -> 404 NotFound Status", code == 404 and obj.get("message") ==
          'certificatesigningrequests.certificates.k8s.io "nope" not found', (code, obj))
    bad = dict(csr_body("bad", "x", [], "kubernetes.io/kube-apiserver-client", ["client auth"], d))
    bad["spec"]["request"] = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n").decode()
    code, obj = adm.req("POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", bad)
    check("CSR with a non-CSR PEM -> 422", code == 422 and "PEM block type must be CERTIFICATE REQUEST" in obj.get("message", ""), (code, obj))
    gen = csr_body("", "system:node:node-a", ["system:nodes"], "kubernetes.io/kube-apiserver-client-kubelet",
                   ["digital signature", "client auth"], d)
    gen["metadata"] = {"generateName": "csr-"}
    code, obj = adm.req("POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", gen)
    check("generateName csr-", code == 201 and obj["metadata"]["name"].startswith("csr-") and
          len(obj["metadata"]["name"]) == 9, (code, obj))

    # --- nodes: node A may write node A only ---
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a", "labels": {"kubernetes.io/hostname": "node-a"}},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                       "message": "kubelet is posting ready status"}],
                       "addresses": [{"type": "InternalIP", "address": "192.0.2.10"}],
                       "nodeInfo": {"kubeletVersion": "v1.36.0"}}}
    rc, out, err = kubectl(d, node_a, "create", "-f", "-", input=json.dumps(node))
    check("node A registers its Node", rc == 0, out + err)
    nodeb = json.loads(json.dumps(node))
    nodeb["metadata"] = {"name": "node-b"}
    rc, out, err = kubectl(d, node_a, "create", "-f", "-", input=json.dumps(nodeb))
    check("node A cannot create node B (NodeRestriction)", rc != 0 and
          'node "node-a" is not allowed to modify node "node-b"' in err, out + err)
    rc, out, err = kubectl(d, admin, "create", "-f", "-", input=json.dumps(nodeb))
    check("admin creates node B", rc == 0, out + err)
    rc, out, err = kubectl(d, node_a, "label", "node", "node-b", "x=y")
    check("node A cannot update node B (403)", rc != 0 and 'nodes "node-b" is forbidden: node "node-a" is not allowed to modify node "node-b"' in err, out + err)
    na = API(port, ca, p("node-a.pem"), p("node-a-key.pem"))
    code, obj = na.req("PATCH", "/api/v1/nodes/node-a/status",
                       {"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                                   "lastHeartbeatTime": "2026-01-01T00:00:00Z"}]}},
                       ctype="application/strategic-merge-patch+json")
    check("node A patches its own node status (strategic merge)", code == 200 and
          obj["status"]["conditions"][0].get("lastHeartbeatTime") == "2026-01-01T00:00:00Z", (code, obj))
    code, obj = na.req("PATCH", "/api/v1/nodes/node-b/status", {"status": {"conditions": []}},
                       ctype="application/merge-patch+json")
    check("node A cannot patch node B status (403)", code == 403, (code, obj))
    rc, out, err = kubectl(d, node_a, "get", "secrets", "-n", "kube-system")
    check("node A cannot list secrets", rc != 0 and "forbidden" in err, out + err)
    rc, out, err = kubectl(d, admin, "get", "nodes", "-o", "wide")
    check("kubectl get nodes", rc == 0 and "node-a" in out and "Ready" in out and "192.0.2.10" in out, out + err)
    print(out, end="")

    # --- watch ---
    code, lst = adm.req("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases")
    rv = lst["metadata"]["resourceVersion"]
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "w1", "namespace": "kube-system"}, "spec": {"holderIdentity": "a"}}
    adm.req("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases", lease)
    evs = adm.watch("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases?watch=true&resourceVersion=%s"
                    "&timeoutSeconds=2&fieldSelector=metadata.name%%3Dw1" % rv, max_events=1)
    check("watch from resourceVersion sees ADDED", evs and evs[0]["type"] == "ADDED" and
          evs[0]["object"]["metadata"]["name"] == "w1", evs)
    evs = adm.watch("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases?watch=true&resourceVersion=%s"
                    "&timeoutSeconds=3&allowWatchBookmarks=true" % lst["metadata"]["resourceVersion"], max_events=2)
    check("watch with bookmarks", any(e["type"] == "BOOKMARK" for e in evs), evs)
    for i in range(30):
        adm.req("POST", "/api/v1/namespaces/default/configmaps",
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c%d" % i}})
    evs = adm.watch("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases?watch=true&resourceVersion=%s"
                    "&timeoutSeconds=2" % rv, max_events=1)
    check("too-old resourceVersion -> ERROR 410 Expired", evs and evs[0]["type"] == "ERROR" and
          evs[0]["object"].get("code") == 410 and evs[0]["object"].get("reason") == "Expired", evs)

    # --- fault injection ---
    code, st = adm.req("POST", "/_double/faults", {"conflict": {"resource": "leases", "count": 1}})
    check("fault endpoint (system:masters)", code == 200, (code, st))
    code, st = API(port, ca, p("node-a.pem"), p("node-a-key.pem")).req("POST", "/_double/faults", {"reset": True})
    check("fault endpoint refuses non-masters", code == 403, (code, st))
    code, cur = adm.req("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/w1")
    code, obj = adm.req("PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/w1", cur)
    check("injected 409 on the next lease update", code == 409 and obj.get("reason") == "Conflict", (code, obj))
    code, obj = adm.req("PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/w1", cur)
    check("following update succeeds", code == 200, (code, obj))
    import threading
    box = {}

    def watcher():
        t = time.time()
        box["events"] = adm.watch("/api/v1/nodes?watch=true&timeoutSeconds=20", max_events=100, timeout=20)
        box["secs"] = time.time() - t
    th = threading.Thread(target=watcher)
    th.start()
    time.sleep(0.5)
    adm.req("POST", "/_double/faults", {"closeWatches": True})
    th.join(10)
    check("closeWatches ends open watch streams", not th.is_alive() and box.get("secs", 99) < 5, box)
    # --- pods: a drain lists them by node across namespaces and deletes them ---
    for ns, name, node in (("default", "pa", "node-a"), ("kube-system", "pb", "node-a"),
                           ("default", "pc", "node-b")):
        code, _ = adm.req("POST", "/api/v1/namespaces/%s/pods" % ns,
                          {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                           "spec": {"nodeName": node, "containers": [{"name": "c", "image": "x"}]}})
        check("pod %s/%s created" % (ns, name), code == 201, code)
    code, obj = adm.req("GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a")
    got = sorted("%s/%s" % (i["metadata"]["namespace"], i["metadata"]["name"])
                 for i in (obj or {}).get("items", [])) if code == 200 else []
    check("pods of a node across namespaces (fieldSelector spec.nodeName)",
          got == ["default/pa", "kube-system/pb"], (code, got))
    code, _ = adm.req("DELETE", "/api/v1/namespaces/default/pods/pa")
    code2, obj = adm.req("GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a")
    check("a deleted pod is gone", code == 200 and code2 == 200 and
          [i["metadata"]["name"] for i in obj.get("items", [])] == ["pb"], (code, code2))

    adm.req("POST", "/_double/faults", {"error": {"code": 503, "seconds": 1, "pathPrefix": "/api/"}})
    code, obj = adm.req("GET", "/api/v1/nodes")
    check("injected 503", code == 503, (code, obj))
    time.sleep(1.1)
    code, obj = adm.req("GET", "/api/v1/nodes")
    check("503 window ends", code == 200, code)

    # --- persistence across a restart (K8SDOUBLE_STATE) ---
    port2 = free_port()
    flags2 = [f if not f.startswith("--secure-port") else "--secure-port=%d" % port2 for f in api_flags]
    env2 = {"K8SDOUBLE_STATE": p("state.json"), "K8SDOUBLE_NO_ETCD": "1"}
    a1 = start([BIN + "/kube-apiserver"] + flags2, open(p("apiserver2.log"), "w"), env2)
    wait_port(port2)
    adm2 = API(port2, ca, p("admin.pem"), p("admin-key.pem"))
    code, cm = adm2.req("POST", "/api/v1/namespaces/default/configmaps",
                        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keep"}, "data": {"a": "b"}})
    a1.terminate()
    a1.wait(5)
    start([BIN + "/kube-apiserver"] + flags2, open(p("apiserver3.log"), "a"), env2)
    wait_port(port2)
    code, got = adm2.req("GET", "/api/v1/namespaces/default/configmaps/keep")
    check("objects survive a restart with K8SDOUBLE_STATE", code == 200 and got.get("data") == {"a": "b"} and
          got["metadata"]["uid"] == cm["metadata"]["uid"], (code, got))
    code, lst = adm2.req("GET", "/api/v1/namespaces/default/configmaps")
    check("resourceVersion counter continues after a restart",
          int(lst["metadata"]["resourceVersion"]) >= int(cm["metadata"]["resourceVersion"]), lst.get("metadata"))


if __name__ == "__main__":
    sys.exit(main())
