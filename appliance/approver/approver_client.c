// SPDX-License-Identifier: Apache-2.0
/*
 * approver_client.c: the slipway-approver process's side of its channel
 * to the monitor (approver.h, privsep_msg.h): one request and its answer
 * at a time, for a token id, an audit record, a signature, its own API
 * client certificate (for a key made here, sent as a CSR). Must never
 * trust an answer of the wrong type, keep a token secret after the call,
 * or let the API client key leave this process.
 */
#include "approver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

#include "key.h"
#include "kube_session.h"

#define SESSION_CN "slipway-approver"	/* ignored by the monitor */

struct approver_client {
	int fd;
	int lost;
};

int
approver_client_new(int fd, struct approver_client **out)
{
	struct approver_client *ac;

	*out = NULL;
	if ((ac = calloc(1, sizeof(*ac))) == NULL) {
		close(fd);
		return SLW_ERR_NOMEM;
	}
	ac->fd = fd;
	*out = ac;
	return 0;
}

void
approver_client_free(struct approver_client *ac)
{
	if (ac == NULL)
		return;
	if (ac->fd >= 0)
		close(ac->fd);
	free(ac);
}

int
approver_client_lost(const struct approver_client *ac)
{
	return ac->lost;
}

/* Control characters would make the monitor refuse the whole message. */
static void
printable(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* q out, an answer of type want into a; a broken exchange loses the
 * channel for good (the stream may be mid-frame). */
static int
call(struct approver_client *ac, const struct privsep_msg *q,
    enum ps_type want, struct privsep_msg *a, struct slw_diag *d)
{
	int r;

	privsep_msg_init(a, 0);
	if (ac->lost)
		return slw_diag(d, SLW_ERR_IO, "the channel to the monitor is "
		    "gone");
	if ((r = privsep_io_send(ac->fd, q)) != 0) {
		if (r != SLW_ERR_IO)	/* not serializable: nothing sent */
			return slw_diag(d, r, "a %s request over its caps",
			    privsep_msg_type_name(q->type));
		ac->lost = 1;
		return slw_diag(d, r, "the monitor is gone");
	}
	if ((r = privsep_io_recv(ac->fd, PS_APR_ANS_FRAME_MAX, a, d)) != 0 ||
	    a->type != want) {
		privsep_msg_free(a);
		ac->lost = 1;
		return slw_diag(d, r != 0 ? r : SLW_ERR_PARSE, "no answer from "
		    "the monitor to a %s request",
		    privsep_msg_type_name(q->type));
	}
	return 0;
}

static int
token(struct approver_client *ac, const char *node, int secret,
    struct node_token *out, struct slw_diag *d)
{
	struct privsep_msg q, a;
	int r;

	memset(out, 0, sizeof(*out));
	privsep_msg_init(&q, PS_APR_TOKEN);
	if (snprintf(q.u.atok.node, sizeof(q.u.atok.node), "%s", node) >=
	    (int)sizeof(q.u.atok.node))
		return SLW_ERR_NOTFOUND;	/* no node has such a name */
	q.u.atok.secret = secret ? 1 : 0;
	if ((r = call(ac, &q, PS_APR_TOKEN_ANS, &a, d)) != 0)
		return r;
	if ((r = a.u.atans.rc) == 0) {
		memcpy(out->id, a.u.atans.id, sizeof(out->id));
		memcpy(out->secret, a.u.atans.secret, sizeof(out->secret));
		out->expires = (time_t)a.u.atans.expires;
		if (secret && out->secret[0] == '\0')
			r = SLW_ERR_PARSE;
	} else if (r != SLW_ERR_NOTFOUND)
		r = slw_diag(d, r, "the monitor has no token for node %s: %s",
		    node, slw_strerror(r));
	privsep_msg_free(&a);
	if (r != 0)
		nodetoken_wipe(out);
	return r;
}

int
approver_client_token_id(void *arg, const char *node, char id[7])
{
	struct node_token t;
	int r;

	if ((r = token(arg, node, 0, &t, NULL)) == 0)
		memcpy(id, t.id, 7);
	nodetoken_wipe(&t);
	return r;
}

int
approver_client_token(struct approver_client *ac, const char *node,
    struct node_token *out, struct slw_diag *d)
{
	return token(ac, node, 1, out, d);
}

int
approver_client_audit(struct approver_client *ac, unsigned int action,
    const char *object, const char *detail, struct slw_diag *d)
{
	struct privsep_msg q, a;
	int r;

	privsep_msg_init(&q, PS_APR_AUDIT);
	q.u.aaud.action = action;
	snprintf(q.u.aaud.object, sizeof(q.u.aaud.object), "%s", object);
	snprintf(q.u.aaud.detail, sizeof(q.u.aaud.detail), "%s", detail);
	printable(q.u.aaud.object);
	printable(q.u.aaud.detail);
	if ((r = call(ac, &q, PS_BYTES_ANS, &a, d)) != 0)
		return r;
	if ((r = a.u.bytes.rc) != 0)
		r = slw_diag(d, r, "the monitor could not record %s: %s",
		    privsep_msg_apr_action_name(action), slw_strerror(r));
	privsep_msg_free(&a);
	return r;
}

void
approver_signed_free(struct approver_signed *s)
{
	if (s == NULL)
		return;
	buf_free(&s->chain);
	memset(s, 0, sizeof(*s));
}

int
approver_client_sign(struct approver_client *ac,
    const struct approver_csr *c, struct approver_signed *out,
    struct slw_diag *d)
{
	struct privsep_msg q, a;
	struct ps_apr_sign *sq = &q.u.asign;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	privsep_msg_init(&q, PS_APR_SIGN);
	snprintf(sq->name, sizeof(sq->name), "%s", c->name);
	snprintf(sq->uid, sizeof(sq->uid), "%s", c->uid);
	snprintf(sq->signer, sizeof(sq->signer), "%s", c->signer);
	sq->username = c->rq.username;
	sq->requester_uid = c->requester_uid;
	for (i = 0; i < c->rq.n_groups && i < PS_APR_GROUPS_MAX; i++)
		sq->groups[i] = c->rq.groups[i];
	sq->n_groups = i;
	for (i = 0; i < c->rq.n_usages && i < PS_APR_USAGES_MAX; i++)
		sq->usages[i] = c->rq.usages[i];
	sq->n_usages = i;
	sq->expiration_seconds = c->rq.expiration_seconds;
	/* borrowed: never freed through q */
	sq->request.data = (uint8_t *)c->rq.request;
	sq->request.len = c->rq.request_len;
	r = call(ac, &q, PS_APR_SIGN_ANS, &a, d);
	memset(&q, 0, sizeof(q));
	if (r != 0)
		return r;
	if ((r = a.u.asans.rc) != 0)
		r = slw_diag(d, r, "%s", a.u.asans.text[0] ? a.u.asans.text :
		    slw_strerror(r));
	else {
		snprintf(out->node, sizeof(out->node), "%s", a.u.asans.node);
		memcpy(out->serial, a.u.asans.serial, sizeof(out->serial));
		out->again = a.u.asans.again != 0;
		buf_move(&out->chain, &a.u.asans.chain);
	}
	privsep_msg_free(&a);
	return r;
}

int
approver_client_session(struct approver_client *ac, const char *url,
    struct kube **out, time_t *not_after, struct slw_diag *d)
{
	struct privsep_msg q, a;
	struct key *key = NULL;
	struct buf kpem = { 0 };
	struct dn subject;
	int r;

	*out = NULL;
	privsep_msg_init(&q, PS_APR_CERT);
	privsep_msg_init(&a, 0);
	memset(&subject, 0, sizeof(subject));
	snprintf(subject.cn, sizeof(subject.cn), "%s", SESSION_CN);
	/* the key never leaves this process; the monitor sees its CSR */
	if ((r = key_generate(KEY_EC_P256, &key)) != 0) {
		r = slw_diag(d, r, "cannot generate the API client key");
		goto out;
	}
	if ((r = csr_write_der(key, &subject, &q.u.acert.csr)) != 0) {
		r = slw_diag(d, r, "cannot write the API client key's CSR");
		goto out;
	}
	if ((r = call(ac, &q, PS_APR_CERT_ANS, &a, d)) != 0)
		goto out;
	if ((r = a.u.acans.rc) != 0) {
		r = slw_diag(d, r, "no API client certificate from the "
		    "monitor: %s", a.u.acans.text[0] ? a.u.acans.text :
		    slw_strerror(r));
		goto out;
	}
	if ((r = key_write_pem(key, &kpem)) != 0)
		goto out;
	if ((r = kube_session_connect(url, &a.u.acans.trust, &a.u.acans.cert,
	    &kpem, out, d)) != 0)
		goto out;
	if (not_after != NULL)
		*not_after = (time_t)a.u.acans.not_after;
 out:
	buf_free(&kpem);
	key_free(key);
	privsep_msg_free(&q);
	privsep_msg_free(&a);
	return r;
}

int
approver_client_done(struct approver_client *ac, int rc, const char *text,
    const struct approver_stats *st)
{
	struct privsep_msg q;
	int r;

	if (ac->lost)
		return SLW_ERR_IO;
	privsep_msg_init(&q, PS_APR_DONE);
	q.u.adone.rc = rc <= 0 && rc >= SLW_ERR_LAST ? rc : SLW_ERR_INTERNAL;
	snprintf(q.u.adone.text, sizeof(q.u.adone.text), "%s",
	    text != NULL ? text : "");
	printable(q.u.adone.text);
	if (st != NULL) {
		q.u.adone.approved = (uint32_t)st->approved;
		q.u.adone.denied = (uint32_t)st->denied;
		q.u.adone.signed_ = (uint32_t)st->signed_;
		q.u.adone.ignored = (uint32_t)st->ignored;
		q.u.adone.errors = (uint32_t)st->errors;
	}
	if ((r = privsep_io_send(ac->fd, &q)) != 0)
		ac->lost = 1;
	return r;
}
