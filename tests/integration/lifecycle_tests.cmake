# SPDX-License-Identifier: Apache-2.0
# Day-2 lifecycle tests (issue 13) on one rolled-out 3-node harness cluster
# (tests/harness, rollout_lib): lifecycle_cluster_up brings it up once
# (FIXTURES_SETUP), the tests share it and leave it healthy,
# lifecycle_cluster_down takes it down. Root, one at a time.
set(SLW_LIFECYCLE_PY ${SLW_TESTS_DIR}/integration/lifecycle_lib.py)
add_test(NAME lifecycle_cluster_up COMMAND /usr/bin/python3 ${SLW_LIFECYCLE_PY} up)
add_test(NAME lifecycle_cluster_down COMMAND /usr/bin/python3 ${SLW_LIFECYCLE_PY} down)
set_tests_properties(lifecycle_cluster_up PROPERTIES LABELS integration TIMEOUT 300
  RUN_SERIAL TRUE SKIP_RETURN_CODE 77 ENVIRONMENT "${SLW_TEST_ENV}"
  FIXTURES_SETUP lifecycle_cluster)
set_tests_properties(lifecycle_cluster_down PROPERTIES LABELS integration TIMEOUT 120
  RUN_SERIAL TRUE SKIP_RETURN_CODE 77 ENVIRONMENT "${SLW_TEST_ENV}"
  FIXTURES_CLEANUP lifecycle_cluster)
foreach(t lifecycle_rotate_etcd lifecycle_rotate_resume
    lifecycle_rotate_bad_input lifecycle_revoke_etcd lifecycle_rotate_sa
    lifecycle_key_encryption lifecycle_rotate_front_proxy)
  add_test(NAME ${t} COMMAND /usr/bin/python3 ${SLW_TESTS_DIR}/integration/${t}.py)
  set_tests_properties(${t} PROPERTIES LABELS integration TIMEOUT 900
    RUN_SERIAL TRUE SKIP_RETURN_CODE 77 ENVIRONMENT "${SLW_TEST_ENV}"
    FIXTURES_REQUIRED lifecycle_cluster)
endforeach()
# The tests whose etcd client (etcd_load.py) runs on python3-grpcio: label
# lifecycle_grpc instead of integration. bookworm's grpcio 1.51 traps in
# its core now and then while members restart (dmesg: "trap invalid opcode
# ... in cygrpc"; twice in 2 fresh-clone CI runs, never in about 10 runs
# before): the client dies without a word, so the test cannot count its
# operations. Until the client speaks etcd's JSON gateway instead, CI runs
# them not; ./scripts/test.sh without CI=true does.
foreach(t lifecycle_rotate_etcd lifecycle_rotate_resume lifecycle_revoke_etcd)
  set_tests_properties(${t} PROPERTIES LABELS lifecycle_grpc)
endforeach()
# its own cluster, with 10-minute leaves (about 3 minutes of real time)
add_test(NAME lifecycle_renew
  COMMAND /usr/bin/python3 ${SLW_TESTS_DIR}/integration/lifecycle_renew.py)
set_tests_properties(lifecycle_renew PROPERTIES LABELS lifecycle_grpc TIMEOUT 900
  RUN_SERIAL TRUE SKIP_RETURN_CODE 77 ENVIRONMENT "${SLW_TEST_ENV}")
# its own cluster, with 150-second leaves that really expire (about 4
# minutes of real time, most of it waiting for them)
add_test(NAME lifecycle_recover_expired
  COMMAND /usr/bin/python3 ${SLW_TESTS_DIR}/integration/lifecycle_recover_expired.py)
set_tests_properties(lifecycle_recover_expired PROPERTIES LABELS integration TIMEOUT 900
  RUN_SERIAL TRUE SKIP_RETURN_CODE 77 ENVIRONMENT "${SLW_TEST_ENV}")
