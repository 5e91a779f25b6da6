/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_guard.h: slipway's check of every request's framing, in front of
 * libmicrohttpd, so that a malformed request is answered with our
 * {"error": "..."} rather than libmicrohttpd 0.9.75's own HTML (which no
 * option or callback of that version can change: its 400, 413, 414, 431
 * and 505 answers are written before the application hears of the
 * request, and a bad Content-Length even gets its header block twice).
 *
 * How: libmicrohttpd reads a TLS connection's plaintext with
 * gnutls_record_recv(). slipway's executable defines that symbol (ELF
 * symbol interposition: the definition in the executable comes first in
 * the lookup scope of libmicrohttpd.so) and calls GnuTLS's own. For a
 * session attached here, each read is passed through http_head; on the
 * first byte it refuses, the guard writes the JSON answer on the session
 * itself (with "Connection: close") and returns end-of-stream, so
 * libmicrohttpd never sees the request and closes the connection. That is
 * safe at any read: libmicrohttpd reads only while it is not writing an
 * answer. Sessions not attached (libcurl's, in other processes or the
 * tests) pass straight through.
 *
 * http_guard_live() says whether the interposition is in effect (it is
 * not if the executable does not export the symbol); the server refuses
 * to start without it.
 */
#ifndef SLW_HTTP_GUARD_H
#define SLW_HTTP_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "http_head.h"

struct http_guard {
	struct http_head head;
	/*
	 * Called on the connection's thread after the answer was written
	 * (or could not be): the status and reason, for the log and the
	 * metrics. Never holds a lock of the guard's.
	 */
	void (*refused)(struct http_guard *g, unsigned int status,
	    const char *msg);
	/* private */
	int answered;
	void *session;
	struct http_guard *next;
};

/*
 * Starts checking session (a gnutls_session_t) with g, which must outlive
 * the attachment. A session attached before (its memory reused by
 * GnuTLS) is replaced.
 */
void http_guard_attach(struct http_guard *g, void *session);
/* Stops checking g's session, if it is still g's. */
void http_guard_detach(struct http_guard *g);
/* 1 if gnutls_record_recv() of this process goes through the guard. */
int http_guard_live(void);

/*
 * The answer the guard writes: a whole HTTP/1.1 response with a JSON
 * error body and "Connection: close". date is an HTTP-date or NULL.
 */
int http_guard_answer(unsigned int status, const char *msg, const char *date,
    char *out, size_t outlen, size_t *n);

#endif
