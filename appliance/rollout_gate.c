// SPDX-License-Identifier: Apache-2.0
/*
 * rollout_gate.c: the health gates the appliance measures itself between
 * phases (etcd /health and member list over mTLS, the VIP on exactly one
 * master and haproxy answering, apiserver /readyz through the VIP, Nodes
 * Ready), the appliance's own short-lived client certificates for them, and
 * the appliance actions of the masters phase. A gate that fails names the
 * node and the check; nothing after it starts.
 */
#include "rollout_int.h"
#include "identity.h"
#include "rand.h"
#include "signing.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <mbedtls/base64.h>

#define ID_HOURS 4		/* the appliance's client certificates */
#define HTTP_TIMEOUT_MS 5000

/* ---- the appliance's client identities ---- */

struct rec_arg {
	const struct signing_result *res;
	const char *purpose, *actor;
};

static int
rec_txn(struct store_txn *t, void *arg)
{
	struct rec_arg *a = arg;

	return signing_result_record(t, a->res, NULL, a->purpose, a->actor);
}

static int
issue_id(struct rollout *ro, enum ident which, const char *purpose,
    struct rhttp_id **slot, struct slw_diag *d)
{
	struct identity id;
	struct key *k = NULL;
	struct signing_request req;
	struct signing_result res;
	struct buf cert = { 0 }, kp = { 0 }, ca = { 0 };
	struct rec_arg ra;
	int r;

	memset(&res, 0, sizeof(res));
	if (*slot != NULL)
		return 0;
	if (ro->sg == NULL && (r = signing_local_new(ro->s, &ro->sg, d)) != 0)
		return r;
	if ((r = identity_get(ro->inv, which, NULL, 0, &id, d)) != 0)
		return r;
	id.t.hours = ID_HOURS;
	if ((r = key_generate(KEY_EC_P256, &k)) != 0)
		goto out;
	memset(&req, 0, sizeof(req));
	req.ca_role = id.ca_role;
	req.t = &id.t;
	req.subject = k;
	req.now = slw_now();
	if ((r = signing_sign(ro->sg, &req, &res, d)) != 0)
		goto out;
	ra.res = &res;
	ra.purpose = purpose;
	ra.actor = ro->o->actor;
	if ((r = store_write(ro->s, rec_txn, &ra, d)) != 0)
		goto out;
	if ((r = cert_pem_append(&cert, res.der.data, res.der.len)) != 0 ||
	    (r = key_write_pem(k, &kp)) != 0 ||
	    (r = signing_trust_pem(ro->sg, id.ca_role, &ca)) != 0)
		goto out;
	r = rhttp_id_new(&ca, &cert, &kp, slot);
 out:
	if (r != 0)
		slw_diag(d, r, "cannot issue the appliance's %s certificate",
		    purpose);
	signing_result_free(&res);
	key_free(k);
	buf_free(&kp);
	buf_free(&cert);
	buf_free(&ca);
	return r;
}

int
rollout_etcd_id(struct rollout *ro, struct rhttp_id **out, struct slw_diag *d)
{
	int r;

	pthread_mutex_lock(&ro->mu);
	r = issue_id(ro, ID_ETCD_CLIENT, "rollout etcd client", &ro->etcd_id, d);
	*out = ro->etcd_id;
	pthread_mutex_unlock(&ro->mu);
	return r;
}

int
rollout_admin_id(struct rollout *ro, struct rhttp_id **out, struct slw_diag *d)
{
	int r;

	pthread_mutex_lock(&ro->mu);
	r = issue_id(ro, ID_ADMIN, "rollout admin client", &ro->admin_id, d);
	*out = ro->admin_id;
	pthread_mutex_unlock(&ro->mu);
	return r;
}

/* ---- helpers ---- */

static void
url_of(char *out, size_t len, const char *scheme, const char *ip,
    unsigned int port, const char *path)
{
	rollout_fmt(out, len, strchr(ip, ':') ? "%s://[%s]:%u%s" : "%s://%s:%u%s",
	    scheme, ip, port, path);
}

/* First line of a response body, printable, for a reason. */
static void
first_line(const struct buf *b, char *out, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < b->len && n + 1 < len && b->data[i] != '\n'; i++)
		out[n++] = b->data[i] >= 0x20 && b->data[i] < 0x7f ?
		    (char)b->data[i] : '?';
	out[n] = '\0';
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- etcd ---- */

