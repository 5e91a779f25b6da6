// SPDX-License-Identifier: Apache-2.0
/*
 * csr_policy.c: fuzz target over the approver's untrusted-input path: a
 * CertificateSigningRequest object as the API server would send it (JSON)
 * -> approver_csr_from_json -> base64 -> PEM -> PKCS#10 + signature check ->
 * the policy. Deterministic; no I/O; must never crash, leak or approve a
 * request for a node other than the requester's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "approver.h"
#include "kube.h"
#include "rand.h"

static const char yaml[] =
"apiVersion: slipway/v1\nkind: Cluster\n"
"cluster: { name: kubernetes, kubernetesVersion: v1.36.0 }\n"
"apiserver: { vip: 192.168.0.235 }\n"
"nodes:\n"
"  - { name: test1, ip: 192.168.0.91, roles: [etcd, master, worker] }\n"
"  - { name: test2, ip: 192.168.0.92, roles: [worker],\n"
"      extraNames: [test2.cluster.local] }\n";

static int
token_id(void *arg, const char *node, char id[7])
{
	(void)arg;
	if (strcmp(node, "test1") == 0)
		memcpy(id, "aaaaaa", 7);
	else if (strcmp(node, "test2") == 0)
		memcpy(id, "bbbbbb", 7);
	else
		return SLW_ERR_NOTFOUND;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct inventory *inv;
	struct approver_policy pol;
	struct approver_decision dec;
	struct approver_csr c;
	cJSON *j = NULL;

	if (inv == NULL) {
		if (slw_crypto_init() != 0 ||
		    inventory_parse((const uint8_t *)yaml, strlen(yaml),
		    "fuzz.yaml", &inv, NULL) != 0)
			abort();
	}
	if (kube_json_parse(data, size, KUBE_MAX_EVENT, &j, NULL) != 0)
		return 0;
	if (approver_csr_from_json(j, &c, NULL) == 0) {
		memset(&pol, 0, sizeof(pol));
		pol.inv = inv;
		pol.token_id = token_id;
		if (approver_policy_decide(&pol, &c.rq, &dec) == 0) {
			/* the invariant: an approval names the requester's node */
			if (dec.verdict == APPROVER_APPROVE &&
			    strncmp(c.rq.username, "system:bootstrap:", 17) == 0 &&
			    strcmp(c.rq.username + 17, strcmp(dec.node, "test1")
			    == 0 ? "aaaaaa" : "bbbbbb") != 0)
				abort();
			approver_policy_decision_free(&dec);
		}
		approver_csr_free(&c);
	}
	cJSON_Delete(j);
	return 0;
}
