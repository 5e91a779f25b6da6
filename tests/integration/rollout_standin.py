#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Test stand-ins for the rollout tests, installed in the harness nodes under
/opt/k8s/bin by the name they stand in for (the program looks at its own
name). They are test doubles, not the real programs:

  flanneld        There is no flannel package. Checks its flags against
                  flanneld's flag set (unknown flags refused), the etcd TLS
                  files, then reads the network config the rollout wrote to
                  etcd (v3 gRPC gateway, mTLS with the node's flanneld
                  certificate), leases a /24 under <prefix>/subnets like
                  flannel's etcd backend, writes --subnet-file, tells systemd
                  READY=1 and stays up.
  containerd      (Debian's needs real images and snapshots on the nodes:
                  artifacts_image runs it.) Checks its flags and its
                  config.toml (TOML, version 2 or 3, grpc.address), listens on
                  the grpc socket, READY=1, stays up.
  runc, ctr, containerd-shim-runc-v2, the CNI plugins (bridge,
                  host-local, loopback, portmap, flannel)
                  They tell their version (the one .standin.json names for
                  them, as the rollout's binaries step asks); ctr also
                  imports image tarballs (it records the image's name) and
                  lists them, once containerd's socket answers.
  kube-apiserver  A wrapper around tests/k8sdouble's kube-apiserver, on
                  every master: the doubles keep their objects in etcd (as
                  the real apiserver does), so the masters' apiservers are
                  one cluster and any of them may restart while the others
                  serve. The rendered unit is Type=notify (the real
                  apiserver sends READY=1); the double does not, so the
                  wrapper sends READY=1 once the port answers, and passes
                  SIGTERM on (the double's graceful shutdown).
"""
import base64
import http.client
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

CONF = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".standin.json")
for _c in ("/opt/k8s/bin/.standin.json",   # the CNI plugins live in /opt/cni/bin
           "/etc/slipway-standin.json"):   # stand-ins the appliance served
    if os.path.exists(CONF):
        break
    CONF = _c


def version_of(name, default):
    """The version this stand-in reports: what the test wrote for it into
    .standin.json ("versions": the inventory's, or a wrong one on purpose)."""
    try:
        with open(CONF) as f:
            v = (json.load(f).get("versions") or {}).get(name)
    except (OSError, ValueError):
        v = None
    return (v or default).lstrip("v")


def log(msg):
    sys.stderr.write("%s: %s\n" % (os.path.basename(sys.argv[0]), msg))
    sys.stderr.flush()


def die(msg, code=1):
    log("error: " + msg)
    sys.exit(code)


def sd_notify(msg):
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return
    if addr[0] == "@":
        addr = "\0" + addr[1:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.connect(addr)
        s.sendall(msg.encode())
    finally:
        s.close()


def stay_up():
    # the handler takes no lock (an Event's would deadlock when a second
    # SIGTERM lands while the main thread holds it in Event.wait)
    flag = []
    signal.signal(signal.SIGTERM, lambda *a: flag.append(1))
    signal.signal(signal.SIGINT, lambda *a: flag.append(1))
    while not flag:
        time.sleep(0.2)
    sd_notify("STOPPING=1")
    return 0


def parse_go_flags(argv, known, boolean):
    """Go's flag package: -flag, --flag, -flag=value, -flag value."""
    vals = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if not a.startswith("-") or a in ("-", "--"):
            die("unexpected argument %r" % a, 2)
        name = a.lstrip("-")
        val = None
        if "=" in name:
            name, val = name.split("=", 1)
        if name not in known:
            die("flag provided but not defined: -%s" % name, 2)
        if val is None:
            if name in boolean:
                val = "true"
            else:
                i += 1
                if i >= len(argv):
                    die("flag needs an argument: -%s" % name, 2)
                val = argv[i]
        vals[name] = val
        i += 1
    return vals


# ---- flanneld ----

FLANNEL_FLAGS = {
    "etcd-endpoints", "etcd-prefix", "etcd-keyfile", "etcd-certfile",
    "etcd-cafile", "etcd-username", "etcd-password", "kube-subnet-mgr",
    "kube-api-url", "kube-annotation-prefix", "kubeconfig-file", "iface",
    "iface-regex", "iface-can-reach", "subnet-file", "public-ip",
    "public-ipv6", "subnet-lease-renew-margin", "ip-masq", "ipv6-masq",
    "iptables-resync", "iptables-forward-rules", "net-config-path",
    "healthz-ip", "healthz-port", "blackhole-route",
    "set-node-network-unavailable", "auto-detect-ipv4", "auto-detect-ipv6",
    "v", "vmodule", "log_dir", "logtostderr", "alsologtostderr",
    "stderrthreshold", "help", "version",
}
FLANNEL_BOOL = {"kube-subnet-mgr", "ip-masq", "ipv6-masq",
                "iptables-forward-rules", "blackhole-route",
                "set-node-network-unavailable", "auto-detect-ipv4",
                "auto-detect-ipv6", "logtostderr", "alsologtostderr", "help",
                "version"}


def etcd_call(endpoints, ctx, path, body):
    last = None
    for ep in endpoints:
        u = ep.split("://", 1)[-1]
        host, port = u.rsplit(":", 1)
        try:
            c = http.client.HTTPSConnection(host.strip("[]"), int(port), context=ctx, timeout=5)
            c.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
            if r.status == 200:
                return json.loads(data)
            last = "%s%s: HTTP %d %s" % (ep, path, r.status, data[:200])
        except (OSError, ssl.SSLError) as e:
            last = "%s%s: %s" % (ep, path, e)
    raise RuntimeError(last)


def b64(s):
    return base64.b64encode(s.encode()).decode()


def flanneld(argv):
    f = parse_go_flags(argv, FLANNEL_FLAGS, FLANNEL_BOOL)
    if f.get("version") == "true":
        print("v%s (slipway test stand-in)" % version_of("flanneld", "0.26.0"))
        return 0
    if f.get("kube-subnet-mgr") == "true":
        die("this stand-in only implements the etcd backend")
    for k in ("etcd-endpoints", "etcd-cafile", "etcd-certfile", "etcd-keyfile"):
        if not f.get(k):
            die("--%s is required for the etcd backend with mTLS" % k)
    for k in ("etcd-cafile", "etcd-certfile", "etcd-keyfile"):
        if not os.path.isfile(f[k]):
            die("--%s: %s: no such file" % (k, f[k]))
    prefix = f.get("etcd-prefix", "/coreos.com/network").rstrip("/")
    iface = f.get("iface") or f.get("public-ip") or ""
    subnet_file = f.get("subnet-file", "/run/flannel/subnet.env")
    ctx = ssl.create_default_context(cafile=f["etcd-cafile"])
    ctx.load_cert_chain(f["etcd-certfile"], f["etcd-keyfile"])
    eps = [e for e in f["etcd-endpoints"].split(",") if e]
    # flannel waits for its config, as the real one does.
    deadline = time.time() + 60
    while True:
        try:
            r = etcd_call(eps, ctx, "/v3/kv/range", {"key": b64(prefix + "/config")})
            if r.get("kvs"):
                cfg = json.loads(base64.b64decode(r["kvs"][0]["value"]))
                break
            why = "no network config at %s/config" % prefix
        except (RuntimeError, ValueError) as e:
            why = str(e)
        if time.time() > deadline:
            die("cannot read the network config: %s" % why)
        log("waiting: %s" % why)
        time.sleep(1)
    net = ipaddress.ip_network(cfg.get("Network", ""))
    sublen = int(cfg.get("SubnetLen", 24))
    btype = (cfg.get("Backend") or {}).get("Type", "udp")
    if btype != "vxlan":
        die("backend %r: this stand-in (and slipway) use vxlan" % btype)
    # Lease: reuse ours, else take the first free subnet (create-only txn).
    lo, hi = prefix + "/subnets/", prefix + "/subnets0"
    mine = None
    r = etcd_call(eps, ctx, "/v3/kv/range", {"key": b64(lo), "range_end": b64(hi)})
    for kv in r.get("kvs") or []:
        v = json.loads(base64.b64decode(kv["value"]))
        if v.get("PublicIP") == iface:
            mine = base64.b64decode(kv["key"]).decode()[len(lo):]
    if mine is None:
        for sn in list(net.subnets(new_prefix=sublen))[1:]:
            key = lo + str(sn).replace("/", "-")
            val = json.dumps({"PublicIP": iface, "BackendType": "vxlan"})
            t = etcd_call(eps, ctx, "/v3/kv/txn", {
                "compare": [{"key": b64(key), "target": "CREATE", "create_revision": "0"}],
                "success": [{"request_put": {"key": b64(key), "value": b64(val)}}]})
            if t.get("succeeded"):
                mine = str(sn).replace("/", "-")
                break
    if mine is None:
        die("no free subnet in %s" % net)
    sn = ipaddress.ip_network(mine.replace("-", "/"))
    os.makedirs(os.path.dirname(subnet_file), exist_ok=True)
    with open(subnet_file + ".tmp", "w") as fh:
        fh.write("FLANNEL_NETWORK=%s\nFLANNEL_SUBNET=%s/%d\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=%s\n"
                 % (net, sn.network_address + 1, sn.prefixlen,
                    "true" if f.get("ip-masq") == "true" else "false"))
    os.rename(subnet_file + ".tmp", subnet_file)
    log("leased %s for %s (network %s, vxlan); wrote %s" % (sn, iface, net, subnet_file))
    sd_notify("READY=1")
    return stay_up()


# ---- containerd ----

def containerd(argv):
    import tomllib
    cfgpath = "/etc/containerd/config.toml"
    address = None
    i = 0
    while i < len(argv):
        a = argv[i]
        name, _, val = a.partition("=")
        if name in ("--config", "-c", "--log-level", "-l", "--address", "-a", "--root", "--state"):
            if not _:
                i += 1
                if i >= len(argv):
                    die("flag needs an argument: %s" % name, 2)
                val = argv[i]
            if name in ("--config", "-c"):
                cfgpath = val
            if name in ("--address", "-a"):
                address = val
        elif a in ("--version", "-v"):
            print("containerd (slipway test stand-in) v%s" % version_of("containerd", "2.1.0"))
            return 0
        else:
            die("flag provided but not defined: %s" % a, 2)
        i += 1
    try:
        with open(cfgpath, "rb") as fh:
            cfg = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as e:
        die("failed to load TOML from %s: %s" % (cfgpath, e))
    if cfg.get("version") not in (2, 3):
        die("%s: unsupported config version %r" % (cfgpath, cfg.get("version")))
    address = address or (cfg.get("grpc") or {}).get("address") or "/run/containerd/containerd.sock"
    os.makedirs(os.path.dirname(address), exist_ok=True)
    try:
        os.unlink(address)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(address)
    s.listen(16)
    log("config %s (version %d) ok; serving on %s" % (cfgpath, cfg["version"], address))
    sd_notify("READY=1")
    return stay_up()


# ---- kube-apiserver wrapper ----

def flag_value(argv, name, default=None):
    for i, a in enumerate(argv):
        if a == "--" + name and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--" + name + "="):
            return a.split("=", 1)[1]
    return default


def wait_port(host, port, timeout, proc=None):
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            socket.create_connection((host, port), 1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def kube_apiserver(argv):
    try:
        with open(CONF) as fh:
            conf = json.load(fh)
    except OSError as e:
        die("cannot read %s: %s" % (CONF, e))
    double = conf["double"]
    host = flag_value(argv, "bind-address", "0.0.0.0")
    port = int(flag_value(argv, "secure-port", "6443"))
    p = subprocess.Popen([double] + argv)
    signal.signal(signal.SIGTERM, lambda *a: p.terminate())
    signal.signal(signal.SIGINT, lambda *a: p.terminate())
    if wait_port(host if host != "0.0.0.0" else "127.0.0.1", port, 60, p):
        sd_notify("READY=1")
    return p.wait()


# ---- the rest of a node's binaries: they answer for their version ----

IMAGES = "/var/lib/slipway-standin/images"


def runc(argv):
    if argv[:1] in (["--version"], ["-v"], ["version"]):
        print("runc version %s\ncommit: slipway-test-stand-in\nspec: 1.2.1" %
              version_of("runc", "1.3.0"))
        return 0
    die("this stand-in only tells its version")


def shim(argv):
    if argv[:1] in (["-v"], ["--version"]):
        print("containerd-shim-runc-v2:\n  Version:  v%s\n  Revision: stand-in" %
              version_of("containerd-shim-runc-v2", "2.1.0"))
        return 0
    die("this stand-in only tells its version")


def image_name(path):
    """The name in an OCI or docker-save tarball, as ctr would import it."""
    import tarfile
    with tarfile.open(path) as t:
        names = {m.name.lstrip("./"): m for m in t.getmembers()}
        if "index.json" in names:
            idx = json.load(t.extractfile(names["index.json"]))
            for m in idx.get("manifests", []):
                a = m.get("annotations") or {}
                n = a.get("io.containerd.image.name") or a.get("org.opencontainers.image.ref.name")
                if n:
                    return n
        if "manifest.json" in names:
            return json.load(t.extractfile(names["manifest.json"]))[0]["RepoTags"][0]
    return None


def ctr(argv):
    """ctr [-n NS] version | images import FILE | images ls -q"""
    if argv[:1] in (["--version"], ["-v"]):
        print("ctr github.com/containerd/containerd/v2 v%s" % version_of("ctr", "2.1.0"))
        return 0
    if len(argv) >= 2 and argv[0] in ("-n", "--namespace"):
        argv = argv[2:]
    sock = "/run/containerd/containerd.sock"
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock)
        s.close()
    except OSError as e:
        die("failed to dial %s: %s" % (sock, e))
    if argv[:1] == ["version"]:
        print("Client:\n  Version:  v%s\nServer:\n  Version:  v%s" %
              (version_of("ctr", "2.1.0"), version_of("containerd", "2.1.0")))
        return 0
    os.makedirs(IMAGES, exist_ok=True)
    if argv[:2] == ["images", "import"] and len(argv) == 3:
        name = image_name(argv[2])
        if not name:
            die("no image name in %s" % argv[2])
        open(os.path.join(IMAGES, name.replace("/", "_")), "w").write(name + "\n")
        print("unpacking %s (stand-in)...done" % name)
        return 0
    if argv[:2] == ["images", "ls"]:
        for f in sorted(os.listdir(IMAGES)):
            print(open(os.path.join(IMAGES, f)).read().strip())
        return 0
    die("this stand-in does not do: ctr %s" % " ".join(argv))


def cni_plugin(name):
    def run(argv):
        if os.environ.get("CNI_COMMAND") == "VERSION":
            print(json.dumps({"cniVersion": "1.0.0", "supportedVersions": ["0.3.1", "1.0.0"]}))
            return 0
        if not os.environ.get("CNI_COMMAND"):
            sys.stderr.write("CNI %s plugin v%s (slipway test stand-in)\n" %
                             (name, version_of(name, "1.0.0")))
            return 0
        die("this stand-in does not configure networks")
    return run


def main():
    me = os.path.basename(sys.argv[0])
    fn = {"flanneld": flanneld, "containerd": containerd,
          "kube-apiserver": kube_apiserver, "runc": runc, "ctr": ctr,
          "containerd-shim-runc-v2": shim}.get(me)
    if fn is None and me in ("bridge", "host-local", "loopback", "portmap", "flannel"):
        fn = cni_plugin(me)
    if fn is None:
        die("unknown stand-in %r" % me, 2)
    return fn(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
