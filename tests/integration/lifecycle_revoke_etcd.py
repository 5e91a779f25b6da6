#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""lifecycle_revoke_etcd: `slipway cert revoke SERIAL` of test3's etcd
client certificate on the rolled-out 3-node harness cluster (real etcd),
while a client on test1 writes and reads through all three members with its
own certificate and a sampler watches every member's /health:

  1. before: the certificate (copied beside test1's own) is accepted by
     every member;
  2. cert revoke delivers the new CRL through the fleet engine to every
     etcd member (fetched, installed, read back) and restarts none of them
     (etcd reads the file at every connection: same MainPID before and
     after);
  3. afterwards every member refuses the revoked certificate, test1's own
     still works everywhere, and the concurrent client saw 0 failed
     operations;
  4. `openssl crl -CAfile <etcd CA> -verify` accepts the CRL served at
     GET /v1/crl/etcd.pem and lists the serial; every member's installed
     crl.der lists it too;
  5. revoking a member's current peer certificate is refused without
     --force, says why, and changes nothing (same CRL number);
  6. `cert revoke --deliver` again finds nothing left to do.
Prints the revocation's wall time and the client's counts."""
import json
import re
import sys

import lifecycle_lib as LL

MEMBERS = ("test1", "test2", "test3")
REVOKED = "/run/revoked-client.pem"
REVOKED_KEY = "/run/revoked-client-key.pem"


def serial_of(cl, node, path):
    r = cl.h.exec(node, ["openssl", "x509", "-in", path, "-noout", "-serial"], check=True)
    return r.stdout.strip().split("=", 1)[1].lower()


def main_pid(cl, node):
    return cl.h.exec(node, ["systemctl", "show", "-P", "MainPID", "etcd"],
                     check=True).stdout.strip()


def crl_number(cl):
    r = cl.h.exec("test1", ["openssl", "crl", "-inform", "DER", "-in",
                            "/etc/etcd/cert/crl.der", "-noout", "-crlnumber"], check=True)
    return r.stdout.strip()


def body(cl, c):
    # test3's etcd client pair, as installed, next to test1's own
    serial = serial_of(cl, "test3", "/etc/etcd/cert/etcd-client.pem")
    cl.h.write_file("test1", REVOKED, cl.h.read_file("test3", "/etc/etcd/cert/etcd-client.pem"))
    cl.h.write_file("test1", REVOKED_KEY,
                    cl.h.read_file("test3", "/etc/etcd/cert/etcd-client-key.pem"), mode=0o600)
    listed = json.loads(cl.slipway("--json", "cert", "list", check=True).stdout)
    rec = [x for x in listed if x["serial"].lower() == serial]
    c.need(len(rec) == 1 and rec[0]["node"] == "test3" and rec[0]["purpose"] == "etcd-client"
           and rec[0]["status"] == "valid",
           "test3's installed etcd client certificate is on record (test3, etcd-client, valid)",
           str(rec))
    for n in MEMBERS:
        ok, why = cl.etcd_tls(n, REVOKED, REVOKED_KEY)
        c.need(ok, "before: %s accepts test3's etcd client certificate" % n, why[:200])
    pids = {n: main_pid(cl, n) for n in MEMBERS}

    ld = cl.start_load("revoke")
    rc, out, err, secs = cl.run("cert", "revoke", serial, "--reason", "keyCompromise")
    res = cl.stop_load(ld)
    load, smp = res.get("load", {}), res.get("sample", {})
    print("# cert revoke (and the CRL's delivery): rc %d, %.1fs wall" % (rc, secs))
    print("# client: %s operations, %s failures, %s ops/s; sampler: %s samples, "
          "fewest healthy %s" % (load.get("ops"), load.get("failures"), load.get("rate"),
                                 smp.get("samples"), smp.get("minHealthy")))
    for e in load.get("errors", []):
        print("#   failure at %.3fs (%s): %s" % (e["t"], e["op"], e["error"]))
    c.need(rc == 0, "cert revoke completes", err.strip())
    c.ok(re.search(r"^revoked %s\s+test3\s+etcd-client" % serial, out, re.M) is not None,
         "it names the revoked certificate", out[:300])
    m = re.search(r"^CRL delivered to every etcd member \(operation (crl-etcd-\d+)\)", out, re.M)
    c.ok(m is not None, "it says the CRL reached every etcd member", out[-300:])
    c.ok("note:" not in out, "no 'not enforced' note for a certificate etcd checks")
    c.ok(load.get("failures") == 0 and load.get("ops", 0) > 0,
         "the concurrent client saw 0 failed operations", json.dumps(load.get("byError")))
    c.ok(smp.get("minHealthy") == 3, "every member healthy at every sample",
         "min %s, below: %s" % (smp.get("minHealthy"), smp.get("below2")))

    # delivered to each member and read back; no member restarted for it
    if m:
        log = json.loads(cl.slipway("--json", "rollout", "log", "--op", m.group(1),
                                    check=True).stdout)
        delivered = sorted(set(e["node"] for e in log if e["step"] == "deliver" and
                               e.get("exit") == 0))
        c.ok(delivered == list(MEMBERS), "the fleet engine delivered to every member",
             str(delivered))
        restarts = [(e["node"], e["step"]) for e in log if e["step"].startswith("restart:")
                    or e["step"].startswith("reload:")]
        c.ok(restarts == [], "the delivery restarted no unit (only staleness checks ran)",
             str(restarts))
    after = {n: main_pid(cl, n) for n in MEMBERS}
    c.ok(after == pids, "no etcd member was restarted (same MainPID): etcd reads the "
         "CRL file at every connection", "%s -> %s" % (pids, after))

    for n in MEMBERS:
        ok, why = cl.etcd_tls(n, REVOKED, REVOKED_KEY)
        c.ok(not ok, "%s refuses the revoked certificate" % n, why[:200])
        ok2, why2 = cl.etcd_tls(n, "/etc/etcd/cert/etcd-client.pem",
                                "/etc/etcd/cert/etcd-client-key.pem")
        c.ok(ok2, "%s still accepts test1's own client certificate" % n, why2[:200])
        r = cl.h.exec(n, ["openssl", "crl", "-inform", "DER", "-in", "/etc/etcd/cert/crl.der",
                          "-noout", "-text"])
        c.ok(r.returncode == 0 and serial.upper() in r.stdout.upper(),
             "%s: the installed crl.der lists the serial" % n, r.stderr.strip()[:200])

    # the served CRL verifies against the etcd CA and lists the serial
    r = cl.h.sh("test1", "curl -fsSk https://%s:8443/v1/crl/etcd.pem -o /run/served-crl.pem && "
                "openssl crl -in /run/served-crl.pem -CAfile /etc/etcd/cert/ca.pem -noout "
                "-verify -text" % cl.app_ip)
    c.ok(r.returncode == 0 and "verify OK" in (r.stdout + r.stderr) and
         serial.upper() in r.stdout.upper() and "Key Compromise" in r.stdout,
         "openssl crl -CAfile <etcd CA> -verify accepts the served CRL, which lists the "
         "serial (Key Compromise)", (r.stderr or r.stdout).strip()[:300])

    # a member's peer certificate: refused without --force, nothing changed
    n0 = crl_number(cl)
    peer = serial_of(cl, "test2", "/etc/etcd/cert/etcd.pem")
    p = cl.slipway("cert", "revoke", peer)
    c.ok(p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1 and
         "--force" in p.stderr and "test2" in p.stderr,
         "revoking test2's current peer certificate is refused without --force, and says why",
         p.stderr.strip())
    listed = json.loads(cl.slipway("--json", "cert", "list", check=True).stdout)
    c.ok([x["status"] for x in listed if x["serial"].lower() == peer] == ["valid"],
         "the peer certificate stays valid")
    r = cl.h.sh("test1", "curl -fsSk https://%s:8443/v1/crl/etcd.pem | openssl crl "
                "-noout -crlnumber" % cl.app_ip)
    c.ok(r.stdout.strip() == n0, "the CRL number did not change", "%s vs %s" % (r.stdout, n0))

    p = cl.slipway("cert", "revoke", "--deliver")
    c.ok(p.returncode == 0 and "CRL delivered" in p.stdout,
         "cert revoke --deliver again: the delivery is complete", p.stderr.strip())
    for n in MEMBERS:
        ok, why = cl.etcd_tls(n, "/etc/etcd/cert/etcd-client.pem",
                              "/etc/etcd/cert/etcd-client-key.pem")
        c.ok(ok, "%s healthy at the end" % n, why[:200])
    cl.h.exec("test1", ["rm", "-f", REVOKED, REVOKED_KEY, "/run/served-crl.pem"])


if __name__ == "__main__":
    sys.exit(LL.main("lifecycle_revoke_etcd", body))
