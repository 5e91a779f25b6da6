// SPDX-License-Identifier: Apache-2.0
/*
 * metrics_listener.c: the metrics listener (metrics_listener.h) on
 * libmicrohttpd, plain HTTP, one event loop. Runs in serve's network
 * child: what only the monitor knows is asked for with PS_METRICS_ALL.
 * Must never read a request body, put request data in an answer or a
 * label, or serve anything but GET /metrics.
 */
#include "metrics_listener.h"
#include "http.h"
#include "privsep_client.h"
#include "rand.h"

#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#define CT_TEXT "text/plain; version=0.0.4; charset=utf-8"

struct metrics_listener {
	struct metrics_listener_config c;
	struct MHD_Daemon *d;
};

static enum MHD_Result
answer(struct MHD_Connection *conn, unsigned int status, const char *ctype,
    const struct buf *b)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(b->len, b->data,
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
answer_error(struct MHD_Connection *conn, unsigned int status,
    const char *msg)
{
	struct buf b = { 0 };
	enum MHD_Result ret = MHD_NO;

	if (http_error_json(msg, &b) == 0)
		ret = answer(conn, status, "application/json", &b);
	buf_free(&b);
	return ret;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_size, void **con_cls)
{
	static int seen;
	struct metrics_listener *l = cls;
	struct buf b = { 0 };
	enum MHD_Result ret;
	int r;

	(void)version;
	(void)upload_data;
	if (*con_cls == NULL) {		/* the head is in; no body read */
		*con_cls = &seen;
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			return answer_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
			    "only GET /metrics here");
		return MHD_YES;
	}
	if (*upload_size != 0) {	/* a GET with a body: not read */
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/metrics") != 0)
		return answer_error(conn, MHD_HTTP_NOT_FOUND, "not found");
	r = http_metrics_render(l->c.m, NULL, slw_now(), &b);
	r |= buf_appendf(&b, "# HELP slipway_sealed 1 while the appliance "
	    "waits for its key-encryption key (slipway unseal).\n"
	    "# TYPE slipway_sealed gauge\nslipway_sealed %d\n",
	    l->c.ps == NULL ? 1 : 0);
	if (r == 0 && l->c.ps != NULL)
		r = privsep_client_metrics_all(l->c.ps, &b);
	if (r != 0) {
		buf_free(&b);
		return answer_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "internal error");
	}
	ret = answer(conn, MHD_HTTP_OK, CT_TEXT, &b);
	buf_free(&b);
	return ret;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct metrics_listener *l = cls;
	char line[300];
	size_t n;

	if (l->c.log == NULL)
		return;
	memcpy(line, "metrics listener: ", 18);
	vsnprintf(line + 18, sizeof(line) - 18, fmt, ap);
	for (n = strlen(line); n > 0 && (line[n - 1] == '\n' ||
	    line[n - 1] == '\r'); n--)
		line[n - 1] = '\0';
	l->c.log(l->c.log_cls, line);
}

int
metrics_listener_start(const struct metrics_listener_config *c,
    struct metrics_listener **out, struct slw_diag *d)
{
	struct metrics_listener *l;

	*out = NULL;
	if (c->listen_fd < 0 || c->m == NULL)
		return slw_diag(d, SLW_ERR_INVALID, "metrics listener: no socket");
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return SLW_ERR_NOMEM;
	l->c = *c;
	l->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
	    MHD_USE_ITC | MHD_USE_ERROR_LOG, 0, NULL, NULL, handler, l,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, l,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)c->listen_fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_LISTENER_CONNS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)METRICS_LISTENER_TIMEOUT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(16 * 1024),
	    MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
	    MHD_OPTION_END);
	if (l->d == NULL) {
		free(l);
		return slw_diag(d, SLW_ERR_INTERNAL, "cannot start the metrics "
		    "listener");
	}
	*out = l;
	return 0;
}

void
metrics_listener_stop(struct metrics_listener *l)
{
	MHD_socket lfd;

	if (l == NULL)
		return;
	/* the socket is shared with the monitor and a successor: only this
	 * process's descriptor is closed, never the socket shut down */
	lfd = MHD_quiesce_daemon(l->d);
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
	MHD_stop_daemon(l->d);
	free(l);
}
