// SPDX-License-Identifier: Apache-2.0
/*
 * keyrot.c: the service-account and encryption key rotations as fleet
 * operations (keyrot.h): the store's steps (pki/keyset.c) with a delivery
 * to every master after each, a read-back of the key files on every
 * master (hashes only), the wait for the longest service-account token,
 * and the rewrite of every Secret through the API. The order makes every
 * moment safe: a key verifies / decrypts on every apiserver before any
 * apiserver signs / encrypts with it, and stops verifying / decrypting
 * only after nothing can present it any more. Never prints, logs or
 * journals a key, a token or a Secret's data.
 */
#include "keyrot.h"
#include "audit.h"
#include "bundle.h"
#include "deliver.h"
#include "keyset.h"
#include "kube.h"
#include "kube_session.h"
#include "rand.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>

#define KEY_CERT "/etc/kubernetes/cert/"
#define SA_KEY KEY_CERT "sa.key"
#define SA_PUB KEY_CERT "sa.pub"
#define ENC_CFG "/etc/kubernetes/encryption-config.yaml"
#define NOTE_PREFIX "krw/"		/* DB_JOURNAL: the rewrite's notes */
#define SECRET_REF_MAX 320		/* "namespace/name" */
#define REWRITE_PROGRESS 100		/* a progress line every N Secrets */

struct keyrot {
	struct fleet_op op;
	const struct fleet_keyrot_opts *o;
	const char *set;
	int sa;				/* the service-account set */
	uint32_t from, to;		/* generations */
	struct fleet_delivery dv[3];
	const struct inv_node **masters;
	size_t n_masters;
};

/* ---- what a master has ---- */

struct expect_arg {
	const struct inventory *inv;
	const struct inv_node *node;
	struct keyset_keys sa, enc;
	uint32_t gens[2];		/* of the rotating set */
	size_t n_gens;
	const char *set;
};

static int
expect_txn(struct store_txn *t, void *arg)
{
	struct expect_arg *a = arg;
	const struct keyset_keys *k;
	size_t i;
	int r;

	if ((r = keyset_load(t, KEYSET_SA, &a->sa)) != 0 ||
	    (r = keyset_load(t, KEYSET_ENC, &a->enc)) != 0)
		return r;
	k = strcmp(a->set, KEYSET_SA) == 0 ? &a->sa : &a->enc;
	for (i = 0; i < k->n; i++)
		a->gens[i] = k->gen[i];
	a->n_gens = k->n;
	return 0;
}

/* "<hex>  <path>" lines of sha256sum: the hash of path, or NULL. */
static const char *
sum_of(const struct buf *out, const char *path, char hex[65])
{
	const char *p = out->data ? (const char *)out->data : "";
	size_t pl = strlen(path);

	for (; *p != '\0'; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "") {
		if (strlen(p) > 66 + pl && strncmp(p + 66, path, pl) == 0 &&
		    (p[66 + pl] == '\n' || p[66 + pl] == '\0')) {
			memcpy(hex, p, 64);
			hex[64] = '\0';
			return hex;
		}
	}
	return NULL;
}

static void
hexhash(const struct buf *b, char out[65])
{
	static const char hx[] = "0123456789abcdef";
	uint8_t h[32];
	size_t i;

	mbedtls_sha256(b->data, b->len, h, 0);
	for (i = 0; i < 32; i++) {
		out[2 * i] = hx[h[i] >> 4];
		out[2 * i + 1] = hx[h[i] & 15];
	}
	out[64] = '\0';
}

struct note_arg {
	const char *node, *set;
	const uint32_t *gens;
	size_t n;
};

static int
note_txn(struct store_txn *t, void *arg)
{
	struct note_arg *a = arg;
	struct journal_node_ca rec;
	size_t i;

	memset(&rec, 0, sizeof(rec));
	fleet_fmt(rec.role, sizeof(rec.role), "%s", a->set);
	for (i = 0; i < a->n && i < sizeof(rec.trust) / sizeof(rec.trust[0]);
	    i++)
		rec.trust[i] = a->gens[i];
	rec.n_trust = i;
	rec.verified = slw_now();
	return journal_node_put(t, a->node, &rec);
}

/*
 * verify:keys on a master: the key files hold exactly what the store's
 * keys render to now (hashes only, read over SSH), and kube-apiserver
 * started after they last changed; then the node's generations of the
 * rotating set are recorded.
 */
