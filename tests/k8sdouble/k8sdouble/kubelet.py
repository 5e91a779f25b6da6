# SPDX-License-Identifier: Apache-2.0
"""kubelet double: flag/config/kubeconfig validation, the TLS bootstrap
(client certificate via a CSR with the bootstrap token), node registration,
Ready heartbeat and node Lease, serving-certificate bootstrap, /healthz.
It runs no containers and does not talk to a container runtime."""
import base64
import datetime
import hashlib
import http.server
import ipaddress
import os
import platform
import random
import socket
import ssl
import subprocess
import threading
import time

import yaml

from . import client as clientmod
from . import common
from . import component
from . import configs
from . import dyncerts
from . import flags as flagsmod
from . import pki

C = "kubelet"
CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
SERVING_SIGNER = "kubernetes.io/kubelet-serving"


def validate_config(cfg, path, gates):
    """Semantic checks in the spirit of ValidateKubeletConfiguration."""
    errs = []
    for f, lo, hi in (("healthzPort", 0, 65535), ("port", 1, 65535), ("readOnlyPort", 0, 65535),
                      ("imageGCHighThresholdPercent", 0, 100), ("imageGCLowThresholdPercent", 0, 100),
                      ("oomScoreAdj", -1000, 1000), ("iptablesMasqueradeBit", 0, 31)):
        if f in cfg and cfg[f] is not None and not lo <= cfg[f] <= hi:
            errs.append("invalid configuration: %s (--%s) %d must be between %d and %d, inclusive"
                        % (f, f, cfg[f], lo, hi))
    if cfg.get("cgroupDriver") not in (None, "cgroupfs", "systemd"):
        errs.append('invalid configuration: cgroupDriver "%s" must be "cgroupfs" or "systemd"' % cfg.get("cgroupDriver"))
    mode = (cfg.get("authorization") or {}).get("mode")
    if mode not in (None, "AlwaysAllow", "Webhook"):
        errs.append('invalid configuration: authorization.mode "%s" must be AlwaysAllow or Webhook' % mode)
    for ip in cfg.get("clusterDNS") or []:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            errs.append('invalid configuration: clusterDNS: "%s" is not a valid IP address' % ip)
    for fld in ("address", "healthzBindAddress"):
        if cfg.get(fld):
            try:
                ipaddress.ip_address(cfg[fld])
            except ValueError:
                errs.append('invalid configuration: %s: "%s" is not a valid IP address' % (fld, cfg[fld]))
    for g in (cfg.get("featureGates") or {}):
        if g not in gates:
            errs.append("unrecognized feature gate: %s" % g)
    if cfg.get("serverTLSBootstrap") and (cfg.get("featureGates") or {}).get("RotateKubeletServerCertificate") is False:
        errs.append("invalid configuration: serverTLSBootstrap true requires feature gate RotateKubeletServerCertificate")
    ca = ((cfg.get("authentication") or {}).get("x509") or {}).get("clientCAFile")
    try:
        if ca:
            pki.check_cert_file(ca, "authentication.x509.clientCAFile")
        if bool(cfg.get("tlsCertFile")) != bool(cfg.get("tlsPrivateKeyFile")):
            errs.append("invalid configuration: tlsCertFile and tlsPrivateKeyFile must be set together")
        elif cfg.get("tlsCertFile"):
            pki.check_pair_files(cfg["tlsCertFile"], cfg["tlsPrivateKeyFile"], "tlsCertFile/tlsPrivateKeyFile")
    except pki.PKIError as e:
        errs.append(str(e))
    if errs:
        raise common.Fatal("%s: %s" % (path, "; ".join(errs)))


