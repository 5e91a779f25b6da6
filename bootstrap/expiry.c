// SPDX-License-Identifier: Apache-2.0
/*
 * expiry.c: the expiry view (expiry.h): reads certificate and CA records,
 * groups them by owner and purpose and decides, as a pure function of the
 * records, the inventory and the clock, which are in use, which warn and
 * which are due for renewal. Reads only; never formats for a person.
 */
#include "expiry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

time_t
expiry_renew_at(time_t not_before, time_t not_after, uint32_t num,
    uint32_t den)
{
	long long life = (long long)not_after - (long long)not_before;

	if (life <= 0 || den == 0 || num >= den)
		return not_before;
	/* lifetimes are far below 2^63 / 2^20: no overflow */
	return (time_t)(not_before + life / den * num + life % den * num / den);
}

void
expiry_policy_of(const struct inventory *inv, time_t now,
    struct expiry_policy *out)
{
	out->now = now;
	out->warn_seconds = inv != NULL && inv->expiry_warn_seconds != 0 ?
	    inv->expiry_warn_seconds : 30ull * 86400;
	out->renew_num = inv != NULL && inv->renew_den != 0 ? inv->renew_num : 2;
	out->renew_den = inv != NULL && inv->renew_den != 0 ? inv->renew_den : 3;
}

long
expiry_days_left(time_t not_after, time_t now)
{
	long long s = (long long)not_after - (long long)now;

	return (long)(s >= 0 ? s / 86400 : -((-s + 86399) / 86400));
}

int
expiry_view_new(const struct expiry_policy *pol, const struct inventory *inv,
    struct expiry_view **out)
{
	struct expiry_view *v;

	*out = NULL;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return SLW_ERR_NOMEM;
	v->pol = *pol;
	v->inv = inv;
	v->soonest = v->next_renewal = -1;
	*out = v;
	return 0;
}

void
expiry_view_free(struct expiry_view *v)
{
	if (v == NULL)
		return;
	free(v->certs);
	free(v->cas);
	free(v);
}

static int
grow(void **p, size_t *cap, size_t n, size_t size)
{
	size_t nc;
	void *q;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 64;
	if (nc > SIZE_MAX / size || (q = realloc(*p, nc * size)) == NULL)
		return SLW_ERR_NOMEM;
	*p = q;
	*cap = nc;
	return 0;
}

int
expiry_view_add_cert(struct expiry_view *v, const struct cert_rec *rec)
{
	struct expiry_cert *c;

	if (certdb_rec_is_ca(rec))
		return 0;
	if (grow((void **)&v->certs, &v->cap, v->n, sizeof(*c)) != 0)
		return SLW_ERR_NOMEM;
	c = &v->certs[v->n++];
	memset(c, 0, sizeof(*c));
	memcpy(c->serial, rec->serial, SERIAL_LEN);
	snprintf(c->ca, sizeof(c->ca), "%s", rec->ca);
	c->ca_gen = rec->ca_gen;
	snprintf(c->owner, sizeof(c->owner), "%s", rec->node);
	snprintf(c->purpose, sizeof(c->purpose), "%s", rec->purpose);
	c->not_before = rec->not_before;
	c->not_after = rec->not_after;
	c->status_time = rec->status_time;
	c->status = rec->status;
	c->reason = rec->reason;
	return 0;
}

int
expiry_view_add_ca(struct expiry_view *v, const struct ca_rec *rec)
{
	struct expiry_ca *a;
	struct cert_info info;

	if (grow((void **)&v->cas, &v->cap_ca, v->n_ca, sizeof(*a)) != 0)
		return SLW_ERR_NOMEM;
	a = &v->cas[v->n_ca++];
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", rec->name);
	a->gen = rec->gen;
	a->state = rec->state;
	a->not_after = rec->not_after;
	if (rec->der.len > 0 &&
	    cert_info_der(rec->der.data, rec->der.len, &info) == 0)
		snprintf(a->serial_hex, sizeof(a->serial_hex), "%s",
		    info.serial_hex);
	return 0;
}

int
expiry_same_group(const struct expiry_cert *a, const struct expiry_cert *b)
{
	return strcmp(a->owner, b->owner) == 0 &&
	    strcmp(a->purpose, b->purpose) == 0;
}

/* Owner, purpose, newest first (notBefore, then notAfter), serial. */
static int
cert_cmp(const void *pa, const void *pb)
{
	const struct expiry_cert *a = pa, *b = pb;
	int r;

	if ((r = strcmp(a->owner, b->owner)) != 0 ||
	    (r = strcmp(a->purpose, b->purpose)) != 0)
		return r;
	if (a->not_before != b->not_before)
		return a->not_before > b->not_before ? -1 : 1;
	if (a->not_after != b->not_after)
		return a->not_after > b->not_after ? -1 : 1;
	return memcmp(a->serial, b->serial, SERIAL_LEN);
}

