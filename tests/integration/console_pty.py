#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""console_pty: `slipway console` driven through a pseudo-terminal
(pexpect) on a local state, with a real `slipway serve` on 127.0.0.1 and
real curl:

- full screen (TERM=vt100, 80x24): the overview shows the three CAs with
  their days left; Tokens -> Create asks the node, prints the pinned
  one-liner, and that one-liner, run verbatim by curl, fetches the node's
  bundle from serve (once); a screen whose command does not exist says so;
  ^C, ^Z and ^\\ (in a menu, at a prompt, while a command runs) neither end
  nor stop the console; 10,000 typed characters are bounded (the command
  gets at most 255); a terminal resized to 20x5 and back keeps working;
  'Leave the console' exits 0 and no shell ever ran under it.
- dumb terminal (TERM=dumb): numbered menus do the same overview;
  '!sh' and ^C are refused; the end of input ends it.
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from endpoint_common import (SLIPWAY, State, Server, check, done, log,  # noqa: E402
                             run_bash, clean_env, ONELINER)

try:
    import pexpect
except ImportError:
    log("needs python3-pexpect")
    sys.exit(77)

FWD = re.compile(rb"\x1b\[(\d*)C")
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Za-z]|\x1b[=>78]|\x0f|\x0e")
# a CA's line in `slipway status`: name, generation 1, active, not-after,
# days left (curses may move the cursor instead of writing spaces: \s*)
CA_LINE = r"%s/1\s*active\s*\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s*(\d+)"
TAIL = " | tar -xz -C / && /etc/slipway/install.sh"

t_start = time.monotonic()
st = State()
srv = Server(st)


def spawn(term, rows=24, cols=80):
    env = dict(os.environ)
    env["TERM"] = term
    env.pop("SLIPWAY_STATE", None)
    return pexpect.spawn(SLIPWAY, ["--state", st.dir, "console"], env=env,
                         dimensions=(rows, cols), timeout=30, maxread=65536)


def screen_text(p, pattern, timeout=30):
    """Reads until pattern (regex on the text with escapes removed)
    matches; the text read, or None."""
    buf = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            buf += p.read_nonblocking(65536, timeout=0.2)
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            break
        # cursor-forward stands for spaces; other escapes go
        txt = FWD.sub(lambda m: b" " * int(m.group(1) or 1), buf)
        txt = ANSI.sub(b"", txt).decode("utf-8", "replace")
        if re.search(pattern, txt, re.S):
            return txt
    return None


