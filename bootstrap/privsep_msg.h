/* SPDX-License-Identifier: Apache-2.0 */
/*
 * privsep_msg.h: the typed messages between `slipway serve`'s monitor (the
 * store, the KEK, the CA keys, rendering and redemption) and its network
 * child (HTTP and TLS), over socketpairs. Each message is one frame:
 *
 *   u32 length (big-endian; type byte + payload)  u8 type  payload
 *
 * Payload fields, in a fixed order per type: u32 (big-endian), i32 (as
 * u32), str (u16 length + bytes, no NUL, per-field cap), blob (u32 length +
 * bytes, per-field cap). A frame is valid only if every field is within its
 * cap and nothing is left over. The parser is privsep_msg_parse (buf, len,
 * no I/O; tests/fuzz/privsep_msg.c); its serializer privsep_msg_write sits
 * next to it in privsep_msg.c.
 *
 *   request (child -> monitor)        answer (monitor -> child)
 *   PS_PRECHECK {token, peer, node}   PS_TOKEN_ANS {rc, why, id, node, n, -, text}
 *   PS_REDEEM   {token, peer, node}   PS_TOKEN_ANS {..., body: the tar.gz}
 *   PS_ENROLL   {token, peer, node,   PS_TOKEN_ANS {..., body: PEM chain}
 *                csr <= 64 KiB}
 *   PS_CA_PEM   {}                    PS_BYTES_ANS {rc, body: trust bundle}
 *   PS_HEALTH   {}                    PS_BYTES_ANS {rc}
 *   PS_METRICS  {}                    PS_BYTES_ANS {rc, body: CA gauges}
 *   PS_METRICS_ALL {}                 PS_BYTES_ANS {rc, body: every series
 *                                       of the metrics listener}
 *   PS_CRL_PEM  {ca}                  PS_BYTES_ANS {rc, body: the CA's CRLs}
 *   PS_ARTIFACT {sha256, peer,        PS_ARTIFACT_ANS {rc, size, image, name,
 *                cert: DER}              node, text} + the file's descriptor
 *                                        (SCM_RIGHTS) when rc is 0
 *
 * and, once per child on the control channel: PS_CONFIG (monitor -> child,
 * right after exec: limits and the serving key and certificate) and
 * PS_READY (child -> monitor: it is accepting connections).
 *
 * The child never sends a time or anything the monitor must believe beyond
 * the client's address: the monitor uses its own clock.
 *
 * The CSR approver process (slipway-approver) has one channel of its own,
 * with its own types (from 32 on) and caps:
 *
 *   monitor -> approver, once:  PS_APR_CONFIG {flags, token sync, backoff
 *                                cap, API server URL, the stored inventory}
 *   approver -> monitor, once:  PS_READY (sandboxed, about to connect)
 *   request (approver)                    answer (monitor)
 *   PS_APR_TOKEN {node, secret?}          PS_APR_TOKEN_ANS {rc, id, secret,
 *                                          expires}
 *   PS_APR_AUDIT {action, object, detail} PS_BYTES_ANS {rc}
 *   PS_APR_CERT  {csr <= 4 KiB}           PS_APR_CERT_ANS {rc, text,
 *                                          not_after, cert, trust}
 *   PS_APR_SIGN  {name, uid, signer,      PS_APR_SIGN_ANS {rc, text, node,
 *     username, requester uid, groups,      serial, again, chain}
 *     usages, expiration, request}
 *   approver -> monitor, last: PS_APR_DONE {rc, text, counts}
 *
 * Nothing the approver sends is believed: the monitor re-parses the CSR
 * and re-runs the policy on a PS_APR_SIGN before it signs anything.
 */
#ifndef SLW_PRIVSEP_MSG_H
#define SLW_PRIVSEP_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "csr.h"
#include "err.h"
#include "token.h"