def load_config(p):
    gates = flagsmod.load_feature_gates()
    cfg = {}
    path = p.get("config")
    if path:
        try:
            cfg = configs.load_config(path, "KubeletConfiguration")
        except configs.ConfigError as e:
            raise common.Fatal("failed to load kubelet config file, path: %s, error: %s" % (path, e))
        validate_config(cfg, path, gates)
    d = p.get("config-dir")
    if d:
        if not os.path.isdir(d):
            raise common.Fatal("--config-dir %s: not a directory" % d)
        for fn in sorted(os.listdir(d)):
            if fn.endswith(".conf"):
                fp = os.path.join(d, fn)
                try:
                    extra = configs.load_config(fp, "KubeletConfiguration")
                except configs.ConfigError as e:
                    raise common.Fatal("failed to merge kubelet configs: %s" % e)
                validate_config(extra, fp, gates)
                cfg.update({k: v for k, v in extra.items() if k not in ("apiVersion", "kind")})
    return cfg


def cert_valid(pem):
    try:
        pki.openssl("x509", "-noout", "-checkend", "0", data=pem)
        return True
    except pki.PKIError:
        return False


def node_ip(p, cfg):
    if p.get("node-ip"):
        return p.get("node-ip").split(",")[0]
    a = cfg.get("address")
    if a and a not in ("0.0.0.0", "::"):
        return a
    try:
        out = subprocess.run(["ip", "-o", "-4", "addr", "show", "scope", "global"], capture_output=True,
                             text=True, timeout=5).stdout
        for line in out.splitlines():
            parts = line.split()
            if "inet" in parts:
                return parts[parts.index("inet") + 1].split("/")[0]
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            if not info[4][0].startswith("127."):
                return info[4][0]
    except OSError:
        pass
    return "127.0.0.1"


def os_image():
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def write_file(path, data, mode=0o600):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp-k8sdouble"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def store_pair(cert_dir, prefix, cert_pem, key_pem):
    """Like the kubelet's file certificate store: <prefix>-<ts>.pem holds the
    cert and the key, <prefix>-current.pem is a symlink to it."""
    ts = datetime.datetime.now().strftime("%Y-%m-%d-%H-%M-%S")
    path = os.path.join(cert_dir, "%s-%s.pem" % (prefix, ts))
    write_file(path, cert_pem.rstrip(b"\n") + b"\n" + key_pem)
    cur = os.path.join(cert_dir, prefix + "-current.pem")
    tmp = cur + ".tmp-k8sdouble"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(path, tmp)
    os.replace(tmp, cur)
    return cur


class CSRFailed(Exception):
    pass


def request_certificate(c, name, key_pem, subject, signer, usages, dns=(), ips=(), generate=False, timeout=None):
    """Create a CSR and wait (watch, polling as fallback) for its certificate."""
    timeout = float(os.environ.get("K8SDOUBLE_CSR_TIMEOUT", "900")) if timeout is None else timeout
    csr_pem = pki.make_csr(key_pem, subject, dns, ips)
    body = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"generateName": name} if generate else {"name": name},
            "spec": {"request": base64.b64encode(csr_pem).decode(), "signerName": signer, "usages": usages}}
    path = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
    try:
        obj = c.create(path, body)
    except clientmod.APIError as e:
        if e.code == 409 and not generate:
            # the name is a digest of our public key: it is our own earlier request
            obj = c.get("%s/%s" % (path, name))
        else:
            raise
    name = obj["metadata"]["name"]
    common.log(C, "certificate signing request %s (signer %s) created, waiting for it to be approved and issued"
               % (name, signer))
    end = time.time() + timeout
    while time.time() < end:
        try:
            cur = c.get("%s/%s" % (path, name))
        except clientmod.APIError as e:
            if e.code == 404:
                raise CSRFailed("certificate signing request %s was deleted" % name)
            cur = {}
        except clientmod.TransportError:
            cur = {}
        r = _csr_result(cur, name)
        if r:
            return r, name
        rv = (cur.get("metadata") or {}).get("resourceVersion")
        try:
            for ev in c.watch(path + "?fieldSelector=metadata.name%3D" + name,
                              timeout_seconds=max(1, min(30, end - time.time())), resource_version=rv):
                if ev.get("type") in ("ADDED", "MODIFIED"):
                    r = _csr_result(ev["object"], name)
                    if r:
                        return r, name
                elif ev.get("type") == "ERROR":
                    break
        except (clientmod.APIError, clientmod.TransportError, ValueError):
            time.sleep(2)
    raise CSRFailed("timed out waiting for the certificate of CSR %s" % name)


