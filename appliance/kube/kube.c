// SPDX-License-Identifier: Apache-2.0
/*
 * kube.c: the Kubernetes API client (libcurl + cJSON). Every byte
 * from the server is size-capped before it is parsed; every transfer has a
 * timeout and can be aborted by the stop flag. Must never put the client
 * key, a token or a Secret's data into a diag, and never follow redirects
 * or use a proxy from the environment.
 */
#define _GNU_SOURCE	/* memfd_create */
#include "kube.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <curl/curl.h>
#include <mbedtls/platform_util.h>

#include "rand.h"

/* A file libcurl can open by name whose bytes never touch a disk. */
struct memfile {
	int fd;
	char path[48];
};

struct kube {
	char url[512];
	char agent[64];
	CURL *h;			/* requests (keeps its connection) */
	struct curl_slist *hdr_json;
	struct memfile ca, cert, key;
	const atomic_int *stop;
	char errbuf[CURL_ERROR_SIZE];
};

/* ---- growable response buffer: capped, wiped on growth and free ---- */

struct kbuf {
	uint8_t *p;
	size_t len, cap, max;
	int toobig;
};

static void
kbuf_free(struct kbuf *b)
{
	if (b->p != NULL) {
		mbedtls_platform_zeroize(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	b->len = b->cap = 0;
}

static int
kbuf_put(struct kbuf *b, const void *p, size_t n)
{
	uint8_t *np;
	size_t nc;

	if (n > b->max || b->len > b->max - n) {
		b->toobig = 1;
		return SLW_ERR_TOOBIG;
	}
	if (b->len + n + 1 > b->cap) {
		/* grow by copying, so the old block can be wiped */
		nc = b->cap ? b->cap : 4096;
		while (nc < b->len + n + 1)
			nc *= 2;
		if ((np = malloc(nc)) == NULL)
			return SLW_ERR_NOMEM;
		if (b->len > 0)
			memcpy(np, b->p, b->len);
		if (b->p != NULL) {
			mbedtls_platform_zeroize(b->p, b->cap);
			free(b->p);
		}
		b->p = np;
		b->cap = nc;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* ---- libcurl set-up ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void
curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void
memfile_close(struct memfile *m)
{
	if (m->fd >= 0) {
		/* drop the pages holding the bytes before closing */
		if (ftruncate(m->fd, 0) != 0) {
			/* nothing more to do: close releases them anyway */
		}
		close(m->fd);
	}
	m->fd = -1;
	m->path[0] = '\0';
}

static int
memfile_open(struct memfile *m, const char *name, const struct buf *data,
    struct slw_diag *d)
{
	size_t off = 0;
	ssize_t n;

	m->fd = memfd_create(name, MFD_CLOEXEC);
	if (m->fd < 0)
		return slw_diag(d, SLW_ERR_IO, "memfd_create: %s",
		    strerror(errno));
	while (off < data->len) {
		n = write(m->fd, data->data + off, data->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			memfile_close(m);
			return slw_diag(d, SLW_ERR_IO, "memfd write failed");
		}
		off += (size_t)n;
	}
	snprintf(m->path, sizeof(m->path), "/proc/self/fd/%d", m->fd);
	if (access(m->path, R_OK) != 0) {
		memfile_close(m);
		return slw_diag(d, SLW_ERR_UNSUPPORTED,
		    "cannot hand the client certificate to libcurl: "
		    "/proc/self/fd is not available");
	}
	return 0;
}

void
kube_free(struct kube *k)
{
	if (k == NULL)
		return;
	if (k->h != NULL)
		curl_easy_cleanup(k->h);
	curl_slist_free_all(k->hdr_json);
	memfile_close(&k->ca);
	memfile_close(&k->cert);
	memfile_close(&k->key);
	mbedtls_platform_zeroize(k, sizeof(*k));
	free(k);
}

int
kube_new(const struct kube_config *c, struct kube **out, struct slw_diag *d)
{
	struct kube *k = NULL;
	size_t ul;
	int r = SLW_ERR_INTERNAL;

	*out = NULL;
	if (c == NULL || c->url == NULL || c->ca_pem == NULL ||
	    c->cert_pem == NULL || c->key_pem == NULL)
		return SLW_ERR_INVALID;
	ul = strlen(c->url);
	if (strncmp(c->url, "https://", 8) != 0 || ul <= 8 || ul >= 256 ||
	    strpbrk(c->url, " \t\r\n?#") != NULL)
		return slw_diag(d, SLW_ERR_INVALID,
		    "API server URL must be https://HOST[:PORT] (got '%.80s')",
		    c->url);
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return slw_diag(d, SLW_ERR_INTERNAL, "libcurl: %s",
		    curl_easy_strerror(curl_init_rc));
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return SLW_ERR_NOMEM;
	k->ca.fd = k->cert.fd = k->key.fd = -1;
	snprintf(k->url, sizeof(k->url), "%s", c->url);
	while (ul > 8 && k->url[ul - 1] == '/')
		k->url[--ul] = '\0';
	snprintf(k->agent, sizeof(k->agent), "%s",
	    c->user_agent ? c->user_agent : "slipway");
	if ((r = memfile_open(&k->ca, "slipway-kube-ca", c->ca_pem, d)) != 0 ||
	    (r = memfile_open(&k->cert, "slipway-kube-cert", c->cert_pem,
	    d)) != 0 ||
	    (r = memfile_open(&k->key, "slipway-kube-key", c->key_pem, d)) != 0)
		goto out;
	r = SLW_ERR_NOMEM;
	if ((k->h = curl_easy_init()) == NULL)
		goto out;
	if ((k->hdr_json = curl_slist_append(NULL,
	    "Accept: application/json")) == NULL)
		goto out;
	{
		struct curl_slist *n = curl_slist_append(k->hdr_json,
		    "Content-Type: application/json");

		if (n == NULL)
			goto out;
		k->hdr_json = n;
	}
	*out = k;
	k = NULL;
	r = 0;
 out:
	kube_free(k);
	return r;
}

void
kube_set_stop(struct kube *k, const atomic_int *stop)
{
	k->stop = stop;
}

const char *
kube_url(const struct kube *k)
{
	return k->url;
}

static int
xferinfo(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	const struct kube *k = arg;

	(void)dt; (void)dn; (void)ut; (void)un;
	return k->stop != NULL && atomic_load(k->stop) ? 1 : 0;
}

static int
setup(struct kube *k, CURL *h, const char *method, const char *path,
    long timeout_ms, char *errbuf)
{
	char url[2048];
	int n;

	n = snprintf(url, sizeof(url), "%s%s", k->url, path);
	if (n < 0 || (size_t)n >= sizeof(url))
		return SLW_ERR_TOOBIG;
	curl_easy_reset(h);
#define SET(o, v) do { if (curl_easy_setopt(h, o, v) != CURLE_OK) \
	return SLW_ERR_INTERNAL; } while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROXY, "");
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_CAINFO, k->ca.path);
	SET(CURLOPT_CAPATH, (char *)NULL);
	SET(CURLOPT_SSLCERT, k->cert.path);
	SET(CURLOPT_SSLCERTTYPE, "PEM");
	SET(CURLOPT_SSLKEY, k->key.path);
	SET(CURLOPT_SSLKEYTYPE, "PEM");
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)KUBE_CONNECT_TIMEOUT_MS);
	SET(CURLOPT_TIMEOUT_MS, timeout_ms);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_TCP_KEEPIDLE, 30L);
	SET(CURLOPT_TCP_KEEPINTVL, 10L);
	SET(CURLOPT_USERAGENT, k->agent);
	SET(CURLOPT_HTTPHEADER, k->hdr_json);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_XFERINFOFUNCTION, xferinfo);
	SET(CURLOPT_XFERINFODATA, k);
	if (strcmp(method, "GET") == 0)
		SET(CURLOPT_HTTPGET, 1L);
	else if (strcmp(method, "POST") != 0)
		SET(CURLOPT_CUSTOMREQUEST, method);
