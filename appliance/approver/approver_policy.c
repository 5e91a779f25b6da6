// SPDX-License-Identifier: Apache-2.0
/*
 * approver_policy.c: the kubelet CSR policy, a pure function of one CSR,
 * the inventory and the nodes' bootstrap token ids. Deny by default: every
 * path that does not end in an explicit approval denies, and every reason
 * names the rule it enforces. Must never approve a CSR for a node other than
 * the one the requester's credentials belong to, and never do I/O (the
 * token lookup is the caller's).
 */
#include "approver.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/x509.h>

#define BOOTSTRAP_USER_PREFIX "system:bootstrap:"

const char *
approver_policy_verdict_name(enum approver_verdict v)
{
	switch (v) {
	case APPROVER_APPROVE: return "approve";
	case APPROVER_DENY: return "deny";
	default: return "ignore";
	}
}

/*
 * The rule a reason names, from the beginnings of the reasons below (after
 * the signer's prefix): a fixed set, so a metric label never carries text
 * from a request. A new reason must start like one of these or it counts
 * as "other" (tests/unit/approver_test.c checks every denial it makes).
 */
static const struct {
	const char *prefix;
	const char *rule;
} rule_of[] = {
	{ "subject ", "subject" },
	{ "node name too long", "subject" },
	{ "requester ", "requester" },
	{ "token ", "requester" },
	{ "usage", "usages" },
	{ "a client certificate has", "sans" },
	{ "a serving certificate needs", "sans" },
	{ "DNS SAN", "sans" },
	{ "IP SAN", "sans" },
	{ "email SAN", "sans" },
	{ "URI SAN", "sans" },
	{ "SAN of a kind", "sans" },
	{ "spec.request", "request" },
	{ "spec.expirationSeconds", "expiration" },
	{ "denied by default", "default" },
};

const char *const approver_policy_rules[] = {
	"kube-apiserver-client-kubelet", "kubelet-serving",	/* approvals */
	"subject", "requester", "usages", "sans", "request", "inventory",
	"expiration", "default", "other", NULL,
};

const char *
approver_policy_rule(enum approver_verdict v, const char *reason)
{
	static const char client[] = "kube-apiserver-client-kubelet: ";
	static const char serving[] = "kubelet-serving: ";
	const char *r = reason != NULL ? reason : "";
	const char *kind = NULL;
	size_t i;

	if (strncmp(r, client, sizeof(client) - 1) == 0) {
		r += sizeof(client) - 1;
		kind = approver_policy_rules[0];
	} else if (strncmp(r, serving, sizeof(serving) - 1) == 0) {
		r += sizeof(serving) - 1;
		kind = approver_policy_rules[1];
	}
	if (v == APPROVER_APPROVE)
		return kind != NULL ? kind : "other";
	/* "node %s has no bootstrap token", "node '%s' is not in the inventory" */
	if (strncmp(r, "node ", 5) == 0)
		return strstr(r, " is not in the inventory") != NULL ?
		    "inventory" : strstr(r, "bootstrap token") != NULL ?
		    "requester" : "other";
	for (i = 0; i < sizeof(rule_of) / sizeof(rule_of[0]); i++)
		if (strncmp(r, rule_of[i].prefix, strlen(rule_of[i].prefix)) == 0)
			return rule_of[i].rule;
	return "other";
}

void
approver_policy_decision_free(struct approver_decision *dec)
{
	if (dec == NULL)
		return;
	csr_free(dec->csr);
	dec->csr = NULL;
}

/* A printable, bounded copy of an untrusted string for a reason text. */
static const char *
shown(const char *s, char *tmp, size_t len)
{
	size_t i, o = 0;

	if (s == NULL)
		return "(none)";
	for (i = 0; s[i] != '\0' && o + 4 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= 96) {
			memcpy(tmp + o, "...", 3);
			o += 3;
			break;
		}
		tmp[o++] = (c >= 0x20 && c < 0x7f && c != '\'') ? (char)c : '?';
	}
	tmp[o] = '\0';
	return tmp;
}

static const char *
signer_short(enum approver_kind kind)
{
	return kind == APPROVER_KIND_CLIENT ? "kube-apiserver-client-kubelet" :
	    "kubelet-serving";
}

