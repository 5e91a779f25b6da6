#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""artifact_bench: download throughput of GET /v1/artifacts/<sha256> over
TLS from `slipway serve`, next to nginx serving the same file with the
same certificate and key (serve's own, exported from the test state by
artifact_bench_tls) and the same client certificate check (nginx:
ssl_verify_client optional against the same CA), measured in the same run
on the same machine with curl as the client. Prints; asserts no time.

One stream and four streams at once, ROUNDS rounds each, a fresh TLS
connection per download; reported: MB/s per server (median), the ratio
slipway/nginx (goal >= 0.8), and each server's CPU seconds per GB.

Environment: SLIPWAY, ARTIFACT_BENCH_TLS; BENCH_MB (default 256),
BENCH_ROUNDS (default 3).
"""
import hashlib
import os
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from endpoint_common import State, Server, log, free_port  # noqa: E402

SIZE_MB = int(os.environ.get("BENCH_MB", "256"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CPUS = os.cpu_count() or 1
MB = 1 << 20


def ticks(pids):
    t = 0
    for p in pids:
        try:
            f = open("/proc/%d/stat" % p).read().rsplit(")", 1)[1].split()
            t += int(f[11]) + int(f[12])
        except OSError:
            pass
    return t / os.sysconf("SC_CLK_TCK")


def children(pid):
    out = [pid]
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            try:
                out += [int(c) for c in open("/proc/%d/task/%s/children" % (pid, t)).read().split()]
            except OSError:
                pass
    except OSError:
        pass
    return out


def download(url, cert, key, streams):
    """streams parallel curls of url; (MB/s, ok)."""
    t0 = time.monotonic()
    ps = [subprocess.Popen(["curl", "-sk", "--cert", cert, "--key", key, "-o", "/dev/null",
                            "-w", "%{http_code} %{size_download}", url],
                           stdout=subprocess.PIPE, text=True) for _ in range(streams)]
    outs = [p.communicate(timeout=600)[0] for p in ps]
    secs = time.monotonic() - t0
    ok = all(o == "200 %d" % (SIZE_MB * MB) for o in outs)
    return streams * SIZE_MB / secs, ok


def main():
    helper = os.environ.get("ARTIFACT_BENCH_TLS")
    if not helper or not os.path.exists(helper):
        raise SystemExit("ARTIFACT_BENCH_TLS (tests/bench/artifact_bench_tls.c) is not built")
    st = State()
    os.chmod(st.tmp, 0o755)
    blob = os.path.join(st.tmp, "kubelet")
    h = hashlib.sha256()
    with open(blob, "wb") as f:
        for _ in range(SIZE_MB):
            b = os.urandom(MB)
            h.update(b)
            f.write(b)
    digest = h.hexdigest()
    st.run("artifact", "import", blob, "--sha256", digest, "--version", "v1.36.0")
    st.run("token", "create", "--node", "test1")     # the serving key, its pin
    b = os.path.join(st.tmp, "b1")
    st.run("bundle", "render", "--node", "test1", "--out", b)
    cert = os.path.join(b, "etc/slipway/node.pem")
    key = os.path.join(b, "etc/slipway/node-key.pem")

    # nginx: the same file, serve's certificate and key, the same CA check
    prefix = os.path.join(st.tmp, "nginx")
    www = os.path.join(prefix, "www", "v1", "artifacts")
    os.makedirs(www)
    os.makedirs(os.path.join(prefix, "logs"))
    os.link(blob, os.path.join(www, digest))
    p = subprocess.run([helper, st.dir, os.path.join(prefix, "serve")], capture_output=True,
                       text=True)
    if p.returncode != 0:
        raise SystemExit("artifact_bench_tls: " + p.stderr)
    open(os.path.join(prefix, "ca.pem"), "w").write(st.run("ca", "export", "--ca",
                                                           "kubernetes").stdout)
    for root, dirs, files in os.walk(prefix):
        os.chmod(root, 0o755)
        for f in files:
            os.chmod(os.path.join(root, f), 0o644)
    os.chmod(blob, 0o644)
    nport = free_port()
    conf = os.path.join(prefix, "nginx.conf")
    open(conf, "w").write("""
worker_processes %d;
daemon off;
master_process on;
pid %s/nginx.pid;
error_log %s/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path %s/tmp-body;
  proxy_temp_path %s/tmp-proxy;
  fastcgi_temp_path %s/tmp-fcgi;
  uwsgi_temp_path %s/tmp-uwsgi;
  scgi_temp_path %s/tmp-scgi;
  types { application/octet-stream bin; }
  server {
    listen 127.0.0.1:%d ssl;
    ssl_certificate %s/serve.pem;
    ssl_certificate_key %s/serve-key.pem;
    ssl_client_certificate %s/ca.pem;
    ssl_verify_client optional;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_conf_command Ciphersuites TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256;
    ssl_prefer_server_ciphers on;
    root %s/www;
  }
}
""" % ((CPUS,) + (prefix,) * 7 + (nport,) + (prefix,) * 4))
    srv = Server(st)
    serve_pids = lambda: children(srv.proc.pid)      # noqa: E731
    ng = subprocess.Popen(["nginx", "-c", conf, "-p", prefix, "-e",
                           os.path.join(prefix, "logs", "error.log")],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    urls = {"slipway": "%s/v1/artifacts/%s" % (srv.url, digest),
            "nginx": "https://127.0.0.1:%d/v1/artifacts/%s" % (nport, digest)}
    pids = {"slipway": serve_pids, "nginx": lambda: children(ng.pid)}
    log("artifact_bench: %d MB, %d rounds, %d CPUs, load %s" %
        (SIZE_MB, ROUNDS, CPUS, open("/proc/loadavg").read().split()[0]))
    for name in urls:      # warm up (page cache, TLS libraries)
        download(urls[name], cert, key, 1)
    for streams in (1, 4):
        res = {n: [] for n in urls}
        cpu = {n: 0.0 for n in urls}
        for _ in range(ROUNDS):
            for name in urls:          # alternate: the same conditions for both
                c0 = ticks(pids[name]())
                mbs, ok = download(urls[name], cert, key, streams)
                cpu[name] += ticks(pids[name]()) - c0
                if not ok:
                    log("  %s: a download failed" % name)
                res[name].append(mbs)
        med = {n: statistics.median(v) for n, v in res.items()}
        gb = ROUNDS * streams * SIZE_MB / 1024.0
        log("%d stream%s: slipway %.0f MB/s, nginx %.0f MB/s -> ratio %.2f (goal 0.8); "
            "server CPU s/GB: slipway %.2f, nginx %.2f; rounds %s / %s" %
            (streams, "" if streams == 1 else "s", med["slipway"], med["nginx"],
             med["slipway"] / med["nginx"], cpu["slipway"] / gb, cpu["nginx"] / gb,
             ["%.0f" % x for x in res["slipway"]], ["%.0f" % x for x in res["nginx"]]))
    ng.send_signal(signal.SIGTERM)
    ng.wait(20)
    srv.stop()


if __name__ == "__main__":
    main()
