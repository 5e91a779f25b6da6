// SPDX-License-Identifier: Apache-2.0
/*
 * ssh.c: SSH connections and remote commands with libssh2, in non-blocking
 * mode so that every wait has a deadline. The host key is checked against
 * its pin right after the key exchange, before authentication: a host whose
 * key does not match never sees a command. Must never log the appliance key
 * or put remote output anywhere but the caller's capped buffer.
 */
#include "ssh.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>

struct ssh_conn {
	int fd;
	LIBSSH2_SESSION *s;
	char where[96];		/* "10.77.0.11:22" */
};

int
ssh_global_init(void)
{
	return libssh2_init(0) == 0 ? 0 : SLW_ERR_INTERNAL;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until the socket is ready in the directions libssh2 asks for. */
static int
wait_io(struct ssh_conn *c, int64_t deadline)
{
	struct pollfd p;
	int64_t left = deadline - now_ms();
	int dir = libssh2_session_block_directions(c->s);

	if (left <= 0)
		return SLW_ERR_EXPIRED;
	memset(&p, 0, sizeof(p));
	p.fd = c->fd;
	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		p.events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		p.events |= POLLOUT;
	if (p.events == 0)
		p.events = POLLIN;
	if (left > 1000)
		left = 1000;
	if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
		return SLW_ERR_IO;
	return 0;
}

static const char *
last_error(struct ssh_conn *c)
{
	char *msg = NULL;

	libssh2_session_last_error(c->s, &msg, NULL, 0);
	return msg != NULL && msg[0] != '\0' ? msg : "unknown libssh2 error";
}

static int
tcp_connect(struct ssh_conn *c, const char *host, uint16_t port,
    int64_t deadline, struct slw_diag *d)
{
	struct addrinfo hints, *ai = NULL;
	char portstr[8];
	struct pollfd p;
	socklen_t sl;
	int r, err = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%u", port);
	if ((r = getaddrinfo(host, portstr, &hints, &ai)) != 0)
		return slw_diag(d, SLW_ERR_INVALID, "cannot resolve %s: %s", host,
		    gai_strerror(r));
	c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (c->fd < 0) {
		freeaddrinfo(ai);
		return slw_diag(d, SLW_ERR_IO, "socket: %s", strerror(errno));
	}
	r = connect(c->fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (r == 0)
		return 0;
	if (errno != EINPROGRESS)
		return slw_diag(d, SLW_ERR_IO, "cannot connect to %s: %s", c->where,
		    strerror(errno));
	for (;;) {
		int64_t left = deadline - now_ms();

		if (left <= 0)
			return slw_diag(d, SLW_ERR_EXPIRED, "cannot connect to %s: "
			    "timed out", c->where);
		memset(&p, 0, sizeof(p));
		p.fd = c->fd;
		p.events = POLLOUT;
		r = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
		if (r < 0 && errno != EINTR)
			return slw_diag(d, SLW_ERR_IO, "poll: %s", strerror(errno));
		if (r > 0)
			break;
	}
	sl = sizeof(err);
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl) != 0)
		err = errno;
	if (err != 0)
		return slw_diag(d, SLW_ERR_IO, "cannot connect to %s: %s", c->where,
		    strerror(err));
	return 0;
}

