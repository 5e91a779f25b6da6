/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unseal_msg.h: the messages of serve's unseal socket (a local unix
 * socket; docs/appliance.md): `slipway unseal` gives a sealed `slipway
 * serve` its key-encryption key, or a passphrase that unwraps it; console
 * commands ask an unsealed serve for the KEK. One request per connection,
 * one answer. A frame: big-endian u32 length of what follows, a type
 * byte, the type's fields (u16-length strings, fixed-size keys). The parser
 * takes (buf, len) with a hard cap and does no I/O; secrets in a message
 * are wiped by unseal_msg_free.
 */
#ifndef SLW_UNSEAL_MSG_H
#define SLW_UNSEAL_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "kekwrap.h"
#include "seal.h"

#define UNSEAL_FRAME_MAX 4096	/* a whole frame after its length field */
#define UNSEAL_TEXT_MAX 320	/* an answer's message */

enum unseal_type {
	UNSEAL_STATUS = 1,	/* -> ANSWER: sealed or not, since when, how */
	UNSEAL_PASSPHRASE = 2,	/* {pass} -> unwrap with it, then serve */
	UNSEAL_KEK = 3,		/* {kek} (the TPM's) -> serve */
	UNSEAL_GET_KEK = 4,	/* -> ANSWER with the KEK, if unsealed */
	UNSEAL_CHANGE = 5,	/* {pass, new_pass} -> a new operator passphrase */
	UNSEAL_ANSWER = 16,
};

/* what an answer says about the appliance */
enum unseal_state {
	UNSEAL_SEALED = 0,
	UNSEAL_UNSEALED = 1,
};

struct unseal_msg {
	enum unseal_type type;
	/* PASSPHRASE, CHANGE */
	char pass[KEKWRAP_PASS_MAX + 1];
	size_t pass_len;
	char new_pass[KEKWRAP_PASS_MAX + 1];
	size_t new_pass_len;
	/* KEK, and an ANSWER to GET_KEK */
	uint8_t kek[KEK_LEN];
	int has_kek;
	/* ANSWER */
	int32_t rc;		/* 0 or a negative SLW_ERR_* */
	uint32_t state;		/* enum unseal_state */
	uint32_t retry_after;	/* seconds before the next passphrase may be tried */
	char text[UNSEAL_TEXT_MAX + 1];	/* one line, never a secret */
};

void unseal_msg_init(struct unseal_msg *m, enum unseal_type type);
/* Wipes m (passphrases, KEK). Accepts NULL. */
void unseal_msg_free(struct unseal_msg *m);

/*
 * Parses one frame's type and fields (what followed the length field; at
 * most UNSEAL_FRAME_MAX). SLW_ERR_PARSE with a reason in d if a field is
 * over its cap, malformed, of the wrong type or left over; m is then wiped.
 */
int unseal_msg_parse(const uint8_t *buf, size_t len, struct unseal_msg *m,
    struct slw_diag *d);
/* Appends the whole frame (length field included) to out. */
int unseal_msg_write(const struct unseal_msg *m, struct buf *out);

/* One frame on a blocking stream socket. SLW_ERR_IO if the peer is gone. */
int unseal_send(int fd, const struct unseal_msg *m);
int unseal_recv(int fd, struct unseal_msg *m, struct slw_diag *d);

#endif
