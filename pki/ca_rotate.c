// SPDX-License-Identifier: Apache-2.0
/*
 * ca_rotate.c: the rotation state machine over CA generations. Each step
 * checks the phase it starts from and changes states in the caller's
 * transaction; none of them ever removes a generation that still signs or
 * that valid leaves depend on (unless the operator forces finish).
 */
#include "ca_rotate.h"
#include "audit.h"
#include "certdb.h"
#include "rand.h"
#include "rec.h"

#include <stdio.h>
#include <string.h>

const char *
ca_rotate_phase_name(enum rotate_phase p)
{
	switch (p) {
	case ROTATE_IDLE: return "idle";
	case ROTATE_PENDING: return "pending";
	case ROTATE_ADVANCED: return "advanced";
	default: return "unknown";
	}
}

struct scan {
	const char *name;
	struct rotate_status *st;
	int bad;
};

static int
scan_one(void *arg, const struct ca_rec *c)
{
	struct scan *sc = arg;
	struct rotate_status *st = sc->st;

	if (strcmp(c->name, sc->name) != 0)
		return 0;
	if (c->gen > st->max_gen)
		st->max_gen = c->gen;
	switch (c->state) {
	case CA_ACTIVE:
		sc->bad |= st->active_gen != 0;
		st->active_gen = c->gen;
		break;
	case CA_PENDING:
		sc->bad |= st->pending_gen != 0;
		st->pending_gen = c->gen;
		break;
	case CA_PREVIOUS:
		sc->bad |= st->previous_gen != 0;
		st->previous_gen = c->gen;
		break;
	default:
		break;
	}
	return 0;
}

int
ca_rotate_status(struct store_txn *t, const char *name,
    struct rotate_status *st)
{
	struct scan sc = { name, st, 0 };
	time_t now = slw_now();
	int r;

	memset(st, 0, sizeof(*st));
	snprintf(st->name, sizeof(st->name), "%s", name);
	if ((r = ca_foreach(t, scan_one, &sc)) != 0)
		return r;
	if (st->max_gen == 0)
		return slw_diag(store_txn_diag(t), SLW_ERR_NOTFOUND,
		    "no CA named '%s'", name);
	if (sc.bad || st->active_gen == 0 ||
	    (st->pending_gen && st->previous_gen))
		return slw_diag(store_txn_diag(t), SLW_ERR_CORRUPT,
		    "CA %s has an inconsistent set of generations", name);
	st->phase = st->pending_gen ? ROTATE_PENDING :
	    st->previous_gen ? ROTATE_ADVANCED : ROTATE_IDLE;
	if ((r = certdb_count_valid_by_ca(t, name, st->active_gen, now,
	    &st->active_valid, NULL)) != 0)
		return r;
	if (st->pending_gen && (r = certdb_count_valid_by_ca(t, name,
	    st->pending_gen, now, &st->pending_valid, NULL)) != 0)
		return r;
	if (st->previous_gen && (r = certdb_count_valid_by_ca(t, name,
	    st->previous_gen, now, &st->previous_valid, &st->example)) != 0)
		return r;
	return 0;
}

int
ca_rotate_subject(const mbedtls_x509_crt *current, uint32_t gen,
    struct dn *out)
{
	char *dash;
	int r;

	if ((r = dn_from_x509(&current->subject, out, NULL)) != 0)
		return r;
	/* "kubernetes" -> "kubernetes-gen2"; "kubernetes-gen2" -> "-gen3" */
	if ((dash = strstr(out->cn, "-gen")) != NULL &&
	    strspn(dash + 4, "0123456789") == strlen(dash + 4) && dash[4])
		*dash = '\0';
	if (strlen(out->cn) + 16 >= sizeof(out->cn))
		return SLW_ERR_INVALID;
	snprintf(out->cn + strlen(out->cn), sizeof(out->cn) - strlen(out->cn),
	    "-gen%u", gen);
	return 0;
}

