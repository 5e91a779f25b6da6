// SPDX-License-Identifier: Apache-2.0
/*
 * deliver.c: delivery to running nodes (deliver.h): the node fetches its
 * re-rendered bundle with a fresh one-time token and installs what
 * changed; the appliance reads back the installed files' hashes, compares
 * them with the manifest recorded when the bundle was served, checks the
 * trust files against the store's trust and records the node's trust;
 * then each unit whose files are newer than its start is restarted, in
 * the rollout's order, each followed by its gate. Must never push a key,
 * and never let a token or key reach a progress line, the journal or an
 * error.
 */
#include "deliver.h"
#include "bundle.h"
#include "bundle_units.h"
#include "ca.h"
#include "certdb.h"
#include "etcd_ops.h"
#include "gate.h"
#include "http_redeem.h"
#include "identity.h"
#include "rand.h"
#include "https.h"
#include "signing.h"
#include "token_issue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/sha256.h>

/* Long enough for a slow node to start curl; short if it never does. */
#define DELIVER_TOKEN_TTL 300
#define DELIVER_TIMEOUT 180		/* fetch and install */
#define RESTART_TIMEOUT 120		/* one unit */
#define GATE_TIMEOUT 120		/* a tier's gate after a restart */
/*
 * After an etcd member is back, its clients reconnect to it only after
 * their own backoff (gRPC: 1 s, then x1.6 with jitter): the next member
 * stops only once they had time to, or a client that lost both could fail.
 */
#define ETCD_SETTLE_S 5
/* the read-back output of one command, below SSH_OUT_HEAD + SSH_OUT_TAIL */
#define READBACK_CHUNK 2560
#define STAGE_DIR "/run/slipway-delivery"
#define MARK_DIR "/run/slipway"

#define PREAMBLE \
	"set -e\n" \
	"PATH=/opt/k8s/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n" \
	"export PATH\n"

/* ---- scope ---- */

struct scope_arg {
	const struct inventory *inv;
	const char *ca_name;
	uint64_t scope;
};

static int
scope_txn(struct store_txn *t, void *arg)
{
	static const enum ident ids[] = {
		ID_ETCD_MEMBER, ID_ETCD_CLIENT, ID_FLANNELD, ID_APISERVER,
		ID_APISERVER_ETCD_CLIENT, ID_APISERVER_KUBELET_CLIENT,
		ID_FRONT_PROXY_CLIENT, ID_CONTROLLER_MANAGER, ID_SCHEDULER,
		ID_KUBE_PROXY, ID_NODE_CLIENT,
	};
	struct scope_arg *a = arg;
	struct inv_node any;
	struct identity id;
	char name[CA_NAME_MAX];
	size_t i;
	int r;

	/* a node with every role stands for all of them */
	memset(&any, 0, sizeof(any));
	snprintf(any.name, sizeof(any.name), "scope");
	snprintf(any.ip, sizeof(any.ip), "127.0.0.1");
	any.roles = ROLE_ETCD | ROLE_MASTER | ROLE_WORKER;
	a->scope = BUNDLE_SCOPE_PARTIAL;
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		if ((r = identity_get(a->inv, ids[i], &any, 0, &id, NULL)) != 0)
			return r;
		if ((r = ca_resolve(t, id.ca_role, name)) != 0)
			return r;
		if (strcmp(name, a->ca_name) == 0)
			a->scope |= BUNDLE_SCOPE_ID(ids[i]);
	}
	return 0;
}

int
fleet_deliver_scope_of_ca(struct store *s, const struct inventory *inv,
    const char *ca_name, uint64_t *scope, struct slw_diag *d)
{
	struct scope_arg a = { inv, ca_name, 0 };
	int r;

	if ((r = store_read(s, scope_txn, &a, d)) == 0)
		*scope = a.scope;
	return r;
}

void
fleet_id_reset(struct fleet *f)
{
	pthread_mutex_lock(&f->mu);
	https_free(f->etcd_id);
	https_free(f->admin_id);
	signing_free(f->sg);
	f->etcd_id = f->admin_id = NULL;
	f->sg = NULL;
	pthread_mutex_unlock(&f->mu);
}

/* ---- the node's trust, as read back ---- */

struct trust_state {
	char ca_name[CA_NAME_MAX];
	uint32_t gens[8];
	size_t n;
	uint8_t hash[32];		/* SHA-256 of the trust PEM */
};

struct trust_arg {
	const char *role;
	struct trust_state *ts;
};

static int
gen_one(void *arg, const struct ca_rec *c)
{
	struct trust_state *ts = arg;

	if (c->state == CA_RETIRED || strcmp(c->name, ts->ca_name) != 0)
		return 0;
	if (ts->n < sizeof(ts->gens) / sizeof(ts->gens[0]))
		ts->gens[ts->n++] = c->gen;
	return 0;
}

