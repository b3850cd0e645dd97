/*
 * conn.c: the protocol checks' connection. One bufferevent per check;
 * TLS is an OpenSSL filter stacked on the socket's bufferevent, so the
 * connect and the handshake are timed apart. Certificates are verified
 * (chain and host name) unless the server says `insecure`.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "xmalloc.h"

#include "conn.h"
#include "probed.h"
#include "tlsinfo.h"

enum conn_phase {
	PH_CONNECT,
	PH_TLS,
	PH_OPEN,
	PH_CLOSED,
};

struct conn {
	struct probe		*p;
	struct bufferevent	*bev;
	SSL			*ssl;
	conn_cb			 cb;
	void			*arg;
	enum conn_phase		 phase;
	int			 tls_at_connect;
	struct tlsinfo		 tls;		/* what the handshake showed */
	char			 err[200];
};

static SSL_CTX	*ctx_verify, *ctx_insecure;

static void	on_read(struct bufferevent *, void *);
static void	on_event(struct bufferevent *, short, void *);
static int	start_tls(struct conn *);

static SSL_CTX *
ssl_ctx(int insecure)
{
	SSL_CTX **ctx = insecure ? &ctx_insecure : &ctx_verify;

	if (*ctx != NULL)
		return *ctx;
	if ((*ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		fatalx("SSL_CTX_new failed");
	/* Offer the old versions so that a server stuck on one answers
	 * and the failure names its version (tlsinfo.c); OpenSSL's
	 * security level refuses their signatures, and on_event refuses
	 * anything below TLS 1.2 that still got through. */
	SSL_CTX_set_min_proto_version(*ctx, TLS1_VERSION);
	if (insecure)
		SSL_CTX_set_verify(*ctx, SSL_VERIFY_NONE, NULL);
	else {
		SSL_CTX_set_verify(*ctx, SSL_VERIFY_PEER, NULL);
		if (SSL_CTX_set_default_verify_paths(*ctx) != 1)
			log_warnx("TLS: no default certificate store");
	}
	return *ctx;
}

/*
 * Connect to the probe's address; with tls, the handshake follows and
 * CONN_CONNECTED comes after it. NULL with p->r set on failure.
 */
struct conn *
conn_open(struct probe *p, int tls, conn_cb cb, void *arg)
{
	struct conn	*c;
	struct event_base *base = engine_base(p->eng);

	c = xcalloc(1, sizeof(*c));
	c->p = p;
	c->cb = cb;
	c->arg = arg;
	c->tls_at_connect = tls;
	c->phase = PH_CONNECT;
	c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		result_set(&p->r, CHECK_UNKNOWN, "cannot make a socket");
		free(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&p->addr,
	    p->addrlen) == -1) {
		result_set(&p->r, CHECK_CRITICAL, "cannot connect to %s port "
		    "%d: %s", p->addrstr, p->sc->port, strerror(errno));
		bufferevent_free(c->bev);
		free(c);
		return NULL;
	}
	return c;
}

/* Stack an OpenSSL filter on the connection; 0 or -1 with c->err. */
static int
start_tls(struct conn *c)
{
	const struct server_conf *sc = c->p->sc;
	struct bufferevent	*tls;
	struct in6_addr		 a6;
	struct in_addr		 a4;
	const char		*host = sc->host;

	if ((c->ssl = SSL_new(ssl_ctx(sc->o.insecure))) == NULL) {
		snprintf(c->err, sizeof(c->err), "SSL_new failed");
		return -1;
	}
	if (inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1)
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), host);
	else {
		SSL_set_tlsext_host_name(c->ssl, host);
		SSL_set1_host(c->ssl, host);
	}
	tlsinfo_attach(&c->tls, c->ssl);
	tls = bufferevent_openssl_filter_new(engine_base(c->p->eng), c->bev,
	    c->ssl, BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (tls == NULL) {
		snprintf(c->err, sizeof(c->err), "cannot start TLS");
		SSL_free(c->ssl);
		c->ssl = NULL;
		return -1;
	}
	/* The filter owns the socket's bufferevent and the SSL now. Its
	 * callbacks are deferred to the loop: a handshake that fails at once
	 * must not call back into a check still inside conn_starttls. */
	c->bev = tls;
	c->phase = PH_TLS;
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return 0;
}

int
conn_starttls(struct conn *c)
{
	if (c->ssl != NULL || c->phase != PH_OPEN) {
		snprintf(c->err, sizeof(c->err), "TLS already on");
		return -1;
	}
	return start_tls(c);
}