#define PS_TOKEN_MAX 1024	/* HTTP_AUTH_MAX: the bearer credentials */
#define PS_PEER_MAX 64		/* an address as text, with its NUL */
#define PS_NODE_MAX 64		/* ?node=, with its NUL */
#define PS_TEXT_MAX 320		/* SLW_DIAG_MAX: one reason, with its NUL */
#define PS_CA_MAX 32		/* CA_NAME_MAX: [a-z0-9-], with its NUL */
#define PS_PEM_MAX (16 * 1024)	/* serving key or certificate (CONFIG) */
#define PS_BODY_MAX (8u << 20)	/* an answer's body: tar.gz, PEM, text */
#define PS_CHAN_MAX 512		/* request channels per child */
#define PS_CERT_MAX (16 * 1024)	/* a client certificate (DER) */
#define PS_TRUST_MAX (64 * 1024)	/* client CA bundle (CONFIG) */

/* Frame caps (length field): what each side accepts from the other. */
#define PS_REQ_FRAME_MAX (CSR_MAX_LEN + 4096)		/* child -> monitor */
#define PS_ANS_FRAME_MAX (PS_BODY_MAX + 4096)		/* monitor -> child */

/* The approver's channel. Strings' caps include their NUL. */
#define PS_APR_URL_MAX 300	/* --apiserver "https://HOST:PORT" */
#define PS_APR_INV_MAX (16u << 20)	/* the inventory (INV_MAX_BYTES) */
#define PS_APR_NAME_MAX 254	/* a CSR's metadata.name */
#define PS_APR_UID_MAX 64	/* a CSR's metadata.uid */
#define PS_APR_SIGNER_MAX 572	/* spec.signerName */
#define PS_APR_STR_MAX 1024	/* spec.username, spec.uid, a group, a usage */
#define PS_APR_GROUPS_MAX 64	/* spec.groups */
#define PS_APR_USAGES_MAX 32	/* spec.usages */
#define PS_APR_TEXT_MAX 512	/* a reason, an audit detail */
#define PS_APR_OBJECT_MAX 256	/* an audit object (AUDIT_OBJECT_MAX) */
#define PS_APR_KEYCSR_MAX 4096	/* the approver's own API client key's CSR */
#define PS_APR_CERT_MAX (16 * 1024)	/* its certificate (PEM) */
#define PS_APR_TRUST_MAX (256 * 1024)	/* the kubernetes trust bundle (PEM) */
#define PS_APR_CHAIN_MAX (64 * 1024)	/* a kubelet certificate + its CA */
#define PS_APR_REQ_FRAME_MAX (CSR_MAX_LEN + (PS_APR_GROUPS_MAX + \
	PS_APR_USAGES_MAX + 2) * (PS_APR_STR_MAX + 2) + 4096)	/* -> monitor */
#define PS_APR_ANS_FRAME_MAX (PS_APR_TRUST_MAX + PS_APR_CERT_MAX + 4096)
#define PS_APR_CONFIG_FRAME_MAX (PS_APR_INV_MAX + 4096)
/* What privsep_msg_parse accepts at all: the largest of the caps. */
#define PS_FRAME_MAX PS_APR_CONFIG_FRAME_MAX

enum ps_type {
	PS_CONFIG = 1,
	PS_READY = 2,
	PS_PRECHECK = 3,
	PS_REDEEM = 4,
	PS_ENROLL = 5,
	PS_CA_PEM = 6,
	PS_HEALTH = 7,
	PS_METRICS = 8,
	PS_TOKEN_ANS = 9,
	PS_BYTES_ANS = 10,
	PS_CRL_PEM = 11,
	PS_ARTIFACT = 12,
	PS_ARTIFACT_ANS = 13,
	PS_METRICS_ALL = 16,
	/* the approver's channel */
	PS_APR_CONFIG = 32,
	PS_APR_TOKEN = 33,
	PS_APR_TOKEN_ANS = 34,
	PS_APR_AUDIT = 35,
	PS_APR_CERT = 36,
	PS_APR_CERT_ANS = 37,
	PS_APR_SIGN = 38,
	PS_APR_SIGN_ANS = 39,
	PS_APR_DONE = 40,
};

