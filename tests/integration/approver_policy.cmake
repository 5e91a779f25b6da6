# SPDX-License-Identifier: Apache-2.0
# The kubelet CSR policy table (tests/unit/approver_test.c, group "policy")
# under the name of what it proves; unit_approver runs it with the JSON and
# signing groups (and the monitor group below).
add_test(NAME approver_policy COMMAND approver_test policy)
set_tests_properties(approver_policy PROPERTIES LABELS unit TIMEOUT 120
  ENVIRONMENT "SLIPWAY=$<TARGET_FILE:slipway>")
add_test(NAME approver_sign COMMAND approver_test sign)
set_tests_properties(approver_sign PROPERTIES LABELS unit TIMEOUT 120
  ENVIRONMENT "SLIPWAY=$<TARGET_FILE:slipway>")
# The monitor's side of the approver process's channel: what the approver
# sends is signed only if the monitor's own policy run approves it.
add_test(NAME approver_monitor_refuses_forged COMMAND approver_test monitor)
set_tests_properties(approver_monitor_refuses_forged PROPERTIES LABELS unit
  TIMEOUT 120 ENVIRONMENT "SLIPWAY=$<TARGET_FILE:slipway>")
