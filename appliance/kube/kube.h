/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube.h: a small Kubernetes API client: HTTPS with a client
 * certificate (https.h), JSON with cJSON. Requests with
 * bounded timeouts; list (paged) and watch with resourceVersion; create,
 * get, update, delete; idempotent apply with 409-conflict retry; errors
 * mapped to SLW_ERR_* with the API's Status message in the diag.
 *
 * Everything the server sends is untrusted: bodies are size-capped and
 * parsed through (buf, len) functions that do no I/O (kube_json_parse,
 * kube_lines_feed), which the fuzz targets and unit tests call directly.
 *
 * Transfers go through the appliance's one HTTPS client (https.h): its
 * TLS policy, timeouts, stop flag and capped bodies; the client key lives
 * only in a memfd and is dropped when the client is freed. One struct
 * kube per thread (a watch and the requests its events make share it).
 */
#ifndef SLW_KUBE_H
#define SLW_KUBE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "err.h"

/* Hard caps on what the server may send. */
#define KUBE_MAX_BODY (32u << 20)	/* one response (a list page) */
#define KUBE_MAX_EVENT (4u << 20)	/* one watch event line */
#define KUBE_RV_MAX 64			/* resourceVersion (opaque string) */
#define KUBE_LIST_PAGE 500		/* ?limit= for paged lists */

/* Timeouts (milliseconds) and retry bounds. */
#define KUBE_CONNECT_TIMEOUT_MS 5000
#define KUBE_REQUEST_TIMEOUT_MS 30000
#define KUBE_WATCH_SECONDS 240		/* ?timeoutSeconds= of a watch */
#define KUBE_CONFLICT_RETRIES 6

struct kube_config {
	const char *url;		/* "https://192.168.0.235:8443" */
	const struct buf *ca_pem;	/* trust bundle for the API server */
	const struct buf *cert_pem;	/* client certificate (chain) */
	const struct buf *key_pem;	/* client private key (secret) */
	const char *user_agent;		/* NULL: "slipway" */
};

struct kube;

int kube_new(const struct kube_config *c, struct kube **out,
    struct slw_diag *d);
/* Wipes the key copy and closes everything; accepts NULL. */
void kube_free(struct kube *k);
/*
 * A flag another thread may set to abort a transfer in progress (watch or
 * request) within about a second. The pointer must outlive the client.
 */
void kube_set_stop(struct kube *k, const atomic_int *stop);
const char *kube_url(const struct kube *k);

/* Request flags. */
#define KUBE_SECRET 0x1u	/* body or response holds a secret: wipe every
				 * copy and keep server messages out of diags */

/*
 * Results of every call below: 0 for a 2xx answer, else
 *   SLW_ERR_NOTFOUND 404, SLW_ERR_EXISTS 409 AlreadyExists,
 *   SLW_ERR_BUSY 409 Conflict (stale resourceVersion), SLW_ERR_EXPIRED 410,
 *   SLW_ERR_AUTH 401, SLW_ERR_DENIED 403, SLW_ERR_INVALID 400/422,
 *   SLW_ERR_IO for 429, 5xx and transport errors (worth retrying),
 *   SLW_ERR_VERIFY when the server's certificate does not verify,
 *   SLW_ERR_TOOBIG for a response over the caps, SLW_ERR_PARSE for bad JSON.
 * d names the method, the path and the server's reason.
 */
int kube_get(struct kube *k, const char *path, unsigned int flags,
    cJSON **out, struct slw_diag *d);
int kube_create(struct kube *k, const char *collection, const cJSON *obj,
    unsigned int flags, cJSON **out, struct slw_diag *d);
/* PUT; obj must carry metadata.resourceVersion for optimistic locking. */
int kube_update(struct kube *k, const char *path, const cJSON *obj,
    unsigned int flags, cJSON **out, struct slw_diag *d);
int kube_delete(struct kube *k, const char *path, struct slw_diag *d);

/*
 * Lists a collection page by page (limit/continue). item gets each item
 * (owned by the caller of item: do not keep it); rv gets the list's
 * resourceVersion, from which a watch can start.
 */
int kube_list(struct kube *k, const char *collection, const char *query,
    unsigned int flags, int (*item)(void *arg, cJSON *obj), void *arg,
    char rv[KUBE_RV_MAX], struct slw_diag *d);

