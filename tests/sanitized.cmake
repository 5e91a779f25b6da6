# SPDX-License-Identifier: Apache-2.0
# Which integration tests `scripts/test.sh --asan` runs again in the
# ASan+UBSan build (label asan), beside the unit and fuzz tests: every one
# that runs slipway's own code and fits CI's time. Included after all tests
# are defined. Some run a shorter form there (same checks, less load).
#
# Not there, and why:
#   endpoint_renew    libfaketime's LD_PRELOAD cannot come before ASan's
#                     runtime (ASan must be the first DSO)
#   endpoint_privsep  its memory scan reads whole address spaces, and ASan's
#                     shadow maps terabytes of them
#   rollout_*, lifecycle_*, inventory_*, bundle_consumers,
#   bundle_etcd_cluster, reliability_flood
#                     the harness cluster and real etcd: several minutes
#                     each; twice would break CI's 40 minutes. The code they
#                     drive is covered here through the CLI and endpoint
#                     tests; they run unsanitized
#   firmware_*        a qemu boot of the image, built without sanitizers
set(SLW_SANITIZED_TESTS
  approver_api_faults approver_csr_check approver_seed_mode
  approver_tls_bootstrap bundle_roles ca_rotate endpoint_crash endpoint_race
  pki_bad_input pki_seed_compat unseal_sealed reliability_kill_sweep)
foreach(t ${SLW_SANITIZED_TESTS})
  if(TEST ${t})
    set_property(TEST ${t} APPEND PROPERTY LABELS asan)
  endif()
endforeach()
if(SLIPWAY_SANITIZE)
  # the short forms: 200 tokens x 20 racers, 20 kills
  set_property(TEST endpoint_race APPEND PROPERTY ENVIRONMENT
    ENDPOINT_RACE_TOKENS=200)
  set_property(TEST reliability_kill_sweep APPEND PROPERTY ENVIRONMENT
    KILL_SWEEP_ROUNDS=20)
endif()
