// SPDX-License-Identifier: Apache-2.0
/*
 * http_test.c: the HTTPS endpoint's parts: bearer and listen-address
 * parsing, JSON errors, the failed-attempt rate limiter (time passed in),
 * the in-flight guard, request deadlines (a real socket is shut down), the
 * metrics text, the GnuTLS priority string (TLS 1.2/1.3, AEAD + ECDHE
 * only), the enrollment policy, the serving identity (made once, reused,
 * renewed for the same key, rotated on purpose), redemption with a stand-in
 * bundle source (consumed once; 403/400/413 write nothing), the signer
 * following a CA rotation step, and a live server on 127.0.0.1 spoken to
 * with libcurl; sealed, it answers 503 "sealed" without asking a monitor.
 */
#include "testutil.h"

#include "audit.h"
#include "ca.h"
#include "certdb.h"
#include "cluster.h"
#include "csr.h"
#include "http_server.h"
#include "http_limits.h"
#include "http.h"
#include "http_redeem.h"
#include "http_tls.h"
#include "privsep_client.h"
#include "privsep_monitor.h"
#include "signing.h"
#include "store.h"
#include "token.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <mbedtls/x509_csr.h>

/* ---- parsers ---- */

static void
test_bearer(void **s)
{
	const char *tok;
	size_t n;

	(void)s;
#define OK(h, want) do { \
	assert_int_equal(http_bearer(h, strlen(h), &tok, &n), 0); \
	assert_int_equal(n, strlen(want)); \
	assert_memory_equal(tok, want, n); \
} while (0)
#define NO(h) assert_int_equal(http_bearer(h, strlen(h), &tok, &n), \
	SLW_ERR_AUTH)
	OK("Bearer abc.def", "abc.def");
	OK("bearer abc", "abc");
	OK("BEARER \t  abc=", "abc=");
	NO("Basic abc");
	NO("Bearer");
	NO("Bearer ");
	NO("Bearerabc");
	NO("Bearer abc ");
	NO("Bearer a b");
	NO("Bearer ab\"c");
	NO("Bearer abc\n");
	NO("");
#undef OK
#undef NO
	{
		char big[HTTP_AUTH_MAX + 16];

		memset(big, 'a', sizeof(big) - 1);
		memcpy(big, "Bearer ", 7);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(http_bearer(big, strlen(big), &tok, &n),
		    SLW_ERR_AUTH);
	}
	assert_int_equal(http_bearer(NULL, 0, &tok, &n), SLW_ERR_AUTH);
}

static void
test_listen_parse(void **s)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char txt[64];

	(void)s;
	assert_int_equal(http_listen_parse("127.0.0.1:8443", &ss, &sl, NULL), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8443);
	assert_int_equal(http_listen_parse(":0", &ss, &sl, NULL), 0);
	assert_int_equal(((struct sockaddr_in *)&ss)->sin_addr.s_addr,
	    htonl(INADDR_ANY));
	assert_int_equal(http_listen_parse("[::1]:9", &ss, &sl, NULL), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	http_addr_text((struct sockaddr *)&ss, txt, sizeof(txt));
	assert_string_equal(txt, "::1");
	assert_int_equal(http_listen_parse("0.0.0.0", &ss, &sl, NULL),
	    SLW_ERR_INVALID);
	assert_int_equal(http_listen_parse("1.2.3.4:65536", &ss, &sl, NULL),
	    SLW_ERR_INVALID);
	assert_int_equal(http_listen_parse("::1:80", &ss, &sl, NULL),
	    SLW_ERR_INVALID);
	assert_int_equal(http_listen_parse("host:80", &ss, &sl, NULL),
	    SLW_ERR_INVALID);
	assert_int_equal(http_listen_parse("1.2.3.4:-1", &ss, &sl, NULL),
	    SLW_ERR_INVALID);
	/* v4-mapped peers print as IPv4 */
	{
		struct sockaddr_in6 a;

		memset(&a, 0, sizeof(a));
		a.sin6_family = AF_INET6;
		inet_pton(AF_INET6, "::ffff:10.1.2.3", &a.sin6_addr);
		http_addr_text((struct sockaddr *)&a, txt, sizeof(txt));
		assert_string_equal(txt, "10.1.2.3");
	}
	assert_true(http_node_name_ok("test-1.x_y", 10));
	assert_false(http_node_name_ok("a/b", 3));
	assert_false(http_node_name_ok("", 0));
}

static void
test_error_json(void **s)
{
	struct buf b = { 0 };

	(void)s;
	assert_int_equal(http_error_json("a \"q\" \\ \n\x01\xc3\xa9 z", &b), 0);
	assert_string_equal((char *)b.data,
	    "{\"error\":\"a \\\"q\\\" \\\\ ???? z\"}\n");
	buf_free(&b);
	assert_int_equal(http_body_len_ok(65536, 65536), 0);
	assert_int_equal(http_body_len_ok(65537, 65536), SLW_ERR_TOOBIG);
	assert_int_equal(http_body_len_ok(-1, 65536), 0);
}

/* ---- limits ---- */

static struct sockaddr_in
v4(const char *a)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	inet_pton(AF_INET, a, &sa.sin_addr);
	return sa;
}

