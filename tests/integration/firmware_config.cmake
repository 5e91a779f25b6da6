add_test(NAME firmware_config COMMAND ${SLW_TESTS_DIR}/integration/firmware_config.sh)
set_tests_properties(firmware_config PROPERTIES LABELS integration TIMEOUT 120
  SKIP_RETURN_CODE 77 ENVIRONMENT "${SLW_TEST_ENV}")