static int
need_phase(struct store_txn *t, const char *name, struct rotate_status *st,
    enum rotate_phase want, const char *step)
{
	int r;

	if ((r = ca_rotate_status(t, name, st)) != 0)
		return r;
	if (st->phase != want)
		return slw_diag(store_txn_diag(t), SLW_ERR_INVALID,
		    "cannot %s: rotation of CA %s is %s (%s expected)", step, name,
		    ca_rotate_phase_name(st->phase), ca_rotate_phase_name(want));
	return 0;
}

int
ca_rotate_begin(struct store_txn *t, const char *name, const struct key *key,
    const struct buf *der, uint32_t gen)
{
	struct rotate_status st;
	struct cert_rec cr;
	struct cert_info info;
	struct ca_rec rec;
	int r;

	if ((r = need_phase(t, name, &st, ROTATE_IDLE, "begin")) != 0)
		return r;
	if (gen != st.max_gen + 1)
		return slw_diag(store_txn_diag(t), SLW_ERR_INVALID,
		    "CA %s: next generation is %u", name, st.max_gen + 1);
	if ((r = cert_info_der(der->data, der->len, &info)) != 0)
		return r;
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.name, sizeof(rec.name), "%s", name);
	rec.gen = gen;
	rec.state = CA_PENDING;
	rec.created = slw_now();
	rec.not_after = info.not_after;
	rec.key_type = key->type;
	rec.der = *der;		/* borrowed */
	if ((r = ca_put(t, &rec, key)) != 0)
		return r;
	memset(&cr, 0, sizeof(cr));
	memcpy(cr.serial, info.serial, SERIAL_LEN);
	snprintf(cr.ca, sizeof(cr.ca), "%s", name);
	cr.ca_gen = gen;
	snprintf(cr.profile, sizeof(cr.profile), "ca");
	snprintf(cr.purpose, sizeof(cr.purpose), "ca");
	cr.der = *der;		/* borrowed */
	if ((r = certdb_add(t, &cr)) != 0)
		return r;
	return ca_epoch_bump(t);
}

struct begin_arg {
	const char *name, *actor;
	struct ca_rec cur;
	struct rotate_status st;
	struct key *key;
	struct buf der;
	uint32_t gen;
	int phase_only;
};

static int
cur_txn(struct store_txn *t, void *arg)
{
	struct begin_arg *a = arg;
	int r;

	if ((r = ca_rotate_status(t, a->name, &a->st)) != 0)
		return r;
	if (a->st.phase != ROTATE_IDLE)
		return slw_diag(store_txn_diag(t), SLW_ERR_INVALID, "cannot begin: "
		    "rotation of CA %s is already %s", a->name,
		    ca_rotate_phase_name(a->st.phase));
	return ca_get(t, a->name, 0, &a->cur);
}

static int
begin_txn(struct store_txn *t, void *arg)
{
	struct begin_arg *a = arg;
	char detail[128];
	int r;

	if ((r = ca_rotate_begin(t, a->name, a->key, &a->der, a->gen)) != 0)
		return r;
	snprintf(detail, sizeof(detail), "generation %u created, trusted, not "
	    "signing yet", a->gen);
	return audit_append(t, a->actor, "ca.rotate.begin", a->name, detail);
}

int
ca_rotate_begin_store(struct store *s, const char *name, uint32_t hours,
    const char *actor, uint32_t *gen, struct slw_diag *d)
{
	struct begin_arg a;
	mbedtls_x509_crt crt;
	struct dn subj;
	int r;

	memset(&a, 0, sizeof(a));
	a.name = name;
	a.actor = actor;
	mbedtls_x509_crt_init(&crt);
	if ((r = store_read(s, cur_txn, &a, d)) != 0)
		goto out;
	if (mbedtls_x509_crt_parse_der(&crt, a.cur.der.data, a.cur.der.len) !=
	    0) {
		r = slw_diag(d, SLW_ERR_CORRUPT, "CA %s: its certificate does not "
		    "parse", name);
		goto out;
	}
	a.gen = a.st.max_gen + 1;
	if ((r = ca_rotate_subject(&crt, a.gen, &subj)) != 0 ||
	    (r = ca_make_root(&subj, a.cur.key_type, hours, slw_now(), &a.key,
	    &a.der, d)) != 0)
		goto out;
	if ((r = store_write(s, begin_txn, &a, d)) != 0)
		goto out;
	*gen = a.gen;
 out:
	mbedtls_x509_crt_free(&crt);
	ca_rec_free(&a.cur);
	key_free(a.key);
	buf_free(&a.der);
	return r;
}

