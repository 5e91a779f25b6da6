# SPDX-License-Identifier: Apache-2.0
"""kube-controller-manager double: flag/kubeconfig/file validation, connect,
Lease leader election, /healthz on the secure port (10257) and, like the real
one, the CSR approving controller (SubjectAccessReview for the nodeclient /
selfnodeclient subresources) and -- only when --cluster-signing-* files are
given -- the CSR signing controller.  No other controller runs."""
import base64
import threading

from . import client as clientmod
from . import common
from . import component
from . import configs
from . import pki

C = "kube-controller-manager"
CSR_PATH = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
SIGNERS = {"kubernetes.io/kube-apiserver-client": "kube-apiserver-client",
           "kubernetes.io/kube-apiserver-client-kubelet": "kubelet-client",
           "kubernetes.io/kubelet-serving": "kubelet-serving",
           "kubernetes.io/legacy-unknown": "legacy-unknown"}


def validate(p):
    errs = []

    def chk(fn, *a):
        try:
            fn(*a)
        except (pki.PKIError, configs.ConfigError, common.Fatal) as e:
            errs.append(str(e))

    kc = None
    if not p.get("kubeconfig") and not p.get("master"):
        errs.append("unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined")
    if p.get("kubeconfig"):
        try:
            kc = configs.load_kubeconfig(p.get("kubeconfig"), "--kubeconfig")
        except configs.ConfigError as e:
            errs.append(str(e))
    for f in ("authentication-kubeconfig", "authorization-kubeconfig"):
        if p.get(f):
            chk(configs.load_kubeconfig, p.get(f), "--" + f)
    for f in ("client-ca-file", "requestheader-client-ca-file", "root-ca-file"):
        if p.get(f):
            chk(pki.check_cert_file, p.get(f), "--" + f)
    if p.get("service-account-private-key-file"):
        chk(pki.check_key_file, p.get("service-account-private-key-file"), "--service-account-private-key-file")
    if bool(p.get("tls-cert-file")) != bool(p.get("tls-private-key-file")):
        errs.append("--tls-cert-file and --tls-private-key-file must be specified together")
    elif p.get("tls-cert-file"):
        chk(pki.check_pair_files, p.get("tls-cert-file"), p.get("tls-private-key-file"), "--tls-cert-file")
    generic = bool(p.get("cluster-signing-cert-file") or p.get("cluster-signing-key-file"))
    per = [s for s in SIGNERS.values() if p.get("cluster-signing-%s-cert-file" % s) or p.get("cluster-signing-%s-key-file" % s)]
    if generic and per:
        errs.append("cannot specify default and per controller certs at the same time")
    pairs = [("cluster-signing-cert-file", "cluster-signing-key-file")] + \
        [("cluster-signing-%s-cert-file" % s, "cluster-signing-%s-key-file" % s) for s in per]
    for cf, kf in pairs:
        if bool(p.get(cf)) != bool(p.get(kf)):
            errs.append("--%s and --%s must be specified together" % (cf, kf))
        elif p.get(cf):
            chk(pki.check_pair_files, p.get(cf), p.get(kf), "--%s/--%s" % (cf, kf))
    known = set(configs.schema()["controllers"])
    for ctl in p.get("controllers", ["*"]):
        n = ctl[1:] if ctl.startswith("-") else ctl
        if n != "*" and n not in known:
            errs.append('"%s" is not in the list of known controllers' % n)
    for f in ("cluster-cidr", "service-cluster-ip-range"):
        if p.get(f):
            chk(component.check_cidrs, p.get(f), "--" + f)
    if p.get("allocate-node-cidrs") and not p.get("cluster-cidr"):
        errs.append("--cluster-cidr must be specified when --allocate-node-cidrs=true")
    if p.get("leader-elect-resource-lock", "leases") != "leases":
        errs.append('--leader-elect-resource-lock: "%s" is not supported, only "leases"' % p.get("leader-elect-resource-lock"))
    try:
        component.check_leader_timings(p.get("leader-elect-lease-duration", 15.0), p.get("leader-elect-renew-deadline", 10.0),
                                       p.get("leader-elect-retry-period", 2.0))
    except common.Fatal as e:
        errs.append(str(e))
    port = p.get("secure-port", 10257)
    if not 0 <= port <= 65535:
        errs.append("--secure-port %d must be between 0 and 65535, inclusive" % port)
    if p.has("bind-address"):
        chk(component.check_ip, p.get("bind-address"), "--bind-address")
    if errs:
        raise common.Fatal("\n".join(errs))
    return kc


