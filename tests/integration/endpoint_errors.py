#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""endpoint_errors: every error a client sees is {"error": "..."}.

Raw requests over TLS (Python's ssl, and openssl s_client for a few) to a
real `slipway serve`: malformed request lines and header fields, bare
LFs, no Host, `Content-Length: -1` (libmicrohttpd 0.9.75 alone answers it
in HTML with its header block twice), lengths too large, request lines
and header blocks too large, unknown transfer codings, HTTP/2.0, bodies
where none is taken, and the application's own 401/404/405/413/429. Each
answer: one status line and one header block, no field twice,
Content-Type application/json, a body of Content-Length bytes that is a
JSON object with one string "error", and the connection closed after the
malformed ones.

Bodies on GET: `GET /v1/bundle` with a good token and a 10 MB body (curl,
a declared length, chunked) is refused with 413 before the body is read
and the token stays active; the same token then redeems. A chunked
enroll body is cut at 64 KiB without being read to its end.
"""
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from endpoint_common import (State, Server, check, done, log, curl, run_bash,
                             clean_env)

st = State()
srv = Server(st, "--fail-limit", "3")
port = st.port


def tls():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx.wrap_socket(socket.create_connection(("127.0.0.1", port),
                                                    timeout=20))


def read_answer(s):
    """Everything until the server closes (or 5 s of silence): bytes, closed."""
    s.settimeout(5)
    data, closed = b"", False
    try:
        while True:
            b = s.recv(65536)
            if not b:
                closed = True
                break
            data += b
    except socket.timeout:
        pass
    except (ssl.SSLError, OSError):
        closed = True
    return data, closed


def raw(req):
    s = tls()
    s.sendall(req)
    data, closed = read_answer(s)
    s.close()
    return data, closed


def parse(data):
    """(status, [(name, value)], body) of one answer, or None."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.1 (\d{3}) ", lines[0])
    if m is None:
        return None
    fields = [tuple(x.strip() for x in l.split(":", 1)) for l in lines[1:]]
    return int(m.group(1)), fields, body


def json_error(name, data, want, closes=True, reason=None):
    """Checks one answer as described in the module docstring."""
    p = parse(data)
    if p is None:
        return check(False, "%s: an HTTP answer (got %r)" % (name, data[:80]))
    status, fields, body = p
    names = [k.lower() for k, _ in fields]
    h = dict((k.lower(), v) for k, v in fields)
    try:
        j = json.loads(body[:int(h.get("content-length", "-1"))])
        err = j.get("error") if list(j) == ["error"] else None
    except (ValueError, AttributeError):
        err = None
    # one header block: a second one would be left over after the body
    ok = (status == want and len(names) == len(set(names)) and
          h.get("content-type") == "application/json" and
          len(body) == int(h.get("content-length", "-1")) and
          isinstance(err, str) and (reason is None or reason in err))
    if closes:
        ok = ok and h.get("connection", "").lower() == "close"
    return check(ok, "%s: %d %s" % (name, status, body.strip().decode(
        "latin-1")[:100]))


good_line, good, _ = st.token("test1")
gid = good.split(".")[0]


def state_of(tid):
    return {t["id"]: t["state"] for t in st.tokens()}[tid]


before = st.counts()

