// SPDX-License-Identifier: Apache-2.0
/*
 * unseal_server.c: the unseal socket in serve's monitor (unseal.h). A
 * thread answers one connection at a time: checks the peer (root or the
 * operator group) before reading anything, unwraps the KEK with a
 * passphrase (Argon2id: the three-tries-then-doubling delay is kept here,
 * where a client cannot skip it) or takes the TPM's, gives it to the
 * store (which checks it), and waits for the monitor to start serving.
 * Never logs or answers with a passphrase or a key, except the KEK to an
 * allowed peer that asks for it once unsealed.
 */
#define _GNU_SOURCE	/* SO_PEERCRED, struct ucred, getgrouplist */
#include "unseal.h"
#include "unseal_msg.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

#include "kekwrap.h"
#include "rand.h"

#define ARM_WAIT 300	/* seconds the monitor may take to start serving */
#define PEER_TIMEOUT 10	/* seconds a peer may take to send its request */

enum { ST_SEALED, ST_ARMING, ST_UNSEALED };

struct unseal_server {
	struct unseal_server_config c;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
	int stop_pipe[2];
	pthread_t th;
	int have_thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state;		/* ST_*, under mu */
	int armed_done, armed_rc;
	char armed_why[SLW_DIAG_MAX];
	char how[32];
	time_t since;
	struct unseal_limit lim;	/* the thread's alone */
};

/* ---- the delay policy ---- */

unsigned int
unseal_limit_wait(const struct unseal_limit *l, double now)
{
	double w = l->next_ok - now;

	if (l->fails < UNSEAL_FREE_TRIES || w <= 0)
		return 0;
	return (unsigned int)w + ((double)(unsigned int)w < w ? 1 : 0);
}

void
unseal_limit_fail(struct unseal_limit *l, double now)
{
	unsigned int n, delay = UNSEAL_DELAY_FIRST;

	if (l->fails < 1000)
		l->fails++;
	if (l->fails < UNSEAL_FREE_TRIES)
		return;
	for (n = UNSEAL_FREE_TRIES; n < l->fails && delay < UNSEAL_DELAY_MAX;
	    n++)
		delay *= 2;
	if (delay > UNSEAL_DELAY_MAX)
		delay = UNSEAL_DELAY_MAX;
	l->next_ok = now + delay;
}

void
unseal_limit_ok(struct unseal_limit *l)
{
	l->fails = 0;
	l->next_ok = 0;
}

/* ---- peers ---- */

int
unseal_peer_allowed(uid_t uid, gid_t gid, gid_t g)
{
	struct passwd pw, *pp = NULL;
	gid_t groups[64];
	char pwbuf[4096];
	int n = 64, i;

	if (uid == 0)
		return 1;
	if (g == (gid_t)-1)
		return 0;
	if (gid == g)
		return 1;
	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &pp) != 0 || pp == NULL)
		return 0;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
		return 0;	/* more than 64 groups: not worth guessing */
	for (i = 0; i < n; i++)
		if (groups[i] == g)
			return 1;
	return 0;
}

/* ---- helpers ---- */