static int
trust_txn(struct store_txn *t, void *arg)
{
	struct trust_arg *a = arg;
	struct buf pem = { 0 };
	int r;

	memset(a->ts, 0, sizeof(*a->ts));
	if ((r = ca_resolve(t, a->role, a->ts->ca_name)) != 0 ||
	    (r = ca_foreach(t, gen_one, a->ts)) != 0 ||
	    (r = ca_trust_pem(t, a->role, &pem)) != 0)
		return r;
	r = mbedtls_sha256(pem.data, pem.len, a->ts->hash, 0) != 0 ?
	    SLW_ERR_INTERNAL : 0;
	buf_free(&pem);
	return r;
}

static void
hex32(const uint8_t h[32], char out[65])
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = hx[h[i] >> 4];
		out[2 * i + 1] = hx[h[i] & 15];
	}
	out[64] = '\0';
}

static void
gens_text(const uint32_t *g, size_t n, char *out, size_t len)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; i < n; i++)
		fleet_appendf(out, len, "%s%u", i ? "," : "", g[i]);
}

struct noderec_arg {
	const char *node, *role;
	const struct journal_node_ca *rec;
	const uint8_t *tkey;		/* the token whose issuance: leaf gen */
};

/* The generation of the node's leaves of a CA, from the issuance. */
static int
leaf_gen_of(struct store_txn *t, const uint8_t *tkey, const char *ca_name,
    uint32_t *gen)
{
	struct issuance is;
	struct cert_rec cr;
	size_t i;
	int r;

	*gen = 0;
	if ((r = redeem_issuance_get(t, tkey, &is)) != 0)
		return r;
	for (i = 0; i < is.iss.n; i++) {
		memset(&cr, 0, sizeof(cr));
		if ((r = certdb_get(t, is.iss.serial[i], &cr)) != 0)
			return r;
		if (strcmp(cr.ca, ca_name) == 0)
			*gen = cr.ca_gen;
		certdb_rec_free(&cr);
	}
	return 0;
}

struct record_arg {
	const char *node;
	const char *trust_role, *leaf_role;
	const struct trust_state *ts;
	const uint8_t *tkey;
	const char *actor;
};

static int
record_txn(struct store_txn *t, void *arg)
{
	struct record_arg *a = arg;
	struct journal_node_ca rec;
	char name[CA_NAME_MAX];
	int r;

	if (a->trust_role != NULL) {
		if ((r = journal_node_get(t, a->node, a->trust_role, &rec)) != 0 &&
		    r != SLW_ERR_NOTFOUND)
			return r;
		if (r == SLW_ERR_NOTFOUND) {
			memset(&rec, 0, sizeof(rec));
			fleet_fmt(rec.role, sizeof(rec.role), "%s", a->trust_role);
		}
		memcpy(rec.trust, a->ts->gens, a->ts->n * sizeof(rec.trust[0]));
		rec.n_trust = a->ts->n;
		rec.verified = slw_now();
		if ((r = journal_node_put(t, a->node, &rec)) != 0)
			return r;
	}
	if (a->leaf_role != NULL) {
		uint32_t g;

		if ((r = ca_resolve(t, a->leaf_role, name)) != 0 ||
		    (r = leaf_gen_of(t, a->tkey, name, &g)) != 0)
			return r;
		if ((r = journal_node_get(t, a->node, a->leaf_role, &rec)) != 0 &&
		    r != SLW_ERR_NOTFOUND)
			return r;
		if (r == SLW_ERR_NOTFOUND) {
			memset(&rec, 0, sizeof(rec));
			fleet_fmt(rec.role, sizeof(rec.role), "%s", a->leaf_role);
		}
		if (g != 0)
			rec.leaf_gen = g;
		rec.verified = slw_now();
		if ((r = journal_node_put(t, a->node, &rec)) != 0)
			return r;
	}
	return 0;
}

/* ---- fetch, install, read back ---- */

/* Characters that cannot leave a single-quoted or bare shell word. */
static int
word_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && strchr("+/=.:-_[]", *s) == NULL)
			return 0;
	return 1;
}

struct manifest_arg {
	const uint8_t *tkey;
	struct buf m;
};

static int
manifest_txn(struct store_txn *t, void *arg)
{
	struct manifest_arg *a = arg;

	return redeem_manifest_get(t, a->tkey, &a->m);
}

/*
 * Compares the node's sha256sum output (untrusted, capped by the SSH
 * layer) with the manifest: every file of the manifest must be there with
 * its hash. Pure. 0, or SLW_ERR_VERIFY and the first difference in why.
 */
