/*
 * conf.c: the config language. A lexer turns text into words, strings,
 * braces and ends of statements; the parser builds the model in conf.h,
 * reports every error as FILE:LINE: message and keeps going; a validation
 * pass then checks what needs the whole file (duplicates, contacts,
 * dependencies and their cycles) and resolves defaults.
 */
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "util.h"
#include "xmalloc.h"

#define CONF_FILE_MAX	(64 * 1024 * 1024)	/* bytes per config file */
#define INCLUDE_DEPTH	16
#define STMT_WORDS_MAX	64

enum tok {
	TOK_WORD,
	TOK_STRING,
	TOK_LBRACE,
	TOK_RBRACE,
	TOK_EOS,	/* newline or ';' */
	TOK_EOF,
};

struct src {
	const char	*name;		/* owned by conf->files */
	char		*real;		/* realpath, for include loops */
	const char	*text;
	const char	*pos;
	int		 line;
};

struct word {
	char		*s;
	int		 quoted;
	int		 line;
};

struct parser {
	struct conf	*conf;
	struct src	*stack[INCLUDE_DEPTH];
	int		 depth;
	struct farm_conf *farm;		/* open farm block, or NULL */
	struct src	*farm_src;	/* file the open block is in */
	char		*errs;
	size_t		 errlen;
	int		 nerrs;
	int		 fatal;		/* stop: something we cannot recover */
	int		 badtok;	/* this statement had an unterminated string */
};

enum opt_type {
	OT_DURATION,
	OT_UINT,
	OT_PERCENT,
	OT_FLAG,
	OT_STRING,
	OT_LIST,
};

struct optdef {
	const char	*name;
	enum opt_type	 type;
	size_t		 off;
	unsigned long	 max;		/* OT_UINT */
};

#define O(f)	offsetof(struct options, f)
static const struct optdef optdefs[] = {
	{ "interval",		OT_DURATION,	O(interval), 0 },
	{ "timeout",		OT_DURATION,	O(timeout), 0 },
	{ "retry-interval",	OT_DURATION,	O(retry_interval), 0 },
	{ "warn",		OT_DURATION,	O(warn), 0 },
	{ "retries",		OT_UINT,	O(retries), 100 },
	{ "rise",		OT_UINT,	O(rise), 100 },
	{ "cert-days",		OT_UINT,	O(cert_days), 3650 },
	{ "count",		OT_UINT,	O(count), 100 },
	{ "weight",		OT_UINT,	O(weight), 256 },
	{ "max-per-host",	OT_UINT,	O(max_per_host), 100000 },
	{ "loss",		OT_PERCENT,	O(loss), 0 },
	{ "follow",		OT_FLAG,	O(follow), 0 },
	{ "insecure",		OT_FLAG,	O(insecure), 0 },
	{ "starttls",		OT_FLAG,	O(starttls), 0 },
	{ "tls",		OT_FLAG,	O(tls), 0 },
	{ "method",		OT_STRING,	O(method), 0 },
	{ "body",		OT_STRING,	O(body), 0 },
	{ "host",		OT_STRING,	O(host), 0 },
	{ "user",		OT_STRING,	O(user), 0 },
	{ "password-file",	OT_STRING,	O(password_file), 0 },
	{ "send",		OT_STRING,	O(send), 0 },
	{ "expect",		OT_STRING,	O(expect), 0 },
	{ "file",		OT_STRING,	O(file), 0 },
	{ "notify",		OT_LIST,	O(notify), 0 },
	{ "depends-on",		OT_LIST,	O(depends), 0 },
};
#undef O
#define NOPTDEFS (sizeof(optdefs) / sizeof(optdefs[0]))
#define RETRY_BIT (1ULL << 2)	/* optdefs[2] is retry-interval */

/* Keywords `set` takes besides the server options. */
static const char *set_words[] = {
	"state-dir", "control", "pidfile", "user", "dns-servers", "rrdcached",
	"from", "smtp-relay", "max-concurrent", "exec-max", "flap-low",
	"flap-high", "archives", "web-url", NULL
};
static const char *top_words[] = {
	"set", "contact", "server", "farm", "include", NULL
};
static const char *farm_words[] = {
	"server", "balance", "listen", "persist", NULL
};
static const char *contact_words[] = { "email", "sms", "quiet", "webhook",
	NULL };

static const struct {
	const char	*scheme;
	enum check_kind	 kind;
	int		 port;
	int		 tls;
} schemes[] = {
	{ "http", KIND_HTTP, 80, 0 },
	{ "https", KIND_HTTP, 443, 1 },
	{ "tcp", KIND_TCP, 0, 0 },
	{ "dns", KIND_DNS, 53, 0 },
	{ "ftp", KIND_FTP, 21, 0 },
	{ "ftps", KIND_FTP, 990, 1 },
	{ "smtp", KIND_SMTP, 25, 0 },
	{ "smtps", KIND_SMTP, 465, 1 },
	{ "pop3", KIND_POP3, 110, 0 },
	{ "pop3s", KIND_POP3, 995, 1 },
	{ "imap", KIND_IMAP, 143, 0 },
	{ "imaps", KIND_IMAP, 993, 1 },
	{ "ping", KIND_PING, 0, 0 },
};
#define NSCHEMES (sizeof(schemes) / sizeof(schemes[0]))

static const char *dns_types[] = { "A", "AAAA", "MX", "NS", "TXT", "SOA",
    NULL };

