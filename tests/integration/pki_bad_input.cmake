add_test(NAME pki_bad_input COMMAND ${SLW_TESTS_DIR}/integration/pki_bad_input.sh)
set_tests_properties(pki_bad_input PROPERTIES LABELS integration TIMEOUT 300
  ENVIRONMENT "${SLW_TEST_ENV}")
