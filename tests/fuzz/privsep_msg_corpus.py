#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""privsep_msg_corpus.py: writes the seed corpus of the privsep_msg fuzz
target (tests/fuzz/corpus/privsep_msg/): one valid frame body of every
message type, and malformed ones that the parser must refuse (truncated,
trailing bytes, over a cap, NUL in a string, a bad address or node name,
an error answer that carries a body, ...). Files are named by SHA-1."""
import hashlib, os, struct
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "privsep_msg")
def u32(v): return struct.pack(">I", v & 0xffffffff)
def s(b):
    if isinstance(b, str): b = b.encode()
    return struct.pack(">H", len(b)) + b
def blob(b):
    if isinstance(b, str): b = b.encode()
    return u32(len(b)) + b
TOK = "0123456789abcdef.0123456789abcdef0123456789abcdef01234567"
items = []
def req(t, tok=TOK, peer="127.0.0.1", node="", csr=None):
    b = bytes([t]) + s(tok) + s(peer) + s(node)
    if csr is not None: b += blob(csr)
    return b

pem = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"
items += [req(3), req(4), req(4, node="test1"), req(3, peer="::1"), req(3, peer="fe80::1%eth0"),
          req(5, csr=pem), req(5, csr=""), req(4, tok="garbage"), req(3, peer="-")]
def tans(rc=0, why=0, id="0123456789abcdef", node="test1", n=2, body=b"", text=""):
    return bytes([9]) + u32(rc) + u32(why) + s(id) + s(node) + u32(n) + blob(body) + s(text)
items += [tans(body=b"\x1f\x8b\x08\x00tar.gz"), tans(rc=-22, why=4, body=b"", text=""),
          tans(rc=-17, why=0, text="enroll: SAN DNS:test2 is not node test1's"),
          tans(rc=-22, why=1, id="", node="", n=0), tans(rc=0, body=pem.encode())]
def bans(rc=0, body=b""): return bytes([10]) + u32(rc) + blob(body)
items += [bans(body=b"-----BEGIN CERTIFICATE-----\n"), bans(rc=-10), bans(body=b"# HELP x\n")]
def cfg(threads=2, workers=8, n=12, key="-----BEGIN EC " + "PRIVATE KEY-----\n", cert="-----BEGIN CERTIFICATE-----\n", flags=0,
        per_node=4, trust="-----BEGIN CERTIFICATE-----\n"):
    v = [threads, workers, 1024, 64, 10, 30, 10, 60, 1024, 30, n, 0, 1800000000, flags, per_node]
    return bytes([1]) + b"".join(u32(x) for x in v) + blob(key) + blob(cert) + blob(trust)
items += [cfg(), cfg(threads=64, workers=256, n=322), cfg(flags=1), cfg(flags=3), cfg(per_node=0, trust="")]
SHA = bytes(range(32))
def areq(sha=SHA, peer="10.77.0.11", cert=b"\x30\x82\x01\x00"):
    return bytes([12]) + sha + s(peer) + blob(cert)
def aans(rc=0, size=12345, image=0, name="kubelet", node="test1", text=""):
    return bytes([13]) + u32(rc) + u32(size >> 32) + u32(size) + u32(image) + s(name) + s(node) + s(text)
items += [areq(), areq(peer="::1"), aans(), aans(size=1 << 33, image=1, name="pause"),
          aans(rc=-22, size=0, name="", node="", text="node test9 is not in the inventory"),
          aans(rc=-7, size=0, name="", node="test1", text="no artifact with that sha256")]
items += [bytes([t]) for t in (2, 6, 7, 8, 16)]
bad = []
# the approver's channel (types from 32)
def i64(v): return u32(v >> 32) + u32(v)
def acfg(flags=0, sync=60, cap=0, url="", inv="nodes: []\n"):
    return bytes([32]) + u32(flags) + u32(sync) + u32(cap) + s(url) + blob(inv)
def atok(node="test1", secret=0): return bytes([33]) + s(node) + u32(secret)
def atans(rc=0, id="abc123", sec="", exp=1800000000):
    return bytes([34]) + u32(rc) + s(id) + s(sec) + i64(exp)
def aaud(action=0, obj="node-csr-x", detail="kube-apiserver-client-kubelet: node test1"):
    return bytes([35]) + u32(action) + s(obj) + s(detail)
def acert(csr=b"\x30\x81\x90"): return bytes([36]) + blob(csr)
def acans(rc=0, text="", na=1800000000, cert="-----BEGIN CERTIFICATE-----\n", trust="-----BEGIN CERTIFICATE-----\n"):
    return bytes([37]) + u32(rc) + s(text) + i64(na) + blob(cert) + blob(trust)
def asign(name="node-csr-x", uid="0f1e", signer="kubernetes.io/kube-apiserver-client-kubelet",
          user="system:bootstrap:abc123", ruid="", groups=("system:bootstrappers", "system:bootstrappers:test1"),
          usages=("digital signature", "client auth"), exp=0, req=pem):
    b = bytes([38]) + s(name) + s(uid) + s(signer) + s(user) + s(ruid) + u32(len(groups))
    b += b"".join(s(g) for g in groups) + u32(len(usages)) + b"".join(s(x) for x in usages)
    return b + i64(exp) + blob(req)
def asans(rc=0, text="", node="test1", serial="0123456789abcdef0123456789abcdef", again=0,
          chain="-----BEGIN CERTIFICATE-----\n"):
    return bytes([39]) + u32(rc) + s(text) + s(node) + s(serial) + u32(again) + blob(chain)
def adone(rc=0, text="", n=(1, 0, 1, 0, 0)):
    return bytes([40]) + u32(rc) + s(text) + b"".join(u32(x) for x in n)
items += [acfg(), acfg(flags=3, url="https://192.168.0.235:8443"), atok(), atok("node1.lab", 1),
          atans(), atans(sec="0123456789abcdef"), atans(rc=-7, id=""), aaud(), aaud(3, "secret kube-system/x", "created"),
          acert(), acans(), acans(rc=-23, text="at most 6 API client certificates an hour", na=0, cert="", trust=""),
          asign(), asign(uid="", exp=3600, groups=(), usages=()), asign(user="system:node:test1", groups=("system:nodes",)),
          asans(), asans(again=1), asans(rc=-17, text="kubelet-serving: no", node="", serial="", chain=""),
          adone(), adone(rc=-9, text="some CSRs could not be processed")]
bad += [acfg(flags=4), acfg(url="http://x"), acfg(inv=""), atok(node=""), atok(node="../x"), atok(secret=2),
        atans(id="ABC123"), atans(sec="short"), atans(rc=-7), atans(exp=-1), aaud(action=4), aaud(obj=""),
        aaud(detail="a\nb"), acert(csr=b""), acert(csr=b"x" * 4097), acans(rc=-23, text="no"),
        acans(cert=""), asign(name=""), asign(name="a/b"), asign(uid="../x"), asign(signer=""),
        asign(exp=-1), asign(req=""), asign(groups=("g",) * 65), asign(user="u" * 1024),
        asans(serial="xyz"), asans(rc=-17, chain="x"), asans(again=2), asans(node=""), adone(rc=5),
        bytes([38]) + s("n") + s("u")]
items += [bytes([11]) + s(ca) for ca in ("etcd", "kubernetes", "front-proxy", "x")]
# malformed: each must be refused
bad = bad + [b"", bytes([0]), bytes([11]), bytes([255]), bytes([2, 0]), req(3)[:-1], req(3) + b"x",
       bytes([3]) + s("") + s("1.2.3.4") + s(""), req(3, peer=""), req(3, peer="1.2.3.4 x"),
       req(3, node="../etc"), bytes([3]) + s("a\0b") + s("1.1.1.1") + s(""),
       bytes([5]) + s(TOK) + s("1.1.1.1") + s("") + u32(65537) + b"x" * 10,
       bytes([5]) + s(TOK) + s("1.1.1.1") + s("") + u32(0xffffffff),
       tans(rc=1), tans(rc=-1000), tans(why=99), tans(id="XYZ"), tans(rc=-22, body=b"leak"),
       bans(rc=5), cfg(threads=0), cfg(n=0), cfg(flags=4), cfg(n=100000), cfg(key=""), cfg(key="a\0b"),
       bytes([3]) + struct.pack(">H", 1025) + b"a" * 1025 + s("1.1.1.1") + s(""),
       bytes([9]) + u32(0),
       bytes([11]) + s(""), bytes([11]) + s("Etcd"), bytes([11]) + s("../etcd"),
       bytes([11]) + s("e" * 32), bytes([11]) + s("etcd") + b"x", bytes([11]) + s("et\0cd"),
       cfg(per_node=5000), cfg(trust="a\0b"), areq(cert=b""), areq(peer=""), areq()[:-1],
       areq(cert=b"x" * (16 * 1024 + 1)), bytes([12]) + SHA[:31], aans(image=2),
       aans(size=1 << 41), aans(name="../x"), aans(rc=3)]
for b in items + bad:
    name = hashlib.sha1(b).hexdigest()
    open(os.path.join(out, name), "wb").write(b)
print(len(items), len(bad))
