#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""pki_seed_compat: runs the seed's own cfssl procedure (golang-cfssl, the
seed's CSR JSON in tests/data/seed-cfssl) and `slipway cert seed-set` on the
same inventory, and compares every certificate field by field with
`openssl x509 -text`. Every difference must be one listed (with its reason)
in docs/seed-compat.md, and every listed difference must still occur.
Every slipway leaf must pass `openssl verify` against `slipway ca export`.
"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import x509fields  # noqa: E402

SLIPWAY = os.environ["SLIPWAY"]
SRC = os.environ["SLW_SRC"]
DATA = os.path.join(os.environ["SLW_DATA"], "seed-cfssl")
EXAMPLE = os.path.join(SRC, "examples", "seed-cluster.yaml")
DOC = os.path.join(SRC, "docs", "seed-compat.md")
NAMES = ["admin", "etcd", "flanneld", "kubernetes", "kube-controller-manager",
         "kube-scheduler", "kube-proxy"]
FIELDS = ["subject", "sans", "key_usage", "ext_key_usage", "basic_constraints",
          "validity_seconds", "key", "signature", "extensions"]

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(*argv, **kw):
    return subprocess.run(list(argv), check=True, capture_output=True, text=True, **kw)


def cfssl_procedure(out):
    """The seed's section 02-07 commands, verbatim apart from paths."""
    sh = ("set -e; cd %s; cfssl gencert -initca %s/ca-csr.json | cfssljson -bare ca; "
          % (out, DATA))
    for n in NAMES:
        sh += ("cfssl gencert -ca=ca.pem -ca-key=ca-key.pem -config=%s/ca-config.json "
               "-profile=kubernetes %s/%s-csr.json | cfssljson -bare %s; " % (DATA, DATA, n, n))
    subprocess.run(["sh", "-c", sh], check=True, capture_output=True)


def slipway(state, *args):
    return run(SLIPWAY, "--state", state, *args)


# The differences slipway makes on purpose, by (certificate, field). The key
# of each is cited in docs/seed-compat.md; the test fails if the doc lacks it.
def expected_rsa_single(name, field, a, b):
    """a: cfssl's value, b: slipway's. Returns the doc id or None."""
    if name == "ca" and field == "validity_seconds" and a == 43800 * 3600 and b == 87600 * 3600:
        return "ca-validity"
    if field == "extensions":
        added = set(b) - set(a)
        removed = set(a) - set(b)
        if not removed and added == {"X509v3 Authority Key Identifier"}:
            return "aki-always" if name in ("ca", "kubernetes") else None
    if field == "validity_seconds" and name != "ca" and a == 87600 * 3600 and a - 3600 < b <= a:
        return "leaf-capped-by-ca"
    return None


def compare(cf_dir, sw_dir, expected, label):
    seen = set()
    for name in ["ca"] + NAMES:
        a = x509fields.fields(os.path.join(cf_dir, name + ".pem"))
        b = x509fields.fields(os.path.join(sw_dir, name + ".pem"))
        for field in FIELDS:
            if a[field] == b[field]:
                continue
            why = expected(name, field, a[field], b[field])
            check(why is not None, "%s: %s.pem %s: cfssl %r, slipway %r%s" % (
                label, name, field, a[field], b[field],
                " (expected: %s)" % why if why else " (UNEXPECTED)"))
            if why:
                seen.add(why)
    return seen


def verify_all(state, sw_dir, label):
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as bundle:
        bundle.write(slipway(state, "ca", "export").stdout)
        bundle.flush()
        for name in NAMES:
            purpose = "sslserver" if name in ("kubernetes", "etcd") else "sslclient"
            r = subprocess.run(["openssl", "verify", "-purpose", purpose, "-CAfile",
                                bundle.name, os.path.join(sw_dir, name + ".pem")],
                               capture_output=True, text=True)
            check(r.returncode == 0 and r.stdout.strip().endswith(": OK"),
                  "%s: openssl verify -purpose %s %s.pem against slipway ca export"
                  % (label, purpose, name))


