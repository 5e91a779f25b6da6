// SPDX-License-Identifier: Apache-2.0
/*
 * monitor.c: `slipway serve`'s monitor (serve.h; its options are parsed by
 * cli/cmd_serve.c): opens the store, loads the signer and the serving
 * identity, binds, drops privileges (fatal if that fails), starts the
 * network child (child.c, netproc.c) and answers its requests
 * (privsep_monitor.h), restarts it if it dies (a bounded number of
 * times), starts the CSR approver process (approverproc.c, unless
 * --no-approve), answers it (approver_monitor.c) and restarts it too,
 * runs the signer's CA-rotation refresh, tells the supervisor it is
 * ready, and stops cleanly on SIGTERM. A state with only
 * a wrapped KEK starts sealed (docs/appliance.md): a child that answers
 * 503 "sealed" with a throwaway certificate, and the unseal socket
 * (unseal.h); once that gives the store its KEK, the monitor loads what
 * it serves with and hands the socket to a child that serves. Renews the
 * serving certificate while running (a CA rotation, its end near, a
 * rotated key, SIGHUP) by handing the socket to a new child, and prunes
 * ended token records daily. Never parses HTTP, TLS or the API server's
 * answers; never prints a key or a token; never runs on when a privilege
 * drop or a prctl fails.
 */
#define _GNU_SOURCE	/* setgroups, setresuid */
#include "approver.h"
#include "artifact.h"
#include "audit.h"
#include "ca.h"
#include "cluster.h"
#include "http_server.h"
#include "http.h"
#include "http_tls.h"
#include "privsep_monitor.h"
#include "profile.h"
#include "rand.h"
#include "serve.h"
#include "signing.h"
#include "token.h"
#include "unseal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

#define SERVE_ACTOR "serve"

/* ---- logging: one line per call, one write(2) (log.c) ---- */

static void
log_line(void *cls, const char *line)
{
	serve_log_line(cls, line);
}

/* ---- sd_notify ---- */

/* Connects to $NOTIFY_SOCKET (before privileges are dropped). -1: none. */
static int
notify_open(void)
{
	const char *p = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t n;
	int fd;

	if (p == NULL || p[0] == '\0' || (p[0] != '/' && p[0] != '@'))
		return -1;
	n = strlen(p);
	if (n >= sizeof(sa.sun_path))
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, p, n);
	if (p[0] == '@')
		sa.sun_path[0] = '\0';	/* abstract namespace */
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
notify_send(int fd, const char *msg)
{
	if (fd >= 0)
		(void)send(fd, msg, strlen(msg), MSG_NOSIGNAL);
}

/* ---- binding and privileges ---- */

static int
bind_listen(const char *addr, int *fd_out, char *shown, size_t slen,
    struct slw_diag *d)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1, zero = 0;

	if (http_listen_parse(addr, &ss, &sl, d) != 0)
		return SLW_ERR_INVALID;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return slw_diag(d, SLW_ERR_IO, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
		int e = errno;

		close(fd);
		return slw_diag(d, SLW_ERR_IO, "cannot listen on %s: %s", addr,
		    strerror(e));
	}
	if (listen(fd, 1024) != 0) {
		int e = errno;

		close(fd);
		return slw_diag(d, SLW_ERR_IO, "cannot listen on %s: %s", addr,
		    strerror(e));
	}
	sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	{
		char host[HTTP_ADDR_MAX];
		unsigned int port = ss.ss_family == AF_INET6 ?
		    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
		    ntohs(((struct sockaddr_in *)&ss)->sin_port);

		http_addr_text((struct sockaddr *)&ss, host, sizeof(host));
		snprintf(shown, slen, "%s%s%s:%u", ss.ss_family == AF_INET6 ?
		    "[" : "", host, ss.ss_family == AF_INET6 ? "]" : "", port);
	}
	*fd_out = fd;
	return 0;
}

/*
 * The metrics listener: addr, or "off" (none), or NULL: the default
 * address if its port is free (taken: a log line, and none). A given
 * address that cannot be bound fails the start.
 */
static int
bind_metrics(const char *addr, int *fd, char *shown, size_t slen,
    struct slw_diag *d)
{
	struct slw_diag d2;
	int r;

	*fd = -1;
	if (addr != NULL && strcmp(addr, "off") == 0)
		return 0;
	if (addr != NULL)
		return bind_listen(addr, fd, shown, slen, d);
	slw_diag_clear(&d2);
	if ((r = bind_listen(SERVE_METRICS_DEFAULT, fd, shown, slen, &d2)) != 0) {
		serve_log_fmt("no metrics listener: %s (--metrics-listen "
		    "ADDR:PORT chooses another)", slw_diag_str(&d2, r));
		*fd = -1;
		shown[0] = '\0';
	}
	return 0;
}

/*
 * As root: become user (its group, no supplementary groups) for good, and
 * check that root cannot be regained. Every call checked: fails closed.
 */
