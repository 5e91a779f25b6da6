#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""artifacts_import: `slipway artifact import|list|remove|manifest` with
real Debian-packaged binaries standing in for upstream ones (etcd from
etcd-server, containerd and runc, kubectl): each imported with its digest
and stored byte for byte under its SHA-256; release tarballs (an etcd and a
containerd release built from those binaries) checked against sha256sum-
and sha512sum-format checksums files, only their binaries kept; a file
whose digest differs, a truncated copy, a checksums file that does not list
the file, a good tarball imported together with a truncated one: refused,
nothing stored (no record, no file, no temporary, no audit entry); a
second import is a no-op; remove; the manifest and `status` follow the
inventory's versions."""
import hashlib
import json
import os
import shutil
import subprocess
import tarfile

import endpoint_common as E

DEB = {  # binary: (path, version as Debian's package builds it)
    "etcd": ("/usr/bin/etcd", "3.4.23"),
    "etcdctl": ("/usr/bin/etcdctl", "3.4.23"),
    "containerd": ("/usr/bin/containerd", "1.6.20"),
    "ctr": ("/usr/bin/ctr", "1.6.20"),
    "containerd-shim-runc-v2": ("/usr/bin/containerd-shim-runc-v2", "1.6.20"),
    "runc": ("/usr/sbin/runc", "1.1.5"),
    "kubectl": ("/usr/bin/kubectl", None),
}


