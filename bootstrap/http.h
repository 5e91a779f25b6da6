/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.h: the small parsers of the HTTPS endpoint, each over
 * untrusted (buf, len) with a hard cap and no I/O, so they can be fuzzed
 * as they are (tests/fuzz/http_request.c).
 */
#ifndef SLW_HTTP_H
#define SLW_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "buf.h"
#include "err.h"

#define HTTP_AUTH_MAX 1024	/* longest Authorization header looked at */
#define HTTP_ADDR_MAX 64	/* an address as text */

/*
 * The credentials of "Authorization: Bearer TOKEN" (scheme case-insensitive,
 * spaces or tabs between, none after). *tok points into hdr. SLW_ERR_AUTH if
 * absent or not of that form.
 */
int http_bearer(const char *hdr, size_t len, const char **tok, size_t *toklen);

/*
 * A listen address: "ADDR:PORT", "[V6ADDR]:PORT" or ":PORT" (all IPv4
 * addresses). Port 0 lets the kernel choose.
 */
int http_listen_parse(const char *s, struct sockaddr_storage *ss,
    socklen_t *sl, struct slw_diag *d);

/* A peer address as text; IPv4-mapped IPv6 addresses become IPv4. */
void http_addr_text(const struct sockaddr *sa, char *out, size_t len);

/* 1 if s (len bytes) is a plausible node name: [A-Za-z0-9._-]{1,63}. */
int http_node_name_ok(const char *s, size_t len);

/*
 * The CA of a CRL request path "/v1/crl/<ca>.pem" (url is NUL-terminated,
 * looked at up to HTTP_URL_MAX): <ca> is [a-z0-9-]{1,31}, copied into
 * ca[calen]. SLW_ERR_NOTFOUND for any other path.
 */
#define HTTP_URL_MAX 256
int http_crl_path(const char *url, char *ca, size_t calen);

/* {"error":"MSG"}: JSON-escaped; bytes outside printable ASCII become '?'. */
int http_error_json(const char *msg, struct buf *out);

/*
 * The request body of POST /v1/enroll, given its declared length (-1 if
 * none, as with chunked encoding): 0 to accept, SLW_ERR_TOOBIG above cap.
 */
int http_body_len_ok(long long declared, size_t cap);

#endif
