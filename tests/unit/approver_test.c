// SPDX-License-Identifier: Apache-2.0
/*
 * approver_test.c: the kubelet CSR policy, table-driven: every rule of
 * issue 7 each way (approve / deny / ignore) with the reason text it must
 * give; CSR objects read from API JSON (and refused when malformed); an
 * approved CSR signed through signing.h whose certificate verifies against
 * the kubernetes trust bundle, with the requested validity, usages and
 * SANs. Every case is run and reported; the test fails at the end, naming
 * each failed case.
 *
 * The monitor's side of the approver process's channel: a signing request
 * the approver "approved" is signed only if the monitor's own policy run
 * approves what it received (forged CN, requester, groups, SANs, usages,
 * signer: refused, nothing signed or recorded); the genuine one is signed
 * and recorded once, and a repeat gets the same certificate.
 *
 * Groups (argv[1]): "policy" (the table), "json", "sign", "monitor"; none:
 * all.
 */
#define _GNU_SOURCE	/* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <mbedtls/base64.h>
#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>

#include "approver.h"
#include "audit.h"
#include "certdb.h"
#include "ca.h"
#include "cert.h"
#include "chain.h"
#include "cluster.h"
#include "key.h"
#include "name.h"
#include "pem.h"
#include "rand.h"

static const char inventory_yaml[] =
"apiVersion: slipway/v1\n"
"kind: Cluster\n"
"cluster: { name: kubernetes, kubernetesVersion: v1.36.0 }\n"
"network:\n"
"  serviceCIDR: 10.254.0.0/16\n"
"  clusterCIDR: 172.30.0.0/16\n"
"  nodePortRange: 8400-9000\n"
"  dnsServiceIP: 10.254.0.2\n"
"  dnsDomain: cluster.local.\n"
"apiserver: { vip: 192.168.0.235, vipPort: 8443, vipInterface: eth0 }\n"
"certificates:\n"
"  subject: { C: CN, ST: BeiJing, L: BeiJing, O: k8s, OU: 4Paradigm }\n"
"  keyType: ecdsa-p256\n"
"security:\n"
"  signingMode: appliance\n"
"  kubeletCertificateMaxAge: 8760h\n"
"nodes:\n"
"  - { name: test1, ip: 192.168.0.91, roles: [etcd, master, worker] }\n"
"  - { name: test2, ip: 192.168.0.92, roles: [etcd, master, worker],\n"
"      extraNames: [test2.cluster.local, kubelet-b.example.org] }\n"
"  - { name: test3, ip: 192.168.0.93, roles: [etcd, master, worker] }\n"
"  - { name: node.lab, ip: 192.168.0.94, roles: [worker] }\n";

static struct inventory *inv;

/* Bootstrap token ids "in the store": test3 has none. */
static int
token_table(void *arg, const char *node, char id[7])
{
	(void)arg;
	if (strcmp(node, "test1") == 0)
		memcpy(id, "aaaaaa", 7);
	else if (strcmp(node, "test2") == 0)
		memcpy(id, "bbbbbb", 7);
	else if (strcmp(node, "node.lab") == 0)
		memcpy(id, "dddddd", 7);
	else
		return SLW_ERR_NOTFOUND;
	return 0;
}

/* ---- making CSRs ---- */

enum form { PEM = 0, DER, NEWLABEL, TAMPERED };

struct keys {
	struct key *p256, *p384, *rsa;
};
static struct keys keys;

/* "DNS:a,IP:1.2.3.4,EMAIL:x@y,URI:https://z" into a SAN list. */
static mbedtls_x509_san_list *
san_list(const char *spec, char store[][256], uint8_t ips[][16])
{
	static mbedtls_x509_san_list nodes[16];
	char tmp[512], *tok, *save = NULL;
	size_t n = 0;

	if (spec == NULL || *spec == '\0')
		return NULL;
	snprintf(tmp, sizeof(tmp), "%s", spec);
	memset(nodes, 0, sizeof(nodes));
	for (tok = strtok_r(tmp, ",", &save); tok != NULL && n < 16;
	    tok = strtok_r(NULL, ",", &save), n++) {
		mbedtls_x509_san_list *s = &nodes[n];
		const char *v = strchr(tok, ':') + 1;

		snprintf(store[n], 256, "%s", v);
		s->node.san.unstructured_name.p = (unsigned char *)store[n];
		s->node.san.unstructured_name.len = strlen(store[n]);
		if (strncmp(tok, "DNS:", 4) == 0)
			s->node.type = MBEDTLS_X509_SAN_DNS_NAME;
		else if (strncmp(tok, "EMAIL:", 6) == 0)
			s->node.type = MBEDTLS_X509_SAN_RFC822_NAME;
		else if (strncmp(tok, "URI:", 4) == 0)
			s->node.type = MBEDTLS_X509_SAN_UNIFORM_RESOURCE_IDENTIFIER;
		else {
			struct san ip;

			assert_int_equal(san_ip(v, &ip, NULL), 0);
			memcpy(ips[n], ip.ip, ip.ip_len);
			s->node.type = MBEDTLS_X509_SAN_IP_ADDRESS;
			s->node.san.unstructured_name.p = ips[n];
			s->node.san.unstructured_name.len = ip.ip_len;
		}
		if (n > 0)
			nodes[n - 1].next = s;
	}
	return &nodes[0];
}

/* A CSR for key k; o2/cattr add a second O / a C attribute. */
static void
make_csr(struct key *k, const char *cn, const char *o1, const char *o2,
    const char *cattr, const char *sans, enum form form, struct buf *out)
{
	mbedtls_x509write_csr w;
	mbedtls_asn1_named_data *subj = NULL;
	char sanstore[16][256];
	uint8_t ips[16][16];
	unsigned char der[8192];
	struct dn dn;
	int n;

	memset(&dn, 0, sizeof(dn));
	snprintf(dn.cn, sizeof(dn.cn), "%s", cn);
	if (o1 != NULL)
		dn_add_o(&dn, o1);
	if (o2 != NULL)
		dn_add_o(&dn, o2);
	if (cattr != NULL)
		snprintf(dn.c, sizeof(dn.c), "%s", cattr);
	mbedtls_x509write_csr_init(&w);
	mbedtls_x509write_csr_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_csr_set_key(&w, &k->pk);
	assert_int_equal(dn_to_named_data(&dn, &subj), 0);
	w.MBEDTLS_PRIVATE(subject) = subj;
	if (sans != NULL && *sans != '\0')
		assert_int_equal(mbedtls_x509write_csr_set_subject_alternative_name(
		    &w, san_list(sans, sanstore, ips)), 0);
	n = mbedtls_x509write_csr_der(&w, der, sizeof(der), slw_rng, NULL);
	assert_true(n > 0);
	mbedtls_x509write_csr_free(&w);
	memset(out, 0, sizeof(*out));
	if (form == TAMPERED)
		der[sizeof(der) - 1] ^= 0x01;	/* the signature's last byte */
	if (form == DER) {
		assert_int_equal(buf_set(out, der + sizeof(der) - n, (size_t)n),
		    0);
		return;
	}
	assert_int_equal(pem_append(out, form == NEWLABEL ?
	    "NEW CERTIFICATE REQUEST" : "CERTIFICATE REQUEST",
	    der + sizeof(der) - n, (size_t)n), 0);
}

/* ---- the table ---- */

#define CLIENT APPROVER_SIGNER_CLIENT
#define SERVING APPROVER_SIGNER_SERVING
#define BOOT1 "system:bootstrap:aaaaaa"
#define BOOT1_GROUPS "system:bootstrappers,system:bootstrappers:test1,system:authenticated"
#define NODE_GROUPS "system:nodes,system:authenticated"
#define CU "digital signature,client auth"
#define SU "digital signature,server auth"

enum { ST_APPROVED = 1, ST_DENIED = 2, ST_FAILED = 4, ST_ISSUED = 8 };