# ---- malformed requests: answered by slipway before libmicrohttpd ----
big_target = b"/" + b"a" * 3000
cases = [
    ("no HTTP version", b"GET /healthz\r\n\r\n", 400, "request line"),
    ("bare LF", b"GET /healthz HTTP/1.1\nHost: x\n\n", 400, "CRLF"),
    ("no Host (HTTP/1.1)", b"GET /healthz HTTP/1.1\r\n\r\n", 400, "Host"),
    ("two Hosts", b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
     400, "Host"),
    ("Content-Length: -1", b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: -1\r\n\r\n", 400, "Content-Length"),
    ("Content-Length: abc", b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: abc\r\n\r\n", 400, "Content-Length"),
    ("two Content-Lengths", b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nx", 400, "Content-Length"),
    ("Content-Length and chunked", b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
     "Transfer-Encoding"),
    ("space before a colon", b"GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n",
     400, "colon"),
    ("a header field without a colon", b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
     b"garbage\r\n\r\n", 400, "header field"),
    ("a folded header field", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: a\r\n"
     b" b\r\n\r\n", 400, "folded"),
    ("a NUL in a header field", b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
     b"X: a\x00b\r\n\r\n", 400, "control"),
    ("not HTTP at all", b"\x00\x01\x02\x03\r\n\r\n", 400, None),
    ("Content-Length too large", b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: 99999999999999999999999\r\n\r\n", 413, "too large"),
    ("request line too long", b"GET " + big_target + b" HTTP/1.1\r\n"
     b"Host: x\r\n\r\n", 414, "too long"),
    ("too many query arguments", b"GET /v1/bundle?" + b"&".join(
        b"a=%d" % i for i in range(40)) + b" HTTP/1.1\r\nHost: x\r\n\r\n",
     414, "arguments"),
    ("a 9,000-byte header field", b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
     b"X-Big: " + b"a" * 9000 + b"\r\n\r\n", 431, "too large"),
    ("70 header fields", b"GET /healthz HTTP/1.1\r\nHost: x\r\n" +
     b"".join(b"X-%d: y\r\n" % i for i in range(70)) + b"\r\n", 431,
     "too large"),
    ("Transfer-Encoding: gzip", b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: gzip\r\n\r\n", 501, "chunked"),
    ("HTTP/2.0", b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505,
     "version"),
    ("HTTP/0.9", b"GET /healthz HTTP/0.9\r\n\r\n", 505, "version"),
    ("a token and a malformed request",
     b"GET /v1/bundle HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
     good.encode() + b"\r\nContent-Length: -1\r\n\r\n", 400,
     "Content-Length"),
]
for name, req, want, reason in cases:
    data, closed = raw(req)
    json_error(name, data, want, reason=reason)
    check(closed, "%s: the connection is closed after it" % name)

# the same through openssl s_client (stdin verbatim; it exits when the
# server closes)
for name, req, want in (
        ("s_client: Content-Length: -1", b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
         b"Content-Length: -1\r\n\r\n", 400),
        ("s_client: HTTP/2.0", b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n",
         505),
        ("s_client: no Host", b"GET /v1/ca.pem HTTP/1.1\r\n\r\n", 400),
        ("s_client: a 9,000-byte header field", b"GET /healthz HTTP/1.1\r\n"
         b"Host: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431)):
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                        "-quiet", "-ign_eof"], input=req, capture_output=True,
                       timeout=30)
    json_error(name, p.stdout, want)

# ---- the application's own errors -------------------------------------
s, h, b = curl(srv.url + "/nope")
json_error("GET /nope", (b"HTTP/1.1 %d x\r\n" % s) + b"".join(
    ("%s: %s\r\n" % kv).encode() for kv in h.items()) + b"\r\n" + b, 404,
    closes=False)
data, _ = raw(b"DELETE /v1/bundle HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
json_error("DELETE /v1/bundle", data, 405, reason="method")
check(b"\r\nAllow: GET\r\n" in data, "405 says Allow: GET")
data, _ = raw(b"GET /v1/bundle HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
json_error("no token", data, 401, reason="token")
check(b"\r\nWWW-Authenticate: Bearer\r\n" in data, "401 says WWW-Authenticate: Bearer")
data, _ = raw(b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
              good.encode() + b"\r\nContent-Length: 70000\r\n\r\n")
json_error("enroll declaring 70,000 bytes", data, 413, reason="65536")

# ---- bodies where none is taken, with a good token --------------------
t0 = time.monotonic()
data, closed = raw(b"GET /v1/bundle HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                   good.encode() + b"\r\nContent-Length: 10485760\r\n\r\n")
json_error("GET /v1/bundle declaring a 10 MB body (none sent)", data, 413,
           reason="no request body")
check(closed and time.monotonic() - t0 < 5,
      "answered and closed at once, without waiting for the body (%.2f s)" %
      (time.monotonic() - t0))
data, _ = raw(b"GET /v1/bundle HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
              good.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"4\r\nabcd\r\n0\r\n\r\n")
json_error("GET /v1/bundle with a chunked body", data, 413,
           reason="no request body")
big = os.path.join(st.tmp, "10mb")
with open(big, "wb") as f:
    f.write(os.urandom(1 << 20) * 10)
for name, extra in (("curl -X GET --data-binary @10MB", []),
                    ("curl, the same chunked", ["-H", "Transfer-Encoding: chunked"])):
    t0 = time.monotonic()
    p = subprocess.run(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}",
                        "--max-time", "20", "-X", "GET", "--data-binary",
                        "@" + big, "-H", "Authorization: Bearer " + good] +
                       extra + [srv.url + "/v1/bundle"],
                       capture_output=True, text=True, timeout=40)
    dt = time.monotonic() - t0
    check(p.stdout != "200" and dt < 10,
          "%s: not redeemed (curl rc %d, HTTP %s) after %.2f s" %
          (name, p.returncode, p.stdout, dt))
check(state_of(gid) == "active", "after all that the token is still active")
check(st.counts() == before, "and nothing was written to the store")

# a chunked enroll body is cut at 64 KiB: no need to send the rest
s = tls()
s.sendall(b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
          good.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
sent = 0
try:
    # 80 KiB and then nothing: the answer must not wait for the end
    for i in range(5):
        s.sendall(b"4000\r\n" + b"x" * 0x4000 + b"\r\n")
        sent += 0x4000
except OSError:
    pass
data, closed = read_answer(s)
s.close()
json_error("a chunked enroll body past 64 KiB (%d KiB sent)" % (sent // 1024),
           data, 413, reason="too large")
check(closed, "and the connection is closed")

p = run_bash(good_line.split(" | ")[0] + " | tar -tz > /dev/null", env=clean_env())
check(p.returncode == 0, "the same token then redeems (the one-liner)")
check(state_of(gid) == "used", "and is used")

# ---- 429, after --fail-limit 3 failures -------------------------------
for i in range(3):
    curl(srv.url + "/v1/bundle", token="0123456789abcdef." + "%040x" % i)
data, _ = raw(b"GET /v1/bundle HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
              b"Authorization: Bearer 0123456789abcdef." + b"e" * 40 + b"\r\n\r\n")
json_error("a 4th failed token attempt", data, 429, reason="too many")
check(re.search(rb"\r\nRetry-After: \d+\r\n", data) is not None,
      "429 says Retry-After")

# ---- what the server kept of it ---------------------------------------
m = curl(srv.url + "/metrics")[2].decode()
n400 = re.search(r'slipway_http_requests_total\{endpoint="other",code="400"\} (\d+)', m)
check(n400 is not None and int(n400.group(1)) >= 13,
      "metrics count the malformed requests (400: %s)" % (n400 and n400.group(1)))
logtext = srv.log_text()
shown = logtext.count("(answered before parsing)")
check(0 < shown <= 5, "the log shows %d of the malformed requests (at most 5 "
      "a kind every 10 s; the rest are counted)" % shown)
check(good.split(".")[1] not in logtext, "no token secret in the log")
check(srv.stop() == 0, "serve stops cleanly")
done()