def sha(path, alg="sha256"):
    h = hashlib.new(alg)
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def main():
    for b, (p, _) in DEB.items():
        if not os.path.exists(p):
            print("# skipped: %s is not installed (scripts/setup.sh)" % p)
            raise SystemExit(77)
    kv = subprocess.run(["kubectl", "version", "--client"], capture_output=True,
                        text=True).stdout
    kver = kv.split("Client Version:")[1].split()[0].split("-")[0] if "Client Version:" in kv else "v1.32.0"
    st = E.State(extra="versions: { etcd: 3.4.23, containerd: 1.6.20, runc: 1.1.5 }\n")
    art = os.path.join(st.dir, "artifacts")
    work = os.path.join(st.tmp, "in")
    os.makedirs(work)

    def run(*a, **k):
        return st.run(*a, check_rc=False, **k)

    def listing():
        return {a["sha256"]: a for a in json.loads(run("--json", "artifact", "list").stdout)}

    def files():
        return sorted(os.listdir(art)) if os.path.isdir(art) else []

    def audits():
        return [e for e in json.loads(run("--json", "audit", "list").stdout)
                if e["action"].startswith("artifact.")]

    # -- plain files with --sha256
    for name, ver in (("etcd", "3.4.23"), ("containerd", "1.6.20"), ("runc", "1.1.5"),
                      ("kubectl", kver)):
        path = DEB[name][0]
        d = sha(path)
        p = run("artifact", "import", path, "--sha256", d, "--version", ver, "--name", name)
        E.check(p.returncode == 0 and ("imported %s" % name) in p.stdout,
                "%s (%s) imported with its sha256: %s" % (name, path, (p.stdout + p.stderr).strip()))
        a = listing().get(d)
        E.check(a is not None and a["name"] == name and a["size"] == os.path.getsize(path)
                and a["version"].lstrip("v") == ver.lstrip("v") and a["kind"] == "binary",
                "%s recorded: name, version, size, kind" % name)
        stored = os.path.join(art, d)
        E.check(os.path.exists(stored) and sha(stored) == d and
                (os.stat(stored).st_mode & 0o777) == 0o444,
                "%s stored as STATE/artifacts/<sha256>, byte for byte, 0444" % name)
    E.check((os.stat(art).st_mode & 0o777) == 0o711, "STATE/artifacts is 0711")
    E.check(len([e for e in audits() if e["action"] == "artifact.import"]) == 4,
            "four artifact.import audit entries")

    # -- a release tarball and a sha256sum-format checksums file
    rel = os.path.join(work, "etcd-v3.4.23-linux-amd64.tar.gz")
    with tarfile.open(rel, "w:gz", compresslevel=1) as t:
        for b in ("etcd", "etcdctl"):
            t.add(DEB[b][0], arcname="etcd-v3.4.23-linux-amd64/" + b)
        t.add("/etc/hostname", arcname="etcd-v3.4.23-linux-amd64/README.md")
    sums = os.path.join(work, "SHA256SUMS")
    with open(sums, "w") as f:
        f.write("%s  etcd-v3.4.23-linux-arm64.tar.gz\n" % ("0" * 64))
        f.write("%s  etcd-v3.4.23-linux-amd64.tar.gz\n" % sha(rel))
    p = run("artifact", "import", rel, "--checksums", sums)
    lst = listing()
    E.check(p.returncode == 0 and "imported etcdctl 3.4.23" in p.stdout and
            "already imported: etcd 3.4.23" in p.stdout,
            "etcd release tarball checked against SHA256SUMS: etcdctl new, etcd already there: "
            + (p.stdout + p.stderr).strip().replace("\n", " | "))
    E.check(sha(DEB["etcdctl"][0]) in lst and lst[sha(DEB["etcdctl"][0])]["origin"] ==
            os.path.basename(rel) and lst[sha(DEB["etcdctl"][0])]["originDigest"] ==
            "sha256:" + sha(rel), "etcdctl's record names the tarball and its verified digest")
    E.check(not any(a["name"] == "README.md" for a in lst.values()) and
            sha(rel) not in files(), "only the binaries were kept (no README, no tarball)")

    # -- a containerd release, sha512sum format (binary-mode lines)
    crel = os.path.join(work, "containerd-1.6.20-linux-amd64.tar.gz")
    with tarfile.open(crel, "w:gz", compresslevel=1) as t:
        for b in ("containerd", "ctr", "containerd-shim-runc-v2"):
            t.add(DEB[b][0], arcname="bin/" + b)
    csums = crel + ".sha512sum"
    with open(csums, "w") as f:
        f.write("%s *containerd-1.6.20-linux-amd64.tar.gz\n" % sha(crel, "sha512"))
    p = run("--json", "artifact", "import", crel, "--checksums", csums)
    got = {a["name"]: a for a in json.loads(p.stdout or "[]")}
    E.check(p.returncode == 0 and set(got) == {"containerd", "ctr", "containerd-shim-runc-v2"}
            and all(got[b]["sha256"] == sha(DEB[b][0]) for b in got) and
            got["ctr"]["originDigest"] == "sha512:" + sha(crel, "sha512"),
            "containerd release checked against a sha512sum file: containerd, ctr and the "
            "shim, each under its own sha256")

    # -- refusals: nothing changes
    before = (listing(), files(), len(audits()))

    def refused(p, what, code=1):
        after = (listing(), files(), len(audits()))
        E.check(p.returncode == code and p.stderr.count("\n") == 1 and p.stdout == "",
                "%s: exit %d, one line: %s" % (what, p.returncode, p.stderr.strip()))
        E.check(after == before and not [f for f in files() if f.startswith(".tmp")],
                "%s: no record, no file, no temporary, no audit entry" % what)

    bad = os.path.join(work, "runc")
    data = bytearray(open(DEB["runc"][0], "rb").read())
    data[len(data) // 2] ^= 0xff
    open(bad, "wb").write(data)
    refused(run("artifact", "import", bad, "--sha256", sha(DEB["runc"][0]), "--version", "1.1.5"),
            "a runc whose digest differs from the one given")
    trunc = os.path.join(work, "t", os.path.basename(rel))
    os.makedirs(os.path.dirname(trunc))
    with open(rel, "rb") as f:
        open(trunc, "wb").write(f.read(os.path.getsize(rel) // 2))
    refused(run("artifact", "import", trunc, "--checksums", sums),
            "a truncated copy of the etcd tarball (its SHA256SUMS line)")
    other = os.path.join(work, "OTHER_SUMS")
    with open(other, "w") as f:
        f.write("%s  etcd-v3.4.23-linux-arm64.tar.gz\n" % sha(rel))
    refused(run("artifact", "import", rel, "--checksums", other),
            "a checksums file that does not list the file")
    garbage = os.path.join(work, "GARBAGE")
    open(garbage, "w").write("this is not a checksums file\n")
    refused(run("artifact", "import", rel, "--checksums", garbage),
            "a checksums file that is not one")
    # several files: one that does not match keeps the others out too
    frel = os.path.join(work, "t", "flannel-v0.26.1-linux-amd64.tar.gz")
    with tarfile.open(frel, "w:gz", compresslevel=1) as t:
        t.add("/usr/bin/true", arcname="flanneld")
    sums2 = os.path.join(work, "t", "SHA256SUMS")
    with open(sums2, "w") as f:
        f.write("%s  flannel-v0.26.1-linux-amd64.tar.gz\n" % sha(frel))
        f.write("%s  etcd-v3.4.23-linux-amd64.tar.gz\n" % sha(rel))
    refused(run("artifact", "import", frel, trunc, "--checksums", sums2),
            "a good flannel tarball with a truncated etcd one in one import")
    refused(run("artifact", "import", rel, "--checksums", sums, "--sha256", sha(rel)),
            "--sha256 and --checksums together", code=2)
    refused(run("artifact", "import", "/etc/hostname", "--sha256", sha("/etc/hostname")),
            "a file that is not a binary slipway delivers")
    refused(run("artifact", "import", DEB["runc"][0], "--sha256", sha(DEB["runc"][0]),
                "--name", "runc"), "a binary whose version nobody said")
    refused(run("artifact", "import", DEB["runc"][0], "--sha256", sha(DEB["runc"][0]),
                "--name", "runc", "--version", "1.2.0"),
            "the same bytes again as another version")

    # -- a second import changes nothing
    p = run("artifact", "import", DEB["etcd"][0], "--sha256", sha(DEB["etcd"][0]),
            "--version", "3.4.23")
    E.check(p.returncode == 0 and "already imported: etcd" in p.stdout and
            (listing(), files(), len(audits())) == before,
            "re-import: exit 0, 'already imported', nothing written")

    # -- manifest and status follow the inventory's versions
    m = json.loads(run("--json", "artifact", "manifest").stdout)
    have = {a["name"]: a for a in m["artifacts"]}
    E.check(have["etcd"]["sha256"] == sha(DEB["etcd"][0]) and have["etcd"]["version"] == "3.4.23"
            and have["runc"]["sha256"] == sha(DEB["runc"][0]) and have["kubelet"]["sha256"] is None
            and have["kubelet"]["file"] == "kubernetes-server-linux-amd64.tar.gz",
            "manifest: etcd and runc stored at the inventory's versions, kubelet missing "
            "(from kubernetes-server-linux-amd64.tar.gz)")
    txt = run("artifact", "manifest").stdout
    E.check("etcd 3.4.23: etcd-v3.4.23-linux-amd64.tar.gz" in txt and
            "checksums: SHA256SUMS" in txt and "pause 3.10.1: pause-3.10.1.tar" in txt,
            "manifest (text) names the upstream files and checksums files")
    stj = json.loads(run("--json", "status").stdout)["artifacts"]
    miss = {e["name"] for e in stj["missing"]}
    E.check("kubelet" in miss and "pause" in miss and "etcd" not in miss and
            "containerd" not in miss and stj["stored"] == len(listing()),
            "status lists what the inventory still lacks: %s" % sorted(miss))

    # -- the good tarball refused above was refused for its companion only
    p = run("artifact", "import", frel, "--checksums", sums2)
    E.check(p.returncode == 0 and "imported flanneld 0.26.1" in p.stdout,
            "the flannel tarball alone: imported (%s)" % (p.stdout + p.stderr).strip())

    # -- remove
    d = sha(DEB["kubectl"][0])
    p = run("artifact", "remove", d)
    E.check(p.returncode == 0 and d not in listing() and d not in files() and
            audits()[-1]["action"] == "artifact.remove",
            "remove: record, file gone; audited")
    p = run("artifact", "remove", d)
    E.check(p.returncode == 1 and "no artifact" in p.stderr, "remove of an unknown digest: refused")
    E.done()


if __name__ == "__main__":
    main()
