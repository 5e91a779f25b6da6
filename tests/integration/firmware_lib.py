# SPDX-License-Identifier: Apache-2.0
"""firmware_lib.py: shared helpers of the firmware_* boot tests.

The image is built once (firmware_build.sh, a CTest fixture) into
FW_IMAGE_DIR. Each test boots copies of its disk under qemu: TCG only
(KVM here hangs instead of failing: never auto-detected; QEMU_ACCEL=kvm
opts in on a machine with real KVM), OVMF + systemd-boot, a user-mode
network restricted to the forwarded ports on 127.0.0.1, the serial
console on a unix socket the test reads and types into, the image's probe
unit on a second serial port (a file), QMP for a clean power-down, and
optionally a configuration disk and a software TPM (swtpm). Every wait is
bounded; every qemu and swtpm started here is killed when the test ends.
"""
import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from endpoint_common import check, done, free_port, log  # noqa: E402,F401

SRC = os.environ.get("SLW_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("SLW_BUILD", "")
IMAGE = os.environ.get("FW_IMAGE_DIR") or os.path.join(BUILD, "firmware-image")
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
PASSPHRASE = "correct horse battery staple"

_procs = []


def _cleanup():
    for p in _procs:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))


def need_image():
    """Skips (77) unless root, qemu and the built image are there."""
    if os.getuid() != 0:
        log("needs root")
        sys.exit(77)
    for t in ("qemu-system-x86_64", "curl"):
        if shutil.which(t) is None:
            log("needs " + t)
            sys.exit(77)
    if not os.path.exists(os.path.join(IMAGE, "disk.img")):
        log("no image in %s: firmware_build makes it" % IMAGE)
        sys.exit(1)


def tmpdir(name):
    d = tempfile.mkdtemp(prefix="slw-%s." % name, dir="/tmp")
    atexit.register(lambda: os.environ.get("KEEP") or shutil.rmtree(d, ignore_errors=True))
    return d


def copy_disk(dst):
    """A sparse copy of the image's disk (each test boots its own)."""
    subprocess.run(["cp", "--sparse=always", os.path.join(IMAGE, "disk.img"), dst], check=True)
    return dst


def partition(disk, name):
    """(offset, size) in bytes of the GPT partition called name."""
    out = subprocess.run(["sfdisk", "-J", disk], check=True, capture_output=True, text=True).stdout
    t = json.loads(out)["partitiontable"]
    for p in t["partitions"]:
        if p.get("name") == name:
            return p["start"] * t.get("sectorsize", 512), p["size"] * t.get("sectorsize", 512)
    raise SystemExit("no partition %s in %s" % (name, disk))


def config_disk(path, files, label="SLIPWAY-CFG"):
    """A vfat configuration disk holding files {name: text}, made without mounting."""
    subprocess.run(["truncate", "-s", "8M", path], check=True)
    subprocess.run(["mkfs.vfat", "-n", label, path], check=True, capture_output=True)
    d = tempfile.mkdtemp(prefix="slw-cfg.")
    try:
        for name, text in files.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
            subprocess.run(["mcopy", "-i", path, os.path.join(d, name), "::/" + name], check=True)
    finally:
        shutil.rmtree(d)
    return path


def config_files(pubkey=None, ntp="10.0.2.2\n", passphrase=PASSPHRASE):
    """What a configuration disk holds: the example cluster, keys, NTP, passphrase."""
    with open(os.path.join(SRC, "examples", "seed-cluster.yaml")) as f:
        files = {"cluster.yaml": f.read()}
    if pubkey:
        files["authorized_keys"] = pubkey
    if ntp:
        files["ntp-servers"] = ntp
    if passphrase:
        files["passphrase"] = passphrase + "\n"
    return files


class Tpm:
    """A software TPM 2.0 (swtpm) on a unix socket for qemu's tpm-crb."""

    def __init__(self, state_dir, sock):
        os.makedirs(state_dir, exist_ok=True)
        self.sock = sock
        self.p = subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + state_dir,
             "--ctrl", "type=unixio,path=" + sock, "--terminate"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _procs.append(self.p)
        deadline = time.time() + 10
        while not os.path.exists(sock) and time.time() < deadline:
            time.sleep(0.05)
        if not os.path.exists(sock):
            raise SystemExit("swtpm did not start")

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(10)