/* PS_PRECHECK, PS_REDEEM, PS_ENROLL. The token is a secret: wiped. */
struct ps_token_req {
	char token[PS_TOKEN_MAX + 1];
	size_t token_len;		/* 1..PS_TOKEN_MAX */
	char peer[PS_PEER_MAX];		/* [0-9A-Za-z.:%-], non-empty */
	char node[PS_NODE_MAX];		/* "" or a node name */
	struct buf csr;			/* PS_ENROLL only, <= CSR_MAX_LEN */
};

/* PS_CRL_PEM: which CA (a role or a CA name: "etcd", "kubernetes"). */
struct ps_crl_req {
	char ca[PS_CA_MAX];		/* [a-z0-9-], non-empty */
};

/*
 * PS_ARTIFACT: GET /v1/artifacts/<sha256>; cert is the client certificate
 * GnuTLS verified (the monitor checks it again).
 */
struct ps_artifact_req {
	uint8_t sha256[32];
	char peer[PS_PEER_MAX];
	struct buf cert;		/* DER, 1..PS_CERT_MAX */
};

/* PS_ARTIFACT_ANS; the file's descriptor travels beside it (rc 0). */
struct ps_artifact_ans {
	int32_t rc;
	uint64_t size;
	uint32_t image;			/* 1: an image tarball */
	char name[64];			/* "" or the artifact's name */
	char node[PS_NODE_MAX];		/* "" or the certificate's node */
	char text[PS_TEXT_MAX];		/* why refused, for the log */
};

/* PS_TOKEN_ANS */
struct ps_token_ans {
	int32_t rc;			/* 0 or an SLW_ERR_* code */
	uint32_t why;			/* enum token_fail */
	char id[TOKEN_ID_LEN + 1];	/* "" or the token's public id */
	char node[PS_NODE_MAX];		/* "" or the token's node */
	uint32_t n_certs;		/* certificates issued */
	struct buf body;		/* tar.gz or PEM (rc 0 only) */
	char text[PS_TEXT_MAX];		/* reason (rc != 0), never a secret */
};

/* PS_BYTES_ANS */
struct ps_bytes_ans {
	int32_t rc;
	struct buf body;
};

/* PS_CONFIG: what the network child needs, and nothing else. */
/*
 * The monitor is sealed (no KEK yet): the child answers all of /v1/ and
 * /healthz with 503 "sealed" itself and asks the monitor nothing; its
 * serving key is a throwaway one, so a pinned one-liner stops before it
 * sends a token. An unsealed monitor replaces it with a child that serves.
 */
#define PS_CFG_SEALED 0x1u
/*
 * The metrics listener (serve --metrics-listen) is the descriptor after the
 * request channels, SERVE_FD_CHAN0 + n_chan: plain HTTP, GET /metrics only.
 */
#define PS_CFG_METRICS 0x2u

struct ps_config {
	uint32_t threads, workers, max_conns, max_per_addr, idle_timeout,
	    request_timeout, fail_burst, fail_window, max_pending, grace;
	uint32_t n_chan;		/* request channels: fds 5 .. 5+n-1 */
	int64_t serving_not_after;
	uint32_t flags;			/* PS_CFG_* */
	uint32_t artifact_per_node;	/* downloads at once per node; 0: 4 */
	struct buf key_pem;		/* the serving key: NUL-terminated */
	struct buf cert_pem;
	struct buf trust_pem;		/* node certificates' CA, or empty */
};

/* ---- the approver's channel ---- */

#define PS_APR_ONCE 0x1u	/* one pass over pending CSRs, then DONE */
#define PS_APR_CONSOLE 0x2u	/* `slipway approve`: decisions on stdout */

