# SPDX-License-Identifier: Apache-2.0
"""Decoder for the Kubernetes protobuf wire format ("k8s\\0" + runtime.Unknown)
for the few kinds kubectl sends with typed clients (certificate approve/deny,
auth whoami, auth can-i).  Field numbers from k8s.io/api and
k8s.io/apimachinery generated.proto.  Responses stay JSON (clients accept it)."""
import base64
import datetime

MAGIC = b"k8s\x00"

S = "string"
SCHEMAS = {
    "Unknown": {1: ("typeMeta", "TypeMeta", False), 2: ("raw", "rawbytes", False),
                3: ("contentEncoding", S, False), 4: ("contentType", S, False)},
    "TypeMeta": {1: ("apiVersion", S, False), 2: ("kind", S, False)},
    "ObjectMeta": {1: ("name", S, False), 2: ("generateName", S, False), 3: ("namespace", S, False),
                   4: ("selfLink", S, False), 5: ("uid", S, False), 6: ("resourceVersion", S, False),
                   7: ("generation", "int", False), 8: ("creationTimestamp", "Time", False),
                   9: ("deletionTimestamp", "Time", False), 10: ("deletionGracePeriodSeconds", "int", False),
                   11: ("labels", "map:string", False), 12: ("annotations", "map:string", False),
                   13: ("ownerReferences", "OwnerReference", True), 14: ("finalizers", S, True),
                   17: ("managedFields", "ManagedFieldsEntry", True)},
    "OwnerReference": {5: ("apiVersion", S, False), 1: ("kind", S, False), 3: ("name", S, False),
                       4: ("uid", S, False), 6: ("controller", "bool", False),
                       7: ("blockOwnerDeletion", "bool", False)},
    "ManagedFieldsEntry": {1: ("manager", S, False), 2: ("operation", S, False), 3: ("apiVersion", S, False),
                           4: ("time", "Time", False), 6: ("fieldsType", S, False),
                           7: ("fieldsV1", "FieldsV1", False), 8: ("subresource", S, False)},
    "FieldsV1": {1: ("raw", "rawbytes", False)},
    "Time": {1: ("seconds", "int", False), 2: ("nanos", "int", False)},
    "ExtraValue": {1: ("items", S, True)},
    "CertificateSigningRequest": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "CSRSpec", False),
                                  3: ("status", "CSRStatus", False)},
    "CSRSpec": {1: ("request", "bytes", False), 7: ("signerName", S, False), 8: ("expirationSeconds", "int", False),
                5: ("usages", S, True), 2: ("username", S, False), 3: ("uid", S, False), 4: ("groups", S, True),
                6: ("extra", "map:ExtraValue", False)},
    "CSRStatus": {1: ("conditions", "CSRCondition", True), 2: ("certificate", "bytes", False)},
    "CSRCondition": {1: ("type", S, False), 6: ("status", S, False), 2: ("reason", S, False),
                     3: ("message", S, False), 4: ("lastUpdateTime", "Time", False),
                     5: ("lastTransitionTime", "Time", False)},
    "SelfSubjectReview": {1: ("metadata", "ObjectMeta", False), 2: ("status", "Any", False)},
    "SelfSubjectAccessReview": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "SSARSpec", False),
                                3: ("status", "Any", False)},
    "SSARSpec": {1: ("resourceAttributes", "ResourceAttributes", False),
                 2: ("nonResourceAttributes", "NonResourceAttributes", False)},
    "ResourceAttributes": {1: ("namespace", S, False), 2: ("verb", S, False), 3: ("group", S, False),
                           4: ("version", S, False), 5: ("resource", S, False), 6: ("subresource", S, False),
                           7: ("name", S, False)},
    "NonResourceAttributes": {1: ("path", S, False), 2: ("verb", S, False)},
    # core/v1
    "Namespace": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "NamespaceSpec", False), 3: ("status", "Any", False)},
    "NamespaceSpec": {1: ("finalizers", S, True)},
    "Secret": {1: ("metadata", "ObjectMeta", False), 2: ("data", "map:bytes", False), 3: ("type", S, False),
               4: ("stringData", "map:string", False), 5: ("immutable", "bool", False)},
    "ConfigMap": {1: ("metadata", "ObjectMeta", False), 2: ("data", "map:string", False),
                  3: ("binaryData", "map:bytes", False), 4: ("immutable", "bool", False)},
    "ServiceAccount": {1: ("metadata", "ObjectMeta", False), 2: ("secrets", "ObjectReference", True),
                       3: ("imagePullSecrets", "LocalObjectReference", True),
                       4: ("automountServiceAccountToken", "bool", False)},
    "ObjectReference": {1: ("kind", S, False), 2: ("namespace", S, False), 3: ("name", S, False), 4: ("uid", S, False),
                        5: ("apiVersion", S, False), 6: ("resourceVersion", S, False), 7: ("fieldPath", S, False)},
    "LocalObjectReference": {1: ("name", S, False)},
    # rbac/v1
    "ClusterRole": {1: ("metadata", "ObjectMeta", False), 2: ("rules", "PolicyRule", True), 3: ("aggregationRule", "Any", False)},
    "Role": {1: ("metadata", "ObjectMeta", False), 2: ("rules", "PolicyRule", True)},
    "PolicyRule": {1: ("verbs", S, True), 2: ("apiGroups", S, True), 3: ("resources", S, True),
                   4: ("resourceNames", S, True), 5: ("nonResourceURLs", S, True)},
    "ClusterRoleBinding": {1: ("metadata", "ObjectMeta", False), 2: ("subjects", "Subject", True), 3: ("roleRef", "RoleRef", False)},
    "RoleBinding": {1: ("metadata", "ObjectMeta", False), 2: ("subjects", "Subject", True), 3: ("roleRef", "RoleRef", False)},
    "Subject": {1: ("kind", S, False), 2: ("apiGroup", S, False), 3: ("name", S, False), 4: ("namespace", S, False)},
    "RoleRef": {1: ("apiGroup", S, False), 2: ("kind", S, False), 3: ("name", S, False)},
    # authentication/v1
    "TokenRequest": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "TokenRequestSpec", False), 3: ("status", "Any", False)},
    "TokenRequestSpec": {1: ("audiences", S, True), 4: ("expirationSeconds", "int", False)},
}
KINDS = {"CertificateSigningRequest", "SelfSubjectReview", "SelfSubjectAccessReview", "Namespace", "Secret",
         "ConfigMap", "ServiceAccount", "ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding", "TokenRequest"}


