# SPDX-License-Identifier: Apache-2.0
# `slipway csr check`: the approver's policy offline, its output and its
# exit codes (0 approve, 3 deny, 4 ignore, 1/2 errors), with CSRs made by
# openssl.
add_test(NAME approver_csr_check
  COMMAND ${SLW_TESTS_DIR}/integration/approver_csr_check.sh)
set_tests_properties(approver_csr_check PROPERTIES LABELS integration
  TIMEOUT 120 ENVIRONMENT "${SLW_TEST_ENV}")
