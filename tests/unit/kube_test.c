// SPDX-License-Identifier: Apache-2.0
/*
 * kube_test.c: the Kubernetes API client's pure parts: JSON size caps and
 * refusals, watch streams cut anywhere into lines (and an oversized line
 * refused), watch events (ADDED, BOOKMARK, ERROR 410 / 500), HTTP status to
 * SLW_ERR_* mapping (409 AlreadyExists vs Conflict), capped exponential
 * backoff with jitter, query escaping, and client set-up refusing bad URLs
 * without touching the network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kube.h"
#include "rand.h"

static void
test_json_parse(void **st)
{
	struct slw_diag d;
	cJSON *j = NULL;
	const char *ok = "{\"a\":{\"b\":\"c\"},\"n\":3}\n";
	char *big;

	(void)st;
	slw_diag_clear(&d);
	assert_int_equal(kube_json_parse((const uint8_t *)ok, strlen(ok), 1024,
	    &j, &d), 0);
	assert_string_equal(kube_str(j, "a.b"), "c");
	assert_null(kube_str(j, "a.x"));
	assert_null(kube_str(j, "n"));		/* not a string */
	assert_null(kube_str(j, "a.b.c"));	/* through a string */
	assert_non_null(kube_item(j, "n"));
	kube_json_free_wipe(j);

	assert_int_equal(kube_json_parse((const uint8_t *)ok, strlen(ok), 10,
	    &j, &d), SLW_ERR_TOOBIG);
	assert_null(j);
	assert_int_equal(kube_json_parse((const uint8_t *)"{\"a\":1} x", 9,
	    1024, &j, NULL), SLW_ERR_PARSE);
	assert_int_equal(kube_json_parse((const uint8_t *)"{\"a\":1", 6, 1024,
	    &j, NULL), SLW_ERR_PARSE);
	assert_int_equal(kube_json_parse((const uint8_t *)"{\"a\":\"\0\"}", 9,
	    1024, &j, NULL), SLW_ERR_PARSE);
	assert_int_equal(kube_json_parse((const uint8_t *)"", 0, 1024, &j,
	    NULL), SLW_ERR_PARSE);
	/* nesting beyond cJSON's limit is refused, not a stack overflow */
	big = malloc(200001);
	memset(big, '[', 100000);
	memset(big + 100000, ']', 100000);
	assert_int_equal(kube_json_parse((const uint8_t *)big, 200000,
	    KUBE_MAX_BODY, &j, NULL), SLW_ERR_PARSE);
	free(big);
}

