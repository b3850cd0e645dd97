/*
 * mail.c: email through `set smtp-relay` with libesmtp. libesmtp blocks,
 * so mail_send runs on the pager's mail worker, never on the loop, with
 * every protocol timeout set short (a dead relay costs seconds). STARTTLS
 * is required and verified with `starttls`, else used when offered
 * (opportunistic, unverified). AUTH takes user:password from the
 * auth-file, which must be mode 0600 (or stricter): anything else refuses
 * the start.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
/* libesmtp.h declares smtp_starttls_set_ctx only when it sees this symbol,
 * which OpenSSL 3 no longer defines in its public headers. */
#ifndef SSL_SESSION_ASN1_VERSION
#define SSL_SESSION_ASN1_VERSION 0x0001
#endif
#include <auth-client.h>
#include <libesmtp.h>

#include "conf.h"
#include "log.h"
#include "xmalloc.h"

#include "pager.h"

#define SMTP_TIMEOUT_MS	10000	/* each protocol step, at most */
#define AUTH_FILE_MAX	1024

struct mail_conf {
	char	*relay;		/* host:port, as written */
	char	*server;	/* what libesmtp connects to */
	int	 by_address;	/* server is localhost's address */
	char	*from;
	int	 starttls;	/* 1 required */
	char	*user;		/* NULL: no AUTH */
	char	*password;
	SSL_CTX	*ctx;
};

static int	 read_auth(struct mail_conf *, const char *, char *, size_t);
static int	 interact(auth_client_request_t, char **, int, void *);
static char	*crlf(const char *);
static int	 is_localhost(const char *, size_t);
static void	 on_event(smtp_session_t, int, void *, ...);

/*
 * Read user:password from the auth-file, refusing a file others may read
 * or write. Returns 0, or -1 with err saying why.
 */
