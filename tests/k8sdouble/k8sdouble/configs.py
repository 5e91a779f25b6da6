# SPDX-License-Identifier: Apache-2.0
"""Strict validation of component configuration files and kubeconfigs against
the field sets in data/configschemas.yaml (from the config API reference)."""
import base64
import os
import re
import ssl
import tempfile
import urllib.parse

import yaml

from . import flags as flagsmod
from . import pki

_SCHEMA = None


class ConfigError(Exception):
    pass


def schema():
    global _SCHEMA
    if _SCHEMA is None:
        with open(os.path.join(flagsmod.DATA, "configschemas.yaml"), encoding="utf-8") as f:
            _SCHEMA = yaml.safe_load(f)
    return _SCHEMA


class _UniqueKeyLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader, node, deep=False):
    keys = set()
    for k, _ in node.value:
        key = loader.construct_object(k, deep=deep)
        if key in keys:
            raise ConfigError('yaml: duplicate key "%s" (line %d)' % (key, k.start_mark.line + 1))
        keys.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml_file(path, what):
    if not os.path.exists(path):
        raise ConfigError("%s: open %s: no such file or directory" % (what, path))
    try:
        with open(path, "rb") as f:
            data = yaml.load(f.read().decode("utf-8"), Loader=_UniqueKeyLoader)
    except ConfigError as e:
        raise ConfigError("%s %s: %s" % (what, path, e))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError("%s %s: cannot parse YAML/JSON: %s" % (what, path, str(e).replace("\n", " ")))
    if not isinstance(data, dict):
        raise ConfigError("%s %s: not a YAML mapping" % (what, path))
    return data