class VM:
    """One boot of a disk under qemu (TCG)."""

    def __init__(self, d, disk, vars_fd, config=None, tpm=None, ssh=False, hotplug=False):
        self.d = d
        self.disk = disk
        self.vars = vars_fd
        self.config = config
        self.tpm = tpm
        self.hotplug = hotplug
        self.free_ports = ["rp1", "rp2"]
        self.https = free_port()
        self.ssh = free_port() if ssh else None
        self.serial_sock = os.path.join(d, "serial.sock")
        self.qmp_sock = os.path.join(d, "qmp.sock")
        self.n = len([f for f in os.listdir(d) if f.startswith("serial.") and f.endswith(".log")])
        self.serial_log = os.path.join(d, "serial.%d.log" % self.n)
        self.probe_log = os.path.join(d, "probe.%d.log" % self.n)
        self.buf = b""
        self.lock = threading.Lock()
        self.p = None
        self.t0 = None

    def start(self):
        for s in (self.serial_sock, self.qmp_sock):
            if os.path.exists(s):
                os.unlink(s)
        if not os.path.exists(self.vars):
            shutil.copy(OVMF_VARS, self.vars)
        fwd = "hostfwd=tcp:127.0.0.1:%d-:8443" % self.https
        if self.ssh:
            fwd += ",hostfwd=tcp:127.0.0.1:%d-:22" % self.ssh
        accel = os.environ.get("QEMU_ACCEL", "tcg")
        cmd = ["qemu-system-x86_64", "-machine", "q35",
               "-accel", "kvm" if accel == "kvm" else "tcg,tb-size=128",
               "-m", "1024", "-smp", "2", "-display", "none", "-no-reboot",
               "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + OVMF_CODE,
               "-drive", "if=pflash,format=raw,unit=1,file=" + self.vars,
               "-drive", "file=%s,if=virtio,format=raw" % self.disk,
               "-nic", "user,model=virtio-net-pci,restrict=on," + fwd,
               "-chardev", "socket,id=s0,path=%s,server=on,wait=off,logfile=%s"
               % (self.serial_sock, self.serial_log),
               "-serial", "chardev:s0", "-serial", "file:" + self.probe_log,
               "-qmp", "unix:%s,server=on,wait=off" % self.qmp_sock,
               "-monitor", "none"]
        if os.environ.get("FW_DEBUG_KERNEL"):
            # debugging: boot the kernel directly, kernel and journal on the
            # probe's port (the console keeps ttyS0)
            with open(os.path.join(IMAGE, "roothash")) as f:
                rh = f.read().strip()
            cmd += ["-kernel", os.path.join(IMAGE, "vmlinuz"), "-initrd",
                    os.path.join(IMAGE, "initrd.img"), "-append",
                    "roothash=%s root=/dev/mapper/root rootfstype=squashfs ro "
                    "systemd.verity=no systemd.gpt_auto=no console=ttyS1 "
                    "systemd.journald.forward_to_console=1 panic=10" % rh]
        if self.config:
            cmd += ["-drive", "file=%s,if=virtio,format=raw,readonly=on" % self.config]
        if self.hotplug:	# PCIe root ports to plug configuration disks into
            cmd += ["-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1",
                    "-device", "pcie-root-port,id=rp2,bus=pcie.0,chassis=2"]
        if self.tpm:
            cmd += ["-chardev", "socket,id=chrtpm,path=" + self.tpm.sock,
                    "-tpmdev", "emulator,id=tpm0,chardev=chrtpm",
                    "-device", "tpm-crb,tpmdev=tpm0"]
        self.t0 = time.time()
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=open(os.path.join(self.d, "qemu.%d.err" % self.n), "w"))
        _procs.append(self.p)
        deadline = time.time() + 30
        while not os.path.exists(self.serial_sock) and time.time() < deadline:
            time.sleep(0.05)
        self.con = socket.socket(socket.AF_UNIX)
        self.con.connect(self.serial_sock)
        threading.Thread(target=self._reader, daemon=True).start()
        return self

    def _reader(self):
        while True:
            try:
                b = self.con.recv(4096)
            except OSError:
                return
            if not b:
                return
            with self.lock:
                self.buf += b

    def serial(self):
        with self.lock:
            return self.buf.decode("utf-8", "replace")

    def expect(self, regex, timeout, since=0):
        """The first match of regex in the serial output after offset since."""
        r = re.compile(regex)
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = r.search(self.serial(), since)
            if m:
                return m
            if self.p.poll() is not None:
                return r.search(self.serial(), since)
            time.sleep(0.2)
        return None

    def type(self, text):
        self.con.sendall(text.encode())

    def probe(self, key, timeout=0):
        """The value of 'PROBE key ...' on the probe's port (waits up to timeout)."""
        deadline = time.time() + timeout
        while True:
            try:
                with open(self.probe_log, "rb") as f:
                    for line in f.read().decode("utf-8", "replace").splitlines():
                        if line.startswith("PROBE %s " % key) or line == "PROBE " + key:
                            return line[len("PROBE %s " % key):].strip()
            except FileNotFoundError:
                pass
            if time.time() >= deadline or self.p.poll() is not None:
                return None
            time.sleep(0.5)

    def https_code(self, path="/healthz", timeout=5):
        """(status, body without its final newline) of an unverified GET on
        the forwarded port; (0, '') if none."""
        r = subprocess.run(["curl", "-sk", "-o", "-", "-w", "\n%{http_code}", "--max-time",
                            str(timeout), "https://127.0.0.1:%d%s" % (self.https, path)],
                           capture_output=True, text=True)
        body, _, code = r.stdout.rpartition("\n")
        return int(code or 0), body.rstrip("\n")	# serve ends JSON with a newline

    def wait_https(self, want=None, timeout=300, path="/healthz"):
        """Seconds since qemu started until the first answer (with status want)."""
        deadline = time.time() + timeout
        while time.time() < deadline and self.p.poll() is None:
            c, _ = self.https_code(path, 3)
            if c != 0 and (want is None or c == want):
                return time.time() - self.t0
            time.sleep(0.3)
        return None

    def qmp(self, command, args=None, event=None, timeout=60):
        """One QMP command (its answer); with event, also waits for that event."""
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout)
        s.connect(self.qmp_sock)
        f = s.makefile("rw")
        f.readline()
        ans = None
        c = {"execute": command}
        if args:
            c["arguments"] = args
        for q in ({"execute": "qmp_capabilities"}, c):
            f.write(json.dumps(q) + "\n")
            f.flush()
            while True:
                a = json.loads(f.readline())
                if "event" not in a:
                    break
        ans = a
        if "error" in ans:
            s.close()
            raise SystemExit("qmp %s: %s" % (command, ans["error"]))
        deadline = time.time() + timeout
        while event and time.time() < deadline:
            a = json.loads(f.readline())
            if a.get("event") == event[0] and all(
                    a.get("data", {}).get(k) == v for k, v in event[1].items()):
                break
        s.close()
        return ans

    def plug(self, image, name):
        """Hot-plugs a read-only virtio disk (a configuration disk)."""
        port = self.free_ports.pop(0)
        self.qmp("blockdev-add", {"driver": "raw", "node-name": name, "read-only": True,
                                  "file": {"driver": "file", "filename": image,
                                           "read-only": True}})
        self.qmp("device_add", {"driver": "virtio-blk-pci", "id": name + "-dev",
                                "drive": name, "bus": port})

    def unplug(self, name, timeout=60):
        """Hot-unplugs it: the guest lets go (PCIe hotplug), then qemu drops it."""
        self.qmp("device_del", {"id": name + "-dev"},
                 event=("DEVICE_DELETED", {"device": name + "-dev"}), timeout=timeout)
        self.qmp("blockdev-del", {"node-name": name})

    def powerdown(self, timeout=120):
        """ACPI power button: systemd shuts down cleanly and qemu exits."""
        t = time.time()
        self.qmp("system_powerdown")
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None
        return time.time() - t

    def wait_exit(self, timeout):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.p and self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def console_unseal(vm, passphrase, timeout=600, since=0):
    """Types the passphrase at the console's prompt; the offset after it."""
    m = vm.expect(r"Passphrase: ", timeout, since)
    if not m:
        return None
    vm.type(passphrase + "\n")
    return m.end()
