// SPDX-License-Identifier: Apache-2.0
/*
 * http_guard.c: gnutls_record_recv() as libmicrohttpd calls it, with each
 * attached connection's plaintext read through http_head first, and a
 * malformed request answered here with a JSON error. Must never change a
 * byte of what it passes on, nor touch a session that was not attached.
 */
#define _GNU_SOURCE	/* RTLD_NEXT */
#include "http_guard.h"
#include "http.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <mbedtls/platform_util.h>

#define BUCKETS 1024
#define DRAIN_MAX (64 * 1024)	/* read after a refusal, so close() sends no RST */

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct http_guard *reg[BUCKETS];
static atomic_int n_attached;

static pthread_once_t real_once = PTHREAD_ONCE_INIT;
static ssize_t (*real_recv)(gnutls_session_t, void *, size_t);

static void
resolve(void)
{
	void *p = dlsym(RTLD_NEXT, "gnutls_record_recv");

	memcpy(&real_recv, &p, sizeof(p));
}

static size_t
bucket(const void *session)
{
	uintptr_t v = (uintptr_t)session;

	v ^= v >> 17;
	v *= 0x9e3779b97f4a7c15ull;
	return (size_t)(v >> 32) % BUCKETS;
}

void
http_guard_attach(struct http_guard *g, void *session)
{
	struct http_guard **pp;
	size_t b = bucket(session);

	g->session = session;
	g->answered = 0;
	pthread_mutex_lock(&reg_mu);
	for (pp = &reg[b]; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->session == session) {
			/* GnuTLS reused a freed session's memory */
			*pp = (*pp)->next;
			atomic_fetch_sub(&n_attached, 1);
			break;
		}
	g->next = reg[b];
	reg[b] = g;
	atomic_fetch_add(&n_attached, 1);
	pthread_mutex_unlock(&reg_mu);
}

void
http_guard_detach(struct http_guard *g)
{
	struct http_guard **pp;

	if (g == NULL || g->session == NULL)
		return;
	pthread_mutex_lock(&reg_mu);
	for (pp = &reg[bucket(g->session)]; *pp != NULL; pp = &(*pp)->next)
		if (*pp == g) {
			*pp = g->next;
			atomic_fetch_sub(&n_attached, 1);
			break;
		}
	pthread_mutex_unlock(&reg_mu);
	g->session = NULL;
	g->next = NULL;
}

static struct http_guard *
lookup(const void *session)
{
	struct http_guard *g;

	pthread_mutex_lock(&reg_mu);
	for (g = reg[bucket(session)]; g != NULL; g = g->next)
		if (g->session == session)
			break;
	pthread_mutex_unlock(&reg_mu);
	return g;
}

int
http_guard_live(void)
{
	ssize_t (*mine)(gnutls_session_t, void *, size_t) = gnutls_record_recv;
	void *p = dlsym(RTLD_DEFAULT, "gnutls_record_recv"), *q;

	memcpy(&q, &mine, sizeof(q));
	pthread_once(&real_once, resolve);
	return p != NULL && p == q && real_recv != NULL;
}

static const char *
reason(unsigned int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

int
http_guard_answer(unsigned int status, const char *msg, const char *date,
    char *out, size_t outlen, size_t *n)
{
	struct buf body = { 0 };
	int len, r;

	*n = 0;
	if ((r = http_error_json(msg, &body)) != 0)
		goto out;
	/* the fields and their order of the server's own JSON errors */
	len = snprintf(out, outlen, "HTTP/1.1 %u %s\r\n"
	    "%s%s%s"
	    "Connection: close\r\n"
	    "Content-Type: application/json\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Cache-Control: no-store\r\n"
	    "Content-Length: %zu\r\n"
	    "\r\n%.*s", status, reason(status),
	    date ? "Date: " : "", date ? date : "", date ? "\r\n" : "",
	    body.len, (int)body.len, (const char *)body.data);
	if (len < 0 || (size_t)len >= outlen) {
		r = SLW_ERR_TOOBIG;
		goto out;
	}
	*n = (size_t)len;
	r = 0;
 out:
	buf_free(&body);
	return r;
}

/* Writes the answer, reads what the client had sent on, best effort. */
static void
refuse(gnutls_session_t s, unsigned int status, const char *msg)
{
	char out[768], date[64], scratch[4096];
	struct tm tm;
	time_t now = time(NULL);
	size_t n, drained = 0;
	ssize_t k;

	date[0] = '\0';
	if (gmtime_r(&now, &tm) != NULL)
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (http_guard_answer(status, msg, date[0] ? date : NULL, out,
	    sizeof(out), &n) == 0)
		(void)gnutls_record_send(s, out, n);
	while (drained < DRAIN_MAX &&
	    (k = real_recv(s, scratch, sizeof(scratch))) > 0)
		drained += (size_t)k;
	mbedtls_platform_zeroize(scratch, sizeof(scratch));
}

ssize_t
gnutls_record_recv(gnutls_session_t s, void *data, size_t size)
{
	struct http_guard *g;
	unsigned int status;
	const char *msg;
	ssize_t n;

	pthread_once(&real_once, resolve);
	if (real_recv == NULL)
		return GNUTLS_E_INTERNAL_ERROR;
	n = real_recv(s, data, size);
	if (n <= 0 || atomic_load_explicit(&n_attached,
	    memory_order_relaxed) == 0)
		return n;
	/* only the connection's own thread reads it: g stays ours */
	if ((g = lookup(s)) == NULL)
		return n;
	if (g->answered) {
		mbedtls_platform_zeroize(data, (size_t)n);
		return 0;
	}
	if (http_head_feed(&g->head, data, (size_t)n, &status, &msg) == 0)
		return n;
	/* what it sent may hold a token: libmicrohttpd never gets it */
	mbedtls_platform_zeroize(data, (size_t)n);
	refuse(s, status, msg);
	g->answered = 1;
	if (g->refused != NULL)
		g->refused(g, status, msg);
	return 0;	/* end of stream: libmicrohttpd closes the connection */
}
