# SPDX-License-Identifier: Apache-2.0
"""kube-scheduler double: flag and KubeSchedulerConfiguration validation,
connect through clientConnection.kubeconfig, Lease leader election, /healthz
on the secure port (10259).  It schedules nothing."""
import threading

from . import common
from . import component
from . import configs
from . import pki

C = "kube-scheduler"


def validate(p):
    errs = []
    cfg = {}
    if p.get("config"):
        try:
            cfg = configs.load_config(p.get("config"), "KubeSchedulerConfiguration")
        except configs.ConfigError as e:
            raise common.Fatal(str(e))
    names = [pr.get("schedulerName", "default-scheduler") for pr in cfg.get("profiles") or []]
    if len(set(names)) != len(names):
        errs.append("profiles: Duplicate value: schedulerName must be unique")
    pct = cfg.get("percentageOfNodesToScore")
    if pct is not None and not 0 <= pct <= 100:
        errs.append("percentageOfNodesToScore: Invalid value: %d: not in valid range [0-100]" % pct)
    if cfg.get("parallelism") is not None and cfg["parallelism"] <= 0:
        errs.append("parallelism: Invalid value: %d: should be an integer value greater than zero" % cfg["parallelism"])
    kcpath = (cfg.get("clientConnection") or {}).get("kubeconfig")
    kc = None
    if not kcpath and not p.get("master"):
        errs.append("no kubeconfig: set clientConnection.kubeconfig in the --config file (--kubeconfig is deprecated); "
                    "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined")
    if kcpath:
        try:
            kc = configs.load_kubeconfig(kcpath, "clientConnection.kubeconfig")
        except configs.ConfigError as e:
            errs.append(str(e))
    for f in ("authentication-kubeconfig", "authorization-kubeconfig"):
        if p.get(f):
            try:
                configs.load_kubeconfig(p.get(f), "--" + f)
            except configs.ConfigError as e:
                errs.append(str(e))
    for f in ("client-ca-file", "requestheader-client-ca-file"):
        if p.get(f):
            try:
                pki.check_cert_file(p.get(f), "--" + f)
            except pki.PKIError as e:
                errs.append(str(e))
    if bool(p.get("tls-cert-file")) != bool(p.get("tls-private-key-file")):
        errs.append("--tls-cert-file and --tls-private-key-file must be specified together")
    elif p.get("tls-cert-file"):
        try:
            pki.check_pair_files(p.get("tls-cert-file"), p.get("tls-private-key-file"), "--tls-cert-file")
        except pki.PKIError as e:
            errs.append(str(e))
    le = dict(cfg.get("leaderElection") or {})
    for flag, key in (("leader-elect", "leaderElect"), ("leader-elect-resource-name", "resourceName"),
                      ("leader-elect-resource-namespace", "resourceNamespace"),
                      ("leader-elect-resource-lock", "resourceLock")):
        if p.has(flag):
            le[key] = p.get(flag)
    from .flags import parse_duration
    for flag, key in (("leader-elect-lease-duration", "leaseDuration"), ("leader-elect-renew-deadline", "renewDeadline"),
                      ("leader-elect-retry-period", "retryPeriod")):
        if p.has(flag):
            le[key] = p.get(flag)
        elif isinstance(le.get(key), str):
            le[key] = parse_duration(le[key])
    le.setdefault("leaderElect", True)
    le.setdefault("resourceName", "kube-scheduler")
    le.setdefault("resourceNamespace", "kube-system")
    le.setdefault("leaseDuration", 15.0)
    le.setdefault("renewDeadline", 10.0)
    le.setdefault("retryPeriod", 2.0)
    if le.get("resourceLock", "leases") != "leases":
        errs.append('leaderElection.resourceLock: Invalid value: "%s": resourceLock value must be "leases"' % le["resourceLock"])
    try:
        component.check_leader_timings(le["leaseDuration"], le["renewDeadline"], le["retryPeriod"])
    except common.Fatal as e:
        errs.append(str(e))
    if errs:
        raise common.Fatal("\n".join(errs))
    return kc, le


def run(p, version, check_only):
    kc, le_cfg = validate(p)
    if check_only:
        return 0
    stop = threading.Event()
    common.wait_for_signal(stop)
    c = component.connect(C, kc)
    le = None
    if le_cfg["leaderElect"]:
        le = component.LeaderElector(C, c, le_cfg["resourceNamespace"], le_cfg["resourceName"],
                                     le_cfg["leaseDuration"], le_cfg["renewDeadline"], le_cfg["retryPeriod"])
    port = p.get("secure-port", 10259)
    if port:
        tls = (p.get("tls-cert-file"), p.get("tls-private-key-file")) if p.get("tls-cert-file") else \
            component.self_signed_pair(C, p.get("cert-dir"))
        checks = {"ping": lambda: (True, "")}
        if le:
            checks["leaderElection"] = le.healthy
        component.health_server(C, p.get("bind-address", "0.0.0.0"), port, checks, tls=tls)
    if le:
        threading.Thread(target=le.run, args=(stop,), daemon=True).start()
    while not stop.is_set():
        if le and le.lost.is_set():
            raise common.Fatal("leaderelection lost")
        stop.wait(0.5)
    return 0
