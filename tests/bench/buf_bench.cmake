# SPDX-License-Identifier: Apache-2.0
# Appending 1 MiB and 8 MiB to a struct buf in 100-byte pieces against one
# memcpy of the same bytes: prints the 8 MiB / 1 MiB ratio (linear: 8).
# Label bench; prints, never asserts.
add_executable(buf_bench ${CMAKE_CURRENT_LIST_DIR}/buf_bench.c)
target_link_libraries(buf_bench PRIVATE slw_pki slw_benchutil)
add_test(NAME bench_buf COMMAND buf_bench --runs 5)
set_tests_properties(bench_buf PROPERTIES LABELS bench TIMEOUT 120
  RUN_SERIAL TRUE)
