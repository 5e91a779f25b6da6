#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Self-test of the test-host harness: real sshd, systemd, etcd, haproxy and
# keepalived in three nodes, reached from the appliance namespace; then proof
# that `down` leaves nothing behind. Every wait is bounded; every check is
# reported by name, and a failed check does not stop the others.

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostnet  # noqa: E402
from hostnet import Harness, HarnessError  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
VIP = None  # set from the subnet


class Report:
    def __init__(self):
        self.n = 0
        self.failed = []
        self.t0 = time.monotonic()

    def check(self, name, fn):
        """Run one check; fn returns a detail string or raises."""
        self.n += 1
        t = time.monotonic()
        try:
            detail = fn() or ""
            print("ok %d - %s (%.1fs)%s" % (self.n, name, time.monotonic() - t,
                                           " " + detail if detail else ""), flush=True)
            return True
        except Exception as e:  # report and go on
            self.failed.append(name)
            print("not ok %d - %s (%.1fs): %s" % (self.n, name, time.monotonic() - t, e),
                  flush=True)
            return False

    def done(self):
        print("1..%d" % self.n)
        print("# %d checks, %d failed, %.1fs%s" % (
            self.n, len(self.failed), time.monotonic() - self.t0,
            (": " + ", ".join(self.failed)) if self.failed else ""))
        return 1 if self.failed else 0


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(0.1)


def ok(p, what):
    expect(p.returncode == 0, "%s: exit %d: %s" % (what, p.returncode,
                                                   (p.stderr or p.stdout).strip()[-400:]))
    return p.stdout


def host_mounts():
    with open("/proc/self/mountinfo") as f:
        return {line.split()[4] for line in f}


ETCD_UNIT = """\
[Unit]
Description=etcd (harness self-test)
After=network.target

[Service]
Type=notify
User=etcdh
WorkingDirectory=/var/lib/etcd-harness
EnvironmentFile=-/etc/default/etcd-harness
ExecStart=/usr/bin/etcd \\
  --name=%H \\
  --data-dir=/var/lib/etcd-harness \\
  --listen-client-urls=http://{ip}:2379,http://127.0.0.1:2379 \\
  --advertise-client-urls=http://{ip}:2379 \\
  --listen-peer-urls=http://127.0.0.1:2380 \\
  --initial-advertise-peer-urls=http://127.0.0.1:2380 \\
  --initial-cluster=%H=http://127.0.0.1:2380 \\
  $ETCD_EXTRA
Restart=on-failure
RestartSec=1
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
"""

HAPROXY_CFG = """\
global
    log /dev/log local0
    maxconn 256
defaults
    mode tcp
    log global
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend etcd-front
    bind :8443
    default_backend etcd
backend etcd
    server test1 {etcd}:2379 check inter 1s
listen stats
    mode http
    bind :10080
    stats enable
    stats uri /stats
"""

KEEPALIVED_CFG = """\
global_defs {{
    router_id {node}
}}
vrrp_instance VI_1 {{
    state {state}
    interface eth0
    virtual_router_id 51
    priority {prio}
    advert_int 1
    authentication {{
        auth_type PASS
        auth_pass slwh
    }}
    virtual_ipaddress {{
        {vip}/{plen} dev eth0
    }}
}}
"""

SLEEPER_UNIT = """\
[Unit]
Description=harness sleeper

[Service]
ExecStart=/bin/sleep 3600
"""


