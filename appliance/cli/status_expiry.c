// SPDX-License-Identifier: Apache-2.0
/*
 * status_expiry.c: the expiry section of `slipway status` (expiry.h): a
 * summary first (in use, within the warning window, expired, renewals
 * due), the CA generations, what needs attention, then every certificate
 * grouped by node and purpose (the one in use, then superseded, revoked
 * and expired ones), the appliance's and operators' own, and the admin
 * kubeconfigs handed out. Text fits 80 columns. Reads only.
 */
#include "cli.h"
#include "crl.h"
#include "expiry.h"
#include "rand.h"
#include "revoke.h"
#include "status.h"

#include <stdio.h>
#include <string.h>

#define HISTORY_SHOWN 3	/* older certificates listed per purpose (text) */

static void
add_time(cJSON *o, const char *k, time_t t)
{
	char s[32], ku[48];

	cli_time(t, s);
	cJSON_AddStringToObject(o, k, s);
	snprintf(ku, sizeof(ku), "%sUnix", k);
	cJSON_AddNumberToObject(o, ku, (double)t);
}

static cJSON *
cert_json(const struct expiry_view *v, const struct expiry_cert *c)
{
	char serial[2 * SERIAL_LEN + 1];
	cJSON *o;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	hex_encode(c->serial, SERIAL_LEN, serial);
	cJSON_AddStringToObject(o, "serial", serial);
	cJSON_AddStringToObject(o, "owner", c->owner);
	cJSON_AddStringToObject(o, "purpose", c->purpose);
	cJSON_AddStringToObject(o, "ca", c->ca);
	cJSON_AddNumberToObject(o, "caGeneration", c->ca_gen);
	add_time(o, "notBefore", c->not_before);
	add_time(o, "notAfter", c->not_after);
	cJSON_AddNumberToObject(o, "secondsLeft",
	    (double)(c->not_after - v->pol.now));
	cJSON_AddNumberToObject(o, "daysLeft",
	    (double)expiry_days_left(c->not_after, v->pol.now));
	cJSON_AddStringToObject(o, "status", certdb_status_name(c->status));
	if (c->status != CERT_VALID && c->status_time != 0)
		add_time(o, "statusTime", c->status_time);
	if (c->status == CERT_REVOKED) {
		cJSON_AddStringToObject(o, "reason", crl_reason_name(c->reason));
		cJSON_AddStringToObject(o, "enforcedBy",
		    revoke_purpose_etcd(c->purpose) ? "etcd" : "none");
	}
	cJSON_AddBoolToObject(o, "inUse", (c->flags & EXP_IN_USE) != 0);
	cJSON_AddBoolToObject(o, "warn", (c->flags & EXP_WARN) != 0);
	cJSON_AddBoolToObject(o, "expired", (c->flags & EXP_EXPIRED) != 0);
	if (c->flags & EXP_SESSION)
		cJSON_AddBoolToObject(o, "session", 1);
	if (c->flags & EXP_GONE)
		cJSON_AddBoolToObject(o, "nodeRemoved", 1);
	if (c->flags & EXP_IN_USE) {
		add_time(o, "renewAt", c->renew_at);
		cJSON_AddBoolToObject(o, "renewalDue", (c->flags & EXP_DUE) != 0);
	}
	return o;
}

static int
add_cas(const struct expiry_view *v, cJSON *x)
{
	cJSON *arr, *o;
	size_t i;

	if ((arr = cJSON_AddArrayToObject(x, "cas")) == NULL)
		return SLW_ERR_NOMEM;
	for (i = 0; i < v->n_ca; i++) {
		const struct expiry_ca *a = &v->cas[i];

		if ((o = cJSON_CreateObject()) == NULL)
			return SLW_ERR_NOMEM;
		cJSON_AddStringToObject(o, "ca", a->name);
		cJSON_AddNumberToObject(o, "caGeneration", a->gen);
		cJSON_AddStringToObject(o, "serial", a->serial_hex);
		cJSON_AddStringToObject(o, "state", ca_state_name(a->state));
		add_time(o, "notAfter", a->not_after);
		cJSON_AddNumberToObject(o, "secondsLeft",
		    (double)(a->not_after - v->pol.now));
		cJSON_AddNumberToObject(o, "daysLeft",
		    (double)expiry_days_left(a->not_after, v->pol.now));
		cJSON_AddBoolToObject(o, "inUse", (a->flags & EXP_IN_USE) != 0);
		cJSON_AddBoolToObject(o, "warn", (a->flags & EXP_WARN) != 0);
		/* a rotation's phase and what is left: the rotations section */
		cJSON_AddItemToArray(arr, o);
	}
	return 0;
}

