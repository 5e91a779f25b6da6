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

/* Everything the monitor holds while it runs (serve_monitor_run). */
struct mon {
	const struct serve_opts *o;
	struct inventory *inv;
	struct store *s;
	struct http_tls tls;
	struct approver_monitor *am;
	struct serve_approverproc apr;
	struct redeem rd, sealed_rd;
	struct served sv;
	char served[65], refused[65];
	struct serve_netproc np, old;
	struct serve_metrics sm;
	struct buf trust;		/* the CAs node certificates verify to */
	struct unseal_server *us;
	char shown[HTTP_ADDR_MAX + 16], mshown[HTTP_ADDR_MAX + 16];
	char who[128];
	char wrapped[4200];
	int sealed, nfd;
	sigset_t set;
	struct timespec t0;
	double last_refresh, last_check, last_prune, last_crl, last_inv;
	double old_deadline;
	pid_t renewer;
	int renewer_fd;
	const char *reload;
};

static void
mon_init(struct mon *m, const struct serve_opts *o)
{
	memset(m, 0, sizeof(*m));	/* sealed_rd: no signer, refuses all */
	m->o = o;
	m->nfd = -1;
	m->renewer = -1;
	m->renewer_fd = -1;
	m->rd.art_dirfd = m->sealed_rd.art_dirfd = -1;
	serve_netproc_init(&m->np);
	serve_netproc_init(&m->old);
	serve_approverproc_init(&m->apr);
	m->sealed = starts_sealed(o, m->wrapped, sizeof(m->wrapped));
	m->np.rd = m->sealed ? &m->sealed_rd : &m->rd;
	clock_gettime(CLOCK_MONOTONIC, &m->t0);
	/* Every thread inherits this mask; signals are taken by sigwait. */
	sigemptyset(&m->set);
	sigaddset(&m->set, SIGTERM);
	sigaddset(&m->set, SIGINT);
	sigaddset(&m->set, SIGHUP);
	sigaddset(&m->set, SIGCHLD);
	sigaddset(&m->set, SIGUSR2);	/* the unseal socket has the KEK */
	pthread_sigmask(SIG_BLOCK, &m->set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Starting sealed: the unseal socket, bound as the user serve started as. */
static int
mon_unseal_server(struct mon *m, struct slw_diag *d)
{
	const struct serve_opts *o = m->o;
	struct unseal_server_config uc;
	struct group *gr = getgrnam(o->unseal_group != NULL ?
	    o->unseal_group : UNSEAL_GROUP_DEFAULT);
	int r;

	memset(&uc, 0, sizeof(uc));
	uc.socket_path = o->unseal_socket != NULL ? o->unseal_socket :
	    unseal_socket_path();
	uc.wrapped_path = m->wrapped;
	uc.group = gr != NULL ? gr->gr_gid : (gid_t)-1;
	uc.store = m->s;
	uc.notify_signal = SIGUSR2;
	uc.log = unseal_log;
	if ((r = unseal_server_start(&uc, &m->us, d)) != 0)
		return r;
	m->np.cfg.flags |= PS_CFG_SEALED;
	return 0;
}

/* The store, the inventory, the serving certificate and the sockets: what
 * needs the privileges serve started with. */
static int
mon_open(struct mon *m, struct slw_diag *d)
{
	const struct serve_opts *o = m->o;
	struct store_opts so;
	int r;

	memset(&so, 0, sizeof(so));
	so.kek_path = o->kek;
	so.need_kek = !m->sealed;
	if ((r = store_open(o->state, &so, &m->s, d)) != 0 ||
	    (r = cluster_load(m->s, &m->inv, d)) != 0)
		return r;
	m->sv.inv = m->sv.first = m->inv;
	m->sv.rd = m->sv.first_rd = &m->rd;
	serve_metrics_init(&m->sm, m->s, m->inv, o->state, o->fleet_metrics);
	if (m->sealed)
		r = http_tls_throwaway(slw_now(), &m->tls, d);
	else if ((r = arm(m->s, m->inv, &m->tls, &m->rd, &m->sm, d)) == 0)
		r = node_trust(&m->rd, &m->trust, d);
	if (r != 0)
		return r;
	/* the artifacts' directory, opened before the privilege drop: serve
	 * reads through it as its unprivileged user (sealed or not) */
	if ((r = artifact_dir_open(o->state, 1, &m->rd.art_dirfd, d)) != 0 ||
	    (r = bind_listen(o->listen, &m->np.listen_fd, m->shown,
	    sizeof(m->shown), d)) != 0 ||
	    (r = bind_metrics(o->metrics_listen, &m->np.metrics_fd, m->mshown,
	    sizeof(m->mshown), d)) != 0)
		return r;
	if (m->np.metrics_fd >= 0)
		m->np.cfg.flags |= PS_CFG_METRICS;
	if (m->sealed && (r = mon_unseal_server(m, d)) != 0)
		return r;
	m->nfd = notify_open();
	/* the network child is this binary again, re-executed: fresh memory */
	if ((m->np.exe_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC)) < 0)
		return slw_diag(d, SLW_ERR_IO, "cannot find its own executable "
		    "for the network child: %s", strerror(errno));
	/* before the privileges go: it runs console commands (renewer.c) */
	if (!m->sealed && (r = serve_renewer_start(o, &m->renewer,
	    &m->renewer_fd, d)) != 0)
		return r;
	return 0;
}

/* Down to the serve user, no_new_privs, undumpable: refuses to go on when
 * any of it fails. */
static int
mon_confine(struct mon *m, struct slw_diag *d)
{
	const struct serve_opts *o = m->o;
	int r;

	if ((r = drop_privileges(o->user, m->who, sizeof(m->who), d)) != 0)
		return r;
	/* logged once the start cannot be refused any more (one line then) */
	if (m->renewer > 0)
		serve_log_fmt("renewal: node certificates due are renewed every "
		    "%u s (process %ld)", o->renew_every, (long)m->renewer);
	else if (m->sealed && o->renew_every > 0)
		serve_log_fmt("renewal: not automatic while serve starts sealed "
		    "(its KEK is not in a file): run 'slipway cert renew'");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return slw_diag(d, SLW_ERR_PERM, "cannot set no_new_privs: %s",
		    strerror(errno));
	/* no core files with keys, no ptrace by its own user */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return slw_diag(d, SLW_ERR_PERM, "cannot make itself "
		    "undumpable: %s", strerror(errno));
	return 0;
}

/* The network child's configuration, from the options and the TLS pair. */
static void
mon_net_config(struct mon *m)
{
	const struct serve_opts *o = m->o;
	struct ps_config *c = &m->np.cfg;

	c->threads = o->threads ? o->threads : ncpu();
	c->workers = o->workers ? o->workers : 4 * ncpu();
	/* a channel per worker, per event loop, for the sweeper, and a spare */
	c->n_chan = c->workers + c->threads + 2;
	c->max_conns = o->max_conns;
	c->max_per_addr = o->max_per_addr;
	c->idle_timeout = o->idle;
	c->request_timeout = o->request;
	c->fail_burst = o->fail_limit;
	c->fail_window = o->fail_window;
	c->max_pending = o->max_pending;
	c->grace = o->grace;
	c->serving_not_after = (int64_t)m->tls.not_after;
	c->key_pem = m->tls.key_pem;	/* shallow: tls keeps them */
	c->cert_pem = m->tls.cert_pem;
	c->trust_pem = m->trust;	/* shallow: m->trust keeps it */
	c->artifact_per_node = o->artifact_per_node;
}

/* The log line, stdout's line and systemd's READY=1. */
static void
mon_announce(struct mon *m)
{
	const struct serve_opts *o = m->o;
	struct timespec t1;
	char msg[512];
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - m->t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - m->t0.tv_nsec) / 1e6;
	if (m->sealed)
		snprintf(msg, sizeof(msg), "sealed on https://%s as %s in "
		    "%.0f ms: every /v1/ answers 503 until 'slipway "
		    "unseal' gives the KEK on %s (network child %ld)",
		    m->shown, m->who, ms, o->unseal_socket != NULL ?
		    o->unseal_socket : unseal_socket_path(),
		    (long)m->np.child.pid);
	else
		snprintf(msg, sizeof(msg), "ready on https://%s as %s in "
		    "%.0f ms (pin sha256//%s, certificate %s; network "
		    "child %ld%s%.0ld)", m->shown, m->who, ms, m->tls.pin,
		    m->tls.serial_hex, (long)m->np.child.pid, m->apr.pid > 0 ?
		    "; approver " : "", m->apr.pid > 0 ? (long)m->apr.pid : 0L);
	log_line(NULL, msg);
	if (m->mshown[0] != '\0')
		serve_log_fmt("metrics (every series, per node) on "
		    "http://%s/metrics", m->mshown);
	if (m->sealed)
		printf("slipway serve: sealed https://%s\n", m->shown);
	else
		printf("slipway serve: ready https://%s pin sha256//%s\n",
		    m->shown, m->tls.pin);
	fflush(stdout);
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s https://%s\n"
	    "MAINPID=%ld", m->sealed ? "sealed (slipway unseal)," : "serving",
	    m->shown, (long)getpid());
	notify_send(m->nfd, msg);
	m->last_refresh = m->last_check = m->last_inv = mono_s();
	m->last_prune = m->last_check - PRUNE_EVERY + 60;
	m->last_crl = m->last_check;
	if (!m->sealed)
		record_served(m->s, m->served);
}

