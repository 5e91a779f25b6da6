// SPDX-License-Identifier: Apache-2.0
/*
 * http_tls.c: the endpoint's serving key and certificate (sealed in the
 * store, reused across restarts, renewed for the same key when stale) and
 * the TLS priority string. Certificates come through bootstrap/signing.h
 * only; this file never sees a CA key and never prints the serving key.
 */
#include "http_tls.h"
#include "audit.h"
#include "ca.h"
#include "certdb.h"
#include "chain.h"
#include "identity.h"
#include "profile.h"
#include "rand.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>

const char HTTP_TLS_PRIORITIES[] =
    "NONE:+VERS-TLS1.3:+VERS-TLS1.2:"
    "+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:+AEAD:"
    "+ECDHE-ECDSA:+ECDHE-RSA:"
    "+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:"
    "+SIGN-ALL:+COMP-NULL:+CTYPE-X509:"
    "%SERVER_PRECEDENCE";

int
http_tls_pin(const struct key *k, char pin[HTTP_TLS_PIN_MAX])
{
	uint8_t h[32];
	size_t olen = 0;
	int r;

	pin[0] = '\0';
	if ((r = key_spki_sha256(k, h)) != 0)
		return r;
	if (mbedtls_base64_encode((unsigned char *)pin, HTTP_TLS_PIN_MAX, &olen,
	    h, sizeof(h)) != 0)
		return SLW_ERR_INTERNAL;
	pin[olen] = '\0';
	return 0;
}

void
http_tls_free(struct http_tls *t)
{
	if (t == NULL)
		return;
	buf_free(&t->key_pem);
	buf_free(&t->cert_pem);
	memset(t, 0, sizeof(*t));
}

struct read_arg {
	struct buf key_der;
	struct buf cert_der;
	struct buf trust;
	struct buf issuer;	/* the kubernetes CA's current generation */
	int want_cert;
};

static int
read_txn(struct store_txn *t, void *arg)
{
	struct read_arg *a = arg;
	char name[CA_NAME_MAX];
	struct ca_rec rec;
	int r;

	buf_free(&a->key_der);
	buf_free(&a->cert_der);
	buf_free(&a->trust);
	buf_free(&a->issuer);
	r = store_secret_get(t, HTTP_TLS_KEY_SECRET, &a->key_der);
	if (r != 0 && r != SLW_ERR_NOTFOUND)
		return r;
	if (!a->want_cert)
		return 0;
	r = store_secret_get(t, HTTP_TLS_CERT_SECRET, &a->cert_der);
	if (r != 0 && r != SLW_ERR_NOTFOUND)
		return r;
	if ((r = ca_trust_pem(t, CA_KUBERNETES, &a->trust)) != 0)
		return r;
	if ((r = ca_resolve(t, CA_KUBERNETES, name)) != 0 ||
	    (r = ca_get(t, name, 0, &rec)) != 0)
		return r;
	r = buf_append(&a->issuer, rec.der.data, rec.der.len);
	ca_rec_free(&rec);
	return r;
}

static void
read_arg_free(struct read_arg *a)
{
	buf_free(&a->key_der);
	buf_free(&a->cert_der);
	buf_free(&a->trust);
	buf_free(&a->issuer);
}

int
http_tls_pin_get(struct store *s, char pin[HTTP_TLS_PIN_MAX],
    struct slw_diag *d)
{
	struct read_arg a;
	struct key *k = NULL;
	int r;

	memset(&a, 0, sizeof(a));
	pin[0] = '\0';
	if ((r = store_read(s, read_txn, &a, d)) != 0)
		goto out;
	if (a.key_der.len == 0) {
		r = SLW_ERR_NOTFOUND;
		goto out;
	}
	if ((r = key_parse(a.key_der.data, a.key_der.len, &k, d)) != 0)
		goto out;
	r = http_tls_pin(k, pin);
 out:
	key_free(k);
	read_arg_free(&a);
	return r;
}

/*
 * Does the stored certificate still serve: key, chain, time, names, and
 * signed by the CA's current generation (after `ca rotate advance` it is
 * renewed, so that the old generation can be retired)?
 */
