// SPDX-License-Identifier: Apache-2.0
/*
 * status_tokens.c: the tokens section of `slipway status`: how many
 * one-time tokens are active, used, expired and revoked, and how many
 * issuance records the endpoint wrote. Never shows a token.
 */
#include "rand.h"
#include "status.h"
#include "token.h"

#include <stdio.h>
#include <string.h>

struct counts {
	size_t active, used, expired, revoked;
	time_t now;
};

static int
count_one(void *arg, const struct token_info *ti)
{
	struct counts *c = arg;
	const char *s = token_state_name(ti, c->now);

	if (strcmp(s, "active") == 0)
		c->active++;
	else if (strcmp(s, "used") == 0)
		c->used++;
	else if (strcmp(s, "expired") == 0)
		c->expired++;
	else
		c->revoked++;
	return 0;
}

int
status_tokens_add(struct store_txn *t, const struct inventory *inv, cJSON *root)
{
	struct counts c;
	cJSON *o;
	size_t iss = 0;
	int r;

	(void)inv;
	memset(&c, 0, sizeof(c));
	c.now = slw_now();
	if ((r = token_foreach(t, count_one, &c)) != 0)
		return r;
	if ((r = store_count(t, DB_ISSUANCE, &iss)) != 0)
		return r;
	if ((o = cJSON_AddObjectToObject(root, "tokens")) == NULL)
		return SLW_ERR_NOMEM;
	cJSON_AddNumberToObject(o, "active", (double)c.active);
	cJSON_AddNumberToObject(o, "used", (double)c.used);
	cJSON_AddNumberToObject(o, "expired", (double)c.expired);
	cJSON_AddNumberToObject(o, "revoked", (double)c.revoked);
	cJSON_AddNumberToObject(o, "issuanceRecords", (double)iss);
	return 0;
}

static double
num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

void
status_tokens_print(const cJSON *root)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, "tokens");

	if (o == NULL)
		return;
	printf("\ntokens: %.0f active, %.0f used, %.0f expired, %.0f revoked "
	    "(%.0f issuance records)\n", num(o, "active"), num(o, "used"),
	    num(o, "expired"), num(o, "revoked"), num(o, "issuanceRecords"));
}
