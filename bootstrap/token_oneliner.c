// SPDX-License-Identifier: Apache-2.0
/*
 * token_oneliner.c: the one pinned curl line of DESIGN.md by which a node
 * fetches its bundle; the only place its format is written. Pure: no I/O.
 * Must never accept a field that could leave its quotes.
 */
#include "token_issue.h"

#include <string.h>

/* pin: base64, token: hex and '.', url: an https URL built from the
 * inventory; none may hold a quote, a space or a shell metacharacter. */
static int
plain(const char *s)
{
	for (; *s != '\0'; s++)
		if (strchr("'\"\\ \t\r\n`$;&|<>(){}*?!#~", *s) != NULL ||
		    (unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

int
token_oneliner(const char *pin, const char *token, const char *url,
    struct buf *out)
{
	buf_free(out);
	if (pin == NULL || token == NULL || url == NULL || !pin[0] ||
	    !token[0] || strncmp(url, "https://", 8) != 0 || !plain(pin) ||
	    !plain(token) || !plain(url))
		return SLW_ERR_INVALID;
	return buf_appendf(out, "curl -fsS --pinnedpubkey 'sha256//%s' -k "
	    "-H 'Authorization: Bearer %s' %s | tar -xz -C / && "
	    "/etc/slipway/install.sh", pin, token, url);
}