static void
test_ratelim(void **s)
{
	struct ratelim *rl;
	struct sockaddr_in a = v4("10.0.0.1"), b = v4("10.0.0.2");
	struct sockaddr_in6 x, y;
	unsigned int ra;
	time_t t = 1000;
	int i;

	(void)s;
	/* 3 failures per 60 s */
	assert_int_equal(ratelim_new(3, 60, 64, &rl), 0);
	for (i = 0; i < 3; i++) {
		assert_false(ratelim_blocked(rl, (struct sockaddr *)&a, t, &ra));
		ratelim_fail(rl, (struct sockaddr *)&a, t);
	}
	assert_true(ratelim_blocked(rl, (struct sockaddr *)&a, t, &ra));
	assert_int_equal(ra, 20);
	assert_false(ratelim_blocked(rl, (struct sockaddr *)&b, t, &ra));
	/* one failure's worth comes back after 20 s */
	assert_true(ratelim_blocked(rl, (struct sockaddr *)&a, t + 19, &ra));
	assert_false(ratelim_blocked(rl, (struct sockaddr *)&a, t + 20, &ra));
	ratelim_fail(rl, (struct sockaddr *)&a, t + 20);
	assert_true(ratelim_blocked(rl, (struct sockaddr *)&a, t + 20, &ra));
	assert_false(ratelim_blocked(rl, (struct sockaddr *)&a, t + 200, &ra));
	/* IPv6: one /64 is one client */
	memset(&x, 0, sizeof(x));
	x.sin6_family = AF_INET6;
	y = x;
	inet_pton(AF_INET6, "2001:db8:1:2::1", &x.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1:2::ffff", &y.sin6_addr);
	for (i = 0; i < 3; i++)
		ratelim_fail(rl, (struct sockaddr *)&x, t);
	assert_true(ratelim_blocked(rl, (struct sockaddr *)&y, t, &ra));
	/* many addresses: the table stays bounded and keeps working */
	for (i = 0; i < 5000; i++) {
		struct sockaddr_in z = v4("10.9.0.0");

		z.sin_addr.s_addr = htonl(0x0a090000u + (uint32_t)i);
		ratelim_fail(rl, (struct sockaddr *)&z, t + 300);
	}
	ratelim_free(rl);
	/* burst 0: off */
	assert_int_equal(ratelim_new(0, 60, 64, &rl), 0);
	for (i = 0; i < 100; i++)
		ratelim_fail(rl, (struct sockaddr *)&a, t);
	assert_false(ratelim_blocked(rl, (struct sockaddr *)&a, t, &ra));
	ratelim_free(rl);
}

static void
test_inflight(void **s)
{
	struct inflight *f;

	(void)s;
	assert_int_equal(inflight_new(2, &f), 0);
	assert_int_equal(inflight_claim(f, "aaaaaaaaaaaaaaaa"), 0);
	assert_int_equal(inflight_claim(f, "aaaaaaaaaaaaaaaa"), SLW_ERR_BUSY);
	assert_int_equal(inflight_claim(f, "bbbbbbbbbbbbbbbb"), 0);
	assert_int_equal(inflight_claim(f, "cccccccccccccccc"), SLW_ERR_LIMIT);
	inflight_release(f, "aaaaaaaaaaaaaaaa");
	assert_int_equal(inflight_count(f), 1);
	assert_int_equal(inflight_claim(f, "aaaaaaaaaaaaaaaa"), 0);
	inflight_free(f);
}

static void
test_conntrack(void **s)
{
	struct conntrack *ct;
	struct conn_entry *e[8];
	struct sockaddr_in a = v4("10.0.0.1"), b = v4("10.0.0.2"),
	    c = v4("10.0.0.3"), d = v4("10.0.0.4");
	int sv[8][2], i;
	char ch;

	(void)s;
	for (i = 0; i < 8; i++)
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
	/* 4 in all, 3 per address; head within 10 s, request within 30 s */
	assert_int_equal(conntrack_new(4, 3, 10, 30, &ct), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(conntrack_admit(ct, (struct sockaddr *)&a),
		    CT_ADMIT);
		e[i] = conntrack_add(ct, sv[i][0], (struct sockaddr *)&a, 100);
		assert_non_null(e[i]);
	}
	assert_int_equal(conntrack_admit(ct, (struct sockaddr *)&a),
	    CT_REFUSED_ADDR);
	assert_int_equal(conntrack_admit(ct, (struct sockaddr *)&b), CT_ADMIT);
	e[3] = conntrack_add(ct, sv[3][0], (struct sockaddr *)&b, 101);
	assert_int_equal(conntrack_count(ct), 4);
	/* full: a newcomer evicts the oldest of the address holding most */
	assert_int_equal(conntrack_admit(ct, (struct sockaddr *)&c),
	    CT_EVICTED);
	assert_int_equal(read(sv[0][1], &ch, 1), 0);	/* e[0] shut down */
	assert_int_equal(conntrack_count(ct), 3);
	e[4] = conntrack_add(ct, sv[4][0], (struct sockaddr *)&c, 102);
	/* b holds 1, a 2: not two more than b's, so no room for b */
	assert_int_equal(conntrack_admit(ct, (struct sockaddr *)&b),
	    CT_REFUSED_FULL);
	/* connections being answered are never evicted */
	for (i = 1; i <= 4; i++)
		conntrack_busy(ct, e[i]);
	assert_int_equal(conntrack_admit(ct, (struct sockaddr *)&d),
	    CT_REFUSED_FULL);
	conntrack_idle(ct, e[2], 103);
	assert_int_equal(conntrack_admit(ct, (struct sockaddr *)&d),
	    CT_EVICTED);
	assert_int_equal(read(sv[2][1], &ch, 1), 0);	/* e[2], not e[1] */
	e[5] = conntrack_add(ct, sv[5][0], (struct sockaddr *)&d, 104);
	/* deadlines: e[5] made at 104: its head by 114 */
	conntrack_idle(ct, e[3], 105);
	assert_int_equal(conntrack_sweep(ct, 113), 0);
	assert_int_equal(conntrack_sweep(ct, 114), 1);
	assert_int_equal(read(sv[5][1], &ch, 1), 0);
	assert_int_equal(conntrack_sweep(ct, 114), 0);	/* once */
	/* a head in: the whole request by since + 30 */
	conntrack_head(ct, e[3]);
	assert_int_equal(conntrack_sweep(ct, 134), 0);
	assert_int_equal(conntrack_sweep(ct, 135), 1);
	conntrack_idle(ct, e[1], 200);			/* answered at 200 */
	assert_int_equal(conntrack_sweep(ct, 209), 0);
	assert_int_equal(conntrack_sweep(ct, 210), 1);
	assert_int_equal(conntrack_count(ct), 1);	/* e[4], busy */
	conntrack_idle(ct, e[4], 300);
	assert_int_equal(conntrack_sweep(ct, 310), 1);
	assert_int_equal(conntrack_count(ct), 0);
	for (i = 0; i < 6; i++)
		conntrack_del(ct, e[i]);
	/* the per-address counts started over: a may hold 3 again */
	for (i = 0; i < 3; i++)
		assert_int_equal(conntrack_admit(ct, (struct sockaddr *)&a),
		    CT_ADMIT);
	conntrack_free(ct);
	for (i = 0; i < 8; i++) {
		close(sv[i][0]);
		close(sv[i][1]);
	}
}

static void
test_conntrack_many_addresses(void **s)
{
	struct conntrack *ct;
	struct conn_entry *e[65];
	struct sockaddr_in sa;
	int sv[65][2], i, evicted = 0;
	char addr[32];

	(void)s;
	/* 16 slots, more addresses than that: one that holds nothing
	 * always gets in, at the expense of the oldest */
	assert_int_equal(conntrack_new(16, 4, 10, 30, &ct), 0);
	for (i = 0; i < 64; i++) {
		int r;

		snprintf(addr, sizeof(addr), "10.1.0.%d", 1 + i % 20);
		sa = v4(addr);
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
		r = conntrack_admit(ct, (struct sockaddr *)&sa);
		e[i] = NULL;
		if (r == CT_ADMIT || r == CT_EVICTED)
			e[i] = conntrack_add(ct, sv[i][0], (struct sockaddr *)&sa,
			    100 + i);
		evicted += r == CT_EVICTED;
	}
	assert_int_equal(conntrack_count(ct), 16);
	assert_true(evicted >= 4);	/* addresses 17-20 got in */
	sa = v4("10.2.0.1");
	assert_int_equal(conntrack_admit(ct, (struct sockaddr *)&sa),
	    CT_EVICTED);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[64]), 0);
	e[64] = conntrack_add(ct, sv[64][0], (struct sockaddr *)&sa, 200);
	/* the last one in (10.1.0.4) holds one: refused, nobody holds 3 */
	sa = v4("10.1.0.4");
	assert_int_equal(conntrack_admit(ct, (struct sockaddr *)&sa),
	    CT_REFUSED_FULL);
	for (i = 0; i < 65; i++) {
		conntrack_del(ct, e[i]);
		close(sv[i][0]);
		close(sv[i][1]);
	}
	assert_int_equal(conntrack_count(ct), 0);
	conntrack_free(ct);
}

