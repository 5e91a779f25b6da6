#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""endpoint_refusals: a refused token is a refused token. Against a real
`slipway serve`: a used token (second redemption), an expired one, a
revoked one, a malformed one, one with a wrong secret, another node's
(?node=), one bound to another source address, and no token at all all get
the same status, the same headers (but Date) and the same body, byte for
byte; none of them changes the store. A one-liner with another pin makes
curl refuse the connection before any request (the token stays usable).
Then the per-address limit: after --fail-limit failures the address gets
429 with Retry-After, even with a good token.
"""
import base64
import hashlib
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from endpoint_common import (State, Server, check, done, log, run_bash,
                             clean_env, curl)

st = State()
srv = Server(st, "--fail-limit", "0")
bundle = srv.url + "/v1/bundle"

used_line, used, _ = st.token("test1")
p = run_bash(used_line.split(" | ")[0] + " > /dev/null", env=clean_env())
check(p.returncode == 0, "a token is redeemed once")
_, expired, _ = st.token("test1", "--ttl", "10s")
_, revoked, _ = st.token("test1")
st.run("token", "revoke", revoked.split(".")[0])
_, other_node, _ = st.token("test2")
_, bound, _ = st.token("test1", "--source", "10.9.9.9")
_, good, _ = st.token("test3")
wrong_secret = good[:-1] + ("0" if good[-1] != "0" else "1")
log("waiting 11 s for the 10 s token to expire")
time.sleep(11)

before = st.counts()
cases = [
    ("used", dict(token=used)),
    ("expired", dict(token=expired)),
    ("revoked", dict(token=revoked)),
    ("malformed", dict(token="not-a-token")),
    ("wrong secret", dict(token=wrong_secret)),
    ("unknown id", dict(token="0123456789abcdef." + "0" * 40)),
    ("bound to another address", dict(token=bound)),
    ("no Authorization header", dict(token=None)),
]
answers = {}
for name, kw in cases:
    answers[name] = curl(bundle, **kw)
s, h, b = curl(bundle + "?node=test1", token=other_node)
answers["another node's token"] = (s, h, b)
ref_s, ref_h, ref_b = answers["used"]
ref_h = {k: v for k, v in ref_h.items() if k != "date"}
log("reference answer: %d %s %r" % (ref_s, sorted(ref_h.items()), ref_b))
check(ref_s == 401 and ref_b == b'{"error":"invalid or expired token"}\n',
      "refused tokens get 401 {\"error\": ...}")
for name, (s, h, b) in answers.items():
    h = {k: v for k, v in h.items() if k != "date"}
    check(s == ref_s and h == ref_h and b == ref_b,
          "%s: identical status, headers and body" % name)
after = st.counts()
check(before == after, "refused tokens change nothing in the store (%s)" % after)
states = {t["id"]: t["state"] for t in st.tokens()}
check(states[good.split(".")[0]] == "active" and
      states[other_node.split(".")[0]] == "active" and
      states[bound.split(".")[0]] == "active",
      "good, other-node and bound tokens are still active")
s, _, _ = curl(bundle + "?node=test2", token=other_node)
check(s == 200, "the other node's token works for its own node")

# pin mismatch: curl refuses, the request never reaches the server
line, tok, pin = st.token("test2")
fake = base64.b64encode(hashlib.sha256(b"not the key").digest()).decode()
bad_line = line.replace(pin, fake).split(" | ")[0]
p = run_bash(bad_line + " > /dev/null", env=clean_env())
check(p.returncode == 90, "a wrong pin makes curl refuse (rc %d, want 90 = "
      "CURLE_SSL_PINNEDPUBKEYNOTMATCH)" % p.returncode)
states = {t["id"]: t["state"] for t in st.tokens()}
check(states[tok.split(".")[0]] == "active", "the token was not sent: still active")
p = run_bash(line.split(" | ")[0] + " > /dev/null", env=clean_env())
check(p.returncode == 0, "the right pin then works")
check(srv.stop() == 0, "serve stops cleanly")

# per-address rate limit of failed token attempts
srv = Server(st, "--fail-limit", "3", "--fail-window", "60s")
_, good2, _ = st.token("test3")
codes = [curl(bundle, token="0123456789abcdef." + "%040x" % i)[0] for i in range(3)]
check(codes == [401, 401, 401], "3 failures from 127.0.0.1: 401 each")
s, h, b = curl(bundle, token="0123456789abcdef." + "f" * 40)
check(s == 429 and b"too many failed token attempts" in b,
      "the 4th attempt: 429 with a JSON error")
check(re.fullmatch(r"\d+", h.get("retry-after", "")) is not None and
      1 <= int(h["retry-after"]) <= 20, "429 carries Retry-After (%s s)" % h.get("retry-after"))
s, _, _ = curl(bundle, token=good2)
check(s == 429, "while limited, even a good token gets 429 (it is not looked at)")
states = {t["id"]: t["state"] for t in st.tokens()}
check(states[good2.split(".")[0]] == "active", "...and is not consumed")
s, _, _ = curl(srv.url + "/v1/ca.pem")
check(s == 200, "requests without a token are not limited")
m = curl(srv.url + "/metrics")[2].decode()
check('slipway_token_attempts_total{outcome="rate_limited"} 2' in m,
      "metrics count the rate-limited attempts")
log_text = srv.log_text()
check(all(t.split(".")[1] not in log_text for t in (good, good2, used, bound)),
      "no token secret in the log")
check(srv.stop() == 0, "serve stops cleanly")
done()