static int
cert_usable(const struct buf *der, const struct key *k, const struct buf *trust,
    const struct buf *issuer, const struct cert_template *want, time_t now)
{
	mbedtls_x509_crt crt, tr, cur;
	struct buf a = { 0 }, b = { 0 };
	struct san have[SAN_MAX];
	size_t n = 0, i, j;
	int ok = 0;

	mbedtls_x509_crt_init(&crt);
	mbedtls_x509_crt_init(&tr);
	mbedtls_x509_crt_init(&cur);
	if (der->len == 0 ||
	    mbedtls_x509_crt_parse_der(&crt, der->data, der->len) != 0)
		goto out;
	if (cert_time_to_epoch(&crt.valid_to) - now <
	    (time_t)HTTP_TLS_RENEW_DAYS * 86400)
		goto out;
	if (key_write_pk_public_der(&crt.pk, &a) != 0 ||
	    key_write_public_der(k, &b) != 0 || a.len != b.len ||
	    memcmp(a.data, b.data, a.len) != 0)
		goto out;
	if (chain_trust_parse(trust->data, trust->len, &tr, NULL) != 0 ||
	    chain_verify(der->data, der->len, &tr, PURPOSE_SERVER, NULL) != 0)
		goto out;
	if (mbedtls_x509_crt_parse_der(&cur, issuer->data, issuer->len) != 0 ||
	    chain_verify(der->data, der->len, &cur, PURPOSE_SERVER, NULL) != 0)
		goto out;
	if (san_from_x509(&crt.subject_alt_names, have, SAN_MAX, &n, NULL) != 0)
		goto out;
	for (i = 0; i < want->n_sans; i++) {
		for (j = 0; j < n; j++)
			if (san_equal(&want->sans[i], &have[j]))
				break;
		if (j == n)
			goto out;
	}
	ok = 1;
 out:
	buf_free(&a);
	buf_free(&b);
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&tr);
	mbedtls_x509_crt_free(&cur);
	return ok;
}

struct save_arg {
	const struct buf *key_der;	/* NULL: keep the stored key */
	const struct signing_result *sr;
	const char *purpose;
	const char *actor;
	int rotate;
};

static int
save_txn(struct store_txn *t, void *arg)
{
	struct save_arg *a = arg;
	struct buf cur = { 0 };
	char detail[AUDIT_DETAIL_MAX], serial[2 * SERIAL_LEN + 1];
	int r;

	if (a->key_der != NULL) {
		r = store_secret_get(t, HTTP_TLS_KEY_SECRET, &cur);
		buf_free(&cur);
		if (r == 0 && !a->rotate)
			return SLW_ERR_EXISTS;	/* another process made one */
		if (r != 0 && r != SLW_ERR_NOTFOUND)
			return r;
		if ((r = store_secret_put(t, HTTP_TLS_KEY_SECRET,
		    a->key_der->data, a->key_der->len)) != 0)
			return r;
	}
	if ((r = store_secret_put(t, HTTP_TLS_CERT_SECRET, a->sr->der.data,
	    a->sr->der.len)) != 0)
		return r;
	if ((r = signing_result_record(t, a->sr, HTTP_TLS_OWNER, a->purpose,
	    a->actor)) != 0)
		return r;
	hex_encode(a->sr->serial, SERIAL_LEN, serial);
	snprintf(detail, sizeof(detail), "serving certificate %s%s", serial,
	    a->key_der == NULL ? " (same key)" :
	    a->rotate ? " (new key: pins change)" : " (new key)");
	return audit_append(t, a->actor, "serve.cert", "slipway-serve", detail);
}

static int
fill_out(const struct key *k, const struct buf *der, struct http_tls *out)
{
	struct cert_info info;
	int r;

	if ((r = key_write_pem(k, &out->key_pem)) != 0 ||
	    (r = cert_pem_append(&out->cert_pem, der->data, der->len)) != 0 ||
	    (r = http_tls_pin(k, out->pin)) != 0 ||
	    (r = cert_info_der(der->data, der->len, &info)) != 0)
		return r;
	/* libmicrohttpd wants NUL-terminated PEM: buf keeps one after len */
	snprintf(out->serial_hex, sizeof(out->serial_hex), "%s", info.serial_hex);
	out->not_after = info.not_after;
	return 0;
}

