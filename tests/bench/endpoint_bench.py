#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""endpoint_bench: figures for the HTTPS endpoint, each next to a reference
measured in the same run on the same machine. Prints; asserts no time.

1. worker-bundle redemptions per second (endpoint_load, one new TLS
   connection per redemption, client and server sharing the cores), next
   to the same pool against refused tokens (TLS + check only), with the
   per-operation breakdown from endpoint_ops and the ceiling the crypto
   alone allows on this many cores;
2. GET /v1/ca.pem over TLS keep-alive with wrk against slipway serve and
   against nginx serving the same bytes with a certificate of the same
   kind from the same CA;
3. idle RSS of serve's two processes, the monitor and the network child
   (with PSS, anonymous memory, and the RSS of `slipway --help`, which
   maps the same libraries and does nothing);
4. time from exec to the first successful HTTPS request, for serve and
   for nginx.

Environment: SLIPWAY, ENDPOINT_LOAD, SLW_BUILD (for endpoint_ops);
BENCH_TOKENS (default 1500), BENCH_SECONDS (wrk, default 10).
"""
import concurrent.futures
import json
import os
import re
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from endpoint_common import State, Server, log, load_client, free_port, SLIPWAY, BUILD

TOKENS = int(os.environ.get("BENCH_TOKENS", "1500"))
WRK_S = int(os.environ.get("BENCH_SECONDS", "10"))
CPUS = os.cpu_count() or 1
WORKERS = 200


def cpu_ticks(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])


def tree_ticks(pids):
    return sum(cpu_ticks(p) for p in pids)


def loadavg():
    return open("/proc/loadavg").read().split()[0]


def get_ok(port, path="/healthz"):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
            # as curl does: else, after a TLS 1.3 handshake, the request
            # waits for the server's delayed ACK (40 ms) with a server that
            # sends no session ticket (GnuTLS here; nginx sends two)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with ctx.wrap_socket(raw) as s:
                s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                           % path).encode())
                return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def wait_first(port, t0, limit=20):
    while time.monotonic() - t0 < limit:
        if get_ok(port):
            return time.monotonic() - t0
        time.sleep(0.001)
    return None


log("machine: %d CPUs, load average %s (the cores are shared with whatever "
    "else runs)" % (CPUS, loadavg()))
st = State(workers=WORKERS)
ca_pem = st.run("ca", "export").stdout

# ---- 1. redemptions per second --------------------------------------------
def make(i):
    return st.token_json("w%04d" % (i % WORKERS + 1))["token"]


with concurrent.futures.ThreadPoolExecutor(4) as ex:
    tokens = list(ex.map(make, range(TOKENS)))
tok_path = os.path.join(st.tmp, "tokens.txt")
open(tok_path, "w").write("\n".join(tokens) + "\n")
bad_path = os.path.join(st.tmp, "bad.txt")
open(bad_path, "w").write("\n".join("%016x.%040x" % (i, i) for i in range(TOKENS)) + "\n")

srv = Server(st, "--fail-limit", "0", "--max-per-address", "1024")


def children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)],
                         capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def pool(path):
    # serve is two processes: the monitor and its network child
    pids = [srv.proc.pid] + children(srv.proc.pid)
    c0 = tree_ticks(pids)
    p = subprocess.run([load_client(), "--url", srv.url + "/v1/bundle", "--tokens",
                        path, "--per-token", "1", "--concurrency", "32",
                        "--timeout", "120"], capture_output=True, text=True,
                       timeout=1800)
    c1 = tree_ticks(pids)
    r = json.loads(p.stdout)
    hz = os.sysconf("SC_CLK_TCK")
    r["server_cpu_ms_per_request"] = (c1 - c0) / hz * 1e3 / max(1, r["requests"])
    return r


ref = pool(bad_path)
red = pool(tok_path)
log("refused tokens (TLS handshake + token check): %.0f requests/s, server "
    "CPU %.2f ms each" % (ref["requests_per_s"], ref["server_cpu_ms_per_request"]))
log("worker-bundle redemptions: %.0f/s (%d of %d succeeded, %d network errors), "
    "server CPU %.2f ms each" % (red["successes_per_s"], red["status"].get("200", 0),
                                 TOKENS, red["network_errors"],
                                 red["server_cpu_ms_per_request"]))
log("ratio redemptions / refused requests: %.2f; target 2000/s -> %.2f of target"
    % (red["successes_per_s"] / ref["requests_per_s"], red["successes_per_s"] / 2000))
srv.stop()

ops_bin = os.path.join(BUILD, "tests", "bench", "endpoint_ops")
if os.path.exists(ops_bin):
    p = subprocess.run([ops_bin, st.dir, "w0001", "1"], capture_output=True,
                       text=True, timeout=600)
    if p.returncode == 0:
        ops = json.loads(p.stdout)
        ms = ops["ms"]
        crypto = ms["p256_keygen"] + ops["certificates"] * ms["sign"]
        log("per operation, one core (ms): %s" % json.dumps(ms))
        log("a worker bundle: %d certificates (one key), %d files, %d bytes gzip"
            % (ops["certificates"], ops["files"], ops["targz_bytes"]))
        log("crypto alone (1 P-256 keygen + %d signatures) = %.2f ms -> at most "
            "%.0f redemptions/s on %d cores with nothing else running"
            % (ops["certificates"], crypto, CPUS * 1e3 / crypto, CPUS))
        log("render + tar.gz + shared commit + server TLS = %.2f ms -> at most "
            "%.0f/s on %d cores without the clients"
            % (ms["bundle_render"] + ms["targz"] + ms["commit_8_threads"] +
               ref["server_cpu_ms_per_request"],
               CPUS * 1e3 / (ms["bundle_render"] + ms["targz"] +
                             ms["commit_8_threads"] + ref["server_cpu_ms_per_request"]),
               CPUS))
    else:
        log("endpoint_ops failed: " + p.stderr)

# ---- nginx reference: same bytes, same kind of certificate, same CA --------
prefix = os.path.join(st.tmp, "nginx")
os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
os.chmod(st.tmp, 0o755)
os.chmod(prefix, 0o755)
st.run("cert", "issue", "--profile", "server", "--cn", "slipway", "--san",
       "IP:127.0.0.1", "--san", "DNS:localhost", "--key-type", "ecdsa-p256",
       "--out", os.path.join(prefix, "serve"))
os.makedirs(os.path.join(prefix, "www", "v1"), exist_ok=True)
open(os.path.join(prefix, "www", "v1", "ca.pem"), "w").write(ca_pem)
for root, dirs, files in os.walk(prefix):
    for d in dirs:
        os.chmod(os.path.join(root, d), 0o755)
    for f in files:
        os.chmod(os.path.join(root, f), 0o644)
nport = free_port()
conf = os.path.join(prefix, "nginx.conf")
open(conf, "w").write("""
worker_processes %d;
daemon off;
master_process on;
pid %s/nginx.pid;
error_log %s/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 60;
  client_body_temp_path %s/tmp-body;
  proxy_temp_path %s/tmp-proxy;
  fastcgi_temp_path %s/tmp-fcgi;
  uwsgi_temp_path %s/tmp-uwsgi;
  scgi_temp_path %s/tmp-scgi;
  types { application/x-pem-file pem; }
  server {
    listen 127.0.0.1:%d ssl;
    ssl_certificate %s/serve.pem;
    ssl_certificate_key %s/serve-key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305;
    ssl_prefer_server_ciphers on;
    ssl_conf_command Ciphersuites TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256;
    root %s/www;
    location = /healthz { return 200 "ok\\n"; }
  }
}
""" % ((CPUS,) + (prefix,) * 7 + (nport, prefix, prefix, prefix)))


def start_nginx():
    t0 = time.monotonic()
    p = subprocess.Popen(["nginx", "-c", conf, "-p", prefix, "-e",
                          os.path.join(prefix, "logs", "error.log")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = wait_first(nport, t0)
    return p, first


def stop_nginx(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(10)


def rss_kb(pid, key="VmRSS"):
    m = re.search(r"(?m)^%s:\s+(\d+) kB" % key, open("/proc/%d/status" % pid).read())
    return int(m.group(1)) if m else 0


def pss_kb(pid):
    m = re.search(r"(?m)^Pss:\s+(\d+) kB", open("/proc/%d/smaps_rollup" % pid).read())
    return int(m.group(1)) if m else 0


# ---- 4. start to first request (5 runs each) -------------------------------
serve_first, nginx_first, serve_ready = [], [], []
for _ in range(5):
    port = free_port()
    t0 = time.monotonic()
    p = subprocess.Popen([SLIPWAY, "--state", st.dir, "serve", "--no-approve",
                          "--listen", "127.0.0.1:%d" % port], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    p.stdout.readline()
    serve_ready.append(time.monotonic() - t0)
    serve_first.append(wait_first(port, t0))
    p.send_signal(signal.SIGTERM)
    p.wait(30)
    n, first = start_nginx()
    nginx_first.append(first)
    stop_nginx(n)
sf = statistics.median([x for x in serve_first if x is not None])
nf = statistics.median([x for x in nginx_first if x is not None])
log("start to first successful HTTPS request: serve %.1f ms (its ready line "
    "after %.1f ms), nginx %.1f ms (median of 5; ratio serve/nginx %.2f)"
    % (sf * 1e3, statistics.median(serve_ready) * 1e3, nf * 1e3, sf / nf))

# ---- 3. idle RSS -----------------------------------------------------------
srv = Server(st)
time.sleep(2)
pid = srv.proc.pid
procs = [("monitor", pid)] + [("network child", k) for k in children(pid)]
p = subprocess.run(["/usr/bin/time", "-f", "%M", SLIPWAY, "--help"],
                   capture_output=True, text=True)
help_rss = int(p.stderr.strip().splitlines()[-1])
tot_rss = tot_pss = 0
for what, x in procs:
    rss, anon, pss = rss_kb(x), rss_kb(x, "RssAnon"), pss_kb(x)
    tot_rss += rss
    tot_pss += pss
    log("idle RSS of serve's %s: %d kB (PSS %d kB, anonymous %d kB); target "
        "8192 kB -> %.2f of target" % (what, rss, pss, anon, rss / 8192))
log("idle serve in all: RSS %d kB, PSS %d kB (%d processes); `slipway --help` "
    "alone peaks at %d kB RSS (the libraries the one binary links)"
    % (tot_rss, tot_pss, len(procs), help_rss))

# ---- 2. /v1/ca.pem keep-alive: slipway vs nginx ----------------------------
def wrk(url):
    p = subprocess.run(["wrk", "-t", "2", "-c", "32", "-d", "%ds" % WRK_S, url],
                       capture_output=True, text=True, timeout=WRK_S + 60)
    m = re.search(r"Requests/sec:\s+([\d.]+)", p.stdout)
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)", p.stdout)
    return (float(m.group(1)) if m else 0.0), (int(errs.group(1)) if errs else 0)


n, _ = start_nginx()
ngx_pids = [n.pid] + children(n.pid)
time.sleep(1)
ngx_rss = sum(rss_kb(x) for x in ngx_pids)
# interleaved rounds: the machine is shared, so compare like with like
rounds = []
for _ in range(3):
    rs, es = wrk(srv.url + "/v1/ca.pem")
    rn, en = wrk("https://127.0.0.1:%d/v1/ca.pem" % nport)
    rounds.append((rs, rn, es, en))
    log("  round: serve %.0f req/s (%d non-2xx), nginx %.0f req/s (%d non-2xx), "
        "ratio %.2f" % (rs, es, rn, en, rs / rn if rn else 0))
stop_nginx(n)
srv.stop()
ratios = [r[0] / r[1] for r in rounds if r[1]]
log("GET /v1/ca.pem, TLS keep-alive, wrk -t2 -c32 -d%ds x 3 interleaved: serve "
    "median %.0f req/s, nginx median %.0f req/s -> median ratio %.2f (target 0.8)"
    % (WRK_S, statistics.median(r[0] for r in rounds),
       statistics.median(r[1] for r in rounds), statistics.median(ratios) if ratios else 0))
log("nginx idle RSS for reference (master + %d workers): %d kB" %
    (len(ngx_pids) - 1, ngx_rss))
log("machine load average at the end: %s" % loadavg())