def _csr_result(obj, name):
    st = (obj or {}).get("status") or {}
    for cond in st.get("conditions") or []:
        if cond.get("type") == "Denied":
            raise CSRFailed("certificate signing request %s is denied, reason: %s, message: %s"
                            % (name, cond.get("reason"), cond.get("message")))
        if cond.get("type") == "Failed":
            raise CSRFailed("certificate signing request %s failed, reason: %s, message: %s"
                            % (name, cond.get("reason"), cond.get("message")))
    if st.get("certificate"):
        return base64.b64decode(st["certificate"])
    return None


def write_kubeconfig(path, bkc, cert_path):
    cl = dict(bkc.cluster)
    if bkc.ca_path and not cl.get("certificate-authority-data"):
        cl = {"server": cl["server"], "certificate-authority": bkc.ca_path}
    cfg = {"apiVersion": "v1", "kind": "Config", "preferences": {},
           "clusters": [{"name": "default-cluster", "cluster": cl}],
           "contexts": [{"name": "default-context", "context": {"cluster": "default-cluster", "namespace": "default",
                                                                "user": "default-auth"}}],
           "current-context": "default-context",
           "users": [{"name": "default-auth", "user": {"client-certificate": cert_path, "client-key": cert_path}}]}
    write_file(path, yaml.safe_dump(cfg, default_flow_style=False).encode())


