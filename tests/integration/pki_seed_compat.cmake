add_test(NAME pki_seed_compat COMMAND ${SLW_TESTS_DIR}/integration/pki_seed_compat.py)
set_tests_properties(pki_seed_compat PROPERTIES LABELS integration TIMEOUT 300
  ENVIRONMENT "${SLW_TEST_ENV}")
