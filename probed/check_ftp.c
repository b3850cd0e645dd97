/*
 * check_ftp.c: ftp:// and ftps://. Without `user` (or `file`) the check
 * reads the greeting only, as check_ftp does: connect (TLS at once for
 * ftps://), the 220 greeting, AUTH TLS with `starttls`, then QUIT; a
 * small line client on conn.c speaks it. With `user` or `file` it logs in
 * on the curl multi handle (as `user` with `password-file`, else as
 * anonymous) and with `file` (or a path in the URL) asks the SIZE of that
 * file, never a download; then QUIT. No data connection is ever opened.
 * `expect` must be held by the greeting (or, after a login, by the
 * greeting or the login reply).
 *
 * Curl waits for the answer to QUIT with a blocking poll of its own that
 * ignores every timeout but a 120 s one (lib/ftp.c, ftp_quit); a server
 * that never answered would stop the whole loop. So the check watches the
 * commands curl sends (its debug callback) and, once QUIT is out, shuts the
 * read side of the control socket: the server gets its QUIT, curl's wait
 * ends at once.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/buffer.h>

#include "xmalloc.h"

#include "conn.h"
#include "curlopt.h"
#include "probed.h"
#include "tlsinfo.h"

#define FTP_REPLY_SHOWN	100	/* bytes of a server reply in a message */
#define FTP_URL_MAX	2048
#define FTP_TEXT_MAX	512	/* bytes kept of the greeting for `expect` */
#define FTP_LINE_MAX	2048	/* a reply line longer than this is a flood */
#define FTP_LINES_MAX	100	/* lines of one reply before we give up */

/* Where a greeting-only session is. */
enum gstep {
	G_CONNECT,	/* TCP, and TLS for ftps:// */
	G_GREETING,	/* the 220 reply, maybe several lines */
	G_AUTH,		/* the answer to AUTH TLS */
	G_TLS,		/* the handshake that follows it */
};

struct ftp {
	struct probe	*p;
	struct curlxfer	 x;		/* the transfer */
	curl_socket_t	 ctlfd;		/* the control connection, once made */
	int64_t		 banner_us;	/* banner arrived; -1 before */
	int		 bad_banner;	/* first line is no FTP reply */
	int		 awaiting;	/* a command is out, its reply not in */
	unsigned	 replies;	/* complete replies, banner included */
	char		 cmd[8];	/* verb of the last command sent */
	char		 reply[FTP_REPLY_SHOWN + 1];	/* last reply line */
	char		 path[1024];	/* the file checked, as written */
	char		 phase[32];
	char		 greeting[FTP_TEXT_MAX];	/* all its lines */
	char		 login[FTP_REPLY_SHOWN + 1];	/* the login reply */
	/* Greeting only (no login): the line client on conn.c. */
	struct conn	*c;
	enum gstep	 gstep;
	unsigned	 lines;		/* of the reply being read */
	char		 code[4];	/* its code */
	int		 done;		/* p->r is set */
};