static int
step_verify(struct fleet_op *op, const struct op_item *it,
    struct ssh_conn **c, struct buf *out, struct slw_diag *d)
{
	static const char *const files[] = { SA_KEY, SA_PUB, ENC_CFG };
	struct keyrot *kr = op->ctx;
	struct expect_arg ea;
	struct bundle_input in;
	struct bundle *b = NULL;
	struct note_arg na;
	struct slw_diag why;
	char want[65], have[65], gens[32];
	const char *stale;
	size_t i;
	int r;

	memset(&ea, 0, sizeof(ea));
	slw_diag_clear(&why);
	ea.set = kr->set;
	if ((r = store_read(op->s, expect_txn, &ea, &why)) != 0) {
		r = slw_diag(d, r, "%s", slw_diag_str(&why, r));
		goto out;
	}
	memset(&in, 0, sizeof(in));
	in.inv = op->inv;
	in.node = it->node;
	bundle_input_keys(&in, &ea.sa, &ea.enc);
	if ((r = bundle_render_keys(&in, &b, d)) != 0)
		goto out;
	if ((r = fleet_remote_run(&op->f, *c, it->stage, it->node, it->step,
	    "set -e\ncd /\nsha256sum " SA_KEY " " SA_PUB " " ENC_CFG "\n"
	    "m=/run/slipway; mkdir -p $m\n"
	    "ts=$(systemctl show -P ExecMainStartTimestamp --timestamp=us+utc "
	    "kube-apiserver)\n"
	    "if systemctl is-active -q kube-apiserver && "
	    "touch -d \"$ts\" $m/keys.started 2>/dev/null; then\n"
	    "  n=$(find " SA_KEY " " SA_PUB " " ENC_CFG " -newer $m/keys.started "
	    "| tr '\\n' ' ')\n"
	    "  [ -z \"$n\" ] || echo \"not loaded: $n\"\n"
	    "else echo 'not loaded: kube-apiserver is not running'; fi\n",
	    NULL, 60, out, d)) != 0)
		goto out;
	gens[0] = '\0';
	for (i = 0; i < ea.n_gens; i++)
		fleet_appendf(gens, sizeof(gens), "%s%u", i ? "," : "",
		    ea.gens[i]);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const struct bundle_file *f = bundle_find(b, files[i]);

		if (f == NULL) {
			r = slw_diag(d, SLW_ERR_INTERNAL, "no %s rendered", files[i]);
			goto out;
		}
		hexhash(&f->data, want);
		if (sum_of(out, files[i], have) == NULL || strcmp(want, have) != 0) {
			r = slw_diag(d, SLW_ERR_VERIFY, "read-back: %s does not hold "
			    "the %s key%s of generation%s %s", files[i], kr->set,
			    ea.n_gens > 1 ? "s" : "", ea.n_gens > 1 ? "s" : "", gens);
			goto out;
		}
	}
	if ((stale = strstr(out->data ? (const char *)out->data : "",
	    "not loaded: ")) != NULL) {
		r = slw_diag(d, SLW_ERR_VERIFY, "kube-apiserver has not started "
		    "since its key files changed (%.*s)", (int)strcspn(stale + 12,
		    "\n"), stale + 12);
		goto out;
	}
	na.node = it->node->name;
	na.set = kr->set;
	na.gens = ea.gens;
	na.n = ea.n_gens;
	if ((r = store_submit(op->s, note_txn, &na, &why)) != 0) {
		r = slw_diag(d, r, "cannot record what %s has: %s", it->node->name,
		    slw_diag_str(&why, r));
		goto out;
	}
	slw_diag_set(d, 0, "the %s key%s of generation%s %s, loaded by "
	    "kube-apiserver", kr->set, ea.n_gens > 1 ? "s" : "",
	    ea.n_gens > 1 ? "s" : "", gens);
	r = 0;
 out:
	bundle_free(b);
	keyset_keys_free(&ea.sa);
	keyset_keys_free(&ea.enc);
	return r;
}

