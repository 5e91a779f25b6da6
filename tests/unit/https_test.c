// SPDX-License-Identifier: Apache-2.0
/*
 * https_test.c: the one HTTPS client (appliance/kube/https.h) against a
 * real TLS server (libmicrohttpd on 127.0.0.1, the endpoint's serving
 * certificate from a state made by `slipway init`, client certificates
 * requested): requests with the client identity and the default headers,
 * every status returned as is (a redirect is not followed), the caps, the
 * refusals (not https, another CA, an identity half given), the stop flag,
 * a shared client from several threads, streams (paused and resumed, ended
 * by idle, a non-2xx body kept), and the key only in a memfd that is gone
 * after https_free.
 */
#include "testutil.h"

#include "ca.h"
#include "cert.h"
#include "cluster.h"
#include "http_tls.h"
#include "https.h"
#include "identity.h"
#include "signing.h"
#include "store.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

static char *dir;
static struct store *st;
static struct inventory *inv;
static struct signing *sg;
static struct buf trust, other_ca, cli_cert, cli_key;
static struct http_tls tls;
static struct MHD_Daemon *mhd;
static unsigned int port;

/* What the server saw of the last request. */
static struct {
	pthread_mutex_t mu;
	char method[16], accept[160], ctype[160], agent[80];
	size_t body_len;
	int client_cert;
	int hello_hits;
} seen = { PTHREAD_MUTEX_INITIALIZER, "", "", "", "", 0, 0, 0 };

/* ---- the server ---- */

struct gen {
	size_t left, chunk, sent;
	int slow;
};

static ssize_t
gen_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct gen *g = cls;
	size_t n = g->chunk < max ? g->chunk : max, i;

	(void)pos;
	if (g->slow) {
		/* one byte every 50 ms for at most 20 s */
		struct timespec ts = { 0, 50 * 1000000L };

		if (g->sent >= 400)
			return MHD_CONTENT_READER_END_OF_STREAM;
		nanosleep(&ts, NULL);
		buf[0] = 'z';
		g->sent++;
		return 1;
	}
	if (g->left == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n > g->left)
		n = g->left;
	/* "line K\n" text, so a stream's order can be checked */
	for (i = 0; i < n; i++)
		buf[i] = (char)('a' + (g->sent + i) % 26);
	g->sent += n;
	g->left -= n;
	return (ssize_t)n;
}

static enum MHD_Result
queue_text(struct MHD_Connection *c, unsigned int code, const char *text,
    const char *location)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text),
	    (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (location != NULL)
		MHD_add_response_header(r, "Location", location);
	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static void
note(struct MHD_Connection *c, const char *method, size_t body_len)
{
	const union MHD_ConnectionInfo *ci;
	const char *v;

	pthread_mutex_lock(&seen.mu);
	snprintf(seen.method, sizeof(seen.method), "%s", method);
	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
	snprintf(seen.accept, sizeof(seen.accept), "%s", v ? v : "");
	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	snprintf(seen.ctype, sizeof(seen.ctype), "%s", v ? v : "");
	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "User-Agent");
	snprintf(seen.agent, sizeof(seen.agent), "%s", v ? v : "");
	seen.body_len = body_len;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci != NULL) {
		unsigned int n = 0;

		seen.client_cert = gnutls_certificate_get_peers(
		    (gnutls_session_t)ci->tls_session, &n) != NULL && n > 0;
	}
	pthread_mutex_unlock(&seen.mu);
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_len, void **state)
{
	size_t *got = *state;
	struct MHD_Response *r;
	struct gen *g;
	const char *v;
	enum MHD_Result ret;

	(void)cls;
	(void)version;
	if (got == NULL) {
		if ((got = calloc(1, sizeof(*got))) == NULL)
			return MHD_NO;
		*state = got;
		return MHD_YES;
	}
	if (*upload_len > 0) {
		(void)upload;
		*got += *upload_len;
		*upload_len = 0;
		return MHD_YES;
	}
	note(c, method, *got);
	if (strcmp(url, "/hello") == 0) {
		pthread_mutex_lock(&seen.mu);
		seen.hello_hits++;
		pthread_mutex_unlock(&seen.mu);
		return queue_text(c, 200, "{\"hello\":\"world\"}", NULL);
	}
	if (strcmp(url, "/redirect") == 0)
		return queue_text(c, 302, "{}", "/hello");
	if (strcmp(url, "/missing") == 0)
		return queue_text(c, 404, "{\"kind\":\"Status\",\"code\":404}",
		    NULL);
	if (strcmp(url, "/gen") == 0 || strcmp(url, "/slow") == 0) {
		if ((g = calloc(1, sizeof(*g))) == NULL)
			return MHD_NO;
		v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "n");
		g->left = v ? strtoul(v, NULL, 10) : 0;
		v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
		    "chunk");
		g->chunk = v ? strtoul(v, NULL, 10) : 1024;
		g->slow = strcmp(url, "/slow") == 0;
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN,
		    g->chunk > 0 ? g->chunk : 1, gen_read, g, free);
		ret = MHD_queue_response(c, 200, r);
		MHD_destroy_response(r);
		return ret;
	}
	return queue_text(c, 400, "{}", NULL);
}

