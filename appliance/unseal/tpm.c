// SPDX-License-Identifier: Apache-2.0
/*
 * tpm.c: the KEK sealed to a TPM 2.0 (unseal.h) with tpm2-tss's ESAPI: a
 * sealed-data object (no PCR policy yet: see docs/appliance.md) under the
 * owner hierarchy's ECC P-256 storage key, made and opened inside a
 * session salted to that key with parameter encryption, so the KEK never
 * crosses the bus to the TPM in clear. Never logs, never prints (tss2's
 * own logging is silenced unless TSS2_LOG says otherwise); wipes what the
 * TPM returned.
 */
#include "unseal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#define TCTI_DEFAULT "device:/dev/tpmrm0"

struct tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *ctx;
	ESYS_TR primary;
	ESYS_TR session;
};

static const char *
tcti_conf(void)
{
	const char *c = getenv("SLIPWAY_TPM_TCTI");

	return c != NULL && c[0] != '\0' ? c : TCTI_DEFAULT;
}

static void
tpm_close(struct tpm *t)
{
	if (t->ctx != NULL) {
		if (t->session != ESYS_TR_NONE)
			(void)Esys_FlushContext(t->ctx, t->session);
		if (t->primary != ESYS_TR_NONE)
			(void)Esys_FlushContext(t->ctx, t->primary);
		Esys_Finalize(&t->ctx);
	}
	if (t->tcti != NULL)
		Tss2_TctiLdr_Finalize(&t->tcti);
	memset(t, 0, sizeof(*t));
}

static int
tpm_fail(struct slw_diag *d, const char *what, TSS2_RC rc)
{
	return slw_diag(d, SLW_ERR_IO, "TPM: %s: %s", what, Tss2_RC_Decode(rc));
}

/*
 * Connects, then makes the storage key (deterministic: the same key on
 * the same TPM until its owner hierarchy is cleared) and a session salted
 * to it that encrypts the first parameter both ways.
 */
static int
tpm_open(struct tpm *t, struct slw_diag *d)
{
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_PUBLIC tmpl;
	TPM2B_DATA outside;
	TPML_PCR_SELECTION pcrs;
	TPMT_SYM_DEF sym;
	const char *conf = tcti_conf();
	TSS2_RC rc;

	memset(t, 0, sizeof(*t));
	t->primary = t->session = ESYS_TR_NONE;
	setenv("TSS2_LOG", "all+none", 0);	/* errors come back to us */
	if (strncmp(conf, "device:", 7) == 0 && access(conf + 7, F_OK) != 0)
		return slw_diag(d, SLW_ERR_NOTFOUND, "no TPM (%s)", conf + 7);
	if ((rc = Tss2_TctiLdr_Initialize(conf, &t->tcti)) != TSS2_RC_SUCCESS)
		return slw_diag(d, SLW_ERR_NOTFOUND, "no TPM at %s: %s", conf,
		    Tss2_RC_Decode(rc));
	if ((rc = Esys_Initialize(&t->ctx, t->tcti, NULL)) != TSS2_RC_SUCCESS)
		return tpm_fail(d, "initialise", rc);
	memset(&sens, 0, sizeof(sens));
	memset(&outside, 0, sizeof(outside));
	memset(&pcrs, 0, sizeof(pcrs));
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.publicArea.type = TPM2_ALG_ECC;
	tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
	tmpl.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM |
	    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
	    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA |
	    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	tmpl.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
	tmpl.publicArea.parameters.eccDetail.symmetric.keyBits.aes = 128;
	tmpl.publicArea.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	tmpl.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
	tmpl.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	tmpl.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	/* the TCG's storage-key template: a 32-byte zero unique field */
	tmpl.publicArea.unique.ecc.x.size = 32;
	tmpl.publicArea.unique.ecc.y.size = 32;
	if ((rc = Esys_CreatePrimary(t->ctx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
	    ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs,
	    &t->primary, NULL, NULL, NULL, NULL)) != TSS2_RC_SUCCESS)
		return tpm_fail(d, "the storage key", rc);
	memset(&sym, 0, sizeof(sym));
	sym.algorithm = TPM2_ALG_AES;
	sym.keyBits.aes = 128;
	sym.mode.aes = TPM2_ALG_CFB;
	if ((rc = Esys_StartAuthSession(t->ctx, t->primary, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym,
	    TPM2_ALG_SHA256, &t->session)) != TSS2_RC_SUCCESS)
		return tpm_fail(d, "a session", rc);
	if ((rc = Esys_TRSess_SetAttributes(t->ctx, t->session,
	    TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT |
	    TPMA_SESSION_CONTINUESESSION, 0xff)) != TSS2_RC_SUCCESS)
		return tpm_fail(d, "a session", rc);
	return 0;
}

int
tpm_present(void)
{
	struct tpm t;
	int r;

	r = tpm_open(&t, NULL);
	tpm_close(&t);
	return r == 0;
}

