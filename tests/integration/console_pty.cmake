# SPDX-License-Identifier: Apache-2.0
# slipway console through a pseudo-terminal (pexpect): full screen at
# 80x24 and 20x5, the dumb-terminal menus, a token made on the console and
# redeemed by curl from a real serve on 127.0.0.1. About 15 s.
add_test(NAME console_pty COMMAND /usr/bin/python3
  ${SLW_TESTS_DIR}/integration/console_pty.py)
set_tests_properties(console_pty PROPERTIES LABELS integration TIMEOUT 300
  SKIP_RETURN_CODE 77 ENVIRONMENT "${SLW_TEST_ENV}")
