// SPDX-License-Identifier: Apache-2.0
/*
 * kube_cluster.c: applying slipway's cluster objects (see kube_cluster.h)
 * through the API, create-or-update with conflict retry. Token secrets are
 * handled with KUBE_SECRET (wiped, kept out of messages); must never log or
 * audit anything but a token's id.
 */
#include "kube_cluster.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mbedtls/base64.h>
#include <mbedtls/platform_util.h>

#include "audit.h"
#include "nodetoken.h"

#define NS_SECRETS "/api/v1/namespaces/kube-system/secrets"
#define CLUSTERROLES "/apis/rbac.authorization.k8s.io/v1/clusterroles"
#define CLUSTERROLEBINDINGS \
	"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
#define TOKEN_TYPE "bootstrap.kubernetes.io/token"
#define LABEL_MANAGED "app.kubernetes.io/managed-by"
#define LABEL_NODE "slipway.io/node"
#define RBAC_GROUP "rbac.authorization.k8s.io"

struct ctx {
	struct kube *k;
	const struct kube_cluster_src *src;
	const struct inventory *inv;
	unsigned int flags;
	const char *actor;
	void (*report)(void *, const char *);
	void *arg;
	struct kube_cluster_counts *n;
	/* current token Secret names, for finding stale ones */
	char (*keep)[64];
	size_t n_keep;
};

static void
say(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(struct ctx *c, const char *fmt, ...)
{
	char line[400];
	va_list ap;

	if (c->report == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->report(c->arg, line);
}

/* ---- tokens and audit records from the store ---- */

struct audit_arg {
	const char *actor, *action, *object, *detail;
};

static int
audit_txn(struct store_txn *t, void *arg)
{
	struct audit_arg *a = arg;

	return audit_append(t, a->actor, a->action, a->object, a->detail);
}

static int
store_audit(void *arg, const char *actor, const char *object,
    const char *detail, struct slw_diag *d)
{
	struct audit_arg a;

	a.actor = actor;
	a.action = "kube.apply";
	a.object = object;
	a.detail = detail;
	return store_submit(arg, audit_txn, &a, d);
}

struct tok_arg {
	const char *node;
	int create;
	struct node_token *tok;
};

static int
token_txn(struct store_txn *t, void *arg)
{
	struct tok_arg *a = arg;

	if (a->create)
		return nodetoken_get_or_create(t, a->node,
		    KUBE_BOOTSTRAP_TOKEN_TTL, a->tok);
	return nodetoken_get(t, a->node, a->tok);
}

static int
store_token(void *arg, const char *node, int create, struct node_token *out,
    struct slw_diag *d)
{
	struct tok_arg ta;

	ta.node = node;
	ta.create = create;
	ta.tok = out;
	return create ? store_submit(arg, token_txn, &ta, d) :
	    store_read(arg, token_txn, &ta, d);
}

/* Counts, reports and audits the outcome of one object. */
static int
outcome(struct ctx *c, const char *what, const char *detail,
    const char *result, struct slw_diag *d)
{
	say(c, "%s%s%s: %s", what, detail ? " " : "", detail ? detail : "",
	    result);
	if (strcmp(result, "unchanged") == 0) {
		c->n->unchanged++;
		return 0;
	}
	if (strcmp(result, "created") == 0 || strcmp(result, "recreated") == 0)
		c->n->created++;
	else if (strcmp(result, "deleted") == 0)
		c->n->deleted++;
	else
		c->n->updated++;
	return c->src->audit(c->src->arg, c->actor, what, result, d);
}

/* ---- merging desired state into what the server has ---- */

static int
replace_field(cJSON *cur, const cJSON *desired, const char *name)
{
	const cJSON *want = cJSON_GetObjectItemCaseSensitive(desired, name);
	cJSON *have = cJSON_GetObjectItemCaseSensitive(cur, name), *dup;

	if (want == NULL || (have != NULL && cJSON_Compare(have, want, 1)))
		return 0;
	if ((dup = cJSON_Duplicate(want, 1)) == NULL)
		return SLW_ERR_NOMEM;
	if (have != NULL)
		cJSON_ReplaceItemViaPointer(cur, have, dup);
	else
		cJSON_AddItemToObject(cur, name, dup);
	return 1;
}

/* Sets each of desired.metadata.<map> in cur (other keys are kept). */
static int
merge_map(cJSON *cur, const cJSON *desired, const char *map)
{
	const cJSON *want = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(desired, "metadata"), map), *w;
	cJSON *md = cJSON_GetObjectItemCaseSensitive(cur, "metadata"), *have;
	int changed = 0;

	if (want == NULL || !cJSON_IsObject(md))
		return 0;
	have = cJSON_GetObjectItemCaseSensitive(md, map);
	if (have == NULL || !cJSON_IsObject(have)) {
		if (have != NULL)
			cJSON_DeleteItemFromObjectCaseSensitive(md, map);
		if ((have = cJSON_AddObjectToObject(md, map)) == NULL)
			return SLW_ERR_NOMEM;
	}
	cJSON_ArrayForEach(w, want) {
		const char *v = cJSON_IsString(w) ? w->valuestring : "";
		/* keys hold dots: no kube_str() paths here */
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(have,
		    w->string);

		if (cJSON_IsString(h) && strcmp(h->valuestring, v) == 0)
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(have, w->string);
		if (cJSON_AddStringToObject(have, w->string, v) == NULL)
			return SLW_ERR_NOMEM;
		changed = 1;
	}
	return changed;
}

static int
merge_meta(cJSON *cur, const cJSON *desired)
{
	int a, b;

	if ((a = merge_map(cur, desired, "labels")) < 0)
		return a;
	if ((b = merge_map(cur, desired, "annotations")) < 0)
		return b;
	return a || b;
}

static int
merge_secret(cJSON *cur, const cJSON *desired)
{
	const char *ct = kube_str(cur, "type"), *dt = kube_str(desired, "type");
	int a, b;

	if (ct == NULL || dt == NULL || strcmp(ct, dt) != 0)
		return KUBE_RECREATE;	/* type is immutable */
	if ((a = replace_field(cur, desired, "data")) < 0)
		return a;
	cJSON_DeleteItemFromObjectCaseSensitive(cur, "stringData");
	if ((b = merge_meta(cur, desired)) < 0)
		return b;
	return a || b;
}

static int
merge_role(cJSON *cur, const cJSON *desired)
{
	int a, b;

	if ((a = replace_field(cur, desired, "rules")) < 0)
		return a;
	if ((b = merge_meta(cur, desired)) < 0)
		return b;
	return a || b;
}

static int
merge_binding(cJSON *cur, const cJSON *desired)
{
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(desired, "roleRef");
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(cur, "roleRef");
	int a, b;

	if (h == NULL || !cJSON_Compare(h, w, 1))
		return KUBE_RECREATE;	/* roleRef is immutable */
	if ((a = replace_field(cur, desired, "subjects")) < 0)
		return a;
	if ((b = merge_meta(cur, desired)) < 0)
		return b;
	return a || b;
}

/* ---- building objects ---- */

static cJSON *
new_object(const char *api, const char *kind, const char *name,
    const char *ns, cJSON **labels)
{
	cJSON *o = cJSON_CreateObject(), *md;

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "apiVersion", api);
	cJSON_AddStringToObject(o, "kind", kind);
	md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "name", name);
	if (ns != NULL)
		cJSON_AddStringToObject(md, "namespace", ns);
	*labels = cJSON_AddObjectToObject(md, "labels");
	cJSON_AddStringToObject(*labels, LABEL_MANAGED, "slipway");
	return o;
}

