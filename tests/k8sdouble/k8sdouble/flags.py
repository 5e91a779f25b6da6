# SPDX-License-Identifier: Apache-2.0
"""Command-line parsing with the semantics of spf13/pflag as the Kubernetes
components use it (cobra + cliflag.WordSepNormalizeFunc).

The flag sets come from data/<component>.flags (taken from the reference docs).
Deliberate difference from the real binaries: a flag the docs mark DEPRECATED
is refused (the real ones print a warning and go on), so that a rendered unit
that still uses one fails its check.
"""
import os
import re

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

KUBELET_CONFIG_MSG = ("This parameter should be set via the config file specified by the "
                      "Kubelet's --config flag. See https://kubernetes.io/docs/tasks/"
                      "administer-cluster/kubelet-config-file/ for more information.")

SHORTHANDS = {"h": "help", "v": "v"}


class FlagError(Exception):
    """A command-line error: printed as 'Error: <msg>', exit status 1."""


class FlagDef:
    __slots__ = ("name", "type", "deprecated", "ignored_with_config")

    def __init__(self, name, typ, deprecated=None, ignored_with_config=False):
        self.name, self.type = name, typ
        self.deprecated, self.ignored_with_config = deprecated, ignored_with_config

    @property
    def is_bool(self):
        return self.type == "bool"


def normalize(name):
    return name.replace("_", "-")


def minor_of(version):
    """35 of "v1.35.2"."""
    try:
        return int(version.lstrip("v").split(".")[1])
    except (IndexError, ValueError):
        return None


def load_flagset(component, minor=None):
    """The flags of a component; with minor (35 of v1.35.x) only those its
    reference page of that release lists: a fourth column may hold, comma-
    separated, "ignored-with-config", "since=1.MINOR" (the flag first
    appears in that release's page) and "until=1.MINOR" (its last)."""
    path = os.path.join(DATA, component + ".flags")
    defs = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cols = line.split("\t")
            name, typ = normalize(cols[0]), cols[1]
            dep = cols[2] if len(cols) > 2 and cols[2] else None
            if dep == "@config":
                dep = KUBELET_CONFIG_MSG
            marks = cols[3].split(",") if len(cols) > 3 else []
            iwc = "ignored-with-config" in marks
            since = [int(m.split(".")[1]) for m in marks if m.startswith("since=")]
            until = [int(m.split(".")[1]) for m in marks if m.startswith("until=")]
            if minor is not None and ((since and minor < since[0]) or
                                      (until and minor > until[0])):
                continue
            defs[name] = FlagDef(name, typ, dep, iwc)
    return defs


