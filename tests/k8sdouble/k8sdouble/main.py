# SPDX-License-Identifier: Apache-2.0
"""Entry point shared by the five doubles: flag parsing, --help, --version,
the flag-check mode (env K8SDOUBLE_CHECK_ONLY=1), then the component."""
import importlib
import json
import os
import sys

from . import common
from . import flags

COMPONENTS = {
    "kube-apiserver": "apiserver",
    "kube-controller-manager": "controllermanager",
    "kube-scheduler": "scheduler",
    "kubelet": "kubelet",
    "kube-proxy": "proxy",
}

ARGLESS = {"kubelet": 'unknown command %s'}


def usage(component, defs):
    lines = ["Usage:", "  %s [flags]" % component, "", "Flags:"]
    for name in sorted(defs):
        d = defs[name]
        t = "" if d.type == "bool" else " " + d.type
        lines.append("      --%s%s%s" % (name, t, "   (DEPRECATED, refused by the double)" if d.deprecated else ""))
    return "\n".join(lines) + "\n"


def main(component, argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if component not in COMPONENTS:
        sys.stderr.write("k8sdouble: unknown component %r (want one of %s)\n" % (component, ", ".join(COMPONENTS)))
        return 2
    check_only = os.environ.get("K8SDOUBLE_CHECK_ONLY") == "1"
    try:
        # the flag set of the release the double stands for
        defs = flags.load_flagset(component, flags.minor_of(common.DEFAULT_VERSION))
        p = flags.parse(component, argv, defs)
    except flags.FlagError as e:
        sys.stderr.write("Error: %s\n" % e)
        sys.stderr.write("Run '%s --help' for usage.\n" % component)
        return 1
    if p.get("help"):
        sys.stdout.write(usage(component, defs))
        return 0
    if p.args:
        if component == "kubelet":
            sys.stderr.write("Error: unknown command %s\n" % p.args[0])
        else:
            sys.stderr.write('Error: "%s" does not take any arguments, got %s\n' % (component, json.dumps(p.args)))
        return 1
    version = common.DEFAULT_VERSION
    if p.has("version"):
        v = p.values["version"][-1]
        if v == "raw":
            sys.stdout.write(common.version_text(version, raw=True) + "\n")
            return 0
        if v.startswith("v"):
            version = v
        elif flags.parse_bool(v):
            sys.stdout.write(common.version_text(version) + "\n")
            return 0
    if not check_only:
        from . import client
        client.STATS.start(component)
    try:
        mod = importlib.import_module("." + COMPONENTS[component], __package__)
        rc = mod.run(p, version, check_only)
    except common.Fatal as e:
        for line in str(e).splitlines():
            sys.stderr.write("Error: %s\n" % line)
        return 1
    except KeyboardInterrupt:
        return 0
    if check_only and rc == 0:
        sys.stderr.write("%s: flags and referenced files OK (check only)\n" % component)
    return rc
