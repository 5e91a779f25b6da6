// SPDX-License-Identifier: Apache-2.0
/*
 * etcd_ops.c: leadership moves before a member restart (etcd_ops.h): read
 * each member's status over the v3 JSON gateway (mTLS, the appliance's
 * etcd client certificate), and if the member about to stop leads, ask it
 * to hand leadership to a healthy peer (MoveLeader) and wait until the
 * others follow the new leader. Parses etcd's answers as untrusted input;
 * never sends anything but these two requests.
 */
#include "etcd_ops.h"
#include "https.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#define STATUS_MAX (64 * 1024)
#define MOVE_WAIT_MS 15000

/* uint64 fields: the gateway writes them as decimal strings */
static uint64_t
u64_of(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	char *e = NULL;
	unsigned long long x;

	if (cJSON_IsString(v) && v->valuestring[0] >= '0' &&
	    v->valuestring[0] <= '9') {
		errno = 0;
		x = strtoull(v->valuestring, &e, 10);
		return errno == 0 && e != NULL && *e == '\0' ? (uint64_t)x : 0;
	}
	if (cJSON_IsNumber(v) && v->valuedouble >= 0)
		return (uint64_t)v->valuedouble;
	return 0;
}

int
etcd_ops_status_parse(const uint8_t *buf, size_t len, struct etcd_status *st)
{
	cJSON *o;
	const cJSON *h;

	memset(st, 0, sizeof(*st));
	if (buf == NULL || len == 0 || len > STATUS_MAX)
		return SLW_ERR_PARSE;
	if ((o = cJSON_ParseWithLength((const char *)buf, len)) == NULL)
		return SLW_ERR_PARSE;
	h = cJSON_GetObjectItemCaseSensitive(o, "header");
	st->member_id = u64_of(h, "member_id");
	st->raft_term = u64_of(h, "raft_term");
	st->leader = u64_of(o, "leader");
	cJSON_Delete(o);
	return st->member_id != 0 ? 0 : SLW_ERR_PARSE;
}

int
etcd_ops_status(struct https *id, const char *url,
    struct etcd_status *st, struct slw_diag *d)
{
	struct buf body = { 0 };
	char u[200];
	long code = 0;
	int r;

	fleet_fmt(u, sizeof(u), "%s/v3/maintenance/status", url);
	if ((r = fleet_https(id, "POST", u, "{}", &code, &body, d)) != 0)
		goto out;
	if (code != 200) {
		r = slw_diag(d, SLW_ERR_IO, "%s: HTTP %ld", u, code);
		goto out;
	}
	if ((r = etcd_ops_status_parse(body.data, body.len, st)) != 0)
		r = slw_diag(d, r, "%s: not an etcd status", u);
 out:
	buf_free(&body);
	return r;
}

static void
member_url(const struct inv_node *n, char *out, size_t len)
{
	fleet_url(out, len, "https", n->ip, n->etcd_client_port, "");
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int
etcd_ops_prepare_stop(struct fleet *f, struct https *id,
    const struct inv_node *n, struct slw_diag *d)
{
	const struct inventory *inv = f->inv;
	const struct inv_node *to = NULL;
	struct etcd_status me, other;
	struct https_request rq;
	struct buf body = { 0 };
	char url[200], u[240], req[96];
	int64_t deadline;
	long code = 0;
	size_t i;
	int r;

	member_url(n, url, sizeof(url));
	if ((r = etcd_ops_status(id, url, &me, d)) != 0)
		return r;
	if (me.leader != me.member_id) {
		slw_diag_set(d, 0, "%s does not lead", n->name);
		return 0;
	}
	/* a healthy peer that follows this leader */
	for (i = 0; i < inv->n_nodes && to == NULL; i++) {
		const struct inv_node *p = &inv->nodes[i];
		struct slw_diag pd;

		if (!(p->roles & ROLE_ETCD) || p == n)
			continue;
		member_url(p, u, sizeof(u));
		slw_diag_clear(&pd);
		if (etcd_ops_status(id, u, &other, &pd) == 0 &&
		    other.leader == me.member_id)
			to = p;
	}
	if (to == NULL) {
		slw_diag_set(d, 0, "%s leads and has no healthy peer to hand "
		    "leadership to", n->name);
		return 0;
	}
	fleet_fmt(req, sizeof(req), "{\"targetID\":\"%llu\"}",
	    (unsigned long long)other.member_id);
	fleet_fmt(u, sizeof(u), "%s/v3/maintenance/transfer-leadership", url);
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.url = u;
	rq.body = req;
	rq.body_len = strlen(req);
	rq.timeout_ms = MOVE_WAIT_MS;
	if ((r = https_do(id, &rq, &code, &body, d)) != 0)
		goto out;
	if (code != 200) {
		r = slw_diag(d, SLW_ERR_IO, "%s: HTTP %ld: %.*s", u, code,
		    (int)(body.len < 160 ? body.len : 160),
		    body.data ? (const char *)body.data : "");
		goto out;
	}
	/* the new leader's followers agree before the old one goes */
	deadline = fleet_now_ms() + MOVE_WAIT_MS;
	for (;;) {
		size_t agree = 0, members = 0;

		for (i = 0; i < inv->n_nodes; i++) {
			const struct inv_node *p = &inv->nodes[i];
			struct etcd_status s;
			struct slw_diag pd;

			if (!(p->roles & ROLE_ETCD))
				continue;
			members++;
			member_url(p, u, sizeof(u));
			slw_diag_clear(&pd);
			if (etcd_ops_status(id, u, &s, &pd) == 0 &&
			    s.leader == other.member_id)
				agree++;
		}
		if (agree == members)
			break;
		if (fleet_now_ms() > deadline) {
			r = slw_diag(d, SLW_ERR_EXPIRED, "leadership did not move "
			    "from %s to %s within %d s (%zu of %zu members follow "
			    "it)", n->name, to->name, MOVE_WAIT_MS / 1000, agree,
			    members);
			goto out;
		}
		sleep_ms(100);
	}
	slw_diag_set(d, 0, "leadership moved from %s to %s", n->name,
	    to->name);
	r = 0;
 out:
	buf_free(&body);
	return r;
}