static int	 ftp_start(struct probe *);
static void	 ftp_release(struct probe *);
static const char *ftp_phase(struct probe *);
static void	 ftp_done(struct probe *, int);
static size_t	 on_reply(char *, size_t, size_t, void *);
static size_t	 on_body(char *, size_t, size_t, void *);
static int	 on_debug(CURL *, curl_infotype, char *, size_t, void *);
static int	 on_sockopt(void *, curl_socket_t, curlsocktype);
static void	 shown(char *, size_t, const char *, size_t);
static int	 is_reply(const char *, size_t);
static void	 closed_message(struct probe *, struct ftp *);
static void	 add_text(char *, size_t, const char *, size_t);
static int	 greet_start(struct probe *, struct ftp *);
static void	 on_greet(struct conn *, enum conn_event, void *);
static int	 greet_line(struct probe *, struct ftp *, const char *, size_t);
static int	 greet_fail(struct probe *, struct ftp *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	 greet_ok(struct probe *, struct ftp *);

const struct check_ops check_ftp_ops = {
	.name = "ftp",
	.needs_addr = 1,
	.start = ftp_start,
	.release = ftp_release,
	.phase = ftp_phase,
	.curl_done = ftp_done,
};

/* Copy at most len bytes of s into a printable one-line string. */
static void
shown(char *dst, size_t size, const char *s, size_t len)
{
	size_t	 i, o = 0;

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	for (i = 0; i < len && o + 1 < size; i++)
		dst[o++] = isprint((unsigned char)s[i]) ? s[i] : '.';
	dst[o] = '\0';
}

/* "NNN " or "NNN-": a line that starts an FTP reply. */
static int
is_reply(const char *s, size_t len)
{
	return len >= 4 && isdigit((unsigned char)s[0]) &&
	    isdigit((unsigned char)s[1]) && isdigit((unsigned char)s[2]) &&
	    (s[3] == ' ' || s[3] == '-' || s[3] == '\r' || s[3] == '\n');
}

/* Append a printable copy of a reply line to text, blank-separated. */
static void
add_text(char *text, size_t size, const char *s, size_t len)
{
	size_t used = strlen(text);

	if (used > 0 && used + 1 < size)
		text[used++] = ' ';
	shown(text + used, size - used, s, len);
}

/*
 * Curl hands every line of the server's replies to the header callback
 * (and, after SIZE, a few made-up headers of its own). The first line is
 * the banner: its arrival is the first-byte time, and a first line that is
 * no FTP reply stops the transfer (returning 0 makes curl fail with
 * CURLE_WRITE_ERROR) instead of waiting for a reply that never comes.
 */
static size_t
on_reply(char *data, size_t size, size_t n, void *arg)
{
	struct ftp	*h = arg;
	size_t		 len = size * n;

	if (h->banner_us < 0) {
		h->banner_us = probe_elapsed_us(h->p);
		if (!is_reply(data, len)) {
			h->bad_banner = 1;
			shown(h->reply, sizeof(h->reply), data, len);
			return 0;
		}
	}
	if (h->replies == 0)
		add_text(h->greeting, sizeof(h->greeting), data, len);
	/* The reply to QUIT (if it comes in time) is not the story. */
	if (is_reply(data, len) && data[3] != '-' &&
	    strcmp(h->cmd, "QUIT") != 0) {
		shown(h->reply, sizeof(h->reply), data, len);
		if (strcmp(h->cmd, "PASS") == 0 || (strcmp(h->cmd, "USER") ==
		    0 && strncmp(data, "230", 3) == 0))
			shown(h->login, sizeof(h->login), data, len);
		h->replies++;
		h->awaiting = 0;
	}
	return len;
}

/* Curl hands the made-up headers after SIZE to the body too: drop them. */
static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	return size * n;
}

/*
 * Curl's debug callback, for the commands it sends: remember the verb
 * (never its argument: PASS carries the password) for timeout messages,
 * and after QUIT end curl's blocking wait for the answer (see the top of
 * this file).
 */
static int
on_debug(CURL *easy, curl_infotype type, char *data, size_t len, void *arg)
{
	struct ftp	*h = arg;
	size_t		 i;

	if (type != CURLINFO_HEADER_OUT)
		return 0;
	for (i = 0; i < len && i + 1 < sizeof(h->cmd) &&
	    isalpha((unsigned char)data[i]); i++)
		h->cmd[i] = toupper((unsigned char)data[i]);
	h->cmd[i] = '\0';
	h->awaiting = 1;
	if (strcmp(h->cmd, "QUIT") == 0 && h->ctlfd != CURL_SOCKET_BAD)
		shutdown(h->ctlfd, SHUT_RD);
	return 0;
}

/* The first socket curl makes is the control connection (NOBODY: the
 * only one). */
static int
on_sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	struct ftp *h = arg;

	if (purpose == CURLSOCKTYPE_IPCXN && h->ctlfd == CURL_SOCKET_BAD)
		h->ctlfd = fd;
	return CURL_SOCKOPT_OK;
}

