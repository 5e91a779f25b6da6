# SPDX-License-Identifier: Apache-2.0
"""kube-apiserver double: HTTPS, client-certificate and bootstrap-token
authentication, Node+RBAC authorization, a handful of resources (with CSR
approval/status semantics), watch, discovery, health, tables, test faults."""
import base64
import copy
import datetime
import hmac
import http.server
import ipaddress
import json
import os
import random
import re
import socket
import socketserver
import ssl
import threading
import time
import urllib.parse
import uuid

import yaml

from . import common
from . import configs
from . import dyncerts
from . import patch as patchmod
from . import pki
from . import proto
from . import encryption
from . import rbac
from . import resources as R
from . import satoken
from .etcdstore import EtcdClient, EtcdError, EtcdStore
from .store import Store, StoreConflict, StoreExists, StoreUnreadable, Unreadable

ADMISSION_PLUGINS = {
    "AlwaysAdmit", "AlwaysDeny", "AlwaysPullImages", "CertificateApproval", "CertificateSigning",
    "CertificateSubjectRestriction", "ClusterTrustBundleAttest", "DefaultIngressClass",
    "DefaultStorageClass", "DefaultTolerationSeconds", "DenyServiceExternalIPs", "EventRateLimit",
    "ExtendedResourceToleration", "ImagePolicyWebhook", "LimitPodHardAntiAffinityTopology",
    "LimitRanger", "MutatingAdmissionPolicy", "MutatingAdmissionWebhook", "NamespaceAutoProvision",
    "NamespaceExists", "NamespaceLifecycle", "NodeDeclaredFeatureValidator", "NodeRestriction",
    "OwnerReferencesPermissionEnforcement", "PersistentVolumeClaimResize", "PodNodeSelector",
    "PodSecurity", "PodTolerationRestriction", "PodTopologyLabels", "Priority", "ResourceQuota",
    "RuntimeClass", "ServiceAccount", "StorageObjectInUseProtection", "TaintNodesByCondition",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionWebhook"}
DEFAULT_ADMISSION = {"NamespaceLifecycle", "LimitRanger", "ServiceAccount", "TaintNodesByCondition",
                     "PodSecurity", "Priority", "DefaultTolerationSeconds", "DefaultStorageClass",
                     "StorageObjectInUseProtection", "PersistentVolumeClaimResize", "RuntimeClass",
                     "CertificateApproval", "CertificateSigning", "ClusterTrustBundleAttest",
                     "CertificateSubjectRestriction", "DefaultIngressClass", "PodTopologyLabels",
                     "NodeDeclaredFeatureValidator", "MutatingAdmissionPolicy", "MutatingAdmissionWebhook",
                     "ValidatingAdmissionPolicy", "ValidatingAdmissionWebhook", "ResourceQuota"}
AUTHZ_MODES = {"AlwaysAllow", "AlwaysDeny", "ABAC", "Webhook", "RBAC", "Node"}
KNOWN_USAGES = ["signing", "digital signature", "content commitment", "key encipherment",
                "key agreement", "data encipherment", "cert sign", "crl sign", "encipher only",
                "decipher only", "any", "server auth", "client auth", "code signing",
                "email protection", "s/mime", "ipsec end system", "ipsec tunnel", "ipsec user",
                "timestamping", "ocsp signing", "microsoft sgc", "netscape sgc"]
BOOTSTRAP_GROUP_RE = re.compile(r"^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$")
DNS1123_SUB = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
GEN_CHARS = "bcdfghjklmnpqrstvwxz2456789"


class APIStatus(Exception):
    """An error response as a metav1.Status."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details, self.headers = details, headers or {}

    def body(self):
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            st["details"] = self.details
        return st


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def not_found(res, name):
    return APIStatus(404, "NotFound", '%s "%s" not found' % (res.qualified, name),
                     {"name": name, "group": res.group, "kind": res.plural})


def invalid(res, name, errs):
    """errs: list of (field, message)."""
    kind = "%s.%s" % (res.kind, res.group) if res.group else res.kind
    msgs = ["%s: %s" % (f, m) for f, m in errs]
    msg = '%s "%s" is invalid: %s' % (kind, name, msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]")
    return APIStatus(422, "Invalid", msg, {"name": name, "group": res.group, "kind": res.kind,
                                           "causes": [{"reason": "FieldValueInvalid", "message": m, "field": f}
                                                      for f, m in errs]})


def forbidden(res, name, message):
    what = '%s "%s"' % (res.qualified, name) if name else res.qualified
    return APIStatus(403, "Forbidden", "%s is forbidden: %s" % (what, message),
                     {"name": name, "group": res.group, "kind": res.plural} if name else
                     {"group": res.group, "kind": res.plural})


def conflict(res, name, why="the object has been modified; please apply your changes to the latest version and try again"):
    return APIStatus(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": %s' % (res.qualified, name, why),
                     {"name": name, "group": res.group, "kind": res.plural})


def bad_request(msg):
    return APIStatus(400, "BadRequest", msg)


# ---------------------------------------------------------------------------
# configuration from flags


class Config:
    pass


def validate(p, check_only):
    """Semantic validation of kube-apiserver flags; returns Config or raises common.Fatal."""
    c = Config()
    errs = []

    def chk(fn, *a):
        try:
            return fn(*a)
        except (pki.PKIError, configs.ConfigError) as e:
            errs.append(str(e))

    c.secure_port = p.get("secure-port", 6443)
    if not 1 <= c.secure_port <= 65535:
        errs.append("--secure-port %d must be between 1 and 65535, inclusive. It cannot be turned off with 0" % c.secure_port)
    c.bind = p.get("bind-address", "0.0.0.0")
    for fl in ("bind-address", "advertise-address"):
        if p.has(fl):
            try:
                ipaddress.ip_address(p.get(fl))
            except ValueError:
                errs.append('invalid argument "%s" for "--%s" flag: failed to parse IP: "%s"' % (p.get(fl), fl, p.get(fl)))
    c.tls_cert, c.tls_key = p.get("tls-cert-file"), p.get("tls-private-key-file")
    if bool(c.tls_cert) != bool(c.tls_key):
        errs.append("--tls-cert-file and --tls-private-key-file must be specified together")
    elif c.tls_cert:
        chk(pki.check_pair_files, c.tls_cert, c.tls_key, "--tls-cert-file/--tls-private-key-file")
    c.client_ca = p.get("client-ca-file")
    if c.client_ca:
        chk(pki.check_cert_file, c.client_ca, "--client-ca-file")
    for f in ("requestheader-client-ca-file", "kubelet-certificate-authority"):
        if p.get(f):
            chk(pki.check_cert_file, p.get(f), "--" + f)
    for cf, kf in (("kubelet-client-certificate", "kubelet-client-key"), ("proxy-client-cert-file", "proxy-client-key-file"),
                   ("etcd-certfile", "etcd-keyfile")):
        if bool(p.get(cf)) != bool(p.get(kf)):
            errs.append("--%s and --%s must be specified together" % (cf, kf))
        elif p.get(cf):
            chk(pki.check_pair_files, p.get(cf), p.get(kf), "--%s/--%s" % (cf, kf))
    c.etcd_servers = p.get("etcd-servers", [])
    if not c.etcd_servers:
        errs.append("--etcd-servers must be specified")
    for s in c.etcd_servers:
        u = urllib.parse.urlparse(s)
        if u.scheme not in ("http", "https") or not u.hostname:
            errs.append('--etcd-servers: "%s" is not a valid http(s) URL' % s)
    c.etcd_ca = p.get("etcd-cafile")
    if c.etcd_ca:
        chk(pki.check_cert_file, c.etcd_ca, "--etcd-cafile")
    c.etcd_cert, c.etcd_key = p.get("etcd-certfile"), p.get("etcd-keyfile")
    if not p.get("service-account-issuer"):
        errs.append("--service-account-issuer is a required flag")
    if not p.get("service-account-signing-key-file") and not p.get("service-account-signing-endpoint"):
        errs.append("--service-account-signing-key-file and --service-account-issuer are required flags")
    if p.get("service-account-signing-key-file"):
        chk(pki.check_key_file, p.get("service-account-signing-key-file"), "--service-account-signing-key-file")
    for f in p.get("service-account-key-file", []):
        chk(pki.check_public_or_private_key_file, f)
    c.sa_max = p.get("service-account-max-token-expiration", 0.0) or 0.0
    if c.sa_max and not satoken.MIN_MAX_EXPIRATION <= c.sa_max <= satoken.MAX_MAX_EXPIRATION:
        errs.append("the service-account-max-token-expiration must be between 1 hour and 2^32 seconds")
    c.sa_extend = p.get("service-account-extend-token-expiration", True)
    c.requestheader_ca = p.get("requestheader-client-ca-file")
    c.requestheader_names = p.get("requestheader-allowed-names", [])
    c.requestheader_user = p.get("requestheader-username-headers", [])
    c.requestheader_group = p.get("requestheader-group-headers", [])
    c.requestheader_extra = p.get("requestheader-extra-headers-prefix", [])
    c.shutdown_delay = p.get("shutdown-delay-duration", 0.0) or 0.0
    c.encryption_config = p.get("encryption-provider-config")
    c.encryption_reload = p.get("encryption-provider-config-automatic-reload", False)
    if c.encryption_reload and not c.encryption_config:
        errs.append("--encryption-provider-config-automatic-reload must be set with --encryption-provider-config")
    if c.encryption_config:
        chk(configs.check_encryption_config, c.encryption_config)
    if p.get("audit-policy-file"):
        chk(configs.check_audit_policy, p.get("audit-policy-file"))
    c.authz_modes = p.get("authorization-mode", [])
    if not c.authz_modes and not p.get("authorization-config"):
        c.authz_modes = ["AlwaysAllow"]
    for m in c.authz_modes:
        if m not in AUTHZ_MODES:
            errs.append('authorization-mode "%s" is not a valid mode' % m)
    if len(set(c.authz_modes)) != len(c.authz_modes):
        errs.append("authorization-mode %s has mode specified more than once" % ",".join(c.authz_modes))
    if "Node" in c.authz_modes and "RBAC" not in c.authz_modes:
        errs.append("--authorization-mode: Node authorization mode requires RBAC (the double evaluates the node rules via RBAC policy)")
    enabled = set(DEFAULT_ADMISSION)
    for f, add in (("enable-admission-plugins", True), ("disable-admission-plugins", False)):
        for pl in p.get(f, []):
            if pl not in ADMISSION_PLUGINS:
                errs.append('%s plugin "%s" is unknown' % (f, pl))
            elif add:
                enabled.add(pl)
            else:
                enabled.discard(pl)
    c.admission = enabled
    if p.get("service-cluster-ip-range"):
        for cidr in p.get("service-cluster-ip-range").split(","):
            try:
                ipaddress.ip_network(cidr.strip(), strict=True)
            except ValueError as e:
                errs.append("--service-cluster-ip-range: %s" % e)
    c.token_file = p.get("token-auth-file")
    if c.token_file and not os.path.exists(c.token_file):
        errs.append("--token-auth-file: open %s: no such file or directory" % c.token_file)
    c.anonymous = p.get("anonymous-auth", True)
    c.anonymous_paths = None          # None: every path
    if p.get("authentication-config"):
        # --authentication-config (AuthenticationConfiguration v1): its
        # anonymous section replaces --anonymous-auth ("If present
        # --anonymous-auth must not be set", apiserver-config.v1.md;
        # KEP-4633, GA in v1.34): anonymous requests only for the listed
        # paths, e.g. the health endpoints a load balancer probes
        try:
            ac = configs.load_config(p.get("authentication-config"), "AuthenticationConfiguration")
        except configs.ConfigError as e:
            ac = None
            errs.append(str(e))
        if ac is not None and "anonymous" in ac:
            an = ac.get("anonymous") or {}
            if p.has("anonymous-auth"):
                errs.append("--anonymous-auth flag cannot be set when anonymous field is configured in "
                            "authentication configuration file")
            c.anonymous = bool(an.get("enabled"))
            conds = an.get("conditions") or []
            if conds and not c.anonymous:
                errs.append("anonymous.conditions: Invalid value: enabled should be set to true when conditions "
                            "are defined")
            paths = [x.get("path", "") for x in conds]
            if len(set(paths)) != len(paths) or any(not x for x in paths):
                errs.append("anonymous.conditions: each path must be set and unique")
            c.anonymous_paths = set(paths) if conds else None
    c.bootstrap_tokens = p.get("enable-bootstrap-token-auth", False)
    c.cert_dir = p.get("cert-dir", "/var/run/kubernetes")
    if errs:
        raise common.Fatal("\n".join(errs))
    return c


# ---------------------------------------------------------------------------


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.conflicts = {}      # plural -> remaining count
        self.error = None        # {"code", "until", "pathPrefix"}

    def state(self):
        with self.lock:
            e = dict(self.error) if self.error else None
            if e:
                e["remainingSeconds"] = max(0, round(e.pop("until") - time.time(), 1))
            return {"conflicts": dict(self.conflicts), "error": e}

    def take_conflict(self, plural):
        with self.lock:
            n = self.conflicts.get(plural, 0)
            if n > 0:
                self.conflicts[plural] = n - 1
                return True
            return False

    def current_error(self, path):
        with self.lock:
            e = self.error
            if not e:
                return None
            if time.time() >= e["until"]:
                self.error = None
                return None
            if e.get("pathPrefix") and not path.startswith(e["pathPrefix"]):
                return None
            return e["code"]


class APIServer:
    def __init__(self, cfg, flags_parsed, version):
        self.cfg = cfg
        self.p = flags_parsed
        self.version = version
        hist = int(os.environ.get("K8SDOUBLE_EVENT_HISTORY", "1000"))
        self.encryption_mtime = None
        self.transformers = self._load_encryption() if cfg.encryption_config else {}
        if os.environ.get("K8SDOUBLE_NO_ETCD") == "1" or os.environ.get("K8SDOUBLE_STATE"):
            # no etcd to keep objects in: memory (optionally a JSON file)
            self.store = Store(os.environ.get("K8SDOUBLE_STATE") or None, hist)
        else:
            self.store = EtcdStore(EtcdClient(cfg.etcd_servers, cfg.etcd_ca, cfg.etcd_cert, cfg.etcd_key),
                                   self.transformers, hist)
        self.faults_enabled = os.environ.get("K8SDOUBLE_FAULTS") == "1"
        self.faults = Faults()
        self.watch_epoch = 0
        self.etcd_ok = os.environ.get("K8SDOUBLE_NO_ETCD") == "1"
        self.etcd_reason = "not checked yet"
        self.bookmark_interval = float(os.environ.get("K8SDOUBLE_BOOKMARK_INTERVAL", "10"))
        self.static_tokens = self._load_tokens(cfg.token_file) if cfg.token_file else {}
        # service-account keys: read once, here (satoken.py)
        skf = flags_parsed.get("service-account-signing-key-file")
        self.sa_signer = satoken.Signer(pki.read(skf)) if skf else None
        self.sa_keys = []
        for f in flags_parsed.get("service-account-key-file", []) or ([skf] if skf else []):
            self.sa_keys += satoken.load_public_keys(pki.read(f))
        self.sa_issuer = (flags_parsed.get("service-account-issuer") or ["https://kubernetes.default.svc"])[0]
        self.shutting_down = False
        self.started = time.time()
        self.bootstrapped = False
        self.client_ca = self.requestheader_ca = None
        if isinstance(self.store, EtcdStore):
            self.store.when_ready(self._bootstrap)
        else:
            self._bootstrap()

    # -- encryption at rest (encryption.py) --
    def _load_encryption(self):
        path = self.cfg.encryption_config
        try:
            self.encryption_mtime = os.stat(path).st_mtime_ns
            return encryption.load(path)
        except (OSError, configs.ConfigError) as e:
            raise common.Fatal("error while parsing file: %s" % e)

    def encryption_reload_loop(self):
        """--encryption-provider-config-automatic-reload: take a changed
        file that loads; keep the old one otherwise (as the real reloader)."""
        while True:
            time.sleep(1)
            try:
                m = os.stat(self.cfg.encryption_config).st_mtime_ns
            except OSError:
                continue
            if m == self.encryption_mtime:
                continue
            try:
                t = encryption.load(self.cfg.encryption_config)
            except (OSError, configs.ConfigError) as e:
                common.log("kube-apiserver", "failed to reload the encryption config: %s" % e, "E")
                self.encryption_mtime = m
                continue
            self.encryption_mtime = m
            self.transformers.clear()
            self.transformers.update(t)
            common.log("kube-apiserver", "loaded a new encryption provider configuration")

    # -- startup --
    def _load_tokens(self, path):
        import csv
        out = {}
        with open(path, newline="") as f:
            for row in csv.reader(f):
                if not row or row[0].startswith("#"):
                    continue
                if len(row) < 3:
                    raise common.Fatal("--token-auth-file %s: each line needs token,user,uid" % path)
                groups = [g.strip() for g in row[3].split(",")] if len(row) > 3 and row[3] else []
                out[row[0]] = (row[1], row[2], groups)
        return out

    def _bootstrap(self):
        """The post-start hooks that make the default namespaces and the
        bootstrap RBAC policy (each apiserver of a cluster tries; the first
        write wins)."""
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            if not self.store.get_raw(("", "namespaces"), "", ns):
                self._create_internal(R.BY_KEY[("", "namespaces")],
                                      {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns,
                                       "labels": {"kubernetes.io/metadata.name": ns}}})
        for plural, obj in rbac.bootstrap_objects():
            res = R.BY_KEY[("rbac.authorization.k8s.io", plural)]
            if not self.store.get_raw(res.key, "", obj["metadata"]["name"]):
                self._create_internal(res, obj)
        self.bootstrapped = True

    def _create_internal(self, res, obj):
        md = obj["metadata"]
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = now_rfc3339()
        self._defaults(res, obj)
        try:
            return self.store.put(res.key, obj, "ADDED")
        except StoreExists:
            return None     # another apiserver of the cluster made it first

    def _defaults(self, res, obj):
        if res.key == ("", "namespaces"):
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            obj.setdefault("status", {})["phase"] = "Active"
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        elif res.key == ("", "secrets"):
            obj.setdefault("type", "Opaque")

    # -- etcd readiness probe --
    def etcd_probe_loop(self):
        if os.environ.get("K8SDOUBLE_NO_ETCD") == "1":
            self.etcd_ok, self.etcd_reason = True, "skipped (K8SDOUBLE_NO_ETCD=1)"
            return
        logged = None
        while True:
            ok, reason = self._probe_etcd_once()
            self.etcd_ok, self.etcd_reason = ok, reason
            if ok != logged:
                common.log("kube-apiserver", "etcd %s: %s" % ("reachable" if ok else "NOT reachable", reason))
                logged = ok
            time.sleep(5 if ok else 1)

    def _probe_etcd_once(self):
        import http.client
        last = "no etcd server configured"
        for s in self.cfg.etcd_servers:
            u = urllib.parse.urlparse(s)
            try:
                if u.scheme == "https":
                    ctx = ssl.create_default_context(cafile=self.cfg.etcd_ca) if self.cfg.etcd_ca else ssl.create_default_context()
                    if self.cfg.etcd_cert:
                        ctx.load_cert_chain(self.cfg.etcd_cert, self.cfg.etcd_key)
                    conn = http.client.HTTPSConnection(u.hostname, u.port or 2379, context=ctx, timeout=2)
                else:
                    conn = http.client.HTTPConnection(u.hostname, u.port or 2379, timeout=2)
                conn.request("GET", "/health")
                r = conn.getresponse()
                body = r.read()
                conn.close()
                if r.status == 200:
                    try:
                        h = json.loads(body).get("health")
                    except ValueError:
                        h = None
                    if h in ("true", True):
                        return True, "GET %s/health: %s" % (s, body.decode().strip())
                    last = "GET %s/health: unhealthy: %s" % (s, body.decode().strip())
                else:
                    last = "GET %s/health: HTTP %d" % (s, r.status)
            except (OSError, ssl.SSLError) as e:
                last = "GET %s/health: %s" % (s, e)
        return False, last


# ---------------------------------------------------------------------------
# the HTTP handler


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "k8sdouble"
    api = None  # APIServer, set on the class

    def log_message(self, fmt, *args):
        if os.environ.get("K8SDOUBLE_ACCESS_LOG") == "1":
            common.log("kube-apiserver", "%s %s" % (self.address_string(), fmt % args))

    def setup(self):
        super().setup()
        self.connection.settimeout(300)
        self.server.conn_state(self.connection, False)

    def finish(self):
        self.server.conn_state(self.connection, None)
        super().finish()

    def handle_one_request(self):
        # idle until the request line arrives; busy while serving it
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except (OSError, ValueError):
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        self.server.conn_state(self.connection, True)
        try:
            if len(self.raw_requestline) > 65536:
                self.send_error(414)
                return
            if not self.parse_request():
                return
            if self.server.draining:
                self.close_connection = True
            mname = "do_" + self.command
            if not hasattr(self, mname):
                self.send_error(501, "Unsupported method (%r)" % self.command)
                return
            getattr(self, mname)()
            self.wfile.flush()
        finally:
            if self.server.draining:
                self.close_connection = True
            self.server.conn_state(self.connection, False)

    # -- response helpers --
    def send_json(self, code, obj, headers=None, ctype="application/json"):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.server.draining:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_text(self, code, text):
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Length", str(len(data)))
        if self.server.draining:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_status(self, st):
        self.send_json(st.code, st.body(), st.headers)

    def read_body(self):
        # a body of unknown length comes chunked (Go's net/http client does
        # so for a reader such as kubectl's `create --raw -f -` stdin; the
        # real apiserver's net/http server decodes it)
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self.read_chunked(3 * 1024 * 1024)
        n = int(self.headers.get("Content-Length") or 0)
        if n > 3 * 1024 * 1024:
            raise APIStatus(413, "RequestEntityTooLarge", "the request is too large")
        raw = self.rfile.read(n) if n else b""
        return raw

    def read_chunked(self, cap):
        """An HTTP/1.1 chunked body (RFC 9112 section 7.1), at most cap bytes."""
        out = bytearray()
        for _ in range(1 << 20):
            line = self.rfile.readline(1026)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise bad_request("malformed chunked request body")
            if size == 0:
                while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(out)
            if len(out) + size > cap:
                self.close_connection = True
                raise APIStatus(413, "RequestEntityTooLarge", "the request is too large")
            out += self.rfile.read(size)
            self.rfile.readline(3)
        raise bad_request("malformed chunked request body")

    def parse_obj(self, raw):
        ct = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        if ct == "application/vnd.kubernetes.protobuf":
            try:
                return proto.decode_object(raw)
            except (proto.ProtoError, UnicodeDecodeError, IndexError) as e:
                raise APIStatus(415, "UnsupportedMediaType", "cannot decode protobuf body: %s" % e)
        if not raw:
            raise bad_request("the body of the request was empty")
        try:
            if ct in ("application/yaml", "application/apply-patch+yaml"):
                return yaml.safe_load(raw.decode())
            return json.loads(raw)
        except (ValueError, yaml.YAMLError) as e:
            raise bad_request("couldn't get version/kind; json parse error: %s" % e)

    # -- dispatch --
    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        api = self.api
        u = urllib.parse.urlsplit(self.path)
        path = u.path
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
        try:
            self._body = self.read_body()  # DELETE may carry DeleteOptions
            if not re.match(r"^/(healthz|livez|readyz|version)(/|$)", path):
                api.store.sync()
            user = self.impersonate(self.authenticate())
            if path.startswith("/_double/"):
                return self.handle_double(method, path, user)
            code = api.faults.current_error(path) if api.faults_enabled else None
            if code:
                reason = {500: "InternalError", 503: "ServiceUnavailable", 429: "TooManyRequests"}.get(code, "InternalError")
                raise APIStatus(code, reason, "injected fault: the server is currently unable to handle the request",
                                headers={"Retry-After": "1"} if code in (429, 503) else None)
            parts = [x for x in path.split("/") if x]
            if parts[:1] == ["api"] or parts[:1] == ["apis"]:
                return self.handle_api(method, parts, q, user)
            return self.handle_nonresource(method, path, q, user)
        except APIStatus as st:
            self.send_status(st)
        except StoreUnreadable as e:
            self.send_status(APIStatus(500, "InternalError", str(e)))
        except EtcdError as e:
            self.send_status(APIStatus(500, "InternalError", "Internal error occurred: %s" % e))
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as e:  # pragma: no cover - last resort
            import traceback
            traceback.print_exc()
            self.send_status(APIStatus(500, "InternalError", "Internal error occurred: %s" % e))

    # -- authentication --
    def authenticate(self):
        """The union authenticator of the real apiserver, in its order:
        requestheader (front proxy) first, then the client certificate,
        then bearer tokens (pkg/kubeapiserver/authenticator/config.go).
        Certificates are verified per request against the bundles as
        they are now (dyncerts.py): a CA dropped from --client-ca-file
        ends the next request of a connection that was made with it."""
        api = self.api
        cert = der = None
        try:
            cert = self.connection.getpeercert()
            der = self.connection.getpeercert(binary_form=True)
        except (ValueError, AttributeError):
            cert = None
        if cert:
            cn, orgs = "", []
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        cn = v
                    elif k == "organizationName":
                        orgs.append(v)
            rh = api.requestheader_ca
            if rh is not None and rh.verify_client(der):
                if api.cfg.requestheader_names and cn not in api.cfg.requestheader_names:
                    raise APIStatus(401, "Unauthorized", "Unauthorized")
                u = self.requestheader_user()
                if u is not None:
                    return u
            ca = api.client_ca
            if cn and ca is not None and ca.verify_client(der):
                return {"username": cn, "groups": orgs + ["system:authenticated"], "uid": "", "extra": {}}
            if cn and (ca is None or not ca.verify_client(der)) and not self.headers.get("Authorization"):
                # verified by the handshake against the other bundle only,
                # or by a CA since dropped: x509 authentication fails
                raise APIStatus(401, "Unauthorized", "Unauthorized")
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            tok = auth[7:].strip()
            u = self.authenticate_token(tok)
            if u is None:
                raise APIStatus(401, "Unauthorized", "Unauthorized")
            return u
        if api.cfg.anonymous and (api.cfg.anonymous_paths is None or
                                  urllib.parse.urlsplit(self.path).path in api.cfg.anonymous_paths):
            return {"username": "system:anonymous", "groups": ["system:unauthenticated"], "uid": "", "extra": {}}
        raise APIStatus(401, "Unauthorized", "Unauthorized")

    def requestheader_user(self):
        """--requestheader-*: the user named in the headers a verified front
        proxy sent (k8s.io/apiserver/pkg/authentication/request/headerrequest)."""
        cfg = self.api.cfg
        name = ""
        for h in cfg.requestheader_user:
            v = (self.headers.get(h) or "").strip()
            if v:
                name = v
                break
        if not name:
            return None
        groups = []
        for h in cfg.requestheader_group:
            groups += [g for g in (self.headers.get_all(h) or []) if g]
        extra = {}
        for pfx in cfg.requestheader_extra:
            for k, v in self.headers.items():
                if k.lower().startswith(pfx.lower()):
                    extra.setdefault(urllib.parse.unquote(k[len(pfx):]).lower(), []).append(v)
        if "system:authenticated" not in groups:
            groups.append("system:authenticated")
        return {"username": name, "groups": groups, "uid": "", "extra": extra}

    def impersonate(self, user):
        """Impersonate-User / Impersonate-Group headers (kubectl --as/--as-group)."""
        as_user = self.headers.get("Impersonate-User")
        as_groups = self.headers.get_all("Impersonate-Group") or []
        if not as_user:
            if as_groups:
                raise APIStatus(500, "InternalError", "requested impersonation of groups without impersonating a user")
            return user
        checks = []
        if as_user.startswith("system:serviceaccount:") and as_user.count(":") == 3:
            _, _, ns, name = as_user.split(":")
            checks.append(("serviceaccounts", ns, name))
        else:
            checks.append(("users", "", as_user))
        checks += [("groups", "", g) for g in as_groups]
        for res, ns, name in checks:
            a = rbac.Attrs(user["username"], user["groups"], "impersonate", "", res, "", ns, name)
            if not self.authorize(user, a)[0]:
                scope = 'in the namespace "%s"' % ns if ns else "at the cluster scope"
                raise APIStatus(403, "Forbidden", '%s "%s" is forbidden: User "%s" cannot impersonate resource "%s" in API group "" %s'
                                % (res, name, user["username"], res, scope), {"name": name, "kind": res})
        groups = list(as_groups)
        if as_user.startswith("system:serviceaccount:"):
            groups += ["system:serviceaccounts", "system:serviceaccounts:" + as_user.split(":")[2]]
        if as_user != "system:anonymous" and "system:authenticated" not in groups:
            groups.append("system:authenticated")
        return {"username": as_user, "groups": groups, "uid": "", "extra": {}}

    def authenticate_token(self, tok):
        api = self.api
        if tok in api.static_tokens:
            user, uid, groups = api.static_tokens[tok]
            return {"username": user, "uid": uid, "groups": groups + ["system:authenticated"], "extra": {}}
        if tok.count(".") == 2:
            u = sa_token_user(api, tok)
            if u:
                return u
        if api.cfg.bootstrap_tokens:
            return bootstrap_token_user(api.store, tok)
        return None

    # -- authorization --
    def authorize(self, user, a):
        api = self.api
        reasons = []
        if "system:masters" in user.get("groups", ()) and api.cfg.authz_modes != ["AlwaysDeny"]:
            # the privileged-group authorizer comes first in the real union
            # (pkg/kubeapiserver/authorizer: NewPrivilegedGroups(system:masters))
            return True, ""
        for mode in api.cfg.authz_modes:
            if mode == "AlwaysAllow":
                return True, ""
            if mode == "AlwaysDeny":
                return False, "Everything is forbidden."
            if mode == "Node":
                d, r = rbac.node_authorize(a)
                if d:
                    return True, ""
                if r:
                    reasons.append(r)
            elif mode == "RBAC":
                d, r = rbac.rbac_allows(api.store, a)
                if d:
                    return True, ""
        return False, ": ".join(reasons)

    def check(self, user, res, verb, ns="", name="", sub=""):
        a = rbac.Attrs(user["username"], user["groups"], verb, res.group, res.plural, sub, ns, name)
        ok, reason = self.authorize(user, a)
        if ok:
            return
        scope = 'in the namespace "%s"' % ns if ns else "at the cluster scope"
        resname = res.plural + ("/" + sub if sub else "")
        msg = 'User "%s" cannot %s resource "%s" in API group "%s" %s' % (user["username"], verb, resname, res.group, scope)
        if reason:
            msg += ": " + reason
        raise forbidden(res, name, msg)

    def can(self, username, groups, verb, group, resource, name="", sub="", ns=""):
        a = rbac.Attrs(username, groups, verb, group, resource, sub, ns, name)
        return self.authorize({"username": username, "groups": groups}, a)[0]

    def check_nonresource(self, user, path, verb="get"):
        a = rbac.Attrs(user["username"], user["groups"], verb, path=path, resource_request=False)
        ok, reason = self.authorize(user, a)
        if not ok:
            raise APIStatus(403, "Forbidden", 'forbidden: User "%s" cannot %s path "%s"' % (user["username"], verb, path),
                            {})

    # -- non-resource endpoints --
    def handle_nonresource(self, method, path, q, user):
        api = self.api
        if method != "GET":
            self.check_nonresource(user, path, method.lower())
            raise APIStatus(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        self.check_nonresource(user, path)
        base = path.rstrip("/") or "/"
        if base in ("/healthz", "/livez", "/readyz") or re.match(r"^/(healthz|livez|readyz)/", path):
            return self.health(path, q)
        if base == "/version":
            return self.send_json(200, common.version_info(api.version))
        if base == "/openapi/v3" or base.startswith("/openapi/v3/"):
            return self.openapi_v3(base)
        if base.startswith("/openapi"):
            raise APIStatus(404, "NotFound", "the server could not find the requested resource")
        if base == "/":
            paths = ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/version"]
            for g, v in R.groups().items():
                paths += ["/apis/" + g, "/apis/%s/%s" % (g, v)]
            return self.send_json(200, {"paths": sorted(paths)})
        raise APIStatus(404, "NotFound", "the server could not find the requested resource")

    def openapi_v3(self, base):
        """Just enough OpenAPI v3 for kubectl to see that every kind supports
        server-side field validation (the fieldValidation query parameter)."""
        gvs = {"api/v1": ("", "v1")}
        for g, v in R.groups().items():
            gvs["apis/%s/%s" % (g, v)] = (g, v)
        if base == "/openapi/v3":
            return self.send_json(200, {"paths": {k: {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (k, self.api.version)}
                                                  for k in gvs}})
        key = base[len("/openapi/v3/"):]
        if key not in gvs:
            raise APIStatus(404, "NotFound", "the server could not find the requested resource")
        g, v = gvs[key]
        paths = {}
        for r in R.RESOURCES:
            if r.group != g or "patch" not in r.verbs:
                continue
            prefix = "/api/v1" if not g else "/apis/%s/%s" % (g, v)
            p = prefix + ("/namespaces/{namespace}" if r.namespaced else "") + "/%s/{name}" % r.plural
            paths[p] = {"patch": {"operationId": "patch" + r.kind,
                                  "x-kubernetes-group-version-kind": {"group": g, "version": v, "kind": r.kind},
                                  "x-kubernetes-action": "patch",
                                  "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                                                 {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
                                                 {"name": "fieldManager", "in": "query", "schema": {"type": "string"}}],
                                  "responses": {"200": {"description": "OK"}}}}
        return self.send_json(200, {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": self.api.version},
                                    "paths": paths, "components": {}})

    def health(self, path, q):
        api = self.api
        kind = path.strip("/").split("/")[0]
        checks = [("ping", True, ""), ("log", True, "")]
        if kind in ("healthz", "readyz"):
            checks.append(("etcd", api.etcd_ok, api.etcd_reason))
        checks += [("poststarthook/start-apiserver-admission-initializer", True, ""),
                   ("poststarthook/rbac/bootstrap-roles", api.bootstrapped, "not finished"),
                   ("poststarthook/bootstrap-controller", True, "")]
        if kind == "readyz":
            # the real /readyz fails from SIGTERM on, while the server keeps
            # serving for --shutdown-delay-duration (so load balancers stop
            # sending new connections before it stops listening)
            checks.append(("shutdown", not api.shutting_down, "process is shutting down"))
        sub = path.strip("/").split("/", 1)[1] if "/" in path.strip("/") else ""
        if sub:
            for n, ok, reason in checks:
                if n == sub:
                    return self.send_text(200 if ok else 500, "ok" if ok else "internal server error: %s\n" % reason)
            raise APIStatus(404, "NotFound", "the server could not find the requested resource")
        excluded = set(x for x in q.get("exclude", "").split(",") if x)
        ok_all = all(ok for n, ok, _ in checks if n not in excluded)
        if "verbose" in q or not ok_all:
            lines = []
            for n, ok, reason in checks:
                if n in excluded:
                    lines.append("[+]%s excluded: ok" % n)
                else:
                    lines.append("[+]%s ok" % n if ok else "[-]%s failed: reason withheld" % n)
            lines.append("%s check %s" % (kind, "passed" if ok_all else "failed"))
            return self.send_text(200 if ok_all else 500, "\n".join(lines) + "\n")
        return self.send_text(200, "ok")

    # -- test-only control endpoint --
    def handle_double(self, method, path, user):
        api = self.api
        if not api.faults_enabled:
            raise APIStatus(404, "NotFound", "the server could not find the requested resource")
        if "system:masters" not in user["groups"]:
            raise APIStatus(403, "Forbidden", 'forbidden: User "%s" cannot %s path "%s"' % (user["username"], method.lower(), path))
        if path.rstrip("/") != "/_double/faults":
            raise APIStatus(404, "NotFound", "the server could not find the requested resource")
        if method == "POST":
            try:
                body = json.loads(self._body or b"{}")
            except ValueError as e:
                raise bad_request("invalid JSON: %s" % e)
            f = api.faults
            with f.lock:
                if body.get("reset"):
                    f.conflicts, f.error = {}, None
                c = body.get("conflict")
                if c:
                    f.conflicts[c["resource"]] = f.conflicts.get(c["resource"], 0) + int(c.get("count", 1))
                e = body.get("error")
                if e:
                    f.error = {"code": int(e.get("code", 503)), "until": time.time() + float(e.get("seconds", 5)),
                               "pathPrefix": e.get("pathPrefix", "")}
            if body.get("closeWatches"):
                api.watch_epoch += 1
                api.store.kick()
            common.log("kube-apiserver", "fault injection: %s" % json.dumps(body))
        elif method != "GET":
            raise APIStatus(405, "MethodNotAllowed", "GET or POST")
        st = api.faults.state()
        st["watchEpoch"] = api.watch_epoch
        return self.send_json(200, st)

    # -- API --
    def handle_api(self, method, parts, q, user):
        if parts[0] == "api":
            group = ""
            version = parts[1] if len(parts) > 1 else None
            if len(parts) == 1:
                self.check_nonresource(user, "/api")
                host = self.headers.get("Host", "")
                return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]})
            rest = parts[2:]
        else:
            if len(parts) == 1:
                self.check_nonresource(user, "/apis")
                return self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1",
                                            "groups": [self.group_doc(g, v) for g, v in R.groups().items()]})
            group = parts[1]
            gv = R.groups().get(group)
            if gv is None:
                raise APIStatus(404, "NotFound", "the server could not find the requested resource")
            if len(parts) == 2:
                self.check_nonresource(user, "/apis/" + group)
                d = self.group_doc(group, gv)
                d.update({"kind": "APIGroup", "apiVersion": "v1"})
                return self.send_json(200, d)
            version = parts[2]
            rest = parts[3:]
        if version != ("v1"):
            raise APIStatus(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            self.check_nonresource(user, "/" + "/".join(parts))
            gv = "%s/%s" % (group, version) if group else version
            resl = []
            for r in R.RESOURCES:
                if r.group == group:
                    resl.extend(r.discovery())
            return self.send_json(200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                                        "resources": resl})
        ns, name, sub = "", "", ""
        if rest[0] == "namespaces" and len(rest) >= 3 and R.lookup(group, version, rest[2]) and \
                R.lookup(group, version, rest[2]).namespaced:
            ns, plural = rest[1], rest[2]
            name = rest[3] if len(rest) > 3 else ""
            sub = rest[4] if len(rest) > 4 else ""
            if len(rest) > 5:
                raise APIStatus(404, "NotFound", "the server could not find the requested resource")
        else:
            plural = rest[0]
            name = rest[1] if len(rest) > 1 else ""
            sub = rest[2] if len(rest) > 2 else ""
            if len(rest) > 3:
                raise APIStatus(404, "NotFound", "the server could not find the requested resource")
        res = R.lookup(group, version, plural)
        if res is None:
            raise APIStatus(404, "NotFound", "the server could not find the requested resource")
        if res.namespaced and not ns and name:
            raise APIStatus(404, "NotFound", "the server could not find the requested resource")
        if sub and sub not in res.subresources:
            raise APIStatus(404, "NotFound", "the server could not find the requested resource")
        if method == "GET":
            if not name:
                verb = "watch" if q.get("watch") in ("true", "1") else "list"
            else:
                verb = "get"
        elif method == "POST":
            verb = "create"
            if name and not sub:
                raise APIStatus(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        elif method == "PUT":
            verb = "update"
        elif method == "PATCH":
            verb = "patch"
        else:
            verb = "delete" if name else "deletecollection"
        if verb not in res.verbs and not sub:
            raise APIStatus(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if verb in ("update", "patch", "create") and not name and verb != "create":
            raise APIStatus(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        self.check(user, res, verb, ns, name, sub)
        if res.key in R.VIRTUAL:
            return self.handle_review(res, user)
        if res.key == ("", "serviceaccounts") and sub == "token":
            if verb != "create":
                raise APIStatus(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            return self.token_request(res, ns, name)
        if verb == "get":
            return self.do_get(res, ns, name, q)
        if verb == "list":
            return self.do_list(res, ns, q)
        if verb == "watch":
            return self.do_watch(res, ns, q)
        if verb == "create":
            return self.do_create(res, ns, user, q)
        if verb in ("update", "patch"):
            return self.do_update(res, ns, name, sub, user, q, verb)
        if verb == "delete":
            return self.do_delete(res, ns, name, user, q)
        return self.do_deletecollection(res, ns, user, q)

    def group_doc(self, g, v):
        gv = {"groupVersion": "%s/%s" % (g, v), "version": v}
        return {"name": g, "versions": [gv], "preferredVersion": gv}

    def wants_table(self):
        return "as=Table" in (self.headers.get("Accept") or "")

    # -- reads --
    def do_get(self, res, ns, name, q):
        o = self.api.store.get(res.key, ns, name)
        if o is None:
            raise not_found(res, name)
        if self.wants_table():
            return self.send_json(200, R.table(res, [o], o["metadata"]["resourceVersion"], q.get("includeObject", "Metadata")))
        return self.send_json(200, o)

    def selected(self, res, q):
        ls = parse_label_selector(q.get("labelSelector", ""))
        fs = parse_field_selector(res, q.get("fieldSelector", ""))
        return lambda o: match_labels(ls, o) and match_fields(fs, o)

    def do_list(self, res, ns, q):
        sel = self.selected(res, q)
        items, rv = self.api.store.list(res.key, ns or None)
        items = [o for o in items if sel(o)]
        if self.wants_table():
            return self.send_json(200, R.table(res, items, rv, q.get("includeObject", "Metadata")))
        return self.send_json(200, {"kind": res.kind + "List", "apiVersion": res.api_version,
                                    "metadata": {"resourceVersion": str(rv)}, "items": items})

    def do_watch(self, res, ns, q):
        api = self.api
        store = api.store
        sel = self.selected(res, q)
        table = self.wants_table()
        rv_s = q.get("resourceVersion", "")
        try:
            timeout = float(q.get("timeoutSeconds") or 1800)
        except ValueError:
            raise bad_request("invalid timeoutSeconds")
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        send_initial = q.get("sendInitialEvents") in ("true", "1")
        deadline = time.time() + timeout
        epoch = api.watch_epoch
        initial = []
        with store.lock:
            cur = store.rv
            if send_initial or rv_s in ("", "0"):
                items, _ = store.list(res.key, ns or None)
                initial = [("ADDED", o) for o in items if sel(o)]
                last = cur
            else:
                try:
                    last = int(rv_s)
                except ValueError:
                    raise bad_request('invalid resource version "%s"' % rv_s)
                if last < store.compacted:
                    initial = None
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()

        def emit(typ, obj):
            if table and typ in ("ADDED", "MODIFIED", "DELETED"):
                obj = R.table(res, [obj], obj["metadata"]["resourceVersion"], q.get("includeObject", "Metadata"))
            data = json.dumps({"type": typ, "object": obj}).encode() + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def bookmark(rv, initial_end=False):
            md = {"resourceVersion": str(rv)}
            if initial_end:
                md["annotations"] = {"k8s.io/initial-events-end": "true"}
            emit("BOOKMARK", {"kind": res.kind, "apiVersion": res.api_version, "metadata": md})

        try:
            if initial is None:
                emit("ERROR", {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                               "message": "too old resource version: %d (%d)" % (last, store.compacted + 1),
                               "reason": "Expired", "code": 410})
                self.wfile.write(b"0\r\n\r\n")
                return
            for typ, o in initial:
                emit(typ, o)
            if send_initial and bookmarks:
                bookmark(last, True)
            next_bm = time.time() + self.api.bookmark_interval
            while True:
                out = []
                with store.lock:
                    while True:
                        if api.watch_epoch != epoch:
                            break
                        evs = [e for e in store.events if e[0] > last]
                        if evs or time.time() >= min(deadline, next_bm if bookmarks else deadline):
                            break
                        store.cond.wait(timeout=max(0.05, min(deadline, next_bm if bookmarks else deadline) - time.time()))
                    if api.watch_epoch != epoch:
                        common.log("kube-apiserver", "closing watch on %s (fault injection)" % res.plural)
                        break
                    for (erv, typ, key, ens, obj, old) in store.events:
                        if erv <= last:
                            continue
                        last = erv
                        if key != res.key or (ns and ens != ns):
                            continue
                        new_ok = sel(obj)
                        old_ok = old is not None and typ != "ADDED" and sel(old)
                        if typ == "DELETED":
                            if old_ok or new_ok:
                                out.append(("DELETED", obj))
                        elif new_ok and (typ == "ADDED" or old_ok):
                            out.append((typ, obj))
                        elif new_ok:
                            out.append(("ADDED", obj))
                        elif old_ok:
                            out.append(("DELETED", obj))
                    cur_rv = store.rv
                for typ, o in out:
                    emit(typ, o)
                if time.time() >= deadline:
                    break
                if bookmarks and time.time() >= next_bm:
                    bookmark(max(last, cur_rv) if not out else last)
                    next_bm = time.time() + self.api.bookmark_interval
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    # -- writes --
    def load_body_obj(self, res):
        obj = self.parse_obj(self._body)
        if not isinstance(obj, dict):
            raise bad_request("the body of the request is not an object")
        av, kind = obj.get("apiVersion"), obj.get("kind")
        if av and av != res.api_version:
            raise bad_request("the API version in the data (%s) does not match the expected API version (%s)" % (av, res.api_version))
        if kind and kind != res.kind:
            raise bad_request("the kind in the data (%s) does not match the expected kind (%s)" % (kind, res.kind))
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        obj.setdefault("metadata", {})
        if not isinstance(obj["metadata"], dict):
            raise bad_request("metadata must be an object")
        return obj

    def do_create(self, res, ns, user, q):
        api = self.api
        obj = self.load_body_obj(res)
        md = obj["metadata"]
        if res.namespaced:
            if md.get("namespace") and md["namespace"] != ns:
                raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
            md["namespace"] = ns
            nso = api.store.get_raw(("", "namespaces"), "", ns)
            if nso is None:
                raise not_found(R.BY_KEY[("", "namespaces")], ns)
            if (nso.get("status") or {}).get("phase") == "Terminating":
                raise forbidden(res, md.get("name", ""), 'unable to create new content in namespace %s because it is being terminated' % ns)
        else:
            md.pop("namespace", None)
        if not md.get("name"):
            if md.get("generateName"):
                md["name"] = md["generateName"] + "".join(random.choice(GEN_CHARS) for _ in range(5))
            else:
                raise invalid(res, "", [("metadata.name", "Required value: name or generateName is required")])
        name = md["name"]
        self.validate_name(res, name)
        for k in ("resourceVersion", "uid", "creationTimestamp", "deletionTimestamp", "selfLink"):
            md.pop(k, None)
        self.prepare_create(res, obj, user)
        self.admit(res, "create", obj, None, user, "")
        with api.store.lock:
            if api.store.get_raw(res.key, ns, name) is not None:
                raise APIStatus(409, "AlreadyExists", '%s "%s" already exists' % (res.qualified, name),
                                {"name": name, "group": res.group, "kind": res.plural})
            md["uid"] = str(uuid.uuid4())
            md["creationTimestamp"] = now_rfc3339()
            if q.get("dryRun") == "All":
                md["resourceVersion"] = ""
                return self.send_json(201, obj)
            try:
                saved = api.store.put(res.key, obj, "ADDED")
            except StoreExists:
                raise APIStatus(409, "AlreadyExists", '%s "%s" already exists' % (res.qualified, name),
                                {"name": name, "group": res.group, "kind": res.plural})
        common.log("kube-apiserver", "%s created %s %s%s" % (user["username"], res.qualified, (ns + "/") if ns else "", name))
        return self.send_json(201, saved)

    def do_update(self, res, ns, name, sub, user, q, verb):
        api = self.api
        with api.store.lock:
            old = api.store.get(res.key, ns, name)
        if verb == "patch":
            if old is None:
                ct = (self.headers.get("Content-Type") or "").split(";")[0]
                if ct == "application/apply-patch+yaml":
                    return self.do_create(res, ns, user, q)
                raise not_found(res, name)
            ct = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            try:
                patch_doc = json.loads(self._body) if ct != "application/apply-patch+yaml" else yaml.safe_load(self._body)
            except (ValueError, yaml.YAMLError) as e:
                raise bad_request("error decoding patch: %s" % e)
            try:
                new = patchmod.apply(ct, copy.deepcopy(old), patch_doc)
            except patchmod.PatchError as e:
                raise APIStatus(415 if e.unsupported else 422, "UnsupportedMediaType" if e.unsupported else "Invalid", str(e))
            new["apiVersion"], new["kind"] = res.api_version, res.kind
            pmd = (patch_doc or {}).get("metadata") if isinstance(patch_doc, dict) else None
            want_rv = (pmd or {}).get("resourceVersion") if isinstance(pmd, dict) else None
        else:
            new = self.load_body_obj(res)
            if old is None:
                raise not_found(res, name)
            want_rv = new["metadata"].get("resourceVersion")
        md = new.setdefault("metadata", {})
        if md.get("name") and md["name"] != name:
            raise bad_request("the name of the object (%s) does not match the name on the URL (%s)" % (md["name"], name))
        md["name"] = name
        if res.namespaced:
            if md.get("namespace") and md["namespace"] != ns:
                raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
            md["namespace"] = ns
        if api.faults_enabled and api.faults.take_conflict(res.plural):
            common.log("kube-apiserver", "fault injection: 409 for %s %s" % (res.plural, name))
            raise conflict(res, name)
        with api.store.lock:
            cur = api.store.get(res.key, ns, name)
            if cur is None:
                raise not_found(res, name)
            if want_rv and want_rv != cur["metadata"]["resourceVersion"]:
                raise conflict(res, name)
            old = cur
            for k in ("uid", "creationTimestamp"):
                md[k] = old["metadata"].get(k)
            md.pop("resourceVersion", None)
            obj = self.prepare_update(res, sub, new, old, user)
            self.admit(res, "update", obj, old, user, sub)
            if q.get("dryRun") == "All":
                return self.send_json(200, obj)
            try:
                saved = api.store.put(res.key, obj, "MODIFIED", expect_rv=cur["metadata"]["resourceVersion"])
            except StoreConflict:
                raise conflict(res, name)
        common.log("kube-apiserver", "%s %s %s %s%s%s" % (user["username"], "updated", res.qualified,
                                                         (ns + "/") if ns else "", name, ("/" + sub) if sub else ""))
        return self.send_json(200, saved)

    def do_delete(self, res, ns, name, user, q):
        api = self.api
        old = api.store.get(res.key, ns, name)
        if old is None:
            raise not_found(res, name)
        self.admit(res, "delete", None, old, user, "")
        if q.get("dryRun") == "All":
            return self.send_json(200, old)
        if res.key == ("", "namespaces"):
            if name in ("default", "kube-system", "kube-public"):
                raise forbidden(res, name, "this namespace may not be deleted")
            for r in R.RESOURCES:
                if r.namespaced:
                    for o in api.store.list_raw(r.key, name):
                        api.store.delete(r.key, name, o["metadata"]["name"])
        gone = api.store.delete(res.key, ns, name)
        common.log("kube-apiserver", "%s deleted %s %s%s" % (user["username"], res.qualified, (ns + "/") if ns else "", name))
        return self.send_json(200, gone)

    def do_deletecollection(self, res, ns, user, q):
        sel = self.selected(res, q)
        items, rv = self.api.store.list(res.key, ns or None)
        for o in items:
            if sel(o):
                self.api.store.delete(res.key, o["metadata"].get("namespace", ""), o["metadata"]["name"])
        return self.send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})

    def validate_name(self, res, name):
        if res.key in (("", "namespaces"),):
            ok = DNS1123_LABEL.match(name) and len(name) <= 63
            msg = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        elif res.group in ("rbac.authorization.k8s.io", "certificates.k8s.io"):
            ok = name not in (".", "..") and "/" not in name and "%" not in name
            msg = "may not contain '/' or '%'"
        else:
            ok = DNS1123_SUB.match(name) and len(name) <= 253
            msg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        if not ok:
            raise invalid(res, name, [("metadata.name", 'Invalid value: "%s": %s' % (name, msg))])

    # -- per-kind create/update semantics --
    def prepare_create(self, res, obj, user):
        k = res.key
        self.api._defaults(res, obj)
        if k == ("", "secrets"):
            normalize_secret(res, obj)
        elif k == ("certificates.k8s.io", "certificatesigningrequests"):
            prepare_csr_create(res, obj, user)
        elif k[0] == "rbac.authorization.k8s.io":
            validate_rbac(res, obj)
        elif k == ("", "nodes"):
            obj.setdefault("spec", {})
            obj.setdefault("status", {})

    def prepare_update(self, res, sub, new, old, user):
        k = res.key
        name = old["metadata"]["name"]
        if k == ("certificates.k8s.io", "certificatesigningrequests"):
            return csr_update(self, res, sub, new, old, user)
        if sub == "status":
            obj = copy.deepcopy(old)
            obj["status"] = new.get("status") or {}
            obj["metadata"].pop("resourceVersion", None)
            return obj
        if res.subresources.get("status") is not None:
            new["status"] = copy.deepcopy(old.get("status") or {})
        if k == ("", "secrets"):
            normalize_secret(res, new)
            if old.get("immutable") and (new.get("data") != old.get("data") or new.get("type") != old.get("type")):
                raise invalid(res, name, [("data", "Forbidden: field is immutable when `immutable` is set")])
            if new.get("type", "Opaque") != old.get("type", "Opaque"):
                raise invalid(res, name, [("type", 'Invalid value: "%s": field is immutable' % new.get("type"))])
        if k == ("", "namespaces"):
            new["status"] = old.get("status")
            new.setdefault("metadata", {}).setdefault("labels", {})["kubernetes.io/metadata.name"] = name
        if k[0] == "rbac.authorization.k8s.io":
            validate_rbac(res, new)
            if k[1].endswith("bindings") and new.get("roleRef") != old.get("roleRef"):
                raise invalid(res, name, [("roleRef", "Invalid value: cannot change roleRef")])
        return new

    def admit(self, res, op, obj, old, user, sub):
        api = self.api
        adm = api.cfg.admission
        node = rbac.node_name(user["username"], user["groups"])
        if "NodeRestriction" in adm and node is not None and res.key == ("", "nodes"):
            target = (obj or old)["metadata"]["name"]
            if target != node:
                raise forbidden(res, target, 'node "%s" is not allowed to modify node "%s"' % (node, target))
        if res.key == ("certificates.k8s.io", "certificatesigningrequests") and obj is not None:
            signer = (obj.get("spec") or {}).get("signerName", "")
            name = obj["metadata"]["name"]
            if op == "create" and "CertificateSubjectRestriction" in adm and signer == "kubernetes.io/kube-apiserver-client":
                try:
                    info = pki.csr_info(base64.b64decode(obj["spec"]["request"]))
                except Exception:
                    info = {"orgs": []}
                if "system:masters" in info["orgs"]:
                    raise forbidden(res, name, "use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed")
            if op == "update" and sub == "approval" and "CertificateApproval" in adm:
                if not self.signer_permitted(user, "approve", signer):
                    raise forbidden(res, name, 'user not permitted to approve requests with signerName "%s"' % signer)
            if op == "update" and sub == "status" and "CertificateSigning" in adm:
                if (obj.get("status") or {}).get("certificate") != ((old or {}).get("status") or {}).get("certificate"):
                    if not self.signer_permitted(user, "sign", signer):
                        raise forbidden(res, name, 'user not permitted to sign requests with signerName "%s"' % signer)

    def signer_permitted(self, user, verb, signer):
        names = [signer]
        if "/" in signer:
            names.append(signer.split("/", 1)[0] + "/*")
        return any(self.can(user["username"], user["groups"], verb, "certificates.k8s.io", "signers", n) for n in names)

    def token_request(self, res, ns, name):
        api = self.api
        sa = api.store.get(res.key, ns, name)
        if sa is None:
            raise not_found(res, name)
        body = self.parse_obj(self._body) or {}
        spec = body.get("spec") or {}
        exp = int(spec.get("expirationSeconds") or 3600)
        if exp < 600:
            raise invalid(R.BY_KEY[res.key], name, [("spec.expirationSeconds", "Invalid value: %d: may not specify a duration less than 10 minutes" % exp)])
        bound = (spec.get("boundObjectRef") or {}).get("kind") == "Pod"
        tok, until, exp = issue_sa_token(api, ns, name, sa["metadata"]["uid"], exp,
                                         spec.get("audiences") or [api.sa_issuer], bound)
        out = {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
               "metadata": {"name": name, "namespace": ns, "creationTimestamp": now_rfc3339()},
               "spec": {"audiences": spec.get("audiences") or [api.sa_issuer], "expirationSeconds": exp,
                        "boundObjectRef": spec.get("boundObjectRef")},
               "status": {"token": tok, "expirationTimestamp": until}}
        return self.send_json(201, out)

    # -- authentication/authorization review APIs --
    def handle_review(self, res, user):
        obj = self.load_body_obj(res)
        spec = obj.get("spec") or {}
        if res.plural == "selfsubjectreviews":
            obj["status"] = {"userInfo": {"username": user["username"], "groups": user["groups"],
                                         **({"uid": user["uid"]} if user.get("uid") else {})}}
        elif res.plural == "tokenreviews":
            u = self.authenticate_token(spec.get("token", "")) if spec.get("token") else None
            obj["status"] = {"authenticated": bool(u), "audiences": spec.get("audiences") or []}
            if u:
                obj["status"]["user"] = {"username": u["username"], "uid": u.get("uid", ""), "groups": u["groups"]}
            else:
                obj["status"]["error"] = "[invalid bearer token, token lookup failed]"
        else:
            if res.plural == "selfsubjectaccessreviews":
                uname, groups = user["username"], user["groups"]
            else:
                uname, groups = spec.get("user", ""), spec.get("groups") or []
            ra, nra = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
            if ra:
                a = rbac.Attrs(uname, groups, ra.get("verb", ""), ra.get("group", ""), ra.get("resource", ""),
                               ra.get("subresource", ""), ra.get("namespace", ""), ra.get("name", ""))
            elif nra:
                a = rbac.Attrs(uname, groups, nra.get("verb", ""), path=nra.get("path", ""), resource_request=False)
            else:
                raise invalid(res, "", [("spec.resourceAttributes", "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified")])
            ok, reason = self.authorize({"username": uname, "groups": groups}, a)
            obj["status"] = {"allowed": ok}
            if reason:
                obj["status"]["reason"] = reason
        obj["metadata"].setdefault("creationTimestamp", None)
        return self.send_json(201, obj)


# ---------------------------------------------------------------------------
# helpers used by the handler


def bootstrap_token_user(store, tok):
    m = configs.TOKEN_RE.match(tok)
    if not m:
        return None
    tid, secret = m.group(1), m.group(2)
    s = store.get_raw(("", "secrets"), "kube-system", "bootstrap-token-" + tid)
    if not isinstance(s, dict) or s["metadata"].get("deletionTimestamp") or s.get("type") != "bootstrap.kubernetes.io/token":
        return None
    data = {}
    for k, v in (s.get("data") or {}).items():
        try:
            data[k] = base64.b64decode(v).decode()
        except Exception:
            return None
    if data.get("token-id") != tid or not hmac.compare_digest(data.get("token-secret", ""), secret):
        return None
    exp = data.get("expiration")
    if exp:
        try:
            t = datetime.datetime.fromisoformat(exp.replace("Z", "+00:00"))
        except ValueError:
            return None
        if t.tzinfo is None or datetime.datetime.now(datetime.timezone.utc) >= t:
            return None
    if data.get("usage-bootstrap-authentication") != "true":
        return None
    extra = [g.strip() for g in data.get("auth-extra-groups", "").split(",") if g.strip()]
    for g in extra:
        if not BOOTSTRAP_GROUP_RE.match(g):
            return None
    return {"username": "system:bootstrap:" + tid, "uid": "",
            "groups": ["system:bootstrappers"] + extra + ["system:authenticated"], "extra": {}}


def _b64url(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def issue_sa_token(api, ns, name, uid, seconds, audiences, pod_bound=False):
    """A TokenRequest's token: a JWT signed with
    --service-account-signing-key-file (satoken.py); the lifetime capped by
    --service-account-max-token-expiration. (token, expiry, seconds)."""
    if api.sa_signer is None:
        raise APIStatus(500, "InternalError", "no service account signing key configured")
    seconds = satoken.lifetime(seconds, int(api.cfg.sa_max), api.cfg.sa_extend, pod_bound)
    now = int(time.time())
    tok = api.sa_signer.sign(satoken.claims_for(api.sa_issuer, audiences, ns, name, uid, seconds, now))
    until = datetime.datetime.fromtimestamp(now + seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return tok, until, seconds


def sa_token_user(api, tok):
    """Verified by any key of every --service-account-key-file (as read at
    start), not expired, its ServiceAccount still there with the same uid
    (--service-account-lookup, default true)."""
    claims = satoken.verify(tok, api.sa_keys)
    if claims is None or claims.get("iss") != api.sa_issuer:
        return None
    now = time.time()
    if claims.get("exp", 0) < now or claims.get("nbf", 0) > now + 60:
        return None
    k = claims.get("kubernetes.io") or {}
    ns, sa = k.get("namespace"), (k.get("serviceaccount") or {})
    cur = api.store.get_raw(("", "serviceaccounts"), ns, sa.get("name", ""))
    if not isinstance(cur, dict) or cur["metadata"].get("uid") != sa.get("uid"):
        return None
    return {"username": "system:serviceaccount:%s:%s" % (ns, sa["name"]), "uid": sa.get("uid", ""),
            "groups": ["system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"], "extra": {}}


def normalize_secret(res, obj):
    data = obj.get("data") or {}
    if not isinstance(data, dict):
        raise bad_request("data must be an object")
    for k, v in list(data.items()):
        try:
            base64.b64decode(v or "", validate=True)
        except Exception:
            raise bad_request("Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data at input byte 0")
    for k, v in (obj.pop("stringData", None) or {}).items():
        data[k] = base64.b64encode(str(v).encode()).decode()
    for k in data:
        if not re.match(r"^[-._a-zA-Z0-9]+$", k):
            raise invalid(res, obj["metadata"]["name"], [("data[%s]" % k, 'Invalid value: "%s": a valid config key must consist of alphanumeric characters, \'-\', \'_\' or \'.\'' % k)])
    if data:
        obj["data"] = data
    obj.setdefault("type", "Opaque")


def validate_rbac(res, obj):
    name = obj["metadata"]["name"]
    errs = []
    if res.plural.endswith("bindings"):
        ref = obj.get("roleRef") or {}
        if ref.get("apiGroup") != "rbac.authorization.k8s.io":
            errs.append(("roleRef.apiGroup", 'Unsupported value: "%s": supported values: "rbac.authorization.k8s.io"' % ref.get("apiGroup", "")))
        kinds = ["ClusterRole"] if res.plural == "clusterrolebindings" else ["Role", "ClusterRole"]
        if ref.get("kind") not in kinds:
            errs.append(("roleRef.kind", 'Unsupported value: "%s": supported values: %s' % (ref.get("kind", ""), ", ".join('"%s"' % x for x in kinds))))
        if not ref.get("name"):
            errs.append(("roleRef.name", "Required value"))
        for i, s in enumerate(obj.get("subjects") or []):
            if s.get("kind") not in ("User", "Group", "ServiceAccount"):
                errs.append(("subjects[%d].kind" % i, 'Unsupported value: "%s": supported values: "ServiceAccount", "User", "Group"' % s.get("kind", "")))
            if not s.get("name"):
                errs.append(("subjects[%d].name" % i, "Required value"))
            if s.get("kind") == "ServiceAccount" and not s.get("namespace") and res.plural == "clusterrolebindings":
                errs.append(("subjects[%d].namespace" % i, "Required value"))
    else:
        for i, r in enumerate(obj.get("rules") or []):
            if not r.get("verbs"):
                errs.append(("rules[%d].verbs" % i, "Required value: verbs must contain at least one value"))
            if r.get("nonResourceURLs") and res.plural == "roles":
                errs.append(("rules[%d].nonResourceURLs" % i, "Invalid value: namespaced rules cannot apply to non-resource URLs"))
            if not r.get("nonResourceURLs") and not r.get("resources"):
                errs.append(("rules[%d].resources" % i, "Required value: resource rules must supply at least one resource"))
    if errs:
        raise invalid(res, name, errs)


def _csr_spec_errors(spec):
    errs = []
    req = spec.get("request")
    info = None
    if not req:
        errs.append(("spec.request", "Required value"))
    else:
        try:
            raw = base64.b64decode(req, validate=True)
        except Exception:
            raise bad_request('CertificateSigningRequest in version "v1" cannot be handled as a CertificateSigningRequest: illegal base64 data at input byte 0')
        try:
            info = pki.csr_info(raw)
        except pki.PKIError as e:
            errs.append(("spec.request", "Invalid value: []byte{...}: %s" % e))
    signer = spec.get("signerName")
    if not signer:
        errs.append(("spec.signerName", "Required value"))
    else:
        dom, _, path = signer.partition("/")
        if not path or not DNS1123_SUB.match(dom) or "/" in path or len(signer) > 571:
            errs.append(("spec.signerName", 'Invalid value: "%s": must be a fully qualified domain and path of the form \'example.com/signer-name\'' % signer))
        elif signer == "kubernetes.io/legacy-unknown":
            errs.append(("spec.signerName", 'Invalid value: "%s": the legacy signerName is not allowed via this API version' % signer))
    usages = spec.get("usages")
    if not usages:
        errs.append(("spec.usages", "Required value"))
    else:
        seen = set()
        for i, u in enumerate(usages):
            if u not in KNOWN_USAGES:
                errs.append(("spec.usages[%d]" % i, 'Unsupported value: "%s": supported values: %s' % (u, ", ".join('"%s"' % x for x in KNOWN_USAGES))))
            elif u in seen:
                errs.append(("spec.usages[%d]" % i, 'Duplicate value: "%s"' % u))
            seen.add(u)
    es = spec.get("expirationSeconds")
    if es is not None and (not isinstance(es, int) or es < 600):
        errs.append(("spec.expirationSeconds", "Invalid value: %s: may not specify a duration less than 600 seconds (10 minutes)" % es))
    return errs, info


def prepare_csr_create(res, obj, user):
    spec = obj.setdefault("spec", {})
    errs, _ = _csr_spec_errors(spec)
    if errs:
        raise invalid(res, obj["metadata"]["name"], errs)
    spec["username"] = user["username"]
    spec["groups"] = list(user["groups"])
    if user.get("uid"):
        spec["uid"] = user["uid"]
    else:
        spec.pop("uid", None)
    spec.pop("extra", None)
    obj["status"] = {}


def _check_conditions(res, name, conds, old_conds, for_approval):
    errs = []
    seen = set()
    for i, c in enumerate(conds):
        t = c.get("type")
        if not t:
            errs.append(("status.conditions[%d].type" % i, "Required value"))
            continue
        if t in seen:
            errs.append(("status.conditions[%d].type" % i, 'Duplicate value: "%s"' % t))
        seen.add(t)
        st = c.get("status")
        if t in ("Approved", "Denied", "Failed"):
            if st != "True":
                errs.append(("status.conditions[%d].status" % i, 'Unsupported value: "%s": supported values: "True"' % st))
        elif st not in ("True", "False", "Unknown"):
            errs.append(("status.conditions[%d].status" % i, 'Unsupported value: "%s": supported values: "False", "True", "Unknown"' % st))
        if t == "Denied" and "Approved" in seen or t == "Approved" and "Denied" in seen:
            errs.append(("status.conditions[%d].type" % i, 'Invalid value: "%s": Approved and Denied conditions are mutually exclusive' % t))
    new_types = {c.get("type") for c in conds}
    for c in old_conds:
        if c.get("type") in ("Approved", "Denied", "Failed") and c.get("type") not in new_types:
            errs.append(("status.conditions", 'Forbidden: updates may not remove a condition of type "%s"' % c.get("type")))
    if errs:
        raise invalid(res, name, errs)
    now = now_rfc3339()
    for c in conds:
        c.setdefault("lastUpdateTime", now)
        c.setdefault("lastTransitionTime", now)


def csr_update(h, res, sub, new, old, user):
    name = old["metadata"]["name"]
    obj = copy.deepcopy(old)
    obj["metadata"].pop("resourceVersion", None)
    old_status = old.get("status") or {}
    new_status = new.get("status") or {}
    if sub == "":
        for k in ("labels", "annotations", "finalizers", "ownerReferences"):
            if k in new["metadata"]:
                obj["metadata"][k] = new["metadata"][k]
            else:
                obj["metadata"].pop(k, None)
        return obj
    conds = copy.deepcopy(new_status.get("conditions") or [])
    old_conds = old_status.get("conditions") or []
    if sub == "approval":
        _check_conditions(res, name, conds, old_conds, True)
        obj.setdefault("status", {})["conditions"] = conds
        return obj
    # status
    _check_conditions(res, name, conds, old_conds, False)
    cert = new_status.get("certificate")
    old_cert = old_status.get("certificate")
    errs = []
    if cert:
        try:
            raw = base64.b64decode(cert, validate=True)
        except Exception:
            raise bad_request("status.certificate: illegal base64 data at input byte 0")
        blocks = pki.pem_blocks(raw)
        if not blocks or any(t != "CERTIFICATE" for t, _ in blocks):
            errs.append(("status.certificate", 'Invalid value: "<certificate data>": only CERTIFICATE PEM blocks are allowed, found "%s"' %
                         (blocks[0][0] if blocks else "none")))
        else:
            try:
                pki.check_cert_bundle(raw, "status.certificate")
            except pki.PKIError as e:
                errs.append(("status.certificate", 'Invalid value: "<certificate data>": %s' % e))
        types = {c.get("type") for c in conds}
        if "Approved" not in types or "Denied" in types:
            errs.append(("status.certificate", "Forbidden: certificate cannot be set unless the request is approved"))
        if "Failed" in types:
            errs.append(("status.certificate", "Forbidden: certificate cannot be set on a failed request"))
    if old_cert and cert != old_cert:
        errs.append(("status.certificate", "Forbidden: updates may not modify existing certificate content"))
    if errs:
        raise invalid(res, name, errs)
    obj["status"] = {"conditions": conds}
    if cert:
        obj["status"]["certificate"] = cert
    if not conds:
        obj["status"].pop("conditions")
    return obj


# ---- selectors ----

def parse_label_selector(s):
    reqs = []
    if not s:
        return reqs
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    for p in parts:
        p = p.strip()
        m = re.match(r"^([^\s!=]+)\s+(in|notin)\s+\((.*)\)$", p)
        if m:
            reqs.append((m.group(1), m.group(2), {x.strip() for x in m.group(3).split(",")}))
        elif "!=" in p:
            k, v = p.split("!=", 1)
            reqs.append((k.strip(), "!=", v.strip()))
        elif "==" in p:
            k, v = p.split("==", 1)
            reqs.append((k.strip(), "=", v.strip()))
        elif "=" in p:
            k, v = p.split("=", 1)
            reqs.append((k.strip(), "=", v.strip()))
        elif p.startswith("!"):
            reqs.append((p[1:].strip(), "!exists", None))
        elif p:
            reqs.append((p, "exists", None))
    return reqs


def match_labels(reqs, o):
    labels = (o.get("metadata") or {}).get("labels") or {}
    for k, op, v in reqs:
        have = labels.get(k)
        if op == "=" and have != v:
            return False
        if op == "!=" and have == v:
            return False
        if op == "in" and have not in v:
            return False
        if op == "notin" and have in v:
            return False
        if op == "exists" and k not in labels:
            return False
        if op == "!exists" and k in labels:
            return False
    return True


FIELDS = {("certificates.k8s.io", "certificatesigningrequests"): {"spec.signerName": lambda o: (o.get("spec") or {}).get("signerName", "")},
          ("", "secrets"): {"type": lambda o: o.get("type", "")},
          ("", "nodes"): {"spec.unschedulable": lambda o: str(bool((o.get("spec") or {}).get("unschedulable"))).lower()},
          ("", "pods"): {"spec.nodeName": lambda o: (o.get("spec") or {}).get("nodeName", ""),
                         "status.phase": lambda o: (o.get("status") or {}).get("phase", "")},
          ("", "namespaces"): {"status.phase": lambda o: (o.get("status") or {}).get("phase", "")}}


def parse_field_selector(res, s):
    reqs = []
    for p in [x for x in s.split(",") if x.strip()]:
        if "!=" in p:
            k, v = p.split("!=", 1)
            op = "!="
        elif "==" in p:
            k, v = p.split("==", 1)
            op = "="
        elif "=" in p:
            k, v = p.split("=", 1)
            op = "="
        else:
            raise bad_request("invalid selector: '%s'; can't understand '%s'" % (s, p))
        k = k.strip()
        if k == "metadata.name":
            getter = lambda o: o["metadata"]["name"]
        elif k == "metadata.namespace" and res.namespaced:
            getter = lambda o: o["metadata"].get("namespace", "")
        elif k in FIELDS.get(res.key, {}):
            getter = FIELDS[res.key][k]
        else:
            raise bad_request('field label not supported: %s' % k)
        reqs.append((getter, op, v.strip()))
    return reqs


def match_fields(reqs, o):
    for getter, op, v in reqs:
        if (getter(o) == v) != (op == "="):
            return False
    return True


# ---------------------------------------------------------------------------
# server


class TLSServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, ctx, family=socket.AF_INET):
        self.address_family = family
        self.ctx = ctx
        self.draining = False
        self.conns = {}           # socket -> busy (a request in progress)
        self.conns_lock = threading.Condition()
        super().__init__(addr, handler)

    def conn_state(self, sock, busy):
        """Handler bookkeeping: busy=None forgets the connection."""
        with self.conns_lock:
            if busy is None:
                self.conns.pop(sock, None)
            else:
                self.conns[sock] = busy
            self.conns_lock.notify_all()

    def drain(self, timeout):
        """After the listener closed: close idle keep-alive connections now,
        busy ones after their response; wait for them (bounded)."""
        end = time.time() + timeout
        with self.conns_lock:
            while self.conns and time.time() < end:
                for sock, busy in list(self.conns.items()):
                    if not busy:
                        try:
                            sock.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                self.conns_lock.wait(0.1)

    def finish_request(self, request, client_address):
        if self.ctx is not None:
            try:
                request.settimeout(10)
                tls = self.ctx.wrap_socket(request, server_side=True)
                tls.settimeout(None)
            except (ssl.SSLError, OSError) as e:
                if os.environ.get("K8SDOUBLE_ACCESS_LOG") == "1":
                    common.log("https", "TLS handshake from %s failed: %s" % (client_address[0], e))
                try:
                    request.close()
                except OSError:
                    pass
                return
            request = tls
        self.RequestHandlerClass(request, client_address, self)

    def handle_error(self, request, client_address):
        pass


def make_server(bind, port, ctx, handler):
    fam = socket.AF_INET6 if ":" in bind else socket.AF_INET
    return TLSServer((bind, port), handler, ctx, fam)


def run(p, version, check_only):
    cfg = validate(p, check_only)
    if check_only:
        return 0
    cert, key = cfg.tls_cert, cfg.tls_key
    if not cert:
        os.makedirs(cfg.cert_dir, exist_ok=True)
        cert = os.path.join(cfg.cert_dir, "apiserver.crt")
        key = os.path.join(cfg.cert_dir, "apiserver.key")
        if not os.path.exists(cert):
            c, k = pki.self_signed("localhost@%d" % int(time.time()), ["localhost"], ["127.0.0.1"])
            with open(cert, "wb") as f:
                f.write(c)
            fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(k)
    try:
        serving = dyncerts.DynamicPair("serving-cert", cert, key)
        client_ca = dyncerts.DynamicCA("client-ca-bundle", cfg.client_ca) if cfg.client_ca else None
        rh_ca = dyncerts.DynamicCA("request-header", cfg.requestheader_ca) if cfg.requestheader_ca else None
    except pki.PKIError as e:
        raise common.Fatal(str(e))
    api = APIServer(cfg, p, version)
    api.client_ca, api.requestheader_ca = client_ca, rh_ca
    Handler.api = api
    t = threading.Thread(target=api.etcd_probe_loop, daemon=True)
    t.start()
    if cfg.encryption_config and cfg.encryption_reload:
        threading.Thread(target=api.encryption_reload_loop, daemon=True).start()
    minv = p.get("tls-min-version")
    try:
        srv = make_server(cfg.bind, cfg.secure_port, dyncerts.server_context(serving, (client_ca, rh_ca), minv), Handler)
    except OSError as e:
        raise common.Fatal("failed to create listener: failed to listen on %s:%d: %s" % (cfg.bind, cfg.secure_port, e))
    # serving cert, client CA and request-header CA are reloaded while
    # running (dyncerts.py); new connections get the new TLS context
    poller = dyncerts.Poller(lambda: setattr(srv, "ctx", dyncerts.server_context(serving, (client_ca, rh_ca), minv)))
    for src in (serving, client_ca, rh_ca):
        poller.add(src)
    poller.start()
    common.log("kube-apiserver", "Serving securely on %s:%d (version %s, authorization %s, admission %s, storage %s)"
               % (cfg.bind, cfg.secure_port, version, ",".join(cfg.authz_modes),
                  "NodeRestriction" if "NodeRestriction" in cfg.admission else "default",
                  "etcd" if isinstance(api.store, EtcdStore) else "memory"))

    def graceful():
        # SIGTERM: /readyz fails at once, requests are still served for
        # --shutdown-delay-duration, then the listener closes, idle
        # keep-alive connections are closed and in-flight requests finish
        # (k8s.io/apiserver/pkg/server/genericapiserver.go, "graceful
        # termination"); watches end.
        api.shutting_down = True
        common.log("kube-apiserver", "[graceful-termination] shutdown event name=ShutdownInitiated; "
                   "delaying %gs" % cfg.shutdown_delay)
        time.sleep(cfg.shutdown_delay)
        srv.draining = True
        api.watch_epoch += 1
        api.store.kick()
    common.serve_until_signal(srv, graceful)
    srv.server_close()
    srv.drain(30)
    common.log("kube-apiserver", "[graceful-termination] apiserver is exiting")
    return 0