static const char *held_label;
static unsigned long held_n;

static void
held(void *cls, const char *label, unsigned long n, unsigned int window)
{
	(void)cls;
	assert_int_equal(window, 10);
	held_label = label;
	held_n = n;
}

static void
test_loglimit(void **s)
{
	static const char k1[] = "one", k2[] = "two";
	struct loglimit *ll;

	(void)s;
	assert_int_equal(loglimit_new(2, 10, 1000, &ll), 0);
	assert_true(loglimit_allow(ll, k1));
	assert_true(loglimit_allow(ll, k1));
	assert_false(loglimit_allow(ll, k1));
	assert_false(loglimit_allow(ll, k1));
	assert_true(loglimit_allow(ll, k2));
	loglimit_flush(ll, 1009, held, NULL);
	assert_null(held_label);		/* the window is not over */
	loglimit_flush(ll, 1010, held, NULL);
	assert_ptr_equal(held_label, k1);
	assert_int_equal(held_n, 2);
	held_label = NULL;
	assert_true(loglimit_allow(ll, k1));	/* a new window */
	loglimit_flush(ll, 1020, held, NULL);
	assert_null(held_label);		/* nothing held back */
	loglimit_free(ll);
}

static void
test_metrics_text(void **s)
{
	struct http_metrics m;
	struct buf b = { 0 };

	(void)s;
	http_metrics_init(&m, 1000);
	http_metrics_request(&m, http_metrics_ep_of("/v1/bundle"), 200);
	http_metrics_request(&m, http_metrics_ep_of("/v1/bundle"), 401);
	http_metrics_request(&m, http_metrics_ep_of("/x?y"), 404);
	http_metrics_request(&m, EP_ENROLL, 418);
	http_metrics_refused(&m, TOKEN_FAIL_USED);
	m.serving_not_after = 2000;
	assert_int_equal(http_metrics_render(&m, NULL, 1500, &b), 0);
	assert_non_null(strstr((char *)b.data,
	    "slipway_http_requests_total{endpoint=\"/v1/bundle\",code=\"401\"} 1\n"));
	assert_non_null(strstr((char *)b.data,
	    "slipway_http_requests_total{endpoint=\"other\",code=\"404\"} 1\n"));
	assert_non_null(strstr((char *)b.data,
	    "slipway_http_requests_total{endpoint=\"/v1/enroll\",code=\"other\"} 1\n"));
	assert_non_null(strstr((char *)b.data,
	    "slipway_token_refused_total{reason=\"used\"} 1\n"));
	assert_non_null(strstr((char *)b.data,
	    "slipway_token_attempts_total{outcome=\"refused\"} 1\n"));
	assert_non_null(strstr((char *)b.data,
	    "slipway_serving_cert_expiry_seconds 500\n"));
	buf_free(&b);
}

/* ---- TLS policy ---- */

static void
test_tls_priorities(void **s)
{
	gnutls_priority_t pr;
	const char *err = NULL;
	const unsigned int *list;
	unsigned int i, idx;
	int n, suites = 0;

	(void)s;
	assert_int_equal(gnutls_priority_init(&pr, HTTP_TLS_PRIORITIES, &err),
	    GNUTLS_E_SUCCESS);
	n = gnutls_priority_protocol_list(pr, &list);
	assert_true(n >= 2);
	for (i = 0; i < (unsigned)n; i++)
		assert_true(list[i] == GNUTLS_TLS1_2 || list[i] == GNUTLS_TLS1_3);
	for (i = 0; gnutls_priority_get_cipher_suite_index(pr, i, &idx) !=
	    GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE; i++) {
		gnutls_cipher_algorithm_t c;
		gnutls_kx_algorithm_t kx;
		gnutls_mac_algorithm_t mac;
		const char *name;

		if (gnutls_priority_get_cipher_suite_index(pr, i, &idx) != 0)
			continue;
		name = gnutls_cipher_suite_info(idx, NULL, &kx, &c, &mac, NULL);
		assert_non_null(name);
		suites++;
		assert_true(mac == GNUTLS_MAC_AEAD);
		assert_true(c == GNUTLS_CIPHER_AES_128_GCM ||
		    c == GNUTLS_CIPHER_AES_256_GCM ||
		    c == GNUTLS_CIPHER_CHACHA20_POLY1305);
		/* TLS 1.3 suites carry no key exchange; 1.2 ones: ECDHE */
		assert_true(kx == GNUTLS_KX_UNKNOWN || kx == GNUTLS_KX_ECDHE_ECDSA ||
		    kx == GNUTLS_KX_ECDHE_RSA);
		assert_null(strstr(name, "CBC"));
	}
	assert_true(suites >= 3);
	gnutls_priority_deinit(pr);
}

/* ---- a state made by `slipway init` ---- */

static char *dir;
static char statedir[4200];
static struct store *st;
static struct inventory *inv;
static struct signing *sg;

static void
init_state(const char *yaml_extra)
{
	char cmd[9000], yaml[4300];
	const char *bin = getenv("SLIPWAY");
	struct store_opts o;
	struct buf y = { 0 };

	assert_non_null(bin);
	dir = tu_tmpdir();
	snprintf(statedir, sizeof(statedir), "%s/state", dir);
	snprintf(yaml, sizeof(yaml), "%s/cluster.yaml", dir);
	assert_int_equal(buf_read_file(&y, SLW_EXAMPLES_DIR "/seed-cluster.yaml",
	    1 << 20), 0);
	if (yaml_extra != NULL)
		assert_int_equal(buf_append(&y, yaml_extra, strlen(yaml_extra)), 0);
	tu_write(yaml, y.data, y.len);
	buf_free(&y);
	snprintf(cmd, sizeof(cmd), "'%s' --state '%s' init --cluster '%s' "
	    ">/dev/null", bin, statedir, yaml);
	assert_int_equal(system(cmd), 0);
	memset(&o, 0, sizeof(o));
	o.need_kek = 1;
	assert_int_equal(store_open(statedir, &o, &st, NULL), 0);
	assert_int_equal(cluster_load(st, &inv, NULL), 0);
	assert_int_equal(signing_local_new(st, &sg, NULL), 0);
}