int
fleet_keyrot_check(struct store_txn *t, const struct inventory *inv,
    const char *set, uint32_t gen, int only, struct slw_diag *d)
{
	struct journal_node_ca rec;
	size_t i, k, seen = 0;
	const char *lack = NULL;
	int r, has;

	for (i = 0; i < inv->n_nodes; i++) {
		const struct inv_node *n = &inv->nodes[i];

		if (!(n->roles & ROLE_MASTER))
			continue;
		r = journal_node_get(t, n->name, set, &rec);
		if (r == SLW_ERR_NOTFOUND) {
			if (lack == NULL)
				lack = n->name;
			continue;
		}
		if (r != 0)
			return r;
		seen++;
		for (has = 0, k = 0; k < rec.n_trust; k++)
			has |= rec.trust[k] == gen;
		if (!has || (only == 1 && rec.n_trust != 1) ||
		    (only == 2 && rec.trust[0] != gen))
			return slw_diag(d, SLW_ERR_DENIED, "master %s %s generation "
			    "%u of the %s key (as last verified)", n->name, !has ?
			    "does not have" : only == 1 ? "has more than" :
			    "does not use", gen, set);
	}
	if (seen > 0 && lack != NULL)
		return slw_diag(d, SLW_ERR_DENIED, "master %s has no verified %s "
		    "key yet", lack, set);
	return 0;
}

/* ---- the store's steps ---- */

struct st_arg {
	struct keyrot *kr;
	int step;			/* 0 begin, 1 advance, 2 finish */
	const struct buf *secret;
	struct keyset_status st;
	char msg[200];
};

static int
change_txn(struct store_txn *t, void *arg)
{
	struct st_arg *a = arg;
	struct keyrot *kr = a->kr;
	struct slw_diag *td = store_txn_diag(t);
	const char *actor = kr->op.o->fleet.actor;
	char detail[200];
	time_t now = slw_now();
	int r;

	if ((r = keyset_status(t, kr->set, &a->st)) != 0)
		return r;
	switch (a->step) {
	case 0:
		if (a->st.phase == KEYSET_PENDING && a->st.pending_gen == kr->to) {
			fleet_fmt(a->msg, sizeof(a->msg), "generation %u was begun "
			    "earlier", kr->to);
			return 0;
		}
		if (a->st.phase != KEYSET_IDLE || a->st.max_gen + 1 != kr->to)
			return slw_diag(td, SLW_ERR_INVALID, "the %s key is %s at "
			    "generation %u; this operation brings in %u", kr->set,
			    keyset_phase_name(a->st.phase), a->st.active_gen, kr->to);
		if ((r = keyset_begin(t, kr->set, a->secret, kr->to, now)) != 0)
			return r;
		fleet_fmt(a->msg, sizeof(a->msg), "generation %u created and "
		    "sealed; it %s, generation %u still %s", kr->to, kr->sa ?
		    "verifies" : "decrypts", kr->from, kr->sa ? "signs" :
		    "encrypts");
		return audit_append(t, actor, "key.rotate.begin", kr->set, a->msg);
	case 1:
		if (a->st.phase == KEYSET_ADVANCED && a->st.active_gen == kr->to) {
			fleet_fmt(a->msg, sizeof(a->msg), "generation %u %s since an "
			    "earlier run", kr->to, kr->sa ? "signs" : "encrypts");
			return 0;
		}
		if (a->st.phase != KEYSET_PENDING || a->st.pending_gen != kr->to)
			return slw_diag(td, SLW_ERR_INVALID, "cannot advance: "
			    "rotation of the %s key is %s", kr->set,
			    keyset_phase_name(a->st.phase));
		/* every apiserver reads N+1 before any writes with it */
		if ((r = fleet_keyrot_check(t, kr->op.inv, kr->set, kr->to, 0,
		    td)) != 0)
			return r;
		if ((r = keyset_advance(t, kr->set, now)) != 0)
			return r;
		fleet_fmt(a->msg, sizeof(a->msg), "generation %u %s; %u still %s "
		    "(every master verified)", kr->to, kr->sa ? "signs" :
		    "encrypts", kr->from, kr->sa ? "verifies" : "decrypts");
		return audit_append(t, actor, "key.rotate.advance", kr->set,
		    a->msg);
	default:
		if (a->st.phase == KEYSET_IDLE && a->st.active_gen == kr->to) {
			fleet_fmt(a->msg, sizeof(a->msg), "generation %u retired in "
			    "an earlier run", kr->from);
			return 0;
		}
		if (a->st.phase != KEYSET_ADVANCED || a->st.active_gen != kr->to)
			return slw_diag(td, SLW_ERR_INVALID, "cannot finish: "
			    "rotation of the %s key is %s", kr->set,
			    keyset_phase_name(a->st.phase));
		/* every apiserver signs / encrypts with N+1 already */
		if ((r = fleet_keyrot_check(t, kr->op.inv, kr->set, kr->to, 2,
		    td)) != 0)
			return r;
		if ((r = keyset_finish(t, kr->set)) != 0)
			return r;
		fleet_fmt(detail, sizeof(detail), "generation %u retired and its "
		    "key deleted", a->st.previous_gen);
		fleet_fmt(a->msg, sizeof(a->msg), "%s", detail);
		return audit_append(t, actor, "key.rotate.finish", kr->set, detail);
	}
}

