// SPDX-License-Identifier: Apache-2.0
/*
 * rollout_oneliner.c: a fresh one-time token for a node's bundle and the
 * curl one-liner that carries it, made by the same library calls as
 * `slipway token create` (token_issue, token_oneliner): bound to the
 * node's own address, for a few minutes. In this process; never by running
 * a program. The line and the token stay in wiped buffers: never printed,
 * logged or journaled (the journal gets the redacted form).
 */
#include "rollout_int.h"
#include "token_issue.h"

#include <string.h>

/* Long enough for a slow node to start curl; short if it never does. */
#define ROLLOUT_TOKEN_TTL 300

int
rollout_oneliner(struct rollout *ro, const struct inv_node *n,
    struct buf *line, struct buf *token, struct slw_diag *d)
{
	struct token_issued ti;
	struct slw_diag why;
	int r;

	slw_diag_clear(&why);
	buf_free(line);
	buf_free(token);
	if ((r = token_issue(ro->s, ro->inv, n->name, ROLLOUT_TOKEN_TTL, n->ip,
	    ro->o->fleet.actor, &ti, &why)) != 0)
		return slw_diag(d, r, "cannot make a token for %s: %s", n->name,
		    slw_diag_str(&why, r));
	if ((r = token_oneliner(ti.pin, ti.tok.token, ti.url, line)) != 0 ||
	    (r = buf_set(token, ti.tok.token, strlen(ti.tok.token))) != 0) {
		buf_free(line);
		buf_free(token);
		r = slw_diag(d, r, "cannot make %s's one-liner", n->name);
	}
	token_issue_wipe(&ti);
	return r;
}