static int
setup_state(void **s)
{
	(void)s;
	init_state(NULL);
	return 0;
}

static int
teardown_state(void **s)
{
	(void)s;
	slw_clock_set(NULL);
	signing_free(sg);
	inventory_free(inv);
	store_close(st);
	tu_rmrf(dir);
	free(dir);
	sg = NULL;
	inv = NULL;
	st = NULL;
	return 0;
}

/* ---- enrollment policy ---- */

/* A PEM CSR for subject with DNS and IP SANs, signed by a new key. */
static void
make_csr(enum key_type kt, const char *subject, const char **dns, size_t nd,
    const char **ips, size_t ni, struct buf *out)
{
	mbedtls_x509write_csr w;
	mbedtls_x509_san_list nodes[16];
	uint8_t ipb[16][4];
	unsigned char tmp[8192];
	struct key *k = NULL;
	size_t i, n = 0;

	assert_int_equal(key_generate(kt, &k), 0);
	mbedtls_x509write_csr_init(&w);
	mbedtls_x509write_csr_set_key(&w, &k->pk);
	mbedtls_x509write_csr_set_md_alg(&w, MBEDTLS_MD_SHA256);
	assert_int_equal(mbedtls_x509write_csr_set_subject_name(&w, subject), 0);
	for (i = 0; i < nd; i++, n++) {
		memset(&nodes[n], 0, sizeof(nodes[n]));
		nodes[n].node.type = MBEDTLS_X509_SAN_DNS_NAME;
		nodes[n].node.san.unstructured_name.p = (unsigned char *)dns[i];
		nodes[n].node.san.unstructured_name.len = strlen(dns[i]);
	}
	for (i = 0; i < ni; i++, n++) {
		memset(&nodes[n], 0, sizeof(nodes[n]));
		assert_int_equal(inet_pton(AF_INET, ips[i], ipb[i]), 1);
		nodes[n].node.type = MBEDTLS_X509_SAN_IP_ADDRESS;
		nodes[n].node.san.unstructured_name.p = ipb[i];
		nodes[n].node.san.unstructured_name.len = 4;
	}
	for (i = 0; i < n; i++)
		nodes[i].next = i + 1 < n ? &nodes[i + 1] : NULL;
	if (n > 0)
		assert_int_equal(mbedtls_x509write_csr_set_subject_alternative_name(
		    &w, nodes), 0);
	assert_int_equal(mbedtls_x509write_csr_pem(&w, tmp, sizeof(tmp), slw_rng,
	    NULL), 0);
	assert_int_equal(buf_set(out, tmp, strlen((char *)tmp)), 0);
	mbedtls_x509write_csr_free(&w);
	key_free(k);
}

static int
policy(const char *node, const char *subject, const char **dns, size_t nd,
    const char **ips, size_t ni, const char **purpose, char *why,
    size_t wlen)
{
	struct buf pem = { 0 };
	struct csr *c = NULL;
	struct profile prof;
	struct cert_template t;
	struct slw_diag d;
	int r;

	make_csr(KEY_EC_P256, subject, dns, nd, ips, ni, &pem);
	assert_int_equal(csr_parse_pem_strict(pem.data, pem.len, &c, NULL), 0);
	slw_diag_clear(&d);
	r = redeem_enroll_policy(inv, inventory_node(inv, node), c, &prof, &t, purpose,
	    &d);
	snprintf(why, wlen, "%s", d.msg);
	if (r == 0) {
		assert_string_equal(t.subject.cn, c->subject.cn);
		assert_int_equal(t.n_sans, nd + ni);
	}
	csr_free(c);
	buf_free(&pem);
	return r;
}

static void
test_enroll_policy(void **s)
{
	const char *purpose = NULL;
	const char *dns_ok[] = { "test2" }, *dns_bad[] = { "test1" };
	const char *ip_ok[] = { "192.168.0.92" }, *ip_bad[] = { "192.168.0.91" };
	char why[SLW_DIAG_MAX];

	(void)s;
	assert_int_equal(policy("test2", "O=system:nodes,CN=system:node:test2",
	    NULL, 0, NULL, 0, &purpose, why, sizeof(why)), 0);
	assert_string_equal(purpose, "kubelet-client");
	assert_int_equal(policy("test2", "O=system:nodes,CN=system:node:test2",
	    dns_ok, 1, ip_ok, 1, &purpose, why, sizeof(why)), 0);
	assert_string_equal(purpose, "kubelet-serving");
	assert_int_equal(policy("test2", "C=CN,O=system:nodes,OU=4Paradigm,"
	    "CN=system:node:test2", NULL, 0, NULL, 0, &purpose, why,
	    sizeof(why)), 0);
	/* another node's name, group, SANs: refused, with the reason */
	assert_int_equal(policy("test2", "O=system:nodes,CN=system:node:test1",
	    NULL, 0, NULL, 0, &purpose, why, sizeof(why)), SLW_ERR_DENIED);
	assert_non_null(strstr(why, "CN must be 'system:node:test2'"));
	assert_int_equal(policy("test2", "O=system:masters,CN=system:node:test2",
	    NULL, 0, NULL, 0, &purpose, why, sizeof(why)), SLW_ERR_DENIED);
	assert_non_null(strstr(why, "O must be exactly"));
	assert_int_equal(policy("test2", "O=system:nodes,O=system:masters,"
	    "CN=system:node:test2", NULL, 0, NULL, 0, &purpose, why,
	    sizeof(why)), SLW_ERR_DENIED);
	assert_int_equal(policy("test2", "O=system:nodes,CN=system:node:test2",
	    dns_bad, 1, NULL, 0, &purpose, why, sizeof(why)), SLW_ERR_DENIED);
	assert_non_null(strstr(why, "SAN DNS:test1 is not node test2's"));
	assert_int_equal(policy("test2", "O=system:nodes,CN=system:node:test2",
	    NULL, 0, ip_bad, 1, &purpose, why, sizeof(why)), SLW_ERR_DENIED);
	assert_non_null(strstr(why, "192.168.0.91"));
	assert_int_equal(policy("test2", "C=US,O=system:nodes,"
	    "CN=system:node:test2", NULL, 0, NULL, 0, &purpose, why,
	    sizeof(why)), SLW_ERR_DENIED);
	assert_int_equal(policy("test2", "O=system:nodes,CN=admin", NULL, 0,
	    NULL, 0, &purpose, why, sizeof(why)), SLW_ERR_DENIED);
}

