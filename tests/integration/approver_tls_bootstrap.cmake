# SPDX-License-Identifier: Apache-2.0
# See the docstring of approver_tls_bootstrap.py: slipway's approver against the
# kube-apiserver and kubelet doubles (tests/k8sdouble) and the real kubectl.
add_test(NAME approver_tls_bootstrap
  COMMAND /usr/bin/python3 ${SLW_TESTS_DIR}/integration/approver_tls_bootstrap.py)
set_tests_properties(approver_tls_bootstrap PROPERTIES LABELS integration TIMEOUT 300
  RUN_SERIAL TRUE ENVIRONMENT "${SLW_TEST_ENV}")