def run(args):
    rep = Report()
    work = tempfile.mkdtemp(prefix="hostnet-selftest-")
    key, key2 = os.path.join(work, "id"), os.path.join(work, "wrong")
    for k in (key, key2):
        subprocess.run(["ssh-keygen", "-q", "-N", "", "-t", "ed25519", "-f", k], check=True)
    state = os.path.abspath(args.state)
    # a host directory under /tmp, bound read-only into every node, and a
    # file beside it that the nodes must not see
    shared = tempfile.mkdtemp(prefix="hostnet-bind-", dir="/tmp")
    with open(os.path.join(shared, "seen"), "w") as f:
        f.write("from the host\n")
    fd, beside = tempfile.mkstemp(prefix="hostnet-beside-", dir="/tmp")
    os.close(fd)
    mounts_before = host_mounts()
    h = Harness(state, nodes=["test1", "test2", "test3"], subnet=args.subnet,
                authorized_keys=[key + ".pub"], binds=[shared])
    global VIP
    VIP = h._addr(100)
    kh = os.path.join(work, "known_hosts")
    left = {}
    t = time.monotonic()
    try:
        with h:
            up_s = time.monotonic() - t
            rep.check("up: 3 nodes + appliance", lambda: "in %.1fs (%s)" % (
                up_s, ", ".join("%s %.1fs" % kv for kv in h.timings.items())))
            checks(rep, h, key, key2, kh)
            rep.check("a bound host directory under /tmp: same path, read-only",
                      lambda: bound(h, shared, beside))
            # What is running now, to prove later that down ended it.
            base = os.path.join(hostnet.cgroup_roots()[0], hostnet.CGROUP_TOP, h.prefix)
            left["pids"] = hostnet._cg_pids(base)
            left["netns"] = [h.netns(n) for n in h.nodes + ["appliance", "bridge"]]
            t = time.monotonic()
    except HarnessError as e:
        rep.check("harness up/down", lambda: (_ for _ in ()).throw(e))
    down_s = time.monotonic() - t
    if left:
        rep.check("down: nothing left behind", lambda: after_down(h, left, mounts_before, down_s))
    rep.check("CLI: up, kill -9 of the keeper, down cleans up", lambda: cli_crash(work, key))
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(shared, ignore_errors=True)
    os.unlink(beside)
    return rep.done()


def bound(h, shared, beside):
    """The node sees the bound directory at its host path, cannot write in
    it, and sees nothing else of the host's /tmp."""
    for n in h.nodes:
        got = ok(h.exec(n, ["cat", os.path.join(shared, "seen")]), "cat on " + n)
        expect(got == "from the host\n", "%s reads %r" % (n, got))
        p = h.exec(n, ["touch", os.path.join(shared, "written")])
        expect(p.returncode != 0 and "Read-only" in p.stderr,
               "%s could write in the bound directory: %s" % (n, p.stderr.strip()))
        p = h.exec(n, ["test", "-e", beside])
        expect(p.returncode != 0, "%s sees %s of the host's /tmp" % (n, beside))
    expect(not os.path.exists(os.path.join(shared, "written")), "a node wrote in it")
    return "read on %s; writes refused; the rest of the host's /tmp not seen" % (
        ",".join(h.nodes))


