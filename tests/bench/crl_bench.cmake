# SPDX-License-Identifier: Apache-2.0
# CRL signing for 10,000 and 100,000 revoked serials: crl_write alone, the
# store's refresh (LMDB read + sign + commit), and `openssl ca -gencrl` over
# the same entries as the reference. Label bench; prints, never asserts.
add_executable(crl_bench ${CMAKE_CURRENT_LIST_DIR}/crl_bench.c)
target_link_libraries(crl_bench PRIVATE slw_appliance slw_benchutil)
add_test(NAME bench_crl COMMAND crl_bench --sizes 10000,100000 --runs 3)
set_tests_properties(bench_crl PROPERTIES LABELS bench TIMEOUT 900
  RUN_SERIAL TRUE)