struct tcase {
	const char *name;
	const char *cn, *o1, *o2, *cattr, *sans;
	int kt;			/* 0 P-256, 1 P-384, 2 RSA-2048 */
	enum form form;
	const char *signer, *user, *groups, *usages;
	int64_t es;
	int status;
	enum approver_verdict want;
	const char *reason;	/* substring of the reason */
	uint32_t validity;	/* 0: not checked */
};

#define N(x) "system:node:" x
#define SN "system:nodes"

static const struct tcase cases[] = {
	/* ---- approve ---- */
	{ "client from node A's bootstrap identity", N("test1"), SN, NULL, NULL,
	  NULL, 0, PEM, CLIENT, BOOT1, BOOT1_GROUPS, CU, 0, 0, APPROVER_APPROVE,
	  "kube-apiserver-client-kubelet: node test1, requested by node test1's "
	  "bootstrap token aaaaaa; validity 8760h (no expirationSeconds: the "
	  "policy maximum)",
	  8760u * 3600 },
	{ "client with key encipherment too", N("test1"), SN, NULL, NULL, NULL,
	  0, PEM, CLIENT, BOOT1, BOOT1_GROUPS,
	  "digital signature,key encipherment,client auth", 0, 0,
	  APPROVER_APPROVE, "node test1, requested by", 0 },
	{ "client usages in another order", N("test1"), SN, NULL, NULL, NULL, 0,
	  PEM, CLIENT, BOOT1, BOOT1_GROUPS, "client auth,digital signature", 0,
	  0, APPROVER_APPROVE, "node test1", 0 },
	{ "client renewal by the node itself", N("test1"), SN, NULL, NULL, NULL,
	  0, PEM, CLIENT, N("test1"), NODE_GROUPS, CU, 0, 0, APPROVER_APPROVE,
	  "requested by system:node:test1 itself (renewal)", 0 },
	{ "client with a P-384 key", N("test2"), SN, NULL, NULL, NULL, 1, PEM,
	  CLIENT, "system:bootstrap:bbbbbb",
	  "system:bootstrappers,system:bootstrappers:test2", CU, 0, 0,
	  APPROVER_APPROVE, "node test2's bootstrap token bbbbbb", 0 },
	{ "client with an RSA key and key encipherment", N("test1"), SN, NULL,
	  NULL, NULL, 2, PEM, CLIENT, BOOT1, BOOT1_GROUPS,
	  "digital signature,key encipherment,client auth", 0, 0,
	  APPROVER_APPROVE, "node test1", 0 },
	{ "dotted node name, group with ':'", N("node.lab"), SN, NULL, NULL,
	  NULL, 0, PEM, CLIENT, "system:bootstrap:dddddd",
	  "system:bootstrappers,system:bootstrappers:node:lab", CU, 0, 0,
	  APPROVER_APPROVE, "node node.lab's bootstrap token dddddd", 0 },
	{ "expirationSeconds within the cap", N("test1"), SN, NULL, NULL, NULL,
	  0, PEM, CLIENT, BOOT1, BOOT1_GROUPS, CU, 3600, 0, APPROVER_APPROVE,
	  "validity 1h (as requested; policy maximum 8760h)", 3600 },
	{ "over-long expiration is capped", N("test1"), SN, NULL, NULL, NULL, 0,
	  PEM, CLIENT, BOOT1, BOOT1_GROUPS, CU, 10LL * 365 * 86400, 0,
	  APPROVER_APPROVE, "validity 8760h (87600h requested, capped at the "
	  "policy maximum)", 8760u * 3600 },
	{ "short expiration raised to 10m", N("test1"), SN, NULL, NULL, NULL, 0,
	  PEM, CLIENT, BOOT1, BOOT1_GROUPS, CU, 60, 0, APPROVER_APPROVE,
	  "validity 10m (1m requested, raised to the 10m minimum)", 600 },
	{ "serving: name, extraName and IP", N("test2"), SN, NULL, NULL,
	  "DNS:test2,DNS:test2.cluster.local,IP:192.168.0.92", 0, PEM, SERVING,
	  N("test2"), NODE_GROUPS, SU, 0, 0, APPROVER_APPROVE,
	  "kubelet-serving: node test2, requested by "
	  "system:node:test2 itself; validity", 0 },
	{ "serving: IP SAN only", N("test1"), SN, NULL, NULL,
	  "IP:192.168.0.91", 0, PEM, SERVING, N("test1"), NODE_GROUPS, SU, 0, 0,
	  APPROVER_APPROVE, "kubelet-serving: node test1", 0 },
	{ "serving: DNS names compare case-insensitively", N("test2"), SN, NULL,
	  NULL, "DNS:Kubelet-B.Example.org", 0, PEM, SERVING, N("test2"),
	  NODE_GROUPS, SU, 0, 0, APPROVER_APPROVE, "node test2", 0 },
	{ "serving with key encipherment", N("test3"), SN, NULL, NULL,
	  "DNS:test3,IP:192.168.0.93", 0, PEM, SERVING, N("test3"), NODE_GROUPS,
	  "digital signature,key encipherment,server auth", 0, 0,
	  APPROVER_APPROVE, "node test3", 0 },
	{ "serving with expirationSeconds", N("test3"), SN, NULL, NULL,
	  "DNS:test3", 0, PEM, SERVING, N("test3"), NODE_GROUPS, SU, 86400, 0,
	  APPROVER_APPROVE, "validity 24h (as requested", 86400 },
	{ "serving of a node without a token (tokens are for clients)",
	  N("test3"), SN, NULL, NULL, "IP:192.168.0.93", 0, PEM, SERVING,
	  N("test3"), NODE_GROUPS, SU, 0, 0, APPROVER_APPROVE, "node test3", 0 },

	/* ---- deny ---- */
	{ "node A's bootstrap identity asking for node B", N("test2"), SN, NULL,
	  NULL, NULL, 0, PEM, CLIENT, BOOT1, BOOT1_GROUPS, CU, 0, 0,
	  APPROVER_DENY, "kube-apiserver-client-kubelet: requester "
	  "system:bootstrap:aaaaaa carries group 'system:bootstrappers:test1': "
	  "a bootstrap token of another node may not request a certificate for "
	  "node test2", 0 },
	{ "a token that is not the node's", N("test1"), SN, NULL, NULL, NULL, 0,
	  PEM, CLIENT, "system:bootstrap:zzzzzz",
	  "system:bootstrappers,system:bootstrappers:test1", CU, 0, 0,
	  APPROVER_DENY, "token zzzzzz is not node test1's bootstrap token", 0 },
	{ "a node without a bootstrap token", N("test3"), SN, NULL, NULL, NULL,
	  0, PEM, CLIENT, "system:bootstrap:cccccc",
	  "system:bootstrappers,system:bootstrappers:test3", CU, 0, 0,
	  APPROVER_DENY, "node test3 has no bootstrap token in slipway", 0 },
	{ "bootstrap identity without its node group", N("test1"), SN, NULL,
	  NULL, NULL, 0, PEM, CLIENT, BOOT1, "system:bootstrappers", CU, 0, 0,
	  APPROVER_DENY, "requester system:bootstrap:aaaaaa is not in group "
	  "system:bootstrappers:test1 (node test1's bootstrap group)", 0 },
	{ "bootstrap identity with groups of two nodes", N("test1"), SN, NULL,
	  NULL, NULL, 0, PEM, CLIENT, BOOT1, BOOT1_GROUPS
	  ",system:bootstrappers:test2", CU, 0, 0, APPROVER_DENY,
	  "carries group 'system:bootstrappers:test2'", 0 },
	{ "bootstrap identity not in system:bootstrappers", N("test1"), SN,
	  NULL, NULL, NULL, 0, PEM, CLIENT, BOOT1, "system:bootstrappers:test1",
	  CU, 0, 0, APPROVER_DENY, "is not in group system:bootstrappers", 0 },
	{ "node B renewing node A's client cert", N("test1"), SN, NULL, NULL,
	  NULL, 0, PEM, CLIENT, N("test2"), NODE_GROUPS, CU, 0, 0,
	  APPROVER_DENY, "requester system:node:test2 may only renew its own "
	  "certificate, not one for node test1", 0 },
	{ "node identity without system:nodes", N("test1"), SN, NULL, NULL,
	  NULL, 0, PEM, CLIENT, N("test1"), "system:authenticated", CU, 0, 0,
	  APPROVER_DENY, "requester system:node:test1 is not in group "
	  "system:nodes", 0 },
	{ "some other user", N("test1"), SN, NULL, NULL, NULL, 0, PEM, CLIENT,
	  "alice", "system:masters", CU, 0, 0, APPROVER_DENY,
	  "requester 'alice' is neither node test1's bootstrap token nor "
	  "system:node:test1", 0 },
	{ "O mismatch (system:masters)", N("test1"), "system:masters", NULL,
	  NULL, NULL, 0, PEM, CLIENT, BOOT1, BOOT1_GROUPS, CU, 0, 0,
	  APPROVER_DENY, "subject O must be exactly [system:nodes], the request "
	  "has 1 O value(s), the first 'system:masters'", 0 },
	{ "two organisations", N("test1"), SN, "system:masters", NULL, NULL, 0,
	  PEM, CLIENT, BOOT1, BOOT1_GROUPS, CU, 0, 0, APPROVER_DENY,
	  "subject O must be exactly [system:nodes], the request has 2", 0 },
	{ "no organisation", N("test1"), NULL, NULL, NULL, NULL, 0, PEM, CLIENT,
	  BOOT1, BOOT1_GROUPS, CU, 0, 0, APPROVER_DENY, "the request has no O",
	  0 },
	{ "CN mismatch", "admin", SN, NULL, NULL, NULL, 0, PEM, CLIENT, BOOT1,
	  BOOT1_GROUPS, CU, 0, 0, APPROVER_DENY, "subject CN must be "
	  "system:node:NAME, the request has CN 'admin'", 0 },
	{ "extra subject attribute", N("test1"), SN, NULL, "CN", NULL, 0, PEM,
	  CLIENT, BOOT1, BOOT1_GROUPS, CU, 0, 0, APPROVER_DENY,
	  "subject must hold only O and CN", 0 },
	{ "node not in the inventory", N("test9"), SN, NULL, NULL, NULL, 0, PEM,
	  CLIENT, "system:bootstrap:aaaaaa",
	  "system:bootstrappers,system:bootstrappers:test9", CU, 0, 0,
	  APPROVER_DENY, "node 'test9' is not in the inventory", 0 },
	{ "extra usage (server auth on a client CSR)", N("test1"), SN, NULL,
	  NULL, NULL, 0, PEM, CLIENT, BOOT1, BOOT1_GROUPS,
	  "digital signature,client auth,server auth", 0, 0, APPROVER_DENY,
	  "usage 'server auth' is not allowed (only digital signature, client "
	  "auth and optionally key encipherment)", 0 },
	{ "extra usage (cert sign)", N("test2"), SN, NULL, NULL, "DNS:test2", 0,
	  PEM, SERVING, N("test2"), NODE_GROUPS,
	  "digital signature,server auth,cert sign", 0, 0, APPROVER_DENY,
	  "usage 'cert sign' is not allowed", 0 },
	{ "missing client auth", N("test1"), SN, NULL, NULL, NULL, 0, PEM,
	  CLIENT, BOOT1, BOOT1_GROUPS, "digital signature", 0, 0, APPROVER_DENY,
	  "usages must include digital signature and client auth", 0 },
	{ "a usage twice", N("test1"), SN, NULL, NULL, NULL, 0, PEM, CLIENT,
	  BOOT1, BOOT1_GROUPS, "digital signature,client auth,client auth", 0, 0,
	  APPROVER_DENY, "usage 'client auth' is listed twice", 0 },
	{ "a SAN on a client CSR", N("test1"), SN, NULL, NULL, "DNS:test1", 0,
	  PEM, CLIENT, BOOT1, BOOT1_GROUPS, CU, 0, 0, APPROVER_DENY,
	  "a client certificate has no SANs of any kind; the request has 1 "
	  "(DNS:test1)", 0 },
	{ "an IP SAN on a client CSR", N("test1"), SN, NULL, NULL,
	  "IP:192.168.0.91", 0, PEM, CLIENT, BOOT1, BOOT1_GROUPS, CU, 0, 0,
	  APPROVER_DENY, "a client certificate has no SANs", 0 },
	{ "serving DNS SAN not in the inventory", N("test2"), SN, NULL, NULL,
	  "DNS:test2,DNS:evil.example.com", 0, PEM, SERVING, N("test2"),
	  NODE_GROUPS, SU, 0, 0, APPROVER_DENY, "kubelet-serving: DNS SAN "
	  "'evil.example.com' is neither node test2's name nor one of its "
	  "extraNames in the inventory", 0 },
	{ "serving DNS SAN of another node", N("test2"), SN, NULL, NULL,
	  "DNS:test1", 0, PEM, SERVING, N("test2"), NODE_GROUPS, SU, 0, 0,
	  APPROVER_DENY, "DNS SAN 'test1' is neither node test2's name", 0 },
	{ "serving IP SAN not in the inventory", N("test2"), SN, NULL, NULL,
	  "DNS:test2,IP:10.0.0.1", 0, PEM, SERVING, N("test2"), NODE_GROUPS, SU,
	  0, 0, APPROVER_DENY, "IP SAN 10.0.0.1 is not node test2's address in "
	  "the inventory (192.168.0.92)", 0 },
	{ "serving email SAN", N("test2"), SN, NULL, NULL,
	  "DNS:test2,EMAIL:root@test2", 0, PEM, SERVING, N("test2"),
	  NODE_GROUPS, SU, 0, 0, APPROVER_DENY,
	  "email SAN 'root@test2' is not allowed", 0 },
	{ "serving URI SAN", N("test2"), SN, NULL, NULL,
	  "URI:spiffe://cluster/test2", 0, PEM, SERVING, N("test2"),
	  NODE_GROUPS, SU, 0, 0, APPROVER_DENY,
	  "URI SAN 'spiffe://cluster/test2' is not allowed", 0 },
	{ "serving without SANs", N("test2"), SN, NULL, NULL, NULL, 0, PEM,
	  SERVING, N("test2"), NODE_GROUPS, SU, 0, 0, APPROVER_DENY,
	  "a serving certificate needs at least one DNS or IP SAN", 0 },
	{ "serving asked by a bootstrap token", N("test1"), SN, NULL, NULL,
	  "DNS:test1", 0, PEM, SERVING, BOOT1, BOOT1_GROUPS, SU, 0, 0,
	  APPROVER_DENY, "requester 'system:bootstrap:aaaaaa' is a bootstrap "
	  "token; only system:node:test1 may request node test1's serving "
	  "certificate", 0 },
	{ "serving for another node", N("test2"), SN, NULL, NULL, "DNS:test2",
	  0, PEM, SERVING, N("test1"), NODE_GROUPS, SU, 0, 0, APPROVER_DENY,
	  "requester 'system:node:test1' is not system:node:test2", 0 },
	{ "tampered CSR signature", N("test1"), SN, NULL, NULL, NULL, 0,
	  TAMPERED, CLIENT, BOOT1, BOOT1_GROUPS, CU, 0, 0, APPROVER_DENY,
	  "kube-apiserver-client-kubelet: spec.request: CSR signature does not "
	  "verify", 0 },
	{ "NEW CERTIFICATE REQUEST label", N("test1"), SN, NULL, NULL, NULL, 0,
	  NEWLABEL, CLIENT, BOOT1, BOOT1_GROUPS, CU, 0, 0, APPROVER_DENY,
	  "spec.request: PEM block is labelled 'NEW CERTIFICATE REQUEST', not "
	  "'CERTIFICATE REQUEST'", 0 },
	{ "bare DER", N("test1"), SN, NULL, NULL, NULL, 0, DER, CLIENT, BOOT1,
	  BOOT1_GROUPS, CU, 0, 0, APPROVER_DENY,
	  "spec.request: not a PEM block labelled CERTIFICATE REQUEST", 0 },

	/* ---- ignore ---- */
	{ "another signer is left alone", "alice", "devs", NULL, NULL, NULL, 0,
	  PEM, "kubernetes.io/kube-apiserver-client", "alice", "devs",
	  "client auth", 0, 0, APPROVER_IGNORE, "signer "
	  "'kubernetes.io/kube-apiserver-client' is not handled by slipway", 0 },
	{ "a custom signer is left alone", N("test1"), SN, NULL, NULL, NULL, 0,
	  PEM, "example.com/my-signer", BOOT1, BOOT1_GROUPS, CU, 0, 0,
	  APPROVER_IGNORE, "signer 'example.com/my-signer' is not handled", 0 },
	{ "another signer, even if approved", N("test1"), SN, NULL, NULL, NULL,
	  0, PEM, "kubernetes.io/kube-apiserver-client", BOOT1, BOOT1_GROUPS, CU,
	  0, ST_APPROVED, APPROVER_IGNORE, "is not handled by slipway", 0 },
	{ "already approved: skipped", N("test1"), SN, NULL, NULL, NULL, 0, PEM,
	  CLIENT, BOOT1, BOOT1_GROUPS, CU, 0, ST_APPROVED, APPROVER_IGNORE,
	  "kube-apiserver-client-kubelet: already approved", 0 },
	{ "already approved and issued: skipped", N("test1"), SN, NULL, NULL,
	  NULL, 0, PEM, CLIENT, BOOT1, BOOT1_GROUPS, CU, 0,
	  ST_APPROVED | ST_ISSUED, APPROVER_IGNORE, "already approved and "
	  "issued", 0 },
	{ "already denied: skipped (even if the policy would approve)",
	  N("test1"), SN, NULL, NULL, NULL, 0, PEM, CLIENT, BOOT1, BOOT1_GROUPS,
	  CU, 0, ST_DENIED, APPROVER_IGNORE, "already denied", 0 },
	{ "already failed: skipped", N("test2"), SN, NULL, NULL, NULL, 0, PEM,
	  CLIENT, BOOT1, BOOT1_GROUPS, CU, 0, ST_FAILED, APPROVER_IGNORE,
	  "already failed", 0 },
};

