// SPDX-License-Identifier: Apache-2.0
/*
 * gate.c: the health checks the fleet engine measures itself (etcd
 * /health and member list over mTLS, the VIP on exactly one master and
 * haproxy answering, apiserver /readyz through the VIP, Nodes Ready), and
 * gate_wait, which polls one until it passes or its time is up. A gate
 * that fails names the node and the check; its caller starts nothing
 * after it.
 */
#include "gate.h"
#include "rand.h"

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


/* ---- helpers ---- */

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

int
gate_etcd(const struct inventory *inv, struct https *id,
    struct journal_gate *g)
{
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
		fleet_url(url, sizeof(url), "https", n->ip, n->etcd_client_port,
		    "/health");
		slw_diag_clear(&d);
		if (fleet_https(id, "GET", url, NULL, &st, &body, &d) != 0) {
			/* d names the method, the URL and the reason */
			fleet_appendf(g->nodes, sizeof(g->nodes), "%s: %s\n",
			    n->name, d.msg);
			continue;
		}
		o = cJSON_ParseWithLength((const char *)body.data, body.len);
		h = cJSON_GetObjectItemCaseSensitive(o, "health");
		if (st != 200 || !cJSON_IsString(h) ||
		    strcmp(h->valuestring, "true") != 0) {
			first_line(&body, line, sizeof(line));
			fleet_appendf(g->nodes, sizeof(g->nodes), "%s: %s: HTTP %ld: "
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
		fleet_fmt(g->reason, sizeof(g->reason), "%zu of %zu etcd members "
		    "healthy", healthy, want);
		bad = 1;
		goto out;
	}
	fleet_url(url, sizeof(url), "https", first->ip, first->etcd_client_port,
	    "/v3/cluster/member/list");
	slw_diag_clear(&d);
	if (fleet_https(id, "POST", url, "{}", &st, &body, &d) != 0 ||
	    st != 200 ||
	    (o = cJSON_ParseWithLength((const char *)body.data, body.len)) ==
	    NULL) {
		if (d.msg[0])
			fleet_fmt(g->reason, sizeof(g->reason), "%s", d.msg);
		else
			fleet_fmt(g->reason, sizeof(g->reason), "%s: HTTP %ld: "
			    "no member list", url, st);
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
			fleet_appendf(g->reason, sizeof(g->reason), "member '%s' is "
			    "not in the inventory; ", name[0] ? name : "(unstarted)");
			bad = 1;
			continue;
		}
		fleet_url(want_url, sizeof(want_url), "https", n->ip,
		    n->etcd_peer_port, "");
		cJSON_ArrayForEach(u, pu)
			if (cJSON_IsString(u) && strcmp(u->valuestring, want_url) == 0)
				ok = 1;
		if (!ok) {
			fleet_appendf(g->reason, sizeof(g->reason), "member %s does not "
			    "have peer URL %s; ", name, want_url);
			bad = 1;
		}
	}
	if (seen != want) {
		fleet_appendf(g->reason, sizeof(g->reason), "%zu members, the "
		    "inventory has %zu", seen, want);
		bad = 1;
	}
	if (bad && g->reason[0] != '\0') {
		char tmp[JOURNAL_REASON_MAX];

		fleet_fmt(tmp, sizeof(tmp), "member list differs from the "
		    "inventory: %s", g->reason);
		fleet_fmt(g->reason, sizeof(g->reason), "%s", tmp);
	} else if (!bad)
		fleet_fmt(g->reason, sizeof(g->reason), "%zu of %zu members "
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
		fleet_fmt(why, wlen, "bad address");
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
		fleet_fmt(why, wlen, "%s", strerror(err));
	return r;
}

int
gate_vip(struct fleet *f, const char *phase, struct ssh_conn **conns,
    struct journal_gate *g)
{
	const struct inventory *inv = f->inv;
	struct buf out = { 0 };
	struct slw_diag d;
	char script[512], holders[256] = "", why[128];
	const char *o;
	size_t i, nh = 0;
	int bad = 0;

