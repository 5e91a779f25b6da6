// SPDX-License-Identifier: Apache-2.0
/*
 * http_artifact.c: GET /v1/artifacts/<sha256> in serve's network child
 * (http_artifact.h). GnuTLS verifies the client certificate against the
 * CA bundle the child was given; its DER goes to the monitor, which
 * checks it again and opens the file; the child streams from that
 * descriptor. Must never open a file itself, tell a client why its
 * certificate failed, or hold more than a block of an artifact in memory.
 */
#define _GNU_SOURCE	/* pread on 64-bit offsets */
#include "http_artifact.h"
#include "http.h"
#include "http_range.h"
#include "privsep_client.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#define ERR_CERT "a node client certificate of this cluster is required"

struct slot {
	char node[64];
	unsigned int n;
};

struct http_artifacts {
	pthread_mutex_t mu;
	unsigned int per_node;
	struct slot *slots;
	size_t n_slots;
	size_t active;
};

/* One download: its file, the range it serves, its node's slot. */
struct dl {
	struct http_artifacts *a;
	int fd;
	uint64_t start, len;
	char node[64];
};

int
http_artifacts_new(unsigned int per_node, size_t max_nodes,
    struct http_artifacts **out)
{
	struct http_artifacts *a;

	*out = NULL;
	if (max_nodes == 0)
		max_nodes = 1024;
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->slots = calloc(max_nodes, sizeof(*a->slots))) == NULL) {
		free(a);
		return SLW_ERR_NOMEM;
	}
	pthread_mutex_init(&a->mu, NULL);
	a->per_node = per_node ? per_node : HTTP_ARTIFACT_PER_NODE;
	a->n_slots = max_nodes;
	*out = a;
	return 0;
}

void
http_artifacts_free(struct http_artifacts *a)
{
	if (a == NULL)
		return;
	pthread_mutex_destroy(&a->mu);
	free(a->slots);
	free(a);
}

size_t
http_artifacts_active(struct http_artifacts *a)
{
	size_t n;

	pthread_mutex_lock(&a->mu);
	n = a->active;
	pthread_mutex_unlock(&a->mu);
	return n;
}

/* 0: a download of node may start; SLW_ERR_LIMIT: it has per_node now. */
static int
claim(struct http_artifacts *a, const char *node)
{
	struct slot *free_slot = NULL;
	size_t i;
	int r = SLW_ERR_LIMIT;

	pthread_mutex_lock(&a->mu);
	for (i = 0; i < a->n_slots; i++) {
		struct slot *s = &a->slots[i];

		if (s->n == 0) {
			if (free_slot == NULL)
				free_slot = s;
			continue;
		}
		if (strcmp(s->node, node) != 0)
			continue;
		if (s->n < a->per_node) {
			s->n++;
			a->active++;
			r = 0;
		}
		goto out;
	}
	if (free_slot != NULL) {
		snprintf(free_slot->node, sizeof(free_slot->node), "%s", node);
		free_slot->n = 1;
		a->active++;
		r = 0;
	}
 out:
	pthread_mutex_unlock(&a->mu);
	return r;
}

static void
release(struct http_artifacts *a, const char *node)
{
	size_t i;

	pthread_mutex_lock(&a->mu);
	for (i = 0; i < a->n_slots; i++)
		if (a->slots[i].n > 0 && strcmp(a->slots[i].node, node) == 0) {
			a->slots[i].n--;
			a->active--;
			break;
		}
	pthread_mutex_unlock(&a->mu);
}

/* libmicrohttpd asks for the bytes at pos of the range, a block at most. */
static ssize_t
reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct dl *x = cls;
	ssize_t n;

	if (pos >= x->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if ((uint64_t)max > x->len - pos)
		max = (size_t)(x->len - pos);
	do
		n = pread(x->fd, buf, max, (off_t)(x->start + pos));
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	return n;
}

/* The response is gone: the file closes, the node's slot frees. */
static void
dl_free(void *cls)
{
	struct dl *x = cls;

	if (x == NULL)
		return;
	if (x->fd >= 0)
		close(x->fd);
	release(x->a, x->node);
	free(x);
}

