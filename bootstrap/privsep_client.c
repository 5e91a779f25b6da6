// SPDX-License-Identifier: Apache-2.0
/*
 * privsep_client.c: the network child's requests to the monitor
 * (privsep_client.h): a pool of channels, one request and its answer at a
 * time on each. Must never hold a CA key or the store, trust an answer of
 * the wrong type, or keep a token after the call.
 */
#include "privsep_client.h"
#include "privsep_msg.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct privsep_client {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int *fds;		/* -1: dropped */
	size_t n, live;
	size_t *free_idx;	/* a stack of idle channels */
	size_t n_free;
	void (*lost)(void *cls, size_t left);
	void *cls;
};

int
privsep_client_new(const int *fds, size_t n,
    void (*lost)(void *cls, size_t left), void *cls,
    struct privsep_client **out)
{
	struct privsep_client *pc = NULL;
	size_t i;

	*out = NULL;
	if (n == 0 || n > PS_CHAN_MAX)
		goto fail;
	if ((pc = calloc(1, sizeof(*pc))) == NULL ||
	    (pc->fds = calloc(n, sizeof(int))) == NULL ||
	    (pc->free_idx = calloc(n, sizeof(size_t))) == NULL)
		goto fail;
	pthread_mutex_init(&pc->mu, NULL);
	pthread_cond_init(&pc->cv, NULL);
	for (i = 0; i < n; i++) {
		pc->fds[i] = fds[i];
		pc->free_idx[i] = n - 1 - i;
	}
	pc->n = pc->live = pc->n_free = n;
	pc->lost = lost;
	pc->cls = cls;
	*out = pc;
	return 0;
 fail:
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (pc != NULL) {
		free(pc->fds);
		free(pc->free_idx);
		free(pc);
	}
	return n == 0 || n > PS_CHAN_MAX ? SLW_ERR_INVALID : SLW_ERR_NOMEM;
}

void
privsep_client_free(struct privsep_client *pc)
{
	size_t i;

	if (pc == NULL)
		return;
	for (i = 0; i < pc->n; i++)
		if (pc->fds[i] >= 0)
			close(pc->fds[i]);
	pthread_mutex_destroy(&pc->mu);
	pthread_cond_destroy(&pc->cv);
	free(pc->fds);
	free(pc->free_idx);
	free(pc);
}

size_t
privsep_client_live(struct privsep_client *pc)
{
	size_t n;

	pthread_mutex_lock(&pc->mu);
	n = pc->live;
	pthread_mutex_unlock(&pc->mu);
	return n;
}

/*
 * One exchange on an idle channel: q out, the answer of type want into a.
 * A failed exchange drops the channel (its stream may be mid-frame).
 */
static int
call(struct privsep_client *pc, const struct privsep_msg *q,
    enum ps_type want, struct privsep_msg *a, int *passed)
{
	size_t i, left = 0;
	int r, fd, keep;

	privsep_msg_init(a, 0);
	if (passed != NULL)
		*passed = -1;
	pthread_mutex_lock(&pc->mu);
	while (pc->n_free == 0 && pc->live > 0)
		pthread_cond_wait(&pc->cv, &pc->mu);
	if (pc->live == 0) {
		pthread_mutex_unlock(&pc->mu);
		return SLW_ERR_IO;
	}
	i = pc->free_idx[--pc->n_free];
	fd = pc->fds[i];
	pthread_mutex_unlock(&pc->mu);

	if ((r = privsep_io_send(fd, q)) != 0)
		keep = r != SLW_ERR_IO;	/* not serialized: nothing was sent */
	else if ((r = privsep_io_recv_fd(fd, PS_ANS_FRAME_MAX, a, passed,
	    NULL)) != 0)
		keep = 0;	/* gone, or mid-frame: the stream is lost */
	else if (a->type != want) {
		privsep_msg_free(a);
		r = SLW_ERR_PARSE;
		keep = 0;
	} else
		keep = 1;

