/*
 * log.h: one logging idiom for every program: syslog, or stderr with -f
 * (and warnings to stderr while a detached daemon starts).
 */
#ifndef TOCSIN_LOG_H
#define TOCSIN_LOG_H

#include <stdarg.h>

void	log_init(const char *progname, int foreground, int debug);
void	log_detached(void);
void	log_setdebug(int);
int	log_isdebug(void);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx_lines(const char *prefix, const char *text);
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
