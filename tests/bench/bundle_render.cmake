# SPDX-License-Identifier: Apache-2.0
# Bundle rendering for generated inventories of 100, 1,000 and 10,000 nodes:
# time per node and the ratio between sizes (linearity). Label bench;
# prints figures, never asserts a time.
add_executable(bundle_bench ${CMAKE_CURRENT_LIST_DIR}/bundle_bench.c)
target_link_libraries(bundle_bench PRIVATE slw_appliance)
add_test(NAME bench_bundle_render COMMAND bundle_bench --sizes 100,1000,10000)
set_tests_properties(bench_bundle_render PROPERTIES LABELS bench TIMEOUT 1800
  RUN_SERIAL TRUE)
add_test(NAME bench_bundle_targz COMMAND bundle_bench --sizes 100,1000 --targz)
set_tests_properties(bench_bundle_targz PROPERTIES LABELS bench TIMEOUT 1800
  RUN_SERIAL TRUE)