def enabled(p, name):
    ctls = p.get("controllers", ["*"])
    if "-" + name in ctls:
        return False
    if name in ctls:
        return True
    return "*" in ctls and name not in configs.schema()["disabledByDefaultControllers"]


def run(p, version, check_only):
    kc = validate(p)
    if check_only:
        return 0
    if p.get("master"):
        import urllib.parse
        u = urllib.parse.urlparse(p.get("master"))
        kc.server, kc.scheme, kc.host, kc.port = p.get("master"), u.scheme, u.hostname, u.port or 443
    stop = threading.Event()
    common.wait_for_signal(stop)
    c = component.connect(C, kc)
    le = None
    if p.get("leader-elect", True):
        le = component.LeaderElector(C, c, p.get("leader-elect-resource-namespace", "kube-system"),
                                     p.get("leader-elect-resource-name", "kube-controller-manager"),
                                     p.get("leader-elect-lease-duration", 15.0), p.get("leader-elect-renew-deadline", 10.0),
                                     p.get("leader-elect-retry-period", 2.0))
    port = p.get("secure-port", 10257)
    if port:
        tls = (p.get("tls-cert-file"), p.get("tls-private-key-file")) if p.get("tls-cert-file") else \
            component.self_signed_pair(C, p.get("cert-dir"))
        checks = {"ping": lambda: (True, "")}
        if le:
            checks["leaderElection"] = le.healthy
        component.health_server(C, p.get("bind-address", "0.0.0.0"), port, checks, tls=tls)
    if le:
        threading.Thread(target=le.run, args=(stop,), daemon=True).start()
        while not stop.is_set() and not le.leading.is_set() and not le.lost.is_set():
            stop.wait(0.2)
    cc = c
    if p.get("use-service-account-credentials"):
        try:
            cc = sa_client(c, kc, "certificate-controller")
        except (clientmod.APIError, clientmod.TransportError) as e:
            raise common.Fatal("cannot get credentials of service account kube-system/certificate-controller: %s" % e)
    ctl = CSRControllers(p, cc)
    common.log(C, "started controllers: %s" % (", ".join(ctl.names()) or "(none the double implements)"))
    while not stop.is_set():
        if le and le.lost.is_set():
            raise common.Fatal("leaderelection lost")
        ctl.sync()
        stop.wait(1)
    return 0


def sa_client(c, kc, name, ns="kube-system"):
    """--use-service-account-credentials: like the controller-manager's client
    builder, ensure the controller's ServiceAccount exists and act with a
    token from the TokenRequest API."""
    import copy
    base = "/api/v1/namespaces/%s/serviceaccounts" % ns
    try:
        c.get("%s/%s" % (base, name))
    except clientmod.APIError as e:
        if e.code != 404:
            raise
        c.create(base, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}})
    tr = c.create("%s/%s/token" % (base, name), {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                                 "spec": {"expirationSeconds": 3600}})
    skc = copy.copy(kc)
    skc.cert_pem = skc.key_pem = None
    skc.token = tr["status"]["token"]
    common.log(C, "using service account credentials of %s/%s" % (ns, name))
    return clientmod.Client(skc, user_agent="%s/certificate-controller" % C)


