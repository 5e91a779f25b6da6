// SPDX-License-Identifier: Apache-2.0
/*
 * privsep_test.c: serve's privilege separation below the processes: the
 * messages (every type round trips; caps, truncation, leftovers, unknown
 * types refused), frame I/O (a length over the cap is refused before any
 * allocation), the monitor's request table on a real store (answers; a
 * non-request, a malformed frame or an oversized one closes that channel
 * and the monitor goes on serving the others), and the client's pool (a
 * lost channel is dropped and reported, the others keep working).
 */
#include "testutil.h"

#include "cluster.h"
#include "http_redeem.h"
#include "privsep_client.h"
#include "privsep_monitor.h"
#include "privsep_msg.h"
#include "signing.h"
#include "store.h"
#include "token.h"

#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>

static const char TOK[] = "0123456789abcdef.0123456789abcdef0123456789abcdef01234567";

/* ---- messages ---- */

static void
roundtrip(const struct privsep_msg *m, struct privsep_msg *out)
{
	struct buf b = { 0 };
	size_t n;

	assert_int_equal(privsep_msg_write(m, &b), 0);
	n = (size_t)b.data[0] << 24 | (size_t)b.data[1] << 16 |
	    (size_t)b.data[2] << 8 | b.data[3];
	assert_int_equal(n, b.len - 4);
	assert_int_equal(privsep_msg_parse(b.data + 4, n, out, NULL), 0);
	assert_int_equal(out->type, m->type);
	buf_free(&b);
}

static void
test_msg_roundtrip(void **s)
{
	struct privsep_msg m, o;

	(void)s;
	privsep_msg_init(&m, PS_ENROLL);
	memcpy(m.u.req.token, TOK, strlen(TOK));
	m.u.req.token_len = strlen(TOK);
	snprintf(m.u.req.peer, sizeof(m.u.req.peer), "fe80::1%%eth0");
	snprintf(m.u.req.node, sizeof(m.u.req.node), "test1");
	assert_int_equal(buf_set(&m.u.req.csr, "CSR", 3), 0);
	roundtrip(&m, &o);
	assert_int_equal(o.u.req.token_len, strlen(TOK));
	assert_memory_equal(o.u.req.token, TOK, strlen(TOK));
	assert_string_equal(o.u.req.peer, "fe80::1%eth0");
	assert_string_equal(o.u.req.node, "test1");
	assert_int_equal(o.u.req.csr.len, 3);
	privsep_msg_free(&o);
	privsep_msg_free(&m);

	privsep_msg_init(&m, PS_TOKEN_ANS);
	m.u.tok.rc = SLW_ERR_DENIED;
	m.u.tok.why = TOKEN_OK;
	snprintf(m.u.tok.id, sizeof(m.u.tok.id), "0123456789abcdef");
	snprintf(m.u.tok.node, sizeof(m.u.tok.node), "test2");
	snprintf(m.u.tok.text, sizeof(m.u.tok.text), "enroll: no");
	roundtrip(&m, &o);
	assert_int_equal(o.u.tok.rc, SLW_ERR_DENIED);
	assert_string_equal(o.u.tok.id, "0123456789abcdef");
	assert_string_equal(o.u.tok.node, "test2");
	assert_string_equal(o.u.tok.text, "enroll: no");
	privsep_msg_free(&o);
	privsep_msg_free(&m);

	privsep_msg_init(&m, PS_CONFIG);
	m.u.cfg.threads = 2;
	m.u.cfg.workers = 8;
	m.u.cfg.n_chan = 12;
	m.u.cfg.grace = 30;
	m.u.cfg.serving_not_after = 4102444800LL;
	m.u.cfg.flags = PS_CFG_SEALED | PS_CFG_METRICS;
	assert_int_equal(buf_set(&m.u.cfg.key_pem, "KEY", 3), 0);
	assert_int_equal(buf_set(&m.u.cfg.cert_pem, "CERT", 4), 0);
	roundtrip(&m, &o);
	assert_int_equal(o.u.cfg.n_chan, 12);
	assert_int_equal(o.u.cfg.flags, PS_CFG_SEALED | PS_CFG_METRICS);
	assert_int_equal(o.u.cfg.serving_not_after, 4102444800LL);
	assert_string_equal((char *)o.u.cfg.key_pem.data, "KEY");
	privsep_msg_free(&o);
	{	/* a flag this build does not know is refused */
		struct buf b = { 0 };

		m.u.cfg.flags = 0x4;
		assert_int_equal(privsep_msg_write(&m, &b), 0);
		assert_int_equal(privsep_msg_parse(b.data + 4, b.len - 4, &o,
		    NULL), SLW_ERR_PARSE);
		buf_free(&b);
	}
	privsep_msg_free(&m);

	privsep_msg_init(&m, PS_HEALTH);
	roundtrip(&m, &o);
	privsep_msg_free(&o);

	privsep_msg_init(&m, PS_CRL_PEM);
	snprintf(m.u.crl.ca, sizeof(m.u.crl.ca), "front-proxy");
	roundtrip(&m, &o);
	assert_string_equal(o.u.crl.ca, "front-proxy");
	privsep_msg_free(&o);
	/* only a CA name is sent */
	snprintf(m.u.crl.ca, sizeof(m.u.crl.ca), "../etc");
	{
		struct buf b = { 0 };

		assert_int_equal(privsep_msg_write(&m, &b), SLW_ERR_INVALID);
		assert_int_equal(b.len, 0);
		buf_free(&b);
	}
}

