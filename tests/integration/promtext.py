# SPDX-License-Identifier: Apache-2.0
"""A check of the Prometheus text exposition format (0.0.4), with the rules
`promtool check metrics` applies to what it parses (promtool is in Debian's
prometheus package, which also installs and starts a Prometheus server;
this keeps the tests free of it):

- every line is a comment (# HELP / # TYPE / other #) or a sample;
- metric and label names match the format's grammar; label values are
  quoted with only \\\\, \\" and \\n escapes; no label twice in a series;
- TYPE is one of counter, gauge, histogram, summary, untyped, at most one
  per family and before its first sample; HELP at most once per family;
- a family's samples are contiguous (not interleaved with another family);
- no series appears twice; every value is a float (or NaN, +Inf, -Inf);
- counters are named *_total (promtool's lint), and every family has HELP.

parse(text) returns ({(name, frozenset(labels.items())): value}, problems).
"""
import re

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def _labels(s, problems, lineno):
    """Parses `a="x",b="y"` (without braces); returns a dict."""
    out = {}
    i = 0
    while i < len(s):
        m = re.match(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"", s[i:])
        if m is None:
            problems.append("line %d: bad label at %r" % (lineno, s[i:i + 20]))
            return out
        name = m.group(1)
        i += m.end()
        val = []
        while i < len(s) and s[i] != '"':
            if s[i] == "\\":
                if i + 1 >= len(s) or s[i + 1] not in '\\"n':
                    problems.append("line %d: bad escape in label %s" %
                                    (lineno, name))
                    return out
                val.append({"\\": "\\", '"': '"', "n": "\n"}[s[i + 1]])
                i += 2
            else:
                val.append(s[i])
                i += 1
        if i >= len(s):
            problems.append("line %d: unterminated label %s" % (lineno, name))
            return out
        i += 1
        if name in out:
            problems.append("line %d: label %s twice" % (lineno, name))
        out[name] = "".join(val)
        if i < len(s):
            if s[i] != ",":
                problems.append("line %d: expected ',' after label %s" %
                                (lineno, name))
                return out
            i += 1
    return out


def _family(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(name[:-len(suffix)]) in \
                ("histogram", "summary"):
            return name[:-len(suffix)]
    return name


def parse(text):
    problems = []
    series = {}
    types, helps, seen_sample, done = {}, {}, set(), set()
    current = None
    if text and not text.endswith("\n"):
        problems.append("the text does not end with a newline")
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.match(name):
                    problems.append("line %d: bad metric name %r" % (lineno, name))
                if parts[1] == "TYPE":
                    t = parts[3].strip() if len(parts) > 3 else ""
                    if t not in TYPES:
                        problems.append("line %d: bad type %r" % (lineno, t))
                    if name in types:
                        problems.append("line %d: second TYPE for %s" % (lineno, name))
                    if name in seen_sample:
                        problems.append("line %d: TYPE of %s after its samples" %
                                        (lineno, name))
                    types[name] = t
                else:
                    if name in helps:
                        problems.append("line %d: second HELP for %s" % (lineno, name))
                    helps[name] = parts[3] if len(parts) > 3 else ""
            continue
        if line.strip() == "":
            problems.append("line %d: empty line" % lineno)
            continue
        m = re.match(r"([^\s{]+)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?\Z", line)
        if m is None:
            problems.append("line %d: not a sample: %r" % (lineno, line[:80]))
            continue
        name = m.group(1)
        if not NAME.match(name):
            problems.append("line %d: bad metric name %r" % (lineno, name))
        labels = _labels(m.group(3) or "", problems, lineno)
        for ln in labels:
            if not LABEL.match(ln) or ln.startswith("__"):
                problems.append("line %d: bad label name %r" % (lineno, ln))
        try:
            value = float(m.group(4))
        except ValueError:
            problems.append("line %d: bad value %r" % (lineno, m.group(4)))
            value = None
        fam = _family(name, types)
        if fam != current:
            if fam in done:
                problems.append("line %d: samples of %s are not together" %
                                (lineno, fam))
            if current is not None:
                done.add(current)
            current = fam
        seen_sample.add(fam)
        key = (name, frozenset(labels.items()))
        if key in series:
            problems.append("line %d: series %s%s twice" % (lineno, name, labels))
        series[key] = value
    for fam in seen_sample:
        if fam not in helps:
            problems.append("%s has no HELP" % fam)
        if types.get(fam) == "counter" and not fam.endswith("_total"):
            problems.append("counter %s is not named *_total" % fam)
    return series, problems


def values(series, name, **want):
    """[(labels dict, value)] of series `name` whose labels include want."""
    out = []
    for (n, labels), v in series.items():
        d = dict(labels)
        if n == name and all(d.get(k) == w for k, w in want.items()):
            out.append((d, v))
    return out
