// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_token.c: `slipway token create|list|revoke|prune`. create prints the
 * node's one-liner (the token is on stdout exactly once and nowhere else);
 * list and revoke never show a token, only its public id.
 */
#include "audit.h"
#include "cli.h"
#include "cluster.h"
#include "http_redeem.h"
#include "profile.h"
#include "rand.h"
#include "token_issue.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/platform_util.h>

int
cmd_token_create(struct cli *c)
{
	const char *node = NULL, *ttl_s = NULL, *source = NULL;
	const struct cli_opt opts[] = {
		OPT_STR("node", &node),
		OPT_STR("ttl", &ttl_s),
		OPT_STR("source", &source),
		OPT_END,
	};
	struct inventory *inv = NULL;
	struct store *s = NULL;
	struct token_issued ti;
	struct buf line = { 0 };
	struct slw_diag d;
	char exp[32];
	uint64_t ttl = 0;
	int r, ret = EXIT_FAIL;

	memset(&ti, 0, sizeof(ti));
	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (node == NULL)
		return cli_usage(c, "--node NAME is required");
	if (ttl_s != NULL && (duration_parse_seconds(ttl_s, &ttl) != 0 ||
	    ttl < TOKEN_TTL_MIN || ttl > TOKEN_TTL_MAX))
		return cli_usage(c, "--ttl must be a duration such as 15m, 1h "
		    "or 90s, between 10s and 7d");
	slw_diag_clear(&d);
	if (cli_open(c, 1, &s) != 0)
		return EXIT_FAIL;
	if ((r = cluster_load(s, &inv, &d)) != 0 ||
	    (r = token_issue(s, inv, node, ttl, source, cli_actor(), &ti,
	    &d)) != 0 ||
	    (r = token_oneliner(ti.pin, ti.tok.token, ti.url, &line)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (ti.serve_issued)
		fprintf(stderr, "slipway: token create: issued the endpoint's "
		    "serving certificate (serial %s)\n", ti.serve_serial_hex);
	cli_time(ti.tok.info.expires, exp);
	if (c->json) {
		cJSON *o = cJSON_CreateObject();
		char *txt;

		if (o == NULL)
			goto out;
		cJSON_AddStringToObject(o, "id", ti.tok.info.id);
		cJSON_AddStringToObject(o, "node", ti.tok.info.node);
		cJSON_AddStringToObject(o, "expires", exp);
		if (ti.tok.info.source[0])
			cJSON_AddStringToObject(o, "source", ti.tok.info.source);
		cJSON_AddStringToObject(o, "token", ti.tok.token);
		cJSON_AddStringToObject(o, "pin", ti.pin);
		cJSON_AddStringToObject(o, "url", ti.url);
		cJSON_AddStringToObject(o, "command", (const char *)line.data);
		txt = cJSON_Print(o);
		if (txt != NULL) {
			printf("%s\n", txt);
			mbedtls_platform_zeroize(txt, strlen(txt));
			cJSON_free(txt);
		}
		/* cJSON copied the token: wipe its copies before freeing */
		{
			cJSON *it;

			cJSON_ArrayForEach(it, o)
				if (cJSON_IsString(it))
					mbedtls_platform_zeroize(it->valuestring,
					    strlen(it->valuestring));
		}
		cJSON_Delete(o);
	} else {
		printf("%s\n", (const char *)line.data);
		fprintf(stderr, "slipway: token %s for node %s, valid until %s, "
		    "works once%s%s\n", ti.tok.info.id, ti.tok.info.node, exp,
		    ti.tok.info.source[0] ? ", only from " : "",
		    ti.tok.info.source);
	}
	ret = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
 out:
	buf_free(&line);
	token_issue_wipe(&ti);
	inventory_free(inv);
	store_close(s);
	return ret;
}

struct list_arg {
	cJSON *arr;
	time_t now;
	int json;
	struct store_txn *t;
	struct buf all;		/* struct token_info each */
};

static int
list_one(struct list_arg *a, const struct token_info *ti)
{
	struct issuance is;
	char created[32], exp[32], used[32];
	const char *state = token_state_name(ti, a->now);
	int have_is;
	size_t i;

	cli_time(ti->created, created);
	cli_time(ti->expires, exp);
	have_is = ti->state == TOKEN_USED &&
	    redeem_issuance_get(a->t, ti->key, &is) == 0;
	if (!a->json) {
		if (ti->state == TOKEN_USED) {
			cli_time(ti->used_at, used);
			printf("%-16s  %-16s  %-7s  %s  used %s from %s (%s, %zu "
			    "certificates)\n", ti->id, ti->node, state, exp, used,
			    ti->used_from, ti->used_for, have_is ? is.iss.n : 0);
		} else
			printf("%-16s  %-16s  %-7s  %s%s%s\n", ti->id, ti->node,
			    state, exp, ti->source[0] ? "  source " : "",
			    ti->source);
		return 0;
	}
	{
		cJSON *o = cJSON_CreateObject(), *iss, *ser;

		if (o == NULL)
			return SLW_ERR_NOMEM;
		cJSON_AddStringToObject(o, "id", ti->id);
		cJSON_AddStringToObject(o, "node", ti->node);
		cJSON_AddStringToObject(o, "state", state);
		cJSON_AddStringToObject(o, "created", created);
		cJSON_AddStringToObject(o, "createdBy", ti->created_by);
		cJSON_AddStringToObject(o, "expires", exp);
		if (ti->source[0])
			cJSON_AddStringToObject(o, "source", ti->source);
		if (ti->state == TOKEN_USED) {
			cli_time(ti->used_at, used);
			cJSON_AddStringToObject(o, "usedAt", used);
			cJSON_AddStringToObject(o, "usedFrom", ti->used_from);
			cJSON_AddStringToObject(o, "usedFor", ti->used_for);
			if (!have_is)
				cJSON_AddNullToObject(o, "issuance");
			else if ((iss = cJSON_AddObjectToObject(o, "issuance")) !=
			    NULL) {
				cJSON_AddStringToObject(iss, "endpoint", is.endpoint);
				cJSON_AddStringToObject(iss, "peer", is.peer);
				ser = cJSON_AddArrayToObject(iss, "certificates");
				for (i = 0; ser != NULL && i < is.iss.n; i++) {
					cJSON *ce = cJSON_CreateObject();
					char hex[2 * SERIAL_LEN + 1];

					if (ce == NULL)
						break;
					hex_encode(is.iss.serial[i], SERIAL_LEN, hex);
					cJSON_AddStringToObject(ce, "serial", hex);
					cJSON_AddStringToObject(ce, "purpose",
					    is.iss.purpose[i]);
					cJSON_AddItemToArray(ser, ce);
				}
			}
		}
		if (ti->state == TOKEN_REVOKED) {
			cli_time(ti->revoked_at, used);
			cJSON_AddStringToObject(o, "revokedAt", used);
			cJSON_AddStringToObject(o, "revokedBy", ti->revoked_by);
		}
		cJSON_AddItemToArray(a->arr, o);
	}
	return 0;
}

static int
collect(void *arg, const struct token_info *ti)
{
	struct list_arg *a = arg;

	return buf_append(&a->all, ti, sizeof(*ti)) == 0 ? 0 : SLW_ERR_NOMEM;
}

/* Oldest first, then by id: a stable order for people and scripts. */
static int
by_created(const void *x, const void *y)
{
	const struct token_info *a = x, *b = y;

	if (a->created != b->created)
		return a->created < b->created ? -1 : 1;
	return strcmp(a->id, b->id);
}

static int
list_txn(struct store_txn *t, void *arg)
{
	struct list_arg *a = arg;
	struct token_info *all;
	size_t i, n;
	int r;

	a->t = t;
	buf_reset(&a->all);
	if ((r = token_foreach(t, collect, a)) != 0)
		return r;
	/* the block is malloc's, aligned for any type */
	all = (struct token_info *)(void *)a->all.data;
	n = a->all.len / sizeof(*all);
	if (n > 0)
		qsort(all, n, sizeof(*all), by_created);
	for (i = 0; i < n; i++)
		if ((r = list_one(a, &all[i])) != 0)
			return r;
	return 0;
}

int
cmd_token_list(struct cli *c)
{
	struct list_arg a;
	struct store *s = NULL;
	struct slw_diag d;
	int r, ret = EXIT_FAIL;

	if (cli_opt_parse(c, NULL) != 0)
		return EXIT_USAGE;
	memset(&a, 0, sizeof(a));
	a.now = slw_now();
	a.json = c->json;
	slw_diag_clear(&d);
	if (cli_open(c, 0, &s) != 0)
		return EXIT_FAIL;
	if (a.json && (a.arr = cJSON_CreateArray()) == NULL)
		goto out;
	if (!a.json)
		printf("%-16s  %-16s  %-7s  %s\n", "ID", "NODE", "STATE",
		    "EXPIRES");
	if ((r = store_read(s, list_txn, &a, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	if (a.json) {
		char *txt = cJSON_Print(a.arr);

		if (txt != NULL) {
			printf("%s\n", txt);
			cJSON_free(txt);
		}
	}
	ret = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
 out:
	buf_free(&a.all);
	cJSON_Delete(a.arr);
	store_close(s);
	return ret;
}

struct revoke_arg {
	const char *id;
	const char *actor;
};

static int
revoke_txn(struct store_txn *t, void *arg)
{
	struct revoke_arg *a = arg;

	return token_revoke(t, a->id, a->actor, store_txn_diag(t));
}

int
cmd_token_revoke(struct cli *c)
{
	struct revoke_arg a;
	struct store *s = NULL;
	struct slw_diag d;
	const char *arg = NULL;
	const struct cli_opt opts[] = {
		OPT_ARG("ID", &arg, "exactly one token id is required"),
		OPT_END,
	};
	char id[TOKEN_ID_LEN + 8];
	int r, ret = EXIT_FAIL;

	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	/* a whole token pasted by mistake: use its public id only */
	snprintf(id, sizeof(id), "%.*s", (int)strcspn(arg, "."), arg);
	a.id = id;
	a.actor = cli_actor();
	slw_diag_clear(&d);
	if (cli_open(c, 1, &s) != 0)
		return EXIT_FAIL;
	if ((r = store_write(s, revoke_txn, &a, &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	printf("revoked token %s\n", a.id);
	ret = EXIT_OK;
 out:
	store_close(s);
	return ret;
}

int
cmd_token_prune(struct cli *c)
{
	struct token_prune_stats st;
	struct store *s = NULL;
	struct slw_diag d;
	uint64_t age = TOKEN_PRUNE_AGE;
	time_t now, cutoff;
	char when[32];
	struct tm tm;
	size_t n;
	const char *older = NULL;
	const struct cli_opt opts[] = {
		OPT_STR("older-than", &older),
		OPT_END,
	};
	int r, ret = EXIT_FAIL;

	if ((r = cli_opt_parse(c, opts)) != 0)
		return r;
	if (older != NULL && (strcmp(older, "0s") == 0 ||
	    strcmp(older, "0") == 0))
		age = 0;	/* every ended token */
	else if (older != NULL && (duration_parse_seconds(older, &age) != 0 ||
	    age > 100ull * 365 * 86400))
		return cli_usage(c, "--older-than must be a duration such as "
		    "30d, 12h or 0s");
	now = slw_now();
	cutoff = now - (time_t)age;
	slw_diag_clear(&d);
	if (cli_open(c, 1, &s) != 0)
		return EXIT_FAIL;
	if ((r = token_prune_store(s, cutoff, now, cli_actor(), &st,
	    &d)) != 0) {
		ret = cli_fail_err(c, r, &d);
		goto out;
	}
	n = st.used + st.expired + st.revoked;
	gmtime_r(&cutoff, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (c->json) {
		cJSON *o = cJSON_CreateObject();
		char *txt;

		if (o == NULL ||
		    !cJSON_AddNumberToObject(o, "pruned", (double)n) ||
		    !cJSON_AddNumberToObject(o, "used", (double)st.used) ||
		    !cJSON_AddNumberToObject(o, "expired", (double)st.expired) ||
		    !cJSON_AddNumberToObject(o, "revoked", (double)st.revoked) ||
		    !cJSON_AddNumberToObject(o, "kept", (double)st.kept) ||
		    !cJSON_AddNumberToObject(o, "active", (double)st.active) ||
		    !cJSON_AddStringToObject(o, "ended_before", when) ||
		    (txt = cJSON_Print(o)) == NULL) {
			cJSON_Delete(o);
			goto out;
		}
		printf("%s\n", txt);
		cJSON_free(txt);
		cJSON_Delete(o);
	} else
		printf("pruned %zu token record(s) that ended before %s (%zu "
		    "used, %zu expired, %zu revoked); %zu kept, %zu of them "
		    "active\n", n, when, st.used, st.expired, st.revoked,
		    st.kept, st.active);
	ret = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
 out:
	store_close(s);
	return ret;
}
