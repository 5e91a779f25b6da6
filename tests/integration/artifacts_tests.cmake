# SPDX-License-Identifier: Apache-2.0
# Air-gapped installs (docs/artifacts.md): the artifact store with real
# Debian binaries standing in for upstream releases.
add_test(NAME artifacts_import COMMAND /usr/bin/python3
  ${SLW_TESTS_DIR}/integration/artifacts_import.py)
set_tests_properties(artifacts_import PROPERTIES LABELS integration
  TIMEOUT 300 SKIP_RETURN_CODE 77 ENVIRONMENT "${SLW_TEST_ENV}")
add_executable(artifacts_revoke ${SLW_TESTS_DIR}/integration/artifacts_revoke.c)
target_link_libraries(artifacts_revoke PRIVATE slw_pki)
add_test(NAME artifacts_serve COMMAND /usr/bin/python3
  ${SLW_TESTS_DIR}/integration/artifacts_serve.py)
set_tests_properties(artifacts_serve PROPERTIES LABELS integration
  TIMEOUT 600 RUN_SERIAL TRUE SKIP_RETURN_CODE 77
  ENVIRONMENT "${SLW_TEST_ENV};ARTIFACTS_REVOKE=$<TARGET_FILE:artifacts_revoke>")
# A harness node (tests/harness) with Debian's real containerd, fetched
# from the appliance; needs root.
add_test(NAME artifacts_image COMMAND /usr/bin/python3
  ${SLW_TESTS_DIR}/integration/artifacts_image.py)
set_tests_properties(artifacts_image PROPERTIES LABELS integration
  TIMEOUT 300 RUN_SERIAL TRUE SKIP_RETURN_CODE 77 ENVIRONMENT "${SLW_TEST_ENV}")