static int
ca_cmp(const void *pa, const void *pb)
{
	const struct expiry_ca *a = pa, *b = pb;
	int r;

	if ((r = strcmp(a->name, b->name)) != 0)
		return r;
	return a->gen < b->gen ? -1 : a->gen > b->gen;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A node name that the inventory does not have (owners in parentheses
 * and "" are the appliance's and operators', never gone). names: the
 * inventory's, sorted (NULL: every owner is known). */
static int
owner_gone(const char **names, size_t n, const char *owner)
{
	if (names == NULL || owner[0] == '\0' || owner[0] == '(')
		return 0;
	return bsearch(&owner, names, n, sizeof(names[0]), name_cmp) == NULL;
}

static int
is_session(const struct expiry_cert *c)
{
	return c->owner[0] == '\0' &&
	    (long long)c->not_after - (long long)c->not_before <=
	    EXPIRY_SESSION_SECONDS;
}

static int
ends_soon(const struct expiry_view *v, time_t not_after)
{
	return (long long)not_after - (long long)v->pol.now <
	    (long long)v->pol.warn_seconds;
}

void
expiry_view_finish(struct expiry_view *v)
{
	const struct expiry_policy *p = &v->pol;
	const char **names = NULL;
	size_t i, g, nn = 0;
	int gone = 0, taken = 0;

	/* without memory for the index, no certificate counts as gone */
	if (v->inv != NULL && v->inv->n_nodes > 0 &&
	    (names = calloc(v->inv->n_nodes, sizeof(*names))) != NULL) {
		for (nn = 0; nn < v->inv->n_nodes; nn++)
			names[nn] = v->inv->nodes[nn].name;
		qsort(names, nn, sizeof(*names), name_cmp);
	}
	if (v->n > 1)
		qsort(v->certs, v->n, sizeof(v->certs[0]), cert_cmp);
	if (v->n_ca > 1)
		qsort(v->cas, v->n_ca, sizeof(v->cas[0]), ca_cmp);
	v->in_use = v->warn = v->expired = v->due = v->revoked = 0;
	v->superseded = v->sessions = v->ca_warn = 0;
	v->soonest = v->next_renewal = -1;
	for (i = 0, g = 0; i < v->n; i++) {
		struct expiry_cert *c = &v->certs[i];

		if (i == 0 || !expiry_same_group(c, &v->certs[g])) {
			if (i == 0 || strcmp(c->owner, v->certs[g].owner) != 0)
				gone = owner_gone(names, nn, c->owner);
			g = i;		/* a new group: nothing in use yet */
			taken = 0;
		}
		c->flags = 0;
		c->renew_at = expiry_renew_at(c->not_before, c->not_after,
		    p->renew_num, p->renew_den);
		if (c->not_after <= p->now)
			c->flags |= EXP_EXPIRED;
		if (strcmp(c->purpose, EXPIRY_KUBECONFIG_PURPOSE) == 0)
			c->flags |= EXP_KUBECONFIG;
		if (gone)
			c->flags |= EXP_GONE;
		if (c->status == CERT_REVOKED)
			v->revoked++;
		else if (c->status == CERT_SUPERSEDED)
			v->superseded++;
		if (c->status != CERT_VALID)
			continue;
		if (is_session(c)) {
			c->flags |= EXP_SESSION;
			v->sessions++;
			continue;
		}
		/* the first valid one of its group (newest first) */
		if (taken || gone)
			continue;
		taken = 1;
		c->flags |= EXP_IN_USE;
		v->in_use++;
		if (c->flags & EXP_EXPIRED)
			v->expired++;
		if (ends_soon(v, c->not_after)) {
			c->flags |= EXP_WARN;
			v->warn++;
		}
		if (c->renew_at <= p->now) {
			c->flags |= EXP_DUE;
			v->due++;
		} else if (v->next_renewal < 0 ||
		    c->renew_at < v->certs[v->next_renewal].renew_at)
			v->next_renewal = (ssize_t)i;
		if (v->soonest < 0 ||
		    c->not_after < v->certs[v->soonest].not_after)
			v->soonest = (ssize_t)i;
	}
	free(names);
	for (i = 0; i < v->n_ca; i++) {
		struct expiry_ca *a = &v->cas[i];

		a->flags = 0;
		if (a->not_after <= p->now)
			a->flags |= EXP_EXPIRED;
		if (a->state == CA_RETIRED)
			continue;
		a->flags |= EXP_IN_USE;
		if (ends_soon(v, a->not_after)) {
			a->flags |= EXP_WARN;
			v->ca_warn++;
		}
	}
}

const char *
expiry_kubeconfig_holder(const struct expiry_cert *c, char *out, size_t len)
{
	size_t pl = strlen(EXPIRY_ADMIN_OWNER), n = strlen(c->owner);

	if (n > pl + 1 && strncmp(c->owner, EXPIRY_ADMIN_OWNER, pl) == 0 &&
	    c->owner[n - 1] == ')') {
		snprintf(out, len, "%.*s", (int)(n - pl - 1), c->owner + pl);
		return out;
	}
	snprintf(out, len, "-");
	return out;
}

static int
add_cert_cb(void *arg, const struct cert_rec *rec)
{
	return expiry_view_add_cert(arg, rec);
}

static int
add_ca_cb(void *arg, const struct ca_rec *rec)
{
	return expiry_view_add_ca(arg, rec);
}

int
expiry_view_load(struct store_txn *t, const struct inventory *inv, time_t now,
    struct expiry_view **out)
{
	struct expiry_policy pol;
	struct expiry_view *v = NULL;
	int r;

	*out = NULL;
	expiry_policy_of(inv, now, &pol);
	if ((r = expiry_view_new(&pol, inv, &v)) != 0)
		return r;
	if ((r = ca_foreach(t, add_ca_cb, v)) != 0 ||
	    (r = certdb_foreach(t, add_cert_cb, v)) != 0)
		goto out;
	expiry_view_finish(v);
	*out = v;
	v = NULL;
 out:
	expiry_view_free(v);
	return r;
}
