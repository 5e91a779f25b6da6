#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Self-test of what the kube-apiserver and kubelet doubles do like the real
components where slipway's rotations rely on it (README.md, "What the
rotations rely on"): two apiservers on one etcd are one cluster; Secrets
are encrypted at rest per EncryptionConfiguration (first key writes, every
key reads, a removed key makes its Secrets unreadable), read from the file
only at start; service-account tokens are JWTs signed by the signing key
and verified by every key of --service-account-key-file, read only at
start; --client-ca-file, --requestheader-client-ca-file and the serving
certificate are reloaded while running; requestheader authentication; the
graceful shutdown (/readyz fails, requests still served for
--shutdown-delay-duration); the kubelet's certificate rotation deadline.
A real etcd (plain http on loopback); exit 1 names the failed checks."""
import base64
import datetime
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from k8sdouble import kubelet as kubeletmod  # noqa: E402
from k8sdouble import testpki  # noqa: E402

BIN = os.path.join(HERE, "bin")
ETCD = shutil.which("etcd") or "/usr/bin/etcd"
ETCDCTL = shutil.which("etcdctl") or "/usr/bin/etcdctl"
RESULTS = []
PROCS = []


def check(name, ok, detail=""):
    RESULTS.append((name, bool(ok)))
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, "" if ok else ": " + str(detail)[:600]), flush=True)
    return ok


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def until(fn, timeout=10, step=0.1):
    end = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() >= end:
            return v
        time.sleep(step)


class API:
    """HTTPS client of one apiserver with a client certificate (or a token),
    keep-alive like a component's."""

    def __init__(self, port, ca, cert=None, key=None, token=None, headers=None):
        self.port, self.token, self.headers = port, token, headers or {}
        self.ctx = ssl.create_default_context(cafile=ca)
        self.ctx.check_hostname = False
        if cert:
            self.ctx.load_cert_chain(cert, key)
        self.conn = None

    def req(self, method, path, body=None):
        import http.client
        h = dict(self.headers)
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        for attempt in (0, 1):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=10)
                self.conn.request(method, path, data, h)
                r = self.conn.getresponse()
                raw = r.read()
                try:
                    return r.status, json.loads(raw) if raw else {}
                except ValueError:
                    return r.status, {"text": raw.decode(errors="replace")}
            except (OSError, http.client.HTTPException) as e:
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt:
                    return None, {"error": str(e)}


class World:
    def __init__(self, d):
        self.d = d
        self.etcd_port = free_port()
        self.procs = {}
        self.ports = {}

    def p(self, n):
        return os.path.join(self.d, n)

    def start_etcd(self):
        peer = free_port()
        log = open(self.p("etcd.log"), "w")
        e = subprocess.Popen([ETCD, "--name", "t", "--data-dir", self.p("etcd-data"),
                              "--listen-client-urls", "http://127.0.0.1:%d" % self.etcd_port,
                              "--advertise-client-urls", "http://127.0.0.1:%d" % self.etcd_port,
                              "--listen-peer-urls", "http://127.0.0.1:%d" % peer,
                              "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer,
                              "--initial-cluster", "t=http://127.0.0.1:%d" % peer],
                             stdout=log, stderr=subprocess.STDOUT)
        PROCS.append(e)

    def etcd_value(self, key):
        r = subprocess.run([ETCDCTL, "--endpoints=http://127.0.0.1:%d" % self.etcd_port, "get", key,
                            "--print-value-only"], capture_output=True, env=dict(os.environ, ETCDCTL_API="3"))
        return r.stdout

    def apiserver(self, name, extra, env=None, ca=None):
        """Start (or restart) apiserver name on its own port; returns the port
        once /readyz answers."""
        self.stop(name)
        port = self.ports.setdefault(name, free_port())
        flags = ["--bind-address=127.0.0.1", "--secure-port=%d" % port,
                 "--tls-cert-file=" + self.p("serving.pem"), "--tls-private-key-file=" + self.p("serving-key.pem"),
                 "--client-ca-file=" + self.p("client-ca.pem"),
                 "--etcd-servers=http://127.0.0.1:%d" % self.etcd_port,
                 "--service-account-issuer=https://kubernetes.default.svc",
                 "--authorization-mode=Node,RBAC"] + \
            ([] if any(x.startswith("--authentication-config") for x in extra) else ["--anonymous-auth=false"]) + extra
        log = open(self.p("%s.log" % name), "a")
        pr = subprocess.Popen([BIN + "/kube-apiserver"] + flags, stdout=log, stderr=subprocess.STDOUT,
                              env=dict(os.environ, **(env or {})))
        PROCS.append(pr)
        self.procs[name] = pr
        adm = self.admin(name, ca)
        ok = until(lambda: pr.poll() is None and adm.req("GET", "/readyz")[0] == 200, 20)
        if not ok:
            raise RuntimeError("apiserver %s did not become ready (see %s)" % (name, log.name))
        return port

    def stop(self, name, sig=signal.SIGTERM):
        pr = self.procs.pop(name, None)
        if pr is not None and pr.poll() is None:
            pr.send_signal(sig)
            try:
                pr.wait(15)
            except subprocess.TimeoutExpired:
                pr.kill()
                pr.wait()

    def admin(self, name, ca=None):
        return API(self.ports[name], ca or self.p("serving-ca.pem"), self.p("admin.pem"), self.p("admin-key.pem"))


