// SPDX-License-Identifier: Apache-2.0
/*
 * rhttp.c: the appliance's own HTTPS requests for the gates (etcd
 * /health and member list, flannel's config, apiserver /readyz and Nodes)
 * with libcurl and a client certificate. libcurl's GnuTLS flavour reads
 * keys only from files, so the key lives in a memfd (RAM, this process
 * only, close-on-exec) and is never written to disk. Must never log a
 * request's credentials.
 */
#define _GNU_SOURCE	/* memfd_create */
#include "rhttp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <curl/curl.h>

#define RESP_MAX (8u << 20)

struct rhttp_id {
	int fd[3];		/* CA, certificate, key */
	char path[3][40];
};

static int
memfd_with(const char *name, const struct buf *b, int *fd, char *path,
    size_t plen)
{
	size_t off = 0;
	ssize_t n;

	*fd = -1;
	if (b == NULL || b->len == 0)
		return 0;
	if ((*fd = memfd_create(name, MFD_CLOEXEC)) < 0)
		return SLW_ERR_IO;
	while (off < b->len) {
		if ((n = write(*fd, b->data + off, b->len - off)) < 0) {
			if (errno == EINTR)
				continue;
			return SLW_ERR_IO;
		}
		off += (size_t)n;
	}
	snprintf(path, plen, "/proc/self/fd/%d", *fd);
	return 0;
}

int
rhttp_id_new(const struct buf *ca, const struct buf *cert,
    const struct buf *key, struct rhttp_id **out)
{
	struct rhttp_id *id;
	int r;

	*out = NULL;
	if ((id = calloc(1, sizeof(*id))) == NULL)
		return SLW_ERR_NOMEM;
	id->fd[0] = id->fd[1] = id->fd[2] = -1;
	if ((r = memfd_with("slipway-ca", ca, &id->fd[0], id->path[0],
	    sizeof(id->path[0]))) != 0 ||
	    (r = memfd_with("slipway-cert", cert, &id->fd[1], id->path[1],
	    sizeof(id->path[1]))) != 0 ||
	    (r = memfd_with("slipway-key", key, &id->fd[2], id->path[2],
	    sizeof(id->path[2]))) != 0) {
		rhttp_id_free(id);
		return r;
	}
	*out = id;
	return 0;
}

void
rhttp_id_free(struct rhttp_id *id)
{
	int i;

	if (id == NULL)
		return;
	for (i = 0; i < 3; i++)
		if (id->fd[i] >= 0) {
			if (ftruncate(id->fd[i], 0) != 0) {
				/* closing frees it anyway */
			}
			close(id->fd[i]);
		}
	free(id);
}

struct sink {
	struct buf *b;
	int over;
};

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;

	if (s->b->len + len > RESP_MAX) {
		s->over = 1;
		return 0;
	}
	if (buf_append(s->b, p, len) != 0)
		return 0;
	return len;
}

int
rhttp_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 :
	    SLW_ERR_INTERNAL;
}

int
rhttp_do(const struct rhttp_id *id, const char *method, const char *url,
    const char *body, int timeout_ms, long *status, struct buf *resp,
    struct slw_diag *d)
{
	CURL *c;
	CURLcode cc;
	struct curl_slist *hdr = NULL;
	struct sink s = { resp, 0 };
	char err[CURL_ERROR_SIZE];
	int r = 0;

	*status = 0;
	buf_free(resp);
	if ((r = buf_set(resp, "", 0)) != 0)
		return r;
	if ((c = curl_easy_init()) == NULL)
		return SLW_ERR_NOMEM;
	err[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(timeout_ms < 3000 ? timeout_ms : 3000));
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (id != NULL) {
		if (id->fd[0] >= 0)
			curl_easy_setopt(c, CURLOPT_CAINFO, id->path[0]);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
		if (id->fd[1] >= 0)
			curl_easy_setopt(c, CURLOPT_SSLCERT, id->path[1]);
		if (id->fd[2] >= 0)
			curl_easy_setopt(c, CURLOPT_SSLKEY, id->path[2]);
	}
	if (body != NULL) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	if (method != NULL && strcmp(method, "GET") != 0 &&
	    strcmp(method, "POST") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	hdr = curl_slist_append(hdr, "Accept: application/json, */*");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	if ((cc = curl_easy_perform(c)) != CURLE_OK) {
		r = slw_diag_set(d, s.over ? SLW_ERR_TOOBIG : SLW_ERR_IO, "%s",
		    s.over ? "response too large" : err[0] ? err :
		    curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
 out:
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return r;
}
