// SPDX-License-Identifier: Apache-2.0
/*
 * log.c: serve's log lines (stderr), shared by the monitor and the
 * network child: "slipway serve: TIME line", written with one write(2) so
 * lines of the two processes and of their threads never interleave. Must
 * never be given a secret (callers format token ids only).
 */
#include "serve.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void
serve_log_line(void *cls, const char *line)
{
	char ts[32], out[1024];
	struct timespec now;
	struct tm tm;
	int n;

	(void)cls;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(out, sizeof(out), "slipway serve: %s.%03ldZ %s\n", ts,
	    now.tv_nsec / 1000000, line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(out)) {
		n = (int)sizeof(out) - 1;
		out[n - 1] = '\n';
	}
	(void)!write(STDERR_FILENO, out, (size_t)n);
}

void
serve_log_fmt(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	serve_log_line(NULL, line);
}