def run(p, version, check_only):
    cfg = load_config(p)
    kcpath, bpath = p.get("kubeconfig"), p.get("bootstrap-kubeconfig")
    cert_dir = p.get("cert-dir", "/var/lib/kubelet/pki")
    kc = bkc = None
    need_bootstrap = False
    try:
        if kcpath and os.path.exists(kcpath):
            # isClientConfigStillValid (pkg/kubelet/certificate/bootstrap):
            # a kubeconfig that does not load, whose certificate file is gone
            # or whose certificate expired is bootstrapped again
            try:
                kc = configs.load_kubeconfig(kcpath, "--kubeconfig")
                why = None if not kc.cert_pem or cert_valid(kc.cert_pem) else "its client certificate has expired"
            except configs.ConfigError as e:
                if not bpath:
                    raise
                why = str(e)
            if why:
                if not bpath:
                    raise common.Fatal("--kubeconfig %s: %s and no --bootstrap-kubeconfig is set" % (kcpath, why))
                common.log(C, "unable to use the existing kubeconfig %s (%s): bootstrapping" % (kcpath, why))
                kc, need_bootstrap = None, True
        elif kcpath and bpath:
            need_bootstrap = True
        elif kcpath:
            raise common.Fatal("invalid kubeconfig: stat %s: no such file or directory (and no --bootstrap-kubeconfig)" % kcpath)
        if bpath and (need_bootstrap or check_only):
            bkc = configs.load_kubeconfig(bpath, "--bootstrap-kubeconfig")
    except configs.ConfigError as e:
        raise common.Fatal(str(e))
    if bpath and not kcpath:
        raise common.Fatal("--bootstrap-kubeconfig requires --kubeconfig (where the bootstrapped kubeconfig is written)")
    for f in ("image-credential-provider-config",):
        if p.get(f) and not os.path.exists(p.get(f)):
            raise common.Fatal("--%s: %s: no such file or directory" % (f, p.get(f)))
    if check_only:
        return 0

    hostname = (p.get("hostname-override") or socket.gethostname()).lower().strip()
    nodename = hostname
    ip = node_ip(p, cfg)
    stop = threading.Event()
    common.wait_for_signal(stop)
    status = {"node": "not registered yet", "ok": True}
    hport = cfg.get("healthzPort", 10248)
    if hport:
        component.health_server(C, cfg.get("healthzBindAddress", "127.0.0.1"), hport,
                                {"syncloop": lambda: (status["ok"], status["node"])})
    if kc is None and not need_bootstrap:
        common.log(C, "no --kubeconfig: standalone mode, not talking to an apiserver")
        stop.wait()
        return 0

    cur_client = os.path.join(cert_dir, "kubelet-client-current.pem")
    if need_bootstrap and os.path.exists(cur_client) and cert_valid(pki.read(cur_client)):
        # the file store still holds a valid certificate: the kubeconfig is
        # written from the bootstrap kubeconfig's cluster (its server and
        # CA) around that certificate, no new request (LoadClientConfig:
        # store.Current() valid -> writeKubeconfigFromBootstrapping)
        write_kubeconfig(kcpath, bkc, cur_client)
        common.log(C, "kubeconfig %s written from %s with the current certificate %s (no new request)"
                   % (kcpath, bpath, cur_client))
        need_bootstrap = False
        try:
            kc = configs.load_kubeconfig(kcpath, "--kubeconfig")
        except configs.ConfigError as e:
            raise common.Fatal(str(e))
    if need_bootstrap:
        common.log(C, "no valid kubeconfig at %s: TLS bootstrap with %s" % (kcpath, bpath))
        os.makedirs(cert_dir, exist_ok=True)
        keyp = os.path.join(cert_dir, "kubelet-client.key.tmp")
        if os.path.exists(keyp):
            key = pki.read(keyp)
        else:
            key = pki.gen_ec_key()
            write_file(keyp, key)
        bc = component.connect(C, bkc)
        usages = ["digital signature", "client auth"]
        subject = "/O=system:nodes/CN=system:node:%s" % nodename
        pub = pki.openssl("pkey", "-pubout", data=key)
        digest = hashlib.sha512(pub + subject.encode() + ",".join(usages).encode()).digest()
        name = "node-csr-" + base64.urlsafe_b64encode(digest).decode().rstrip("=")
        try:
            cert, csr_name = request_certificate(bc, name, key, subject, CLIENT_SIGNER, usages)
        except (CSRFailed, clientmod.APIError, clientmod.TransportError) as e:
            raise common.Fatal("failed to run Kubelet: unable to load bootstrap kubeconfig / request client certificate: %s" % e)
        cur = store_pair(cert_dir, "kubelet-client", cert, key)
        os.unlink(keyp)
        write_kubeconfig(kcpath, bkc, cur)
        common.log(C, "client certificate from CSR %s written to %s; kubeconfig %s written" % (csr_name, cur, kcpath))
        try:
            kc = configs.load_kubeconfig(kcpath, "--kubeconfig")
        except configs.ConfigError as e:
            raise common.Fatal(str(e))

    c = component.connect(C, kc)
    holder = {"c": c}
    if cfg.get("rotateCertificates") and kc.cert_path and \
            os.path.realpath(kc.cert_path) == os.path.realpath(cur_client):
        rot = Rotator("kubelet-client", cert_dir, lambda key: request_certificate(
            holder["c"], "csr-", key, "/O=system:nodes/CN=system:node:%s" % nodename, CLIENT_SIGNER,
            ["digital signature", "client auth"], generate=True, timeout=600),
            lambda: _reconnect(holder, kcpath))
        rot.start()
    port = cfg.get("port", 10250)
    t0 = component.now_rfc3339()
    labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
              "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": hostname, "kubernetes.io/os": "linux"}
    labels.update(p.get("node-labels", {}))
    try:
        ncpu = str(os.cpu_count() or 1)
        mem = "%dKi" % (os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 1024)
    except (ValueError, OSError):
        ncpu, mem = "1", "1024Ki"
    capacity = {"cpu": ncpu, "memory": mem, "pods": str(cfg.get("maxPods", 110)), "ephemeral-storage": "10Gi"}

    def conditions(now):
        return [{"type": t, "status": "False", "reason": r, "message": m, "lastHeartbeatTime": now, "lastTransitionTime": t0}
                for t, r, m in (("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                                ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                                ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"))] + \
            [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
              "lastHeartbeatTime": now, "lastTransitionTime": t0}]

    node_status = {"conditions": conditions(t0),
                   "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": hostname}],
                   "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
                   "capacity": capacity, "allocatable": capacity,
                   "nodeInfo": {"machineID": _read("/etc/machine-id"), "systemUUID": _read("/etc/machine-id"),
                                "bootID": _read("/proc/sys/kernel/random/boot_id"),
                                "kernelVersion": platform.release(), "osImage": os_image(),
                                "containerRuntimeVersion": os.environ.get("K8SDOUBLE_RUNTIME_VERSION", "containerd://2.1.0"),
                                "kubeletVersion": version, "operatingSystem": "linux", "architecture": "amd64"}}
    node = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": nodename, "labels": labels,
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                         "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
            "spec": {}, "status": node_status}
    if cfg.get("registerWithTaints"):
        node["spec"]["taints"] = cfg["registerWithTaints"]
    if cfg.get("providerID"):
        node["spec"]["providerID"] = cfg["providerID"]
    if cfg.get("registerNode", True):
        while not stop.is_set():
            try:
                c.create("/api/v1/nodes", node)
                common.log(C, "Successfully registered node %s (InternalIP %s)" % (nodename, ip))
                break
            except clientmod.APIError as e:
                if e.code == 409:
                    common.log(C, "node %s already exists, updating its status" % nodename)
                    break
                common.log(C, "Unable to register node with API server: %s" % e, "E")
                status.update(ok=True, node="registration failed: %s" % e)
            except clientmod.TransportError as e:
                common.log(C, "Unable to register node with API server: %s" % e, "E")
            stop.wait(2)
    status["node"] = "registered"

    if cfg.get("serverTLSBootstrap"):
        threading.Thread(target=serving_bootstrap, args=(holder, cert_dir, nodename, hostname, ip, cfg, port, stop),
                         daemon=True).start()
    elif cfg.get("tlsCertFile"):
        _serve_kubelet_port(cfg, port, cfg["tlsCertFile"], cfg["tlsPrivateKeyFile"], holder, nodename)

    freq = flagsmod.parse_duration(cfg.get("nodeStatusUpdateFrequency", "10s"))
    lease_s = int(cfg.get("nodeLeaseDurationSeconds", 40))
    lease_path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
    while not stop.is_set():
        now = component.now_rfc3339()
        c = holder["c"]
        try:
            c.patch("/api/v1/nodes/%s/status" % nodename,
                    {"status": {"conditions": conditions(now), "addresses": node_status["addresses"]}})
            renew_lease(c, lease_path, nodename, lease_s)
            if status["node"] != "Ready":
                common.log(C, "node %s is Ready (heartbeat every %gs)" % (nodename, freq))
            status.update(ok=True, node="Ready")
        except (clientmod.APIError, clientmod.TransportError) as e:
            common.log(C, "Error updating node status, will retry: %s" % e, "E")
        stop.wait(freq)
    return 0


