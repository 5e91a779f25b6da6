# SPDX-License-Identifier: Apache-2.0
"""python3 -m k8sdouble COMPONENT [flags...]"""
import sys

from .main import main

if len(sys.argv) < 2:
    sys.stderr.write("usage: python3 -m k8sdouble COMPONENT [flags...]\n")
    sys.exit(2)
sys.exit(main(sys.argv[1], sys.argv[2:]))