static int
add_b64(cJSON *data, const char *key, const char *val)
{
	unsigned char out[512];
	size_t olen = 0;
	int r = 0;

	if (mbedtls_base64_encode(out, sizeof(out), &olen,
	    (const unsigned char *)val, strlen(val)) != 0)
		r = SLW_ERR_TOOBIG;
	else if (cJSON_AddStringToObject(data, key, (const char *)out) == NULL)
		r = SLW_ERR_NOMEM;
	mbedtls_platform_zeroize(out, sizeof(out));
	return r;
}

static cJSON *
token_secret(const struct node_token *tok, const char *node, char *name,
    size_t nlen)
{
	char group[INV_NAME_MAX + 32], exp[32], desc[160];
	struct tm tm;
	time_t e = tok->expires;
	cJSON *o, *labels, *data;

	snprintf(name, nlen, "bootstrap-token-%s", tok->id);
	if (nodetoken_group(node, group, sizeof(group)) != 0)
		return NULL;
	gmtime_r(&e, &tm);
	strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(desc, sizeof(desc), "kubelet bootstrap token of node %s "
	    "(slipway)", node);
	if ((o = new_object("v1", "Secret", name, "kube-system", &labels)) ==
	    NULL)
		return NULL;
	cJSON_AddStringToObject(labels, LABEL_NODE, node);
	cJSON_AddStringToObject(o, "type", TOKEN_TYPE);
	data = cJSON_AddObjectToObject(o, "data");
	if (data == NULL ||
	    add_b64(data, "description", desc) != 0 ||
	    add_b64(data, "token-id", tok->id) != 0 ||
	    add_b64(data, "token-secret", tok->secret) != 0 ||
	    add_b64(data, "expiration", exp) != 0 ||
	    add_b64(data, "usage-bootstrap-authentication", "true") != 0 ||
	    add_b64(data, "auth-extra-groups", group) != 0) {
		kube_json_free_wipe(o);
		return NULL;
	}
	return o;
}