def _read(path):
    try:
        return open(path).read().strip()
    except OSError:
        return ""


def renew_lease(c, path, nodename, lease_s):
    now = component.now_micro()
    try:
        lease = c.get("%s/%s" % (path, nodename))
        lease.setdefault("spec", {}).update(holderIdentity=nodename, leaseDurationSeconds=lease_s, renewTime=now)
        c.update("%s/%s" % (path, nodename), lease)
    except clientmod.APIError as e:
        if e.code != 404:
            raise
        c.create(path, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                        "metadata": {"name": nodename, "namespace": "kube-node-lease"},
                        "spec": {"holderIdentity": nodename, "leaseDurationSeconds": lease_s, "renewTime": now}})


def _reconnect(holder, kcpath):
    """After a client certificate rotation: a new client from the kubeconfig
    (it names the store's current file), as the kubelet closes its
    connections and dials again with the new certificate."""
    try:
        kc = configs.load_kubeconfig(kcpath, "--kubeconfig")
    except configs.ConfigError as e:
        common.log(C, "cannot reload %s after rotation: %s" % (kcpath, e), "E")
        return
    holder["c"] = clientmod.Client(kc, user_agent="kubelet/k8sdouble")


class Rotator:
    """client-go util/certificate Manager for one pair of the kubelet's file
    store (rotateCertificates / serverTLSBootstrap): the rotation deadline is
    notBefore + 70-84% of the certificate's lifetime (nextRotationDeadline:
    wait.Jitter(0.7 * total, 0.2)); at the deadline a new key and a CSR,
    authenticated with the current identity; the new pair goes into
    <prefix>-<ts>.pem and <prefix>-current.pem; on failure, retry with
    backoff (the current certificate stays in use)."""

    def __init__(self, prefix, cert_dir, request, on_rotate):
        self.prefix, self.cert_dir = prefix, cert_dir
        self.request, self.on_rotate = request, on_rotate
        self.stop = threading.Event()

    def current(self):
        p = os.path.join(self.cert_dir, self.prefix + "-current.pem")
        try:
            return pki.read(p)
        except OSError:
            return None

    def deadline(self, pem):
        from cryptography import x509
        blocks = [b for t, b in pki.pem_blocks(pem) if t == "CERTIFICATE"]
        c = x509.load_pem_x509_certificate(blocks[0])
        nb = c.not_valid_before.replace(tzinfo=datetime.timezone.utc).timestamp()
        na = c.not_valid_after.replace(tzinfo=datetime.timezone.utc).timestamp()
        return nb + (na - nb) * 0.7 * (1 + 0.2 * random.random())

    def start(self):
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        backoff = 2
        while not self.stop.is_set():
            pem = self.current()
            if pem is None:
                self.stop.wait(5)
                continue
            try:
                dl = self.deadline(pem)
            except (ValueError, IndexError):
                self.stop.wait(5)
                continue
            wait = dl - time.time()
            if wait > 0:
                common.log(C, "certificate rotation: %s deadline in %ds" % (self.prefix, int(wait)))
                if self.stop.wait(min(wait, 3600)):
                    return
                if self.current() != pem or time.time() < dl:
                    continue
            key = pki.gen_ec_key()
            try:
                cert, name = self.request(key)
            except (CSRFailed, clientmod.APIError, clientmod.TransportError) as e:
                common.log(C, "certificate rotation of %s failed: %s (retrying in %ds)" % (self.prefix, e, backoff), "E")
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 60)
                continue
            backoff = 2
            store_pair(self.cert_dir, self.prefix, cert, key)
            common.log(C, "certificate rotation: new %s certificate from CSR %s" % (self.prefix, name))
            self.on_rotate()


