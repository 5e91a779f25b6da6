// SPDX-License-Identifier: Apache-2.0
/*
 * approver_csr.c: reads a CertificateSigningRequest object (JSON from the
 * API server, untrusted) into the fields the policy looks at. Bounded in
 * every dimension; a malformed object is refused with its reason and never
 * half-filled. No I/O.
 */
#include "approver.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>

#include "kube.h"

#define STR_MAX 1024		/* one username, group or usage */

void
approver_csr_free(struct approver_csr *c)
{
	if (c == NULL)
		return;
	free(c->strs);
	buf_free(&c->request);
	memset(c, 0, sizeof(*c));
}

static int
copy_field(const cJSON *obj, const char *path, char *out, size_t len,
    int required, struct slw_diag *d)
{
	const cJSON *j = kube_item(obj, path);

	out[0] = '\0';
	if (j == NULL || cJSON_IsNull(j)) {
		if (required)
			return slw_diag(d, SLW_ERR_PARSE, "%s is missing", path);
		return 0;
	}
	if (!cJSON_IsString(j))
		return slw_diag(d, SLW_ERR_PARSE, "%s is not a string", path);
	if (strlen(j->valuestring) >= len)
		return slw_diag(d, SLW_ERR_PARSE, "%s is too long", path);
	memcpy(out, j->valuestring, strlen(j->valuestring) + 1);
	return 0;
}

/* Size of the strings of an array (with their NULs); -1 if malformed. */
static long
array_size(const cJSON *a, size_t max_items)
{
	const cJSON *it;
	size_t n = 0, total = 0, l;

	if (a == NULL || cJSON_IsNull(a))
		return 0;
	if (!cJSON_IsArray(a))
		return -1;
	cJSON_ArrayForEach(it, a) {
		if (!cJSON_IsString(it) || ++n > max_items)
			return -1;
		if ((l = strlen(it->valuestring)) >= STR_MAX)
			return -1;
		total += l + 1;
	}
	return (long)total;
}

static size_t
array_copy(const cJSON *a, char **pool, const char **out)
{
	const cJSON *it;
	size_t n = 0, l;

	if (a == NULL || !cJSON_IsArray(a))
		return 0;
	cJSON_ArrayForEach(it, a) {
		l = strlen(it->valuestring);
		memcpy(*pool, it->valuestring, l + 1);
		out[n++] = *pool;
		*pool += l + 1;
	}
	return n;
}

int
approver_csr_from_json(const cJSON *obj, struct approver_csr *c,
    struct slw_diag *d)
{
	const cJSON *groups, *usages, *es, *req, *conds, *cond, *cert;
	const char *user, *ruid;
	long gs, us;
	size_t ul, rl, need, olen;
	char *pool;
	int r;

	memset(c, 0, sizeof(*c));
	if (obj == NULL || !cJSON_IsObject(obj))
		return slw_diag(d, SLW_ERR_PARSE, "CSR is not a JSON object");
	if ((r = copy_field(obj, "metadata.name", c->name, sizeof(c->name), 1,
	    d)) != 0 ||
	    (r = copy_field(obj, "metadata.uid", c->uid, sizeof(c->uid), 0,
	    d)) != 0 ||
	    (r = copy_field(obj, "metadata.resourceVersion", c->rv,
	    sizeof(c->rv), 0, d)) != 0 ||
	    (r = copy_field(obj, "spec.signerName", c->signer,
	    sizeof(c->signer), 1, d)) != 0)
		goto fail;
	user = kube_str(obj, "spec.username");
	if (user == NULL && kube_item(obj, "spec.username") != NULL &&
	    !cJSON_IsNull(kube_item(obj, "spec.username"))) {
		r = slw_diag(d, SLW_ERR_PARSE, "spec.username is not a string");
		goto fail;
	}
	ul = user ? strlen(user) : 0;
	ruid = kube_str(obj, "spec.uid");
	if (ruid == NULL && kube_item(obj, "spec.uid") != NULL &&
	    !cJSON_IsNull(kube_item(obj, "spec.uid"))) {
		r = slw_diag(d, SLW_ERR_PARSE, "spec.uid is not a string");
		goto fail;
	}
	rl = ruid ? strlen(ruid) : 0;
	groups = kube_item(obj, "spec.groups");
	usages = kube_item(obj, "spec.usages");
	if (ul >= STR_MAX) {
		r = slw_diag(d, SLW_ERR_PARSE, "spec.username is too long");
		goto fail;
	}
	if (rl >= STR_MAX) {
		r = slw_diag(d, SLW_ERR_PARSE, "spec.uid is too long");
		goto fail;
	}
	if ((gs = array_size(groups, APPROVER_MAX_GROUPS)) < 0) {
		r = slw_diag(d, SLW_ERR_PARSE, "spec.groups is not a list of "
		    "at most %d strings", APPROVER_MAX_GROUPS);
		goto fail;
	}
	if ((us = array_size(usages, APPROVER_MAX_USAGES)) < 0) {
		r = slw_diag(d, SLW_ERR_PARSE, "spec.usages is not a list of "
		    "at most %d strings", APPROVER_MAX_USAGES);
		goto fail;
	}
	need = ul + 1 + rl + 1 + (size_t)gs + (size_t)us;
	if ((c->strs = malloc(need)) == NULL) {
		r = SLW_ERR_NOMEM;
		goto fail;
	}
	pool = c->strs;
	memcpy(pool, user ? user : "", ul + 1);
	c->rq.username = pool;
	pool += ul + 1;
	memcpy(pool, ruid ? ruid : "", rl + 1);
	c->requester_uid = pool;
	pool += rl + 1;
	c->rq.n_groups = array_copy(groups, &pool, c->groups);
	c->rq.n_usages = array_copy(usages, &pool, c->usages);
	c->rq.groups = c->groups;
	c->rq.usages = c->usages;