/*
 * Set the transfer up: the URL names the host as written (curlopt_open
 * sends it to the c-ares address) and, with a file, its path escaped
 * whole, so that curl's NOCWD method asks "SIZE /pub/x" exactly as
 * written: a leading '/' is from the server's root, none from the login
 * folder. 0, or -1 with p->r set.
 */
static int
ftp_start(struct probe *p)
{
	const struct server_conf *sc = p->sc;
	struct ftp	*h;
	CURL		*c;
	char		 url[FTP_URL_MAX], *esc = NULL;
	const char	*file = sc->o.file, *lb, *rb;
	int		 n;

	h = xcalloc(1, sizeof(*h));
	p->priv = h;
	h->p = p;
	h->ctlfd = CURL_SOCKET_BAD;
	h->banner_us = -1;
	if (sc->o.user == NULL && (file == NULL || *file == '\0') &&
	    (sc->path == NULL || strcmp(sc->path, "/") == 0))
		return greet_start(p, h);
	if (curlopt_open(p, &h->x) == -1)
		return -1;
	c = h->x.easy;
	lb = strchr(sc->host, ':') != NULL ? "[" : "";
	rb = *lb != '\0' ? "]" : "";
	if (file != NULL && *file != '\0') {
		if (file[strlen(file) - 1] == '/') {
			result_set(&p->r, CHECK_UNKNOWN, "file %s names a "
			    "folder; give a file", file);
			return -1;
		}
		snprintf(h->path, sizeof(h->path), "%s", file);
		if ((esc = curl_easy_escape(c, file, 0)) == NULL) {
			result_set(&p->r, CHECK_UNKNOWN, "out of memory");
			return -1;
		}
		n = snprintf(url, sizeof(url), "%s://%s%s%s:%d/%s", sc->scheme,
		    lb, sc->host, rb, sc->port, esc);
		curl_free(esc);
	} else {
		/* A path in the URL keeps curl's meaning (from the login
		 * folder). */
		if (sc->path != NULL && strcmp(sc->path, "/") != 0)
			snprintf(h->path, sizeof(h->path), "%s", sc->path);
		n = snprintf(url, sizeof(url), "%s://%s%s%s:%d%s", sc->scheme,
		    lb, sc->host, rb, sc->port, sc->path != NULL ? sc->path :
		    "/");
	}
	if (n < 0 || (size_t)n >= sizeof(url)) {
		result_set(&p->r, CHECK_UNKNOWN, "FTP URL over %d bytes",
		    FTP_URL_MAX);
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_FTP_FILEMETHOD, (long)CURLFTPMETHOD_NOCWD);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_reply);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
	curl_easy_setopt(c, CURLOPT_SOCKOPTDATA, h);
	curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(c, CURLOPT_DEBUGDATA, h);
	curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	if (sc->o.starttls && !sc->implicit_tls) {
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		curl_easy_setopt(c, CURLOPT_FTPSSLAUTH, (long)CURLFTPAUTH_TLS);
	}
	if (engine_curl_add(p->eng, c) == -1) {
		result_set(&p->r, CHECK_UNKNOWN, "cannot start the transfer");
		return -1;
	}
	return 0;
}

static void
ftp_release(struct probe *p)
{
	struct ftp *h = p->priv;

	if (h == NULL)
		return;
	curlopt_close(p, &h->x);
	conn_free(h->c);
	free(h);
	p->priv = NULL;
}

