/* SPDX-License-Identifier: Apache-2.0 */
/*
 * privsep_client.h: the network child's side of privilege separation: the
 * only way the HTTPS endpoint (http_server.c) reaches tokens, the store and
 * the signer, which live in the monitor process (privsep_monitor.h). Each
 * call is one typed request and its answer (privsep_msg.h) over one of a
 * pool of socketpairs, so as many calls run at once as there are channels.
 *
 * A channel whose peer is gone or that answers out of protocol is dropped
 * for good (the call fails with SLW_ERR_IO); lost(cls, left) says so. With
 * no channel left every call fails at once.
 */
#ifndef SLW_PRIVSEP_CLIENT_H
#define SLW_PRIVSEP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "http_redeem.h"

struct privsep_client;

/* Takes the fds (also on failure: they are closed). lost may be NULL. */
int privsep_client_new(const int *fds, size_t n,
    void (*lost)(void *cls, size_t left), void *cls,
    struct privsep_client **out);
/* Closes every channel. No call may be running. Accepts NULL. */
void privsep_client_free(struct privsep_client *pc);
size_t privsep_client_live(struct privsep_client *pc);

/*
 * As redeem_precheck, redeem_bundle and redeem_enroll (http_redeem.h), done
 * by the monitor with its own clock (q->now is not sent). Of res, the
 * answer fills ti.id, ti.node, why, iss.n and body. The monitor's reason
 * (never a secret) is in d.
 */
int privsep_client_precheck(struct privsep_client *pc, const struct redeem_req *q,
    struct redeem_res *res, struct slw_diag *d);
int privsep_client_redeem(struct privsep_client *pc, const struct redeem_req *q,
    struct redeem_res *res, struct slw_diag *d);
int privsep_client_enroll(struct privsep_client *pc, const struct redeem_req *q,
    const uint8_t *csr, size_t len, struct redeem_res *res,
    struct slw_diag *d);
/* The trust bundle of every CA (GET /v1/ca.pem). */
int privsep_client_ca_pem(struct privsep_client *pc, struct buf *out);
/*
 * 0 when the monitor's store answers a read and could take a write (GET
 * /healthz); else the error, and why it cannot issue (the disk-full line)
 * in why if the monitor said.
 */
int privsep_client_health(struct privsep_client *pc, char *why, size_t len);
/*
 * The PEM CRLs of a CA (GET /v1/crl/<ca>.pem), re-signed by the monitor
 * first when due. SLW_ERR_NOTFOUND for an unknown CA.
 */
int privsep_client_crl_pem(struct privsep_client *pc, const char *ca,
    struct buf *out);
/* Appends the gauges only the monitor knows (CA expiry) to out. */
int privsep_client_metrics(struct privsep_client *pc, struct buf *out);
/* Every series of the metrics listener, appended to out (the monitor's:
 * the expiry view, the store, the fleet, CSR decisions). */
int privsep_client_metrics_all(struct privsep_client *pc, struct buf *out);

/* What the monitor answered for GET /v1/artifacts/<sha256>. */
struct privsep_artifact {
	int fd;			/* the artifact's file, read-only; the caller's */
	uint64_t size;
	int image;
	char name[64];
	char node[64];		/* the node the certificate is for */
};

/*
 * Asks the monitor for an artifact with the client certificate the TLS
 * layer verified (DER). 0: out->fd is open. SLW_ERR_AUTH: the monitor
 * refused the certificate; SLW_ERR_NOTFOUND: no such artifact; d holds
 * the monitor's reason (for the log, never for the client).
 */
int privsep_client_artifact(struct privsep_client *pc,
    const uint8_t sha256[32], const char *peer, const uint8_t *der,
    size_t len, struct privsep_artifact *out, struct slw_diag *d);

#endif
