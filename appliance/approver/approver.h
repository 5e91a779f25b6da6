/* SPDX-License-Identifier: Apache-2.0 */
/*
 * approver.h: kubelet certificate signing requests, decided by policy and
 * signed by slipway.
 *
 * The policy (approver_policy.c) is a pure function of one CSR object, the
 * inventory and each node's bootstrap token id: approve, deny or ignore,
 * always with a reason that names the rule. The same code answers
 * `slipway csr check` offline and runs inside the loop.
 *
 * The loop (approver.c) runs in its own process, slipway-approver (no
 * CA key, no KEK, no store; serve/approver_main.c): it lists and watches
 * certificatesigningrequests, writes each decision into the CSR's
 * Approved/Denied condition (reason "SlipwayPolicy", message = the
 * policy's reason) and, through the monitor, the audit log, and in the
 * default signing mode asks the monitor to sign approved CSRs and writes
 * status.certificate. The monitor (approver_monitor.c) re-runs the policy
 * on what it received before it signs, and signs each CSR at most once
 * (the issuance is recorded under the CSR's uid before the status is
 * written).
 */
#ifndef SLW_APPROVER_H
#define SLW_APPROVER_H

#include <stdatomic.h>
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "csr.h"
#include "inventory.h"
#include "nodetoken.h"
#include "privsep_msg.h"
#include "signing.h"
#include "store.h"

#define APPROVER_SIGNER_CLIENT "kubernetes.io/kube-apiserver-client-kubelet"
#define APPROVER_SIGNER_SERVING "kubernetes.io/kubelet-serving"
#define APPROVER_CONDITION_REASON "SlipwayPolicy"
#define APPROVER_BOOTSTRAPPERS NODETOKEN_GROUP	/* nodetoken.h */
#define APPROVER_NODE_PREFIX "system:node:"
#define APPROVER_NODES_GROUP "system:nodes"
/* Kubernetes' minimum for spec.expirationSeconds (10 minutes). */
#define APPROVER_MIN_SECONDS 600u
#define APPROVER_REASON_MAX 400
#define APPROVER_MAX_GROUPS 64	/* PS_APR_GROUPS_MAX */
#define APPROVER_MAX_USAGES 32	/* PS_APR_USAGES_MAX */

static_assert(APPROVER_MAX_GROUPS == PS_APR_GROUPS_MAX &&
    APPROVER_MAX_USAGES == PS_APR_USAGES_MAX, "what the API gives fits a "
    "signing request");

enum approver_verdict {
	APPROVER_APPROVE = 0,
	APPROVER_DENY,
	APPROVER_IGNORE,
};

enum approver_kind {
	APPROVER_KIND_NONE = 0,
	APPROVER_KIND_CLIENT,		/* kube-apiserver-client-kubelet */
	APPROVER_KIND_SERVING,		/* kubelet-serving */
};

/* One CSR as the policy sees it. Strings are borrowed. */
struct approver_request {
	const char *name;		/* metadata.name (messages only) */
	const char *signer;		/* spec.signerName */
	const char *username;		/* spec.username: who created it */
	const char *const *groups;	/* spec.groups */
	size_t n_groups;
	const char *const *usages;	/* spec.usages */
	size_t n_usages;
	int64_t expiration_seconds;	/* spec.expirationSeconds, 0: absent */
	const uint8_t *request;		/* spec.request, base64-decoded */
	size_t request_len;
	int approved, denied, failed;	/* status.conditions */
	int issued;			/* status.certificate is set */
};

/*
 * The node's current bootstrap token id ("abc123") into id; SLW_ERR_NOTFOUND
 * if the node has none. The loop reads it from the store on every decision,
 * so a token created after the approver started is known at once.
 */
typedef int (*approver_token_fn)(void *arg, const char *node, char id[7]);

struct approver_policy {
	const struct inventory *inv;
	approver_token_fn token_id;
	void *token_arg;
	uint32_t max_seconds;		/* 0: inv->csr_max_seconds */
};

struct approver_decision {
	enum approver_verdict verdict;
	enum approver_kind kind;
	char reason[APPROVER_REASON_MAX];
	char node[INV_NAME_MAX];	/* the node the CSR is for, if known */
	uint32_t validity;		/* seconds the certificate will last */
	int key_encipherment;		/* requested (kept for RSA keys) */
	struct csr *csr;		/* the parsed request, when approved */
};