#undef SET
	errbuf[0] = '\0';
	return 0;
}

static size_t
write_body(char *p, size_t sz, size_t nm, void *arg)
{
	struct kbuf *b = arg;

	if (nm != 0 && sz > SIZE_MAX / nm)
		return 0;
	if (kbuf_put(b, p, sz * nm) != 0)
		return 0;
	return sz * nm;
}

/* A one-line reason for a failed transfer (never the request body). */
static int
transfer_err(struct kube *k, CURLcode cc, const char *method,
    const char *path, const struct kbuf *b, const char *errbuf,
    struct slw_diag *d)
{
	if (b != NULL && b->toobig)
		return slw_diag(d, SLW_ERR_TOOBIG,
		    "%s %s: response larger than %zu bytes", method, path,
		    b->max);
	if (cc == CURLE_ABORTED_BY_CALLBACK)
		return slw_diag(d, SLW_ERR_IO, "%s %s: stopped", method, path);
	return slw_diag(d, SLW_ERR_IO, "%s %s%s: %s", method, k->url, path,
	    errbuf[0] ? errbuf : curl_easy_strerror(cc));
}

/* One request; the answer (any status) in *http and resp. */
static int
perform(struct kube *k, const char *method, const char *path,
    const struct buf *body, struct kbuf *resp, long *http,
    struct slw_diag *d)
{
	CURLcode cc;
	int r;