static int
drop_privileges(const char *user, char *who, size_t wlen, struct slw_diag *d)
{
	struct serve_creds cr;
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int r;

	if ((r = serve_creds_for(user, &cr, who, wlen, d)) != 0)
		return r;
	if (!cr.drop)
		return 0;	/* not root: nothing to drop */
	if (setgroups(0, NULL) != 0)
		return slw_diag(d, SLW_ERR_PERM, "cannot drop the supplementary "
		    "groups: %s", strerror(errno));
	if (setresgid(cr.gid, cr.gid, cr.gid) != 0)
		return slw_diag(d, SLW_ERR_PERM, "cannot set group %u: %s",
		    (unsigned)cr.gid, strerror(errno));
	if (setresuid(cr.uid, cr.uid, cr.uid) != 0)
		return slw_diag(d, SLW_ERR_PERM, "cannot set user %u: %s",
		    (unsigned)cr.uid, strerror(errno));
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 ||
	    ru != cr.uid || eu != cr.uid || su != cr.uid || rg != cr.gid ||
	    eg != cr.gid || sg != cr.gid || setuid(0) == 0 || seteuid(0) == 0)
		return slw_diag(d, SLW_ERR_PERM, "privileges could not be dropped "
		    "for good");
	return 0;
}

/* ---- the command ---- */

/* The kubernetes CA key, for master bundles in controller-manager mode. */
static int
seed_key_txn(struct store_txn *t, void *arg)
{
	struct signer *sg = NULL;
	char name[CA_NAME_MAX];
	uint32_t gen;
	int r;

	if ((r = ca_signer(t, CA_KUBERNETES, 0, &sg, &gen, name)) != 0)
		return r;
	r = key_write_pem(sg->key, arg);
	signer_free(sg);
	return r;
}

/* ---- the monitor's timers ---- */

#define REFRESH_EVERY 10	/* seconds between looks at the CAs */
#define RECHECK_EVERY 60	/* seconds between looks at the serving cert */
#define PRUNE_EVERY 86400	/* seconds between token prunes (first: 60 s) */
#define CRL_EVERY 60		/* seconds between looks at the CRLs (first:
				 * before ready): each is re-signed before half
				 * of its 7 days have passed, and after a
				 * revocation */

static double
mono_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static unsigned int
ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 && n < 1024 ? (unsigned int)n : 1;
}

/* Token records that ended more than TOKEN_PRUNE_AGE ago go (token.h). */
static void
prune_tokens(struct store *s)
{
	struct token_prune_stats st;
	struct slw_diag d;
	time_t now = slw_now();
	size_t n;
	int r;

	slw_diag_clear(&d);
	if ((r = token_prune_store(s, now - TOKEN_PRUNE_AGE, now, SERVE_ACTOR,
	    &st, &d)) != 0) {
		serve_log_fmt("cannot prune token records: %s",
		    slw_diag_str(&d, r));
		return;
	}
	n = st.used + st.expired + st.revoked;
	if (n > 0)
		serve_log_fmt("pruned %zu token record(s) that ended over %d days "
		    "ago (%zu used, %zu expired, %zu revoked; the audit log "
		    "keeps them); %zu kept", n, TOKEN_PRUNE_AGE / 86400,
		    st.used, st.expired, st.revoked, st.kept);
}

/* Re-signs the CRLs that are due (crl_store.h); a read when none is. */
static void
resign_crls(struct store *s)
{
	struct slw_diag d;
	size_t n;
	int r;

	slw_diag_clear(&d);
	if ((r = signing_crl_refresh(s, slw_now(), SERVE_ACTOR, &n, &d)) != 0)
		serve_log_fmt("cannot re-sign the CRLs: %s", slw_diag_str(&d, r));
	else if (n > 0)
		serve_log_fmt("re-signed %zu CRL(s)", n);
}

/*
 * Renews the serving certificate if it is stale (near its end, no longer
 * verifying against the kubernetes trust after a CA rotation, made for
 * another key after `serve rotate-key`, or missing a SAN) and hands the
 * listening socket over to a new network child that has it (serve.h).
 * 1: handed over, 0: the certificate is current, < 0: nothing changed and
 * the current child keeps serving (d says why).
 */
/* The CA bundle node certificates are verified against (PEM, NUL-ended). */
static int
node_trust(struct redeem *rd, struct buf *out, struct slw_diag *d)
{
	int r;

	pthread_rwlock_rdlock(&rd->sg_lock);
	r = signing_trust_pem(rd->sg, CA_KUBERNETES, out);
	pthread_rwlock_unlock(&rd->sg_lock);
	if (r != 0)
		return slw_diag(d, r, "cannot read the kubernetes CA bundle");
	return 0;
}

static int
reload_tls(struct store *s, const struct inventory *inv, struct redeem *rd,
    struct http_tls *tls, struct buf *trust, struct serve_netproc *np,
    struct serve_netproc *old, const char *why, struct slw_diag *d)
{
	struct http_tls nt;
	struct signing *sg = NULL;
	struct ps_config cfg;
	struct buf nb = { 0 };
	char until[32];
	struct tm tm;
	long before = (long)np->child.pid;
	int r, same_trust;

