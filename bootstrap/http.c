// SPDX-License-Identifier: Apache-2.0
/*
 * http.c: parsers for what the endpoint reads from the network
 * besides CSRs: the bearer credentials, node names, and the listen address
 * from the command line. No I/O, hard caps, never copy a credential.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int
http_bearer(const char *hdr, size_t len, const char **tok, size_t *toklen)
{
	static const char scheme[] = "bearer";
	size_t i, start;

	*tok = NULL;
	*toklen = 0;
	if (hdr == NULL || len < sizeof(scheme) + 1 || len > HTTP_AUTH_MAX)
		return SLW_ERR_AUTH;
	for (i = 0; i < sizeof(scheme) - 1; i++)
		if (lower((unsigned char)hdr[i]) != scheme[i])
			return SLW_ERR_AUTH;
	if (hdr[i] != ' ' && hdr[i] != '\t')
		return SLW_ERR_AUTH;
	while (i < len && (hdr[i] == ' ' || hdr[i] == '\t'))
		i++;
	start = i;
	/* RFC 6750 b64token: ALPHA DIGIT - . _ ~ + / then '='* */
	while (i < len) {
		unsigned char c = (unsigned char)hdr[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~' || c == '+' || c == '/' || c == '=')
			i++;
		else
			break;
	}
	if (i == start || i != len)
		return SLW_ERR_AUTH;
	*tok = hdr + start;
	*toklen = len - start;
	return 0;
}

int
http_listen_parse(const char *s, struct sockaddr_storage *ss, socklen_t *sl,
    struct slw_diag *d)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *port;
	char *end;
	unsigned long p;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	*sl = 0;
	if (s == NULL || strlen(s) > sizeof(host) + 6)
		goto bad;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			goto bad;
		hl = (size_t)(rb - s - 1);
		colon = rb + 1;
		if (hl == 0 || hl >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, hl);
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL)
			goto bad;
		hl = (size_t)(colon - s);
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, s, hl);
	}
	host[hl] = '\0';
	port = colon + 1;
	if (*port < '0' || *port > '9')
		goto bad;
	errno = 0;
	p = strtoul(port, &end, 10);
	if (errno != 0 || *end != '\0' || p > 65535)
		goto bad;
	if (s[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			goto bad;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)p);
		*sl = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		if (hl == 0)
			a4->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			goto bad;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)p);
		*sl = sizeof(*a4);
	}
	return 0;
 bad:
	return slw_diag(d, SLW_ERR_INVALID,
	    "listen address must be ADDR:PORT or [IPV6]:PORT (got '%.80s')",
	    s ? s : "");
}

void
http_addr_text(const struct sockaddr *sa, char *out, size_t len)
{
	if (len == 0)
		return;
	out[0] = '\0';
	if (sa == NULL) {
		snprintf(out, len, "-");
		return;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;

		if (inet_ntop(AF_INET, &a->sin_addr, out, (socklen_t)len) == NULL)
			snprintf(out, len, "-");
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
			if (inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], out,
			    (socklen_t)len) == NULL)
				snprintf(out, len, "-");
		} else if (inet_ntop(AF_INET6, &a->sin6_addr, out,
		    (socklen_t)len) == NULL)
			snprintf(out, len, "-");
	} else
		snprintf(out, len, "-");
}

int
http_node_name_ok(const char *s, size_t len)
{
	size_t i;

	if (s == NULL || len == 0 || len > 63)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int
http_crl_path(const char *url, char *ca, size_t calen)
{
	static const char pre[] = "/v1/crl/", suf[] = ".pem";
	size_t n, i;

	if (url == NULL || calen == 0)
		return SLW_ERR_NOTFOUND;
	n = strnlen(url, HTTP_URL_MAX + 1);
	if (n > HTTP_URL_MAX || n < sizeof(pre) - 1 + 1 + sizeof(suf) - 1 ||
	    memcmp(url, pre, sizeof(pre) - 1) != 0 ||
	    memcmp(url + n - (sizeof(suf) - 1), suf, sizeof(suf) - 1) != 0)
		return SLW_ERR_NOTFOUND;
	url += sizeof(pre) - 1;
	n -= sizeof(pre) - 1 + sizeof(suf) - 1;
	if (n >= calen || n > 31)
		return SLW_ERR_NOTFOUND;
	for (i = 0; i < n; i++)
		if (!((url[i] >= 'a' && url[i] <= 'z') ||
		    (url[i] >= '0' && url[i] <= '9') || url[i] == '-'))
			return SLW_ERR_NOTFOUND;
	memcpy(ca, url, n);
	ca[n] = '\0';
	return 0;
}

int
http_error_json(const char *msg, struct buf *out)
{
	const unsigned char *p;
	int r = buf_append(out, "{\"error\":\"", 10);

	for (p = (const unsigned char *)msg; r == 0 && *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			r = buf_appendf(out, "\\%c", *p);
		else if (*p >= 0x20 && *p < 0x7f)
			r = buf_append(out, p, 1);
		else
			r = buf_append(out, "?", 1);	/* keep it ASCII */
	}
	if (r == 0)
		r = buf_append(out, "\"}\n", 3);
	return r;
}

int
http_body_len_ok(long long declared, size_t cap)
{
	if (declared < 0)
		return 0;
	return (unsigned long long)declared > cap ? SLW_ERR_TOOBIG : 0;
}