static int
compare(const struct buf *manifest, const struct buf *node, char *why,
    size_t wlen)
{
	const char *m = (const char *)manifest->data, *me, *nl;
	size_t checked = 0;

	why[0] = '\0';
	for (; m != NULL && *m != '\0'; m = me != NULL ? me + 1 : NULL) {
		char line[BUNDLE_PATH_MAX + 80];
		size_t ll;
		const char *found = NULL, *p;

		me = strchr(m, '\n');
		ll = me != NULL ? (size_t)(me - m) : strlen(m);
		if (ll < 67 || ll >= sizeof(line))
			continue;
		memcpy(line, m, ll);
		line[ll] = '\0';
		/* the same line must be in the node's output */
		for (p = (const char *)node->data; p != NULL && node->len > 0 &&
		    p < (const char *)node->data + node->len; p = nl ? nl + 1 : NULL) {
			nl = memchr(p, '\n', (size_t)((const char *)node->data +
			    node->len - p));
			if ((size_t)((nl ? nl : (const char *)node->data +
			    node->len) - p) == ll && memcmp(p, line, ll) == 0) {
				found = p;
				break;
			}
		}
		if (found == NULL) {
			fleet_fmt(why, wlen, "%s does not have the content that was "
			    "rendered for it", line + 66);
			return SLW_ERR_VERIFY;
		}
		checked++;
	}
	if (checked == 0) {
		fleet_fmt(why, wlen, "the manifest of the delivered bundle is "
		    "empty");
		return SLW_ERR_VERIFY;
	}
	return 0;
}

/* The node's installed file at path has the hash h (its sha256sum line). */
static int
node_has(const struct buf *node, const char *path, const char hex[65])
{
	char want[BUNDLE_PATH_MAX + 80];
	size_t wl;
	const char *p, *nl, *end = (const char *)node->data + node->len;

	fleet_fmt(want, sizeof(want), "%s  %s", hex, path);
	wl = strlen(want);
	for (p = (const char *)node->data; p != NULL && p < end;
	    p = nl ? nl + 1 : NULL) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if ((size_t)((nl ? nl : end) - p) == wl && memcmp(p, want, wl) == 0)
			return 1;
	}
	return 0;
}

static int
step_deliver(struct fleet_op *op, const struct op_item *it,
    struct ssh_conn **c, struct buf *out, struct slw_diag *d)
{
	const struct fleet_delivery *dv = it->arg;
	const struct inv_node *n = it->node;
	struct token_issued ti;
	struct manifest_arg ma;
	struct trust_arg ta;
	struct trust_state ts;
	struct record_arg ra;
	struct buf script = { 0 }, back = { 0 };
	struct slw_diag why;
	const char *tf[8];
	char hex[65], gens[64], diff[BUNDLE_PATH_MAX + 80];
	const char *m, *me;
	size_t i, nchanged = 0;
	int r;

