/*
 * result.c: the check result and its status names.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "result.h"

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