	*http = 0;
	if ((r = setup(k, k->h, method, path, KUBE_REQUEST_TIMEOUT_MS,
	    k->errbuf)) != 0)
		return slw_diag(d, r, "%s %s: cannot set up the request",
		    method, path);
	if (body != NULL) {
		if (curl_easy_setopt(k->h, CURLOPT_POSTFIELDS, body->data) !=
		    CURLE_OK || curl_easy_setopt(k->h,
		    CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len) !=
		    CURLE_OK)
			return SLW_ERR_INTERNAL;
	}
	curl_easy_setopt(k->h, CURLOPT_WRITEFUNCTION, write_body);
	curl_easy_setopt(k->h, CURLOPT_WRITEDATA, resp);
	cc = curl_easy_perform(k->h);
	/* never leave a pointer to the caller's (secret) body behind */
	curl_easy_setopt(k->h, CURLOPT_POSTFIELDS, (char *)NULL);
	if (cc != CURLE_OK)
		return transfer_err(k, cc, method, path, resp, k->errbuf, d);
	curl_easy_getinfo(k->h, CURLINFO_RESPONSE_CODE, http);
	return 0;
}

/* ---- JSON ---- */

int
kube_json_parse(const uint8_t *buf, size_t len, size_t max, cJSON **out,
    struct slw_diag *d)
{
	const char *end = NULL;
	cJSON *j;
	size_t i;

	*out = NULL;
	if (buf == NULL || len == 0)
		return slw_diag(d, SLW_ERR_PARSE, "empty JSON document");
	if (len > max)
		return slw_diag(d, SLW_ERR_TOOBIG,
		    "JSON document larger than %zu bytes", max);
	/* cJSON stops at a NUL: refuse them rather than parse a prefix */
	if (memchr(buf, '\0', len) != NULL)
		return slw_diag(d, SLW_ERR_PARSE, "NUL byte in JSON document");
	j = cJSON_ParseWithLengthOpts((const char *)buf, len, &end, 0);
	if (j == NULL)
		return slw_diag(d, SLW_ERR_PARSE, "malformed JSON at byte %zu",
		    end != NULL && end >= (const char *)buf ?
		    (size_t)(end - (const char *)buf) : (size_t)0);
	for (i = (size_t)(end - (const char *)buf); i < len; i++)
		if (buf[i] != ' ' && buf[i] != '\n' && buf[i] != '\r' &&
		    buf[i] != '\t') {
			cJSON_Delete(j);
			return slw_diag(d, SLW_ERR_PARSE,
			    "trailing data after JSON document");
		}
	*out = j;
	return 0;
}

static void
wipe_tree(cJSON *j)
{
	cJSON *c;

	for (c = j; c != NULL; c = c->next) {
		if (c->child != NULL)
			wipe_tree(c->child);
		if (c->valuestring != NULL)
			mbedtls_platform_zeroize(c->valuestring,
			    strlen(c->valuestring));
		if (c->string != NULL && !(c->type & cJSON_StringIsConst))
			mbedtls_platform_zeroize(c->string, strlen(c->string));
		c->valuedouble = 0;
		c->valueint = 0;
	}
}

void
kube_json_free_wipe(cJSON *j)
{
	if (j == NULL)
		return;
	wipe_tree(j);
	cJSON_Delete(j);
}

int
kube_json_print(const cJSON *j, struct buf *out)
{
	size_t cap = 4096;
	char *p;

	for (;;) {
		if ((p = malloc(cap)) == NULL)
			return SLW_ERR_NOMEM;
		if (cJSON_PrintPreallocated((cJSON *)j, p, (int)cap, 0)) {
			int r = buf_set(out, p, strlen(p));

			mbedtls_platform_zeroize(p, cap);
			free(p);
			return r;
		}
		mbedtls_platform_zeroize(p, cap);
		free(p);
		if (cap >= KUBE_MAX_BODY)
			return SLW_ERR_TOOBIG;
		cap *= 2;
	}
}