	g->nodes[0] = g->reason[0] = '\0';
	/* The VIP on this master? haproxy's stats page answering on it? */
	fleet_fmt(script, sizeof(script), "if ip -o addr show | grep -qF ' %s/'; "
	    "then v=yes; else v=no; fi\n"
	    "c=$(curl -s -o /dev/null -w '%%{http_code}' --max-time 3 "
	    "http://127.0.0.1:%d/status || true)\n"
	    "echo \"vip=$v stats=$c\"\n", inv->vip, GATE_HAPROXY_STATS_PORT);
	for (i = 0; i < inv->n_nodes; i++) {
		const struct inv_node *n = &inv->nodes[i];

		if (!(n->roles & ROLE_MASTER))
			continue;
		slw_diag_clear(&d);
		if (conns[i] == NULL &&
		    fleet_remote_connect(f, n, &conns[i], &d) != 0) {
			fleet_appendf(g->nodes, sizeof(g->nodes), "%s: %s\n",
			    n->name, d.msg);
			bad = 1;
			continue;
		}
		if (fleet_remote_run(f, conns[i], phase, n, "gate:vip", script,
		    NULL, 15, &out, &d) != 0) {
			fleet_appendf(g->nodes, sizeof(g->nodes), "%s: %s\n",
			    n->name, d.msg);
			ssh_close(conns[i]);
			conns[i] = NULL;
			bad = 1;
			continue;
		}
		o = (const char *)out.data;
		if (strstr(o, "vip=yes") != NULL) {
			nh++;
			fleet_appendf(holders, sizeof(holders), "%s%s",
			    nh > 1 ? "," : "", n->name);
		}
		if (strstr(o, "stats=") == NULL || strstr(o, "stats=000") != NULL ||
		    strstr(o, "stats=\n") != NULL) {
			fleet_appendf(g->nodes, sizeof(g->nodes), "%s: haproxy does "
			    "not answer on its stats port 127.0.0.1:%d\n", n->name,
			    GATE_HAPROXY_STATS_PORT);
			bad = 1;
		}
	}
	if (nh != 1) {
		if (nh == 0)
			fleet_fmt(g->reason, sizeof(g->reason), "no master holds "
			    "the VIP %s", inv->vip);
		else
			fleet_fmt(g->reason, sizeof(g->reason), "the VIP %s is held "
			    "by %zu masters at once (%s)", inv->vip, nh, holders);
		bad = 1;
	} else if (bad)
		fleet_fmt(g->reason, sizeof(g->reason), "VIP %s on %s, but "
		    "haproxy does not answer on every master", inv->vip, holders);
	else if (tcp_probe(inv->vip, inv->vip_port, FLEET_HTTP_TIMEOUT_MS, why,
	    sizeof(why)) != 0) {
		fleet_fmt(g->reason, sizeof(g->reason), "VIP %s on %s, but "
		    "haproxy does not answer on %s:%u: %s", inv->vip, holders,
		    inv->vip, inv->vip_port, why);
		bad = 1;
	} else
		fleet_fmt(g->reason, sizeof(g->reason), "VIP %s on %s; haproxy "
		    "answers on every master (stats :%d) and on %s:%u", inv->vip,
		    holders, GATE_HAPROXY_STATS_PORT, inv->vip, inv->vip_port);
	buf_free(&out);
	return bad;
}

/* ---- masters, workers ---- */

int
gate_readyz(const struct inventory *inv, struct https *id,
    struct journal_gate *g)
{
	struct buf body = { 0 };
	struct slw_diag d;
	char url[160], line[200];
	long st;
	int bad = 0;

