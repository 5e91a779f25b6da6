add_test(NAME inventory_cli COMMAND ${SLW_TESTS_DIR}/integration/inventory_cli.sh)
set_tests_properties(inventory_cli PROPERTIES LABELS "integration;asan" TIMEOUT 120
  ENVIRONMENT "${SLW_TEST_ENV}")

# On a rolled-out harness cluster of their own (lifecycle_lib with
# SLW_LIFECYCLE_DIR): test1-3 as the rollout tests have them and a spare
# host test4 that inventory apply adds. After the lifecycle tests' cluster
# is down (DEPENDS), so that two clusters never run at once.
set(SLW_INV_ENV "${SLW_TEST_ENV}" SLW_LIFECYCLE_DIR=inventory-tests SLW_LIFECYCLE_SPARE=test4)
add_test(NAME inventory_cluster_up COMMAND /usr/bin/python3 ${SLW_TESTS_DIR}/integration/lifecycle_lib.py up)
add_test(NAME inventory_cluster_down COMMAND /usr/bin/python3 ${SLW_TESTS_DIR}/integration/lifecycle_lib.py down)
set_tests_properties(inventory_cluster_up PROPERTIES LABELS integration TIMEOUT 300
  RUN_SERIAL TRUE SKIP_RETURN_CODE 77 ENVIRONMENT "${SLW_INV_ENV}"
  FIXTURES_SETUP inventory_cluster DEPENDS lifecycle_cluster_down)
set_tests_properties(inventory_cluster_down PROPERTIES LABELS integration TIMEOUT 120
  RUN_SERIAL TRUE SKIP_RETURN_CODE 77 ENVIRONMENT "${SLW_INV_ENV}"
  FIXTURES_CLEANUP inventory_cluster)
foreach(t inventory_add_worker inventory_remove)
  add_test(NAME ${t} COMMAND /usr/bin/python3 ${SLW_TESTS_DIR}/integration/${t}.py)
  set_tests_properties(${t} PROPERTIES LABELS integration TIMEOUT 600
    RUN_SERIAL TRUE SKIP_RETURN_CODE 77 ENVIRONMENT "${SLW_INV_ENV}"
    FIXTURES_REQUIRED inventory_cluster)
endforeach()
# remove takes out the node add put in
set_tests_properties(inventory_remove PROPERTIES DEPENDS inventory_add_worker)
