# SPDX-License-Identifier: Apache-2.0
# See the docstring of approver_seed_mode.py: signingMode controller-manager,
# slipway approves, the controller-manager double signs (tests/k8sdouble).
add_test(NAME approver_seed_mode
  COMMAND /usr/bin/python3 ${SLW_TESTS_DIR}/integration/approver_seed_mode.py)
set_tests_properties(approver_seed_mode PROPERTIES LABELS integration TIMEOUT 300
  RUN_SERIAL TRUE ENVIRONMENT "${SLW_TEST_ENV}")