int
ca_rotate_advance(struct store_txn *t, const char *name)
{
	struct rotate_status st;
	int r;

	if ((r = need_phase(t, name, &st, ROTATE_PENDING, "advance")) != 0)
		return r;
	if ((r = ca_set_state(t, name, st.active_gen, CA_PREVIOUS)) != 0 ||
	    (r = ca_set_state(t, name, st.pending_gen, CA_ACTIVE)) != 0 ||
	    (r = ca_set_current(t, name, st.pending_gen)) != 0)
		return r;
	return ca_epoch_bump(t);
}

int
ca_rotate_finish(struct store_txn *t, const char *name, int force)
{
	struct rotate_status st;
	char aad[CA_NAME_MAX + 24];
	int r;

	if ((r = need_phase(t, name, &st, ROTATE_ADVANCED, "finish")) != 0)
		return r;
	if (st.previous_valid > 0 && !force)
		return slw_diag(store_txn_diag(t), SLW_ERR_DENIED,
		    "CA %s generation %u still has %zu valid certificate(s), "
		    "e.g. '%s'%s%s; re-issue them (re-render the bundles) or use "
		    "--force", name, st.previous_gen, st.previous_valid,
		    st.example.subject, st.example.node[0] ? " of node " : "",
		    st.example.node);
	if ((r = ca_set_state(t, name, st.previous_gen, CA_RETIRED)) != 0)
		return r;
	/* a retired CA never signs again: drop its key */
	snprintf(aad, sizeof(aad), "ca/%s/%u", name, st.previous_gen);
	r = store_del(t, DB_SECRETS, aad, strlen(aad));
	if (r != 0 && r != SLW_ERR_NOTFOUND)
		return r;
	return ca_epoch_bump(t);
}

int
ca_rotate_abort(struct store_txn *t, const char *name)
{
	struct rotate_status st;
	char aad[CA_NAME_MAX + 24];
	int r;

	if ((r = ca_rotate_status(t, name, &st)) != 0)
		return r;
	switch (st.phase) {
	case ROTATE_ADVANCED:	/* sign with the old generation again */
		if ((r = ca_set_state(t, name, st.active_gen, CA_PENDING)) != 0 ||
		    (r = ca_set_state(t, name, st.previous_gen, CA_ACTIVE)) != 0 ||
		    (r = ca_set_current(t, name, st.previous_gen)) != 0)
			return r;
		return ca_epoch_bump(t);
	case ROTATE_PENDING:	/* forget the new generation */
		if (st.pending_valid > 0)
			return slw_diag(store_txn_diag(t), SLW_ERR_DENIED,
			    "CA %s generation %u has signed %zu valid "
			    "certificate(s); it cannot be dropped", name,
			    st.pending_gen, st.pending_valid);
		if ((r = ca_set_state(t, name, st.pending_gen, CA_RETIRED)) != 0)
			return r;
		snprintf(aad, sizeof(aad), "ca/%s/%u", name, st.pending_gen);
		r = store_del(t, DB_SECRETS, aad, strlen(aad));
		if (r != 0 && r != SLW_ERR_NOTFOUND)
			return r;
		return ca_epoch_bump(t);
	default:
		return slw_diag(store_txn_diag(t), SLW_ERR_INVALID,
		    "no rotation of CA %s to abort", name);
	}
}
