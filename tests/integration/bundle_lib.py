# SPDX-License-Identifier: Apache-2.0
"""Helpers shared by the bundle_* integration tests: a slipway state from an
inventory, rendered bundles, unit-file parsing, running a program with a
bundle's files at their real absolute paths (a private mount namespace:
/etc overlaid with the bundle's etc, /opt/k8s/bin holding stand-ins), and
a checker that reports every case and fails at the end."""
import base64
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

SLIPWAY = os.environ.get("SLIPWAY") or "slipway"
SRC = os.environ.get("SLW_SRC") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
DOUBLES = os.path.join(SRC, "tests", "k8sdouble", "bin")


class Checker:
    """Records each named check; exit status 1 if any failed."""

    def __init__(self, name):
        self.name = name
        self.failed = []
        self.count = 0

    def ok(self, cond, what, detail=""):
        self.count += 1
        if cond:
            print("ok   %s" % what)
        else:
            print("FAIL %s%s" % (what, (": " + detail) if detail else ""))
            self.failed.append(what)
        sys.stdout.flush()
        return cond

    def done(self):
        if self.failed:
            print("%s: %d of %d checks failed:" % (self.name, len(self.failed), self.count))
            for f in self.failed:
                print("  - " + f)
            return 1
        print("%s: all %d checks passed" % (self.name, self.count))
        return 0