def _type_name(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "number"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    if v is None:
        return "null"
    return type(v).__name__


def check_value(typ, v, path, errors):
    """Check value v against type typ; append 'path: message' to errors."""
    structs = schema()["structs"]
    if v is None or typ == "any":
        return
    if typ.startswith("[]"):
        if not isinstance(v, list):
            errors.append('%s: expected array, got %s' % (path, _type_name(v)))
            return
        for i, x in enumerate(v):
            check_value(typ[2:], x, "%s[%d]" % (path, i), errors)
        return
    if typ.startswith("map[string]"):
        if not isinstance(v, dict):
            errors.append('%s: expected object, got %s' % (path, _type_name(v)))
            return
        for k, x in v.items():
            check_value(typ[len("map[string]"):], x, "%s[%s]" % (path, k), errors)
        return
    if typ == "bool":
        if not isinstance(v, bool):
            errors.append('%s: expected bool, got %s %r' % (path, _type_name(v), v))
    elif typ == "string":
        if not isinstance(v, str):
            errors.append('%s: expected string, got %s %r' % (path, _type_name(v), v))
    elif typ == "int":
        if isinstance(v, bool) or not isinstance(v, int):
            errors.append('%s: expected integer, got %s %r' % (path, _type_name(v), v))
    elif typ == "float":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            errors.append('%s: expected number, got %s %r' % (path, _type_name(v), v))
    elif typ == "duration":
        if not isinstance(v, str):
            errors.append('%s: expected duration string, got %s %r' % (path, _type_name(v), v))
        else:
            try:
                flagsmod.parse_duration(v)
            except ValueError as e:
                errors.append("%s: %s" % (path, e))
    elif typ in structs:
        check_struct(typ, v, path, errors)
    else:
        raise AssertionError("schema type %s" % typ)


def check_struct(name, obj, path, errors, skip=()):
    st = schema()["structs"][name]
    if not isinstance(obj, dict):
        errors.append("%s: expected object, got %s" % (path or name, _type_name(obj)))
        return
    fields = st.get("fields") or {}
    dep = st.get("deprecated") or {}
    for k, v in obj.items():
        p = "%s.%s" % (path, k) if path else k
        if k in skip:
            continue
        if k not in fields:
            errors.append('unknown field "%s"' % p)
            continue
        if k in dep:
            errors.append('field "%s" is deprecated: %s' % (p, dep[k]))
            continue
        check_value(fields[k], v, p, errors)


def validate_kind(data, kind, path):
    """Check apiVersion/kind and every field; raise ConfigError listing all."""
    spec = schema()["kinds"][kind]
    av, k = data.get("apiVersion"), data.get("kind")
    if k != kind or av != spec["apiVersion"]:
        raise ConfigError('%s: expected apiVersion "%s" kind "%s", got apiVersion "%s" kind "%s"'
                          % (path, spec["apiVersion"], kind, av, k))
    errors = []
    check_struct(spec["struct"], data, "", errors, skip=("apiVersion", "kind"))
    if errors:
        raise ConfigError("%s: strict decoding error: %s" % (path, ", ".join(errors)))
    return data


def load_config(path, kind):
    what = {"KubeletConfiguration": "kubelet config file",
            "KubeProxyConfiguration": "kube-proxy config file",
            "KubeSchedulerConfiguration": "kube-scheduler config file",
            "EncryptionConfiguration": "encryption provider config file",
            "AuthenticationConfiguration": "authentication configuration file",
            "Policy": "audit policy file"}[kind]
    data = load_yaml_file(path, what)
    validate_kind(data, kind, path)
    return data


# ---- semantic checks ------------------------------------------------------

def check_encryption_config(path):
    data = load_config(path, "EncryptionConfiguration")
    res = data.get("resources") or []
    if not res:
        raise ConfigError("%s: resources: Required value: resources is required" % path)
    for i, rc in enumerate(res):
        if not rc.get("resources"):
            raise ConfigError("%s: resources[%d].resources: Required value" % (path, i))
        provs = rc.get("providers") or []
        if not provs:
            raise ConfigError("%s: resources[%d].providers: Required value" % (path, i))
        for j, pv in enumerate(provs):
            p = "resources[%d].providers[%d]" % (i, j)
            if len(pv) != 1:
                raise ConfigError("%s: %s: Invalid value: more than one provider specified in a single element, should split into different list elements" % (path, p))
            (ptype, pconf), = pv.items()
            if ptype in ("aescbc", "aesgcm", "secretbox"):
                keys = (pconf or {}).get("keys") or []
                if not keys:
                    raise ConfigError("%s: %s.%s.keys: Required value: keys (list) is required" % (path, p, ptype))
                for k, key in enumerate(keys):
                    if not key.get("name"):
                        raise ConfigError("%s: %s.%s.keys[%d].name: Required value" % (path, p, ptype, k))
                    try:
                        raw = base64.b64decode(key.get("secret") or "", validate=True)
                    except Exception:
                        raise ConfigError("%s: %s.%s.keys[%d].secret: Invalid value: REDACTED: secrets must be base64 encoded" % (path, p, ptype, k))
                    ok = {"aescbc": (32,), "aesgcm": (16, 24, 32), "secretbox": (32,)}[ptype]
                    if len(raw) not in ok:
                        raise ConfigError("%s: %s.%s.keys[%d].secret: Invalid value: REDACTED: secret is not of the expected length, got %d, expected one of %s"
                                          % (path, p, ptype, k, len(raw), list(ok)))
            elif ptype == "kms":
                pconf = pconf or {}
                if pconf.get("apiVersion", "v1") != "v2":
                    raise ConfigError("%s: %s.kms.apiVersion: KMS v1 is deprecated (disabled by default since v1.29, KMSv1 feature gate); use apiVersion: v2" % (path, p))
                if not pconf.get("name") or not pconf.get("endpoint"):
                    raise ConfigError("%s: %s.kms: name and endpoint are required" % (path, p))
    return data


AUDIT_LEVELS = {"None", "Metadata", "Request", "RequestResponse"}
AUDIT_STAGES = {"RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"}


def check_audit_policy(path):
    data = load_config(path, "Policy")
    rules = data.get("rules") or []
    if not rules:
        raise ConfigError("%s: loaded illegal policy with 0 rules" % path)
    for s in data.get("omitStages") or []:
        if s not in AUDIT_STAGES:
            raise ConfigError('%s: omitStages: Unsupported value: "%s"' % (path, s))
    for i, r in enumerate(rules):
        lvl = r.get("level")
        if lvl not in AUDIT_LEVELS:
            raise ConfigError('%s: rules[%d].level: Unsupported value: "%s": supported values: "None", "Metadata", "Request", "RequestResponse"' % (path, i, lvl))
        for s in r.get("omitStages") or []:
            if s not in AUDIT_STAGES:
                raise ConfigError('%s: rules[%d].omitStages: Unsupported value: "%s"' % (path, i, s))
        if r.get("nonResourceURLs") and (r.get("resources") or r.get("namespaces")):
            raise ConfigError("%s: rules[%d].nonResourceURLs: Invalid value: rules cannot apply to both regular resources and non-resource URLs" % (path, i))
    return data


# ---- kubeconfig -----------------------------------------------------------

class KubeConfig:
    """The resolved current context of a kubeconfig."""

    def __init__(self):
        self.path = None
        self.server = None
        self.host = None
        self.port = None
        self.scheme = "https"
        self.tls_server_name = None
        self.insecure = False
        self.ca_pem = None
        self.ca_path = None
        self.cert_pem = None
        self.key_pem = None
        self.cert_path = None
        self.key_path = None
        self.token = None
        self.raw = None
        self.cluster = None
        self.namespace = None

    def ssl_context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif self.ca_pem:
            ctx.load_verify_locations(cadata=self.ca_pem.decode())
        else:
            ctx.load_default_certs()
        if self.cert_pem and self.key_pem:
            with tempfile.TemporaryDirectory() as d:
                cp, kp = os.path.join(d, "c"), os.path.join(d, "k")
                for p, data in ((cp, self.cert_pem), (kp, self.key_pem)):
                    fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o600)
                    with os.fdopen(fd, "wb") as f:
                        f.write(data)
                ctx.load_cert_chain(cp, kp)
        return ctx