static void
test_msg_refused(void **s)
{
	struct privsep_msg m, o;
	struct buf b = { 0 };
	struct slw_diag d;
	uint8_t x[8];
	size_t i;

	(void)s;
	/* a token over its cap, a CSR over 64 KiB: not even serialized */
	privsep_msg_init(&m, PS_ENROLL);
	m.u.req.token_len = PS_TOKEN_MAX + 1;
	snprintf(m.u.req.peer, sizeof(m.u.req.peer), "1.2.3.4");
	assert_int_equal(privsep_msg_write(&m, &b), SLW_ERR_INVALID);
	assert_int_equal(b.len, 0);
	memcpy(m.u.req.token, TOK, strlen(TOK));
	m.u.req.token_len = strlen(TOK);
	m.u.req.csr.data = calloc(1, CSR_MAX_LEN + 2);
	m.u.req.csr.len = CSR_MAX_LEN + 1;
	assert_int_equal(privsep_msg_write(&m, &b), SLW_ERR_TOOBIG);
	assert_int_equal(b.len, 0);
	m.u.req.csr.len = 10;
	assert_int_equal(privsep_msg_write(&m, &b), 0);
	/* every truncation and a trailing byte are refused, with a reason */
	for (i = 1; i < b.len - 4; i++) {
		slw_diag_clear(&d);
		assert_int_equal(privsep_msg_parse(b.data + 4, i, &o, &d),
		    SLW_ERR_PARSE);
		assert_true(d.msg[0] != '\0');
		assert_int_equal(o.type, 0);
	}
	assert_int_equal(buf_append(&b, "x", 1), 0);
	assert_int_equal(privsep_msg_parse(b.data + 4, b.len - 4, &o, NULL),
	    SLW_ERR_PARSE);
	buf_free(&b);
	privsep_msg_free(&m);
	/* unknown types, and a bare answer type without its fields */
	x[0] = 0;
	assert_int_equal(privsep_msg_parse(x, 1, &o, NULL), SLW_ERR_PARSE);
	x[0] = 200;
	assert_int_equal(privsep_msg_parse(x, 1, &o, NULL), SLW_ERR_PARSE);
	x[0] = PS_TOKEN_ANS;
	assert_int_equal(privsep_msg_parse(x, 1, &o, NULL), SLW_ERR_PARSE);
	assert_int_equal(privsep_msg_parse(x, 0, &o, NULL), SLW_ERR_PARSE);
	/* the table of what a child may ask */
	assert_true(privsep_msg_type_is_request(PS_REDEEM));
	assert_false(privsep_msg_type_is_request(PS_CONFIG));
	assert_false(privsep_msg_type_is_request(PS_TOKEN_ANS));
	assert_false(privsep_msg_type_is_request(0));
}

/* ---- the approver's messages ---- */

static const char CSRPEM[] = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n"
    "-----END CERTIFICATE REQUEST-----\n";