/* What the session waits for, from curl's timers and the last command. */
static const char *
ftp_phase(struct probe *p)
{
	struct ftp	*h = p->priv;
	const char	*ph;

	if (h == NULL)
		return NULL;
	if (h->c != NULL) {
		if ((ph = conn_phase(h->c)) != NULL)
			return ph;
		return h->gstep == G_AUTH ? "the AUTH answer" : "the banner";
	}
	if (h->x.easy == NULL)
		return NULL;
	if (h->banner_us < 0) {
		ph = curlopt_phase(h->x.easy, p->sc->implicit_tls, "the banner");
		return ph != NULL && strcmp(ph, "the end of the answer") != 0 ?
		    ph : "the banner";
	}
	if (strcmp(h->cmd, "AUTH") == 0 && !h->awaiting)
		return "the TLS handshake";
	if (strcmp(h->cmd, "USER") == 0 || strcmp(h->cmd, "PASS") == 0)
		return "the login answer";
	if (h->cmd[0] == '\0')
		return "the first command";
	snprintf(h->phase, sizeof(h->phase), "the %s answer", h->cmd);
	return h->phase;
}

/* After the banner: what curl was waiting for when the server left. */
static void
closed_message(struct probe *p, struct ftp *h)
{
	if (h->banner_us < 0)
		result_set(&p->r, CHECK_CRITICAL, "connection closed before "
		    "the banner");
	else if (h->replies <= 1)
		result_set(&p->r, CHECK_CRITICAL, "connection closed after "
		    "the banner");
	else
		result_set(&p->r, CHECK_CRITICAL, "connection closed waiting "
		    "for %s", ftp_phase(p));
}

/*
 * The transfer ended: judge it. Curl's code says what failed; the last
 * reply line says why, in the server's words.
 */
static void
ftp_done(struct probe *p, int code)
{
	const struct server_conf *sc = p->sc;
	struct ftp	*h = p->priv;
	curl_off_t	 size = -1;
	const char	*user = sc->o.user != NULL ? sc->o.user : "anonymous";
	const char	*tls = sc->implicit_tls || sc->o.starttls ?
			    " with TLS" : "";

	curlopt_times(p, h->x.easy, h->x.launch_us);
	p->r.firstbyte_us = h->banner_us;
	switch (code) {
	case CURLE_OK:
		curl_easy_getinfo(h->x.easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
		    &size);
		if (sc->o.expect != NULL &&
		    strstr(h->greeting, sc->o.expect) == NULL &&
		    strstr(h->login, sc->o.expect) == NULL)
			result_set(&p->r, CHECK_CRITICAL, "neither greeting "
			    "\"%s\" nor login reply \"%s\" holds \"%s\"",
			    h->greeting, h->login, sc->o.expect);
		else if (h->path[0] == '\0')
			result_set(&p->r, CHECK_OK, "logged in as %s%s in "
			    "%.1f ms", user, tls, p->r.total_us / 1000.0);
		else if (size < 0)
			result_set(&p->r, CHECK_WARNING, "logged in as %s%s; "
			    "no size for file %s (SIZE not supported?), so "
			    "not known to exist", user, tls, h->path);
		else
			result_set(&p->r, CHECK_OK, "logged in as %s%s, file "
			    "%s %lld bytes in %.1f ms", user, tls, h->path,
			    (long long)size, p->r.total_us / 1000.0);
		if (*tls != '\0')
			(void)tlsinfo_cert_days(&h->x.tls, sc, &p->r, "FTP");
		break;
	case CURLE_WRITE_ERROR:
		if (h->bad_banner) {
			result_set(&p->r, CHECK_CRITICAL, "greeting is not "
			    "FTP: \"%s\"", h->reply);
			break;
		}
		curlopt_error(p, h->x.easy, code, h->x.errbuf, ftp_phase(p));
		break;
	case CURLE_REMOTE_FILE_NOT_FOUND:
		result_set(&p->r, CHECK_CRITICAL, "file %s missing (%.3s)",
		    h->path, h->reply);
		break;
	case CURLE_REMOTE_ACCESS_DENIED:
		result_set(&p->r, CHECK_CRITICAL, "access to %s denied: %s",
		    h->path[0] != '\0' ? h->path : "/", h->reply);
		break;
	case CURLE_LOGIN_DENIED:
		result_set(&p->r, CHECK_CRITICAL, "login failed as %s: %s",
		    user, h->reply);
		break;
	case CURLE_USE_SSL_FAILED:
		result_set(&p->r, CHECK_CRITICAL, "AUTH TLS refused: %s",
		    h->reply);
		break;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_FTP_WEIRD_PASS_REPLY:
	case CURLE_FTP_WEIRD_PASV_REPLY:
	case CURLE_FTP_WEIRD_227_FORMAT:
		if (h->replies <= 1 && h->banner_us >= 0)
			result_set(&p->r, CHECK_CRITICAL, "banner is not 220: "
			    "%s", h->reply);
		else
			result_set(&p->r, CHECK_CRITICAL, "bad answer to %s: "
			    "%s", h->cmd, h->reply);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		/* Curl reports a 421 ("service not available, closing")
		 * as a timeout. */
		if (strncmp(h->reply, "421", 3) == 0) {
			result_set(&p->r, CHECK_CRITICAL, "%s: %s",
			    h->replies <= 1 ? "banner is not 220" :
			    "server closing", h->reply);
			break;
		}
		curlopt_error(p, h->x.easy, code, h->x.errbuf, ftp_phase(p));
		break;
	case CURLE_RECV_ERROR:
		/* Curl strips a line past its buffer and gives up at 300
		 * KiB of reply: a flood, not a close. */
		if (strcasestr(h->x.errbuf, "too large response") != NULL) {
			result_set(&p->r, CHECK_CRITICAL, "reply line too "
			    "long: no line end in %s", h->banner_us < 0 ?
			    "the greeting" : "the reply");
			break;
		}
		/* FALLTHROUGH */
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		if (h->ctlfd != CURL_SOCKET_BAD && p->r.connect_us >= 0 &&
		    (!sc->implicit_tls || p->r.tls_us >= 0)) {
			closed_message(p, h);
			break;
		}
		curlopt_error(p, h->x.easy, code, h->x.errbuf, ftp_phase(p));
		break;
	default:
		if (!curlopt_tls_error(p, &h->x, code))
			curlopt_error(p, h->x.easy, code, h->x.errbuf,
			    ftp_phase(p));
		break;
	}
	probe_done(p);
}

