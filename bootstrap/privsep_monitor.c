// SPDX-License-Identifier: Apache-2.0
/*
 * privsep_monitor.c: the monitor answering the network child's requests
 * (privsep_monitor.h): a permitted-request table over struct redeem, one
 * thread per channel. Must never act on a frame it could not parse or on a
 * type outside the table, never believe a time from the child, never send
 * a CA key, the KEK or a cluster secret, and never exit because of what a
 * child sent.
 */
#include "privsep_monitor.h"
#include "ca.h"
#include "expiry_metrics.h"
#include "http_metrics.h"
#include "rand.h"
#include "signing.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct chan {
	struct privsep_monitor *m;
	size_t idx;
	int fd;
	pthread_t th;
	int started;
};

struct privsep_monitor {
	struct redeem *rd;
	void (*log)(void *cls, const char *line);
	void *cls;
	struct chan *ch;
	size_t n;
	atomic_size_t live;
};

/* ---- the table ---- */

static int
ca_txn(struct store_txn *t, void *arg)
{
	return ca_trust_pem(t, NULL, arg);
}

static int
health_txn(struct store_txn *t, void *arg)
{
	const uint8_t *v;
	size_t n;

	(void)arg;
	return store_get_ref(t, DB_META, "schema", 6, &v, &n);
}

/* SLW_ERR_* or SLW_ERR_INTERNAL: answers carry only codes the child knows. */
static int32_t
known_rc(int r)
{
	return r <= 0 && r >= SLW_ERR_LAST ? r : SLW_ERR_INTERNAL;
}

static int
h_token(struct redeem *rd, const struct privsep_msg *q, struct privsep_msg *a,
    int *fd)
{
	const struct ps_token_req *tq = &q->u.req;
	struct ps_token_ans *ta = &a->u.tok;
	struct redeem_req rq;
	struct redeem_res res;
	struct slw_diag d;
	int r;

	(void)fd;
	memset(&rq, 0, sizeof(rq));
	memset(&res, 0, sizeof(res));
	slw_diag_clear(&d);
	rq.token = tq->token;
	rq.token_len = tq->token_len;
	rq.peer = tq->peer;
	rq.node = tq->node[0] != '\0' ? tq->node : NULL;
	rq.now = slw_now();	/* the monitor's clock, never the child's */
	switch (q->type) {
	case PS_PRECHECK:
		res.why = TOKEN_FAIL_MALFORMED;
		r = redeem_precheck(rd, &rq, &res, &d);
		break;
	case PS_REDEEM:
		r = redeem_bundle(rd, &rq, &res, &d);
		break;
	default:
		r = redeem_enroll(rd, &rq, tq->csr.data, tq->csr.len, &res, &d);
		break;
	}
	privsep_msg_init(a, PS_TOKEN_ANS);
	ta->rc = known_rc(r);
	ta->why = (unsigned)res.why < TOKEN_FAIL__COUNT ? (uint32_t)res.why :
	    TOKEN_FAIL_MALFORMED;
	snprintf(ta->id, sizeof(ta->id), "%s", res.ti.id);
	snprintf(ta->node, sizeof(ta->node), "%s", res.ti.node);
	ta->n_certs = (uint32_t)res.iss.n;
	if (r == 0 && q->type != PS_PRECHECK)
		buf_move(&ta->body, &res.body);
	else if (r != 0)
		snprintf(ta->text, sizeof(ta->text), "%s", slw_diag_str(&d, r));
	redeem_res_free(&res);
	return 0;
}

static int
h_ca_pem(struct redeem *rd, const struct privsep_msg *q, struct privsep_msg *a,
    int *fd)
{
	int r;

	(void)q;
	(void)fd;
	privsep_msg_init(a, PS_BYTES_ANS);
	if ((r = store_read(rd->s, ca_txn, &a->u.bytes.body, NULL)) != 0)
		buf_free(&a->u.bytes.body);
	a->u.bytes.rc = known_rc(r);
	return 0;
}

/* Healthy: the store answers a read and could take a write (disk space). */
static int
h_health(struct redeem *rd, const struct privsep_msg *q, struct privsep_msg *a,
    int *fd)
{
	struct slw_diag d;
	int r;

	(void)q;
	(void)fd;
	slw_diag_clear(&d);
	privsep_msg_init(a, PS_BYTES_ANS);
	if ((r = store_read(rd->s, health_txn, NULL, NULL)) == 0)
		r = store_writable(rd->s, &d);
	a->u.bytes.rc = known_rc(r);
	if (r != 0 && d.msg[0] != '\0' &&
	    buf_set(&a->u.bytes.body, d.msg, strlen(d.msg)) != 0)
		buf_free(&a->u.bytes.body);
	return 0;
}

