/* SPDX-License-Identifier: Apache-2.0 */
/*
 * privsep_monitor.h: the monitor's side of privilege separation: it owns
 * struct redeem (the store, the KEK, the signer, bundle rendering) and
 * answers a fixed table of requests from the network child, one thread per
 * channel, so redemptions on different channels run at once and share
 * LMDB commits (store_submit's group commit):
 *
 *   PS_PRECHECK -> redeem_precheck     PS_CA_PEM  -> ca_trust_pem (all CAs)
 *   PS_REDEEM   -> redeem_bundle       PS_HEALTH  -> a store read
 *   PS_ENROLL   -> redeem_enroll       PS_METRICS -> http_metrics_ca_render
 *   PS_METRICS_ALL -> expiry_metrics_store, the store's gauges and
 *                     rd->metrics_more (the monitor's own: fleet, CSRs)
 *   PS_CRL_PEM  -> signing_crl_pem (re-signs what is due first)
 *   PS_ARTIFACT -> redeem_artifact, the file's descriptor passed along
 *
 * Every request is answered with the monitor's own clock. Anything else (an
 * unknown or malformed frame, a frame over PS_REQ_FRAME_MAX, a type that is
 * not a request) gets one log line and that channel is closed; the monitor
 * never exits for it.
 */
#ifndef SLW_PRIVSEP_MONITOR_H
#define SLW_PRIVSEP_MONITOR_H

#include <stddef.h>

#include "err.h"
#include "http_redeem.h"
#include "privsep_msg.h"

struct privsep_monitor;

/*
 * Serves fds (taken, also on failure) with rd, which must outlive the
 * monitor. log: one line, no newline, from any thread; never a secret.
 */
int privsep_monitor_start(struct redeem *rd, const int *fds, size_t n,
    void (*log)(void *cls, const char *line), void *cls,
    struct privsep_monitor **out);
/*
 * Waits for every channel to end (the child closed it or died); with
 * force, shuts them down first. Then frees. Accepts NULL.
 */
void privsep_monitor_stop(struct privsep_monitor *m, int force);
/* Channels still being served; one whose end its peer has seen closed is
 * no longer counted. */
size_t privsep_monitor_live(struct privsep_monitor *m);

/*
 * The dispatch table on its own: q is a parsed request, a gets the answer.
 * SLW_ERR_INVALID if q's type is not a permitted request, SLW_ERR_NOKEK if
 * rd has no signer yet (a sealed serve): nothing done either way.
 */
int privsep_monitor_handle(struct redeem *rd, const struct privsep_msg *q,
    struct privsep_msg *a);
/* The same; *fd gets a descriptor to pass with the answer (or -1). */
int privsep_monitor_handle_fd(struct redeem *rd, const struct privsep_msg *q,
    struct privsep_msg *a, int *fd);

#endif
