# SPDX-License-Identifier: Apache-2.0
# The endpoint's load client, used by the integration tests endpoint_race
# and endpoint_crash and by the endpoint benchmarks.
add_executable(endpoint_load ${CMAKE_CURRENT_LIST_DIR}/endpoint_load.c)
target_link_libraries(endpoint_load PRIVATE CURL::libcurl)

# Per-operation costs of a redemption (keygen, sign, render, tar.gz, commit).
add_executable(endpoint_ops ${CMAKE_CURRENT_LIST_DIR}/endpoint_ops.c)
target_link_libraries(endpoint_ops PRIVATE slw_appliance)

add_test(NAME bench_endpoint COMMAND /usr/bin/python3
  ${CMAKE_CURRENT_LIST_DIR}/endpoint_bench.py)
set_tests_properties(bench_endpoint PROPERTIES LABELS bench TIMEOUT 1800
  RUN_SERIAL TRUE
  ENVIRONMENT "${SLW_TEST_ENV};ENDPOINT_LOAD=$<TARGET_FILE:endpoint_load>")