	es = kube_item(obj, "spec.expirationSeconds");
	if (es != NULL && !cJSON_IsNull(es)) {
		if (!cJSON_IsNumber(es) || !isfinite(es->valuedouble) ||
		    es->valuedouble != floor(es->valuedouble) ||
		    es->valuedouble < 1 || es->valuedouble > 2147483647.0) {
			r = slw_diag(d, SLW_ERR_PARSE, "spec.expirationSeconds "
			    "is not a positive 32-bit integer");
			goto fail;
		}
		c->rq.expiration_seconds = (int64_t)es->valuedouble;
	}

	/* spec.request: base64 of the PEM (JSON []byte) */
	req = kube_item(obj, "spec.request");
	if (!cJSON_IsString(req)) {
		r = slw_diag(d, SLW_ERR_PARSE, "spec.request is missing");
		goto fail;
	}
	if (strlen(req->valuestring) > (CSR_MAX_LEN / 3 + 1) * 4 + 4096) {
		r = slw_diag(d, SLW_ERR_TOOBIG, "spec.request is larger than "
		    "%d bytes", CSR_MAX_LEN);
		goto fail;
	}
	if (mbedtls_base64_decode(NULL, 0, &olen,
	    (const unsigned char *)req->valuestring,
	    strlen(req->valuestring)) == MBEDTLS_ERR_BASE64_INVALID_CHARACTER) {
		r = slw_diag(d, SLW_ERR_PARSE, "spec.request is not base64");
		goto fail;
	}
	if (olen == 0 || olen > CSR_MAX_LEN + 3) {
		r = slw_diag(d, SLW_ERR_PARSE, "spec.request is empty or too "
		    "large");
		goto fail;
	}
	if ((c->request.data = malloc(olen + 1)) == NULL) {
		r = SLW_ERR_NOMEM;
		goto fail;
	}
	if (mbedtls_base64_decode(c->request.data, olen, &c->request.len,
	    (const unsigned char *)req->valuestring,
	    strlen(req->valuestring)) != 0) {
		r = slw_diag(d, SLW_ERR_PARSE, "spec.request is not base64");
		goto fail;
	}
	c->request.data[c->request.len] = '\0';
	c->rq.request = c->request.data;
	c->rq.request_len = c->request.len;

	/* status */
	conds = kube_item(obj, "status.conditions");
	if (conds != NULL && !cJSON_IsNull(conds) && !cJSON_IsArray(conds)) {
		r = slw_diag(d, SLW_ERR_PARSE, "status.conditions is not a list");
		goto fail;
	}
	cJSON_ArrayForEach(cond, conds) {
		const char *t = kube_str(cond, "type");
		const char *s = kube_str(cond, "status");

		if (t == NULL)
			continue;
		/* Approved/Denied/Failed are only ever "True"; be strict */
		if (s != NULL && strcmp(s, "True") != 0 &&
		    strcmp(s, "true") != 0)
			continue;
		if (strcmp(t, "Approved") == 0)
			c->rq.approved = 1;
		else if (strcmp(t, "Denied") == 0)
			c->rq.denied = 1;
		else if (strcmp(t, "Failed") == 0)
			c->rq.failed = 1;
	}
	cert = kube_item(obj, "status.certificate");
	c->rq.issued = cJSON_IsString(cert) && cert->valuestring[0] != '\0';
	c->rq.name = c->name;
	c->rq.signer = c->signer;
	return 0;
 fail:
	approver_csr_free(c);
	return r;
}