static void
sign_req(struct privsep_msg *m)
{
	static const char *const groups[] = { "system:bootstrappers",
	    "system:bootstrappers:test1", "system:authenticated" };
	static const char *const usages[] = { "digital signature",
	    "client auth" };

	privsep_msg_init(m, PS_APR_SIGN);
	snprintf(m->u.asign.name, sizeof(m->u.asign.name), "node-csr-abc");
	snprintf(m->u.asign.uid, sizeof(m->u.asign.uid), "1f0e-22");
	snprintf(m->u.asign.signer, sizeof(m->u.asign.signer),
	    "kubernetes.io/kube-apiserver-client-kubelet");
	m->u.asign.username = "system:bootstrap:aaaaaa";
	m->u.asign.requester_uid = "";
	memcpy(m->u.asign.groups, groups, sizeof(groups));
	m->u.asign.n_groups = 3;
	memcpy(m->u.asign.usages, usages, sizeof(usages));
	m->u.asign.n_usages = 2;
	m->u.asign.expiration_seconds = 3600;
	m->u.asign.request.data = (uint8_t *)CSRPEM;	/* borrowed */
	m->u.asign.request.len = strlen(CSRPEM);
}

static void
test_apr_roundtrip(void **s)
{
	struct privsep_msg m, o;

	(void)s;
	privsep_msg_init(&m, PS_APR_CONFIG);
	m.u.acfg.flags = PS_APR_ONCE | PS_APR_CONSOLE;
	m.u.acfg.token_sync_seconds = 60;
	snprintf(m.u.acfg.apiserver, sizeof(m.u.acfg.apiserver),
	    "https://192.168.0.235:8443");
	assert_int_equal(buf_set(&m.u.acfg.inventory, "nodes: []\n", 10), 0);
	roundtrip(&m, &o);
	assert_int_equal(o.u.acfg.flags, PS_APR_ONCE | PS_APR_CONSOLE);
	assert_int_equal(o.u.acfg.token_sync_seconds, 60);
	assert_string_equal(o.u.acfg.apiserver, "https://192.168.0.235:8443");
	assert_int_equal(o.u.acfg.inventory.len, 10);
	privsep_msg_free(&o);
	privsep_msg_free(&m);

	privsep_msg_init(&m, PS_APR_TOKEN);
	snprintf(m.u.atok.node, sizeof(m.u.atok.node), "node1.lab");
	m.u.atok.secret = 1;
	roundtrip(&m, &o);
	assert_string_equal(o.u.atok.node, "node1.lab");
	assert_int_equal(o.u.atok.secret, 1);
	privsep_msg_free(&o);

	privsep_msg_init(&m, PS_APR_TOKEN_ANS);
	memcpy(m.u.atans.id, "abc123", 7);
	memcpy(m.u.atans.secret, "0123456789abcdef", 17);
	m.u.atans.expires = 1800000000;
	roundtrip(&m, &o);
	assert_string_equal(o.u.atans.id, "abc123");
	assert_string_equal(o.u.atans.secret, "0123456789abcdef");
	assert_int_equal(o.u.atans.expires, 1800000000);
	privsep_msg_free(&o);	/* wipes the secret */
	assert_int_equal(o.u.atans.secret[0], 0);

	privsep_msg_init(&m, PS_APR_AUDIT);
	m.u.aaud.action = PS_APR_AUDIT_CSR_DENY;
	snprintf(m.u.aaud.object, sizeof(m.u.aaud.object), "node-csr-abc");
	snprintf(m.u.aaud.detail, sizeof(m.u.aaud.detail), "kubelet-serving: "
	    "DNS SAN 'évil' is not the node's");
	roundtrip(&m, &o);
	assert_string_equal(privsep_msg_apr_action_name(o.u.aaud.action),
	    "csr.deny");
	assert_non_null(strstr(o.u.aaud.detail, "évil"));
	privsep_msg_free(&o);

	privsep_msg_init(&m, PS_APR_CERT);
	assert_int_equal(buf_set(&m.u.acert.csr, "\x30\x82", 2), 0);
	roundtrip(&m, &o);
	assert_int_equal(o.u.acert.csr.len, 2);
	privsep_msg_free(&o);
	privsep_msg_free(&m);

	privsep_msg_init(&m, PS_APR_CERT_ANS);
	m.u.acans.not_after = 1800000000;
	assert_int_equal(buf_set(&m.u.acans.cert, "CERT", 4), 0);
	assert_int_equal(buf_set(&m.u.acans.trust, "TRUST", 5), 0);
	roundtrip(&m, &o);
	assert_int_equal(o.u.acans.not_after, 1800000000);
	assert_string_equal((char *)o.u.acans.trust.data, "TRUST");
	privsep_msg_free(&o);
	privsep_msg_free(&m);

	sign_req(&m);
	roundtrip(&m, &o);
	assert_string_equal(o.u.asign.name, "node-csr-abc");
	assert_string_equal(o.u.asign.uid, "1f0e-22");
	assert_string_equal(o.u.asign.username, "system:bootstrap:aaaaaa");
	assert_string_equal(o.u.asign.requester_uid, "");
	assert_int_equal(o.u.asign.n_groups, 3);
	assert_string_equal(o.u.asign.groups[1], "system:bootstrappers:test1");
	assert_int_equal(o.u.asign.n_usages, 2);
	assert_string_equal(o.u.asign.usages[1], "client auth");
	assert_int_equal(o.u.asign.expiration_seconds, 3600);
	assert_memory_equal(o.u.asign.request.data, CSRPEM, strlen(CSRPEM));
	privsep_msg_free(&o);

	privsep_msg_init(&m, PS_APR_SIGN_ANS);
	snprintf(m.u.asans.node, sizeof(m.u.asans.node), "test1");
	snprintf(m.u.asans.serial, sizeof(m.u.asans.serial),
	    "0123456789abcdef0123456789abcdef");
	m.u.asans.again = 1;
	assert_int_equal(buf_set(&m.u.asans.chain, "PEM", 3), 0);
	roundtrip(&m, &o);
	assert_int_equal(o.u.asans.again, 1);
	assert_string_equal(o.u.asans.node, "test1");
	privsep_msg_free(&o);
	privsep_msg_free(&m);

	privsep_msg_init(&m, PS_APR_DONE);
	m.u.adone.rc = SLW_ERR_IO;
	m.u.adone.signed_ = 7;
	snprintf(m.u.adone.text, sizeof(m.u.adone.text), "some CSRs could not "
	    "be processed");
	roundtrip(&m, &o);
	assert_int_equal(o.u.adone.rc, SLW_ERR_IO);
	assert_int_equal(o.u.adone.signed_, 7);
	privsep_msg_free(&o);

	assert_true(privsep_msg_type_is_apr_request(PS_APR_SIGN));
	assert_true(privsep_msg_type_is_apr_request(PS_APR_TOKEN));
	assert_false(privsep_msg_type_is_apr_request(PS_APR_CONFIG));
	assert_false(privsep_msg_type_is_apr_request(PS_REDEEM));
	assert_false(privsep_msg_type_is_request(PS_APR_SIGN));
	assert_null(privsep_msg_apr_action_name(PS_APR_AUDIT__COUNT));
}

