# SPDX-License-Identifier: Apache-2.0
"""Authorization: the RBAC evaluator over stored (Cluster)Roles/Bindings, the
subset of the default bootstrap policy (plugin/pkg/auth/authorizer/rbac/
bootstrappolicy) this double needs, and the Node authorizer."""

LEGACY = ""
CERTS = "certificates.k8s.io"
COORD = "coordination.k8s.io"
READ = ["get", "list", "watch"]


def rule(verbs, groups=None, resources=None, names=None, urls=None):
    r = {"verbs": list(verbs)}
    if urls is not None:
        r["nonResourceURLs"] = list(urls)
        return r
    r["apiGroups"] = list(groups)
    r["resources"] = list(resources)
    if names:
        r["resourceNames"] = list(names)
    return r


def _signer_approver(name, signer, verb="approve"):
    return (name, [rule(["get", "list", "watch"], [CERTS], ["certificatesigningrequests"]),
                   rule([verb], [CERTS], ["signers"], [signer])])


BOOTSTRAP_CLUSTER_ROLES = dict([
    ("cluster-admin", [rule(["*"], ["*"], ["*"]), rule(["*"], urls=["*"])]),
    ("system:discovery", [rule(["get"], urls=["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
                                              "/openapi", "/openapi/*", "/readyz", "/version", "/version/"])]),
    ("system:public-info-viewer", [rule(["get"], urls=["/healthz", "/livez", "/readyz", "/version", "/version/"])]),
    ("system:basic-user", [rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
                           rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"])]),
    ("system:node-bootstrapper", [rule(["create", "get", "list", "watch"], [CERTS], ["certificatesigningrequests"])]),
    ("system:certificates.k8s.io:certificatesigningrequests:nodeclient",
     [rule(["create"], [CERTS], ["certificatesigningrequests/nodeclient"])]),
    ("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
     [rule(["create"], [CERTS], ["certificatesigningrequests/selfnodeclient"])]),
    _signer_approver("system:certificates.k8s.io:kube-apiserver-client-approver", "kubernetes.io/kube-apiserver-client"),
    _signer_approver("system:certificates.k8s.io:kube-apiserver-client-kubelet-approver", "kubernetes.io/kube-apiserver-client-kubelet"),
    _signer_approver("system:certificates.k8s.io:kubelet-serving-approver", "kubernetes.io/kubelet-serving"),
    _signer_approver("system:certificates.k8s.io:legacy-unknown-approver", "kubernetes.io/legacy-unknown"),
    ("system:kubelet-api-admin", [rule(["get", "list", "watch", "proxy"], [LEGACY], ["nodes"]),
                                  rule(["*"], [LEGACY], ["nodes/log", "nodes/metrics", "nodes/proxy", "nodes/stats",
                                                         "nodes/configz", "nodes/healthz", "nodes/pods"])]),
    ("system:node-proxier", [rule(["list", "watch"], [LEGACY], ["endpoints", "services"]),
                             rule(["get", "list", "watch"], [LEGACY], ["nodes"]),
                             rule(["create", "patch", "update"], [LEGACY, "events.k8s.io"], ["events"]),
                             rule(["list", "watch"], ["discovery.k8s.io"], ["endpointslices"])]),
    ("system:kube-scheduler", [
        rule(["create", "patch", "update"], [LEGACY, "events.k8s.io"], ["events"]),
        rule(["create"], [COORD], ["leases"]),
        rule(["get", "update"], [COORD], ["leases"], ["kube-scheduler"]),
        rule(["create"], [LEGACY], ["endpoints"]),
        rule(["get", "update"], [LEGACY], ["endpoints"], ["kube-scheduler"]),
        rule(["get", "list", "watch"], [LEGACY], ["nodes"]),
        rule(["get", "list", "watch", "delete"], [LEGACY], ["pods"]),
        rule(["create"], [LEGACY], ["bindings", "pods/binding"]),
        rule(["patch", "update"], [LEGACY], ["pods/status"]),
        rule(["get", "list", "watch"], [LEGACY], ["replicationcontrollers", "services"]),
        rule(["get", "list", "watch"], ["apps", "extensions"], ["replicasets"]),
        rule(["get", "list", "watch"], ["apps"], ["statefulsets"]),
        rule(["get", "list", "watch"], ["policy"], ["poddisruptionbudgets"]),
        rule(["get", "list", "watch", "patch", "update"], [LEGACY], ["persistentvolumeclaims", "persistentvolumes"]),
        rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
        rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
        rule(["get", "list", "watch"], ["storage.k8s.io"], ["csinodes", "csidrivers", "csistoragecapacities"]),
        rule(["get", "list", "watch"], [LEGACY], ["namespaces"]),
    ]),
    ("system:kube-controller-manager", [
        rule(["create", "patch", "update"], [LEGACY, "events.k8s.io"], ["events"]),
        rule(["create"], [COORD], ["leases"]),
        rule(["get", "update"], [COORD], ["leases"], ["kube-controller-manager"]),
        rule(["create"], [LEGACY], ["secrets", "serviceaccounts"]),
        rule(["delete"], [LEGACY], ["secrets"]),
        rule(["get"], [LEGACY], ["configmaps", "namespaces", "secrets", "serviceaccounts"]),
        rule(["update"], [LEGACY], ["secrets", "serviceaccounts"]),
        rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
        rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
        rule(["list", "watch"], ["*"], ["*"]),
        rule(["create"], [LEGACY], ["serviceaccounts/token"]),
    ]),
    ("system:controller:certificate-controller", [
        rule(["delete", "get", "list", "watch"], [CERTS], ["certificatesigningrequests"]),
        rule(["update"], [CERTS], ["certificatesigningrequests/approval", "certificatesigningrequests/status"]),
        rule(["approve"], [CERTS], ["signers"], ["kubernetes.io/kube-apiserver-client-kubelet", "kubernetes.io/legacy-unknown"]),
        rule(["sign"], [CERTS], ["signers"], ["kubernetes.io/kube-apiserver-client", "kubernetes.io/kube-apiserver-client-kubelet",
                                              "kubernetes.io/kubelet-serving", "kubernetes.io/legacy-unknown"]),
        rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
        rule(["create", "patch", "update"], [LEGACY, "events.k8s.io"], ["events"]),
    ]),
    ("system:node", [
        rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
        rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews", "localsubjectaccessreviews"]),
        rule(READ, [LEGACY], ["services"]),
        rule(["create", "get", "list", "watch"], [LEGACY], ["nodes"]),
        rule(["update", "patch"], [LEGACY], ["nodes/status"]),
        rule(["update", "patch"], [LEGACY], ["nodes"]),
        rule(["create", "update", "patch"], [LEGACY], ["events"]),
        rule(READ, [LEGACY], ["pods"]),
        rule(["get", "create", "delete"], [LEGACY], ["pods"]),
        rule(["update", "patch"], [LEGACY], ["pods/status"]),
        rule(["create"], [LEGACY], ["pods/eviction"]),
        rule(["get", "list", "watch"], [LEGACY], ["secrets", "configmaps"]),
        rule(["get"], [LEGACY], ["persistentvolumeclaims", "persistentvolumes"]),
        rule(["get"], [LEGACY], ["endpoints"]),
        rule(["create", "get", "list", "watch"], [CERTS], ["certificatesigningrequests"]),
        rule(["get", "create", "update", "patch", "delete"], [COORD], ["leases"]),
        rule(["get"], ["storage.k8s.io"], ["volumeattachments"]),
        rule(["create"], [LEGACY], ["serviceaccounts/token"]),
        rule(["get", "create", "update", "patch", "delete"], ["storage.k8s.io"], ["csinodes"]),
        rule(["get", "list", "watch"], ["storage.k8s.io"], ["csidrivers"]),
        rule(["get", "list", "watch"], ["node.k8s.io"], ["runtimeclasses"]),
    ]),
])


def _subj(kind, name):
    s = {"kind": kind, "name": name}
    if kind in ("User", "Group"):
        s["apiGroup"] = "rbac.authorization.k8s.io"
    return s


BOOTSTRAP_CLUSTER_ROLE_BINDINGS = {
    "cluster-admin": ("cluster-admin", [_subj("Group", "system:masters")]),
    "system:discovery": ("system:discovery", [_subj("Group", "system:authenticated")]),
    "system:basic-user": ("system:basic-user", [_subj("Group", "system:authenticated")]),
    "system:public-info-viewer": ("system:public-info-viewer",
                                  [_subj("Group", "system:authenticated"), _subj("Group", "system:unauthenticated")]),
    "system:kube-scheduler": ("system:kube-scheduler", [_subj("User", "system:kube-scheduler")]),
    "system:kube-controller-manager": ("system:kube-controller-manager", [_subj("User", "system:kube-controller-manager")]),
    "system:node-proxier": ("system:node-proxier", [_subj("User", "system:kube-proxy")]),
    "system:node": ("system:node", []),
    "system:controller:certificate-controller": ("system:controller:certificate-controller",
                                                 [{"kind": "ServiceAccount", "name": "certificate-controller",
                                                   "namespace": "kube-system"}]),
}

BOOTSTRAP_META = {"labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                  "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}}


def bootstrap_objects():
    """(resource plural, object) pairs created at start (post-start hook)."""
    out = []
    for name, rules in BOOTSTRAP_CLUSTER_ROLES.items():
        out.append(("clusterroles", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                     "metadata": dict(name=name, **_meta_copy()), "rules": rules}))
    for name, (role, subjects) in BOOTSTRAP_CLUSTER_ROLE_BINDINGS.items():
        o = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": dict(name=name, **_meta_copy()),
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}}
        if subjects:
            o["subjects"] = subjects
        out.append(("clusterrolebindings", o))
    return out