static void
completed(void *cls, struct MHD_Connection *c, void **state,
    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	free(*state);
	*state = NULL;
}

/* A client certificate (admin) for a new key, as the fleet makes one. */
static void
client_identity(void)
{
	struct identity id;
	struct key *k = NULL;
	struct signing_request req;
	struct signing_result res;

	memset(&res, 0, sizeof(res));
	assert_int_equal(identity_get(inv, ID_ADMIN, NULL, 0, &id, NULL), 0);
	assert_int_equal(key_generate(KEY_EC_P256, &k), 0);
	memset(&req, 0, sizeof(req));
	req.ca_role = id.ca_role;
	req.t = &id.t;
	req.subject = k;
	req.now = slw_now();
	assert_int_equal(signing_sign(sg, &req, &res, NULL), 0);
	assert_int_equal(cert_pem_append(&cli_cert, res.der.data, res.der.len),
	    0);
	assert_int_equal(key_write_pem(k, &cli_key), 0);
	signing_result_free(&res);
	key_free(k);
}

static int
setup(void **s)
{
	const union MHD_DaemonInfo *di;
	struct sockaddr_in sa;

	(void)s;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	dir = tu_tmpdir();
	tu_init_state(dir, &st, &inv);
	assert_int_equal(signing_local_new(st, &sg, NULL), 0);
	assert_int_equal(http_tls_load(st, inv, sg, 0, "test", &tls, NULL), 0);
	assert_int_equal(signing_trust_pem(sg, CA_KUBERNETES, &trust), 0);
	assert_int_equal(signing_trust_pem(sg, CA_ETCD, &other_ca), 0);
	client_identity();
	assert_int_equal(https_global_init(), 0);
	mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS, 0, NULL, NULL,
	    handler, NULL,
	    MHD_OPTION_HTTPS_MEM_KEY, (const char *)tls.key_pem.data,
	    MHD_OPTION_HTTPS_MEM_CERT, (const char *)tls.cert_pem.data,
	    MHD_OPTION_HTTPS_MEM_TRUST, (const char *)trust.data,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_END);
	assert_non_null(mhd);
	di = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(di);
	port = di->port;
	return 0;
}

static int
teardown(void **s)
{
	(void)s;
	MHD_stop_daemon(mhd);
	http_tls_free(&tls);
	buf_free(&trust);
	buf_free(&other_ca);
	buf_free(&cli_cert);
	buf_free(&cli_key);
	signing_free(sg);
	inventory_free(inv);
	store_close(st);
	tu_rmrf(dir);
	free(dir);
	return 0;
}

/* ---- helpers ---- */