/* Serializes m (which must serialize) and expects the parse to refuse. */
static void
refused(const struct privsep_msg *m, const char *what)
{
	struct privsep_msg o;
	struct buf b = { 0 };
	int r;

	assert_int_equal(privsep_msg_write(m, &b), 0);
	r = privsep_msg_parse(b.data + 4, b.len - 4, &o, NULL);
	if (r != SLW_ERR_PARSE)
		fail_msg("%s: parsed (%d)", what, r);
	assert_int_equal(o.type, 0);
	buf_free(&b);
}

static void
test_apr_refused(void **s)
{
	struct privsep_msg m;
	struct buf b = { 0 };
	const char *many[PS_APR_GROUPS_MAX + 1];
	char big[PS_APR_STR_MAX + 1];
	size_t i;

	(void)s;
	privsep_msg_init(&m, PS_APR_CONFIG);
	assert_int_equal(buf_set(&m.u.acfg.inventory, "x", 1), 0);
	m.u.acfg.flags = 0x4;
	refused(&m, "an unknown config flag");
	m.u.acfg.flags = 0;
	snprintf(m.u.acfg.apiserver, sizeof(m.u.acfg.apiserver), "http://x");
	refused(&m, "a URL that is not https");
	privsep_msg_free(&m);

	privsep_msg_init(&m, PS_APR_TOKEN);
	snprintf(m.u.atok.node, sizeof(m.u.atok.node), "../x");
	refused(&m, "a node name with a slash");
	m.u.atok.node[0] = '\0';
	refused(&m, "no node");

	privsep_msg_init(&m, PS_APR_TOKEN_ANS);
	memcpy(m.u.atans.id, "ABC123", 7);
	refused(&m, "a token id in capitals");
	memcpy(m.u.atans.id, "abc123", 7);
	memcpy(m.u.atans.secret, "short", 6);
	refused(&m, "a secret of the wrong length");
	m.u.atans.secret[0] = '\0';
	m.u.atans.rc = SLW_ERR_NOTFOUND;
	refused(&m, "an id with an error");

	privsep_msg_init(&m, PS_APR_AUDIT);
	m.u.aaud.action = PS_APR_AUDIT__COUNT;
	snprintf(m.u.aaud.object, sizeof(m.u.aaud.object), "x");
	refused(&m, "an audit action outside the table");
	m.u.aaud.action = PS_APR_AUDIT_CSR_FAIL;
	snprintf(m.u.aaud.detail, sizeof(m.u.aaud.detail), "two\nlines");
	refused(&m, "a control character in an audit detail");

	sign_req(&m);
	snprintf(m.u.asign.name, sizeof(m.u.asign.name), "a/b");
	refused(&m, "a CSR name with a slash");
	sign_req(&m);
	snprintf(m.u.asign.uid, sizeof(m.u.asign.uid), "../../x");
	refused(&m, "a CSR uid with a slash");
	sign_req(&m);
	m.u.asign.expiration_seconds = -1;
	refused(&m, "a negative expiration");
	sign_req(&m);
	m.u.asign.request.len = 0;
	refused(&m, "no request");
	/* more groups than a CSR may carry, a group over its cap: not even
	 * serialized */
	sign_req(&m);
	for (i = 0; i <= PS_APR_GROUPS_MAX; i++)
		many[i] = "g";
	memcpy(m.u.asign.groups, many, sizeof(m.u.asign.groups));
	m.u.asign.n_groups = PS_APR_GROUPS_MAX + 1;
	assert_int_equal(privsep_msg_write(&m, &b), SLW_ERR_INVALID);
	assert_int_equal(b.len, 0);
	sign_req(&m);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	m.u.asign.username = big;
	assert_int_equal(privsep_msg_write(&m, &b), SLW_ERR_INVALID);
	assert_int_equal(b.len, 0);
	buf_free(&b);

	privsep_msg_init(&m, PS_APR_SIGN_ANS);
	m.u.asans.rc = SLW_ERR_DENIED;
	assert_int_equal(buf_set(&m.u.asans.chain, "PEM", 3), 0);
	refused(&m, "a refusal that carries a certificate");
	privsep_msg_free(&m);
	privsep_msg_init(&m, PS_APR_SIGN_ANS);
	snprintf(m.u.asans.node, sizeof(m.u.asans.node), "test1");
	snprintf(m.u.asans.serial, sizeof(m.u.asans.serial), "xyz");
	assert_int_equal(buf_set(&m.u.asans.chain, "PEM", 3), 0);
	refused(&m, "a serial that is not hex");
	privsep_msg_free(&m);

	privsep_msg_init(&m, PS_APR_CERT_ANS);
	m.u.acans.rc = SLW_ERR_LIMIT;
	assert_int_equal(buf_set(&m.u.acans.cert, "C", 1), 0);
	refused(&m, "a refused certificate with a body");
	privsep_msg_free(&m);
}