def _meta_copy():
    return {"labels": dict(BOOTSTRAP_META["labels"]), "annotations": dict(BOOTSTRAP_META["annotations"])}


class Attrs:
    """Authorization attributes of one request."""

    def __init__(self, user, groups, verb, group="", resource="", subresource="", namespace="",
                 name="", path="", resource_request=True):
        self.user, self.groups, self.verb = user, list(groups), verb
        self.group, self.resource, self.subresource = group, resource, subresource
        self.namespace, self.name, self.path = namespace, name, path
        self.resource_request = resource_request


def _match(lst, v):
    return "*" in lst or v in lst


def rule_allows(r, a):
    if not _match(r.get("verbs") or [], a.verb):
        return False
    if not a.resource_request:
        for u in r.get("nonResourceURLs") or []:
            if u == "*" or u == a.path or (u.endswith("*") and a.path.startswith(u[:-1])):
                return True
        return False
    if not _match(r.get("apiGroups") or [], a.group):
        return False
    res = r.get("resources") or []
    combined = a.resource + ("/" + a.subresource if a.subresource else "")
    if not ("*" in res or combined in res or (a.subresource and ("*/" + a.subresource) in res)):
        return False
    names = r.get("resourceNames") or []
    if names and a.name not in names:
        return False
    return True


