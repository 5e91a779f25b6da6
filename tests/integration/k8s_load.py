#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""k8s_load.py: traffic and counters on a harness node during a lifecycle
test of a Kubernetes-side rotation (lifecycle_rotate_kubernetes,
_front_proxy, _sa, lifecycle_key_encryption). Runs inside a node (test1),
uses the node's delivered files like the components do, makes ONE attempt
per request (a new connection after the server closed one is not a retry:
Go's transport does the same), and counts every failure with its error.

  traffic   until STOP (a file) appears, every PERIOD seconds:
            - front-proxy: GET /api/v1/namespaces/default through the VIP
              with the apiserver's front-proxy client pair
              (/etc/kubernetes/cert/front-proxy-client*.pem) and
              X-Remote-User: front-proxy-probe, as an aggregating proxy
              forwards a user (requestheader authentication); the
              apiserver is verified with the node's kubernetes CA bundle;
            - kubelet-api: GET /healthz of every node's kubelet API (10250)
              with the apiserver's kubelet client pair, the kubelet verified
              with --kubelet-certificate-authority as the apiserver of this
              node loaded it (the bundle as it was when that apiserver last
              started: the real one reads it once);
            - sa-token: (with --token FILE) a SelfSubjectReview through the
              VIP with the service-account token in FILE (re-read each time:
              the test may replace it);
            - secrets: (with --secrets) GET every Secret of the namespace
              "rotation" through the VIP as the admin kubeconfig's user.
            Each TLS connection is kept alive like a client's, and re-made
            with the node's current files when it breaks or the files
            change. Prints one JSON line: per kind requests, failures,
            errors (the first 20), and the wall time.
  stats     the k8sdouble components' own counters on this node
            (K8SDOUBLE_STATS_DIR, every process that ran): one JSON line
            per component: requests, failures, errors, processes.

Debian's python3 only. Nothing here asserts.
"""
import argparse
import base64
import glob
import http.client
import json
import os
import socket
import ssl
import sys
import tempfile
import threading
import time

CERT = "/etc/kubernetes/cert"
STATS_DIR = "/run/k8sdouble-stats"


def read(path):
    with open(path, "rb") as f:
        return f.read()


def context(ca_pem, cert=None, key=None):
    """A client context from PEM bytes (the pair checked to belong together)."""
    ctx = ssl.create_default_context(cadata=ca_pem.decode())
    ctx.check_hostname = False   # the VIP or a node IP; the chain is verified
    if cert:
        with tempfile.NamedTemporaryFile(dir="/run") as c, tempfile.NamedTemporaryFile(dir="/run") as k:
            c.write(cert)
            c.flush()
            k.write(key)
            k.flush()
            ctx.load_cert_chain(c.name, k.name)
    return ctx


class Kind:
    def __init__(self, name):
        self.name = name
        self.requests = 0
        self.failures = 0
        self.errors = []
        # refused connections (nothing listened on the port), with their
        # wall time: the test compares them with the server's restarts
        self.refused = []
        self.lock = threading.Lock()

    def count(self, t0, err=None, what=""):
        with self.lock:
            self.requests += 1
            if err is not None:
                self.failures += 1
                if isinstance(err, ConnectionRefusedError) and len(self.refused) < 2000:
                    self.refused.append({"what": what, "wall": round(time.time(), 3)})
                if len(self.errors) < 20:
                    self.errors.append({"t": round(time.monotonic() - t0, 3), "what": what,
                                        "wall": round(time.time(), 3), "error": str(err)[:300]})

    def result(self):
        return {"requests": self.requests, "failures": self.failures, "errors": self.errors,
                "refused": self.refused}


class Conn:
    """One kept-alive HTTPS connection whose credentials come from files
    (re-made when the files change or the connection breaks)."""

    def __init__(self, host, port, creds):
        self.host, self.port, self.creds = host, port, creds
        self.c = None
        self.stamp = None

    def request(self, method, path, headers=None, body=None):
        """One request. On a kept-alive connection that the server had
        closed (it answers nothing: EOF or reset), the request is sent once
        more on a new connection, as Go's transport does for a reused
        connection that broke before any answer; any other error, or an
        error on a fresh connection, is the request's failure."""
        for attempt in (0, 1):
            stamp = self.creds(stamp_only=True)
            fresh = self.c is None or stamp != self.stamp
            if fresh:
                if self.c is not None:
                    self.c.close()
                self.c = http.client.HTTPSConnection(self.host, self.port, context=self.creds(), timeout=10)
                self.stamp = stamp
            try:
                self.c.request(method, path, body=body, headers=headers or {})
                r = self.c.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.c.close()
                    self.c = None
                return r.status, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.c.close()
                self.c = None
                if fresh or attempt:
                    raise
            except (OSError, http.client.HTTPException):
                if self.c is not None:
                    self.c.close()
                self.c = None
                raise


def file_creds(ca, cert=None, key=None):
    """Credentials from files, as client-go's and the apiserver's file
    watchers load them: a certificate and key replaced one file after the
    other can be read half-way (the new certificate, the old key); such a
    pair does not load and the previous one stays in use until the files
    agree again (client-go transport/cert_rotation.go loadClientCert,
    apiserver dynamiccertificates DynamicCertKeyPairContent.loadCertKeyPair:
    an error keeps the current pair)."""
    paths = [p for p in (ca, cert, key) if p]
    last = {"ctx": None}

    def creds(stamp_only=False):
        st = tuple(os.stat(p).st_mtime_ns for p in paths)
        if stamp_only:
            return st
        try:
            last["ctx"] = context(read(ca), read(cert) if cert else None, read(key) if key else None)
        except ssl.SSLError:
            if last["ctx"] is None:
                raise
        return last["ctx"]
    return creds


def apiserver_started():
    """Start time of this node's kube-apiserver (its files are read then)."""
    try:
        out = os.popen("systemctl show -P ExecMainStartTimestampMonotonic kube-apiserver").read()
        return out.strip()
    except OSError:
        return ""


def traffic(args):
    t0 = time.monotonic()
    kinds = {k: Kind(k) for k in ("front-proxy", "kubelet-api", "sa-token", "secrets")}
    stop = threading.Event()
    vip, vport = args.vip.rsplit(":", 1)
    vport = int(vport)

    def loop(kind, fn):
        while not stop.is_set():
            try:
                fn(kind)
            except Exception as e:  # noqa: BLE001 (counted, never fatal)
                kind.count(t0, e, "unexpected")
            stop.wait(args.period)

    # front-proxy: requestheader authentication through the VIP
    fp = Conn(vip, vport, file_creds(CERT + "/ca.pem", CERT + "/front-proxy-client.pem",
                                      CERT + "/front-proxy-client-key.pem"))

    def front_proxy(k):
        try:
            st, data = fp.request("GET", "/api/v1/namespaces/default",
                                  {"X-Remote-User": "front-proxy-probe", "X-Remote-Group": "system:masters"})
        except (OSError, http.client.HTTPException, ssl.SSLError) as e:
            return k.count(t0, e, "GET namespaces/default")
        k.count(t0, None if st == 200 else "HTTP %d %s" % (st, data[:200]), "GET namespaces/default")

    # kubelet API of every node, as this node's apiserver would call it
    kubelet_ca = {"started": None, "pem": None}
    kconns = {}

    def kubelet_creds(stamp_only=False):
        started = apiserver_started()
        if started != kubelet_ca["started"]:
            kubelet_ca["started"] = started
            kubelet_ca["pem"] = read(CERT + "/ca.pem")
        st = (started, os.stat(CERT + "/apiserver-kubelet-client.pem").st_mtime_ns,
              os.stat(CERT + "/apiserver-kubelet-client-key.pem").st_mtime_ns)
        if stamp_only:
            return st
        # a half-replaced pair keeps the previous one (file_creds)
        try:
            kubelet_ca["ctx"] = context(kubelet_ca["pem"], read(CERT + "/apiserver-kubelet-client.pem"),
                                        read(CERT + "/apiserver-kubelet-client-key.pem"))
        except ssl.SSLError:
            if kubelet_ca.get("ctx") is None:
                raise
        return kubelet_ca["ctx"]

    def kubelet_api(k):
        for ip in args.nodes.split(","):
            c = kconns.setdefault(ip, Conn(ip, 10250, kubelet_creds))
            try:
                st, data = c.request("GET", "/healthz")
            except (OSError, http.client.HTTPException, ssl.SSLError) as e:
                k.count(t0, e, "kubelet %s" % ip)
                continue
            k.count(t0, None if st == 200 else "HTTP %d %s" % (st, data[:200]), "kubelet %s" % ip)

    # service-account token through the VIP
    sa = Conn(vip, vport, file_creds(CERT + "/ca.pem"))

    def sa_token(k):
        try:
            tok = read(args.token).decode().strip()
        except OSError as e:
            return k.count(t0, e, "token file")
        body = json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
        try:
            st, data = sa.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                  {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}, body)
        except (OSError, http.client.HTTPException, ssl.SSLError) as e:
            return k.count(t0, e, "selfsubjectreview")
        k.count(t0, None if st == 201 else "HTTP %d %s" % (st, data[:200]), "selfsubjectreview")

    # the Secrets of namespace "rotation", read through the VIP
    def secrets_creds(stamp_only=False):
        import yaml
        st = os.stat(args.kubeconfig).st_mtime_ns
        if stamp_only:
            return st
        kc = yaml.safe_load(read(args.kubeconfig))
        cl = kc["clusters"][0]["cluster"]
        u = kc["users"][0]["user"]
        return context(base64.b64decode(cl["certificate-authority-data"]),
                       base64.b64decode(u["client-certificate-data"]),
                       base64.b64decode(u["client-key-data"]))
    sc = Conn(vip, vport, secrets_creds) if args.kubeconfig else None

    def secrets(k):
        try:
            st, data = sc.request("GET", "/api/v1/namespaces/rotation/secrets")
        except (OSError, http.client.HTTPException, ssl.SSLError) as e:
            return k.count(t0, e, "list secrets")
        if st != 200:
            return k.count(t0, "HTTP %d %s" % (st, data[:200]), "list secrets")
        k.count(t0, None, "list secrets")

    threads = [threading.Thread(target=loop, args=(kinds["front-proxy"], front_proxy)),
               threading.Thread(target=loop, args=(kinds["kubelet-api"], kubelet_api))]
    if args.token:
        threads.append(threading.Thread(target=loop, args=(kinds["sa-token"], sa_token)))
    if args.kubeconfig:
        threads.append(threading.Thread(target=loop, args=(kinds["secrets"], secrets)))
    for t in threads:
        t.daemon = True
        t.start()
    while not os.path.exists(args.stop):
        time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join(15)
    out = {k: v.result() for k, v in kinds.items() if v.requests or k in ("front-proxy", "kubelet-api")}
    out["wall"] = round(time.monotonic() - t0, 1)
    print(json.dumps(out), flush=True)


def stats(args):
    comps = {}
    for f in sorted(glob.glob(os.path.join(args.dir, "*.json"))):
        try:
            s = json.load(open(f))
        except (OSError, ValueError):
            continue
        c = comps.setdefault(s.get("component") or os.path.basename(f).rsplit("-", 1)[0],
                             {"requests": 0, "failures": 0, "errors": [], "processes": 0})
        c["requests"] += s.get("requests", 0)
        c["failures"] += s.get("failures", 0)
        c["errors"] += s.get("errors", [])[-5:]
        c["processes"] += 1
    print(json.dumps(comps), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("traffic", "stats"))
    ap.add_argument("--stop", default="/run/k8s-load-stop")
    ap.add_argument("--vip", default="")
    ap.add_argument("--nodes", default="")
    ap.add_argument("--period", type=float, default=0.2)
    ap.add_argument("--token", default="")
    ap.add_argument("--kubeconfig", default="")
    ap.add_argument("--dir", default=STATS_DIR)
    args = ap.parse_args()
    socket.setdefaulttimeout(10)
    return traffic(args) if args.mode == "traffic" else stats(args)


if __name__ == "__main__":
    sys.exit(main() or 0)