/*
 * Revoked certificates that nothing checks against a CRL (Kubernetes
 * client and serving certificates) and that have not expired yet: still
 * usable until their CA is rotated, and the command that ends them.
 */
static int
add_unenforced(const struct expiry_view *v, cJSON *x)
{
	cJSON *arr, *o;
	char cmd[CA_NAME_MAX + 40];
	size_t i;

	if ((arr = cJSON_AddArrayToObject(x, "revokedNotEnforced")) == NULL)
		return SLW_ERR_NOMEM;
	for (i = 0; i < v->n; i++) {
		const struct expiry_cert *c = &v->certs[i];

		if (c->status != CERT_REVOKED || (c->flags & EXP_EXPIRED) ||
		    revoke_purpose_etcd(c->purpose))
			continue;
		if ((o = cert_json(v, c)) == NULL)
			return SLW_ERR_NOMEM;
		snprintf(cmd, sizeof(cmd), "slipway ca rotate run --ca %s", c->ca);
		cJSON_AddStringToObject(o, "endedBy", cmd);
		cJSON_AddItemToArray(arr, o);
	}
	return 0;
}

/* owners[] of {owner, node, roles, purposes[] of {purpose, certificates}} */
static int
add_owners(const struct expiry_view *v, const struct inventory *inv,
    cJSON *x)
{
	cJSON *owners, *ow = NULL, *purposes = NULL, *pu = NULL, *certs = NULL;
	cJSON *kcs, *o;
	const struct expiry_cert *grp = NULL;	/* first of the current group */
	size_t i;

	if ((owners = cJSON_AddArrayToObject(x, "owners")) == NULL ||
	    (kcs = cJSON_AddArrayToObject(x, "kubeconfigs")) == NULL)
		return SLW_ERR_NOMEM;
	for (i = 0; i < v->n; i++) {
		const struct expiry_cert *c = &v->certs[i];

		if (c->flags & EXP_KUBECONFIG) {
			char to[64];

			if ((o = cert_json(v, c)) == NULL)
				return SLW_ERR_NOMEM;
			cJSON_AddStringToObject(o, "to",
			    expiry_kubeconfig_holder(c, to, sizeof(to)));
			add_time(o, "issued", c->not_before + CERT_BACKDATE_SECS);
			cJSON_AddItemToArray(kcs, o);
			continue;
		}
		if (grp == NULL || strcmp(c->owner, grp->owner) != 0) {
			const struct inv_node *n = c->owner[0] != '\0' &&
			    c->owner[0] != '(' ? inventory_node(inv, c->owner) :
			    NULL;
			char roles[32];

			if ((ow = cJSON_CreateObject()) == NULL)
				return SLW_ERR_NOMEM;
			cJSON_AddItemToArray(owners, ow);
			cJSON_AddStringToObject(ow, "owner", c->owner);
			cJSON_AddBoolToObject(ow, "node", n != NULL);
			if (n != NULL) {
				cJSON_AddStringToObject(ow, "ip", n->ip);
				cJSON_AddStringToObject(ow, "roles",
				    inventory_role_names(n->roles, roles,
				    sizeof(roles)));
			}
			if ((purposes = cJSON_AddArrayToObject(ow, "purposes")) ==
			    NULL)
				return SLW_ERR_NOMEM;
			pu = NULL;
		}
		if (pu == NULL || !expiry_same_group(c, grp)) {
			grp = c;
			if ((pu = cJSON_CreateObject()) == NULL)
				return SLW_ERR_NOMEM;
			cJSON_AddItemToArray(purposes, pu);
			cJSON_AddStringToObject(pu, "purpose", c->purpose);
			if ((certs = cJSON_AddArrayToObject(pu, "certificates")) ==
			    NULL)
				return SLW_ERR_NOMEM;
		}
		if ((o = cert_json(v, c)) == NULL)
			return SLW_ERR_NOMEM;
		cJSON_AddItemToArray(certs, o);
	}
	return 0;
}

