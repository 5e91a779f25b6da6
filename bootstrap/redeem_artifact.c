// SPDX-License-Identifier: Apache-2.0
/*
 * redeem_artifact.c: the monitor's half of GET /v1/artifacts/<sha256>
 * (http_redeem.h): the node certificate the network child forwards is
 * checked again here against the CA, the clock and the certificate
 * records, and only then is the artifact's file opened for the child.
 * Must never open a path the child chose (only a digest's file in the
 * store's directory), never trust the child's verdict, and never say to
 * the node which check failed.
 */
#include "http_redeem.h"
#include "artifact.h"
#include "certdb.h"
#include "chain.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/x509_crt.h>

struct art_arg {
	struct redeem *rd;
	const uint8_t *sha;
	const uint8_t *der;
	size_t der_len;
	const uint8_t *serial;
	struct artifact a;
	char node[INV_NAME_MAX];
	int auth_ok;
};

static int
art_txn(struct store_txn *t, void *arg)
{
	struct art_arg *aa = arg;
	struct slw_diag *d = store_txn_diag(t);
	struct cert_rec rec;
	int r;

	memset(&rec, 0, sizeof(rec));
	r = certdb_get(t, aa->serial, &rec);
	if (r == SLW_ERR_NOTFOUND) {
		r = slw_diag(d, SLW_ERR_AUTH, "a certificate slipway has no "
		    "record of");
		goto out;
	}
	if (r != 0)
		goto out;
	if (rec.der.len != aa->der_len ||
	    memcmp(rec.der.data, aa->der, aa->der_len) != 0) {
		r = slw_diag(d, SLW_ERR_AUTH, "not the certificate recorded "
		    "under its serial");
		goto out;
	}
	if (strcmp(rec.purpose, "slipway-node") != 0) {
		r = slw_diag(d, SLW_ERR_AUTH, "a %.64s certificate, not a node's "
		    "(slipway-node)", rec.purpose);
		goto out;
	}
	if (rec.status == CERT_REVOKED) {
		r = slw_diag(d, SLW_ERR_AUTH, "node %.64s's certificate is "
		    "revoked", rec.node);
		goto out;
	}
	if (rec.node[0] == '\0' || inventory_node(aa->rd->inv, rec.node) ==
	    NULL) {
		r = slw_diag(d, SLW_ERR_AUTH, "node %.64s is not in the "
		    "inventory", rec.node);
		goto out;
	}
	snprintf(aa->node, sizeof(aa->node), "%s", rec.node);
	aa->auth_ok = 1;
	r = artifact_get(t, aa->sha, &aa->a);
	if (r == SLW_ERR_NOTFOUND)
		r = slw_diag(d, r, "no artifact with that sha256");
 out:
	certdb_rec_free(&rec);
	return r;
}

int
redeem_artifact(struct redeem *rd, const uint8_t sha256[32],
    const uint8_t *der, size_t der_len, time_t now,
    struct redeem_artifact_res *res, struct slw_diag *d)
{
	mbedtls_x509_crt trust;
	struct cert_info ci;
	struct art_arg aa;
	struct buf pem = { 0 };
	char expect_cn[INV_NAME_MAX + 32];
	int r;

	memset(res, 0, sizeof(*res));
	res->fd = -1;
	mbedtls_x509_crt_init(&trust);
	if (der == NULL || der_len == 0 || der_len > REDEEM_NODE_CERT_MAX)
		return slw_diag(d, SLW_ERR_AUTH, "no client certificate");
	if (cert_info_der(der, der_len, &ci) != 0) {
		r = slw_diag(d, SLW_ERR_AUTH, "a client certificate that does "
		    "not parse");
		goto out;
	}
	/* the CA: every trusted generation of the kubernetes CA */
	pthread_rwlock_rdlock(&rd->sg_lock);
	r = signing_trust_pem(rd->sg, CA_KUBERNETES, &pem);
	pthread_rwlock_unlock(&rd->sg_lock);
	if (r != 0 || (r = chain_trust_parse(pem.data, pem.len, &trust, d)) != 0)
		goto out;
	slw_diag_clear(d);
	if (chain_verify(der, der_len, &trust, PURPOSE_CLIENT, d) != 0) {
		r = slw_diag_set(d, SLW_ERR_AUTH, "not a client certificate of "
		    "this cluster's CA (%.120s)", d->msg);
		goto out;
	}
	/* the monitor's clock, whatever the child's said */
	if (now < ci.not_before || now > ci.not_after) {
		r = slw_diag(d, SLW_ERR_AUTH, "a certificate %s", now <
		    ci.not_before ? "not valid yet" : "that expired");
		goto out;
	}
	if (ci.serial_len != SERIAL_LEN || ci.is_ca) {
		r = slw_diag(d, SLW_ERR_AUTH, "not a certificate slipway issued "
		    "to a node");
		goto out;
	}
	memset(&aa, 0, sizeof(aa));
	aa.rd = rd;
	aa.sha = sha256;
	aa.der = der;
	aa.der_len = der_len;
	aa.serial = ci.serial;
	if ((r = store_read(rd->s, art_txn, &aa, d)) != 0) {
		if (!aa.auth_ok && r != SLW_ERR_AUTH)
			r = slw_diag(d, r, "cannot read the certificate records");
		goto out;
	}
	/* its name is its node's (the records say so; the subject agrees) */
	snprintf(expect_cn, sizeof(expect_cn), "CN=slipway-node:%s", aa.node);
	if (strlen(ci.subject) < strlen(expect_cn) || strcmp(ci.subject +
	    strlen(ci.subject) - strlen(expect_cn), expect_cn) != 0) {
		r = slw_diag(d, SLW_ERR_AUTH, "the certificate's subject is not "
		    "node %.64s's", aa.node);
		goto out;
	}
	if (rd->art_dirfd < 0) {
		r = slw_diag(d, SLW_ERR_NOTFOUND, "no artifact store");
		goto out;
	}
	if ((r = artifact_open(rd->art_dirfd, &aa.a, &res->fd)) != 0) {
		r = slw_diag(d, r == SLW_ERR_NOTFOUND ? SLW_ERR_NOTFOUND :
		    SLW_ERR_CORRUPT, "artifact %.16s...: %s", aa.a.hex,
		    r == SLW_ERR_NOTFOUND ? "its file is missing" :
		    "its file does not fit its record");
		goto out;
	}
	res->size = aa.a.size;
	res->image = aa.a.kind == REL_IMAGE;
	snprintf(res->name, sizeof(res->name), "%s", aa.a.name);
	snprintf(res->node, sizeof(res->node), "%s", aa.node);
	r = 0;
 out:
	buf_free(&pem);
	mbedtls_x509_crt_free(&trust);
	return r;
}
