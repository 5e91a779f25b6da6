# SPDX-License-Identifier: Apache-2.0
# A real etcd member with its rendered --client-crl-file/--peer-crl-file:
# a revocation is enforced as soon as the CRL file is replaced, no restart.
add_test(NAME crl_etcd_reload COMMAND ${SLW_TESTS_DIR}/integration/crl_etcd_reload.py)
set_tests_properties(crl_etcd_reload PROPERTIES LABELS integration TIMEOUT 300
  RUN_SERIAL TRUE ENVIRONMENT "${SLW_TEST_ENV}")
