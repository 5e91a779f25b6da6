// SPDX-License-Identifier: Apache-2.0
/*
 * kube.c: the Kubernetes API client (on https.h, with cJSON). Every byte
 * from the server is size-capped before it is parsed; every transfer has a
 * timeout and can be aborted by the stop flag. Must never put the client
 * key, a token or a Secret's data into a diag, and never follow redirects
 * or use a proxy from the environment.
 */
#include "kube.h"
#include "https.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "rand.h"

struct kube {
	char url[512];
	struct https *c;		/* the one HTTPS client (https.h) */
};

void
kube_free(struct kube *k)
{
	if (k == NULL)
		return;
	https_free(k->c);
	mbedtls_platform_zeroize(k, sizeof(*k));
	free(k);
}

int
kube_new(const struct kube_config *c, struct kube **out, struct slw_diag *d)
{
	struct https_config hc;
	struct kube *k = NULL;
	size_t ul;
	int r;

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
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return SLW_ERR_NOMEM;
	snprintf(k->url, sizeof(k->url), "%s", c->url);
	while (ul > 8 && k->url[ul - 1] == '/')
		k->url[--ul] = '\0';
	memset(&hc, 0, sizeof(hc));
	hc.ca_pem = c->ca_pem;
	hc.cert_pem = c->cert_pem;
	hc.key_pem = c->key_pem;
	hc.user_agent = c->user_agent;
	hc.connect_timeout_ms = KUBE_CONNECT_TIMEOUT_MS;
	if ((r = https_new(&hc, &k->c, d)) != 0)
		goto out;
	*out = k;
	k = NULL;
 out:
	kube_free(k);
	return r;
}

void
kube_set_stop(struct kube *k, const atomic_int *stop)
{
	https_set_stop(k->c, stop);
}

const char *
kube_url(const struct kube *k)
{
	return k->url;
}

/* The request of method on path (below the API server's URL). */
static int
request(const struct kube *k, const char *method, const char *path,
    long timeout_ms, size_t max, char url[HTTPS_URL_MAX],
    struct https_request *rq, struct slw_diag *d)
{
	int n = snprintf(url, HTTPS_URL_MAX, "%s%s", k->url, path);

	if (n < 0 || n >= HTTPS_URL_MAX)
		return slw_diag(d, SLW_ERR_TOOBIG, "%s %.200s: path too long",
		    method, path);
	memset(rq, 0, sizeof(*rq));
	rq->method = method;
	rq->url = url;
	rq->timeout_ms = timeout_ms;
	rq->max = max;
	return 0;
}

/* One request; the answer (any status) in *http and resp. */
static int
perform(struct kube *k, const char *method, const char *path,
    const struct buf *body, struct buf *resp, long *http,
    struct slw_diag *d)
{
	struct https_request rq;
	char url[HTTPS_URL_MAX];
	int r;

