// SPDX-License-Identifier: Apache-2.0
/*
 * endpoint_load.c: a fast HTTPS client pool (libcurl multi) for the
 * endpoint's race test and benchmarks. Reads tokens (one per line), sends
 * --per-token concurrent GET /v1/bundle requests for each, at most
 * --concurrency in flight, each on its own new TLS connection (as separate
 * nodes would), and prints a JSON summary: statuses, how many tokens got
 * exactly one success, the ids of any that did not, and the rate. Tokens
 * are secrets: only their ids (before the dot) are ever printed.
 *
 *   endpoint_load --url https://127.0.0.1:PORT/v1/bundle --tokens FILE
 *       [--per-token 20] [--concurrency 100] [--timeout 60]
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct tok {
	char *token;
	int ok;
	int done;
};

struct xfer {
	CURL *c;
	struct curl_slist *h;
	struct tok *t;
	size_t bytes;
};

static size_t
on_data(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer *x = arg;

	(void)p;
	x->bytes += sz * n;
	return sz * n;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
id_of(const char *token, char *out, size_t len)
{
	snprintf(out, len, "%.*s", (int)strcspn(token, "."), token);
}

int
main(int argc, char **argv)
{
	const char *url = NULL, *file = NULL;
	long per = 20, conc = 100, timeout = 60;
	struct tok *toks = NULL;
	size_t ntok = 0, cap = 0, next = 0, total, started = 0, finished = 0;
	long status_count[600] = { 0 };
	long neterr = 0, errcodes[128] = { 0 };
	char line[512];
	CURLM *m;
	FILE *f;
	double t0, t1;
	int i, running = 0;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--url") == 0)
			url = argv[i + 1];
		else if (strcmp(argv[i], "--tokens") == 0)
			file = argv[i + 1];
		else if (strcmp(argv[i], "--per-token") == 0)
			per = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--concurrency") == 0)
			conc = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--timeout") == 0)
			timeout = atol(argv[i + 1]);
		else
			break;
	}
	if (i != argc || url == NULL || file == NULL || per < 1 || conc < 1) {
		fprintf(stderr, "usage: endpoint_load --url URL --tokens FILE "
		    "[--per-token N] [--concurrency N] [--timeout S]\n");
		return 2;
	}
	if ((f = fopen(file, "r")) == NULL) {
		perror(file);
		return 2;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (ntok == cap) {
			cap = cap ? cap * 2 : 1024;
			toks = realloc(toks, cap * sizeof(*toks));
			if (toks == NULL)
				return 1;
		}
		toks[ntok].token = strdup(line);
		toks[ntok].ok = 0;
		toks[ntok].done = 0;
		ntok++;
	}
	fclose(f);
	memset(line, 0, sizeof(line));
	total = ntok * (size_t)per;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, conc);
	t0 = now_s();
	while (finished < total) {
		CURLMsg *msg;
		int left;

		while (started < total && (long)(started - finished) < conc) {
			struct xfer *x = calloc(1, sizeof(*x));
			char auth[600];

			x->t = &toks[next / (size_t)per];
			next++;
			x->c = curl_easy_init();
			snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
			    x->t->token);
			x->h = curl_slist_append(NULL, auth);
			memset(auth, 0, sizeof(auth));
			curl_easy_setopt(x->c, CURLOPT_URL, url);
			curl_easy_setopt(x->c, CURLOPT_HTTPHEADER, x->h);
			curl_easy_setopt(x->c, CURLOPT_SSL_VERIFYPEER, 0L);
			curl_easy_setopt(x->c, CURLOPT_SSL_VERIFYHOST, 0L);
			/* no CA file: loading the system store per connection
			 * would cost more than the whole request */
			curl_easy_setopt(x->c, CURLOPT_CAINFO, NULL);
			curl_easy_setopt(x->c, CURLOPT_CAPATH, NULL);
			curl_easy_setopt(x->c, CURLOPT_FRESH_CONNECT, 1L);
			curl_easy_setopt(x->c, CURLOPT_FORBID_REUSE, 1L);
			curl_easy_setopt(x->c, CURLOPT_TIMEOUT, timeout);
			curl_easy_setopt(x->c, CURLOPT_WRITEFUNCTION, on_data);
			curl_easy_setopt(x->c, CURLOPT_WRITEDATA, x);
			curl_easy_setopt(x->c, CURLOPT_PRIVATE, x);
			curl_multi_add_handle(m, x->c);
			started++;
		}
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			struct xfer *x;
			long code = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
			    (char **)&x);
			if (msg->data.result != CURLE_OK) {
				neterr++;
				errcodes[msg->data.result & 127]++;
			}
			else {
				curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &code);
				if (code >= 100 && code < 600)
					status_count[code]++;
				if (code == 200)
					x->t->ok++;
			}
			x->t->done++;
			curl_multi_remove_handle(m, x->c);
			curl_easy_cleanup(x->c);
			curl_slist_free_all(x->h);
			free(x);
			finished++;
		}
		if (finished < total)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	t1 = now_s();
	{
		size_t exactly_one = 0, shown = 0, k;

		for (k = 0; k < ntok; k++)
			if (toks[k].ok == 1)
				exactly_one++;
		printf("{\"tokens\": %zu, \"requests\": %zu, \"seconds\": %.3f, "
		    "\"requests_per_s\": %.1f, \"successes_per_s\": %.1f, "
		    "\"network_errors\": %ld, \"exactly_one\": %zu, \"status\": {",
		    ntok, total, t1 - t0, (double)total / (t1 - t0),
		    (double)status_count[200] / (t1 - t0), neterr, exactly_one);
		for (i = 100, k = 0; i < 600; i++)
			if (status_count[i] > 0)
				printf("%s\"%d\": %ld", k++ ? ", " : "", i,
				    status_count[i]);
		printf("}, \"curl_errors\": {");
		for (i = 0, k = 0; i < 128; i++)
			if (errcodes[i] > 0)
				printf("%s\"%s\": %ld", k++ ? ", " : "",
				    curl_easy_strerror((CURLcode)i), errcodes[i]);
		printf("}, \"not_exactly_one\": [");
		for (k = 0; k < ntok; k++)
			if (toks[k].ok != 1 && shown < 50) {
				char id[64];

				id_of(toks[k].token, id, sizeof(id));
				printf("%s{\"id\": \"%s\", \"successes\": %d}",
				    shown++ ? ", " : "", id, toks[k].ok);
			}
		printf("]}\n");
	}
	for (size_t k = 0; k < ntok; k++) {
		memset(toks[k].token, 0, strlen(toks[k].token));
		free(toks[k].token);
	}
	free(toks);
	curl_multi_cleanup(m);
	curl_global_cleanup();
	return 0;
}