def enc_config(path, keys):
    """secretbox provider with keys [(name, 32 bytes)], first one writes."""
    lines = ["apiVersion: apiserver.config.k8s.io/v1", "kind: EncryptionConfiguration", "resources:",
             "  - resources:", "      - secrets", "    providers:", "      - secretbox:", "          keys:"]
    for n, k in keys:
        lines += ["            - name: %s" % n, "              secret: %s" % base64.b64encode(k).decode()]
    lines.append("      - identity: {}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def short_cert(d, name, seconds):
    """A self-signed certificate + key valid for `seconds` (cryptography)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    k = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.utcnow()
    subj = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    c = (x509.CertificateBuilder().subject_name(subj).issuer_name(subj).public_key(k.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(now)
         .not_valid_after(now + datetime.timedelta(seconds=seconds)).sign(k, hashes.SHA256()))
    return (c.public_bytes(serialization.Encoding.PEM),
            k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption()))


def run(d):
    w = World(d)
    p = w.p
    ca, cak = testpki.ca(d, "kca1", "kubernetes")
    ca2, ca2k = testpki.ca(d, "kca2", "kubernetes-gen2")
    sca, scak = testpki.ca(d, "serving-ca", "kubernetes")
    shutil.copy(ca, p("client-ca.pem"))
    testpki.cert(d, "serving", sca, scak, "kube-apiserver", ips=["127.0.0.1"], server=True, client=False)
    testpki.cert(d, "admin", ca, cak, "admin", orgs=["system:masters"])
    testpki.cert(d, "admin2", ca2, ca2k, "admin2", orgs=["system:masters"])
    fp, fpk = testpki.ca(d, "front-proxy-ca", "front-proxy-ca")
    testpki.cert(d, "front-proxy-client", fp, fpk, "front-proxy-client")
    testpki.cert(d, "front-proxy-other", fp, fpk, "someone-else")
    for n in ("sa1", "sa2"):
        subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", p(n + ".key")],
                       check=True)
        subprocess.run(["openssl", "ec", "-in", p(n + ".key"), "-pubout", "-out", p(n + ".pub")], check=True,
                       capture_output=True)
    with open(p("sa12.pub"), "w") as f:
        f.write(open(p("sa1.pub")).read() + open(p("sa2.pub")).read())
    k1, k2 = os.urandom(32), os.urandom(32)
    w.start_etcd()

    # the kubelet's rotation deadline runs beside the rest (about 7 s)
    rot = {"rotated": None}
    cdir = p("kubelet-pki")
    os.makedirs(cdir)
    kc0, kk0 = short_cert(d, "system:node:t", 10)
    kubeletmod.store_pair(cdir, "kubelet-client", kc0, kk0)
    # measured from the certificate's notBefore (whole seconds, so up to 1 s
    # before this line runs), as the kubelet's deadline is
    from cryptography import x509 as _x509
    t_start = _x509.load_pem_x509_certificate(
        kc0 if isinstance(kc0, bytes) else kc0.encode()).not_valid_before.replace(
        tzinfo=datetime.timezone.utc).timestamp()
    rotator = kubeletmod.Rotator("kubelet-client", cdir, lambda key: (short_cert(d, "system:node:t", 600)[0], "csr-test"),
                           lambda: rot.update(rotated=time.time() - t_start))
    rotator.start()

    sa_flags = lambda key, pubs: ["--service-account-signing-key-file=" + p(key)] + \
        ["--service-account-key-file=" + p(x) for x in pubs]  # noqa: E731
    rh = ["--requestheader-client-ca-file=" + fp, "--requestheader-allowed-names=front-proxy-client",
          "--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
          "--requestheader-extra-headers-prefix=X-Remote-Extra-"]
    enc_a = enc_config(p("enc-a.yaml"), [("key1", k1)])
    enc_b = enc_config(p("enc-b.yaml"), [("key1", k1)])
    w.apiserver("a", sa_flags("sa1.key", ["sa1.pub"]) + ["--encryption-provider-config=" + enc_a] + rh)
    w.apiserver("b", sa_flags("sa1.key", ["sa1.pub"]) + ["--encryption-provider-config=" + enc_b])
    a, b = w.admin("a"), w.admin("b")

    # --- one cluster on one etcd ---
    def secret(name, v):
        return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "default"},
                "stringData": {"v": v}}
    code, s1 = a.req("POST", "/api/v1/namespaces/default/secrets", secret("s1", "one"))
    code2, s1b = b.req("GET", "/api/v1/namespaces/default/secrets/s1")
    check("a Secret created on apiserver a is read on apiserver b, same resourceVersion",
          code == 201 and code2 == 200 and s1b["metadata"]["resourceVersion"] == s1["metadata"]["resourceVersion"],
          (code, code2, s1b))
    got = {}

    def watch_b():
        import http.client
        c = http.client.HTTPSConnection("127.0.0.1", w.ports["b"], context=b.ctx, timeout=10)
        c.request("GET", "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=5&resourceVersion=%s"
                  % s1["metadata"]["resourceVersion"])
        rr = c.getresponse()
        line = rr.readline()
        got["ev"] = json.loads(line) if line.strip() else None
    th = threading.Thread(target=watch_b)
    th.start()
    time.sleep(0.3)
    a.req("POST", "/api/v1/namespaces/default/configmaps",
          {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm1"}, "data": {"x": "y"}})
    th.join(12)
    check("a watch on apiserver b sees the write on apiserver a",
          (got.get("ev") or {}).get("type") == "ADDED" and got["ev"]["object"]["metadata"]["name"] == "cm1", got)

    # --- encryption at rest ---
    v = w.etcd_value("/registry/secrets/default/s1")
    check("etcd holds the Secret under k8s:enc:secretbox:v1:key1: (first key)",
          v.startswith(b"k8s:enc:secretbox:v1:key1:") and b"one" not in v and b"b25l" not in v, v[:40])
    v = w.etcd_value("/registry/configmaps/default/cm1")
    check("a ConfigMap (not in the config) is stored as plain JSON", v.startswith(b"{") and b'"x": "y"' in v, v[:60])
    enc_config(enc_a, [("key1", k1), ("key2", k2)])
    code, _ = a.req("POST", "/api/v1/namespaces/default/secrets", secret("s2", "two"))
    check("the encryption config is read only at start: a changed file does not change the writing key",
          code == 201 and w.etcd_value("/registry/secrets/default/s2").startswith(b"k8s:enc:secretbox:v1:key1:"))
    enc_config(enc_a, [("key2", k2), ("key1", k1)])
    w.apiserver("a", sa_flags("sa1.key", ["sa1.pub"]) + ["--encryption-provider-config=" + enc_a] + rh)
    code, _ = a.req("POST", "/api/v1/namespaces/default/secrets", secret("s3", "three"))
    check("after a restart with key2 first, new writes are under key2",
          code == 201 and w.etcd_value("/registry/secrets/default/s3").startswith(b"k8s:enc:secretbox:v1:key2:"))
    code, obj = a.req("GET", "/api/v1/namespaces/default/secrets/s1")
    check("key1 still reads what it wrote (every key decrypts)",
          code == 200 and base64.b64decode(obj["data"]["v"]) == b"one", (code, obj))
    code, obj = b.req("GET", "/api/v1/namespaces/default/secrets/s3")
    check("an apiserver without key2 cannot read a Secret written under it: 500",
          code == 500 and "no matching key" in json.dumps(obj), (code, obj))
    enc_config(enc_b, [("key2", k2), ("key1", k1)])
    w.apiserver("b", sa_flags("sa1.key", ["sa1.pub"]) + ["--encryption-provider-config=" + enc_b])
    b = w.admin("b")
    code, obj = b.req("GET", "/api/v1/namespaces/default/secrets/s1")
    rv0 = (obj.get("metadata") or {}).get("resourceVersion")
    code, obj2 = b.req("PUT", "/api/v1/namespaces/default/secrets/s1", obj)
    check("read and replace moves a Secret to the writing key",
          code == 200 and obj2["metadata"]["resourceVersion"] != rv0 and
          w.etcd_value("/registry/secrets/default/s1").startswith(b"k8s:enc:secretbox:v1:key2:"), (code, obj2))
    enc_config(enc_a, [("key2", k2)])
    w.apiserver("a", sa_flags("sa1.key", ["sa1.pub"]) + ["--encryption-provider-config=" + enc_a] + rh)
    c1, _ = a.req("GET", "/api/v1/namespaces/default/secrets/s1")
    c2, o2 = a.req("GET", "/api/v1/namespaces/default/secrets/s2")
    c3, o3 = a.req("GET", "/api/v1/namespaces/default/secrets")
    check("after key1 is dropped: rewritten Secrets read, one left under key1 is unreadable (GET and LIST 500)",
          c1 == 200 and c2 == 500 and c3 == 500, (c1, c2, o2, c3))

    # --- service-account keys ---
    code, sa = a.req("POST", "/api/v1/namespaces/default/serviceaccounts",
                     {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app"}})
    code, tr = a.req("POST", "/api/v1/namespaces/default/serviceaccounts/app/token",
                     {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})
    t1 = (tr.get("status") or {}).get("token", "")
    head = json.loads(base64.urlsafe_b64decode(t1.split(".")[0] + "==")) if t1 else {}
    check("a TokenRequest gives an ES256 JWT signed with the signing key", head.get("alg") == "ES256", (code, tr))

    def who(port, tok):
        c, o = API(port, p("serving-ca.pem"), token=tok).req(
            "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
        st = o.get("status") if isinstance(o.get("status"), dict) else {}
        return c, (st.get("userInfo") or {}).get("username")
    check("the token authenticates on both apiservers", who(w.ports["a"], t1) == (201, "system:serviceaccount:default:app")
          and who(w.ports["b"], t1)[0] == 201, (who(w.ports["a"], t1), who(w.ports["b"], t1)))
    w.apiserver("a", sa_flags("sa2.key", ["sa12.pub"]) + ["--encryption-provider-config=" + enc_a] + rh)
    code, tr = a.req("POST", "/api/v1/namespaces/default/serviceaccounts/app/token",
                     {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})
    t2 = (tr.get("status") or {}).get("token", "")
    check("after the switch to sa2 (both public keys): the old token is still accepted, the new one too",
          who(w.ports["a"], t1)[0] == 201 and who(w.ports["a"], t2)[0] == 201)
    check("an apiserver that only has the old public key refuses a token of the new key (401)",
          who(w.ports["b"], t2)[0] == 401, who(w.ports["b"], t2))
    shutil.copy(p("sa12.pub"), p("sa1.pub"))
    time.sleep(1.5)
    check("--service-account-key-file is read only at start: the new key in the file is not used before a restart",
          who(w.ports["b"], t2)[0] == 401)
    w.apiserver("b", sa_flags("sa1.key", ["sa1.pub"]) + ["--encryption-provider-config=" + enc_b])
    check("after the restart apiserver b accepts the new key's token", who(w.ports["b"], t2)[0] == 201)
    w.apiserver("a", sa_flags("sa2.key", ["sa2.pub"]) + ["--encryption-provider-config=" + enc_a] + rh)
    check("after the old public key is dropped, the old token is refused (401)",
          who(w.ports["a"], t1)[0] == 401 and who(w.ports["a"], t2)[0] == 201)
    r = subprocess.run([BIN + "/kube-apiserver", "--etcd-servers=http://127.0.0.1:1",
                        "--service-account-issuer=x", "--service-account-signing-key-file=" + p("sa2.key"),
                        "--service-account-max-token-expiration=30m"], capture_output=True, text=True,
                       env=dict(os.environ, K8SDOUBLE_CHECK_ONLY="1"))
    check("--service-account-max-token-expiration below 1h is refused", r.returncode == 1 and
          "between 1 hour and 2^32 seconds" in r.stderr, r.stderr)
    w.apiserver("b", sa_flags("sa1.key", ["sa1.pub"]) + ["--encryption-provider-config=" + enc_b,
                                                           "--service-account-max-token-expiration=1h",
                                                           "--service-account-extend-token-expiration=false"])
    b = w.admin("b")
    code, tr = b.req("POST", "/api/v1/namespaces/default/serviceaccounts/app/token",
                     {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                      "spec": {"expirationSeconds": 7200}})
    check("a token asked for 2h gets the 1h maximum", code == 201 and tr["spec"]["expirationSeconds"] == 3600, tr)

    # --- certificates reloaded while running ---
    adm2 = API(w.ports["a"], p("serving-ca.pem"), p("admin2.pem"), p("admin2-key.pem"))
    c0, _ = adm2.req("GET", "/api/v1/namespaces")
    with open(p("client-ca.pem"), "w") as f:
        f.write(open(ca).read() + open(ca2).read())
    ok = until(lambda: API(w.ports["a"], p("serving-ca.pem"), p("admin2.pem"), p("admin2-key.pem"))
               .req("GET", "/api/v1/namespaces")[0] == 200, 5)
    check("--client-ca-file reloaded: a client of the added CA is refused before and accepted after, no restart",
          c0 is None and ok and w.procs["a"].poll() is None, c0)
    a = w.admin("a")
    a.req("GET", "/api/v1/namespaces")       # a kept-alive connection made with CA 1
    shutil.copy(ca2, p("client-ca.pem"))
    ok = until(lambda: a.req("GET", "/api/v1/namespaces")[0] == 401, 5)
    check("a CA dropped from --client-ca-file: the next request on a kept-alive connection is 401", ok)
    shutil.copy(ca, p("client-ca.pem"))
    testpki.cert(d, "serving2", ca2, ca2k, "kube-apiserver", ips=["127.0.0.1"], server=True, client=False)
    shutil.copy(p("serving2-key.pem"), p("serving-key.pem"))
    shutil.copy(p("serving2.pem"), p("serving.pem"))
    ok = until(lambda: w.admin("a", ca2).req("GET", "/readyz")[0] == 200, 5)
    check("the serving certificate is reloaded: new connections verify with the new CA", ok)
    a = w.admin("a", ca2)

    # --- requestheader (front proxy) ---
    fpc = API(w.ports["a"], ca2, p("front-proxy-client.pem"), p("front-proxy-client-key.pem"),
              headers={"X-Remote-User": "alice", "X-Remote-Group": "devs"})
    code, o = fpc.req("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                      {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    ui = (o.get("status") or {}).get("userInfo") or {}
    check("requestheader: the front-proxy client's X-Remote-User/Group is the user",
          code == 201 and ui.get("username") == "alice" and "devs" in ui.get("groups", []), (code, o))
    other = API(w.ports["a"], ca2, p("front-proxy-other.pem"), p("front-proxy-other-key.pem"),
                headers={"X-Remote-User": "alice"})
    check("requestheader: a CN not in --requestheader-allowed-names is refused (401)",
          other.req("GET", "/api/v1/namespaces")[0] == 401)

    # --- anonymous only for the health endpoints (--authentication-config) ---
    with open(p("authn.yaml"), "w") as f:
        f.write("apiVersion: apiserver.config.k8s.io/v1\nkind: AuthenticationConfiguration\njwt: []\n"
                "anonymous:\n  enabled: true\n  conditions:\n    - path: /livez\n    - path: /readyz\n"
                "    - path: /healthz\n")
    base = [x for x in ["--service-account-signing-key-file=" + p("sa2.key")]]
    r = subprocess.run([BIN + "/kube-apiserver", "--etcd-servers=http://127.0.0.1:1", "--service-account-issuer=x",
                        "--authentication-config=" + p("authn.yaml"), "--anonymous-auth=false"] + base,
                       capture_output=True, text=True, env=dict(os.environ, K8SDOUBLE_CHECK_ONLY="1"))
    check("--authentication-config with an anonymous section and --anonymous-auth together are refused",
          r.returncode == 1 and "--anonymous-auth flag cannot be set" in r.stderr, r.stderr)

    # --- graceful shutdown ---
    w.stop("a")
    w.apiserver("c", base + ["--shutdown-delay-duration=2s", "--tls-min-version=VersionTLS12",
                             "--authentication-config=" + p("authn.yaml")], ca=ca2)
    anon = API(w.ports["c"], ca2)
    ca_, _ = anon.req("GET", "/readyz")
    cn_, _ = anon.req("GET", "/api/v1/namespaces")
    check("anonymous requests: /readyz 200, everything else 401 (AuthenticationConfiguration anonymous.conditions)",
          ca_ == 200 and cn_ == 401, (ca_, cn_))
    cc = API(w.ports["c"], ca2, p("admin.pem"), p("admin-key.pem"))
    t0 = time.time()
    w.procs["c"].send_signal(signal.SIGTERM)
    ok = until(lambda: cc.req("GET", "/readyz")[0] == 500, 2)
    served = cc.req("GET", "/api/v1/namespaces")[0]
    code, txt = cc.req("GET", "/readyz?verbose")
    check("SIGTERM: /readyz fails at once ([-]shutdown) while requests are still served",
          ok and served == 200 and "[-]shutdown" in txt.get("text", "") and time.time() - t0 < 2, (served, txt))
    w.procs["c"].wait(20)
    check("the apiserver exits after --shutdown-delay-duration", time.time() - t0 >= 2 and
          w.procs["c"].returncode == 0, time.time() - t0)

    # --- the kubelet's rotation deadline ---
    until(lambda: rot["rotated"] is not None, 15)
    cur = open(os.path.join(cdir, "kubelet-client-current.pem"), "rb").read()
    check("kubelet certificate manager: rotation at 70-84%% of a 10 s certificate after its notBefore (%.1fs), new pair in the store"
          % (rot["rotated"] or -1), rot["rotated"] is not None and 6.9 <= rot["rotated"] <= 9.5 and cur.split(b"-----END CERTIFICATE-----")[0] != kc0.split(b"-----END CERTIFICATE-----")[0],
          rot)
    rotator.stop.set()


def main():
    t0 = time.time()
    d = tempfile.mkdtemp(prefix="k8sdouble-rot-")
    try:
        run(d)
    except Exception as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        check("test ran to the end", False, e)
    finally:
        for pr in PROCS:
            if pr.poll() is None:
                pr.terminate()
        for pr in PROCS:
            try:
                pr.wait(10)
            except subprocess.TimeoutExpired:
                pr.kill()
        failed = [n for n, ok in RESULTS if not ok]
        if failed and os.environ.get("K8SDOUBLE_KEEP") != "1":
            for f in sorted(os.listdir(d)):
                if f.endswith(".log") and f != "etcd.log":
                    print("---- %s (tail)" % f)
                    print("".join(open(os.path.join(d, f)).readlines()[-20:]))
        if os.environ.get("K8SDOUBLE_KEEP") == "1":
            print("kept", d)
        else:
            shutil.rmtree(d, ignore_errors=True)
    print("k8sdouble rotation test: %.1fs" % (time.time() - t0))
    print("%d passed, %d failed" % (len(RESULTS) - len(failed), len(failed)))
    if failed:
        print("failed checks: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
