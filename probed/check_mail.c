/*
 * check_mail.c: smtp://, pop3://, imap:// and their TLS forms, spoken by a
 * small line client on the probe's connection (conn.c), one state machine
 * per protocol. SMTP: banner 220, EHLO (HELO if refused), STARTTLS with
 * `starttls`, QUIT; no mail is sent. POP3 and IMAP: greeting, STLS or
 * STARTTLS with `starttls`, with `user` + `password-file` a login and the
 * mailbox size (STAT, STATUS INBOX), then QUIT or LOGOUT; without
 * credentials the greeting alone is the check. `expect` must be held by
 * the banner or greeting.
 *
 * Why not curl: curl cannot look at an SMTP server without sending mail,
 * nor stop at a POP3 or IMAP greeting without logging in; this client is
 * small, times each step, and stops at the first wrong line.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "xmalloc.h"

#include "conn.h"
#include "curlopt.h"
#include "probed.h"
#include "tlsinfo.h"

#define SHOWN_MAX	100	/* bytes of a server line in a message */
#define REPLY_LINES_MAX	512	/* lines of one reply before we give up */
#define PASSWORD_MAX	256
#define QUOTED_MAX	(PASSWORD_MAX * 2 + 3)	/* a name as an IMAP string */
#define CMD_MAX		(2 * QUOTED_MAX + 64)	/* one command line we send */

/* Where a session is; each step names what it waits for. */
enum step {
	ST_CONNECT,	/* TCP, and TLS for smtps/pop3s/imaps */
	ST_GREETING,	/* banner (SMTP) or greeting */
	ST_HELLO,	/* SMTP: EHLO or HELO answer */
	ST_STARTTLS,	/* answer to STARTTLS / STLS */
	ST_TLS,		/* the handshake that follows it */
	ST_USER,	/* POP3: USER answer */
	ST_LOGIN,	/* POP3 PASS, IMAP LOGIN */
	ST_MAILBOX,	/* POP3 STAT, IMAP STATUS */
	ST_QUIT,	/* QUIT / LOGOUT answer */
};

/* What a line did to the session. */
enum next {
	NX_MORE,	/* read the next line */
	NX_WAIT,	/* stop reading: TLS is starting */
	NX_DONE,	/* p->r is set: finish */
};

struct mail;

/* One protocol: its words for messages and its line handler. */
struct proto {
	const char	*name;		/* in "greeting is not SMTP" */
	const char	*greeting;	/* "banner", "greeting" */
	const char	*stls;		/* its STARTTLS command */
	const char	*mailbox;	/* its mailbox command, after login */
	const char	*quit;		/* its goodbye */
	enum next	 (*line)(struct mail *, char *, size_t);
};

struct mail {
	struct probe	*p;
	struct conn	*c;
	const struct proto *pr;
	enum step	 step;
	int		 login;		/* user + password-file given */
	int		 preauth;	/* IMAP: logged in by the greeting */
	int		 stls_done;	/* STARTTLS or STLS succeeded */
	int		 helo;		/* SMTP: EHLO refused, HELO used */
	int		 offers_tls;	/* SMTP: STARTTLS in the EHLO answer */
	int		 expect_seen;	/* `expect` found in the greeting */
	int		 done;		/* p->r is set; finish when depth is 0 */
	int		 depth;		/* on_conn frames running (conn calls
					   back from within conn_starttls) */
	unsigned	 lines;		/* lines of the reply being read */
	int		 code;		/* SMTP: that reply's code */
	unsigned	 sent;		/* commands sent; IMAP: the last tag */
	char		 greeting[SHOWN_MAX + 1];
	char		 mailbox[64];	/* ", logged in, 2 messages, ..." */
	char		 phase[32];	/* what step_name() said last */
	char		 password[PASSWORD_MAX];
};