static void	 perr(struct parser *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	 perr_at(struct parser *, const char *, int, const char *, ...)
		    __attribute__((format(printf, 4, 5)));
static enum tok	 lex(struct parser *, struct src *, struct word *);
static void	 parse_src(struct parser *, struct src *);
static void	 statement(struct parser *, struct src *, struct word *, int,
		    int);
static void	 st_set(struct parser *, struct word *, int);
static void	 st_contact(struct parser *, struct word *, int);
static void	 st_server(struct parser *, struct word *, int);
static void	 st_farm(struct parser *, struct word *, int);
static void	 st_include(struct parser *, struct src *, struct word *, int);
static void	 st_farm_item(struct parser *, struct word *, int);
static int	 parse_option(struct parser *, struct options *, struct word *,
		    int, int *);
static int	 parse_url(struct parser *, struct server_conf *, int,
		    const char *);
static void	 suggest(char *, size_t, const char *, const char **,
		    int with_options);
static void	 validate(struct parser *);
static void	 resolve(struct conf *, struct server_conf *);
static void	 options_free(struct options *);
static const char *intern_file(struct conf *, const char *);
static int	 valid_name(const char *);

static void
vperr(struct parser *p, const char *file, int line, const char *fmt,
    va_list ap)
{
	char	 msg[512];
	int	 n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = snprintf(NULL, 0, "%s:%d: %s\n", file, line, msg);
	p->errs = xreallocarray(p->errs, p->errlen + n + 1, 1);
	snprintf(p->errs + p->errlen, n + 1, "%s:%d: %s\n", file, line, msg);
	p->errlen += n;
	p->nerrs++;
}

/* An error at a line of the file being parsed. */
static void
perr(struct parser *p, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vperr(p, p->stack[p->depth - 1]->name, line, fmt, ap);
	va_end(ap);
}

static void
perr_at(struct parser *p, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vperr(p, file, line, fmt, ap);
	va_end(ap);
}

/*
 * Read one token. Words run to a blank, ';', '{', '}' or '#'; strings are
 * double-quoted with \" and \\ as escapes (any other backslash is kept, so
 * regular expressions read as written). The word's text is malloc'd.
 */
static enum tok
lex(struct parser *p, struct src *s, struct word *w)
{
	const char	*c;
	char		*out;
	size_t		 len;

	w->s = NULL;
	w->quoted = 0;
	for (;;) {
		c = s->pos;
		while (*c == ' ' || *c == '\t' || *c == '\r')
			c++;
		if (*c == '\\' && c[1] == '\n') {	/* continuation */
			s->line++;
			s->pos = c + 2;
			continue;
		}
		if (*c == '#')
			while (*c != '\0' && *c != '\n')
				c++;
		break;
	}
	w->line = s->line;
	switch (*c) {
	case '\0':
		s->pos = c;
		return TOK_EOF;
	case '\n':
		s->line++;
		s->pos = c + 1;
		return TOK_EOS;
	case ';':
		s->pos = c + 1;
		return TOK_EOS;
	case '{':
		s->pos = c + 1;
		return TOK_LBRACE;
	case '}':
		s->pos = c + 1;
		return TOK_RBRACE;
	case '"':
		c++;
		out = xmalloc(strcspn(c, "\n") + 1);	/* ends on its line */
		len = 0;
		while (*c != '"') {
			if (*c == '\0' || *c == '\n') {
				perr(p, w->line, "unterminated string");
				p->badtok = 1;
				free(out);
				s->pos = c;
				w->s = xstrdup("");
				w->quoted = 1;
				return TOK_STRING;
			}
			if (*c == '\\' && (c[1] == '"' || c[1] == '\\'))
				c++;
			out[len++] = *c++;
		}
		out[len] = '\0';
		s->pos = c + 1;
		w->s = out;
		w->quoted = 1;
		return TOK_STRING;
	}
	len = strcspn(c, " \t\r\n;{}#\"");
	w->s = xstrndup(c, len);
	s->pos = c + len;
	return TOK_WORD;
}

static void
words_free(struct word *w, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(w[i].s);
}

/*
 * Parse one source: gather each statement's words, hand them on, and keep
 * the farm block's braces balanced.
 */
static void
parse_src(struct parser *p, struct src *s)
{
	struct word	 words[STMT_WORDS_MAX], w;
	int		 n = 0, too_many = 0;
	enum tok	 t;

	for (;;) {
		t = lex(p, s, &w);
		if (t == TOK_WORD || t == TOK_STRING) {
			if (n < STMT_WORDS_MAX)
				words[n++] = w;
			else {
				if (!too_many)
					perr(p, w.line, "too many words in "
					    "one statement");
				too_many = 1;
				free(w.s);
			}
			continue;
		}
		if (n > 0 && !too_many && !p->badtok)
			statement(p, s, words, n, t == TOK_LBRACE);
		else if (t == TOK_LBRACE)
			perr(p, w.line, "'{' without a farm");
		words_free(words, n);
		n = 0;
		too_many = 0;
		p->badtok = 0;
		if (t == TOK_RBRACE) {
			if (p->farm == NULL || p->farm_src != s)
				perr(p, w.line, "'}' without a block");
			p->farm = NULL;
			p->farm_src = NULL;
		}
		if (t == TOK_EOF || p->fatal)
			break;
	}
	if (p->farm != NULL && p->farm_src == s) {
		perr(p, p->farm->line, "farm '%s': block not closed with '}'",
		    p->farm->name);
		p->farm = NULL;
		p->farm_src = NULL;
	}
}

static void
statement(struct parser *p, struct src *s, struct word *w, int n, int brace)
{
	char hint[64];

	if (w[0].quoted) {
		perr(p, w[0].line, "expected a keyword, found a string");
		return;
	}
	if (brace && strcmp(w[0].s, "farm") != 0) {
		if (edit_distance(w[0].s, "farm") < 3)	/* a typo */
			perr(p, w[0].line, "unknown keyword '%s' (did you "
			    "mean 'farm'?)", w[0].s);
		else
			perr(p, w[0].line, "'{' after '%s': only a farm opens "
			    "a block", w[0].s);
		return;
	}
	if (strcmp(w[0].s, "farm") == 0) {
		if (!brace) {
			perr(p, w[0].line, "farm needs a block: farm NAME { "
			    "... }");
			return;
		}
		if (p->farm != NULL) {
			perr(p, w[0].line, "farm inside farm '%s'",
			    p->farm->name);
			return;
		}
		st_farm(p, w, n);
		p->farm_src = s;
		return;
	}
	if (p->farm != NULL) {
		st_farm_item(p, w, n);
		return;
	}
	if (strcmp(w[0].s, "set") == 0)
		st_set(p, w, n);
	else if (strcmp(w[0].s, "contact") == 0)
		st_contact(p, w, n);
	else if (strcmp(w[0].s, "server") == 0)
		st_server(p, w, n);
	else if (strcmp(w[0].s, "include") == 0)
		st_include(p, s, w, n);
	else {
		suggest(hint, sizeof(hint), w[0].s, top_words, 0);
		perr(p, w[0].line, "unknown keyword '%s'%s", w[0].s, hint);
	}
}

/* " (did you mean 'x'?)" for the closest word within two edits, or "". */
static void
suggest(char *buf, size_t len, const char *word, const char **words,
    int with_options)
{
	const char	*best = NULL;
	unsigned	 d, bestd = 3;
	size_t		 i;

	for (i = 0; words != NULL && words[i] != NULL; i++)
		if ((d = edit_distance(word, words[i])) < bestd) {
			bestd = d;
			best = words[i];
		}
	for (i = 0; with_options && i < NOPTDEFS; i++)
		if ((d = edit_distance(word, optdefs[i].name)) < bestd) {
			bestd = d;
			best = optdefs[i].name;
		}
	if (best != NULL)
		snprintf(buf, len, " (did you mean '%s'?)", best);
	else
		buf[0] = '\0';
}

static const struct optdef *
find_opt(const char *name)
{
	size_t i;

	for (i = 0; i < NOPTDEFS; i++)
		if (strcmp(optdefs[i].name, name) == 0)
			return &optdefs[i];
	return NULL;
}

static void
list_add(char ***list, size_t *n, const char *s)
{
	*list = xreallocarray(*list, *n + 1, sizeof(**list));
	(*list)[(*n)++] = xstrdup(s);
}

/*
 * Parse the option at w[*i] (and its value) into o. Returns 0 and advances
 * *i past it, 1 if w[*i] is not an option (caller reports), or -1 after
 * reporting a bad value.
 */
static int
parse_option(struct parser *p, struct options *o, struct word *w, int n,
    int *i)
{
	const struct optdef	*d;
	char			*base = (char *)o, *v, *tok, *save;
	unsigned long		 ul;
	uint64_t		 ms;
	double			 pct;
	int			 bit;

	if (w[*i].quoted || (d = find_opt(w[*i].s)) == NULL)
		return 1;
	bit = d - optdefs;
	if (d->type == OT_FLAG) {
		*(int *)(base + d->off) = 1;
		o->given |= 1ULL << bit;
		(*i)++;
		return 0;
	}
	if (*i + 1 >= n) {
		perr(p, w[*i].line, "'%s' needs a value", d->name);
		(*i)++;
		return -1;
	}
	v = w[*i + 1].s;
	switch (d->type) {
	case OT_DURATION:
		if (parse_duration_ms(v, &ms) == -1) {
			perr(p, w[*i].line, "bad duration '%s' for '%s' (a "
			    "number with ms, s, m, h or d)", v, d->name);
			goto bad;
		}
		*(uint64_t *)(base + d->off) = ms;
		break;
	case OT_UINT:
		if (parse_uint(v, d->max, &ul) == -1) {
			perr(p, w[*i].line, "bad number '%s' for '%s' "
			    "(0 to %lu)", v, d->name, d->max);
			goto bad;
		}
		*(unsigned long *)(base + d->off) = ul;
		break;
	case OT_PERCENT:
		if (parse_percent(v, &pct) == -1) {
			perr(p, w[*i].line, "bad percentage '%s' for '%s'",
			    v, d->name);
			goto bad;
		}
		*(double *)(base + d->off) = pct;
		break;
	case OT_STRING:
		free(*(char **)(base + d->off));
		*(char **)(base + d->off) = xstrdup(v);
		break;
	case OT_LIST:
		tok = xstrdup(v);
		for (save = tok; (v = strsep(&save, ",")) != NULL;) {
			if (*v == '\0')
				continue;
			if (d->off == offsetof(struct options, notify))
				list_add(&o->notify, &o->nnotify, v);
			else
				list_add(&o->depends, &o->ndepends, v);
		}
		free(tok);
		break;
	case OT_FLAG:
		break;
	}
	o->given |= 1ULL << bit;
	*i += 2;
	return 0;
bad:
	*i += 2;
	return -1;
}

/* Parse the options from w[i] on; report words that are not options. */
static void
parse_options(struct parser *p, struct options *o, struct word *w, int n,
    int i, const char **extra)
{
	char	 hint[64];
	int	 r;

	while (i < n) {
		r = parse_option(p, o, w, n, &i);
		if (r != 1)
			continue;
		suggest(hint, sizeof(hint), w[i].s, extra, 1);
		if (w[i].quoted)
			perr(p, w[i].line, "unexpected string \"%s\"",
			    w[i].s);
		else
			perr(p, w[i].line, "unknown keyword '%s'%s", w[i].s,
			    hint);
		i++;
		/* Skip its likely value, so one typo is one error. */
		if (i < n && (w[i].quoted || find_opt(w[i].s) == NULL))
			i++;
	}
}

static void
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

static void
st_set(struct parser *p, struct word *w, int n)
{
	struct conf	*c = p->conf;
	const char	*k, *v;
	char		 hint[64];
	unsigned long	 ul;
	int		 i;

	if (n < 2) {
		perr(p, w[0].line, "'set' needs a keyword");
		return;
	}
	k = w[1].s;
	/* `set user` is the daemon's user, not the servers' login user. */
	for (i = 0; set_words[i] != NULL; i++)
		if (strcmp(set_words[i], k) == 0)
			break;
	if (set_words[i] == NULL && find_opt(k) != NULL) {
		i = 1;
		if (parse_option(p, &c->defaults, w, n, &i) == 0 && i < n)
			perr(p, w[i].line, "unexpected '%s' after 'set %s'",
			    w[i].s, k);
		return;
	}
	if (set_words[i] == NULL) {
		suggest(hint, sizeof(hint), k, set_words, 1);
		perr(p, w[1].line, "unknown keyword '%s'%s", k, hint);
		return;
	}
	if (n < 3) {
		perr(p, w[1].line, "'%s' needs a value", k);
		return;
	}
	v = w[2].s;
	if (strcmp(k, "smtp-relay") == 0) {
		set_str(&c->smtp_relay, v);
		for (i = 3; i < n; i++) {
			if (strcmp(w[i].s, "starttls") == 0)
				c->smtp_starttls = 1;
			else if (strcmp(w[i].s, "auth-file") == 0 && i + 1 < n)
				set_str(&c->smtp_auth_file, w[++i].s);
			else if (strcmp(w[i].s, "auth-file") == 0)
				perr(p, w[i].line, "'auth-file' needs a "
				    "value");
			else
				perr(p, w[i].line, "unknown keyword '%s' "
				    "after smtp-relay (starttls, auth-file)",
				    w[i].s);
		}
		return;
	}
	if (n > 3) {
		perr(p, w[3].line, "unexpected '%s' after 'set %s'", w[3].s,
		    k);
		return;
	}
	if (strcmp(k, "state-dir") == 0)
		set_str(&c->state_dir, v);
	else if (strcmp(k, "control") == 0)
		set_str(&c->control, v);
	else if (strcmp(k, "pidfile") == 0)
		set_str(&c->pidfile, v);
	else if (strcmp(k, "user") == 0)
		set_str(&c->user, v);
	else if (strcmp(k, "dns-servers") == 0)
		set_str(&c->dns_servers, v);
	else if (strcmp(k, "rrdcached") == 0)
		set_str(&c->rrdcached, v);
	else if (strcmp(k, "from") == 0)
		set_str(&c->from, v);
	else if (strcmp(k, "web-url") == 0)
		set_str(&c->web_url, v);
	else if (strcmp(k, "archives") == 0) {
		if (strcmp(v, "on") == 0)
			c->no_archives = 0;
		else if (strcmp(v, "off") == 0)
			c->no_archives = 1;
		else
			perr(p, w[2].line, "bad value '%s' for 'archives' (on "
			    "or off)", v);
	}
	else {
		unsigned long max = strncmp(k, "flap", 4) == 0 ? 100 : 1000000;
		if (parse_uint(v, max, &ul) == -1) {
			perr(p, w[2].line, "bad number '%s' for '%s' (0 to "
			    "%lu)", v, k, max);
			return;
		}
		if (strcmp(k, "max-concurrent") == 0)
			c->max_concurrent = ul;
		else if (strcmp(k, "exec-max") == 0)
			c->exec_max = ul;
		else if (strcmp(k, "flap-low") == 0)
			c->flap_low = ul;
		else
			c->flap_high = ul;
	}
}

static int
valid_name(const char *s)
{
	if (*s == '\0' || *s == '.' || *s == '-')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' &&
		    *s != '-')
			return 0;
	return 1;
}