struct kt_arg {
	const char *set;
	enum key_type kt;
};

static int
kt_txn(struct store_txn *t, void *arg)
{
	struct kt_arg *a = arg;

	return keyset_key_type(t, a->set, &a->kt);
}

static int
step_store(struct fleet_op *op, const struct op_item *it,
    struct ssh_conn **c, struct buf *out, struct slw_diag *d)
{
	struct keyrot *kr = op->ctx;
	struct st_arg a;
	struct kt_arg ka = { kr->set, KEY_NONE };
	struct buf secret = { 0 };
	int r;

	(void)c;
	(void)out;
	memset(&a, 0, sizeof(a));
	a.kr = kr;
	a.step = (int)it->u;
	if (a.step == 0) {
		/* a new key of the type the current one has */
		if (kr->sa && (r = store_read(op->s, kt_txn, &ka, d)) != 0)
			return r;
		if ((r = keyset_generate(kr->set, ka.kt, &secret)) != 0)
			return slw_diag(d, r, "cannot generate the new %s key",
			    kr->set);
		a.secret = &secret;
	}
	r = store_write(op->s, change_txn, &a, d);
	buf_free(&secret);
	if (r != 0)
		return r;
	slw_diag_set(d, 0, "%s", a.msg);
	return 0;
}

/* ---- service accounts: the longest token ---- */

static int
status_txn(struct store_txn *t, void *arg)
{
	struct st_arg *a = arg;

	return keyset_status(t, a->kr->set, &a->st);
}

/* When generation from's last token may expire: the switch plus the
 * longest token lifetime (0 if the switch time is unknown). */
static time_t
drop_after(const struct keyrot *kr, const struct keyset_status *st)
{
	return st->advanced ? st->advanced +
	    (time_t)kr->op.inv->sa_token_max_seconds : 0;
}

static int
step_wait(struct fleet_op *op, const struct op_item *it,
    struct ssh_conn **c, struct buf *out, struct slw_diag *d)
{
	struct keyrot *kr = op->ctx;
	struct st_arg a;
	char when[32], sw[32];
	time_t t, now = slw_now();
	struct tm tm;
	int r;

