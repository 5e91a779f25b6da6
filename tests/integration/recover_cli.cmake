# SPDX-License-Identifier: Apache-2.0
# slipway recover and cert revoke --deliver without a cluster: refusals,
# "nothing to recover", the plan's order after really expired leaves (~20 s).
add_test(NAME recover_cli COMMAND ${SLW_TESTS_DIR}/integration/recover_cli.sh)
set_tests_properties(recover_cli PROPERTIES LABELS integration TIMEOUT 120
  ENVIRONMENT "${SLW_TEST_ENV}")