class CSRControllers:
    def __init__(self, p, c):
        self.p, self.c = p, c
        self.approve = enabled(p, "certificatesigningrequest-approving-controller")
        self.sign = enabled(p, "certificatesigningrequest-signing-controller")
        self.cas = {}
        for signer, short in SIGNERS.items():
            cf = p.get("cluster-signing-%s-cert-file" % short) or p.get("cluster-signing-cert-file")
            kf = p.get("cluster-signing-%s-key-file" % short) or p.get("cluster-signing-key-file")
            if cf and kf:
                self.cas[signer] = (cf, kf)
        self.duration = p.get("cluster-signing-duration", 8760 * 3600.0)

    def names(self):
        out = []
        if self.approve:
            out.append("certificatesigningrequest-approving-controller")
        if self.sign and self.cas:
            out.append("certificatesigningrequest-signing-controller (%s)" % ", ".join(sorted(self.cas)))
        return out

    def sync(self):
        if not (self.approve or (self.sign and self.cas)):
            return
        try:
            lst = self.c.get(CSR_PATH)
        except (clientmod.APIError, clientmod.TransportError) as e:
            common.log(C, "listing CSRs: %s" % e, "E")
            return
        for csr in lst.get("items") or []:
            try:
                self.handle(csr)
            except (clientmod.APIError, clientmod.TransportError, pki.PKIError) as e:
                common.log(C, "CSR %s: %s" % (csr["metadata"]["name"], e), "E")

    def handle(self, csr):
        st = csr.get("status") or {}
        types = {x.get("type") for x in st.get("conditions") or []}
        spec = csr.get("spec") or {}
        name = csr["metadata"]["name"]
        if st.get("certificate") or "Denied" in types or "Failed" in types:
            return
        info = pki.csr_info(base64.b64decode(spec.get("request", "")))
        if "Approved" not in types:
            if self.approve and spec.get("signerName") == "kubernetes.io/kube-apiserver-client-kubelet" \
                    and kubelet_client_problem(info, spec.get("usages") or []) is None:
                self_ = spec.get("username") == info["cn"]
                sub = "selfnodeclient" if self_ else "nodeclient"
                sar = self.c.create("/apis/authorization.k8s.io/v1/subjectaccessreviews", {
                    "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                    "spec": {"user": spec.get("username"), "groups": spec.get("groups") or [],
                             "uid": spec.get("uid", ""),
                             "resourceAttributes": {"group": "certificates.k8s.io", "resource": "certificatesigningrequests",
                                                    "verb": "create", "subresource": sub}}})
                if (sar.get("status") or {}).get("allowed"):
                    csr.setdefault("status", {}).setdefault("conditions", []).append(
                        {"type": "Approved", "status": "True", "reason": "AutoApproved",
                         "message": "Auto approving %skubelet client certificate after SubjectAccessReview." % ("self " if self_ else "")})
                    self.c.update("%s/%s/approval" % (CSR_PATH, name), csr)
                    common.log(C, "CSR %s auto-approved (SubjectAccessReview for %s/%s allowed)" % (name, spec.get("username"), sub))
            return
        signer = spec.get("signerName")
        if not (self.sign and signer in self.cas):
            return
        problem = None
        usages = spec.get("usages") or []
        if signer == "kubernetes.io/kube-apiserver-client-kubelet":
            problem = kubelet_client_problem(info, usages)
        elif signer == "kubernetes.io/kubelet-serving":
            problem = kubelet_serving_problem(info, usages)
        elif signer == "kubernetes.io/kube-apiserver-client" and "client auth" not in usages:
            problem = "invalid usage for client certificate: %s" % usages
        if problem:
            csr["status"].setdefault("conditions", []).append(
                {"type": "Failed", "status": "True", "reason": "SignerValidationFailure", "message": problem})
            self.c.update("%s/%s/status" % (CSR_PATH, name), csr)
            common.log(C, "CSR %s failed signer validation: %s" % (name, problem))
            return
        secs = self.duration
        if spec.get("expirationSeconds"):
            secs = min(secs, spec["expirationSeconds"])
        cf, kf = self.cas[signer]
        cert = pki.sign_csr(base64.b64decode(spec["request"]), cf, kf, usages, secs)
        csr["status"]["certificate"] = base64.b64encode(cert).decode()
        self.c.update("%s/%s/status" % (CSR_PATH, name), csr)
        common.log(C, "CSR %s signed by %s" % (name, signer))


def kubelet_client_problem(info, usages):
    if info["orgs"] != ["system:nodes"]:
        return "subject organization is not system:nodes"
    if not info["cn"].startswith("system:node:"):
        return 'subject common name does not begin with "system:node:"'
    if info["dns"] or info["ips"]:
        return "DNS or IP subjectAltNames are not allowed"
    allowed = {"digital signature", "key encipherment", "client auth"}
    if "client auth" not in usages or set(usages) - allowed:
        return "usages did not match %s" % sorted(allowed)
    return None


def kubelet_serving_problem(info, usages):
    if info["orgs"] != ["system:nodes"]:
        return "subject organization is not system:nodes"
    if not info["cn"].startswith("system:node:"):
        return 'subject common name does not begin with "system:node:"'
    if not (info["dns"] or info["ips"]):
        return "DNS or IP subjectAltName is required"
    allowed = {"digital signature", "key encipherment", "server auth"}
    if "server auth" not in usages or set(usages) - allowed:
        return "usages did not match %s" % sorted(allowed)
    return None
