# SPDX-License-Identifier: Apache-2.0
"""The kube-apiserver double's objects in etcd, as the real apiserver keeps
them: one key per object under /registry/<resource>/[<namespace>/]<name>,
the resourceVersion is etcd's mod_revision, writes are transactions that
compare the revision they read (a create compares create_revision 0), and
each apiserver keeps a watch cache fed by one etcd watch from which its API
watches are served. Several doubles on one etcd are therefore one cluster
(what the harness's three masters need), and a test can read the stored
bytes with etcdctl (encryption at rest: encryption.py).

Differences from the real storage, on purpose: values are JSON, not the
protobuf envelope ("k8s\\x00"; the real apiserver stores JSON too with
--storage-media-type=application/json); reads are served from the watch
cache after a barrier on the revision of the last write of any apiserver
(each write transaction also stamps /registry/k8sdouble/last-write). The
real apiserver gets the same guarantee from a quorum read of the current
revision plus an etcd progress request (consistent reads from cache).

etcd TLS as the real client does it (etcd client/pkg/transport/listener.go
TLSInfo.baseConfig): the CA bundle is read once at start, the client
certificate and key at every new connection.
"""
import base64
import copy
import http.client
import json
import socket
import ssl
import threading
import time
import urllib.parse

from . import common
from . import encryption
from .store import Store, StoreConflict, StoreExists, Unreadable  # noqa: F401

PREFIX = "/registry/"
MARKER = PREFIX + "k8sdouble/last-write"
# the real apiserver's etcd prefixes where they differ from the plural
ETCD_NAME = {("", "nodes"): "minions"}


def _b64(s):
    return base64.b64encode(s if isinstance(s, bytes) else s.encode()).decode()


def _unb64(s):
    return base64.b64decode(s or "")


class EtcdError(Exception):
    pass


class EtcdClient:
    """The v3 JSON gateway (/v3/kv/*, /v3/watch) over keep-alive HTTPS, one
    connection per thread, failing over across --etcd-servers."""

    def __init__(self, servers, cafile=None, certfile=None, keyfile=None, timeout=5):
        self.servers = [urllib.parse.urlparse(s) for s in servers]
        self.certfile, self.keyfile, self.timeout = certfile, keyfile, timeout
        self.ca_pem = None
        if cafile:
            with open(cafile) as f:
                self.ca_pem = f.read()       # read once, like the real client
        self.local = threading.local()
        self.preferred = 0

    def _ctx(self):
        ctx = ssl.create_default_context(cadata=self.ca_pem) if self.ca_pem else ssl.create_default_context()
        if self.certfile:
            ctx.load_cert_chain(self.certfile, self.keyfile)   # every new connection
        return ctx

    def _conn(self, i, timeout):
        u = self.servers[i]
        if u.scheme == "https":
            return http.client.HTTPSConnection(u.hostname, u.port or 2379, context=self._ctx(), timeout=timeout)
        return http.client.HTTPConnection(u.hostname, u.port or 2379, timeout=timeout)

    def call(self, path, body):
        """POST a unary request; tries each server once, starting with the
        one that answered last."""
        last = None
        n = len(self.servers)
        start = self.preferred
        data = json.dumps(body)
        for k in range(n):
            i = (start + k) % n
            conns = getattr(self.local, "conns", None)
            if conns is None:
                conns = self.local.conns = {}
            for attempt in (0, 1):
                c = conns.get(i)
                fresh = c is None
                if fresh:
                    try:
                        c = conns[i] = self._conn(i, self.timeout)
                    except (OSError, ssl.SSLError) as e:
                        last = e
                        break
                try:
                    c.request("POST", path, data, {"Content-Type": "application/json"})
                    r = c.getresponse()
                    raw = r.read()
                except (OSError, ssl.SSLError, http.client.HTTPException) as e:
                    c.close()
                    conns.pop(i, None)
                    last = e
                    if fresh:
                        break
                    continue       # a kept-alive connection the server closed
                if r.status != 200:
                    last = EtcdError("%s: HTTP %d %s" % (path, r.status, raw[:200]))
                    break
                self.preferred = i
                return json.loads(raw)
        raise EtcdError("etcd %s: %s" % (path, last))

    def watch_stream(self, key, range_end, start_revision):
        """Yield watch responses (dicts) from one server until the stream
        breaks (then returns)."""
        n = len(self.servers)
        for k in range(n):
            i = (self.preferred + k) % n
            try:
                c = self._conn(i, 30)
                c.request("POST", "/v3/watch", json.dumps({"create_request": {
                    "key": _b64(key), "range_end": _b64(range_end), "start_revision": str(start_revision),
                    "prev_kv": True, "progress_notify": True}}), {"Content-Type": "application/json"})
                r = c.getresponse()
                if r.status != 200:
                    c.close()
                    continue
            except (OSError, ssl.SSLError, http.client.HTTPException):
                continue
            try:
                while True:
                    try:
                        line = r.readline()
                    except socket.timeout:
                        continue
                    if not line:
                        return
                    line = line.strip()
                    if line:
                        yield json.loads(line)
            except (OSError, ssl.SSLError, http.client.HTTPException, ValueError):
                return
            finally:
                c.close()