def subject_matches(s, user, groups, binding_ns):
    k = s.get("kind")
    if k == "User":
        return s.get("name") == user
    if k == "Group":
        return s.get("name") in groups
    if k == "ServiceAccount":
        return user == "system:serviceaccount:%s:%s" % (s.get("namespace") or binding_ns, s.get("name"))
    return False


def rbac_allows(store, a):
    """RBAC authorizer: (allowed, reason)."""
    for crb in store.list_raw(("rbac.authorization.k8s.io", "clusterrolebindings")):
        if not any(subject_matches(s, a.user, a.groups, "") for s in crb.get("subjects") or []):
            continue
        ref = crb.get("roleRef") or {}
        role = store.get_raw(("rbac.authorization.k8s.io", "clusterroles"), "", ref.get("name", ""))
        if role and any(rule_allows(r, a) for r in role.get("rules") or []):
            return True, 'RBAC: allowed by ClusterRoleBinding "%s" of ClusterRole "%s" to %s "%s"' % (
                crb["metadata"]["name"], ref.get("name"), "User", a.user)
    if a.resource_request and a.namespace:
        for rb in store.list_raw(("rbac.authorization.k8s.io", "rolebindings"), a.namespace):
            if not any(subject_matches(s, a.user, a.groups, a.namespace) for s in rb.get("subjects") or []):
                continue
            ref = rb.get("roleRef") or {}
            if ref.get("kind") == "ClusterRole":
                role = store.get_raw(("rbac.authorization.k8s.io", "clusterroles"), "", ref.get("name", ""))
            else:
                role = store.get_raw(("rbac.authorization.k8s.io", "roles"), a.namespace, ref.get("name", ""))
            if role and any(rule_allows(r, a) for r in role.get("rules") or []):
                return True, "RBAC: allowed by RoleBinding"
    return False, ""


NODE_RULES = BOOTSTRAP_CLUSTER_ROLES["system:node"]
GRAPH_RESOURCES = {("", "secrets"), ("", "configmaps"), ("", "persistentvolumeclaims"),
                   ("", "persistentvolumes"), ("resource.k8s.io", "resourceclaims")}


def node_name(user, groups):
    if user.startswith("system:node:") and "system:nodes" in groups:
        return user[len("system:node:"):]
    return None


def node_authorize(a):
    """Node authorizer: returns (decision, reason); decision True/None (no opinion)."""
    node = node_name(a.user, a.groups)
    if node is None:
        return None, ""
    if not node:
        return None, "unknown node for user \"%s\"" % a.user
    if a.resource_request:
        key = (a.group, a.resource)
        if key == ("coordination.k8s.io", "leases"):
            if a.namespace != "kube-node-lease" or a.subresource:
                return None, "can only access node lease with the same name as the requesting node"
            if a.verb != "create" and a.name != node:
                return None, "can only access node lease with the same name as the requesting node"
            if a.verb not in ("get", "create", "update", "patch", "delete"):
                return None, "can only get, create, update, patch, or delete a node lease"
            return True, ""
        if key in GRAPH_RESOURCES or (key == ("", "serviceaccounts") and a.subresource == "token"):
            if a.verb != "get":
                return None, "can only get individual resources of this type"
            return None, "no relationship found between node '%s' and this object" % node
        if key == ("storage.k8s.io", "csinodes"):
            if a.verb != "create" and a.name != node:
                return None, "can only access CSINode with the same name as the requesting node"
            return True, ""
    for r in NODE_RULES:
        if rule_allows(r, a):
            return True, ""
    return None, ""