/* ---- the serving identity ---- */

static time_t fake_now;

static time_t
fake_clock(void)
{
	return fake_now;
}

static void
test_serving_identity(void **s)
{
	struct http_tls a, b, c, e;
	char pin[HTTP_TLS_PIN_MAX];

	(void)s;
	assert_int_equal(http_tls_pin_get(st, pin, NULL), SLW_ERR_NOTFOUND);
	assert_int_equal(http_tls_load(st, inv, NULL, 0, "test", &a, NULL),
	    SLW_ERR_NOTFOUND);
	assert_int_equal(http_tls_load(st, inv, sg, 0, "test", &a, NULL), 0);
	assert_true(a.issued);
	assert_true(a.new_key);
	assert_non_null(strstr((char *)a.key_pem.data, "PRIVATE KEY"));
	assert_int_equal(a.key_pem.data[a.key_pem.len], '\0');
	assert_int_equal(http_tls_pin_get(st, pin, NULL), 0);
	assert_string_equal(pin, a.pin);
	assert_int_equal(strlen(pin), 44);	/* base64 of 32 bytes */
	/* a restart reuses key and certificate */
	assert_int_equal(http_tls_load(st, inv, sg, 0, "test", &b, NULL), 0);
	assert_false(b.issued);
	assert_string_equal(b.pin, a.pin);
	assert_string_equal(b.serial_hex, a.serial_hex);
	/* close to expiry: a new certificate for the same key (same pin) */
	fake_now = a.not_after - 10 * 86400;
	slw_clock_set(fake_clock);
	assert_int_equal(http_tls_load(st, inv, sg, 0, "test", &c, NULL), 0);
	slw_clock_set(NULL);
	assert_true(c.issued);
	assert_false(c.new_key);
	assert_string_equal(c.pin, a.pin);
	assert_string_not_equal(c.serial_hex, a.serial_hex);
	/* rotation on purpose: new key, new pin */
	assert_int_equal(http_tls_load(st, inv, sg, HTTP_TLS_ROTATE_KEY, "test",
	    &e, NULL), 0);
	assert_true(e.new_key);
	assert_string_not_equal(e.pin, a.pin);
	assert_int_equal(http_tls_pin_get(st, pin, NULL), 0);
	assert_string_equal(pin, e.pin);
	http_tls_free(&a);
	http_tls_free(&b);
	http_tls_free(&c);
	http_tls_free(&e);
}

/* ---- redemption with a stand-in bundle source ---- */

struct fake {
	int renders, records;
	pthread_mutex_t mu;
};

static int
fake_render(void *cls, struct signing *signer, const struct inv_node *node,
    uint64_t scope, time_t now, void **state, struct buf *targz, struct redeem_issued *iss,
    struct slw_diag *d)
{
	struct fake *f = cls;

	(void)now;
	(void)scope;
	(void)signer;
	(void)d;
	pthread_mutex_lock(&f->mu);
	f->renders++;
	pthread_mutex_unlock(&f->mu);
	memset(iss, 0, sizeof(*iss));
	iss->n = 1;
	slw_random(iss->serial[0], SERIAL_LEN);
	snprintf(iss->purpose[0], sizeof(iss->purpose[0]), "fake");
	*state = strdup(node->name);
	return buf_appendf(targz, "FAKE-BUNDLE-%s", node->name);
}

static int
fake_record(void *cls, void *state, struct store_txn *t, const char *actor)
{
	struct fake *f = cls;

	(void)state;
	(void)t;
	(void)actor;
	pthread_mutex_lock(&f->mu);
	f->records++;
	pthread_mutex_unlock(&f->mu);
	return 0;
}

static void
fake_release(void *cls, void *state)
{
	(void)cls;
	free(state);
}

static struct fake fk;

/* A redemption context with its own signer and the stand-in bundles. */
static void
rd_init(struct redeem *rd)
{
	struct signing *own = NULL;

	memset(&fk, 0, sizeof(fk));
	pthread_mutex_init(&fk.mu, NULL);
	assert_int_equal(signing_local_new(st, &own, NULL), 0);
	assert_int_equal(redeem_init(rd, st, inv, own, NULL), 0);
	rd->bundle.render = fake_render;
	rd->bundle.record = fake_record;
	rd->bundle.release = fake_release;
	rd->bundle.cls = &fk;
}

static int
put_txn(struct store_txn *t, void *arg)
{
	return token_put(t, arg);
}

static void
mktok(const char *node, struct token_new *tok)
{
	assert_int_equal(token_make(node, 900, NULL, "test", slw_now(), tok,
	    NULL), 0);
	assert_int_equal(store_write(st, put_txn, tok, NULL), 0);
}

struct counts {
	size_t certs, issuance, audit;
};

static int
counts_txn(struct store_txn *t, void *arg)
{
	struct counts *c = arg;
	int r;

	if ((r = store_count(t, DB_CERTS, &c->certs)) != 0 ||
	    (r = store_count(t, DB_ISSUANCE, &c->issuance)) != 0)
		return r;
	return store_count(t, DB_AUDIT, &c->audit);
}

static struct counts
counts(void)
{
	struct counts c;

	memset(&c, 0, sizeof(c));
	assert_int_equal(store_read(st, counts_txn, &c, NULL), 0);
	return c;
}

static struct redeem_req
req_of(const struct token_new *tok)
{
	struct redeem_req q;

	memset(&q, 0, sizeof(q));
	q.token = tok->token;
	q.token_len = strlen(tok->token);
	q.peer = "127.0.0.1";
	q.now = slw_now();
	return q;
}