	memset(&nt, 0, sizeof(nt));
	/* node certificates: every trusted generation of the kubernetes CA */
	if ((r = node_trust(rd, &nb, d)) != 0)
		return r;
	same_trust = nb.len == trust->len && (nb.len == 0 ||
	    memcmp(nb.data, trust->data, nb.len) == 0);
	/* read-only first: the CA keys are unsealed only to issue */
	r = http_tls_load(s, inv, NULL, 0, SERVE_ACTOR, &nt, d);
	if (r == SLW_ERR_NOTFOUND) {
		slw_diag_clear(d);
		if ((r = signing_local_new(s, &sg, d)) == 0)
			r = http_tls_load(s, inv, sg, 0, SERVE_ACTOR, &nt, d);
		signing_free(sg);
	}
	if (r != 0) {
		buf_free(&nb);
		return r;
	}
	if (strcmp(nt.serial_hex, tls->serial_hex) == 0 &&
	    strcmp(nt.pin, tls->pin) == 0 && same_trust) {
		http_tls_free(&nt);
		buf_free(&nb);
		return 0;
	}
	cfg = np->cfg;
	cfg.key_pem = nt.key_pem;	/* shallow: nt, then tls, keeps them */
	cfg.cert_pem = nt.cert_pem;
	cfg.trust_pem = nb;		/* shallow: nb, then trust, keeps it */
	cfg.serving_not_after = (int64_t)nt.not_after;
	if ((r = serve_netproc_replace(np, &cfg, old, d)) != 0) {
		http_tls_free(&nt);
		buf_free(&nb);
		return r;
	}
	buf_move(trust, &nb);
	gmtime_r(&nt.not_after, &tm);
	strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
	serve_log_fmt("serving certificate %s (%s): %s, valid until %s, pin "
	    "sha256//%s%s%s; network child %ld took over from %ld", nt.issued ?
	    "renewed" : "reloaded", why, nt.serial_hex, until, nt.pin,
	    strcmp(nt.pin, tls->pin) == 0 ? " (unchanged)" : " (new key: "
	    "one-liners printed before now fail)",
	    same_trust ? "" : "; node certificates' CA bundle updated",
	    (long)np->child.pid, before);
	http_tls_free(tls);
	*tls = nt;
	return 1;
}

/*
 * What an unsealed monitor serves with: the signer, the serving identity
 * (issued or renewed if stale), the cluster secrets master bundles need,
 * the redemption state. On failure the caller frees rd and tls.
 */
static int
arm(struct store *s, const struct inventory *inv, struct http_tls *tls,
    struct redeem *rd, struct serve_metrics *sm, struct slw_diag *d)
{
	struct signing *sg = NULL;
	struct buf seed_key = { 0 };
	int r;

	if ((r = signing_local_new(s, &sg, d)) != 0 ||
	    (r = http_tls_load(s, inv, sg, 0, SERVE_ACTOR, tls, d)) != 0)
		goto out;
	if (inv->signing_mode == SIGNING_CONTROLLER_MANAGER &&
	    (r = store_read(s, seed_key_txn, &seed_key, d)) != 0)
		goto out;
	r = redeem_init(rd, s, inv, sg, d);
	sg = NULL;	/* rd's now */
	if (r == 0) {
		rd->metrics_more = serve_metrics_render;
		rd->metrics_cls = sm;
		r = redeem_bundle_src_new(s, inv, &seed_key, &rd->bundle, d);
	}
 out:
	buf_free(&seed_key);
	signing_free(sg);
	return r;
}

/* A state with a wrapped KEK and no plain one: the appliance's. */
static int
starts_sealed(const struct serve_opts *o, char *wrapped, size_t wlen)
{
	char plain[4096];

	if (o->kek != NULL ||
	    store_kek_path(o->state, NULL, plain, sizeof(plain)) != 0 ||
	    snprintf(wrapped, wlen, "%s/%s", o->state, UNSEAL_WRAPPED_NAME) >=
	    (int)wlen)
		return 0;
	return access(plain, F_OK) != 0 && access(wrapped, F_OK) == 0;
}

static void
unseal_log(const char *line)
{
	serve_log_line(NULL, line);
}

/*
 * The CSR approver process (unless --no-approve), as the same user as the
 * network child; its requests are answered here (approver_monitor.c), and
 * the decisions it records are counted for the metrics (sm).
 */
static int
start_approver(struct store *s, const struct inventory *inv,
    const struct serve_opts *o, struct serve_metrics *sm, int exe_fd,
    struct approver_monitor **am, struct serve_approverproc *apr,
    struct slw_diag *d)
{
	struct approver_opts ao;
	struct approver_monitor_opts mo;
	int r;