static void
st_contact(struct parser *p, struct word *w, int n)
{
	struct conf		*c = p->conf;
	struct contact_conf	*ct;
	char			 hint[64];
	int			 i;

	if (n < 2) {
		perr(p, w[0].line, "'contact' needs a name");
		return;
	}
	if (!valid_name(w[1].s)) {
		perr(p, w[1].line, "bad contact name '%s' (letters, digits, "
		    "'.', '_', '-')", w[1].s);
		return;
	}
	ct = xcalloc(1, sizeof(*ct));
	ct->name = xstrdup(w[1].s);
	ct->file = p->stack[p->depth - 1]->name;
	ct->line = w[0].line;
	ct->quiet_from = ct->quiet_to = -1;
	for (i = 2; i < n; i += 2) {
		if (i + 1 >= n && (strcmp(w[i].s, "email") == 0 ||
		    strcmp(w[i].s, "sms") == 0 || strcmp(w[i].s, "quiet") == 0 ||
		    strcmp(w[i].s, "webhook") == 0)) {
			perr(p, w[i].line, "'%s' needs a value", w[i].s);
			break;
		}
		if (strcmp(w[i].s, "email") == 0) {
			if (strchr(w[i + 1].s, '@') == NULL)
				perr(p, w[i].line, "bad email address '%s'",
				    w[i + 1].s);
			set_str(&ct->email, w[i + 1].s);
		} else if (strcmp(w[i].s, "sms") == 0)
			set_str(&ct->sms, w[i + 1].s);
		else if (strcmp(w[i].s, "webhook") == 0) {
			if (strncmp(w[i + 1].s, "http://", 7) != 0 &&
			    strncmp(w[i + 1].s, "https://", 8) != 0)
				perr(p, w[i].line, "bad webhook URL '%s' "
				    "(http:// or https://)", w[i + 1].s);
			set_str(&ct->webhook, w[i + 1].s);
		}
		else if (strcmp(w[i].s, "quiet") == 0) {
			if (parse_hhmm_range(w[i + 1].s, &ct->quiet_from,
			    &ct->quiet_to) == -1)
				perr(p, w[i].line, "bad time range '%s' for "
				    "'quiet' (HH:MM-HH:MM)", w[i + 1].s);
		} else {
			suggest(hint, sizeof(hint), w[i].s, contact_words, 0);
			perr(p, w[i].line, "unknown keyword '%s'%s", w[i].s,
			    hint);
			/* Skip its value, unless the next word is a keyword. */
			if (i + 1 < n && (strcmp(w[i + 1].s, "email") == 0 ||
			    strcmp(w[i + 1].s, "sms") == 0 ||
			    strcmp(w[i + 1].s, "quiet") == 0))
				i--;
		}
	}
	c->contacts = xreallocarray(c->contacts, c->ncontacts + 1,
	    sizeof(*c->contacts));
	c->contacts[c->ncontacts++] = ct;
}