/* ---- tokens ---- */

static int
apply_token(struct ctx *c, const struct inv_node *n, struct slw_diag *d)
{
	struct node_token tok;
	char name[64], what[128], detail[128];
	const char *result;
	cJSON *o = NULL;
	int create = !(c->flags & KUBE_CLUSTER_NO_NEW_TOKENS);
	int r;

	memset(&tok, 0, sizeof(tok));
	r = c->src->token(c->src->arg, n->name, create, &tok, d);
	if (r == SLW_ERR_NOTFOUND && !create) {
		slw_diag_clear(d);
		say(c, "node %s: no bootstrap token in the store", n->name);
		return 0;
	}
	if (r != 0) {
		nodetoken_wipe(&tok);
		return slw_diag(d, r, "node %s: cannot get its bootstrap token",
		    n->name);
	}
	if ((o = token_secret(&tok, n->name, name, sizeof(name))) == NULL) {
		nodetoken_wipe(&tok);
		return SLW_ERR_NOMEM;
	}
	snprintf(c->keep[c->n_keep++], sizeof(c->keep[0]), "%s", name);
	nodetoken_wipe(&tok);
	r = kube_apply(c->k, NS_SECRETS, name, o, merge_secret, KUBE_SECRET,
	    &result, d);
	kube_json_free_wipe(o);
	if (r != 0)
		return r;
	snprintf(what, sizeof(what), "secret kube-system/%s", name);
	snprintf(detail, sizeof(detail), "(node %s)", n->name);
	return outcome(c, what, detail, result, d);
}

struct stale_arg {
	struct ctx *c;
	char (*names)[254];
	size_t n, cap;
};

static int
stale_item(void *arg, cJSON *obj)
{
	struct stale_arg *a = arg;
	const char *name = kube_str(obj, "metadata.name");
	const char *type = kube_str(obj, "type");
	size_t i;

	if (name == NULL || type == NULL || strcmp(type, TOKEN_TYPE) != 0 ||
	    strlen(name) >= 254)
		return 0;
	for (i = 0; i < a->c->n_keep; i++)
		if (strcmp(a->c->keep[i], name) == 0)
			return 0;
	if (a->n < a->cap)
		snprintf(a->names[a->n++], 254, "%s", name);
	return 0;
}

static int
delete_stale_tokens(struct ctx *c, struct slw_diag *d)
{
	struct stale_arg a;
	char rv[KUBE_RV_MAX], path[400], what[300];
	size_t i;
	int r;

	memset(&a, 0, sizeof(a));
	a.c = c;
	a.cap = 256;
	if ((a.names = calloc(a.cap, sizeof(*a.names))) == NULL)
		return SLW_ERR_NOMEM;
	r = kube_list(c->k, NS_SECRETS,
	    "labelSelector=app.kubernetes.io%2Fmanaged-by%3Dslipway",
	    KUBE_SECRET, stale_item, &a, rv, d);
	for (i = 0; r == 0 && i < a.n; i++) {
		snprintf(path, sizeof(path), NS_SECRETS "/%s", a.names[i]);
		r = kube_delete(c->k, path, d);
		if (r == SLW_ERR_NOTFOUND) {
			slw_diag_clear(d);
			r = 0;
			continue;
		}
		snprintf(what, sizeof(what), "secret kube-system/%s",
		    a.names[i]);
		if (r == 0)
			r = outcome(c, what, "(token no longer in slipway)",
			    "deleted", d);
	}
	free(a.names);
	return r;
}

/* ---- RBAC ---- */

static cJSON *
subject(const char *kind, const char *name)
{
	cJSON *s = cJSON_CreateObject();

	cJSON_AddStringToObject(s, "kind", kind);
	cJSON_AddStringToObject(s, "apiGroup", RBAC_GROUP);
	cJSON_AddStringToObject(s, "name", name);
	return s;
}