const cJSON *
kube_item(const cJSON *obj, const char *path)
{
	char key[128];
	const char *p = path, *dot;
	const cJSON *cur = obj;
	size_t n;

	while (cur != NULL && *p != '\0') {
		if (!cJSON_IsObject(cur))
			return NULL;
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n == 0 || n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		cur = cJSON_GetObjectItemCaseSensitive(cur, key);
		p += n + (dot ? 1 : 0);
	}
	return cur;
}

const char *
kube_str(const cJSON *obj, const char *path)
{
	const cJSON *j = kube_item(obj, path);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

/* ---- errors ---- */

int
kube_status_err(long http, const cJSON *status, const char *what, int quiet,
    struct slw_diag *d)
{
	const char *msg = NULL, *reason = NULL;
	int err;

	if (http >= 200 && http < 300)
		return 0;
	if (status != NULL) {
		msg = kube_str(status, "message");
		reason = kube_str(status, "reason");
	}
	switch (http) {
	case 400: case 422: err = SLW_ERR_INVALID; break;
	case 401: err = SLW_ERR_AUTH; break;
	case 403: err = SLW_ERR_DENIED; break;
	case 404: err = SLW_ERR_NOTFOUND; break;
	case 409:
		err = reason != NULL && strcmp(reason, "AlreadyExists") == 0 ?
		    SLW_ERR_EXISTS : SLW_ERR_BUSY;
		break;
	case 410: err = SLW_ERR_EXPIRED; break;
	case 413: err = SLW_ERR_TOOBIG; break;
	default: err = SLW_ERR_IO; break;
	}
	if (quiet || msg == NULL)
		return slw_diag(d, err, "%s: HTTP %ld%s%s", what, http,
		    reason ? " " : "", reason ? reason : "");
	return slw_diag(d, err, "%s: HTTP %ld: %.200s", what, http, msg);
}

/* Request + JSON answer; out may be NULL. */
static int
request_json(struct kube *k, const char *method, const char *path,
    const cJSON *obj, unsigned int flags, cJSON **out, struct slw_diag *d)
{
	struct kbuf resp = { .max = KUBE_MAX_BODY };
	struct buf body = { 0 };
	cJSON *j = NULL;
	char what[300];
	long http;
	int r, quiet = (flags & KUBE_SECRET) != 0;

	if (out != NULL)
		*out = NULL;
	snprintf(what, sizeof(what), "%s %.256s", method, path);
	if (obj != NULL && (r = kube_json_print(obj, &body)) != 0)
		return slw_diag(d, r, "%s: cannot encode the request", what);
	if ((r = perform(k, method, path, obj ? &body : NULL, &resp, &http,
	    d)) != 0)
		goto out;
	if (resp.len > 0 && kube_json_parse(resp.p, resp.len, KUBE_MAX_BODY,
	    &j, NULL) != 0)
		j = NULL;
	if ((r = kube_status_err(http, j, what, quiet, d)) != 0)
		goto out;
	if (out != NULL) {
		if (j == NULL || !cJSON_IsObject(j)) {
			r = slw_diag(d, SLW_ERR_PARSE,
			    "%s: HTTP %ld with a body that is not a JSON object",
			    what, http);
			goto out;
		}
		*out = j;
		j = NULL;
	}
	r = 0;
 out:
	if (quiet)
		kube_json_free_wipe(j);
	else
		cJSON_Delete(j);
	buf_free(&body);
	kbuf_free(&resp);
	return r;
}

int
kube_get(struct kube *k, const char *path, unsigned int flags, cJSON **out,
    struct slw_diag *d)
{
	return request_json(k, "GET", path, NULL, flags, out, d);
}

int
kube_create(struct kube *k, const char *collection, const cJSON *obj,
    unsigned int flags, cJSON **out, struct slw_diag *d)
{
	return request_json(k, "POST", collection, obj, flags, out, d);
}

int
kube_update(struct kube *k, const char *path, const cJSON *obj,
    unsigned int flags, cJSON **out, struct slw_diag *d)
{
	return request_json(k, "PUT", path, obj, flags, out, d);
}

int
kube_delete(struct kube *k, const char *path, struct slw_diag *d)
{
	return request_json(k, "DELETE", path, NULL, 0, NULL, d);
}

int
kube_query_escape(const char *s, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			if (o + 1 >= len)
				return SLW_ERR_TOOBIG;
			out[o++] = (char)c;
		} else {
			if (o + 3 >= len)
				return SLW_ERR_TOOBIG;
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (o >= len)
		return SLW_ERR_TOOBIG;
	out[o] = '\0';
	return 0;
}

static int
copy_rv(char rv[KUBE_RV_MAX], const char *s)
{
	size_t n;

	if (s == NULL)
		return SLW_ERR_PARSE;
	n = strlen(s);
	if (n == 0 || n >= KUBE_RV_MAX || strspn(s,
	    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.:")
	    != n)
		return SLW_ERR_PARSE;
	memcpy(rv, s, n + 1);
	return 0;
}

int
kube_list(struct kube *k, const char *collection, const char *query,
    unsigned int flags, int (*item)(void *arg, cJSON *obj), void *arg,
    char rv[KUBE_RV_MAX], struct slw_diag *d)
{
	char path[2048], cont[1024] = "", esc[1100];
	cJSON *page = NULL;
	const cJSON *items, *it;
	const char *c;
	int r, pages = 0;

	rv[0] = '\0';
	do {
		if (kube_query_escape(cont, esc, sizeof(esc)) != 0)
			return slw_diag(d, SLW_ERR_PARSE,
			    "GET %s: continue token too long", collection);
		snprintf(path, sizeof(path), "%s?limit=%d%s%s%s%s", collection,
		    KUBE_LIST_PAGE, query && *query ? "&" : "",
		    query ? query : "", cont[0] ? "&continue=" : "", esc);
		if ((r = kube_get(k, path, flags, &page, d)) != 0)
			return r;
		items = cJSON_GetObjectItemCaseSensitive(page, "items");
		if (items != NULL && !cJSON_IsNull(items) &&
		    !cJSON_IsArray(items)) {
			r = slw_diag(d, SLW_ERR_PARSE, "GET %s: items is not "
			    "a list", collection);
			goto out;
		}
		cJSON_ArrayForEach(it, items) {
			if (!cJSON_IsObject(it))
				continue;
			if ((r = item(arg, (cJSON *)it)) != 0)
				goto out;
		}
		if (copy_rv(rv, kube_str(page, "metadata.resourceVersion")) !=
		    0) {
			r = slw_diag(d, SLW_ERR_PARSE, "GET %s: list without a "
			    "valid resourceVersion", collection);
			goto out;
		}
		c = kube_str(page, "metadata.continue");
		if (c != NULL && strlen(c) >= sizeof(cont)) {
			r = slw_diag(d, SLW_ERR_PARSE,
			    "GET %s: continue token too long", collection);
			goto out;
		}
		snprintf(cont, sizeof(cont), "%s", c ? c : "");
		if (flags & KUBE_SECRET)
			kube_json_free_wipe(page);
		else
			cJSON_Delete(page);
		page = NULL;
		if (++pages > 100000) {
			r = slw_diag(d, SLW_ERR_LIMIT, "GET %s: too many pages",
			    collection);
			goto out;
		}
	} while (cont[0] != '\0');
	r = 0;
 out:
	if (flags & KUBE_SECRET)
		kube_json_free_wipe(page);
	else
		cJSON_Delete(page);
	return r;
}

/* ---- watch ---- */

int
kube_lines_feed(struct kube_lines *l, const uint8_t *p, size_t n,
    int (*line)(void *arg, const uint8_t *p, size_t n), void *arg)
{
	const uint8_t *nl;
	size_t take;
	int r;

	while (n > 0) {
		nl = memchr(p, '\n', n);
		take = nl ? (size_t)(nl - p) : n;
		if (l->overflow || take > KUBE_MAX_EVENT - l->len) {
			l->overflow = 1;
			return SLW_ERR_TOOBIG;
		}
		if (l->len + take > l->cap) {
			size_t nc = l->cap ? l->cap : 4096;
			uint8_t *nb;

			while (nc < l->len + take)
				nc *= 2;
			if ((nb = malloc(nc)) == NULL)
				return SLW_ERR_NOMEM;
			if (l->len > 0)
				memcpy(nb, l->buf, l->len);
			if (l->buf != NULL) {
				mbedtls_platform_zeroize(l->buf, l->cap);
				free(l->buf);
			}
			l->buf = nb;
			l->cap = nc;
		}
		if (take > 0)
			memcpy(l->buf + l->len, p, take);
		l->len += take;
		p += take;
		n -= take;
		if (nl == NULL)
			break;
		p++;
		n--;
		if (l->len > 0 && !(l->len == 1 && l->buf[0] == '\r')) {
			r = line(arg, l->buf, l->len);
			l->len = 0;
			if (r != 0)
				return r;
		}
		l->len = 0;
	}
	return 0;
}

void
kube_lines_free(struct kube_lines *l)
{
	if (l->buf != NULL) {
		mbedtls_platform_zeroize(l->buf, l->cap);
		free(l->buf);
	}
	memset(l, 0, sizeof(*l));
}

int
kube_event_parse(const uint8_t *p, size_t n, const char **type, cJSON **obj,
    struct slw_diag *d)
{
	static const char *const types[] = {
		"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR",
	};
	cJSON *ev = NULL, *o;
	const char *t;
	size_t i;
	int r;

	*type = NULL;
	*obj = NULL;
	if ((r = kube_json_parse(p, n, KUBE_MAX_EVENT, &ev, d)) != 0)
		return r;
	t = kube_str(ev, "type");
	o = cJSON_GetObjectItemCaseSensitive(ev, "object");
	if (t == NULL || !cJSON_IsObject(o)) {
		cJSON_Delete(ev);
		return slw_diag(d, SLW_ERR_PARSE,
		    "watch event without type or object");
	}
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(t, types[i]) == 0)
			*type = types[i];
	if (*type == NULL) {
		cJSON_Delete(ev);
		return slw_diag(d, SLW_ERR_PARSE, "unknown watch event type");
	}
	if (strcmp(*type, "ERROR") == 0) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(o, "code");

		r = cJSON_IsNumber(code) && code->valuedouble == 410 ?
		    slw_diag(d, SLW_ERR_EXPIRED,
		    "watch: resourceVersion too old (410 Gone)") :
		    kube_status_err(cJSON_IsNumber(code) ?
		    (long)code->valuedouble : 500, o, "watch", 0, d);
		if (r == 0)
			r = SLW_ERR_IO;
		cJSON_Delete(ev);
		*type = NULL;
		return r;
	}
	*obj = cJSON_DetachItemViaPointer(ev, o);
	cJSON_Delete(ev);
	return 0;
}

