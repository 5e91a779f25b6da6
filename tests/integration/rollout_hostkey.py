#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""rollout_hostkey: host keys are checked before anything runs. A node whose
host key changed (harness rekey) against its inventory pin is refused with a
clear error and nothing is run on it, even with --accept-new-host-keys; a
node without a pin is refused unless --accept-new-host-keys, which records
its key on first contact (audited); a recorded key that changes later is
refused the same way. Nothing runs on a refused host: no command in the
journal, no file changed on the node."""
import sys

import rollout_lib as L


def fingerprint(env, line):
    r = env.h.exec("appliance", ["sh", "-c", "ssh-keygen -l -f /dev/stdin | awk '{print $2}'"],
                   input=line + "\n")
    return r.stdout.strip()


def body(env, c):
    # prepare fetches each node's bundle (its certificate, its binaries)
    env.start_serve()
    # test1 and test2 pinned in the inventory, test3 not.
    old2 = env.h.hostkey("test2", "ecdsa")
    env.h.rekey("test2")
    new2 = env.h.hostkey("test2", "ecdsa")
    c.need(old2 != new2, "harness rekey gave test2 new host keys")
    env.h.exec("test3", ["mv", "/opt/k8s/bin/kubelet", "/opt/k8s/bin/kubelet.away"], check=True)

    # Run A: no --accept-new-host-keys.
    rc, out, err, _ = env.rollout("--phase", "prepare")
    c.ok(rc != 0, "run A fails")
    st = env.status()
    s1, _ = env.node_state(st, "prepare", "test1")
    s2, why2 = env.node_state(st, "prepare", "test2")
    s3, why3 = env.node_state(st, "prepare", "test3")
    c.ok(s1 == "done", "test1 (pin matches) prepared", s1)
    c.ok(s2 == "failed" and "does not match its pin" in why2 and "(pinned in the inventory)" in why2
         and "nothing was run on test2" in why2 and fingerprint(env, new2) in why2,
         "test2: changed host key refused, the offered fingerprint named", why2)
    c.ok(s3 == "failed" and "no pinned host key" in why3 and "--accept-new-host-keys" in why3,
         "test3: no pin and no --accept-new-host-keys: refused", why3)
    log = env.log()
    c.ok(not [e for e in log if e["node"] in ("test2", "test3")],
         "the journal has no command for test2 or test3")
    c.ok(all(env.h.exec(n, ["test", "-e", "/etc/sysctl.d/kubernetes.conf"]).returncode != 0
             for n in ("test2", "test3")) and
         env.h.exec("test1", ["test", "-e", "/etc/sysctl.d/kubernetes.conf"]).returncode == 0,
         "nothing changed on test2 and test3 (the kernel step's file is only on test1)")

    # Run B: with --accept-new-host-keys.
    rc, out, err, _ = env.rollout("--phase", "prepare", "--accept-new-host-keys")
    c.ok(rc != 0, "run B fails (test2 still refused, test3 misses kubelet)")
    st = env.status()
    s2, why2 = env.node_state(st, "prepare", "test2")
    c.ok(s2 == "failed" and "does not match its pin" in why2,
         "--accept-new-host-keys never overrides a pin that does not match", why2)
    acc = [e for e in env.audit() if e.get("action") == "ssh.hostkey.accept"]
    fp3 = fingerprint(env, env.h.hostkey("test3", "ecdsa"))
    c.ok(len(acc) == 1 and acc[0]["object"] == "test3" and fp3 in acc[0]["detail"],
         "test3's host key recorded on first contact, in the audit log",
         "; ".join("%s: %s" % (e["object"], e["detail"]) for e in acc))
    s3, why3 = env.node_state(st, "prepare", "test3")
    c.ok(s3 == "failed" and "missing" in why3 and "kubelet" in why3,
         "test3 was reached: prepare reports the missing binary", why3)
    runb = max(e["run"] for e in env.log())
    c.ok(not [e for e in env.log() if e["node"] == "test2"],
         "still no command for test2 in the journal")

    # Run C: test3's recorded key changes.
    env.h.rekey("test3")
    env.h.exec("test3", ["mv", "/opt/k8s/bin/kubelet.away", "/opt/k8s/bin/kubelet"], check=True)
    rc, out, err, _ = env.rollout("--phase", "prepare", "--accept-new-host-keys")
    st = env.status()
    s3, why3 = env.node_state(st, "prepare", "test3")
    c.ok(rc != 0 and s3 == "failed" and "does not match its pin" in why3 and
         "recorded on first contact" in why3,
         "test3: a changed recorded key is refused", why3)
    c.ok(not [e for e in env.log() if e["node"] == "test3" and e["run"] > runb],
         "no command ran on test3 after its key changed")
    acc = [e for e in env.audit() if e.get("action") == "ssh.hostkey.accept"]
    c.ok(len(acc) == 1, "the recorded key was not replaced", str(len(acc)))
    c.ok("stopped at the prepare gate, nothing after it was started" in err and err.count("\n") == 1,
         "one clear line on stderr", err.strip())


if __name__ == "__main__":
    sys.exit(L.main("rollout_hostkey", body))
