add_test(NAME unseal_sealed COMMAND ${SLW_TESTS_DIR}/integration/unseal_sealed.sh)
set_tests_properties(unseal_sealed PROPERTIES LABELS integration TIMEOUT 300
  SKIP_RETURN_CODE 77 ENVIRONMENT "${SLW_TEST_ENV}")