static int
owner_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct expiry_cert *)elem)->owner);
}

/* The inventory's nodes that hold no certificate (v is sorted by owner). */
static int
add_bare_nodes(const struct expiry_view *v, const struct inventory *inv,
    cJSON *x)
{
	cJSON *arr;
	size_t i;

	if ((arr = cJSON_AddArrayToObject(x, "nodesWithoutCertificates")) == NULL)
		return SLW_ERR_NOMEM;
	for (i = 0; i < inv->n_nodes; i++)
		if (v->n == 0 || bsearch(inv->nodes[i].name, v->certs, v->n,
		    sizeof(v->certs[0]), owner_cmp) == NULL)
			cJSON_AddItemToArray(arr,
			    cJSON_CreateString(inv->nodes[i].name));
	return 0;
}

int
status_expiry_add(struct store_txn *t, const struct inventory *inv,
    cJSON *root)
{
	struct expiry_view *v = NULL;
	cJSON *x, *o;
	char frac[32];
	int r;

	if ((r = expiry_view_load(t, inv, slw_now(), &v)) != 0)
		return r;
	r = SLW_ERR_NOMEM;
	if ((x = cJSON_AddObjectToObject(root, "expiry")) == NULL)
		goto out;
	add_time(x, "now", v->pol.now);
	cJSON_AddNumberToObject(x, "warningSeconds", (double)v->pol.warn_seconds);
	cJSON_AddNumberToObject(x, "warningDays",
	    (double)(v->pol.warn_seconds / 86400));
	snprintf(frac, sizeof(frac), "%u/%u", v->pol.renew_num,
	    v->pol.renew_den);
	cJSON_AddStringToObject(x, "renewAt", frac);
	cJSON_AddNumberToObject(x, "inUse", (double)v->in_use);
	cJSON_AddNumberToObject(x, "warnings", (double)v->warn);
	cJSON_AddNumberToObject(x, "caWarnings", (double)v->ca_warn);
	cJSON_AddNumberToObject(x, "expired", (double)v->expired);
	cJSON_AddNumberToObject(x, "renewalsDue", (double)v->due);
	cJSON_AddNumberToObject(x, "superseded", (double)v->superseded);
	cJSON_AddNumberToObject(x, "revoked", (double)v->revoked);
	cJSON_AddNumberToObject(x, "sessions", (double)v->sessions);
	cJSON_AddBoolToObject(x, "ok", v->warn == 0 && v->ca_warn == 0);
	if (v->soonest >= 0) {
		if ((o = cert_json(v, &v->certs[v->soonest])) == NULL)
			goto out;
		cJSON_AddItemToObject(x, "soonest", o);
	}
	if (v->next_renewal >= 0) {
		if ((o = cert_json(v, &v->certs[v->next_renewal])) == NULL)
			goto out;
		cJSON_AddItemToObject(x, "nextRenewal", o);
	}
	if ((r = add_cas(v, x)) != 0 || (r = add_owners(v, inv, x)) != 0 ||
	    (r = add_unenforced(v, x)) != 0 ||
	    (r = add_bare_nodes(v, inv, x)) != 0)
		goto out;
	r = 0;
 out:
	expiry_view_free(v);
	return r;
}

int
status_expiry_exit(const cJSON *root)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(root, "expiry");

	return x != NULL && cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(x,
	    "ok")) ? EXIT_FAIL : EXIT_OK;
}

/* ---- text ---- */

static const char *
str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static double
num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static int
yes(const cJSON *o, const char *k)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/*
 * At most 10 characters: "in use", "due" (in use, past its renewal
 * time), "WARN" (in use, ends within the window), "EXPIRED" (in use),
 * "superseded", "revoked", "session", "node gone", "expired", "not used".
 */
