# SPDX-License-Identifier: Apache-2.0
"""x509fields: the fields of a certificate as `openssl x509 -text` shows
them, for field-by-field comparisons in tests. Uses only the openssl CLI."""
import datetime
import re
import subprocess


def _date(s):
    return datetime.datetime.strptime(s.strip(), "%b %d %H:%M:%S %Y GMT")


def text(path):
    return subprocess.run(["openssl", "x509", "-noout", "-text", "-in", path],
                          check=True, capture_output=True, text=True).stdout


def fields(path):
    """Returns a dict: subject, issuer, validity_seconds, key, key usage,
    extended key usage, basic constraints, SANs, extension names."""
    t = text(path)
    f = {}
    f["subject"] = re.search(r"^\s*Subject: (.*)$", t, re.M).group(1).strip()
    f["issuer"] = re.search(r"^\s*Issuer: (.*)$", t, re.M).group(1).strip()
    nb = _date(re.search(r"Not Before: (.*)", t).group(1))
    na = _date(re.search(r"Not After : (.*)", t).group(1))
    f["validity_seconds"] = int((na - nb).total_seconds())
    alg = re.search(r"Public Key Algorithm: (\S+)", t).group(1)
    bits = re.search(r"Public-Key: \((\d+) bit\)", t).group(1)
    curve = re.search(r"NIST CURVE: (\S+)", t)
    f["key"] = "%s %s%s" % (alg, bits, (" " + curve.group(1)) if curve else "")
    f["signature"] = re.search(r"Signature Algorithm: (\S+)", t).group(1)
    exts = {}
    m = re.search(r"X509v3 extensions:\n(.*?)\n    Signature Algorithm", t, re.S)
    if m:
        lines = m.group(1).split("\n")
        cur = None
        for ln in lines:
            h = re.match(r"^            (\S[^:]*):\s*(critical)?\s*$", ln)
            if h:
                cur = h.group(1).strip()
                exts[cur] = {"critical": bool(h.group(2)), "value": ""}
            elif cur:
                exts[cur]["value"] += ln.strip()
    f["extensions"] = sorted(exts)
    def ext(name):
        e = exts.get(name)
        if e is None:
            return None
        return {"critical": e["critical"], "value": e["value"]}
    ku = ext("X509v3 Key Usage")
    f["key_usage"] = None if ku is None else (
        ku["critical"], sorted(v.strip() for v in ku["value"].split(",")))
    eku = ext("X509v3 Extended Key Usage")
    f["ext_key_usage"] = None if eku is None else (
        eku["critical"], sorted(v.strip() for v in eku["value"].split(",")))
    bc = ext("X509v3 Basic Constraints")
    f["basic_constraints"] = None if bc is None else (bc["critical"], bc["value"])
    san = ext("X509v3 Subject Alternative Name")
    f["sans"] = [] if san is None else sorted(
        v.strip().replace("IP Address:", "IP:") for v in san["value"].split(","))
    return f