/*
 * Split a URL into the server's scheme, host, port and path. Returns 0, or
 * -1 after reporting.
 */
static int
parse_url(struct parser *p, struct server_conf *sv, int line,
    const char *url)
{
	const char	*rest, *h, *e;
	char		 scheme[16], portbuf[16];
	unsigned long	 port;
	size_t		 i, len;

	if ((rest = strstr(url, "://")) == NULL) {
		perr(p, line, "bad URL '%s' (scheme://host[:port][/path])",
		    url);
		return -1;
	}
	len = rest - url;
	if (len == 0 || len >= sizeof(scheme)) {
		perr(p, line, "unknown URL scheme '%.*s'", (int)len, url);
		return -1;
	}
	for (i = 0; i < len; i++)
		scheme[i] = tolower((unsigned char)url[i]);
	scheme[len] = '\0';
	for (i = 0; i < NSCHEMES; i++)
		if (strcmp(schemes[i].scheme, scheme) == 0)
			break;
	if (i == NSCHEMES) {
		perr(p, line, "unknown URL scheme '%s' (http, https, tcp, "
		    "dns, ftp, ftps, smtp, smtps, pop3, pop3s, imap, imaps, "
		    "ping, or exec \"command\")", scheme);
		return -1;
	}
	sv->scheme = xstrdup(scheme);
	sv->kind = schemes[i].kind;
	sv->implicit_tls = schemes[i].tls;
	sv->port = schemes[i].port;
	h = rest + 3;
	if ((e = strchr(h, '@')) != NULL && e < h + strcspn(h, "/?")) {
		sv->o.user = xstrndup(h, e - h);
		sv->o.given |= 1ULL << (find_opt("user") - optdefs);
		h = e + 1;
	}
	if (*h == '[') {
		if ((e = strchr(h, ']')) == NULL) {
			perr(p, line, "bad URL '%s': unclosed '['", url);
			return -1;
		}
		sv->host = xstrndup(h + 1, e - h - 1);
		e++;
	} else {
		e = h + strcspn(h, ":/?");
		sv->host = xstrndup(h, e - h);
	}
	if (*e == ':') {
		len = strcspn(e + 1, "/?");
		if (len == 0 || len >= sizeof(portbuf)) {
			perr(p, line, "bad port in URL '%s'", url);
			return -1;
		}
		memcpy(portbuf, e + 1, len);
		portbuf[len] = '\0';
		if (parse_uint(portbuf, ULONG_MAX, &port) == -1) {
			perr(p, line, "bad port '%s' in URL '%s'", portbuf,
			    url);
			return -1;
		}
		if (port < 1 || port > 65535) {
			perr(p, line, "port %s out of range (1-65535)",
			    portbuf);
			return -1;
		}
		sv->port = port;
		e += 1 + len;
	}
	if (*sv->host == '\0' && sv->kind != KIND_DNS) {
		perr(p, line, "URL '%s' has no host", url);
		return -1;
	}
	if (sv->kind == KIND_TCP && sv->port == 0) {
		perr(p, line, "tcp URL '%s' needs a port", url);
		return -1;
	}
	if (sv->kind == KIND_DNS) {
		const char *q = strchr(e, '?');
		len = q != NULL ? (size_t)(q - e) : strlen(e);
		if (len > 0 && *e == '/') {
			e++;
			len--;
		}
		if (len == 0) {
			perr(p, line, "dns URL '%s' needs a name to look up "
			    "(dns://server/name?type=A)", url);
			return -1;
		}
		sv->path = xstrndup(e, len);
		sv->dns_type = xstrdup("A");
		if (q != NULL) {
			if (strncasecmp(q + 1, "type=", 5) != 0) {
				perr(p, line, "bad query '%s' in dns URL "
				    "(?type=A|AAAA|MX|NS|TXT|SOA)", q + 1);
				return -1;
			}
			for (i = 0; dns_types[i] != NULL; i++)
				if (strcasecmp(dns_types[i], q + 6) == 0)
					break;
			if (dns_types[i] == NULL) {
				perr(p, line, "unknown DNS type '%s' (A, AAAA, "
				    "MX, NS, TXT, SOA)", q + 6);
				return -1;
			}
			free(sv->dns_type);
			sv->dns_type = xstrdup(dns_types[i]);
		}
	} else
		sv->path = xstrdup(*e == '\0' ? "/" : e);
	if (*sv->host == '\0') {
		free(sv->host);
		sv->host = NULL;
	}
	return 0;
}

