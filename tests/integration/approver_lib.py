# SPDX-License-Identifier: Apache-2.0
"""Shared set-up of the approver's integration tests: a slipway state whose
inventory VIP is the kube-apiserver double on 127.0.0.1, the double started
with certificates slipway issued, kubectl with an admin certificate,
kubelet doubles bootstrapping from `slipway bundle render`'s bootstrap
kubeconfig, and `slipway approve` as a process.  Loopback only, free ports,
one temporary directory, every wait bounded."""
import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SLIPWAY = os.environ.get("SLIPWAY") or "slipway"
SRC = os.environ.get("SLW_SRC") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(SRC, "tests", "k8sdouble", "bin")
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
CSR_PATH = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
CLIENT = "kubernetes.io/kube-apiserver-client-kubelet"
SERVING = "kubernetes.io/kubelet-serving"

NODES = [("test1", "192.168.0.91"), ("test2", "192.168.0.92"), ("test3", "192.168.0.93")]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Env:
    def __init__(self, name):
        self.name = name
        self.t0 = time.time()
        self.d = tempfile.mkdtemp(prefix="%s-" % name)
        self.results = []
        self.procs = []
        self.api_proc = None
        self.port = free_port()
        self.url = "https://127.0.0.1:%d" % self.port
        self.state = self.p("state")

    # -- bookkeeping --
    def p(self, *parts):
        return os.path.join(self.d, *parts)

    def check(self, name, ok, detail=""):
        self.results.append((name, bool(ok), detail))
        print("%s %s%s" % ("ok  " if ok else "FAIL", name, "" if ok else ": " + str(detail)[:1500]), flush=True)
        return ok

    def wait(self, fn, timeout=30, step=0.2):
        end = time.time() + timeout
        while time.time() < end:
            v = fn()
            if v:
                return v
            time.sleep(step)
        return None

    def finish(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        failed = [n for n, ok, _ in self.results if not ok]
        if failed:
            for f in sorted(os.listdir(self.d)):
                if f.endswith(".log"):
                    print("---- %s (tail)" % f)
                    print("".join(open(self.p(f), errors="replace").readlines()[-25:]))
        if os.environ.get("APPROVER_KEEP") == "1":
            print("kept", self.d)
        else:
            shutil.rmtree(self.d, ignore_errors=True)
        npass = sum(1 for _, ok, _ in self.results if ok)
        print("%s: %.1fs, %d passed, %d failed" % (self.name, time.time() - self.t0, npass, len(failed)))
        if failed:
            print("failed checks: " + "; ".join(failed))
            return 1
        return 0

    # -- processes --
    def start(self, args, log, env=None):
        e = dict(os.environ)
        e.update(env or {})
        f = open(self.p(log), "a")
        p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, env=e)
        self.procs.append(p)
        return p

    def slipway(self, *args, timeout=60, input=None):
        return subprocess.run([SLIPWAY, "--state", self.state] + list(args), capture_output=True, text=True,
                              timeout=timeout, input=input)

    def kubectl(self, *args, input=None):
        r = subprocess.run([KUBECTL, "--kubeconfig", self.p("admin.kubeconfig"), "--cache-dir", self.p("kcache")]
                           + list(args), capture_output=True, text=True, input=input, timeout=30,
                           env=dict(os.environ, HOME=self.d))
        return r.returncode, r.stdout, r.stderr

    # -- slipway state and the apiserver double --
    def init(self, signing_mode="appliance"):
        nodes = "\n".join("  - { name: %s, ip: %s, roles: [etcd, master, worker]%s }" %
                          (n, ip, ", extraNames: [%s.cluster.local]" % n) for n, ip in NODES)
        with open(self.p("cluster.yaml"), "w") as f:
            f.write("apiVersion: slipway/v1\nkind: Cluster\n"
                    "cluster: { name: kubernetes, kubernetesVersion: v1.36.0 }\n"
                    "apiserver: { vip: 127.0.0.1, vipPort: %d }\n"
                    "security: { signingMode: %s, kubeletCertificateMaxAge: 720h }\n"
                    "nodes:\n%s\n" % (self.port, signing_mode, nodes))
        r = self.slipway("init", "--cluster", self.p("cluster.yaml"))
        if r.returncode != 0:
            raise SystemExit("slipway init: " + r.stderr)
        for args in (["cert", "issue", "--profile", "server", "--cn", "kube-apiserver", "--san", "IP:127.0.0.1",
                      "--san", "DNS:localhost", "--out", self.p("apiserver")],
                     ["cert", "issue", "--profile", "client", "--cn", "admin", "--org", "system:masters",
                      "--out", self.p("admin")]):
            r = self.slipway(*args)
            if r.returncode != 0:
                raise SystemExit("slipway %s: %s" % (" ".join(args[:2]), r.stderr))
        r = self.slipway("ca", "export", "--ca", "kubernetes")
        with open(self.p("ca.pem"), "w") as f:
            f.write(r.stdout)
        subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out",
                        self.p("sa-key.pem")], check=True, capture_output=True)
        with open(self.p("admin.kubeconfig"), "w") as f:
            f.write("apiVersion: v1\nkind: Config\nclusters:\n- name: k\n  cluster:\n"
                    "    server: %s\n    certificate-authority: %s\n"
                    "users:\n- name: admin\n  user:\n    client-certificate: %s\n    client-key: %s\n"
                    "contexts:\n- name: k\n  context: {cluster: k, user: admin}\ncurrent-context: k\n"
                    % (self.url, self.p("ca.pem"), self.p("admin.pem"), self.p("admin-key.pem")))

    def start_apiserver(self, extra_env=None):
        flags = ["--bind-address=127.0.0.1", "--secure-port=%d" % self.port,
                 "--tls-cert-file=" + self.p("apiserver.pem"), "--tls-private-key-file=" + self.p("apiserver-key.pem"),
                 "--client-ca-file=" + self.p("ca.pem"), "--etcd-servers=https://127.0.0.1:2379",
                 "--service-account-issuer=https://kubernetes.default.svc",
                 "--service-account-signing-key-file=" + self.p("sa-key.pem"),
                 "--service-account-key-file=" + self.p("sa-key.pem"),
                 "--authorization-mode=Node,RBAC", "--anonymous-auth=false", "--enable-bootstrap-token-auth",
                 "--enable-admission-plugins=NodeRestriction"]
        env = {"K8SDOUBLE_NO_ETCD": "1", "K8SDOUBLE_FAULTS": "1", "K8SDOUBLE_STATE": self.p("apiserver-state.json"),
               "K8SDOUBLE_ACCESS_LOG": "1", "K8SDOUBLE_BOOKMARK_INTERVAL": "5"}
        env.update(extra_env or {})
        self.api_proc = self.start([os.path.join(BIN, "kube-apiserver")] + flags, "apiserver.log", env)
        ok = self.wait(lambda: self.api("GET", "/readyz")[0] == 200, 20)
        if not ok:
            raise SystemExit("the apiserver double did not become ready")

    def stop_apiserver(self):
        if self.api_proc is not None and self.api_proc.poll() is None:
            self.api_proc.send_signal(signal.SIGTERM)
            try:
                self.api_proc.wait(10)
            except subprocess.TimeoutExpired:
                self.api_proc.kill()
                self.api_proc.wait(5)
        self.api_proc = None

    def api(self, method, path, body=None):
        ctx = ssl.create_default_context(cafile=self.p("ca.pem"))
        ctx.load_cert_chain(self.p("admin.pem"), self.p("admin-key.pem"))
        data = json.dumps(body).encode() if body is not None else None
        r = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            r.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(r, context=ctx, timeout=10) as resp:
                raw = resp.read()
                try:
                    return resp.status, json.loads(raw)
                except ValueError:
                    return resp.status, raw.decode()
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, raw.decode()
        except OSError as e:
            return None, str(e)

    def fault(self, body):
        return self.api("POST", "/_double/faults", body)

    def csrs(self):
        code, lst = self.api("GET", CSR_PATH)
        return lst.get("items", []) if code == 200 else []

    def csr(self, name):
        code, obj = self.api("GET", CSR_PATH + "/" + name)
        return obj if code == 200 else None

    # -- kubelets --
    def bootstrap_kubeconfig(self, node):
        out = self.p("bundle-" + node)
        if not os.path.exists(out):
            r = self.slipway("bundle", "render", "--node", node, "--out", out)
            if r.returncode != 0:
                raise SystemExit("slipway bundle render: " + r.stderr)
        return os.path.join(out, "etc", "kubernetes", "kubelet-bootstrap.kubeconfig")

    def start_kubelet(self, name, bootstrap_kc, ip, timeout=120):
        kd = self.p("kubelet-" + name)
        os.makedirs(kd, exist_ok=True)
        with open(os.path.join(kd, "config.yaml"), "w") as f:
            f.write("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
                    "serverTLSBootstrap: true\nhealthzPort: 0\nnodeStatusUpdateFrequency: 2s\n")
        args = [os.path.join(BIN, "kubelet"), "--config=" + os.path.join(kd, "config.yaml"),
                "--bootstrap-kubeconfig=" + bootstrap_kc, "--kubeconfig=" + os.path.join(kd, "kubelet.kubeconfig"),
                "--cert-dir=" + os.path.join(kd, "cert"), "--hostname-override=" + name, "--node-ip=" + ip]
        return self.start(args, "kubelet-%s.log" % name,
                          {"K8SDOUBLE_KUBELET_NO_SERVER": "1", "K8SDOUBLE_CSR_TIMEOUT": str(timeout),
                           "K8SDOUBLE_CONNECT_TIMEOUT": "60"})

    def kubelet_cert(self, name, which="client"):
        path = os.path.join(self.p("kubelet-" + name), "cert", "kubelet-%s-current.pem" % which)
        return path if os.path.exists(path) else None

    def node_ready(self, name):
        code, obj = self.api("GET", "/api/v1/nodes/" + name)
        if code != 200:
            return False
        return any(c.get("type") == "Ready" and c.get("status") == "True"
                   for c in (obj.get("status") or {}).get("conditions") or [])

    def pending(self, signer=None, user=None):
        out = []
        for c in self.csrs():
            if (c.get("status") or {}).get("conditions"):
                continue
            if signer and c["spec"]["signerName"] != signer:
                continue
            if user and c["spec"].get("username") != user:
                continue
            out.append(c)
        return out

    # -- slipway's approver --
    def start_approver(self, log="approver.log", extra=()):
        return self.start([SLIPWAY, "--state", self.state, "approve"] + list(extra), log)

    def stop(self, proc, timeout=15):
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
            return None

    def log(self, name):
        try:
            return open(self.p(name), errors="replace").read()
        except OSError:
            return ""

    def certs(self):
        """slipway's certificate records (cert list --json)."""
        r = self.slipway("--json", "cert", "list")
        try:
            return json.loads(r.stdout)
        except ValueError:
            return []

    def audit(self):
        r = self.slipway("--json", "audit", "list")
        try:
            return json.loads(r.stdout)
        except ValueError:
            return []


def cond(obj, typ):
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == typ:
            return c
    return None


def cert_pem(obj):
    c = ((obj or {}).get("status") or {}).get("certificate")
    return base64.b64decode(c).decode() if c else None


def openssl_text(pem):
    r = subprocess.run(["openssl", "x509", "-noout", "-subject", "-issuer", "-ext",
                        "extendedKeyUsage,subjectAltName"], input=pem, capture_output=True, text=True)
    return r.stdout + r.stderr


def verify(ca, pem_path):
    r = subprocess.run(["openssl", "verify", "-CAfile", ca, pem_path], capture_output=True, text=True)
    return r.returncode == 0, (r.stdout + r.stderr).strip()


def main(name, run):
    env = Env(name)
    try:
        run(env)
    except SystemExit as e:
        env.check("set-up", False, str(e))
    except Exception as e:  # report, do not hide
        import traceback
        traceback.print_exc()
        env.check("test raised", False, repr(e))
    finally:
        rc = env.finish()
    sys.exit(rc)
