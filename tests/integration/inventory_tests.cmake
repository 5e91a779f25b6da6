add_test(NAME inventory_cli COMMAND ${SLW_TESTS_DIR}/integration/inventory_cli.sh)
set_tests_properties(inventory_cli PROPERTIES LABELS "integration;asan" TIMEOUT 120
  ENVIRONMENT "${SLW_TEST_ENV}")
