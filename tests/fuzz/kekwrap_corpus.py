#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""kekwrap_corpus.py: writes the seed corpus of the kekwrap_parse fuzz
target (tests/fuzz/corpus/kekwrap_parse/): valid wrapped-KEK files with
one, two and three slots (random bytes where the wrapped key and the TPM
areas go: no real key), and malformed ones the parser must refuse
(truncated, trailing bytes, costs out of bounds, a repeated or unknown
slot, a TPM area that does not fill its slot). Files are named by SHA-1."""
import hashlib, os, struct
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "kekwrap_parse")
def u32(v): return struct.pack(">I", v)
def slot(kind, body, reserved=0): return bytes([kind, reserved]) + struct.pack(">H", len(body)) + body
def pw(t=3, m=65536, lanes=2, n=None):
    body = u32(t) + u32(m) + u32(lanes) + bytes(range(16)) + bytes(range(16, 28)) + bytes(range(40, 72)) + bytes(range(100, 116))
    return body if n is None else body[:n]
def tpm(mask=0x80, pub=b"\x00\x4e" + bytes(78), priv=b"\x00\x9e" + bytes(158), privlen=None):
    pl = len(priv) if privlen is None else privlen
    return u32(mask) + struct.pack(">H", len(pub)) + pub + struct.pack(">H", pl) + priv
def f(slots, ver=1, n=None):
    return b"SWKW" + bytes([ver, len(slots) if n is None else n]) + b"".join(slots)
items = [
    f([slot(1, pw())]),
    f([slot(1, pw()), slot(2, pw(t=4, m=131072, lanes=1))]),
    f([slot(1, pw()), slot(2, pw()), slot(3, tpm())]),
    f([slot(3, tpm(mask=0))]),
    f([slot(2, pw(t=1, m=8192, lanes=1))]),
    # malformed
    f([slot(1, pw())])[:-1],
    f([slot(1, pw())]) + b"\x00",
    f([slot(1, pw(t=0))]),
    f([slot(1, pw(m=4096))]),
    f([slot(1, pw(lanes=9))]),
    f([slot(1, pw(n=80))]),
    f([slot(1, pw()), slot(1, pw())]),
    f([slot(7, pw())]),
    f([slot(1, pw(), reserved=1)]),
    f([slot(3, tpm(privlen=100))]),
    f([slot(3, tpm(mask=1 << 24))]),
    f([slot(3, tpm(pub=b""))]),
    f([slot(1, pw())], ver=2),
    f([slot(1, pw())], n=2),
    f([], n=0),
    b"SWKW",
    b"SLIPWAY-KEK-1 " + b"00" * 32 + b"\n",
]
os.makedirs(out, exist_ok=True)
for it in items:
    with open(os.path.join(out, hashlib.sha1(it).hexdigest()), "wb") as fh:
        fh.write(it)
print(f"{len(items)} seeds in {out}")