static void
test_redeem_bundle(void **s)
{
	struct redeem rd;
	struct redeem_res res;
	struct redeem_req q;
	struct token_new a, b;
	struct counts c0, c1;

	(void)s;
	rd_init(&rd);
	mktok("test1", &a);
	mktok("test2", &b);
	q = req_of(&a);
	c0 = counts();
	assert_int_equal(redeem_bundle(&rd, &q, &res, NULL), 0);
	assert_string_equal((char *)res.body.data, "FAKE-BUNDLE-test1");
	assert_string_equal(res.ti.node, "test1");
	redeem_res_free(&res);
	c1 = counts();
	assert_int_equal(c1.issuance, c0.issuance + 1);
	assert_int_equal(c1.audit, c0.audit + 1);	/* token.redeem */
	/* a second time: refused, nothing rendered or written */
	assert_int_equal(redeem_bundle(&rd, &q, &res, NULL), SLW_ERR_AUTH);
	assert_int_equal(res.why, TOKEN_FAIL_USED);
	assert_int_equal(res.body.len, 0);
	redeem_res_free(&res);
	assert_int_equal(fk.renders, 1);
	assert_int_equal(counts().issuance, c1.issuance);
	/* another node's token when this node asks */
	q = req_of(&b);
	q.node = "test1";
	assert_int_equal(redeem_bundle(&rd, &q, &res, NULL), SLW_ERR_AUTH);
	assert_int_equal(res.why, TOKEN_FAIL_NODE);
	redeem_res_free(&res);
	q.node = "test2";
	assert_int_equal(redeem_bundle(&rd, &q, &res, NULL), 0);
	redeem_res_free(&res);
	token_new_wipe(&a);
	token_new_wipe(&b);
	redeem_fini(&rd);
}

/* Without the in-memory guard: 16 threads, one token, one commit. */
struct rc_arg {
	struct redeem *rd;
	const struct token_new *tok;
	int ok;
	pthread_mutex_t mu;
};

static void *
rc_thread(void *arg)
{
	struct rc_arg *a = arg;
	struct redeem_req q = req_of(a->tok);
	struct redeem_res res;

	if (redeem_bundle(a->rd, &q, &res, NULL) == 0) {
		pthread_mutex_lock(&a->mu);
		a->ok++;
		pthread_mutex_unlock(&a->mu);
	}
	redeem_res_free(&res);
	return NULL;
}

static void
test_redeem_race_without_guard(void **s)
{
	struct redeem rd;
	struct token_new tok;
	struct rc_arg a;
	pthread_t th[16];
	size_t i, before;

	(void)s;
	rd_init(&rd);
	mktok("test3", &tok);
	before = counts().issuance;
	a.rd = &rd;
	a.tok = &tok;
	a.ok = 0;
	pthread_mutex_init(&a.mu, NULL);
	for (i = 0; i < 16; i++)
		assert_int_equal(pthread_create(&th[i], NULL, rc_thread, &a), 0);
	for (i = 0; i < 16; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(a.ok, 1);
	assert_int_equal(fk.records, 1);
	assert_int_equal(counts().issuance, before + 1);
	token_new_wipe(&tok);
	redeem_fini(&rd);
}

static void
test_redeem_enroll(void **s)
{
	struct redeem rd;
	struct redeem_res res;
	struct redeem_req q;
	struct token_new a, bad;
	struct counts c0, c1;
	struct buf good = { 0 }, foreign = { 0 }, big = { 0 };
	struct slw_diag d;
	const char *ip_ok[] = { "192.168.0.91" };

	(void)s;
	rd_init(&rd);
	mktok("test1", &a);
	make_csr(KEY_EC_P256, "O=system:nodes,CN=system:node:test1", NULL, 0,
	    ip_ok, 1, &good);
	make_csr(KEY_EC_P256, "O=system:nodes,CN=system:node:test2", NULL, 0,
	    NULL, 0, &foreign);
	assert_int_equal(buf_set(&big, good.data, good.len), 0);
	while (big.len <= CSR_MAX_LEN)
		assert_int_equal(buf_append(&big, "\n", 1), 0);
	q = req_of(&a);
	c0 = counts();
	/* refused requests write nothing and leave the token usable */
	slw_diag_clear(&d);
	assert_int_equal(redeem_enroll(&rd, &q, foreign.data, foreign.len, &res,
	    &d), SLW_ERR_DENIED);
	assert_non_null(strstr(d.msg, "system:node:test1"));
	slw_diag_clear(&d);
	assert_int_equal(redeem_enroll(&rd, &q, (const uint8_t *)"garbage", 7,
	    &res, &d), SLW_ERR_PARSE);
	assert_int_equal(redeem_enroll(&rd, &q, big.data, big.len, &res, &d),
	    SLW_ERR_TOOBIG);
	assert_int_equal(redeem_enroll(&rd, &q, NULL, 0, &res, &d),
	    SLW_ERR_PARSE);
	c1 = counts();
	assert_memory_equal(&c0, &c1, sizeof(c0));
	/* a bad token is refused before the body is looked at */
	memset(&bad, 0, sizeof(bad));
	snprintf(bad.token, sizeof(bad.token), "%s", a.token);
	bad.token[TOKEN_LEN - 1] = bad.token[TOKEN_LEN - 1] == '0' ? '1' : '0';
	{
		struct redeem_req qb = req_of(&bad);

		assert_int_equal(redeem_enroll(&rd, &qb, (const uint8_t *)"x", 1,
		    &res, NULL), SLW_ERR_AUTH);
	}
	/* the right CSR: a chain (leaf + CA), one certificate recorded */
	assert_int_equal(redeem_enroll(&rd, &q, good.data, good.len, &res, NULL),
	    0);
	assert_non_null(strstr((char *)res.body.data, "BEGIN CERTIFICATE"));
	assert_non_null(strstr(strstr((char *)res.body.data, "END CERTIFICATE") +
	    1, "BEGIN CERTIFICATE"));
	assert_int_equal(res.iss.n, 1);
	assert_string_equal(res.iss.purpose[0], "kubelet-serving");
	redeem_res_free(&res);
	c1 = counts();
	assert_int_equal(c1.certs, c0.certs + 1);
	assert_int_equal(c1.issuance, c0.issuance + 1);
	/* once */
	assert_int_equal(redeem_enroll(&rd, &q, good.data, good.len, &res, NULL),
	    SLW_ERR_AUTH);
	buf_free(&good);
	buf_free(&foreign);
	buf_free(&big);
	token_new_wipe(&a);
	redeem_fini(&rd);
}

/* After a CA rotation step the endpoint signs with the new generation. */
static int
rec_gen_txn(struct store_txn *t, void *arg)
{
	struct cert_rec *rec = arg;
	uint8_t serial[SERIAL_LEN];

	memcpy(serial, rec->serial, SERIAL_LEN);
	return certdb_get(t, serial, rec);
}

static uint32_t
enroll_gen(struct redeem *rd)
{
	struct redeem_res res;
	struct redeem_req q;
	struct token_new tok;
	struct buf csr = { 0 };
	struct cert_rec rec;
	uint32_t gen;

	mktok("test1", &tok);
	make_csr(KEY_EC_P256, "O=system:nodes,CN=system:node:test1", NULL, 0,
	    NULL, 0, &csr);
	q = req_of(&tok);
	assert_int_equal(redeem_enroll(rd, &q, csr.data, csr.len, &res, NULL), 0);
	memset(&rec, 0, sizeof(rec));
	memcpy(rec.serial, res.iss.serial[0], SERIAL_LEN);
	assert_int_equal(store_read(st, rec_gen_txn, &rec, NULL), 0);
	gen = rec.ca_gen;
	certdb_rec_free(&rec);
	redeem_res_free(&res);
	buf_free(&csr);
	token_new_wipe(&tok);
	return gen;
}

static void
test_signer_follows_rotation(void **s)
{
	struct redeem rd;
	char cmd[9000];
	const char *bin = getenv("SLIPWAY");

	(void)s;
	rd_init(&rd);
	assert_int_equal(redeem_signing_refresh(&rd, NULL), 0);	/* no change */
	assert_int_equal(enroll_gen(&rd), 1);
	snprintf(cmd, sizeof(cmd), "'%s' --state '%s' ca rotate begin --ca "
	    "kubernetes >/dev/null && '%s' --state '%s' ca rotate advance --ca "
	    "kubernetes >/dev/null", bin, statedir, bin, statedir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(enroll_gen(&rd), 1);	/* not noticed yet */
	assert_int_equal(redeem_signing_refresh(&rd, NULL), 1);
	assert_int_equal(enroll_gen(&rd), 2);
	assert_int_equal(redeem_signing_refresh(&rd, NULL), 0);
	redeem_fini(&rd);
}

/* ---- a live server on 127.0.0.1 ---- */

struct resp {
	long code;
	struct buf body;
	char ctype[128];
};

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct buf *b = arg;

	if (buf_append(b, p, sz * n) != 0)
		return 0;
	return sz * n;
}

static void
get(int port, const char *method, const char *path, const char *token,
    const void *body, size_t blen, struct resp *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[256], auth[256];
	char *ct = NULL;

	memset(out, 0, sizeof(*out));
	assert_non_null(c);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (token != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)blen);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->code);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	snprintf(out->ctype, sizeof(out->ctype), "%s", ct ? ct : "");
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (out->body.data == NULL)
		assert_int_equal(buf_set(&out->body, "", 0), 0);
}