def main():
    doc = open(DOC).read()
    with tempfile.TemporaryDirectory() as tmp:
        cf = os.path.join(tmp, "cfssl")
        os.mkdir(cf)
        cfssl_procedure(cf)
        # The seed's own trap, which slipway must not reproduce.
        r = subprocess.run(["openssl", "verify", "-CAfile", os.path.join(cf, "ca.pem"),
                            os.path.join(cf, "kubernetes.pem")], capture_output=True, text=True)
        check(r.returncode != 0 and "error 18" in r.stdout + r.stderr,
              "cfssl's kubernetes.pem (subject = CA subject, no AKI) fails openssl verify: error 18")

        # 1. The seed's layout: one CA, RSA 2048.
        st1 = os.path.join(tmp, "state-rsa")
        sw1 = os.path.join(tmp, "slipway-rsa")
        slipway(st1, "init", "--cluster", EXAMPLE, "--single-ca", "--key-type", "rsa-2048")
        slipway(st1, "cert", "seed-set", "--out", sw1)
        with open(os.path.join(sw1, "ca.pem")) as f:
            check(f.read().count("BEGIN CERTIFICATE") == 1, "rsa: ca.pem holds one CA")
        check(not os.path.exists(os.path.join(sw1, "ca-key.pem")),
              "rsa: no CA key is written (ca-key.pem absent)")
        for n in NAMES:
            mode = os.stat(os.path.join(sw1, n + "-key.pem")).st_mode & 0o777
            check(mode == 0o600, "rsa: %s-key.pem is 0600 (%o)" % (n, mode))
        seen = compare(cf, sw1, expected_rsa_single, "rsa")
        for why in ("ca-validity", "aki-always"):
            check(why in seen, "rsa: documented difference '%s' still occurs" % why)
        verify_all(st1, sw1, "rsa")

        # 2. slipway's defaults: separate CAs, ECDSA P-256.
        st2 = os.path.join(tmp, "state-p256")
        sw2 = os.path.join(tmp, "slipway-p256")
        slipway(st2, "init", "--cluster", EXAMPLE)
        slipway(st2, "cert", "seed-set", "--out", sw2)

        def expected_default(name, field, a, b):
            why = expected_rsa_single(name, field, a, b)
            if why:
                return why
            if field == "key" and a == "rsaEncryption 2048" and b == "id-ecPublicKey 256 P-256":
                return "ecdsa-default"
            if field == "signature" and a == "sha256WithRSAEncryption" and b == "ecdsa-with-SHA256":
                return "ecdsa-default"
            if (field == "key_usage" and name != "ca" and a[0] == b[0]
                    and set(a[1]) - set(b[1]) == {"Key Encipherment"} and set(b[1]) <= set(a[1])):
                return "ec-no-key-encipherment"
            return None
        seen = compare(cf, sw2, expected_default, "p256")
        for why in ("ecdsa-default", "ec-no-key-encipherment"):
            check(why in seen, "p256: documented difference '%s' still occurs" % why)
        for n, ca_cn in (("etcd", "etcd-ca"), ("flanneld", "etcd-ca"), ("admin", "kubernetes")):
            iss = x509fields.fields(os.path.join(sw2, n + ".pem"))["issuer"]
            check(iss.endswith("CN = " + ca_cn),
                  "p256: %s.pem is issued by %s (%s)" % (n, ca_cn, iss))
        check(os.path.exists(os.path.join(sw2, "etcd-ca.pem")), "p256: etcd-ca.pem written")
        verify_all(st2, sw2, "p256")

        # The document lists every difference id the test relies on.
        for why in ("ca-validity", "aki-always", "leaf-capped-by-ca", "ecdsa-default",
                    "ec-no-key-encipherment", "separate-cas", "no-ca-key-export"):
            check(re.search(r"\b%s\b" % re.escape(why), doc) is not None,
                  "docs/seed-compat.md explains '%s'" % why)

    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
