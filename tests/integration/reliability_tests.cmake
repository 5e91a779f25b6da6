# SPDX-License-Identifier: Apache-2.0
# Reliability of the state: a full disk (a tiny tmpfs in a private mount
# namespace: needs root) and rollback (a copied-back data.mdb; backup under
# a redemption load, then restore). Real `slipway serve` on 127.0.0.1, curl.
add_test(NAME reliability_disk_full COMMAND unshare -m --propagation private
  /usr/bin/python3 ${SLW_TESTS_DIR}/integration/reliability_disk_full.py)
add_test(NAME reliability_rollback COMMAND /usr/bin/python3
  ${SLW_TESTS_DIR}/integration/reliability_rollback.py)
set_tests_properties(reliability_disk_full reliability_rollback PROPERTIES
  LABELS integration TIMEOUT 300 RUN_SERIAL TRUE
  ENVIRONMENT "${SLW_TEST_ENV}")
# Both also run under ASan+UBSan (label asan: 1 s and 6 s there).
set_tests_properties(reliability_disk_full reliability_rollback PROPERTIES
  LABELS "integration;asan")
# 100 kill -9s of serve (monitor or network child) at random points of a
# mixed load, each followed by a consistency check of the store.
add_test(NAME reliability_kill_sweep COMMAND /usr/bin/python3
  ${SLW_TESTS_DIR}/integration/reliability_kill_sweep.py)
set_tests_properties(reliability_kill_sweep PROPERTIES
  LABELS integration TIMEOUT 900 RUN_SERIAL TRUE
  ENVIRONMENT "${SLW_TEST_ENV};ENDPOINT_LOAD=$<TARGET_FILE:endpoint_load>")