	*http = 0;
	if ((r = request(k, method, path, KUBE_REQUEST_TIMEOUT_MS,
	    KUBE_MAX_BODY, url, &rq, d)) != 0)
		return r;
	if (body != NULL) {
		rq.body = body->data;
		rq.body_len = body->len;
	}
	return https_do(k->c, &rq, http, resp, d);
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
	struct buf resp = { 0 }, body = { 0 };
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
	if (resp.len > 0 && kube_json_parse(resp.data, resp.len, KUBE_MAX_BODY,
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
	buf_free(&resp);
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
		if (l->overflow || take > KUBE_MAX_EVENT - l->b.len) {
			l->overflow = 1;
			return SLW_ERR_TOOBIG;
		}
		if ((r = buf_append(&l->b, p, take)) != 0)
			return r;
		p += take;
		n -= take;
		if (nl == NULL)
			break;
		p++;
		n--;
		r = 0;
		if (l->b.len > 0 && !(l->b.len == 1 && l->b.data[0] == '\r'))
			r = line(arg, l->b.data, l->b.len);
		buf_reset(&l->b);
		if (r != 0)
			return r;
	}
	return 0;
}

void
kube_lines_free(struct kube_lines *l)
{
	buf_free(&l->b);
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
 * The watch is a stream of the HTTPS client (https_stream): its data
 * callback only parses and queues events (the client must not be called
 * from there), and the queue is handed to the caller between transfers
 * (idle), when the caller may use the client for requests of its own. A
 * full queue pauses the transfer.
 */
#define WATCH_QUEUE_MAX 64

struct wev {
	struct wev *next;
	const char *type;
	cJSON *obj;
	char rv[KUBE_RV_MAX];
};

struct watch_ctx {
	struct kube_lines lines;
	struct wev *head, *tail;
	size_t queued;
	int result;			/* a bad event (or 410) ended the read */
	struct slw_diag *d;
	/* the caller's */
	char *rv;
	int (*event)(void *, const char *, cJSON *);
	void *arg;
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
watch_data(void *arg, const uint8_t *p, size_t n)
{
	struct watch_ctx *w = arg;

	if (w->queued >= WATCH_QUEUE_MAX)
		return HTTPS_PAUSE;	/* delivered again after the drain */
	if ((w->result = kube_lines_feed(&w->lines, p, n, watch_line,
	    w)) != 0)
		return 0;
	return n;
}

/* Hands the queued events over in order; rv advances past each one the
 * caller handled, so a resumed watch starts right after it. */
static int
watch_drain(void *arg)
{
	struct watch_ctx *w = arg;
	struct wev *e;
	int r = 0;

	while (r == 0 && (e = w->head) != NULL) {
		w->head = e->next;
		if (w->head == NULL)
			w->tail = NULL;
		w->queued--;
		if (strcmp(e->type, "BOOKMARK") != 0)
			r = w->event(w->arg, e->type, e->obj);
		if (r == 0)
			memcpy(w->rv, e->rv, KUBE_RV_MAX);
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
}

int
kube_watch(struct kube *k, const char *collection, const char *query,
    char rv[KUBE_RV_MAX], int (*event)(void *arg, const char *type,
    cJSON *obj), void *arg, struct slw_diag *d)
{
	static const struct https_stream_ops ops = { watch_data, watch_drain };
	struct watch_ctx w;
	struct https_request rq;
	struct buf err = { 0 };
	char path[2048], what[300], from[KUBE_RV_MAX], url[HTTPS_URL_MAX];
	cJSON *st = NULL;
	long http = 0;
	int r;

	memset(&w, 0, sizeof(w));
	w.d = d;
	w.rv = rv;
	w.event = event;
	w.arg = arg;
	if (copy_rv(from, rv) != 0)
		return slw_diag(d, SLW_ERR_INVALID, "watch %s: no valid "
		    "resourceVersion to start from", collection);
	snprintf(path, sizeof(path), "%s?watch=1&allowWatchBookmarks=true"
	    "&timeoutSeconds=%d&resourceVersion=%s%s%s", collection,
	    KUBE_WATCH_SECONDS, from, query && *query ? "&" : "",
	    query ? query : "");
	snprintf(what, sizeof(what), "watch %.256s", collection);
	/* the total includes the time the caller spends on events */
	if ((r = request(k, "GET", path, (KUBE_WATCH_SECONDS + 120) * 1000L,
	    KUBE_MAX_BODY, url, &rq, d)) != 0)
		return r;
	r = https_stream(k->c, &rq, &ops, &w, &http, &err, d);
	if (w.result != 0) {
		r = w.result;	/* a bad event, or 410 */
		goto out;
	}
	if (r != 0)
		goto out;
	if (http < 200 || http > 299) {
		if (err.len > 0 && kube_json_parse(err.data, err.len,
		    KUBE_MAX_BODY, &st, NULL) != 0)
			st = NULL;
		r = kube_status_err(http, st, what, 0, d);
		if (r == 0)
			r = slw_diag(d, SLW_ERR_IO, "%s: HTTP %ld", what, http);
		goto out;
	}
	/* a last line without its newline */
	if (w.lines.b.len > 0) {
		r = watch_line(&w, w.lines.b.data, w.lines.b.len);
		buf_reset(&w.lines.b);
		if (r == 0)
			r = watch_drain(&w);
		if (r != 0)
			goto out;
	}
	r = 0;
 out:
	cJSON_Delete(st);
	buf_free(&err);
	watch_free(&w);
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
