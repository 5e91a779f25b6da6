# SPDX-License-Identifier: Apache-2.0
# slipway status and the metrics listener against openssl x509 -enddate for
# every certificate of every rendered bundle (tests/integration/status_expiry.py).
add_test(NAME status_expiry COMMAND /usr/bin/python3
  ${SLW_TESTS_DIR}/integration/status_expiry.py)
set_tests_properties(status_expiry PROPERTIES LABELS "integration;asan"
  TIMEOUT 300 RUN_SERIAL TRUE ENVIRONMENT "${SLW_TEST_ENV}")
