# SPDX-License-Identifier: Apache-2.0
# Where a CA rotation's time goes on the harness, and --plan for 100, 1,000
# and 10,000 nodes (ratios; needs root for the harness part; label bench).
add_test(NAME bench_lifecycle
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/lifecycle_bench.py)
set_tests_properties(bench_lifecycle PROPERTIES LABELS bench TIMEOUT 900
  RUN_SERIAL TRUE SKIP_RETURN_CODE 77 ENVIRONMENT "${SLW_TEST_ENV}")
