#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""endpoint_hardening: the daemon around the endpoint, as root on loopback.

- started as root it drops to an unprivileged user after binding (even a
  port below 1024): uid/gid/groups, no capabilities, no_new_privs, and it
  still redeems (the store stays writable through the open environment);
  --user root is refused;
- readiness: READY=1 (with its MAINPID) on $NOTIFY_SOCKET, path or
  abstract, plus the "ready" line; STOPPING=1 on SIGTERM;
- SIGTERM while a request is in flight: that request is answered in full,
  new connections are refused, exit status 0, the store is consistent;
- slowloris: a client trickling its headers is cut at --request-timeout,
  not kept alive by the idle timeout; so is a TCP connection that never
  starts TLS; and --max-per-address caps connections per client.
"""
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from endpoint_common import (State, Server, check, done, log, curl, free_port,
                             run_bash, clean_env)

st = State()


def status_of(pid):
    txt = open("/proc/%d/status" % pid).read()
    return {k: v.strip() for k, v in re.findall(r"(?m)^(\w+):[ \t]*(.*)$", txt)}


def tls(port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=20)
    return ctx.wrap_socket(raw)


def read_all(s, timeout=20):
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except (socket.timeout, ssl.SSLError, OSError):
        pass
    return data


# ---- privileges -------------------------------------------------------
check(os.geteuid() == 0, "this test runs as root")
low = None
for cand in range(700, 1000, 7):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", cand))
        low = cand
        break
    except OSError:
        pass
    finally:
        s.close()
srv = Server(st, port=low)
import pwd
want = pwd.getpwnam("slipway") if "slipway" in [p.pw_name for p in pwd.getpwall()] \
    else pwd.getpwnam("nobody")
ps = status_of(srv.proc.pid)
uids = ps["Uid"].split()
gids = ps["Gid"].split()
check(all(int(u) == want.pw_uid for u in uids),
      "serve runs as %s after binding port %d (Uid: %s)" % (want.pw_name, low, ps["Uid"]))
check(all(int(g) == want.pw_gid for g in gids), "and its group (Gid: %s)" % ps["Gid"])
check(ps.get("Groups", "") == "", "no supplementary groups")
check(int(ps["CapEff"], 16) == 0 and int(ps["CapPrm"], 16) == 0,
      "no capabilities (CapEff %s)" % ps["CapEff"])
check(ps.get("NoNewPrivs") == "1", "no_new_privs is set")
threads = os.listdir("/proc/%d/task" % srv.proc.pid)
check(all(status_of_t.split()[0] == str(want.pw_uid) for status_of_t in
          [re.search(r"(?m)^Uid:\s*(.*)$", open("/proc/%d/task/%s/status" %
                     (srv.proc.pid, t)).read()).group(1) for t in threads]),
      "every one of its %d threads too" % len(threads))
line, token, _ = st.token("test1")
line = line.replace(":%d/" % st.port, ":%d/" % low)
p = run_bash(line.split(" | ")[0] + " | tar -tz > /dev/null", env=clean_env())
check(p.returncode == 0, "after the drop it still redeems a token (store writable)")
check(srv.stop() == 0, "and stops cleanly")
p = st.run("serve", "--listen", "127.0.0.1:%d" % free_port(), "--user", "root",
           check_rc=False, timeout=30)
check(p.returncode != 0 and "root" in p.stderr and len(p.stderr.strip().splitlines()) == 1,
      "--user root is refused with one line: %s" % p.stderr.strip())

# ---- readiness --------------------------------------------------------
for kind in ("path", "abstract"):
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if kind == "path":
        addr = os.path.join(st.tmp, "notify.sock")
        ns.bind(addr)
        env_addr = addr
    else:
        name = "slipway-test-%d" % os.getpid()
        ns.bind("\0" + name)
        env_addr = "@" + name
    os.chmod(st.tmp, 0o755)
    ns.settimeout(20)
    env = dict(os.environ, NOTIFY_SOCKET=env_addr)
    srv = Server(st, env=env)
    msg = ns.recv(4096).decode()
    check("READY=1" in msg and ("MAINPID=%d" % srv.proc.pid) in msg,
          "%s NOTIFY_SOCKET gets READY=1 with MAINPID: %r" % (kind, msg))
    srv.proc.send_signal(signal.SIGTERM)
    msg = ns.recv(4096).decode()
    check("STOPPING=1" in msg, "SIGTERM sends STOPPING=1")
    check(srv.stop() == 0, "exit status 0")
    ns.close()

# ---- SIGTERM with a request in flight ---------------------------------
srv = Server(st)
key = os.path.join(st.tmp, "k.pem")
csr = os.path.join(st.tmp, "c.csr")
subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout",
                "-out", key], check=True)
subprocess.run(["openssl", "req", "-new", "-key", key, "-subj",
                "/O=system:nodes/CN=system:node:test2", "-out", csr], check=True)
body = open(csr, "rb").read()
tok = st.token_json("test2")["token"]
before = st.db_entries("issuance")
c = tls(st.port)
c.sendall(("POST /v1/enroll HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Content-Type: application/pkcs10\r\nContent-Length: %d\r\n"
           "Connection: close\r\n\r\n" % (tok, len(body))).encode())
c.sendall(body[:100])
time.sleep(0.5)
srv.proc.send_signal(signal.SIGTERM)
time.sleep(1.0)
refused = False
try:
    socket.create_connection(("127.0.0.1", st.port), timeout=5).close()
except OSError:
    refused = True
check(refused, "after SIGTERM new connections are refused")
check(srv.proc.poll() is None, "serve waits for the request in flight")
c.sendall(body[100:])
answer = read_all(c)
c.close()
check(answer.startswith(b"HTTP/1.1 200") and b"BEGIN CERTIFICATE" in answer,
      "the request in flight is answered in full (%r)" % answer[:40])
rc = srv.stop(timeout=40)
check(rc == 0, "then serve exits with status 0")
check(st.db_entries("issuance") == before + 1, "its issuance is recorded")
check(st.run("audit", "verify", check_rc=False).returncode == 0, "the audit chain verifies")

# ---- slowloris and connection limits ----------------------------------
srv = Server(st, "--request-timeout", "3s", "--idle-timeout", "10s",
             "--max-per-address", "4")
c = tls(st.port)
c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
t0 = time.monotonic()
closed_after = None
try:
    for i in range(30):
        c.sendall(b"X")
        time.sleep(0.5)
except (OSError, ssl.SSLError):
    closed_after = time.monotonic() - t0
if closed_after is None:
    # the peer may have closed without a write failing yet
    c.settimeout(5)
    try:
        closed_after = time.monotonic() - t0 if c.recv(1) == b"" else None
    except (OSError, ssl.SSLError):
        closed_after = time.monotonic() - t0
c.close()
check(closed_after is not None and closed_after < 9,
      "a client trickling its headers is cut at the request deadline (%.1f s; "
      "idle timeout 10 s)" % (closed_after or -1))
raw = socket.create_connection(("127.0.0.1", st.port), timeout=20)
t0 = time.monotonic()
raw.settimeout(20)
try:
    got = raw.recv(1)
except OSError:
    got = b""
t_raw = time.monotonic() - t0
raw.close()
check(got == b"" and t_raw < 9, "a TCP connection that never starts TLS is cut too (%.1f s)" % t_raw)
m = curl(srv.url + "/metrics")[2].decode()
n = re.search(r"slipway_http_deadline_closed_total (\d+)", m)
check(n is not None and int(n.group(1)) >= 2, "metrics count the deadline closes")
conns = [socket.create_connection(("127.0.0.1", st.port), timeout=5) for _ in range(4)]
time.sleep(0.3)
fifth = socket.create_connection(("127.0.0.1", st.port), timeout=5)
fifth.settimeout(5)
try:
    extra = fifth.recv(1)
except OSError:
    extra = b""
check(extra == b"", "--max-per-address 4: a 5th connection from 127.0.0.1 is closed at once")
for x in conns + [fifth]:
    x.close()
time.sleep(0.3)
s, _, _ = curl(srv.url + "/healthz")
check(s == 200, "once they are gone, new connections are served")
logtext = srv.log_text()
check(tok.split(".")[1] not in logtext and token.split(".")[1] not in logtext and
      "PRIVATE KEY" not in logtext, "no token secret or key in any log line")
check(srv.stop() == 0, "serve stops cleanly")
done()