static int
h_metrics(struct redeem *rd, const struct privsep_msg *q,
    struct privsep_msg *a, int *fd)
{
	int r;

	(void)q;
	(void)fd;
	privsep_msg_init(a, PS_BYTES_ANS);
	if ((r = http_metrics_ca_render(rd->s, slw_now(),
	    &a->u.bytes.body)) != 0 ||
	    (r = http_metrics_store_render(rd->s, &a->u.bytes.body)) != 0)
		buf_free(&a->u.bytes.body);
	a->u.bytes.rc = known_rc(r);
	return 0;
}

/* The metrics listener's: per-node series too (never the bootstrap port). */
static int
h_metrics_all(struct redeem *rd, const struct privsep_msg *q,
    struct privsep_msg *a, int *fd)
{
	struct buf *b = &a->u.bytes.body;
	int r;

	(void)q;
	(void)fd;
	privsep_msg_init(a, PS_BYTES_ANS);
	if ((r = expiry_metrics_store(rd->s, slw_now(), b)) != 0 ||
	    (r = http_metrics_store_render(rd->s, b)) != 0 ||
	    (rd->metrics_more != NULL &&
	    (r = rd->metrics_more(rd->metrics_cls, b)) != 0))
		buf_free(b);
	a->u.bytes.rc = known_rc(r);
	return 0;
}

/* The CRLs of one CA, re-signed first when due (the monitor's clock). */
static int
h_crl_pem(struct redeem *rd, const struct privsep_msg *q,
    struct privsep_msg *a, int *fd)
{
	int r;

	(void)fd;
	privsep_msg_init(a, PS_BYTES_ANS);
	if ((r = signing_crl_pem(rd->s, q->u.crl.ca, slw_now(), REDEEM_ACTOR,
	    &a->u.bytes.body, NULL)) != 0)
		buf_free(&a->u.bytes.body);
	a->u.bytes.rc = known_rc(r);
	return 0;
}

/*
 * GET /v1/artifacts/<sha256>: the certificate checked here again, then
 * the file opened here and its descriptor handed over (the child never
 * names a path).
 */
static int
h_artifact(struct redeem *rd, const struct privsep_msg *q,
    struct privsep_msg *a, int *fd)
{
	const struct ps_artifact_req *aq = &q->u.art;
	struct ps_artifact_ans *aa = &a->u.arta;
	struct redeem_artifact_res res;
	struct slw_diag d;
	int r;

	slw_diag_clear(&d);
	r = redeem_artifact(rd, aq->sha256, aq->cert.data, aq->cert.len,
	    slw_now(), &res, &d);
	privsep_msg_init(a, PS_ARTIFACT_ANS);
	aa->rc = known_rc(r);
	if (r == 0) {
		aa->size = res.size;
		aa->image = res.image ? 1 : 0;
		snprintf(aa->name, sizeof(aa->name), "%s", res.name);
		snprintf(aa->node, sizeof(aa->node), "%s", res.node);
		*fd = res.fd;
	} else
		snprintf(aa->text, sizeof(aa->text), "%s", slw_diag_str(&d, r));
	return 0;
}

/* The permitted requests. Nothing else is ever acted on. */
static const struct {
	enum ps_type type;
	int (*fn)(struct redeem *rd, const struct privsep_msg *q,
	    struct privsep_msg *a, int *fd);
} table[] = {
	{ PS_PRECHECK, h_token },
	{ PS_REDEEM, h_token },
	{ PS_ENROLL, h_token },
	{ PS_CA_PEM, h_ca_pem },
	{ PS_HEALTH, h_health },
	{ PS_METRICS, h_metrics },
	{ PS_METRICS_ALL, h_metrics_all },
	{ PS_CRL_PEM, h_crl_pem },
	{ PS_ARTIFACT, h_artifact },
};

int
privsep_monitor_handle_fd(struct redeem *rd, const struct privsep_msg *q,
    struct privsep_msg *a, int *fd)
{
	size_t i;

	privsep_msg_init(a, 0);
	*fd = -1;
	/* sealed (no signer yet): a sealed child asks nothing, so whatever
	 * asks is refused and its channel closed */
	if (rd->sg == NULL)
		return SLW_ERR_NOKEK;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].type == q->type)
			return table[i].fn(rd, q, a, fd);
	return SLW_ERR_INVALID;
}

int
privsep_monitor_handle(struct redeem *rd, const struct privsep_msg *q,
    struct privsep_msg *a)
{
	int fd, r = privsep_monitor_handle_fd(rd, q, a, &fd);