	if (!o->approve)
		return 0;
	memset(&ao, 0, sizeof(ao));
	memset(&mo, 0, sizeof(mo));
	ao.apiserver = o->apiserver;
	ao.token_sync_seconds = 60;
	mo.token_secrets = 1;	/* it keeps the token Secrets in step */
	mo.log = log_line;
	mo.decided = serve_metrics_decided;
	mo.decided_arg = sm;
	apr->exe_fd = exe_fd;
	if ((r = approver_monitor_new(s, inv, &mo, am, d)) != 0 ||
	    (r = approver_monitor_config(*am, &ao, &apr->cfg, d)) != 0)
		return r;
	apr->am = *am;
	return serve_approverproc_start(apr, d);
}

/*
 * The unseal socket gave the store its KEK: load what serving takes and
 * hand the listening socket from the sealed child to one that serves
 * (the same way a renewal does). On failure nothing serves and serve
 * stops (systemd starts it again, sealed).
 */
static int
unseal_arm(struct store *s, const struct inventory *inv,
    const struct serve_opts *o, struct http_tls *tls, struct buf *trust,
    struct redeem *rd, struct redeem *sealed_rd, struct serve_netproc *np,
    struct serve_netproc *old, struct serve_metrics *sm,
    struct approver_monitor **am, struct serve_approverproc *apr,
    struct slw_diag *d)
{
	struct http_tls nt;
	struct ps_config cfg;
	long before = (long)np->child.pid;
	int r, dirfd = rd->art_dirfd;	/* redeem_init starts rd afresh */

	memset(&nt, 0, sizeof(nt));
	r = arm(s, inv, &nt, rd, sm, d);
	rd->art_dirfd = dirfd;
	if (r != 0 || (r = node_trust(rd, trust, d)) != 0)
		goto out;
	cfg = np->cfg;
	cfg.flags &= ~PS_CFG_SEALED;
	cfg.key_pem = nt.key_pem;	/* shallow: tls keeps them below */
	cfg.cert_pem = nt.cert_pem;
	cfg.trust_pem = *trust;		/* shallow: the caller keeps it */
	cfg.serving_not_after = (int64_t)nt.not_after;
	np->rd = rd;
	if ((r = serve_netproc_replace(np, &cfg, old, d)) != 0) {
		np->rd = sealed_rd;
		goto out;
	}
	if ((r = start_approver(s, inv, o, sm, np->exe_fd, am, apr, d)) != 0)
		goto out;
	http_tls_free(tls);	/* the throwaway; its child is handing over */
	*tls = nt;
	memset(&nt, 0, sizeof(nt));
	serve_log_fmt("unsealed: serving with certificate %s (pin sha256//%s); "
	    "network child %ld took over from the sealed one, %ld",
	    tls->serial_hex, tls->pin, (long)np->child.pid, before);
 out:
	http_tls_free(&nt);
	return r;
}

/* ---- the inventory it serves (inventory apply) ---- */

#define INVENTORY_EVERY 2	/* seconds between looks at the inventory */

static int
stored_hash_txn(struct store_txn *t, void *arg)
{
	const uint8_t *v;
	size_t vl;
	int r;

	if ((r = store_get_ref(t, DB_META, CLUSTER_META_KEY,
	    strlen(CLUSTER_META_KEY), &v, &vl)) != 0)
		return r;
	cluster_yaml_hash(v, vl, arg);
	return 0;
}

static int
served_txn(struct store_txn *t, void *arg)
{
	return store_put(t, DB_META, CLUSTER_SERVED_KEY,
	    strlen(CLUSTER_SERVED_KEY), arg, 64, 0);
}

/* Says which inventory serve now serves (inventory apply waits for it). */
static void
record_served(struct store *s, char served[65])
{
	struct slw_diag d;
	int r;

	slw_diag_clear(&d);
	if ((r = store_read(s, stored_hash_txn, served, &d)) != 0 ||
	    (r = store_write(s, served_txn, served, &d)) != 0)
		serve_log_fmt("cannot record the inventory served: %s",
		    slw_diag_str(&d, r));
}

struct served {
	struct inventory *inv;		/* what rd and the approver use */
	struct redeem *rd;
	struct redeem *retired;		/* handing over; freed next time */
	struct inventory *retired_inv;
	struct inventory *first;	/* the metrics keep it: freed at exit */
	struct redeem *first_rd;	/* on serve's stack */
};

static void
retire_free(struct served *sv)
{
	if (sv->retired != NULL) {
		redeem_bundle_src_free(&sv->retired->bundle);
		redeem_fini(sv->retired);
		if (sv->retired != sv->first_rd)
			free(sv->retired);
	}
	if (sv->retired_inv != sv->first)
		inventory_free(sv->retired_inv);
	sv->retired = NULL;
	sv->retired_inv = NULL;
}

/*
 * The stored inventory changed (inventory apply): serve the new one as a
 * renewal does: a redemption state over it, a network child handed the
 * socket with it, the approver started again with it; then the record of
 * what is served. On failure the current state keeps serving.
 */