def checks(rep, h, key, key2, kh):
    with open(kh, "w") as f:
        f.write(h.known_hosts())

    def ssh_each():
        out = []
        for n in h.nodes:
            got = ok(h.ssh(n, "hostname", key, known_hosts=kh), "ssh " + n).strip()
            expect(got == n, "ssh %s: hostname says %r" % (n, got))
            out.append(n)
        return "pinned ed25519 host keys, hostname ok on " + ",".join(out)
    rep.check("ssh root@node with the key, host key pinned", ssh_each)

    def clean_boot():
        for n in h.nodes:
            out = h.exec(n, ["systemctl", "is-system-running"]).stdout.strip()
            expect(out == "running", "%s: systemd is %s" % (n, out))
            out = h.exec(n, ["systemctl", "is-enabled", "etcd", "haproxy", "keepalived"]).stdout
            expect(out.split() == ["disabled"] * 3, "%s: host units enabled: %s" % (n, out.split()))
        return "systemd running, no failed unit; host's etcd/haproxy/keepalived not enabled"
    rep.check("nodes boot clean", clean_boot)

    def wrong_key():
        p = h.ssh("test1", "true", key2, known_hosts=kh)
        expect(p.returncode == 255 and "Permission denied" in p.stderr,
               "wrong key: exit %d %s" % (p.returncode, p.stderr.strip()))
        p = h.ssh("test1", "true", key, known_hosts=kh,
                  options=["PreferredAuthentications=password,keyboard-interactive",
                           "PubkeyAuthentication=no"])
        expect(p.returncode == 255 and "Permission denied (publickey)" in p.stderr,
               "password login: exit %d %s" % (p.returncode, p.stderr.strip()))
        return "refused; only publickey offered"
    rep.check("wrong key and password login refused", wrong_key)

    def isolation():
        tok = os.urandom(4).hex()
        f = "/etc/kubernetes/cert/harness-%s.pem" % tok
        ok(h.ssh("test1", "mkdir -p /etc/kubernetes/cert /opt/k8s/bin && echo %s > %s && "
                 "touch /opt/k8s/bin/harness-%s && useradd --system k8sh%s" % (tok, f, tok, tok),
                 key, known_hosts=kh), "write on test1")
        expect(h.read_file("test1", f).strip() == tok, "test1 lost its own file")
        ok(h.exec("test1", ["id", "k8sh" + tok]), "user on test1")
        for n in ("test2", "test3"):
            p = h.sh(n, "test -e %s || test -e /opt/k8s/bin/harness-%s || id k8sh%s" % (f, tok, tok))
            expect(p.returncode != 0, "%s sees test1's file or user" % n)
        expect(not os.path.exists(f) and not os.path.exists("/opt/k8s/bin/harness-" + tok),
               "the host sees test1's file")
        expect(subprocess.run(["id", "k8sh" + tok], capture_output=True).returncode != 0,
               "the host sees test1's user")
        return "files under /etc/kubernetes, /opt/k8s and users stay on test1"
    rep.check("filesystems are separate per node", isolation)

    def survives():
        unit = "/etc/systemd/system/harness-sleep.service"
        ok(h.ssh("test2", "cat > %s <<'EOF'\n%sEOF\nsystemctl daemon-reload && "
                 "systemctl start harness-sleep" % (unit, SLEEPER_UNIT), key, known_hosts=kh),
           "start over ssh")
        time.sleep(0.5)
        props = ok(h.ssh("test2", "systemctl show -p ActiveState,SubState,MainPID harness-sleep",
                         key, known_hosts=kh), "show")
        d = dict(line.split("=", 1) for line in props.split())
        expect(d.get("ActiveState") == "active" and d.get("SubState") == "running"
               and int(d.get("MainPID", 0)) > 0, "after the session closed: %s" % d)
        comm = h.read_file("test2", "/proc/%s/comm" % d["MainPID"]).strip()
        expect(comm == "sleep", "MainPID is %s" % comm)
        return "MainPID %s still running after the ssh session" % d["MainPID"]
    rep.check("unit started over ssh keeps running after the session", survives)

    def etcd():
        ip = h.ip("test1")
        script = ("set -e\nuseradd --system --home-dir /var/lib/etcd-harness etcdh\n"
                  "install -d -o etcdh -g etcdh -m 700 /var/lib/etcd-harness\n"
                  "echo 'ETCD_EXTRA=--log-level=info' > /etc/default/etcd-harness\n"
                  "cat > /etc/systemd/system/etcd-harness.service <<'EOF'\n%sEOF\n"
                  "systemctl daemon-reload\nsystemctl enable --now etcd-harness\n"
                  "systemctl show -p ActiveState,SubState,MainPID,ExecMainStatus,Type etcd-harness\n"
                  % ETCD_UNIT.format(ip=ip))
        out = ok(h.ssh("test1", script, key, known_hosts=kh, timeout=60), "etcd install")
        d = dict(line.split("=", 1) for line in out.split() if "=" in line)
        expect(d.get("ActiveState") == "active" and d.get("Type") == "notify", "etcd: %s" % d)
        user = ok(h.exec("test1", ["ps", "-o", "user=", "-p", d["MainPID"]]), "ps").strip()
        expect(user == "etcdh", "etcd runs as %r" % user)
        health = ok(h.exec("appliance", ["curl", "-fsS", "-m", "5", "http://%s:2379/health" % ip]),
                    "curl health")
        expect('"health":"true"' in health, "health: %s" % health)
        ok(h.exec("appliance", ["etcdctl", "--endpoints=http://%s:2379" % ip, "put", "k", "v"]), "put")
        return "Type=notify, User=etcdh, /health from the appliance: %s" % health.strip()
    rep.check("etcd via systemctl (Type=notify, User=) reachable from the appliance", etcd)

    def ha():
        for n, state, prio in (("test1", "MASTER", 150), ("test2", "BACKUP", 100)):
            h.write_file(n, "/etc/haproxy/haproxy.cfg", HAPROXY_CFG.format(etcd=h.ip("test1")))
            h.write_file(n, "/etc/keepalived/keepalived.conf", KEEPALIVED_CFG.format(
                node=n, state=state, prio=prio, vip=VIP, plen=h.prefixlen))
            ok(h.ssh(n, "systemctl start haproxy keepalived && systemctl is-active haproxy keepalived",
                     key, known_hosts=kh), "start haproxy+keepalived on " + n)
        wait_for(lambda: has_vip(h, "test1"), 10, "the VIP on test1 (MASTER)")
        expect(not has_vip(h, "test2"), "the VIP is on both nodes")
        stats = ok(h.exec("appliance", ["curl", "-fsS", "-m", "5",
                                        "http://%s:10080/stats;csv" % VIP]), "stats")
        expect("etcd-front" in stats, "haproxy stats: %s" % stats[:200])
        via = ok(h.exec("appliance", ["curl", "-fsS", "-m", "5", "http://%s:8443/health" % VIP]),
                 "etcd through VIP")
        expect('"health":"true"' in via, "through the VIP: %s" % via)
        return "VIP %s on test1; haproxy stats and etcd /health through it" % VIP
    rep.check("haproxy + keepalived in nodes, VIP on the MASTER", ha)

    def failover():
        t = time.monotonic()
        ok(h.exec("test1", ["systemctl", "stop", "keepalived"]), "stop keepalived")
        wait_for(lambda: has_vip(h, "test2") and not has_vip(h, "test1"), 5,
                 "the VIP to move to test2 (3 x advert_int + skew = 3.6s)")
        moved = time.monotonic() - t
        via = ok(h.exec("appliance", ["curl", "-fsS", "-m", "5", "http://%s:8443/health" % VIP]),
                 "etcd through VIP after failover")
        expect('"health":"true"' in via, "through the VIP: %s" % via)
        ok(h.exec("test1", ["systemctl", "start", "keepalived"]), "restart keepalived")
        wait_for(lambda: has_vip(h, "test1") and not has_vip(h, "test2"), 6,
                 "the VIP to return to test1 (higher priority preempts)")
        return "moved to test2 in %.1fs, served by test2's haproxy, back on test1" % moved
    rep.check("VIP fails over when the MASTER's keepalived stops", failover)

    def master_cut():
        # No priority-0 advert this time: test2 must notice the silence.
        t = time.monotonic()
        h.partition("test1")
        try:
            wait_for(lambda: has_vip(h, "test2"), 6,
                     "test2 to take the VIP after the master-down interval (3.6s)")
            moved = time.monotonic() - t
            stats = ok(h.exec("appliance", ["curl", "-fsS", "-m", "5",
                                            "http://%s:10080/stats;csv" % VIP]), "stats via VIP")
            expect("etcd-front" in stats, "haproxy stats via the VIP: %s" % stats[:200])
        finally:
            h.heal("test1")
        wait_for(lambda: has_vip(h, "test1") and not has_vip(h, "test2"), 6,
                 "test1 to take the VIP back after heal")
        return "test2 took the VIP %.1fs after test1 was cut off; test1 back after heal" % moved
    rep.check("VIP fails over when the MASTER is cut off (VRRP timeout)", master_cut)

    def partition():
        ip = h.ip("test3")
        ping = lambda: h.exec("appliance", ["ping", "-c", "1", "-W", "1", ip]).returncode == 0
        expect(ping(), "test3 not reachable before the partition")
        h.partition("test3")
        expect(not ping(), "test3 still answers ping")
        p = h.ssh("test3", "true", key, known_hosts=kh, options=["ConnectTimeout=2"])
        expect(p.returncode == 255, "ssh to a partitioned node: exit %d" % p.returncode)
        h.heal("test3")
        wait_for(ping, 5, "test3 to answer again")
        ok(h.ssh("test3", "true", key, known_hosts=kh), "ssh after heal")
        return "unreachable (ping, ssh) while cut, back after heal"
    rep.check("partition and heal a node", partition)

    def rekey():
        old = h.hostkey("test2")
        new = h.rekey("test2")
        expect(new != old, "rekey kept the key")
        p = h.ssh("test2", "true", key, known_hosts=kh)
        expect(p.returncode == 255 and ("REMOTE HOST IDENTIFICATION HAS CHANGED" in p.stderr
                                        or "Host key verification failed" in p.stderr),
               "changed host key not detected: exit %d %s" % (p.returncode, p.stderr.strip()))
        with open(kh + ".new", "w") as f:
            f.write(h.known_hosts())
        ok(h.ssh("test2", "true", key, known_hosts=kh + ".new"), "ssh with the new pin")
        return "old pin refused by StrictHostKeyChecking=yes, new pin accepted"
    rep.check("rekey: changed host key is detected", rekey)