def children_of(pid):
    """Command names of every process under pid."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,comm="], capture_output=True,
                         text=True).stdout
    kids, names = {}, {}
    for line in out.splitlines():
        a = line.split(None, 2)
        if len(a) == 3:
            kids.setdefault(int(a[1]), []).append(int(a[0]))
            names[int(a[0])] = a[2]
    found, todo = [], [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            found.append(names[k])
            todo.append(k)
    return found


# ---- full screen --------------------------------------------------------
p = spawn("vt100")
check(screen_text(p, r"Overview.*Leave the console") is not None,
      "the main menu on an 80x24 vt100")
for key, name in (("\x03", "^C"), ("\x1a", "^Z"), ("\x1c", "^\\")):
    p.send("k")	# redraws without the last message
    screen_text(p, r"Leave the console", 5)
    p.send(key)
    t = screen_text(p, r"that key does nothing here", 10)
    check(t is not None and p.isalive(), "%s in a menu: nothing happens, the console runs on" % name)

p.send("1")
screen_text(p, r"Overview: seal state", 10)
p.send("1")
# (curses moves the cursor instead of writing spaces: \s* below)
t = screen_text(p, CA_LINE % "kubernetes", 30)
check(t is not None and all(re.search(CA_LINE % ca, t) for ca in ("kubernetes", "etcd", "front-proxy")),
      "overview: the three CAs with their days left")
if os.environ.get("CONSOLE_DEBUG"):
    log(t)
p.send("q")
p.send("q")

p.send("2")
screen_text(p, r"Create a token", 10)
p.send("\r")
check(screen_text(p, r"Node name:", 10) is not None, "tokens -> create asks the node's name")
p.send("\x03\x1a\x1c")
time.sleep(0.3)
check(p.isalive(), "^C ^Z ^\\ at a prompt: nothing happens")
p.send("test2\r")
screen_text(p, r"Lifetime", 10)
p.send("\r")
t = screen_text(p, r"press Enter to return", 60)
line = None
if t:
    m = re.search(r"curl -fsS [^\r\n]*install\.sh", t)
    line = m.group(0) if m else None
check(line is not None and ONELINER.match(line) is not None,
      "tokens -> create prints the pinned one-liner: %s" % (line or (t or "")[-300:]))
check(line is not None and "sha256//" + srv.pin in line, "...with the key serve presents")
if line:
    curl_part = line[:-len(TAIL)]
    tgz = os.path.join(st.tmp, "bundle.tgz")
    r = run_bash(curl_part + " > " + tgz, env=clean_env())
    check(r.returncode == 0 and open(tgz, "rb").read(2) == b"\x1f\x8b",
          "the console's one-liner, run by curl, fetches test2's bundle (rc %d)" % r.returncode)
    r = run_bash(curl_part + " -o /dev/null", env=clean_env())
    check(r.returncode != 0, "...once (curl rc %d the second time)" % r.returncode)
p.send("\x03\x1a\x1c")
time.sleep(0.3)
check(p.isalive(), "^C ^Z ^\\ at 'press Enter': nothing happens")
p.send("\r")
screen_text(p, r"List tokens", 10)

# 10,000 characters at a prompt: bounded
p.send("3")
screen_text(p, r"Token id", 10)
t0 = time.monotonic()
for i in range(10):
    p.send("a" * 1000)
p.send("\r")
t = screen_text(p, r"lines \d+-\d+ of", 60)
check(t is not None and p.isalive(),
      "10,000 characters typed at a prompt: the console takes them (%.1f s) and runs on"
      % (time.monotonic() - t0))
check(t is not None and re.search(r"no such token|unknown|not found|invalid|failed", t, re.I) is not None,
      "...the command ran with the bounded value and refused it")
p.send("q")
p.send("q")

# a screen whose command does not exist
p.send("8")
screen_text(p, r"Address, gateway", 10)
p.send("1")
t = screen_text(p, r"does not exist", 10)
check(t is not None and "not available yet: `slipway network show`" in t,
      "network: the screen says its command does not exist yet")
p.send("q")
p.send("q")

# resized to 20x5 and back
p.setwinsize(5, 20)
p.send("j")
time.sleep(1)
check(p.isalive(), "resized to 20x5: still running")
p.setwinsize(24, 80)
p.send("k")
check(screen_text(p, r"Leave the console", 10) is not None,
      "back to 80x24: the menu is drawn again")
kids = children_of(p.pid)
check(not any(k in ("sh", "bash", "dash") for k in kids), "no shell under the console: %s" % kids)
# leave
p.send("G")  # nothing in a menu
for _ in range(12):
    p.send("j")
p.send("\r")
p.expect(pexpect.EOF, timeout=15)
p.close()
check(p.exitstatus == 0, "'Leave the console' exits 0 (%s)" % p.exitstatus)

# ---- dumb terminal ------------------------------------------------------
d = spawn("dumb")
check(screen_text(d, r"numbered menus.*1\) Overview.*0\) Leave", 15) is not None,
      "TERM=dumb: numbered menus")
d.send("!sh\r")
check(screen_text(d, r"type one of the numbers shown", 10) is not None, "'!sh' is refused")
d.sendintr()
d.send("\x1c")
time.sleep(0.3)
check(d.isalive(), "^C and ^\\ on a dumb terminal: nothing happens")
d.send("1\r")
screen_text(d, r"0\) Back", 10)
d.send("1\r")
t = screen_text(d, (CA_LINE % "kubernetes") + r"[\s\S]*\[(done|failed)", 30)
check(t is not None and all(re.search(CA_LINE % ca, t) for ca in ("kubernetes", "etcd", "front-proxy")),
      "dumb overview: the three CAs with their days left")
d.sendeof()
d.expect(pexpect.EOF, timeout=15)
d.close()
check(d.exitstatus == 0, "the end of input ends the dumb console (exit %s)" % d.exitstatus)
log("console_pty took %.1f s" % (time.monotonic() - t_start))
done()