/*
 * Decides one CSR. CSRs already approved, denied or failed are ignored
 * (reason says which); see approver_policy_evaluate for the rules. Returns 0 with
 * the verdict in out (free with approver_policy_decision_free), or a negative
 * SLW_ERR_* for an internal failure (out of memory), never for bad input.
 */
int approver_policy_decide(const struct approver_policy *p,
    const struct approver_request *rq, struct approver_decision *out);
/* The rules alone, whatever the CSR's status (the signer re-checks an
 * approved CSR with this before signing it). */
int approver_policy_evaluate(const struct approver_policy *p,
    const struct approver_request *rq, struct approver_decision *out);
void approver_policy_decision_free(struct approver_decision *dec);
/*
 * The rule that decided, from the decision's reason: for an approval the
 * signer ("kube-apiserver-client-kubelet", "kubelet-serving"), for a
 * denial the check ("subject", "requester", "usages", "sans", "request",
 * "inventory", "expiration", "default"); "other" for anything else. Always
 * one of approver_policy_rules (NULL-terminated): a metric label.
 */
const char *approver_policy_rule(enum approver_verdict v, const char *reason);
extern const char *const approver_policy_rules[];
const char *approver_policy_verdict_name(enum approver_verdict v);

/* ---- a CSR object from the API (untrusted JSON) ---- */

struct approver_csr {
	char name[254];
	char uid[64];
	char rv[64];
	char signer[572];
	struct approver_request rq;	/* points into the fields below */
	const char *requester_uid;	/* spec.uid ("" if absent) */
	char *strs;			/* username, uid, groups, usages */
	const char *groups[APPROVER_MAX_GROUPS];
	const char *usages[APPROVER_MAX_USAGES];
	struct buf request;		/* decoded spec.request */
};

/* Reads the fields the policy needs from a certificates.k8s.io/v1
 * CertificateSigningRequest object; refuses malformed ones (d says why). */
int approver_csr_from_json(const cJSON *obj, struct approver_csr *out,
    struct slw_diag *d);
void approver_csr_free(struct approver_csr *c);

/* ---- signing an approved CSR ---- */

/*
 * Signs dec->csr (an approved decision) with the kubernetes CA: subject as
 * requested, the signer's usages, validity dec->validity seconds from
 * now - CERT_BACKDATE_SECS. chain gets the certificate and its issuing CA
 * as PEM, ready for status.certificate.
 */
int approver_sign(struct signing *sg, const struct approver_decision *dec,
    time_t now, struct signing_result *res, struct buf *chain,
    struct slw_diag *d);
/* The chain for a certificate signed earlier (the same CSR, retried). */
int approver_sign_chain(struct signing *sg, const uint8_t *der, size_t len,
    struct buf *chain, struct slw_diag *d);
const char *approver_sign_purpose(enum approver_kind kind);

/* ---- the loop (approver.c), in the slipway-approver process ---- */

enum approver_log_level { APPROVER_LOG_INFO, APPROVER_LOG_WARN };

struct approver_opts {
	const char *apiserver;		/* NULL: the inventory's VIP URL */
	int once;			/* one pass over pending CSRs, no watch */
	int console;			/* `slipway approve`: decisions on
					 * stdout, trouble on stderr */
	unsigned int backoff_cap_ms;	/* 0: 30 s */
	/* Where the loop reports decisions and trouble (one line each, no
	 * secrets); NULL: nothing. */
	void (*log)(void *arg, enum approver_log_level lvl, const char *msg);
	void *log_arg;
	/* Also keep the per-node bootstrap-token Secrets in the cluster in
	 * step with the store (slipway serve), every this many seconds; 0:
	 * never. */
	unsigned int token_sync_seconds;
};

struct approver_stats {
	unsigned long approved, denied, signed_, ignored, errors;
	unsigned long lists, watches, resumed, relists;
};

/* The approver's side of its channel to the monitor (approver_client.c). */
struct approver_client;

/*
 * Runs the approver until *stop becomes non-zero (or, with opts->once,
 * after one pass). Everything it needs from the store, its API client
 * certificate and every signature come from the monitor through ac. The
 * API being down, 409s and broken watches are retried with backoff; the
 * function only returns early for errors retrying cannot fix (an invalid
 * URL, the monitor gone). stats may be NULL. libcurl runs with
 * CURLOPT_NOSIGNAL, so the process must ignore SIGPIPE.
 */
