#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# hostnet: real test hosts on one machine for slipway's rollout tests.
# Each node is a systemd-nspawn container running the real systemd (and a real
# sshd) on a per-node overlay of the host's root, in its own network namespace
# joined to a bridge that lives in a namespace of the harness. It must never
# touch the host's interfaces, leave a mount in the host's namespace, or leave
# anything running after `down`.
"""Real test hosts: network namespaces + bridge, nspawn + systemd + sshd.

CLI:   hostnet.py up|down|status|exec|hostkey|rekey|partition|heal ...
API:   with Harness(state, nodes=[...], authorized_keys=[...]) as h: ...

See README.md beside this file.
"""

import argparse
import ctypes
import hashlib
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000

STATE_FILE = "hostnet.json"
CGROUP_TOP = "slipway-harness"
NODE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_SUBNET = "10.77.0.0/24"
DEFAULT_NODES = ("test1", "test2", "test3")
KEY_TYPES = ("ed25519", "ecdsa", "rsa")

_libc = ctypes.CDLL(None, use_errno=True)


class HarnessError(Exception):
    """A harness operation failed; the message says which and why."""


# ---------------------------------------------------------------- helpers

def _run(argv, check=True, timeout=30, **kw):
    """Run a host command; on failure raise HarnessError naming it."""
    try:
        p = subprocess.run(argv, stdin=kw.pop("stdin", subprocess.DEVNULL),
                           capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise HarnessError("timed out after %ss: %s" % (timeout, " ".join(argv)))
    if check and p.returncode != 0:
        raise HarnessError("%s: exit %d: %s" % (" ".join(argv), p.returncode,
                                                (p.stderr or p.stdout).strip()))
    return p


def _unshare(flags):
    if _libc.unshare(flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "unshare: " + os.strerror(e))


def _setns(path, nstype):
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, nstype) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns %s: %s" % (path, os.strerror(e)))
    finally:
        os.close(fd)


def in_netns(nspath, fn, *args):
    """Call fn(*args) in a short-lived thread that has joined the network
    namespace at nspath (network namespaces are per thread), return its
    result or raise its exception."""
    box = {}

    def run():
        try:
            _setns(nspath, CLONE_NEWNET)
            box["v"] = fn(*args)
        except BaseException as e:  # handed to the caller
            box["e"] = e
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join()
    if "e" in box:
        raise box["e"]
    return box.get("v")


