# SPDX-License-Identifier: Apache-2.0
# The HTTPS bootstrap endpoint against real clients on 127.0.0.1: curl with
# the printed one-liner, openssl/sslscan, and the endpoint_load pool
# (tests/bench/endpoint_load.c). Each test makes its own state and port.
foreach(t oneliner refusals race enroll tls_scan crash hardening errors
    kubelet_bootstrap reload renew crl)
  add_test(NAME endpoint_${t} COMMAND /usr/bin/python3
    ${SLW_TESTS_DIR}/integration/endpoint_${t}.py)
  set_tests_properties(endpoint_${t} PROPERTIES LABELS integration
    TIMEOUT 600 RUN_SERIAL TRUE
    ENVIRONMENT "${SLW_TEST_ENV};ENDPOINT_LOAD=$<TARGET_FILE:endpoint_load>")
endforeach()
# Also run under ASan+UBSan by `scripts/test.sh --asan` (label asan): the
# HTTP-facing paths, with the monitor's leak check at exit. race (a short
# form) and crash too: see tests/sanitized.cmake, which says what is not.
foreach(t oneliner refusals enroll tls_scan hardening kubelet_bootstrap errors
    reload)
  set_tests_properties(endpoint_${t} PROPERTIES LABELS "integration;asan")
endforeach()