/* The unseal socket took the KEK: arm and serve. */
static int
mon_unsealed(struct mon *m, struct slw_diag *d)
{
	char msg[256];
	int r;

	slw_diag_clear(d);
	r = unseal_arm(m->s, m->inv, m->o, &m->tls, &m->trust, &m->rd,
	    &m->sealed_rd, &m->np, &m->old, &m->sm, &m->am, &m->apr, d);
	if (r != 0) {
		serve_log_fmt("unsealed, but cannot serve: %s",
		    slw_diag_str(d, r));
		unseal_server_armed(m->us, r, slw_diag_str(d, r));
		return r;
	}
	m->sealed = 0;
	resign_crls(m->s);
	m->old_deadline = mono_s() + m->o->grace + 10.0;
	record_served(m->s, m->served);
	m->last_refresh = m->last_check = m->last_crl = mono_s();
	m->last_prune = m->last_check - PRUNE_EVERY + 60;
	printf("slipway serve: ready https://%s pin sha256//%s\n", m->shown,
	    m->tls.pin);
	fflush(stdout);
	snprintf(msg, sizeof(msg), "STATUS=serving https://%s", m->shown);
	notify_send(m->nfd, msg);
	unseal_server_armed(m->us, 0, NULL);
	return 0;
}

/* The signer after a CA change, tokens to prune, the approver to start
 * again, CRLs due. */