def _tcp_open(host, port, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError as e:
            last = e
            time.sleep(0.1)
    raise HarnessError("%s:%d not reachable within %ss (%s)" % (host, port, timeout, last))


def _proc_state(pid):
    """'R', 'S', 'Z', ... or None when the pid is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _alive(pid):
    s = _proc_state(pid)
    return s is not None and s not in ("Z", "X")


def _wait_until(pred, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


def _ancestors():
    out, pid = set(), os.getpid()
    while pid > 1:
        out.add(pid)
        try:
            with open("/proc/%d/stat" % pid) as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return out


# ---------------------------------------------------------------- cgroups

def cgroup_roots():
    """Mount points of the cgroup hierarchies nspawn needs: the cgroup2 one
    and, on a hybrid host, the v1 name=systemd one."""
    v2 = v1 = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            sep = parts.index("-")
            fstype, mnt, opts = parts[sep + 1], parts[4], parts[sep + 3]
            if fstype == "cgroup2" and v2 is None:
                v2 = mnt
            elif fstype == "cgroup" and "name=systemd" in opts.split(",") and v1 is None:
                v1 = mnt
    if v2 is None:
        raise HarnessError("no cgroup2 hierarchy is mounted; nspawn nodes need one")
    return [r for r in (v2, v1) if r]


def _cg_pids(path):
    pids = []
    for d, _, _ in os.walk(path):
        try:
            with open(os.path.join(d, "cgroup.procs")) as f:
                pids += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return pids


def _cg_kill(path):
    """SIGKILL everything in a cgroup2 subtree (cgroup.kill, else one by one)."""
    if not os.path.isdir(path):
        return
    try:
        with open(os.path.join(path, "cgroup.kill"), "w") as f:
            f.write("1")
        return
    except OSError:
        pass
    for pid in _cg_pids(path):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _cg_rmtree(path):
    """rmdir a cgroup subtree bottom-up; True when it is gone."""
    if not os.path.isdir(path):
        return True
    for d, _, _ in sorted(os.walk(path), key=lambda t: -t[0].count("/")):
        try:
            os.rmdir(d)
        except FileNotFoundError:
            pass
        except OSError:
            return False
    return not os.path.isdir(path)


# ---------------------------------------------------------------- netns

def list_netns():
    try:
        return sorted(os.listdir("/run/netns"))
    except FileNotFoundError:
        return []


def netns_pids(name):
    p = _run(["ip", "netns", "pids", name], check=False)
    return [int(x) for x in p.stdout.split()] if p.returncode == 0 else []


# ---------------------------------------------------------------- the harness

class Harness:
    """A set of test hosts. Use as a context manager, or call up()/down().

    state            directory for the harness's own files (created)
    nodes            node names; node i (0-based) gets host address .11+i
    subnet           IPv4 network for the bridge (/24 or larger)
    authorized_keys  public keys (file paths or key lines) for root@node
    appliance        also make the "appliance" namespace (address .10)
    prefix           namespace/cgroup prefix (default: from the state path)
    host_key_types   sshd host key types to generate (ed25519 first)
    lower            directory the node overlays are made over (host root)
    """

    def __init__(self, state, nodes=DEFAULT_NODES, subnet=DEFAULT_SUBNET,
                 authorized_keys=(), appliance=True, prefix=None,
                 host_key_types=("ed25519", "ecdsa"), lower="/", binds=()):
        self.state = os.path.abspath(state)
        self.nodes = list(nodes)
        self.subnet = str(ipaddress.ip_network(subnet))
        self.authorized_keys = list(authorized_keys)
        self.appliance = appliance
        self.prefix = prefix or ("slwh" + hashlib.sha256(
            self.state.encode()).hexdigest()[:8])
        self.host_key_types = list(host_key_types)
        self.lower = lower
        # Host directories every node sees read-only at the same path (a
        # source tree under /tmp, which nodes otherwise see empty).
        self.binds = [os.path.realpath(b) for b in binds]
        self.info = {}          # node -> {"ip", "netns", "port", "nspawn", "init"}
        self._procs = {}        # node -> Popen of systemd-nspawn (owner only)
        self._old_signals = {}
        self._flags = {"ready": False, "keeper": False}
        self.timings = {}

    # -- construction from a running state directory

    @classmethod
    def attach(cls, state):
        """A handle on harness hosts brought up by another process."""
        path = os.path.join(os.path.abspath(state), STATE_FILE)
        try:
            with open(path) as f:
                st = json.load(f)
        except FileNotFoundError:
            raise HarnessError("no harness state in %s (run `hostnet.py up` first)" % state)
        h = cls(state, nodes=st["nodes"], subnet=st["subnet"],
                appliance=st["appliance"] is not None, prefix=st["prefix"],
                host_key_types=st["host_key_types"], lower=st["lower"],
                binds=st.get("binds", ()))
        h.info = st["info"]
        h._st = st
        return h

    # -- names and addresses

    def _validate(self):
        net = ipaddress.ip_network(self.subnet)
        if net.version != 4 or net.prefixlen > 24:
            raise HarnessError("subnet must be an IPv4 /24 or larger: %s" % self.subnet)
        if not self.nodes or len(set(self.nodes)) != len(self.nodes):
            raise HarnessError("node names must be given and distinct")
        for n in self.nodes:
            if (not n or len(n) > 40 or n in ("appliance", "bridge")
                    or not all(c.isalnum() or c == "-" for c in n)):
                raise HarnessError("bad node name %r (letters, digits, '-', not "
                                   "'appliance' or 'bridge')" % n)
        if len(self.prefix) > 20 or not all(c.isalnum() for c in self.prefix):
            raise HarnessError("prefix must be 1-20 letters or digits: %r" % self.prefix)
        if not self.authorized_keys:
            raise HarnessError("at least one authorized key is needed for root@node")
        for t in self.host_key_types:
            if t not in KEY_TYPES:
                raise HarnessError("host key type %r not in %s" % (t, KEY_TYPES))
        if 11 + len(self.nodes) >= net.num_addresses - 1:
            raise HarnessError("subnet %s too small for %d nodes" % (net, len(self.nodes)))
        for b in self.binds:
            if not os.path.isdir(b) or b == "/" or any(c in b for c in ":,\n"):
                raise HarnessError("bind %r: must be an existing directory other "
                                   "than / without ':' or ','" % b)

    def _addr(self, host):
        return str(ipaddress.ip_network(self.subnet).network_address + host)

    def ip(self, node):
        """The node's address ('appliance' gives the appliance's)."""
        if node == "appliance":
            return self.appliance_ip
        return self._addr(11 + self.nodes.index(node))

    @property
    def appliance_ip(self):
        return self._addr(10) if self.appliance else None

    @property
    def prefixlen(self):
        return ipaddress.ip_network(self.subnet).prefixlen

    def netns(self, node):
        """Name of the network namespace of a node, 'appliance' or 'bridge'."""
        if node == "bridge":
            return self.prefix + "-br"
        if node == "appliance":
            return self.prefix + "-app"
        self._node(node)
        return self.prefix + "-" + node

    def _node(self, node):
        if node not in self.nodes:
            raise HarnessError("no node %r (nodes: %s)" % (node, ", ".join(self.nodes)))
        return node

    def _port(self, node):
        return "app" if node == "appliance" else "n%d" % self.nodes.index(node)

    def _cg(self, root, node=None):
        p = os.path.join(root, CGROUP_TOP, self.prefix)
        return os.path.join(p, node) if node else p

    def _nodedir(self, node):
        return os.path.join(self.state, "nodes", node)

    # -- state file

    def _save(self, **extra):
        st = {"prefix": self.prefix, "nodes": self.nodes, "subnet": self.subnet,
              "appliance": self.appliance_ip, "host_key_types": self.host_key_types,
              "lower": self.lower, "binds": self.binds, "info": self.info,
              "owner_pid": os.getpid()}
        self._flags.update(extra)
        st.update(self._flags)
        tmp = os.path.join(self.state, STATE_FILE + ".tmp")
        with open(tmp, "w") as f:
            json.dump(st, f, indent=1)
        os.replace(tmp, os.path.join(self.state, STATE_FILE))

    # -- up

    def up(self, timeout=60):
        """Make the network, boot every node, wait until sshd answers."""
        self._validate()
        for tool in ("ip", "systemd-nspawn", "nsenter", "ssh-keygen", "mount"):
            if shutil.which(tool) is None:
                raise HarnessError("%s not found: run scripts/setup.sh" % tool)
        if os.geteuid() != 0:
            raise HarnessError("the harness needs root")
        os.makedirs(self.state, exist_ok=True)
        old = os.path.join(self.state, STATE_FILE)
        if os.path.exists(old):
            try:
                with open(old) as f:
                    prev = json.load(f)
            except (OSError, ValueError):
                prev = {}
            pid = prev.get("owner_pid")
            if pid and pid != os.getpid() and _alive(pid) and prev.get("ready"):
                raise HarnessError("state %s is in use by pid %d: run `hostnet.py down "
                                   "--state %s` first" % (self.state, pid, self.state))
        # Whatever a crashed run of this prefix left behind goes first.
        teardown(self.prefix, quiet=True)
        shutil.rmtree(os.path.join(self.state, "nodes"), ignore_errors=True)
        t0 = time.monotonic()
        self._save()
        try:
            self._network()
            self.timings["network"] = time.monotonic() - t0
            keys = self._collect_keys()
            for n in self.nodes:
                self._boot(n, keys)
            for n in self.nodes:
                self._wait_booted(n, t0 + timeout)
            self.timings["boot"] = time.monotonic() - t0
            for n in self.nodes:
                self._wait_ssh(n, max(1.0, t0 + timeout - time.monotonic()))
            self.timings["up"] = time.monotonic() - t0
            self._save(ready=True)
        except BaseException:
            diag = self._console_tails()
            self.down()
            if diag:
                sys.stderr.write(diag)
            raise
        return self

    def _network(self):
        br = self.netns("bridge")
        _run(["ip", "netns", "add", br])
        _run(["ip", "-n", br, "link", "set", "lo", "up"])
        _run(["ip", "-n", br, "link", "add", "br0", "type", "bridge", "stp_state", "0",
              "forward_delay", "0", "mcast_snooping", "0"])
        _run(["ip", "-n", br, "link", "set", "br0", "up"])
        ends = (["appliance"] if self.appliance else []) + self.nodes
        for n in ends:
            ns, port = self.netns(n), self._port(n)
            _run(["ip", "netns", "add", ns])
            _run(["ip", "-n", br, "link", "add", port, "type", "veth",
                  "peer", "name", "eth0", "netns", ns])
            _run(["ip", "-n", br, "link", "set", port, "master", "br0", "up"])
            _run(["ip", "-n", ns, "link", "set", "lo", "up"])
            _run(["ip", "-n", ns, "addr", "add", "%s/%d" % (self.ip(n), self.prefixlen),
                  "dev", "eth0"])
            _run(["ip", "-n", ns, "link", "set", "eth0", "up"])
            if n != "appliance":
                self.info[n] = {"ip": self.ip(n), "netns": ns, "port": port}
        self._save()

    def _collect_keys(self):
        lines = []
        for k in self.authorized_keys:
            k = str(k)
            if os.path.isfile(k):
                with open(k) as f:
                    lines += [x.strip() for x in f if x.strip()]
            elif k.strip().startswith(("ssh-", "ecdsa-", "sk-")):
                lines.append(k.strip())
            else:
                raise HarnessError("authorized key %r is neither a file nor a key line" % k)
        return "\n".join(lines) + "\n"

    def _boot(self, node, keys):
        d = self._nodedir(node)
        os.makedirs(os.path.join(d, "fs"), exist_ok=True)
        os.makedirs(os.path.join(d, "root"), exist_ok=True)
        cgs = []
        for r in cgroup_roots():
            p = self._cg(r, node)
            for _ in range(20):  # another run may rmdir the shared top meanwhile
                try:
                    os.makedirs(p, exist_ok=True)
                    break
                except FileNotFoundError:
                    time.sleep(0.05)
            cgs.append(p)
        hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        if self.appliance:
            hosts += "%s\tappliance\n" % self.appliance_ip
        hosts += "".join("%s\t%s\n" % (self.ip(n), n) for n in self.nodes)
        cfg = {"node": node, "ip": self.ip(node), "dir": d, "lower": self.lower,
               "binds": self.binds,
               "cgroups": cgs, "machine": self.netns(node),
               "netns": "/run/netns/" + self.netns(node), "hosts": hosts,
               "authorized_keys": keys, "host_key_types": self.host_key_types}
        cfgpath = os.path.join(d, "boot.json")
        with open(cfgpath, "w") as f:
            json.dump(cfg, f)
        log = open(os.path.join(d, "console.log"), "wb")
        try:
            p = subprocess.Popen(["/usr/bin/python3", os.path.abspath(__file__),
                                  "_boot", cfgpath], stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        finally:
            log.close()
        self._procs[node] = p
        self.info[node]["nspawn"] = p.pid
        self._save()

    def _find_init(self, node):
        """Host pid of the container's PID 1 (a child of nspawn)."""
        nsp = self.info[node]["nspawn"]
        try:
            with open("/proc/%d/task/%d/children" % (nsp, nsp)) as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            return None
        for k in kids:
            try:
                with open("/proc/%d/status" % k) as f:
                    for line in f:
                        if line.startswith("NSpid:"):
                            ids = line.split()[1:]
                            if len(ids) >= 2 and ids[-1] == "1":
                                return k
            except OSError:
                pass
        return None

    def _wait_booted(self, node, deadline):
        p = self._procs[node]
        while True:
            init = self._find_init(node)
            if init:
                break
            if p.poll() is not None:
                raise HarnessError("node %s: systemd-nspawn exited with %s" % (node, p.returncode))
            if time.monotonic() > deadline:
                raise HarnessError("node %s: container init did not appear" % node)
            time.sleep(0.05)
        self.info[node]["init"] = init
        self._save()
        while True:
            # "offline" until systemd has set up /run/systemd/system.
            left = max(1, int(deadline - time.monotonic()))
            r = self.exec(node, ["timeout", str(left), "systemctl", "is-system-running", "--wait"])
            state = r.stdout.strip()
            if state in ("running", "degraded") or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        if state not in ("running", "degraded"):
            raise HarnessError("node %s: systemd did not finish booting (%s)" % (node, state or r.stderr.strip()))
        if state == "degraded":
            failed = self.exec(node, ["systemctl", "--failed", "--no-legend", "--plain"]).stdout
            sys.stderr.write("hostnet: node %s booted degraded: %s\n" % (node, failed.strip()))

    def _wait_ssh(self, node, timeout):
        # From the appliance; without one, from the node itself (the bridge
        # namespace has no address on the subnet).
        ns = self.netns("appliance" if self.appliance else node)
        in_netns("/run/netns/" + ns, _tcp_open, self.ip(node), 22, timeout)

    def _console_tails(self):
        out = []
        for n in self.nodes:
            p = os.path.join(self._nodedir(n), "console.log")
            try:
                with open(p, errors="replace") as f:
                    tail = f.read()[-2000:]
            except OSError:
                continue
            if tail.strip():
                out.append("--- %s console (tail) ---\n%s\n" % (n, tail))
        return "".join(out)

    # -- down

    def down(self):
        """Remove everything this harness made; safe to call twice. On a
        handle from attach() whose hosts a CLI keeper owns, the keeper is
        asked to go first (it reaps the nodes' processes)."""
        t0 = time.monotonic()
        st = getattr(self, "_st", {})
        keeper = st.get("owner_pid") if st.get("keeper") else None
        if keeper and keeper != os.getpid() and _alive(keeper):
            os.kill(keeper, signal.SIGTERM)
            _wait_until(lambda: not _alive(keeper), 60)
        teardown(self.prefix, self.state, procs=self._procs)
        self._procs = {}
        self.timings["down"] = time.monotonic() - t0

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGTERM, signal.SIGHUP):
                self._old_signals[s] = signal.signal(s, _raise_exit)
        try:
            return self.up()
        except BaseException:
            self._restore_signals()
            raise

    def _restore_signals(self):
        for s, h in self._old_signals.items():
            signal.signal(s, h)
        self._old_signals = {}

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is not None:
                self.save_diagnostics()
            if os.environ.get("HOSTNET_KEEP") == "1" and exc_type is not None:
                sys.stderr.write("hostnet: HOSTNET_KEEP=1: leaving %s up (state %s)\n"
                                 % (self.prefix, self.state))
            else:
                self.down()
        finally:
            self._restore_signals()
        return False

    def save_diagnostics(self, dest=None):
        """Copy each node's journal and console log to STATE/diag (or dest)."""
        dest = dest or os.path.join(self.state, "diag")
        os.makedirs(dest, exist_ok=True)
        for n in self.nodes:
            if not self.info.get(n, {}).get("init"):
                continue
            try:
                r = self.exec(n, ["journalctl", "--no-pager", "-b", "-o", "short-precise"], timeout=20)
                with open(os.path.join(dest, n + ".journal"), "w") as f:
                    f.write(r.stdout)
            except HarnessError:
                pass
            src = os.path.join(self._nodedir(n), "console.log")
            if os.path.exists(src):
                shutil.copy(src, os.path.join(dest, n + ".console"))
        return dest

    # -- running things

    def exec_argv(self, node, argv):
        """argv that runs argv inside a node (all its namespaces, its root) or
        inside the appliance's network namespace."""
        if node == "appliance":
            if not self.appliance:
                raise HarnessError("this harness has no appliance namespace")
            return ["nsenter", "--net=/run/netns/" + self.netns("appliance"), "--"] + list(argv)
        self._node(node)
        init = self.info.get(node, {}).get("init")
        if not init or not _alive(init):
            raise HarnessError("node %s is not running" % node)
        return ["nsenter", "-t", str(init), "-m", "-u", "-i", "-n", "-p", "-C",
                "-r", "-w", "--", "/usr/bin/env", "-i", "PATH=" + NODE_PATH,
                "HOME=/root", "LANG=C.UTF-8", "USER=root", "LOGNAME=root",
                "SHELL=/bin/bash"] + list(argv)

    def exec(self, node, argv, input=None, timeout=60, check=False):
        """Run argv in a node (or 'appliance'); CompletedProcess with text output."""
        try:
            p = subprocess.run(self.exec_argv(node, argv), input=input,
                               stdin=None if input is not None else subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise HarnessError("%s: timed out after %ss: %s" % (node, timeout, " ".join(argv)))
        if check and p.returncode != 0:
            raise HarnessError("%s: %s: exit %d: %s" % (node, " ".join(argv), p.returncode,
                                                        (p.stderr or p.stdout).strip()))
        return p

    def sh(self, node, script, **kw):
        """exec(node, ['sh', '-c', script])."""
        return self.exec(node, ["/bin/sh", "-c", script], **kw)

    def popen(self, node, argv, **kw):
        """subprocess.Popen of argv in a node or the appliance namespace."""
        return subprocess.Popen(self.exec_argv(node, argv), **kw)

    def write_file(self, node, path, data, mode=0o644):
        if isinstance(data, bytes):
            data = data.decode()
        self.exec(node, ["/bin/sh", "-c", 'mkdir -p "$(dirname "$1")" && cat > "$1" && chmod %o "$1"'
                         % mode, "sh", path], input=data, check=True)

    def read_file(self, node, path):
        return self.exec(node, ["cat", "--", path], check=True).stdout

    def ssh(self, node, command, key, known_hosts=None, user="root", timeout=20,
            options=()):
        """OpenSSH client from the appliance namespace: ssh user@node command.
        With known_hosts, the host key is checked strictly against that file."""
        argv = ["ssh", "-i", key, "-F", "/dev/null", "-o", "BatchMode=yes",
                "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=5",
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]
        if known_hosts:
            argv += ["-o", "UserKnownHostsFile=" + known_hosts,
                     "-o", "StrictHostKeyChecking=yes"]
        else:
            argv += ["-o", "UserKnownHostsFile=/dev/null",
                     "-o", "StrictHostKeyChecking=no"]
        for o in options:
            argv += ["-o", o]
        argv += ["%s@%s" % (user, self.ip(node)), command]
        return self.exec("appliance", argv, timeout=timeout)

    def wait_tcp(self, host, port, timeout=10, ns="appliance"):
        """Wait until host:port accepts a TCP connection from namespace ns."""
        return in_netns("/run/netns/" + self.netns(ns), _tcp_open, host, port, timeout)

    # -- host keys

    def hostkeys(self, node):
        """{type: 'ssh-ed25519 AAAA... root@node'} of the node's sshd."""
        out = {}
        for t in self.host_key_types:
            r = self.exec(node, ["cat", "/etc/ssh/ssh_host_%s_key.pub" % t])
            if r.returncode == 0:
                out[t] = r.stdout.strip()
        if not out:
            raise HarnessError("node %s has no host keys" % node)
        return out

    def hostkey(self, node, keytype=None):
        keys = self.hostkeys(node)
        t = keytype or self.host_key_types[0]
        if t not in keys:
            raise HarnessError("node %s has no %s host key" % (node, t))
        return keys[t]

    def known_hosts(self, nodes=None, keytype=None):
        """known_hosts text pinning the nodes' current host keys."""
        lines = []
        for n in nodes or self.nodes:
            k = self.hostkey(n, keytype).split()
            lines.append("%s %s %s" % (self.ip(n), k[0], k[1]))
        return "\n".join(lines) + "\n"

    def rekey(self, node, timeout=15):
        """Give the node new host keys and make sshd serve them."""
        old = self.hostkey(node).split()[1]
        script = "set -e\n"
        for t in self.host_key_types:
            f = "/etc/ssh/ssh_host_%s_key" % t
            script += "rm -f %s %s.pub\nssh-keygen -q -N '' -t %s -C root@%s -f %s\n" % (
                f, f, t, node, f)
        script += "systemctl reload ssh.service\n"
        self.sh(node, script, check=True)
        new = self.hostkey(node)
        t = self.host_key_types[0]
        deadline = time.monotonic() + timeout
        while True:
            r = self.exec("appliance" if self.appliance else node,
                          ["ssh-keyscan", "-T", "2", "-t", t, self.ip(node)])
            served = [ln.split()[2] for ln in r.stdout.splitlines()
                      if len(ln.split()) >= 3 and not ln.startswith("#")]
            if served and served[0] == new.split()[1] and served[0] != old:
                return new
            if time.monotonic() > deadline:
                raise HarnessError("node %s: sshd still serves the old host key" % node)
            time.sleep(0.1)

    # -- faults

    def partition(self, node):
        """Cut the node's cable (its bridge port goes down)."""
        _run(["ip", "-n", self.netns("bridge"), "link", "set", self._port(self._node(node)), "down"])

    def heal(self, node):
        _run(["ip", "-n", self.netns("bridge"), "link", "set", self._port(self._node(node)), "up"])

    def status(self):
        out = {"prefix": self.prefix, "state": self.state, "subnet": self.subnet,
               "appliance": self.appliance_ip, "nodes": {}}
        ports = {}
        r = _run(["ip", "-n", self.netns("bridge"), "-j", "link", "show"], check=False)
        if r.returncode == 0:
            for l in json.loads(r.stdout or "[]"):
                ports[l["ifname"]] = "UP" in l.get("flags", [])
        for n in self.nodes:
            i = self.info.get(n, {})
            out["nodes"][n] = {"ip": self.ip(n), "netns": self.netns(n),
                               "init_pid": i.get("init"),
                               "running": bool(i.get("init")) and _alive(i["init"]),
                               "link": ports.get(self._port(n))}
        return out


def _raise_exit(signum, frame):
    raise SystemExit(128 + signum)


# ---------------------------------------------------------------- teardown

def teardown(prefix, state=None, procs=None, quiet=False):
    """Remove every namespace, cgroup, process and state file of a prefix.
    Works from nothing but the prefix, so it also cleans up after a crash."""
    procs = procs or {}
    problems = []
    roots = []
    try:
        roots = cgroup_roots()
    except HarnessError:
        pass
    v2 = roots[0] if roots else None
    nodecgs = []
    if v2:
        base = os.path.join(v2, CGROUP_TOP, prefix)
        if os.path.isdir(base):
            nodecgs = [os.path.join(base, d) for d in os.listdir(base)
                       if os.path.isdir(os.path.join(base, d))]
    # 1. the containers first, so that nspawn sees its child die and exits
    for cg in nodecgs:
        _cg_kill(os.path.join(cg, "payload"))
    for p in procs.values():
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    for cg in nodecgs:
        _cg_kill(cg)
    for p in procs.values():
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            problems.append("systemd-nspawn pid %d did not exit" % p.pid)
    if v2:
        base = os.path.join(v2, CGROUP_TOP, prefix)
        if not _wait_until(lambda: not any(_alive(x) for x in _cg_pids(base)), 10):
            problems.append("processes left in %s: %s" % (base, _cg_pids(base)))
    # 2. anything else living in our network namespaces (e.g. the appliance's)
    mine = [n for n in list_netns() if n.startswith(prefix + "-")]
    keep = _ancestors()
    for ns in mine:
        for pid in netns_pids(ns):
            if pid not in keep:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    for ns in mine:
        if not _wait_until(lambda: not [x for x in netns_pids(ns)
                                        if x not in keep and _alive(x)], 5):
            problems.append("processes left in netns %s" % ns)
    # 3. namespaces (veths and the bridge go with them)
    for ns in mine:
        r = _run(["ip", "netns", "del", ns], check=False)
        if r.returncode != 0:
            problems.append("ip netns del %s: %s" % (ns, r.stderr.strip()))
    # 4. cgroups, in every hierarchy
    for r in roots:
        base = os.path.join(r, CGROUP_TOP, prefix)
        if not _wait_until(lambda: _cg_rmtree(base), 5):
            problems.append("cgroup %s could not be removed" % base)
        try:
            os.rmdir(os.path.join(r, CGROUP_TOP))
        except OSError:
            pass  # other runs still use it
    # 5. our files
    if state:
        shutil.rmtree(os.path.join(state, "nodes"), ignore_errors=True)
        for f in (STATE_FILE, STATE_FILE + ".tmp"):
            try:
                os.unlink(os.path.join(state, f))
            except FileNotFoundError:
                pass
    if problems and not quiet:
        raise HarnessError("teardown of %s incomplete: %s" % (prefix, "; ".join(problems)))
    return problems


# ---------------------------------------------------------------- node boot

def _mount(*args):
    _run(["mount"] + list(args))


def node_boot(cfgpath):
    """Runs as the child that becomes systemd-nspawn: join the node's
    cgroups, make a private mount namespace with the node's overlay root,
    write the node's own files into it, exec nspawn --boot."""
    with open(cfgpath) as f:
        c = json.load(f)
    for cg in c["cgroups"]:
        with open(os.path.join(cg, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
    _unshare(CLONE_NEWNS)
    _mount("--make-rprivate", "/")
    fs, root = os.path.join(c["dir"], "fs"), os.path.join(c["dir"], "root")
    _mount("-t", "tmpfs", "-o", "mode=0755", "hostnet-" + c["node"], fs)
    for d in ("upper", "work"):
        os.mkdir(os.path.join(fs, d))
    # Opaque directories start empty in the node instead of showing the
    # host's: a fresh root home, an empty /tmp and /var/tmp.
    for d, mode in (("root", 0o700), ("tmp", 0o1777), ("var/tmp", 0o1777)):
        p = os.path.join(fs, "upper", d)
        os.makedirs(p)
        os.chmod(p, mode)
        os.setxattr(p, "trusted.overlay.opaque", b"y")
    _mount("-t", "overlay", "overlay", "-o", "lowerdir=%s,upperdir=%s,workdir=%s" % (
        c["lower"], os.path.join(fs, "upper"), os.path.join(fs, "work")), root)
    # nspawn keeps its own runtime files here; on a host whose /run is not a
    # tmpfs they would outlive the node.
    os.makedirs("/run/systemd/nspawn", exist_ok=True)
    _mount("-t", "tmpfs", "-o", "mode=0755", "nspawn", "/run/systemd/nspawn")
    _populate(root, c)
    env = {"PATH": NODE_PATH, "SYSTEMD_NSPAWN_API_VFS_WRITABLE": "network",
           "LANG": "C.UTF-8"}
    argv = ["systemd-nspawn", "--quiet", "--directory=" + root,
            "--machine=" + c["machine"], "--hostname=" + c["node"],
            "--register=no", "--keep-unit", "--boot",
            "--network-namespace-path=" + c["netns"],
            "--capability=CAP_NET_ADMIN,CAP_NET_RAW,CAP_SYS_ADMIN",
            "--resolv-conf=off", "--timezone=off", "--link-journal=no",
            "--console=pipe"]
    # Read-only, not recursive: the node's own root lies below the build tree.
    argv += ["--bind-ro=%s:%s:norbind" % (b, b) for b in c.get("binds", ())]
    os.execvpe(argv[0], argv, env)


def _wipe(path):
    """Remove a path in the overlay (it becomes a whiteout over the host's)."""
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def _write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    _wipe(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, mode)


SSHD_CONFIG = """\
# Written by slipway's test harness (tests/harness/hostnet.py).
ListenAddress {ip}
Port 22
{hostkeys}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
UsePAM no
StrictModes yes
UseDNS no
X11Forwarding no
PrintMotd no
MaxStartups 100:30:200
MaxSessions 50
AcceptEnv LANG LC_*
Subsystem sftp internal-sftp
LogLevel VERBOSE
"""


def _populate(root, c):
    node = c["node"]
    j = lambda p: os.path.join(root, p.lstrip("/"))
    _write(j("/etc/hostname"), node + "\n")
    _write(j("/etc/hosts"), c["hosts"])
    _write(j("/etc/machine-id"), secrets.token_hex(16) + "\n", 0o444)
    # Only what the harness starts runs at boot: the host's enabled units
    # (etcd, haproxy, keepalived, timers, ...) are not enabled in a node.
    # Enabling made *.wants/*.requires links and Alias= links (etcd2.service,
    # sshd.service); masks (links to /dev/null) stay.
    sysd = j("/etc/systemd/system")
    for e in os.listdir(sysd):
        p = os.path.join(sysd, e)
        if e.endswith((".wants", ".requires")) or (
                os.path.islink(p) and os.readlink(p) != "/dev/null"):
            _wipe(p)
    os.makedirs(os.path.join(sysd, "multi-user.target.wants"))
    os.symlink("/lib/systemd/system/ssh.service",
               os.path.join(sysd, "multi-user.target.wants", "ssh.service"))
    os.symlink("/lib/systemd/system/ssh.service", os.path.join(sysd, "sshd.service"))
    _wipe(j("/etc/systemd/system/default.target"))
    os.symlink("/lib/systemd/system/multi-user.target", j("/etc/systemd/system/default.target"))
    # sshd: the node's own host keys, key-only root login, no PAM.
    sshdir = j("/etc/ssh")
    for e in os.listdir(sshdir):
        if e.startswith("ssh_host_"):
            _wipe(os.path.join(sshdir, e))
    _wipe(j("/etc/ssh/sshd_config.d"))
    os.makedirs(j("/etc/ssh/sshd_config.d"))
    hk = []
    for t in c["host_key_types"]:
        f = os.path.join(sshdir, "ssh_host_%s_key" % t)
        _run(["ssh-keygen", "-q", "-N", "", "-t", t, "-C", "root@" + node, "-f", f])
        hk.append("HostKey /etc/ssh/ssh_host_%s_key" % t)
    _write(j("/etc/ssh/sshd_config"), SSHD_CONFIG.format(ip=c["ip"], hostkeys="\n".join(hk)))
    for f in (".bashrc", ".profile"):
        if os.path.exists(j("/etc/skel/" + f)):
            shutil.copy(j("/etc/skel/" + f), j("/root/" + f))
    os.makedirs(j("/root/.ssh"), mode=0o700)
    _write(j("/root/.ssh/authorized_keys"), c["authorized_keys"], 0o600)


# ---------------------------------------------------------------- CLI

def _keeper(state):
    """Owns the nodes of a CLI `up` until `down` (SIGTERM) or a crash."""
    with open(os.path.join(state, "up.json")) as f:
        cfg = json.load(f)
    h = Harness(state, **cfg)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT, signal.SIGHUP})
    try:
        h.up()
    except BaseException as e:
        sys.stderr.write("hostnet: up failed: %s\n" % e)
        return 1
    h._save(ready=True, keeper=True, timings=h.timings)
    signal.sigwait({signal.SIGTERM, signal.SIGINT, signal.SIGHUP})
    h.down()
    return 0


def _state_arg(a):
    s = a.state or os.environ.get("HOSTNET_STATE")
    if not s:
        raise HarnessError("--state DIR is needed (or HOSTNET_STATE)")
    return s


def _cmd_up(a):
    state = os.path.abspath(_state_arg(a))
    os.makedirs(state, exist_ok=True)
    cfg = {"nodes": [n for n in a.nodes.split(",") if n], "subnet": a.subnet,
           "authorized_keys": [os.path.abspath(k) if os.path.exists(k) else k
                               for k in a.authorized_key],
           "appliance": a.appliance, "prefix": a.prefix,
           "host_key_types": a.host_key_types.split(","),
           "binds": [os.path.abspath(b) for b in a.bind_ro]}
    Harness(state, **cfg)._validate()
    with open(os.path.join(state, "up.json"), "w") as f:
        json.dump(cfg, f)
    st = os.path.join(state, STATE_FILE)
    log = open(os.path.join(state, "keeper.log"), "wb")
    t0 = time.monotonic()
    p = subprocess.Popen(["/usr/bin/python3", os.path.abspath(__file__), "_keeper", state],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True)
    log.close()
    deadline = t0 + a.timeout + 30
    while True:
        try:
            with open(st) as f:
                s = json.load(f)
            if s.get("ready") and s.get("keeper") and s.get("owner_pid") == p.pid:
                break
        except (OSError, ValueError):
            pass
        if p.poll() is not None or time.monotonic() > deadline:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(60)
            try:
                with open(os.path.join(state, "keeper.log"), errors="replace") as f:
                    sys.stderr.write(f.read()[-4000:])
            except OSError:
                pass
            raise HarnessError("up failed (see above)")
        time.sleep(0.1)
    h = Harness.attach(state)
    if a.json:
        out = h.status()
        out["hostkeys"] = {n: h.hostkeys(n) for n in h.nodes}
        out["seconds"] = round(time.monotonic() - t0, 2)
        print(json.dumps(out, indent=1))
    else:
        print("hostnet: up in %.1fs, prefix %s, keeper pid %d" % (time.monotonic() - t0, h.prefix, p.pid))
        if h.appliance:
            print("appliance\t%s\t(netns %s)" % (h.appliance_ip, h.netns("appliance")))
        for n in h.nodes:
            print("%s\t%s\t%s" % (n, h.ip(n), h.hostkey(n)))
    return 0


def _cmd_down(a):
    state = os.path.abspath(_state_arg(a))
    try:
        h = Harness.attach(state)
    except (HarnessError, ValueError, KeyError):
        h = None  # no usable state file: clean up by prefix alone
    if h and (a.prefix is None or a.prefix == h.prefix):
        h.down()
        prefix = h.prefix
    else:
        prefix = a.prefix or Harness(state).prefix
        teardown(prefix, state)
    for f in ("keeper.log", "up.json"):
        try:
            os.unlink(os.path.join(state, f))
        except FileNotFoundError:
            pass
    print("hostnet: %s is down" % prefix)
    return 0


def _cmd_status(a):
    print(json.dumps(Harness.attach(_state_arg(a)).status(), indent=1))
    return 0


def _cmd_hostkey(a):
    h = Harness.attach(_state_arg(a))
    k = h.hostkey(a.node, a.type)
    if a.known_hosts:
        p = k.split()
        print("%s %s %s" % (h.ip(a.node), p[0], p[1]))
    else:
        print(k)
    return 0


def _cmd_rekey(a):
    print(Harness.attach(_state_arg(a)).rekey(a.node))
    return 0


def _cmd_partition(a):
    Harness.attach(_state_arg(a)).partition(a.node)
    return 0


def _cmd_heal(a):
    Harness.attach(_state_arg(a)).heal(a.node)
    return 0


def _cmd_exec(argv):
    p = argparse.ArgumentParser(prog="hostnet.py exec")
    p.add_argument("--state")
    p.add_argument("node")
    if "--" not in argv:
        raise HarnessError("usage: hostnet.py exec [--state DIR] NODE -- CMD [ARG...]")
    i = argv.index("--")
    a = p.parse_args(argv[:i])
    cmd = argv[i + 1:]
    if not cmd:
        raise HarnessError("exec: no command after --")
    h = Harness.attach(_state_arg(a))
    full = h.exec_argv(a.node, cmd)
    os.execvp(full[0], full)


def main(argv):
    if argv[:1] == ["_boot"]:
        node_boot(argv[1])
        return 1
    if argv[:1] == ["_keeper"]:
        return _keeper(argv[1])
    if argv[:1] == ["exec"]:
        try:
            return _cmd_exec(argv[1:])
        except HarnessError as e:
            sys.stderr.write("hostnet: %s\n" % e)
            return 1
    p = argparse.ArgumentParser(prog="hostnet.py", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def add(name, fn, node=False, help_=None):
        s = sub.add_parser(name, help=help_)
        s.add_argument("--state", help="harness state directory (or HOSTNET_STATE)")
        if node:
            s.add_argument("node")
        s.set_defaults(fn=fn)
        return s
    s = add("up", _cmd_up, help_="make the network and boot the nodes")
    s.add_argument("--nodes", default=",".join(DEFAULT_NODES))
    s.add_argument("--subnet", default=DEFAULT_SUBNET)
    s.add_argument("--authorized-key", action="append", default=[], required=True,
                   help="public key file (or key line) for root@node; repeatable")
    s.add_argument("--appliance", dest="appliance", action="store_true", default=True)
    s.add_argument("--no-appliance", dest="appliance", action="store_false")
    s.add_argument("--prefix")
    s.add_argument("--host-key-types", default="ed25519,ecdsa")
    s.add_argument("--bind-ro", action="append", default=[], metavar="DIR",
                   help="a host directory every node sees read-only at the same path")
    s.add_argument("--timeout", type=int, default=60)
    s.add_argument("--json", action="store_true")
    s = add("down", _cmd_down, help_="remove everything (also after a crash)")
    s.add_argument("--prefix", help="clean this prefix even without a state file")
    add("status", _cmd_status)
    s = add("hostkey", _cmd_hostkey, node=True, help_="print the node's host public key")
    s.add_argument("--type", choices=KEY_TYPES)
    s.add_argument("--known-hosts", action="store_true", help="as a known_hosts line")
    add("rekey", _cmd_rekey, node=True, help_="replace the node's host keys")
    add("partition", _cmd_partition, node=True, help_="cut the node off the bridge")
    add("heal", _cmd_heal, node=True, help_="reconnect the node")
    sub.add_parser("exec", help="hostnet.py exec [--state DIR] NODE|appliance -- CMD...")
    a = p.parse_args(argv)
    try:
        return a.fn(a)
    except HarnessError as e:
        sys.stderr.write("hostnet: %s\n" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