/* PS_APR_CONFIG: what the approver needs, and nothing else. */
struct ps_apr_config {
	uint32_t flags;			/* PS_APR_* */
	uint32_t token_sync_seconds;	/* 0: no bootstrap-token Secret sync */
	uint32_t backoff_cap_ms;	/* 0: the default */
	char apiserver[PS_APR_URL_MAX];	/* "" or "https://..." */
	struct buf inventory;		/* the stored cluster.yaml */
};

/* PS_APR_TOKEN: a node's bootstrap token (the secret only if asked for and
 * the monitor lets this approver sync Secrets). */
struct ps_apr_token {
	char node[PS_NODE_MAX];		/* a node name, non-empty */
	uint32_t secret;		/* 0 or 1 */
};

/* PS_APR_TOKEN_ANS. The secret is wiped on free. */
struct ps_apr_token_ans {
	int32_t rc;			/* SLW_ERR_NOTFOUND: the node has none */
	char id[7];			/* [a-z0-9]{6} when rc is 0 */
	char secret[17];		/* "" or [a-z0-9]{16} */
	int64_t expires;
};

enum ps_apr_audit_action {
	PS_APR_AUDIT_CSR_APPROVE = 0,	/* "csr.approve", object "csr/NAME" */
	PS_APR_AUDIT_CSR_DENY,		/* "csr.deny" */
	PS_APR_AUDIT_CSR_FAIL,		/* "csr.fail" */
	PS_APR_AUDIT_KUBE_APPLY,	/* "kube.apply", object as given */
	PS_APR_AUDIT__COUNT,
};

/* PS_APR_AUDIT: one record, actor "approver" (the monitor's choice). */
struct ps_apr_audit {
	uint32_t action;		/* enum ps_apr_audit_action */
	char object[PS_APR_OBJECT_MAX];	/* printable, non-empty */
	char detail[PS_APR_TEXT_MAX];	/* printable */
};

/* PS_APR_CERT: the approver's API client key, as a CSR it signed. */
struct ps_apr_cert {
	struct buf csr;			/* DER, 1..PS_APR_KEYCSR_MAX */
};

/* PS_APR_CERT_ANS: its certificate and the trust for the API server. */
struct ps_apr_cert_ans {
	int32_t rc;
	char text[PS_TEXT_MAX];		/* why not (rc != 0) */
	int64_t not_after;
	struct buf cert;		/* PEM (rc 0 only) */
	struct buf trust;		/* the kubernetes trust bundle, PEM */
};

/*
 * PS_APR_SIGN: a CSR the approver wants signed, as the API server gave
 * it. Parsed strings point into pool; for writing, the pointers may point
 * anywhere.
 */
struct ps_apr_sign {
	char name[PS_APR_NAME_MAX];	/* metadata.name, non-empty */
	char uid[PS_APR_UID_MAX];	/* metadata.uid ("" if the API has none) */
	char signer[PS_APR_SIGNER_MAX];	/* spec.signerName, non-empty */
	const char *username;		/* spec.username */
	const char *requester_uid;	/* spec.uid */
	const char *groups[PS_APR_GROUPS_MAX];	/* spec.groups */
	size_t n_groups;
	const char *usages[PS_APR_USAGES_MAX];	/* spec.usages */
	size_t n_usages;
	int64_t expiration_seconds;	/* 0 (absent) .. 2^31-1 */
	struct buf request;		/* spec.request as the API has it (PEM) */
	struct buf pool;		/* the strings above, when parsed */
};

/* PS_APR_SIGN_ANS */
struct ps_apr_sign_ans {
	int32_t rc;			/* SLW_ERR_DENIED: the policy refuses */
	char text[PS_APR_TEXT_MAX];	/* the policy's reason, or the error */
	char node[PS_NODE_MAX];		/* rc 0: the node it was signed for */
	char serial[33];		/* rc 0: 32 hex digits */
	uint32_t again;			/* 1: recorded before, the same one */
	struct buf chain;		/* rc 0: certificate + CA, PEM */
};

