#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bundle_etcd_cluster: three real etcd members on 127.0.1.1-3 (distinct
ports, from the inventory) started with exactly the ExecStart of their
rendered etcd.service, their files at the rendered paths (a private mount
namespace: the member's /etc over the host's, /var/lib/etcd on a temp dir,
/opt/k8s/bin/etcd -> the host's etcd). Shows: `etcdctl endpoint health
--cluster` with a rendered client certificate; put/get; flanneld's
certificate from a worker's bundle may use etcd; a client certificate from
a foreign CA, one from the kubernetes CA and none at all are refused; every
port the members listen on speaks TLS only (no plain http)."""
import json
import os
import random
import re
import shutil
import signal
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bundle_lib as L  # noqa: E402

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
ETCDCTL = shutil.which("etcdctl") or "/usr/bin/etcdctl"
IPS = ["127.0.1.1", "127.0.1.2", "127.0.1.3"]


def free_ports(n):
    """n consecutive-ish free ports on every test address."""
    for _ in range(200):
        base = random.randint(20000, 59000)
        ports = [base + i for i in range(n)]
        ok = True
        for p in ports:
            for ip in IPS + ["127.0.0.1", "127.0.1.4"]:
                s = socket.socket()
                try:
                    s.bind((ip, p))
                except OSError:
                    ok = False
                finally:
                    s.close()
        if ok:
            return ports
    raise RuntimeError("no free ports")


def inventory(ports):
    nodes = []
    for i, ip in enumerate(IPS):
        nodes.append("  - {name: m%d, ip: %s, roles: [etcd, master, worker], "
                     "etcdClientPort: %d, etcdPeerPort: %d}" % (i + 1, ip, ports[2 * i], ports[2 * i + 1]))
    nodes.append("  - {name: w1, ip: 127.0.1.4, roles: [worker]}")
    return ("apiVersion: slipway/v1\nkind: Cluster\n"
            "cluster: {name: etcdtest, kubernetesVersion: v1.36.0}\n"
            "apiserver: {vip: 127.0.1.10, vipPort: 18443, vipInterface: lo}\n"
            "nodes:\n" + "\n".join(nodes) + "\n")


def etcdctl(bundle, endpoints, *args, cert=None, key=None, ca=None):
    c = ["env", "ETCDCTL_API=3", ETCDCTL, "--endpoints=" + endpoints, "--dial-timeout=5s",
         "--command-timeout=10s",
         "--cacert=" + (ca or os.path.join(bundle, "etc/etcd/cert/ca.pem"))]
    if cert is not False:
        c += ["--cert=" + (cert or os.path.join(bundle, "etc/etcd/cert/etcd-client.pem")),
              "--key=" + (key or os.path.join(bundle, "etc/etcd/cert/etcd-client-key.pem"))]
    return L.run(c + list(args), timeout=60)


def foreign_client(tmp):
    """A CA nobody trusts and a client certificate from it."""
    d = os.path.join(tmp, "foreign")
    os.mkdir(d)
    L.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
           "-nodes", "-keyout", d + "/ca-key.pem", "-out", d + "/ca.pem", "-days", "2",
           "-subj", "/CN=foreign-ca"], check=True)
    L.run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-keyout", d + "/client-key.pem", "-out", d + "/client.csr", "-subj", "/CN=etcd-client"],
          check=True)
    with open(d + "/ext", "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    L.run(["openssl", "x509", "-req", "-in", d + "/client.csr", "-CA", d + "/ca.pem", "-CAkey",
           d + "/ca-key.pem", "-CAcreateserial", "-out", d + "/client.pem", "-days", "2",
           "-extfile", d + "/ext"], check=True)
    return d + "/client.pem", d + "/client-key.pem"


def listening_ports(pids):
    r = L.run(["ss", "-Hltnp"])
    out = set()
    for line in r.stdout.splitlines():
        for pid in pids:
            if "pid=%d," % pid in line:
                local = line.split()[3]
                host, port = local.rsplit(":", 1)
                out.add((host.strip("[]"), int(port)))
    return sorted(out)


def main():
    ck = L.Checker("bundle_etcd_cluster")
    tmp = tempfile.mkdtemp(prefix="slw-etcd-")
    procs = []
    try:
        if not ck.ok(L.have_namespaces(), "private mount namespaces with overlayfs are available"):
            return ck.done()
        ports = free_ports(6)
        cl = L.Cluster(tmp, "c", inventory(ports))
        bundles = [cl.render("m%d" % (i + 1)) for i in range(3)]
        worker = cl.render("w1")

        views = []
        for i, b in enumerate(bundles):
            unit = L.read(os.path.join(b, "etc/systemd/system/etcd.service"))
            argv = L.unit_exec(unit)
            wd = L.unit_value(unit, "WorkingDirectory")
            ck.ok(argv[0] == "/opt/k8s/bin/etcd" and wd == "/var/lib/etcd",
                  "m%d: etcd.service runs /opt/k8s/bin/etcd in /var/lib/etcd" % (i + 1))
            ck.ok(not any("http://" in a for a in argv), "m%d: no plain http URL in ExecStart" % (i + 1))
            ck.ok("--initial-cluster=m1=https://127.0.1.1:%d,m2=https://127.0.1.2:%d,"
                  "m3=https://127.0.1.3:%d" % (ports[1], ports[3], ports[5]) in argv,
                  "m%d: the whole initial cluster with each member's peer port" % (i + 1))
            work = os.path.join(tmp, "run-m%d" % (i + 1))
            data = os.path.join(work, "data")
            os.makedirs(data, mode=0o700)
            binds = []
            lib_uppers = []
            if os.path.isdir("/var/lib/etcd"):
                binds.append((data, "/var/lib/etcd"))
            else:   # overlay /var/lib with an upper layer holding etcd/
                up, wk = os.path.join(work, "lib-upper"), os.path.join(work, "lib-work")
                os.makedirs(os.path.join(up, "etcd"), mode=0o700)
                os.makedirs(wk)
                lib_uppers.append(("/var/lib", up, wk))
            v = L.NodeView(b, work, bins={"etcd": ETCD}, binds=binds, lib_uppers=lib_uppers)
            views.append(v)
            # exactly the rendered command line, as the current user
            procs.append(v.popen(argv, cwd=wd, log=os.path.join(work, "etcd.log")))

        b0 = bundles[0]
        eps = ",".join("https://%s:%d" % (IPS[i], ports[2 * i]) for i in range(3))
        deadline = time.time() + 90
        health = None
        while time.time() < deadline:
            health = etcdctl(b0, "https://127.0.1.1:%d" % ports[0], "endpoint", "health", "--cluster")
            # etcdctl 3.4 prints the health lines on stderr
            if health.returncode == 0 and (health.stdout + health.stderr).count("is healthy") == 3:
                break
            if any(p.poll() is not None for p in procs):
                break
            time.sleep(1)
        if not ck.ok(health is not None and health.returncode == 0 and
                     (health.stdout + health.stderr).count("is healthy") == 3,
                     "etcdctl endpoint health --cluster: 3 healthy members (rendered client cert)",
                     (health.stdout + health.stderr) if health else "no run"):
            for i in range(3):
                print("--- m%d etcd.log (tail)" % (i + 1))
                print("".join(open(os.path.join(tmp, "run-m%d" % (i + 1), "etcd.log")).readlines()[-15:]))
        ml = etcdctl(b0, eps, "member", "list", "-w", "json")
        try:
            members = sorted(m["name"] for m in json.loads(ml.stdout)["members"])
        except (ValueError, KeyError):
            members = []
        ck.ok(members == ["m1", "m2", "m3"], "member list: m1, m2, m3", ml.stdout + ml.stderr)

        p = etcdctl(bundles[1], "https://127.0.1.2:%d" % ports[2], "put", "/slipway/test", "round-trip")
        ck.ok(p.returncode == 0 and "OK" in p.stdout, "put through m2 with m2's client cert", p.stderr)
        g = etcdctl(bundles[2], "https://127.0.1.3:%d" % ports[4], "get", "/slipway/test",
                    "--print-value-only")
        ck.ok(g.returncode == 0 and g.stdout.strip() == "round-trip", "get through m3 returns it",
              g.stdout + g.stderr)
        # loopback listener of each member (its own client port)
        g = etcdctl(b0, "https://127.0.0.1:%d" % ports[0], "get", "/slipway/test", "--print-value-only")
        ck.ok(g.returncode == 0 and g.stdout.strip() == "round-trip",
              "get through m1's loopback listener (the certificate has 127.0.0.1)", g.stderr)

        # flanneld on a worker: its certificate and the etcd CA of its bundle
        fl = os.path.join(worker, "etc/flanneld/cert")
        f = etcdctl(worker, eps, "put", "/kubernetes/network/config", '{"Network":"172.30.0.0/16"}',
                    cert=fl + "/flanneld.pem", key=fl + "/flanneld-key.pem", ca=fl + "/etcd-ca.pem")
        ck.ok(f.returncode == 0, "w1's flanneld certificate may write flannel's config", f.stderr)
        # the apiserver's etcd client certificate
        kc = os.path.join(b0, "etc/kubernetes/cert")
        a = etcdctl(b0, eps, "get", "/slipway/test", cert=kc + "/apiserver-etcd-client.pem",
                    key=kc + "/apiserver-etcd-client-key.pem", ca=kc + "/etcd-ca.pem")
        ck.ok(a.returncode == 0, "m1's apiserver-etcd-client certificate is accepted", a.stderr)

        fc, fk = foreign_client(tmp)
        x = etcdctl(b0, "https://127.0.1.1:%d" % ports[0], "get", "/slipway/test", cert=fc, key=fk)
        ck.ok(x.returncode != 0 and "round-trip" not in x.stdout,
              "a client certificate from a foreign CA is refused", x.stdout + x.stderr)
        # kube-proxy's certificate is from the kubernetes CA, not etcd's
        blobs = L.kubeconfig_blobs(L.read(os.path.join(worker, "etc/kubernetes/kube-proxy.kubeconfig")))
        kp, kk = os.path.join(tmp, "kp.pem"), os.path.join(tmp, "kp-key.pem")
        with open(kp, "w") as fh:
            fh.write(blobs["client-certificate-data"])
        with open(kk, "w") as fh:
            fh.write(blobs["client-key-data"])
        os.chmod(kk, 0o600)
        x = etcdctl(b0, "https://127.0.1.1:%d" % ports[0], "get", "/slipway/test", cert=kp, key=kk)
        ck.ok(x.returncode != 0 and "round-trip" not in x.stdout,
              "a certificate of the kubernetes CA (kube-proxy's) is refused by etcd", x.stdout)
        x = etcdctl(b0, "https://127.0.1.1:%d" % ports[0], "get", "/slipway/test", cert=False)
        ck.ok(x.returncode != 0 and "round-trip" not in x.stdout, "no client certificate: refused",
              x.stdout)

        # every listening socket of the members speaks TLS only
        pids = []
        for pr in procs:
            r = L.run(["pgrep", "-s", str(pr.pid), "-x", "etcd"])
            pids += [int(x) for x in r.stdout.split()]
        socks = listening_ports(pids)
        want = set()
        for i, ip in enumerate(IPS):
            want |= {(ip, ports[2 * i]), ("127.0.0.1", ports[2 * i]), (ip, ports[2 * i + 1])}
        ck.ok(set(socks) == want, "members listen on exactly their rendered client/peer URLs",
              "%s vs %s" % (socks, sorted(want)))
        for host, port in socks:
            r = L.run(["curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}",
                       "http://%s:%d/health" % (host, port)])
            ck.ok(r.stdout.strip() != "200", "plain http to %s:%d gets no answer" % (host, port),
                  r.stdout)
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(timeout=15)
            except Exception:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        shutil.rmtree(tmp, ignore_errors=True)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
