# SPDX-License-Identifier: Apache-2.0
# README's first command, scripts/demo.sh, end to end (the inventory's port
# 8443 on 127.0.0.1; its own state directory).
add_test(NAME readme_demo COMMAND /usr/bin/python3
  ${SLW_TESTS_DIR}/integration/readme_demo.py)
set_tests_properties(readme_demo PROPERTIES LABELS integration TIMEOUT 900
  RUN_SERIAL TRUE ENVIRONMENT "${SLW_TEST_ENV}")