static void
mon_periodic(struct mon *m, int sig, struct slw_diag *d)
{
	int r;

	if (m->sealed) {
		/* nothing to refresh, renew or prune without the KEK */
		m->last_refresh = m->last_check = m->last_prune =
		    m->last_crl = mono_s();
	}
	if (!m->sealed && mono_s() - m->last_refresh >= REFRESH_EVERY) {
		m->last_refresh = mono_s();
		slw_diag_clear(d);
		r = redeem_signing_refresh(m->sv.rd, d);
		if (r > 0) {
			log_line(NULL, "the CAs changed: signer reloaded");
			m->reload = "the CAs changed";
		} else if (r < 0)
			serve_log_fmt("the CAs changed but the signer "
			    "could not be reloaded: %s", slw_diag_str(d, r));
	}
	if (!m->sealed && mono_s() - m->last_check >= RECHECK_EVERY &&
	    m->reload == NULL)
		m->reload = "periodic check";
	if (sig == SIGHUP && !m->sealed)
		m->reload = "SIGHUP";
	if (!m->sealed && mono_s() - m->last_prune >= PRUNE_EVERY) {
		m->last_prune = mono_s();
		prune_tokens(m->s);
	}
	if (m->am != NULL && m->apr.pid <= 0 && mono_s() >= m->apr.hold_until) {
		slw_diag_clear(d);
		if ((r = serve_approverproc_start(&m->apr, d)) != 0) {
			m->apr.hold_until = mono_s() + SERVE_APPROVER_HOLD;
			serve_log_fmt("cannot start the approver: %s; trying "
			    "again in %d s", slw_diag_str(d, r),
			    SERVE_APPROVER_HOLD);
		} else
			serve_log_fmt("approver %ld started", (long)m->apr.pid);
	}
	if (!m->sealed && mono_s() - m->last_crl >= CRL_EVERY) {
		m->last_crl = mono_s();
		resign_crls(m->s);
	}
}

/* A new serving certificate (renewal, SIGHUP) and a changed inventory,
 * each handed over to a new network child; one handover at a time. */
