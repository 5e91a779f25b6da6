#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""crl_etcd_reload: a real etcd 3.4 member started with exactly the
ExecStart of its rendered etcd.service (--client-crl-file and
--peer-crl-file pointing at the CRL in its bundle) enforces a revocation as
soon as the CRL file is replaced, without a restart: etcd reads the file at
every TLS handshake. Shows, on one running etcd process:

  1. two rendered client certificates (w1's flanneld, m1's etcd-client)
     work; the bundle's CRL verifies against the etcd CA (openssl);
  2. `cert revoke SERIAL --reason keyCompromise` of flanneld's: until the
     file changes, etcd still accepts it (etcd knows only its file);
  3. the new CRL (from a fresh render of the member's bundle) written over
     the file in the member's mount namespace: a new connection with the
     revoked certificate is refused, the other still works, same PID;
  4. the old file back: accepted again; the new one again: refused (read
     at each handshake, not cached), still the same PID;
  5. `openssl crl -text` of the new CRL lists the serial with its reason.
Needs root (mount namespaces) and etcd-server/etcd-client."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bundle_lib as L  # noqa: E402
import bundle_etcd_cluster as E  # noqa: E402

CRL = "etc/etcd/cert/crl.der"


def inventory(client, peer):
    return ("apiVersion: slipway/v1\nkind: Cluster\n"
            "cluster: {name: crltest, kubernetesVersion: v1.36.0}\n"
            "apiserver: {vip: 127.0.1.10, vipPort: 18443, vipInterface: lo}\n"
            "nodes:\n"
            "  - {name: m1, ip: 127.0.1.1, roles: [etcd, master, worker], "
            "etcdClientPort: %d, etcdPeerPort: %d}\n"
            "  - {name: w1, ip: 127.0.1.4, roles: [worker]}\n" % (client, peer))


def serial_of(pem_path):
    r = L.run(["openssl", "x509", "-in", pem_path, "-noout", "-serial"], check=True)
    return r.stdout.strip().split("=", 1)[1].lower()


def install_crl(pid, src):
    """Replace the member's CRL file as a delivery would: a new file
    renamed over the old one, at the node's path (its mount namespace)."""
    with open(src, "rb") as f:
        data = f.read()
    return subprocess.run(
        ["nsenter", "-t", str(pid), "-m", "sh", "-c",
         "cat > /%s.new && mv /%s.new /%s" % (CRL, CRL, CRL)],
        input=data, capture_output=True, timeout=30)


def main():
    ck = L.Checker("crl_etcd_reload")
    tmp = tempfile.mkdtemp(prefix="slw-crl-")
    proc = None
    try:
        if not ck.ok(L.have_namespaces(), "private mount namespaces with overlayfs are available"):
            return ck.done()
        t0 = time.time()
        ports = E.free_ports(2)
        cl = L.Cluster(tmp, "c", inventory(ports[0], ports[1]))
        m1 = cl.render("m1")
        w1 = cl.render("w1")
        unit = L.read(os.path.join(m1, "etc/systemd/system/etcd.service"))
        argv = L.unit_exec(unit)
        ck.ok("--client-crl-file=/" + CRL in argv and "--peer-crl-file=/" + CRL in argv,
              "etcd.service: --client-crl-file and --peer-crl-file at /" + CRL, " ".join(argv))
        ck.ok(os.path.isfile(os.path.join(m1, CRL)), "the bundle holds /" + CRL)
        etcd_ca = os.path.join(m1, "etc/etcd/cert/ca.pem")
        v = L.run(["openssl", "crl", "-inform", "DER", "-in", os.path.join(m1, CRL),
                   "-CAfile", etcd_ca, "-verify", "-noout"])
        ck.ok("verify OK" in v.stdout + v.stderr, "the bundle's CRL verifies against the etcd CA",
              v.stdout + v.stderr)
        old_crl = os.path.join(tmp, "crl-before.der")
        shutil.copy(os.path.join(m1, CRL), old_crl)

        work = os.path.join(tmp, "run-m1")
        data = os.path.join(work, "data")
        os.makedirs(data, mode=0o700)
        binds, lib_uppers = [], []
        if os.path.isdir("/var/lib/etcd"):
            binds.append((data, "/var/lib/etcd"))
        else:
            up, wk = os.path.join(work, "lib-upper"), os.path.join(work, "lib-work")
            os.makedirs(os.path.join(up, "etcd"), mode=0o700)
            os.makedirs(wk)
            lib_uppers.append(("/var/lib", up, wk))
        view = L.NodeView(m1, work, bins={"etcd": E.ETCD}, binds=binds, lib_uppers=lib_uppers)
        proc = view.popen(argv, cwd=L.unit_value(unit, "WorkingDirectory"),
                          log=os.path.join(work, "etcd.log"))
        ep = "https://127.0.1.1:%d" % ports[0]
        fl = os.path.join(w1, "etc/flanneld/cert")
        revoked = (fl + "/flanneld.pem", fl + "/flanneld-key.pem", fl + "/etcd-ca.pem")

        def put(cert, what):
            # a refused handshake shows within the dial timeout: keep it short
            return L.run(["env", "ETCDCTL_API=3", E.ETCDCTL, "--endpoints=" + ep,
                          "--dial-timeout=2s", "--command-timeout=5s", "--cacert=" + cert[2],
                          "--cert=" + cert[0], "--key=" + cert[1], "put", "/crl/test", what],
                         timeout=30)

        other = (os.path.join(m1, "etc/etcd/cert/etcd-client.pem"),
                 os.path.join(m1, "etc/etcd/cert/etcd-client-key.pem"), etcd_ca)
        deadline = time.time() + 60
        r = None
        while time.time() < deadline and proc.poll() is None:
            r = put(other, "up")
            if r.returncode == 0:
                break
            time.sleep(0.5)
        if not ck.ok(r is not None and r.returncode == 0, "etcd is up (m1's etcd-client puts)",
                     (r.stdout + r.stderr) if r else "etcd exited"):
            print("".join(open(os.path.join(work, "etcd.log")).readlines()[-20:]))
            return ck.done()
        pid = proc.pid
        ck.ok(put(revoked, "a").returncode == 0, "w1's flanneld certificate works before revocation")

        serial = serial_of(revoked[0])
        rv = cl.slipway("cert", "revoke", serial, "--reason", "keyCompromise")
        ck.ok(rv.returncode == 0, "cert revoke %s --reason keyCompromise" % serial,
              rv.stdout + rv.stderr)
        ck.ok("note:" not in rv.stdout, "an etcd client certificate: no 'not enforced' note",
              rv.stdout)
        # a Kubernetes client certificate: nothing checks a CRL for it
        kp = L.kubeconfig_blobs(L.read(os.path.join(w1, "etc/kubernetes/kube-proxy.kubeconfig")))
        kpf = os.path.join(tmp, "kube-proxy.pem")
        with open(kpf, "w") as fh:
            fh.write(kp["client-certificate-data"])
        kr = cl.slipway("cert", "revoke", serial_of(kpf))
        notes = [l for l in kr.stdout.splitlines() if l.startswith("note:")]
        ck.ok(kr.returncode == 0 and len(notes) == 1 and "not checked against a CRL" in notes[0]
              and "slipway ca rotate run --ca kubernetes" in notes[0],
              "revoking kube-proxy's certificate says in one line that nothing enforces it",
              kr.stdout + kr.stderr)
        ck.ok(put(revoked, "b").returncode == 0,
              "until its CRL file changes, etcd still accepts the revoked certificate")

        m1b = cl.render("m1", os.path.join(cl.dir, "bundle-m1-again"))
        new_crl = os.path.join(m1b, CRL)
        txt = L.run(["openssl", "crl", "-inform", "DER", "-in", new_crl, "-noout", "-text"]).stdout
        at = txt.upper().find(serial.upper())
        ck.ok(at >= 0 and "Key Compromise" in txt[at:at + 300],
              "openssl crl -text lists the serial with reason Key Compromise", txt)
        v = L.run(["openssl", "crl", "-inform", "DER", "-in", new_crl, "-CAfile", etcd_ca,
                   "-verify", "-noout"])
        ck.ok("verify OK" in v.stdout + v.stderr, "the new CRL verifies against the etcd CA")

        i = install_crl(pid, new_crl)
        ck.ok(i.returncode == 0, "the new CRL replaces /%s in m1's namespace" % CRL, i.stderr.decode())
        x = put(revoked, "c")
        ck.ok(x.returncode != 0, "a new connection with the revoked certificate is refused",
              x.stdout + x.stderr)
        ck.ok(put(other, "d").returncode == 0, "another client certificate still works")
        ck.ok(proc.poll() is None and proc.pid == pid, "the same etcd process (no restart)")
        log = L.read(os.path.join(work, "etcd.log"))
        ck.ok("revoked" in log, "etcd logs the revoked certificate",
              "".join(log.splitlines(True)[-5:]))

        install_crl(pid, old_crl)
        ck.ok(put(revoked, "e").returncode == 0, "the old CRL back: accepted again (no cache)")
        install_crl(pid, new_crl)
        ck.ok(put(revoked, "f").returncode != 0, "the new CRL again: refused again")
        ck.ok(proc.poll() is None and proc.pid == pid, "still the same etcd process")
        print("crl_etcd_reload: %.1f s" % (time.time() - t0))
    finally:
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=15)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
        shutil.rmtree(tmp, ignore_errors=True)
    return ck.done()


if __name__ == "__main__":
    sys.exit(main())