static int
rearm_inventory(struct store *s, const struct serve_opts *o,
    struct served *sv, struct http_tls *tls, struct serve_netproc *np,
    struct serve_netproc *old, struct serve_metrics *sm,
    struct approver_monitor **am, struct serve_approverproc *apr,
    char served[65], struct slw_diag *d)
{
	struct inventory *ninv = NULL;
	struct redeem *nrd = NULL;
	struct http_tls nt;
	struct ps_config cfg;
	int r;

	memset(&nt, 0, sizeof(nt));
	if (old->child.pid > 0)
		return slw_diag(d, SLW_ERR_BUSY, "a network child is handing over");
	retire_free(sv);
	if ((r = cluster_load(s, &ninv, d)) != 0)
		goto out;
	if ((nrd = calloc(1, sizeof(*nrd))) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	nrd->art_dirfd = -1;
	if ((r = arm(s, ninv, &nt, nrd, sm, d)) != 0)
		goto out;
	/* the artifact directory stays the first state's (closed at exit) */
	nrd->art_dirfd = sv->rd->art_dirfd;
	cfg = np->cfg;
	cfg.key_pem = nt.key_pem;	/* shallow: tls keeps them below */
	cfg.cert_pem = nt.cert_pem;
	cfg.serving_not_after = (int64_t)nt.not_after;
	np->rd = nrd;
	if ((r = serve_netproc_replace(np, &cfg, old, d)) != 0) {
		np->rd = sv->rd;
		goto out;
	}
	old->rd = sv->rd;
	http_tls_free(tls);
	*tls = nt;
	memset(&nt, 0, sizeof(nt));
	sv->retired = sv->rd;
	sv->retired_inv = sv->inv;
	sv->rd = nrd;
	sv->inv = ninv;
	nrd = NULL;
	ninv = NULL;
	if (*am != NULL) {
		(void)serve_approverproc_stop(apr, 10);
		approver_monitor_free(*am);
		*am = NULL;
		serve_approverproc_fini(apr);
		if ((r = start_approver(s, sv->inv, o, sm, np->exe_fd, am, apr,
		    d)) != 0)
			serve_log_fmt("cannot start the approver with the new "
			    "inventory: %s; trying again", slw_diag_str(d, r));
		r = 0;
	}
	record_served(s, served);
	serve_log_fmt("the inventory changed (%.12s, %zu nodes): network child "
	    "%ld serves it%s", served, sv->inv->n_nodes, (long)np->child.pid,
	    *am != NULL ? ", approver started with it" : "");
 out:
	http_tls_free(&nt);
	if (nrd != NULL) {
		redeem_bundle_src_free(&nrd->bundle);
		redeem_fini(nrd);
		free(nrd);
	}
	inventory_free(ninv);
	return r;
}

int
serve_monitor_run(const struct serve_opts *o, struct slw_diag *d)
{
	struct inventory *inv = NULL;
	struct store *s = NULL;
	struct http_tls tls;
	struct approver_monitor *am = NULL;
	struct serve_approverproc apr;
	struct redeem rd, sealed_rd;
	struct served sv;
	char served[65], refused[65];
	double last_inv;
	struct serve_netproc np, old;
	struct serve_metrics sm;
	struct buf trust = { 0 };
	struct store_opts so;
	struct unseal_server *us = NULL;
	char shown[HTTP_ADDR_MAX + 16], who[128], msg[512], txt[128];
	char mshown[HTTP_ADDR_MAX + 16];
	char wrapped[4200];
	int sealed;
	sigset_t set;
	struct timespec t0;
	double last_refresh, last_check, last_prune, last_crl, old_deadline = 0;
	pid_t renewer = -1;
	int renewer_fd = -1;
	const char *reload = NULL;
	int nfd = -1, r, sig, st, ret = SLW_ERR_INTERNAL;
	pid_t p;

	memset(&tls, 0, sizeof(tls));
	memset(&rd, 0, sizeof(rd));
	memset(&sv, 0, sizeof(sv));
	served[0] = refused[0] = '\0';
	memset(&sealed_rd, 0, sizeof(sealed_rd));	/* no signer: refuses all */
	rd.art_dirfd = sealed_rd.art_dirfd = -1;
	serve_netproc_init(&np);
	serve_netproc_init(&old);
	serve_approverproc_init(&apr);
	sealed = starts_sealed(o, wrapped, sizeof(wrapped));
	np.rd = sealed ? &sealed_rd : &rd;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Every thread inherits this mask; signals are taken by sigwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGUSR2);	/* the unseal socket has the KEK */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	memset(&so, 0, sizeof(so));
	so.kek_path = o->kek;
	so.need_kek = !sealed;
	if ((ret = store_open(o->state, &so, &s, d)) != 0)
		goto out;
	if ((ret = cluster_load(s, &inv, d)) != 0)
		goto out;
	sv.inv = sv.first = inv;
	sv.rd = sv.first_rd = &rd;
	serve_metrics_init(&sm, s, inv, o->state, o->fleet_metrics);
	if (sealed)
		ret = http_tls_throwaway(slw_now(), &tls, d);
	else if ((ret = arm(s, inv, &tls, &rd, &sm, d)) == 0)
		ret = node_trust(&rd, &trust, d);
	if (ret != 0)
		goto out;
	/* the artifacts' directory, opened before the privilege drop: serve
	 * reads through it as its unprivileged user (sealed or not) */
	if ((ret = artifact_dir_open(o->state, 1, &rd.art_dirfd, d)) != 0)
		goto out;
	if ((ret = bind_listen(o->listen, &np.listen_fd, shown, sizeof(shown),
	    d)) != 0)
		goto out;
	mshown[0] = '\0';
	if ((ret = bind_metrics(o->metrics_listen, &np.metrics_fd, mshown,
	    sizeof(mshown), d)) != 0)
		goto out;
	if (np.metrics_fd >= 0)
		np.cfg.flags |= PS_CFG_METRICS;
	if (sealed) {
		struct unseal_server_config uc;
		struct group *gr = getgrnam(o->unseal_group != NULL ?
		    o->unseal_group : UNSEAL_GROUP_DEFAULT);

		memset(&uc, 0, sizeof(uc));
		uc.socket_path = o->unseal_socket != NULL ? o->unseal_socket :
		    unseal_socket_path();
		uc.wrapped_path = wrapped;
		uc.group = gr != NULL ? gr->gr_gid : (gid_t)-1;
		uc.store = s;
		uc.notify_signal = SIGUSR2;
		uc.log = unseal_log;
		/* bound now, as the user serve started as */
		if ((ret = unseal_server_start(&uc, &us, d)) != 0)
			goto out;
		np.cfg.flags |= PS_CFG_SEALED;
	}
	nfd = notify_open();
	/* the network child is this binary again, re-executed: fresh memory */
	if ((np.exe_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC)) < 0) {
		ret = slw_diag(d, SLW_ERR_IO, "cannot find its own executable "
		    "for the network child: %s", strerror(errno));
		goto out;
	}
	/* before the privileges go: it runs console commands (renewer.c) */
	if (!sealed && (ret = serve_renewer_start(o, &renewer, &renewer_fd,
	    d)) != 0)
		goto out;
	if ((ret = drop_privileges(o->user, who, sizeof(who), d)) != 0)
		goto out;
	/* logged once the start cannot be refused any more (one line then) */
	if (renewer > 0)
		serve_log_fmt("renewal: node certificates due are renewed every "
		    "%u s (process %ld)", o->renew_every, (long)renewer);
	else if (sealed && o->renew_every > 0)
		serve_log_fmt("renewal: not automatic while serve starts sealed "
		    "(its KEK is not in a file): run 'slipway cert renew'");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
		ret = slw_diag(d, SLW_ERR_PERM, "cannot set no_new_privs: %s",
		    strerror(errno));
		goto out;
	}
	/* no core files with keys, no ptrace by its own user */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		ret = slw_diag(d, SLW_ERR_PERM, "cannot make itself "
		    "undumpable: %s", strerror(errno));
		goto out;
	}
	np.cfg.threads = o->threads ? o->threads : ncpu();
	np.cfg.workers = o->workers ? o->workers : 4 * ncpu();
	/* a channel per worker, per event loop, for the sweeper, and a spare */
	np.cfg.n_chan = np.cfg.workers + np.cfg.threads + 2;
	np.cfg.max_conns = o->max_conns;
	np.cfg.max_per_addr = o->max_per_addr;
	np.cfg.idle_timeout = o->idle;
	np.cfg.request_timeout = o->request;
	np.cfg.fail_burst = o->fail_limit;
	np.cfg.fail_window = o->fail_window;
	np.cfg.max_pending = o->max_pending;
	np.cfg.grace = o->grace;
	np.cfg.serving_not_after = (int64_t)tls.not_after;
	np.cfg.key_pem = tls.key_pem;	/* shallow: tls keeps them */
	np.cfg.cert_pem = tls.cert_pem;
	np.cfg.trust_pem = trust;	/* shallow: trust keeps it */
	np.cfg.artifact_per_node = o->artifact_per_node;
	if ((r = serve_netproc_start(&np, d)) != 0) {
		ret = r;
		goto out;
	}
	if (!sealed && (r = start_approver(s, inv, o, &sm, np.exe_fd, &am, &apr,
	    d)) != 0) {
		ret = r;
		goto out;
	}
	/* the CRLs that are due, signed before serve says it is ready */
	if (!sealed)
		resign_crls(s);
	{
		struct timespec t1;
		double ms;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		if (sealed)
			snprintf(msg, sizeof(msg), "sealed on https://%s as %s in "
			    "%.0f ms: every /v1/ answers 503 until 'slipway "
			    "unseal' gives the KEK on %s (network child %ld)",
			    shown, who, ms, o->unseal_socket != NULL ?
			    o->unseal_socket : unseal_socket_path(),
			    (long)np.child.pid);
		else
			snprintf(msg, sizeof(msg), "ready on https://%s as %s in "
			    "%.0f ms (pin sha256//%s, certificate %s; network "
			    "child %ld%s%.0ld)", shown, who, ms, tls.pin,
			    tls.serial_hex, (long)np.child.pid, apr.pid > 0 ?
			    "; approver " : "", apr.pid > 0 ? (long)apr.pid : 0L);
	}
	log_line(NULL, msg);
	if (mshown[0] != '\0')
		serve_log_fmt("metrics (every series, per node) on "
		    "http://%s/metrics", mshown);
	if (sealed)
		printf("slipway serve: sealed https://%s\n", shown);
	else
		printf("slipway serve: ready https://%s pin sha256//%s\n", shown,
		    tls.pin);
	fflush(stdout);
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s https://%s\n"
	    "MAINPID=%ld", sealed ? "sealed (slipway unseal)," : "serving",
	    shown, (long)getpid());
	notify_send(nfd, msg);
	last_refresh = last_check = last_inv = mono_s();
	last_prune = last_check - PRUNE_EVERY + 60;
	last_crl = last_check;
	if (!sealed)
		record_served(s, served);
	ret = 0;
	for (;;) {
		struct timespec to = { 1, 0 };

		sig = sigtimedwait(&set, NULL, &to);
		if (sealed && us != NULL && unseal_server_pending(us)) {
			slw_diag_clear(d);
			r = unseal_arm(s, inv, o, &tls, &trust, &rd, &sealed_rd, &np,
			    &old, &sm, &am, &apr, d);
			if (r != 0) {
				serve_log_fmt("unsealed, but cannot serve: %s",
				    slw_diag_str(d, r));
				unseal_server_armed(us, r, slw_diag_str(d, r));
				ret = r;
				goto stop;
			}
			sealed = 0;
			resign_crls(s);
			old_deadline = mono_s() + o->grace + 10.0;
			record_served(s, served);
			last_refresh = last_check = last_crl = mono_s();
			last_prune = last_check - PRUNE_EVERY + 60;
			printf("slipway serve: ready https://%s pin sha256//%s\n",
			    shown, tls.pin);
			fflush(stdout);
			snprintf(msg, sizeof(msg), "STATUS=serving https://%s",
			    shown);
			notify_send(nfd, msg);
			unseal_server_armed(us, 0, NULL);
		}
		if (sealed) {
			/* nothing to refresh, renew or prune without the KEK */
			last_refresh = last_check = last_prune = last_crl =
			    mono_s();
		}
		if (!sealed && mono_s() - last_refresh >= REFRESH_EVERY) {
			last_refresh = mono_s();
			slw_diag_clear(d);
			r = redeem_signing_refresh(sv.rd, d);
			if (r > 0) {
				log_line(NULL, "the CAs changed: signer reloaded");
				reload = "the CAs changed";
			} else if (r < 0)
				serve_log_fmt("the CAs changed but the signer "
				    "could not be reloaded: %s",
				    slw_diag_str(d, r));
		}
		if (!sealed && mono_s() - last_check >= RECHECK_EVERY &&
		    reload == NULL)
			reload = "periodic check";
		if (sig == SIGHUP && !sealed)
			reload = "SIGHUP";
		if (!sealed && mono_s() - last_prune >= PRUNE_EVERY) {
			last_prune = mono_s();
			prune_tokens(s);
		}
		if (am != NULL && apr.pid <= 0 && mono_s() >= apr.hold_until) {
			slw_diag_clear(d);
			if ((r = serve_approverproc_start(&apr, d)) != 0) {
				apr.hold_until = mono_s() + SERVE_APPROVER_HOLD;
				serve_log_fmt("cannot start the approver: %s; "
				    "trying again in %d s", slw_diag_str(d, r),
				    SERVE_APPROVER_HOLD);
			} else
				serve_log_fmt("approver %ld started",
				    (long)apr.pid);
		}
		if (!sealed && mono_s() - last_crl >= CRL_EVERY) {
			last_crl = mono_s();
			resign_crls(s);
		}
		if (old.child.pid > 0 && mono_s() > old_deadline) {
			serve_log_fmt("network child %ld did not finish its "
			    "handover within %u s: killed", (long)old.child.pid,
			    o->grace + 10);
			serve_netproc_kill(&old);
		}
		if (reload != NULL && old.child.pid <= 0) {
			int hup = strcmp(reload, "SIGHUP") == 0;

			last_check = mono_s();
			slw_diag_clear(d);
			r = reload_tls(s, sv.inv, sv.rd, &tls, &trust, &np, &old,
			    reload, d);
			if (r > 0)
				old_deadline = mono_s() + o->grace + 10.0;
			else if (r == 0 && hup)
				serve_log_fmt("SIGHUP: the serving certificate "
				    "%s is current; nothing to reload",
				    tls.serial_hex);
			else if (r < 0)
				serve_log_fmt("cannot renew the serving "
				    "certificate (%s): %s; the current one "
				    "stays", reload, slw_diag_str(d, r));
			reload = NULL;
		}
		if (!sealed && old.child.pid <= 0 && (sig == SIGHUP ||
		    mono_s() - last_inv >= INVENTORY_EVERY)) {
			char now_hex[65];

			last_inv = mono_s();
			slw_diag_clear(d);
			/* one try per inventory (and per SIGHUP) */
			if (store_read(s, stored_hash_txn, now_hex, d) == 0 &&
			    strcmp(now_hex, served) != 0 && (sig == SIGHUP ||
			    strcmp(now_hex, refused) != 0)) {
				r = rearm_inventory(s, o, &sv, &tls, &np, &old,
				    &sm, &am, &apr, served, d);
				if (r == 0)
					old_deadline = mono_s() + o->grace + 10.0;
				else {
					memcpy(refused, now_hex, sizeof(refused));
					serve_log_fmt("the inventory changed but "
					    "cannot be served: %s; the current one "
					    "stays (SIGHUP tries again)",
					    slw_diag_str(d, r));
				}
			}
		}
		if (sig < 0 || sig == SIGHUP || sig == SIGUSR2)
			continue;
		if (sig != SIGCHLD)
			break;
		while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
			serve_child_status_text(st, txt, sizeof(txt));
			if (p == old.child.pid) {
				serve_netproc_gone(&old);
				serve_log_fmt("network child %ld handed over (%s)",
				    (long)p, txt);
				continue;
			}
			if (p == apr.pid) {
				serve_approverproc_gone(&apr);
				if (!serve_approverproc_may_restart(&apr))
					serve_log_fmt("the approver exited (%s), "
					    "%d times within %d s: CSRs wait; "
					    "starting another in %d s", txt,
					    SERVE_RESTART_MAX + 1,
					    SERVE_RESTART_WINDOW,
					    SERVE_APPROVER_HOLD);
				else
					serve_log_fmt("the approver exited (%s): "
					    "starting another", txt);
				continue;	/* started by the next tick */
			}
			if (p == renewer) {
				/* not restarted: it was forked with privileges
				 * this process no longer has */
				serve_log_fmt("the renewal process exited (%s): "
				    "no automatic renewal until serve restarts; "
				    "'slipway cert renew' from the console", txt);
				close(renewer_fd);
				renewer = -1;
				renewer_fd = -1;
				continue;
			}
			if (p != np.child.pid)
				continue;
			serve_netproc_gone(&np);
			if (!serve_netproc_may_restart(&np)) {
				serve_log_fmt("the network child exited (%s), "
				    "%d times within %d s: stopping", txt,
				    SERVE_RESTART_MAX + 1, SERVE_RESTART_WINDOW);
				ret = slw_diag(d, SLW_ERR_INTERNAL, "the network "
				    "child keeps exiting (last: %s); see the log",
				    txt);
				goto stop;
			}
			serve_log_fmt("the network child exited (%s): starting "
			    "another", txt);
			slw_diag_clear(d);
			if ((r = serve_netproc_start(&np, d)) != 0) {
				ret = r;
				goto stop;
			}
			serve_log_fmt("network child %ld ready",
			    (long)np.child.pid);
		}
	}
	snprintf(msg, sizeof(msg), "%s: answering what is in flight, then "
	    "stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	log_line(NULL, msg);
 stop:
	notify_send(nfd, "STOPPING=1");
	/* the child holds the last copy: once it quiesces, connects fail */
	close(np.listen_fd);
	np.listen_fd = -1;
	if (np.metrics_fd >= 0)
		close(np.metrics_fd);
	np.metrics_fd = -1;
	if (serve_netproc_stop(&np, o->grace) != 0 && ret == 0)
		ret = 1;	/* a child outlived its grace: in the log */
	(void)serve_netproc_stop(&old, o->grace);	/* was handing over */
	if (serve_approverproc_stop(&apr, 10) != 0 && ret == 0)
		ret = 1;	/* it had to be killed: in the log */
	log_line(NULL, "stopped");
 out:
	if (renewer > 0) {
		close(renewer_fd);	/* it stops at EOF */
		while (waitpid(renewer, NULL, 0) < 0 && errno == EINTR)
			;
	}
	unseal_server_stop(us);	/* after the answer to an unseal in hand */
	serve_netproc_kill(&np);
	serve_netproc_kill(&old);
	serve_approverproc_kill(&apr);
	serve_approverproc_fini(&apr);
	approver_monitor_free(am);
	if (np.listen_fd >= 0)
		close(np.listen_fd);
	if (np.metrics_fd >= 0)
		close(np.metrics_fd);
	if (np.exe_fd >= 0)
		close(np.exe_fd);
	if (nfd >= 0)
		close(nfd);
	retire_free(&sv);
	if (sv.rd != &rd && sv.rd != NULL) {
		redeem_bundle_src_free(&sv.rd->bundle);
		redeem_fini(sv.rd);
		free(sv.rd);
	}
	if (sv.inv != inv)
		inventory_free(sv.inv);
	if (rd.art_dirfd >= 0)
		close(rd.art_dirfd);
	redeem_bundle_src_free(&rd.bundle);
	redeem_fini(&rd);
	buf_free(&trust);
	http_tls_free(&tls);
	inventory_free(inv);
	store_close(s);
	return ret;
}
