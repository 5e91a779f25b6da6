#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""`slipway approve` (the loop `slipway serve` runs) against a kube-apiserver
double that misbehaves, and each CSR still signed exactly once:

- 409 Conflicts on CSR updates (injected): re-read, decided again, signed;
  `cluster apply` retries a conflicting Secret update too;
- watches closed mid-stream (injected, between bursts of CSRs): resumed from
  the last resourceVersion (no relist), no CSR processed twice; a burst of
  80 CSRs (more events than the watch queues before pausing the stream);
- the API server down (stopped, restarted from its persisted state) and
  answering 503 for a while: the loop backs off (growing delays), does not
  crash, and picks up CSRs created once the server is back;
- two approvers at once on the same CSR: one certificate;
- finally, for every CSR: exactly one csr.approve and one csr.sign in the
  audit log, one approval line in the approver's log, and the certificate
  in status.certificate is the one recorded in the store.
"""
import base64
import json
import os
import re
import ssl
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import approver_lib as L  # noqa: E402


def renewal_csr(e, node, n):
    """A client CSR created by the node itself (its bootstrapped identity)."""
    key = e.p("renew-%s-%d.key" % (node, n))
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key], check=True)
    req = subprocess.run(["openssl", "req", "-new", "-key", key, "-subj", "/O=system:nodes/CN=system:node:" + node],
                         check=True, capture_output=True).stdout
    body = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"name": "renew-%s-%d" % (node, n)},
            "spec": {"request": base64.b64encode(req).decode(), "signerName": L.CLIENT,
                     "usages": ["digital signature", "client auth"]}}
    cur = e.kubelet_cert(node)
    ctx = ssl.create_default_context(cafile=e.p("ca.pem"))
    ctx.load_cert_chain(cur, cur)
    r = urllib.request.Request(e.url + L.CSR_PATH, data=json.dumps(body).encode(), method="POST")
    r.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(r, context=ctx, timeout=10) as resp:
        return resp.status == 201 and body["metadata"]["name"]


def watches_in_access_log(e):
    return len(re.findall(r'"GET /apis/certificates\.k8s\.io/v1/certificatesigningrequests\?watch=1',
                          e.log("apiserver.log")))


def close_watch(e):
    """Closes the approver's watch and waits until it has watched again (a
    close sent before the new watch starts would not reach it)."""
    n = watches_in_access_log(e)
    e.fault({"closeWatches": True})
    e.wait(lambda: watches_in_access_log(e) > n, 10, 0.05)


def issued(e, name):
    return L.cert_pem(e.csr(name))


def lists_in_access_log(e):
    return len(re.findall(r'"GET /apis/certificates\.k8s\.io/v1/certificatesigningrequests\?limit=',
                          e.log("apiserver.log")))


def run(e):
    e.init()
    e.start_apiserver()
    r = e.slipway("cluster", "apply")
    e.check("cluster apply", r.returncode == 0, r.stdout + r.stderr)
    ap = e.start_approver()
    e.wait(lambda: "watching certificate signing requests" in e.log("approver.log"), 20)

    # --- 409 conflicts ---
    code, st = e.fault({"conflict": {"resource": "certificatesigningrequests", "count": 3}})
    e.check("inject three 409s on CSR updates", code == 200, st)
    e.start_kubelet("test1", e.bootstrap_kubeconfig("test1"), "192.168.0.91")
    ok = e.wait(lambda: e.kubelet_cert("test1") and e.kubelet_cert("test1", "server") and e.node_ready("test1"), 60)
    e.check("kubelet test1 bootstraps despite the conflicts (client + serving certificates, Node Ready)", ok,
            e.log("approver.log"))
    log = e.log("approver.log")
    e.check("each 409 was answered by reading the CSR again", log.count("(409 Conflict): reading it again") == 3, log)
    code, st = e.api("GET", "/_double/faults")
    e.check("the injected conflicts were all consumed", code == 200 and not any(st["conflicts"].values()), st)

    # cluster apply: a conflicting Secret update is retried
    code, lst = e.api("GET", "/api/v1/namespaces/kube-system/secrets")
    sec = [s for s in lst.get("items", []) if s["metadata"]["name"].startswith("bootstrap-token-")][0]
    rc, so, se = e.kubectl("label", "secret", "-n", "kube-system", sec["metadata"]["name"],
                           "app.kubernetes.io/managed-by=someone-else", "--overwrite")
    e.fault({"conflict": {"resource": "secrets", "count": 2}})
    r = e.slipway("cluster", "apply")
    e.check("cluster apply retries 409s and puts the Secret back",
            r.returncode == 0 and "%s (node" % sec["metadata"]["name"] in r.stdout and ": updated" in r.stdout,
            r.stdout + r.stderr)

    # --- watches closed mid-stream, between bursts of CSRs ---
    lists0 = lists_in_access_log(e)
    names = [renewal_csr(e, "test1", 1), renewal_csr(e, "test1", 2)]
    close_watch(e)
    names += [renewal_csr(e, "test1", 3), renewal_csr(e, "test1", 4)]
    close_watch(e)
    names.append(renewal_csr(e, "test1", 5))
    ok = e.wait(lambda: all(issued(e, n) for n in names), 30)
    e.check("five renewal CSRs around two closed watches are all signed", ok,
            [(n, bool(issued(e, n))) for n in names])
    log = e.log("approver.log")
    m = re.findall(r"watch closed by the server after \d+s; resuming from resourceVersion (\d+)", log)
    e.check("the loop resumed each closed watch from its last resourceVersion", len(m) >= 2, log[-2000:])
    e.check("... without listing again", lists_in_access_log(e) == lists0, (lists0, lists_in_access_log(e)))
    watches = re.findall(r'"GET /apis/certificates\.k8s\.io/v1/certificatesigningrequests\?watch=1[^"]*'
                         r'resourceVersion=(\d+)', e.log("apiserver.log"))
    e.check("the API server saw watches resume at those resourceVersions",
            all(rv in watches for rv in m), (m, watches[-6:]))

    # --- a burst: more events than the watch queues at once ---
    burst = []
    for i in range(100, 180):
        burst.append(renewal_csr(e, "test1", i))
    ok = e.wait(lambda: all(issued(e, n) for n in burst), 90, 0.5)
    e.check("a burst of 80 CSRs is signed", ok, [n for n in burst if not issued(e, n)][:10])
    names += burst

    # --- the API server down, then back ---
    e.stop_apiserver()
    t_down = time.time()
    time.sleep(9)
    e.check("the approver survives the API server going away", ap.poll() is None, e.log("approver.log")[-1500:])
    delays = [int(x) for x in re.findall(r"(?:resuming from resourceVersion \d+|retrying) in (\d+) ms",
                                         e.log("approver.log"))]
    e.check("it backs off with growing delays", len(delays) >= 3 and delays[-1] > delays[0] * 2 and
            all(d <= 36000 for d in delays), delays)
    e.start_apiserver()
    print("API server down for %.1fs" % (time.time() - t_down))
    n6 = renewal_csr(e, "test1", 6)
    ok = e.wait(lambda: issued(e, n6), 45)
    e.check("once the API server is back, a new CSR is signed", ok, e.log("approver.log")[-1500:])
    names.append(n6)

    # 503 for a while, with the watch cut
    e.fault({"error": {"code": 503, "seconds": 4, "pathPrefix": "/apis/"}, "closeWatches": True})
    time.sleep(1)
    n7 = renewal_csr_when_up(e, 7)
    ok = e.wait(lambda: issued(e, n7), 45)
    e.check("through a 503 window: retried with backoff, then the CSR is signed", ok, e.log("approver.log")[-1500:])
    e.check("the 503s were seen and retried", "HTTP 503" in e.log("approver.log"), e.log("approver.log")[-1500:])
    names.append(n7)
    rc = e.stop(ap)
    e.check("the approver stops cleanly on SIGTERM", rc == 0, rc)

    # --- two approvers at once on the same CSR ---
    n8 = renewal_csr(e, "test1", 8)
    p1 = subprocess.Popen([L.SLIPWAY, "--state", e.state, "approve", "--once"], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    p2 = subprocess.Popen([L.SLIPWAY, "--state", e.state, "approve", "--once"], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    o1, o2 = p1.communicate(60)[0], p2.communicate(60)[0]
    e.check("two approve --once at the same time both succeed", p1.returncode == 0 and p2.returncode == 0, o1 + o2)
    e.check("... and the CSR is signed", issued(e, n8), o1 + o2)
    names.append(n8)

    # --- exactly once, for every CSR ---
    audit = e.audit()
    per = {}
    for a in audit:
        if a["action"] in ("csr.approve", "csr.sign"):
            per.setdefault(a["object"], []).append(a)
    allcsrs = [c["metadata"]["name"] for c in e.csrs()]
    bad = []
    serials = {}
    for n in allcsrs:
        ents = per.get("csr/" + n, [])
        acts = sorted(a["action"] for a in ents)
        if acts != ["csr.approve", "csr.sign"]:
            bad.append((n, acts))
            continue
        sign = [a for a in ents if a["action"] == "csr.sign"][0]
        serials[n] = re.search(r"serial ([0-9a-f]+)", sign["detail"]).group(1)
    e.check("every CSR (%d) has exactly one csr.approve and one csr.sign" % len(allcsrs),
            not bad and len(allcsrs) == 2 + len(names), bad or allcsrs)
    mism = []
    for n, serial in serials.items():
        pem = issued(e, n) or ""
        out = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=pem, capture_output=True,
                             text=True).stdout.strip()
        if out.lower() != "serial=" + serial.lower():
            mism.append((n, out, serial))
    e.check("each CSR's status.certificate is the certificate recorded in the store", not mism, mism)
    certs = [c for c in e.certs() if c.get("purpose") in ("kubelet-client", "kubelet-serving")]
    e.check("the store holds one kubelet certificate per CSR", len(certs) == len(allcsrs),
            (len(certs), len(allcsrs)))
    log = e.log("approver.log") + o1 + o2
    twice = [n for n in allcsrs if log.count("approved csr %s:" % n) != 1]
    e.check("each CSR was approved once in the approvers' logs", not twice, twice)
    r = e.slipway("audit", "verify")
    e.check("audit log verifies", r.returncode == 0, r.stdout + r.stderr)


def renewal_csr_when_up(e, n):
    """Creates CSR n as soon as the 503 window lets it through."""
    end = time.time() + 20
    while time.time() < end:
        try:
            return renewal_csr(e, "test1", n)
        except urllib.error.HTTPError as err:
            if err.code != 503:
                raise
            time.sleep(0.3)
    raise SystemExit("the 503 window did not end")


if __name__ == "__main__":
    L.main("approver_api_faults", run)
