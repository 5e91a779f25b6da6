#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""lifecycle_key_encryption: `slipway key rotate encryption` on the
rolled-out 3-node harness cluster (three apiserver doubles sharing etcd,
each encrypting Secrets at rest per its EncryptionConfiguration), while a
client on test1 reads the Secrets of a namespace through the VIP, another
uses the front-proxy and kubelet paths, and the k8sdouble components count
their requests: the rotation completes; every master's encryption config
went [old] -> [old, new] -> [new, old] -> [new], and at every state the
doubles' flag check accepts every master's kube-apiserver unit; no read of
a Secret, no component request failed (three rounds of apiserver
restarts); afterwards every Secret in etcd is under the new key, each of
the test's Secrets was written exactly once more (etcd's version + 1), and
its data is unchanged. Prints the counts and the wall time."""
import json
import re
import sys
import time

import k8s_lifecycle as K
import lifecycle_lib as LL

N_SECRETS = 20


def keys_of(cl, node):
    """The key names of a master's encryption config, in order."""
    r = cl.h.exec(node, ["sh", "-c", "sed -n 's/^ *- name: \\(key[0-9]*\\)$/\\1/p' "
                         "/etc/kubernetes/encryption-config.yaml"])
    return ",".join(r.stdout.split()) if r.returncode == 0 else None


def body(cl, c):
    rc, out, err = K.kubectl(cl, "create", "namespace", "rotation")
    c.need(rc == 0 or "AlreadyExists" in err, "namespace rotation", err.strip())
    for i in range(N_SECRETS):
        rc, out, err = K.kubectl(cl, "-n", "rotation", "create", "secret", "generic", "s%02d" % i,
                                 "--from-literal=v=value-%02d" % i)
        if rc != 0 and "AlreadyExists" not in err:
            c.need(False, "Secret s%02d created" % i, err.strip())
    before = {}
    for i in range(N_SECRETS):
        before[i] = K.etcd_get(cl, "/registry/secrets/rotation/s%02d" % i)
    k0 = set(K.enc_key_of(v) for v, _ in before.values())
    c.need(len(k0) == 1 and None not in k0, "the test's Secrets are encrypted at rest under one key",
           str(k0))
    old = k0.pop()
    print("# before: Secrets under %s; masters %s" % (old, {n: keys_of(cl, n) for n in ("test1", "test2",
                                                                                          "test3")}))
    p = cl.slipway("key", "rotate", "encryption", "--plan")
    c.ok(p.returncode == 0 and all(s in p.stdout for s in ("stage begin", "stage both", "stage advance",
                                                            "stage switch", "stage rewrite",
                                                            "stage finish", "stage new-only",
                                                            "verify:keys")),
         "--plan lists the stages", p.stderr.strip())

    # the client copies the admin kubeconfig to read Secrets as a user would
    cl.h.sh("test1", "cat > /run/rotation-admin.kubeconfig", input=open(cl.admin_kubeconfig()).read(),
            check=True)
    seen_checks = {}

    def sample(cl, node):
        k = keys_of(cl, node)
        if k is not None and (node, k) not in seen_checks:
            seen_checks[(node, k)] = K.unit_check(cl, node, "kube-apiserver")
        return k
    w = K.Watch(cl, sample)
    tr = K.Traffic(cl, "encryption", kubeconfig="/run/rotation-admin.kubeconfig")
    rc, out, err, secs = cl.run("key", "rotate", "encryption")
    res = tr.finish()
    seen = w.finish()
    print("# key rotate encryption: rc %d, %.1fs wall" % (rc, secs))
    c.need(rc == 0, "key rotate encryption completes", err.strip() or "%.1fs" % secs)
    K.report(c, res, ("secrets", "front-proxy", "kubelet-api"))

    m = re.search(r"(\d+) Secrets read and replaced", out)
    print("# rewrite: %s" % (m.group(0) if m else "no count in the output"))
    for n in ("test1", "test2", "test3"):
        print("# %s: encryption keys seen %s" % (n, " -> ".join(seen[n])))
    ok = True
    for n, states in seen.items():
        names = [s.split(",") for s in states]
        # [a] -> [a,b] -> [b,a] -> [b]
        if not (len(names) == 4 and len(names[0]) == 1 and names[1] == [names[0][0], names[1][1]] and
                names[2] == [names[1][1], names[0][0]] and names[3] == [names[1][1]]):
            ok = False
    c.ok(ok, "every master went [old] -> [old, new] -> [new, old] -> [new]", json.dumps(seen))
    bad = ["%s %s: %s" % (n, k, why) for (n, k), (okc, why) in seen_checks.items() if not okc]
    c.ok(not bad and len(seen_checks) >= 12, "the doubles' flag check accepted kube-apiserver at every "
         "state of every master (%d states)" % len(seen_checks), "; ".join(bad))

    new = "secretbox:" + seen["test1"][-1]
    after = {i: K.etcd_get(cl, "/registry/secrets/rotation/s%02d" % i) for i in range(N_SECRETS)}
    under = set(K.enc_key_of(v) for v, _ in after.values())
    c.ok(under == {new}, "every test Secret is under the new key in etcd (%s)" % new, str(under))
    once = [i for i in range(N_SECRETS) if after[i][1] != before[i][1] + 1]
    c.ok(not once, "each test Secret was written exactly once (etcd version + 1)",
         str([(i, before[i][1], after[i][1]) for i in once]))
    rc, out, err = K.kubectl(cl, "-n", "rotation", "get", "secrets", "-o", "json")
    data = {}
    if rc == 0:
        import base64
        for it in json.loads(out)["items"]:
            data[it["metadata"]["name"]] = base64.b64decode(it["data"]["v"]).decode()
    c.ok(all(data.get("s%02d" % i) == "value-%02d" % i for i in range(N_SECRETS)),
         "the Secrets' data is unchanged (read through the API)", err.strip())
    r = cl.h.exec("test1", K.ETCDCTL + ["--endpoints=https://%s:2379" % cl.h.ip("test1"), "get",
                                        "/registry/secrets/", "--prefix", "--keys-only"])
    allkeys = [k for k in r.stdout.split() if k.startswith("/registry/secrets/")]
    stray = [k for k in allkeys if K.enc_key_of(K.etcd_get(cl, k)[0]) != new]
    c.ok(allkeys and not stray, "every Secret of the cluster (%d) is under the new key" % len(allkeys),
         str(stray[:5]))
    bad = K.all_units_check(cl)
    c.ok(not bad, "the doubles' flag check accepts every Kubernetes unit after the rotation",
         "; ".join(bad))


if __name__ == "__main__":
    sys.exit(LL.main("lifecycle_key_encryption", body))
