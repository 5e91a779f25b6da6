#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""artifacts_serve: GET /v1/artifacts/<sha256> of the real `slipway serve`
on 127.0.0.1, with curl and the node client certificates of real bundles:
a node's certificate gets the artifact byte for byte (sha256) and its
HEAD; without a certificate, with another cluster's node certificate, with
a revoked one and with an expired one (issued under libfaketime two days
ago, valid a day): 401 and nothing served, the same answer for each; a
certificate that is not a node's (the flanneld one, same CA) too; an
unknown digest 404 (only after the certificate passed); a download cut at
half resumes with Range (206, Content-Range) into the same bytes; a range
past the end is 416; over the per-node limit 429; 50 concurrent
downloads of a 100 MB artifact complete while serve's resident memory
(monitor and network child) grows by less than 10 MB; install.sh of the
bundle fetches its binaries, skips them when identical and replaces a
tampered one."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import time

import endpoint_common as E

LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
MB = 1 << 20


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(MB), b""):
            h.update(b)
    return h.hexdigest()


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    if not os.path.exists(LIB):
        print("# skipped: libfaketime is not installed (scripts/setup.sh)")
        raise SystemExit(77)
    # a state made two days ago, its leaves valid a day: a bundle rendered
    # then has an expired node certificate, one rendered now a valid one
    two_days_ago = "@" + time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(time.time() - 2 * 86400))
    past = dict(os.environ, LD_PRELOAD=LIB, FAKETIME=two_days_ago, FAKETIME_DONT_RESET="1")
    st = make_state(past)
    other = E.State()                      # another cluster: its own CAs
    work = os.path.join(st.tmp, "w")
    os.makedirs(work)

    def run(*a, **k):
        return st.run(*a, check_rc=False, **k)

    # the artifacts: Debian's etcd, and 100 MB of random bytes as kubelet
    etcd_sha = sha("/usr/bin/etcd")
    run("artifact", "import", "/usr/bin/etcd", "--sha256", etcd_sha, "--version", "3.6.8")
    big = os.path.join(work, "kubelet")
    with open(big, "wb") as f:
        for _ in range(100):
            f.write(os.urandom(MB))
    big_sha = sha(big)
    p = run("artifact", "import", big, "--sha256", big_sha, "--version", "v1.36.0")
    E.check(p.returncode == 0, "a 100 MB artifact imported: " + (p.stdout + p.stderr).strip())

    # bundles: test1 now, test2 two days ago (expired), test3 to revoke;
    # the serving key first, so install.sh gets the pin
    st.run("token", "create", "--node", "test1")
    bundles = {}
    for node, env in (("test1", None), ("test2", past), ("test3", None)):
        out = os.path.join(work, "b-" + node)
        p = st.run("bundle", "render", "--node", node, "--out", out, env=env)
        bundles[node] = out
    other_b = os.path.join(other.tmp, "b-test1")
    other.run("bundle", "render", "--node", "test1", "--out", other_b)

    def cert(b):
        return ["--cert", os.path.join(b, "etc/slipway/node.pem"),
                "--key", os.path.join(b, "etc/slipway/node-key.pem")]

    # revoke test3's node certificate
    certs = json.loads(st.run("--json", "cert", "list").stdout)
    serial3 = [c["serial"] for c in certs if c.get("node") == "test3" and
               c.get("purpose") == "slipway-node"][0]
    helptxt = subprocess.run([E.SLIPWAY, "--help"], capture_output=True, text=True).stdout
    if "cert revoke" in helptxt:
        p = run("cert", "revoke", serial3)
    else:
        p = subprocess.run([os.environ["ARTIFACTS_REVOKE"], st.dir, serial3],
                           capture_output=True, text=True)
    E.check(p.returncode == 0, "test3's node certificate revoked: " + p.stderr.strip())

    srv = E.Server(st)
    url = srv.url + "/v1/artifacts/" + etcd_sha

    def curl(*args, u=url):
        return E.curl(u, *args, timeout=120)

    # -- the bytes, with the node's certificate
    got = os.path.join(work, "etcd.got")
    status, hdr, body = curl(*cert(bundles["test1"]))
    open(got, "wb").write(body)
    E.check(status == 200 and sha(got) == etcd_sha and
            hdr.get("content-length") == str(os.path.getsize("/usr/bin/etcd")) and
            hdr.get("accept-ranges") == "bytes" and
            hdr.get("content-type") == "application/octet-stream",
            "test1's node certificate: 200, the artifact byte for byte (sha256)")
    p = subprocess.run(["curl", "-sk", "-I"] + cert(bundles["test1"]) + [url],
                       capture_output=True, timeout=60)
    head = p.stdout.decode("latin-1").lower()
    E.check(p.returncode == 0 and head.startswith("http/1.1 200") and
            ("content-length: %d\r\n" % os.path.getsize("/usr/bin/etcd")) in head and
            head.endswith("\r\n\r\n"), "HEAD: 200 with the length, no body")

    # -- refusals: one answer for each, nothing of the artifact
    refused = {}
    for what, args in (("no certificate", []),
                       ("another cluster's node certificate", cert(other_b)),
                       ("a revoked node certificate", cert(bundles["test3"])),
                       ("an expired node certificate", cert(bundles["test2"])),
                       ("a client certificate of this CA that is not a node's",
                        ["--cert", os.path.join(bundles["test1"],
                                                "etc/kubernetes/cert/apiserver-kubelet-client.pem"),
                         "--key", os.path.join(bundles["test1"],
                                               "etc/kubernetes/cert/apiserver-kubelet-client-key.pem")])):
        status, hdr, body = curl(*args)
        refused[what] = (status, body)
        E.check(status == 401 and body.startswith(b'{"error":') and len(body) < 200 and
                hdr.get("content-type") == "application/json",
                "%s: 401 {\"error\": ...}, nothing served" % what)
    E.check(len(set(b for _, b in refused.values())) == 1,
            "every refusal is the same answer, byte for byte")
    log = srv.log_text()
    E.check(all(re.search(w, log) for w in (r"refused: no client certificate",
                                           r"client certificate: .*(issuer|signer|not trusted)",
                                           r"revoked", r"expired",
                                           r"a apiserver-kubelet-client certificate, not a node's")),
            "the log says why each was refused (the client is not told)")
    status, _, body = curl(*cert(bundles["test1"]), u=srv.url + "/v1/artifacts/" + "0" * 64)
    E.check(status == 404 and b"no such artifact" in body, "an unknown digest: 404")
    status, _, _ = curl(u=srv.url + "/v1/artifacts/" + "0" * 64)
    E.check(status == 401, "an unknown digest without a certificate: 401 (nothing learned)")
    status, _, _ = curl(*cert(bundles["test1"]), u=srv.url + "/v1/artifacts/../../etc/passwd")
    E.check(status in (400, 404), "a path that is not a digest: %d" % status)

    # -- a download cut at half, resumed with Range
    part = os.path.join(work, "resume")
    size = os.path.getsize("/usr/bin/etcd")
    status, _, body = curl(*cert(bundles["test1"]), "-r", "0-%d" % (size // 2 - 1))
    open(part, "wb").write(body)
    E.check(status == 206 and len(body) == size // 2, "the first half (206)")
    hdrs = os.path.join(work, "resume.hdr")
    p = subprocess.run(["curl", "-sk", "-C", "-", "-o", part, "-D", hdrs] + cert(bundles["test1"]) +
                       [url], capture_output=True, timeout=120)
    h = open(hdrs).read()
    E.check(p.returncode == 0 and " 206 " in h.splitlines()[0] and
            ("content-range: bytes %d-%d/%d" % (size // 2, size - 1, size)) in h.lower() and
            sha(part) == etcd_sha,
            "curl -C - resumes the cut download with Range (206, Content-Range) into the same bytes")
    status, hdr, _ = curl(*cert(bundles["test1"]), "-r", "%d-" % size)
    E.check(status == 416 and hdr.get("content-range") == "bytes */%d" % size,
            "a range past the end: 416, Content-Range: bytes */%d" % size)

    # -- install.sh: fetches, skips identical, replaces a tampered file
    root = bundles["test1"]
    sh = os.path.join(root, "etc/slipway/install.sh")
    env = dict(os.environ, SLIPWAY_ROOT=root)
    p = subprocess.run(["sh", sh, "--binaries"], capture_output=True, text=True, env=env, timeout=300)
    inst = os.path.join(root, "opt/k8s/bin")
    E.check(p.returncode == 0 and sha(os.path.join(inst, "etcd")) == etcd_sha and
            sha(os.path.join(inst, "kubelet")) == big_sha and
            "etcd: installed /opt/k8s/bin/etcd" in p.stdout,
            "install.sh --binaries fetched etcd and kubelet, sha256-checked: " + p.stderr.strip())
    p = subprocess.run(["sh", sh, "--binaries"], capture_output=True, text=True, env=env, timeout=300)
    E.check(p.returncode == 0 and "etcd: /opt/k8s/bin/etcd is current" in p.stdout,
            "again: identical files are left alone")
    with open(os.path.join(inst, "etcd"), "r+b") as f:
        f.seek(1000)
        f.write(b"tampered")
    p = subprocess.run(["sh", sh, "--binaries"], capture_output=True, text=True, env=env, timeout=300)
    E.check(p.returncode == 0 and sha(os.path.join(inst, "etcd")) == etcd_sha and
            "etcd: installed" in p.stdout, "a tampered etcd is replaced")
    # the appliance's copy changed behind the store's back (same size): the
    # node refuses what it is served and keeps what it had
    stored = os.path.join(st.dir, "artifacts", etcd_sha)
    orig = open(stored, "rb").read()
    os.chmod(stored, 0o644)
    with open(stored, "r+b") as f:
        f.seek(4096)
        f.write(bytes(b ^ 0xff for b in orig[4096:4104]))
    with open(os.path.join(inst, "etcd"), "r+b") as f:
        f.seek(1000)
        f.write(b"tampered")
    before = sha(os.path.join(inst, "etcd"))
    p = subprocess.run(["sh", sh, "--binaries"], capture_output=True, text=True, env=env, timeout=300)
    err = p.stderr.strip().splitlines()
    E.check(p.returncode != 0 and len(err) == 1 and
            ("etcd: sha256 mismatch: got " in err[0]) and ("expected %s: nothing installed" % etcd_sha) in err[0] and
            sha(os.path.join(inst, "etcd")) == before and
            not [n for n in os.listdir(inst) if n.startswith(".")],
            "bytes that do not match their digest: install.sh stops with one line, installs "
            "nothing, leaves no temporary: " + p.stderr.strip())
    with open(stored, "wb") as f:
        f.write(orig)
    os.chmod(stored, 0o444)
    srv.stop()

    # -- the per-node limit (default 4)
    srv = E.Server(st)
    bigurl = srv.url + "/v1/artifacts/" + big_sha
    outs = [os.path.join(work, "slow-%d" % i) for i in range(4)]
    slow = [subprocess.Popen(["curl", "-sk", "--limit-rate", "1M", "-o", o] +
                             cert(bundles["test1"]) + [bigurl]) for o in outs]
    E.check(E_wait(lambda: all(os.path.exists(o) and os.path.getsize(o) > 0 for o in outs), 20),
            "four slow downloads from test1 are running")
    status, hdr, body = E.curl(bigurl, *cert(bundles["test1"]), timeout=30)
    E.check(status == 429 and hdr.get("retry-after") == "1",
            "a fifth download at once from one node: 429, Retry-After: 1")
    status, _, _ = E.curl(url, *cert(bundles["test3"]), timeout=30)
    E.check(status == 401, "(another node's limit is its own; test3 is revoked: 401)")
    for s in slow:
        s.kill()
        s.wait()
    srv.stop()

    # -- 50 downloads of 100 MB at once; serve's memory stays put
    srv = E.Server(st, "--max-downloads-per-node", "64", "--max-per-address", "128")
    m = re.search(r"network child (\d+)\)", srv.log_text())
    pids = [srv.proc.pid, int(m.group(1))]
    # warm up: one download, so libraries and pools are in before measuring
    E.curl(bigurl, *cert(bundles["test1"]), "-o", "/dev/null", timeout=120)
    time.sleep(0.5)
    base = sum(rss_kb(p) for p in pids)
    t0 = time.monotonic()
    procs = [subprocess.Popen(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code} %{size_download}"] +
                              cert(bundles["test1"]) + [bigurl], stdout=subprocess.PIPE, text=True)
             for _ in range(50)]
    peak = base
    while any(p.poll() is None for p in procs) and time.monotonic() - t0 < 300:
        peak = max(peak, sum(rss_kb(p) for p in pids))
        time.sleep(0.05)
    outs = [p.communicate(timeout=60)[0] for p in procs]
    secs = time.monotonic() - t0
    ok = sum(1 for o in outs if o == "200 %d" % (100 * MB))
    E.check(ok == 50, "50 concurrent downloads of 100 MB complete (%d ok, %.1f s, %.0f MB/s)"
            % (ok, secs, 5000 / secs))
    E.check(peak - base < 10 * 1024, "serve's RSS (monitor + child) grew by %.1f MB (< 10 MB)"
            % ((peak - base) / 1024.0))
    E.check(srv.stop() == 0, "serve stops cleanly")
    E.done()


def E_wait(pred, timeout):
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def make_state(env):
    """endpoint_common's State, initialised under env (the clock two days back)."""
    import tempfile
    s = E.State.__new__(E.State)
    s.tmp = tempfile.mkdtemp(prefix="slw-art-")
    import atexit
    if not os.environ.get("ENDPOINT_KEEP"):
        atexit.register(shutil.rmtree, s.tmp, True)
    os.chmod(s.tmp, 0o755)
    s.dir = os.path.join(s.tmp, "state")
    s.port = E.free_port()
    y = open(E.EXAMPLE).read()
    y = re.sub(r"(?m)^(\s+port:) 8443\b", r"\g<1> %d" % s.port, y)
    y, n = re.subn(r"(?m)^([ \t]+)validity: 87600h", r"\g<1>validity: 24h\n\g<1>expiryWarning: 1h", y)
    assert n == 1, "example inventory: certificates.validity not found"
    s.yaml = os.path.join(s.tmp, "cluster.yaml")
    open(s.yaml, "w").write(y)
    s.run("init", "--cluster", s.yaml, env=env)
    return s


if __name__ == "__main__":
    main()