/*
 * The watch runs on the multi interface: the write callback only parses and
 * queues events (libcurl must not be called from its callbacks), and the
 * queue is handed to the caller between transfers, when the caller may use
 * the client for requests of its own. A full queue pauses the transfer.
 */
#define WATCH_QUEUE_MAX 64

struct wev {
	struct wev *next;
	const char *type;
	cJSON *obj;
	char rv[KUBE_RV_MAX];
};

struct watch_ctx {
	CURL *h;
	struct kube_lines lines;
	struct kbuf err;		/* body of a non-200 answer */
	long http;
	struct wev *head, *tail;
	size_t queued;
	int paused;
	int result;			/* a bad event (or 410) ended the read */
	struct slw_diag *d;
	char errbuf[CURL_ERROR_SIZE];
};

static int
watch_line(void *arg, const uint8_t *p, size_t n)
{
	struct watch_ctx *w = arg;
	struct wev *e;
	int r;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return SLW_ERR_NOMEM;
	if ((r = kube_event_parse(p, n, &e->type, &e->obj, w->d)) != 0) {
		free(e);
		return r;
	}
	if (copy_rv(e->rv, kube_str(e->obj, "metadata.resourceVersion")) !=
	    0) {
		cJSON_Delete(e->obj);
		free(e);
		return slw_diag(w->d, SLW_ERR_PARSE,
		    "watch event without a valid resourceVersion");
	}
	if (w->tail != NULL)
		w->tail->next = e;
	else
		w->head = e;
	w->tail = e;
	w->queued++;
	return 0;
}

