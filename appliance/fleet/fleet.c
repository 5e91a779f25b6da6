// SPDX-License-Identifier: Apache-2.0
/*
 * fleet.c: a run of the fleet engine (fleet.h): the appliance's SSH key
 * and every node's pin, progress lines, and the command log's records of
 * what the appliance did itself. Must never let a token or key reach a
 * progress line, the journal or an error.
 */
#include "fleet.h"
#include "redact.h"
#include "rand.h"
#include "https.h"
#include "signing.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

int
fleet_init(struct fleet *f, struct store *s, const struct inventory *inv,
    const struct fleet_opts *o)
{
	memset(f, 0, sizeof(*f));
	f->s = s;
	f->inv = inv;
	f->o = o;
	f->phase = "";
	f->op = "";
	f->t0 = fleet_now_ms();
	pthread_mutex_init(&f->mu, NULL);
	f->pins = calloc(inv->n_nodes, sizeof(*f->pins));
	f->have_pin = calloc(inv->n_nodes, sizeof(*f->have_pin));
	f->pin_src = calloc(inv->n_nodes, 1);
	if (f->pins == NULL || f->have_pin == NULL || f->pin_src == NULL)
		return SLW_ERR_NOMEM;
	return 0;
}

void
fleet_fini(struct fleet *f)
{
	if (f == NULL || f->inv == NULL)
		return;
	https_free(f->etcd_id);
	https_free(f->admin_id);
	signing_free(f->sg);
	buf_free(&f->ssh_key);
	free(f->pins);
	free(f->have_pin);
	free(f->pin_src);
	pthread_mutex_destroy(&f->mu);
	memset(f, 0, sizeof(*f));
}

struct keys_arg {
	struct fleet *f;
	int created;
};

/* The appliance key (made on first need) and every node's pin. */
static int
keys_txn(struct store_txn *t, void *arg)
{
	struct keys_arg *a = arg;
	struct fleet *f = a->f;
	char line[SSH_KEYLINE_MAX];
	size_t i;
	int r;

	buf_free(&f->ssh_key);
	if ((r = ssh_key_get_or_create(t, f->o->actor, &f->ssh_key,
	    &a->created)) != 0)
		return r;
	for (i = 0; i < f->inv->n_nodes; i++) {
		const struct inv_node *n = &f->inv->nodes[i];
		struct slw_diag pd;

		f->have_pin[i] = 0;
		f->pin_src[i] = 0;
		slw_diag_clear(&pd);
		if (n->ssh_host_key[0] != '\0') {
			if ((r = ssh_hostkey_parse(n->ssh_host_key,
			    strlen(n->ssh_host_key), &f->pins[i], &pd)) != 0)
				return slw_diag(store_txn_diag(t), r, "inventory: "
				    "node %s: ssh.hostKey: %s", n->name,
				    slw_diag_str(&pd, r));
			f->have_pin[i] = 1;
			f->pin_src[i] = 'i';
			continue;
		}
		if ((r = journal_hostkey_get(t, n->name, line, sizeof(line))) ==
		    SLW_ERR_NOTFOUND)
			continue;
		if (r != 0 || (r = ssh_hostkey_parse(line, strlen(line),
		    &f->pins[i], &pd)) != 0)
			return slw_diag(store_txn_diag(t), r != 0 ? r :
			    SLW_ERR_CORRUPT, "journal: the recorded host key of %s "
			    "is unreadable", n->name);
		f->have_pin[i] = 1;
		f->pin_src[i] = 'r';
	}
	return 0;
}

int
fleet_keys(struct fleet *f, int *created, struct slw_diag *d)
{
	struct keys_arg a = { f, 0 };
	int r;

	r = store_write(f->s, keys_txn, &a, d);
	*created = a.created;
	return r;
}

