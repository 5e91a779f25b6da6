# SPDX-License-Identifier: Apache-2.0
# serve's privilege separation, observed from outside as root: the network
# child's sandbox, descriptors and memory (no CA key, no KEK), restarts.
# privsep_memscan unseals the CA keys to look for them; it prints counts.
add_executable(privsep_memscan ${SLW_TESTS_DIR}/integration/privsep_memscan.c)
target_link_libraries(privsep_memscan PRIVATE slw_pki)
add_test(NAME endpoint_privsep COMMAND /usr/bin/python3
  ${SLW_TESTS_DIR}/integration/endpoint_privsep.py)
set_tests_properties(endpoint_privsep PROPERTIES LABELS integration
  TIMEOUT 600 RUN_SERIAL TRUE
  ENVIRONMENT "${SLW_TEST_ENV};ENDPOINT_LOAD=$<TARGET_FILE:endpoint_load>;PRIVSEP_MEMSCAN=$<TARGET_FILE:privsep_memscan>")
