/*
 * result.c: the check result and its status names.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"
#include "util.h"
#include "xmalloc.h"

const char *
check_status_str(enum check_status s)
{
	switch (s) {
	case CHECK_OK:
		return "ok";
	case CHECK_WARNING:
		return "warning";
	case CHECK_CRITICAL:
		return "critical";
	case CHECK_UNKNOWN:
		break;
	}
	return "unknown";
}

void
result_init(struct check_result *r, int64_t started)
{
	memset(r, 0, sizeof(*r));
	r->started = started;
	r->status = CHECK_UNKNOWN;
	r->dns_us = r->connect_us = r->tls_us = r->firstbyte_us = -1;
	r->total_us = -1;
}

/* Set the status and a one-line message; newlines become spaces. */
void
result_set(struct check_result *r, enum check_status s, const char *fmt, ...)
{
	va_list	 ap;
	char	*p;

	r->status = s;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
	for (p = r->message; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

/*
 * Keep len bytes of text as the long output, cut to RESULT_LONG_MAX - 1
 * bytes at a UTF-8 boundary; NUL bytes become '?'. An empty text keeps
 * none.
 */
void
result_set_long(struct check_result *r, const char *text, size_t len)
{
	char	*buf;
	size_t	 i;

	result_release(r);
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (len == 0)
		return;
	if (len > RESULT_LONG_MAX - 1)
		len = RESULT_LONG_MAX - 1;
	buf = xmalloc(len + 1);
	for (i = 0; i < len; i++)
		buf[i] = text[i] != '\0' ? text[i] : '?';
	buf[len] = '\0';
	r->long_output = xmalloc(len + 1);
	copy_utf8(r->long_output, len + 1, buf);
	free(buf);
}

/* Free what the result owns (its long output). */
void
result_release(struct check_result *r)
{
	free(r->long_output);
	r->long_output = NULL;
}
