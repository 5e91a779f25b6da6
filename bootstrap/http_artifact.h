/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http_artifact.h: GET /v1/artifacts/<sha256> in serve's network child
 * (docs/artifacts.md): the node's client certificate verified by GnuTLS
 * on the connection (its DER forwarded to the monitor, which checks it
 * again and hands back the artifact's open file), a per-node limit on
 * downloads at once, Range for resumed downloads, and the file streamed
 * from its descriptor in blocks (never read whole).
 *
 * Answers: 200/206 with the bytes; 401 {"error": ...} without a node
 * certificate the monitor accepts (the same answer whatever failed); 404
 * for a digest it does not hold (only to a node that passed); 416 for a
 * range past the end; 429 (Retry-After) over the node's limit.
 */
#ifndef SLW_HTTP_ARTIFACT_H
#define SLW_HTTP_ARTIFACT_H

#include <stddef.h>

#include "err.h"

struct MHD_Connection;
struct MHD_Response;
struct privsep_client;

#define HTTP_ARTIFACT_PREFIX "/v1/artifacts/"
#define HTTP_ARTIFACT_PER_NODE 4	/* downloads at once per node */
#define HTTP_ARTIFACT_BLOCK (64 * 1024)	/* bytes read per block */

struct http_artifacts;

/* per_node 0: HTTP_ARTIFACT_PER_NODE; max_nodes: table size. */
int http_artifacts_new(unsigned int per_node, size_t max_nodes,
    struct http_artifacts **out);
void http_artifacts_free(struct http_artifacts *a);
/* Downloads running now (all nodes). */
size_t http_artifacts_active(struct http_artifacts *a);

/*
 * Answers one request for url on conn (GET or HEAD; the caller checked
 * the method). *resp (NULL on out of memory) and the status are for the
 * caller to queue; note gets one access-log line (never a secret).
 */
void http_artifacts_answer(struct http_artifacts *a, struct privsep_client *ps,
    struct MHD_Connection *conn, const char *url, unsigned int *status,
    struct MHD_Response **resp, char *note, size_t notelen);

#endif
