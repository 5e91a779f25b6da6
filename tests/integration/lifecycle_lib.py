# SPDX-License-Identifier: Apache-2.0
"""Shared set-up of the lifecycle tests (lifecycle_*.py): the rollout
tests' 3-node harness cluster (rollout_lib: real systemd, sshd, etcd,
haproxy, keepalived; the k8sdouble components), rolled out once, with
`slipway serve` running; and the etcd client and health sampler that run
on test1 during an operation (etcd_load.py).

CI brings the cluster up once for several tests: `lifecycle_cluster_up`
(CTest FIXTURES_SETUP) leaves it running and writes CLUSTER_FILE;
`lifecycle_cluster_down` (FIXTURES_CLEANUP) stops serve and the hosts.
A test run alone (no CLUSTER_FILE) brings up its own and takes it down.
Each test leaves the cluster healthy for the next one.
"""
import json
import os
import signal
import subprocess
import sys
import time

import rollout_lib as L
from hostnet import Harness, HarnessError  # noqa: E402

# Another set of tests may have a cluster of its own (CTest ENVIRONMENT):
# SLW_LIFECYCLE_DIR names its directory under the build tree,
# SLW_LIFECYCLE_SPARE the hosts booted beside test1-3 but not in the
# inventory ("test4": a node inventory apply adds).
DIR = os.path.join(L.BUILD, os.environ.get("SLW_LIFECYCLE_DIR") or "lifecycle-tests")
SPARE = tuple(n for n in (os.environ.get("SLW_LIFECYCLE_SPARE") or "").split(",") if n)
CLUSTER_FILE = os.path.join(DIR, "cluster.json")
LOAD = os.path.join(L.SRC, "tests", "integration", "etcd_load.py")
EPS = ",".join("%s:2379" % ip for ip in ("10.77.0.11", "10.77.0.12", "10.77.0.13"))


class Cluster(L.Env):
    """The rolled-out cluster (an Env whose hosts may outlive this process)."""

    def __init__(self, name="cluster"):
        super().__init__(name)
        self.dir = os.path.join(DIR, name)
        self.state = os.path.join(self.dir, "state")
        self.hosts = os.path.join(self.dir, "hosts")
        self.spare = SPARE
        self.own = False

    def bring_up(self, leaf_lifetime=None, renew_at=None, serve_args=()):
        """Harness, init, serve, rollout (about 35 s)."""
        t0 = time.time()
        self.leaf_lifetime, self.renew_at = leaf_lifetime, renew_at
        self.serve_args = list(serve_args)
        self.up()
        self.start_serve()
        rc, out, err, secs = self.rollout("--accept-new-host-keys", "--parallel", "3")
        if rc != 0:
            raise HarnessError("rollout failed: %s" % err.strip())
        if self.dir != os.path.join(DIR, "cluster"):
            return time.time() - t0
        with open(CLUSTER_FILE, "w") as f:
            json.dump({"state": self.state, "hosts": self.hosts,
                       "serve": self.serve.pid if self.serve else None,
                       "approver": self.approver.pid if self.approver else None,
                       "app_ip": self.app_ip, "up": round(time.time() - t0, 1)}, f)
        return time.time() - t0

    def write_inventory(self):
        super().write_inventory()
        extra = ""
        if getattr(self, "leaf_lifetime", None):
            extra += "  leafLifetime: %s\n" % self.leaf_lifetime
        if getattr(self, "renew_at", None):
            extra += "  renewAt: %s\n" % self.renew_at
        if extra:
            with open(self.inventory) as f:
                y = f.read()
            y = y.replace("  layout: separate", "  layout: separate\n" + extra.rstrip("\n"), 1)
            with open(self.inventory, "w") as f:
                f.write(y)

    def start_serve(self):
        """serve with this cluster's extra arguments (--renew-every)."""
        log = open(os.path.join(self.dir, "serve.log"), "a")
        self.logs.append(log)
        self.serve = self.h.popen("appliance", [L.SLIPWAY, "--state", self.state, "serve",
                                                "--listen", "%s:8443" % self.app_ip] +
                                  getattr(self, "serve_args", []),
                                  stdout=log, stderr=subprocess.STDOUT)
        if not self.h.wait_tcp(self.app_ip, 8443, timeout=15):
            raise HarnessError("slipway serve did not come up (see %s)" % log.name)

    def attach(self):
        with open(CLUSTER_FILE) as f:
            st = json.load(f)
        self.h = Harness.attach(self.hosts)
        self.app_ip = st["app_ip"]
        self.inventory = os.path.join(self.dir, "cluster.yaml")
        self.serve_pid = st.get("serve")
        return self

    def stop(self):
        """Stops serve (ours or the fixture's) and the hosts."""
        if self.dir != os.path.join(DIR, "cluster"):
            self.down()
            return
        try:
            with open(CLUSTER_FILE) as f:
                st = json.load(f)
        except (OSError, ValueError):
            st = {}
        for pid in (st.get("approver"), st.get("serve")):
            if pid:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for pid in (st.get("approver"), st.get("serve")):
            for _ in range(50):
                if not pid or not os.path.exists("/proc/%d" % pid):
                    break
                time.sleep(0.1)
        try:
            os.unlink(CLUSTER_FILE)
        except FileNotFoundError:
            pass
        self.down()

    # -- during an operation

    def start_load(self, tag, rate=40):
        """etcd_load.py load and sample on test1; stop_load() collects."""
        stop = "/run/lifecycle-stop-%s" % tag
        self.h.exec("test1", ["rm", "-f", stop])
        procs = {}
        for mode in ("load", "sample"):
            procs[mode] = self.h.popen("test1", ["/usr/bin/python3", LOAD, mode,
                                                 "--endpoints", EPS, "--rate", str(rate),
                                                 "--stop", stop],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True)
        time.sleep(2.0)  # both running before the operation starts
        return {"stop": stop, "procs": procs}

    def stop_load(self, ld):
        self.h.exec("test1", ["touch", ld["stop"]])
        res = {}
        for mode, p in ld["procs"].items():
            try:
                out, err = p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
            line = out.strip().splitlines()[-1] if out.strip() else ""
            try:
                res[mode] = json.loads(line)
            except ValueError:
                res[mode] = {"error": (err or out)[-2000:] or
                             "exited %s with no output" % p.returncode}
        self.h.exec("test1", ["rm", "-f", ld["stop"]])
        return res

    def run(self, *args, timeout=900):
        """`slipway ARGS` from the appliance namespace, progress lines
        shown; returns (rc, out, err, seconds)."""
        argv = self.h.exec_argv("appliance", [L.SLIPWAY, "--state", self.state] + list(args))
        t0 = time.time()
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out = []
        self.moves = getattr(self, "moves", [])
        for line in p.stdout:
            out.append(line)
            if "leadership moved" in line:
                self.moves.append(time.time())
            print("    | " + line.rstrip(), flush=True)
        err = p.stderr.read()
        rc = p.wait(timeout)
        for line in err.splitlines():
            print("    ! " + line, flush=True)
        return rc, "".join(out), err, time.time() - t0

    def popen(self, *args):
        argv = self.h.exec_argv("appliance", [L.SLIPWAY, "--state", self.state] + list(args))
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def etcd_tls(self, node, cert, key, ca="/etc/etcd/cert/ca.pem"):
        """GET /health of node's member from test1 with a given client pair:
        (ok, text)."""
        ip = self.h.ip(node)
        r = self.h.exec("test1", ["curl", "-sS", "--max-time", "5", "--cacert", ca,
                                  "--cert", cert, "--key", key,
                                  "https://%s:2379/health" % ip])
        return r.returncode == 0 and '"health":"true"' in r.stdout.replace(" ", ""), \
            (r.stdout + r.stderr).strip()