static void
test_json_print(void **st)
{
	struct buf out = { 0 };
	cJSON *j = cJSON_CreateObject(), *back = NULL;
	char longv[20000];

	(void)st;
	memset(longv, 'x', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	cJSON_AddStringToObject(j, "secret", "s3cr3t");
	cJSON_AddStringToObject(j, "long", longv);	/* forces regrowth */
	assert_int_equal(kube_json_print(j, &out), 0);
	assert_int_equal(kube_json_parse(out.data, out.len, KUBE_MAX_BODY,
	    &back, NULL), 0);
	assert_true(cJSON_Compare(j, back, 1));
	kube_json_free_wipe(back);
	kube_json_free_wipe(j);
	buf_free(&out);
}

struct lines_seen {
	char got[8][64];
	int n;
	int fail_at;
};

static int
on_line(void *arg, const uint8_t *p, size_t n)
{
	struct lines_seen *s = arg;

	if (s->n == s->fail_at)
		return SLW_ERR_INVALID;
	snprintf(s->got[s->n++], 64, "%.*s", (int)n, (const char *)p);
	return 0;
}

static void
test_lines(void **st)
{
	const char *stream = "{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}\n";
	struct kube_lines l;
	struct lines_seen s;
	size_t cut, i;
	uint8_t *big;

	(void)st;
	/* the same lines whatever the chunking */
	for (cut = 1; cut <= strlen(stream); cut++) {
		memset(&l, 0, sizeof(l));
		memset(&s, 0, sizeof(s));
		s.fail_at = -1;
		for (i = 0; i < strlen(stream); i += cut) {
			size_t n = strlen(stream) - i < cut ?
			    strlen(stream) - i : cut;

			assert_int_equal(kube_lines_feed(&l,
			    (const uint8_t *)stream + i, n, on_line, &s), 0);
		}
		assert_int_equal(s.n, 3);
		assert_string_equal(s.got[0], "{\"a\":1}");
		assert_string_equal(s.got[1], "{\"b\":2}\r");
		assert_string_equal(s.got[2], "{\"c\":3}");
		kube_lines_free(&l);
	}
	/* the callback's error ends the feed */
	memset(&l, 0, sizeof(l));
	memset(&s, 0, sizeof(s));
	s.fail_at = 1;
	assert_int_equal(kube_lines_feed(&l, (const uint8_t *)stream,
	    strlen(stream), on_line, &s), SLW_ERR_INVALID);
	kube_lines_free(&l);
	/* one line over the cap is refused, even if it arrives in pieces */
	memset(&l, 0, sizeof(l));
	memset(&s, 0, sizeof(s));
	s.fail_at = -1;
	big = malloc(1 << 20);
	memset(big, 'x', 1 << 20);
	for (i = 0; i < KUBE_MAX_EVENT / (1 << 20); i++)
		assert_int_equal(kube_lines_feed(&l, big, 1 << 20, on_line, &s),
		    0);
	assert_int_equal(kube_lines_feed(&l, big, 1, on_line, &s),
	    SLW_ERR_TOOBIG);
	assert_int_equal(kube_lines_feed(&l, (const uint8_t *)"\n", 1, on_line,
	    &s), SLW_ERR_TOOBIG);
	assert_int_equal(s.n, 0);
	kube_lines_free(&l);
	free(big);
}

static void
test_events(void **st)
{
	const char *added = "{\"type\":\"ADDED\",\"object\":{\"metadata\":"
	    "{\"name\":\"x\",\"resourceVersion\":\"7\"}}}";
	const char *bm = "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":"
	    "\"CertificateSigningRequest\",\"metadata\":{\"resourceVersion\":"
	    "\"99\"}}}";
	const char *gone = "{\"type\":\"ERROR\",\"object\":{\"kind\":"
	    "\"Status\",\"status\":\"Failure\",\"message\":\"too old resource "
	    "version: 5 (20)\",\"reason\":\"Expired\",\"code\":410}}";
	const char *err = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
	    "\"message\":\"etcd gone\",\"code\":500}}";
	struct slw_diag d;
	const char *type;
	cJSON *o;

	(void)st;
	assert_int_equal(kube_event_parse((const uint8_t *)added,
	    strlen(added), &type, &o, NULL), 0);
	assert_string_equal(type, "ADDED");
	assert_string_equal(kube_str(o, "metadata.name"), "x");
	cJSON_Delete(o);
	assert_int_equal(kube_event_parse((const uint8_t *)bm, strlen(bm),
	    &type, &o, NULL), 0);
	assert_string_equal(type, "BOOKMARK");
	assert_string_equal(kube_str(o, "metadata.resourceVersion"), "99");
	cJSON_Delete(o);
	slw_diag_clear(&d);
	assert_int_equal(kube_event_parse((const uint8_t *)gone, strlen(gone),
	    &type, &o, &d), SLW_ERR_EXPIRED);
	assert_null(o);
	assert_non_null(strstr(d.msg, "410"));
	slw_diag_clear(&d);
	assert_int_equal(kube_event_parse((const uint8_t *)err, strlen(err),
	    &type, &o, &d), SLW_ERR_IO);
	assert_non_null(strstr(d.msg, "etcd gone"));
	assert_int_equal(kube_event_parse((const uint8_t *)"{\"type\":\"X\","
	    "\"object\":{}}", 24, &type, &o, NULL), SLW_ERR_PARSE);
	assert_int_equal(kube_event_parse((const uint8_t *)"{\"type\":"
	    "\"ADDED\"}", 16, &type, &o, NULL), SLW_ERR_PARSE);
	assert_int_equal(kube_event_parse((const uint8_t *)"[1]", 3, &type, &o,
	    NULL), SLW_ERR_PARSE);
}

static void
test_status_err(void **st)
{
	struct slw_diag d;
	cJSON *exists = cJSON_Parse("{\"kind\":\"Status\",\"reason\":"
	    "\"AlreadyExists\",\"message\":\"secrets \\\"x\\\" already exists\"}");
	cJSON *conflict = cJSON_Parse("{\"kind\":\"Status\",\"reason\":"
	    "\"Conflict\",\"message\":\"the object has been modified\"}");

	(void)st;
	assert_int_equal(kube_status_err(200, NULL, "GET /x", 0, NULL), 0);
	assert_int_equal(kube_status_err(201, NULL, "POST /x", 0, NULL), 0);
	assert_int_equal(kube_status_err(404, NULL, "GET /x", 0, NULL),
	    SLW_ERR_NOTFOUND);
	assert_int_equal(kube_status_err(409, exists, "POST /x", 0, NULL),
	    SLW_ERR_EXISTS);
	slw_diag_clear(&d);
	assert_int_equal(kube_status_err(409, conflict, "PUT /x", 0, &d),
	    SLW_ERR_BUSY);
	assert_non_null(strstr(d.msg, "PUT /x: HTTP 409: the object has been "
	    "modified"));
	slw_diag_clear(&d);
	/* quiet: the server's message (which could echo data) is left out */
	assert_int_equal(kube_status_err(409, conflict, "PUT /s", 1, &d),
	    SLW_ERR_BUSY);
	assert_null(strstr(d.msg, "modified"));
	assert_int_equal(kube_status_err(410, NULL, "w", 0, NULL),
	    SLW_ERR_EXPIRED);
	assert_int_equal(kube_status_err(401, NULL, "w", 0, NULL), SLW_ERR_AUTH);
	assert_int_equal(kube_status_err(403, NULL, "w", 0, NULL),
	    SLW_ERR_DENIED);
	assert_int_equal(kube_status_err(422, NULL, "w", 0, NULL),
	    SLW_ERR_INVALID);
	assert_int_equal(kube_status_err(429, NULL, "w", 0, NULL), SLW_ERR_IO);
	assert_int_equal(kube_status_err(503, NULL, "w", 0, NULL), SLW_ERR_IO);
	cJSON_Delete(exists);
	cJSON_Delete(conflict);
}

static void
test_backoff(void **st)
{
	struct kube_backoff b;
	unsigned int ms, prev = 0, i;

	(void)st;
	kube_backoff_init(&b, 8000);
	for (i = 0; i < 20; i++) {
		ms = kube_backoff_next(&b);
		assert_true(ms <= 8000 + 8000 / 5);	/* capped (+jitter) */
		assert_true(ms >= 400);
		if (i < 3)
			assert_true(ms > prev / 2);	/* grows */
		prev = ms;
	}
	assert_true(prev >= 6400);		/* reached the cap */
	kube_backoff_reset(&b);
	assert_true(kube_backoff_next(&b) <= 600);
}

static void
test_query_escape(void **st)
{
	char out[64];

	(void)st;
	assert_int_equal(kube_query_escape("app.kubernetes.io/managed-by=x y&z",
	    out, sizeof(out)), 0);
	assert_string_equal(out, "app.kubernetes.io%2Fmanaged-by%3Dx%20y%26z");
	assert_int_equal(kube_query_escape("abcdef", out, 6), SLW_ERR_TOOBIG);
}

static void
test_new_refuses(void **st)
{
	struct buf x = { (uint8_t *)"x", 1, 0 };
	struct kube_config c = { 0 };
	struct kube *k = NULL;
	struct slw_diag d;

	(void)st;
	c.ca_pem = c.cert_pem = c.key_pem = &x;
	c.url = "http://127.0.0.1:6443";
	slw_diag_clear(&d);
	assert_int_equal(kube_new(&c, &k, &d), SLW_ERR_INVALID);
	assert_non_null(strstr(d.msg, "https://"));
	c.url = "https://127.0.0.1:6443/?x";
	assert_int_equal(kube_new(&c, &k, NULL), SLW_ERR_INVALID);
	c.url = "https://";
	assert_int_equal(kube_new(&c, &k, NULL), SLW_ERR_INVALID);
	assert_null(k);
	/* a good URL makes a client; nothing is contacted yet */
	c.url = "https://127.0.0.1:6443/";
	assert_int_equal(kube_new(&c, &k, NULL), 0);
	assert_string_equal(kube_url(k), "https://127.0.0.1:6443");
	kube_free(k);
	kube_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_parse),
		cmocka_unit_test(test_json_print),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_status_err),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_query_escape),
		cmocka_unit_test(test_new_refuses),
	};

	if (slw_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
