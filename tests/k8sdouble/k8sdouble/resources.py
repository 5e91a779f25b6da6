# SPDX-License-Identifier: Apache-2.0
"""The API resources the kube-apiserver double serves, their discovery data
and their server-side table printers (what `kubectl get` shows)."""
import datetime
import hashlib

RW = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


class Resource:
    def __init__(self, group, version, plural, kind, namespaced, short=(), verbs=RW,
                 subresources=(), singular=None, categories=()):
        self.group, self.version, self.plural, self.kind = group, version, plural, kind
        self.namespaced = namespaced
        self.short = list(short)
        self.verbs = list(verbs)
        self.subresources = dict(subresources)  # name -> verbs
        self.singular = singular or kind.lower()
        self.categories = list(categories)

    @property
    def key(self):
        return (self.group, self.plural)

    @property
    def api_version(self):
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    @property
    def qualified(self):
        """'secrets' or 'certificatesigningrequests.certificates.k8s.io'."""
        return "%s.%s" % (self.plural, self.group) if self.group else self.plural

    def discovery(self):
        out = [{"name": self.plural, "singularName": self.singular, "namespaced": self.namespaced,
                "kind": self.kind, "verbs": self.verbs,
                "storageVersionHash": hashlib.sha256(("%s/%s" % (self.api_version, self.kind)).encode()).digest()[:8].hex()}]
        if self.short:
            out[0]["shortNames"] = self.short
        if self.categories:
            out[0]["categories"] = self.categories
        for sub, verbs in sorted(self.subresources.items()):
            out.append({"name": "%s/%s" % (self.plural, sub), "singularName": "",
                        "namespaced": self.namespaced, "kind": self.kind, "verbs": verbs})
        return out


STATUS_VERBS = ["get", "patch", "update"]