class ProtoError(Exception):
    pass


def _varint(b, i):
    shift = v = 0
    while True:
        if i >= len(b):
            raise ProtoError("truncated varint")
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        if not c & 0x80:
            return v, i
        shift += 7


def _fields(b):
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ProtoError("unsupported wire type %d" % wt)
        yield num, wt, v


def _signed(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def decode(msg, b):
    schema = SCHEMAS[msg]
    out = {}
    for num, wt, v in _fields(b):
        f = schema.get(num)
        if f is None:
            continue
        name, typ, rep = f
        if typ == S:
            val = v.decode("utf-8")
        elif typ == "bytes":
            val = base64.b64encode(v).decode()
        elif typ == "rawbytes":
            val = v
        elif typ == "int":
            val = _signed(v)
        elif typ == "bool":
            val = bool(v)
        elif typ == "Any":
            continue
        elif typ.startswith("map:"):
            ent = dict((n, x) for n, _, x in _fields(v))
            k = ent.get(1, b"").decode()
            vt = typ[4:]
            if vt == S:
                val = ent.get(2, b"").decode()
            elif vt == "bytes":
                val = base64.b64encode(ent.get(2, b"")).decode()
            else:
                val = decode(vt, ent.get(2, b"")).get("items", [])
            out.setdefault(name, {})[k] = val
            continue
        elif typ == "Time":
            t = decode("Time", v)
            if t.get("seconds", 0) <= 0:
                continue  # zero metav1.Time is null in JSON
            val = datetime.datetime.fromtimestamp(t["seconds"], datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            val = decode(typ, v)
        if rep:
            out.setdefault(name, []).append(val)
        else:
            out[name] = val
    return out


def decode_object(data):
    """Decode a k8s protobuf body into the JSON-shaped dict."""
    if not data.startswith(MAGIC):
        raise ProtoError("protobuf body without the k8s magic prefix")
    unk = decode("Unknown", data[4:])
    tm = unk.get("typeMeta") or {}
    kind = tm.get("kind", "")
    if kind not in KINDS:
        raise ProtoError('protobuf decoding of kind "%s" is not supported by this double; send JSON' % kind)
    obj = decode(kind, unk.get("raw", b""))
    obj["apiVersion"], obj["kind"] = tm.get("apiVersion", ""), kind
    return obj
