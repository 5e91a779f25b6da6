// SPDX-License-Identifier: Apache-2.0
/*
 * ssh_hostkey.c: fuzz target for OpenSSH public key lines (inventory
 * ssh.hostKey) and their fingerprint/format round trip.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssh.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ssh_hostkey k, k2;
	char fp[SSH_FP_MAX], line[SSH_KEYLINE_MAX * 2];

	if (ssh_hostkey_parse((const char *)data, size, &k, NULL) != 0)
		return 0;
	if (k.len == 0 || k.len > sizeof(k.blob))
		abort();
	ssh_hostkey_fingerprint(&k, fp);
	if (strncmp(fp, "SHA256:", 7) != 0)
		abort();
	/* what we format we must parse back to the same key */
	if (ssh_hostkey_format(&k, line, sizeof(line)) == 0) {
		if (ssh_hostkey_parse(line, strlen(line), &k2, NULL) != 0 ||
		    !ssh_hostkey_equal(&k, &k2))
			abort();
	}
	return 0;
}