static void
state_word(const cJSON *c, char *out, size_t len)
{
	if (yes(c, "inUse"))
		snprintf(out, len, "%s", yes(c, "expired") ? "EXPIRED" :
		    yes(c, "warn") ? "WARN" : yes(c, "renewalDue") ? "due" :
		    "in use");
	else if (strcmp(str(c, "status"), "revoked") == 0)
		snprintf(out, len, "revoked");
	else if (strcmp(str(c, "status"), "superseded") == 0)
		snprintf(out, len, "superseded");
	else if (yes(c, "session"))
		snprintf(out, len, "session");
	else if (yes(c, "nodeRemoved"))
		snprintf(out, len, "node gone");
	else
		snprintf(out, len, "%s", yes(c, "expired") ? "expired" :
		    "not used");
}

/* purpose, CA/gen, not after, days, state: 79 columns at most */
static void
cert_line(const char *indent, const char *purpose, const cJSON *c)
{
	char ca[48], st[32];

	snprintf(ca, sizeof(ca), "%s/%.0f", str(c, "ca"), num(c, "caGeneration"));
	state_word(c, st, sizeof(st));
	printf("%s%-*.*s %-13.13s %-20s %5.0f  %s\n", indent,
	    (int)(26 - strlen(indent)), (int)(26 - strlen(indent)), purpose, ca,
	    str(c, "notAfter"), num(c, "daysLeft"), st);
}

static const char *
owner_title(const cJSON *ow, char *out, size_t len)
{
	const char *o = str(ow, "owner");

	if (yes(ow, "node"))
		snprintf(out, len, "%s  %s  %s", o, str(ow, "ip"),
		    str(ow, "roles"));
	else if (o[0] == '\0')
		snprintf(out, len, "(no node: the appliance and the console)");
	else if (o[0] == '(')
		snprintf(out, len, "%s (the appliance)", o);
	else
		snprintf(out, len, "%s (not in the inventory)", o);
	return out;
}

static void
print_attention(const cJSON *x)
{
	const cJSON *ow, *pu, *c, *a;
	int n = 0;

	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(x, "cas"))
		if (yes(a, "warn")) {
			if (n++ == 0)
				printf("\nneeds attention (in use, ends within "
				    "%.0f days):\n", num(x, "warningDays"));
			printf("  CA %s generation %.0f: %s (%.0f days)\n",
			    str(a, "ca"), num(a, "caGeneration"),
			    str(a, "notAfter"), num(a, "daysLeft"));
		}
	cJSON_ArrayForEach(ow, cJSON_GetObjectItemCaseSensitive(x, "owners"))
		cJSON_ArrayForEach(pu, cJSON_GetObjectItemCaseSensitive(ow,
		    "purposes"))
			cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(pu,
			    "certificates")) {
				if (!yes(c, "warn"))
					continue;
				if (n++ == 0)
					printf("\nneeds attention (in use, ends "
					    "within %.0f days):\n",
					    num(x, "warningDays"));
				printf("  %s %s: %s (%.0f days)%s\n",
				    str(ow, "owner")[0] ? str(ow, "owner") : "-",
				    str(pu, "purpose"), str(c, "notAfter"),
				    num(c, "daysLeft"), yes(c, "expired") ?
				    " EXPIRED" : "");
			}
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(x, "kubeconfigs"))
		if (yes(c, "warn")) {
			if (n++ == 0)
				printf("\nneeds attention (in use, ends within "
				    "%.0f days):\n", num(x, "warningDays"));
			printf("  admin kubeconfig of %s: %s (%.0f days)%s\n",
			    str(c, "to"), str(c, "notAfter"), num(c, "daysLeft"),
			    yes(c, "expired") ? " EXPIRED" : "");
		}
}

static void
print_unenforced(const cJSON *x)
{
	const cJSON *c;
	int n = 0;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(x,
	    "revokedNotEnforced")) {
		if (n++ == 0)
			printf("\nrevoked, not enforceable until rotation (no CRL "
			    "check in Kubernetes):\n");
		printf("  %s %s %.12s...: until %s, or %s\n",
		    str(c, "owner")[0] ? str(c, "owner") : "-", str(c, "purpose"),
		    str(c, "serial"), str(c, "notAfter"), str(c, "endedBy"));
	}
}

