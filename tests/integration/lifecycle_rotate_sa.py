#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""lifecycle_rotate_sa: `slipway ca rotate run --ca service-account` on the
rolled-out 3-node harness cluster (three apiserver doubles: JWTs signed by
--service-account-signing-key-file, verified by every key of
--service-account-key-file, both read only at start), while a client on
test1 authenticates through the VIP with a token signed by the old key and
the k8sdouble components count their requests:

- the run switches to the new key and stops at the wait for the longest
  token (security.serviceAccountTokenMaxAge after the switch), saying
  until when; `ca rotate status --ca service-account` says so too;
- every master went sa.pub [old] -> [old, new] (old signs) -> [old, new]
  (new signs), the doubles' flag check accepting every state; sa.key of
  the controller-manager switched with it;
- the old token kept working throughout (0 failures), a token of the new
  key works on every master, no component request failed;
- `--force` drops the old key now: sa.pub [new] on every master, the old
  token is refused (401) on every master, the new one still works.
Prints the counts and the wall time."""
import json
import sys
import time

import k8s_lifecycle as K
import lifecycle_lib as LL
import rollout_lib as L


def pubkeys(cl, node):
    """The public keys of a master's sa.pub (short fingerprints, in order)
    and the key sa.key signs with."""
    r = cl.h.exec(node, ["sh", "-c",
                         "awk '/BEGIN PUBLIC KEY/{n++} {print > \"/run/sapub.\" n}' "
                         "/etc/kubernetes/cert/sa.pub; for f in /run/sapub.[0-9]*; do "
                         "sha256sum < $f | cut -c1-8; done; rm -f /run/sapub.*; "
                         "openssl pkey -in /etc/kubernetes/cert/sa.key -pubout | sha256sum | cut -c1-8"])
    if r.returncode != 0:
        return None
    v = r.stdout.split()
    return "%s signs:%s" % (",".join(v[:-1]), v[-1]) if v else None


def token(cl, sa="probe", seconds=3600):
    body = json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                       "spec": {"expirationSeconds": seconds}})
    rc, out, err = K.kubectl(cl, "create", "--raw",
                             "/api/v1/namespaces/rotation/serviceaccounts/%s/token" % sa, "-f", "-",
                             input=body)
    if rc != 0:
        raise ValueError("TokenRequest: %s" % err.strip())
    return json.loads(out)["status"]["token"]


def who(cl, node, tok):
    """A SelfSubjectReview with tok on one master directly: HTTP status."""
    r = cl.h.exec("test1", ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                            "--cacert", "/etc/kubernetes/cert/ca.pem", "-H", "Authorization: Bearer " + tok,
                            "-H", "Content-Type: application/json", "-X", "POST", "--data",
                            '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}',
                            "https://%s:6443/apis/authentication.k8s.io/v1/selfsubjectreviews" % cl.h.ip(node)])
    return r.stdout.strip()


def body(cl, c):
    rc, out, err = K.kubectl(cl, "create", "namespace", "rotation")
    c.need(rc == 0 or "AlreadyExists" in err, "namespace rotation", err.strip())
    rc, out, err = K.kubectl(cl, "-n", "rotation", "create", "serviceaccount", "probe")
    c.need(rc == 0 or "AlreadyExists" in err, "service account rotation/probe", err.strip())
    t_old = token(cl)
    cl.h.sh("test1", "umask 077; cat > /run/sa-token", input=t_old, check=True)
    c.need(all(who(cl, n, t_old) == "201" for n in L.NODES),
           "a token of the old key works on every master before")
    p = cl.slipway("ca", "rotate", "run", "--ca", "service-account", "--plan")
    c.ok(p.returncode == 0 and all(s in p.stdout for s in ("stage begin", "stage both", "stage advance",
                                                            "stage switch", "stage wait", "stage finish",
                                                            "stage new-only", "restart:kube-apiserver",
                                                            "restart:kube-controller-manager")),
         "--plan lists the stages, the deliveries and the restarts", p.stderr.strip())

    seen_checks = {}

    def sample(cl, node):
        k = pubkeys(cl, node)
        if k is not None and (node, k) not in seen_checks:
            seen_checks[(node, k)] = (K.unit_check(cl, node, "kube-apiserver"),
                                      K.unit_check(cl, node, "kube-controller-manager"))
        return k
    w = K.Watch(cl, sample)
    tr = K.Traffic(cl, "sa", token="/run/sa-token")
    rc, out, err, secs = cl.run("ca", "rotate", "run", "--ca", "service-account")
    res = tr.finish()
    seen = w.finish()
    print("# ca rotate run --ca service-account: rc %d, %.1fs wall, stopped: %s" % (rc, secs, err.strip()))
    c.need(rc != 0 and "may live until" in err and "--force" in err,
           "the run stops at the wait for the longest token and says until when", err.strip())
    st = json.loads(cl.slipway("--json", "ca", "rotate", "status", "--ca", "service-account",
                               check=True).stdout)
    txt = cl.slipway("ca", "rotate", "status", "--ca", "service-account").stdout
    c.ok(st.get("phase") == "advanced" and st.get("dropAfter") and "dropped after" in txt,
         "ca rotate status says when the old key is dropped", txt.strip())
    K.report(c, res, ("sa-token", "front-proxy", "kubelet-api"))
    for n in L.NODES:
        print("# %s: sa.pub / sa.key seen %s" % (n, " -> ".join(seen[n])))
    ok = True
    for n, states in seen.items():
        # sa.pub and sa.key are two files, each replaced by a rename: a
        # sample may fall between the two (extra states in the list); what
        # must hold is the order of the three states and that at every
        # sample the signing key is one of the keys that verify
        st = [(x.split(" signs:")[0].split(","), x.split(" signs:")[1]) for x in states
              if " signs:" in x]
        ok &= len(st) == len(states) and all(sig in pubs for pubs, sig in st)
        if not st or len(st[0][0]) != 1:
            ok = False
            continue
        old = st[0][0][0]
        ok &= st[0][1] == old                                        # [old], old signs
        want = [lambda p, g: p == [old] and g == old,
                lambda p, g: len(p) == 2 and p[0] == old and g == old,     # [old, new], old signs
                lambda p, g: len(p) == 2 and p[1] == old and g == p[0]]    # [new, old], new signs
        i = 0
        for p, g in st:
            if i < len(want) and want[i](p, g):
                i += 1
        ok &= i == len(want)
    c.ok(ok, "every master: [old] -> [old, new], old signs -> new signs (listed first); the signing "
         "key verifiable at every sample", json.dumps(seen))
    bad = ["%s %s: %s" % (n, k, why) for (n, k), ((a, why), (b, why2)) in seen_checks.items()
           if not (a and b)]
    c.ok(not bad and len(seen_checks) >= 9, "the doubles' flag check accepted kube-apiserver and "
         "kube-controller-manager at every state (%d)" % len(seen_checks), "; ".join(bad))
    t_new = token(cl)
    c.ok(all(who(cl, n, t_new) == "201" for n in L.NODES), "a token of the new key works on every master")
    c.ok(all(who(cl, n, t_old) == "201" for n in L.NODES),
         "the old key's token still works on every master until the drop")

    rc, out, err, secs = cl.run("ca", "rotate", "run", "--ca", "service-account", "--force")
    print("# ca rotate run --ca service-account --force: rc %d, %.1fs wall" % (rc, secs))
    c.need(rc == 0, "with --force the run drops the old key and completes", err.strip())
    final = {n: pubkeys(cl, n) for n in L.NODES}
    c.ok(all(v and len(v.split(" signs:")[0].split(",")) == 1 for v in final.values()),
         "every master's sa.pub holds the new key alone", json.dumps(final))
    c.ok(all(who(cl, n, t_old) == "401" for n in L.NODES),
         "after the drop the old key's token is refused (401) on every master",
         str([who(cl, n, t_old) for n in L.NODES]))
    c.ok(all(who(cl, n, t_new) == "201" for n in L.NODES), "the new key's token still works")
    st = json.loads(cl.slipway("--json", "ca", "rotate", "status", "--ca", "service-account",
                               check=True).stdout)
    c.ok(st.get("phase") == "idle", "the service-account key is idle again", json.dumps(st))
    bad = K.all_units_check(cl)
    c.ok(not bad, "the doubles' flag check accepts every Kubernetes unit after the rotation",
         "; ".join(bad))


if __name__ == "__main__":
    sys.exit(LL.main("lifecycle_rotate_sa", body))
