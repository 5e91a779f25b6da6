#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""etcd_load.py: a client of the etcd cluster that runs on a node during a
lifecycle test, as the node's own programs would: it uses the node's
delivered files (/etc/etcd/cert/ca.pem, etcd-client.pem, etcd-client-key.pem)
and follows them when a delivery replaces them, like etcd itself does.

  load     writes and reads continuously through all three endpoints: one
           gRPC channel over every member (round robin: each operation goes
           to one member; the channel's normal failover moves operations off
           a member that goes away), ONE attempt per operation (no retry),
           RATE operations a second (a put, then a get of what was put).
           Every failure is kept with its error; a TLS or certificate error
           is a failure like any other.
  sample   every 100 ms asks every member's /health over mTLS (a new TLS
           connection each time, with the node's current files) and counts
           the healthy ones.

Both run until STOP (a file) appears, then print one JSON line with their
counts. Debian's python3-grpcio and python3-etcd3 (its generated stubs
only): nothing else. Timing is monotonic; nothing here asserts.
"""
import argparse
import json
import os
import ssl
import sys
import threading
import time
import http.client

CERT_DIR = "/etc/etcd/cert"
CA = CERT_DIR + "/ca.pem"
CERT = CERT_DIR + "/etcd-client.pem"
KEY = CERT_DIR + "/etcd-client-key.pem"


def read_creds():
    """The node's current files, only if key and certificate belong together
    (a delivery replaces them by two renames)."""
    with open(CA, "rb") as f:
        ca = f.read()
    with open(CERT, "rb") as f:
        cert = f.read()
    with open(KEY, "rb") as f:
        key = f.read()
    ctx = ssl.create_default_context()
    import tempfile
    with tempfile.NamedTemporaryFile(dir="/run") as c, tempfile.NamedTemporaryFile(dir="/run") as k:
        c.write(cert)
        c.flush()
        k.write(key)
        k.flush()
        ctx.load_cert_chain(c.name, k.name)  # raises if they do not match
    return ca, cert, key


def stamp():
    return tuple(os.stat(p).st_mtime_ns for p in (CA, CERT, KEY))


def load(args):
    import grpc
    from etcd3.etcdrpc import rpc_pb2, rpc_pb2_grpc

    target = "ipv4:" + ",".join(args.endpoints)
    state = {"ch": None, "stub": None, "stamp": None, "reloads": 0, "old": []}

    def connect():
        ca, cert, key = read_creds()
        creds = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key,
                                             certificate_chain=cert)
        # every member's certificate carries 127.0.0.1 besides its own IP
        ch = grpc.secure_channel(target, creds, options=[
            ("grpc.lb_policy_name", "round_robin"),
            ("grpc.ssl_target_name_override", "127.0.0.1"),
        ])
        old = state["ch"]
        state["ch"] = ch
        state["stub"] = rpc_pb2_grpc.KVStub(ch)
        state["stamp"] = stamp()
        if old is not None:
            state["reloads"] += 1
            # Kept open, referenced, until the result is printed: closing
            # (or collecting) a round_robin channel while its subchannels
            # reconnect trapped in grpcio's core (bookworm's 1.51: "trap
            # invalid opcode ... in cygrpc", the client died without a
            # word in a CI run). Nothing uses it any more.
            state["old"].append(old)

    connect()
    ops = fails = 0
    errors = []
    per_kind = {}
    t0 = time.monotonic()
    period = 1.0 / args.rate
    nxt = t0
    i = 0
    while not os.path.exists(args.stop):
        try:
            if stamp() != state["stamp"]:
                connect()
        except (OSError, ssl.SSLError, ValueError):
            pass  # a pair half replaced: the next look takes it
        key = ("lifecycle/%d" % (i % 1000)).encode()
        val = ("v%d" % i).encode()
        for kind in ("put", "get"):
            ops += 1
            started = time.monotonic()
            try:
                if kind == "put":
                    state["stub"].Put(rpc_pb2.PutRequest(key=key, value=val),
                                      timeout=args.timeout)
                else:
                    r = state["stub"].Range(rpc_pb2.RangeRequest(key=key),
                                            timeout=args.timeout)
                    if not r.kvs or r.kvs[0].value != val:
                        raise ValueError("read %r, wrote %r" % (
                            r.kvs[0].value if r.kvs else None, val))
            except Exception as e:  # noqa: BLE001 (every failure is counted)
                fails += 1
                if isinstance(e, grpc.RpcError):
                    msg = "%s: %s" % (e.code().name, e.details())
                else:
                    msg = "%s: %s" % (type(e).__name__, e)
                per_kind[msg] = per_kind.get(msg, 0) + 1
                if len(errors) < 50:
                    errors.append({"t": round(started - t0, 3), "op": kind,
                                   "wall": round(time.time() - (time.monotonic() - started), 3),
                                   "error": msg[:300]})
        i += 1
        nxt += period * 2
        delay = nxt - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            nxt = time.monotonic()
    wall = time.monotonic() - t0
    print(json.dumps({"ops": ops, "failures": fails, "wall": round(wall, 2),
                      "rate": round(ops / wall, 1) if wall > 0 else 0,
                      "reloads": state["reloads"], "errors": errors,
                      "byError": per_kind}), flush=True)
    os._exit(0)     # the result is out: no channel teardown after it


def sample(args):
    samples = 0
    low = []
    min_healthy = None
    t0 = time.monotonic()
    nxt = t0

    def healthy(ep, ctx):
        host, port = ep.rsplit(":", 1)
        try:
            c = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=0.5)
            c.request("GET", "/health")
            body = c.getresponse().read()
            c.close()
            return json.loads(body).get("health") == "true"
        except Exception:  # noqa: BLE001 (unhealthy, whatever the reason)
            return False

    ctx = None
    st = None
    while not os.path.exists(args.stop):
        try:
            if stamp() != st:
                ca, cert, key = read_creds()
                c = ssl.create_default_context(cadata=ca.decode())
                c.check_hostname = False
                c.load_cert_chain(CERT, KEY)
                ctx, st = c, stamp()
        except (OSError, ssl.SSLError, ValueError):
            pass
        n = 0
        res = {}
        ths = []
        for ep in args.endpoints:
            def one(ep=ep):
                res[ep] = healthy(ep, ctx)
            th = threading.Thread(target=one)
            th.start()
            ths.append(th)
        for th in ths:
            th.join()
        n = sum(1 for v in res.values() if v)
        samples += 1
        min_healthy = n if min_healthy is None else min(min_healthy, n)
        if n < 2 and len(low) < 50:
            low.append({"t": round(time.monotonic() - t0, 2), "healthy": n,
                        "down": sorted(k for k, v in res.items() if not v)})
        nxt += 0.1
        d = nxt - time.monotonic()
        if d > 0:
            time.sleep(d)
        else:
            nxt = time.monotonic()
    print(json.dumps({"samples": samples, "minHealthy": min_healthy, "below2": low,
                      "wall": round(time.monotonic() - t0, 2)}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["load", "sample"])
    ap.add_argument("--endpoints", required=True, help="ip:port,ip:port,...")
    ap.add_argument("--rate", type=float, default=40.0, help="operations a second")
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--stop", required=True)
    args = ap.parse_args()
    args.endpoints = args.endpoints.split(",")
    (load if args.mode == "load" else sample)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
