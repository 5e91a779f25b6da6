# SPDX-License-Identifier: Apache-2.0
"""reliability_disk_full: the state on a tiny tmpfs that fills up.

Runs in a private mount namespace (registered under `unshare -m
--propagation private`), so the tmpfs is gone when the test ends. The state
lives on a 16 MiB tmpfs; `slipway serve` runs on it; a token is made; then a
filler file takes every free byte. Shown:

- a redemption fails with 503 {"error": "disk full on STATE: N bytes free"},
  serve's log says the same for the token's id, and the token stays active;
- `token create` fails with that line (non-zero exit);
- /healthz answers 503 with the reason; /metrics counts the refused writes
  (slipway_store_write_errors_total{reason="disk_full"}) and shows the free
  space (slipway_state_free_bytes, slipway_state_disk_full 1);
- reads are served: GET /v1/ca.pem, `slipway status` (which names the full
  disk), `slipway audit verify`;
- after `mount -o remount,size=64m`, with no restart (same serve pid):
  /healthz is 200 and the same token redeems its bundle.
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from endpoint_common import (State, Server, check, clean_env, curl, done,  # noqa: E402
                             log, run_bash)


def sh(*cmd):
    p = subprocess.run(list(cmd), capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise SystemExit("%s failed: %s" % (" ".join(cmd), p.stderr.strip()))
    return p.stdout


def fill(path):
    """Writes zeros into path until the filesystem is full."""
    blk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        for size in (65536, 4096, 512, 1):
            b = blk[:size]
            for _ in range(1 << 16):
                try:
                    f.write(b)
                except OSError:
                    break


def avail(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


if os.geteuid() != 0:
    raise SystemExit("reliability_disk_full needs root (a tmpfs mount)")
# A private mount namespace: the mount below never reaches the host.
probe = subprocess.run(["findmnt", "-n", "-o", "PROPAGATION", "/"],
                       capture_output=True, text=True)
if "shared" in probe.stdout:
    raise SystemExit("run under 'unshare -m --propagation private' "
                     "(the .cmake file does)")

t0 = time.monotonic()
st = State.__new__(State)
# State() runs init in a temporary directory; the state must be on the
# tmpfs, so build the State by hand around a mount point.
import tempfile  # noqa: E402
import shutil  # noqa: E402
import atexit  # noqa: E402
from endpoint_common import EXAMPLE, free_port  # noqa: E402

st.tmp = tempfile.mkdtemp(prefix="slw-df-")
os.chmod(st.tmp, 0o755)
mnt = os.path.join(st.tmp, "tiny")
os.mkdir(mnt)
sh("mount", "-t", "tmpfs", "-o", "size=16m,mode=0755", "tmpfs", mnt)


def cleanup():
    subprocess.run(["umount", "-l", mnt], capture_output=True)
    shutil.rmtree(st.tmp, True)


atexit.register(cleanup)
st.dir = os.path.join(mnt, "state")
st.port = free_port()
y = open(EXAMPLE).read()
y, n = re.subn(r"(?m)^(\s+port:) 8443\b", r"\g<1> %d" % st.port, y)
assert n == 1
st.yaml = os.path.join(st.tmp, "cluster.yaml")
open(st.yaml, "w").write(y)
st.run("init", "--cluster", st.yaml)

srv = Server(st)
pid = srv.proc.pid
line, tok, pin = st.token("test1")
tok_id = tok.split(".")[0]
check(curl(srv.url + "/healthz")[0] == 200, "/healthz 200 before the disk fills")

# ---- the disk fills ------------------------------------------------------
fill(os.path.join(mnt, "filler"))
free = avail(mnt)
log("free on the tmpfs after filling: %d bytes" % free)
full_re = r"disk full on %s: \d+ bytes free" % re.escape(st.dir)

fetch = line.split(" | ")[0]	# the one-liner's curl, into a file
p = run_bash(fetch + " -o " + os.path.join(st.tmp, "a.tgz"), env=clean_env())
check(p.returncode == 22, "the one-liner's curl fails while the disk is full "
      "(exit %d)" % p.returncode)
status, hdrs, body = curl(srv.url + "/v1/bundle", token=tok)
check(status == 503, "a redemption answers 503 (got %d)" % status)
check(re.search(full_re, body.decode(errors="replace")) is not None,
      "its body says 'disk full on STATE: N bytes free': %s" % body[:200])
check(srv.wait_log(r"token %s not consumed: %s" % (tok_id, full_re), timeout=10)
      is not None, "serve's log says the token was not consumed: disk full")

status, hdrs, body = curl(srv.url + "/healthz")
check(status == 503, "/healthz answers 503 while the disk is full (got %d)" % status)
check(re.search(full_re, body.decode(errors="replace")) is not None,
      "/healthz gives the reason: %s" % body[:200])

status, _, body = curl(srv.url + "/metrics")
text = body.decode(errors="replace")
m = re.search(r'slipway_store_write_errors_total\{reason="disk_full"\} (\d+)', text)
check(status == 200 and m is not None and int(m.group(1)) >= 1,
      "metrics count refused writes: %s" % (m.group(0) if m else "missing"))
m = re.search(r"slipway_state_free_bytes (\d+)", text)
check(m is not None and int(m.group(1)) < 1 << 20,
      "metrics show the free space: %s" % (m.group(0) if m else "missing"))
check(re.search(r"(?m)^slipway_state_disk_full 1$", text) is not None,
      "slipway_state_disk_full is 1")

p = st.run("token", "create", "--node", "test2", check_rc=False)
check(p.returncode != 0 and re.search(full_re, p.stderr) is not None
      and p.stderr.count("\n") == 1,
      "token create fails with one line: %s" % p.stderr.strip())

# reads are still served
status, _, body = curl(srv.url + "/v1/ca.pem")
check(status == 200 and b"BEGIN CERTIFICATE" in body, "GET /v1/ca.pem still 200")
p = st.run("status", check_rc=False)
check(p.returncode == 0 and re.search(full_re, p.stdout) is not None,
      "slipway status works and names the full disk")
p = st.run("audit", "verify", check_rc=False)
check(p.returncode == 0 and "chain intact" in p.stdout, "slipway audit verify works")
toks = {t["id"]: t for t in st.tokens()}
check(toks.get(tok_id, {}).get("state") == "active",
      "the token of the failed redemption is still active")

# ---- space returns: no restart -------------------------------------------
sh("mount", "-o", "remount,size=64m", mnt)
log("free after growing the tmpfs: %d bytes" % avail(mnt))
ok = False
end = time.monotonic() + 10
while time.monotonic() < end and not ok:
    ok = curl(srv.url + "/healthz")[0] == 200
    if not ok:
        time.sleep(0.2)
check(ok, "/healthz 200 again once space returns")
p = run_bash(fetch + " -o " + os.path.join(st.tmp, "b.tgz"), env=clean_env())
check(p.returncode == 0 and os.path.getsize(os.path.join(st.tmp, "b.tgz")) > 0,
      "the same token now redeems its bundle (rc %d)" % p.returncode)
check(srv.proc.poll() is None and srv.proc.pid == pid, "no restart: same serve")
toks = {t["id"]: t for t in st.tokens()}
check(toks.get(tok_id, {}).get("state") == "used", "the token is used now")
check(st.run("audit", "verify", check_rc=False).returncode == 0,
      "the audit chain verifies after the episode")
check(srv.stop() == 0, "serve stops with status 0")
log("reliability_disk_full took %.1f s" % (time.monotonic() - t0))
done()