/*
 * Watches a collection from resourceVersion rv, which advances past every
 * event event() handled (returned 0) and every bookmark, so a watch that
 * broke resumes right after the last handled event. event gets "ADDED",
 * "MODIFIED", "DELETED" with the object (borrowed), in order, outside any
 * libcurl callback: it may make requests with the same client. A non-zero
 * return ends the watch with that value and leaves rv before that event.
 * Returns 0 when the server ends the stream (timeout, or it closed it),
 * SLW_ERR_EXPIRED when rv is too old (410: relist), SLW_ERR_IO when the
 * connection broke or the stop flag was set.
 */
int kube_watch(struct kube *k, const char *collection, const char *query,
    char rv[KUBE_RV_MAX], int (*event)(void *arg, const char *type,
    cJSON *obj), void *arg, struct slw_diag *d);

/*
 * Create-or-update of one object, idempotently: GET; if absent, POST
 * desired; if present, merge (which copies desired's fields into cur and
 * returns 1 if it changed anything, 0 if not, < 0 on error) and PUT the
 * result with cur's resourceVersion. A 409 (someone else wrote in between)
 * re-reads and re-applies, up to KUBE_CONFLICT_RETRIES times. If merge
 * returns KUBE_RECREATE the object is deleted and created again (for
 * immutable fields such as a binding's roleRef or a Secret's type).
 * *result: "created", "updated", "unchanged" or "recreated".
 */
#define KUBE_RECREATE 2
int kube_apply(struct kube *k, const char *collection, const char *name,
    const cJSON *desired, int (*merge)(cJSON *cur, const cJSON *desired),
    unsigned int flags, const char **result, struct slw_diag *d);

/* ---- pure helpers (no I/O; untrusted input) ---- */

/* Parses JSON of at most max bytes (nesting limited by cJSON). */
int kube_json_parse(const uint8_t *buf, size_t len, size_t max, cJSON **out,
    struct slw_diag *d);
/* Zeroes every string and number of a tree, then frees it. */
void kube_json_free_wipe(cJSON *j);
/* Serialises without cJSON's growing buffers (nothing left in freed heap). */
int kube_json_print(const cJSON *j, struct buf *out);

/* Object fields, NULL / 0 when absent or of another type. */
const char *kube_str(const cJSON *obj, const char *path);	/* "a.b.c" */
const cJSON *kube_item(const cJSON *obj, const char *path);

/* Splits a watch stream into lines of at most KUBE_MAX_EVENT bytes. */
struct kube_lines {
	struct buf b;		/* the line so far (wiped between lines) */
	int overflow;
};
/* Calls line(arg, p, n) for every complete line in p; returns line's
 * first non-zero result, SLW_ERR_TOOBIG if a line exceeds the cap. */
int kube_lines_feed(struct kube_lines *l, const uint8_t *p, size_t n,
    int (*line)(void *arg, const uint8_t *p, size_t n), void *arg);
void kube_lines_free(struct kube_lines *l);

/*
 * One watch event line: {"type": T, "object": O}. *type points into a
 * static string ("ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR");
 * *obj is the object (caller frees). ERROR events with code 410 give
 * SLW_ERR_EXPIRED, other ERROR events SLW_ERR_IO.
 */
int kube_event_parse(const uint8_t *p, size_t n, const char **type,
    cJSON **obj, struct slw_diag *d);

/* Maps an HTTP status and a Status body to SLW_ERR_*, message into d. */
int kube_status_err(long http, const cJSON *status, const char *what,
    int quiet, struct slw_diag *d);

/* Exponential backoff with jitter: 500 ms doubling to a cap. */
struct kube_backoff {
	unsigned int ms;
	unsigned int cap_ms;
};
void kube_backoff_init(struct kube_backoff *b, unsigned int cap_ms);
/* The next delay (ms) to wait, with +-20 % jitter; doubles the base. */
unsigned int kube_backoff_next(struct kube_backoff *b);
void kube_backoff_reset(struct kube_backoff *b);

/* Percent-encodes a query value (RFC 3986 unreserved kept). */
int kube_query_escape(const char *s, char *out, size_t len);

#endif
