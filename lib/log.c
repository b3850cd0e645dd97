/*
 * log.c: logging to syslog, or to stderr in the foreground. log_warn appends
 * strerror(errno); fatal and fatalx log and exit. A daemon that detaches
 * logs its warnings to stderr too until it is ready (log_detached), so
 * that what stops its start reaches the terminal that started it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static void	vlog(int, const char *, va_list, int);

static int	 log_fg = 1;
static int	 log_starting;	/* detached, not ready: stderr too */
static int	 log_dbg;
static const char *log_name = "tocsin";

void
log_init(const char *progname, int foreground, int debug)
{
	log_name = progname;
	log_fg = foreground;
	log_dbg = debug;
	log_starting = !foreground;
	if (!foreground)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

/* A detached daemon is ready and its stderr gone: syslog alone. */
void
log_detached(void)
{
	log_starting = 0;
}

void
log_setdebug(int debug)
{
	log_dbg = debug;
}

int
log_isdebug(void)
{
	return log_dbg;
}

/*
 * Format one message; with_errno appends ": strerror(errno)", read before
 * anything here can change errno.
 */
static void
vlog(int pri, const char *fmt, va_list ap, int with_errno)
{
	char	 msg[1024];
	int	 saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		size_t len = strlen(msg);
		snprintf(msg + len, sizeof(msg) - len, ": %s",
		    strerror(saved));
	}
	if (!log_fg)
		syslog(pri, "%s", msg);
	if (log_fg || (log_starting && pri <= LOG_WARNING))
		fprintf(stderr, "%s: %s\n", log_name, msg);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, 1);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, 0);
	va_end(ap);
}

/*
 * Log each line of text (lines end in '\n'; the last may not) as a
 * warning after prefix; empty lines are skipped. text may be NULL.
 */
void
log_warnx_lines(const char *prefix, const char *text)
{
	size_t	 len;

	while (text != NULL && *text != '\0') {
		len = strcspn(text, "\n");
		if (len > 0)
			log_warnx("%s%.*s", prefix, (int)len, text);
		text += len;
		if (*text == '\n')
			text++;
	}
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, 0);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_dbg)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 0);
	va_end(ap);
	exit(1);
}