	if (fd >= 0)
		close(fd);
	return r;
}

/* ---- channels ---- */

static void
mlog(struct privsep_monitor *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
mlog(struct privsep_monitor *m, const char *fmt, ...)
{
	char line[400];
	va_list ap;

	if (m->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	m->log(m->cls, line);
}

static void *
chan_main(void *arg)
{
	struct chan *c = arg;
	struct privsep_monitor *m = c->m;
	struct privsep_msg q, a;
	struct slw_diag d;
	int r, pass;

	for (;;) {
		slw_diag_clear(&d);
		r = privsep_io_recv(c->fd, PS_REQ_FRAME_MAX, &q, &d);
		if (r == SLW_ERR_IO)
			break;		/* the child closed it, or is gone */
		if (r != 0) {
			mlog(m, "monitor: channel %zu: %s from the network "
			    "child: channel closed", c->idx, slw_diag_str(&d, r));
			break;
		}
		if ((r = privsep_monitor_handle_fd(m->rd, &q, &a, &pass)) != 0) {
			mlog(m, "monitor: channel %zu: '%s' is not a request "
			    "the network child may make%s: channel closed",
			    c->idx, privsep_msg_type_name(q.type),
			    r == SLW_ERR_NOKEK ? " while sealed" : "");
			privsep_msg_free(&q);
			break;
		}
		privsep_msg_free(&q);
		r = privsep_io_send_fd(c->fd, &a, pass);
		if (pass >= 0)
			close(pass);	/* the child has its own now */
		if (r != 0 && r != SLW_ERR_IO) {
			/* not serializable (an answer over its cap): say so */
			enum ps_type t = a.type;

			privsep_msg_free(&a);
			privsep_msg_init(&a, t);
			if (t == PS_TOKEN_ANS) {
				a.u.tok.rc = SLW_ERR_TOOBIG;
				snprintf(a.u.tok.text, sizeof(a.u.tok.text),
				    "the answer is over %u bytes", PS_BODY_MAX);
			} else if (t == PS_ARTIFACT_ANS)
				a.u.arta.rc = SLW_ERR_INTERNAL;
			else
				a.u.bytes.rc = SLW_ERR_TOOBIG;
			mlog(m, "monitor: channel %zu: %s", c->idx,
			    slw_strerror(r));
			r = privsep_io_send(c->fd, &a);
		}
		privsep_msg_free(&a);
		if (r != 0)
			break;
	}
	/* counted out before the peer can see the channel end: whoever
	 * watches it close (the child, a test) then reads the new count */
	atomic_fetch_sub(&m->live, 1);
	shutdown(c->fd, SHUT_RDWR);
	return NULL;
}

int
privsep_monitor_start(struct redeem *rd, const int *fds, size_t n,
    void (*log)(void *cls, const char *line), void *cls,
    struct privsep_monitor **out)
{
	struct privsep_monitor *m = NULL;
	size_t i;
	int r = SLW_ERR_NOMEM;

	*out = NULL;
	if (rd == NULL || n == 0 || n > PS_CHAN_MAX) {
		r = SLW_ERR_INVALID;
		goto fail;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->ch = calloc(n, sizeof(*m->ch))) == NULL)
		goto fail;
	m->rd = rd;
	m->log = log;
	m->cls = cls;
	m->n = n;
	atomic_init(&m->live, 0);
	for (i = 0; i < n; i++) {
		m->ch[i].m = m;
		m->ch[i].idx = i;
		m->ch[i].fd = fds[i];
	}
	for (i = 0; i < n; i++) {
		atomic_fetch_add(&m->live, 1);
		if (pthread_create(&m->ch[i].th, NULL, chan_main, &m->ch[i])
		    != 0) {
			atomic_fetch_sub(&m->live, 1);
			privsep_monitor_stop(m, 1);
			return SLW_ERR_INTERNAL;
		}
		m->ch[i].started = 1;
	}
	*out = m;
	return 0;
 fail:
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (m != NULL) {
		free(m->ch);
		free(m);
	}
	return r;
}

size_t
privsep_monitor_live(struct privsep_monitor *m)
{
	return m == NULL ? 0 : atomic_load(&m->live);
}

void
privsep_monitor_stop(struct privsep_monitor *m, int force)
{
	size_t i;

	if (m == NULL)
		return;
	if (force)
		for (i = 0; i < m->n; i++)
			shutdown(m->ch[i].fd, SHUT_RDWR);
	for (i = 0; i < m->n; i++) {
		if (m->ch[i].started)
			pthread_join(m->ch[i].th, NULL);
		close(m->ch[i].fd);
	}
	free(m->ch);
	free(m);
}