class EtcdStore(Store):
    """Store (store.py) over etcd: same interface; objects/events are the
    watch cache."""

    def __init__(self, client, transformers=None, history=1000):
        super().__init__(None, history)
        self.etcd = client
        self.transformers = transformers or {}
        self.healthy = False
        self.last_error = ""
        self._prefixes = None
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.on_ready = []
        threading.Thread(target=self._watch_loop, daemon=True).start()

    # -- keys and values --
    @staticmethod
    def etcd_key(key, ns, name):
        g, plural = key
        res = ETCD_NAME.get(key) or (plural if g in ("", "apps", "rbac.authorization.k8s.io",
                                                    "certificates.k8s.io", "coordination.k8s.io")
                                     else "%s/%s" % (g, plural))
        return "%s%s/%s%s" % (PREFIX, res, (ns + "/") if ns else "", name)

    def _transformer(self, key):
        g, plural = key
        t = self.transformers.get(plural if not g else "%s.%s" % (plural, g))
        return t or encryption.IDENTITY

    def _encode(self, key, obj, ekey):
        o = copy.deepcopy(obj)
        o["metadata"].pop("resourceVersion", None)
        return self._transformer(key).write(json.dumps(o, sort_keys=True).encode(), ekey.encode())

    def _meta(self, ekey):
        """(group, plural, namespace, name) of an etcd key, or None."""
        if self._prefixes is None:
            from . import resources as R
            self._prefixes = sorted(((self.etcd_key(r.key, "", "")[len(PREFIX):], r) for r in R.RESOURCES),
                                    key=lambda x: -len(x[0]))
        rest = ekey[len(PREFIX):]
        for p, r in self._prefixes:
            if rest.startswith(p):
                tail = rest[len(p):].split("/")
                if r.namespaced and len(tail) == 2:
                    return (r.group, r.plural, tail[0], tail[1])
                if not r.namespaced and len(tail) == 1:
                    return (r.group, r.plural, "", tail[0])
        return None

    def _decode(self, ekey, meta, kv):
        """(object, None) or (None, why it cannot be read)."""
        value = _unb64(kv.get("value"))
        try:
            plain, _ = self._transformer((meta[0], meta[1])).read(value, ekey.encode())
            o = json.loads(plain)
        except (encryption.DecryptError, ValueError) as e:
            return None, str(e)
        o["metadata"]["resourceVersion"] = str(kv["mod_revision"])
        return o, None

    def _apply_kv(self, kv, typ=None, rev=None):
        """Put one etcd kv (or a delete) into the cache; with typ, also the
        watch event."""
        ekey = _unb64(kv["key"]).decode()
        meta = self._meta(ekey)
        if meta is None:
            return
        key, ns, name = (meta[0], meta[1]), meta[2], meta[3]
        objs = self.objects.setdefault(key, {})
        old = objs.get((ns, name))
        if typ == "DELETE":
            objs.pop((ns, name), None)
            if isinstance(old, dict):
                gone = copy.deepcopy(old)
                gone["metadata"]["resourceVersion"] = str(rev)
                self._event("DELETED", key, ns, gone, old)
            return
        o, err = self._decode(ekey, meta, kv)
        if o is None:
            # unreadable (a key the configuration no longer has): reads of
            # it fail like the real apiserver's, the rest stays served
            objs[(ns, name)] = Unreadable(ekey, err)
            common.log("kube-apiserver", "failed to transform %s: %s" % (ekey, err), "E")
            return
        objs[(ns, name)] = o
        if typ is not None:
            created = int(kv.get("create_revision", 0)) == int(kv.get("mod_revision", -1))
            self._event("ADDED" if created or not isinstance(old, dict) else "MODIFIED", key, ns, o,
                        old if isinstance(old, dict) else None)

    # -- the watch cache --
    def _relist(self):
        while True:
            try:
                r = self.etcd.call("/v3/kv/range", {"key": _b64(PREFIX), "range_end": _b64(PREFIX[:-1] + "0")})
                break
            except EtcdError as e:
                self.last_error = str(e)
                common.log("kube-apiserver", "cannot list %s from etcd: %s (retrying)" % (PREFIX, e), "E")
                time.sleep(1)
        with self.lock:
            if self.ready.is_set():
                # a relist after compaction: watchers from before get 410
                self.generation += 1
            self.objects = {}
            for kv in r.get("kvs") or []:
                self._apply_kv(kv)
            self.rv = int(r["header"]["revision"])
            self.compacted = self.rv
            self.events.clear()
            self.healthy = True
            self.cond.notify_all()

    def _watch_loop(self):
        self._relist()
        with self.lock:
            self.ready.set()
            hooks, self.on_ready = self.on_ready, []
        for fn in hooks:
            threading.Thread(target=self._retry, args=(fn,), daemon=True).start()
        while not self.stop.is_set():
            start = self.rv + 1
            compacted = False
            for resp in self.etcd.watch_stream(PREFIX, PREFIX[:-1] + "0", start):
                res = resp.get("result") or {}
                if res.get("canceled") or res.get("compact_revision"):
                    compacted = int(res.get("compact_revision") or 0) > 0
                    break
                with self.lock:
                    for ev in res.get("events") or []:
                        kv = ev["kv"]
                        rev = int(kv["mod_revision"])
                        if rev <= self.rv:
                            continue
                        self.rv = rev        # the event's resourceVersion
                        self._apply_kv(kv, ev.get("type", "PUT"), rev)
                    hrev = int((res.get("header") or {}).get("revision") or 0)
                    if not res.get("events") and hrev > self.rv and res.get("created") is None:
                        self.rv = hrev      # a progress notification
                    self.healthy = True
                    self.cond.notify_all()
            if self.stop.is_set():
                return
            with self.lock:
                self.healthy = False
            if compacted:
                common.log("kube-apiserver", "etcd watch from revision %d: compacted; relisting" % start, "W")
                self._relist()
            else:
                time.sleep(0.2)

    def when_ready(self, fn):
        """Run fn (in a thread of its own, retried on etcd errors) once the
        cache is loaded: a post-start hook."""
        with self.lock:
            if not self.ready.is_set():
                self.on_ready.append(fn)
                return
        threading.Thread(target=self._retry, args=(fn,), daemon=True).start()

    def _retry(self, fn):
        while not self.stop.is_set():
            try:
                return fn()
            except (EtcdError, StoreConflict) as e:
                common.log("kube-apiserver", "post-start hook: %s (retrying)" % e, "W")
                time.sleep(1)

    def sync(self, timeout=10.0):
        """Wait until the cache holds every write any apiserver committed
        before this call (the consistent-read barrier)."""
        if not self.ready.is_set():
            raise EtcdError("the storage is not ready yet (cannot list %s from etcd: %s)" % (PREFIX, self.last_error))
        r = self.etcd.call("/v3/kv/range", {"key": _b64(MARKER)})
        kvs = r.get("kvs") or []
        want = int(kvs[0]["mod_revision"]) if kvs else 0
        end = time.time() + timeout
        with self.lock:
            while self.rv < want:
                left = end - time.time()
                if left <= 0:
                    raise EtcdError("Timeout: Too large resource version: %d, current: %d" % (want, self.rv))
                self.cond.wait(left)

    def _wait_rev(self, rev, timeout=10.0):
        end = time.time() + timeout
        with self.lock:
            while self.rv < rev:
                left = end - time.time()
                if left <= 0:
                    raise EtcdError("the write at revision %d did not reach the watch cache" % rev)
                self.cond.wait(left)

    # -- writes --
    def _txn(self, compare, ops):
        ops = ops + [{"request_put": {"key": _b64(MARKER), "value": _b64(b"")}}]
        r = self.etcd.call("/v3/kv/txn", {"compare": compare, "success": ops})
        return bool(r.get("succeeded")), int(r["header"]["revision"])

    def put(self, key, obj, typ, expect_rv=None):
        md = obj["metadata"]
        ns = md.get("namespace", "")
        ekey = self.etcd_key(key, ns, md["name"])
        value = self._encode(key, obj, ekey)
        if typ == "ADDED":
            cmp = [{"key": _b64(ekey), "target": "CREATE", "create_revision": "0"}]
        elif expect_rv:
            cmp = [{"key": _b64(ekey), "target": "MOD", "mod_revision": str(expect_rv)}]
        else:
            cmp = [{"key": _b64(ekey), "target": "CREATE", "result": "GREATER", "create_revision": "0"}]
        ok, rev = self._txn(cmp, [{"request_put": {"key": _b64(ekey), "value": _b64(value)}}])
        if not ok:
            raise StoreExists() if typ == "ADDED" else StoreConflict()
        self._wait_rev(rev)
        saved = copy.deepcopy(obj)
        saved["metadata"]["resourceVersion"] = str(rev)
        return saved

    def delete(self, key, ns, name):
        ekey = self.etcd_key(key, ns or "", name)
        with self.lock:
            cur = (self.objects.get(key) or {}).get((ns or "", name))
        if cur is None:
            return None
        ok, rev = self._txn([{"key": _b64(ekey), "target": "CREATE", "result": "GREATER", "create_revision": "0"}],
                            [{"request_delete_range": {"key": _b64(ekey)}}])
        if not ok:
            return None
        self._wait_rev(rev)
        gone = copy.deepcopy(cur) if isinstance(cur, dict) else {"metadata": {"name": name, "namespace": ns or ""}}
        gone["metadata"]["resourceVersion"] = str(rev)
        return gone

    def raw_value(self, key, ns, name):
        """The bytes etcd holds for an object (tests, via the fault API)."""
        r = self.etcd.call("/v3/kv/range", {"key": _b64(self.etcd_key(key, ns, name))})
        kvs = r.get("kvs") or []
        return _unb64(kvs[0].get("value")) if kvs else None