static struct MHD_Response *
json(const char *msg)
{
	struct MHD_Response *r;
	struct buf b = { 0 };

	if (http_error_json(msg, &b) != 0) {
		buf_free(&b);
		return NULL;
	}
	r = MHD_create_response_from_buffer(b.len, b.data,
	    MHD_RESPMEM_MUST_COPY);
	buf_free(&b);
	if (r != NULL) {
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
		    "application/json");
		MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
		    "no-store");
	}
	return r;
}

/*
 * The client certificate GnuTLS verified on this connection (against the
 * CA bundle the child was given), as DER; NULL with why if there is none
 * or it does not verify.
 */
static const gnutls_datum_t *
client_cert(struct MHD_Connection *conn, char *why, size_t len)
{
	const union MHD_ConnectionInfo *ci;
	const gnutls_datum_t *list;
	gnutls_session_t s;
	unsigned int status = 0, n = 0;
	int r;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL) {
		snprintf(why, len, "no TLS session");
		return NULL;
	}
	s = (gnutls_session_t)ci->tls_session;
	if (gnutls_certificate_type_get(s) != GNUTLS_CRT_X509 ||
	    (list = gnutls_certificate_get_peers(s, &n)) == NULL || n == 0) {
		snprintf(why, len, "no client certificate");
		return NULL;
	}
	r = gnutls_certificate_verify_peers2(s, &status);
	if (r < 0) {
		snprintf(why, len, "client certificate: %s", gnutls_strerror(r));
		return NULL;
	}
	if (status != 0) {
		gnutls_datum_t out = { NULL, 0 };

		if (gnutls_certificate_verification_status_print(status,
		    GNUTLS_CRT_X509, &out, 0) == 0 && out.data != NULL) {
			snprintf(why, len, "client certificate: %.*s",
			    (int)out.size, (const char *)out.data);
			gnutls_free(out.data);
		} else
			snprintf(why, len, "client certificate does not verify "
			    "(status %#x)", status);
		return NULL;
	}
	return &list[0];
}

/* "/v1/artifacts/" + 64 lower-case hex digits, nothing else. */
static int
digest_of(const char *url, uint8_t sha[32], char hex[65])
{
	size_t i, p = strlen(HTTP_ARTIFACT_PREFIX);
	const char *h = url + p;

	if (strncmp(url, HTTP_ARTIFACT_PREFIX, p) != 0 || strlen(h) != 64)
		return -1;
	for (i = 0; i < 64; i++) {
		int v = h[i] >= '0' && h[i] <= '9' ? h[i] - '0' :
		    h[i] >= 'a' && h[i] <= 'f' ? h[i] - 'a' + 10 : -1;

		if (v < 0)
			return -1;
		if (i % 2 == 0)
			sha[i / 2] = (uint8_t)(v << 4);
		else
			sha[i / 2] |= (uint8_t)v;
	}
	memcpy(hex, h, 64);
	hex[64] = '\0';
	return 0;
}

static void
peer_of(struct MHD_Connection *conn, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	out[0] = '\0';
	if (ci != NULL && ci->client_addr != NULL)
		http_addr_text(ci->client_addr, out, len);
}

void
http_artifacts_answer(struct http_artifacts *a, struct privsep_client *ps,
    struct MHD_Connection *conn, const char *url, unsigned int *status,
    struct MHD_Response **resp, char *note, size_t notelen)
{
	const gnutls_datum_t *cert;
	struct privsep_artifact pa;
	struct MHD_Response *r = NULL;
	struct dl *x = NULL;
	struct slw_diag d;
	uint64_t start = 0, end = 0;
	uint8_t sha[32];
	char why[200], hex[65], peer[HTTP_ADDR_MAX], hdr[96];
	const char *range;
	int rc, partial = 0;

