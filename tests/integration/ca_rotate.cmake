add_test(NAME ca_rotate COMMAND ${SLW_TESTS_DIR}/integration/ca_rotate.sh)
set_tests_properties(ca_rotate PROPERTIES LABELS integration TIMEOUT 300
  ENVIRONMENT "${SLW_TEST_ENV}")
