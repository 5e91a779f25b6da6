// SPDX-License-Identifier: Apache-2.0
/*
 * https.c: the one libcurl client (https.h): the TLS policy, the memfd
 * identity, timeouts, the stop flag and the capped response bodies, set
 * in one place for the Kubernetes API and the fleet's gates alike. Must
 * never follow a redirect, use a proxy or a system CA, or put a body, a
 * key or a token into a diag.
 */
#define _GNU_SOURCE	/* memfd_create */
#include "https.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <curl/curl.h>
#include <mbedtls/platform_util.h>

/* A file libcurl can open by name whose bytes never touch a disk. */
struct memfile {
	int fd;
	char path[48];
};

struct https {
	struct memfile ca, cert, key;
	char agent[64];
	long connect_ms;
	const atomic_int *stop;
	pthread_mutex_t mu;		/* h, errbuf */
	CURL *h;			/* https_do's handle (keeps connections) */
	char errbuf[CURL_ERROR_SIZE];
};

/* What one transfer needs beside its handle. */
struct xfer {
	struct https *c;
	CURL *h;
	struct curl_slist *hdr;
	char errbuf[CURL_ERROR_SIZE];
	/* the body sink */
	struct buf *body;
	size_t max;
	int toobig;
	/* streams only */
	const struct https_stream_ops *ops;
	void *arg;
	long status;
	int paused;
};

/* ---- libcurl, once ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void
curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
https_global_init(void)
{
	pthread_once(&curl_once, curl_init);
	return curl_init_rc == CURLE_OK ? 0 : SLW_ERR_INTERNAL;
}

/* ---- the identity in memfds ---- */

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

	if ((m->fd = memfd_create(name, MFD_CLOEXEC)) < 0)
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
		    "cannot hand the client identity to libcurl: "
		    "/proc/self/fd is not available");
	}
	return 0;
}

static int
has(const struct buf *b)
{
	return b != NULL && b->data != NULL && b->len > 0;
}

void
https_free(struct https *c)
{
	if (c == NULL)
		return;
	if (c->h != NULL)
		curl_easy_cleanup(c->h);
	pthread_mutex_destroy(&c->mu);
	memfile_close(&c->ca);
	memfile_close(&c->cert);
	memfile_close(&c->key);
	mbedtls_platform_zeroize(c, sizeof(*c));
	free(c);
}

int
https_new(const struct https_config *cf, struct https **out,
    struct slw_diag *d)
{
	struct https *c = NULL;
	int r;

	*out = NULL;
	if (cf == NULL || !has(cf->ca_pem) ||
	    has(cf->cert_pem) != has(cf->key_pem))
		return slw_diag(d, SLW_ERR_INVALID, "an HTTPS client needs a CA "
		    "bundle, and a key with its certificate or neither");
	if ((r = https_global_init()) != 0)
		return slw_diag(d, r, "libcurl: %s",
		    curl_easy_strerror(curl_init_rc));
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return SLW_ERR_NOMEM;
	c->ca.fd = c->cert.fd = c->key.fd = -1;
	if (pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c);
		return SLW_ERR_NOMEM;
	}
	snprintf(c->agent, sizeof(c->agent), "%s",
	    cf->user_agent ? cf->user_agent : "slipway");
	c->connect_ms = cf->connect_timeout_ms > 0 ? cf->connect_timeout_ms :
	    HTTPS_CONNECT_TIMEOUT_MS;
	if ((r = memfile_open(&c->ca, "slipway-https-ca", cf->ca_pem, d)) != 0)
		goto out;
	if (has(cf->cert_pem) &&
	    ((r = memfile_open(&c->cert, "slipway-https-cert", cf->cert_pem,
	    d)) != 0 ||
	    (r = memfile_open(&c->key, "slipway-https-key", cf->key_pem,
	    d)) != 0))
		goto out;
	r = SLW_ERR_NOMEM;
	if ((c->h = curl_easy_init()) == NULL)
		goto out;
	*out = c;
	c = NULL;
	r = 0;
 out:
	https_free(c);
	return r;
}

void
https_set_stop(struct https *c, const atomic_int *stop)
{
	c->stop = stop;
}

/* ---- one transfer ---- */

static int
stopped(const struct https *c)
{
	return c->stop != NULL && atomic_load(c->stop);
}

static int
xferinfo(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	const struct https *c = arg;

	(void)dt; (void)dn; (void)ut; (void)un;
	return stopped(c) ? 1 : 0;
}

/* Into the capped body; a longer answer stops the transfer. */
static size_t
sink(struct xfer *x, const char *p, size_t n)
{
	if (n > x->max || x->body->len > x->max - n) {
		x->toobig = 1;
		return 0;
	}
	return buf_append(x->body, p, n) == 0 ? n : 0;
}