	pthread_mutex_lock(&pc->mu);
	if (!keep) {
		shutdown(fd, SHUT_RDWR);
		close(fd);
		pc->fds[i] = -1;
		left = --pc->live;
		pthread_cond_broadcast(&pc->cv);
	} else {
		pc->free_idx[pc->n_free++] = i;
		pthread_cond_signal(&pc->cv);
	}
	pthread_mutex_unlock(&pc->mu);
	if (!keep) {
		if (pc->lost != NULL)
			pc->lost(pc->cls, left);
		r = SLW_ERR_IO;
		if (passed != NULL && *passed >= 0) {
			close(*passed);
			*passed = -1;
		}
	}
	return r;
}

static int
token_call(struct privsep_client *pc, enum ps_type type,
    const struct redeem_req *q, const uint8_t *csr, size_t len,
    struct redeem_res *res, struct slw_diag *d)
{
	struct privsep_msg m, a;
	struct ps_token_req *rq = &m.u.req;
	int r;

	memset(res, 0, sizeof(*res));
	res->why = TOKEN_FAIL_MALFORMED;
	privsep_msg_init(&m, type);
	privsep_msg_init(&a, 0);
	if (q->token_len == 0 || q->token_len > PS_TOKEN_MAX) {
		r = SLW_ERR_AUTH;	/* never a token: the usual refusal */
		goto out;
	}
	memcpy(rq->token, q->token, q->token_len);
	rq->token_len = q->token_len;
	snprintf(rq->peer, sizeof(rq->peer), "%s",
	    q->peer != NULL && q->peer[0] != '\0' ? q->peer : "-");
	if (q->node != NULL)
		snprintf(rq->node, sizeof(rq->node), "%s", q->node);
	if (type == PS_ENROLL && len > 0 &&
	    (r = buf_set(&rq->csr, csr, len)) != 0)
		goto out;
	if ((r = call(pc, &m, PS_TOKEN_ANS, &a, NULL)) != 0) {
		r = slw_diag(d, r, "the monitor process does not answer");
		goto out;
	}
	snprintf(res->ti.id, sizeof(res->ti.id), "%s", a.u.tok.id);
	snprintf(res->ti.node, sizeof(res->ti.node), "%s", a.u.tok.node);
	res->why = (enum token_fail)a.u.tok.why;
	res->iss.n = a.u.tok.n_certs < REDEEM_MAX_CERTS ? a.u.tok.n_certs :
	    REDEEM_MAX_CERTS;
	r = a.u.tok.rc;
	if (r == 0 && type != PS_PRECHECK && a.u.tok.body.len > 0)
		buf_move(&res->body, &a.u.tok.body);
	else if (a.u.tok.text[0] != '\0')
		slw_diag_set(d, r, "%s", a.u.tok.text);
 out:
	privsep_msg_free(&m);
	privsep_msg_free(&a);
	return r;
}

int
privsep_client_precheck(struct privsep_client *pc, const struct redeem_req *q,
    struct redeem_res *res, struct slw_diag *d)
{
	return token_call(pc, PS_PRECHECK, q, NULL, 0, res, d);
}

int
privsep_client_redeem(struct privsep_client *pc, const struct redeem_req *q,
    struct redeem_res *res, struct slw_diag *d)
{
	return token_call(pc, PS_REDEEM, q, NULL, 0, res, d);
}

int
privsep_client_enroll(struct privsep_client *pc, const struct redeem_req *q,
    const uint8_t *csr, size_t len, struct redeem_res *res,
    struct slw_diag *d)
{
	if (len > CSR_MAX_LEN) {
		memset(res, 0, sizeof(*res));
		return slw_diag(d, SLW_ERR_TOOBIG, "request body over %d bytes",
		    CSR_MAX_LEN);
	}
	return token_call(pc, PS_ENROLL, q, csr, len, res, d);
}

static int
bytes_call_msg(struct privsep_client *pc, const struct privsep_msg *m,
    struct buf *out)
{
	struct privsep_msg a;
	int r;

