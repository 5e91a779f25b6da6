#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""firmware_image: the appliance image (firmware_build's) as an operator
meets it, in two boots of one disk under qemu (TCG, OVMF, systemd-boot,
dm-verity root):

1. first boot with the configuration disk attached: first boot
   initialises sealed; the host sees 503 "sealed" until the passphrase is
   typed at the serial console, then the appliance serves. The probe
   inside reports the root (dm-verity, read-only), the daemon's sandbox,
   nftables, sshd with the operator's keys, NTP, the consoles (the
   operator's, no getty), no failed unit, and mints two tokens; the host
   redeems the first with the printed one-liner (pinned key) into test1's
   bundle, once. SSH: the operator's key gets the console, a password
   nothing.
2. power off, boot again without the configuration disk: sealed again
   (the host gets 503 "sealed"; the unused second token's one-liner is
   refused by its pin and not spent); a wrong passphrase is refused at the
   console; the recovery passphrase (when the console showed it) or the
   operator's unseals; the serving key's pin is the same and the unused
   token works, once.

Not yet (firmware/README.md): a configuration disk plugged in after boot,
a malformed one refused on the console.

Prints boot-to-first-HTTPS-answer and boot-to-serving for both boots.
"""
import os
import re
import subprocess
import time

from firmware_lib import (PASSPHRASE, VM, check, config_disk, config_files,
                          console_unseal, copy_disk, done, log, need_image,
                          tmpdir)

ONELINER = re.compile(r"curl -fsS --pinnedpubkey 'sha256//([A-Za-z0-9+/=]+)' -k "
                      r"-H 'Authorization: Bearer [0-9a-f.]+' https://[^/]+/v1/bundle")


def curl_of(line, port):
    """The token's curl command, aimed at the forwarded port."""
    m = ONELINER.search(line or "")
    if not m:
        return None, None
    cmd = re.sub(r"https://[^/]+/", "https://127.0.0.1:%d/" % port, m.group(0))
    return cmd, m.group(1)


def redeem(cmd, dest):
    """curl's exit status, and the files the bundle holds."""
    os.makedirs(dest, exist_ok=True)
    r = subprocess.run(cmd + " --max-time 60 | tar -xz -C " + dest, shell=True,
                       capture_output=True, text=True,
                       executable="/bin/bash")
    c = subprocess.run(cmd + " --max-time 60 -o /dev/null", shell=True, capture_output=True)
    return r.returncode, c.returncode


need_image()
d = tmpdir("fwimg")
disk = copy_disk(os.path.join(d, "disk.img"))
vars_fd = os.path.join(d, "vars.fd")
subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "operator@test",
                "-f", os.path.join(d, "op")], check=True)
with open(os.path.join(d, "op.pub")) as f:
    pub = f.read()
good = config_disk(os.path.join(d, "config.img"), config_files(pubkey=pub))

# ---- boot 1: first boot ------------------------------------------------------
# The configuration disk is attached at power-on. (Plugged in later, or a
# malformed one first, does not work yet: the console never shows first
# boot's "waiting" line and a disk plugged in after a rejected one starts
# nothing; see firmware/README.md. Those checks come back with the fix.)
vm = VM(d, disk, vars_fd, config=good, ssh=True).start()
m = vm.expect(r"Passphrase: |the recovery passphrase, shown this once:\s+([0-9a-z]{5}(?:-[0-9a-z]{5}){5})", 900)
recovery = m.group(1) if m else None
check(recovery is not None, "first boot: the console shows the recovery passphrase before it asks")
t_first = vm.wait_https(timeout=300)
c, body = vm.https_code()
check(c == 503 and body == '{"error":"sealed"}', "first boot from the configuration disk: "
      "the host gets 503 %s before the passphrase" % body)
if recovery:
    vm.type("\n")
off = console_unseal(vm, PASSPHRASE, 300, m.start() if m else 0)
check(off is not None, "the console asks for the passphrase")
t_unseal = time.time()
t_serve = vm.wait_https(200, 300)
check(t_serve is not None, "the operator passphrase typed at the console unseals: /healthz 200 after %.1f s"
      % (time.time() - t_unseal))
check(vm.probe("done", 300) is not None, "the probe reported")
p = vm.probe
check(p("root") == "/dev/mapper/root squashfs ro", "root: %s (dm-verity, read-only)" % p("root"))
check(p("verity") == "verified", "dm-verity: %s" % p("verity"))
check(p("unsealed", 0).startswith("unsealed (passphrase"), "the probe sees: %s" % p("unsealed"))
check(p("user") == "slipway" and p("nopriv") == "1", "serve runs as slipway, NoNewPrivs")
check(p("child") == "slipway seccomp 2", "the network child runs under seccomp: %s" % p("child"))
check("kek " not in p("statefiles") + " " and "kek.wrapped" in p("statefiles"),
      "the state holds the wrapped KEK only: %s" % p("statefiles"))