static void
tls_error(struct conn *c)
{
	unsigned long	 e;
	long		 vr;
	char		 buf[160] = "";

	vr = c->ssl != NULL ? SSL_get_verify_result(c->ssl) : X509_V_OK;
	if (tlsinfo_failure(&c->tls, c->p->sc->host, vr != X509_V_OK,
	    c->err, sizeof(c->err)))
		return;
	if (vr != X509_V_OK) {
		snprintf(c->err, sizeof(c->err), "TLS certificate not "
		    "trusted: %s", X509_verify_cert_error_string(vr));
		return;
	}
	if ((e = bufferevent_get_openssl_error(c->bev)) != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(c->err, sizeof(c->err), "TLS handshake failed%s%s",
	    buf[0] ? ": " : "", buf);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;
	struct probe	*p = c->p;
	int		 saved = EVUTIL_SOCKET_ERROR();

	if (what & BEV_EVENT_CONNECTED) {
		if (c->phase == PH_CONNECT) {
			p->r.connect_us = probe_elapsed_us(p);
			if (c->tls_at_connect) {
				if (start_tls(c) == -1)
					c->cb(c, CONN_ERROR, c->arg);
				return;
			}
			c->phase = PH_OPEN;
			bufferevent_enable(c->bev, EV_READ | EV_WRITE);
			c->cb(c, CONN_CONNECTED, c->arg);
		} else if (c->phase == PH_TLS) {
			p->r.tls_us = probe_elapsed_us(p);
			if (SSL_version(c->ssl) < TLS1_2_VERSION) {
				snprintf(c->err, sizeof(c->err), "TLS handshake "
				    "failed: server offers only %s",
				    SSL_get_version(c->ssl));
				c->phase = PH_CLOSED;
				c->cb(c, CONN_ERROR, c->arg);
				return;
			}
			c->phase = PH_OPEN;
			c->cb(c, c->tls_at_connect ? CONN_CONNECTED : CONN_TLS,
			    c->arg);
		}
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		if (c->phase == PH_CONNECT)
			snprintf(c->err, sizeof(c->err), "cannot connect to "
			    "%s port %d: %s", p->addrstr, p->sc->port,
			    evutil_socket_error_to_string(saved));
		else if (c->phase == PH_TLS)
			tls_error(c);
		else if (c->ssl != NULL && bufferevent_get_openssl_error(bev))
			tls_error(c);
		else
			snprintf(c->err, sizeof(c->err), "connection broken: "
			    "%s", saved ? evutil_socket_error_to_string(saved) :
			    "error");
		c->phase = PH_CLOSED;
		c->cb(c, CONN_ERROR, c->arg);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (c->phase == PH_TLS) {
			snprintf(c->err, sizeof(c->err), "TLS handshake "
			    "failed: connection closed");
			c->phase = PH_CLOSED;
			c->cb(c, CONN_ERROR, c->arg);
			return;
		}
		c->phase = PH_CLOSED;
		c->cb(c, CONN_EOF, c->arg);
	}
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct probe	*p = c->p;

	if (p->r.firstbyte_us < 0)
		p->r.firstbyte_us = probe_elapsed_us(p);
	if (evbuffer_get_length(bufferevent_get_input(bev)) > CONN_INPUT_MAX) {
		snprintf(c->err, sizeof(c->err), "answer over %d KiB without "
		    "what was expected, stopped", CONN_INPUT_MAX / 1024);
		c->cb(c, CONN_ERROR, c->arg);
		return;
	}
	c->cb(c, CONN_DATA, c->arg);
}

int
conn_write(struct conn *c, const void *data, size_t len)
{
	return bufferevent_write(c->bev, data, len);
}

/* One line without its CRLF or LF, malloc'd, or NULL if none is whole. */
char *
conn_readline(struct conn *c, size_t *len)
{
	return evbuffer_readln(bufferevent_get_input(c->bev), len,
	    EVBUFFER_EOL_CRLF);
}

struct evbuffer *
conn_input(struct conn *c)
{
	return bufferevent_get_input(c->bev);
}

const char *
conn_error(const struct conn *c)
{
	return c->err[0] != '\0' ? c->err : "connection error";
}

const char *
conn_phase(const struct conn *c)
{
	switch (c->phase) {
	case PH_CONNECT:
		return "the connection";
	case PH_TLS:
		return "the TLS handshake";
	case PH_OPEN:
	case PH_CLOSED:
		break;
	}
	return NULL;
}

int
conn_is_tls(const struct conn *c)
{
	return c->ssl != NULL;
}

/* The connection's socket, or -1. */
int
conn_fd(const struct conn *c)
{
	return (int)bufferevent_getfd(c->bev);
}

/* What the TLS handshake showed; NULL without TLS. */
const struct tlsinfo *
conn_tlsinfo(const struct conn *c)
{
	return c->ssl != NULL ? &c->tls : NULL;
}

/* Close and free; the SSL goes with the filter that owns it. */
void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL)
		SSL_set_shutdown(c->ssl, SSL_RECEIVED_SHUTDOWN);
	bufferevent_free(c->bev);
	free(c);
}
