# SPDX-License-Identifier: Apache-2.0
# The rollout over SSH (issue 6) against harness hosts (tests/harness): one
# nspawn node per host with real systemd, sshd, etcd, haproxy, keepalived,
# and the k8sdouble components. Each test brings its own hosts up and down;
# they need root and run one at a time.
foreach(t rollout_full rollout_failover rollout_resume rollout_hostkey
          rollout_etcd_gate rollout_crash rollout_artifacts)
  add_test(NAME ${t}
    COMMAND /usr/bin/python3 ${SLW_TESTS_DIR}/integration/${t}.py)
  set_tests_properties(${t} PROPERTIES LABELS integration TIMEOUT 420
    RUN_SERIAL TRUE SKIP_RETURN_CODE 77 ENVIRONMENT "${SLW_TEST_ENV}")
endforeach()