	memset(&ma, 0, sizeof(ma));
	slw_diag_clear(&why);
	if ((r = token_issue_scope(op->s, op->inv, n->name, DELIVER_TOKEN_TTL,
	    n->ip, op->o->fleet.actor, dv->scope, &ti, &why)) != 0)
		return slw_diag(d, r, "cannot make a token for %s: %s", n->name,
		    slw_diag_str(&why, r));
	if (!word_safe(ti.pin) || !word_safe(ti.tok.token) ||
	    !word_safe(ti.url)) {
		r = slw_diag(d, SLW_ERR_INVALID, "the endpoint's pin or URL has "
		    "characters that cannot go into a command");
		goto out;
	}
	/* unpack beside, then install.sh replaces what changed, atomically */
	if ((r = buf_appendf(&script, PREAMBLE "umask 077\n"
	    "S=" STAGE_DIR "\nrm -rf \"$S\"; mkdir -p \"$S\"\n"
	    "curl -fsS --pinnedpubkey 'sha256//%s' -k -H 'Authorization: "
	    "Bearer %s' %s | tar -xz -C \"$S\"\n"
	    "SLIPWAY_FROM=\"$S\" sh \"$S/etc/slipway/install.sh\"\n"
	    "rm -rf \"$S\"\n", ti.pin, ti.tok.token, ti.url)) != 0)
		goto out;
	r = fleet_remote_run(&op->f, *c, it->stage, n, it->step,
	    (const char *)script.data, ti.tok.token, DELIVER_TIMEOUT, out, d);
	if (r == FLEET_ERR_EXIT && out->data != NULL) {
		const char *cl = strstr((const char *)out->data, "curl: (");

		if (cl != NULL)
			slw_diag_set(d, r, "cannot fetch the bundle from the "
			    "endpoint (is 'slipway serve' running and reachable from "
			    "the node?): %.*s", (int)strcspn(cl, "\n"), cl);
	}
	if (r != 0)
		goto out;
	for (m = out->data ? (const char *)out->data : ""; (m = strstr(m,
	    "install.sh: changed ")) != NULL; m++)
		nchanged++;
	/* read back what is installed now: the rendered files' hashes */
	ma.tkey = ti.tok.info.key;
	if ((r = store_read(op->s, manifest_txn, &ma, &why)) != 0) {
		r = slw_diag(d, r, "no manifest of the bundle served to %s: %s",
		    n->name, slw_diag_str(&why, r));
		goto out;
	}
	/*
	 * in commands whose output stays under the SSH layer's cap
	 * (SSH_OUT_HEAD + SSH_OUT_TAIL: beyond it the middle is dropped and
	 * its files would look missing)
	 */
	for (m = (const char *)ma.m.data; m != NULL && *m != '\0'; ) {
		struct buf part = { 0 };
		size_t expect = 0;

		buf_free(&script);
		if ((r = buf_appendf(&script, "cd / && sha256sum --")) != 0)
			goto out;
		for (; m != NULL && *m != '\0' && expect < READBACK_CHUNK;
		    m = me ? me + 1 : NULL) {
			size_t ll;

			me = strchr(m, '\n');
			ll = me ? (size_t)(me - m) : strlen(m);
			if (ll > 66 && (r = buf_appendf(&script, " %.*s",
			    (int)(ll - 66), m + 66)) != 0)
				goto out;
			expect += ll + 1;
		}
		if ((r = buf_appendf(&script, "\n")) != 0 ||
		    (r = fleet_remote_run(&op->f, *c, it->stage, n, "read-back",
		    (const char *)script.data, NULL, 60, &part, d)) != 0 ||
		    (r = buf_append(&back, part.data, part.len)) != 0) {
			buf_free(&part);
			goto out;
		}
		buf_free(&part);
	}
	if ((r = compare(&ma.m, &back, diff, sizeof(diff))) != 0) {
		r = slw_diag(d, r, "read-back: %s", diff);
		goto out;
	}
	/* the trust files hold exactly the store's trust of that CA now */
	if (dv->trust_role != NULL) {
		ta.role = dv->trust_role;
		ta.ts = &ts;
		if ((r = store_read(op->s, trust_txn, &ta, d)) != 0)
			goto out;
		hex32(ts.hash, hex);
		gens_text(ts.gens, ts.n, gens, sizeof(gens));
		bundle_trust_files(dv->trust_role, n->roles, tf, 8);
		for (i = 0; tf[i] != NULL; i++)
			if (!node_has(&back, tf[i], hex)) {
				r = slw_diag(d, SLW_ERR_VERIFY, "read-back: %s does not "
				    "hold the %s trust of generation%s %s (the bundle "
				    "was rendered before 'slipway serve' saw the CAs "
				    "change; run again)", tf[i], dv->trust_role,
				    ts.n > 1 ? "s" : "", gens);
				goto out;
			}
	}
	ra.node = n->name;
	ra.trust_role = dv->trust_role;
	ra.leaf_role = dv->leaf_role;
	ra.ts = &ts;
	ra.tkey = ti.tok.info.key;
	ra.actor = op->o->fleet.actor;
	if ((r = store_submit(op->s, record_txn, &ra, &why)) != 0) {
		r = slw_diag(d, r, "cannot record what %s has: %s", n->name,
		    slw_diag_str(&why, r));
		goto out;
	}
	if (dv->trust_role != NULL)
		slw_diag_set(d, 0, "%zu file%s changed; read back: as rendered, "
		    "%s trust %s", nchanged, nchanged == 1 ? "" : "s",
		    dv->trust_role, gens);
	else
		slw_diag_set(d, 0, "%zu file%s changed; read back: as rendered",
		    nchanged, nchanged == 1 ? "" : "s");
	r = 0;
 out:
	token_issue_wipe(&ti);
	buf_free(&script);
	buf_free(&back);
	buf_free(&ma.m);
	return r;
}

/* ---- restarts ---- */

struct last_arg {
	time_t end;			/* of the last etcd restart on record */
};

static int
last_one(void *arg, const struct journal_exec *e)
{
	struct last_arg *a = arg;
	time_t end = e->started + (time_t)(e->elapsed + 0.999);

	if (strcmp(e->step, "restart:etcd") == 0 && e->exit_status == 0 &&
	    end > a->end)
		a->end = end;
	return 0;
}

static int
last_txn(struct store_txn *t, void *arg)
{
	return journal_exec_foreach(t, last_one, arg);
}

/*
 * The settle after the last etcd restart on record, also one an earlier
 * (killed) run made: the next member stops only after it.
 */
static void
settle_since_last(struct fleet_op *op, const struct op_item *it, int settle)
{
	struct last_arg a = { 0 };
	time_t now = slw_now(), left;

	if (store_read(op->s, last_txn, &a, NULL) != 0 || a.end == 0)
		return;
	left = a.end + settle + 1 - now;
	if (left <= 0 || left > settle + 1)
		return;
	fleet_op_progress(op, it, "the last etcd restart was %lld s ago: settles "
	    "%lld s more first", (long long)(now - a.end), (long long)left);
	{
		struct timespec ts = { left, 0 };

		nanosleep(&ts, NULL);
	}
}

/*
 * Prints "stale: FILE..." if the unit is active and one of its files is
 * newer than its start (or than the last restart by a delivery), "fresh"
 * if not, "inactive" if it does not run.
 */