static size_t
on_data(char *p, size_t sz, size_t nm, void *arg)
{
	struct xfer *x = arg;
	size_t n, took;

	if (nm != 0 && sz > SIZE_MAX / nm)
		return 0;
	n = sz * nm;
	if (x->ops == NULL)
		return sink(x, p, n);
	if (x->status == 0)
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
	if (x->status < 200 || x->status > 299)
		return sink(x, p, n);
	took = x->ops->data(x->arg, (const uint8_t *)p, n);
	if (took == HTTPS_PAUSE) {
		x->paused = 1;
		return CURL_WRITEFUNC_PAUSE;
	}
	return took;
}

static int
url_ok(const char *u)
{
	size_t n;

	if (u == NULL || strncmp(u, "https://", 8) != 0)
		return 0;
	n = strlen(u);
	if (n <= 8 || n >= HTTPS_URL_MAX)
		return 0;
	for (; *u != '\0'; u++)
		if ((unsigned char)*u <= 0x20 || (unsigned char)*u >= 0x7f)
			return 0;
	return 1;
}

/* Every option of every transfer: the policy of https.h, in one place. */
static int
setup(struct xfer *x, const struct https_request *rq)
{
	const struct https *c = x->c;
	CURL *h = x->h;
	char hdr[160];
	struct curl_slist *n;

	curl_easy_reset(h);
#define SET(o, v) do { if (curl_easy_setopt(h, o, v) != CURLE_OK) \
	return SLW_ERR_INTERNAL; } while (0)
	SET(CURLOPT_URL, rq->url);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROXY, "");
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_CAINFO, c->ca.path);
	SET(CURLOPT_CAPATH, (char *)NULL);
	if (c->cert.fd >= 0) {
		SET(CURLOPT_SSLCERT, c->cert.path);
		SET(CURLOPT_SSLCERTTYPE, "PEM");
		SET(CURLOPT_SSLKEY, c->key.path);
		SET(CURLOPT_SSLKEYTYPE, "PEM");
	}
	SET(CURLOPT_CONNECTTIMEOUT_MS, rq->timeout_ms > 0 &&
	    rq->timeout_ms < c->connect_ms ? rq->timeout_ms : c->connect_ms);
	SET(CURLOPT_TIMEOUT_MS, rq->timeout_ms > 0 ? rq->timeout_ms :
	    (long)HTTPS_REQUEST_TIMEOUT_MS);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_TCP_KEEPIDLE, 30L);
	SET(CURLOPT_TCP_KEEPINTVL, 10L);
	SET(CURLOPT_USERAGENT, c->agent);
	SET(CURLOPT_ERRORBUFFER, x->errbuf);
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_XFERINFOFUNCTION, xferinfo);
	SET(CURLOPT_XFERINFODATA, c);
	SET(CURLOPT_WRITEFUNCTION, on_data);
	SET(CURLOPT_WRITEDATA, x);
	snprintf(hdr, sizeof(hdr), "Accept: %.140s",
	    rq->accept ? rq->accept : "application/json");
	if ((x->hdr = curl_slist_append(NULL, hdr)) == NULL)
		return SLW_ERR_NOMEM;
	if (rq->body != NULL) {
		snprintf(hdr, sizeof(hdr), "Content-Type: %.140s",
		    rq->content_type ? rq->content_type : "application/json");
		if ((n = curl_slist_append(x->hdr, hdr)) == NULL)
			return SLW_ERR_NOMEM;
		x->hdr = n;
		SET(CURLOPT_POSTFIELDS, rq->body);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
	}
	SET(CURLOPT_HTTPHEADER, x->hdr);
	if (strcmp(rq->method, "GET") == 0)
		SET(CURLOPT_HTTPGET, 1L);
	else if (strcmp(rq->method, "POST") != 0 || rq->body == NULL)
		SET(CURLOPT_CUSTOMREQUEST, rq->method);
#undef SET
	x->errbuf[0] = '\0';
	return 0;
}

/* Undoes what setup left pointing at the caller's memory. */
static void
finish(struct xfer *x)
{
	if (x->h != NULL) {
		/* never leave a pointer to the caller's (secret) body behind */
		curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, (char *)NULL);
		curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, (void *)NULL);
		curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, (char *)NULL);
	}
	curl_slist_free_all(x->hdr);
	x->hdr = NULL;
}

