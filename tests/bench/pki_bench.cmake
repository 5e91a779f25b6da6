add_executable(bench_pki_issue_rate ${CMAKE_CURRENT_SOURCE_DIR}/pki_issue_rate.c)
target_link_libraries(bench_pki_issue_rate PRIVATE slw_appliance)
add_test(NAME bench_pki COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/pki_bench.py)
set_tests_properties(bench_pki PROPERTIES LABELS bench TIMEOUT 900 RUN_SERIAL TRUE
  ENVIRONMENT "${SLW_TEST_ENV}")
