/*
 * check_tcp.c: tcp://host:port. Connect (TLS with `tls`), optionally send
 * `send` and wait until the answer holds `expect`. Both strings take the
 * escapes \r \n \t \\ so line protocols can be spoken.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "xmalloc.h"

#include "conn.h"
#include "probed.h"
#include "tlsinfo.h"

#define SAMPLE_MAX	40	/* bytes of an answer shown in a message */

struct tcp {
	struct conn	*c;
	char		*expect;	/* unescaped */
	size_t		 expect_len;
	char		 phase[SAMPLE_MAX * 4 + 64];	/* tcp_phase's words */
};

static int	 tcp_start(struct probe *);
static void	 tcp_release(struct probe *);
static const char *tcp_phase(struct probe *);
static void	 on_conn(struct conn *, enum conn_event, void *);
static void	 sample(struct evbuffer *, char *, size_t);
static void	 cert_days(struct probe *, struct conn *);

const struct check_ops check_tcp_ops = {
	.name = "tcp",
	.needs_addr = 1,
	.start = tcp_start,
	.release = tcp_release,
	.phase = tcp_phase,
};

/* Turn \r \n \t \\ into their bytes; returns a malloc'd copy. */
static char *
unescape(const char *s, size_t *len)
{
	char	*out = xmalloc(strlen(s) + 1), *o = out;

	for (; *s != '\0'; s++) {
		if (*s != '\\' || s[1] == '\0') {
			*o++ = *s;
			continue;
		}
		switch (*++s) {
		case 'r':
			*o++ = '\r';
			break;
		case 'n':
			*o++ = '\n';
			break;
		case 't':
			*o++ = '\t';
			break;
		default:
			*o++ = *s;
			break;
		}
	}
	*o = '\0';
	*len = o - out;
	return out;
}

static int
tcp_start(struct probe *p)
{
	struct tcp *t;

	t = xcalloc(1, sizeof(*t));
	p->priv = t;
	if (p->sc->o.expect != NULL)
		t->expect = unescape(p->sc->o.expect, &t->expect_len);
	if ((t->c = conn_open(p, p->sc->o.tls, on_conn, p)) == NULL)
		return -1;
	return 0;
}

static void
tcp_release(struct probe *p)
{
	struct tcp *t = p->priv;

	if (t == NULL)
		return;
	conn_free(t->c);
	free(t->expect);
	free(t);
	p->priv = NULL;
}

/*
 * What the check waits for; while waiting for `expect`, what did arrive
 * (its first bytes, escaped), so a timeout shows what the server said.
 */
static const char *
tcp_phase(struct probe *p)
{
	struct tcp	*t = p->priv;
	const char	*ph;
	char		 got[SAMPLE_MAX * 4 + 1];

	if (t == NULL || t->c == NULL)
		return NULL;
	if ((ph = conn_phase(t->c)) != NULL)
		return ph;
	if (t->expect == NULL)
		return NULL;
	if (evbuffer_get_length(conn_input(t->c)) == 0)
		return "the expected answer (nothing arrived)";
	sample(conn_input(t->c), got, sizeof(got));
	snprintf(t->phase, sizeof(t->phase), "the expected answer (got "
	    "\"%s\"%s)", got, evbuffer_get_length(conn_input(t->c)) >
	    SAMPLE_MAX ? "..." : "");
	return t->phase;
}

/*
 * The first SAMPLE_MAX bytes the server sent, printable: \r \n \t \\
 * and \" as written in the config, other bytes as \xNN.
 */
static void
sample(struct evbuffer *in, char *buf, size_t len)
{
	unsigned char	*d;
	size_t		 n, i, o = 0;
	char		 e[5];

	n = evbuffer_get_length(in);
	if (n > SAMPLE_MAX)
		n = SAMPLE_MAX;
	d = evbuffer_pullup(in, n);
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (d[i] == '\r' || d[i] == '\n' || d[i] == '\t')
			snprintf(e, sizeof(e), "\\%c", d[i] == '\r' ? 'r' :
			    d[i] == '\n' ? 'n' : 't');
		else if (d[i] == '\\' || d[i] == '"')
			snprintf(e, sizeof(e), "\\%c", d[i]);
		else if (d[i] >= 32 && d[i] < 127)
			snprintf(e, sizeof(e), "%c", d[i]);
		else
			snprintf(e, sizeof(e), "\\x%02x", d[i]);
		if (o + strlen(e) + 1 > len)
			break;
		memcpy(buf + o, e, strlen(e) + 1);
		o += strlen(e);
	}
}

/* With `tls`, cert-days judges the certificate of a check that passed. */
static void
cert_days(struct probe *p, struct conn *c)
{
	if (conn_tlsinfo(c) != NULL)
		(void)tlsinfo_cert_days(conn_tlsinfo(c), p->sc, &p->r,
		    "connected with TLS");
}

static void
on_conn(struct conn *c, enum conn_event ev, void *arg)
{
	struct probe	*p = arg;
	struct tcp	*t = p->priv;
	struct evbuffer	*in;
	struct evbuffer_ptr pos;
	char		*send, got[SAMPLE_MAX * 4 + 1];
	size_t		 len;

	switch (ev) {
	case CONN_CONNECTED:
		if (p->sc->o.send != NULL) {
			send = unescape(p->sc->o.send, &len);
			conn_write(c, send, len);
			free(send);
		}
		if (t->expect == NULL) {
			p->r.total_us = probe_elapsed_us(p);
			result_set(&p->r, CHECK_OK, "connected%s in %.1f ms",
			    conn_is_tls(c) ? " with TLS" : "",
			    p->r.total_us / 1000.0);
			cert_days(p, c);
			probe_done(p);
		}
		return;
	case CONN_TLS:
		return;
	case CONN_DATA:
		in = conn_input(c);
		pos = evbuffer_search(in, t->expect, t->expect_len, NULL);
		if (pos.pos < 0)
			return;
		p->r.total_us = probe_elapsed_us(p);
		result_set(&p->r, CHECK_OK, "answer holds \"%s\" after %.1f ms",
		    p->sc->o.expect, p->r.total_us / 1000.0);
		cert_days(p, c);
		probe_done(p);
		return;
	case CONN_EOF:
		sample(conn_input(c), got, sizeof(got));
		if (t->expect != NULL)
			result_set(&p->r, CHECK_CRITICAL, "connection closed; "
			    "answer \"%s\" does not hold \"%s\"", got,
			    p->sc->o.expect);
		else
			result_set(&p->r, CHECK_CRITICAL, "connection closed");
		probe_done(p);
		return;
	case CONN_ERROR:
		result_set(&p->r, CHECK_CRITICAL, "%s", conn_error(c));
		probe_done(p);
		return;
	}
}