static int
listen_any(int *port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 128), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static char logbuf[1 << 16];
static size_t loglen;
static pthread_mutex_t logmu = PTHREAD_MUTEX_INITIALIZER;

static void
log_cb(void *cls, const char *line)
{
	size_t n = strlen(line);

	(void)cls;
	pthread_mutex_lock(&logmu);
	if (loglen + n + 2 < sizeof(logbuf)) {
		memcpy(logbuf + loglen, line, n);
		loglen += n;
		logbuf[loglen++] = '\n';
		logbuf[loglen] = '\0';
	}
	pthread_mutex_unlock(&logmu);
}

static void
test_live_server(void **s)
{
	struct redeem rd;
	struct http_tls tls;
	struct http_config hc;
	struct http_server *h = NULL;
	struct privsep_monitor *mon = NULL;
	struct privsep_client *pc = NULL;
	struct token_new a, b;
	struct resp r1, r2, r3;
	char bad[TOKEN_LEN + 1];
	int port, i, mfd[6], cfd[6], sv[2];

	(void)s;
	rd_init(&rd);
	assert_int_equal(http_tls_load(st, inv, sg, 0, "test", &tls, NULL), 0);
	/* the monitor's side in threads here, as serve runs it in a process */
	for (i = 0; i < 6; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
		    0, sv), 0);
		mfd[i] = sv[0];
		cfd[i] = sv[1];
	}
	assert_int_equal(privsep_monitor_start(&rd, mfd, 6, log_cb, NULL, &mon),
	    0);
	assert_int_equal(privsep_client_new(cfd, 6, NULL, NULL, &pc), 0);
	memset(&hc, 0, sizeof(hc));
	hc.listen_fd = listen_any(&port);
	hc.key_pem = (char *)tls.key_pem.data;
	hc.cert_pem = (char *)tls.cert_pem.data;
	hc.threads = 2;
	hc.workers = 2;
	hc.fail_burst = 4;
	hc.fail_window = 600;
	hc.ps = pc;
	hc.log = log_cb;
	assert_int_equal(http_server_start(&hc, &h, NULL), 0);
	mktok("test1", &a);
	mktok("test2", &b);

	get(port, "GET", "/healthz", NULL, NULL, 0, &r1);
	assert_int_equal(r1.code, 200);
	assert_string_equal((char *)r1.body.data, "ok\n");
	buf_free(&r1.body);
	get(port, "GET", "/v1/ca.pem", NULL, NULL, 0, &r1);
	assert_int_equal(r1.code, 200);
	assert_string_equal(r1.ctype, "application/x-pem-file");
	assert_non_null(strstr((char *)r1.body.data, "BEGIN CERTIFICATE"));
	buf_free(&r1.body);
	get(port, "GET", "/nope", NULL, NULL, 0, &r1);
	assert_int_equal(r1.code, 404);
	assert_string_equal((char *)r1.body.data, "{\"error\":\"not found\"}\n");
	buf_free(&r1.body);
	/* HEAD would consume a token for nothing: not allowed */
	get(port, "HEAD", "/v1/bundle", a.token, NULL, 0, &r1);
	assert_int_equal(r1.code, 405);
	buf_free(&r1.body);

	/* a 403 whose reason quotes the CSR: the log stays one line each */
	{
		struct token_new c;
		struct buf evil = { 0 };
		char *p;

		mktok("test1", &c);
		make_csr(KEY_EC_P256, "O=system:nodes,CN=evil\nfake line", NULL, 0,
		    NULL, 0, &evil);
		get(port, "POST", "/v1/enroll", c.token, evil.data, evil.len, &r1);
		assert_int_equal(r1.code, 403);
		assert_non_null(strstr((char *)r1.body.data, "CN must be"));
		buf_free(&r1.body);
		buf_free(&evil);
		pthread_mutex_lock(&logmu);
		p = strstr(logbuf, "fake line");
		assert_non_null(p);
		assert_int_not_equal(p[-1], '\n');
		pthread_mutex_unlock(&logmu);
		token_new_wipe(&c);
	}
	get(port, "GET", "/v1/bundle", a.token, NULL, 0, &r1);
	assert_int_equal(r1.code, 200);
	assert_string_equal(r1.ctype, "application/gzip");
	assert_string_equal((char *)r1.body.data, "FAKE-BUNDLE-test1");
	buf_free(&r1.body);
	/* used, malformed, wrong secret, other node: one identical answer */
	memcpy(bad, b.token, sizeof(bad));
	bad[TOKEN_LEN - 1] = bad[TOKEN_LEN - 1] == '0' ? '1' : '0';
	get(port, "GET", "/v1/bundle", a.token, NULL, 0, &r1);
	get(port, "GET", "/v1/bundle", "garbage", NULL, 0, &r2);
	get(port, "GET", "/v1/bundle?node=test1", b.token, NULL, 0, &r3);
	assert_int_equal(r1.code, 401);
	assert_int_equal(r2.code, 401);
	assert_int_equal(r3.code, 401);
	assert_int_equal(r1.body.len, r2.body.len);
	assert_memory_equal(r1.body.data, r2.body.data, r1.body.len);
	assert_memory_equal(r1.body.data, r3.body.data, r1.body.len);
	assert_string_equal((char *)r1.body.data,
	    "{\"error\":\"invalid or expired token\"}\n");
	buf_free(&r1.body);
	buf_free(&r2.body);
	buf_free(&r3.body);
	/* that was 3 failures (limit 4); the 4th blocks, even a good token */
	get(port, "GET", "/v1/bundle", bad, NULL, 0, &r1);
	assert_int_equal(r1.code, 401);
	buf_free(&r1.body);
	get(port, "GET", "/v1/bundle", b.token, NULL, 0, &r1);
	assert_int_equal(r1.code, 429);
	buf_free(&r1.body);
	/* enroll: wrong method, garbage (token checked first) */
	get(port, "GET", "/v1/enroll", b.token, NULL, 0, &r1);
	assert_int_equal(r1.code, 405);
	buf_free(&r1.body);
	get(port, "GET", "/metrics", NULL, NULL, 0, &r1);
	assert_int_equal(r1.code, 200);
	assert_non_null(strstr((char *)r1.body.data,
	    "slipway_http_requests_total{endpoint=\"/v1/bundle\",code=\"200\"} 1\n"));
	assert_non_null(strstr((char *)r1.body.data,
	    "slipway_token_attempts_total{outcome=\"rate_limited\"} 1\n"));
	assert_non_null(strstr((char *)r1.body.data,
	    "slipway_ca_expiry_seconds{ca=\"kubernetes\",generation=\"1\""));
	buf_free(&r1.body);
	/* the access log names token ids, never a token or its secret */
	assert_non_null(strstr(logbuf, a.info.id));
	assert_null(strstr(logbuf, a.token + TOKEN_ID_LEN + 1));
	assert_null(strstr(logbuf, b.token + TOKEN_ID_LEN + 1));
	assert_null(strstr(logbuf, bad + TOKEN_ID_LEN + 1));
	for (i = 0; i < 3; i++) {
		get(port, "GET", "/healthz", NULL, NULL, 0, &r1);
		buf_free(&r1.body);
	}
	http_server_stop(h, 5);
	privsep_client_free(pc);
	privsep_monitor_stop(mon, 0);
	http_tls_free(&tls);
	redeem_fini(&rd);
	token_new_wipe(&a);
	token_new_wipe(&b);
}