static size_t
split(const char *spec, char store[][128], const char **out, size_t max)
{
	char tmp[1024], *tok, *save = NULL;
	size_t n = 0;

	if (spec == NULL)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s", spec);
	for (tok = strtok_r(tmp, ",", &save); tok != NULL && n < max;
	    tok = strtok_r(NULL, ",", &save)) {
		snprintf(store[n], 128, "%s", tok);
		out[n] = store[n];
		n++;
	}
	return n;
}

static int
run_case(const struct tcase *tc, char *why, size_t wlen)
{
	struct key *k = tc->kt == 1 ? keys.p384 : tc->kt == 2 ? keys.rsa :
	    keys.p256;
	char gst[16][128], ust[16][128];
	const char *groups[16], *usages[16];
	struct approver_request rq;
	struct approver_policy pol;
	struct approver_decision dec;
	struct buf csr;
	int ok = 1;

	make_csr(k, tc->cn, tc->o1, tc->o2, tc->cattr, tc->sans, tc->form,
	    &csr);
	memset(&rq, 0, sizeof(rq));
	rq.name = tc->name;
	rq.signer = tc->signer;
	rq.username = tc->user;
	rq.n_groups = split(tc->groups, gst, groups, 16);
	rq.groups = groups;
	rq.n_usages = split(tc->usages, ust, usages, 16);
	rq.usages = usages;
	rq.expiration_seconds = tc->es;
	rq.request = csr.data;
	rq.request_len = csr.len;
	rq.approved = (tc->status & ST_APPROVED) != 0;
	rq.denied = (tc->status & ST_DENIED) != 0;
	rq.failed = (tc->status & ST_FAILED) != 0;
	rq.issued = (tc->status & ST_ISSUED) != 0;
	memset(&pol, 0, sizeof(pol));
	pol.inv = inv;
	pol.token_id = token_table;
	assert_int_equal(approver_policy_decide(&pol, &rq, &dec), 0);
	if (dec.verdict != tc->want) {
		snprintf(why, wlen, "got %s (%s)",
		    approver_policy_verdict_name(dec.verdict), dec.reason);
		ok = 0;
	} else if (strstr(dec.reason, tc->reason) == NULL) {
		snprintf(why, wlen, "reason '%s' lacks '%s'", dec.reason,
		    tc->reason);
		ok = 0;
	} else if (tc->validity != 0 && dec.validity != tc->validity) {
		snprintf(why, wlen, "validity %u, want %u", dec.validity,
		    tc->validity);
		ok = 0;
	} else if ((dec.verdict == APPROVER_APPROVE) != (dec.csr != NULL)) {
		snprintf(why, wlen, "parsed CSR kept only for approvals");
		ok = 0;
	} else if (dec.verdict != APPROVER_IGNORE &&
	    strcmp(approver_policy_rule(dec.verdict, dec.reason), "other") == 0) {
		/* slipway_csr_decisions_total{rule}: every decision names one */
		snprintf(why, wlen, "reason '%s' names no rule", dec.reason);
		ok = 0;
	}
	printf("[%s] %-60.60s %s: %s\n", ok ? "ok  " : "FAIL", tc->name,
	    approver_policy_verdict_name(dec.verdict), dec.reason);
	approver_policy_decision_free(&dec);
	buf_free(&csr);
	return ok;
}