static int
stale_script(const struct bundle_unit *u, struct buf *o)
{
	const char *const *f;
	int r;

	if ((r = buf_appendf(o, PREAMBLE "u=%s\nm=" MARK_DIR "\n"
	    "mkdir -p $m\n"
	    "systemctl is-active -q $u || { echo inactive; exit 0; }\n"
	    "ts=$(systemctl show -P ExecMainStartTimestamp --timestamp=us+utc $u)\n"
	    "ref=$m/started.$u\n"
	    "touch -d \"$ts\" $ref 2>/dev/null || { echo 'stale: start time "
	    "unknown'; exit 0; }\n"
	    "[ -e $m/loaded.$u ] && [ $m/loaded.$u -nt $ref ] && ref=$m/loaded.$u\n"
	    "n=$(find", u->unit)) != 0)
		return r;
	for (f = u->files; *f != NULL; f++)
		if ((r = buf_appendf(o, " %s", *f)) != 0)
			return r;
	return buf_appendf(o, " -maxdepth 1 -type f ! -name '*.slipway-new' "
	    "-newer $ref 2>/dev/null | head -5 | tr '\\n' ' ')\n"
	    "if [ -n \"$n\" ]; then echo \"stale: $n\"; else echo fresh; fi\n");
}

struct gate_look {
	struct fleet_op *op;
	enum bundle_tier tier;
	const struct inv_node *node;
	struct https *id;
};

static int
gate_node_ready(const struct inventory *inv, struct https *id,
    const struct inv_node *n, struct journal_gate *g)
{
	int r = gate_nodes(inv, id, g);

	/* gate_nodes looks at every worker: this node's line decides */
	if (r > 0 && strstr(g->nodes, n->name) == NULL) {
		fleet_fmt(g->reason, sizeof(g->reason), "Node %s Ready", n->name);
		g->nodes[0] = '\0';
		return 0;
	}
	return r;
}

static int
gate_look(void *arg, struct journal_gate *g)
{
	struct gate_look *a = arg;
	struct fleet *f = &a->op->f;
	struct slw_diag d;
	int r = 0;

	slw_diag_clear(&d);
	if (a->id == NULL) {
		r = a->tier == TIER_ETCD ? fleet_id_etcd(f, &a->id, &d) :
		    fleet_id_admin(f, &a->id, &d);
		if (r != 0) {
			fleet_fmt(g->reason, sizeof(g->reason), "%s",
			    slw_diag_str(&d, r));
			return -1;
		}
	}
	switch (a->tier) {
	case TIER_ETCD:
		return gate_etcd(f->inv, a->id, g);
	case TIER_MASTER:
		return a->node != NULL ? gate_readyz_node(f->inv, a->id, a->node,
		    g) : gate_readyz(f->inv, a->id, g);
	default:
		return gate_node_ready(f->inv, a->id, a->node, g);
	}
}

/* The tier's gate, waited for. */
static int
tier_gate(struct fleet_op *op, const struct op_item *it, enum bundle_tier tier,
    int timeout_s, struct journal_gate *g, struct slw_diag *d)
{
	struct gate_look a = { op, tier, it->node, NULL };

	return gate_wait(&op->f, it->stage, timeout_s, gate_look, &a, g, d);
}

/* The delivery's hook for a unit, NULL if none. */
static const struct fleet_unit_hook *
hook_of(const struct fleet_delivery *dv, const char *unit)
{
	const struct fleet_unit_hook *h;

	for (h = dv != NULL ? dv->hooks : NULL; h != NULL && h->unit != NULL;
	    h++)
		if (strcmp(h->unit, unit) == 0)
			return h;
	return NULL;
}

static int
step_restart(struct fleet_op *op, const struct op_item *it,
    struct ssh_conn **c, struct buf *out, struct slw_diag *d)
{
	const struct bundle_unit *u = it->arg;
	/* op_item.u of a restart: its delivery (plan and run share it) */
	const struct fleet_delivery *dv = (const struct fleet_delivery *)it->u;
	const struct fleet_unit_hook *hook = hook_of(dv, u->unit);
	int together = dv != NULL && dv->together;
	const struct inv_node *n = it->node;
	struct journal_gate g;
	struct buf script = { 0 }, st = { 0 };
	struct slw_diag ed;
	char stale[300] = "";
	int64_t t0;
	int r;

