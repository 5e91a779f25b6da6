# SPDX-License-Identifier: Apache-2.0
# `slipway status --json` for 1,000 and 10,000 nodes with their
# certificates recorded; prints times and the growth ratio. Label bench;
# prints, never asserts.
add_executable(status_bench ${CMAKE_CURRENT_LIST_DIR}/status_bench.c)
target_link_libraries(status_bench PRIVATE slw_appliance)
add_test(NAME bench_status COMMAND status_bench $<TARGET_FILE:slipway>
  --sizes 1000,10000 --runs 3)
set_tests_properties(bench_status PROPERTIES LABELS bench TIMEOUT 900
  RUN_SERIAL TRUE)