int approver_run(struct approver_client *ac, const struct inventory *inv,
    const struct approver_opts *o, const atomic_int *stop,
    struct approver_stats *stats, struct slw_diag *d);

/* ---- the approver's channel, its side (approver_client.c) ---- */

/* Takes fd (a connected stream socket to the monitor; closed on free). */
int approver_client_new(int fd, struct approver_client **out);
void approver_client_free(struct approver_client *ac);
/* 1 once the channel broke: every call fails; the process should end. */
int approver_client_lost(const struct approver_client *ac);
/* The policy's token lookup (approver_token_fn), asked of the monitor. */
int approver_client_token_id(void *ac, const char *node, char id[7]);
/* A node's token with its secret (for its bootstrap-token Secret). */
int approver_client_token(struct approver_client *ac, const char *node,
    struct node_token *out, struct slw_diag *d);
/* One audit record (actor "approver"); object: the CSR's name for the
 * csr.* actions, the object applied for kube.apply. */
int approver_client_audit(struct approver_client *ac, unsigned int action,
    const char *object, const char *detail, struct slw_diag *d);

struct approver_signed {
	char node[INV_NAME_MAX];
	char serial[33];		/* hex */
	int again;			/* recorded earlier: the same certificate */
	struct buf chain;		/* PEM: certificate, then its CA */
};
/*
 * Asks the monitor to sign c. 0: signed (out), SLW_ERR_DENIED: the
 * monitor's policy refuses (d has its reason), else an error to retry.
 */
int approver_client_sign(struct approver_client *ac,
    const struct approver_csr *c, struct approver_signed *out,
    struct slw_diag *d);
void approver_signed_free(struct approver_signed *s);
struct kube;
/*
 * A fresh API client for url: a P-256 key made here, certified by the
 * monitor (kube_session_issue) as slipway's identity; *not_after: its end.
 */
int approver_client_session(struct approver_client *ac, const char *url,
    struct kube **out, time_t *not_after, struct slw_diag *d);
/* The last message: how the loop ended. */
int approver_client_done(struct approver_client *ac, int rc,
    const char *text, const struct approver_stats *st);

/* ---- the approver's channel, the key holder's side (approver_monitor.c) ---- */

struct approver_monitor_opts {
	/* may hand out bootstrap token secrets (token_sync_seconds) */
	int token_secrets;
	/* one line per refusal or problem, no secret; NULL: none */
	void (*log)(void *arg, const char *line);
	void *log_arg;
	/* Called for every approval and denial the approver records (its
	 * csr.approve and csr.deny), with the reason: the monitor counts
	 * them (slipway_csr_decisions_total); NULL: nothing. From the thread
	 * that serves the channel. */
	void (*decided)(void *arg, enum approver_verdict v, const char *reason);
	void *decided_arg;
};

struct approver_monitor;
/* store (open with its KEK) and inv must outlive the monitor. */
int approver_monitor_new(struct store *s, const struct inventory *inv,
    const struct approver_monitor_opts *o, struct approver_monitor **out,
    struct slw_diag *d);
void approver_monitor_free(struct approver_monitor *m);
/* PS_APR_CONFIG for an approver that shall run with o (the stored
 * inventory, o's URL and flags). */
int approver_monitor_config(struct approver_monitor *m,
    const struct approver_opts *o, struct privsep_msg *out,
    struct slw_diag *d);
/*
 * The table of what the approver may ask (privsep_msg.h), on its own: q a
 * parsed request, a its answer. SLW_ERR_INVALID (nothing done) for a type
 * outside the table. A PS_APR_SIGN is signed only if the monitor's own
 * policy run approves what it received; the issuance is recorded under
 * "<node>/csr/<uid>" once, and a repeat gets the recorded certificate.
 */
int approver_monitor_handle(struct approver_monitor *m,
    const struct privsep_msg *q, struct privsep_msg *a);
/*
 * One approver's session on fd: sends cfg, then answers its requests until
 * it closes the channel (or breaks it: one log line, channel closed).
 * done gets its PS_APR_DONE: 0 if it came, SLW_ERR_IO if not (killed,
 * crashed). Not thread-safe against another session of the same m.
 */
int approver_monitor_serve(struct approver_monitor *m, int fd,
    const struct privsep_msg *cfg, struct ps_apr_done *done);

#endif
