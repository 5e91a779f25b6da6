# SPDX-License-Identifier: Apache-2.0
# Every rendered file accepted by its real consumer: k8sdouble check mode,
# systemd-analyze verify, haproxy -c, keepalived -t, kubectl, openssl; no CA
# key in default-mode bundles; install.sh in test-root mode; admin kubeconfig.
add_test(NAME bundle_consumers COMMAND ${SLW_TESTS_DIR}/integration/bundle_consumers.py)
set_tests_properties(bundle_consumers PROPERTIES LABELS integration TIMEOUT 900
  ENVIRONMENT "${SLW_TEST_ENV}")
