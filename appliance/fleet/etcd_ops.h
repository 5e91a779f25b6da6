/* SPDX-License-Identifier: Apache-2.0 */
/*
 * etcd_ops.h: what the fleet engine asks of a running etcd cluster before
 * it restarts a member (etcd_ops.c): who leads, and moving leadership
 * away from the member about to stop (maintenance MoveLeader), so that no
 * client write is in flight on a leader that goes away. Over the v3 JSON
 * gateway with the appliance's etcd client certificate; the answers are
 * untrusted bytes, parsed with caps.
 */
#ifndef SLW_ETCD_OPS_H
#define SLW_ETCD_OPS_H

#include <stdint.h>

#include "fleet.h"

struct https;

/* One member's view: its id and the leader's (0: unknown). */
struct etcd_status {
	uint64_t member_id;
	uint64_t leader;
	uint64_t raft_term;
};

/* The status of the member at url (https://ip:port), parsed. */
int etcd_ops_status(struct https *id, const char *url,
    struct etcd_status *st, struct slw_diag *d);
/* Parses a /v3/maintenance/status answer (untrusted; pure). */
int etcd_ops_status_parse(const uint8_t *buf, size_t len,
    struct etcd_status *st);

/*
 * Before node's member stops: if it leads, leadership moves to another
 * healthy member and the call returns once the others agree on the new
 * leader. d says what was done ("leader moved to test2") or why not.
 */
int etcd_ops_prepare_stop(struct fleet *f, struct https *id,
    const struct inv_node *n, struct slw_diag *d);

#endif
