// SPDX-License-Identifier: Apache-2.0
/*
 * privsep_msg.c: fuzz target for the monitor's messages with the network
 * child and the CSR approver (bootstrap/privsep_msg.h), what the monitor
 * parses from a possibly compromised child (a signing request above all)
 * and a child from the monitor. Whatever parses must
 * be within its caps and serialize back to exactly the same bytes (the
 * encoding is canonical), and must parse again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "privsep_msg.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct privsep_msg m, m2;
	struct buf out = { 0 };
	size_t n;

	if (privsep_msg_parse(data, size, &m, NULL) != 0)
		return 0;
	switch (m.type) {
	case PS_PRECHECK: case PS_REDEEM: case PS_ENROLL:
		if (m.u.req.token_len == 0 || m.u.req.token_len > PS_TOKEN_MAX ||
		    m.u.req.csr.len > CSR_MAX_LEN || m.u.req.peer[0] == '\0')
			abort();
		if (size > PS_REQ_FRAME_MAX)
			abort();	/* a request always fits the monitor's cap */
		break;
	case PS_CRL_PEM:
		if (m.u.crl.ca[0] == '\0' || strlen(m.u.crl.ca) >= PS_CA_MAX ||
		    strspn(m.u.crl.ca, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
		    strlen(m.u.crl.ca) || size > PS_REQ_FRAME_MAX)
			abort();
		break;
	case PS_TOKEN_ANS:
		if (m.u.tok.rc > 0 || m.u.tok.why >= TOKEN_FAIL__COUNT ||
		    m.u.tok.body.len > PS_BODY_MAX)
			abort();
		break;
	case PS_BYTES_ANS:
		if (m.u.bytes.rc > 0 || m.u.bytes.body.len > PS_BODY_MAX)
			abort();
		break;
	case PS_CONFIG:
		if (m.u.cfg.n_chan == 0 || m.u.cfg.n_chan > PS_CHAN_MAX ||
		    m.u.cfg.key_pem.len > PS_PEM_MAX ||
		    m.u.cfg.trust_pem.len > PS_TRUST_MAX)
			abort();
		break;
	case PS_ARTIFACT:
		if (m.u.art.cert.len == 0 || m.u.art.cert.len > PS_CERT_MAX ||
		    m.u.art.peer[0] == '\0' || size > PS_REQ_FRAME_MAX)
			abort();
		break;
	case PS_ARTIFACT_ANS:
		if (m.u.arta.rc > 0 || m.u.arta.image > 1 ||
		    m.u.arta.size > (1ull << 40))
			abort();
		break;
	case PS_READY: case PS_CA_PEM: case PS_HEALTH: case PS_METRICS:
	case PS_METRICS_ALL:
		if (size != 1)
			abort();
		break;
	case PS_APR_CONFIG:
		if (m.u.acfg.inventory.len == 0 ||
		    m.u.acfg.inventory.len > PS_APR_INV_MAX)
			abort();
		break;
	case PS_APR_TOKEN:
		if (m.u.atok.node[0] == '\0' || m.u.atok.secret > 1 ||
		    size > PS_APR_REQ_FRAME_MAX)
			abort();
		break;
	case PS_APR_TOKEN_ANS:
		if (m.u.atans.rc > 0 || (m.u.atans.rc == 0 &&
		    strlen(m.u.atans.id) != 6) || m.u.atans.expires < 0)
			abort();
		break;
	case PS_APR_AUDIT:
		if (privsep_msg_apr_action_name(m.u.aaud.action) == NULL ||
		    m.u.aaud.object[0] == '\0' || size > PS_APR_REQ_FRAME_MAX)
			abort();
		break;
	case PS_APR_CERT:
		if (m.u.acert.csr.len == 0 ||
		    m.u.acert.csr.len > PS_APR_KEYCSR_MAX ||
		    size > PS_APR_REQ_FRAME_MAX)
			abort();
		break;
	case PS_APR_CERT_ANS:
		if (m.u.acans.rc > 0 || (m.u.acans.rc != 0 &&
		    m.u.acans.cert.len != 0) || size > PS_APR_ANS_FRAME_MAX)
			abort();
		break;
	case PS_APR_SIGN: {
		const struct ps_apr_sign *q = &m.u.asign;
		size_t i;

		/* a signing request always fits the monitor's cap, and each
		 * string lies within its pool */
		if (q->name[0] == '\0' || q->signer[0] == '\0' ||
		    q->request.len == 0 || q->request.len > CSR_MAX_LEN ||
		    q->n_groups > PS_APR_GROUPS_MAX ||
		    q->n_usages > PS_APR_USAGES_MAX ||
		    q->expiration_seconds < 0 || size > PS_APR_REQ_FRAME_MAX ||
		    strchr(q->name, '/') != NULL || strchr(q->uid, '/') != NULL)
			abort();
		for (i = 0; i < q->n_groups; i++)
			if ((const uint8_t *)q->groups[i] < q->pool.data ||
			    (const uint8_t *)q->groups[i] >= q->pool.data +
			    q->pool.len)
				abort();
		break;
	}
	case PS_APR_SIGN_ANS:
		if (m.u.asans.rc > 0 || (m.u.asans.rc == 0 &&
		    (m.u.asans.chain.len == 0 || m.u.asans.node[0] == '\0')) ||
		    (m.u.asans.rc != 0 && m.u.asans.chain.len != 0) ||
		    size > PS_APR_ANS_FRAME_MAX)
			abort();
		break;
	case PS_APR_DONE:
		if (m.u.adone.rc > 0 || size > PS_APR_REQ_FRAME_MAX)
			abort();
		break;
	default:
		abort();
	}
	if (privsep_msg_write(&m, &out) != 0)
		abort();
	n = (size_t)out.data[0] << 24 | (size_t)out.data[1] << 16 |
	    (size_t)out.data[2] << 8 | out.data[3];
	if (n != size || out.len != size + 4 ||
	    memcmp(out.data + 4, data, size) != 0)
		abort();
	if (privsep_msg_parse(out.data + 4, out.len - 4, &m2, NULL) != 0 ||
	    m2.type != m.type)
		abort();
	privsep_msg_free(&m2);
	privsep_msg_free(&m);
	buf_free(&out);
	return 0;
}