int
tpm_seal(const struct kek *k, struct buf *pub, struct buf *priv,
    struct slw_diag *d)
{
	struct tpm t;
	TPM2B_SENSITIVE_CREATE sens;
	TPM2B_PUBLIC tmpl;
	TPM2B_DATA outside;
	TPML_PCR_SELECTION pcrs;
	TPM2B_PRIVATE *opriv = NULL;
	TPM2B_PUBLIC *opub = NULL;
	uint8_t pb[sizeof(TPM2B_PUBLIC)], vb[sizeof(TPM2B_PRIVATE)];
	size_t po = 0, vo = 0;
	TSS2_RC rc;
	int r;

	memset(&sens, 0, sizeof(sens));
	if ((r = tpm_open(&t, d)) != 0)
		goto out;
	memset(&tmpl, 0, sizeof(tmpl));
	memset(&outside, 0, sizeof(outside));
	memset(&pcrs, 0, sizeof(pcrs));
	tmpl.publicArea.type = TPM2_ALG_KEYEDHASH;
	tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
	tmpl.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM |
	    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_USERWITHAUTH |
	    TPMA_OBJECT_NODA;
	tmpl.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
	sens.sensitive.data.size = KEK_LEN;
	memcpy(sens.sensitive.data.buffer, k->key, KEK_LEN);
	if ((rc = Esys_Create(t.ctx, t.primary, t.session, ESYS_TR_NONE,
	    ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, &opriv, &opub, NULL,
	    NULL, NULL)) != TSS2_RC_SUCCESS) {
		r = tpm_fail(d, "sealing", rc);
		goto out;
	}
	if ((rc = Tss2_MU_TPM2B_PUBLIC_Marshal(opub, pb, sizeof(pb), &po)) !=
	    TSS2_RC_SUCCESS ||
	    (rc = Tss2_MU_TPM2B_PRIVATE_Marshal(opriv, vb, sizeof(vb), &vo)) !=
	    TSS2_RC_SUCCESS) {
		r = tpm_fail(d, "the sealed object", rc);
		goto out;
	}
	if ((r = buf_set(pub, pb, po)) != 0 || (r = buf_set(priv, vb, vo)) != 0)
		goto out;
	r = 0;
 out:
	mbedtls_platform_zeroize(&sens, sizeof(sens));
	Esys_Free(opriv);
	Esys_Free(opub);
	tpm_close(&t);
	return r;
}

int
tpm_unseal(const uint8_t *pub, size_t pub_len, const uint8_t *priv,
    size_t priv_len, struct kek *out, struct slw_diag *d)
{
	struct tpm t;
	TPM2B_PUBLIC ipub;
	TPM2B_PRIVATE ipriv;
	TPM2B_SENSITIVE_DATA *data = NULL;
	ESYS_TR obj = ESYS_TR_NONE;
	size_t po = 0, vo = 0;
	TSS2_RC rc;
	int r;

	memset(&ipub, 0, sizeof(ipub));
	memset(&ipriv, 0, sizeof(ipriv));
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(pub, pub_len, &po, &ipub) !=
	    TSS2_RC_SUCCESS || po != pub_len ||
	    Tss2_MU_TPM2B_PRIVATE_Unmarshal(priv, priv_len, &vo, &ipriv) !=
	    TSS2_RC_SUCCESS || vo != priv_len)
		return slw_diag(d, SLW_ERR_PARSE, "the TPM slot of the wrapped "
		    "KEK is malformed");
	if ((r = tpm_open(&t, d)) != 0)
		goto out;
	if ((rc = Esys_Load(t.ctx, t.primary, t.session, ESYS_TR_NONE,
	    ESYS_TR_NONE, &ipriv, &ipub, &obj)) != TSS2_RC_SUCCESS) {
		/* an integrity failure: made by another TPM, or this one cleared */
		r = slw_diag(d, SLW_ERR_KEK, "this TPM cannot unseal the KEK "
		    "(another TPM, or its owner hierarchy was cleared): %s",
		    Tss2_RC_Decode(rc));
		goto out;
	}
	if ((rc = Esys_Unseal(t.ctx, obj, t.session, ESYS_TR_NONE,
	    ESYS_TR_NONE, &data)) != TSS2_RC_SUCCESS) {
		r = slw_diag(d, SLW_ERR_KEK, "the TPM refused to unseal the KEK: "
		    "%s", Tss2_RC_Decode(rc));
		goto out;
	}
	if (data->size != KEK_LEN) {
		r = slw_diag(d, SLW_ERR_KEK, "the TPM's sealed object is not a "
		    "KEK");
		goto out;
	}
	r = kek_set(out, data->buffer);
 out:
	if (data != NULL) {
		mbedtls_platform_zeroize(data, sizeof(*data));
		Esys_Free(data);
	}
	if (obj != ESYS_TR_NONE)
		(void)Esys_FlushContext(t.ctx, obj);
	tpm_close(&t);
	return r;
}
