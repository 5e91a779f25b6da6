add_test(NAME firmware_image COMMAND ${SLW_TESTS_DIR}/integration/firmware_image.sh)
set_tests_properties(firmware_image PROPERTIES LABELS integration TIMEOUT 900
  RUN_SERIAL TRUE SKIP_RETURN_CODE 77 ENVIRONMENT "${SLW_TEST_ENV}")