	if ((r = call(pc, m, PS_BYTES_ANS, &a, NULL)) != 0)
		return r;
	r = a.u.bytes.rc;
	if (r == 0 && out != NULL && a.u.bytes.body.len > 0)
		r = buf_append(out, a.u.bytes.body.data, a.u.bytes.body.len);
	privsep_msg_free(&a);
	return r;
}

static int
bytes_call(struct privsep_client *pc, enum ps_type type, struct buf *out)
{
	struct privsep_msg m;

	privsep_msg_init(&m, type);
	return bytes_call_msg(pc, &m, out);
}

int
privsep_client_ca_pem(struct privsep_client *pc, struct buf *out)
{
	struct buf b = { 0 };
	int r;

	if ((r = bytes_call(pc, PS_CA_PEM, &b)) == 0)
		buf_move(out, &b);
	buf_free(&b);
	return r;
}

int
privsep_client_health(struct privsep_client *pc, char *why, size_t len)
{
	struct privsep_msg m, a;
	int r;

	if (len > 0)
		why[0] = '\0';
	privsep_msg_init(&m, PS_HEALTH);
	if ((r = call(pc, &m, PS_BYTES_ANS, &a, NULL)) != 0)
		return r;
	r = a.u.bytes.rc;
	if (r != 0 && len > 0 && a.u.bytes.body.len > 0)
		snprintf(why, len, "%.*s", (int)(a.u.bytes.body.len < len ?
		    a.u.bytes.body.len : len - 1), (const char *)a.u.bytes.body.data);
	privsep_msg_free(&a);
	return r;
}

int
privsep_client_metrics(struct privsep_client *pc, struct buf *out)
{
	return bytes_call(pc, PS_METRICS, out);
}

int
privsep_client_metrics_all(struct privsep_client *pc, struct buf *out)
{
	return bytes_call(pc, PS_METRICS_ALL, out);
}

int
privsep_client_crl_pem(struct privsep_client *pc, const char *ca,
    struct buf *out)
{
	struct privsep_msg m;

	privsep_msg_init(&m, PS_CRL_PEM);
	if (strlen(ca) >= sizeof(m.u.crl.ca))
		return SLW_ERR_NOTFOUND;
	memcpy(m.u.crl.ca, ca, strlen(ca) + 1);
	return bytes_call_msg(pc, &m, out);
}

int
privsep_client_artifact(struct privsep_client *pc, const uint8_t sha256[32],
    const char *peer, const uint8_t *der, size_t len,
    struct privsep_artifact *out, struct slw_diag *d)
{
	struct privsep_msg m, a;
	int r, fd = -1;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (der == NULL || len == 0 || len > PS_CERT_MAX)
		return slw_diag(d, SLW_ERR_AUTH, "no usable client certificate");
	privsep_msg_init(&m, PS_ARTIFACT);
	memcpy(m.u.art.sha256, sha256, 32);
	snprintf(m.u.art.peer, sizeof(m.u.art.peer), "%s",
	    peer != NULL && peer[0] != '\0' ? peer : "-");
	if ((r = buf_set(&m.u.art.cert, der, len)) != 0)
		goto out;
	if ((r = call(pc, &m, PS_ARTIFACT_ANS, &a, &fd)) != 0) {
		r = slw_diag(d, r, "the monitor process does not answer");
		goto out;
	}
	r = a.u.arta.rc;
	if (r == 0 && fd < 0)
		r = slw_diag(d, SLW_ERR_INTERNAL, "the monitor sent no file");
	else if (r != 0 && a.u.arta.text[0] != '\0')
		slw_diag_set(d, r, "%s", a.u.arta.text);
	if (r == 0) {
		out->fd = fd;
		fd = -1;
		out->size = a.u.arta.size;
		out->image = a.u.arta.image != 0;
		snprintf(out->name, sizeof(out->name), "%s", a.u.arta.name);
		snprintf(out->node, sizeof(out->node), "%s", a.u.arta.node);
	}
	privsep_msg_free(&a);
 out:
	if (fd >= 0)
		close(fd);	/* an answer that refused and still sent one */
	privsep_msg_free(&m);
	return r;
}