def load_feature_gates():
    gates = set()
    with open(os.path.join(DATA, "feature-gates.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                gates.add(line)
    return gates


_DUR_RE = re.compile(r"^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$")
_DUR_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DUR_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0,
              "m": 60.0, "h": 3600.0}
_QTY_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")


def parse_duration(s):
    """Go time.ParseDuration; returns seconds (float) or raises ValueError."""
    if s in ("0", "+0", "-0"):
        return 0.0
    if not s:
        raise ValueError('time: invalid duration ""')
    if not _DUR_RE.match(s):
        if re.match(r"^[-+]?\d+(\.\d+)?$", s):
            raise ValueError('time: missing unit in duration "%s"' % s)
        raise ValueError('time: invalid duration "%s"' % s)
    sign = -1.0 if s.startswith("-") else 1.0
    total = sum(float(n) * _DUR_UNITS[u] for n, u in _DUR_PART.findall(s))
    return sign * total


def parse_bool(s):
    if s in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if s in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError('strconv.ParseBool: parsing "%s": invalid syntax' % s)


def _parse_int(s, bits=64, unsigned=False):
    fn = "ParseUint" if unsigned else "ParseInt"
    try:
        v = int(s, 0)
    except ValueError:
        raise ValueError('strconv.%s: parsing "%s": invalid syntax' % (fn, s))
    lo, hi = (0, 2 ** bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if not lo <= v <= hi:
        raise ValueError('strconv.%s: parsing "%s": value out of range' % (fn, s))
    return v


def _split_csv(s):
    return [x.strip() for x in s.split(",")] if s != "" else []


def check_value(fdef, value, feature_gates):
    """Validate one raw value against the flag type (pflag's Set)."""
    t = fdef.type
    if t == "bool":
        parse_bool(value)
    elif t in ("int", "int64"):
        _parse_int(value, 64)
    elif t == "int32":
        _parse_int(value, 32)
    elif t == "uint":
        _parse_int(value, 64, unsigned=True)
    elif t == "float":
        try:
            float(value)
        except ValueError:
            raise ValueError('strconv.ParseFloat: parsing "%s": invalid syntax' % value)
    elif t == "duration":
        parse_duration(value)
    elif t == "int32Slice":
        for x in _split_csv(value):
            _parse_int(x, 32)
    elif t in ("mapStringString", "stringToString"):
        for kv in _split_csv(value):
            if "=" not in kv:
                raise ValueError("malformed pair, expect string=string")
    elif t == "mapStringBool":
        for kv in _split_csv(value):
            if "=" not in kv:
                raise ValueError("missing bool value for %s" % kv)
            k, v = kv.split("=", 1)
            try:
                parse_bool(v.strip())
            except ValueError:
                raise ValueError("invalid value of %s=%s, err: %s" % (k, v, "strconv.ParseBool: parsing %r: invalid syntax" % v))
            if fdef.name == "feature-gates":
                _check_gate(k.strip(), feature_gates)
    elif t == "colonSeparatedMultimapStringString":
        for kv in _split_csv(value):
            if "=" not in kv:
                raise ValueError("malformed pair, expect string=string")
            k, v = kv.split("=", 1)
            comp, _, gate = k.rpartition(":")
            if fdef.name == "feature-gates":
                if comp not in ("", "kube"):
                    raise ValueError("component not registered: \"%s\"" % comp)
                try:
                    parse_bool(v.strip())
                except ValueError:
                    raise ValueError("invalid value of %s=%s, err: strconv.ParseBool: parsing %r: invalid syntax" % (gate, v, v))
                _check_gate(gate.strip(), feature_gates)
    elif t == "portRange":
        m = re.match(r"^(\d+)(?:([-+])(\d+))?$", value.strip())
        if not m:
            raise ValueError('unable to parse port range "%s"' % value)
        lo = int(m.group(1))
        hi = lo if not m.group(2) else (int(m.group(3)) if m.group(2) == "-" else lo + int(m.group(3)))
        if not (0 < lo <= hi <= 65535):
            raise ValueError('"%s" is not a valid port range' % value)
    elif t == "quantity":
        if not _QTY_RE.match(value):
            raise ValueError("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    elif t == "namedCertKey":
        certs = value.split(":", 1)[0].split(",")
        if len(certs) != 2 or not all(certs):
            raise ValueError("expected comma separated certificate and key file paths")
    elif t == "ipport":
        if value and not re.match(r"^(\[[0-9a-fA-F:.]+\]|[0-9.]+)(:\d+)?$", value):
            raise ValueError('"%s" is not a valid IP address or IP:port' % value)
    elif t == "version":
        if value not in ("true", "false", "raw") and not re.match(r"^v\d+\.\d+\.\d+", value):
            parse_bool(value)
    # string, strings, pattern, LocalMode, ProxyMode, taints, reservedMemory,
    # traceLocation: accepted as text


def _check_gate(gate, feature_gates):
    if feature_gates is not None and gate not in feature_gates:
        raise ValueError("unrecognized feature gate: %s" % gate)


class Parsed:
    """Result of parsing: raw values per flag (in order) and positionals."""

    def __init__(self, defs):
        self.defs = defs
        self.values = {}   # name -> [raw values]
        self.args = []

    def has(self, name):
        return name in self.values

    def get(self, name, default=None):
        v = self.values.get(name)
        if not v:
            return default
        t = self.defs[name].type
        if t == "bool":
            return parse_bool(v[-1])
        if t in ("int", "int32", "int64", "uint"):
            return int(v[-1], 0)
        if t == "float":
            return float(v[-1])
        if t == "duration":
            return parse_duration(v[-1])
        if t in ("strings", "int32Slice"):
            out = []
            for x in v:
                out.extend(_split_csv(x))
            return out
        if t in ("mapStringString", "stringToString", "mapStringBool",
                 "colonSeparatedMultimapStringString"):
            out = {}
            for x in v:
                for kv in _split_csv(x):
                    k, _, val = kv.partition("=")
                    out[k.strip()] = val.strip()
            return out
        return v[-1]


def parse(component, argv, defs=None, feature_gates=None):
    """Parse argv (without argv[0]) like pflag.  Raises FlagError."""
    if defs is None:
        defs = load_flagset(component)
    if feature_gates is None:
        feature_gates = load_feature_gates()
    p = Parsed(defs)
    i = 0
    n = len(argv)

    def setv(fdef, shown, value):
        if fdef.deprecated:
            raise FlagError("flag --%s is deprecated: %s" % (fdef.name, fdef.deprecated))
        try:
            check_value(fdef, value, feature_gates)
        except ValueError as e:
            raise FlagError('invalid argument "%s" for "%s" flag: %s' % (value, shown, e))
        p.values.setdefault(fdef.name, []).append(value)

    while i < n:
        a = argv[i]
        i += 1
        if a == "--":
            p.args.extend(argv[i:])
            break
        if a.startswith("--") and len(a) > 2:
            body = a[2:]
            if body.startswith("-") or body.startswith("="):
                raise FlagError("bad flag syntax: %s" % a)
            name, eq, value = body.partition("=")
            name = normalize(name)
            fdef = defs.get(name)
            if fdef is None:
                raise FlagError("unknown flag: --%s" % name)
            shown = "--" + name
            if eq:
                setv(fdef, shown, value)
            elif fdef.is_bool:
                setv(fdef, shown, "true")
            elif fdef.type == "version":
                setv(fdef, shown, "true")
            else:
                if i >= n:
                    raise FlagError("flag needs an argument: --%s" % name)
                setv(fdef, shown, argv[i])
                i += 1
        elif a.startswith("-") and len(a) > 1:
            body = a[1:]
            while body:
                c = body[0]
                long = SHORTHANDS.get(c)
                if long is None or long not in defs:
                    raise FlagError("unknown shorthand flag: '%s' in -%s" % (c, a[1:]))
                fdef = defs[long]
                shown = "-%s, --%s" % (c, long)
                rest = body[1:]
                if rest.startswith("="):
                    setv(fdef, shown, rest[1:])
                    break
                if fdef.is_bool:
                    setv(fdef, shown, "true")
                    body = rest
                    continue
                if rest:
                    setv(fdef, shown, rest)
                elif i < n:
                    setv(fdef, shown, argv[i])
                    i += 1
                else:
                    raise FlagError("flag needs an argument: '%s' in -%s" % (c, c))
                break
        else:
            p.args.append(a)
    return p