static struct https *
client(const struct buf *ca, int with_id)
{
	struct https_config c;
	struct https *h = NULL;

	memset(&c, 0, sizeof(c));
	c.ca_pem = ca;
	if (with_id) {
		c.cert_pem = &cli_cert;
		c.key_pem = &cli_key;
	}
	c.user_agent = "slipway-test";
	assert_int_equal(https_new(&c, &h, NULL), 0);
	return h;
}

static void
url(char *out, size_t len, const char *path)
{
	snprintf(out, len, "https://127.0.0.1:%u%s", port, path);
}

static int
get(struct https *h, const char *path, size_t max, long *status,
    struct buf *resp, struct slw_diag *d)
{
	struct https_request rq;
	char u[256];

	url(u, sizeof(u), path);
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.url = u;
	rq.max = max;
	rq.timeout_ms = 20000;
	return https_do(h, &rq, status, resp, d);
}

/* memfds named like the client's key in this process right now */
static int
key_memfds(void)
{
	DIR *dp = opendir("/proc/self/fd");
	struct dirent *e;
	char p[300], t[300];
	ssize_t n;
	int count = 0;

	assert_non_null(dp);
	while ((e = readdir(dp)) != NULL) {
		snprintf(p, sizeof(p), "/proc/self/fd/%s", e->d_name);
		if ((n = readlink(p, t, sizeof(t) - 1)) <= 0)
			continue;
		t[n] = '\0';
		if (strncmp(t, "/memfd:slipway-https-key", 24) == 0)
			count++;
	}
	closedir(dp);
	return count;
}

/* ---- tests ---- */

static void
test_requests(void **s)
{
	struct https_request rq;
	struct https *h;
	struct buf resp = { 0 };
	struct slw_diag d;
	const char *body = "{\"a\":1}";
	char u[256];
	long status;
	int base = key_memfds();

	(void)s;
	h = client(&trust, 1);
	assert_int_equal(key_memfds(), base + 1);
	assert_int_equal(get(h, "/hello", 0, &status, &resp, NULL), 0);
	assert_int_equal(status, 200);
	assert_string_equal((char *)resp.data, "{\"hello\":\"world\"}");
	assert_string_equal(seen.method, "GET");
	assert_string_equal(seen.accept, "application/json");
	assert_string_equal(seen.agent, "slipway-test");
	assert_int_equal(seen.client_cert, 1);

	/* a body, another method, another Accept */
	url(u, sizeof(u), "/hello");
	memset(&rq, 0, sizeof(rq));
	rq.method = "PUT";
	rq.url = u;
	rq.body = body;
	rq.body_len = strlen(body);
	rq.accept = "application/json, */*";
	assert_int_equal(https_do(h, &rq, &status, &resp, NULL), 0);
	assert_int_equal(status, 200);
	assert_string_equal(seen.method, "PUT");
	assert_int_equal(seen.body_len, strlen(body));
	assert_string_equal(seen.ctype, "application/json");
	assert_string_equal(seen.accept, "application/json, */*");
	rq.method = "POST";
	rq.content_type = "text/plain";
	assert_int_equal(https_do(h, &rq, &status, &resp, NULL), 0);
	assert_string_equal(seen.method, "POST");
	assert_string_equal(seen.ctype, "text/plain");
	rq.method = "DELETE";
	rq.body = NULL;
	assert_int_equal(https_do(h, &rq, &status, &resp, NULL), 0);
	assert_string_equal(seen.method, "DELETE");
	assert_int_equal(seen.body_len, 0);

	/* statuses are answers; a redirect is not followed */
	assert_int_equal(get(h, "/missing", 0, &status, &resp, NULL), 0);
	assert_int_equal(status, 404);
	seen.hello_hits = 0;
	assert_int_equal(get(h, "/redirect", 0, &status, &resp, NULL), 0);
	assert_int_equal(status, 302);
	assert_int_equal(seen.hello_hits, 0);

	/* without an identity: no client certificate offered */
	https_free(h);
	assert_int_equal(key_memfds(), base);
	h = client(&trust, 0);
	assert_int_equal(key_memfds(), base);
	assert_int_equal(get(h, "/hello", 0, &status, &resp, NULL), 0);
	assert_int_equal(seen.client_cert, 0);

	/* another CA: refused as a verification failure, the diag names the URL */
	https_free(h);
	h = client(&other_ca, 1);
	slw_diag_clear(&d);
	assert_int_equal(get(h, "/hello", 0, &status, &resp, &d), SLW_ERR_VERIFY);
	assert_int_equal(status, 0);
	assert_null(resp.data);
	assert_non_null(strstr(d.msg, "GET https://127.0.0.1:"));
	assert_null(strstr(d.msg, "BEGIN"));
	https_free(h);
	buf_free(&resp);
}