static void
test_policy_table(void **st)
{
	char why[600];
	size_t i, failed = 0, n[3] = { 0, 0, 0 };

	(void)st;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n[cases[i].want]++;
		if (!run_case(&cases[i], why, sizeof(why))) {
			fprintf(stderr, "case '%s': %s\n", cases[i].name, why);
			failed++;
		}
	}
	printf("%zu cases: %zu approve, %zu deny, %zu ignore; %zu failed\n",
	    i, n[APPROVER_APPROVE], n[APPROVER_DENY], n[APPROVER_IGNORE],
	    failed);
	assert_true(n[APPROVER_APPROVE] >= 15 && n[APPROVER_DENY] >= 15);
	assert_int_equal(failed, 0);
}

static void
test_bootstrap_group(void **st)
{
	char g[128];

	(void)st;
	assert_int_equal(nodetoken_group("test1", g, sizeof(g)), 0);
	assert_string_equal(g, "system:bootstrappers:test1");
	assert_int_equal(nodetoken_group("node1.lab.example", g,
	    sizeof(g)), 0);
	assert_string_equal(g, "system:bootstrappers:node1:lab:example");
	assert_int_not_equal(nodetoken_group("test1", g, 20), 0);
}

static int
token_broken(void *arg, const char *node, char id[7])
{
	(void)arg;
	(void)node;
	(void)id;
	return SLW_ERR_STORE;
}

/* The policy never approves without a token lookup saying so; a lookup that
 * fails is not a decision (the approver retries; no permanent denial). */
