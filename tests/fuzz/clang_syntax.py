#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""clang_syntax.py CLANG COMPILE_COMMANDS: checks that every source of a gcc
build also compiles under clang with the same warnings as errors, as the
fuzz build (-DSLIPWAY_FUZZ=ON) needs: clang warns where gcc does not
(-Wformat-nonliteral through a va_list, a struct literal with fields left
out). Front end only (-fsyntax-only, two at a time): seconds, not the
minutes a second full build would take. Prints each failing file's errors;
exits 1 if there is one."""
import json, os, shlex, shutil, subprocess, sys
from concurrent.futures import ThreadPoolExecutor

clang, db = sys.argv[1], sys.argv[2]
if shutil.which(clang) is None:
    sys.exit(f"clang_syntax: no {clang}: scripts/setup.sh installs clang")
entries = json.load(open(db))


def check(e):
    args = shlex.split(e["command"]) if "command" in e else list(e["arguments"])
    args[0] = clang
    out = []
    skip = False
    for a in args:
        if skip:
            skip = False
        elif a == "-o":
            skip = True
        elif a in ("-c", "-D_FORTIFY_SOURCE=2"):
            pass
        else:
            out.append(a)
    # the fuzz build's flags: sanitizers, no fortify
    out += ["-fsyntax-only", "-fsanitize=address,undefined",
            "-fsanitize=fuzzer-no-link"]
    p = subprocess.run(out, cwd=e["directory"], capture_output=True, text=True)
    return e["file"], p.returncode, p.stderr


bad = 0
with ThreadPoolExecutor(2) as ex:
    for f, rc, err in ex.map(check, entries):
        if rc != 0:
            bad += 1
            print(f"{os.path.relpath(f)}:\n{err}")
print(f"clang_syntax: {len(entries)} sources, {bad} with errors under clang")
sys.exit(1 if bad else 0)
