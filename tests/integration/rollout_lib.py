# SPDX-License-Identifier: Apache-2.0
"""Shared set-up of the rollout integration tests (rollout_*.py): the seed's
3-node topology (test1-3, each etcd + master + worker) on harness hosts
(tests/harness), a slipway state initialised with an inventory for the
harness subnet, the appliance's SSH key authorised on the nodes, the
programs under /opt/k8s/bin, `slipway serve` in the appliance namespace,
and helpers to run `slipway rollout ...` and read its journal.

What goes into /opt/k8s/bin on each node (the test's "package install"):
  etcd, etcdctl            Debian's etcd-server/etcd-client binaries (real)
  kube-controller-manager, kube-scheduler, kubelet, kube-proxy
                           tests/k8sdouble launchers (test doubles)
  kube-apiserver           rollout_standin.py wrapping the k8sdouble apiserver
                           (on every master; the doubles share etcd)
  flanneld, containerd     rollout_standin.py stand-ins (no Debian packages)
  runc, ctr, containerd-shim-runc-v2, and in /opt/cni/bin bridge,
  host-local, loopback, portmap, flannel
                           rollout_standin.py stand-ins that tell their
                           version (the binaries step checks every one)
The inventory names Debian's etcd version (versions: etcd); the stand-ins
and doubles report the versions the inventory implies for the rest
(written into /opt/k8s/bin/.standin.json from `slipway artifact manifest`).
haproxy and keepalived are Debian's, from the host, as on a node where the
packages are installed but not enabled.

Each check prints "ok N - name" or "not ok N - name: why"; a failed check
does not stop the others unless the test cannot go on. Exit 0 only if all
passed; 77 (skip) if not root or the harness cannot run here.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

SRC = os.environ.get("SLW_SRC") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SLW_BUILD") or os.path.join(SRC, "build")
SLIPWAY = os.environ.get("SLIPWAY") or os.path.join(BUILD, "appliance", "slipway")
sys.path.insert(0, os.path.join(SRC, "tests", "harness"))
from hostnet import Harness, HarnessError  # noqa: E402

NODES = ["test1", "test2", "test3"]
SUBNET = "10.77.0.0/24"
VIP = "10.77.0.100"
STANDIN = os.path.join(SRC, "tests", "integration", "rollout_standin.py")
DOUBLES = os.path.join(SRC, "tests", "k8sdouble", "bin")
TOKEN_RE = re.compile(r"[0-9a-f]{16}\.[0-9a-f]{40}")
# where the doubles on the nodes write their request/failure counts
STATS_DIR = "/run/k8sdouble-stats"


def etcd_version():
    """The version of Debian's etcd (etcd --version: "etcd Version: 3.4.23")."""
    out = subprocess.run(["/usr/bin/etcd", "--version"], capture_output=True,
                         text=True).stdout
    m = re.search(r"etcd Version: (\S+)", out)
    return m.group(1) if m else "3.4.23"


class Checks:
    def __init__(self, name):
        self.name = name
        self.n = 0
        self.failed = []
        self.t0 = time.time()

    def ok(self, cond, name, why=""):
        self.n += 1
        if cond:
            print("ok %d - %s%s" % (self.n, name, (" (%s)" % why) if why else ""), flush=True)
        else:
            print("not ok %d - %s%s" % (self.n, name, (": " + why) if why else ""), flush=True)
            self.failed.append(name)
        return cond

    def need(self, cond, name, why=""):
        """A check the rest of the test depends on."""
        if not self.ok(cond, name, why):
            raise Abort(name)

    def done(self):
        print("1..%d" % self.n)
        print("# %s: %d checks, %d failed, %.1fs" % (self.name, self.n, len(self.failed),
                                                     time.time() - self.t0))
        for f in self.failed:
            print("# FAILED: %s" % f)
        return 1 if self.failed else 0


class Abort(Exception):
    pass


