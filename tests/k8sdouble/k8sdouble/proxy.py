# SPDX-License-Identifier: Apache-2.0
"""kube-proxy double: flag and KubeProxyConfiguration validation, connect
through clientConnection.kubeconfig (or --kubeconfig), read its Node, serve
/healthz on healthzBindAddress (10256).  It programs no iptables/ipvs/nft."""
import ipaddress
import socket
import threading
import time

from . import client as clientmod
from . import common
from . import component
from . import configs
from . import flags as flagsmod

C = "kube-proxy"


def split_hostport(v, what, default_port):
    if v.startswith("["):
        host, _, port = v[1:].partition("]")
        port = port.lstrip(":")
    elif v.count(":") == 1:
        host, port = v.split(":")
    else:
        host, port = v, ""
    try:
        ipaddress.ip_address(host)
        port = int(port) if port else default_port
        if not 0 <= port <= 65535:
            raise ValueError
    except ValueError:
        raise common.Fatal('%s: Invalid value: "%s": must be IP:port' % (what, v))
    return host, port


def validate(p):
    cfg = {}
    if p.get("config"):
        try:
            cfg = configs.load_config(p.get("config"), "KubeProxyConfiguration")
        except configs.ConfigError as e:
            raise common.Fatal(str(e))
        ignored = [n for n in p.values if p.defs[n].ignored_with_config]
        if ignored:
            common.log(C, "flags %s are ignored because --config is set; put them into %s"
                       % (", ".join("--" + n for n in ignored), p.get("config")), "W")
    gates = flagsmod.load_feature_gates()
    errs = []
    for g in cfg.get("featureGates") or {}:
        if g not in gates:
            errs.append("unrecognized feature gate: %s" % g)
    mode = cfg.get("mode") if p.get("config") else p.get("proxy-mode", "")
    if mode not in (None, "", "iptables", "ipvs", "nftables"):
        errs.append('KubeProxyConfiguration.Mode: Invalid value: "%s": must be iptables, ipvs, nftables or blank (blank means the best-available proxy [currently iptables])' % mode)
    cidr = cfg.get("clusterCIDR") if p.get("config") else p.get("cluster-cidr")
    if cidr:
        try:
            component.check_cidrs(cidr, "KubeProxyConfiguration.ClusterCIDR")
        except common.Fatal as e:
            errs.append(str(e))
    for a in cfg.get("nodePortAddresses") or []:
        if a != "primary":
            try:
                ipaddress.ip_network(a, strict=False)
            except ValueError:
                errs.append('KubeProxyConfiguration.NodePortAddresses: Invalid value: "%s": must be a valid CIDR or "primary"' % a)
    hz = cfg.get("healthzBindAddress") if p.get("config") else p.get("healthz-bind-address")
    hz = hz or "0.0.0.0:10256"
    try:
        bind, port = split_hostport(hz, "KubeProxyConfiguration.HealthzBindAddress", 10256)
        if cfg.get("metricsBindAddress"):
            split_hostport(cfg["metricsBindAddress"], "KubeProxyConfiguration.MetricsBindAddress", 10249)
    except common.Fatal as e:
        errs.append(str(e))
        bind, port = "0.0.0.0", 10256
    kcpath = (cfg.get("clientConnection") or {}).get("kubeconfig") or p.get("kubeconfig")
    kc = None
    if not kcpath and not p.get("master"):
        errs.append("unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined")
    elif kcpath:
        try:
            kc = configs.load_kubeconfig(kcpath, "kubeconfig")
        except configs.ConfigError as e:
            errs.append(str(e))
    if errs:
        raise common.Fatal("\n".join(errs))
    host = (cfg.get("hostnameOverride") if p.get("config") else p.get("hostname-override")) or socket.gethostname()
    return kc, bind, port, host.lower().strip(), mode or "iptables"


def run(p, version, check_only):
    kc, bind, port, nodename, mode = validate(p)
    if check_only:
        return 0
    if p.get("cleanup") or p.get("init-only"):
        common.log(C, "--cleanup/--init-only: nothing to do in the double")
        return 0
    stop = threading.Event()
    common.wait_for_signal(stop)
    state = {"updated": time.time(), "eligible": True}

    def body(ok):
        now = component.now_rfc3339()
        return {"lastUpdated": now, "currentTime": now, "nodeEligible": state["eligible"]}

    if port:
        component.health_server(C, bind, port, {"proxier": lambda: (True, "")}, json_body=body)
    c = component.connect(C, kc)
    common.log(C, "Using %s Proxier (double: no rules are programmed)" % mode)
    while not stop.is_set():
        try:
            n = c.get("/api/v1/nodes/%s" % nodename)
            ips = [a["address"] for a in (n.get("status") or {}).get("addresses") or [] if a.get("type") == "InternalIP"]
            common.log(C, "node %s found, primary IPs %s" % (nodename, ips))
            break
        except clientmod.APIError as e:
            if e.code == 404:
                common.log(C, "can't determine this node's IP, assuming loopback; if this is incorrect, "
                              "please set the --bind-address flag (node %s not found yet)" % nodename, "W")
                stop.wait(5)
                continue
            if e.code in (401, 403):
                raise common.Fatal("kube-proxy cannot read its Node %s: %s" % (nodename, e))
            stop.wait(2)
        except clientmod.TransportError as e:
            common.log(C, "apiserver unreachable: %s" % e, "E")
            stop.wait(2)
    # like the real proxier's informers: a watch (here on its own Node),
    # re-established whenever the server ends it or the connection breaks
    rv = None
    while not stop.is_set():
        state["updated"] = time.time()
        try:
            for ev in c.watch("/api/v1/nodes?fieldSelector=metadata.name%3D" + nodename,
                              timeout_seconds=30, resource_version=rv, stop=stop):
                if ev.get("type") == "ERROR":
                    rv = None
                    break
                rv = ((ev.get("object") or {}).get("metadata") or {}).get("resourceVersion") or rv
                state["updated"] = time.time()
        except (clientmod.APIError, clientmod.TransportError) as e:
            common.log(C, "watch of node %s: %s" % (nodename, e), "E")
            rv = None
            stop.wait(1)
    return 0