static int	 mail_start(struct probe *);
static void	 mail_release(struct probe *);
static const char *mail_phase(struct probe *);
static void	 on_conn(struct conn *, enum conn_event, void *);
static enum next session_event(struct mail *, struct conn *, enum conn_event);
static enum next read_lines(struct mail *);
static enum next smtp_line(struct mail *, char *, size_t);
static enum next pop3_line(struct mail *, char *, size_t);
static enum next imap_line(struct mail *, char *, size_t);
static enum next after_tls(struct mail *);
static enum next send_cmd(struct mail *, enum step, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static enum next fail(struct mail *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static enum next succeed(struct mail *);
static enum next start_tls(struct mail *);
static enum next too_long(struct mail *);
static void	 greeted(struct mail *, const char *, const char *);
static int	 expect_missing(const struct mail *);
static enum next imap_cmd(struct mail *, enum step, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static enum next pop3_next(struct mail *);
static enum next imap_next(struct mail *);
static int	 pop3_status(const char *);
static const char *skip_code(const char *);
static void	 shown(char *, size_t, const char *);
static const char *step_name(struct mail *);
static const char *hello_name(void);
static int	 imap_quote(char *, size_t, const char *);
static int	 has_crlf(const char *);

static const struct proto smtp = {
	"SMTP", "banner", "STARTTLS", NULL, "QUIT", smtp_line
};
static const struct proto pop3 = {
	"POP3", "greeting", "STLS", "STAT", "QUIT", pop3_line
};
static const struct proto imap = {
	"IMAP", "greeting", "STARTTLS", "STATUS", "LOGOUT", imap_line
};

const struct check_ops check_mail_ops = {
	.name = "mail",
	.needs_addr = 1,
	.start = mail_start,
	.release = mail_release,
	.phase = mail_phase,
};

/* A printable one-line copy of at most SHOWN_MAX bytes of s. */
static void
shown(char *dst, size_t size, const char *s)
{
	size_t	 o = 0;

	if (size > SHOWN_MAX + 1)
		size = SHOWN_MAX + 1;
	for (; *s != '\0' && o + 1 < size; s++)
		dst[o++] = isprint((unsigned char)*s) ? *s : '.';
	dst[o] = '\0';
}

static int
has_crlf(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

/* The name we give in EHLO: this host's, asked once (a local call). */
static const char *
hello_name(void)
{
	static char	 name[256];
	size_t		 i;

	if (name[0] != '\0')
		return name;
	if (gethostname(name, sizeof(name) - 1) == -1 || name[0] == '\0')
		snprintf(name, sizeof(name), "localhost");
	for (i = 0; name[i] != '\0'; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '.' &&
		    name[i] != '-') {
			snprintf(name, sizeof(name), "localhost");
			break;
		}
	return name;
}

/*
 * s as an IMAP quoted string ("..." with \ and " escaped) in dst. 0, or -1
 * if it does not fit or holds a byte a quoted string cannot carry.
 */
static int
imap_quote(char *dst, size_t size, const char *s)
{
	size_t	 o = 0;

	if (size < 3)
		return -1;
	dst[o++] = '"';
	for (; *s != '\0'; s++) {
		if (*s == '\r' || *s == '\n')
			return -1;
		if (o + 4 > size)
			return -1;
		if (*s == '\\' || *s == '"')
			dst[o++] = '\\';
		dst[o++] = *s;
	}
	dst[o++] = '"';
	dst[o] = '\0';
	return 0;
}

/*
 * Begin: pick the protocol, take the password (read once at load, as
 * the curl checks do), connect. 0, or -1 with p->r set.
 */
static int
mail_start(struct probe *p)
{
	const struct server_conf *sc = p->sc;
	struct mail	*m;

	m = xcalloc(1, sizeof(*m));
	p->priv = m;
	m->p = p;
	m->step = ST_CONNECT;
	switch (sc->kind) {
	case KIND_SMTP:
		m->pr = &smtp;
		break;
	case KIND_POP3:
		m->pr = &pop3;
		break;
	case KIND_IMAP:
		m->pr = &imap;
		break;
	default:
		result_set(&p->r, CHECK_UNKNOWN, "not a mail server kind");
		return -1;
	}
	if (sc->kind != KIND_SMTP && sc->o.user != NULL) {
		if (sc->o.password_file == NULL) {
			result_set(&p->r, CHECK_UNKNOWN, "user %s needs a "
			    "password-file", sc->o.user);
			return -1;
		}
		if (has_crlf(sc->o.user)) {
			result_set(&p->r, CHECK_UNKNOWN, "user name holds a "
			    "line break");
			return -1;
		}
		if (sc->password == NULL || snprintf(m->password,
		    sizeof(m->password), "%s", sc->password) >=
		    (int)sizeof(m->password)) {
			result_set(&p->r, CHECK_UNKNOWN, "password-file %s: "
			    "not read at load, or too long",
			    sc->o.password_file);
			return -1;
		}
		m->login = 1;
	}
	if ((m->c = conn_open(p, sc->implicit_tls, on_conn, m)) == NULL)
		return -1;
	return 0;
}

static void
mail_release(struct probe *p)
{
	struct mail *m = p->priv;

	if (m == NULL)
		return;
	conn_free(m->c);
	explicit_bzero(m->password, sizeof(m->password));
	free(m);
	p->priv = NULL;
}

/*
 * What step m waits for, in words for "timeout ... waiting for X"; the
 * string lives in m until the next call.
 */
static const char *
step_name(struct mail *m)
{
	const char *cmd;

	switch (m->step) {
	case ST_CONNECT:
		return "the connection";
	case ST_GREETING:
		snprintf(m->phase, sizeof(m->phase), "the %s",
		    m->pr->greeting);
		return m->phase;
	case ST_TLS:
		return "the TLS handshake";
	case ST_USER:
		return "the USER answer";
	case ST_LOGIN:
		return "the login answer";
	case ST_HELLO:
		cmd = m->helo ? "HELO" : "EHLO";
		break;
	case ST_STARTTLS:
		cmd = m->pr->stls;
		break;
	case ST_MAILBOX:
		cmd = m->pr->mailbox;
		break;
	case ST_QUIT:
		cmd = m->pr->quit;
		break;
	default:
		return "an answer";
	}
	snprintf(m->phase, sizeof(m->phase), "the %s answer", cmd);
	return m->phase;
}

static const char *
mail_phase(struct probe *p)
{
	struct mail	*m = p->priv;
	const char	*ph;

	if (m == NULL)
		return NULL;
	if (m->c != NULL && (ph = conn_phase(m->c)) != NULL)
		return ph;
	return step_name(m);
}

/* The check failed: set p->r (unless a result is set already). */
static enum next
fail(struct mail *m, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[RESULT_MSG_MAX];

	if (m->done)
		return NX_DONE;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	m->p->r.total_us = probe_elapsed_us(m->p);
	result_set(&m->p->r, CHECK_CRITICAL, "%s", msg);
	m->done = 1;
	return NX_DONE;
}

/* The session ended well (QUIT answered or the server closed after it). */
static enum next
succeed(struct mail *m)
{
	struct probe	*p = m->p;
	const char	*hello = "";

	if (m->done)
		return NX_DONE;
	m->done = 1;
	p->r.total_us = probe_elapsed_us(p);
	if (m->pr == &smtp)
		hello = m->helo ? ", HELO ok" : ", EHLO ok";
	result_set(&p->r, CHECK_OK, "%s %s%s%s%s%s%s in %.1f ms",
	    m->pr->greeting, m->greeting, hello,
	    m->stls_done ? ", " : "", m->stls_done ? m->pr->stls : "",
	    m->stls_done ? " ok" : "", m->mailbox, p->r.total_us / 1000.0);
	/* cert-days: on smtps/pop3s/imaps and after STARTTLS alike. */
	if (conn_tlsinfo(m->c) != NULL)
		(void)tlsinfo_cert_days(conn_tlsinfo(m->c), p->sc, &p->r,
		    m->pr->name);
	return NX_DONE;
}

/* Send one command line and wait for its answer in step st. */
static enum next
send_cmd(struct mail *m, enum step st, const char *fmt, ...)
{
	va_list	 ap;
	char	 line[CMD_MAX + 16];
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 2 >= sizeof(line)) {
		explicit_bzero(line, sizeof(line));
		return too_long(m);
	}
	memcpy(line + n, "\r\n", 2);
	m->step = st;
	m->lines = 0;
	m->sent++;
	if (conn_write(m->c, line, n + 2) == -1) {
		explicit_bzero(line, sizeof(line));
		return fail(m, "cannot send to the server");
	}
	explicit_bzero(line, sizeof(line));
	return m->done ? NX_DONE : NX_MORE;
}

/* A command would not fit: a user name or password far too long. */
static enum next
too_long(struct mail *m)
{
	if (m->done)
		return NX_DONE;
	m->done = 1;
	m->p->r.total_us = probe_elapsed_us(m->p);
	result_set(&m->p->r, CHECK_UNKNOWN, "user or password too long for "
	    "a command line");
	return NX_DONE;
}

/*
 * Begin TLS on the open connection after the server said yes. The
 * handshake may fail at once (bytes the server sent after its yes are
 * taken as TLS), calling on_conn from within: m->done says so.
 */
static enum next
start_tls(struct mail *m)
{
	m->step = ST_TLS;
	if (conn_starttls(m->c) == -1)
		return fail(m, "%s", conn_error(m->c));
	return m->done ? NX_DONE : NX_WAIT;
}

/*
 * A line of the greeting passed: the first gives what messages show
 * (show, or the line), and any may hold `expect`.
 */
static void
greeted(struct mail *m, const char *line, const char *show)
{
	const char *expect = m->p->sc->o.expect;

	if (m->greeting[0] == '\0')
		shown(m->greeting, sizeof(m->greeting), show != NULL ? show :
		    line);
	if (expect != NULL && strstr(line, expect) != NULL)
		m->expect_seen = 1;
}

/* The greeting is all read: with `expect`, it must have been held. */
static int
expect_missing(const struct mail *m)
{
	return m->p->sc->o.expect != NULL && !m->expect_seen;
}

/* ---- SMTP -------------------------------------------------------------- */

/*
 * One line of an SMTP reply: "NNN-text" goes on, "NNN text" (or "NNN")
 * ends it. Every line must carry the code of the first.
 */
static enum next
smtp_line(struct mail *m, char *line, size_t len)
{
	int		 code, last, first = m->lines == 0;
	const char	*text;

	if (len < 3 || !isdigit((unsigned char)line[0]) ||
	    !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) ||
	    (len > 3 && line[3] != ' ' && line[3] != '-')) {
		if (m->step == ST_GREETING && first)
			return fail(m, "greeting is not %s: \"%.*s\"",
			    m->pr->name, SHOWN_MAX, line);
		return fail(m, "bad line in %s: \"%.*s\"", step_name(m),
		    SHOWN_MAX, line);
	}
	code = atoi(line);
	last = len == 3 || line[3] == ' ';
	text = len > 4 ? line + 4 : "";
	if (first)
		m->code = code;
	else if (code != m->code)
		return fail(m, "bad line in %s: \"%.*s\" after code %d",
		    step_name(m), SHOWN_MAX, line, m->code);
	if (++m->lines > REPLY_LINES_MAX)
		return fail(m, "%s over %d lines, stopped", step_name(m),
		    REPLY_LINES_MAX);
	switch (m->step) {
	case ST_GREETING:
		if (code != 220)
			return fail(m, "banner is not 220: %.*s", SHOWN_MAX,
			    line);
		greeted(m, line, NULL);
		if (!last)
			return NX_MORE;
		if (expect_missing(m))
			return fail(m, "banner \"%s\" does not hold \"%s\"",
			    m->greeting, m->p->sc->o.expect);
		return send_cmd(m, ST_HELLO, "EHLO %s", hello_name());
	case ST_HELLO:
		if (code / 100 != 2) {
			if (!last)
				return NX_MORE;
			if (code / 100 == 5 && !m->helo &&
			    !m->p->sc->o.starttls) {
				m->helo = 1;
				return send_cmd(m, ST_HELLO, "HELO %s",
				    hello_name());
			}
			return fail(m, "%s refused: %.*s", m->helo ? "HELO" :
			    "EHLO", SHOWN_MAX, line);
		}
		if (!first && strncasecmp(text, "STARTTLS", 8) == 0 &&
		    (text[8] == '\0' || text[8] == ' '))
			m->offers_tls = 1;
		if (!last)
			return NX_MORE;
		if (m->p->sc->o.starttls && !m->stls_done &&
		    !m->p->sc->implicit_tls) {
			if (!m->offers_tls)
				return fail(m, "STARTTLS required but not "
				    "offered in the EHLO answer");
			return send_cmd(m, ST_STARTTLS, "STARTTLS");
		}
		return send_cmd(m, ST_QUIT, "QUIT");
	case ST_STARTTLS:
		if (!last)
			return NX_MORE;
		if (code != 220)
			return fail(m, "%s refused: %.*s", m->pr->stls,
			    SHOWN_MAX, line);
		return start_tls(m);
	case ST_QUIT:
		if (!last)
			return NX_MORE;
		return succeed(m);	/* any answer: we are leaving */
	default:
		break;
	}
	return fail(m, "unexpected line \"%.*s\"", SHOWN_MAX, line);
}

/* ---- POP3 -------------------------------------------------------------- */

/* "+OK" or "-ERR" and a blank or the end: 1, -1; 0 for anything else. */
static int
pop3_status(const char *line)
{
	if (strncmp(line, "+OK", 3) == 0 && (line[3] == '\0' ||
	    line[3] == ' '))
		return 1;
	if (strncmp(line, "-ERR", 4) == 0 && (line[4] == '\0' ||
	    line[4] == ' '))
		return -1;
	return 0;
}

/* Login if asked, else leave. */
static enum next
pop3_next(struct mail *m)
{
	if (m->login)
		return send_cmd(m, ST_USER, "USER %s", m->p->sc->o.user);
	return send_cmd(m, ST_QUIT, "QUIT");
}

static enum next
pop3_line(struct mail *m, char *line, size_t len)
{
	int		 st = pop3_status(line);
	unsigned long	 n, bytes;

	if (st == 0) {
		if (m->step == ST_GREETING)
			return fail(m, "greeting is not %s: \"%.*s\"",
			    m->pr->name, SHOWN_MAX, line);
		if (m->step == ST_QUIT)
			return succeed(m);
		return fail(m, "bad line in %s: \"%.*s\"", step_name(m),
		    SHOWN_MAX, line);
	}
	switch (m->step) {
	case ST_GREETING:
		if (st < 0)
			return fail(m, "greeting is %.*s", SHOWN_MAX, line);
		greeted(m, line, NULL);
		if (expect_missing(m))
			return fail(m, "greeting \"%s\" does not hold \"%s\"",
			    m->greeting, m->p->sc->o.expect);
		if (m->p->sc->o.starttls && !m->p->sc->implicit_tls)
			return send_cmd(m, ST_STARTTLS, "STLS");
		return pop3_next(m);
	case ST_STARTTLS:
		if (st < 0)
			return fail(m, "%s refused: %.*s", m->pr->stls,
			    SHOWN_MAX, line);
		return start_tls(m);
	case ST_USER:
		if (st < 0)
			return fail(m, "login failed: %.*s", SHOWN_MAX, line);
		return send_cmd(m, ST_LOGIN, "PASS %s", m->password);
	case ST_LOGIN:
		explicit_bzero(m->password, sizeof(m->password));
		if (st < 0)
			return fail(m, "login failed: %.*s", SHOWN_MAX, line);
		return send_cmd(m, ST_MAILBOX, "STAT");
	case ST_MAILBOX:
		if (st < 0 || sscanf(line + 3, " %lu %lu", &n, &bytes) != 2)
			return fail(m, "%s failed: %.*s", m->pr->mailbox,
			    SHOWN_MAX, line);
		snprintf(m->mailbox, sizeof(m->mailbox), ", logged in, %lu "
		    "message%s, %lu bytes", n, n == 1 ? "" : "s", bytes);
		return send_cmd(m, ST_QUIT, "QUIT");
	case ST_QUIT:
		return succeed(m);
	default:
		break;
	}
	return fail(m, "unexpected line \"%.*s\"", SHOWN_MAX, line);
}

/* ---- IMAP -------------------------------------------------------------- */

/* Send "aN command": the tag is the command's number. */
static enum next
imap_cmd(struct mail *m, enum step st, const char *fmt, ...)
{
	va_list		 ap;
	char		 cmd[CMD_MAX];
	enum next	 nx;
	int		 n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		nx = too_long(m);
	else
		nx = send_cmd(m, st, "a%u %s", m->sent + 1, cmd);
	explicit_bzero(cmd, sizeof(cmd));
	return nx;
}

/* LOGIN with both names quoted (STATUS if PREAUTH let us in), or leave. */
static enum next
imap_next(struct mail *m)
{
	char	 user[QUOTED_MAX], pw[QUOTED_MAX];
	enum next nx;

	if (!m->login)
		return imap_cmd(m, ST_QUIT, "LOGOUT");
	if (m->preauth)
		return imap_cmd(m, ST_MAILBOX, "STATUS INBOX (MESSAGES)");
	if (imap_quote(user, sizeof(user), m->p->sc->o.user) == -1 ||
	    imap_quote(pw, sizeof(pw), m->password) == -1) {
		explicit_bzero(pw, sizeof(pw));
		return too_long(m);
	}
	nx = imap_cmd(m, ST_LOGIN, "LOGIN %s %s", user, pw);
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(m->password, sizeof(m->password));
	return nx;
}

/* Skip "[...]" (a response code) and blanks at the start of s. */
static const char *
skip_code(const char *s)
{
	const char *e;

	while (*s == ' ')
		s++;
	if (*s == '[' && (e = strchr(s, ']')) != NULL)
		for (s = e + 1; *s == ' '; s++)
			;
	return s;
}

/*
 * A line while a tagged answer is awaited: untagged ("* ...") lines are
 * read past (STATUS's is kept; BYE ends the session unless we asked for
 * it), then "aN OK|NO|BAD text" is the answer.
 */
static enum next
imap_line(struct mail *m, char *line, size_t len)
{
	char		 tag[16], show[SHOWN_MAX + 1], *cond;
	unsigned long	 n;
	const char	*s;
	int		 ok;

	if (++m->lines > REPLY_LINES_MAX)
		return fail(m, "%s over %d lines, stopped", step_name(m),
		    REPLY_LINES_MAX);
	if (m->step == ST_GREETING) {
		if (strncmp(line, "* OK", 4) == 0 && (line[4] == '\0' ||
		    line[4] == ' ')) {
			/* Shown without its [CAPABILITY ...] code. */
			snprintf(show, sizeof(show), "OK %s",
			    skip_code(line + 4));
			greeted(m, line, show);
		} else if (strncmp(line, "* PREAUTH", 9) == 0 &&
		    (line[9] == '\0' || line[9] == ' ')) {
			greeted(m, line, line + 2);
			m->preauth = 1;
		} else if (strncmp(line, "* BYE", 5) == 0)
			return fail(m, "greeting is %.*s", SHOWN_MAX, line + 2);
		else
			return fail(m, "greeting is not %s: \"%.*s\"",
			    m->pr->name, SHOWN_MAX, line);
		if (expect_missing(m))
			return fail(m, "greeting \"%s\" does not hold \"%s\"",
			    m->greeting, m->p->sc->o.expect);
		if (m->p->sc->o.starttls && !m->p->sc->implicit_tls)
			return imap_cmd(m, ST_STARTTLS, "STARTTLS");
		return imap_next(m);
	}
	if (line[0] == '*' && line[1] == ' ') {
		if (strncasecmp(line + 2, "BYE", 3) == 0 &&
		    m->step != ST_QUIT)
			return fail(m, "server closing: %.*s", SHOWN_MAX,
			    line + 2);
		if (m->step == ST_MAILBOX &&
		    strncasecmp(line + 2, "STATUS ", 7) == 0 &&
		    (s = strcasestr(line, "(MESSAGES ")) != NULL &&
		    sscanf(s + 10, "%lu", &n) == 1)
			snprintf(m->mailbox, sizeof(m->mailbox), ", logged "
			    "in, %lu message%s in INBOX", n, n == 1 ? "" :
			    "s");
		return NX_MORE;
	}
	if (m->step == ST_QUIT)
		return succeed(m);	/* any answer: we are leaving */
	snprintf(tag, sizeof(tag), "a%u ", m->sent);
	if (strncmp(line, tag, strlen(tag)) != 0)
		return fail(m, "bad line in %s: \"%.*s\"", step_name(m),
		    SHOWN_MAX, line);
	cond = line + strlen(tag);
	ok = strncasecmp(cond, "OK", 2) == 0 && (cond[2] == ' ' ||
	    cond[2] == '\0');
	if (!ok && strncasecmp(cond, "NO", 2) != 0 &&
	    strncasecmp(cond, "BAD", 3) != 0)
		return fail(m, "bad line in %s: \"%.*s\"", step_name(m),
		    SHOWN_MAX, line);
	switch (m->step) {
	case ST_STARTTLS:
		if (!ok)
			return fail(m, "%s refused: %.*s", m->pr->stls,
			    SHOWN_MAX, cond);
		return start_tls(m);
	case ST_LOGIN:
		if (!ok)
			return fail(m, "login failed: %.*s", SHOWN_MAX, cond);
		return imap_cmd(m, ST_MAILBOX,
		    "STATUS INBOX (MESSAGES)");
	case ST_MAILBOX:
		if (!ok)
			return fail(m, "%s INBOX failed: %.*s",
			    m->pr->mailbox, SHOWN_MAX, cond);
		if (m->mailbox[0] == '\0')
			snprintf(m->mailbox, sizeof(m->mailbox), ", logged "
			    "in");
		return imap_cmd(m, ST_QUIT, "LOGOUT");
	default:
		break;
	}
	return fail(m, "unexpected line \"%.*s\"", SHOWN_MAX, line);
}

/* ---- the session -------------------------------------------------------- */

/* TLS is up after STARTTLS/STLS: go on where the plain session left. */
static enum next
after_tls(struct mail *m)
{
	m->stls_done = 1;
	if (m->pr == &smtp) {
		m->offers_tls = 0;
		return send_cmd(m, ST_HELLO, "EHLO %s", hello_name());
	}
	if (m->pr == &pop3)
		return pop3_next(m);
	return imap_next(m);
}

/*
 * Feed every whole line to the protocol until one ends the session or
 * starts TLS (lines after a STARTTLS answer are never read as plain text).
 */
static enum next
read_lines(struct mail *m)
{
	char		*line;
	size_t		 len;
	enum next	 nx = NX_MORE;

	while (nx == NX_MORE && !m->done &&
	    (line = conn_readline(m->c, &len)) != NULL) {
		nx = m->pr->line(m, line, len);
		free(line);
	}
	return m->done ? NX_DONE : nx;
}

/*
 * The connection's events. The outermost frame ends the probe once a
 * result is set (after probe_done, m and the probe are gone); a frame
 * nested in conn_starttls only sets the result.
 */
static void
on_conn(struct conn *c, enum conn_event ev, void *arg)
{
	struct mail	*m = arg;

	if (m->done)
		return;
	m->depth++;
	session_event(m, c, ev);
	m->depth--;
	if (m->done && m->depth == 0)
		probe_done(m->p);
}

/* One event of the session; NX_DONE once p->r is set. */
static enum next
session_event(struct mail *m, struct conn *c, enum conn_event ev)
{
	struct probe	*p = m->p;
	enum next	 nx = NX_MORE;

	switch (ev) {
	case CONN_CONNECTED:
		m->step = ST_GREETING;
		return NX_MORE;
	case CONN_TLS:
		nx = after_tls(m);
		break;
	case CONN_DATA:
		nx = read_lines(m);
		break;
	case CONN_EOF:
		if ((nx = read_lines(m)) != NX_MORE)
			break;
		if (m->step == ST_QUIT)
			nx = succeed(m);
		else if (m->step == ST_GREETING && p->r.firstbyte_us < 0)
			nx = fail(m, "connection closed before the %s",
			    m->pr->greeting);
		else if (m->step == ST_GREETING)
			nx = fail(m, "connection closed in the middle of the "
			    "%s", m->pr->greeting);
		else if (m->sent == 1 && m->lines == 0)
			nx = fail(m, "connection closed after the %s",
			    m->pr->greeting);
		else
			nx = fail(m, "connection closed waiting for %s",
			    step_name(m));
		break;
	case CONN_ERROR:
		if (m->step == ST_CONNECT || m->step == ST_TLS)
			nx = fail(m, "%s", conn_error(c));
		else
			nx = fail(m, "%s, waiting for %s", conn_error(c),
			    step_name(m));
		break;
	}
	return nx;
}