	if ((r = stale_script(u, &script)) != 0 ||
	    (r = fleet_remote_run(&op->f, *c, it->stage, n, "check:stale",
	    (const char *)script.data, NULL, 30, &st, d)) != 0)
		goto out;
	/* recovery: a unit that stopped (its certificates expired) starts */
	if (together && st.data != NULL &&
	    strstr((const char *)st.data, "inactive") != NULL) {
		buf_reset(&st);
		if ((r = buf_appendf(&st, "stale: not running")) != 0)
			goto out;
	}
	if (st.data != NULL && strstr((const char *)st.data, "inactive")) {
		slw_diag_set(d, 0, "%s: not restarted (not running)", u->unit);
		goto out;
	}
	if ((st.data == NULL || strstr((const char *)st.data, "stale") == NULL) &&
	    (hook == NULL || !hook->always)) {
		slw_diag_set(d, 0, "%s: not restarted (its files did not change)",
		    u->unit);
		goto out;
	}
	if (st.data != NULL && strstr((const char *)st.data, "stale") != NULL) {
		fleet_fmt(stale, sizeof(stale), "%s", strstr((const char *)st.data,
		    "stale"));
		stale[strcspn(stale, "\n")] = '\0';
	} else
		fleet_fmt(stale, sizeof(stale), "%s", hook->why ? hook->why :
		    "always in this stage");
	if (hook != NULL && hook->before != NULL) {
		struct buf pre = { 0 };

		r = buf_appendf(&pre, PREAMBLE "%s\n", hook->before);
		if (r == 0)
			r = fleet_remote_run(&op->f, *c, it->stage, n, "before",
			    (const char *)pre.data, NULL, 60, out, d);
		buf_free(&pre);
		if (r != 0)
			goto out;
		if (hook->why != NULL)
			fleet_op_progress(op, it, "%s", hook->why);
	}
	if (together) {
		/* recovery: the tier is down already; its gate comes after */
		buf_free(&script);
		t0 = fleet_now_ms();
		if ((r = buf_appendf(&script, PREAMBLE "mkdir -p " MARK_DIR "\n"
		    "systemctl daemon-reload\n"
		    "systemctl %s %s\n"
		    "touch " MARK_DIR "/loaded.%s\n", u->reload ?
		    "reload-or-restart" : "restart", u->unit, u->unit)) != 0 ||
		    (r = fleet_remote_run(&op->f, *c, it->stage, n, it->step,
		    (const char *)script.data, NULL, RESTART_TIMEOUT, out, d)) != 0)
			goto out;
		slw_diag_set(d, 0, "%s %s in %.1fs (%s); the tier's gate follows",
		    u->unit, u->reload ? "reloaded" : "restarted",
		    (double)(fleet_now_ms() - t0) / 1000.0, stale);
		goto out;
	}
	/* never two etcd members down at once: every member healthy first */
	if (u->tier == TIER_ETCD || strcmp(u->unit, "kube-apiserver") == 0) {
		fleet_op_progress(op, it, "waits for %s before the restart",
		    u->tier == TIER_ETCD ? "every etcd member healthy" :
		    "/readyz through the VIP");
		if ((r = tier_gate(op, it, u->tier, GATE_TIMEOUT, &g, d)) != 0) {
			r = slw_diag(d, r, "not restarted: the gate before it does "
			    "not pass: %s", slw_diag_str(d, r));
			goto out;
		}
	}
	if (u->tier == TIER_ETCD) {
		struct https *id = NULL;

		if (op->o->settle_s >= 0)
			settle_since_last(op, it, op->o->settle_s > 0 ?
			    op->o->settle_s : ETCD_SETTLE_S);
		slw_diag_clear(&ed);
		if ((r = fleet_id_etcd(&op->f, &id, &ed)) != 0 ||
		    (r = etcd_ops_prepare_stop(&op->f, id, n, &ed)) != 0) {
			r = slw_diag(d, r, "not restarted: %s", slw_diag_str(&ed, r));
			goto out;
		}
		if (ed.msg[0] != '\0')
			fleet_op_progress(op, it, "%s", ed.msg);
	}
	buf_free(&script);
	t0 = fleet_now_ms();
	if ((r = buf_appendf(&script, PREAMBLE "mkdir -p " MARK_DIR "\n"
	    "systemctl daemon-reload\n"
	    "systemctl %s %s\n"
	    "touch " MARK_DIR "/loaded.%s\n"
	    "systemctl is-active %s\n", u->reload ? "reload-or-restart" :
	    "restart", u->unit, u->unit, u->unit)) != 0 ||
	    (r = fleet_remote_run(&op->f, *c, it->stage, n, it->step,
	    (const char *)script.data, NULL, RESTART_TIMEOUT, out, d)) != 0)
		goto out;
	fleet_op_progress(op, it, "%s %s in %.1fs (%s); waits for %s",
	    u->unit, u->reload ? "reloaded" : "restarted",
	    (double)(fleet_now_ms() - t0) / 1000.0, stale,
	    u->tier == TIER_ETCD ? "every member's /health and the member list" :
	    u->tier == TIER_MASTER ? "/readyz through the VIP" :
	    "the node's Ready");
	if (u->tier != TIER_WORKER && (r = tier_gate(op, it, u->tier,
	    GATE_TIMEOUT, &g, d)) != 0) {
		r = slw_diag(d, r, "%s restarted, but its gate does not pass: %s",
		    u->unit, slw_diag_str(d, r));
		goto out;
	}
	if (u->tier == TIER_ETCD && op->o->settle_s >= 0) {
		int s = op->o->settle_s > 0 ? op->o->settle_s : ETCD_SETTLE_S;
		struct timespec ts = { s, 0 };

		fleet_op_progress(op, it, "healthy; settles %d s (its clients "
		    "reconnect before the next member stops)", s);
		nanosleep(&ts, NULL);
	}
	slw_diag_set(d, 0, "%s %s; %s", u->unit, u->reload ? "reloaded" :
	    "restarted", u->tier != TIER_WORKER ? g.reason : "gate after the "
	    "node's units");
 out:
	buf_free(&script);
	buf_free(&st);
	return r;
}