static void
print_bare_nodes(const cJSON *x)
{
	const cJSON *arr, *n;
	size_t col;

	arr = cJSON_GetObjectItemCaseSensitive(x, "nodesWithoutCertificates");
	if (cJSON_GetArraySize(arr) == 0)
		return;
	printf("nodes without a certificate yet:");
	col = 32;
	cJSON_ArrayForEach(n, arr) {
		const char *name = cJSON_GetStringValue(n);

		if (name == NULL)
			continue;
		if (col + strlen(name) + 1 > 79) {
			printf("\n ");
			col = 1;
		}
		printf(" %s", name);
		col += strlen(name) + 1;
	}
	printf("\n");
}

void
status_expiry_print(const cJSON *root)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(root, "expiry");
	const cJSON *s, *a, *ow, *pu, *c;
	char title[160];

	if (x == NULL)
		return;
	printf("\nexpiry: %.0f certificates in use, %.0f end within %.0f days, "
	    "%.0f expired\n", num(x, "inUse"),
	    num(x, "warnings"), num(x, "warningDays"), num(x, "expired"));
	if ((s = cJSON_GetObjectItemCaseSensitive(x, "soonest")) != NULL)
		printf("  soonest:  %s %s on %s (%.0f days)\n",
		    str(s, "owner")[0] ? str(s, "owner") : "-", str(s, "purpose"),
		    str(s, "notAfter"), num(s, "daysLeft"));
	printf("  renewals: %.0f due now (at %s of the lifetime)",
	    num(x, "renewalsDue"), str(x, "renewAt"));
	if ((s = cJSON_GetObjectItemCaseSensitive(x, "nextRenewal")) != NULL)
		printf("; next %s %s\n            from %s",
		    str(s, "owner")[0] ? str(s, "owner") : "-", str(s, "purpose"),
		    str(s, "renewAt"));
	printf("\n  history:  %.0f superseded, %.0f revoked, %.0f appliance "
	    "sessions\n", num(x, "superseded"), num(x, "revoked"),
	    num(x, "sessions"));
	printf("\nCA generations:\n");
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(x, "cas")) {
		const char *rot = yes(a, "warn") ? "WARN" : NULL;

		snprintf(title, sizeof(title), "%s/%.0f", str(a, "ca"),
		    num(a, "caGeneration"));
		printf("  %-24s %-13s %-20s %5.0f%s%s\n", title, str(a, "state"),
		    str(a, "notAfter"), num(a, "daysLeft"), rot ? "  " : "",
		    rot ? rot : "");
	}
	print_attention(x);
	print_unenforced(x);
	printf("\ncertificates by owner and purpose:\n");
	printf("  %-24s %-13s %-20s %5s  %s\n", "PURPOSE", "CA", "NOT AFTER",
	    "DAYS", "STATE");
	cJSON_ArrayForEach(ow, cJSON_GetObjectItemCaseSensitive(x, "owners")) {
		printf("%s\n", owner_title(ow, title, sizeof(title)));
		cJSON_ArrayForEach(pu, cJSON_GetObjectItemCaseSensitive(ow,
		    "purposes")) {
			const cJSON *cs = cJSON_GetObjectItemCaseSensitive(pu,
			    "certificates");
			int shown = 0, first = 1, left;

			cJSON_ArrayForEach(c, cs) {
				if (yes(c, "session"))
					continue;
				if (!first && shown >= HISTORY_SHOWN)
					break;
				cert_line(first ? "  " : "    ", first ?
				    str(pu, "purpose") : "", c);
				if (!first)
					shown++;
				first = 0;
			}
			left = cJSON_GetArraySize(cs) - shown - (first ? 0 : 1);
			cJSON_ArrayForEach(c, cs)
				if (yes(c, "session"))
					left--;
			if (left > 0)
				printf("    (%d older)\n", left);
		}
	}
	print_bare_nodes(x);
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(x,
	    "kubeconfigs")) > 0) {
		printf("\nadmin kubeconfigs handed out:\n  %-16s %-20s %-20s "
		    "%5s  %s\n", "TO", "ISSUED", "NOT AFTER", "DAYS", "STATE");
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(x,
		    "kubeconfigs")) {
			char st[32];

			state_word(c, st, sizeof(st));
			printf("  %-16.16s %-20s %-20s %5.0f  %s\n", str(c, "to"),
			    str(c, "issued"), str(c, "notAfter"),
			    num(c, "daysLeft"), st);
		}
	}
}
