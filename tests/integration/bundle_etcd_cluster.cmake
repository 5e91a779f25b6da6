# SPDX-License-Identifier: Apache-2.0
# Three real etcd members started with exactly their rendered etcd.service:
# health over mTLS, put/get, foreign-CA and wrong-CA clients refused, TLS only.
add_test(NAME bundle_etcd_cluster COMMAND ${SLW_TESTS_DIR}/integration/bundle_etcd_cluster.py)
set_tests_properties(bundle_etcd_cluster PROPERTIES LABELS integration TIMEOUT 300
  RUN_SERIAL TRUE ENVIRONMENT "${SLW_TEST_ENV}")