static void
test_policy_no_token_fn(void **st)
{
	const char *groups[] = { "system:bootstrappers",
	    "system:bootstrappers:test1" };
	const char *usages[] = { "digital signature", "client auth" };
	struct approver_request rq;
	struct approver_policy pol;
	struct approver_decision dec;
	struct buf csr;

	(void)st;
	make_csr(keys.p256, N("test1"), SN, NULL, NULL, NULL, PEM, &csr);
	memset(&rq, 0, sizeof(rq));
	rq.signer = CLIENT;
	rq.username = BOOT1;
	rq.groups = groups;
	rq.n_groups = 2;
	rq.usages = usages;
	rq.n_usages = 2;
	rq.request = csr.data;
	rq.request_len = csr.len;
	memset(&pol, 0, sizeof(pol));
	pol.inv = inv;
	assert_int_equal(approver_policy_decide(&pol, &rq, &dec), 0);
	assert_int_equal(dec.verdict, APPROVER_DENY);
	assert_non_null(strstr(dec.reason, "no bootstrap token"));
	approver_policy_decision_free(&dec);
	pol.token_id = token_broken;
	assert_int_equal(approver_policy_decide(&pol, &rq, &dec), SLW_ERR_STORE);
	assert_int_not_equal(dec.verdict, APPROVER_APPROVE);
	assert_null(dec.csr);
	/* a policy cap of its own */
	pol.token_id = token_table;
	pol.max_seconds = 7200;
	rq.expiration_seconds = 86400;
	assert_int_equal(approver_policy_decide(&pol, &rq, &dec), 0);
	assert_int_equal(dec.verdict, APPROVER_APPROVE);
	assert_int_equal(dec.validity, 7200);
	approver_policy_decision_free(&dec);
	/* garbage request bytes: denied, not an error */
	rq.request = (const uint8_t *)"hello";
	rq.request_len = 5;
	assert_int_equal(approver_policy_decide(&pol, &rq, &dec), 0);
	assert_int_equal(dec.verdict, APPROVER_DENY);
	approver_policy_decision_free(&dec);
	rq.request = NULL;
	rq.request_len = 0;
	assert_int_equal(approver_policy_decide(&pol, &rq, &dec), 0);
	assert_int_equal(dec.verdict, APPROVER_DENY);
	approver_policy_decision_free(&dec);
	buf_free(&csr);
}

/* ---- CSR objects from the API ---- */

static char *
csr_json(const struct buf *pem, const char *extra_spec, const char *status)
{
	unsigned char b64[16384];
	size_t olen = 0;
	char *out = malloc(32768);

	assert_int_equal(mbedtls_base64_encode(b64, sizeof(b64), &olen,
	    pem->data, pem->len), 0);
	snprintf(out, 32768,
	    "{\"apiVersion\":\"certificates.k8s.io/v1\","
	    "\"kind\":\"CertificateSigningRequest\","
	    "\"metadata\":{\"name\":\"node-csr-x\",\"uid\":\"u-1\","
	    "\"resourceVersion\":\"42\"},"
	    "\"spec\":{\"request\":\"%s\",\"signerName\":\"%s\","
	    "\"username\":\"system:bootstrap:aaaaaa\","
	    "\"groups\":[\"system:bootstrappers\","
	    "\"system:bootstrappers:test1\",\"system:authenticated\"],"
	    "\"usages\":[\"digital signature\",\"client auth\"]%s},"
	    "\"status\":{%s}}", b64, CLIENT, extra_spec ? extra_spec : "",
	    status ? status : "");
	return out;
}

static int
from_text(const char *txt, struct approver_csr *c)
{
	struct slw_diag d;
	cJSON *j = cJSON_Parse(txt);
	int r;

	assert_non_null(j);
	slw_diag_clear(&d);
	r = approver_csr_from_json(j, c, &d);
	if (r != 0)
		printf("  refused: %s\n", d.msg);
	cJSON_Delete(j);
	return r;
}

static void
test_csr_json(void **st)
{
	struct approver_policy pol;
	struct approver_decision dec;
	struct approver_csr c;
	struct buf pem;
	char *txt;

	(void)st;
	make_csr(keys.p256, N("test1"), SN, NULL, NULL, NULL, PEM, &pem);
	memset(&pol, 0, sizeof(pol));
	pol.inv = inv;
	pol.token_id = token_table;

	txt = csr_json(&pem, ",\"expirationSeconds\":3600", NULL);
	assert_int_equal(from_text(txt, &c), 0);
	assert_string_equal(c.name, "node-csr-x");
	assert_string_equal(c.uid, "u-1");
	assert_string_equal(c.rv, "42");
	assert_int_equal(c.rq.n_groups, 3);
	assert_int_equal(c.rq.n_usages, 2);
	assert_int_equal(c.rq.expiration_seconds, 3600);
	assert_int_equal(c.rq.request_len, pem.len);
	assert_false(c.rq.approved || c.rq.denied || c.rq.issued);
	assert_int_equal(approver_policy_decide(&pol, &c.rq, &dec), 0);
	assert_int_equal(dec.verdict, APPROVER_APPROVE);
	approver_policy_decision_free(&dec);
	approver_csr_free(&c);
	free(txt);

	txt = csr_json(&pem, NULL, "\"conditions\":[{\"type\":\"Approved\","
	    "\"status\":\"True\",\"reason\":\"x\"}],\"certificate\":\"QUJD\"");
	assert_int_equal(from_text(txt, &c), 0);
	assert_true(c.rq.approved && c.rq.issued && !c.rq.denied);
	approver_csr_free(&c);
	free(txt);

	txt = csr_json(&pem, NULL, "\"conditions\":[{\"type\":\"Denied\","
	    "\"status\":\"True\"},{\"type\":\"Failed\",\"status\":\"True\"}]");
	assert_int_equal(from_text(txt, &c), 0);
	assert_true(c.rq.denied && c.rq.failed && !c.rq.approved);
	approver_csr_free(&c);
	free(txt);

	/* malformed objects are refused with a reason */
	txt = csr_json(&pem, ",\"expirationSeconds\":1.5", NULL);
	assert_int_not_equal(from_text(txt, &c), 0);
	free(txt);
	txt = csr_json(&pem, ",\"expirationSeconds\":\"600\"", NULL);
	assert_int_not_equal(from_text(txt, &c), 0);
	free(txt);
	txt = csr_json(&pem, ",\"expirationSeconds\":-5", NULL);
	assert_int_not_equal(from_text(txt, &c), 0);
	free(txt);
	txt = csr_json(&pem, NULL, "\"conditions\":{}");
	assert_int_not_equal(from_text(txt, &c), 0);
	free(txt);
	assert_int_not_equal(from_text("{\"metadata\":{\"name\":\"a\"},"
	    "\"spec\":{\"signerName\":\"x\",\"request\":\"%%%%\"}}", &c), 0);
	assert_int_not_equal(from_text("{\"metadata\":{\"name\":\"a\"},"
	    "\"spec\":{\"signerName\":\"x\",\"request\":\"QUJD\","
	    "\"groups\":\"system:masters\"}}", &c), 0);
	assert_int_not_equal(from_text("{\"metadata\":{\"name\":\"a\"},"
	    "\"spec\":{\"signerName\":\"x\",\"request\":\"QUJD\","
	    "\"usages\":[1]}}", &c), 0);
	assert_int_not_equal(from_text("{\"metadata\":{},\"spec\":{"
	    "\"signerName\":\"x\",\"request\":\"QUJD\"}}", &c), 0);
	assert_int_not_equal(from_text("[]", &c), 0);
	{
		/* 65 groups: over the cap */
		char big[8192];
		size_t off, i;

		off = (size_t)snprintf(big, sizeof(big), "{\"metadata\":"
		    "{\"name\":\"a\"},\"spec\":{\"signerName\":\"x\","
		    "\"request\":\"QUJD\",\"groups\":[");
		for (i = 0; i < 65; i++)
			off += (size_t)snprintf(big + off, sizeof(big) - off,
			    "%s\"g%zu\"", i ? "," : "", i);
		snprintf(big + off, sizeof(big) - off, "]}}");
		assert_int_not_equal(from_text(big, &c), 0);
	}
	buf_free(&pem);
}

/* ---- signing: a real state made by `slipway init` ---- */

static char tmpdir[256];
static struct store *store;
static struct inventory *store_inv;

static int
sign_setup(void **st)
{
	char cmd[1024], path[512];
	const char *slipway = getenv("SLIPWAY");
	struct store_opts o;
	struct slw_diag d;
	FILE *f;

	(void)st;
	if (slipway == NULL)
		slipway = "../appliance/slipway";
	snprintf(tmpdir, sizeof(tmpdir), "%s/approver-test-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/cluster.yaml", tmpdir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(inventory_yaml, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "'%s' --state '%s/state' init --cluster "
	    "'%s' >/dev/null", slipway, tmpdir, path);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot run: %s\n", cmd);
		return -1;
	}
	memset(&o, 0, sizeof(o));
	o.need_kek = 1;
	snprintf(path, sizeof(path), "%s/state", tmpdir);
	slw_diag_clear(&d);
	if (store_open(path, &o, &store, &d) != 0 ||
	    cluster_load(store, &store_inv, &d) != 0) {
		fprintf(stderr, "state: %s\n", d.msg);
		return -1;
	}
	return 0;
}

