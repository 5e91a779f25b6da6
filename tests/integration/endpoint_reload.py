#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""endpoint_reload: serve renews its own certificate while it runs, and
hands the listening socket to a new network child without a refused or
failed request.

- load the whole time: clients on fresh TLS connections and one keep-alive
  client (which, like curl, retries once on a fresh connection when the
  server closed the one it reused) GET /v1/ca.pem; none may fail;
- SIGHUP with nothing changed: same child, "nothing to reload";
- `ca rotate begin`: the certificate still verifies against the current
  generation, so nothing changes;
- `ca rotate advance`: within the CA refresh interval, with no signal,
  the served certificate is a new one signed by the new generation (and
  not by the old), for the same key (the pin printed by `token create`
  still holds); the monitor is the same process, the network child a new
  one, the old child exits 0; `ca rotate finish` then needs no --force
  (serve's certificates supersede each other), and a token made before
  the rotation still redeems with its printed line;
- a request in flight at the handover (its body half sent) gets its
  answer from the old child (not 503, not a reset), with Connection:
  close; an idle keep-alive connection opened before it is answered once
  more, then closed;
- `serve rotate-key` + SIGHUP: a new pin; the line printed before fails
  in curl (pin mismatch, exit 90) and leaves its token unused; a new
  line works.
"""
import base64
import hashlib
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
from endpoint_common import (State, Server, check, done, log, run_bash,
                             clean_env)

st = State()
srv = Server(st, "--grace", "10s")
PORT = st.port
os.environ.pop("SSL_CERT_FILE", None)


def ctx():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def connect():
    return ctx().wrap_socket(socket.create_connection(("127.0.0.1", PORT),
                                                      timeout=20))


def served_der():
    s = connect()
    der = s.getpeercert(binary_form=True)
    s.close()
    return der


def pem(der):
    return ssl.DER_cert_to_PEM_cert(der)


def serial(der):
    p = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=pem(der),
                       capture_output=True, text=True, check=True)
    return p.stdout.strip().split("=")[1].lower()


def pin_of(der):
    spki = subprocess.run("openssl x509 -pubkey -noout | openssl pkey -pubin "
                          "-outform DER", shell=True, input=pem(der).encode(),
                          capture_output=True, check=True).stdout
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def verifies(der, ca_pem):
    d = os.path.join(st.tmp, "v")
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "ca.pem"), "w").write(ca_pem)
    open(os.path.join(d, "leaf.pem"), "w").write(pem(der))
    p = subprocess.run(["openssl", "verify", "-purpose", "sslserver",
                        "-CAfile", os.path.join(d, "ca.pem"),
                        os.path.join(d, "leaf.pem")], capture_output=True)
    return p.returncode == 0


def certs_of(bundle):
    return re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n",
                      bundle, re.S)


def child_pids():
    """serve's network children (not its renewal process, slipway-renew)."""
    out = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(srv.proc.pid)],
                         capture_output=True, text=True).stdout
    return sorted(int(line.split()[0]) for line in out.splitlines()
                  if line.split() and line.split()[-1] != "slipway-renew")


def hup():
    mark = len(srv.log_text())
    srv.proc.send_signal(signal.SIGHUP)
    return mark


# ---- load during everything below ---------------------------------------
stop = threading.Event()
stats = {"fresh_ok": 0, "fresh_fail": [], "ka_ok": 0, "ka_fail": [],
         "ka_reconnects": 0}
lock = threading.Lock()
REQ = b"GET /v1/ca.pem HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def read_response(s):
    """One HTTP/1.1 response with Content-Length: (status, headers, body)."""
    s.settimeout(20)
    data = b""
    while b"\r\n\r\n" not in data:
        b = s.recv(65536)
        if not b:
            raise ConnectionError("closed before a response")
        data += b
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hdr = {k.strip().lower(): v.strip() for k, _, v in
           (l.partition(":") for l in lines[1:])}
    n = int(hdr.get("content-length", "0"))
    while len(body) < n:
        b = s.recv(65536)
        if not b:
            raise ConnectionError("closed inside a body")
        body += b
    return int(lines[0].split()[1]), hdr, body


