# SPDX-License-Identifier: Apache-2.0
"""In-memory object store of the kube-apiserver double: one global
resourceVersion counter, a bounded watch-event history, optional JSON
persistence (env K8SDOUBLE_STATE)."""
import collections
import copy
import json
import os
import threading


class StoreExists(Exception):
    """create: the object exists already."""


class StoreConflict(Exception):
    """update: the object changed since the version the caller read."""


class StoreUnreadable(Exception):
    """the stored value cannot be read (encryption at rest: no matching
    key); the real apiserver answers 500 InternalError."""


class Unreadable:
    """Cache entry of a stored value the apiserver cannot decrypt."""

    def __init__(self, key, why):
        self.key, self.why = key, why

    def error(self):
        return StoreUnreadable('Internal error occurred: unable to transform key "%s": %s' % (self.key, self.why))


class Store:
    def __init__(self, state_path=None, history=1000):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.objects = {}             # (group, plural) -> {(ns, name): obj}
        self.rv = 0
        self.events = collections.deque()   # (rv, type, key, ns, obj, old)
        self.history = max(1, history)
        self.compacted = 0            # newest rv no longer in the history
        self.state_path = state_path
        self.generation = 0           # bumped to make watchers re-check (faults)
        if state_path and os.path.exists(state_path):
            self._load()

    # -- persistence --
    def _load(self):
        with open(self.state_path) as f:
            st = json.load(f)
        self.rv = int(st.get("resourceVersion", 0))
        self.compacted = self.rv
        for ent in st.get("objects", []):
            key = (ent["group"], ent["resource"])
            o = ent["object"]
            md = o["metadata"]
            self.objects.setdefault(key, {})[(md.get("namespace", ""), md["name"])] = o

    def _save(self):
        if not self.state_path:
            return
        ents = []
        for (g, r), objs in self.objects.items():
            for o in objs.values():
                ents.append({"group": g, "resource": r, "object": o})
        tmp = self.state_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"resourceVersion": self.rv, "objects": ents}, f)
        os.replace(tmp, self.state_path)

    # -- reads --
    def get_raw(self, key, ns, name):
        with self.lock:
            return (self.objects.get(key) or {}).get((ns or "", name))

    def get(self, key, ns, name):
        o = self.get_raw(key, ns, name)
        if isinstance(o, Unreadable):
            raise o.error()
        return copy.deepcopy(o) if o is not None else None

    def list_raw(self, key, ns=None):
        """Readable objects only (informer-style consumers skip the rest)."""
        with self.lock:
            vals = list((self.objects.get(key) or {}).items())
        return [o for (ons, _), o in sorted(vals, key=lambda x: x[0])
                if (ns is None or ons == ns) and not isinstance(o, Unreadable)]

    def list(self, key, ns=None):
        with self.lock:
            for (ons, _), o in (self.objects.get(key) or {}).items():
                if isinstance(o, Unreadable) and (ns is None or ons == ns):
                    raise o.error()
            return [copy.deepcopy(o) for o in self.list_raw(key, ns)], self.rv

    def sync(self):
        """Consistent-read barrier (etcdstore.py); nothing to wait for here."""
        return None

    # -- writes (caller fills metadata; store sets resourceVersion) --
    def _event(self, typ, key, ns, obj, old):
        self.events.append((self.rv, typ, key, ns, copy.deepcopy(obj), copy.deepcopy(old)))
        while len(self.events) > self.history:
            self.compacted = self.events.popleft()[0]
        self.cond.notify_all()

    def put(self, key, obj, typ, expect_rv=None):
        """Store obj (create or update); assigns the next resourceVersion.
        typ "ADDED" refuses an existing object (StoreExists); expect_rv
        refuses an object changed since (StoreConflict)."""
        with self.lock:
            md = obj["metadata"]
            ns = md.get("namespace", "")
            old = (self.objects.get(key) or {}).get((ns, md["name"]))
            if typ == "ADDED" and old is not None:
                raise StoreExists()
            if expect_rv and (old is None or old["metadata"].get("resourceVersion") != str(expect_rv)):
                raise StoreConflict()
            self.rv += 1
            md["resourceVersion"] = str(self.rv)
            self.objects.setdefault(key, {})[(ns, md["name"])] = copy.deepcopy(obj)
            self._event(typ, key, ns, obj, old)
            self._save()
            return copy.deepcopy(obj)

    def delete(self, key, ns, name):
        with self.lock:
            o = (self.objects.get(key) or {}).pop((ns or "", name), None)
            if o is None:
                return None
            self.rv += 1
            o["metadata"]["resourceVersion"] = str(self.rv)
            self._event("DELETED", key, ns or "", o, o)
            self._save()
            return copy.deepcopy(o)

    def kick(self):
        with self.lock:
            self.generation += 1
            self.cond.notify_all()
