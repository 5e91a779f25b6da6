// SPDX-License-Identifier: Apache-2.0
/*
 * unseal_client.c: the client side of serve's unseal socket (unseal.h):
 * one request, one answer, bounded in time. Used by `slipway unseal` and
 * by console commands that need the KEK of an unsealed appliance. Never
 * prints; wipes what it received on every path.
 */
#include "unseal.h"
#include "unseal_msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

const char *
unseal_socket_path(void)
{
	const char *p = getenv("SLIPWAY_UNSEAL_SOCKET");

	return p != NULL && p[0] != '\0' ? p : UNSEAL_SOCKET_DEFAULT;
}

int
unseal_call(const char *path, const struct unseal_msg *req,
    struct unseal_msg *ans, unsigned int timeout_s, struct slw_diag *d)
{
	struct sockaddr_un sa;
	struct timeval tv = { (time_t)timeout_s, 0 };
	int fd = -1, r;

	unseal_msg_init(ans, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return slw_diag(d, SLW_ERR_INVALID, "unseal socket path %s is too "
		    "long", path);
	memcpy(sa.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return slw_diag(d, SLW_ERR_IO, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			return slw_diag(d, SLW_ERR_NOTFOUND, "slipway serve is not "
			    "running (nothing listens on %s)", path);
		return slw_diag(d, e == EACCES ? SLW_ERR_PERM : SLW_ERR_IO,
		    "cannot reach slipway serve on %s: %s", path, strerror(e));
	}
	/* a refused peer gets its answer before serve reads the request */
	(void)unseal_send(fd, req);
	if ((r = unseal_recv(fd, ans, d)) == 0 && ans->type != UNSEAL_ANSWER) {
		unseal_msg_free(ans);
		r = slw_diag(d, SLW_ERR_PARSE, "slipway serve answered with "
		    "something else than an answer");
	}
	close(fd);
	return r;
}

int
unseal_get_kek(const char *path, struct kek *out, struct slw_diag *d)
{
	struct unseal_msg q, a;
	int r;

	unseal_msg_init(&q, UNSEAL_GET_KEK);
	if ((r = unseal_call(path, &q, &a, 30, d)) != 0)
		return r;
	if (a.rc != 0)
		r = slw_diag(d, a.rc, "%s", a.text);
	else if (!a.has_kek)
		r = slw_diag(d, SLW_ERR_PARSE, "slipway serve sent no key");
	else
		r = kek_set(out, a.kek);
	unseal_msg_free(&a);
	return r;
}