def serving_bootstrap(holder, cert_dir, nodename, hostname, ip, cfg, port, stop):
    cur = os.path.join(cert_dir, "kubelet-server-current.pem")

    def request(key):
        return request_certificate(holder["c"], "csr-", key, "/O=system:nodes/CN=system:node:%s" % nodename,
                                   SERVING_SIGNER, ["digital signature", "server auth"],
                                   dns=[hostname], ips=[ip], generate=True)
    if os.path.exists(cur) and cert_valid(pki.read(cur)):
        common.log(C, "using serving certificate %s" % cur)
    else:
        key = pki.gen_ec_key()
        try:
            cert, name = request(key)
        except (CSRFailed, clientmod.APIError, clientmod.TransportError) as e:
            common.log(C, "failed to get a serving certificate: %s" % e, "E")
            return
        cur = store_pair(cert_dir, "kubelet-server", cert, key)
        common.log(C, "serving certificate from CSR %s written to %s" % (name, cur))
    Rotator("kubelet-server", cert_dir, request, lambda: None).start()
    _serve_kubelet_port(cfg, port, cur, cur, holder, nodename)


def _serve_kubelet_port(cfg, port, cert, key, holder, nodename):
    """The kubelet API port: TLS with the serving pair (reloaded when it
    changes, like the kubelet's serving certificate manager), client
    certificates verified per request against authentication.x509.
    clientCAFile as it is now (reloaded: pkg/kubelet/server/auth.go
    BuildAuthn uses dynamiccertificates), anonymous per the config, and
    authorization.mode Webhook through a SubjectAccessReview (the kubelet
    maps / paths other than stats/metrics/logs/spec to nodes/proxy)."""
    if os.environ.get("K8SDOUBLE_KUBELET_NO_SERVER") == "1" or not cfg.get("enableServer", True):
        return
    authn = cfg.get("authentication") or {}
    anonymous = (authn.get("anonymous") or {}).get("enabled", False)
    mode = (cfg.get("authorization") or {}).get("mode", "AlwaysAllow")
    try:
        pair = dyncerts.DynamicPair("kubelet-serving", cert, key)
        caf = (authn.get("x509") or {}).get("clientCAFile")
        ca = dyncerts.DynamicCA("client-ca-bundle", caf) if caf else None
    except pki.PKIError as e:
        common.log(C, "not serving on :%d: %s" % (port, e), "E")
        return

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def _send(self, code, text):
            data = text.encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            user = None
            try:
                der = self.connection.getpeercert(binary_form=True)
            except (ValueError, AttributeError):
                der = None
            if der and ca is not None and ca.verify_client(der):
                cn, orgs = pki.cert_subject(ssl.DER_cert_to_PEM_cert(der).encode())
                user = {"username": cn, "groups": orgs + ["system:authenticated"]}
            elif anonymous and not der:
                user = {"username": "system:anonymous", "groups": ["system:unauthenticated"]}
            if user is None:
                return self._send(401, "Unauthorized")
            path = self.path.split("?")[0]
            sub = {"stats": "stats", "metrics": "metrics", "logs": "log", "spec": "spec"}.get(
                path.strip("/").split("/")[0], "proxy")
            if mode == "Webhook":
                try:
                    r = holder["c"].create("/apis/authorization.k8s.io/v1/subjectaccessreviews", {
                        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                        "spec": {"user": user["username"], "groups": user["groups"],
                                 "resourceAttributes": {"verb": "get", "resource": "nodes",
                                                        "subresource": sub, "name": nodename}}})
                    allowed = (r.get("status") or {}).get("allowed")
                except (clientmod.APIError, clientmod.TransportError) as e:
                    return self._send(500, "Authorization error (user=%s, verb=get, resource=nodes, subresource=%s): %s"
                                      % (user["username"], sub, e))
                if not allowed:
                    return self._send(403, "Forbidden (user=%s, verb=get, resource=nodes, subresource=%s)"
                                      % (user["username"], sub))
            if path.rstrip("/") in ("/healthz", "/livez", "/readyz"):
                return self._send(200, "ok")
            return self._send(404, "404 page not found\n")

    def ctx():
        return dyncerts.server_context(pair, (ca,))
    fam = socket.AF_INET6 if ":" in cfg.get("address", "0.0.0.0") else socket.AF_INET
    try:
        srv = component._Server((cfg.get("address", "0.0.0.0"), port), H, ctx(), fam)
    except OSError as e:
        common.log(C, "not serving on :%d: %s" % (port, e), "E")
        return
    poller = dyncerts.Poller(lambda: setattr(srv, "ctx", ctx()))
    poller.add(pair)
    poller.add(ca)
    poller.start()
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    common.log(C, "Starting to listen on %s:%d (kubelet API: x509 authentication, %s authorization)"
               % (cfg.get("address", "0.0.0.0"), port, mode))