RESOURCES = [
    Resource("", "v1", "namespaces", "Namespace", False, ["ns"],
             ["create", "delete", "get", "list", "patch", "update", "watch"], {"status": STATUS_VERBS}),
    Resource("", "v1", "secrets", "Secret", True),
    Resource("", "v1", "configmaps", "ConfigMap", True, ["cm"]),
    Resource("", "v1", "nodes", "Node", False, ["no"], subresources={"status": STATUS_VERBS}),
    Resource("", "v1", "events", "Event", True, ["ev"]),
    Resource("", "v1", "pods", "Pod", True, ["po"], subresources={"status": STATUS_VERBS}),
    Resource("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"], subresources={"token": ["create"]}),
    Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    Resource("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    Resource("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    Resource("coordination.k8s.io", "v1", "leases", "Lease", True),
    Resource("certificates.k8s.io", "v1", "certificatesigningrequests", "CertificateSigningRequest",
             False, ["csr"], subresources={"approval": STATUS_VERBS, "status": STATUS_VERBS}),
    Resource("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", False, verbs=["create"]),
    Resource("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", False, verbs=["create"]),
    Resource("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", False, verbs=["create"]),
    Resource("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False, verbs=["create"]),
]

VIRTUAL = {("authentication.k8s.io", "tokenreviews"), ("authentication.k8s.io", "selfsubjectreviews"),
           ("authorization.k8s.io", "subjectaccessreviews"),
           ("authorization.k8s.io", "selfsubjectaccessreviews")}

BY_KEY = {r.key: r for r in RESOURCES}


def lookup(group, version, plural):
    r = BY_KEY.get((group, plural))
    if r is None or r.version != version:
        return None
    return r


def groups():
    """Ordered {group: version} for /apis (core excluded)."""
    out = {}
    for r in RESOURCES:
        if r.group:
            out.setdefault(r.group, r.version)
    return out


# ---- tables ----------------------------------------------------------------

def parse_time(ts):
    try:
        return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def human_duration(seconds):
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 60 * 2:
        return "%ds" % s
    m = s // 60
    if m < 10:
        return "%dm%ds" % (m, s % 60) if s % 60 else "%dm" % m
    if m < 60 * 3:
        return "%dm" % m
    h = s // 3600
    if h < 8:
        return "%dh%dm" % (h, m % 60) if m % 60 else "%dh" % h
    if h < 48:
        return "%dh" % h
    if h < 24 * 8:
        return "%dd%dh" % (h // 24, h % 24) if h % 24 else "%dd" % (h // 24)
    if h < 24 * 365 * 2:
        return "%dd" % (h // 24)
    if h < 24 * 365 * 8:
        dy = (h // 24) % 365
        return "%dy%dd" % (h // 24 // 365, dy) if dy else "%dy" % (h // 24 // 365)
    return "%dy" % (h // 24 // 365)


def age(obj, now=None):
    t = parse_time((obj.get("metadata") or {}).get("creationTimestamp"))
    if t is None:
        return "<unknown>"
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return human_duration((now - t).total_seconds())


def _col(name, typ="string", fmt="", desc="", prio=0):
    return {"name": name, "type": typ, "format": fmt, "description": desc, "priority": prio}


NAME_COL = _col("Name", "string", "name", "Name must be unique within a namespace.")
AGE_COL = _col("Age", "string", "", "CreationTimestamp is a timestamp representing the server time when this object was created.")


def _csr_condition(o):
    conds = [c.get("type") for c in (o.get("status") or {}).get("conditions") or []]
    out = [c for c in ("Approved", "Denied", "Failed") if c in conds]
    if (o.get("status") or {}).get("certificate"):
        out.append("Issued")
    return ",".join(out) if out else "Pending"


def _node_status(o):
    conds = (o.get("status") or {}).get("conditions") or []
    st = "Unknown"
    for c in conds:
        if c.get("type") == "Ready":
            st = {"True": "Ready", "False": "NotReady"}.get(c.get("status"), "Unknown")
    if (o.get("spec") or {}).get("unschedulable"):
        st += ",SchedulingDisabled"
    return st


def _node_roles(o):
    roles = []
    for k, v in ((o.get("metadata") or {}).get("labels") or {}).items():
        if k.startswith("node-role.kubernetes.io/"):
            roles.append(k.split("/", 1)[1])
        elif k == "kubernetes.io/role":
            roles.append(v)
    return ",".join(sorted(roles)) or "<none>"


def _node_ip(o, typ):
    for a in (o.get("status") or {}).get("addresses") or []:
        if a.get("type") == typ:
            return a.get("address")
    return "<none>"


def _duration_secs(s):
    if s is None:
        return "<none>"
    return human_duration(s)


def _subjects(o, kind):
    return ", ".join(s.get("name", "") if kind != "ServiceAccount" else
                     "%s/%s" % (s.get("namespace", ""), s.get("name", ""))
                     for s in o.get("subjects") or [] if s.get("kind") == kind)


PRINTERS = {
    ("certificates.k8s.io", "certificatesigningrequests"): (
        [NAME_COL, AGE_COL, _col("SignerName", desc="The name of the signer"),
         _col("Requestor", desc="Request originator"),
         _col("RequestedDuration", desc="Requested duration of the certificate"),
         _col("Condition", desc="Condition of the request")],
        lambda o: [age(o), (o.get("spec") or {}).get("signerName", ""),
                   (o.get("spec") or {}).get("username", ""),
                   _duration_secs((o.get("spec") or {}).get("expirationSeconds")), _csr_condition(o)]),
    ("", "secrets"): (
        [NAME_COL, _col("Type", desc="The type of the secret"),
         _col("Data", "integer", desc="The total number of data entries in the secret"), AGE_COL],
        lambda o: [o.get("type", "Opaque"), len(o.get("data") or {}), age(o)]),
    ("", "nodes"): (
        [NAME_COL, _col("Status", desc="The status of the node"), _col("Roles", desc="The roles of the node"),
         AGE_COL, _col("Version", desc="Kubelet Version reported by the node."),
         _col("Internal-IP", desc="List of internal IPs in the node.", prio=1),
         _col("External-IP", desc="List of external IPs in the node.", prio=1),
         _col("OS-Image", prio=1), _col("Kernel-Version", prio=1), _col("Container-Runtime", prio=1)],
        lambda o: [_node_status(o), _node_roles(o), age(o),
                   ((o.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", ""),
                   _node_ip(o, "InternalIP"), _node_ip(o, "ExternalIP"),
                   ((o.get("status") or {}).get("nodeInfo") or {}).get("osImage", "<unknown>"),
                   ((o.get("status") or {}).get("nodeInfo") or {}).get("kernelVersion", "<unknown>"),
                   ((o.get("status") or {}).get("nodeInfo") or {}).get("containerRuntimeVersion", "<unknown>")]),
    ("", "namespaces"): (
        [NAME_COL, _col("Status", desc="The status of the namespace"), AGE_COL],
        lambda o: [(o.get("status") or {}).get("phase", "Active"), age(o)]),
    ("", "configmaps"): (
        [NAME_COL, _col("Data", "integer"), AGE_COL],
        lambda o: [len(o.get("data") or {}) + len(o.get("binaryData") or {}), age(o)]),
    ("coordination.k8s.io", "leases"): (
        [NAME_COL, _col("Holder", desc="The holder of the lease"), AGE_COL],
        lambda o: [(o.get("spec") or {}).get("holderIdentity", ""), age(o)]),
    ("rbac.authorization.k8s.io", "clusterrolebindings"): (
        [NAME_COL, _col("Role"), AGE_COL, _col("Users", prio=1), _col("Groups", prio=1),
         _col("ServiceAccounts", prio=1)],
        lambda o: ["%s/%s" % ((o.get("roleRef") or {}).get("kind", ""), (o.get("roleRef") or {}).get("name", "")),
                   age(o), _subjects(o, "User"), _subjects(o, "Group"), _subjects(o, "ServiceAccount")]),
    ("rbac.authorization.k8s.io", "rolebindings"): (
        [NAME_COL, _col("Role"), AGE_COL, _col("Users", prio=1), _col("Groups", prio=1),
         _col("ServiceAccounts", prio=1)],
        lambda o: ["%s/%s" % ((o.get("roleRef") or {}).get("kind", ""), (o.get("roleRef") or {}).get("name", "")),
                   age(o), _subjects(o, "User"), _subjects(o, "Group"), _subjects(o, "ServiceAccount")]),
}

DEFAULT_PRINTER = ([NAME_COL, _col("Created At", "date", "", "CreationTimestamp is a timestamp representing the server time when this object was created.")],
                   lambda o: [(o.get("metadata") or {}).get("creationTimestamp", "")])


def table(res, objs, list_rv, include="Metadata"):
    cols, fn = PRINTERS.get(res.key, DEFAULT_PRINTER)
    rows = []
    for o in objs:
        md = o.get("metadata") or {}
        if include == "Object":
            ro = o
        elif include == "None":
            ro = None
        else:
            ro = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": md}
        row = {"cells": [md.get("name", "")] + fn(o)}
        if ro is not None:
            row["object"] = ro
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": str(list_rv)},
            "columnDefinitions": cols, "rows": rows}
