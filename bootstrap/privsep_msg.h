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
 *
 * and, once per child on the control channel: PS_CONFIG (monitor -> child,
 * right after exec: limits and the serving key and certificate) and
 * PS_READY (child -> monitor: it is accepting connections).
 *
 * The child never sends a time or anything the monitor must believe beyond
 * the client's address: the monitor uses its own clock.
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
#define PS_PEM_MAX (16 * 1024)	/* serving key or certificate (CONFIG) */
#define PS_BODY_MAX (8u << 20)	/* an answer's body: tar.gz, PEM, text */
#define PS_CHAN_MAX 512		/* request channels per child */

/* Frame caps (length field): what each side accepts from the other. */
#define PS_REQ_FRAME_MAX (CSR_MAX_LEN + 4096)		/* child -> monitor */
#define PS_ANS_FRAME_MAX (PS_BODY_MAX + 4096)		/* monitor -> child */

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
	/* 11: PS_CRL_PEM, 12-13: PS_ARTIFACT* (other branches) */
	PS_METRICS_ALL = 16,
};

/* PS_PRECHECK, PS_REDEEM, PS_ENROLL. The token is a secret: wiped. */
struct ps_token_req {
	char token[PS_TOKEN_MAX + 1];
	size_t token_len;		/* 1..PS_TOKEN_MAX */
	char peer[PS_PEER_MAX];		/* [0-9A-Za-z.:%-], non-empty */
	char node[PS_NODE_MAX];		/* "" or a node name */
	struct buf csr;			/* PS_ENROLL only, <= CSR_MAX_LEN */
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
	struct buf key_pem;		/* the serving key: NUL-terminated */
	struct buf cert_pem;
};

struct privsep_msg {
	enum ps_type type;
	union {
		struct ps_token_req req;	/* PRECHECK, REDEEM, ENROLL */
		struct ps_token_ans tok;	/* TOKEN_ANS */
		struct ps_bytes_ans bytes;	/* BYTES_ANS */
		struct ps_config cfg;		/* CONFIG */
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

/*
 * Parses one frame's type byte and payload (buf, len: what followed the
 * length field; at most PS_ANS_FRAME_MAX). No I/O. SLW_ERR_PARSE with a
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
/*
 * Receives one frame of at most max bytes. SLW_ERR_IO at end of stream or
 * on an error, SLW_ERR_TOOBIG over max, SLW_ERR_PARSE if malformed.
 */
int privsep_io_recv(int fd, size_t max, struct privsep_msg *m,
    struct slw_diag *d);

#endif
