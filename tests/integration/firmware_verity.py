#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""firmware_verity: the appliance image (firmware_build's) with one byte
flipped in its root partition (in the squashfs superblock, which the
mount reads first): dm-verity finds the block does not match the hash
tree behind the root hash on the kernel command line, the kernel panics
(panic-on-corruption) and the boot stops: nothing of the changed root
ever runs, no console, no HTTPS. Prints dm-verity's lines.
"""
import os
import re
import time

from firmware_lib import VM, check, copy_disk, done, log, need_image, partition, tmpdir

need_image()
d = tmpdir("fwverity")
disk = copy_disk(os.path.join(d, "disk.img"))
off, size = partition(disk, "root")
with open(disk, "r+b") as f:
    f.seek(off + 100)
    b = f.read(1)
    f.seek(off + 100)
    f.write(bytes([b[0] ^ 0xff]))
log("flipped the byte at offset %d of the root partition (%d MiB)" % (100, size >> 20))
vm = VM(d, disk, os.path.join(d, "vars.fd")).start()
rc = vm.wait_exit(300)
secs = time.time() - vm.t0
out = vm.serial()
lines = [l.strip() for l in out.splitlines() if re.search(r"verity|Kernel panic", l)]
for l in lines:
    log("  console: " + re.sub(r"^\[[ 0-9.]+\] ", "", l))
check(any(re.search(r"device-mapper: verity: .*data block \d+ is corrupted", l) for l in lines),
      "dm-verity: a data block is corrupted")
check(any("Kernel panic - not syncing: dm-verity device corrupted" in l for l in lines),
      "the kernel panics: the boot stops")
check(rc is not None, "qemu stopped (panic=10, -no-reboot) %.0f s after power-on" % secs)
check(vm.https_code()[0] == 0 and "slipway:" not in out, "nothing of the root ran: no console, no HTTPS")
done()