/*
 * Greeting only: connect (conn.c does TLS at once for ftps://) and read
 * the greeting. 0, or -1 with p->r set.
 */
static int
greet_start(struct probe *p, struct ftp *h)
{
	h->gstep = G_CONNECT;
	if ((h->c = conn_open(p, p->sc->implicit_tls, on_greet, p)) == NULL)
		return -1;
	return 0;
}

/* The check failed: set p->r once. Returns 1 (stop reading). */
static int
greet_fail(struct probe *p, struct ftp *h, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[RESULT_MSG_MAX];

	if (h->done)
		return 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->r.total_us = probe_elapsed_us(p);
	result_set(&p->r, CHECK_CRITICAL, "%s", msg);
	h->done = 1;
	return 1;
}

/*
 * The greeting passed (and TLS is up, if asked for): the verdict, then a
 * QUIT. The QUIT goes straight to a plain socket, best effort, since the
 * connection is closed at once; over TLS the close alone ends it.
 * Returns 1.
 */
static int
greet_ok(struct probe *p, struct ftp *h)
{
	int	 tls = conn_is_tls(h->c);
	int	 fd;

	p->r.total_us = probe_elapsed_us(p);
	result_set(&p->r, CHECK_OK, "banner %s%s in %.1f ms", h->greeting,
	    tls ? (p->sc->implicit_tls ? ", with TLS" : ", AUTH TLS ok") : "",
	    p->r.total_us / 1000.0);
	if (tls && conn_tlsinfo(h->c) != NULL)
		(void)tlsinfo_cert_days(conn_tlsinfo(h->c), p->sc, &p->r,
		    "FTP");
	if (!tls && (fd = conn_fd(h->c)) != -1)
		(void)send(fd, "QUIT\r\n", 6, MSG_DONTWAIT | MSG_NOSIGNAL);
	h->done = 1;
	return 1;
}

