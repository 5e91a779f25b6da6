# SPDX-License-Identifier: Apache-2.0
"""Shared bits: logging in klog's shape, version info, signal handling."""
import datetime
import json
import os
import signal
import sys
import threading
import time

DEFAULT_VERSION = os.environ.get("K8SDOUBLE_VERSION", "v1.36.0")
SUPPORTED_MINORS = (35, 36, 37)


class Fatal(Exception):
    """Startup/validation failure: printed on stderr, exit status 1."""


_log_lock = threading.Lock()


def log(component, msg, level="I"):
    now = datetime.datetime.now()
    line = "%s%s %d k8sdouble %s] %s\n" % (level, now.strftime("%m%d %H:%M:%S.%f"), os.getpid(), component, msg)
    with _log_lock:
        sys.stderr.write(line)
        sys.stderr.flush()


def version_info(version):
    v = version.lstrip("v").split("-")[0].split(".")
    major, minor = v[0], v[1] if len(v) > 1 else "0"
    return {"major": major, "minor": minor, "emulationMajor": major, "emulationMinor": minor,
            "minCompatibilityMajor": major, "minCompatibilityMinor": str(max(0, int(minor) - 1)),
            "gitVersion": version, "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.25.0",
            "compiler": "gc", "platform": "linux/amd64"}


def version_text(version, raw=False):
    if raw:
        return json.dumps(version_info(version), indent=2)
    return "Kubernetes %s" % version


def signal_flag():
    """SIGTERM and SIGINT append to the list returned, nothing else.

    A handler must take no lock: Python runs it in the main thread between
    two bytecodes, possibly while that thread holds the very lock (an
    Event's, inside Event.wait), and the process deadlocks. Under systemd
    two SIGTERMs arrive milliseconds apart (KillMode=control-group signals
    every process, and a stand-in wrapper forwards its own), so the second
    often lands in exactly that window: the unit then hangs until
    TimeoutStopSec (90 s) and is killed."""
    flag = []

    def handler(signum, frame):
        flag.append(signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return flag


def serve_until_signal(srv, on_stop=None):
    flag = signal_flag()
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    t.start()
    while not flag:
        time.sleep(0.2)
    if on_stop:
        on_stop()
    srv.shutdown()


def wait_for_signal(stop):
    """stop (an Event) is set within 0.2 s of SIGTERM or SIGINT, by a
    thread of its own (never by the handler: see signal_flag)."""
    flag = signal_flag()

    def relay():
        while not flag:
            time.sleep(0.2)
        stop.set()

    threading.Thread(target=relay, daemon=True).start()
