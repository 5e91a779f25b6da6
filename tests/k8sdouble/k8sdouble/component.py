# SPDX-License-Identifier: Apache-2.0
"""Pieces shared by the kubelet, controller-manager, scheduler and proxy
doubles: health servers, connecting to the apiserver, Lease leader election."""
import datetime
import http.server
import ipaddress
import json
import os
import socket
import socketserver
import ssl
import threading
import time
import uuid

from . import client as clientmod
from . import common
from . import pki


def now_micro():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_micro(s):
    if not s:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.datetime.strptime(s, fmt).replace(tzinfo=datetime.timezone.utc).timestamp()
        except ValueError:
            pass
    return None


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, handler, ctx, family):
        self.address_family = family
        self.ctx = ctx
        super().__init__(addr, handler)

    def finish_request(self, request, client_address):
        if self.ctx is not None:
            try:
                request.settimeout(10)
                request = self.ctx.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (ssl.SSLError, OSError):
                try:
                    request.close()
                except OSError:
                    pass
                return
        self.RequestHandlerClass(request, client_address, self)

    def handle_error(self, request, client_address):
        pass


def health_server(component, bind, port, checks, tls=None, json_body=None):
    """Serve /healthz, /livez, /readyz.  checks: {name: fn() -> (ok, reason)}.
    tls: (cert_path, key_path) for HTTPS, None for plain HTTP."""

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            path = self.path.split("?")[0].rstrip("/")
            if path not in ("/healthz", "/livez", "/readyz"):
                return self._send(404, "404 page not found\n")
            res = [(n, fn()) for n, fn in checks.items()]
            ok = all(r[0] for _, r in res)
            if json_body is not None:
                body = json.dumps(json_body(ok))
                return self._send(200 if ok else 503, body, "application/json")
            if ok and "verbose" not in self.path:
                return self._send(200, "ok")
            lines = ["[+]%s ok" % n if r[0] else "[-]%s failed: %s" % (n, r[1]) for n, r in res]
            lines.append("%s check %s" % (path.strip("/"), "passed" if ok else "failed"))
            return self._send(200 if ok else 500, "\n".join(lines) + "\n")

        def _send(self, code, text, ctype="text/plain; charset=utf-8"):
            data = text.encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    ctx = None
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(tls[0], tls[1])
    fam = socket.AF_INET6 if ":" in bind else socket.AF_INET
    try:
        srv = _Server((bind, port), H, ctx, fam)
    except OSError as e:
        raise common.Fatal("failed to listen on %s:%d for /healthz: %s" % (bind, port, e))
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    common.log(component, "Serving /healthz %s on %s:%d" % ("securely" if tls else "insecurely", bind, port))
    return srv