static int
sign_teardown(void **st)
{
	char cmd[600];

	(void)st;
	inventory_free(store_inv);
	store_close(store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static int
has_eku(const mbedtls_x509_crt *crt, const char *oid, size_t len)
{
	const mbedtls_x509_sequence *s;

	for (s = &crt->ext_key_usage; s != NULL && s->buf.p != NULL;
	    s = s->next)
		if (s->buf.len == len && memcmp(s->buf.p, oid, len) == 0)
			return 1;
	return 0;
}

/* Decides and signs one CSR; checks the certificate. */
static void
sign_one(const char *cn, const char *sans, const char *signer,
    const char *user, const char *groupspec, const char *usagespec,
    int64_t es, enum purpose purpose)
{
	char gst[16][128], ust[16][128], subj[512];
	const char *groups[16], *usages[16];
	struct approver_request rq;
	struct approver_policy pol;
	struct approver_decision dec;
	struct signing *sg = NULL;
	struct signing_result res;
	struct buf csr, chain = { 0 }, trust = { 0 };
	mbedtls_x509_crt tr, crt;
	struct slw_diag d;
	time_t now = slw_now();
	time_t na;

	make_csr(keys.p256, cn, SN, NULL, NULL, sans, PEM, &csr);
	memset(&rq, 0, sizeof(rq));
	rq.signer = signer;
	rq.username = user;
	rq.n_groups = split(groupspec, gst, groups, 16);
	rq.groups = groups;
	rq.n_usages = split(usagespec, ust, usages, 16);
	rq.usages = usages;
	rq.expiration_seconds = es;
	rq.request = csr.data;
	rq.request_len = csr.len;
	memset(&pol, 0, sizeof(pol));
	pol.inv = store_inv;
	pol.token_id = token_table;
	assert_int_equal(approver_policy_decide(&pol, &rq, &dec), 0);
	printf("  %s: %s\n", approver_policy_verdict_name(dec.verdict), dec.reason);
	assert_int_equal(dec.verdict, APPROVER_APPROVE);

	slw_diag_clear(&d);
	assert_int_equal(signing_local_new(store, &sg, &d), 0);
	assert_int_equal(approver_sign(sg, &dec, now, &res, &chain, &d), 0);
	assert_int_equal(signing_trust_pem(sg, CA_KUBERNETES, &trust), 0);

	/* the chain verifies against the kubernetes trust bundle */
	mbedtls_x509_crt_init(&tr);
	assert_int_equal(chain_trust_parse(trust.data, trust.len, &tr, &d), 0);
	assert_int_equal(chain_verify(chain.data, chain.len, &tr, purpose, &d),
	    0);
	/* two blocks: the certificate, then its issuing CA */
	assert_non_null(strstr(strstr((char *)chain.data,
	    "-----END CERTIFICATE-----") + 1, "-----BEGIN CERTIFICATE-----"));

	mbedtls_x509_crt_init(&crt);
	assert_int_equal(mbedtls_x509_crt_parse_der(&crt, res.der.data,
	    res.der.len), 0);
	mbedtls_x509_dn_gets(subj, sizeof(subj), &crt.subject);
	printf("  issued: %s\n", subj);
	assert_true(strstr(subj, "O=system:nodes") != NULL);
	assert_true(strstr(subj, cn) != NULL);
	assert_true(strstr(subj, "C=") == NULL);	/* no inventory names */
	na = cert_time_to_epoch(&crt.valid_to);
	/* notAfter is exactly now - backdate + validity */
	assert_int_equal((long long)na,
	    (long long)(now - CERT_BACKDATE_SECS + (time_t)dec.validity));
	if (purpose == PURPOSE_CLIENT) {
		assert_true(has_eku(&crt, MBEDTLS_OID_CLIENT_AUTH,
		    MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)));
		assert_false(has_eku(&crt, MBEDTLS_OID_SERVER_AUTH,
		    MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)));
		assert_null(crt.subject_alt_names.buf.p);
	} else {
		assert_true(has_eku(&crt, MBEDTLS_OID_SERVER_AUTH,
		    MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)));
		assert_false(has_eku(&crt, MBEDTLS_OID_CLIENT_AUTH,
		    MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)));
		assert_non_null(crt.subject_alt_names.buf.p);
	}
	assert_false(crt.MBEDTLS_PRIVATE(ca_istrue));
	assert_string_equal(res.profile, approver_sign_purpose(dec.kind));

	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&tr);
	buf_free(&trust);
	buf_free(&chain);
	signing_result_free(&res);
	signing_free(sg);
	approver_policy_decision_free(&dec);
	buf_free(&csr);
}

static void
test_sign_client(void **st)
{
	(void)st;
	/* valid client CSR from node A's bootstrap identity: approved, signed,
	 * and the certificate verifies */
	sign_one(N("test1"), NULL, CLIENT, BOOT1, BOOT1_GROUPS, CU, 0,
	    PURPOSE_CLIENT);
	/* a validity that is not a whole number of hours */
	sign_one(N("test1"), NULL, CLIENT, N("test1"), NODE_GROUPS, CU, 5400,
	    PURPOSE_CLIENT);
	sign_one(N("test1"), NULL, CLIENT, N("test1"), NODE_GROUPS, CU, 600,
	    PURPOSE_CLIENT);
}

static void
test_sign_serving(void **st)
{
	(void)st;
	sign_one(N("test2"), "DNS:test2,DNS:test2.cluster.local,"
	    "IP:192.168.0.92", SERVING, N("test2"), NODE_GROUPS, SU, 86400,
	    PURPOSE_SERVER);
}

static void
test_sign_refuses_denied(void **st)
{
	struct approver_decision dec;
	struct signing_result res;
	struct signing *sg = NULL;

	(void)st;
	memset(&dec, 0, sizeof(dec));
	dec.verdict = APPROVER_DENY;
	dec.validity = 3600;
	assert_int_equal(signing_local_new(store, &sg, NULL), 0);
	assert_int_equal(approver_sign(sg, &dec, slw_now(), &res, NULL, NULL),
	    SLW_ERR_INVALID);
	signing_free(sg);
}

/* ---- the monitor's side of the approver's channel ---- */

static int
mk_token_txn(struct store_txn *t, void *arg)
{
	struct node_token *tok = arg;

	return nodetoken_get_or_create(t, tok->id[0] == '1' ? "test1" :
	    "test2", 86400, tok);
}

/* The store's bootstrap token id of node test1 or test2. */
static void
store_token(const char *node, char id[7])
{
	struct node_token tok;

	memset(&tok, 0, sizeof(tok));
	tok.id[0] = strcmp(node, "test1") == 0 ? '1' : '2';
	assert_int_equal(store_write(store, mk_token_txn, &tok, NULL), 0);
	memcpy(id, tok.id, 7);
	nodetoken_wipe(&tok);
}

struct counts {
	size_t certs, csr_records, audit_sign, audit_other;
};

static int
count_cert(void *arg, const struct cert_rec *rec)
{
	struct counts *c = arg;

	if (strncmp(rec->purpose, "kubelet-", 8) == 0)
		c->certs++;
	return 0;
}

static int
count_nodes(void *arg, const uint8_t *k, size_t kl, const uint8_t *v,
    size_t vl)
{
	struct counts *c = arg;

	(void)v;
	(void)vl;
	if (memmem(k, kl, "/csr/", 5) != NULL)
		c->csr_records++;
	return 0;
}

static int
count_audit(void *arg, const struct audit_entry *e)
{
	struct counts *c = arg;

	if (strcmp(e->action, "csr.sign") == 0)
		c->audit_sign++;
	else if (strncmp(e->action, "csr.", 4) == 0 &&
	    strcmp(e->actor, "approver") == 0)
		c->audit_other++;
	return 0;
}