static int
etcd_check(struct rollout *ro, struct rhttp_id *id, struct jgate *g)
{
	const struct inventory *inv = ro->inv;
	struct buf body = { 0 };
	struct slw_diag d;
	char url[160], line[160];
	const struct inv_node *first = NULL;
	cJSON *o = NULL, *it, *members;
	size_t i, healthy = 0, want = 0, seen = 0;
	long st;
	int bad = 0;

	g->nodes[0] = g->reason[0] = '\0';
	for (i = 0; i < inv->n_nodes; i++) {
		const struct inv_node *n = &inv->nodes[i];
		const cJSON *h;

		if (!(n->roles & ROLE_ETCD))
			continue;
		want++;
		url_of(url, sizeof(url), "https", n->ip, n->etcd_client_port,
		    "/health");
		slw_diag_clear(&d);
		if (rhttp_do(id, "GET", url, NULL, HTTP_TIMEOUT_MS, &st, &body,
		    &d) != 0) {
			rollout_appendf(g->nodes, sizeof(g->nodes), "%s: %s: %s\n",
			    n->name, url, d.msg);
			continue;
		}
		o = cJSON_ParseWithLength((const char *)body.data, body.len);
		h = cJSON_GetObjectItemCaseSensitive(o, "health");
		if (st != 200 || !cJSON_IsString(h) ||
		    strcmp(h->valuestring, "true") != 0) {
			first_line(&body, line, sizeof(line));
			rollout_appendf(g->nodes, sizeof(g->nodes), "%s: %s: HTTP %ld: "
			    "%s\n", n->name, url, st, line);
		} else {
			healthy++;
			if (first == NULL)
				first = n;
		}
		cJSON_Delete(o);
		o = NULL;
	}
	if (healthy < want) {
		rollout_fmt(g->reason, sizeof(g->reason), "%zu of %zu etcd members "
		    "healthy", healthy, want);
		bad = 1;
		goto out;
	}
	url_of(url, sizeof(url), "https", first->ip, first->etcd_client_port,
	    "/v3/cluster/member/list");
	slw_diag_clear(&d);
	if (rhttp_do(id, "POST", url, "{}", HTTP_TIMEOUT_MS, &st, &body, &d) !=
	    0 || st != 200 ||
	    (o = cJSON_ParseWithLength((const char *)body.data, body.len)) ==
	    NULL) {
		rollout_fmt(g->reason, sizeof(g->reason), "%s: %s", url,
		    d.msg[0] ? d.msg : "no member list");
		bad = 1;
		goto out;
	}
	members = cJSON_GetObjectItemCaseSensitive(o, "members");
	g->reason[0] = '\0';
	cJSON_ArrayForEach(it, members) {
		const char *name = "";
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(it, "name");
		const cJSON *pu = cJSON_GetObjectItemCaseSensitive(it, "peerURLs"), *u;
		const struct inv_node *n;
		char want_url[160];
		int ok = 0;

		seen++;
		if (cJSON_IsString(nm))
			name = nm->valuestring;
		if ((n = inventory_node(inv, name)) == NULL ||
		    !(n->roles & ROLE_ETCD)) {
			rollout_appendf(g->reason, sizeof(g->reason), "member '%s' is "
			    "not in the inventory; ", name[0] ? name : "(unstarted)");
			bad = 1;
			continue;
		}
		url_of(want_url, sizeof(want_url), "https", n->ip,
		    n->etcd_peer_port, "");
		cJSON_ArrayForEach(u, pu)
			if (cJSON_IsString(u) && strcmp(u->valuestring, want_url) == 0)
				ok = 1;
		if (!ok) {
			rollout_appendf(g->reason, sizeof(g->reason), "member %s does not "
			    "have peer URL %s; ", name, want_url);
			bad = 1;
		}
	}
	if (seen != want) {
		rollout_appendf(g->reason, sizeof(g->reason), "%zu members, the "
		    "inventory has %zu", seen, want);
		bad = 1;
	}
	if (bad && g->reason[0] != '\0') {
		char tmp[ROLLOUT_REASON_MAX];

		rollout_fmt(tmp, sizeof(tmp), "member list differs from the "
		    "inventory: %s", g->reason);
		rollout_fmt(g->reason, sizeof(g->reason), "%s", tmp);
	} else if (!bad)
		rollout_fmt(g->reason, sizeof(g->reason), "%zu of %zu members "
		    "healthy over mTLS; member list equals the inventory", healthy,
		    want);
 out:
	cJSON_Delete(o);
	buf_free(&body);
	return bad ? 1 : 0;
}

/* ---- HA ---- */

