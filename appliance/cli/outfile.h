/* SPDX-License-Identifier: Apache-2.0 */
/*
 * outfile.h: writing a certificate and its key to PREFIX.pem and
 * PREFIX-key.pem, with the checks done before anything is issued.
 */
#ifndef SLW_OUTFILE_H
#define SLW_OUTFILE_H

#include "issue.h"

/* Fails unless PREFIX's directory exists and both files are absent. */
int outfile_check(const char *prefix, char *why, size_t whylen);
/* Writes the certificate (0644, then chain) and key (0600). */
int outfile_write(const char *prefix, const struct issued *iss,
    const struct buf *chain_pem, char *why, size_t whylen);

#endif
