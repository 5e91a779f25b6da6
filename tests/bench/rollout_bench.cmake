# SPDX-License-Identifier: Apache-2.0
# Wall time of the full harness rollout, phase by phase, --parallel 3
# against --parallel 1 in the same run (needs root; label bench).
add_test(NAME rollout_bench
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/rollout_bench.py)
set_tests_properties(rollout_bench PROPERTIES LABELS bench TIMEOUT 900
  RUN_SERIAL TRUE SKIP_RETURN_CODE 77 ENVIRONMENT "${SLW_TEST_ENV}")