static void
st_server(struct parser *p, struct word *w, int n)
{
	struct conf		*c = p->conf;
	struct server_conf	*sv;
	const char		*err;
	int			 argc;

	if (n < 3) {
		perr(p, w[0].line, n < 2 ? "'server' needs a name and a URL" :
		    "server '%s' needs a URL", n < 2 ? "" : w[1].s);
		return;
	}
	if (!valid_name(w[1].s)) {
		perr(p, w[1].line, "bad server name '%s' (letters, digits, "
		    "'.', '_', '-')", w[1].s);
		return;
	}
	sv = xcalloc(1, sizeof(*sv));
	sv->name = xstrdup(w[1].s);
	sv->farm = p->farm;
	if (p->farm != NULL)
		xasprintf(&sv->id, "%s/%s", p->farm->name, sv->name);
	else
		sv->id = xstrdup(sv->name);
	sv->file = p->stack[p->depth - 1]->name;
	sv->line = w[0].line;
	if (!w[2].quoted && strcmp(w[2].s, "exec") == 0) {
		sv->kind = KIND_EXEC;
		sv->scheme = xstrdup("exec");
		if (n < 4 || !w[3].quoted) {
			perr(p, w[2].line, "exec needs a quoted command: exec "
			    "\"/path/check_x ARGS\"");
			goto drop;
		}
		sv->url = xstrdup(w[3].s);
		if (split_words(sv->url, &sv->argv, &argc, &err) == -1) {
			perr(p, w[3].line, "bad exec command: %s", err);
			goto drop;
		}
		if (sv->argv[0][0] != '/') {
			perr(p, w[3].line, "exec command '%s' must be an "
			    "absolute path", sv->argv[0]);
			goto drop;
		}
		parse_options(p, &sv->o, w, n, 4, NULL);
	} else {
		sv->url = xstrdup(w[2].s);
		if (parse_url(p, sv, w[2].line, sv->url) == -1)
			goto drop;
		parse_options(p, &sv->o, w, n, 3, NULL);
	}
	c->servers = xreallocarray(c->servers, c->nservers + 1,
	    sizeof(*c->servers));
	c->servers[c->nservers++] = sv;
	if (p->farm != NULL) {
		p->farm->servers = xreallocarray(p->farm->servers,
		    p->farm->nservers + 1, sizeof(*p->farm->servers));
		p->farm->servers[p->farm->nservers++] = sv;
	}
	return;
drop:
	free(sv->id);
	free(sv->name);
	free(sv->scheme);
	free(sv->url);
	free(sv->host);
	free(sv->path);
	free(sv->dns_type);
	free_words(sv->argv);
	options_free(&sv->o);
	free(sv);
}

static void
st_farm(struct parser *p, struct word *w, int n)
{
	struct conf		*c = p->conf;
	struct farm_conf	*f;

	if (n < 2) {
		perr(p, w[0].line, "'farm' needs a name");
		/* Still open a block so its '}' balances. */
	}
	f = xcalloc(1, sizeof(*f));
	f->name = xstrdup(n < 2 ? "?" : w[1].s);
	f->file = p->stack[p->depth - 1]->name;
	f->line = w[0].line;
	f->balance = BALANCE_FASTEST;
	if (n >= 2 && !valid_name(w[1].s))
		perr(p, w[1].line, "bad farm name '%s' (letters, digits, "
		    "'.', '_', '-')", w[1].s);
	if (n > 2)
		parse_options(p, &f->o, w, n, 2, NULL);
	c->farms = xreallocarray(c->farms, c->nfarms + 1, sizeof(*c->farms));
	c->farms[c->nfarms++] = f;
	p->farm = f;
}

static void
st_farm_item(struct parser *p, struct word *w, int n)
{
	struct farm_conf	*f = p->farm;
	static const char	*algos[] = { "fastest", "leastconn",
	    "roundrobin", "source", "random", NULL };
	char			 hint[64];
	const char		*port;
	unsigned long		 ul;
	uint64_t		 ms;
	int			 i;

	if (strcmp(w[0].s, "server") == 0) {
		st_server(p, w, n);
		return;
	}
	if (strcmp(w[0].s, "balance") == 0) {
		if (n != 2) {
			perr(p, w[0].line, "'balance' needs one of fastest, "
			    "leastconn, roundrobin, source, random");
			return;
		}
		for (i = 0; algos[i] != NULL; i++)
			if (strcmp(algos[i], w[1].s) == 0)
				break;
		if (algos[i] == NULL) {
			suggest(hint, sizeof(hint), w[1].s, algos, 0);
			perr(p, w[1].line, "unknown balance '%s'%s", w[1].s,
			    hint);
			return;
		}
		f->balance = i;
		return;
	}
	if (strcmp(w[0].s, "listen") == 0) {
		if (n < 2 || n > 3 || (n == 3 && strcmp(w[2].s, "http") != 0 &&
		    strcmp(w[2].s, "tcp") != 0)) {
			perr(p, w[0].line, "'listen' needs ADDRESS:PORT "
			    "[http|tcp]");
			return;
		}
		if ((port = strrchr(w[1].s, ':')) == NULL) {
			perr(p, w[1].line, "listen address '%s' needs a port",
			    w[1].s);
			return;
		}
		if (parse_uint(port + 1, ULONG_MAX, &ul) == -1) {
			perr(p, w[1].line, "bad port '%s' in listen address "
			    "'%s'", port + 1, w[1].s);
			return;
		}
		if (ul < 1 || ul > 65535) {
			perr(p, w[1].line, "port %s out of range (1-65535)",
			    port + 1);
			return;
		}
		f->listens = xreallocarray(f->listens, f->nlistens + 1,
		    sizeof(*f->listens));
		f->listens[f->nlistens].addr = xstrdup(w[1].s);
		f->listens[f->nlistens++].http = n < 3 ||
		    strcmp(w[2].s, "http") == 0;
		return;
	}
	if (strcmp(w[0].s, "persist") == 0) {
		if (n != 2) {
			perr(p, w[0].line, "'persist' needs one duration");
			return;
		}
		if (parse_duration_ms(w[1].s, &ms) == -1) {
			perr(p, w[1].line, "bad duration '%s' for 'persist' (a "
			    "number with ms, s, m, h or d)", w[1].s);
			return;
		}
		f->persist = ms;
		return;
	}
	if (find_opt(w[0].s) != NULL) {
		parse_options(p, &f->o, w, n, 0, farm_words);
		return;
	}
	suggest(hint, sizeof(hint), w[0].s, farm_words, 1);
	perr(p, w[0].line, "unknown keyword '%s'%s", w[0].s, hint);
}

