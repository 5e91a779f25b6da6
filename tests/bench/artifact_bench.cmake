# SPDX-License-Identifier: Apache-2.0
# GET /v1/artifacts throughput over TLS next to nginx serving the same file
# with serve's own certificate (artifact_bench_tls exports it).
add_executable(artifact_bench_tls ${CMAKE_CURRENT_LIST_DIR}/artifact_bench_tls.c)
target_link_libraries(artifact_bench_tls PRIVATE slw_appliance)
add_test(NAME bench_artifact COMMAND /usr/bin/python3
  ${CMAKE_CURRENT_LIST_DIR}/artifact_bench.py)
set_tests_properties(bench_artifact PROPERTIES LABELS bench TIMEOUT 1800
  RUN_SERIAL TRUE
  ENVIRONMENT "${SLW_TEST_ENV};ARTIFACT_BENCH_TLS=$<TARGET_FILE:artifact_bench_tls>")
