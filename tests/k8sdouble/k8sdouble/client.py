# SPDX-License-Identifier: Apache-2.0
"""Minimal Kubernetes REST client used by the node and control-plane doubles."""
import atexit
import http.client
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.parse


class APIError(Exception):
    def __init__(self, code, status, msg=None):
        self.code = code
        self.status = status if isinstance(status, dict) else {}
        self.reason = self.status.get("reason", "")
        super().__init__(msg or "%d %s: %s" % (code, self.reason, self.status.get("message", status)))


class TransportError(Exception):
    """Connection/TLS failure (not an HTTP status)."""


class Stats:
    """Requests this process made to the apiserver and how many failed (a
    transport or TLS error, 401, 403 or a 5xx), for tests that must show
    that a component kept talking to the apiserver throughout a change.
    With K8SDOUBLE_STATS_DIR set, written as <dir>/<component>-<pid>.json
    every second and at exit."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.failures = 0
        self.errors = []          # the last 20: [time, method, path, error]
        self.component = None

    def count(self, method, path, err=None):
        with self.lock:
            self.requests += 1
            if err is not None:
                self.failures += 1
                self.errors = (self.errors + [[round(time.time(), 3), method, path.split("?")[0], str(err)[:300]]])[-20:]

    def snapshot(self):
        with self.lock:
            return {"component": self.component, "pid": os.getpid(), "requests": self.requests,
                    "failures": self.failures, "errors": list(self.errors), "time": round(time.time(), 3)}

    def start(self, component):
        d = os.environ.get("K8SDOUBLE_STATS_DIR")
        self.component = component
        if not d:
            return
        try:
            os.makedirs(d, exist_ok=True)
        except OSError as e:       # counting must never stop a component
            sys.stderr.write("k8sdouble: K8SDOUBLE_STATS_DIR %s: %s (not counting)\n" % (d, e))
            return
        path = os.path.join(d, "%s-%d.json" % (component, os.getpid()))

        def write():
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(self.snapshot(), f)
            os.replace(tmp, path)

        def loop():
            while True:
                try:
                    write()
                except OSError:
                    pass
                time.sleep(1)
        threading.Thread(target=loop, daemon=True).start()
        atexit.register(lambda: write())


STATS = Stats()


def _failed(code):
    return code in (401, 403) or code >= 500


class _SNIConnection(http.client.HTTPSConnection):
    """HTTPS to host:port, verifying the certificate for tls-server-name."""

    def __init__(self, host, port, server_name, **kw):
        super().__init__(host, port, **kw)
        self.server_name = server_name

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.server_name)


class Client:
    def __init__(self, kc, timeout=30, user_agent="k8sdouble"):
        self.kc = kc
        self.timeout = timeout
        self.ua = user_agent
        self.ctx = kc.ssl_context() if kc.scheme == "https" else None
        self.lock = threading.Lock()
        self.conn = None

    def _connect(self, timeout=None):
        t = timeout or self.timeout
        if self.kc.scheme == "https":
            if self.kc.tls_server_name:
                return _SNIConnection(self.kc.host, self.kc.port, self.kc.tls_server_name, context=self.ctx, timeout=t)
            return http.client.HTTPSConnection(self.kc.host, self.kc.port, context=self.ctx, timeout=t)
        return http.client.HTTPConnection(self.kc.host, self.kc.port, timeout=t)

    def _headers(self, ctype=None, accept="application/json"):
        h = {"Accept": accept, "User-Agent": self.ua}
        if self.kc.token:
            h["Authorization"] = "Bearer " + self.kc.token
        if ctype:
            h["Content-Type"] = ctype
        return h

    def request(self, method, path, body=None, ctype="application/json", query=None):
        if query:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode(query)
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        with self.lock:
            for attempt in (0, 1):
                if self.conn is None:
                    self.conn = self._connect()
                try:
                    self.conn.request(method, path, body=data,
                                      headers=self._headers(ctype if data is not None else None))
                    r = self.conn.getresponse()
                    raw = r.read()
                    break
                except (ssl.SSLError, ssl.CertificateError) as e:
                    self.conn.close()
                    self.conn = None
                    STATS.count(method, path, e)
                    raise TransportError("TLS handshake with %s failed: %s" % (self.kc.server, e))
                except (http.client.HTTPException, OSError) as e:
                    # a kept-alive connection the server closed: one retry on
                    # a new connection, as Go's transport retries a request
                    # on a reused connection that broke before an answer
                    self.conn.close()
                    self.conn = None
                    if attempt == 1 or isinstance(e, (ConnectionRefusedError, socket.timeout)):
                        STATS.count(method, path, e)
                        raise TransportError("cannot reach %s: %s" % (self.kc.server, e))
        STATS.count(method, path, "HTTP %d" % r.status if _failed(r.status) else None)
        if r.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        try:
            obj = json.loads(raw) if raw else {}
        except ValueError:
            obj = {"message": raw.decode(errors="replace")}
        if r.status >= 400:
            raise APIError(r.status, obj)
        return obj

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def create(self, path, obj):
        return self.request("POST", path, obj)

    def update(self, path, obj):
        return self.request("PUT", path, obj)

    def patch(self, path, obj, kind="strategic"):
        ct = {"strategic": "application/strategic-merge-patch+json",
              "merge": "application/merge-patch+json"}[kind]
        return self.request("PATCH", path, obj, ctype=ct)

    def delete(self, path):
        return self.request("DELETE", path)

    def watch(self, path, timeout_seconds=60, resource_version=None, stop=None):
        """Yield watch events (dicts) until the server ends the stream."""
        q = {"watch": "true", "timeoutSeconds": str(int(timeout_seconds)),
             "allowWatchBookmarks": "true"}
        if resource_version:
            q["resourceVersion"] = resource_version
        full = path + ("&" if "?" in path else "?") + urllib.parse.urlencode(q)
        conn = self._connect(timeout=timeout_seconds + 15)
        try:
            try:
                conn.request("GET", full, headers=self._headers())
                r = conn.getresponse()
            except (ssl.SSLError, ssl.CertificateError) as e:
                STATS.count("WATCH", path, e)
                raise TransportError("TLS handshake with %s failed: %s" % (self.kc.server, e))
            except OSError as e:
                STATS.count("WATCH", path, e)
                raise TransportError("cannot reach %s: %s" % (self.kc.server, e))
            STATS.count("WATCH", path, "HTTP %d" % r.status if _failed(r.status) else None)
            if r.status >= 400:
                raw = r.read()
                try:
                    obj = json.loads(raw)
                except ValueError:
                    obj = {"message": raw.decode(errors="replace")}
                raise APIError(r.status, obj)
            while True:
                if stop is not None and stop.is_set():
                    return
                try:
                    line = r.readline()
                except (OSError, http.client.HTTPException):
                    return
                if not line:
                    return
                line = line.strip()
                if line:
                    yield json.loads(line)
        finally:
            conn.close()
