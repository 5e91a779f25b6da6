#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""readme_demo: README's first command, ./scripts/demo.sh, as a new user
runs it (state in its own directory here): it sets up, builds, initialises
the example cluster, starts serve on the inventory's port and prints a
token's one-liner and a look-only line; the look-only line, pasted into a
shell verbatim, fetches the node's bundle over the pinned key and installs
it under a test root; the token then works no more; Ctrl-C stops the
server and the demo says so. A second run reuses the state.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from endpoint_common import check, done, log, clean_env  # noqa: E402

SRC = os.environ["SLW_SRC"]
tmp = tempfile.mkdtemp(prefix="slw-demo-")
state = os.path.join(tmp, "state")
root = os.path.join(tmp, "node")
env = dict(clean_env(), DEMO_STATE=state, DEMO_ROOT=root)


def run_demo():
    p = subprocess.Popen(["./scripts/demo.sh"], cwd=SRC, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, start_new_session=True)
    out = []
    end = time.monotonic() + 600        # set-up and a build may run first
    while time.monotonic() < end:
        line = p.stdout.readline()
        if not line:
            break
        out.append(line)
        if line.startswith("Ctrl-C stops the server."):
            break
    return p, "".join(out)


def stop(p):
    os.killpg(p.pid, signal.SIGINT)     # what Ctrl-C sends to the group
    try:
        rest, _ = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        rest, _ = p.communicate()
    return p.returncode, rest


try:
    p, out = run_demo()
    check("Ctrl-C stops the server." in out, "demo.sh prints its instructions")
    m = re.search(r"^ready https://127\.0\.0\.1:(\d+) pin sha256//(\S+)", out, re.M) or \
        re.search(r"ready https://127\.0\.0\.1:(\d+) pin sha256//(\S+)", out)
    check(m is not None, "serve is ready and says its pin")
    one = [l for l in out.splitlines() if l.startswith("curl -fsS --pinnedpubkey")]
    check(len(one) == 1 and one[0].endswith("| tar -xz -C / && /etc/slipway/install.sh"),
          "the node's one-liner, as DESIGN.md has it")
    look = [l for l in out.splitlines() if l.startswith("mkdir -p " + root)]
    check(len(look) == 1, "the look-only line")
    r = subprocess.run(["bash", "-c", look[0]], capture_output=True, text=True,
                       timeout=120, env=clean_env())
    check(r.returncode == 0, "the look-only line, pasted verbatim, works (%s)" %
          (r.stderr.strip()[-200:] or "exit 0"))
    want = ["etc/slipway/install.sh", "etc/etcd/cert/etcd.pem",
            "etc/kubernetes/cert/ca.pem"]
    have = [w for w in want if os.path.isfile(os.path.join(root, w))]
    check(have == want, "the bundle of test1 is installed under the test root "
          "(%s)" % ", ".join(have))
    keys = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs
            if f.endswith("-key.pem")]
    check(keys and all(os.stat(k).st_mode & 0o077 == 0 for k in keys),
          "its %d key files are not readable by others" % len(keys))
    r2 = subprocess.run(["bash", "-c", look[0]], capture_output=True, text=True,
                        timeout=120, env=clean_env())
    check(r2.returncode != 0, "the token works once: the same line fails again")
    rc, rest = stop(p)
    check("demo: server stopped" in rest, "Ctrl-C stops the server (%r)" %
          rest.strip()[-80:])
    # again, on the state it left
    shutil.rmtree(root, ignore_errors=True)
    p, out = run_demo()
    check("demo: using the existing state" in out and
          "Ctrl-C stops the server." in out, "a second run reuses the state")
    rc, rest = stop(p)
    check("demo: server stopped" in rest, "and stops again on Ctrl-C")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
done()