static void
test_refusals_and_caps(void **s)
{
	struct https_config c;
	struct https_request rq;
	struct https *h = NULL;
	struct buf resp = { 0 };
	struct slw_diag d;
	long status;

	(void)s;
	memset(&c, 0, sizeof(c));
	assert_int_equal(https_new(&c, &h, NULL), SLW_ERR_INVALID);
	c.ca_pem = &trust;
	c.cert_pem = &cli_cert;
	assert_int_equal(https_new(&c, &h, NULL), SLW_ERR_INVALID);
	c.cert_pem = NULL;
	c.key_pem = &cli_key;
	assert_int_equal(https_new(&c, &h, NULL), SLW_ERR_INVALID);
	assert_null(h);

	h = client(&trust, 1);
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.url = "http://127.0.0.1:1/hello";
	assert_int_equal(https_do(h, &rq, &status, &resp, NULL),
	    SLW_ERR_INVALID);
	rq.url = "https://127.0.0.1:1/a b";
	assert_int_equal(https_do(h, &rq, &status, &resp, NULL),
	    SLW_ERR_INVALID);
	rq.url = "https://127.0.0.1:1/x";
	rq.method = "G T";
	assert_int_equal(https_do(h, &rq, &status, &resp, NULL),
	    SLW_ERR_INVALID);

	/* the cap: exactly max passes, one byte more is cut */
	assert_int_equal(get(h, "/gen?n=100000", 100000, &status, &resp,
	    NULL), 0);
	assert_int_equal(resp.len, 100000);
	assert_int_equal(resp.data[resp.len], 0);
	slw_diag_clear(&d);
	assert_int_equal(get(h, "/gen?n=100001", 100000, &status, &resp, &d),
	    SLW_ERR_TOOBIG);
	assert_null(resp.data);
	assert_non_null(strstr(d.msg, "larger than 100000 bytes"));
	https_free(h);
}

struct stopper {
	atomic_int *flag;
	int ms;
};