int
http_tls_load(struct store *s, const struct inventory *inv,
    struct signing *sg, unsigned int flags, const char *actor,
    struct http_tls *out, struct slw_diag *d)
{
	struct read_arg a;
	struct identity id;
	struct key *k = NULL;
	struct buf new_der = { 0 };
	struct signing_result sr;
	struct signing_request req;
	struct save_arg sa;
	time_t now = slw_now();
	int r, tries, rotate = (flags & HTTP_TLS_ROTATE_KEY) != 0;

	memset(out, 0, sizeof(*out));
	memset(&a, 0, sizeof(a));
	memset(&sr, 0, sizeof(sr));
	a.want_cert = 1;
	if ((r = identity_get(inv, ID_BOOTSTRAP_SERVER, NULL, 0, &id, d)) != 0)
		return r;
	if (id.profile.hours == 0 ||
	    id.profile.hours > HTTP_TLS_VALID_DAYS * 24u)
		id.profile.hours = HTTP_TLS_VALID_DAYS * 24u;
	for (tries = 0; tries < 2; tries++) {
		key_free(k);
		k = NULL;
		buf_free(&new_der);
		signing_result_free(&sr);
		if ((r = store_read(s, read_txn, &a, d)) != 0)
			goto out;
		if (a.key_der.len > 0 && !rotate &&
		    (r = key_parse(a.key_der.data, a.key_der.len, &k, d)) != 0)
			goto out;
		if (k != NULL && cert_usable(&a.cert_der, k, &a.trust, &a.issuer, &id.t,
		    now)) {
			r = fill_out(k, &a.cert_der, out);
			goto out;
		}
		if (sg == NULL) {
			r = slw_diag(d, SLW_ERR_NOTFOUND,
			    "the endpoint has no usable serving certificate yet");
			goto out;
		}
		if (k == NULL) {
			if ((r = key_generate(KEY_EC_P256, &k)) != 0 ||
			    (r = key_write_der(k, &new_der)) != 0)
				goto out;
			out->new_key = 1;
		}
		memset(&req, 0, sizeof(req));
		req.ca_role = id.ca_role;
		req.t = &id.t;
		req.subject = k;
		req.now = now;
		if ((r = signing_sign(sg, &req, &sr, d)) != 0)
			goto out;
		memset(&sa, 0, sizeof(sa));
		sa.key_der = out->new_key ? &new_der : NULL;
		sa.sr = &sr;
		sa.purpose = id.purpose;
		sa.actor = actor;
		sa.rotate = rotate;
		r = store_write(s, save_txn, &sa, d);
		if (r == SLW_ERR_EXISTS && !rotate) {
			out->new_key = 0;	/* lost a race: use theirs */
			continue;
		}
		if (r != 0)
			goto out;
		out->issued = 1;
		r = fill_out(k, &sr.der, out);
		goto out;
	}
	r = slw_diag(d, SLW_ERR_BUSY, "the serving key changed while loading it");
 out:
	if (r != 0)
		http_tls_free(out);
	key_free(k);
	buf_free(&new_der);
	signing_result_free(&sr);
	read_arg_free(&a);
	return r;
}

int
http_tls_throwaway(time_t now, struct http_tls *out, struct slw_diag *d)
{
	struct cert_template t;
	struct profile prof;
	struct key *k = NULL;
	struct buf der = { 0 };
	uint8_t serial[SERIAL_LEN];
	int r;

	memset(&t, 0, sizeof(t));
	/* self-signed takes a CA profile; ECDHE-ECDSA needs digitalSignature */
	if ((r = profile_builtin("ca", &prof)) != 0 ||
	    (r = profile_add_usage(&prof, "digital signature", d)) != 0 ||
	    (r = profile_add_usage(&prof, "server auth", d)) != 0 ||
	    (r = key_generate(KEY_EC_P256, &k)) != 0 ||
	    (r = certdb_serial_new(serial)) != 0)
		goto out;
	t.profile = &prof;
	t.hours = 24;
	snprintf(t.subject.cn, sizeof(t.subject.cn), "slipway (sealed)");
	if ((r = cert_sign(&t, k, NULL, serial, now, &der, d)) != 0 ||
	    (r = fill_out(k, &der, out)) != 0)
		goto out;
	r = 0;
 out:
	if (r != 0)
		http_tls_free(out);
	buf_free(&der);
	key_free(k);
	return r;
}