static size_t
write_watch(char *p, size_t sz, size_t nm, void *arg)
{
	struct watch_ctx *w = arg;
	size_t n;

	if (nm != 0 && sz > SIZE_MAX / nm)
		return 0;
	n = sz * nm;
	if (w->http == 0)
		curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &w->http);
	if (w->http != 200)
		return kbuf_put(&w->err, p, n) == 0 ? n : 0;
	if (w->queued >= WATCH_QUEUE_MAX) {
		w->paused = 1;
		return CURL_WRITEFUNC_PAUSE;	/* delivered again later */
	}
	if ((w->result = kube_lines_feed(&w->lines, (const uint8_t *)p, n,
	    watch_line, w)) != 0)
		return 0;
	return n;
}

/* Hands the queued events over in order; rv advances past each one the
 * caller handled, so a resumed watch starts right after it. */
static int
watch_drain(struct watch_ctx *w, char rv[KUBE_RV_MAX],
    int (*event)(void *, const char *, cJSON *), void *arg)
{
	struct wev *e;
	int r = 0;

	while (r == 0 && (e = w->head) != NULL) {
		w->head = e->next;
		if (w->head == NULL)
			w->tail = NULL;
		w->queued--;
		if (strcmp(e->type, "BOOKMARK") != 0)
			r = event(arg, e->type, e->obj);
		if (r == 0)
			memcpy(rv, e->rv, KUBE_RV_MAX);
		cJSON_Delete(e->obj);
		free(e);
	}
	return r;
}