	g->nodes[0] = '\0';
	fleet_url(url, sizeof(url), "https", inv->vip, inv->vip_port,
	    "/readyz");
	slw_diag_clear(&d);
	if (fleet_https(id, "GET", url, NULL, &st, &body, &d) != 0) {
		fleet_fmt(g->reason, sizeof(g->reason), "%s", d.msg);
		bad = 1;
	} else if (st != 200) {
		first_line(&body, line, sizeof(line));
		fleet_fmt(g->reason, sizeof(g->reason), "%s: HTTP %ld: %s", url, st,
		    line);
		bad = 1;
	} else
		fleet_fmt(g->reason, sizeof(g->reason), "%s: ok", url);
	buf_free(&body);
	return bad;
}

int
gate_readyz_node(const struct inventory *inv, struct https *id,
    const struct inv_node *n, struct journal_gate *g)
{
	struct buf body = { 0 };
	struct slw_diag d;
	char url[160], line[200];
	long st;
	int bad;

	/* the master's own apiserver, then the VIP: a restarted master is
	 * back only when it answers itself, not when the others do */
	fleet_url(url, sizeof(url), "https", n->ip, inv->apiserver_port,
	    "/readyz");
	slw_diag_clear(&d);
	if (fleet_https(id, "GET", url, NULL, &st, &body, &d) != 0) {
		fleet_fmt(g->reason, sizeof(g->reason), "%s", d.msg);
		bad = 1;
	} else if (st != 200) {
		first_line(&body, line, sizeof(line));
		fleet_fmt(g->reason, sizeof(g->reason), "%s: HTTP %ld: %s", url, st,
		    line);
		bad = 1;
	} else
		bad = 0;
	buf_free(&body);
	if (bad) {
		fleet_fmt(g->nodes, sizeof(g->nodes), "%s: %s", n->name, g->reason);
		return 1;
	}
	if ((bad = gate_readyz(inv, id, g)) == 0)
		fleet_appendf(g->reason, sizeof(g->reason), "; %s: ok", url);
	return bad;
}

int
gate_nodes(const struct inventory *inv, struct https *id,
    struct journal_gate *g)
{
	struct buf body = { 0 };
	struct slw_diag d;
	char url[160];
	cJSON *o = NULL, *items, *it;
	size_t i, ready = 0, want = 0;
	long st;
	int bad = 0;

	g->nodes[0] = '\0';
	fleet_url(url, sizeof(url), "https", inv->vip, inv->vip_port,
	    "/api/v1/nodes");
	slw_diag_clear(&d);
	if (fleet_https(id, "GET", url, NULL, &st, &body, &d) != 0 ||
	    st != 200 ||
	    (o = cJSON_ParseWithLength((const char *)body.data, body.len)) ==
	    NULL) {
		if (d.msg[0])
			fleet_fmt(g->reason, sizeof(g->reason), "%s", d.msg);
		else
			fleet_fmt(g->reason, sizeof(g->reason), "%s: HTTP %ld: "
			    "no node list", url, st);
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
					fleet_fmt(rs, sizeof(rs), "Ready=%s (%s)",
					    cJSON_IsString(s) ? s->valuestring : "?",
					    cJSON_IsString(re) ? re->valuestring : "");
					why = rs;
				}
			}
		}
		if (why == NULL)
			ready++;
		else {
			fleet_appendf(g->nodes, sizeof(g->nodes), "%s: Node %s\n", n->name,
			    why);
			bad = 1;
		}
	}
	fleet_fmt(g->reason, sizeof(g->reason), "%zu of %zu worker Nodes Ready",
	    ready, want);
	cJSON_Delete(o);
	buf_free(&body);
	return bad;
}

/* ---- waiting for a gate ---- */

int
gate_wait(struct fleet *f, const char *phase, int timeout_s,
    gate_check_fn *check, void *arg, struct journal_gate *g,
    struct slw_diag *d)
{
	int64_t t0 = fleet_now_ms(), deadline;
	int bad, polls = 0;

	memset(g, 0, sizeof(*g));
	deadline = t0 + (int64_t)timeout_s * 1000;
	for (;;) {
		polls++;
		bad = check(arg, g);
		if (bad <= 0 || fleet_now_ms() + 1000 > deadline)
			break;
		if (polls == 1 || polls % 10 == 0)
			fleet_progress(f, phase, "", "gate", "waiting: %s%s%.*s",
			    g->reason, g->nodes[0] ? "; " : "",
			    (int)strcspn(g->nodes, "\n"), g->nodes);
		sleep_ms(1000);
	}
	g->state = bad ? JS_FAILED : JS_DONE;
	g->run = f->run;
	g->checked = slw_now();
	g->elapsed = (double)(fleet_now_ms() - t0) / 1000.0;
	if (bad) {
		char first[JOURNAL_REASON_MAX];

		fleet_fmt(first, sizeof(first), "%.*s",
		    (int)strcspn(g->nodes, "\n"), g->nodes);
		return slw_diag(d, SLW_ERR_DENIED, "%s%s%s", g->reason,
		    first[0] ? "; " : "", first);
	}
	return 0;
}