/* The worker tier's gate for one node: its Node Ready. */
static int
step_gate(struct fleet_op *op, const struct op_item *it, struct ssh_conn **c,
    struct buf *out, struct slw_diag *d)
{
	struct journal_gate g;
	int r;

	(void)c;
	(void)out;
	if ((r = tier_gate(op, it, (enum bundle_tier)it->u, GATE_TIMEOUT, &g,
	    d)) != 0)
		return r;
	slw_diag_set(d, 0, "%s", g.reason);
	return 0;
}

/* ---- the plan ---- */

static int
add(struct fleet_op *op, const struct fleet_delivery *dv,
    const struct inv_node *n, const char *step, const char *what,
    const char *waits, unsigned int group, int par, op_fn *fn,
    const void *arg, uintptr_t u)
{
	struct op_item it;

	memset(&it, 0, sizeof(it));
	fleet_fmt(it.stage, sizeof(it.stage), "%s", dv->stage);
	it.node = n;
	fleet_fmt(it.step, sizeof(it.step), "%s", step);
	it.what = what;
	it.waits = waits;
	it.group = group;
	it.par = par;
	it.flags = OPI_SSH;
	it.fn = fn;
	it.arg = arg;
	it.u = u;
	return op_plan_add(&op->plan, &it);
}

static int
in_tier(const struct inv_node *n, enum bundle_tier tier)
{
	size_t i;

	for (i = 0; i < bundle_units_n; i++)
		if (bundle_units[i].tier == tier && (n->roles & bundle_units[i].roles))
			return 1;
	return 0;
}

int
fleet_deliver_plan(struct fleet_op *op, const struct fleet_delivery *dv,
    const struct inv_node *only, unsigned int *group)
{
	const struct inventory *inv = op->inv;
	static const char *const tier_waits[TIER__COUNT] = {
		("every etcd member's /health over mTLS and the member list "
		"(before and after)"),
		"/readyz through the VIP (before and after)",
		"the node's Ready",
	};
	char step[JOURNAL_STEP_MAX];
	size_t i, k;
	int tier, r;

	(*group)++;
	for (i = 0; i < inv->n_nodes; i++) {
		const struct inv_node *n = &inv->nodes[i];

		if (only != NULL && n != only)
			continue;
		if ((r = add(op, dv, n, "deliver", dv->what, "the node to fetch, "
		    "install and read back its bundle", *group, 0, step_deliver,
		    dv, 0)) != 0)
			return r;
	}
	for (tier = 0; tier < TIER__COUNT; tier++) {
		(*group)++;
		for (i = 0; i < inv->n_nodes; i++) {
			const struct inv_node *n = &inv->nodes[i];

			if ((only != NULL && n != only) ||
			    !in_tier(n, (enum bundle_tier)tier))
				continue;
			for (k = 0; k < bundle_units_n; k++) {
				const struct bundle_unit *u = &bundle_units[k];

				if ((int)u->tier != tier || !(n->roles & u->roles))
					continue;
				fleet_fmt(step, sizeof(step), "%s:%s", u->reload ?
				    "reload" : "restart", u->unit);
				const struct fleet_unit_hook *h = hook_of(dv, u->unit);

				if ((r = add(op, dv, n, step, h != NULL && h->always &&
				    h->why != NULL ? h->why : u->reload ? "reload if "
				    "its files changed since it started" : "restart if "
				    "its files changed since it started", dv->together ?
				    "nothing (the tier's gate follows)" : tier_waits[tier],
				    *group, tier == TIER_WORKER || dv->together ? 0 : 1,
				    step_restart, u, (uintptr_t)dv)) != 0)
					return r;
			}
			if (tier == TIER_WORKER && (r = add(op, dv, n, "gate:ready",
			    "the node's Node is Ready", tier_waits[tier], *group, 0,
			    step_gate, NULL, (uintptr_t)tier)) != 0)
				return r;
		}
		/* recovery: the tier's gate once, after all its restarts */
		if (dv->together && tier != TIER_WORKER) {
			struct op_item it;

			memset(&it, 0, sizeof(it));
			fleet_fmt(it.stage, sizeof(it.stage), "%s", dv->stage);
			fleet_fmt(it.step, sizeof(it.step), "%s", tier == TIER_ETCD ?
			    "gate:etcd" : "gate:vip");
			it.what = tier == TIER_ETCD ? "every etcd member healthy, "
			    "before the masters" : "/readyz through the VIP, before "
			    "the workers";
			it.waits = tier == TIER_ETCD ? "every etcd member's /health "
			    "over mTLS and the member list" : "/readyz through the VIP";
			it.group = ++(*group);
			it.flags = OPI_REPEAT;
			it.fn = step_gate;
			it.u = (uintptr_t)tier;
			if ((r = op_plan_add(&op->plan, &it)) != 0)
				return r;
		}
	}
	return 0;
}