/* PS_APR_DONE: how the approver ended (its last message). */
struct ps_apr_done {
	int32_t rc;
	char text[PS_TEXT_MAX];
	uint32_t approved, denied, signed_, ignored, errors;
};

struct privsep_msg {
	enum ps_type type;
	union {
		struct ps_token_req req;	/* PRECHECK, REDEEM, ENROLL */
		struct ps_crl_req crl;		/* CRL_PEM */
		struct ps_artifact_req art;	/* ARTIFACT */
		struct ps_artifact_ans arta;	/* ARTIFACT_ANS */
		struct ps_token_ans tok;	/* TOKEN_ANS */
		struct ps_bytes_ans bytes;	/* BYTES_ANS */
		struct ps_config cfg;		/* CONFIG */
		struct ps_apr_config acfg;	/* APR_CONFIG */
		struct ps_apr_token atok;	/* APR_TOKEN */
		struct ps_apr_token_ans atans;	/* APR_TOKEN_ANS */
		struct ps_apr_audit aaud;	/* APR_AUDIT */
		struct ps_apr_cert acert;	/* APR_CERT */
		struct ps_apr_cert_ans acans;	/* APR_CERT_ANS */
		struct ps_apr_sign asign;	/* APR_SIGN */
		struct ps_apr_sign_ans asans;	/* APR_SIGN_ANS */
		struct ps_apr_done adone;	/* APR_DONE */
	} u;	/* READY, CA_PEM, HEALTH, METRICS, METRICS_ALL: none */
};

/* Zeroes m (type 0: nothing). */
void privsep_msg_init(struct privsep_msg *m, enum ps_type type);
/* Wipes and frees what m holds; accepts NULL. */
void privsep_msg_free(struct privsep_msg *m);
/* "precheck", "redeem", ...; "unknown" for anything else. */
const char *privsep_msg_type_name(unsigned int type);
/* 1 for the types a child may send on a request channel. */
int privsep_msg_type_is_request(unsigned int type);
/* 1 for the requests the approver may send (an answer follows each). */
int privsep_msg_type_is_apr_request(unsigned int type);
/* "csr.approve", ...; NULL for an action outside the table. */
const char *privsep_msg_apr_action_name(unsigned int action);

/*
 * Parses one frame's type byte and payload (buf, len: what followed the
 * length field; at most PS_FRAME_MAX). No I/O. SLW_ERR_PARSE with a
 * reason in d if anything is out of its cap, malformed or left over; m is
 * then empty.
 */
int privsep_msg_parse(const uint8_t *buf, size_t len, struct privsep_msg *m,
    struct slw_diag *d);
/* Appends the whole frame (length field included) to out. */
int privsep_msg_write(const struct privsep_msg *m, struct buf *out);

/* Frame I/O on a blocking stream socket (privsep_io.c). */
/* Sends one frame. SLW_ERR_IO if the peer is gone. */
int privsep_io_send(int fd, const struct privsep_msg *m);
/* The same, with pass_fd (>= 0) beside it (SCM_RIGHTS). */
int privsep_io_send_fd(int fd, const struct privsep_msg *m, int pass_fd);
/*
 * Receives one frame of at most max bytes. SLW_ERR_IO at end of stream or
 * on an error, SLW_ERR_TOOBIG over max, SLW_ERR_PARSE if malformed.
 */
int privsep_io_recv(int fd, size_t max, struct privsep_msg *m,
    struct slw_diag *d);
/*
 * The same, keeping a descriptor that came with the frame in *got (-1 if
 * none; more than one: all closed, SLW_ERR_PARSE). privsep_io_recv closes
 * any descriptor that comes.
 */
int privsep_io_recv_fd(int fd, size_t max, struct privsep_msg *m, int *got,
    struct slw_diag *d);

#endif