def run(argv, check=False, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    r = subprocess.run(argv, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s%s" % (" ".join(argv), r.returncode, r.stdout, r.stderr))
    return r


class Cluster:
    """A slipway state made from an inventory text, in a temp dir."""

    def __init__(self, tmp, name, yaml_text, *init_args):
        self.tmp = tmp
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        self.state = os.path.join(self.dir, "state")
        self.yaml = os.path.join(self.dir, "cluster.yaml")
        with open(self.yaml, "w") as f:
            f.write(yaml_text)
        self.slipway("init", "--cluster", self.yaml, *init_args, check=True)
        self.bundles = {}

    def slipway(self, *args, check=False):
        return run([SLIPWAY, "--state", self.state] + list(args), check=check)

    def render(self, node, out=None):
        out = out or os.path.join(self.dir, "bundle-" + node)
        self.slipway("bundle", "render", "--node", node, "--out", out, check=True)
        self.bundles[node] = out
        return out

    def ca_pem(self, ca):
        """Trust bundle of one CA role, written to a file."""
        path = os.path.join(self.dir, "ca-%s.pem" % ca)
        if not os.path.exists(path):
            r = self.slipway("ca", "export", "--ca", ca, check=True)
            with open(path, "w") as f:
                f.write(r.stdout)
        return path


def files_of(root):
    """Every file of a rendered bundle, as absolute node paths."""
    out = []
    for d, _, fs in os.walk(root):
        for f in fs:
            out.append("/" + os.path.relpath(os.path.join(d, f), root))
    return sorted(out)


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def unit_exec(text, key="ExecStart"):
    """argv of a unit's ExecStart= (continuation lines joined)."""
    joined = re.sub(r"\\\n", " ", text)
    for line in joined.splitlines():
        if line.startswith(key + "="):
            return shlex.split(line[len(key) + 1:])
    raise ValueError("no %s= in unit" % key)


def unit_value(text, key):
    for line in text.splitlines():
        if line.startswith(key + "="):
            return line[len(key) + 1:]
    return None


def pem_blocks(text):
    return re.findall(r"-----BEGIN ([A-Z ]+)-----\n.*?-----END \1-----\n", text, re.S), \
        [m.group(0) for m in re.finditer(r"-----BEGIN ([A-Z ]+)-----\n.*?-----END \1-----\n", text, re.S)]


def kubeconfig_blobs(text):
    """{field: decoded text} of the *-data fields of a kubeconfig."""
    out = {}
    for m in re.finditer(r"^\s*([a-z-]+-data):\s*(\S+)\s*$", text, re.M):
        out.setdefault(m.group(1), base64.b64decode(m.group(2)).decode())
    return out


def have_namespaces():
    """Private mount namespaces with overlayfs and tmpfs (root)."""
    tmp = tempfile.mkdtemp(prefix="slw-ns-")
    try:
        for d in ("u", "w"):
            os.mkdir(os.path.join(tmp, d))
        script = ("mount -t overlay overlay -o lowerdir=/etc,upperdir=%s/u,workdir=%s/w /etc && "
                  "mount -t tmpfs tmpfs /opt" % (tmp, tmp))
        r = run(["unshare", "-m", "--propagation", "private", "sh", "-c", script])
        return r.returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class NodeView:
    """Runs programs as on the node: the bundle's /etc over the host's
    /etc (overlayfs, a private copy as upper layer), /opt/k8s/bin with
    stand-ins (name -> program), and extra bind mounts, all in a private
    mount namespace, so a unit's ExecStart runs exactly as rendered."""

    def __init__(self, bundle, workdir, bins=None, binds=None, lib_uppers=None):
        self.work = workdir
        os.makedirs(workdir, exist_ok=True)
        self.upper = os.path.join(workdir, "etc-upper")
        self.wk = os.path.join(workdir, "etc-work")
        if not os.path.exists(self.upper):
            shutil.copytree(os.path.join(bundle, "etc"), self.upper, symlinks=True)
            os.mkdir(self.wk)
        self.bins = bins or {}
        self.binds = binds or []
        # directories that may not exist on the host: overlay their parent
        self.lib_uppers = lib_uppers or []

    def script(self, cwd=None):
        s = ["set -e",
             "mount -t overlay overlay -o lowerdir=/etc,upperdir=%s,workdir=%s /etc" % (
                 shlex.quote(self.upper), shlex.quote(self.wk)),
             "mount -t tmpfs tmpfs /opt", "mkdir -p /opt/k8s/bin"]
        for name, target in sorted(self.bins.items()):
            s.append("ln -s %s /opt/k8s/bin/%s" % (shlex.quote(target), shlex.quote(name)))
        for parent, upper, wk in self.lib_uppers:
            s.append("mount -t overlay overlay -o lowerdir=%s,upperdir=%s,workdir=%s %s" % (
                shlex.quote(parent), shlex.quote(upper), shlex.quote(wk), shlex.quote(parent)))
        for src, dst in self.binds:
            s.append("mount --bind %s %s" % (shlex.quote(src), shlex.quote(dst)))
        if cwd:
            s.append("cd %s" % shlex.quote(cwd))
        s.append('exec "$@"')
        return "\n".join(s)

    def argv(self, argv, cwd=None):
        return ["unshare", "-m", "--propagation", "private", "sh", "-c", self.script(cwd), "sh"] + list(argv)

    def run(self, argv, cwd=None, env=None, timeout=120):
        return run(self.argv(argv, cwd), env=env, timeout=timeout)

    def popen(self, argv, cwd=None, log=None, env=None):
        out = open(log, "w") if log else subprocess.DEVNULL
        return subprocess.Popen(self.argv(argv, cwd), stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)


def openssl_verify(ca_file, cert_pem_text, purpose, tmp):
    path = os.path.join(tmp, "verify-%d.pem" % os.getpid())
    with open(path, "w") as f:
        f.write(cert_pem_text)
    r = run(["openssl", "verify", "-CAfile", ca_file, "-purpose", purpose, path])
    os.unlink(path)
    return r.returncode == 0 and r.stdout.strip().endswith(": OK"), (r.stdout + r.stderr).strip()


def pubkey_of_private(pem_text):
    r = run(["openssl", "pkey", "-pubout"], input=pem_text)
    return r.stdout if r.returncode == 0 else None


def pubkey_of_cert(pem_text):
    r = run(["openssl", "x509", "-noout", "-pubkey"], input=pem_text)
    return r.stdout if r.returncode == 0 else None