/* A TCP connection to ip:port from the appliance (haproxy's frontend). */
static int
tcp_probe(const char *ip, unsigned int port, int timeout_ms, char *why,
    size_t wlen)
{
	struct addrinfo hints, *ai = NULL;
	struct pollfd p;
	char ps[8];
	socklen_t sl = sizeof(int);
	int fd, r, err = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(ps, sizeof(ps), "%u", port);
	if (getaddrinfo(ip, ps, &hints, &ai) != 0) {
		rollout_fmt(why, wlen, "bad address");
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	r = fd < 0 ? -1 : connect(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (r != 0 && fd >= 0 && errno == EINPROGRESS) {
		p.fd = fd;
		p.events = POLLOUT;
		r = poll(&p, 1, timeout_ms) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 &&
		    err == 0 ? 0 : -1;
		if (r != 0 && err == 0)
			err = ETIMEDOUT;
	} else if (r != 0)
		err = errno;
	if (fd >= 0)
		close(fd);
	if (r != 0)
		rollout_fmt(why, wlen, "%s", strerror(err));
	return r;
}

static int
ha_check(struct rollout *ro, struct ssh_conn **conns, struct jgate *g)
{
	const struct inventory *inv = ro->inv;
	struct buf out = { 0 };
	struct slw_diag d;
	char script[512], holders[256] = "", why[128];
	const char *o;
	size_t i, nh = 0;
	int bad = 0;

	g->nodes[0] = g->reason[0] = '\0';
	/* The VIP on this master? haproxy's stats page answering on it? */
	rollout_fmt(script, sizeof(script), "if ip -o addr show | grep -qF ' %s/'; "
	    "then v=yes; else v=no; fi\n"
	    "c=$(curl -s -o /dev/null -w '%%{http_code}' --max-time 3 "
	    "http://127.0.0.1:%d/status || true)\n"
	    "echo \"vip=$v stats=$c\"\n", inv->vip, ROLLOUT_HAPROXY_STATS_PORT);
	for (i = 0; i < inv->n_nodes; i++) {
		const struct inv_node *n = &inv->nodes[i];

		if (!(n->roles & ROLE_MASTER))
			continue;
		slw_diag_clear(&d);
		if (conns[i] == NULL &&
		    rollout_connect(ro, n, &conns[i], &d) != 0) {
			rollout_appendf(g->nodes, sizeof(g->nodes), "%s: %s\n",
			    n->name, d.msg);
			bad = 1;
			continue;
		}
		if (rollout_remote(ro, conns[i], PH_HA, n, "gate:vip", script,
		    NULL, 15, &out, &d) != 0) {
			rollout_appendf(g->nodes, sizeof(g->nodes), "%s: %s\n",
			    n->name, d.msg);
			ssh_close(conns[i]);
			conns[i] = NULL;
			bad = 1;
			continue;
		}
		o = (const char *)out.data;
		if (strstr(o, "vip=yes") != NULL) {
			nh++;
			rollout_appendf(holders, sizeof(holders), "%s%s",
			    nh > 1 ? "," : "", n->name);
		}
		if (strstr(o, "stats=") == NULL || strstr(o, "stats=000") != NULL ||
		    strstr(o, "stats=\n") != NULL) {
			rollout_appendf(g->nodes, sizeof(g->nodes), "%s: haproxy does "
			    "not answer on its stats port 127.0.0.1:%d\n", n->name,
			    ROLLOUT_HAPROXY_STATS_PORT);
			bad = 1;
		}
	}
	if (nh != 1) {
		if (nh == 0)
			rollout_fmt(g->reason, sizeof(g->reason), "no master holds "
			    "the VIP %s", inv->vip);
		else
			rollout_fmt(g->reason, sizeof(g->reason), "the VIP %s is held "
			    "by %zu masters at once (%s)", inv->vip, nh, holders);
		bad = 1;
	} else if (bad)
		rollout_fmt(g->reason, sizeof(g->reason), "VIP %s on %s, but "
		    "haproxy does not answer on every master", inv->vip, holders);
	else if (tcp_probe(inv->vip, inv->vip_port, HTTP_TIMEOUT_MS, why,
	    sizeof(why)) != 0) {
		rollout_fmt(g->reason, sizeof(g->reason), "VIP %s on %s, but "
		    "haproxy does not answer on %s:%u: %s", inv->vip, holders,
		    inv->vip, inv->vip_port, why);
		bad = 1;
	} else
		rollout_fmt(g->reason, sizeof(g->reason), "VIP %s on %s; haproxy "
		    "answers on every master (stats :%d) and on %s:%u", inv->vip,
		    holders, ROLLOUT_HAPROXY_STATS_PORT, inv->vip, inv->vip_port);
	buf_free(&out);
	return bad;
}

/* ---- masters, workers ---- */

static int
readyz_check(struct rollout *ro, struct rhttp_id *id, struct jgate *g)
{
	struct buf body = { 0 };
	struct slw_diag d;
	char url[160], line[200];
	long st;
	int bad = 0;

	g->nodes[0] = '\0';
	url_of(url, sizeof(url), "https", ro->inv->vip, ro->inv->vip_port,
	    "/readyz");
	slw_diag_clear(&d);
	if (rhttp_do(id, "GET", url, NULL, HTTP_TIMEOUT_MS, &st, &body, &d) !=
	    0) {
		rollout_fmt(g->reason, sizeof(g->reason), "%s: %s", url, d.msg);
		bad = 1;
	} else if (st != 200) {
		first_line(&body, line, sizeof(line));
		rollout_fmt(g->reason, sizeof(g->reason), "%s: HTTP %ld: %s", url, st,
		    line);
		bad = 1;
	} else
		rollout_fmt(g->reason, sizeof(g->reason), "%s: ok", url);
	buf_free(&body);
	return bad;
}

static int
nodes_check(struct rollout *ro, struct rhttp_id *id, struct jgate *g)
{
	const struct inventory *inv = ro->inv;
	struct buf body = { 0 };
	struct slw_diag d;
	char url[160];
	cJSON *o = NULL, *items, *it;
	size_t i, ready = 0, want = 0;
	long st;
	int bad = 0;

	g->nodes[0] = '\0';
	url_of(url, sizeof(url), "https", inv->vip, inv->vip_port,
	    "/api/v1/nodes");
	slw_diag_clear(&d);
	if (rhttp_do(id, "GET", url, NULL, HTTP_TIMEOUT_MS, &st, &body, &d) != 0
	    || st != 200 ||
	    (o = cJSON_ParseWithLength((const char *)body.data, body.len)) ==
	    NULL) {
		rollout_fmt(g->reason, sizeof(g->reason), "%s: %s", url,
		    d.msg[0] ? d.msg : "no node list");
		buf_free(&body);
		return 1;
	}
	items = cJSON_GetObjectItemCaseSensitive(o, "items");
	for (i = 0; i < inv->n_nodes; i++) {
		const struct inv_node *n = &inv->nodes[i];
		const char *why = "not registered";
		char rs[96] = "";

		if (!(n->roles & ROLE_WORKER))
			continue;
		want++;
		cJSON_ArrayForEach(it, items) {
			const cJSON *md = cJSON_GetObjectItemCaseSensitive(it,
			    "metadata");
			const cJSON *nm = cJSON_GetObjectItemCaseSensitive(md, "name");
			const cJSON *conds, *c;

			if (!cJSON_IsString(nm) || strcmp(nm->valuestring, n->name) != 0)
				continue;
			why = "no Ready condition";
			conds = cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(it, "status"),
			    "conditions");
			cJSON_ArrayForEach(c, conds) {
				const cJSON *ty = cJSON_GetObjectItemCaseSensitive(c,
				    "type");
				const cJSON *s = cJSON_GetObjectItemCaseSensitive(c,
				    "status");
				const cJSON *re = cJSON_GetObjectItemCaseSensitive(c,
				    "reason");

				if (!cJSON_IsString(ty) ||
				    strcmp(ty->valuestring, "Ready") != 0)
					continue;
				if (cJSON_IsString(s) &&
				    strcmp(s->valuestring, "True") == 0)
					why = NULL;
				else {
					rollout_fmt(rs, sizeof(rs), "Ready=%s (%s)",
					    cJSON_IsString(s) ? s->valuestring : "?",
					    cJSON_IsString(re) ? re->valuestring : "");
					why = rs;
				}
			}
		}
		if (why == NULL)
			ready++;
		else {
			rollout_appendf(g->nodes, sizeof(g->nodes), "%s: Node %s\n", n->name,
			    why);
			bad = 1;
		}
	}
	rollout_fmt(g->reason, sizeof(g->reason), "%zu of %zu worker Nodes Ready",
	    ready, want);
	cJSON_Delete(o);
	buf_free(&body);
	return bad;
}

/* ---- the gate loop ---- */

static int
gate_timeout_s(struct rollout *ro, enum rollout_phase p)
{
	static const int dflt[PH__COUNT] = { 0, 90, 30, 120, 180 };

	return ro->o->gate_timeout_s > 0 ? ro->o->gate_timeout_s : dflt[p];
}

int
rollout_gate(struct rollout *ro, enum rollout_phase p, struct jgate *g,
    struct slw_diag *d)
{
	struct rhttp_id *id = NULL;
	struct ssh_conn **conns = NULL;
	int64_t t0 = rollout_now_ms(), deadline;
	size_t i;
	int bad = 1, r = 0, polls = 0;

	memset(g, 0, sizeof(*g));
	deadline = t0 + (int64_t)gate_timeout_s(ro, p) * 1000;
	if (p == PH_PREPARE) {
		rollout_fmt(g->reason, sizeof(g->reason), "every prepare step done");
		bad = 0;
		goto done;
	}
	if (p == PH_ETCD)
		r = rollout_etcd_id(ro, &id, d);
	else if (p == PH_MASTERS || p == PH_WORKERS)
		r = rollout_admin_id(ro, &id, d);
	else if ((conns = calloc(ro->inv->n_nodes, sizeof(*conns))) == NULL)
		r = SLW_ERR_NOMEM;
	if (r != 0) {
		rollout_fmt(g->reason, sizeof(g->reason), "%s", slw_diag_str(d, r));
		goto done;
	}
	for (;;) {
		polls++;
		switch (p) {
		case PH_ETCD:
			bad = etcd_check(ro, id, g);
			break;
		case PH_HA:
			bad = ha_check(ro, conns, g);
			break;
		case PH_MASTERS:
			bad = readyz_check(ro, id, g);
			break;
		case PH_WORKERS:
			bad = nodes_check(ro, id, g);
			break;
		default:
			bad = 0;
		}
		if (!bad || rollout_now_ms() + 1000 > deadline)
			break;
		if (polls == 1 || polls % 10 == 0)
			rollout_progress(ro, p, "", "gate", "waiting: %s%s%.*s",
			    g->reason, g->nodes[0] ? "; " : "",
			    (int)strcspn(g->nodes, "\n"), g->nodes);
		sleep_ms(1000);
	}
 done:
	if (conns != NULL) {
		for (i = 0; i < ro->inv->n_nodes; i++)
			ssh_close(conns[i]);
		free(conns);
	}
	g->state = bad ? JS_FAILED : JS_DONE;
	g->run = ro->run.id;
	g->checked = slw_now();
	g->elapsed = (double)(rollout_now_ms() - t0) / 1000.0;
	if (bad) {
		char first[ROLLOUT_REASON_MAX];

		rollout_fmt(first, sizeof(first), "%.*s",
		    (int)strcspn(g->nodes, "\n"), g->nodes);
		return slw_diag(d, SLW_ERR_DENIED, "%s%s%s", g->reason,
		    first[0] ? "; " : "", first);
	}
	return 0;
}

/* ---- appliance actions of the masters phase ---- */

static int
b64(const char *in, char *out, size_t len)
{
	size_t olen = 0;

	return mbedtls_base64_encode((unsigned char *)out, len, &olen,
	    (const unsigned char *)in, strlen(in)) == 0 ? 0 : SLW_ERR_TOOBIG;
}

int
rollout_action_flannel_config(struct rollout *ro, struct slw_diag *d)
{
	const struct inventory *inv = ro->inv;
	struct rhttp_id *id = NULL;
	struct buf body = { 0 };
	char key[200], val[300], kb[300], vb[420], req[800], url[160];
	size_t i;
	long st;
	int r;

	if ((r = rollout_etcd_id(ro, &id, d)) != 0)
		return r;
	rollout_fmt(key, sizeof(key), "%s/config", inv->flannel_prefix);
	rollout_fmt(val, sizeof(val), "{\"Network\":\"%s\",\"SubnetLen\":24,"
	    "\"Backend\":{\"Type\":\"vxlan\"}}", inv->cluster_cidr.text);
	if ((r = b64(key, kb, sizeof(kb))) != 0 ||
	    (r = b64(val, vb, sizeof(vb))) != 0)
		return r;
	rollout_fmt(req, sizeof(req), "{\"key\":\"%s\",\"value\":\"%s\"}", kb, vb);
	r = slw_diag(d, SLW_ERR_IO, "no etcd member took flannel's config");
	for (i = 0; i < inv->n_nodes; i++) {
		const struct inv_node *n = &inv->nodes[i];

		if (!(n->roles & ROLE_ETCD))
			continue;
		url_of(url, sizeof(url), "https", n->ip, n->etcd_client_port,
		    "/v3/kv/put");
		slw_diag_clear(d);
		if (rhttp_do(id, "POST", url, req, HTTP_TIMEOUT_MS, &st, &body,
		    d) == 0 && st == 200) {
			slw_diag_set(d, 0, "%s = %s (via %s)", key, val, n->name);
			r = 0;
			break;
		}
		if (d != NULL && d->msg[0] == '\0')
			slw_diag_set(d, SLW_ERR_IO, "%s: HTTP %ld", url, st);
		r = SLW_ERR_IO;
	}
	buf_free(&body);
	return r;
}