	(void)it;
	(void)c;
	(void)out;
	memset(&a, 0, sizeof(a));
	a.kr = kr;
	if ((r = store_read(op->s, status_txn, &a, d)) != 0)
		return r;
	if (a.st.phase == KEYSET_IDLE && a.st.active_gen == kr->to) {
		slw_diag_set(d, 0, "generation %u was retired earlier", kr->from);
		return 0;
	}
	t = drop_after(kr, &a.st);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	gmtime_r(&a.st.advanced, &tm);
	strftime(sw, sizeof(sw), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (now >= t) {
		slw_diag_set(d, 0, "every token signed by generation %u expired "
		    "by %s", kr->from, when);
		return 0;
	}
	if (kr->o->force) {
		slw_diag_set(d, 0, "--force: generation %u is dropped before %s; "
		    "tokens it signed stop working now", kr->from, when);
		return 0;
	}
	(void)sw;
	return slw_diag(d, SLW_ERR_DENIED, "tokens of generation %u may live "
	    "until %s (serviceAccountTokenMaxAge after the switch); run again "
	    "then (%lld s), or with --force to drop it now", kr->from, when,
	    (long long)(t - now));
}

/* ---- encryption: every Secret read and replaced once ---- */

struct note {
	char cursor[SECRET_REF_MAX];	/* the last Secret done ("ns/name") */
	char intent[SECRET_REF_MAX];	/* being replaced (may have been) */
	char rv[KUBE_RV_MAX];		/* its resourceVersion when read */
	size_t done;
};

struct note_txn_arg {
	const char *op;
	struct note *n;
	int write;
};

static int
rwnote_txn(struct store_txn *t, void *arg)
{
	struct note_txn_arg *a = arg;
	char key[JOURNAL_OP_MAX + 8];
	struct buf v = { 0 };
	char line[3 * SECRET_REF_MAX];
	int r, n;

	n = snprintf(key, sizeof(key), NOTE_PREFIX "%s", a->op);
	if (n < 0 || (size_t)n >= sizeof(key))
		return SLW_ERR_INTERNAL;
	if (a->write) {
		n = snprintf(line, sizeof(line), "%s\n%s\n%s\n%zu", a->n->cursor,
		    a->n->intent, a->n->rv, a->n->done);
		if (n < 0 || (size_t)n >= sizeof(line))
			return SLW_ERR_INTERNAL;
		return store_put(t, DB_JOURNAL, key, strlen(key), line,
		    (size_t)n, 0);
	}
	memset(a->n, 0, sizeof(*a->n));
	r = store_get(t, DB_JOURNAL, key, strlen(key), &v);
	if (r == SLW_ERR_NOTFOUND)
		return 0;
	if (r != 0)
		return r;
	if (v.len >= sizeof(line)) {
		buf_free(&v);
		return SLW_ERR_CORRUPT;
	}
	memcpy(line, v.data, v.len);
	line[v.len] = '\0';
	buf_free(&v);
	/* four lines: cursor, intent, its resourceVersion, how many done */
	{
		char *f[4], *p = line;
		size_t k;

		for (k = 0; k < 4; k++) {
			f[k] = p;
			if (k < 3) {
				if ((p = strchr(p, '\n')) == NULL)
					return SLW_ERR_CORRUPT;
				*p++ = '\0';
			}
		}
		fleet_fmt(a->n->cursor, sizeof(a->n->cursor), "%s", f[0]);
		fleet_fmt(a->n->intent, sizeof(a->n->intent), "%s", f[1]);
		fleet_fmt(a->n->rv, sizeof(a->n->rv), "%s", f[2]);
		a->n->done = (size_t)strtoull(f[3], NULL, 10);
	}
	return 0;
}

static int
note_io(struct fleet_op *op, struct note *n, int write, struct slw_diag *d)
{
	struct note_txn_arg a = { op->name, n, write };

	return write ? store_write(op->s, rwnote_txn, &a, d) :
	    store_read(op->s, rwnote_txn, &a, d);
}

struct refs {
	char (*ref)[SECRET_REF_MAX];
	size_t n, cap;
	int err;
};

static int
collect(void *arg, cJSON *obj)
{
	struct refs *rs = arg;
	const char *ns = kube_str(obj, "metadata.namespace");
	const char *name = kube_str(obj, "metadata.name");
	void *p;

	if (ns == NULL || name == NULL || strchr(ns, '/') || strchr(name, '/') ||
	    strlen(ns) + strlen(name) + 2 > SECRET_REF_MAX)
		return 0;
	if (rs->n == rs->cap) {
		size_t nc = rs->cap ? rs->cap * 2 : 256;

		if ((p = realloc(rs->ref, nc * sizeof(*rs->ref))) == NULL)
			return rs->err = SLW_ERR_NOMEM;
		rs->ref = p;
		rs->cap = nc;
	}
	snprintf(rs->ref[rs->n++], SECRET_REF_MAX, "%s/%s", ns, name);
	return 0;
}

static int
ref_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
secret_path(const char *ref, char *out, size_t len)
{
	const char *slash = strchr(ref, '/');

	fleet_fmt(out, len, "/api/v1/namespaces/%.*s/secrets/%s",
	    (int)(slash - ref), ref, slash + 1);
}

/*
 * Replaces one Secret as read (the apiserver writes it again, encrypted
 * with the key that is first now). *did: 1 rewritten by us, 0 not needed
 * (gone, or changed by someone else since we read it: that write was
 * encrypted with the new key as well).
 */
static int
rewrite_one(struct fleet_op *op, struct kube *k, const char *ref,
    struct note *n, int *did, struct slw_diag *d)
{
	char path[SECRET_REF_MAX + 40];
	const char *rv;
	cJSON *obj = NULL, *res = NULL;
	int r;

