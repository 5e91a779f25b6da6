# SPDX-License-Identifier: Apache-2.0
"""artifacts_lib.py: what the artifact tests build for themselves: a small
OCI image tarball (oci-layout, index.json with the image's name, a config,
a manifest and one gzip layer, every blob under its sha256), and the test
programs of a node as artifacts (each a file of its own, so each has its
own digest)."""
import gzip
import hashlib
import io
import json
import os
import tarfile
import time

SRC = os.environ.get("SLW_SRC") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
STANDIN = os.path.join(SRC, "tests", "integration", "rollout_standin.py")
K8SDOUBLE = os.path.join(SRC, "tests", "k8sdouble")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def _add(t, name, data, mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = mode
    ti.mtime = 1700000000
    t.addfile(ti, io.BytesIO(data))


def make_oci_image(path, ref):
    """An OCI image layout tarball named ref ("registry.k8s.io/pause:3.10.1")."""
    lbuf = io.BytesIO()
    with tarfile.open(fileobj=lbuf, mode="w") as lt:
        _add(lt, "pause", b"#!/bin/sh\nexec sleep infinity\n", 0o755)
    layer_tar = lbuf.getvalue()
    layer = gzip.compress(layer_tar, mtime=0)
    diff_id = "sha256:" + hashlib.sha256(layer_tar).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "config": {"Entrypoint": ["/pause"]},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}},
                        sort_keys=True).encode()

    def desc(media, data):
        return {"mediaType": media, "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
                "size": len(data)}
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": desc("application/vnd.oci.image.config.v1+json", config),
        "layers": [desc("application/vnd.oci.image.layer.v1.tar+gzip", layer)]},
        sort_keys=True).encode()
    md = desc("application/vnd.oci.image.manifest.v1+json", manifest)
    md["platform"] = {"architecture": "amd64", "os": "linux"}
    md["annotations"] = {"io.containerd.image.name": ref,
                         "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[1]}
    index = json.dumps({"schemaVersion": 2,
                        "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [md]}, sort_keys=True).encode()
    with tarfile.open(path, "w") as t:
        _add(t, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        _add(t, "index.json", index)
        for blob in (config, manifest, layer):
            _add(t, "blobs/sha256/" + hashlib.sha256(blob).hexdigest(), blob)
    return md["digest"]


def node_programs(work):
    """The programs a harness node runs, as files to import: name -> path.
    Test doubles and stand-ins (tests/k8sdouble, rollout_standin.py), each
    its own file (a comment names it, so no two share a digest), and
    Debian's real etcd and etcdctl."""
    out = {}
    os.makedirs(work, exist_ok=True)
    for c in ("kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"):
        p = os.path.join(work, c)
        open(p, "w").write("#!/usr/bin/python3\n# %s: tests/k8sdouble, served by slipway\n"
                           "import sys\nsys.path.insert(0, %r)\n"
                           "from k8sdouble.main import main\nsys.exit(main(%r))\n"
                           % (c, K8SDOUBLE, c))
        out[c] = p
    body = open(STANDIN).read()
    for c in ("kube-apiserver", "flanneld", "containerd", "runc", "ctr",
              "containerd-shim-runc-v2", "bridge", "host-local", "loopback", "portmap",
              "flannel"):
        p = os.path.join(work, c)
        open(p, "w").write(body + "\n# stand-in: %s\n" % c)
        out[c] = p
    for p in out.values():
        os.chmod(p, 0o755)
    out["etcd"] = "/usr/bin/etcd"
    out["etcdctl"] = "/usr/bin/etcdctl"
    return out