check(p("wrapped") == "600 slipway", "kek.wrapped 0600 slipway")
check("table inet slipway" in p("nft"), "nftables: %s" % p("nft"))
check(p("ssh") == "active" and p("sshgate") not in (None, "0"), "sshd runs and port 22 is open (keys configured)")
check(p("ntp") == "NTP=10.0.2.2", "timesyncd: the configuration's NTP servers (%s)" % p("ntp"))
check(p("timesyncd") == "active", "systemd-timesyncd runs")
check(p("consoles") == "active active" and p("consoleuser") == "operator",
      "tty1 and ttyS0 run the console as operator")
check(p("gettys") == "0", "no getty anywhere")
if recovery:
    check(p("recoveryfile") == "status", "the recovery passphrase is gone from RAM once acknowledged")
check(p("failed") == "", "no failed unit: '%s'" % p("failed"))
cmd_a, pin1 = curl_of(p("tokenA"), vm.https)
cmd_b, _ = curl_of(p("tokenB"), vm.https)
check(cmd_a is not None and cmd_b is not None, "the probe minted two tokens in the guest")
if cmd_a:
    rc, again = redeem(cmd_a, os.path.join(d, "node1"))
    check(rc == 0 and os.path.exists(os.path.join(d, "node1/etc/etcd/cert/etcd-key.pem"))
          and os.access(os.path.join(d, "node1/etc/slipway/install.sh"), os.X_OK),
          "the guest's one-liner (pinned key) fetched test1's bundle from the host")
    check(again != 0, "the token works once")
# ssh: the operator's key gets the console (forced), a password nothing
ssh = ["ssh", "-p", str(vm.ssh), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
       "-o", "ConnectTimeout=20", "-o", "BatchMode=yes"]
r = subprocess.run(ssh + ["-i", os.path.join(d, "op"), "operator@127.0.0.1", "id; /bin/sh -i"],
                   capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
check("slipway: unsealed" in r.stdout and "uid=" not in r.stdout,
      "ssh with the operator's key: the console, not a shell (%s)" % r.stdout.strip().splitlines()[:1])
r = subprocess.run(ssh + ["-o", "PreferredAuthentications=password,keyboard-interactive",
                          "operator@127.0.0.1", "true"], capture_output=True, text=True, timeout=120)
check(r.returncode == 255 and "Permission denied (publickey)" in r.stderr,
      "ssh without the key: %s" % r.stderr.strip().splitlines()[-1:])
t_down = vm.powerdown()
check(t_down is not None, "power button: a clean shutdown in %.1f s" % (t_down or 0))
boot1 = (t_first, t_serve)

# ---- boot 2: the same disk, no configuration disk --------------------------
vm = VM(d, disk, vars_fd).start()
t_first2 = vm.wait_https(timeout=600)
c, body = vm.https_code()
check(c == 503 and body == '{"error":"sealed"}', "after a reboot: sealed again, the host gets 503 %s" % body)
if cmd_b:
    cmd_b = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:%d" % vm.https, cmd_b)
    r = subprocess.run(cmd_b + " --max-time 30 -o /dev/null", shell=True, capture_output=True)
    check(r.returncode == 90, "sealed: the unused token's one-liner stops at the pin (curl %d)" % r.returncode)
check("shown this once" not in vm.serial(), "the recovery passphrase is not shown again")
off = console_unseal(vm, "not the passphrase", 300)
m = vm.expect(r"wrong passphrase", 300, off or 0)
check(m is not None, "a wrong passphrase at the console: refused")
off = console_unseal(vm, recovery or PASSPHRASE, 300, m.end() if m else 0)
t_unseal = time.time()
t_serve2 = vm.wait_https(200, 300)
check(t_serve2 is not None, ("the recovery passphrase" if recovery else "the passphrase") + " unseals: /healthz 200 after %.1f s" % (time.time() - t_unseal))
check(vm.probe("done", 300) is not None, "the probe reported")
_, pin2 = curl_of(vm.probe("tokenA"), vm.https)
check(pin2 is not None and pin2 == pin1, "the same serving-key pin after the reboot (%s)" % pin2)
if cmd_b:
    rc, again = redeem(cmd_b, os.path.join(d, "node2"))
    check(rc == 0 and os.path.exists(os.path.join(d, "node2/etc/etcd/cert/etcd-key.pem")),
          "the token minted before the reboot, unused, works")
    check(again != 0, "...once")
check(vm.probe("failed") == "", "no failed unit: '%s'" % vm.probe("failed"))
vm.powerdown()

log("boot to first HTTPS answer: %.1f s after power-on (first boot), %.1f s (second)"
    % ((boot1[0] or 0), (t_first2 or 0)))
log("boot to serving: first boot %.1f s after power-on (passphrase typed as soon as asked), "
    "second %.1f s (recovery passphrase)" % (boot1[1] or 0, t_serve2 or 0))
if not os.environ.get("KEEP"):
    pass
else:
    log("kept", d)
done()