def wait_until(pred, timeout, step=0.2):
    """pred() until it is true or timeout seconds passed; its last value."""
    end = time.time() + timeout
    while True:
        v = pred()
        if v or time.time() >= end:
            return v
        time.sleep(step)


def skip_unless_possible():
    if os.geteuid() != 0:
        print("# skipped: needs root (network namespaces, systemd-nspawn)")
        sys.exit(77)
    for tool in ("systemd-nspawn", "nsenter", "ssh-keygen", "haproxy", "keepalived", "etcd",
                 "strace"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            print("# skipped: %s is not installed (scripts/setup.sh)" % tool)
            sys.exit(77)


class Env:
    """One test's world: harness hosts, a slipway state, serve."""

    def __init__(self, name, pins=None, keep=False):
        self.name = name
        self.dir = os.path.join(BUILD, "rollout-tests", name)
        self.state = os.path.join(self.dir, "state")
        self.hosts = os.path.join(self.dir, "hosts")
        self.pins = pins if pins is not None else {"test1": "ed25519", "test2": "ecdsa"}
        # hosts booted and prepared like the others but not in the
        # inventory (a node inventory apply adds later)
        self.spare = ()
        self.h = None
        self.serve = None
        self.approver = None
        self.logs = []

    # -- set-up

    def up(self, install=True):
        if os.path.isdir(self.hosts):
            try:
                Harness.attach(self.hosts).down()
            except HarnessError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        key = os.path.join(self.dir, "harness_key")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "harness",
                        "-f", key], check=True)
        # The nodes run the stand-ins and k8sdouble launchers from the source
        # tree: they see it (and the build tree) read-only at the same path,
        # wherever the checkout is (their own /tmp and /var/tmp start empty).
        self.h = Harness(self.hosts, nodes=NODES + list(self.spare), subnet=SUBNET,
                         authorized_keys=[key + ".pub"], appliance=True,
                         binds=sorted({os.path.realpath(SRC), os.path.realpath(BUILD)}))
        self.h.up()
        self.app_ip = self.h.appliance_ip
        self.write_inventory()
        self.slipway("init", "--cluster", self.inventory, check=True)
        man = json.loads(self.slipway("--json", "artifact", "manifest", check=True).stdout)
        self.versions = {a["name"]: a["version"] for a in man["artifacts"]}
        pub = self.slipway("ssh", "pubkey", check=True).stdout.strip()
        for n in NODES + list(self.spare):
            self.h.sh(n, "cat >> /root/.ssh/authorized_keys", input=pub + "\n", check=True)
        if install:
            for n in NODES + list(self.spare):
                self.install(n)
        return self

    def write_inventory(self):
        with open(os.path.join(SRC, "examples", "seed-cluster.yaml")) as f:
            y = f.read()
        y = y.replace("vip: 192.168.0.235", "vip: " + VIP)
        y = y.replace("address: 127.0.0.1", "address: " + self.app_ip)
        lines = []
        for n in NODES:
            pin = ""
            if n in self.pins:
                pin = ", ssh: { hostKey: \"%s\" }" % " ".join(self.h.hostkey(n, self.pins[n]).split()[:2])
            lines.append("  - { name: %s, ip: %s, roles: [etcd, master, worker]%s }"
                         % (n, self.h.ip(n), pin))
        y = re.sub(r"(?ms)^nodes:\n.*\Z", "nodes:\n" + "\n".join(lines) + "\n", y)
        # Debian's etcd, not the one kubernetesVersion implies
        y += "versions: { etcd: %s }\n" % etcd_version()
        self.inventory = os.path.join(self.dir, "cluster.yaml")
        with open(self.inventory, "w") as f:
            f.write(y)

    def install(self, n):
        """The programs the nodes need under /opt/k8s/bin (see the module doc)."""
        conf = self.standin_conf(n)
        script = (
            "set -e; mkdir -p /opt/k8s/bin /opt/cni/bin; cd /opt/k8s/bin\n"
            "install -m 0755 /usr/bin/etcd /usr/bin/etcdctl .\n"
            "for c in kube-controller-manager kube-scheduler kubelet kube-proxy; do "
            "ln -sf %(d)s/$c $c; done\n"
            "for c in kube-apiserver flanneld containerd runc ctr containerd-shim-runc-v2; do "
            "install -m 0755 %(s)s $c; done\n"
            "for c in bridge host-local loopback portmap flannel; do "
            "install -m 0755 %(s)s /opt/cni/bin/$c; done\n"
            "cat > .standin.json\n"
            # the doubles count their requests to the apiserver and the failed
            # ones (tests/k8sdouble README); a drop-in is not a bundle file
            "mkdir -p %(st)s && chmod 1777 %(st)s\n"
            "for u in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do\n"
            "  mkdir -p /etc/systemd/system/$u.service.d\n"
            "  printf '[Service]\\nEnvironment=K8SDOUBLE_STATS_DIR=%(st)s\\n' "
            "> /etc/systemd/system/$u.service.d/k8sdouble-stats.conf\n"
            "done\n" % {"d": DOUBLES, "s": STANDIN, "st": STATS_DIR})
        self.h.sh(n, script, input=conf, check=True)

    def standin_conf(self, n, versions=None):
        """.standin.json for node n: the apiserver wrapper's double, and
        the version each stand-in reports (the inventory's unless given)."""
        return json.dumps({"double": os.path.join(DOUBLES, "kube-apiserver"),
                           "versions": dict(self.versions, **(versions or {}))})

    def start_serve(self):
        log = open(os.path.join(self.dir, "serve.log"), "w")
        self.logs.append(log)
        self.serve = self.h.popen("appliance", [SLIPWAY, "--state", self.state, "serve",
                                                "--listen", "%s:8443" % self.app_ip],
                                  stdout=log, stderr=subprocess.STDOUT)
        if not self.h.wait_tcp(self.app_ip, 8443, timeout=15):
            raise HarnessError("slipway serve did not come up (see %s)" % log.name)
        # The CSR approver runs inside serve once it is built in; until then
        # (older trees) the test runs `slipway approve` beside it.
        helptext = subprocess.run([SLIPWAY, "serve", "--help"], capture_output=True,
                                  text=True).stdout
        if "approv" not in helptext.lower():
            alog = open(os.path.join(self.dir, "approve.log"), "w")
            self.logs.append(alog)
            self.approver = self.h.popen("appliance", [SLIPWAY, "--state", self.state,
                                                       "approve"],
                                         stdout=alog, stderr=subprocess.STDOUT)

    def down(self):
        for p in (self.approver, self.serve):
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        if self.h is not None:
            if os.environ.get("ROLLOUT_KEEP") == "1":
                print("# ROLLOUT_KEEP=1: hosts left up; hostnet.py down --state %s" % self.hosts)
            else:
                try:
                    self.h.down()
                except HarnessError as e:
                    print("# harness down: %s" % e)
        for f in self.logs:
            f.close()

    # -- running slipway

    def slipway(self, *args, check=False, timeout=120, ns=None):
        argv = [SLIPWAY, "--state", self.state] + list(args)
        if ns is not None:
            argv = self.h.exec_argv(ns, argv)
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise HarnessError("slipway %s: exit %d: %s" % (" ".join(args), p.returncode,
                                                            p.stderr.strip()))
        return p

    def rollout(self, *args, timeout=600, trace_exec=None):
        """`slipway rollout run ARGS` from the appliance namespace; progress
        lines go to this test's output (indented) and to rollout-N.log.
        With trace_exec=PATH, under `strace -f` writing every execve of
        slipway and of any process or thread it starts to PATH (execs())."""
        argv = [SLIPWAY, "--state", self.state, "rollout", "run"] + list(args)
        if trace_exec is not None:
            argv = ["strace", "-f", "-qq", "--seccomp-bpf", "-e", "signal=none",
                    "-e", "trace=execve,execveat", "-o", trace_exec] + argv
        argv = self.h.exec_argv("appliance", argv)
        t0 = time.time()
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out = []
        for line in p.stdout:
            out.append(line)
            print("    | " + line.rstrip(), flush=True)
        err = p.stderr.read()
        rc = p.wait(timeout)
        for line in err.splitlines():
            print("    ! " + line, flush=True)
        return rc, "".join(out), err, time.time() - t0

    @staticmethod
    def execs(trace):
        """The execve/execveat calls in a trace_exec file: [(pid, program)]."""
        out = []
        with open(trace) as f:
            for line in f:
                m = re.match(r"(\d+)\s+(execve|execveat)\((?:\d+, )?\"([^\"]*)\"", line)
                if m:
                    out.append((int(m.group(1)), m.group(3)))
        return out

    def rollout_popen(self, *args):
        argv = self.h.exec_argv("appliance", [SLIPWAY, "--state", self.state, "rollout",
                                              "run"] + list(args))
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def status(self):
        return json.loads(self.slipway("--json", "rollout", "status", check=True).stdout)

    def log(self, output=False):
        args = ["--json", "rollout", "log"] + (["--output"] if output else [])
        return json.loads(self.slipway(*args, check=True).stdout)

    def audit(self):
        return json.loads(self.slipway("--json", "audit", "list", check=True).stdout)

    # -- reading the state

    @staticmethod
    def phase(st, name):
        for p in st["phases"]:
            if p["phase"] == name:
                return p
        raise KeyError(name)

    @staticmethod
    def node_state(st, phase, node):
        for n in Env.phase(st, phase)["nodes"]:
            if n["node"] == node:
                return n["state"], n.get("reason", "")
        return None, ""

    def vip_holders(self):
        out = []
        for n in NODES:
            r = self.h.exec(n, ["ip", "-o", "addr", "show"])
            if (" %s/" % VIP) in r.stdout:
                out.append(n)
        return out

    def admin_kubeconfig(self):
        path = os.path.join(self.dir, "admin.kubeconfig")
        if not os.path.exists(path):
            self.slipway("kubeconfig", "admin", "--out", path, check=True)
        return path

    def readyz(self, timeout=5):
        """GET https://VIP:8443/readyz from the appliance with the admin cert."""
        r = self.h.exec("appliance", ["kubectl", "--kubeconfig", self.admin_kubeconfig(),
                                      "--request-timeout", "%ds" % timeout, "get",
                                      "--raw", "/readyz"], timeout=timeout + 10)
        return r.returncode == 0 and r.stdout.strip() == "ok", (r.stdout + r.stderr).strip()

    def readyz_wait(self, timeout):
        end = time.time() + timeout
        while True:
            ok, why = self.readyz()
            if ok or time.time() >= end:
                return ok, why
            time.sleep(0.5)

    def unit_active(self, node, unit):
        return self.h.exec(node, ["systemctl", "is-active", unit]).stdout.strip()


def main(name, body, pins=None, install=True):
    """Runs body(env, checks) with set-up and guaranteed teardown;
    install=False leaves /opt/k8s/bin to the test (rollout_artifacts)."""
    skip_unless_possible()
    c = Checks(name)
    env = Env(name, pins=pins)
    stop = {"sig": None}

    def on_signal(signum, frame):
        stop["sig"] = signum
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        env.up(install=install)
        body(env, c)
    except Abort as e:
        print("# stopped: %s failed and the rest depends on it" % e)
    except (HarnessError, subprocess.SubprocessError, OSError, ValueError, KeyError) as e:
        c.ok(False, "test ran to the end", "%s: %s" % (type(e).__name__, e))
    except KeyboardInterrupt:
        c.ok(False, "test ran to the end", "interrupted by signal %s" % stop["sig"])
    finally:
        if c.failed and env.h is not None:
            try:
                env.h.save_diagnostics(os.path.join(env.dir, "diag"))
                print("# node journals and logs: %s" % os.path.join(env.dir, "diag"))
            except Exception as e:  # noqa: BLE001 (diagnostics only)
                print("# diagnostics: %s" % e)
        env.down()
    return c.done()