static int
counts_txn(struct store_txn *t, void *arg)
{
	int r;

	memset(arg, 0, sizeof(struct counts));
	if ((r = certdb_foreach(t, count_cert, arg)) != 0 ||
	    (r = store_iter(t, DB_NODES, NULL, 0, 0, count_nodes, arg)) != 0)
		return r;
	return audit_foreach(t, count_audit, arg);
}

static struct counts
counts(void)
{
	struct counts c;

	assert_int_equal(store_read(store, counts_txn, &c, NULL), 0);
	return c;
}

static char mon_log[8192];

static void
mon_log_cb(void *arg, const char *line)
{
	(void)arg;
	if (strlen(mon_log) + strlen(line) + 2 < sizeof(mon_log)) {
		strcat(mon_log, line);
		strcat(mon_log, "\n");
	}
}

/*
 * A signing request as the approver would send it: cn's CSR, signer,
 * requester, its groups. csr is kept for the caller to free.
 */
static void
sign_msg(struct privsep_msg *q, const char *name, const char *uid,
    const char *cn, const char *sans, const char *signer, const char *user,
    const char *groupspec, const char *usagespec, struct buf *csr,
    char gst[16][128], char ust[16][128])
{
	privsep_msg_init(q, PS_APR_SIGN);
	make_csr(keys.p256, cn, SN, NULL, NULL, sans, PEM, csr);
	snprintf(q->u.asign.name, sizeof(q->u.asign.name), "%s", name);
	snprintf(q->u.asign.uid, sizeof(q->u.asign.uid), "%s", uid);
	snprintf(q->u.asign.signer, sizeof(q->u.asign.signer), "%s", signer);
	q->u.asign.username = user;
	q->u.asign.requester_uid = "";
	q->u.asign.n_groups = split(groupspec, gst, q->u.asign.groups, 16);
	q->u.asign.n_usages = split(usagespec, ust, q->u.asign.usages, 16);
	q->u.asign.request.data = csr->data;	/* borrowed */
	q->u.asign.request.len = csr->len;
}

/* Sends q through the handler as the channel would: serialized, parsed. */
static void
handle(struct approver_monitor *m, const struct privsep_msg *q0,
    struct privsep_msg *a)
{
	struct privsep_msg q;
	struct buf b = { 0 };

	assert_int_equal(privsep_msg_write(q0, &b), 0);
	assert_true(b.len - 4 <= PS_APR_REQ_FRAME_MAX);
	assert_int_equal(privsep_msg_parse(b.data + 4, b.len - 4, &q, NULL), 0);
	assert_int_equal(approver_monitor_handle(m, &q, a), 0);
	privsep_msg_free(&q);
	buf_free(&b);
}

/* A forged request: refused with the policy's reason; nothing recorded. */
static void
forged(struct approver_monitor *m, const char *why, const char *name,
    const char *cn, const char *sans, const char *signer, const char *user,
    const char *groups, const char *usages, const char *reason)
{
	struct privsep_msg q, a;
	struct buf csr = { 0 };
	char gst[16][128], ust[16][128];
	struct counts before = counts(), after;

	sign_msg(&q, name, name, cn, sans, signer, user, groups, usages, &csr,
	    gst, ust);
	handle(m, &q, &a);
	after = counts();
	printf("  forged (%s): %s\n", why, a.u.asans.text);
	if (a.type != PS_APR_SIGN_ANS || a.u.asans.rc != SLW_ERR_DENIED ||
	    a.u.asans.chain.len != 0 || strstr(a.u.asans.text, reason) == NULL)
		fail_msg("%s: rc %d, '%s' (wanted '%s')", why, a.u.asans.rc,
		    a.u.asans.text, reason);
	if (after.certs != before.certs || after.csr_records !=
	    before.csr_records || after.audit_sign != before.audit_sign)
		fail_msg("%s: something was signed or recorded", why);
	privsep_msg_free(&a);
	buf_free(&csr);
}