static void
mon_reload(struct mon *m, int sig, struct slw_diag *d)
{
	const struct serve_opts *o = m->o;
	char now_hex[65];
	int r;

	if (m->old.child.pid > 0 && mono_s() > m->old_deadline) {
		serve_log_fmt("network child %ld did not finish its handover "
		    "within %u s: killed", (long)m->old.child.pid, o->grace + 10);
		serve_netproc_kill(&m->old);
	}
	if (m->reload != NULL && m->old.child.pid <= 0) {
		int hup = strcmp(m->reload, "SIGHUP") == 0;

		m->last_check = mono_s();
		slw_diag_clear(d);
		r = reload_tls(m->s, m->sv.inv, m->sv.rd, &m->tls, &m->trust,
		    &m->np, &m->old, m->reload, d);
		if (r > 0)
			m->old_deadline = mono_s() + o->grace + 10.0;
		else if (r == 0 && hup)
			serve_log_fmt("SIGHUP: the serving certificate %s is "
			    "current; nothing to reload", m->tls.serial_hex);
		else if (r < 0)
			serve_log_fmt("cannot renew the serving certificate "
			    "(%s): %s; the current one stays", m->reload,
			    slw_diag_str(d, r));
		m->reload = NULL;
	}
	if (m->sealed || m->old.child.pid > 0 || (sig != SIGHUP &&
	    mono_s() - m->last_inv < INVENTORY_EVERY))
		return;
	m->last_inv = mono_s();
	slw_diag_clear(d);
	/* one try per inventory (and per SIGHUP) */
	if (store_read(m->s, stored_hash_txn, now_hex, d) != 0 ||
	    strcmp(now_hex, m->served) == 0 || (sig != SIGHUP &&
	    strcmp(now_hex, m->refused) == 0))
		return;
	r = rearm_inventory(m->s, o, &m->sv, &m->tls, &m->np, &m->old, &m->sm,
	    &m->am, &m->apr, m->served, d);
	if (r == 0)
		m->old_deadline = mono_s() + o->grace + 10.0;
	else {
		memcpy(m->refused, now_hex, sizeof(m->refused));
		serve_log_fmt("the inventory changed but cannot be served: %s; "
		    "the current one stays (SIGHUP tries again)",
		    slw_diag_str(d, r));
	}
}

/* SIGCHLD: who exited, and what takes its place. Non-zero: stop serving. */
static int
mon_reap(struct mon *m, struct slw_diag *d)
{
	char txt[128];
	pid_t p;
	int st, r;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		serve_child_status_text(st, txt, sizeof(txt));
		if (p == m->old.child.pid) {
			serve_netproc_gone(&m->old);
			serve_log_fmt("network child %ld handed over (%s)",
			    (long)p, txt);
			continue;
		}
		if (p == m->apr.pid) {
			serve_approverproc_gone(&m->apr);
			if (!serve_approverproc_may_restart(&m->apr))
				serve_log_fmt("the approver exited (%s), %d "
				    "times within %d s: CSRs wait; starting "
				    "another in %d s", txt, SERVE_RESTART_MAX + 1,
				    SERVE_RESTART_WINDOW, SERVE_APPROVER_HOLD);
			else
				serve_log_fmt("the approver exited (%s): "
				    "starting another", txt);
			continue;	/* started by the next tick */
		}
		if (p == m->renewer) {
			/* not restarted: it was forked with privileges this
			 * process no longer has */
			serve_log_fmt("the renewal process exited (%s): no "
			    "automatic renewal until serve restarts; 'slipway "
			    "cert renew' from the console", txt);
			close(m->renewer_fd);
			m->renewer = -1;
			m->renewer_fd = -1;
			continue;
		}
		if (p != m->np.child.pid)
			continue;
		serve_netproc_gone(&m->np);
		if (!serve_netproc_may_restart(&m->np)) {
			serve_log_fmt("the network child exited (%s), %d times "
			    "within %d s: stopping", txt, SERVE_RESTART_MAX + 1,
			    SERVE_RESTART_WINDOW);
			return slw_diag(d, SLW_ERR_INTERNAL, "the network child "
			    "keeps exiting (last: %s); see the log", txt);
		}
		serve_log_fmt("the network child exited (%s): starting "
		    "another", txt);
		slw_diag_clear(d);
		if ((r = serve_netproc_start(&m->np, d)) != 0)
			return r;
		serve_log_fmt("network child %ld ready", (long)m->np.child.pid);
	}
	return 0;
}

