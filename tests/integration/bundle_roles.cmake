# SPDX-License-Identifier: Apache-2.0
# Each role gets exactly its files; render twice = same but fresh keys;
# records and audit; unknown node / non-empty --out change nothing.
add_test(NAME bundle_roles COMMAND ${SLW_TESTS_DIR}/integration/bundle_roles.py)
set_tests_properties(bundle_roles PROPERTIES LABELS integration TIMEOUT 300
  ENVIRONMENT "${SLW_TEST_ENV}")
