#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""endpoint_renew: serve renews its serving certificate by itself when its
end nears, while serving, with no signal and no failed request.

The monitor runs under libfaketime (LD_PRELOAD, the clock read from a file
on every call), so the test moves serve's clock forward while it runs; the
network child is re-executed with an empty environment and keeps the real
clock, as do the clients. The certificate is valid for 365 days and
renewed when fewer than 30 are left:

- +300 days (65 left): SIGHUP finds it current; nothing changes;
- +340 days (25 left): within seconds, without a signal, the periodic check
  renews it for the same key (the pin holds), valid 365 days from serve's
  new now, and a new network child serves it; a client loop on fresh
  connections sees no failure throughout;
- the daily token prune: tokens that ended over 30 days before serve's now
  (one used, one revoked, one expired unused, all made at the real now)
  lose their records, with one audit record, while a token made on serve's
  clock stays active and still redeems; the audit chain verifies.
`token prune` itself: a bad --older-than is one usage error and changes
nothing; the default (30d) keeps what ended today; 0s prunes it.
"""
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from endpoint_common import State, Server, check, done, log

LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
if not os.path.exists(LIB):
    raise SystemExit("libfaketime is not installed (scripts/setup.sh installs it)")

st = State()
clock = os.path.join(st.tmp, "faketime")
open(clock, "w").write("+0d\n")
os.chmod(clock, 0o644)
env = dict(os.environ, LD_PRELOAD=LIB, FAKETIME_TIMESTAMP_FILE=clock,
           FAKETIME_NO_CACHE="1")
# tokens that will have ended long before serve's clock moves: used,
# revoked, and never used (expires in 15 minutes of real time)
t_used = st.token_json("test1")
t_rev = st.token_json("test2")
t_exp = st.token_json("test3")
st.run("token", "revoke", t_rev["id"])
srv = Server(st, "--grace", "10s", env=env)
r = subprocess.run(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                    "Authorization: Bearer " + t_used["token"],
                    srv.url + "/v1/bundle"], capture_output=True, text=True)
check(r.stdout == "200", "a token redeems before the clock moves")


def served():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    s = c.wrap_socket(socket.create_connection(("127.0.0.1", st.port), timeout=20))
    der = s.getpeercert(binary_form=True)
    s.close()
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run(["openssl", "x509", "-noout", "-serial", "-enddate"],
                         input=pem, capture_output=True, text=True,
                         check=True).stdout
    pin = subprocess.run("openssl x509 -pubkey -noout | openssl pkey -pubin "
                         "-outform DER | openssl dgst -sha256 -binary | base64",
                         shell=True, input=pem, capture_output=True, text=True,
                         check=True).stdout.strip()
    serial = re.search(r"serial=(\w+)", out).group(1).lower()
    end = re.search(r"notAfter=(.+)", out).group(1)
    t = ssl.cert_time_to_seconds(end)
    return serial, t, pin


stop = threading.Event()
res = {"ok": 0, "fail": []}


def client():
    req = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    while not stop.is_set():
        try:
            s = c.wrap_socket(socket.create_connection(("127.0.0.1", st.port),
                                                       timeout=20))
            s.sendall(req)
            data = b""
            while True:
                b = s.recv(4096)
                if not b:
                    break
                data += b
            s.close()
            if data.startswith(b"HTTP/1.1 200"):
                res["ok"] += 1
            else:
                res["fail"].append(data[:40])
        except Exception as e:
            res["fail"].append(repr(e))


threads = [threading.Thread(target=client) for _ in range(2)]
for t in threads:
    t.start()
try:
    s0, end0, pin0 = served()
    check(pin0 == srv.pin, "serve's key has the pin it printed")
    days = (end0 - time.time()) / 86400
    check(364 < days <= 366, "the certificate is valid for 365 days (%.1f)" % days)
    # its network child (not the renewal process, slipway-renew)
    kids0 = [line.split()[0] for line in
             subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(srv.proc.pid)],
                            capture_output=True, text=True).stdout.splitlines()
             if line.split() and line.split()[-1] != "slipway-renew"]

    open(clock, "w").write("+300d\n")
    mark = len(srv.log_text())
    srv.proc.send_signal(signal.SIGHUP)
    check(srv.wait_log(r"SIGHUP: the serving certificate %s is current" % s0, mark,
                   10) is not None, "+300 days (65 left): SIGHUP finds it current")
    check(served()[0] == s0, "and the same certificate is served")

    open(clock, "w").write("+340d\n")
    mark = len(srv.log_text())
    t0 = time.monotonic()
    m = srv.wait_log(r"serving certificate renewed \(periodic check\): (\w+), "
                 r"valid until (\S+), pin sha256//(\S+) \(unchanged\); "
                 r"network child (\d+) took over from (\d+)", mark, 90)
    check(m is not None, "+340 days (25 left): renewed by the periodic check, "
          "no signal (%.1f s)" % (time.monotonic() - t0))
    s1, end1, pin1 = served()
    check(s1 != s0 and m is not None and s1 == m.group(1),
          "a new certificate is served (%s)" % s1)
    days = (end1 - time.time()) / 86400
    check(340 + 364 < days <= 340 + 366, "valid 365 days from serve's clock "
          "(%.1f days from the real now)" % days)
    check(pin1 == pin0, "for the same key: the printed pin holds")
    if m is not None:
        check(kids0 == [m.group(5)] and m.group(4) != m.group(5),
              "a new network child took over")
        check(srv.wait_log(r"network child %s handed over \(exit status 0\)"
                       % m.group(5), mark, 20) is not None,
              "the old child exited 0")
    check(srv.proc.poll() is None, "the monitor kept running")
    time.sleep(0.5)

    # ---- the daily prune (serve's monotonic clock jumped as well) -----
    m = srv.wait_log(r"pruned (\d+) token record\(s\) that ended over 30 days "
                 r"ago \((\d+) used, (\d+) expired, (\d+) revoked", 0, 20)
    check(m is not None and m.groups() == ("3", "1", "1", "1"),
          "serve's daily prune removed the 3 ended token records (%s)"
          % ((m.groups() if m else None),))
    ids = {t["id"] for t in st.tokens()}
    check(not ids & {t_used["id"], t_rev["id"], t_exp["id"]},
          "token list no longer shows them")
    check("token.prune" in st.run("audit", "list").stdout,
          "the audit log has the token.prune record")
    check(st.run("audit", "verify", check_rc=False).returncode == 0,
          "and its chain verifies")
    check(st.db_entries("issuance") == 1, "the issuance record stays")
    # a token minted on serve's clock is active there, and redeems
    fake = st.run("--json", "token", "create", "--node", "test1", env=env)
    tok = __import__("json").loads(fake.stdout)["token"]
    r = subprocess.run(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}",
                        "-H", "Authorization: Bearer " + tok,
                        srv.url + "/v1/bundle"], capture_output=True, text=True)
    check(r.stdout == "200", "a token made on serve's clock redeems after it")
finally:
    stop.set()
    for t in threads:
        t.join(30)
log("clients: %d requests answered 200" % res["ok"])
check(not res["fail"], "no request failed (%s)" % res["fail"][:3])
check(res["ok"] > 20, "the clients ran throughout")
check(srv.stop() == 0, "serve stops with status 0")

# ---- token prune on the console (real clock) ---------------------------
t_a = st.token_json("test2")
st.run("token", "revoke", t_a["id"])
before = st.counts()
for bad in ("soon", "-1d", "36501d", ""):
    p = st.run("token", "prune", "--older-than", bad, check_rc=False)
    check(p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and
          st.counts() == before, "token prune --older-than '%s': one usage "
          "error, nothing changed" % bad)
p = st.run("--json", "token", "prune")
j = __import__("json").loads(p.stdout)
check(j["pruned"] == 0 and j["kept"] >= 1, "token prune (30d) keeps a token "
      "revoked just now (%s)" % j)
p = st.run("--json", "token", "prune", "--older-than", "0s")
j = __import__("json").loads(p.stdout)
check(j["pruned"] >= 1 and j["revoked"] >= 1 and
      t_a["id"] not in {t["id"] for t in st.tokens()},
      "token prune --older-than 0s prunes it (%s)" % j)
check(st.run("audit", "verify", check_rc=False).returncode == 0,
      "the audit chain still verifies")
done()