static void
test_recv_cap(void **s)
{
	struct privsep_msg o;
	uint8_t hdr[5] = { 0x7f, 0xff, 0xff, 0xff, PS_HEALTH };
	int sv[2];

	(void)s;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* 2 GiB announced: refused from the header alone */
	assert_int_equal(write(sv[0], hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	assert_int_equal(privsep_io_recv(sv[1], PS_REQ_FRAME_MAX, &o, NULL),
	    SLW_ERR_TOOBIG);
	close(sv[0]);
	/* end of stream */
	assert_int_equal(privsep_io_recv(sv[1], PS_REQ_FRAME_MAX, &o, NULL),
	    SLW_ERR_IO);
	close(sv[1]);
}

/* ---- the monitor on a real store ---- */

static char *dir;
static struct store *st;
static struct inventory *inv;
static struct redeem rd;

static int
setup_state(void **s)
{
	char cmd[9000], statedir[4200];
	const char *bin = getenv("SLIPWAY");
	struct store_opts o;
	struct signing *sg = NULL;

	(void)s;
	assert_non_null(bin);
	dir = tu_tmpdir();
	snprintf(statedir, sizeof(statedir), "%s/state", dir);
	snprintf(cmd, sizeof(cmd), "'%s' --state '%s' init --cluster '%s' "
	    ">/dev/null", bin, statedir, SLW_EXAMPLES_DIR "/seed-cluster.yaml");
	assert_int_equal(system(cmd), 0);
	memset(&o, 0, sizeof(o));
	o.need_kek = 1;
	assert_int_equal(store_open(statedir, &o, &st, NULL), 0);
	assert_int_equal(cluster_load(st, &inv, NULL), 0);
	assert_int_equal(signing_local_new(st, &sg, NULL), 0);
	assert_int_equal(redeem_init(&rd, st, inv, sg, NULL), 0);
	return 0;
}

static int
teardown_state(void **s)
{
	(void)s;
	redeem_fini(&rd);
	inventory_free(inv);
	store_close(st);
	tu_rmrf(dir);
	free(dir);
	return 0;
}

static char logbuf[8192];
static pthread_mutex_t logmu = PTHREAD_MUTEX_INITIALIZER;

static void
log_cb(void *cls, const char *line)
{
	(void)cls;
	pthread_mutex_lock(&logmu);
	if (strlen(logbuf) + strlen(line) + 2 < sizeof(logbuf)) {
		strcat(logbuf, line);
		strcat(logbuf, "\n");
	}
	pthread_mutex_unlock(&logmu);
}

static void
pairs(int *mon, int *kid, size_t n)
{
	int sv[2];
	size_t i;

	for (i = 0; i < n; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
		    0, sv), 0);
		mon[i] = sv[0];
		kid[i] = sv[1];
	}
}