def self_signed_pair(component, cert_dir):
    """--tls-cert-file not given: generate a self-signed serving pair like the
    real components (written to --cert-dir when set, else a temp dir)."""
    import tempfile
    d = cert_dir or tempfile.mkdtemp(prefix=component + "-certs-")
    os.makedirs(d, exist_ok=True)
    cp, kp = os.path.join(d, component + ".crt"), os.path.join(d, component + ".key")
    if not (os.path.exists(cp) and os.path.exists(kp)):
        c, k = pki.self_signed("localhost@%d" % int(time.time()), ["localhost"], ["127.0.0.1"])
        with open(cp, "wb") as f:
            f.write(c)
        fd = os.open(kp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(k)
    return cp, kp


def connect(component, kc, timeout=None):
    """Wait until the apiserver answers /healthz with our identity.  TLS or
    authentication failures are fatal at once with a clear message."""
    timeout = float(os.environ.get("K8SDOUBLE_CONNECT_TIMEOUT", "60")) if timeout is None else timeout
    c = clientmod.Client(kc, user_agent="%s/k8sdouble" % component)
    end = time.time() + timeout
    last = None
    while True:
        try:
            c.request("GET", "/healthz")
            review = c.create("/apis/authentication.k8s.io/v1/selfsubjectreviews",
                              {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
            ui = (review.get("status") or {}).get("userInfo") or {}
            common.log(component, "connected to %s as user %r groups %s" % (kc.server, ui.get("username"), ui.get("groups")))
            return c
        except clientmod.TransportError as e:
            msg = str(e)
            if "TLS handshake" in msg or "CERTIFICATE_VERIFY_FAILED" in msg or "certificate" in msg.lower():
                raise common.Fatal("cannot talk to the apiserver %s: %s" % (kc.server, msg))
            last = msg
        except clientmod.APIError as e:
            if e.code == 401:
                raise common.Fatal("the apiserver %s rejected our credentials (401 Unauthorized) from kubeconfig %s"
                                   % (kc.server, kc.path))
            if e.code == 403 and "selfsubjectreviews" in str(e):
                common.log(component, "connected to %s (SelfSubjectReview forbidden: %s)" % (kc.server, e))
                return c
            last = str(e)
        if time.time() > end:
            raise common.Fatal("failed to wait for apiserver being healthy at %s: %s" % (kc.server, last))
        time.sleep(1)


class LeaderElector:
    """client-go leaderelection with a coordination.k8s.io/v1 Lease."""

    def __init__(self, component, client, ns, name, lease_s=15.0, renew_s=10.0, retry_s=2.0):
        self.component, self.c, self.ns, self.name = component, client, ns, name
        self.lease_s, self.renew_s, self.retry_s = lease_s, renew_s, retry_s
        self.identity = "%s_%s" % (socket.gethostname(), uuid.uuid4())
        self.leading = threading.Event()
        self.lost = threading.Event()
        self.last_renew = 0.0
        self.path = "/apis/coordination.k8s.io/v1/namespaces/%s/leases" % ns

    def healthy(self):
        if not self.leading.is_set():
            return True, ""
        late = time.time() - self.last_renew
        if late > self.lease_s + 20:
            return False, "failed election to renew leadership on lease %s" % self.name
        return True, ""

    def _try(self):
        now = now_micro()
        try:
            lease = self.c.get("%s/%s" % (self.path, self.name))
        except clientmod.APIError as e:
            if e.code != 404:
                raise
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": self.ns},
                    "spec": {"holderIdentity": self.identity, "leaseDurationSeconds": int(self.lease_s),
                             "acquireTime": now, "renewTime": now, "leaseTransitions": 0}}
            self.c.create(self.path, body)
            return True
        spec = lease.setdefault("spec", {})
        holder = spec.get("holderIdentity")
        if holder and holder != self.identity:
            renew = parse_micro(spec.get("renewTime")) or 0
            if time.time() < renew + float(spec.get("leaseDurationSeconds") or self.lease_s):
                return False
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
            spec["acquireTime"] = now
        if holder != self.identity and not holder:
            spec["acquireTime"] = now
        spec["holderIdentity"] = self.identity
        spec["leaseDurationSeconds"] = int(self.lease_s)
        spec["renewTime"] = now
        self.c.update("%s/%s" % (self.path, self.name), lease)
        return True

    def run(self, stop):
        common.log(self.component, "attempting to acquire leader lease %s/%s..." % (self.ns, self.name))
        while not stop.is_set():
            try:
                ok = self._try()
            except (clientmod.APIError, clientmod.TransportError) as e:
                ok = False
                common.log(self.component, "error retrieving/updating lease %s/%s: %s" % (self.ns, self.name, e), "E")
            if ok:
                self.last_renew = time.time()
                if not self.leading.is_set():
                    common.log(self.component, "successfully acquired lease %s/%s (identity %s)" % (self.ns, self.name, self.identity))
                    self.leading.set()
            elif self.leading.is_set() and time.time() - self.last_renew > self.renew_s:
                common.log(self.component, "failed to renew lease %s/%s: timed out waiting for the condition" % (self.ns, self.name), "E")
                common.log(self.component, "leaderelection lost", "E")
                self.leading.clear()
                self.lost.set()
                return
            stop.wait(self.retry_s)


def check_leader_timings(lease_s, renew_s, retry_s):
    if lease_s <= renew_s:
        raise common.Fatal("leaseDuration must be greater than renewDeadline")
    if renew_s <= retry_s * 1.2:
        raise common.Fatal("renewDeadline must be greater than retryPeriod*JitterFactor")


def check_ip(value, what):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise common.Fatal('%s: "%s" is not a valid IP address' % (what, value))


def check_cidrs(value, what):
    for c in [x.strip() for x in value.split(",") if x.strip()]:
        try:
            ipaddress.ip_network(c, strict=False)
        except ValueError:
            raise common.Fatal('%s: invalid CIDR address: %s' % (what, c))