static void
watch_free(struct watch_ctx *w)
{
	struct wev *e;

	while ((e = w->head) != NULL) {
		w->head = e->next;
		cJSON_Delete(e->obj);
		free(e);
	}
	w->tail = NULL;
	kube_lines_free(&w->lines);
	kbuf_free(&w->err);
}

int
kube_watch(struct kube *k, const char *collection, const char *query,
    char rv[KUBE_RV_MAX], int (*event)(void *arg, const char *type,
    cJSON *obj), void *arg, struct slw_diag *d)
{
	struct watch_ctx w;
	char path[2048], what[300], from[KUBE_RV_MAX];
	CURLM *m = NULL;
	CURLMsg *msg;
	CURLcode cc = CURLE_OK;
	cJSON *st = NULL;
	int r, running = 1, left;

	memset(&w, 0, sizeof(w));
	w.err.max = KUBE_MAX_BODY;
	w.d = d;
	if (copy_rv(from, rv) != 0)
		return slw_diag(d, SLW_ERR_INVALID, "watch %s: no valid "
		    "resourceVersion to start from", collection);
	snprintf(path, sizeof(path), "%s?watch=1&allowWatchBookmarks=true"
	    "&timeoutSeconds=%d&resourceVersion=%s%s%s", collection,
	    KUBE_WATCH_SECONDS, from, query && *query ? "&" : "",
	    query ? query : "");
	snprintf(what, sizeof(what), "watch %.256s", collection);
	if ((w.h = curl_easy_init()) == NULL || (m = curl_multi_init()) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	/* the total includes the time the caller spends on events */
	if ((r = setup(k, w.h, "GET", path,
	    (KUBE_WATCH_SECONDS + 120) * 1000L, w.errbuf)) != 0)
		goto out;
	curl_easy_setopt(w.h, CURLOPT_WRITEFUNCTION, write_watch);
	curl_easy_setopt(w.h, CURLOPT_WRITEDATA, &w);
	if (curl_multi_add_handle(m, w.h) != CURLM_OK) {
		r = SLW_ERR_INTERNAL;
		goto out;
	}
	for (;;) {
		if (curl_multi_perform(m, &running) != CURLM_OK) {
			r = slw_diag(d, SLW_ERR_IO, "%s: libcurl failed", what);
			goto out;
		}
		/* outside any libcurl callback: the caller may make requests */
		if ((r = watch_drain(&w, rv, event, arg)) != 0)
			goto out;
		if (w.paused) {
			w.paused = 0;
			curl_easy_pause(w.h, CURLPAUSE_CONT);
			continue;
		}
		if (!running)
			break;
		if (k->stop != NULL && atomic_load(k->stop)) {
			r = slw_diag(d, SLW_ERR_IO, "%s: stopped", what);
			goto out;
		}
		curl_multi_poll(m, NULL, 0, 1000, NULL);
	}
	while ((msg = curl_multi_info_read(m, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == w.h)
			cc = msg->data.result;
	if (w.result != 0) {
		r = w.result;	/* a bad event, or 410 */
		goto out;
	}
	if (cc != CURLE_OK) {
		r = transfer_err(k, cc, "GET", path, &w.err, w.errbuf, d);
		goto out;
	}
	if (w.http == 0)
		curl_easy_getinfo(w.h, CURLINFO_RESPONSE_CODE, &w.http);
	if (w.http != 200) {
		if (w.err.len > 0 && kube_json_parse(w.err.p, w.err.len,
		    KUBE_MAX_BODY, &st, NULL) != 0)
			st = NULL;
		r = kube_status_err(w.http, st, what, 0, d);
		if (r == 0)
			r = slw_diag(d, SLW_ERR_IO, "%s: HTTP %ld", what,
			    w.http);
		goto out;
	}
	/* a last line without its newline */
	if (w.lines.len > 0) {
		r = watch_line(&w, w.lines.buf, w.lines.len);
		w.lines.len = 0;
		if (r == 0)
			r = watch_drain(&w, rv, event, arg);
		if (r != 0)
			goto out;
	}
	r = 0;
 out:
	cJSON_Delete(st);
	watch_free(&w);
	if (m != NULL) {
		if (w.h != NULL)
			curl_multi_remove_handle(m, w.h);
		curl_multi_cleanup(m);
	}
	if (w.h != NULL)
		curl_easy_cleanup(w.h);
	return r;
}

/* ---- apply ---- */

static int
set_rv(cJSON *obj, const char *rv)
{
	cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");

	if (!cJSON_IsObject(md))
		return SLW_ERR_PARSE;
	cJSON_DeleteItemFromObjectCaseSensitive(md, "resourceVersion");
	if (rv != NULL && cJSON_AddStringToObject(md, "resourceVersion", rv) ==
	    NULL)
		return SLW_ERR_NOMEM;
	return 0;
}

int
kube_apply(struct kube *k, const char *collection, const char *name,
    const cJSON *desired, int (*merge)(cJSON *cur, const cJSON *desired),
    unsigned int flags, const char **result, struct slw_diag *d)
{
	char path[1024];
	cJSON *cur = NULL, *fresh = NULL;
	int r = SLW_ERR_BUSY, attempt, m, deleted = 0;

	*result = NULL;
	if (snprintf(path, sizeof(path), "%s/%s", collection, name) >=
	    (int)sizeof(path))
		return SLW_ERR_TOOBIG;
	for (attempt = 0; attempt < KUBE_CONFLICT_RETRIES; attempt++) {
		slw_diag_clear(d);
		if (cur != NULL) {
			if (flags & KUBE_SECRET)
				kube_json_free_wipe(cur);
			else
				cJSON_Delete(cur);
			cur = NULL;
		}
		r = kube_get(k, path, flags, &cur, d);
		if (r == SLW_ERR_NOTFOUND) {
			slw_diag_clear(d);
			if ((fresh = cJSON_Duplicate(desired, 1)) == NULL)
				return SLW_ERR_NOMEM;
			if ((r = set_rv(fresh, NULL)) == 0)
				r = kube_create(k, collection, fresh, flags, NULL,
				    d);
			if (flags & KUBE_SECRET)
				kube_json_free_wipe(fresh);
			else
				cJSON_Delete(fresh);
			fresh = NULL;
			if (r == SLW_ERR_EXISTS)
				continue;	/* someone created it meanwhile */
			if (r == 0)
				*result = deleted ? "recreated" : "created";
			goto out;
		}
		if (r != 0)
			goto out;
		if ((m = merge(cur, desired)) < 0) {
			r = slw_diag(d, m, "%s: cannot merge the desired state",
			    path);
			goto out;
		}
		if (m == 0) {
			*result = "unchanged";
			r = 0;
			goto out;
		}
		if (m == KUBE_RECREATE) {
			r = kube_delete(k, path, d);
			if (r != 0 && r != SLW_ERR_NOTFOUND)
				goto out;
			deleted = 1;
			continue;
		}
		r = kube_update(k, path, cur, flags, NULL, d);
		if (r == SLW_ERR_BUSY || r == SLW_ERR_NOTFOUND)
			continue;	/* changed or deleted meanwhile: again */
		if (r == 0)
			*result = "updated";
		goto out;
	}
	if (r == SLW_ERR_BUSY || r == SLW_ERR_EXISTS || r == 0)
		r = slw_diag(d, SLW_ERR_BUSY, "%s: still conflicting after "
		    "%d attempts", path, KUBE_CONFLICT_RETRIES);
 out:
	if (flags & KUBE_SECRET)
		kube_json_free_wipe(cur);
	else
		cJSON_Delete(cur);
	return r;
}

/* ---- backoff ---- */

void
kube_backoff_init(struct kube_backoff *b, unsigned int cap_ms)
{
	b->cap_ms = cap_ms ? cap_ms : 30000;
	b->ms = 500;
}

void
kube_backoff_reset(struct kube_backoff *b)
{
	b->ms = 500;
}

unsigned int
kube_backoff_next(struct kube_backoff *b)
{
	uint32_t rnd = 0;
	unsigned int base = b->ms < b->cap_ms ? b->ms : b->cap_ms, span;

	(void)slw_random(&rnd, sizeof(rnd));
	span = base / 5;	/* +-20 % */
	if (b->ms < b->cap_ms)
		b->ms = b->ms > b->cap_ms / 2 ? b->cap_ms : b->ms * 2;
	if (span == 0)
		return base;
	return base - span + rnd % (2 * span + 1);
}
