/*
 * conn.h: a client connection for the checks that speak a protocol
 * themselves (tcp, smtp, pop3, imap): a bufferevent connected to the
 * probe's address, TLS at once or later (STARTTLS) through OpenSSL, input
 * capped, and the connect, TLS and first-byte times written into the
 * probe's result as they happen.
 */
#ifndef TOCSIN_CONN_H
#define TOCSIN_CONN_H

#include <stddef.h>

struct conn;
struct evbuffer;
struct probe;
struct tlsinfo;

#define CONN_INPUT_MAX	(64 * 1024)	/* buffered input before we give up */

enum conn_event {
	CONN_CONNECTED,		/* TCP up (and TLS done when asked at open) */
	CONN_TLS,		/* conn_starttls finished */
	CONN_DATA,		/* more input */
	CONN_EOF,		/* the server closed */
	CONN_ERROR,		/* conn_error() says what */
};

typedef void	(*conn_cb)(struct conn *, enum conn_event, void *arg);

struct conn	*conn_open(struct probe *, int tls, conn_cb, void *arg);
int		 conn_starttls(struct conn *);
int		 conn_write(struct conn *, const void *, size_t);
char		*conn_readline(struct conn *, size_t *);
struct evbuffer	*conn_input(struct conn *);
const char	*conn_error(const struct conn *);
const char	*conn_phase(const struct conn *);
int		 conn_is_tls(const struct conn *);
int		 conn_fd(const struct conn *);
const struct tlsinfo *conn_tlsinfo(const struct conn *);
void		 conn_free(struct conn *);

#endif