def has_vip(h, node):
    p = h.exec(node, ["ip", "-o", "-4", "addr", "show", "dev", "eth0"])
    return (" %s/" % VIP) in p.stdout


def after_down(h, left, mounts_before, down_s):
    problems = []
    ns = set(hostnet.list_netns())
    problems += ["netns %s left" % n for n in left["netns"] if n in ns]
    problems += ["netns %s left" % n for n in ns if n.startswith(h.prefix)]
    new_mounts = host_mounts() - mounts_before
    problems += ["mount %s left" % m for m in new_mounts
                 if h.prefix in m or m.startswith(h.state)]
    problems += ["pid %d still running" % p for p in left["pids"] if hostnet._alive(p)]
    for r in hostnet.cgroup_roots():
        if os.path.exists(os.path.join(r, hostnet.CGROUP_TOP, h.prefix)):
            problems.append("cgroup %s left" % r)
    zombies = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read().rsplit(")", 1)[1].split()
                if st[0] == "Z" and int(st[1]) == os.getpid():
                    zombies.append(d)
            except OSError:
                pass
    problems += ["unreaped child %s" % z for z in zombies]
    if os.path.exists(os.path.join(h.state, "nodes")) or \
            os.path.exists(os.path.join(h.state, hostnet.STATE_FILE)):
        problems.append("state files left in %s" % h.state)
    expect(not problems, "; ".join(problems))
    return "in %.1fs: %d processes ended; no netns, mount, cgroup or state file left" % (
        down_s, len(left["pids"]))