int64_t
fleet_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
fleet_fmt(char *dst, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (len == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

void
fleet_appendf(char *dst, size_t len, const char *fmt, ...)
{
	size_t used = strnlen(dst, len);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(dst + used, len - used, fmt, ap);
	va_end(ap);
}

void
fleet_progress(struct fleet *f, const char *phase, const char *node,
    const char *step, const char *fmt, ...)
{
	va_list ap;

	if (f->o->quiet)
		return;
	if (f->o->json) {
		char msg[1024];
		cJSON *o;
		char *txt;

		va_start(ap, fmt);
		(void)vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		if ((o = cJSON_CreateObject()) == NULL)
			return;
		cJSON_AddNumberToObject(o, "elapsed",
		    (double)(fleet_now_ms() - f->t0) / 1000.0);
		cJSON_AddStringToObject(o, "operation", f->op);
		cJSON_AddStringToObject(o, "stage", phase);
		cJSON_AddStringToObject(o, "node", node != NULL && node[0] ?
		    node : "-");
		cJSON_AddStringToObject(o, "step", step);
		cJSON_AddStringToObject(o, "message", msg);
		txt = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		if (txt == NULL)
			return;
		pthread_mutex_lock(&f->mu);
		printf("%s\n", txt);
		fflush(stdout);
		pthread_mutex_unlock(&f->mu);
		cJSON_free(txt);
		return;
	}
	pthread_mutex_lock(&f->mu);
	printf("[%7.1fs] %-8s %-10s %-24s ",
	    (double)(fleet_now_ms() - f->t0) / 1000.0, phase,
	    node != NULL && node[0] ? node : "-", step);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&f->mu);
}

size_t
fleet_node_index(const struct fleet *f, const struct inv_node *n)
{
	return (size_t)(n - f->inv->nodes);
}

void
fleet_url(char *out, size_t len, const char *scheme, const char *ip,
    unsigned int port, const char *path)
{
	fleet_fmt(out, len, strchr(ip, ':') ? "%s://[%s]:%u%s" : "%s://%s:%u%s",
	    scheme, ip, port, path);
}

int
fleet_https(struct https *c, const char *method, const char *url,
    const char *json, long *status, struct buf *resp, struct slw_diag *d)
{
	struct https_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.url = url;
	if (json != NULL) {
		rq.body = json;
		rq.body_len = strlen(json);
	}
	rq.accept = "application/json, */*";	/* /readyz answers text */
	rq.timeout_ms = FLEET_HTTP_TIMEOUT_MS;
	return https_do(c, &rq, status, resp, d);
}

static int
exec_txn(struct store_txn *t, void *arg)
{
	return journal_exec_append(t, arg);
}

int
fleet_record(struct fleet *f, struct journal_exec *e)
{
	return store_submit(f->s, exec_txn, e, NULL);
}

int
fleet_record_action(struct fleet *f, const char *phase, const char *step,
    const char *what, const char *result, int ok, double elapsed)
{
	struct journal_exec e;
	int r;

	memset(&e, 0, sizeof(e));
	e.run = f->run;
	fleet_fmt(e.op, sizeof(e.op), "%s", f->op);
	e.started = slw_now();
	e.elapsed = elapsed;
	fleet_fmt(e.phase, sizeof(e.phase), "%s", phase);
	fleet_fmt(e.node, sizeof(e.node), "%s", FLEET_APPLIANCE);
	fleet_fmt(e.step, sizeof(e.step), "%s", step);
	e.exit_status = ok ? 0 : 1;
	if (!ok)
		fleet_fmt(e.error, sizeof(e.error), "%s", result);
	if ((r = redact_text((const uint8_t *)what, strlen(what), NULL,
	    FLEET_CMD_KEEP, &e.cmd)) == 0 &&
	    (r = redact_text((const uint8_t *)result, strlen(result), NULL,
	    FLEET_CMD_KEEP, &e.out)) == 0)
		r = fleet_record(f, &e);
	journal_exec_free(&e);
	return r;
}