static void *
stop_later(void *arg)
{
	struct stopper *sp = arg;
	struct timespec ts = { sp->ms / 1000, (long)(sp->ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
	atomic_store(sp->flag, 1);
	return NULL;
}

static void
test_stop_flag(void **s)
{
	static atomic_int flag;
	struct stopper sp = { &flag, 300 };
	struct https *h;
	struct buf resp = { 0 };
	struct slw_diag d;
	pthread_t th;
	time_t t0;
	long status;

	(void)s;
	atomic_store(&flag, 0);
	h = client(&trust, 1);
	https_set_stop(h, &flag);
	assert_int_equal(pthread_create(&th, NULL, stop_later, &sp), 0);
	t0 = time(NULL);
	slw_diag_clear(&d);
	/* /slow would take 20 s: the flag ends it within about a second */
	assert_int_equal(get(h, "/slow", 0, &status, &resp, &d), SLW_ERR_IO);
	pthread_join(th, NULL);
	assert_true(time(NULL) - t0 < 10);
	assert_non_null(strstr(d.msg, "stopped"));
	/* and a new request fails at once */
	assert_int_equal(get(h, "/hello", 0, &status, &resp, NULL), SLW_ERR_IO);
	https_free(h);
}

struct worker {
	struct https *h;
	int ok;
};

static void *
many_gets(void *arg)
{
	struct worker *w = arg;
	struct buf resp = { 0 };
	long status;
	int i;

	for (i = 0; i < 20; i++)
		if (get(w->h, "/hello", 0, &status, &resp, NULL) == 0 &&
		    status == 200 && resp.len == 17)
			w->ok++;
	buf_free(&resp);
	return NULL;
}

static void
test_shared_by_threads(void **s)
{
	struct worker w[4];
	pthread_t th[4];
	struct https *h;
	int i;

	(void)s;
	h = client(&trust, 1);
	for (i = 0; i < 4; i++) {
		w[i].h = h;
		w[i].ok = 0;
		assert_int_equal(pthread_create(&th[i], NULL, many_gets, &w[i]),
		    0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].ok, 20);
	}
	https_free(h);
}

struct sink {
	struct https *h;
	size_t got, calls, idles, paused;
	int order_ok;
	int pause_every;	/* pause on every Nth call */
	int end_after;		/* idle returns 7 after this many bytes */
	int nested_ok;
};

static size_t
sink_data(void *arg, const uint8_t *p, size_t n)
{
	struct sink *k = arg;
	size_t i;

	k->calls++;
	if (k->pause_every && k->calls % (size_t)k->pause_every == 0) {
		k->paused++;
		return HTTPS_PAUSE;
	}
	for (i = 0; i < n; i++)
		if (p[i] != (uint8_t)('a' + (k->got + i) % 26))
			k->order_ok = 0;
	k->got += n;
	return n;
}

static int
sink_idle(void *arg)
{
	struct sink *k = arg;
	struct buf resp = { 0 };
	long status;

	k->idles++;
	/* the client may be used between transfers */
	if (k->idles == 1 && get(k->h, "/hello", 0, &status, &resp, NULL) == 0 &&
	    status == 200)
		k->nested_ok = 1;
	buf_free(&resp);
	if (k->end_after && k->got >= (size_t)k->end_after)
		return 7;
	return 0;
}

static int
stream(struct https *h, const char *path, struct sink *k, long *status,
    struct buf *err)
{
	static const struct https_stream_ops ops = { sink_data, sink_idle };
	struct https_request rq;
	char u[256];

	url(u, sizeof(u), path);
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.url = u;
	rq.timeout_ms = 20000;
	k->h = h;
	k->order_ok = 1;
	return https_stream(h, &rq, &ops, k, status, err, NULL);
}

static void
test_streams(void **s)
{
	struct https *h;
	struct sink k;
	struct buf err = { 0 };
	long status;

	(void)s;
	h = client(&trust, 1);
	memset(&k, 0, sizeof(k));
	assert_int_equal(stream(h, "/gen?n=300000&chunk=777", &k, &status,
	    &err), 0);
	assert_int_equal(status, 200);
	assert_int_equal(k.got, 300000);
	assert_true(k.order_ok);
	assert_true(k.idles >= 1);
	assert_true(k.nested_ok);
	assert_null(err.data);

	/* pausing every third call loses and repeats nothing */
	memset(&k, 0, sizeof(k));
	k.pause_every = 3;
	assert_int_equal(stream(h, "/gen?n=200000&chunk=1000", &k, &status,
	    &err), 0);
	assert_int_equal(k.got, 200000);
	assert_true(k.order_ok);
	assert_true(k.paused > 0);

	/* idle ends it */
	memset(&k, 0, sizeof(k));
	k.end_after = 1;
	assert_int_equal(stream(h, "/slow", &k, &status, &err), 7);
	assert_int_equal(status, 0);

	/* another status: its body is kept for the caller, data sees none */
	memset(&k, 0, sizeof(k));
	assert_int_equal(stream(h, "/missing", &k, &status, &err), 0);
	assert_int_equal(status, 404);
	assert_int_equal(k.got, 0);
	assert_non_null(err.data);
	assert_non_null(strstr((char *)err.data, "\"code\":404"));
	buf_free(&err);
	https_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_refusals_and_caps),
		cmocka_unit_test(test_stop_flag),
		cmocka_unit_test(test_shared_by_threads),
		cmocka_unit_test(test_streams),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
