/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chain.h: verification of a leaf certificate against a trust bundle that
 * may hold several CAs (old and new generations during a rotation).
 */
#ifndef SLW_CHAIN_H
#define SLW_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/x509_crt.h>

#include "err.h"

enum purpose {
	PURPOSE_ANY = 0,
	PURPOSE_SERVER,
	PURPOSE_CLIENT,
};

/* Parses every CERTIFICATE in a PEM bundle (or one DER cert) into trust. */
int chain_trust_parse(const uint8_t *buf, size_t len, mbedtls_x509_crt *trust,
    struct slw_diag *d);
/*
 * Verifies leaf (DER or PEM; extra certificates after the first are used as
 * intermediates) against trust, at the current time, for a purpose.
 */
int chain_verify(const uint8_t *leaf, size_t len, mbedtls_x509_crt *trust,
    enum purpose p, struct slw_diag *d);

#endif