/* Sets the verdict and its reason; returns 1 ("decided"). The checks below
 * return 0 when the request passes them, 1 when they decided (denied), and
 * a negative SLW_ERR_* when they could not decide. */
static int
verdict(struct approver_decision *out, enum approver_verdict v,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
verdict(struct approver_decision *out, enum approver_verdict v,
    const char *fmt, ...)
{
	va_list ap;
	size_t off = 0;
	int n;

	out->verdict = v;
	if (out->kind != APPROVER_KIND_NONE) {
		n = snprintf(out->reason, sizeof(out->reason), "%s: ",
		    signer_short(out->kind));
		off = n > 0 ? (size_t)n : 0;
	}
	va_start(ap, fmt);
	vsnprintf(out->reason + off, sizeof(out->reason) - off, fmt, ap);
	va_end(ap);
	if (v != APPROVER_APPROVE) {
		csr_free(out->csr);
		out->csr = NULL;
	}
	return 1;	/* decided */
}

static int
has_group(const struct approver_request *rq, const char *g)
{
	size_t i;

	for (i = 0; i < rq->n_groups; i++)
		if (rq->groups[i] != NULL && strcmp(rq->groups[i], g) == 0)
			return 1;
	return 0;
}

static void
fmt_duration(uint64_t s, char *out, size_t len)
{
	if (s % 3600 == 0)
		snprintf(out, len, "%lluh", (unsigned long long)(s / 3600));
	else if (s % 60 == 0)
		snprintf(out, len, "%llum", (unsigned long long)(s / 60));
	else
		snprintf(out, len, "%llus", (unsigned long long)s);
}

/* The subject must be exactly O=system:nodes, CN=system:node:NAME. */
static int
check_subject(const struct csr *c, struct approver_decision *out,
    const char **name)
{
	char t1[128], t2[128];

	*name = NULL;
	if (c->subject.n_o != 1 ||
	    strcmp(c->subject.o[0], APPROVER_NODES_GROUP) != 0) {
		if (c->subject.n_o == 0)
			return verdict(out, APPROVER_DENY, "subject O must be "
			    "exactly [system:nodes], the request has no O");
		return verdict(out, APPROVER_DENY, "subject O must be exactly "
		    "[system:nodes], the request has %zu O value(s), the "
		    "first '%s'", c->subject.n_o,
		    shown(c->subject.o[0], t2, sizeof(t2)));
	}
	if (strncmp(c->subject.cn, APPROVER_NODE_PREFIX,
	    strlen(APPROVER_NODE_PREFIX)) != 0 ||
	    c->subject.cn[strlen(APPROVER_NODE_PREFIX)] == '\0')
		return verdict(out, APPROVER_DENY, "subject CN must be "
		    "system:node:NAME, the request has CN '%s'",
		    shown(c->subject.cn, t1, sizeof(t1)));
	if (c->subject.c[0] || c->subject.st[0] || c->subject.l[0] ||
	    c->subject.ou[0] || c->subject.n_other != 0)
		return verdict(out, APPROVER_DENY, "subject must hold only O "
		    "and CN (the request has C, ST, L, OU or other attributes)");
	*name = c->subject.cn + strlen(APPROVER_NODE_PREFIX);
	return 0;
}

/* Who may ask: the node's own bootstrap token, or the node itself. */
static int
check_requester(const struct approver_policy *p,
    const struct approver_request *rq, const char *node,
    struct approver_decision *out, char *via, size_t vlen)
{
	char self[INV_NAME_MAX + 16], group[INV_NAME_MAX + 32], id[7];
	char t1[128], t2[128];
	const char *user = rq->username ? rq->username : "";
	const char *tok;
	size_t i;
	int r;

	snprintf(self, sizeof(self), APPROVER_NODE_PREFIX "%s", node);
	if (nodetoken_group(node, group, sizeof(group)) != 0)
		return verdict(out, APPROVER_DENY, "node name too long");
	if (strcmp(user, self) == 0) {
		if (!has_group(rq, APPROVER_NODES_GROUP))
			return verdict(out, APPROVER_DENY, "requester %s is "
			    "not in group system:nodes", self);
		snprintf(via, vlen, "%s itself%s", self,
		    out->kind == APPROVER_KIND_CLIENT ? " (renewal)" : "");
		return 0;
	}
	if (out->kind == APPROVER_KIND_SERVING) {
		if (strncmp(user, BOOTSTRAP_USER_PREFIX,
		    strlen(BOOTSTRAP_USER_PREFIX)) == 0)
			return verdict(out, APPROVER_DENY, "requester '%s' is "
			    "a bootstrap token; only %s may request node %s's "
			    "serving certificate", shown(user, t1, sizeof(t1)),
			    self, node);
		return verdict(out, APPROVER_DENY, "requester '%s' is not %s; "
		    "only the node itself may request its serving certificate",
		    shown(user, t1, sizeof(t1)), self);
	}
	if (strncmp(user, BOOTSTRAP_USER_PREFIX,
	    strlen(BOOTSTRAP_USER_PREFIX)) == 0) {
		tok = user + strlen(BOOTSTRAP_USER_PREFIX);
		if (strlen(tok) != 6 || strspn(tok,
		    "abcdefghijklmnopqrstuvwxyz0123456789") != 6)
			return verdict(out, APPROVER_DENY, "requester '%s' is "
			    "not a bootstrap token identity",
			    shown(user, t1, sizeof(t1)));
		if (!has_group(rq, APPROVER_BOOTSTRAPPERS))
			return verdict(out, APPROVER_DENY, "requester %s is "
			    "not in group system:bootstrappers", user);
		for (i = 0; i < rq->n_groups; i++) {
			const char *g = rq->groups[i];

			if (g != NULL && strncmp(g, APPROVER_BOOTSTRAPPERS ":",
			    strlen(APPROVER_BOOTSTRAPPERS) + 1) == 0 &&
			    strcmp(g, group) != 0)
				return verdict(out, APPROVER_DENY, "requester "
				    "%s carries group '%s': a bootstrap token "
				    "of another node may not request a "
				    "certificate for node %s", user,
				    shown(g, t2, sizeof(t2)), node);
		}
		if (!has_group(rq, group))
			return verdict(out, APPROVER_DENY, "requester %s is "
			    "not in group %s (node %s's bootstrap group)", user,
			    group, node);
		memset(id, 0, sizeof(id));
		r = p->token_id != NULL ? p->token_id(p->token_arg, node, id) :
		    SLW_ERR_NOTFOUND;
		if (r == SLW_ERR_NOTFOUND)
			return verdict(out, APPROVER_DENY, "node %s has no "
			    "bootstrap token in slipway, so token %s cannot be "
			    "its own", node, tok);
		if (r != 0)	/* not a decision: the caller retries */
			return r < 0 ? r : SLW_ERR_INTERNAL;
		if (strcmp(id, tok) != 0)
			return verdict(out, APPROVER_DENY, "token %s is not "
			    "node %s's bootstrap token", tok, node);
		snprintf(via, vlen, "node %s's bootstrap token %s", node, tok);
		return 0;
	}
	if (strncmp(user, APPROVER_NODE_PREFIX,
	    strlen(APPROVER_NODE_PREFIX)) == 0)
		return verdict(out, APPROVER_DENY, "requester %s may only "
		    "renew its own certificate, not one for node %s",
		    shown(user, t1, sizeof(t1)), node);
	return verdict(out, APPROVER_DENY, "requester '%s' is neither node "
	    "%s's bootstrap token nor %s", shown(user, t1, sizeof(t1)), node,
	    self);
}

/* Exactly digital signature + client/server auth, key encipherment
 * optional (Kubernetes accepts it for any key type). */
static int
check_usages(const struct approver_request *rq,
    struct approver_decision *out)
{
	const char *auth = out->kind == APPROVER_KIND_CLIENT ? "client auth" :
	    "server auth";
	int ds = 0, ke = 0, au = 0, *f;
	char t1[128];
	size_t i;

	for (i = 0; i < rq->n_usages; i++) {
		const char *u = rq->usages[i] ? rq->usages[i] : "";

		if (strcmp(u, "digital signature") == 0)
			f = &ds;
		else if (strcmp(u, "key encipherment") == 0)
			f = &ke;
		else if (strcmp(u, auth) == 0)
			f = &au;
		else
			return verdict(out, APPROVER_DENY, "usage '%s' is not "
			    "allowed (only digital signature, %s and "
			    "optionally key encipherment)",
			    shown(u, t1, sizeof(t1)), auth);
		if ((*f)++)
			return verdict(out, APPROVER_DENY, "usage '%s' is "
			    "listed twice", u);
	}
	if (!ds || !au)
		return verdict(out, APPROVER_DENY, "usages must include "
		    "digital signature and %s", auth);
	out->key_encipherment = ke;
	return 0;
}

static int
dns_allowed(const struct inv_node *n, const char *name)
{
	size_t i;

	if (strcasecmp(name, n->name) == 0)
		return 1;
	for (i = 0; i < n->n_extra; i++)
		if (strcasecmp(name, n->extra_names[i]) == 0)
			return 1;
	return 0;
}

static int
check_sans(const struct csr *c, const struct inv_node *n,
    struct approver_decision *out)
{
	struct san nodeip;
	char t1[SAN_VAL_MAX + 8], t2[128];
	size_t i;

	if (out->kind == APPROVER_KIND_CLIENT) {
		if (c->n_sans == 0)
			return 0;
		if (san_format(&c->sans[0], t1, sizeof(t1)) != 0)
			snprintf(t1, sizeof(t1), "a SAN");
		return verdict(out, APPROVER_DENY, "a client certificate has "
		    "no SANs of any kind; the request has %zu (%s)", c->n_sans,
		    shown(t1, t2, sizeof(t2)));
	}
	if (c->n_sans == 0)
		return verdict(out, APPROVER_DENY, "a serving certificate needs "
		    "at least one DNS or IP SAN");
	if (san_ip(n->ip, &nodeip, NULL) != 0)
		memset(&nodeip, 0, sizeof(nodeip));
	for (i = 0; i < c->n_sans; i++) {
		const struct san *s = &c->sans[i];

		switch (s->type) {
		case SAN_DNS:
			if (!dns_allowed(n, s->value))
				return verdict(out, APPROVER_DENY, "DNS SAN "
				    "'%s' is neither node %s's name nor one of "
				    "its extraNames in the inventory",
				    shown(s->value, t2, sizeof(t2)), n->name);
			break;
		case SAN_IP:
			if (nodeip.type != SAN_IP || !san_equal(s, &nodeip))
				return verdict(out, APPROVER_DENY, "IP SAN %s "
				    "is not node %s's address in the inventory "
				    "(%s)", shown(s->value, t2, sizeof(t2)),
				    n->name, n->ip);
			break;
		case SAN_EMAIL:
			return verdict(out, APPROVER_DENY, "email SAN '%s' is "
			    "not allowed", shown(s->value, t2, sizeof(t2)));
		case SAN_URI:
			return verdict(out, APPROVER_DENY, "URI SAN '%s' is "
			    "not allowed", shown(s->value, t2, sizeof(t2)));
		default:
			return verdict(out, APPROVER_DENY, "SAN of a kind "
			    "other than DNS or IP is not allowed");
		}
	}
	return 0;
}

static int
evaluate(const struct approver_policy *p, const struct approver_request *rq,
    struct approver_decision *out)
{
	struct slw_diag d;
	const struct inv_node *n;
	const char *node;
	char via[160], t1[128], dur[32], req[96], cap_s[32];
	uint64_t cap, validity;
	int r;

	memset(out, 0, sizeof(*out));
	/* deny by default: only the last line of this function approves */
	out->verdict = APPROVER_DENY;
	snprintf(out->reason, sizeof(out->reason), "denied by default");
	slw_diag_clear(&d);
	if (p == NULL || p->inv == NULL || rq == NULL)
		return SLW_ERR_INVALID;
	if (rq->signer == NULL || (strcmp(rq->signer, APPROVER_SIGNER_CLIENT)
	    != 0 && strcmp(rq->signer, APPROVER_SIGNER_SERVING) != 0))
		return verdict(out, APPROVER_IGNORE, "signer '%s' is not "
		    "handled by slipway (only %s and %s)",
		    shown(rq->signer, t1, sizeof(t1)), APPROVER_SIGNER_CLIENT,
		    APPROVER_SIGNER_SERVING);
	out->kind = strcmp(rq->signer, APPROVER_SIGNER_CLIENT) == 0 ?
	    APPROVER_KIND_CLIENT : APPROVER_KIND_SERVING;

	/* spec.request: one PEM "CERTIFICATE REQUEST", self-signature ok */
	r = csr_parse_pem_strict(rq->request, rq->request_len, &out->csr, &d);
	if (r == SLW_ERR_NOMEM)
		return r;
	if (r != 0)
		return verdict(out, APPROVER_DENY, "spec.request: %s",
		    slw_diag_str(&d, r));
	if ((r = check_subject(out->csr, out, &node)) != 0)
		return r;
	if ((n = inventory_node(p->inv, node)) == NULL)
		return verdict(out, APPROVER_DENY, "node '%s' is not in the "
		    "inventory", shown(node, t1, sizeof(t1)));
	snprintf(out->node, sizeof(out->node), "%s", n->name);
	via[0] = '\0';
	if ((r = check_requester(p, rq, n->name, out, via, sizeof(via))) !=
	    0 || (r = check_usages(rq, out)) != 0 ||
	    (r = check_sans(out->csr, n, out)) != 0)
		return r;

	/* validity: spec.expirationSeconds, capped by policy */
	cap = p->max_seconds ? p->max_seconds : p->inv->csr_max_seconds;
	if (cap < APPROVER_MIN_SECONDS)
		cap = APPROVER_MIN_SECONDS;
	fmt_duration(cap, cap_s, sizeof(cap_s));
	if (rq->expiration_seconds < 0)
		return verdict(out, APPROVER_DENY, "spec.expirationSeconds "
		    "must be positive");
	if (rq->expiration_seconds == 0) {
		validity = cap;
		snprintf(req, sizeof(req), "no expirationSeconds: the policy "
		    "maximum");
	} else if ((uint64_t)rq->expiration_seconds > cap) {
		validity = cap;
		fmt_duration((uint64_t)rq->expiration_seconds, dur,
		    sizeof(dur));
		snprintf(req, sizeof(req), "%s requested, capped at the policy "
		    "maximum", dur);
	} else if (rq->expiration_seconds < APPROVER_MIN_SECONDS) {
		validity = APPROVER_MIN_SECONDS;
		fmt_duration((uint64_t)rq->expiration_seconds, dur,
		    sizeof(dur));
		snprintf(req, sizeof(req), "%s requested, raised to the 10m "
		    "minimum", dur);
	} else {
		validity = (uint64_t)rq->expiration_seconds;
		snprintf(req, sizeof(req), "as requested; policy maximum %s",
		    cap_s);
	}
	out->validity = (uint32_t)validity;
	fmt_duration(validity, dur, sizeof(dur));
	return verdict(out, APPROVER_APPROVE, "node %s, requested by %s; "
	    "validity %s (%s)", n->name, via, dur, req);
}

int
approver_policy_evaluate(const struct approver_policy *p,
    const struct approver_request *rq, struct approver_decision *out)
{
	int r = evaluate(p, rq, out);

	if (r < 0) {
		csr_free(out->csr);
		out->csr = NULL;
		out->verdict = APPROVER_DENY;	/* never read, but never approve */
		return r;
	}
	return 0;
}

int
approver_policy_decide(const struct approver_policy *p,
    const struct approver_request *rq, struct approver_decision *out)
{
	const char *st = NULL;

	if (p == NULL || rq == NULL)
		return SLW_ERR_INVALID;
	if (rq->failed)
		st = "already failed";
	else if (rq->denied)
		st = "already denied";
	else if (rq->approved && rq->issued)
		st = "already approved and issued";
	else if (rq->approved)
		st = "already approved";
	if (st == NULL || rq->signer == NULL ||
	    (strcmp(rq->signer, APPROVER_SIGNER_CLIENT) != 0 &&
	    strcmp(rq->signer, APPROVER_SIGNER_SERVING) != 0))
		return approver_policy_evaluate(p, rq, out);
	/* one of ours, decided before: left as it is */
	memset(out, 0, sizeof(*out));
	out->kind = strcmp(rq->signer, APPROVER_SIGNER_CLIENT) == 0 ?
	    APPROVER_KIND_CLIENT : APPROVER_KIND_SERVING;
	(void)verdict(out, APPROVER_IGNORE, "%s", st);
	return 0;
}