	*did = 0;
	secret_path(ref, path, sizeof(path));
	r = kube_get(k, path, KUBE_SECRET, &obj, d);
	if (r == SLW_ERR_NOTFOUND)
		return 0;
	if (r != 0)
		goto out;
	if ((rv = kube_str(obj, "metadata.resourceVersion")) == NULL) {
		r = slw_diag(d, SLW_ERR_PARSE, "%s: no resourceVersion", ref);
		goto out;
	}
	/* the intent first: a crash between the write and the note must not
	 * lead to a second write of the same Secret */
	fleet_fmt(n->intent, sizeof(n->intent), "%s", ref);
	fleet_fmt(n->rv, sizeof(n->rv), "%s", rv);
	if ((r = note_io(op, n, 1, d)) != 0)
		goto out;
	r = kube_update(k, path, obj, KUBE_SECRET, &res, d);
	if (r == SLW_ERR_BUSY || r == SLW_ERR_NOTFOUND)
		r = 0;			/* written by someone else, or gone */
	else if (r == 0)
		*did = 1;
 out:
	if (obj != NULL)
		kube_json_free_wipe(obj);
	if (res != NULL)
		kube_json_free_wipe(res);
	return r;
}

static int
step_rewrite(struct fleet_op *op, const struct op_item *it,
    struct ssh_conn **c, struct buf *out, struct slw_diag *d)
{
	struct kube *k = NULL;
	struct refs rs;
	struct note n;
	char rv[KUBE_RV_MAX] = "", path[SECRET_REF_MAX + 40];
	size_t i, done_now = 0, skipped = 0;
	cJSON *cur = NULL;
	int r, did;