static int
apply_binding(struct ctx *c, const char *name, const char *role,
    const char *kind, const char *who, struct slw_diag *d)
{
	cJSON *o, *labels, *ref, *subs;
	const char *result;
	char what[200];
	int r;

	if ((o = new_object(RBAC_GROUP "/v1", "ClusterRoleBinding", name, NULL,
	    &labels)) == NULL)
		return SLW_ERR_NOMEM;
	ref = cJSON_AddObjectToObject(o, "roleRef");
	cJSON_AddStringToObject(ref, "apiGroup", RBAC_GROUP);
	cJSON_AddStringToObject(ref, "kind", "ClusterRole");
	cJSON_AddStringToObject(ref, "name", role);
	subs = cJSON_AddArrayToObject(o, "subjects");
	cJSON_AddItemToArray(subs, subject(kind, who));
	r = kube_apply(c->k, CLUSTERROLEBINDINGS, name, o, merge_binding, 0,
	    &result, d);
	cJSON_Delete(o);
	if (r != 0)
		return r;
	snprintf(what, sizeof(what), "clusterrolebinding %s", name);
	return outcome(c, what, NULL, result, d);
}

/* The seed's apiserver-to-kubelet.yaml: the apiserver (user kubernetes)
 * may use the kubelet API (exec, logs, stats, metrics). */
static int
apply_kubelet_api_role(struct ctx *c, struct slw_diag *d)
{
	static const char *const res[] = {
		"nodes/proxy", "nodes/stats", "nodes/log", "nodes/spec",
		"nodes/metrics",
	};
	cJSON *o, *labels, *ann, *rules, *rule, *a;
	const char *result;
	size_t i;
	int r;

	if ((o = new_object(RBAC_GROUP "/v1", "ClusterRole",
	    "system:kubernetes-to-kubelet", NULL, &labels)) == NULL)
		return SLW_ERR_NOMEM;
	cJSON_AddStringToObject(labels, "kubernetes.io/bootstrapping",
	    "rbac-defaults");
	ann = cJSON_AddObjectToObject(cJSON_GetObjectItem(o, "metadata"),
	    "annotations");
	cJSON_AddStringToObject(ann, "rbac.authorization.kubernetes.io/autoupdate",
	    "true");
	rules = cJSON_AddArrayToObject(o, "rules");
	rule = cJSON_CreateObject();
	cJSON_AddItemToArray(rules, rule);
	a = cJSON_AddArrayToObject(rule, "apiGroups");
	cJSON_AddItemToArray(a, cJSON_CreateString(""));
	a = cJSON_AddArrayToObject(rule, "resources");
	for (i = 0; i < sizeof(res) / sizeof(res[0]); i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(res[i]));
	a = cJSON_AddArrayToObject(rule, "verbs");
	cJSON_AddItemToArray(a, cJSON_CreateString("*"));
	r = kube_apply(c->k, CLUSTERROLES, "system:kubernetes-to-kubelet", o,
	    merge_role, 0, &result, d);
	cJSON_Delete(o);
	if (r != 0)
		return r;
	return outcome(c, "clusterrole system:kubernetes-to-kubelet", NULL,
	    result, d);
}

/* Roles whose binding makes kube-controller-manager approve CSRs. */
struct approvers_arg {
	char (*roles)[254];
	size_t n, cap;
	char (*bindings)[254];
	size_t nb, capb;
};

static int
grants_auto_approval(const cJSON *role)
{
	static const char *const subs[] = {
		"certificatesigningrequests/nodeclient",
		"certificatesigningrequests/selfnodeclient",
		"certificatesigningrequests/selfnodeserver",
	};
	const cJSON *rule, *res, *verb, *grp;
	size_t i;

	cJSON_ArrayForEach(rule, cJSON_GetObjectItemCaseSensitive(role,
	    "rules")) {
		int create = 0, group = 0;

		cJSON_ArrayForEach(verb, cJSON_GetObjectItemCaseSensitive(rule,
		    "verbs"))
			if (cJSON_IsString(verb) &&
			    (strcmp(verb->valuestring, "create") == 0 ||
			    strcmp(verb->valuestring, "*") == 0))
				create = 1;
		cJSON_ArrayForEach(grp, cJSON_GetObjectItemCaseSensitive(rule,
		    "apiGroups"))
			if (cJSON_IsString(grp) &&
			    (strcmp(grp->valuestring, "certificates.k8s.io") ==
			    0 || strcmp(grp->valuestring, "*") == 0))
				group = 1;
		if (!create || !group)
			continue;
		cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(rule,
		    "resources"))
			for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
				if (cJSON_IsString(res) &&
				    strcmp(res->valuestring, subs[i]) == 0)
					return 1;
	}
	return 0;
}

static int
role_item(void *arg, cJSON *obj)
{
	struct approvers_arg *a = arg;
	const char *name = kube_str(obj, "metadata.name");

	/* cluster-admin's wildcard is not an auto-approver: skip "*" rules
	 * by only matching the named subresources */
	if (name != NULL && strlen(name) < 254 && grants_auto_approval(obj) &&
	    a->n < a->cap)
		snprintf(a->roles[a->n++], 254, "%s", name);
	return 0;
}