static char *
read_file(const char *path, const char **err)
{
	FILE	*fp;
	char	*buf = NULL;
	size_t	 n = 0, cap = 0, r;

	if ((fp = fopen(path, "r")) == NULL) {
		*err = strerror(errno);
		return NULL;
	}
	/* Grow with the file: includes nest, so never hold the cap each. */
	do {
		if (n == cap) {
			cap = cap == 0 ? 64 * 1024 : cap * 2;
			if (cap > CONF_FILE_MAX + 1)
				cap = CONF_FILE_MAX + 1;
			buf = xreallocarray(buf, cap, 1);
		}
		r = fread(buf + n, 1, cap - n, fp);
		n += r;
	} while (r > 0 && n < CONF_FILE_MAX + 1);
	if (ferror(fp)) {
		*err = strerror(errno);
		fclose(fp);
		free(buf);
		return NULL;
	}
	fclose(fp);
	if (n > CONF_FILE_MAX) {
		*err = "file larger than 64 MiB";
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', n) != NULL) {
		*err = "file holds a NUL byte";
		free(buf);
		return NULL;
	}
	return buf;
}

static const char *
intern_file(struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nfiles; i++)
		if (strcmp(c->files[i], name) == 0)
			return c->files[i];
	c->files = xreallocarray(c->files, c->nfiles + 1, sizeof(*c->files));
	c->files[c->nfiles] = xstrdup(name);
	return c->files[c->nfiles++];
}

/* Parse a file (or text) as a new source on the include stack. */
static void
push_src(struct parser *p, const char *name, const char *real,
    const char *text)
{
	struct src s;

	memset(&s, 0, sizeof(s));
	s.name = intern_file(p->conf, name);
	s.real = real != NULL ? xstrdup(real) : NULL;
	s.text = s.pos = text;
	s.line = 1;
	p->stack[p->depth++] = &s;
	parse_src(p, &s);
	p->depth--;
	free(s.real);
}

static void
st_include(struct parser *p, struct src *s, struct word *w, int n)
{
	char		*dir, *pattern, real[PATH_MAX];
	const char	*err;
	char		*text;
	glob_t		 g;
	size_t		 i;
	int		 d, r;

	if (n != 2) {
		perr(p, w[0].line, "'include' needs one file name or pattern");
		return;
	}
	if (w[1].s[0] == '/' || s->real == NULL)
		pattern = xstrdup(w[1].s);
	else {
		char *copy = xstrdup(s->name);
		dir = dirname(copy);
		xasprintf(&pattern, "%s/%s", dir, w[1].s);
		free(copy);
	}
	r = glob(pattern, 0, NULL, &g);
	if (r == GLOB_NOMATCH) {
		perr(p, w[1].line, "include '%s' matches nothing", w[1].s);
		free(pattern);
		return;
	} else if (r != 0) {
		perr(p, w[1].line, "include '%s': cannot read the folder",
		    w[1].s);
		free(pattern);
		return;
	}
	free(pattern);
	for (i = 0; i < g.gl_pathc; i++) {
		if (realpath(g.gl_pathv[i], real) == NULL) {
			perr(p, w[1].line, "include '%s': %s", g.gl_pathv[i],
			    strerror(errno));
			continue;
		}
		for (d = 0; d < p->depth; d++)
			if (p->stack[d]->real != NULL &&
			    strcmp(p->stack[d]->real, real) == 0)
				break;
		if (d < p->depth) {
			perr(p, w[1].line, "include '%s' includes itself",
			    g.gl_pathv[i]);
			continue;
		}
		if (p->depth >= INCLUDE_DEPTH) {
			perr(p, w[1].line, "includes nested more than %d deep",
			    INCLUDE_DEPTH);
			break;
		}
		if ((text = read_file(g.gl_pathv[i], &err)) == NULL) {
			perr(p, w[1].line, "include '%s': %s", g.gl_pathv[i],
			    err);
			continue;
		}
		push_src(p, g.gl_pathv[i], real, text);
		free(text);
	}
	globfree(&g);
}

/* Copy into `to` every option `from` gave that `to` did not. */
static void
options_inherit(struct options *to, const struct options *from)
{
	size_t	 i;
	char	*tb = (char *)to;
	const char *fb = (const char *)from;

	for (i = 0; i < NOPTDEFS; i++) {
		const struct optdef *d = &optdefs[i];
		if ((to->given & (1ULL << i)) || !(from->given & (1ULL << i)))
			continue;
		switch (d->type) {
		case OT_DURATION:
			*(uint64_t *)(tb + d->off) =
			    *(const uint64_t *)(fb + d->off);
			break;
		case OT_UINT:
			*(unsigned long *)(tb + d->off) =
			    *(const unsigned long *)(fb + d->off);
			break;
		case OT_PERCENT:
			*(double *)(tb + d->off) =
			    *(const double *)(fb + d->off);
			break;
		case OT_FLAG:
			*(int *)(tb + d->off) = *(const int *)(fb + d->off);
			break;
		case OT_STRING:
			if (*(char *const *)(fb + d->off) != NULL)
				*(char **)(tb + d->off) =
				    xstrdup(*(char *const *)(fb + d->off));
			break;
		case OT_LIST:
			break;
		}
		to->given |= 1ULL << i;
	}
	/* Lists add up: a farm's notify and the server's own. */
	for (i = 0; i < from->nnotify; i++)
		list_add(&to->notify, &to->nnotify, from->notify[i]);
	for (i = 0; i < from->ndepends; i++)
		list_add(&to->depends, &to->ndepends, from->depends[i]);
}

/* Fill the options nothing gave with the built-in defaults. */
static void
options_builtin(struct options *o)
{
	struct options b;

	memset(&b, 0, sizeof(b));
	b.given = ~0ULL;
	b.interval = 60000;
	b.timeout = 10000;
	b.retry_interval = 10000;
	b.retries = 3;
	b.rise = 1;
	b.count = 5;
	b.weight = 1;
	b.max_per_host = 8;
	b.loss = 20;
	b.method = (char *)"GET";	/* copied, never freed from b */
	options_inherit(o, &b);
}

