# SPDX-License-Identifier: Apache-2.0
"""endpoint_common.py: shared helpers of the endpoint_* integration tests.

Each test makes its own state (slipway init of the example cluster, with
the bootstrap port set to a free loopback port and optional extra worker
nodes), runs the real `slipway serve` on 127.0.0.1 and talks to it with
real clients (curl, openssl, sslscan, the endpoint_load pool). Every wait
is bounded; every server started here is stopped (SIGKILL as a last
resort) when the test ends.
"""
import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SLIPWAY = os.environ.get("SLIPWAY", "slipway")
SRC = os.environ.get("SLW_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("SLW_BUILD", "")
EXAMPLE = os.path.join(SRC, "examples", "seed-cluster.yaml")

ONELINER = re.compile(
    r"^curl -fsS --pinnedpubkey 'sha256//(?P<pin>[A-Za-z0-9+/]{43}=)' -k "
    r"-H 'Authorization: Bearer (?P<token>[0-9a-f]{16}\.[0-9a-f]{40})' "
    r"https://(?P<addr>[^/]+)/v1/bundle \| tar -xz -C / && /etc/slipway/install\.sh$")

_servers = []
_failures = []


def log(*a):
    print(*a, flush=True)


def check(cond, what):
    """Records a failed expectation (and goes on); fail() at the end."""
    if cond:
        log("ok   ", what)
    else:
        log("FAIL ", what)
        _failures.append(what)
    return cond


def done():
    if _failures:
        log("%d check(s) failed:" % len(_failures))
        for f in _failures:
            log("  -", f)
        sys.exit(1)
    log("all checks passed")
    sys.exit(0)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def load_client():
    p = os.environ.get("ENDPOINT_LOAD")
    if p and os.path.exists(p):
        return p
    p = os.path.join(BUILD, "tests", "bench", "endpoint_load")
    if os.path.exists(p):
        return p
    raise SystemExit("endpoint_load not built (tests/bench/endpoint_load.c)")


class State:
    """A slipway state directory in a temporary directory."""

    def __init__(self, workers=0, port=None, extra=""):
        self.tmp = tempfile.mkdtemp(prefix="slw-ep-")
        if os.environ.get("ENDPOINT_KEEP"):
            log("keeping", self.tmp)
        else:
            atexit.register(shutil.rmtree, self.tmp, True)
        os.chmod(self.tmp, 0o755)
        self.dir = os.path.join(self.tmp, "state")
        self.port = port or free_port()
        y = open(EXAMPLE).read()
        y, n = re.subn(r"(?m)^(\s+port:) 8443\b", r"\g<1> %d" % self.port, y)
        assert n == 1, "example inventory: bootstrap port not found"
        y += extra
        y += "".join("  - { name: w%04d, ip: 10.%d.%d.%d, roles: [worker] }\n"
                     % (i, 20 + i // 65536, (i // 256) % 256, i % 256)
                     for i in range(1, workers + 1))
        self.yaml = os.path.join(self.tmp, "cluster.yaml")
        open(self.yaml, "w").write(y)
        self.run("init", "--cluster", self.yaml)

    def run(self, *args, check_rc=True, env=None, timeout=120):
        p = subprocess.run([SLIPWAY, "--state", self.dir] + list(args),
                           capture_output=True, text=True, env=env,
                           timeout=timeout)
        if check_rc and p.returncode != 0:
            raise SystemExit("slipway %s failed (%d): %s" %
                             (" ".join(args), p.returncode, p.stderr.strip()))
        return p

    def token(self, node, *extra):
        """A token's one-liner (text form) and its parts."""
        p = self.run("token", "create", "--node", node, *extra)
        line = p.stdout.strip()
        m = ONELINER.match(line)
        if m is None:
            raise SystemExit("token create printed an unexpected line")
        return line, m.group("token"), m.group("pin")

    def token_json(self, node, *extra):
        p = self.run("--json", "token", "create", "--node", node, *extra)
        return json.loads(p.stdout)

    def tokens(self):
        return json.loads(self.run("--json", "token", "list").stdout)

    def db_entries(self, name):
        """Entries of one named LMDB database, read with mdb_stat."""
        p = subprocess.run(["mdb_stat", "-s", name, os.path.join(self.dir, "db")],
                           capture_output=True, text=True, timeout=60)
        m = re.search(r"Entries: (\d+)", p.stdout)
        if p.returncode != 0 or m is None:
            raise SystemExit("mdb_stat -s %s failed: %s" % (name, p.stderr))
        return int(m.group(1))

    def counts(self):
        return {db: self.db_entries(db) for db in
                ("tokens", "issuance", "certs", "audit", "nodes", "secrets")}


class Server:
    """`slipway serve` on 127.0.0.1, started and waited for (bounded).
    Without its CSR approver unless approve=True: these tests have no API
    server (endpoint_kubelet_bootstrap has, and runs it)."""

    def __init__(self, state, *args, env=None, port=None, wait=30, approve=False):
        self.state = state
        self.port = port or state.port
        self.logpath = os.path.join(state.tmp, "serve-%d.log" % len(_servers))
        self.outpath = self.logpath + ".out"
        self.err = open(self.logpath, "w")
        self.out = open(self.outpath, "w")
        cmd = [SLIPWAY, "--state", state.dir, "serve", "--listen",
               "127.0.0.1:%d" % self.port] + list(args)
        if not approve:
            cmd.append("--no-approve")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=self.err,
                                     env=env)
        _servers.append(self)
        self.ready_s = None
        self.pin = None
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            txt = open(self.outpath).read()
            m = re.search(r"ready https://\S+ pin sha256//(\S+)", txt)
            if m:
                self.pin = m.group(1)
                self.ready_s = time.monotonic() - self.t0
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        if self.pin is None:
            self.kill()
            raise SystemExit("serve did not become ready:\n" +
                             open(self.logpath).read())

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    def log_text(self):
        self.err.flush()
        return open(self.logpath).read()

    def wait_log(self, pattern, since=0, timeout=30):
        """The first match of pattern in the log after offset `since`, or
        None after timeout seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = re.search(pattern, self.log_text()[since:])
            if m:
                return m
            time.sleep(0.1)
        return None

    def stop(self, timeout=60):
        """SIGTERM; returns the exit code (None if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)


def _cleanup():
    for s in _servers:
        try:
            s.kill()
        except Exception:
            pass


atexit.register(_cleanup)


def curl(url, *args, token=None, timeout=30):
    """curl -sk with status and headers: (status, headers dict, body bytes)."""
    cmd = ["curl", "-sk", "-D", "-", "--max-time", str(timeout)]
    if token is not None:
        cmd += ["-H", "Authorization: Bearer " + token]
    cmd += list(args) + [url]
    p = subprocess.run(cmd, capture_output=True, timeout=timeout + 10)
    raw = p.stdout
    status, headers = 0, {}
    # skip interim responses (100 Continue)
    while raw.startswith(b"HTTP/"):
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            headers[k.strip().lower()] = v.strip()
        raw = rest
        if status >= 200:
            break
    return status, headers, raw


def run_bash(line, timeout=60, env=None):
    return subprocess.run(["bash", "-c", line], capture_output=True,
                          timeout=timeout, env=env)


def clean_env():
    """An environment without any CA bundle settings (curl uses only the pin)."""
    env = dict(os.environ)
    for k in ("CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR",
              "REQUESTS_CA_BUNDLE"):
        env.pop(k, None)
    return env