static int
read_auth(struct mail_conf *mc, const char *path, char *err, size_t errlen)
{
	struct stat	 st;
	char		 buf[AUTH_FILE_MAX + 1], *colon;
	ssize_t		 n;
	int		 fd;

	/* O_NONBLOCK: a FIFO put there must not hang the start. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		snprintf(err, errlen, "auth-file %s: %s", path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "auth-file %s is not a regular file",
		    path);
		close(fd);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen, "auth-file %s is mode %04o: it must "
		    "be 0600, readable by its owner only (chmod 600 %s)",
		    path, (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return -1;
	}
	n = read(fd, buf, AUTH_FILE_MAX);
	close(fd);
	if (n <= 0) {
		snprintf(err, errlen, "auth-file %s is empty (user:password)",
		    path);
		return -1;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if ((colon = strchr(buf, ':')) == NULL || colon == buf) {
		snprintf(err, errlen, "auth-file %s: expected user:password "
		    "on the first line", path);
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	*colon = '\0';
	mc->user = xstrdup(buf);
	mc->password = xstrdup(colon + 1);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/* RFC 6761 6.3: localhost and names under .localhost are loopback. */
static int
is_localhost(const char *h, size_t n)
{
	static const char	 sfx[] = ".localhost";
	size_t			 sn = sizeof(sfx) - 1;

	if (n > 0 && h[n - 1] == '.')
		n--;
	if (n == 9 && strncasecmp(h, "localhost", 9) == 0)
		return 1;
	return n > sn && strncasecmp(h + n - sn, sfx, sn) == 0;
}

/*
 * libesmtp compares the relay's certificate with the name it connected
 * to, which is 127.0.0.1 for localhost: OpenSSL has already checked the
 * name written in the config during the handshake (SSL_VERIFY_PEER with
 * the host set on the context), so that one complaint is answered yes.
 */
static void
on_event(smtp_session_t ses, int event, void *arg, ...)
{
	const struct mail_conf	*mc = arg;
	va_list			 ap;
	int			*ok;

	(void)ses;
	if (event != SMTP_EV_WRONG_PEER_CERTIFICATE || !mc->by_address)
		return;
	va_start(ap, arg);
	ok = va_arg(ap, int *);
	*ok = 1;
	va_end(ap);
}

/*
 * The relay's settings, checked: NULL when there is no relay (Maildir;
 * err "") or with err set when they are refused (the auth-file).
 */
struct mail_conf *
mail_conf_new(const struct conf *c, char *err, size_t errlen)
{
	struct mail_conf	*mc;
	char			*colon, host[256];
	size_t			 hostlen;

	err[0] = '\0';
	if (c->smtp_relay == NULL)
		return NULL;
	mc = xcalloc(1, sizeof(*mc));
	mc->relay = xstrdup(c->smtp_relay);
	if ((colon = strrchr(mc->relay, ':')) == NULL)
		colon = mc->relay + strlen(mc->relay);
	hostlen = (size_t)(colon - mc->relay);
	if (is_localhost(mc->relay, hostlen)) {
		mc->by_address = 1;
		xasprintf(&mc->server, "127.0.0.1%s", colon);
	} else
		mc->server = xstrdup(mc->relay);
	mc->from = xstrdup(c->from != NULL ? c->from : "tocsin@localhost");
	mc->starttls = c->smtp_starttls;
	if (c->smtp_auth_file != NULL &&
	    read_auth(mc, c->smtp_auth_file, err, errlen) == -1)
		goto fail;
	if ((mc->ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		snprintf(err, errlen, "cannot make a TLS context");
		goto fail;
	}
	/* Required STARTTLS is verified against the system's CAs (or
	 * SSL_CERT_FILE); opportunistic STARTTLS is not. */
	SSL_CTX_set_default_verify_paths(mc->ctx);
	/*
	 * TLS 1.2 at most: a TLS 1.3 server sends session tickets after the
	 * handshake, and libesmtp 1.1 may take them for the answer to a
	 * command it has not sent yet, then wait for it until the timeout.
	 */
	SSL_CTX_set_max_proto_version(mc->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(mc->ctx, mc->starttls ? SSL_VERIFY_PEER :
	    SSL_VERIFY_NONE, NULL);
	if (mc->starttls) {
		snprintf(host, sizeof(host), "%.*s", (int)hostlen, mc->relay);
		if (X509_VERIFY_PARAM_set1_host(SSL_CTX_get0_param(mc->ctx),
		    host, 0) != 1) {
			snprintf(err, errlen, "cannot verify TLS for %s", host);
			goto fail;
		}
	}
	return mc;
fail:
	mail_conf_free(mc);
	return NULL;
}

void
mail_conf_free(struct mail_conf *mc)
{
	if (mc == NULL)
		return;
	free(mc->relay);
	free(mc->server);
	free(mc->from);
	free(mc->user);
	if (mc->password != NULL) {
		explicit_bzero(mc->password, strlen(mc->password));
		free(mc->password);
	}
	if (mc->ctx != NULL)
		SSL_CTX_free(mc->ctx);
	free(mc);
}

/* mail_conf_free as a worker job. */
void
mail_conf_free_job(void *arg)
{
	mail_conf_free(arg);
}

/* libesmtp asks for the user and password. */
static int
interact(auth_client_request_t req, char **result, int fields, void *arg)
{
	struct mail_conf	*mc = arg;
	int			 i;

	for (i = 0; i < fields; i++) {
		if (req[i].flags & AUTH_USER)
			result[i] = mc->user;
		else if (req[i].flags & AUTH_PASS)
			result[i] = mc->password;
		else
			return 0;
	}
	return 1;
}

/* The message with CRLF line ends, as SMTP wants; the caller frees it. */
static char *
crlf(const char *s)
{
	size_t	 n = 0, i;
	char	*out, *o;

	for (i = 0; s[i] != '\0'; i++)
		n += s[i] == '\n' ? 2 : 1;
	out = o = xmalloc(n + 1);
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			*o++ = '\r';
		*o++ = s[i];
	}
	*o = '\0';
	return out;
}

/*
 * A session to the relay with the timeouts, STARTTLS and AUTH set; *auth
 * is what to destroy after it (or NULL). NULL with err set on failure.
 */
static smtp_session_t
session_new(const struct mail_conf *mc, auth_context_t *auth, char *err,
    size_t errlen)
{
	smtp_session_t		 ses;
	char			 ebuf[128];
	int			 i;
	static const int	 steps[] = { Timeout_GREETING,
	    Timeout_ENVELOPE, Timeout_DATA, Timeout_TRANSFER, Timeout_DATA2 };

	*auth = NULL;
	if ((ses = smtp_create_session()) == NULL) {
		snprintf(err, errlen, "libesmtp: cannot make a session");
		return NULL;
	}
	for (i = 0; i < 5; i++)
		smtp_set_timeout(ses, steps[i] | Timeout_OVERRIDE_RFC2822_MINIMUM,
		    SMTP_TIMEOUT_MS);
	smtp_set_hostname(ses, NULL);
	if (smtp_set_server(ses, mc->server) == 0 ||
	    smtp_set_eventcb(ses, on_event, (void *)mc) == 0) {
		snprintf(err, errlen, "libesmtp: %s", smtp_strerror(
		    smtp_errno(), ebuf, sizeof(ebuf)));
		smtp_destroy_session(ses);
		return NULL;
	}
	smtp_starttls_set_ctx(ses, mc->ctx);
	smtp_starttls_enable(ses, mc->starttls ? Starttls_REQUIRED :
	    Starttls_ENABLED);
	if (mc->user != NULL) {
		*auth = auth_create_context();
		auth_set_mechanism_flags(*auth, AUTH_PLUGIN_PLAIN, 0);
		auth_set_interact_cb(*auth, interact, (void *)mc);
		smtp_auth_set_context(ses, *auth);
	}
	return ses;
}

/* Add one message for one address to the session; 0, or -1 with the
 * message's err set. */
static int
message_add(const struct mail_conf *mc, smtp_session_t ses,
    struct mail_msg *mm)
{
	char ebuf[128];

	mm->text = crlf(mm->msg);
	if ((mm->m = smtp_add_message(ses)) == NULL ||
	    smtp_set_reverse_path(mm->m, mc->from) == 0 ||
	    (mm->rcpt = smtp_add_recipient(mm->m, mm->to)) == NULL ||
	    smtp_set_message_str(mm->m, mm->text) == 0) {
		snprintf(mm->err, sizeof(mm->err), "libesmtp: %s",
		    smtp_strerror(smtp_errno(), ebuf, sizeof(ebuf)));
		mm->m = NULL;
		return -1;
	}
	return 0;
}

/* How the relay answered one message of a session that ran. */
static void
message_judge(const struct mail_conf *mc, struct mail_msg *mm)
{
	const smtp_status_t	*st, *rst;

	st = smtp_message_transfer_status(mm->m);
	rst = smtp_recipient_status(mm->rcpt);
	if (st != NULL && st->code >= 200 && st->code < 300)
		mm->r = SEND_OK;
	else if (rst != NULL && rst->code >= 500) {
		snprintf(mm->err, sizeof(mm->err), "relay %s refused %s: "
		    "%d %s", mc->relay, mm->to, rst->code,
		    rst->text ? rst->text : "");
		mm->r = SEND_REFUSED;
	} else if (st != NULL && st->code >= 500) {
		snprintf(mm->err, sizeof(mm->err), "relay %s refused the "
		    "message: %d %s", mc->relay, st->code,
		    st->text ? st->text : "");
		mm->r = SEND_REFUSED;
	} else
		snprintf(mm->err, sizeof(mm->err), "relay %s: %d %s",
		    mc->relay, st != NULL ? st->code : 0,
		    st != NULL && st->text != NULL ? st->text :
		    "no answer (TLS or AUTH failed?)");
	mm->err[strcspn(mm->err, "\r\n")] = '\0';
}

/*
 * Send n messages, each to its one address, in one session to the relay
 * (in order). Blocks up to the timeouts. Each message's r is SEND_OK when
 * the relay took it, SEND_REFUSED on a 5xx for the message or the
 * address, SEND_RETRY for the rest (connection, TLS, AUTH, 4xx), with err
 * set.
 */
void
mail_send_batch(const struct mail_conf *mc, struct mail_msg *mm, size_t n)
{
	smtp_session_t	 ses;
	auth_context_t	 auth;
	char		 err[ERROR_MAX], ebuf[128];
	size_t		 i, added = 0;

	for (i = 0; i < n; i++) {
		mm[i].r = SEND_RETRY;
		mm[i].err[0] = '\0';
		mm[i].text = NULL;
		mm[i].m = NULL;
	}
	if ((ses = session_new(mc, &auth, err, sizeof(err))) == NULL) {
		for (i = 0; i < n; i++)
			strlcpy(mm[i].err, err, sizeof(mm[i].err));
		return;
	}
	for (i = 0; i < n; i++)
		if (message_add(mc, ses, &mm[i]) == 0)
			added++;
	if (added > 0 && smtp_start_session(ses) == 0) {
		snprintf(err, sizeof(err), "relay %s: %s", mc->relay,
		    smtp_strerror(smtp_errno(), ebuf, sizeof(ebuf)));
		for (i = 0; i < n; i++)
			if (mm[i].m != NULL) {
				strlcpy(mm[i].err, err, sizeof(mm[i].err));
				mm[i].m = NULL;
			}
	}
	for (i = 0; i < n; i++)
		if (mm[i].m != NULL)
			message_judge(mc, &mm[i]);
	smtp_destroy_session(ses);
	if (auth != NULL)
		auth_destroy_context(auth);
	for (i = 0; i < n; i++) {
		free(mm[i].text);
		mm[i].text = NULL;
		mm[i].m = NULL;
	}
}

/* One message to one address: mail_send_batch of one. */
enum send_result
mail_send(const struct mail_conf *mc, const char *to, const char *msg,
    char *err, size_t errlen)
{
	struct mail_msg mm;

	memset(&mm, 0, sizeof(mm));
	mm.to = to;
	mm.msg = msg;
	mail_send_batch(mc, &mm, 1);
	strlcpy(err, mm.err, errlen);
	return mm.r;
}