def cli_crash(work, key):
    """The CLI path and crash recovery: up one node, SIGKILL the keeper that
    owns it (as a crashed test would), then `down` from the state alone."""
    cli = [os.path.join(HERE, "hostnet.py")]
    st = os.path.join(work, "cli-state")
    p = subprocess.run(cli + ["up", "--state", st, "--nodes", "crash1", "--subnet",
                              "10.78.0.0/24", "--authorized-key", key + ".pub", "--json"],
                       capture_output=True, text=True, timeout=90)
    expect(p.returncode == 0, "cli up: %s %s" % (p.stdout[-500:], p.stderr[-1500:]))
    h = Harness.attach(st)
    r = subprocess.run(cli + ["exec", "--state", st, "crash1", "--", "hostname"],
                       capture_output=True, text=True, timeout=20)
    expect(r.stdout.strip() == "crash1", "cli exec: %r %r" % (r.stdout, r.stderr))
    r = subprocess.run(cli + ["hostkey", "--state", st, "--known-hosts", "crash1"],
                       capture_output=True, text=True, timeout=20)
    expect(r.stdout.startswith("10.78.0.11 ssh-ed25519 "), "cli hostkey: %r" % r.stdout)
    base = os.path.join(hostnet.cgroup_roots()[0], hostnet.CGROUP_TOP, h.prefix)
    pids = hostnet._cg_pids(base)
    os.kill(h._st["owner_pid"], signal.SIGKILL)
    wait_for(lambda: not hostnet._alive(h._st["owner_pid"]), 5, "the keeper to die")
    r = subprocess.run(cli + ["down", "--state", st], capture_output=True, text=True, timeout=60)
    expect(r.returncode == 0, "cli down: %s" % r.stderr)
    expect(not [n for n in hostnet.list_netns() if n.startswith(h.prefix)], "netns left")
    expect(not [x for x in pids if hostnet._alive(x)], "processes left: %s" % pids)
    expect(not os.path.exists(base), "cgroup left")
    return "%d node processes ended after the keeper was killed" % len(pids)


def main():
    ap = argparse.ArgumentParser(description="self-test of tests/harness")
    ap.add_argument("--state", default=os.path.join(tempfile.gettempdir(), "hostnet-selftest-state"))
    ap.add_argument("--subnet", default="10.77.0.0/24")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("1..0 # SKIP needs root")
        return 77
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
