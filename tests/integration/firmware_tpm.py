#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""firmware_tpm: the appliance image (firmware_build's) with a TPM 2.0
(swtpm, qemu's tpm-crb, OVMF), in two boots of one disk under qemu (TCG):

1. first boot from a configuration disk with the TPM attached: first boot
   seals the KEK to it, and slipway-unseal-tpm.service unseals: the
   appliance serves (/healthz 200) without a passphrase ever typed.
2. the same disk with the TPM's state swapped for a fresh one (another
   machine's, or a cleared TPM): the TPM cannot unseal, the appliance stays
   sealed (the host gets 503 "sealed"), the console asks for the
   passphrase, and the passphrase unseals.
"""
import os
import time

from firmware_lib import (PASSPHRASE, VM, Tpm, check, config_disk, config_files,
                          console_unseal, copy_disk, done, log, need_image,
                          tmpdir)
import shutil

need_image()
if shutil.which("swtpm") is None:
    log("needs swtpm")
    raise SystemExit(77)
d = tmpdir("fwtpm")
disk = copy_disk(os.path.join(d, "disk.img"))
vars_fd = os.path.join(d, "vars.fd")
cfg = config_disk(os.path.join(d, "config.img"), config_files())

# ---- boot 1: first boot, the TPM unseals ----------------------------------
tpm = Tpm(os.path.join(d, "tpm-a"), os.path.join(d, "swtpm.sock"))
vm = VM(d, disk, vars_fd, config=cfg, tpm=tpm).start()
t_serve = vm.wait_https(200, 900)
check(t_serve is not None, "first boot with a TPM: serving %.1f s after power-on, "
      "no passphrase typed" % (t_serve or 0))
check("Passphrase: " not in vm.serial(), "the console never asked for a passphrase")
check(vm.probe("done", 300) is not None, "the probe reported")
u = vm.probe("unsealed") or ""
check(u.startswith("unsealed (TPM"), "unsealed by: %s" % u)
check(vm.probe("failed") == "", "no failed unit: '%s'" % vm.probe("failed"))
vm.powerdown()
tpm.stop()

# ---- boot 2: a fresh TPM cannot; the passphrase can ------------------------
tpm = Tpm(os.path.join(d, "tpm-b"), os.path.join(d, "swtpm.sock"))
vm = VM(d, disk, vars_fd, tpm=tpm).start()
t_first = vm.wait_https(timeout=600)
c, body = vm.https_code()
check(c == 503 and body == '{"error":"sealed"}', "a fresh TPM: still sealed after %.1f s, "
      "the host gets 503 %s" % (t_first or 0, body))
off = console_unseal(vm, PASSPHRASE, 300)
check(off is not None, "the console falls back to asking for the passphrase")
t_unseal = time.time()
check(vm.wait_https(200, 300) is not None, "the passphrase unseals: /healthz 200 after %.1f s"
      % (time.time() - t_unseal))
check(vm.probe("done", 300) is not None and (vm.probe("unsealed") or "").startswith(
    "unsealed (passphrase"), "unsealed by: %s" % vm.probe("unsealed"))
f = vm.probe("failed") or ""
check(f.split() == ["slipway-unseal-tpm.service"], "the TPM's unseal unit says it failed: '%s'" % f)
vm.powerdown()
tpm.stop()
done()