def answer_of(s, what):
    """(status, headers) of the next response on s; (0, {}) if none came."""
    try:
        code, hdr, _ = read_response(s)
        return code, hdr
    except Exception as e:
        log("%s: %r" % (what, e))
        return 0, {}


def fresh_client():
    while not stop.is_set():
        try:
            s = connect()
            s.sendall(REQ)
            code, _, _ = read_response(s)
            s.close()
            with lock:
                if code == 200:
                    stats["fresh_ok"] += 1
                else:
                    stats["fresh_fail"].append("status %d" % code)
        except Exception as e:
            with lock:
                stats["fresh_fail"].append(repr(e))


def keepalive_client():
    s = None
    while not stop.is_set():
        reused = s is not None
        try:
            if s is None:
                s = connect()
            s.sendall(REQ)
            code, hdr, _ = read_response(s)
        except Exception as e:
            if s is not None:
                s.close()
            s = None
            if reused:		# the server may close an idle connection
                with lock:
                    stats["ka_reconnects"] += 1
                continue
            with lock:
                stats["ka_fail"].append(repr(e))
            continue
        with lock:
            if code == 200:
                stats["ka_ok"] += 1
            else:
                stats["ka_fail"].append("status %d" % code)
        if hdr.get("connection", "").lower() == "close":
            s.close()
            s = None
        time.sleep(0.01)
    if s is not None:
        s.close()


threads = [threading.Thread(target=fresh_client) for _ in range(3)]
threads.append(threading.Thread(target=keepalive_client))
for t in threads:
    t.start()