def _resolve(base, p):
    return p if os.path.isabs(p) else os.path.join(base, p)


def _b64(s, what):
    try:
        return pki.b64decode_strict(s)
    except Exception:
        raise ConfigError("%s: illegal base64 data" % what)


def load_kubeconfig(path, what="kubeconfig"):
    """Load and validate a kubeconfig (clientcmd v1 Config); raises ConfigError."""
    data = load_yaml_file(path, what)
    errors = []
    check_struct("Config", data, "", errors)
    if errors:
        raise ConfigError("%s %s: %s" % (what, path, ", ".join(errors)))
    if data.get("kind", "Config") != "Config" or data.get("apiVersion", "v1") != "v1":
        raise ConfigError('%s %s: expected apiVersion "v1" kind "Config"' % (what, path))
    base = os.path.dirname(os.path.abspath(path))
    named = {}
    for sect, key in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
        named[sect] = {}
        for item in data.get(sect) or []:
            if not item.get("name"):
                raise ConfigError("%s %s: %s entry without a name" % (what, path, sect))
            named[sect][item["name"]] = item.get(key) or {}
    cur = data.get("current-context") or ""
    if not cur:
        raise ConfigError("%s %s: invalid configuration: no configuration has been provided (current-context is not set)" % (what, path))
    ctx = named["contexts"].get(cur)
    if ctx is None:
        raise ConfigError('%s %s: invalid configuration: context was not found for specified context: %s' % (what, path, cur))
    cl = named["clusters"].get(ctx.get("cluster", ""))
    if cl is None:
        raise ConfigError('%s %s: invalid configuration: cluster "%s" not found (context "%s")' % (what, path, ctx.get("cluster", ""), cur))
    user = named["users"].get(ctx.get("user", ""))
    if user is None:
        raise ConfigError('%s %s: invalid configuration: user "%s" not found (context "%s")' % (what, path, ctx.get("user", ""), cur))
    kc = KubeConfig()
    kc.path, kc.raw, kc.cluster, kc.namespace = path, data, cl, ctx.get("namespace")
    server = cl.get("server") or ""
    u = urllib.parse.urlparse(server)
    if u.scheme not in ("https", "http") or not u.hostname:
        raise ConfigError('%s %s: invalid configuration: cluster "%s": server "%s" is not an https URL' % (what, path, ctx.get("cluster"), server))
    kc.server, kc.scheme, kc.host = server, u.scheme, u.hostname
    kc.port = u.port or (443 if u.scheme == "https" else 80)
    kc.tls_server_name = cl.get("tls-server-name")
    kc.insecure = bool(cl.get("insecure-skip-tls-verify"))
    if cl.get("certificate-authority") and cl.get("certificate-authority-data"):
        raise ConfigError("%s %s: invalid configuration: certificate-authority-data and certificate-authority are both specified" % (what, path))
    if kc.insecure and (cl.get("certificate-authority") or cl.get("certificate-authority-data")):
        raise ConfigError("%s %s: invalid configuration: specifying a root certificates file with the insecure flag is not allowed" % (what, path))
    try:
        if cl.get("certificate-authority"):
            kc.ca_path = _resolve(base, cl["certificate-authority"])
            pki.check_cert_file(kc.ca_path, "certificate-authority")
            kc.ca_pem = pki.read(kc.ca_path)
        elif cl.get("certificate-authority-data"):
            kc.ca_pem = _b64(cl["certificate-authority-data"], "certificate-authority-data")
            pki.check_cert_bundle(kc.ca_pem, "certificate-authority-data")
        for k in ("client-certificate", "client-certificate-data"):
            pass
        if user.get("client-certificate") and user.get("client-certificate-data"):
            raise ConfigError("client-cert-data and client-cert are both specified")
        if user.get("client-key") and user.get("client-key-data"):
            raise ConfigError("client-key-data and client-key are both specified")
        if user.get("client-certificate"):
            kc.cert_path = _resolve(base, user["client-certificate"])
            pki.check_cert_file(kc.cert_path, "client-certificate")
            kc.cert_pem = pki.read(kc.cert_path)
        elif user.get("client-certificate-data"):
            kc.cert_pem = _b64(user["client-certificate-data"], "client-certificate-data")
            pki.check_cert_bundle(kc.cert_pem, "client-certificate-data")
        if user.get("client-key"):
            kc.key_path = _resolve(base, user["client-key"])
            pki.check_key_file(kc.key_path, "client-key")
            kc.key_pem = pki.read(kc.key_path)
        elif user.get("client-key-data"):
            kc.key_pem = _b64(user["client-key-data"], "client-key-data")
            pki.check_key_data(kc.key_pem, "client-key-data")
    except pki.PKIError as e:
        raise ConfigError("%s %s: user/cluster of context \"%s\": %s" % (what, path, cur, e))
    if bool(kc.cert_pem) != bool(kc.key_pem):
        raise ConfigError("%s %s: invalid configuration: client-cert and client-key must be specified together (user \"%s\")" % (what, path, ctx.get("user")))
    if kc.cert_pem:
        try:
            kc.ssl_context()
        except ssl.SSLError as e:
            raise ConfigError("%s %s: client certificate and key do not match: %s" % (what, path, e))
    if user.get("token") and user.get("tokenFile"):
        pass  # clientcmd: token wins
    if user.get("token"):
        kc.token = user["token"]
    elif user.get("tokenFile"):
        tf = _resolve(base, user["tokenFile"])
        if not os.path.exists(tf):
            raise ConfigError("%s %s: tokenFile %s: no such file or directory" % (what, path, tf))
        with open(tf) as f:
            kc.token = f.read().strip()
    if user.get("username") or user.get("password") or user.get("auth-provider") or user.get("exec"):
        raise ConfigError("%s %s: user \"%s\": basic auth / auth-provider / exec credentials are not supported by this double" % (what, path, ctx.get("user")))
    if not kc.cert_pem and not kc.token:
        raise ConfigError("%s %s: user \"%s\" has neither a client certificate nor a token" % (what, path, ctx.get("user")))
    return kc


TOKEN_RE = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