/* Until SIGTERM or SIGINT (0), or a failure that stops serving. */
static int
mon_loop(struct mon *m, struct slw_diag *d)
{
	char msg[128];
	int sig, r;

	for (;;) {
		struct timespec to = { 1, 0 };

		sig = sigtimedwait(&m->set, NULL, &to);
		if (m->sealed && m->us != NULL &&
		    unseal_server_pending(m->us) &&
		    (r = mon_unsealed(m, d)) != 0)
			return r;
		mon_periodic(m, sig, d);
		mon_reload(m, sig, d);
		if (sig < 0 || sig == SIGHUP || sig == SIGUSR2)
			continue;
		if (sig != SIGCHLD)
			break;
		if ((r = mon_reap(m, d)) != 0)
			return r;
	}
	snprintf(msg, sizeof(msg), "%s: answering what is in flight, then "
	    "stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	log_line(NULL, msg);
	return 0;
}

/* Stops the children within their grace; 1 when one had to be killed. */
static int
mon_stop(struct mon *m)
{
	int ret = 0;

	notify_send(m->nfd, "STOPPING=1");
	/* the child holds the last copy: once it quiesces, connects fail */
	close(m->np.listen_fd);
	m->np.listen_fd = -1;
	if (m->np.metrics_fd >= 0)
		close(m->np.metrics_fd);
	m->np.metrics_fd = -1;
	if (serve_netproc_stop(&m->np, m->o->grace) != 0)
		ret = 1;	/* a child outlived its grace: in the log */
	(void)serve_netproc_stop(&m->old, m->o->grace);	/* was handing over */
	if (serve_approverproc_stop(&m->apr, 10) != 0)
		ret = 1;	/* it had to be killed: in the log */
	log_line(NULL, "stopped");
	return ret;
}

static void
mon_fini(struct mon *m)
{
	if (m->renewer > 0) {
		close(m->renewer_fd);	/* it stops at EOF */
		while (waitpid(m->renewer, NULL, 0) < 0 && errno == EINTR)
			;
	}
	unseal_server_stop(m->us);	/* after the answer to an unseal in hand */
	serve_netproc_kill(&m->np);
	serve_netproc_kill(&m->old);
	serve_approverproc_kill(&m->apr);
	serve_approverproc_fini(&m->apr);
	approver_monitor_free(m->am);
	if (m->np.listen_fd >= 0)
		close(m->np.listen_fd);
	if (m->np.metrics_fd >= 0)
		close(m->np.metrics_fd);
	if (m->np.exe_fd >= 0)
		close(m->np.exe_fd);
	if (m->nfd >= 0)
		close(m->nfd);
	retire_free(&m->sv);
	if (m->sv.rd != &m->rd && m->sv.rd != NULL) {
		redeem_bundle_src_free(&m->sv.rd->bundle);
		redeem_fini(m->sv.rd);
		free(m->sv.rd);
	}
	if (m->sv.inv != m->inv)
		inventory_free(m->sv.inv);
	if (m->rd.art_dirfd >= 0)
		close(m->rd.art_dirfd);
	redeem_bundle_src_free(&m->rd.bundle);
	redeem_fini(&m->rd);
	buf_free(&m->trust);
	http_tls_free(&m->tls);
	inventory_free(m->inv);
	store_close(m->s);
}

int
serve_monitor_run(const struct serve_opts *o, struct slw_diag *d)
{
	struct mon *m;
	int r, ret;

	/* on the heap: the monitor's state is several KiB */
	if ((m = malloc(sizeof(*m))) == NULL)
		return slw_diag(d, SLW_ERR_NOMEM, "out of memory");
	mon_init(m, o);
	if ((ret = mon_open(m, d)) != 0 || (ret = mon_confine(m, d)) != 0)
		goto out;
	mon_net_config(m);
	if ((ret = serve_netproc_start(&m->np, d)) != 0)
		goto out;
	if (!m->sealed && (ret = start_approver(m->s, m->inv, o, &m->sm,
	    m->np.exe_fd, &m->am, &m->apr, d)) != 0)
		goto out;
	/* the CRLs that are due, signed before serve says it is ready */
	if (!m->sealed)
		resign_crls(m->s);
	mon_announce(m);
	ret = mon_loop(m, d);
	if ((r = mon_stop(m)) != 0 && ret == 0)
		ret = r;
 out:
	mon_fini(m);
	free(m);
	return ret;
}
