#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""unseal_msg_corpus.py: writes the seed corpus of the unseal_msg fuzz
target (tests/fuzz/corpus/unseal_msg/): one frame body (after the length
field) of every message type, and malformed ones the parser must refuse
(empty, an unknown type, a passphrase over 1024 bytes or empty or with a
NUL, a short key, trailing bytes, an answer with a positive rc, a key
alongside an error, a second line in the text). Files are named by SHA-1."""
import hashlib, os, struct
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "unseal_msg")
def s(b):
    if isinstance(b, str): b = b.encode()
    return struct.pack(">H", len(b)) + b
def u32(v): return struct.pack(">I", v & 0xffffffff)
def ans(rc=0, state=0, retry=0, text="sealed: waiting", kek=None):
    b = bytes([16]) + u32(rc) + u32(state) + u32(retry) + s(text)
    return b + (bytes([1]) + kek if kek is not None else bytes([0]))
items = [bytes([1]), bytes([4]), bytes([2]) + s("correct horse battery"),
         bytes([3]) + bytes(range(32)), bytes([5]) + s("old passphrase") + s("new passphrase"),
         ans(), ans(rc=-23, retry=8, text="the next try in 8 s"), ans(state=1, kek=bytes(32)),
         bytes([2]) + s("a" * 1024)]
bad = [b"", bytes([9]), bytes([2]) + s(""), bytes([2]) + s("a" * 1025), bytes([2]) + s("a\0b"),
       bytes([3]) + bytes(31), bytes([1, 0]), bytes([5]) + s("old passphrase"),
       ans(rc=1), ans(rc=-12, kek=bytes(32)), ans(text="two\nlines"), ans(state=2),
       ans(retry=86401), ans()[:-1]]
os.makedirs(out, exist_ok=True)
for b in items + bad:
    with open(os.path.join(out, hashlib.sha1(b).hexdigest()), "wb") as f:
        f.write(b)
print(len(items), len(bad))