static int
parse_status_list(const char *s, struct server_conf *sv)
{
	char		*copy, *tok, *save, *dash;
	unsigned long	 lo, hi;
	int		 ok = 0;

	copy = xstrdup(s);
	for (save = copy; (tok = strsep(&save, ",")) != NULL;) {
		if (sv->nexpect_status >= STATUS_RANGES_MAX)
			goto out;
		if ((dash = strchr(tok, '-')) != NULL)
			*dash++ = '\0';
		if (parse_uint(tok, 599, &lo) == -1 || lo < 100)
			goto out;
		hi = lo;
		if (dash != NULL && (parse_uint(dash, 599, &hi) == -1 ||
		    hi < lo))
			goto out;
		sv->expect_status[sv->nexpect_status].lo = lo;
		sv->expect_status[sv->nexpect_status++].hi = hi;
	}
	ok = 1;
out:
	free(copy);
	return ok ? 0 : -1;
}

/* Resolve one server's options: its own, its farm's, `set`, built-in. */
static void
resolve(struct conf *c, struct server_conf *sv)
{
	int given;

	if (sv->farm != NULL)
		options_inherit(&sv->o, &sv->farm->o);
	options_inherit(&sv->o, &c->defaults);
	given = (sv->o.given & RETRY_BIT) != 0;
	options_builtin(&sv->o);
	/* An unset retry interval never exceeds the interval. */
	if (!given && sv->o.retry_interval > sv->o.interval)
		sv->o.retry_interval = sv->o.interval;
}

static struct server_conf *
find_dep(struct conf *c, struct server_conf *from, const char *name)
{
	struct server_conf	*sv;
	char			*id;

	if ((sv = conf_find_server(c, name)) != NULL)
		return sv;
	if (from->farm != NULL && strchr(name, '/') == NULL) {
		xasprintf(&id, "%s/%s", from->farm->name, name);
		sv = conf_find_server(c, id);
		free(id);
	}
	return sv;
}

/*
 * Depth-first search for a cycle through depends-on. Returns the server
 * where the cycle closes (path then ends with it), or NULL.
 */
static struct server_conf *
dep_cycle(struct server_conf *sv, unsigned char *mark, struct conf *c,
    char *path, size_t len)
{
	struct server_conf	*end;
	size_t			 i, idx = sv->idx, used;

	if (mark[idx] == 2)
		return NULL;
	used = strlen(path);
	snprintf(path + used, len - used, "%s%s", used ? " -> " : "", sv->id);
	if (mark[idx] == 1)
		return sv;
	mark[idx] = 1;
	for (i = 0; i < sv->ndeps; i++)
		if ((end = dep_cycle(sv->deps[i], mark, c, path, len)) != NULL)
			return end;
	mark[idx] = 2;
	path[used] = '\0';
	return NULL;
}

/*
 * Index servers by id; a duplicate is reported (naming both lines) and
 * left out of the index.
 */
static void
index_servers(struct parser *p)
{
	struct conf		*c = p->conf;
	struct server_conf	*sv, *o;
	size_t			 i, size = 16, h;

	while (size < 2 * c->nservers + 1)
		size *= 2;
	c->byid = xcalloc(size, sizeof(*c->byid));
	c->byid_size = size;
	for (i = 0; i < c->nservers; i++) {
		sv = c->servers[i];
		sv->idx = i;
		for (h = hash_str(sv->id) & (size - 1); (o = c->byid[h]) != NULL;
		    h = (h + 1) & (size - 1))
			if (strcmp(o->id, sv->id) == 0)
				break;
		if (o != NULL) {
			perr_at(p, sv->file, sv->line, "duplicate server id "
			    "'%s' (first at %s:%d)", sv->id, o->file, o->line);
			continue;
		}
		c->byid[h] = sv;
	}
}

static void
validate(struct parser *p)
{
	struct conf		*c = p->conf;
	struct server_conf	*sv, *dep;
	unsigned char		*mark;
	char			 path[1024], *cyc;
	size_t			 i, j, k;

	for (i = 0; i < c->ncontacts; i++)
		for (j = 0; j < i; j++)
			if (strcmp(c->contacts[i]->name,
			    c->contacts[j]->name) == 0) {
				perr_at(p, c->contacts[i]->file,
				    c->contacts[i]->line, "duplicate contact "
				    "'%s' (first at %s:%d)",
				    c->contacts[i]->name, c->contacts[j]->file,
				    c->contacts[j]->line);
				break;
			}
	for (i = 0; i < c->nfarms; i++)
		for (j = 0; j < i; j++)
			if (strcmp(c->farms[i]->name, c->farms[j]->name) == 0) {
				perr_at(p, c->farms[i]->file, c->farms[i]->line,
				    "duplicate farm '%s' (first at %s:%d)",
				    c->farms[i]->name, c->farms[j]->file,
				    c->farms[j]->line);
				break;
			}
	index_servers(p);
	for (i = 0; i < c->nservers; i++) {
		sv = c->servers[i];
		resolve(c, sv);
		for (j = 0; j < sv->o.nnotify; j++) {
			for (k = 0; k < c->ncontacts; k++)
				if (strcmp(c->contacts[k]->name,
				    sv->o.notify[j]) == 0)
					break;
			if (k == c->ncontacts) {
				perr_at(p, sv->file, sv->line, "server '%s': "
				    "unknown contact '%s'", sv->id,
				    sv->o.notify[j]);
				continue;
			}
			for (k = 0; k < sv->ncontacts; k++)
				if (strcmp(sv->contacts[k]->name,
				    sv->o.notify[j]) == 0)
					break;
			if (k < sv->ncontacts)
				continue;
			sv->contacts = xreallocarray(sv->contacts,
			    sv->ncontacts + 1, sizeof(*sv->contacts));
			for (k = 0; k < c->ncontacts; k++)
				if (strcmp(c->contacts[k]->name,
				    sv->o.notify[j]) == 0) {
					sv->contacts[sv->ncontacts++] =
					    c->contacts[k];
					break;	/* the first, if duplicated */
				}
		}
		if (sv->kind == KIND_HTTP && sv->o.expect != NULL &&
		    parse_status_list(sv->o.expect, sv) == -1)
			perr_at(p, sv->file, sv->line, "server '%s': bad "
			    "status list '%s' for 'expect' (e.g. 200, "
			    "200-299,301)", sv->id, sv->o.expect);
		if (sv->o.timeout == 0 || sv->o.interval == 0)
			perr_at(p, sv->file, sv->line, "server '%s': interval "
			    "and timeout must be more than 0", sv->id);
		if (sv->o.count == 0)
			sv->o.count = 1;
	}
	for (i = 0; i < c->nservers; i++) {
		sv = c->servers[i];
		for (j = 0; j < sv->o.ndepends; j++) {
			if ((dep = find_dep(c, sv, sv->o.depends[j])) == NULL) {
				perr_at(p, sv->file, sv->line, "server '%s': "
				    "unknown depends-on target '%s'", sv->id,
				    sv->o.depends[j]);
				continue;
			}
			if (dep == sv) {
				perr_at(p, sv->file, sv->line, "server '%s' "
				    "depends on itself", sv->id);
				continue;
			}
			sv->deps = xreallocarray(sv->deps, sv->ndeps + 1,
			    sizeof(*sv->deps));
			sv->deps[sv->ndeps++] = dep;
		}
	}
	if (p->nerrs > 0)
		return;
	mark = xcalloc(c->nservers + 1, 1);
	for (i = 0; i < c->nservers; i++) {
		path[0] = '\0';
		if ((sv = dep_cycle(c->servers[i], mark, c, path,
		    sizeof(path))) == NULL)
			continue;
		/* Start the message where the cycle starts. */
		k = strlen(sv->id);
		for (cyc = path; cyc != NULL && (strncmp(cyc, sv->id, k) != 0 ||
		    strncmp(cyc + k, " -> ", 4) != 0);)
			if ((cyc = strstr(cyc, " -> ")) != NULL)
				cyc += 4;
		perr_at(p, sv->file, sv->line, "dependency cycle: %s",
		    cyc != NULL ? cyc : path);
		break;
	}
	free(mark);
}