/* Sealed: answered without a monitor at all (ps is NULL: any ask crashes). */
static void
test_sealed_server(void **s)
{
	static const char sealed[] = "{\"error\":\"sealed\"}\n";
	static const char *const v1[] = { "/v1/ca.pem", "/v1/bundle",
	    "/v1/bundle?node=test1", "/v1/crl/kubernetes.pem", "/v1/nothing",
	    "/healthz" };
	struct http_tls tls;
	struct http_config hc;
	struct http_server *h = NULL;
	struct token_new a;
	struct resp r1;
	int port;
	size_t i;

	(void)s;
	assert_int_equal(http_tls_load(st, inv, sg, 0, "test", &tls, NULL), 0);
	memset(&hc, 0, sizeof(hc));
	hc.listen_fd = listen_any(&port);
	hc.key_pem = (char *)tls.key_pem.data;
	hc.cert_pem = (char *)tls.cert_pem.data;
	hc.threads = 1;
	hc.workers = 1;
	hc.sealed = 1;
	hc.log = log_cb;
	assert_int_equal(http_server_start(&hc, &h, NULL), 0);
	mktok("test1", &a);
	for (i = 0; i < sizeof(v1) / sizeof(v1[0]); i++) {
		get(port, "GET", v1[i], a.token, NULL, 0, &r1);
		assert_int_equal(r1.code, 503);
		assert_string_equal(r1.ctype, "application/json");
		assert_string_equal((char *)r1.body.data, sealed);
		buf_free(&r1.body);
	}
	get(port, "POST", "/v1/enroll", a.token, "x", 1, &r1);
	assert_int_equal(r1.code, 503);
	assert_string_equal((char *)r1.body.data, sealed);
	buf_free(&r1.body);
	get(port, "GET", "/nope", NULL, NULL, 0, &r1);
	assert_int_equal(r1.code, 404);
	buf_free(&r1.body);
	get(port, "GET", "/metrics", NULL, NULL, 0, &r1);
	assert_int_equal(r1.code, 200);
	assert_non_null(strstr((char *)r1.body.data, "\nslipway_sealed 1\n"));
	assert_non_null(strstr((char *)r1.body.data,
	    "slipway_http_requests_total{endpoint=\"/healthz\",code=\"503\"} 1\n"));
	assert_null(strstr((char *)r1.body.data, "slipway_ca_expiry_seconds"));
	buf_free(&r1.body);
	http_server_stop(h, 5);
	http_tls_free(&tls);
	token_new_wipe(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_listen_parse),
		cmocka_unit_test(test_error_json),
		cmocka_unit_test(test_ratelim),
		cmocka_unit_test(test_inflight),
		cmocka_unit_test(test_conntrack),
		cmocka_unit_test(test_conntrack_many_addresses),
		cmocka_unit_test(test_loglimit),
		cmocka_unit_test(test_metrics_text),
		cmocka_unit_test(test_tls_priorities),
		cmocka_unit_test_setup_teardown(test_enroll_policy, setup_state,
		    teardown_state),
		cmocka_unit_test_setup_teardown(test_serving_identity, setup_state,
		    teardown_state),
		cmocka_unit_test_setup_teardown(test_redeem_bundle, setup_state,
		    teardown_state),
		cmocka_unit_test_setup_teardown(test_redeem_race_without_guard,
		    setup_state, teardown_state),
		cmocka_unit_test_setup_teardown(test_redeem_enroll, setup_state,
		    teardown_state),
		cmocka_unit_test_setup_teardown(test_signer_follows_rotation,
		    setup_state, teardown_state),
		cmocka_unit_test_setup_teardown(test_live_server, setup_state,
		    teardown_state),
		cmocka_unit_test_setup_teardown(test_sealed_server, setup_state,
		    teardown_state),
	};
	int r;

	assert_int_equal(slw_crypto_init(), 0);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return r;
}
