/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pem.h: PEM armour in and out, strict about labels.
 */
#ifndef SLW_PEM_H
#define SLW_PEM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define PEM_LABEL_MAX 64

/* Appends "-----BEGIN label-----\n...base64...\n-----END label-----\n". */
int pem_append(struct buf *out, const char *label, const uint8_t *der,
    size_t len);
/*
 * Decodes the first PEM block found in buf (like Go's pem.Decode: leading
 * text is skipped). *label gets the block's label, der its contents, *used
 * the offset just past the block. SLW_ERR_NOTFOUND if there is no block.
 */
int pem_next(const uint8_t *buf, size_t len, char label[PEM_LABEL_MAX],
    struct buf *der, size_t *used, struct slw_diag *d);

/* 1 if buf looks like PEM text ("-----BEGIN " somewhere near the start). */
int pem_sniff(const uint8_t *buf, size_t len);

#endif