/* ---- what nodes have ---- */

static const char *const all_roles[] = { CA_KUBERNETES, CA_ETCD,
    CA_FRONT_PROXY };

int
fleet_deliver_trust_paths(const struct inv_node *n, struct buf *out)
{
	const char *tf[8];
	size_t i, k;
	int r;

	for (i = 0; i < sizeof(all_roles) / sizeof(all_roles[0]); i++) {
		bundle_trust_files(all_roles[i], n->roles, tf, 8);
		for (k = 0; tf[k] != NULL; k++)
			if ((r = buf_appendf(out, " %s", tf[k])) != 0)
				return r;
	}
	return 0;
}

int
fleet_deliver_note_trust(struct store *s, const struct inv_node *n,
    const struct buf *sums, struct slw_diag *d)
{
	struct trust_state ts;
	struct trust_arg ta;
	struct record_arg ra;
	const char *tf[8];
	char hex[65];
	size_t i, k;
	int r, ok;

	for (i = 0; i < sizeof(all_roles) / sizeof(all_roles[0]); i++) {
		ta.role = all_roles[i];
		ta.ts = &ts;
		if ((r = store_read(s, trust_txn, &ta, d)) != 0)
			return r;
		hex32(ts.hash, hex);
		bundle_trust_files(all_roles[i], n->roles, tf, 8);
		for (ok = tf[0] != NULL, k = 0; tf[k] != NULL; k++)
			ok &= node_has(sums, tf[k], hex);
		if (!ok)
			continue;
		memset(&ra, 0, sizeof(ra));
		ra.node = n->name;
		ra.trust_role = all_roles[i];
		ra.ts = &ts;
		if ((r = store_submit(s, record_txn, &ra, d)) != 0)
			return r;
	}
	return 0;
}

static int
any_node_txn_cb(void *arg, const uint8_t *k, size_t kl, const uint8_t *v,
    size_t vl)
{
	(void)k;
	(void)kl;
	(void)v;
	(void)vl;
	*(int *)arg = 1;
	return 1;
}

int
fleet_deliver_check(struct store_txn *t, const struct inventory *inv,
    const char *ca_role, uint32_t gen, uint32_t leaf_gen, struct slw_diag *d)
{
	struct journal_node_ca rec;
	char have[64];
	size_t i, k;
	int r, ok, any = 0;

	/* no delivery ever reached a node of this cluster: nothing to check */
	if ((r = store_iter(t, DB_JOURNAL, "nd/", 3, 0, any_node_txn_cb,
	    &any)) != 0)
		return r;
	if (!any)
		return 0;
	for (i = 0; i < inv->n_nodes; i++) {
		const struct inv_node *n = &inv->nodes[i];
		const char *tf[8];

		/* a node without files of that CA's trust needs none */
		if (bundle_trust_files(ca_role, n->roles, tf, 8) == NULL ||
		    tf[0] == NULL)
			continue;
		r = journal_node_get(t, n->name, ca_role, &rec);
		if (r == SLW_ERR_NOTFOUND)
			return slw_diag(d, SLW_ERR_DENIED, "node %s has no verified "
			    "%s trust on record (no delivery reached it yet)",
			    n->name, ca_role);
		if (r != 0)
			return r;
		for (ok = 0, k = 0; k < rec.n_trust; k++)
			ok |= rec.trust[k] == gen;
		if (!ok) {
			gens_text(rec.trust, rec.n_trust, have, sizeof(have));
			return slw_diag(d, SLW_ERR_DENIED, "node %s does not trust %s "
			    "generation %u yet (it has %s)", n->name, ca_role, gen,
			    have[0] ? have : "none");
		}
		if (leaf_gen != 0 && rec.leaf_gen != leaf_gen) {
			if (rec.leaf_gen == 0)
				return slw_diag(d, SLW_ERR_DENIED, "node %s has no "
				    "verified %s certificates of generation %u yet",
				    n->name, ca_role, leaf_gen);
			return slw_diag(d, SLW_ERR_DENIED, "node %s still has %s "
			    "certificates of generation %u (not %u)", n->name, ca_role,
			    rec.leaf_gen, leaf_gen);
		}
	}
	return 0;
}
