#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# slipway: set up (apt, idempotent), build, and run every test layer
# (unit, integration, fuzz corpus replay, the image's qemu boots).
# Benchmarks are separate: `ctest --test-dir build -L bench`.
#   scripts/test.sh            all tests, normal build in ./build; with
#                              CI=true the short form: not the firmware
#                              label (image build + qemu boots, 7-11 min;
#                              CI runs firmware_config in their place) and
#                              not lifecycle_grpc (tests/integration/
#                              lifecycle_tests.cmake says why)
#   scripts/test.sh --asan     unit, fuzz and the endpoint tests labelled asan
#                              under ASan + UBSan (./build-asan)
#   scripts/test.sh -L unit    one layer (any ctest arguments after the options)
set -euo pipefail
cd "$(dirname "$0")/.."
asan=0
if [ "${1:-}" = "--asan" ]; then asan=1; shift; fi

scripts/setup.sh
jobs=$(nproc 2>/dev/null || echo 2)
if [ $asan = 1 ]; then
	cmake -S . -B build-asan -DSLIPWAY_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build-asan -j"$jobs"
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	ctest --test-dir build-asan --output-on-failure -L 'unit|fuzz|asan' "$@"
else
	cmake -S . -B build >/dev/null
	cmake --build build -j"$jobs"
	if [ $# -eq 0 ]; then
		if [ "${CI:-}" = true ]; then
			set -- -L 'unit|integration|fuzz'
		else
			set -- -L 'unit|integration|fuzz|firmware|lifecycle_grpc'
		fi
	fi
	ctest --test-dir build --output-on-failure "$@"
fi