	(void)c;
	(void)out;
	memset(&rs, 0, sizeof(rs));
	if ((r = note_io(op, &n, 0, d)) != 0)
		return r;
	if ((r = kube_session_open(op->s, op->inv, NULL, op->o->fleet.actor, &k,
	    NULL, d)) != 0)
		return r;
	/* a write that may have happened before an interruption */
	if (n.intent[0] != '\0') {
		secret_path(n.intent, path, sizeof(path));
		r = kube_get(k, path, KUBE_SECRET, &cur, d);
		if (r == 0 && kube_str(cur, "metadata.resourceVersion") != NULL &&
		    strcmp(kube_str(cur, "metadata.resourceVersion"), n.rv) != 0) {
			/* written since it was read: by the interrupted run */
			fleet_fmt(n.cursor, sizeof(n.cursor), "%s", n.intent);
			n.done++;
			n.intent[0] = n.rv[0] = '\0';
		} else if (r == SLW_ERR_NOTFOUND) {
			n.intent[0] = n.rv[0] = '\0';
			r = 0;
		}
		if (cur != NULL)
			kube_json_free_wipe(cur);
		if (r != 0)
			goto out;
	}
	if ((r = kube_list(k, "/api/v1/secrets", NULL, KUBE_SECRET, collect,
	    &rs, rv, d)) != 0)
		goto out;
	if ((r = rs.err) != 0)
		goto out;
	qsort(rs.ref, rs.n, sizeof(*rs.ref), ref_cmp);
	fleet_op_progress(op, it, "%zu Secrets, %zu rewritten by an earlier run%s"
	    "%s", rs.n, n.done, n.cursor[0] ? "; resumes after " : "", n.cursor);
	for (i = 0; i < rs.n; i++) {
		if (n.cursor[0] != '\0' && strcmp(rs.ref[i], n.cursor) <= 0)
			continue;
		if ((r = rewrite_one(op, k, rs.ref[i], &n, &did, d)) != 0) {
			r = slw_diag(d, r, "Secret %s: %s", rs.ref[i],
			    slw_diag_str(d, r));
			goto out;
		}
		fleet_fmt(n.cursor, sizeof(n.cursor), "%s", rs.ref[i]);
		n.intent[0] = n.rv[0] = '\0';
		if (did) {
			n.done++;
			done_now++;
		} else
			skipped++;
		if ((r = note_io(op, &n, 1, d)) != 0)
			goto out;
		if ((done_now + skipped) % REWRITE_PROGRESS == 0)
			fleet_op_progress(op, it, "%zu of %zu Secrets done", i + 1,
			    rs.n);
	}
	slw_diag_set(d, 0, "%zu Secrets read and replaced through the API "
	    "(%zu now, %zu changed or gone meanwhile: written with the new key "
	    "already)", n.done, done_now, skipped);
	r = 0;
 out:
	free(rs.ref);
	kube_free(k);
	return r;
}

/* ---- the plan ---- */

static int
add_appliance(struct keyrot *kr, const char *stage, const char *what,
    const char *waits, unsigned int *group, op_fn *fn, uintptr_t u)
{
	struct op_item it;

	memset(&it, 0, sizeof(it));
	(*group)++;
	fleet_fmt(it.stage, sizeof(it.stage), "%s", stage);
	fleet_fmt(it.step, sizeof(it.step), "%s", stage);
	it.what = what;
	it.waits = waits;
	it.group = *group;
	it.fn = fn;
	it.u = u;
	return op_plan_add(&kr->op.plan, &it);
}

/* A delivery to every master, one at a time, each verified after its
 * apiserver restarted. */
static int
deliver_masters(struct keyrot *kr, struct fleet_delivery *dv,
    unsigned int *group)
{
	struct op_item it;
	size_t i;
	int r;

	for (i = 0; i < kr->n_masters; i++) {
		if ((r = fleet_deliver_plan(&kr->op, dv, kr->masters[i], group))
		    != 0)
			return r;
		memset(&it, 0, sizeof(it));
		(*group)++;
		fleet_fmt(it.stage, sizeof(it.stage), "%s", dv->stage);
		it.node = kr->masters[i];
		fleet_fmt(it.step, sizeof(it.step), "verify:keys");
		it.what = "the key files as the store renders them now, loaded "
		    "by kube-apiserver (hashes read back)";
		it.waits = "";
		it.group = *group;
		it.par = 1;
		it.flags = OPI_SSH;
		it.fn = step_verify;
		if ((r = op_plan_add(&kr->op.plan, &it)) != 0)
			return r;
	}
	return 0;
}

static int
build(struct keyrot *kr)
{
	unsigned int g = 0;
	int r;

	fleet_fmt(kr->dv[0].stage, sizeof(kr->dv[0].stage), "both");
	kr->dv[0].what = kr->sa ? "both public keys verify, the old key signs" :
	    "both keys decrypt, the old key (listed first) encrypts";
	fleet_fmt(kr->dv[1].stage, sizeof(kr->dv[1].stage), "switch");
	kr->dv[1].what = kr->sa ? "the new key signs (apiserver and "
	    "controller-manager), both verify" : "the new key (listed first) "
	    "encrypts, both decrypt";
	fleet_fmt(kr->dv[2].stage, sizeof(kr->dv[2].stage), "new-only");
	kr->dv[2].what = kr->sa ? "only the new public key verifies" :
	    "only the new key decrypts";
	kr->dv[0].scope = kr->dv[1].scope = kr->dv[2].scope =
	    BUNDLE_SCOPE_PARTIAL;
	if ((r = add_appliance(kr, "begin", "generation N+1: a new key, "
	    "sealed; not used to sign or encrypt yet", "", &g, step_store,
	    0)) != 0 ||
	    (r = deliver_masters(kr, &kr->dv[0], &g)) != 0 ||
	    (r = add_appliance(kr, "advance", kr->sa ? "N+1 signs; refused "
	    "while a master cannot verify it" : "N+1 encrypts; refused while a "
	    "master cannot decrypt it", "", &g, step_store, 1)) != 0 ||
	    (r = deliver_masters(kr, &kr->dv[1], &g)) != 0)
		return r;
	if (kr->sa)
		r = add_appliance(kr, "wait", "nothing until every token signed "
		    "by N may have expired", "security.serviceAccountTokenMaxAge "
		    "after the switch (the run stops and says when)", &g, step_wait,
		    0);
	else
		r = add_appliance(kr, "rewrite", "every Secret read and replaced "
		    "through the API, each once (encrypted with N+1)", "", &g,
		    step_rewrite, 0);
	if (r != 0 ||
	    (r = add_appliance(kr, "finish", "N retired, its key deleted; "
	    "refused while a master lacks N+1", "", &g, step_store, 2)) != 0 ||
	    (r = deliver_masters(kr, &kr->dv[2], &g)) != 0)
		return r;
	return 0;
}

/* ---- which operation ---- */

struct which_arg {
	struct keyrot *kr;
	char kind[JOURNAL_OP_MAX];
	char cur[JOURNAL_OP_MAX];
	struct keyset_status st;
};

static int
which_txn(struct store_txn *t, void *arg)
{
	struct which_arg *a = arg;
	int r;

	if ((r = keyset_status(t, a->kr->set, &a->st)) != 0)
		return r;
	r = journal_op_current(t, a->kind, a->cur, sizeof(a->cur));
	return r == SLW_ERR_NOTFOUND ? 0 : r;
}

int
fleet_keyrot_run(struct store *s, const struct inventory *inv,
    const struct fleet_keyrot_opts *o, int *waiting, struct slw_diag *d)
{
	struct keyrot *kr;
	struct which_arg wa;
	char name[JOURNAL_OP_MAX], title[200];
	const char *tail;
	size_t i;
	int r;

	if (waiting != NULL)
		*waiting = 0;
	if (o == NULL || !keyset_known(o->set))
		return slw_diag(d, SLW_ERR_INVALID, "no key set named '%s'",
		    o && o->set ? o->set : "");
	if ((kr = calloc(1, sizeof(*kr))) == NULL)
		return SLW_ERR_NOMEM;
	kr->o = o;
	kr->set = o->set;
	kr->sa = strcmp(o->set, KEYSET_SA) == 0;
	if ((kr->masters = calloc(inv->n_nodes ? inv->n_nodes : 1,
	    sizeof(*kr->masters))) == NULL) {
		free(kr);
		return SLW_ERR_NOMEM;
	}
	for (i = 0; i < inv->n_nodes; i++)
		if (inv->nodes[i].roles & ROLE_MASTER)
			kr->masters[kr->n_masters++] = &inv->nodes[i];
	memset(&wa, 0, sizeof(wa));
	wa.kr = kr;
	fleet_fmt(wa.kind, sizeof(wa.kind), "key-rotate-%s", o->set);
	if ((r = store_read(s, which_txn, &wa, d)) != 0)
		goto out;
	/* an unfinished rotation resumes; else the next one */
	if (wa.cur[0] != '\0') {
		tail = strrchr(wa.cur, '-');
		kr->to = tail != NULL ? (uint32_t)strtoul(tail + 1, NULL, 10) : 0;
	} else if (wa.st.phase == KEYSET_PENDING)
		kr->to = wa.st.pending_gen;
	else if (wa.st.phase == KEYSET_ADVANCED)
		kr->to = wa.st.active_gen;
	else
		kr->to = wa.st.max_gen + 1;
	if (kr->to < 2) {
		r = slw_diag(d, SLW_ERR_CORRUPT, "journal: %s names no generation",
		    wa.cur);
		goto out;
	}
	kr->from = wa.st.phase == KEYSET_ADVANCED ? wa.st.previous_gen :
	    wa.st.active_gen;
	if (wa.cur[0] != '\0' && wa.st.phase == KEYSET_IDLE &&
	    wa.st.active_gen == kr->to)
		kr->from = kr->to - 1;
	fleet_fmt(name, sizeof(name), "%s-%u", wa.kind, kr->to);
	if ((r = fleet_op_init(&kr->op, s, inv, &o->op, name, wa.kind)) != 0)
		goto out;
	kr->op.ctx = kr;
	fleet_fmt(kr->op.params, sizeof(kr->op.params), "{\"set\":\"%s\","
	    "\"from\":%u,\"to\":%u}", o->set, kr->from, kr->to);
	if ((r = build(kr)) != 0)
		goto out;
	if (o->plan_only) {
		fleet_fmt(title, sizeof(title), "%s: the %s key, generation %u -> "
		    "%u (operation %s)", kr->sa ? "ca rotate run --ca "
		    "service-account" : "key rotate encryption", o->set, kr->from,
		    kr->to, name);
		r = op_plan_print(title, &kr->op.plan, o->op.fleet.json);
		goto out;
	}
	r = fleet_op_run(&kr->op, d);
	if (r != 0 && kr->op.failed != NULL &&
	    strcmp(kr->op.failed->stage, "wait") == 0) {
		if (waiting != NULL)
			*waiting = 1;
	} else if (r != 0 && kr->op.failed != NULL) {
		char why[JOURNAL_REASON_MAX];

		fleet_fmt(why, sizeof(why), "%s", slw_diag_str(d, r));
		slw_diag(d, r, "stopped at %s: %s; nothing after it was started "
		    "(run the same command again to resume)",
		    kr->op.failed->stage, why);
	}
 out:
	fleet_op_fini(&kr->op);
	free(kr->masters);
	free(kr);
	return r;
}