/*
 * One whole reply line. The greeting must be a 220 reply (its text, all
 * lines of it, must hold `expect`); the answer to AUTH TLS a 234. Returns
 * 1 when the session is decided (p->r set, or TLS starting), else 0.
 */
static int
greet_line(struct probe *p, struct ftp *h, const char *line, size_t len)
{
	const struct server_conf *sc = p->sc;
	char	 got[FTP_REPLY_SHOWN + 1];

	shown(got, sizeof(got), line, len);
	if (h->lines == 0) {
		if (!is_reply(line, len) && !(len == 3 &&
		    isdigit((unsigned char)line[0]) &&
		    isdigit((unsigned char)line[1]) &&
		    isdigit((unsigned char)line[2])))
			return greet_fail(p, h, h->gstep == G_GREETING ?
			    "greeting is not FTP: \"%s\"" :
			    "bad answer to AUTH TLS: \"%s\"", got);
		memcpy(h->code, line, 3);
	}
	if (h->gstep == G_GREETING)
		add_text(h->greeting, sizeof(h->greeting), line, len);
	if (++h->lines > FTP_LINES_MAX)
		return greet_fail(p, h, "reply over %d lines", FTP_LINES_MAX);
	/* A reply ends with a line "NNN " (or "NNN"), its first line's code. */
	if (len < 3 || memcmp(line, h->code, 3) != 0 ||
	    (len > 3 && line[3] != ' '))
		return 0;
	h->lines = 0;
	if (h->gstep == G_AUTH) {
		if (strncmp(line, "234", 3) != 0)
			return greet_fail(p, h, "AUTH TLS refused: %s", got);
		if (conn_starttls(h->c) == -1)
			return greet_fail(p, h, "%s", conn_error(h->c));
		h->gstep = G_TLS;
		return 1;
	}
	h->banner_us = probe_elapsed_us(p);
	if (strncmp(line, "220", 3) != 0)
		return greet_fail(p, h, "banner is not 220: %s", got);
	if (sc->o.expect != NULL && strstr(h->greeting, sc->o.expect) == NULL)
		return greet_fail(p, h, "banner \"%s\" does not hold \"%s\"",
		    h->greeting, sc->o.expect);
	if (sc->o.starttls && !sc->implicit_tls) {
		if (conn_write(h->c, "AUTH TLS\r\n", 10) == -1)
			return greet_fail(p, h, "cannot send AUTH TLS");
		h->gstep = G_AUTH;
		return 0;
	}
	return greet_ok(p, h);
}

/* The greeting session's connection events. */
static void
on_greet(struct conn *c, enum conn_event ev, void *arg)
{
	struct probe	*p = arg;
	struct ftp	*h = p->priv;
	char		*line;
	size_t		 len;
	int		 stop = 0;

	switch (ev) {
	case CONN_CONNECTED:
		h->gstep = G_GREETING;
		return;
	case CONN_TLS:
		(void)greet_ok(p, h);
		break;
	case CONN_DATA:
		while (!stop && (line = conn_readline(c, &len)) != NULL) {
			stop = greet_line(p, h, line, len);
			free(line);
		}
		if (stop && !h->done)
			return;		/* TLS under way */
		if (!stop && evbuffer_get_length(conn_input(c)) >
		    FTP_LINE_MAX)
			greet_fail(p, h, "reply line too long: no line end in "
			    "%s", h->gstep == G_GREETING ? "the greeting" :
			    "the reply");
		else if (!stop)
			return;
		break;
	case CONN_EOF:
		greet_fail(p, h, "connection closed %s", h->gstep == G_GREETING ?
		    "before the banner" : "waiting for the AUTH answer");
		break;
	case CONN_ERROR:
		greet_fail(p, h, "%s", conn_error(c));
		break;
	}
	probe_done(p);
}
