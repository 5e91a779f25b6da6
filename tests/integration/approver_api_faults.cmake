# SPDX-License-Identifier: Apache-2.0
# See the docstring of approver_api_faults.py: slipway's approver against the
# kube-apiserver and kubelet doubles (tests/k8sdouble) and the real kubectl.
add_test(NAME approver_api_faults
  COMMAND /usr/bin/python3 ${SLW_TESTS_DIR}/integration/approver_api_faults.py)
set_tests_properties(approver_api_faults PROPERTIES LABELS integration TIMEOUT 300
  RUN_SERIAL TRUE ENVIRONMENT "${SLW_TEST_ENV}")