/* Read until the monitor closes its end (bounded by the socket). */
static int
closed_by_peer(int fd)
{
	char c;
	struct timeval tv = { 10, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return read(fd, &c, 1) == 0;
}

static void
test_monitor_table(void **s)
{
	struct privsep_monitor *m = NULL;
	struct privsep_msg q, a;
	struct buf b = { 0 };
	int mon[4], kid[4];
	uint8_t junk[] = { 0, 0, 0, 3, 0xee, 1, 2 };
	uint8_t huge[] = { 0, 0x10, 0, 0 };

	(void)s;
	logbuf[0] = '\0';
	pairs(mon, kid, 4);
	assert_int_equal(privsep_monitor_start(&rd, mon, 4, log_cb, NULL, &m), 0);
	assert_int_equal(privsep_monitor_live(m), 4);

	/* channel 0: the permitted requests */
	privsep_msg_init(&q, PS_CA_PEM);
	assert_int_equal(privsep_io_send(kid[0], &q), 0);
	assert_int_equal(privsep_io_recv(kid[0], PS_ANS_FRAME_MAX, &a, NULL), 0);
	assert_int_equal(a.type, PS_BYTES_ANS);
	assert_int_equal(a.u.bytes.rc, 0);
	assert_non_null(strstr((char *)a.u.bytes.body.data,
	    "BEGIN CERTIFICATE"));
	privsep_msg_free(&a);
	privsep_msg_init(&q, PS_HEALTH);
	assert_int_equal(privsep_io_send(kid[0], &q), 0);
	assert_int_equal(privsep_io_recv(kid[0], PS_ANS_FRAME_MAX, &a, NULL), 0);
	assert_int_equal(a.u.bytes.rc, 0);
	privsep_msg_free(&a);
	privsep_msg_init(&q, PS_METRICS);
	assert_int_equal(privsep_io_send(kid[0], &q), 0);
	assert_int_equal(privsep_io_recv(kid[0], PS_ANS_FRAME_MAX, &a, NULL), 0);
	assert_non_null(strstr((char *)a.u.bytes.body.data,
	    "slipway_ca_expiry_seconds{ca=\"kubernetes\",generation=\"1\""));
	/* the bootstrap port's: no per-certificate (per-node) series */
	assert_null(strstr((char *)a.u.bytes.body.data,
	    "slipway_cert_expiry_seconds{"));
	privsep_msg_free(&a);
	/* the metrics listener's: the expiry view too */
	privsep_msg_init(&q, PS_METRICS_ALL);
	assert_int_equal(privsep_io_send(kid[0], &q), 0);
	assert_int_equal(privsep_io_recv(kid[0], PS_ANS_FRAME_MAX, &a, NULL), 0);
	assert_int_equal(a.type, PS_BYTES_ANS);
	assert_int_equal(a.u.bytes.rc, 0);
	assert_non_null(strstr((char *)a.u.bytes.body.data,
	    "slipway_certs_in_use "));
	assert_non_null(strstr((char *)a.u.bytes.body.data,
	    "slipway_ca_expiry_seconds{ca=\"kubernetes\",generation=\"1\""));
	assert_non_null(strstr((char *)a.u.bytes.body.data,
	    "slipway_store_map_used_bytes "));
	privsep_msg_free(&a);
	/* an unknown token: the usual refusal, nothing else */
	privsep_msg_init(&q, PS_PRECHECK);
	memcpy(q.u.req.token, TOK, strlen(TOK));
	q.u.req.token_len = strlen(TOK);
	snprintf(q.u.req.peer, sizeof(q.u.req.peer), "127.0.0.1");
	assert_int_equal(privsep_io_send(kid[0], &q), 0);
	privsep_msg_free(&q);
	assert_int_equal(privsep_io_recv(kid[0], PS_ANS_FRAME_MAX, &a, NULL), 0);
	assert_int_equal(a.type, PS_TOKEN_ANS);
	assert_int_equal(a.u.tok.rc, SLW_ERR_AUTH);
	assert_int_equal(a.u.tok.why, TOKEN_FAIL_UNKNOWN);
	assert_int_equal(a.u.tok.body.len, 0);
	privsep_msg_free(&a);
	/* the CRL of a CA (signed on first request), and an unknown CA */
	privsep_msg_init(&q, PS_CRL_PEM);
	snprintf(q.u.crl.ca, sizeof(q.u.crl.ca), "etcd");
	assert_int_equal(privsep_io_send(kid[0], &q), 0);
	assert_int_equal(privsep_io_recv(kid[0], PS_ANS_FRAME_MAX, &a, NULL), 0);
	assert_int_equal(a.type, PS_BYTES_ANS);
	assert_int_equal(a.u.bytes.rc, 0);
	assert_int_equal(strncmp((char *)a.u.bytes.body.data,
	    "-----BEGIN X509 CRL-----", 24), 0);
	privsep_msg_free(&a);
	snprintf(q.u.crl.ca, sizeof(q.u.crl.ca), "nosuchca");
	assert_int_equal(privsep_io_send(kid[0], &q), 0);
	assert_int_equal(privsep_io_recv(kid[0], PS_ANS_FRAME_MAX, &a, NULL), 0);
	assert_int_equal(a.u.bytes.rc, SLW_ERR_NOTFOUND);
	assert_int_equal(a.u.bytes.body.len, 0);
	privsep_msg_free(&a);

	/* channel 1: a type the child may not send -> closed, logged */
	privsep_msg_init(&q, PS_CONFIG);
	q.u.cfg.threads = q.u.cfg.workers = q.u.cfg.n_chan = 1;
	assert_int_equal(buf_set(&q.u.cfg.key_pem, "K", 1), 0);
	assert_int_equal(buf_set(&q.u.cfg.cert_pem, "C", 1), 0);
	assert_int_equal(privsep_io_send(kid[1], &q), 0);
	privsep_msg_free(&q);
	assert_true(closed_by_peer(kid[1]));
	/* channel 2: garbage */
	assert_int_equal(write(kid[2], junk, sizeof(junk)), (ssize_t)sizeof(junk));
	assert_true(closed_by_peer(kid[2]));
	/* channel 3: a frame over the request cap, refused from its header */
	assert_int_equal(write(kid[3], huge, sizeof(huge)), (ssize_t)sizeof(huge));
	assert_true(closed_by_peer(kid[3]));
	pthread_mutex_lock(&logmu);
	assert_non_null(strstr(logbuf, "'config' is not a request"));
	assert_non_null(strstr(logbuf, "unknown message type 238"));
	assert_non_null(strstr(logbuf, "at most 69632"));
	assert_null(strstr(logbuf, TOK + TOKEN_ID_LEN + 1));
	pthread_mutex_unlock(&logmu);
	/* the monitor goes on serving channel 0 */
	privsep_msg_init(&q, PS_HEALTH);
	assert_int_equal(privsep_io_send(kid[0], &q), 0);
	assert_int_equal(privsep_io_recv(kid[0], PS_ANS_FRAME_MAX, &a, NULL), 0);
	assert_int_equal(a.u.bytes.rc, 0);
	privsep_msg_free(&a);
	assert_int_equal(privsep_monitor_live(m), 1);
	close(kid[0]);
	close(kid[1]);
	close(kid[2]);
	close(kid[3]);
	privsep_monitor_stop(m, 0);
	buf_free(&b);
}

static size_t lost_left = 99;

static void
lost_cb(void *cls, size_t left)
{
	(void)cls;
	lost_left = left;
}

static void
test_client_pool(void **s)
{
	struct privsep_monitor *m = NULL;
	struct privsep_client *pc = NULL;
	struct redeem_req q;
	struct redeem_res res;
	struct buf pem = { 0 };
	int mon[2], kid[2], i;

	(void)s;
	pairs(mon, kid, 2);
	/* only channel 1 is served: channel 0's monitor end is closed */
	close(mon[0]);
	assert_int_equal(privsep_monitor_start(&rd, mon + 1, 1, NULL, NULL, &m),
	    0);
	assert_int_equal(privsep_client_new(kid, 2, lost_cb, NULL, &pc), 0);
	/* one call meets the dead channel (or not); either way two work */
	for (i = 0; i < 3; i++) {
		int r = privsep_client_ca_pem(pc, &pem);

		assert_true(r == 0 || r == SLW_ERR_IO);
		buf_free(&pem);
	}
	assert_int_equal(privsep_client_live(pc), 1);
	assert_int_equal(lost_left, 1);
	assert_int_equal(privsep_client_health(pc, NULL, 0), 0);
	memset(&q, 0, sizeof(q));
	q.token = "nonsense";
	q.token_len = 8;
	q.peer = "10.0.0.1";
	assert_int_equal(privsep_client_precheck(pc, &q, &res, NULL), SLW_ERR_AUTH);
	assert_int_equal(res.why, TOKEN_FAIL_MALFORMED);
	redeem_res_free(&res);
	assert_int_equal(privsep_client_crl_pem(pc, "kubernetes", &pem), 0);
	assert_non_null(tu_memmem(pem.data, pem.len, "BEGIN X509 CRL", 14));
	buf_free(&pem);
	assert_int_equal(privsep_client_crl_pem(pc, "nope", &pem), SLW_ERR_NOTFOUND);
	assert_int_equal(privsep_client_crl_pem(pc,
	    "a-name-longer-than-a-ca-name-can-be", &pem), SLW_ERR_NOTFOUND);
	privsep_client_free(pc);
	privsep_monitor_stop(m, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_roundtrip),
		cmocka_unit_test(test_msg_refused),
		cmocka_unit_test(test_apr_roundtrip),
		cmocka_unit_test(test_apr_refused),
		cmocka_unit_test(test_recv_cap),
		cmocka_unit_test_setup_teardown(test_monitor_table, setup_state,
		    teardown_state),
		cmocka_unit_test_setup_teardown(test_client_pool, setup_state,
		    teardown_state),
	};

	assert_int_equal(slw_crypto_init(), 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