static double
mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
logf_(struct unseal_server *u, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
logf_(struct unseal_server *u, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (u->c.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	u->c.log(line);
}

static void
answer(int fd, int rc, int state, unsigned int retry, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
answer(int fd, int rc, int state, unsigned int retry, const char *fmt, ...)
{
	struct unseal_msg a;
	va_list ap;
	size_t i;

	unseal_msg_init(&a, UNSEAL_ANSWER);
	a.rc = rc;
	a.state = (uint32_t)state;
	a.retry_after = retry;
	va_start(ap, fmt);
	vsnprintf(a.text, sizeof(a.text), fmt, ap);
	va_end(ap);
	for (i = 0; a.text[i] != '\0'; i++)	/* one line */
		if ((unsigned char)a.text[i] < 0x20 || a.text[i] == 0x7f)
			a.text[i] = ' ';
	(void)unseal_send(fd, &a);
	unseal_msg_free(&a);
}

static int
sealed_now(struct unseal_server *u)
{
	int s;

	pthread_mutex_lock(&u->mu);
	s = u->state;
	pthread_mutex_unlock(&u->mu);
	return s != ST_UNSEALED;
}

/* The KEK from the wrapped file and a passphrase; how says which slot. */
static int
open_wrapped(struct unseal_server *u, const char *pass, size_t plen,
    struct kek *k, const char **how, struct slw_diag *d)
{
	struct kekwrap w;
	enum kekwrap_kind which = KEKWRAP_PASSPHRASE;
	int r;

	if ((r = kekwrap_load(u->c.wrapped_path, &w, d)) != 0)
		return r;
	r = kekwrap_open_any(&w, pass, plen, k, &which);
	kekwrap_wipe(&w);
	*how = which == KEKWRAP_RECOVERY ? "recovery passphrase" : "passphrase";
	return r;
}

/*
 * Gives the store its KEK (it checks it) and waits for the monitor to
 * start serving with it. 0: unsealed.
 */
static int
accept_kek(struct unseal_server *u, const struct kek *k, const char *how,
    struct slw_diag *d)
{
	struct timespec until;
	int r;

	if ((r = store_set_kek(u->c.store, k, d)) != 0)
		return r;
	pthread_mutex_lock(&u->mu);
	u->state = ST_ARMING;
	u->armed_done = 0;
	pthread_mutex_unlock(&u->mu);
	if (u->c.notify_signal != 0)
		kill(getpid(), u->c.notify_signal);
	else
		unseal_server_armed(u, 0, NULL);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ARM_WAIT;
	pthread_mutex_lock(&u->mu);
	while (!u->armed_done)
		if (pthread_cond_timedwait(&u->cv, &u->mu, &until) != 0)
			break;
	if (!u->armed_done)
		r = slw_diag(d, SLW_ERR_INTERNAL, "serve did not start serving "
		    "within %d s", ARM_WAIT);
	else if ((r = u->armed_rc) != 0)
		r = slw_diag(d, r, "%s", u->armed_why);
	else {
		u->state = ST_UNSEALED;
		snprintf(u->how, sizeof(u->how), "%s", how);
		u->since = time(NULL);
	}
	pthread_mutex_unlock(&u->mu);
	return r;
}

/* ---- requests ---- */

static void
do_status(struct unseal_server *u, int fd)
{
	char when[32];
	struct tm tm;
	unsigned int w = unseal_limit_wait(&u->lim, mono());

	if (!sealed_now(u)) {
		gmtime_r(&u->since, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		answer(fd, 0, UNSEAL_UNSEALED, 0, "unsealed (%s, %s); serving",
		    u->how, when);
	} else if (u->lim.fails > 0)
		answer(fd, 0, UNSEAL_SEALED, w, "sealed: waiting for the "
		    "passphrase (slipway unseal); %u wrong in a row%s", u->lim.fails,
		    w > 0 ? ", the next try must wait" : "");
	else
		answer(fd, 0, UNSEAL_SEALED, 0, "sealed: waiting for the "
		    "passphrase (slipway unseal)");
}

/* PASSPHRASE and CHANGE: the delay, then Argon2id. 0: k holds the KEK. */
static int
try_passphrase(struct unseal_server *u, int fd, uid_t uid,
    const struct unseal_msg *q, struct kek *k, const char **how)
{
	struct slw_diag d;
	unsigned int w = unseal_limit_wait(&u->lim, mono());
	int r;

	if (w > 0) {
		answer(fd, SLW_ERR_LIMIT, UNSEAL_SEALED, w, "too many wrong "
		    "passphrases: the next try in %u s", w);
		return SLW_ERR_LIMIT;
	}
	slw_diag_clear(&d);
	r = open_wrapped(u, q->pass, q->pass_len, k, how, &d);
	if (r == SLW_ERR_KEK) {
		unseal_limit_fail(&u->lim, mono());
		w = unseal_limit_wait(&u->lim, mono());
		logf_(u, "unseal: a wrong passphrase from uid %u (%u in a row)",
		    (unsigned)uid, u->lim.fails);
		if (w > 0)
			answer(fd, SLW_ERR_KEK, UNSEAL_SEALED, w, "wrong passphrase; "
			    "the next try in %u s", w);
		else
			answer(fd, SLW_ERR_KEK, UNSEAL_SEALED, 0, "wrong passphrase");
		return r;
	}
	if (r != 0) {
		logf_(u, "unseal: %s", slw_diag_str(&d, r));
		answer(fd, r, UNSEAL_SEALED, 0, "%s", slw_diag_str(&d, r));
	}
	return r;
}

static void
do_unseal(struct unseal_server *u, int fd, uid_t uid, struct unseal_msg *q)
{
	struct kek k;
	struct slw_diag d;
	const char *how = "TPM";
	int r;

	if (!sealed_now(u)) {
		answer(fd, 0, UNSEAL_UNSEALED, 0, "already unsealed (%s); serving",
		    u->how);
		return;
	}
	memset(&k, 0, sizeof(k));
	if (q->type == UNSEAL_KEK) {
		if (kek_set(&k, q->kek) != 0) {
			answer(fd, SLW_ERR_CRYPTO, UNSEAL_SEALED, 0, "internal error");
			return;
		}
	} else if (try_passphrase(u, fd, uid, q, &k, &how) != 0)
		goto out;
	slw_diag_clear(&d);
	if ((r = accept_kek(u, &k, how, &d)) != 0) {
		/* a KEK that unwraps but does not open the store: an edited file */
		if (q->type != UNSEAL_KEK && r == SLW_ERR_KEK)
			unseal_limit_fail(&u->lim, mono());
		logf_(u, "unseal: uid %u: %s", (unsigned)uid, slw_diag_str(&d, r));
		answer(fd, r, sealed_now(u) ? UNSEAL_SEALED : UNSEAL_UNSEALED, 0,
		    "%s", slw_diag_str(&d, r));
		goto out;
	}
	unseal_limit_ok(&u->lim);
	logf_(u, "unseal: unsealed by uid %u with the %s", (unsigned)uid, how);
	answer(fd, 0, UNSEAL_UNSEALED, 0, "unsealed with the %s; serving", how);
 out:
	kek_wipe(&k);
}

static void
do_get_kek(struct unseal_server *u, int fd)
{
	struct unseal_msg a;
	const struct kek *k;

	if (sealed_now(u) || (k = store_kek(u->c.store)) == NULL) {
		answer(fd, SLW_ERR_NOKEK, UNSEAL_SEALED, 0, "the appliance is "
		    "sealed: unseal it first (slipway unseal)");
		return;
	}
	unseal_msg_init(&a, UNSEAL_ANSWER);
	a.state = UNSEAL_UNSEALED;
	memcpy(a.kek, k->key, KEK_LEN);
	a.has_kek = 1;
	(void)unseal_send(fd, &a);
	unseal_msg_free(&a);
}

static void
do_change(struct unseal_server *u, int fd, uid_t uid, struct unseal_msg *q)
{
	struct kekwrap w;
	struct kek k;
	struct slw_diag d;
	const struct kek *have;
	const char *how = "passphrase";
	int r;

	memset(&k, 0, sizeof(k));
	memset(&w, 0, sizeof(w));
	slw_diag_clear(&d);
	if ((r = kekwrap_pass_check(q->new_pass, q->new_pass_len, &d)) != 0) {
		answer(fd, r, sealed_now(u) ? UNSEAL_SEALED : UNSEAL_UNSEALED, 0,
		    "the new passphrase: %s", d.msg);
		return;
	}
	if (try_passphrase(u, fd, uid, q, &k, &how) != 0)
		goto out;
	if (sealed_now(u)) {	/* proving the passphrase unseals, too */
		if ((r = accept_kek(u, &k, how, &d)) != 0) {
			answer(fd, r, UNSEAL_SEALED, 0, "%s", slw_diag_str(&d, r));
			goto out;
		}
	} else if ((have = store_kek(u->c.store)) == NULL ||
	    slw_memeq_ct(have->key, k.key, KEK_LEN) != 0) {
		answer(fd, SLW_ERR_KEK, UNSEAL_UNSEALED, 0, "that passphrase "
		    "opens another key than this appliance's");
		goto out;
	}
	unseal_limit_ok(&u->lim);
	slw_diag_clear(&d);
	if ((r = kekwrap_load(u->c.wrapped_path, &w, &d)) != 0 ||
	    (r = kekwrap_set_pass(&w, KEKWRAP_PASSPHRASE, &k, q->new_pass,
	    q->new_pass_len, NULL, &d)) != 0 ||
	    (r = kekwrap_save(u->c.wrapped_path, &w, 0, &d)) != 0) {
		logf_(u, "unseal: changing the passphrase: %s",
		    slw_diag_str(&d, r));
		answer(fd, r, UNSEAL_UNSEALED, 0, "%s", slw_diag_str(&d, r));
		goto out;
	}
	logf_(u, "unseal: uid %u set a new operator passphrase (proved with the "
	    "%s)", (unsigned)uid, how);
	answer(fd, 0, UNSEAL_UNSEALED, 0, "the operator passphrase is changed");
 out:
	kekwrap_wipe(&w);
	kek_wipe(&k);
}

static void
serve_one(struct unseal_server *u, int fd)
{
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	struct timeval tv = { PEER_TIMEOUT, 0 };
	struct unseal_msg q;
	struct slw_diag d;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) != 0 ||
	    !unseal_peer_allowed(cr.uid, cr.gid, u->c.group)) {
		logf_(u, "unseal: refused a peer: uid %u gid %u is neither root "
		    "nor in the unseal group", (unsigned)cr.uid, (unsigned)cr.gid);
		answer(fd, SLW_ERR_DENIED, sealed_now(u) ? UNSEAL_SEALED :
		    UNSEAL_UNSEALED, 0, "only root and the operator group may "
		    "use this socket");
		return;
	}
	slw_diag_clear(&d);
	if (unseal_recv(fd, &q, &d) != 0) {
		logf_(u, "unseal: uid %u: %s", (unsigned)cr.uid, d.msg);
		return;
	}
	switch (q.type) {
	case UNSEAL_STATUS: do_status(u, fd); break;
	case UNSEAL_PASSPHRASE:
	case UNSEAL_KEK: do_unseal(u, fd, cr.uid, &q); break;
	case UNSEAL_GET_KEK: do_get_kek(u, fd); break;
	case UNSEAL_CHANGE: do_change(u, fd, cr.uid, &q); break;
	default:
		answer(fd, SLW_ERR_INVALID, sealed_now(u) ? UNSEAL_SEALED :
		    UNSEAL_UNSEALED, 0, "not a request");
	}
	unseal_msg_free(&q);
}

static void *
thread_main(void *arg)
{
	struct unseal_server *u = arg;
	struct pollfd p[2];
	int fd;

	p[0].fd = u->fd;
	p[0].events = POLLIN;
	p[1].fd = u->stop_pipe[0];
	p[1].events = POLLIN;
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents != 0)
			break;
		if ((fd = accept4(u->fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		serve_one(u, fd);
		close(fd);
	}
	return NULL;
}

/* ---- start, stop, the monitor's side ---- */

int
unseal_server_start(const struct unseal_server_config *c,
    struct unseal_server **out, struct slw_diag *d)
{
	struct unseal_server *u;
	struct sockaddr_un sa;
	struct stat sb;
	sigset_t all, old;
	int r;

	*out = NULL;
	if (c->socket_path == NULL || c->wrapped_path == NULL ||
	    c->store == NULL)
		return SLW_ERR_INVALID;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return SLW_ERR_NOMEM;
	u->c = *c;
	u->fd = u->stop_pipe[0] = u->stop_pipe[1] = -1;
	pthread_mutex_init(&u->mu, NULL);
	pthread_cond_init(&u->cv, NULL);
	if (snprintf(u->path, sizeof(u->path), "%s", c->socket_path) >=
	    (int)sizeof(u->path)) {
		r = slw_diag(d, SLW_ERR_INVALID, "unseal socket path %s is too "
		    "long", c->socket_path);
		goto fail;
	}
	/* a socket left by a serve that died; never anything else */
	if (lstat(u->path, &sb) == 0 && S_ISSOCK(sb.st_mode))
		(void)unlink(u->path);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, u->path, strlen(u->path));
	if ((u->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(u->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(u->path, 0666) != 0 || listen(u->fd, 8) != 0 ||
	    pipe2(u->stop_pipe, O_CLOEXEC) != 0) {
		r = slw_diag(d, errno == EACCES ? SLW_ERR_PERM : SLW_ERR_IO,
		    "cannot listen on the unseal socket %s: %s", u->path,
		    strerror(errno));
		goto fail;
	}
	/* the thread takes no signal: the monitor waits for them */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&u->th, NULL, thread_main, u);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		r = slw_diag(d, SLW_ERR_INTERNAL, "cannot start the unseal thread");
		goto fail;
	}
	u->have_thread = 1;
	*out = u;
	return 0;
 fail:
	unseal_server_stop(u);
	return r;
}

void
unseal_server_stop(struct unseal_server *u)
{
	if (u == NULL)
		return;
	if (u->have_thread) {
		pthread_mutex_lock(&u->mu);	/* release a waiting accept_kek */
		if (u->state == ST_ARMING && !u->armed_done) {
			u->armed_done = 1;
			u->armed_rc = SLW_ERR_INTERNAL;
			snprintf(u->armed_why, sizeof(u->armed_why), "serve is "
			    "stopping");
			pthread_cond_broadcast(&u->cv);
		}
		pthread_mutex_unlock(&u->mu);
		(void)!write(u->stop_pipe[1], "x", 1);
		pthread_join(u->th, NULL);
	}
	if (u->fd >= 0) {
		close(u->fd);
		(void)unlink(u->path);
	}
	if (u->stop_pipe[0] >= 0)
		close(u->stop_pipe[0]);
	if (u->stop_pipe[1] >= 0)
		close(u->stop_pipe[1]);
	pthread_mutex_destroy(&u->mu);
	pthread_cond_destroy(&u->cv);
	mbedtls_platform_zeroize(u, sizeof(*u));
	free(u);
}

int
unseal_server_pending(struct unseal_server *u)
{
	int p;

	pthread_mutex_lock(&u->mu);
	p = u->state == ST_ARMING && !u->armed_done;
	pthread_mutex_unlock(&u->mu);
	return p;
}

void
unseal_server_armed(struct unseal_server *u, int rc, const char *why)
{
	pthread_mutex_lock(&u->mu);
	u->armed_done = 1;
	u->armed_rc = rc;
	snprintf(u->armed_why, sizeof(u->armed_why), "%s",
	    why != NULL ? why : "");
	pthread_cond_broadcast(&u->cv);
	pthread_mutex_unlock(&u->mu);
}

const char *
unseal_server_how(struct unseal_server *u)
{
	return sealed_now(u) ? NULL : u->how;
}
