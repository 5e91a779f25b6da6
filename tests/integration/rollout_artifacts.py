#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""rollout_artifacts: an air-gapped rollout. The harness nodes start with
an empty /opt/k8s/bin and /opt/cni/bin; every program they run (Debian's
etcd and etcdctl, the k8sdouble components and the rollout stand-ins, each
its own file) and a pause image built here are imported into the
appliance (`slipway artifact import`, --sha256) and reach the nodes only
from it: the bundle's install.sh fetches them over the pinned endpoint
with each node's certificate. A stand-in that reports a wrong version
stops prepare at the binaries step with one line naming it; after the fix
(and a binary tampered with on that node meanwhile) the run resumes,
install.sh replaces the tampered file, and the cluster comes up as in
rollout_full: every phase done, etcd a 3-member cluster, /readyz and every
Node Ready through the VIP; every file on every node is the artifact by
its sha256; containerd got the pause image from the appliance and its
config names it as the sandbox image."""
import json
import os
import sys

import artifacts_lib as A
import rollout_lib as L

PAUSE = "registry.k8s.io/pause:3.10.1"


def standin_conf(env, n, wrong=None):
    """/etc/slipway-standin.json: the apiserver wrapper's peers and the
    versions the stand-ins report (config, not a binary: /opt/k8s/bin
    stays the appliance's)."""
    env.h.sh(n, "cat > /etc/slipway-standin.json", input=env.standin_conf(n, wrong),
             check=True)


def body(env, c):
    for n in L.NODES:
        env.h.sh(n, "rm -rf /opt/k8s/bin /opt/cni/bin", check=True)
    c.ok(all(env.h.exec(n, ["sh", "-c", "ls /opt/k8s/bin /opt/cni/bin 2>/dev/null | wc -l"]
                        ).stdout.strip() == "0" for n in L.NODES),
         "test1-3 start without /opt/k8s/bin and /opt/cni/bin")

    # the appliance gets everything, each checked against its digest
    work = os.path.join(env.dir, "artifacts")
    progs = A.node_programs(work)
    pause = os.path.join(work, "pause-3.10.1.tar")
    A.make_oci_image(pause, PAUSE)
    digests = {}
    bad = []
    for name, path in sorted(progs.items()):
        d = A.sha256_file(path)
        p = env.slipway("artifact", "import", path, "--sha256", d, "--name", name,
                        "--version", env.versions[name])
        if p.returncode != 0:
            bad.append("%s: %s" % (name, p.stderr.strip()))
        digests[name] = d
    d = A.sha256_file(pause)
    p = env.slipway("artifact", "import", pause, "--sha256", d)
    if p.returncode != 0:
        bad.append("pause: " + p.stderr.strip())
    digests["pause"] = d
    c.need(not bad, "every program and the pause image imported (%d)" % len(digests),
           "; ".join(bad))
    st = json.loads(env.slipway("--json", "status", check=True).stdout)["artifacts"]
    c.ok(st["missing"] == [], "status: the inventory lacks no artifact",
         str([m["name"] for m in st["missing"]]))

    # test3's runc claims another version; test1, test2 are right
    for n in L.NODES:
        standin_conf(env, n, {"runc": "1.2.0"} if n == "test3" else None)
    env.start_serve()
    rc, out, err, secs = env.rollout("--phase", "prepare", "--accept-new-host-keys",
                                     "--parallel", "3")
    want = ("binaries: exit 1: wrong version: runc: /opt/k8s/bin/runc reports 1.2.0, "
            "the inventory wants %s" % env.versions["runc"])
    s3, why3 = env.node_state(env.status(), "prepare", "test3")
    c.ok(rc != 0 and s3 == "failed" and why3 == want,
         "prepare stops at test3's binaries step, one line: " + why3)
    c.ok(err.count("\n") == 1 and "test3" in err and "runc" in err,
         "one line on stderr", err.strip())
    c.ok(all(env.node_state(env.status(), "prepare", n)[0] == "done" for n in ("test1", "test2")),
         "test1 and test2 prepared from the appliance alone")

    # fixed; meanwhile someone changed kubelet on test3
    standin_conf(env, "test3")
    env.h.sh("test3", "echo '# changed' >> /opt/k8s/bin/kubelet", check=True)
    rc, out, err, secs = env.rollout("--accept-new-host-keys", "--parallel", "3")
    c.need(rc == 0, "the run resumes and completes", "%.1fs" % secs if rc == 0 else err.strip())
    rerun = [e for e in env.log(output=True) if e["node"] == "test3" and
             e["step"] == "binaries" and e.get("exit") == 0]
    c.ok(rerun and "kubelet: installed /opt/k8s/bin/kubelet" in rerun[-1].get("output", ""),
         "install.sh (binaries step) replaced test3's changed kubelet with the artifact")

    # every file on every node is the artifact, by its sha256
    wrong = []
    for n in L.NODES:
        for name, d in digests.items():
            if name == "pause":
                continue
            dirn = "/opt/cni/bin" if name in ("bridge", "host-local", "loopback", "portmap",
                                             "flannel") else "/opt/k8s/bin"
            r = env.h.exec(n, ["sha256sum", "%s/%s" % (dirn, name)])
            if r.returncode != 0 or r.stdout.split()[0] != d:
                wrong.append("%s:%s/%s" % (n, dirn, name))
    c.ok(not wrong, "every binary on test1-3 is its artifact (sha256)", str(wrong))

    # the cluster, as in rollout_full
    stj = env.status()
    bad = ["%s/%s: %s" % (ph["phase"], n["node"], n["state"]) for ph in stj["phases"]
           for n in ph["nodes"] if n["state"] != "done"]
    c.ok(not bad and all(ph["gate"]["state"] == "passed" for ph in stj["phases"]),
         "rollout status: every phase and node done, every gate passed", "; ".join(bad))
    eps = ",".join("https://%s:2379" % env.h.ip(n) for n in L.NODES)
    r = env.h.exec("test1", ["/opt/k8s/bin/etcdctl", "--endpoints=" + eps,
                             "--cacert=/etc/etcd/cert/ca.pem",
                             "--cert=/etc/etcd/cert/etcd-client.pem",
                             "--key=/etc/etcd/cert/etcd-client-key.pem",
                             "member", "list", "-w", "json"])
    names = sorted(m.get("name") for m in json.loads(r.stdout or "{}").get("members", []))
    c.ok(names == L.NODES, "etcd (the appliance's etcd) is a 3-member cluster", str(names))
    ok, why = env.readyz()
    c.ok(ok, "/readyz through the VIP", why)
    r = env.h.exec("appliance", ["kubectl", "--kubeconfig", env.admin_kubeconfig(), "get",
                                 "nodes", "-o", "json"])
    ready = sorted(it["metadata"]["name"] for it in json.loads(r.stdout or '{"items": []}')["items"]
                   if any(x["type"] == "Ready" and x["status"] == "True"
                          for x in it["status"].get("conditions", [])))
    c.ok(ready == L.NODES, "test1-3 Ready through the VIP", str(ready))

    # the pause image: from the appliance into containerd, named as the sandbox
    imgs = {n: env.h.exec(n, ["/opt/k8s/bin/ctr", "-n", "k8s.io", "images", "ls", "-q"]
                          ).stdout.split() for n in L.NODES}
    cfg = {n: env.h.read_file(n, "/etc/containerd/config.toml") for n in L.NODES}
    c.ok(all(PAUSE in imgs[n] for n in L.NODES) and
         all(('sandbox = "%s"' % PAUSE) in cfg[n] for n in L.NODES),
         "containerd on test1-3 imported %s from the appliance; its config names it "
         "the sandbox image" % PAUSE, str(imgs))
    cached = env.h.exec("test1", ["sha256sum", "/var/lib/slipway/images/%s.tar"
                                  % digests["pause"]]).stdout.split()
    c.ok(cached and cached[0] == digests["pause"], "the image tarball on the node is the artifact")
    dl = [e for e in env.log(output=True) if e["step"] == "containerd" and e.get("exit") == 0]
    c.ok(len(dl) == 3 and all("pause: imported %s" % PAUSE in e.get("output", "") for e in dl),
         "the containerd step imported it on each node (install.sh --images)")


if __name__ == "__main__":
    sys.exit(L.main("rollout_artifacts", body, install=False))