try:
    # ---- SIGHUP, nothing changed -----------------------------------------
    d0 = served_der()
    kids0 = child_pids()
    check(len(kids0) == 1, "serve runs one network child (%s)" % kids0)
    check(pin_of(d0) == srv.pin, "the served key has the pin serve printed")
    line0, tok0, pin0 = st.token("test2")
    check(pin0 == srv.pin, "token create prints that pin")
    mark = hup()
    check(srv.wait_log(r"SIGHUP: the serving certificate \w+ is current; nothing "
                   r"to reload", mark, 10) is not None,
          "SIGHUP with nothing changed: 'nothing to reload'")
    check(child_pids() == kids0 and serial(served_der()) == serial(d0),
          "and the same child serves the same certificate")

    # ---- ca rotate begin: the current generation still signs ------------
    old_bundle = st.run("ca", "export", "--ca", "kubernetes").stdout
    st.run("ca", "rotate", "begin", "--ca", "kubernetes")
    mark = hup()
    check(srv.wait_log(r"nothing to reload", mark, 10) is not None and
          serial(served_der()) == serial(d0),
          "after 'ca rotate begin' the certificate stays")

    # ---- ca rotate advance: renewed by the new generation, no signal ----
    mark = len(srv.log_text())
    t_adv = time.monotonic()
    st.run("ca", "rotate", "advance", "--ca", "kubernetes")
    m = srv.wait_log(r"serving certificate renewed \(the CAs changed\): (\w+), "
                 r".*network child (\d+) took over from (\d+)", mark, 30)
    check(m is not None, "after 'ca rotate advance' serve renews its "
          "certificate by itself (%.1f s)" % (time.monotonic() - t_adv))
    d1 = served_der()
    new_bundle = st.run("ca", "export", "--ca", "kubernetes").stdout
    fresh = [c for c in certs_of(new_bundle) if c not in certs_of(old_bundle)]
    check(len(fresh) == 1, "the trust bundle gained exactly one CA")
    check(serial(d1) != serial(d0) and m is not None and
          serial(d1) == m.group(1), "a new certificate is served (%s)"
          % serial(d1))
    check(verifies(d1, fresh[0] if fresh else ""),
          "it verifies against the new generation alone")
    check(not verifies(d1, old_bundle), "and not against the old one")
    check(verifies(d0, old_bundle), "(the old certificate did)")
    check(pin_of(d1) == srv.pin, "same key: the printed pin still holds")
    check(srv.proc.poll() is None, "the monitor is the same process")
    if m is not None:
        new_kid, old_kid = int(m.group(2)), int(m.group(3))
        check(old_kid == kids0[0] and new_kid != old_kid,
              "a new network child took over from the old one")
        check(srv.wait_log(r"network child %d handed over \(exit status 0\)"
                       % old_kid, mark, 20) is not None,
              "the old child exited 0 after its handover")
        check(child_pids() == [new_kid], "one child left: the new one")
    p = st.run("ca", "rotate", "finish", "--ca", "kubernetes", check_rc=False)
    check(p.returncode == 0, "'ca rotate finish' needs no --force: serve's "
          "old certificate is superseded (%s)" % p.stderr.strip()[:200])
    r = run_bash(line0.split(" | ")[0] + " -o %s/b0.tgz" % st.tmp,
                 env=clean_env())
    check(r.returncode == 0 and os.path.getsize("%s/b0.tgz" % st.tmp) > 1000,
          "a token made before the rotation redeems with its printed line")

    # ---- in flight across a handover ------------------------------------
    st.run("serve", "rotate-key")
    body = b"-----BEGIN CERTIFICATE REQUEST-----\n" + b"A" * 400
    head = ("POST /v1/enroll HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            "0123456789abcdef.%s\r\nContent-Type: application/x-pem-file\r\n"
            "Content-Length: %d\r\n\r\n" % ("ab" * 20, 2 * len(body))).encode()
    ref = connect()		# the same request, no handover: the reference
    ref.sendall(head + body + body)
    ref_code, _, _ = read_response(ref)
    ref.close()
    idle = connect()
    idle.sendall(REQ)
    check(read_response(idle)[0] == 200, "a keep-alive connection is open")
    inflight = connect()
    inflight.sendall(head + body)
    time.sleep(0.3)
    mark = hup()
    m = srv.wait_log(r"serving certificate reloaded \(SIGHUP\): (\w+), .*pin "
                 r"sha256//(\S+) \(new key.*took over from (\d+)", mark, 30)
    check(m is not None, "rotate-key + SIGHUP: a new child with the new key")
    inflight.sendall(body)
    code, hdr = answer_of(inflight, "in-flight request")
    check(code == ref_code and code != 503,
          "the request in flight was answered by the old child (%d, as "
          "without a handover: %d)" % (code, ref_code))
    check(hdr.get("connection", "").lower() == "close",
          "with Connection: close")
    idle.sendall(REQ)
    code, hdr = answer_of(idle, "idle connection")
    check(code == 200 and hdr.get("connection", "").lower() == "close",
          "the idle keep-alive connection is answered once more, then closed")
    if m is not None:
        check(srv.wait_log(r"network child %s handed over \(exit status 0\)"
                       % m.group(3), mark, 20) is not None,
              "the old child exits once its connections are done")
        new_pin = m.group(2)
        check(new_pin != srv.pin and pin_of(served_der()) == new_pin,
              "the new key is served")
        line1, tok1, pin1 = st.token("test3")
        r = run_bash(line1.split(" | ")[0] + " -o %s/b1.tgz" % st.tmp,
                     env=clean_env())
        check(pin1 == new_pin and r.returncode == 0,
              "a line printed now carries the new pin and works")
    line2, tok2, pin2 = st.token("test1")
    r = run_bash(line2.replace(pin2, srv.pin).split(" | ")[0] +
                 " -o /dev/null", env=clean_env())
    check(pin2 != srv.pin and r.returncode == 90, "the same line with the "
          "old pin fails in curl (exit %d, 90 = pin mismatch)" % r.returncode)
    r = run_bash(line2.split(" | ")[0] + " -o /dev/null", env=clean_env())
    check(r.returncode == 0, "and its token was left unused: the line as "
          "printed redeems it")
finally:
    stop.set()
    for t in threads:
        t.join(30)

log("load during the test: %d fresh-connection and %d keep-alive requests "
    "answered 200, %d keep-alive reconnects" % (stats["fresh_ok"],
                                                 stats["ka_ok"],
                                                 stats["ka_reconnects"]))
check(not stats["fresh_fail"], "no request on a fresh connection failed (%s)"
      % stats["fresh_fail"][:3])
check(not stats["ka_fail"], "no keep-alive request failed (%s)"
      % stats["ka_fail"][:3])
check(stats["fresh_ok"] > 100 and stats["ka_ok"] > 20,
      "the load ran throughout")
check(srv.stop() == 0, "serve stops with status 0")
done()
