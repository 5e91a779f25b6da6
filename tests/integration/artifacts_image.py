#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""artifacts_image: a small OCI image built here (registry.k8s.io/pause:
3.10.1 by name) is imported into the appliance, and on a harness node
(systemd-nspawn, no route out) the bundle's install.sh brings Debian's
real containerd, ctr, shim and runc from the appliance, the rendered
containerd.service runs containerd with the rendered config (version 2:
the inventory names containerd 1.6, Debian's), and `install.sh --images`
imports the image into containerd's k8s.io namespace with
`ctr -n k8s.io images import`: the image in containerd is the one built
here (its manifest digest), and containerd itself (`containerd config
dump`) names it as the CRI sandbox image. Nothing is pulled."""
import json
import os
import re
import shutil
import subprocess
import sys

import artifacts_lib as A
import rollout_lib as L
from hostnet import Harness, HarnessError

PAUSE = "registry.k8s.io/pause:3.10.1"
DEB = {"containerd": "/usr/bin/containerd", "ctr": "/usr/bin/ctr",
       "containerd-shim-runc-v2": "/usr/bin/containerd-shim-runc-v2", "runc": "/usr/sbin/runc"}


def deb_version(path, args, pat):
    out = subprocess.run([path] + args, capture_output=True, text=True).stdout
    m = re.search(pat, out)
    return m.group(1) if m else None


def main():
    L.skip_unless_possible()
    for p in DEB.values():
        if not os.path.exists(p):
            print("# skipped: %s is not installed (scripts/setup.sh installs containerd)" % p)
            return 77
    c = L.Checks("artifacts_image")
    base = os.path.join(L.BUILD, "rollout-tests", "artifacts_image")
    hosts = os.path.join(base, "hosts")
    if os.path.isdir(hosts):
        try:
            Harness.attach(hosts).down()
        except HarnessError:
            pass
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    state = os.path.join(base, "state")
    serve = None
    h = None
    try:
        key = os.path.join(base, "key")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
        h = Harness(hosts, nodes=["test1"], subnet=L.SUBNET, authorized_keys=[key + ".pub"],
                    appliance=True)
        h.up()
        ctd = deb_version(DEB["containerd"], ["--version"], r" (\d+\.\d+\.\d+)")
        runc = deb_version(DEB["runc"], ["--version"], r"runc version (\d+\.\d+\.\d+)")
        inv = os.path.join(base, "cluster.yaml")
        open(inv, "w").write(
            "apiVersion: slipway/v1\nkind: Cluster\n"
            "cluster: { name: images, kubernetesVersion: v1.36.0 }\n"
            "bootstrap: { address: %s, port: 8443 }\n"
            "versions: { containerd: %s, runc: %s, pause: \"3.10.1\" }\n"
            "nodes:\n  - { name: test1, ip: %s, roles: [etcd, master, worker] }\n"
            % (h.appliance_ip, ctd, runc, h.ip("test1")))

        def slw(*args, check=True):
            p = subprocess.run([L.SLIPWAY, "--state", state] + list(args),
                               capture_output=True, text=True, timeout=120)
            if check and p.returncode != 0:
                raise HarnessError("slipway %s: %s" % (" ".join(args), p.stderr.strip()))
            return p
        slw("init", "--cluster", inv)

        # the appliance: Debian's containerd as the cluster's, and the image
        for name, path in DEB.items():
            slw("artifact", "import", path, "--sha256", A.sha256_file(path), "--name", name,
                "--version", runc if name == "runc" else ctd)
        tar = os.path.join(base, "pause-3.10.1.tar")
        manifest = A.make_oci_image(tar, PAUSE)
        p = slw("artifact", "import", tar, "--sha256", A.sha256_file(tar))
        c.ok("imported pause 3.10.1" in p.stdout,
             "the OCI image imported as pause 3.10.1 (its name from index.json)", p.stdout.strip())

        log = open(os.path.join(base, "serve.log"), "w")
        serve = h.popen("appliance", [L.SLIPWAY, "--state", state, "serve", "--no-approve",
                                      "--listen", "%s:8443" % h.appliance_ip],
                        stdout=log, stderr=subprocess.STDOUT)
        c.need(h.wait_tcp(h.appliance_ip, 8443, timeout=15), "slipway serve answers")

        # the node: its bundle, and through it containerd from the appliance
        one = json.loads(slw("--json", "token", "create", "--node", "test1").stdout)["command"]
        r = h.sh("test1", one)
        c.need(r.returncode == 0, "the one-liner: bundle unpacked, install.sh ran",
               (r.stdout + r.stderr).strip()[-400:])
        got = {n: h.exec("test1", ["sha256sum", "/opt/k8s/bin/" + n]).stdout.split()[:1]
               for n in DEB}
        c.ok(all(got[n] == [A.sha256_file(p)] for n, p in DEB.items()),
             "containerd, ctr, the shim and runc came from the appliance (sha256)")
        cfg = h.read_file("test1", "/etc/containerd/config.toml")
        c.ok("version = 2\n" in cfg and ('sandbox_image = "%s"' % PAUSE) in cfg,
             "the rendered config: version 2 (containerd %s), sandbox_image %s" % (ctd, PAUSE))
        # overlayfs snapshots cannot live on the node's overlay root
        h.sh("test1", "mkdir -p /var/lib/containerd && mount -t tmpfs tmpfs /var/lib/containerd",
             check=True)
        r = h.sh("test1", "systemctl start containerd && systemctl is-active containerd")
        c.need(r.returncode == 0, "the rendered containerd.service runs Debian's containerd",
               (r.stdout + r.stderr).strip() + " | " +
               h.exec("test1", ["journalctl", "-u", "containerd", "-n", "20", "--no-pager"]).stdout)
        r = h.sh("test1", "/etc/slipway/install.sh --images")
        c.ok(r.returncode == 0 and ("pause: imported %s into containerd" % PAUSE) in r.stdout,
             "install.sh --images fetched the image and imported it (ctr -n k8s.io images import)",
             (r.stdout + r.stderr).strip()[-400:])
        r = h.exec("test1", ["/opt/k8s/bin/ctr", "-n", "k8s.io", "images", "ls"])
        row = [l for l in r.stdout.splitlines() if l.startswith(PAUSE + " ")]
        c.ok(row and manifest in row[0],
             "containerd's k8s.io namespace holds %s with the manifest built here (%s)"
             % (PAUSE, manifest[:19]), r.stdout.strip())
        r = h.exec("test1", ["/opt/k8s/bin/containerd", "--config",
                             "/etc/containerd/config.toml", "config", "dump"])
        c.ok(('sandbox_image = "%s"' % PAUSE) in r.stdout,
             "containerd config dump: the CRI sandbox image is %s" % PAUSE,
             (r.stderr.strip() or "no sandbox_image line")[-300:])
        cached = h.exec("test1", ["sh", "-c", "sha256sum /var/lib/slipway/images/*.tar"]).stdout
        c.ok(A.sha256_file(tar) in cached, "the image tarball on the node is the artifact")
        r = h.sh("test1", "/etc/slipway/install.sh --images")
        c.ok(r.returncode == 0, "install.sh --images again: idempotent")
    except (HarnessError, subprocess.SubprocessError, OSError, KeyError) as e:
        c.ok(False, "test ran to the end", "%s: %s" % (type(e).__name__, e))
    except L.Abort as e:
        print("# stopped: %s failed and the rest depends on it" % e)
    finally:
        if h is not None:
            try:
                h.exec("test1", ["umount", "/var/lib/containerd"])
            except Exception:  # noqa: BLE001 (teardown)
                pass
        if serve is not None and serve.poll() is None:
            serve.terminate()
            try:
                serve.wait(10)
            except subprocess.TimeoutExpired:
                serve.kill()
        if h is not None:
            try:
                h.down()
            except HarnessError as e:
                print("# harness down: %s" % e)
    return c.done()


if __name__ == "__main__":
    sys.exit(main())