static int
binding_item(void *arg, cJSON *obj)
{
	struct approvers_arg *a = arg;
	const char *name = kube_str(obj, "metadata.name");
	const char *kind = kube_str(obj, "roleRef.kind");
	const char *role = kube_str(obj, "roleRef.name");
	size_t i;

	if (name == NULL || kind == NULL || role == NULL ||
	    strcmp(kind, "ClusterRole") != 0 || strlen(name) >= 254)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->roles[i], role) == 0 && a->nb < a->capb) {
			snprintf(a->bindings[a->nb++], 254, "%s", name);
			break;
		}
	return 0;
}

static int
delete_auto_approvers(struct ctx *c, struct slw_diag *d)
{
	struct approvers_arg a;
	char rv[KUBE_RV_MAX], path[400], what[300];
	size_t i;
	int r;

	memset(&a, 0, sizeof(a));
	a.cap = a.capb = 256;
	a.roles = calloc(a.cap, sizeof(*a.roles));
	a.bindings = calloc(a.capb, sizeof(*a.bindings));
	if (a.roles == NULL || a.bindings == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	if ((r = kube_list(c->k, CLUSTERROLES, NULL, 0, role_item, &a, rv,
	    d)) != 0)
		goto out;
	if (a.n > 0 && (r = kube_list(c->k, CLUSTERROLEBINDINGS, NULL, 0,
	    binding_item, &a, rv, d)) != 0)
		goto out;
	for (i = 0; i < a.nb; i++) {
		snprintf(path, sizeof(path), CLUSTERROLEBINDINGS "/%s",
		    a.bindings[i]);
		r = kube_delete(c->k, path, d);
		if (r == SLW_ERR_NOTFOUND) {
			slw_diag_clear(d);
			r = 0;
			continue;
		}
		if (r != 0)
			goto out;
		snprintf(what, sizeof(what), "clusterrolebinding %s",
		    a.bindings[i]);
		if ((r = outcome(c, what, "(auto-approves CSRs; slipway's "
		    "policy decides instead)", "deleted", d)) != 0)
			goto out;
	}
	r = 0;
 out:
	free(a.roles);
	free(a.bindings);
	return r;
}

int
kube_cluster_apply(struct kube *k, struct store *s,
    const struct inventory *inv, unsigned int flags, const char *actor,
    void (*report)(void *arg, const char *line), void *arg,
    struct kube_cluster_counts *counts, struct slw_diag *d)
{
	struct kube_cluster_src src;

	src.token = store_token;
	src.audit = store_audit;
	src.arg = s;
	return kube_cluster_apply_src(k, &src, inv, flags, actor, report, arg,
	    counts, d);
}

int
kube_cluster_apply_src(struct kube *k, const struct kube_cluster_src *src,
    const struct inventory *inv, unsigned int flags, const char *actor,
    void (*report)(void *arg, const char *line), void *arg,
    struct kube_cluster_counts *counts, struct slw_diag *d)
{
	struct kube_cluster_counts local;
	struct ctx c;
	size_t i;
	int r;

	memset(&local, 0, sizeof(local));
	memset(&c, 0, sizeof(c));
	c.k = k;
	c.src = src;
	c.inv = inv;
	c.flags = flags;
	c.actor = actor ? actor : "slipway";
	c.report = report;
	c.arg = arg;
	c.n = counts ? counts : &local;
	memset(c.n, 0, sizeof(*c.n));
	if ((c.keep = calloc(inv->n_nodes + 1, sizeof(*c.keep))) == NULL)
		return SLW_ERR_NOMEM;
	for (i = 0; i < inv->n_nodes; i++)
		if ((r = apply_token(&c, &inv->nodes[i], d)) != 0)
			goto out;
	if ((r = delete_stale_tokens(&c, d)) != 0)
		goto out;
	if (!(flags & KUBE_CLUSTER_TOKENS_ONLY)) {
		if ((r = apply_binding(&c, "kubelet-bootstrap",
		    "system:node-bootstrapper", "Group", NODETOKEN_GROUP,
		    d)) != 0 ||
		    (r = apply_kubelet_api_role(&c, d)) != 0 ||
		    (r = apply_binding(&c, "system:kubernetes",
		    "system:kubernetes-to-kubelet", "User", "kubernetes",
		    d)) != 0 ||
		    (r = delete_auto_approvers(&c, d)) != 0)
			goto out;
	}
	r = 0;
 out:
	free(c.keep);
	return r;
}
