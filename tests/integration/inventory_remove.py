#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""inventory_remove: `slipway inventory apply` with the cluster's first
inventory removes the worker test4 that inventory_add_worker added (run
alone, this test adds it first): afterwards its Node object is gone, its
units are stopped, every certificate of it is revoked and in the etcd CA's
served CRL, etcd (reading the CRL delivered to every member) refuses its
flanneld client certificate that it accepted before, its bootstrap-token
Secret is gone, `token create --node test4` fails with one line, the other
workers stay Ready and their units were not restarted.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import inventory_add_worker as AW  # noqa: E402
import lifecycle_lib as LL  # noqa: E402
import rollout_lib as L  # noqa: E402

FLANNEL = "/etc/flanneld/cert"


def body(cl, c):
    c.need("test4" in cl.h.nodes, "the harness has a spare host test4")
    if "name: test4" not in cl.slipway("inventory", "show").stdout:
        print("# test4 is not in the inventory: adding it first")
        AW.body(cl, c)
    # its flanneld etcd client pair, copied to test1: accepted now
    unit = cl.h.exec("test4", ["systemctl", "cat", "flanneld"]).stdout
    cert = [a.split("=", 1)[1] for a in unit.split() if a.startswith("--etcd-certfile=")]
    key = [a.split("=", 1)[1] for a in unit.split() if a.startswith("--etcd-keyfile=")]
    c.need(cert and key, "test4's flanneld etcd client pair found", unit[-200:])
    for src, dst in ((cert[0], "/root/t4.pem"), (key[0], "/root/t4-key.pem")):
        cl.h.write_file("test1", dst, cl.h.read_file("test4", src), 0o600)
    ok, why = cl.etcd_tls("test1", "/root/t4.pem", "/root/t4-key.pem")
    c.need(ok, "before: etcd accepts test4's flanneld certificate", why[-200:])
    certs = json.loads(cl.slipway("--json", "cert", "list").stdout)
    mine = [x for x in certs if x.get("node") == "test4" and x.get("status") != "revoked"]
    c.need(mine, "test4 has certificates", "%d" % len(mine))
    before = AW.start_times(cl)

    rc, out, err, secs = cl.run("inventory", "apply", cl.inventory)
    c.need(rc == 0, "inventory apply removes test4", "%.1fs; %s" % (secs, err.strip()[-300:]))
    r = cl.h.exec("appliance", ["kubectl", "--kubeconfig", cl.admin_kubeconfig(),
                                "--request-timeout", "5s", "get", "node", "test4"], timeout=20)
    c.ok(r.returncode != 0 and "NotFound" in r.stderr, "Node test4 is gone",
         (r.stdout + r.stderr).strip()[-200:])
    r = cl.h.exec("test4", ["systemctl", "is-active", "kubelet", "kube-proxy", "flanneld",
                            "containerd"])
    c.ok("active" not in r.stdout.split(), "test4's units are stopped", r.stdout.strip())
    certs = json.loads(cl.slipway("--json", "cert", "list").stdout)
    left = [x["serial"] for x in certs if x.get("node") == "test4" and x.get("status") != "revoked"]
    c.ok(not left, "every certificate of test4 is revoked", ", ".join(left))
    crl = cl.h.exec("appliance", ["sh", "-c", "curl -fsSk https://%s:8443/v1/crl/etcd.pem | "
                                  "openssl crl -noout -text" % cl.app_ip]).stdout.upper()
    etcd_serials = [x["serial"] for x in mine if x.get("ca") == "etcd"]
    missing = [s for s in etcd_serials if s.upper().lstrip("0") not in crl.replace(":", "")]
    c.ok(etcd_serials and not missing, "test4's etcd certificates are in the served CRL",
         "%d serials, missing %s" % (len(etcd_serials), missing))
    ok, why = cl.etcd_tls("test1", "/root/t4.pem", "/root/t4-key.pem")
    c.ok(not ok, "after: etcd refuses test4's flanneld certificate", why[-200:])
    r = cl.slipway("token", "create", "--node", "test4")
    c.ok(r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and not r.stdout,
         "token create --node test4 fails with one line", r.stderr.strip())
    r = cl.h.exec("appliance", ["kubectl", "--kubeconfig", cl.admin_kubeconfig(),
                                "--request-timeout", "5s", "-n", "kube-system", "get",
                                "secrets", "-o", "json"], timeout=20)
    groups = [base_decode(i.get("data", {}).get("auth-extra-groups", ""))
              for i in json.loads(r.stdout or "{}").get("items", [])]
    c.ok(r.returncode == 0 and not any("system:bootstrappers:test4" in g for g in groups)
         and any("system:bootstrappers:test1" in g for g in groups),
         "test4's bootstrap-token Secret is gone (test1's is there)", "; ".join(groups))
    for n in L.NODES:
        ok, why = AW.node_ready(cl, n)
        c.ok(ok, "Node %s is still Ready" % n, why[-200:])
    after = AW.start_times(cl)
    changed = sorted("%s/%s" % k for k in before if after.get(k) != before[k])
    c.ok(not changed, "no unit on test1-3 restarted", ", ".join(changed))
    cl.h.exec("test1", ["rm", "-f", "/root/t4.pem", "/root/t4-key.pem"])


def base_decode(s):
    import base64
    try:
        return base64.b64decode(s).decode()
    except (ValueError, UnicodeDecodeError):
        return ""


if __name__ == "__main__":
    sys.exit(LL.main("inventory_remove", body))