	*resp = NULL;
	note[0] = '\0';
	memset(&pa, 0, sizeof(pa));
	pa.fd = -1;
	/* no certificate, nothing more: not even whether the path is good */
	if ((cert = client_cert(conn, why, sizeof(why))) == NULL) {
		*status = MHD_HTTP_UNAUTHORIZED;
		snprintf(note, notelen, "artifact refused: %s", why);
		*resp = json(ERR_CERT);
		return;
	}
	if (digest_of(url, sha, hex) != 0) {
		*status = MHD_HTTP_NOT_FOUND;
		snprintf(note, notelen, "artifact: not a sha256 path");
		*resp = json("not found");
		return;
	}
	peer_of(conn, peer, sizeof(peer));
	slw_diag_clear(&d);
	rc = privsep_client_artifact(ps, sha, peer, cert->data, cert->size, &pa,
	    &d);
	if (rc == SLW_ERR_AUTH) {
		*status = MHD_HTTP_UNAUTHORIZED;
		snprintf(note, notelen, "artifact %.16s refused: %s", hex,
		    slw_diag_str(&d, rc));
		*resp = json(ERR_CERT);
		return;
	}
	if (rc == SLW_ERR_NOTFOUND) {
		*status = MHD_HTTP_NOT_FOUND;
		snprintf(note, notelen, "artifact %.16s: %s", hex,
		    slw_diag_str(&d, rc));
		*resp = json("no such artifact");
		return;
	}
	if (rc != 0) {
		*status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		snprintf(note, notelen, "artifact %.16s: %s", hex,
		    slw_diag_str(&d, rc));
		*resp = json("internal error");
		return;
	}
	if (claim(a, pa.node) != 0) {
		close(pa.fd);
		*status = MHD_HTTP_TOO_MANY_REQUESTS;
		snprintf(note, notelen, "artifact %.16s: node %s has %u downloads "
		    "running", hex, pa.node, a->per_node);
		if ((*resp = json("too many downloads at once from this node; "
		    "retry later")) != NULL)
			MHD_add_response_header(*resp, MHD_HTTP_HEADER_RETRY_AFTER,
			    "1");
		return;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		close(pa.fd);
		release(a, pa.node);
		*status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		return;
	}
	x->a = a;
	x->fd = pa.fd;
	snprintf(x->node, sizeof(x->node), "%s", pa.node);
	range = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_RANGE);
	rc = range != NULL ? http_range_parse(range, strnlen(range,
	    HTTP_RANGE_MAX + 1), pa.size, &start, &end) : 1;
	if (rc == SLW_ERR_INVALID) {
		dl_free(x);
		*status = MHD_HTTP_RANGE_NOT_SATISFIABLE;
		snprintf(note, notelen, "artifact %.16s %s to node %s: range "
		    "past its %" PRIu64 " bytes", hex, pa.name, pa.node, pa.size);
		if ((*resp = json("range not satisfiable")) != NULL) {
			snprintf(hdr, sizeof(hdr), "bytes */%" PRIu64, pa.size);
			MHD_add_response_header(*resp,
			    MHD_HTTP_HEADER_CONTENT_RANGE, hdr);
		}
		return;
	}
	if (rc == 0) {
		partial = 1;
		x->start = start;
		x->len = end - start + 1;
	} else {
		x->start = 0;
		x->len = pa.size;
	}
	r = MHD_create_response_from_callback(x->len, HTTP_ARTIFACT_BLOCK,
	    reader, x, dl_free);
	if (r == NULL) {
		dl_free(x);
		*status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		return;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, pa.image ?
	    "application/x-tar" : "application/octet-stream");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	snprintf(hdr, sizeof(hdr), "\"%s\"", hex);
	MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, hdr);
	if (partial) {
		snprintf(hdr, sizeof(hdr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64,
		    start, end, pa.size);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, hdr);
	}
	*status = partial ? MHD_HTTP_PARTIAL_CONTENT : MHD_HTTP_OK;
	*resp = r;
	snprintf(note, notelen, "artifact %.16s %s to node %s: bytes %" PRIu64
	    "-%" PRIu64 " of %" PRIu64, hex, pa.name, pa.node, x->start,
	    x->start + x->len - (x->len > 0), pa.size);
}
