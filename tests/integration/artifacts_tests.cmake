# SPDX-License-Identifier: Apache-2.0
# Air-gapped installs (docs/artifacts.md): the artifact store with real
# Debian binaries standing in for upstream releases.
add_test(NAME artifacts_import COMMAND /usr/bin/python3
  ${SLW_TESTS_DIR}/integration/artifacts_import.py)
set_tests_properties(artifacts_import PROPERTIES LABELS integration
  TIMEOUT 300 SKIP_RETURN_CODE 77 ENVIRONMENT "${SLW_TEST_ENV}")