# What no engine can avoid: a linearizable read that waits on the leader
# while the engine moves leadership off a member it is about to restart
# (etcd answers it "leader changed"). Counted apart, only this exact error
# and only within 2 s before the engine's progress line of a move.
UNAVOIDABLE = "UNAVAILABLE: etcdserver: leader changed"


def split_failures(load, moves):
    """(failures, unavoidable) of a load report."""
    errs = load.get("errors", [])
    apart = [e for e in errs if e["error"] == UNAVOIDABLE and e["op"] == "get" and
             any(m - 2.0 <= e["wall"] <= m + 0.2 for m in moves)]
    n = load.get("failures", 0)
    if n > len(errs):  # only the first 50 are kept: count none apart then
        return n, 0
    return n - len(apart), len(apart)


def main(name, body, leaf_lifetime=None, renew_at=None, serve_args=()):
    """Runs body(cluster, checks) on the shared cluster (or its own: with a
    leaf lifetime, always its own)."""
    L.skip_unless_possible()
    c = L.Checks(name)
    # a cluster of its own lives in a directory of its own
    cl = Cluster() if leaf_lifetime is None else Cluster(name)
    stop = {"sig": None}

    def on_signal(signum, frame):
        stop["sig"] = signum
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    t0 = time.time()
    try:
        if os.path.exists(CLUSTER_FILE) and leaf_lifetime is None:
            cl.attach()
            print("# on the shared cluster (lifecycle_cluster_up)")
        else:
            os.makedirs(DIR, exist_ok=True)
            cl.own = True
            secs = cl.bring_up(leaf_lifetime=leaf_lifetime, renew_at=renew_at,
                               serve_args=serve_args)
            print("# own cluster up in %.1fs" % secs)
        body(cl, c)
    except L.Abort as e:
        print("# stopped: %s failed and the rest depends on it" % e)
    except (HarnessError, subprocess.SubprocessError, OSError, ValueError, KeyError) as e:
        c.ok(False, "test ran to the end", "%s: %s" % (type(e).__name__, e))
    except KeyboardInterrupt:
        c.ok(False, "test ran to the end", "interrupted by signal %s" % stop["sig"])
    finally:
        if c.failed and cl.h is not None:
            try:
                cl.h.save_diagnostics(os.path.join(DIR, name + "-diag"))
                print("# node journals and logs: %s" % os.path.join(DIR, name + "-diag"))
            except Exception as e:  # noqa: BLE001 (diagnostics only)
                print("# diagnostics: %s" % e)
        if cl.own:
            cl.stop()
    print("# %s: %.1fs wall" % (name, time.time() - t0))
    return c.done()


def fixture(up):
    """lifecycle_cluster_up / _down."""
    L.skip_unless_possible()
    os.makedirs(DIR, exist_ok=True)
    cl = Cluster()
    if up:
        try:
            if os.path.exists(CLUSTER_FILE):
                Cluster().stop()
            secs = cl.bring_up()
        except (HarnessError, subprocess.SubprocessError, OSError) as e:
            print("not ok 1 - the lifecycle cluster comes up: %s" % e)
            try:
                cl.stop()
            except Exception:  # noqa: BLE001
                pass
            return 1
        print("ok 1 - the lifecycle cluster is up and rolled out (%.1fs)" % secs)
        return 0
    try:
        cl.h = Harness.attach(cl.hosts)
    except HarnessError:
        cl.h = None
    cl.stop()
    print("ok 1 - the lifecycle cluster is down")
    return 0


if __name__ == "__main__":
    sys.exit(fixture(sys.argv[1:] == ["up"]))