void
ssh_close(struct ssh_conn *c)
{
	if (c == NULL)
		return;
	if (c->s != NULL) {
		/*
		 * Blocking with a short timeout, so that freeing never returns
		 * EAGAIN half-way (which would leak the session).
		 */
		libssh2_session_set_timeout(c->s, 2000);
		libssh2_session_set_blocking(c->s, 1);
		libssh2_session_disconnect(c->s, "bye");
		libssh2_session_free(c->s);
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static int
check_hostkey(struct ssh_conn *c, const struct ssh_opts *o,
    struct ssh_hostkey *seen, struct slw_diag *d)
{
	const char *blob;
	size_t len = 0;
	int type = 0;
	uint32_t nl;
	char fp[SSH_FP_MAX], pfp[SSH_FP_MAX];

	if ((blob = libssh2_session_hostkey(c->s, &len, &type)) == NULL ||
	    len < 4 || len > sizeof(seen->blob))
		return slw_diag(d, SLW_ERR_VERIFY, "%s offered no usable host key",
		    c->where);
	memset(seen, 0, sizeof(*seen));
	memcpy(seen->blob, blob, len);
	seen->len = len;
	nl = (uint32_t)seen->blob[0] << 24 | (uint32_t)seen->blob[1] << 16 |
	    (uint32_t)seen->blob[2] << 8 | seen->blob[3];
	if (nl == 0 || nl >= sizeof(seen->type) || 4 + (size_t)nl > len)
		return slw_diag(d, SLW_ERR_VERIFY, "%s offered a malformed host key",
		    c->where);
	memcpy(seen->type, seen->blob + 4, nl);
	seen->type[nl] = '\0';
	ssh_hostkey_fingerprint(seen, fp);
	if (o->pinned == NULL) {
		if (o->accept_new)
			return 0;
		return slw_diag(d, SLW_ERR_DENIED, "%s has no pinned host key "
		    "(offered %s %s); pin it in the inventory (ssh.hostKey) or "
		    "accept it with --accept-new-host-keys", c->where,
		    seen->type, fp);
	}
	if (!ssh_hostkey_equal(seen, o->pinned)) {
		ssh_hostkey_fingerprint(o->pinned, pfp);
		return slw_diag(d, SLW_ERR_VERIFY, "host key of %s does not match "
		    "its pin: offered %s %s, pinned %s%s%s", c->where, seen->type,
		    fp, strcmp(seen->type, o->pinned->type) ? o->pinned->type : "",
		    strcmp(seen->type, o->pinned->type) ? " " : "", pfp);
	}
	return 0;
}

int
ssh_connect(const struct ssh_opts *o, struct ssh_conn **out,
    struct ssh_hostkey *seen, struct slw_diag *d)
{
	struct ssh_conn *c = NULL;
	char pub[SSH_KEYLINE_MAX];
	int64_t deadline;
	int r, rc;

	*out = NULL;
	memset(seen, 0, sizeof(*seen));
	if (o == NULL || o->host == NULL || o->user == NULL ||
	    o->key_pem == NULL || o->key_pem->len == 0)
		return SLW_ERR_INVALID;
	deadline = now_ms() + (o->connect_timeout_ms > 0 ?
	    o->connect_timeout_ms : 10000);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return SLW_ERR_NOMEM;
	c->fd = -1;
	snprintf(c->where, sizeof(c->where), strchr(o->host, ':') ? "[%s]:%u" :
	    "%s:%u", o->host, o->port);
	if ((r = tcp_connect(c, o->host, o->port, deadline, d)) != 0)
		goto out;
	if ((c->s = libssh2_session_init()) == NULL) {
		r = SLW_ERR_NOMEM;
		goto out;
	}
	libssh2_session_set_blocking(c->s, 0);
	/* With a pin, negotiate exactly the pinned algorithm. */
	if (o->pinned != NULL &&
	    libssh2_session_method_pref(c->s, LIBSSH2_METHOD_HOSTKEY,
	    o->pinned->type) != 0) {
		r = slw_diag(d, SLW_ERR_UNSUPPORTED, "this libssh2 cannot verify "
		    "%s host keys; pin another key type of %s", o->pinned->type,
		    c->where);
		goto out;
	}
	while ((rc = libssh2_session_handshake(c->s, c->fd)) ==
	    LIBSSH2_ERROR_EAGAIN)
		if ((r = wait_io(c, deadline)) != 0) {
			r = slw_diag(d, SLW_ERR_EXPIRED, "ssh handshake with %s: "
			    "timed out", c->where);
			goto out;
		}
	if (rc == LIBSSH2_ERROR_KEX_FAILURE && o->pinned != NULL) {
		r = slw_diag(d, SLW_ERR_VERIFY, "%s does not offer a %s host key "
		    "(the pinned type): refusing", c->where, o->pinned->type);
		goto out;
	}
	if (rc != 0) {
		r = slw_diag(d, SLW_ERR_IO, "ssh handshake with %s: %s", c->where,
		    last_error(c));
		goto out;
	}
	if ((r = check_hostkey(c, o, seen, d)) != 0)
		goto out;
	if ((r = ssh_key_publine(o->key_pem, NULL, pub, sizeof(pub))) != 0) {
		r = slw_diag(d, r, "the appliance's ssh key is unusable");
		goto out;
	}
	while ((rc = libssh2_userauth_publickey_frommemory(c->s, o->user,
	    strlen(o->user), pub, strlen(pub), (const char *)o->key_pem->data,
	    o->key_pem->len, NULL)) == LIBSSH2_ERROR_EAGAIN)
		if ((r = wait_io(c, deadline)) != 0) {
			r = slw_diag(d, SLW_ERR_EXPIRED, "ssh authentication to %s: "
			    "timed out", c->where);
			goto out;
		}
	if (rc != 0) {
		r = slw_diag(d, SLW_ERR_AUTH, "ssh authentication as %s at %s "
		    "failed (%s); authorize the key printed by 'slipway ssh "
		    "pubkey'", o->user, c->where, last_error(c));
		goto out;
	}
	*out = c;
	c = NULL;
	r = 0;
 out:
	ssh_close(c);
	return r;
}

void
ssh_result_free(struct ssh_result *res)
{
	if (res != NULL)
		buf_free(&res->out);
}

int
ssh_cap_init(struct ssh_cap *c, size_t head, size_t tail)
{
	memset(c, 0, sizeof(*c));
	c->head_cap = head;
	c->ring_cap = tail;
	if (tail > 0 && (c->ring = malloc(tail)) == NULL)
		return SLW_ERR_NOMEM;
	return 0;
}

void
ssh_cap_free(struct ssh_cap *c)
{
	buf_free(&c->head);
	free(c->ring);
	c->ring = NULL;
}

int
ssh_cap_add(struct ssh_cap *c, const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t n;
	int r;

	c->total += len;
	if (c->head.len < c->head_cap) {
		n = c->head_cap - c->head.len;
		if (n > len)
			n = len;
		if ((r = buf_append(&c->head, b, n)) != 0)
			return r;
		b += n;
		len -= n;
	}
	if (c->ring_cap == 0)
		return 0;
	if (len >= c->ring_cap) {
		memcpy(c->ring, b + len - c->ring_cap, c->ring_cap);
		c->ring_len = c->ring_cap;
		c->ring_pos = 0;
		return 0;
	}
	while (len > 0) {
		n = c->ring_cap - c->ring_pos;
		if (n > len)
			n = len;
		memcpy(c->ring + c->ring_pos, b, n);
		c->ring_pos = (c->ring_pos + n) % c->ring_cap;
		c->ring_len = c->ring_len + n > c->ring_cap ? c->ring_cap :
		    c->ring_len + n;
		b += n;
		len -= n;
	}
	return 0;
}

int
ssh_cap_finish(struct ssh_cap *c, struct buf *out, int *truncated,
    size_t *total)
{
	size_t kept = c->head.len + c->ring_len, start;
	int r = 0;

	buf_free(out);
	*total = c->total;
	*truncated = kept < c->total;
	if ((r = buf_set(out, c->head.data ? c->head.data : (uint8_t *)"",
	    c->head.len)) != 0)
		goto out;
	if (*truncated && (r = buf_appendf(out, "\n[... %zu bytes omitted ...]\n",
	    c->total - kept)) != 0)
		goto out;
	if (c->ring_len > 0) {
		start = c->ring_len < c->ring_cap ? 0 : c->ring_pos;
		if (c->ring_len < c->ring_cap)
			r = buf_append(out, c->ring, c->ring_len);
		else if ((r = buf_append(out, c->ring + start,
		    c->ring_cap - start)) == 0)
			r = buf_append(out, c->ring, start);
	}
 out:
	ssh_cap_free(c);
	return r;
}

int
ssh_exec(struct ssh_conn *c, const char *cmd, const void *in, size_t inlen,
    int timeout_ms, struct ssh_result *res, struct slw_diag *d)
{
	LIBSSH2_CHANNEL *ch = NULL;
	struct ssh_cap cap;
	char rbuf[16384];
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 300000);
	size_t sent = 0;
	ssize_t n;
	int r, rc, eof_sent = 0;
	char *sig = NULL;
	size_t siglen = 0;

	memset(res, 0, sizeof(*res));
	res->exit_status = -1;
	if ((r = ssh_cap_init(&cap, SSH_OUT_HEAD, SSH_OUT_TAIL)) != 0)
		return r;
	while ((ch = libssh2_channel_open_session(c->s)) == NULL) {
		if (libssh2_session_last_errno(c->s) != LIBSSH2_ERROR_EAGAIN) {
			r = slw_diag(d, SLW_ERR_IO, "ssh %s: cannot open a channel: "
			    "%s", c->where, last_error(c));
			goto out;
		}
		if (wait_io(c, deadline) != 0)
			goto timeout;
	}
	libssh2_channel_handle_extended_data2(ch,
	    LIBSSH2_CHANNEL_EXTENDED_DATA_MERGE);
	while ((rc = libssh2_channel_exec(ch, cmd)) == LIBSSH2_ERROR_EAGAIN)
		if (wait_io(c, deadline) != 0)
			goto timeout;
	if (rc != 0) {
		r = slw_diag(d, SLW_ERR_IO, "ssh %s: cannot start the command: %s",
		    c->where, last_error(c));
		goto out;
	}
	for (;;) {
		int progress = 0;

		while (sent < inlen) {
			n = libssh2_channel_write(ch, (const char *)in + sent,
			    inlen - sent);
			if (n == LIBSSH2_ERROR_EAGAIN)
				break;
			if (n < 0) {
				/* The command may have exited without reading. */
				sent = inlen;
				break;
			}
			sent += (size_t)n;
			progress = 1;
		}
		if (sent >= inlen && !eof_sent) {
			rc = libssh2_channel_send_eof(ch);
			if (rc != LIBSSH2_ERROR_EAGAIN) {
				eof_sent = 1;
				progress = 1;
			}
		}
		n = libssh2_channel_read(ch, rbuf, sizeof(rbuf));
		if (n > 0) {
			if ((r = ssh_cap_add(&cap, rbuf, (size_t)n)) != 0)
				goto out;
			continue;
		}
		if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
			r = slw_diag(d, SLW_ERR_IO, "ssh %s: connection lost while "
			    "the command ran: %s", c->where, last_error(c));
			goto out;
		}
		if (n == 0 && libssh2_channel_eof(ch))
			break;
		if (!progress && wait_io(c, deadline) != 0)
			goto timeout;
	}
	while ((rc = libssh2_channel_close(ch)) == LIBSSH2_ERROR_EAGAIN)
		if (wait_io(c, deadline) != 0)
			goto timeout;
	while ((rc = libssh2_channel_wait_closed(ch)) == LIBSSH2_ERROR_EAGAIN)
		if (wait_io(c, deadline) != 0)
			goto timeout;
	res->exit_status = libssh2_channel_get_exit_status(ch);
	if (libssh2_channel_get_exit_signal(ch, &sig, &siglen, NULL, NULL, NULL,
	    NULL) == 0 && sig != NULL) {
		snprintf(res->exit_signal, sizeof(res->exit_signal), "%.*s",
		    (int)siglen, sig);
		res->exit_status = -1;
	}
	if (sig != NULL)
		libssh2_free(c->s, sig);
	r = 0;
	goto out;
 timeout:
	res->timed_out = 1;
	r = slw_diag(d, SLW_ERR_EXPIRED, "ssh %s: the command did not finish "
	    "within %d s", c->where, (timeout_ms > 0 ? timeout_ms : 300000) / 1000);
 out:
	ssh_cap_finish(&cap, &res->out, &res->truncated, &res->out_total);
	if (ch != NULL) {
		deadline = now_ms() + 2000;
		while (libssh2_channel_free(ch) == LIBSSH2_ERROR_EAGAIN)
			if (wait_io(c, deadline) != 0)
				break;	/* freed with the session */
	}
	return r;
}
