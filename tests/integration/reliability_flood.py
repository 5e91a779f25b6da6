#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""reliability_flood: a connection flood does not lock nodes out.

20 loopback addresses (127.0.0.11-30) each keep 64 slow connections to a
real `slipway serve` (default limits) for 60 s: TCP, a full TLS handshake,
then a request head trickled one byte a second that never ends; a
connection the server closes is made again after a short pause. Meanwhile
real redemptions (the `token create` one-liner, curl verbatim; only the tar
part is redirected) run one after another from 127.0.0.1. At least 95% of
them must succeed within 2 s each, the server must write fewer than 200 log
lines about the flood, and the store must hold exactly the redemptions
that succeeded. Every number is printed: the flood's connections made,
handshakes, refusals, cuts and the most it held at once; each redemption's
time; the log lines by kind.

`reliability_flood.py --flood PORT SECONDS ADDR...` is the flooding client
(run by the test in a process of its own, so that its CPU use does not
stall the test's own clock): it prints one JSON line of counts at the end.
"""
import asyncio
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time

PER_ADDR = 64
N_ADDR = 20
FLOOD_S = 60
LIMIT_S = 2.0


# ---- the flooding client ----------------------------------------------

async def _slot(addr, port, ctx, stats, stop_at):
    while time.monotonic() < stop_at:
        w = None
        try:
            stats["attempts"] += 1
            r, w = await asyncio.wait_for(asyncio.open_connection(
                "127.0.0.1", port, ssl=ctx, local_addr=(addr, 0),
                server_hostname="slipway"), 10)
            stats["handshakes"] += 1
            stats["held"] += 1
            stats["max_held"] = max(stats["max_held"], stats["held"])
            try:
                w.write(b"GET /healthz HTTP/1.1\r\nHost: slipway\r\nX-Slow: ")
                while time.monotonic() < stop_at:
                    w.write(b"a")
                    await w.drain()
                    try:
                        data = await asyncio.wait_for(r.read(4096), 1.0)
                    except asyncio.TimeoutError:
                        continue
                    if not data:
                        stats["cut"] += 1
                        break
                    stats["answered"] += 1   # the server answered (an error)
                    break
            finally:
                stats["held"] -= 1
        except asyncio.TimeoutError:
            stats["timeouts"] += 1
        except (OSError, ssl.SSLError, EOFError):
            stats["refused"] += 1
        finally:
            if w is not None:
                w.transport.abort()
        await asyncio.sleep(0.5)


async def _flood(port, seconds, addrs):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    stats = dict(attempts=0, handshakes=0, refused=0, timeouts=0, cut=0,
                 answered=0, held=0, max_held=0)
    stop_at = time.monotonic() + seconds
    tasks = [asyncio.ensure_future(_slot(a, port, ctx, stats, stop_at))
             for a in addrs for _ in range(PER_ADDR)]
    await asyncio.wait(tasks, timeout=seconds + 30)
    for t in tasks:
        t.cancel()
    return stats


if len(sys.argv) > 1 and sys.argv[1] == "--flood":
    port, seconds, addrs = int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
    st = asyncio.run(_flood(port, seconds, addrs))
    print(json.dumps(st), flush=True)
    sys.exit(0)


# ---- the test ---------------------------------------------------------

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from endpoint_common import (State, Server, check, done, log, run_bash,  # noqa: E402
                             clean_env, curl)

t_start = time.monotonic()
st = State()
# one token per redemption, made before the flood (token create is a CLI run)
N_TOK = 150
lines = [st.token("test%d" % (1 + i % 3))[0] for i in range(N_TOK)]
log("made %d tokens in %.1f s" % (N_TOK, time.monotonic() - t_start))
srv = Server(st)
addrs = ["127.0.0.%d" % (11 + i) for i in range(N_ADDR)]
for a in addrs:
    s = socket.socket()
    s.bind((a, 0))
    s.close()

before = st.counts()
log_off = len(srv.log_text())
flood = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--flood",
                          str(st.port), str(FLOOD_S + 5)] + addrs,
                         stdout=subprocess.PIPE, text=True)
time.sleep(5)   # the flood reaches its full size
results = []
t_end = time.monotonic() + FLOOD_S - 5
i = 0
while time.monotonic() < t_end and i < N_TOK:
    cmd = lines[i].split(" | ")[0]
    cmd = cmd.replace("curl ", "curl --max-time 10 ", 1) + " | tar -tz > /dev/null"
    t0 = time.monotonic()
    p = run_bash("set -o pipefail; " + cmd, timeout=30, env=clean_env())
    dt = time.monotonic() - t0
    results.append((p.returncode, dt, p.stderr.decode(errors="replace").strip()))
    i += 1
    time.sleep(max(0.0, 0.4 - dt))
out, _ = flood.communicate(timeout=60)
fl = json.loads(out.strip().splitlines()[-1])
flood_log = srv.log_text()[log_off:].splitlines()

# ---- the numbers ------------------------------------------------------
n = len(results)
ok = [dt for rc, dt, _ in results if rc == 0 and dt <= LIMIT_S]
succeeded = sum(1 for rc, _, _ in results if rc == 0)
times = sorted(dt for _, dt, _ in results)
log("flood: %d addresses x %d slow connections for %d s: %s" %
    (N_ADDR, PER_ADDR, FLOOD_S, json.dumps(fl)))
log("redemptions: %d run, %d succeeded, %d within %.0f s; time median %.2f s, "
    "p95 %.2f s, max %.2f s" % (n, succeeded, len(ok), LIMIT_S,
                                times[n // 2] if n else -1,
                                times[min(n - 1, int(n * 0.95))] if n else -1,
                                times[-1] if n else -1))
for rc, dt, err in results:
    if rc != 0 or dt > LIMIT_S:
        log("  rc %d after %.2f s: %s" % (rc, dt, err[:200]))
redeem_lines = [l for l in flood_log if " /v1/bundle 200 " in l]
other = [l for l in flood_log if l not in redeem_lines]
kinds = {}
for l in other:
    k = re.sub(r"\d+(\.\d+)*", "N", l.split(" ", 1)[-1])[:90]
    kinds[k] = kinds.get(k, 0) + 1
log("log: %d lines during the flood, %d of them redemptions, %d about the flood"
    % (len(flood_log), len(redeem_lines), len(other)))
for k, c in sorted(kinds.items(), key=lambda x: -x[1])[:12]:
    log("  %5d  %s" % (c, k))

check(fl["max_held"] >= 500,
      "the flood was real: it held %d TLS connections at once (%d made)" %
      (fl["max_held"], fl["handshakes"]))
check(n >= 50, "%d redemptions ran during the flood" % n)
check(len(ok) >= 0.95 * n,
      "%d of %d redemptions (%.1f%%) succeeded within %.0f s (want >= 95%%)" %
      (len(ok), n, 100.0 * len(ok) / max(n, 1), LIMIT_S))
check(len(other) < 200, "%d log lines about the flood (want < 200)" % len(other))
after = st.counts()
check(after["issuance"] - before["issuance"] == succeeded,
      "the store holds exactly the %d successful redemptions" % succeeded)
s, _, mt = curl(srv.url + "/metrics")
mt = mt.decode()


def metric(name):
    m = re.search(r"(?m)^" + re.escape(name) + r" (\d+)$", mt)
    return int(m.group(1)) if m else -1


ev = metric("slipway_http_connections_evicted_total")
log("server: %d evicted, %d refused (per-address), %d refused (full), %d cut "
    "at their deadline" % (ev,
    metric('slipway_http_connections_refused_total{reason="per-address"}'),
    metric('slipway_http_connections_refused_total{reason="full"}'),
    metric("slipway_http_deadline_closed_total")))
check(ev > 0, "the flood was over --max-conns: connections were evicted (%d)" % ev)
s, _, _ = curl(srv.url + "/healthz")
check(s == 200, "after the flood /healthz answers 200")
check(st.run("audit", "verify", check_rc=False).returncode == 0,
      "the audit chain verifies")
check(srv.stop() == 0, "serve stops cleanly")
log("reliability_flood took %.0f s" % (time.monotonic() - t_start))
done()