static int
check_request(const struct https_request *rq, struct slw_diag *d)
{
	if (rq == NULL || rq->method == NULL || rq->method[0] == '\0' ||
	    strlen(rq->method) > 16 || strspn(rq->method,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(rq->method))
		return slw_diag(d, SLW_ERR_INVALID, "HTTPS request without a "
		    "valid method");
	if (!url_ok(rq->url))
		return slw_diag(d, SLW_ERR_INVALID, "%s: not an https URL "
		    "(at most %d printable characters): '%.80s'", rq->method,
		    HTTPS_URL_MAX - 1, rq->url ? rq->url : "");
	return 0;
}

/* The reason of a failed transfer (never a body). */
static int
xfer_err(const struct xfer *x, CURLcode cc, const struct https_request *rq,
    struct slw_diag *d)
{
	if (x->toobig)
		return slw_diag(d, SLW_ERR_TOOBIG, "%s %s: response larger than "
		    "%zu bytes", rq->method, rq->url, x->max);
	if (cc == CURLE_ABORTED_BY_CALLBACK || stopped(x->c))
		return slw_diag(d, SLW_ERR_IO, "%s %s: stopped", rq->method,
		    rq->url);
	/* the server presents a certificate the client's trust bundle does
	 * not cover (e.g. of a CA generation made after the client was) */
	if (cc == CURLE_PEER_FAILED_VERIFICATION)
		return slw_diag(d, SLW_ERR_VERIFY, "%s %s: the server's "
		    "certificate does not verify: %s", rq->method, rq->url,
		    x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
	return slw_diag(d, SLW_ERR_IO, "%s %s: %s", rq->method, rq->url,
	    x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
}

static void
xfer_init(struct xfer *x, struct https *c, CURL *h,
    const struct https_request *rq, struct buf *body)
{
	memset(x, 0, sizeof(*x));
	x->c = c;
	x->h = h;
	x->body = body;
	x->max = rq->max > 0 ? rq->max : HTTPS_MAX_BODY;
}

int
https_do(struct https *c, const struct https_request *rq, long *status,
    struct buf *resp, struct slw_diag *d)
{
	struct xfer x;
	CURLcode cc;
	int r;

	*status = 0;
	buf_free(resp);
	if ((r = check_request(rq, d)) != 0)
		return r;
	if (stopped(c))
		return slw_diag(d, SLW_ERR_IO, "%s %s: stopped", rq->method,
		    rq->url);
	pthread_mutex_lock(&c->mu);
	xfer_init(&x, c, c->h, rq, resp);
	if ((r = setup(&x, rq)) != 0) {
		r = slw_diag(d, r, "%s %s: cannot set up the request",
		    rq->method, rq->url);
		goto out;
	}
	if ((cc = curl_easy_perform(c->h)) != CURLE_OK) {
		r = xfer_err(&x, cc, rq, d);
		goto out;
	}
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, status);
	/* an empty answer is an empty buffer, still NUL-terminated */
	if (resp->data == NULL)
		r = buf_set(resp, "", 0);
 out:
	finish(&x);
	pthread_mutex_unlock(&c->mu);
	if (r != 0) {
		*status = 0;
		buf_free(resp);
	}
	return r;
}

int
https_stream(struct https *c, const struct https_request *rq,
    const struct https_stream_ops *ops, void *arg, long *status,
    struct buf *errbody, struct slw_diag *d)
{
	struct xfer x;
	CURLM *m = NULL;
	CURLMsg *msg;
	CURLcode cc = CURLE_OK;
	CURL *h = NULL;
	int r, running = 1, left;

	*status = 0;
	buf_free(errbody);
	if ((r = check_request(rq, d)) != 0)
		return r;
	if (ops == NULL || ops->data == NULL)
		return slw_diag(d, SLW_ERR_INVALID, "%s %s: no data callback",
		    rq->method, rq->url);
	if ((h = curl_easy_init()) == NULL || (m = curl_multi_init()) == NULL) {
		if (h != NULL)
			curl_easy_cleanup(h);
		return SLW_ERR_NOMEM;
	}
	xfer_init(&x, c, h, rq, errbody);
	x.ops = ops;
	x.arg = arg;
	if ((r = setup(&x, rq)) != 0) {
		r = slw_diag(d, r, "%s %s: cannot set up the request",
		    rq->method, rq->url);
		goto out;
	}
	if (curl_multi_add_handle(m, h) != CURLM_OK) {
		r = SLW_ERR_INTERNAL;
		goto out;
	}
	for (;;) {
		if (curl_multi_perform(m, &running) != CURLM_OK) {
			r = slw_diag(d, SLW_ERR_IO, "%s %s: libcurl failed",
			    rq->method, rq->url);
			goto out;
		}
		/* outside any libcurl callback: the caller may use the client */
		if (ops->idle != NULL && (r = ops->idle(arg)) != 0)
			goto out;
		if (x.paused) {
			x.paused = 0;
			curl_easy_pause(h, CURLPAUSE_CONT);
			continue;
		}
		if (!running)
			break;
		if (stopped(c)) {
			r = slw_diag(d, SLW_ERR_IO, "%s %s: stopped", rq->method,
			    rq->url);
			goto out;
		}
		curl_multi_poll(m, NULL, 0, 1000, NULL);
	}
	while ((msg = curl_multi_info_read(m, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == h)
			cc = msg->data.result;
	if (cc != CURLE_OK) {
		r = xfer_err(&x, cc, rq, d);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	r = 0;
 out:
	if (r != 0)
		*status = 0;
	curl_multi_remove_handle(m, h);
	finish(&x);
	curl_multi_cleanup(m);
	curl_easy_cleanup(h);
	return r;
}