static void
conf_defaults(struct conf *c)
{
	c->state_dir = xstrdup(LOCALSTATEDIR "/lib/tocsin");
	c->max_concurrent = 1000;
	c->exec_max = 8;
	c->flap_low = 20;
	c->flap_high = 30;
}

/* After parsing: fill paths that derive from the state folder. */
static void
conf_finish(struct conf *c)
{
	if (c->control == NULL)
		xasprintf(&c->control, "%s/probed.sock", c->state_dir);
	if (c->from == NULL)
		c->from = xstrdup("tocsin@localhost");
}

static struct conf *
parse_common(const char *name, const char *real, const char *text,
    char **errors)
{
	struct parser	 p;
	struct conf	*c;

	memset(&p, 0, sizeof(p));
	c = p.conf = xcalloc(1, sizeof(*c));
	c->path = xstrdup(name);
	conf_defaults(c);
	push_src(&p, name, real, text);
	validate(&p);
	if (p.nerrs > 0) {
		*errors = p.errs;
		conf_free(c);
		return NULL;
	}
	conf_finish(c);
	*errors = NULL;
	free(p.errs);
	return c;
}

/*
 * Load a config file and what it includes. Returns the model, or NULL with
 * *errors set to every problem found, one "FILE:LINE: message\n" each
 * (the caller frees it).
 */
struct conf *
conf_load(const char *path, char **errors)
{
	struct conf	*c;
	const char	*err;
	char		*text, real[PATH_MAX];

	if ((text = read_file(path, &err)) == NULL ||
	    realpath(path, real) == NULL) {
		if (text == NULL)
			xasprintf(errors, "%s: %s\n", path, err);
		else
			xasprintf(errors, "%s: %s\n", path, strerror(errno));
		free(text);
		return NULL;
	}
	c = parse_common(path, real, text, errors);
	free(text);
	return c;
}

/* Parse text as if read from a file called name; includes are relative to
 * the current folder. */
struct conf *
conf_parse_string(const char *name, const char *text, char **errors)
{
	return parse_common(name, NULL, text, errors);
}

static void
options_free(struct options *o)
{
	size_t i;

	free(o->method);
	free(o->body);
	free(o->host);
	free(o->user);
	free(o->password_file);
	free(o->send);
	free(o->expect);
	free(o->file);
	for (i = 0; i < o->nnotify; i++)
		free(o->notify[i]);
	free(o->notify);
	for (i = 0; i < o->ndepends; i++)
		free(o->depends[i]);
	free(o->depends);
}

void
conf_free(struct conf *c)
{
	size_t i, j;

	if (c == NULL)
		return;
	for (i = 0; i < c->nservers; i++) {
		struct server_conf *sv = c->servers[i];
		free(sv->id);
		free(sv->name);
		free(sv->scheme);
		free(sv->url);
		free(sv->host);
		free(sv->path);
		free(sv->dns_type);
		free_words(sv->argv);
		options_free(&sv->o);
		free(sv->deps);
		free(sv->contacts);
		free(sv);
	}
	free(c->servers);
	for (i = 0; i < c->nfarms; i++) {
		struct farm_conf *f = c->farms[i];
		free(f->name);
		for (j = 0; j < f->nlistens; j++)
			free(f->listens[j].addr);
		free(f->listens);
		options_free(&f->o);
		free(f->servers);
		free(f);
	}
	free(c->farms);
	for (i = 0; i < c->ncontacts; i++) {
		free(c->contacts[i]->name);
		free(c->contacts[i]->email);
		free(c->contacts[i]->sms);
		free(c->contacts[i]->webhook);
		free(c->contacts[i]);
	}
	free(c->contacts);
	for (i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	free(c->byid);
	options_free(&c->defaults);
	free(c->path);
	free(c->state_dir);
	free(c->control);
	free(c->pidfile);
	free(c->user);
	free(c->dns_servers);
	free(c->rrdcached);
	free(c->from);
	free(c->smtp_relay);
	free(c->smtp_auth_file);
	free(c->web_url);
	free(c);
}

struct server_conf *
conf_find_server(const struct conf *c, const char *id)
{
	struct server_conf	*sv;
	size_t			 h;

	if (c->byid == NULL)
		return NULL;
	for (h = hash_str(id) & (c->byid_size - 1); (sv = c->byid[h]) != NULL;
	    h = (h + 1) & (c->byid_size - 1))
		if (strcmp(sv->id, id) == 0)
			return sv;
	return NULL;
}

const char *
conf_kind_str(enum check_kind k)
{
	static const char *names[] = { "http", "tcp", "dns", "ftp", "smtp",
	    "pop3", "imap", "ping", "exec" };

	return k < KIND_MAX ? names[k] : "?";
}

const char *
conf_balance_str(enum balance_algo a)
{
	static const char *names[] = { "fastest", "leastconn", "roundrobin",
	    "source", "random" };

	return names[a];
}

/* "12 servers, 1 farm, 2 contacts" */
void
conf_summary(const struct conf *c, char *buf, size_t len)
{
	snprintf(buf, len, "%zu server%s, %zu farm%s, %zu contact%s",
	    c->nservers, c->nservers == 1 ? "" : "s", c->nfarms,
	    c->nfarms == 1 ? "" : "s", c->ncontacts,
	    c->ncontacts == 1 ? "" : "s");
}

const char *
conf_default_path(void)
{
	return SYSCONFDIR "/tocsin.conf";
}