static void
test_monitor_refuses_forged(void **st)
{
	struct approver_monitor_opts mo;
	struct approver_monitor *m = NULL;
	struct privsep_msg q, a;
	struct buf csr = { 0 }, trust = { 0 };
	struct signing *sg = NULL;
	mbedtls_x509_crt tr;
	char gst[16][128], ust[16][128], id1[7], id2[7], user1[64], user2[64];
	char serial[33];
	struct counts c0, c1;

	(void)st;
	memset(&mo, 0, sizeof(mo));
	mo.log = mon_log_cb;
	mon_log[0] = '\0';
	assert_int_equal(approver_monitor_new(store, store_inv, &mo, &m, NULL),
	    0);
	store_token("test1", id1);
	store_token("test2", id2);
	snprintf(user1, sizeof(user1), "system:bootstrap:%s", id1);
	snprintf(user2, sizeof(user2), "system:bootstrap:%s", id2);
	c0 = counts();

	/* the genuine request: signed, recorded once, the chain verifies */
	sign_msg(&q, "csr-good", "uid-good", N("test1"), NULL, CLIENT, user1,
	    "system:bootstrappers,system:bootstrappers:test1", CU, &csr, gst,
	    ust);
	handle(m, &q, &a);
	assert_int_equal(a.type, PS_APR_SIGN_ANS);
	if (a.u.asans.rc != 0)
		fail_msg("the genuine request: %s", a.u.asans.text);
	assert_string_equal(a.u.asans.node, "test1");
	assert_int_equal(a.u.asans.again, 0);
	snprintf(serial, sizeof(serial), "%s", a.u.asans.serial);
	assert_int_equal(signing_local_new(store, &sg, NULL), 0);
	assert_int_equal(signing_trust_pem(sg, CA_KUBERNETES, &trust), 0);
	mbedtls_x509_crt_init(&tr);
	assert_int_equal(chain_trust_parse(trust.data, trust.len, &tr, NULL), 0);
	assert_int_equal(chain_verify(a.u.asans.chain.data, a.u.asans.chain.len,
	    &tr, PURPOSE_CLIENT, NULL), 0);
	privsep_msg_free(&a);
	c1 = counts();
	assert_int_equal(c1.certs, c0.certs + 1);
	assert_int_equal(c1.csr_records, c0.csr_records + 1);
	assert_int_equal(c1.audit_sign, c0.audit_sign + 1);
	/* the same CSR again (the approver restarted): the same certificate */
	handle(m, &q, &a);
	assert_int_equal(a.u.asans.rc, 0);
	assert_int_equal(a.u.asans.again, 1);
	assert_string_equal(a.u.asans.serial, serial);
	privsep_msg_free(&a);
	c1 = counts();
	assert_int_equal(c1.certs, c0.certs + 1);
	assert_int_equal(c1.csr_records, c0.csr_records + 1);
	buf_free(&csr);

	/* what a compromised approver might send, each "approved" by it */
	forged(m, "CN of another node", "f1", N("test2"), NULL, CLIENT, user1,
	    "system:bootstrappers,system:bootstrappers:test1", CU,
	    "a bootstrap token of another node may not request");
	forged(m, "CN of another node, that node's group claimed", "f2",
	    N("test2"), NULL, CLIENT, user1,
	    "system:bootstrappers,system:bootstrappers:test2", CU,
	    "is not node test2's bootstrap token");
	forged(m, "requester is another node", "f3", N("test1"), NULL, CLIENT,
	    N("test2"), "system:nodes", CU,
	    "may only renew its own certificate");
	forged(m, "serving certificate asked by a bootstrap token", "f4",
	    N("test2"), "DNS:test2", SERVING, user2,
	    "system:bootstrappers,system:bootstrappers:test2", SU,
	    "only system:node:test2 may request");
	forged(m, "serving certificate with another node's address", "f5",
	    N("test1"), "DNS:test1,IP:192.168.0.92", SERVING, N("test1"),
	    "system:nodes", SU, "IP SAN");
	forged(m, "server auth on a client certificate", "f6", N("test1"),
	    NULL, CLIENT, N("test1"), "system:nodes", SU,
	    "usage 'server auth' is not allowed");
	forged(m, "a node not in the inventory", "f7", N("evil"), NULL, CLIENT,
	    N("evil"), "system:nodes", CU, "not in the inventory");
	forged(m, "another signer", "f8", N("test1"), NULL,
	    "kubernetes.io/kube-apiserver-client", N("test1"), "system:nodes",
	    CU, "not handled by slipway");
	assert_non_null(strstr(mon_log, "refused to sign csr f1"));

	/* a type outside the table: nothing done */
	privsep_msg_init(&q, PS_REDEEM);
	assert_int_equal(approver_monitor_handle(m, &q, &a), SLW_ERR_INVALID);
	privsep_msg_init(&q, PS_APR_CONFIG);
	assert_int_equal(approver_monitor_handle(m, &q, &a), SLW_ERR_INVALID);

	/* tokens: the id for the policy; the secret only to a syncing one */
	privsep_msg_init(&q, PS_APR_TOKEN);
	snprintf(q.u.atok.node, sizeof(q.u.atok.node), "test1");
	handle(m, &q, &a);
	assert_int_equal(a.u.atans.rc, 0);
	assert_string_equal(a.u.atans.id, id1);
	assert_string_equal(a.u.atans.secret, "");
	q.u.atok.secret = 1;
	handle(m, &q, &a);
	assert_int_equal(a.u.atans.rc, SLW_ERR_DENIED);
	assert_string_equal(a.u.atans.secret, "");
	snprintf(q.u.atok.node, sizeof(q.u.atok.node), "test3");
	q.u.atok.secret = 0;
	handle(m, &q, &a);
	assert_int_equal(a.u.atans.rc, SLW_ERR_NOTFOUND);

	/* its API client certificate: for the key in a CSR it signed */
	privsep_msg_init(&q, PS_APR_CERT);
	assert_int_equal(csr_write_der(keys.p384, &(struct dn){ .cn = "x" },
	    &q.u.acert.csr), 0);
	handle(m, &q, &a);
	assert_int_equal(a.u.acans.rc, 0);
	assert_non_null(strstr((char *)a.u.acans.cert.data, "BEGIN CERTIFICATE"));
	assert_non_null(strstr((char *)a.u.acans.trust.data,
	    "BEGIN CERTIFICATE"));
	{
		mbedtls_x509_crt c;
		char subj[256];

		mbedtls_x509_crt_init(&c);
		assert_int_equal(mbedtls_x509_crt_parse(&c, a.u.acans.cert.data,
		    a.u.acans.cert.len + 1), 0);
		mbedtls_x509_dn_gets(subj, sizeof(subj), &c.subject);
		assert_string_equal(subj, "O=system:masters, CN=slipway");
		mbedtls_x509_crt_free(&c);
	}
	privsep_msg_free(&a);
	q.u.acert.csr.data[q.u.acert.csr.len - 1] ^= 1;	/* its signature */
	handle(m, &q, &a);
	assert_true(a.u.acans.rc != 0);
	assert_int_equal(a.u.acans.cert.len, 0);
	privsep_msg_free(&a);
	q.u.acert.csr.data[q.u.acert.csr.len - 1] ^= 1;
	{	/* a few an hour, then no more */
		int i, limited = 0;

		for (i = 0; i < 8; i++) {
			handle(m, &q, &a);
			limited |= a.u.acans.rc == SLW_ERR_LIMIT;
			privsep_msg_free(&a);
		}
		assert_true(limited);
	}
	privsep_msg_free(&q);

	/* audit records: the monitor names the actor and the object */
	c0 = counts();
	privsep_msg_init(&q, PS_APR_AUDIT);
	q.u.aaud.action = PS_APR_AUDIT_CSR_DENY;
	snprintf(q.u.aaud.object, sizeof(q.u.aaud.object), "csr-x");
	snprintf(q.u.aaud.detail, sizeof(q.u.aaud.detail), "denied");
	handle(m, &q, &a);
	assert_int_equal(a.u.bytes.rc, 0);
	privsep_msg_free(&a);
	c1 = counts();
	assert_int_equal(c1.audit_other, c0.audit_other + 1);

	mbedtls_x509_crt_free(&tr);
	buf_free(&trust);
	signing_free(sg);
	approver_monitor_free(m);
}

static int
group_setup(void **st)
{
	struct slw_diag d;

	(void)st;
	slw_diag_clear(&d);
	if (slw_crypto_init() != 0 ||
	    inventory_parse((const uint8_t *)inventory_yaml,
	    strlen(inventory_yaml), "test.yaml", &inv, &d) != 0) {
		fprintf(stderr, "inventory: %s\n", d.msg);
		return -1;
	}
	if (key_generate(KEY_EC_P256, &keys.p256) != 0 ||
	    key_generate(KEY_EC_P384, &keys.p384) != 0 ||
	    key_generate(KEY_RSA_2048, &keys.rsa) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **st)
{
	(void)st;
	inventory_free(inv);
	key_free(keys.p256);
	key_free(keys.p384);
	key_free(keys.rsa);
	return 0;
}

/* The metric label of a decision: a fixed name, never request text. */
static void
test_policy_rule(void **st)
{
	const char *const *r;
	int found;

	(void)st;
	assert_string_equal(approver_policy_rule(APPROVER_APPROVE,
	    "kubelet-serving: node test1, requested by system:node:test1"),
	    "kubelet-serving");
	assert_string_equal(approver_policy_rule(APPROVER_DENY,
	    "kubelet-serving: DNS SAN 'x' is neither node test2's name"),
	    "sans");
	assert_string_equal(approver_policy_rule(APPROVER_DENY,
	    "kube-apiserver-client-kubelet: node 'test9' is not in the "
	    "inventory"), "inventory");
	assert_string_equal(approver_policy_rule(APPROVER_DENY,
	    "node test3 has no bootstrap token in slipway"), "requester");
	assert_string_equal(approver_policy_rule(APPROVER_DENY,
	    "denied by default"), "default");
	assert_string_equal(approver_policy_rule(APPROVER_DENY,
	    "\"} 1\nevil_metric 1"), "other");
	assert_string_equal(approver_policy_rule(APPROVER_DENY, NULL), "other");
	/* every answer is in the table the metric is rendered from */
	found = 0;
	for (r = approver_policy_rules; *r != NULL; r++)
		found += strcmp(*r, "other") == 0 || strcmp(*r, "sans") == 0;
	assert_int_equal(found, 2);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest policy[] = {
		cmocka_unit_test(test_policy_rule),
		cmocka_unit_test(test_policy_table),
		cmocka_unit_test(test_bootstrap_group),
		cmocka_unit_test(test_policy_no_token_fn),
	};
	const struct CMUnitTest json[] = {
		cmocka_unit_test(test_csr_json),
	};
	const struct CMUnitTest sign[] = {
		cmocka_unit_test_setup_teardown(test_sign_client, sign_setup,
		    sign_teardown),
		cmocka_unit_test_setup_teardown(test_sign_serving, sign_setup,
		    sign_teardown),
		cmocka_unit_test_setup_teardown(test_sign_refuses_denied,
		    sign_setup, sign_teardown),
	};
	const struct CMUnitTest monitor[] = {
		cmocka_unit_test_setup_teardown(test_monitor_refuses_forged,
		    sign_setup, sign_teardown),
	};
	const char *only = argc > 1 ? argv[1] : NULL;
	int r = 0;

	if (only == NULL || strcmp(only, "policy") == 0)
		r |= cmocka_run_group_tests_name("approver_policy", policy,
		    group_setup, group_teardown);
	if (only == NULL || strcmp(only, "json") == 0)
		r |= cmocka_run_group_tests_name("approver_csr_json", json,
		    group_setup, group_teardown);
	if (only == NULL || strcmp(only, "sign") == 0)
		r |= cmocka_run_group_tests_name("approver_sign", sign,
		    group_setup, group_teardown);
	if (only == NULL || strcmp(only, "monitor") == 0)
		r |= cmocka_run_group_tests_name("approver_monitor", monitor,
		    group_setup, group_teardown);
	return r;
}
