# SPDX-License-Identifier: Apache-2.0
# A connection flood from 20 loopback addresses against a real `slipway
# serve` while nodes redeem their one-liners from another address.
add_test(NAME reliability_flood COMMAND /usr/bin/python3
  ${SLW_TESTS_DIR}/integration/reliability_flood.py)
set_tests_properties(reliability_flood PROPERTIES LABELS integration
  TIMEOUT 300 RUN_SERIAL TRUE ENVIRONMENT "${SLW_TEST_ENV}")
