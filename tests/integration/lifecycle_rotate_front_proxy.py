#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""lifecycle_rotate_front_proxy: `slipway ca rotate run --ca front-proxy` on
the rolled-out 3-node harness cluster (three apiserver doubles with
requestheader authentication: --requestheader-client-ca-file and the
proxy client certificate, both reloaded by the apiserver as it runs), while
on test1 a client makes front-proxy requests through the VIP with the
masters' own proxy client certificate and X-Remote-User (as an aggregating
proxy forwards a user), another calls every kubelet's API, and the doubles
count their requests: no front-proxy request and no component request
failed; every master's front-proxy-ca.pem held the old CA, both during the
overlap, then the new one alone; the proxy client certificate is of the new
generation afterwards; the doubles' flag check accepts kube-apiserver at
every state. Prints the counts and the wall time."""
import json
import sys

import k8s_lifecycle as K
import lifecycle_lib as LL
import rollout_lib as L


def fp_state(cl, node):
    """CNs of the certificates in front-proxy-ca.pem, and the issuer of the
    proxy client certificate."""
    r = cl.h.exec(node, ["sh", "-c",
                         "cd /etc/kubernetes/cert; openssl crl2pkcs7 -nocrl -certfile front-proxy-ca.pem "
                         "| openssl pkcs7 -print_certs -noout | sed -n 's/^subject=.*CN *= *//p' | sort "
                         "| tr '\\n' '+'; printf ' client-by='; openssl x509 -noout -issuer "
                         "-in front-proxy-client.pem | sed 's/.*CN *= *//'"])
    if r.returncode != 0:
        return None
    cas, _, by = r.stdout.strip().partition(" ")
    return "%s %s" % (cas.rstrip("+"), by)


def body(cl, c):
    st0 = json.loads(cl.slipway("--json", "ca", "rotate", "status", "--ca", "front-proxy",
                                check=True).stdout)
    c.need(st0["phase"] == "idle", "front-proxy CA idle before", json.dumps(st0))
    g0 = st0["activeGeneration"]
    checks = {}

    def sample(cl, node):
        v = fp_state(cl, node)
        if v is not None and (node, v) not in checks:
            checks[(node, v)] = K.unit_check(cl, node, "kube-apiserver")
        return v
    w = K.Watch(cl, sample)
    tr = K.Traffic(cl, "front-proxy")
    rc, out, err, secs = cl.run("ca", "rotate", "run", "--ca", "front-proxy")
    res = tr.finish()
    seen = w.finish()
    print("# ca rotate run --ca front-proxy: rc %d, %.1fs wall" % (rc, secs))
    c.need(rc == 0, "ca rotate run --ca front-proxy completes", err.strip())
    K.report(c, res, ("front-proxy", "kubelet-api"))
    g1 = json.loads(cl.slipway("--json", "ca", "rotate", "status", "--ca", "front-proxy",
                               check=True).stdout)["activeGeneration"]
    ok = True
    for n in L.NODES:
        print("# %s: %s" % (n, " -> ".join(seen[n])))
        cas = [s.split(" ")[0] for s in seen[n]]
        ok &= cas[0].count("+") == 0 and any(x.count("+") == 1 for x in cas) and \
            cas[-1].count("+") == 0 and ("gen%d" % g1) in cas[-1]
        ok &= ("client-by=" + cas[-1]) in seen[n][-1]
    c.ok(ok and g1 == g0 + 1, "every master: the old front-proxy CA, both, then the new one alone; "
         "the proxy client certificate of the new generation", json.dumps(seen))
    bad = ["%s %s: %s" % (n, k, why) for (n, k), (okc, why) in checks.items() if not okc]
    c.ok(not bad and len(checks) >= 6, "the doubles' flag check accepted kube-apiserver at every state "
         "(%d)" % len(checks), "; ".join(bad))


if __name__ == "__main__":
    sys.exit(LL.main("lifecycle_rotate_front_proxy", body))
