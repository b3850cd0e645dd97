/*
 * conf_parse.c: the config language's parser. It gathers each statement's
 * words from the lexer, builds the model in conf.h, reports every error as
 * FILE:LINE: message and keeps going; includes are parsed in place.
 */
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_impl.h"
#include "util.h"
#include "xmalloc.h"

#define O(f)	offsetof(struct options, f)
const struct optdef conf_parse_optdefs[] = {
	{ "interval",		OT_DURATION,	O(interval), 0, 0 },
	{ "timeout",		OT_DURATION,	O(timeout), 0, 0 },
	{ "retry-interval",	OT_DURATION,	O(retry_interval), 0, 0 },
	{ "warn",		OT_DURATION,	O(warn), 0, 0 },
	{ "retries",		OT_UINT,	O(retries), 100, 1 },
	{ "rise",		OT_UINT,	O(rise), 100, 1 },
	{ "cert-days",		OT_DAYS,	O(cert_days_warn), 3650, 0 },
	{ "count",		OT_UINT,	O(count), 100, 1 },
	{ "weight",		OT_UINT,	O(weight), 256, 0 },
	{ "maxconn",		OT_UINT,	O(maxconn), 1000000, 0 },
	{ "max-per-host",	OT_UINT,	O(max_per_host), 100000, 0 },
	{ "loss",		OT_PERCENT,	O(loss), 0, 0 },
	{ "follow",		OT_FLAG,	O(follow), 0, 0 },
	{ "insecure",		OT_FLAG,	O(insecure), 0, 0 },
	{ "starttls",		OT_FLAG,	O(starttls), 0, 0 },
	{ "tls",		OT_FLAG,	O(tls), 0, 0 },
	{ "method",		OT_STRING,	O(method), 0, 0 },
	{ "body",		OT_STRING,	O(body), 0, 0 },
	{ "host",		OT_STRING,	O(host), 0, 0 },
	{ "user",		OT_STRING,	O(user), 0, 0 },
	{ "password-file",	OT_STRING,	O(password_file), 0, 0 },
	{ "send",		OT_STRING,	O(send), 0, 0 },
	{ "expect",		OT_STRING,	O(expect), 0, 0 },
	{ "file",		OT_STRING,	O(file), 0, 0 },
	{ "notify",		OT_LIST,	O(notify), 0, 0 },
	{ "depends-on",		OT_LIST,	O(depends), 0, 0 },
	{ "max-redirects",	OT_UINT,	O(max_redirects), 50, 0 },
	{ "renotify",		OT_DURATION,	O(renotify), 0, 0 },
	{ "vantage",		OT_LIST,	O(vantage), 0, 0 },
};
#undef O
const size_t conf_parse_noptdefs =
    sizeof(conf_parse_optdefs) / sizeof(conf_parse_optdefs[0]);

/*
 * The check kinds each protocol option means something for
 * (tocsin.conf(5), SERVER OPTIONS); an option not listed is for every
 * kind. Written on a server's own line for another kind, it is an error.
 */
#define K(k)		(1U << (k))
#define K_MAIL		(K(KIND_SMTP) | K(KIND_POP3) | K(KIND_IMAP))
#define K_TLS		(K(KIND_HTTP) | K(KIND_TCP) | K(KIND_FTP) | K_MAIL)
#define K_LOGIN		(K(KIND_HTTP) | K(KIND_FTP) | K(KIND_POP3) | \
			    K(KIND_IMAP))
static const struct {
	const char	*name;
	unsigned	 kinds;
} opt_kinds[] = {
	{ "expect",	K(KIND_HTTP) | K(KIND_TCP) | K(KIND_DNS) |
			    K(KIND_FTP) | K_MAIL },
	{ "body",	K(KIND_HTTP) },
	{ "method",	K(KIND_HTTP) },
	{ "host",	K(KIND_HTTP) },
	{ "follow",	K(KIND_HTTP) },
	{ "max-redirects", K(KIND_HTTP) },
	{ "cert-days",	K_TLS },
	{ "insecure",	K_TLS },
	{ "starttls",	K(KIND_FTP) | K_MAIL },
	{ "tls",	K(KIND_TCP) },
	{ "send",	K(KIND_TCP) },
	{ "user",	K_LOGIN },
	{ "password-file", K_LOGIN },
	{ "file",	K(KIND_FTP) },
	{ "count",	K(KIND_PING) },
	{ "loss",	K(KIND_PING) },
};
#undef K

/* Keywords `set` takes besides the server options. */
static const char *set_words[] = {
	"state-dir", "control", "pidfile", "user", "dns-servers", "rrdcached",
	"from", "smtp-relay", "max-concurrent", "exec-max", "flap-low",
	"flap-high", "archives", "control-group", "web-url", "storm",
	"public-page", "lb-threads", "cluster", "node", "quorum", "shard",
	"sms-gateway", "admin", "stale-after", NULL
};
static const char *top_words[] = {
	"set", "contact", "server", "farm", "include", NULL
};
/* Every one but server and listen is tocsin-lb's (farm_end). */
static const char *farm_words[] = {
	"server", "balance", "listen", "persist", "slowstart",
	"proxy-protocol", "connect-timeout", "client-timeout",
	"server-timeout", NULL
};
_Static_assert(sizeof(farm_words) / sizeof(farm_words[0]) - 1 <=
    FARM_WORDS_MAX, "farm_at holds a place for each farm keyword");
static const char *contact_words[] = { "email", "sms", "quiet", "webhook",
	"renotify", "escalate-after",
	"min-state", NULL };

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
static void	 parse_statements(struct parser *, struct src *);
static void	 statement(struct parser *, struct src *, struct word *, int,
		    int);
static void	 st_set(struct parser *, struct word *, int);
static void	 set_number(struct parser *, struct word *);
static const char *dns_server_bad(const char *, char *, size_t);
static void	 set_dns_servers(struct parser *, struct word *);
static void	 st_contact(struct parser *, struct word *, int);
static void	 st_server(struct parser *, struct word *, int);
static void	 st_farm(struct parser *, struct word *, int);
static void	 st_include(struct parser *, struct src *, struct word *, int);
static void	 st_farm_item(struct parser *, struct word *, int);
static void	 farm_end(struct parser *, struct farm_conf *);
static void	 lb_options(struct parser *, uint64_t, const char *, int,
		    const char *, const char *);
static void	 lb_server_options(struct parser *,
		    const struct server_conf *, const char *);
static int	 farm_twice(struct parser *, const char *, int);
static int	 contact_twice(struct parser *, const char *, int, unsigned *);
static uint64_t	 list_bits(void);
static int	 opt_for_kind(const char *, int);
static const char *kind_article(int);
static int	 parse_option(struct parser *, struct options *, struct word *,
		    int, int *);
static int	 parse_url(struct parser *, struct server_conf *, int,
		    const char *);
static void	 suggest(char *, size_t, const char *, const char **,
		    int with_options);
static const char *intern_file(struct conf *, const char *);
static int	 valid_name(const char *);

/*
 * Parse one source: gather each statement's words, hand them on, and keep
 * the farm block's braces balanced.
 */
static void
parse_statements(struct parser *p, struct src *s)
{
	struct word	 words[STMT_WORDS_MAX], w;
	int		 n = 0, too_many = 0;
	enum tok	 t;

	for (;;) {
		t = conf_lex_next(p, s, &w);
		if (t == TOK_WORD || t == TOK_STRING) {
			if (n < STMT_WORDS_MAX)
				words[n++] = w;
			else {
				if (!too_many)
					conf_err(p, w.line, "too many words in "
					    "one statement");
				too_many = 1;
				free(w.s);
			}
			continue;
		}
		if (n > 0 && !too_many && !p->badtok)
			statement(p, s, words, n, t == TOK_LBRACE);
		else if (t == TOK_LBRACE)
			conf_err(p, w.line, "'{' without a farm");
		conf_lex_words_free(words, n);
		n = 0;
		too_many = 0;
		p->badtok = 0;
		/* Only the file that opened a block closes it: a '}' in a
		 * file included inside the block is a stray. */
		if (t == TOK_RBRACE && (p->farm == NULL || p->farm_src != s))
			conf_err(p, w.line, "'}' without a block");
		else if (t == TOK_RBRACE) {
			farm_end(p, p->farm);
			p->farm = NULL;
			p->farm_src = NULL;
		}
		if (t == TOK_EOF || p->fatal)
			break;
	}
	if (p->farm != NULL && p->farm_src == s) {
		conf_err(p, p->farm->line,
		    "farm '%s': block not closed with '}'",
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
		conf_err(p, w[0].line, "expected a keyword, found a string");
		return;
	}
	if (brace && strcmp(w[0].s, "farm") != 0) {
		if (edit_distance(w[0].s, "farm") < 3)	/* a typo */
			conf_err(p, w[0].line, "unknown keyword '%s' (did you "
			    "mean 'farm'?)", w[0].s);
		else
			conf_err(p, w[0].line,
			    "'{' after '%s': only a farm opens "
			    "a block", w[0].s);
		return;
	}
	if (strcmp(w[0].s, "farm") == 0) {
		if (!brace) {
			conf_err(p, w[0].line,
			    "farm needs a block: farm NAME { "
			    "... }");
			return;
		}
		if (p->farm != NULL) {
			conf_err(p, w[0].line, "farm inside farm '%s'",
			    p->farm->name);
			return;
		}
		st_farm(p, w, n);
		p->farm_src = s;
		return;
	}
	if (p->farm != NULL && strcmp(w[0].s, "include") == 0) {
		st_include(p, s, w, n);	/* its text stands in the block */
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
		conf_err(p, w[0].line, "unknown keyword '%s'%s", w[0].s, hint);
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
	for (i = 0; with_options && i < conf_parse_noptdefs; i++)
		if ((d = edit_distance(word, conf_parse_optdefs[i].name)) <
		    bestd) {
			bestd = d;
			best = conf_parse_optdefs[i].name;
		}
	if (best != NULL)
		snprintf(buf, len, " (did you mean '%s'?)", best);
	else
		buf[0] = '\0';
}

/* The bits of the options that are lists: given twice, they add up. */
static uint64_t
list_bits(void)
{
	uint64_t	 bits = 0;
	size_t		 i;

	for (i = 0; i < conf_parse_noptdefs; i++)
		if (conf_parse_optdefs[i].type == OT_LIST)
			bits |= 1ULL << i;
	return bits;
}

static const struct optdef *
find_opt(const char *name)
{
	size_t i;

	for (i = 0; i < conf_parse_noptdefs; i++)
		if (strcmp(conf_parse_optdefs[i].name, name) == 0)
			return &conf_parse_optdefs[i];
	return NULL;
}

/* The bit of the option called name in a `given` mask (0: no such). */
uint64_t
conf_parse_opt_bit(const char *name)
{
	const struct optdef *d = find_opt(name);

	return d != NULL ? 1ULL << (d - conf_parse_optdefs) : 0;
}

/* Append a copy of s to a list. */
void
conf_parse_list_add(char ***list, size_t *n, const char *s)
{
	*list = xreallocarray(*list, *n + 1, sizeof(**list));
	(*list)[(*n)++] = xstrdup(s);
}

/*
 * Parse the duration v of keyword name into *ms. A bare number is refused
 * with a hint: "5" reads as seconds to some and as minutes to a Nagios
 * admin. Past DURATION_MAX_DAYS is refused too: the daemons turn
 * durations into signed microseconds and add them to the clock, which a
 * few hundred million days would overflow. Returns 0, or -1 after
 * reporting.
 */
static int
parse_duration(struct parser *p, int line, const char *name, const char *v,
    uint64_t *ms)
{
	uint64_t t;

	switch (parse_duration_ms(v, &t)) {
	case 0:
		if (t > DURATION_MAX_DAYS * 86400000ULL) {
			conf_err(p, line, "duration too long for '%s': %s (at "
			    "most %dd)", name, v, DURATION_MAX_DAYS);
			return -1;
		}
		*ms = t;
		return 0;
	case DURATION_BARE:
		conf_err(p, line, "bad duration '%s' for '%s': a number needs "
		    "a unit (write %ss or %sm)", v, name, v, v);
		return -1;
	default:
		conf_err(p, line, "bad duration '%s' for '%s' (a number with "
		    "ms, s, m, h or d)", v, name);
		return -1;
	}
}

/*
 * cert-days: "WARN" or "WARN,CRIT" (as check_http -C 14,7), each up to max
 * days, CRIT below WARN. Returns 0, or -1 on a bad value.
 */
static int
parse_days(const char *v, unsigned long max, struct options *o)
{
	char		*copy, *comma;
	unsigned long	 warn, crit = 0;
	int		 r = -1;

	copy = xstrdup(v);
	if ((comma = strchr(copy, ',')) != NULL)
		*comma++ = '\0';
	if (parse_uint(copy, max, &warn) == -1)
		goto out;
	if (comma != NULL && (parse_uint(comma, max, &crit) == -1 ||
	    crit >= warn))
		goto out;
	o->cert_days_warn = warn;
	o->cert_days_crit = crit;
	r = 0;
out:
	free(copy);
	return r;
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
	bit = d - conf_parse_optdefs;
	if (d->type == OT_FLAG) {
		*(int *)(base + d->off) = 1;
		o->given |= 1ULL << bit;
		(*i)++;
		return 0;
	}
	if (*i + 1 >= n) {
		conf_err(p, w[*i].line, "'%s' needs a value", d->name);
		(*i)++;
		return -1;
	}
	v = w[*i + 1].s;
	switch (d->type) {
	case OT_DURATION:
		if (parse_duration(p, w[*i].line, d->name, v, &ms) == -1)
			goto bad;
		*(uint64_t *)(base + d->off) = ms;
		break;
	case OT_UINT:
		if (parse_uint(v, d->max, &ul) == -1 || ul < d->min) {
			conf_err(p, w[*i].line, "bad number '%s' for '%s' "
			    "(%lu to %lu)", v, d->name, d->min, d->max);
			goto bad;
		}
		*(unsigned long *)(base + d->off) = ul;
		break;
	case OT_DAYS:
		if (parse_days(v, d->max, o) == -1) {
			conf_err(p, w[*i].line, "bad days '%s' for '%s' (WARN "
			    "or WARN,CRIT, CRIT below WARN, 0 to %lu)", v,
			    d->name, d->max);
			goto bad;
		}
		break;
	case OT_PERCENT:
		if (parse_percent(v, &pct) == -1) {
			conf_err(p, w[*i].line, "bad percentage '%s' for '%s'",
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
				conf_parse_list_add(&o->notify, &o->nnotify, v);
			else if (d->off == offsetof(struct options, vantage)) {
				if (!conf_cluster_valid_node(v)) {
					conf_err(p, w[*i + 1].line, "bad node "
					    "name '%s' for 'vantage' (1 to 63 "
					    "letters, digits, '-' or '_')", v);
					free(tok);
					goto bad;
				}
				conf_parse_list_add(&o->vantage, &o->nvantage,
				    v);
			} else
				conf_parse_list_add(&o->depends, &o->ndepends,
				    v);
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

/* 1 if the option called name means something for a check of kind. */
static int
opt_for_kind(const char *name, int kind)
{
	size_t i;

	for (i = 0; i < sizeof(opt_kinds) / sizeof(opt_kinds[0]); i++)
		if (strcmp(opt_kinds[i].name, name) == 0)
			return (opt_kinds[i].kinds & (1U << kind)) != 0;
	return 1;
}

/* "a" or "an" before the kind's name, as it is read aloud ("an smtp"). */
static const char *
kind_article(int kind)
{
	return kind == KIND_HTTP || kind == KIND_FTP || kind == KIND_SMTP ||
	    kind == KIND_IMAP || kind == KIND_EXEC ? "an" : "a";
}

/*
 * Parse the options from w[i] on; report words that are not options, an
 * option given twice in one statement, or given before when its bit is in
 * seen (which of the two was meant?), and, when kind is a check kind (not
 * -1), an option that means nothing for it.
 */
static void
parse_options(struct parser *p, struct options *o, struct word *w, int n,
    int i, const char **extra, uint64_t seen, int kind)
{
	const struct optdef	*d;
	char			 hint[64];
	uint64_t		 bit;
	int			 r;

	while (i < n) {
		if (!w[i].quoted && (d = find_opt(w[i].s)) != NULL) {
			bit = 1ULL << (d - conf_parse_optdefs);
			if (seen & bit)
				conf_err(p, w[i].line, "'%s' given twice",
				    d->name);
			seen |= bit;
			if (kind >= 0 && !opt_for_kind(d->name, kind))
				conf_err(p, w[i].line, "'%s' means nothing for "
				    "%s %s check", d->name, kind_article(kind),
				    conf_kind_str(kind));
		}
		r = parse_option(p, o, w, n, &i);
		if (r != 1)
			continue;
		suggest(hint, sizeof(hint), w[i].s, extra, 1);
		if (w[i].quoted)
			conf_err(p, w[i].line, "unexpected string \"%s\"",
			    w[i].s);
		else
			conf_err(p, w[i].line, "unknown keyword '%s'%s", w[i].s,
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

/*
 * Report every {word} in an sms-gateway template that is not {to}, {text}
 * or {key}. A brace not followed by a lower-case word and '}' is text (a
 * JSON body's own braces). Returns how many placeholders were {text}.
 */
static int
sms_template(struct parser *p, int line, const char *what, const char *t)
{
	const char	*s, *e;
	int		 ntext = 0;

	for (s = t; (s = strchr(s, '{')) != NULL; s++) {
		for (e = s + 1; *e >= 'a' && *e <= 'z'; e++)
			;
		if (e == s + 1 || *e != '}')
			continue;
		if (strncmp(s, "{text}", 6) == 0)
			ntext++;
		else if (strncmp(s, "{to}", 4) != 0 &&
		    strncmp(s, "{key}", 5) != 0)
			conf_err(p, line, "unknown placeholder '%.*s' in the "
			    "sms-gateway %s ({to}, {text}, {key})",
			    (int)(e - s + 1), s, what);
	}
	return ntext;
}

/*
 * set sms-gateway URL [get|post] [auth basic|bearer] [auth-file FILE]
 * [body TEMPLATE]: the HTTP SMS API. The URL and the body are templates
 * ({to}, {text}, {key}); a GET has no body; the text must go somewhere.
 */
static void
sms_gateway(struct parser *p, struct word *w, int n)
{
	struct conf	*c = p->conf;
	const char	*url = w[2].s;
	int		 i, ntext;

	if (strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0)
		conf_err(p, w[2].line, "bad sms-gateway URL '%s' (http:// or "
		    "https://)", url);
	set_str(&c->sms_gateway, url);
	c->sms_gateway_file = p->stack[p->depth - 1]->name;
	c->sms_gateway_line = w[2].line;
	for (i = 3; i < n; i++) {
		if (strcmp(w[i].s, "get") == 0 || strcmp(w[i].s, "post") == 0)
			c->sms_get = strcmp(w[i].s, "get") == 0;
		else if ((strcmp(w[i].s, "auth") == 0 ||
		    strcmp(w[i].s, "auth-file") == 0 ||
		    strcmp(w[i].s, "body") == 0) && i + 1 >= n)
			conf_err(p, w[i].line, "'%s' needs a value", w[i].s);
		else if (strcmp(w[i].s, "auth") == 0) {
			i++;
			if (strcmp(w[i].s, "basic") != 0 &&
			    strcmp(w[i].s, "bearer") != 0)
				conf_err(p, w[i].line, "bad value '%s' for "
				    "'auth' (basic or bearer)", w[i].s);
			c->sms_bearer = strcmp(w[i].s, "bearer") == 0;
		} else if (strcmp(w[i].s, "auth-file") == 0)
			set_str(&c->sms_auth_file, w[++i].s);
		else if (strcmp(w[i].s, "body") == 0)
			set_str(&c->sms_body, w[++i].s);
		else
			conf_err(p, w[i].line, "unknown keyword '%s' after "
			    "sms-gateway (get, post, auth, auth-file, body)",
			    w[i].s);
	}
	ntext = sms_template(p, w[2].line, "URL", url);
	if (c->sms_get && c->sms_body != NULL)
		conf_err(p, w[2].line, "sms-gateway: a GET has no body (drop "
		    "'body' or use post)");
	else if (c->sms_body != NULL)
		ntext += sms_template(p, w[2].line, "body", c->sms_body);
	else if (!c->sms_get)
		ntext++;	/* the default body: to={to}&text={text} */
	if (ntext == 0)
		conf_err(p, w[2].line, "sms-gateway: no {text} in the %s: "
		    "the message would go nowhere", c->sms_get ? "URL" :
		    "body");
}

static void
st_set(struct parser *p, struct word *w, int n)
{
	struct conf	*c = p->conf;
	const char	*k, *v;
	char		 hint[64];
	unsigned long	 ul;
	uint64_t	 ms;
	int		 i;

	if (n < 2) {
		conf_err(p, w[0].line, "'set' needs a keyword");
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
			conf_err(p, w[i].line, "unexpected '%s' after 'set %s'",
			    w[i].s, k);
		return;
	}
	if (set_words[i] == NULL) {
		suggest(hint, sizeof(hint), k, set_words, 1);
		conf_err(p, w[1].line, "unknown keyword '%s'%s", k, hint);
		return;
	}
	if (n < 3) {
		conf_err(p, w[1].line, "'%s' needs a value", k);
		return;
	}
	v = w[2].s;
	if (conf_cluster_set(p, w, n))
		return;
	if (strcmp(k, "smtp-relay") == 0) {
		set_str(&c->smtp_relay, v);
		for (i = 3; i < n; i++) {
			if (strcmp(w[i].s, "starttls") == 0)
				c->smtp_starttls = 1;
			else if (strcmp(w[i].s, "auth-file") == 0 && i + 1 < n)
				set_str(&c->smtp_auth_file, w[++i].s);
			else if (strcmp(w[i].s, "auth-file") == 0)
				conf_err(p, w[i].line, "'auth-file' needs a "
				    "value");
			else
				conf_err(p, w[i].line, "unknown keyword '%s' "
				    "after smtp-relay (starttls, auth-file)",
				    w[i].s);
		}
		return;
	}
	if (strcmp(k, "sms-gateway") == 0) {
		sms_gateway(p, w, n);
		return;
	}
	if (strcmp(k, "storm") == 0) {
		/* set storm N [in] DURATION */
		i = n > 3 && strcmp(w[3].s, "in") == 0 ? 4 : 3;
		if (parse_uint(v, 1000000, &ul) == -1)
			conf_err(p, w[2].line, "bad number '%s' for 'storm' "
			    "(0 to 1000000)", v);
		else if (i >= n)
			conf_err(p, w[2].line, "'storm' needs a duration: "
			    "set storm N in DURATION");
		else if (i + 1 < n)
			conf_err(p, w[i + 1].line, "unexpected '%s' after "
			    "'set storm'", w[i + 1].s);
		else if (parse_duration(p, w[i].line, "storm", w[i].s,
		    &ms) == -1)
			;	/* said */
		else if (ms < 1000 || ms % 1000 != 0)
			conf_err(p, w[i].line, "storm window '%s' is not whole "
			    "seconds, 1s or more", w[i].s);
		else {
			c->storm_ms = ms;
			c->storm_n = ul;
			c->storm_file = p->stack[p->depth - 1]->name;
			c->storm_line = w[2].line;
		}
		return;
	}
	if (n > 3) {
		conf_err(p, w[3].line, "unexpected '%s' after 'set %s'", w[3].s,
		    k);
		return;
	}
	if (strcmp(k, "state-dir") == 0)
		set_str(&c->state_dir, v);
	else if (strcmp(k, "control") == 0)
		set_str(&c->control, v);
	else if (strcmp(k, "control-group") == 0) {
		set_str(&c->control_group, v);
		c->control_group_file = p->stack[p->depth - 1]->name;
		c->control_group_line = w[2].line;
	}
	else if (strcmp(k, "pidfile") == 0)
		set_str(&c->pidfile, v);
	else if (strcmp(k, "user") == 0) {
		set_str(&c->user, v);
		c->user_file = p->stack[p->depth - 1]->name;
		c->user_line = w[2].line;
	}
	else if (strcmp(k, "dns-servers") == 0)
		set_dns_servers(p, w);
	else if (strcmp(k, "rrdcached") == 0)
		set_str(&c->rrdcached, v);
	else if (strcmp(k, "from") == 0)
		set_str(&c->from, v);
	else if (strcmp(k, "web-url") == 0)
		set_str(&c->web_url, v);
	else if (strcmp(k, "stale-after") == 0) {
		parse_duration(p, w[2].line, "stale-after", v,
		    &c->stale_after_ms);
		c->stale_after_file = p->stack[p->depth - 1]->name;
		c->stale_after_line = w[2].line;
	}
	else if (strcmp(k, "admin") == 0) {
		set_str(&c->admin, v);
		c->admin_file = p->stack[p->depth - 1]->name;
		c->admin_line = w[2].line;
	}
	else if (strcmp(k, "archives") == 0 ||
	    strcmp(k, "public-page") == 0) {
		if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
			conf_err(p, w[2].line,
			    "bad value '%s' for '%s' (on "
			    "or off)", v, k);
		else if (strcmp(k, "archives") == 0)
			c->no_archives = strcmp(v, "off") == 0;
		else
			c->public_page = strcmp(v, "on") == 0;
	}
	else
		set_number(p, w);
}

/*
 * What is wrong with one entry of dns-servers (e: its text, NUL ended),
 * or NULL when it is ADDRESS, ADDRESS:PORT with an IPv4 address, or an
 * IPv6 address bare or as [ADDRESS]:PORT (addr, of len bytes, gets the
 * address). Stricter than c-ares's own reading (which takes a blank list,
 * so no name server at all, and a port past 65535): what passes here,
 * resolver_new takes at start.
 */
static const char *
dns_server_bad(const char *e, char *addr, size_t len)
{
	const char	*port = NULL, *close;
	unsigned char	 bin[16];
	unsigned long	 ul;
	size_t		 n;

	if (*e == '\0')
		return "empty";
	if (*e == '[') {
		if ((close = strchr(e, ']')) == NULL)
			return "unclosed '['";
		if (close[1] != ':')	/* c-ares reads [ADDRESS] alone wrong */
			return "a bracketed address needs ':PORT' after ']'";
		n = close - e - 1;
		port = close + 2;
		e++;
	} else if ((port = strchr(e, ':')) != NULL &&
	    strchr(port + 1, ':') == NULL)
		n = port++ - e;		/* IPv4:PORT */
	else {
		n = strlen(e);		/* an address alone, IPv6 too */
		port = NULL;
	}
	if (n == 0 || n >= len)
		return "not an IP address";
	memcpy(addr, e, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, bin) != 1 &&
	    inet_pton(AF_INET6, addr, bin) != 1)
		return "not an IP address";
	if (port != NULL && (parse_uint(port, 65535, &ul) == -1 || ul < 1))
		return "bad port (1-65535)";
	return NULL;
}

/*
 * set dns-servers ENTRY[,ENTRY...] (w[2]): each entry as dns_server_bad
 * reads it, or an error naming the entry at the line.
 */
static void
set_dns_servers(struct parser *p, struct word *w)
{
	char		*copy, *save, *e, addr[INET6_ADDRSTRLEN + 1];
	const char	*why;
	int		 bad = 0;

	copy = xstrdup(w[2].s);
	for (save = copy; !bad && (e = strsep(&save, ",")) != NULL;)
		if ((why = dns_server_bad(e, addr, sizeof(addr))) != NULL) {
			conf_err(p, w[2].line, "bad dns-servers entry '%s': "
			    "%s (ADDRESS[:PORT] or [IPv6]:PORT, separated by "
			    "commas)", e, why);
			bad = 1;
		}
	free(copy);
	if (!bad)
		set_str(&p->conf->dns_servers, w[2].s);
}

/*
 * set max-concurrent, exec-max, lb-threads, flap-low or flap-high N (w[1]
 * the keyword, w[2] the number), in its range; the flap thresholds keep
 * their line for conf_validate, which compares them.
 */
static void
set_number(struct parser *p, struct word *w)
{
	struct conf	*c = p->conf;
	const char	*k = w[1].s;
	unsigned long	 ul, max, min;
	struct where	*at = NULL;

	max = strncmp(k, "flap", 4) == 0 ? 100 :
	    strcmp(k, "lb-threads") == 0 ? 64 : 1000000;
	min = strcmp(k, "lb-threads") == 0 ? 1 : 0;
	if (parse_uint(w[2].s, max, &ul) == -1 || ul < min) {
		conf_err(p, w[2].line, "bad number '%s' for '%s' (%lu to %lu)",
		    w[2].s, k, min, max);
		return;
	}
	if (strcmp(k, "max-concurrent") == 0)
		c->max_concurrent = ul;
	else if (strcmp(k, "exec-max") == 0)
		c->exec_max = ul;
	else if (strcmp(k, "lb-threads") == 0)
		c->lb_threads = ul;
	else if (strcmp(k, "flap-low") == 0) {
		c->flap_low = ul;
		at = &p->flap_low_at;
	} else {
		c->flap_high = ul;
		at = &p->flap_high_at;
	}
	if (at != NULL) {
		at->file = p->stack[p->depth - 1]->name;
		at->line = w[2].line;
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

/* 1 if s is +DIGITS, 6 to 15 of them (E.164). */
static int
phone_number(const char *s)
{
	size_t n;

	if (*s++ != '+')
		return 0;
	n = strspn(s, "0123456789");
	return s[n] == '\0' && n >= 6 && n <= 15;
}

/*
 * A contact keyword the statement had already (*seen has a bit for each):
 * 1 after reporting (the caller skips it and its value), else 0.
 */
static int
contact_twice(struct parser *p, const char *k, int line, unsigned *seen)
{
	size_t i;

	for (i = 0; contact_words[i] != NULL; i++)
		if (strcmp(contact_words[i], k) == 0)
			break;
	if (contact_words[i] == NULL)
		return 0;
	if (*seen & (1U << i)) {
		conf_err(p, line, "'%s' given twice", k);
		return 1;
	}
	*seen |= 1U << i;
	return 0;
}

static void
st_contact(struct parser *p, struct word *w, int n)
{
	struct conf		*c = p->conf;
	struct contact_conf	*ct;
	char			 hint[64];
	unsigned		 seen = 0;
	int			 i;

	if (n < 2) {
		conf_err(p, w[0].line, "'contact' needs a name");
		return;
	}
	if (!valid_name(w[1].s)) {
		conf_err(p, w[1].line,
		    "bad contact name '%s' (letters, digits, "
		    "'.', '_', '-')", w[1].s);
		return;
	}
	ct = xcalloc(1, sizeof(*ct));
	ct->name = xstrdup(w[1].s);
	ct->file = p->stack[p->depth - 1]->name;
	ct->line = w[0].line;
	ct->quiet_from = ct->quiet_to = -1;
	for (i = 2; i < n; i += 2) {
		if (contact_twice(p, w[i].s, w[i].line, &seen)) {
			if (strcmp(w[i].s, "escalate-after") == 0)
				i++;	/* it takes two values */
			continue;
		}
		if (i + 1 >= n && (strcmp(w[i].s, "email") == 0 ||
		    strcmp(w[i].s, "sms") == 0 || strcmp(w[i].s, "quiet") == 0 ||
		    strcmp(w[i].s, "webhook") == 0 ||
		    strcmp(w[i].s, "renotify") == 0 ||
		    strcmp(w[i].s, "escalate-after") == 0 ||
		    strcmp(w[i].s, "min-state") == 0)) {
			conf_err(p, w[i].line, "'%s' needs a value", w[i].s);
			break;
		}
		if (strcmp(w[i].s, "escalate-after") == 0) {
			/* escalate-after DURATION CONTACT */
			if (i + 2 >= n) {
				conf_err(p, w[i].line, "'escalate-after' needs "
				    "a duration and a contact");
				break;
			}
			if (parse_duration(p, w[i].line, "escalate-after",
			    w[i + 1].s, &ct->escalate_ms) == 0 &&
			    ct->escalate_ms == 0)
				conf_err(p, w[i].line, "'escalate-after' "
				    "needs a duration above 0");
			set_str(&ct->escalate_name, w[i + 2].s);
			i++;
			continue;
		}
		if (strcmp(w[i].s, "renotify") == 0) {
			parse_duration(p, w[i].line, "renotify", w[i + 1].s,
			    &ct->renotify);
			continue;
		}
		if (strcmp(w[i].s, "email") == 0) {
			if (strchr(w[i + 1].s, '@') == NULL)
				conf_err(p, w[i].line, "bad email address '%s'",
				    w[i + 1].s);
			set_str(&ct->email, w[i + 1].s);
		} else if (strcmp(w[i].s, "sms") == 0) {
			/* NUMBER@gateway, or +NUMBER for the SMS API. */
			if (strchr(w[i + 1].s, '@') == NULL &&
			    !phone_number(w[i + 1].s))
				conf_err(p, w[i].line, "sms '%s': give a phone "
				    "number in international form (+ and 6 "
				    "to 15 digits) or an email-to-SMS gateway "
				    "address (NUMBER@gateway)", w[i + 1].s);
			set_str(&ct->sms, w[i + 1].s);
		}
		else if (strcmp(w[i].s, "webhook") == 0) {
			if (strncmp(w[i + 1].s, "http://", 7) != 0 &&
			    strncmp(w[i + 1].s, "https://", 8) != 0)
				conf_err(p, w[i].line, "bad webhook URL '%s' "
				    "(http:// or https://)", w[i + 1].s);
			set_str(&ct->webhook, w[i + 1].s);
		} else if (strcmp(w[i].s, "min-state") == 0) {
			if (strcmp(w[i + 1].s, "down") == 0)
				ct->min_down = 1;
			else if (strcmp(w[i + 1].s, "degraded") == 0)
				ct->min_down = 0;
			else
				conf_err(p, w[i].line, "bad value '%s' for "
				    "'min-state' (degraded or down)", w[i + 1].s);
		} else if (strcmp(w[i].s, "quiet") == 0) {
			if (parse_hhmm_range(w[i + 1].s, &ct->quiet_from,
			    &ct->quiet_to) == -1)
				conf_err(p, w[i].line,
				    "bad time range '%s' for "
				    "'quiet' (HH:MM-HH:MM)", w[i + 1].s);
		} else {
			suggest(hint, sizeof(hint), w[i].s, contact_words, 0);
			conf_err(p, w[i].line, "unknown keyword '%s'%s", w[i].s,
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
 * Set the server's scheme, kind and default port from the URL's scheme.
 * Returns what follows "://", or NULL after reporting.
 */
static const char *
url_scheme(struct parser *p, struct server_conf *sv, int line,
    const char *url)
{
	const char	*rest;
	char		 scheme[16];
	size_t		 i, len;

	if ((rest = strstr(url, "://")) == NULL) {
		conf_err(p, line, "bad URL '%s' (scheme://host[:port][/path])",
		    url);
		return NULL;
	}
	len = rest - url;
	if (len == 0 || len >= sizeof(scheme)) {
		conf_err(p, line, "unknown URL scheme '%.*s'", (int)len, url);
		return NULL;
	}
	for (i = 0; i < len; i++)
		scheme[i] = tolower((unsigned char)url[i]);
	scheme[len] = '\0';
	for (i = 0; i < NSCHEMES; i++)
		if (strcmp(schemes[i].scheme, scheme) == 0)
			break;
	if (i == NSCHEMES) {
		conf_err(p, line, "unknown URL scheme '%s' (http, https, tcp, "
		    "dns, ftp, ftps, smtp, smtps, pop3, pop3s, imap, imaps, "
		    "ping, or exec \"command\")", scheme);
		return NULL;
	}
	sv->scheme = xstrdup(scheme);
	sv->kind = schemes[i].kind;
	sv->implicit_tls = schemes[i].tls;
	sv->port = schemes[i].port;
	return rest + 3;
}

/* Take "user@" before the host as the login user; returns the host. */
static const char *
url_user(struct server_conf *sv, const char *h)
{
	const char *e;

	if ((e = strchr(h, '@')) != NULL && e < h + strcspn(h, "/?")) {
		sv->o.user = xstrndup(h, e - h);
		sv->o.given |= 1ULL << (find_opt("user") - conf_parse_optdefs);
		h = e + 1;
	}
	return h;
}

/*
 * Set the host (a name, an address or [IPv6]) and an explicit port.
 * Returns what follows them, or NULL after reporting.
 */
static const char *
url_host_port(struct parser *p, struct server_conf *sv, int line,
    const char *url, const char *h)
{
	const char	*e;
	char		 portbuf[16];
	unsigned long	 port;
	size_t		 len;

	if (*h == '[') {
		if ((e = strchr(h, ']')) == NULL) {
			conf_err(p, line, "bad URL '%s': unclosed '['", url);
			return NULL;
		}
		sv->host = xstrndup(h + 1, e - h - 1);
		e++;
	} else {
		e = h + strcspn(h, ":/?");
		sv->host = xstrndup(h, e - h);
	}
	if (*e != ':')
		return e;
	len = strcspn(e + 1, "/?");
	if (len == 0 || len >= sizeof(portbuf)) {
		conf_err(p, line, "bad port in URL '%s'", url);
		return NULL;
	}
	memcpy(portbuf, e + 1, len);
	portbuf[len] = '\0';
	if (parse_uint(portbuf, ULONG_MAX, &port) == -1) {
		conf_err(p, line, "bad port '%s' in URL '%s'", portbuf, url);
		return NULL;
	}
	if (port < 1 || port > 65535) {
		conf_err(p, line, "port %s out of range (1-65535)", portbuf);
		return NULL;
	}
	sv->port = port;
	return e + 1 + len;
}

/* dns://server/name?type=T: the name to look up and the record type. */
static int
url_dns_query(struct parser *p, struct server_conf *sv, int line,
    const char *url, const char *e)
{
	const char	*q = strchr(e, '?');
	size_t		 i, len;

	len = q != NULL ? (size_t)(q - e) : strlen(e);
	if (len > 0 && *e == '/') {
		e++;
		len--;
	}
	if (len == 0) {
		conf_err(p, line, "dns URL '%s' needs a name to look up "
		    "(dns://server/name?type=A)", url);
		return -1;
	}
	sv->path = xstrndup(e, len);
	sv->dns_type = xstrdup("A");
	if (q == NULL)
		return 0;
	if (strncasecmp(q + 1, "type=", 5) != 0) {
		conf_err(p, line, "bad query '%s' in dns URL "
		    "(?type=A|AAAA|MX|NS|TXT|SOA)", q + 1);
		return -1;
	}
	for (i = 0; dns_types[i] != NULL; i++)
		if (strcasecmp(dns_types[i], q + 6) == 0)
			break;
	if (dns_types[i] == NULL) {
		conf_err(p, line, "unknown DNS type '%s' (A, AAAA, MX, NS, "
		    "TXT, SOA)", q + 6);
		return -1;
	}
	free(sv->dns_type);
	sv->dns_type = xstrdup(dns_types[i]);
	return 0;
}

/*
 * Split a URL into the server's scheme, host, port and path (for dns, the
 * name and type). Returns 0, or -1 after reporting.
 */
static int
parse_url(struct parser *p, struct server_conf *sv, int line,
    const char *url)
{
	const char *h, *e;

	if ((h = url_scheme(p, sv, line, url)) == NULL)
		return -1;
	h = url_user(sv, h);
	if ((e = url_host_port(p, sv, line, url, h)) == NULL)
		return -1;
	if (*sv->host == '\0' && sv->kind != KIND_DNS) {
		conf_err(p, line, "URL '%s' has no host", url);
		return -1;
	}
	if (sv->kind == KIND_TCP && sv->port == 0) {
		conf_err(p, line, "tcp URL '%s' needs a port", url);
		return -1;
	}
	if (sv->kind == KIND_DNS) {
		if (url_dns_query(p, sv, line, url, e) == -1)
			return -1;
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
		conf_err(p, w[0].line, n < 2 ?
		    "'server' needs a name and a URL" :
		    "server '%s' needs a URL", n < 2 ? "" : w[1].s);
		return;
	}
	if (!valid_name(w[1].s)) {
		conf_err(p, w[1].line, "bad server name '%s' (letters, digits, "
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
	if (strlen(sv->id) > SERVER_ID_MAX) {
		conf_err(p, w[1].line, "server id '%.32s...' is %zu bytes "
		    "long (at most %d)", sv->id, strlen(sv->id), SERVER_ID_MAX);
		goto drop;
	}
	if (!w[2].quoted && strcmp(w[2].s, "exec") == 0) {
		sv->kind = KIND_EXEC;
		sv->scheme = xstrdup("exec");
		if (n < 4 || !w[3].quoted) {
			conf_err(p, w[2].line,
			    "exec needs a quoted command: exec "
			    "\"/path/check_x ARGS\"");
			goto drop;
		}
		sv->url = xstrdup(w[3].s);
		if (split_words(sv->url, &sv->argv, &argc, &err) == -1) {
			conf_err(p, w[3].line, "bad exec command: %s", err);
			goto drop;
		}
		if (sv->argv[0][0] != '/') {
			conf_err(p, w[3].line, "exec command '%s' must be an "
			    "absolute path", sv->argv[0]);
			goto drop;
		}
		parse_options(p, &sv->o, w, n, 4, NULL, 0, sv->kind);
	} else {
		sv->url = xstrdup(w[2].s);
		if (parse_url(p, sv, w[2].line, sv->url) == -1)
			goto drop;
		parse_options(p, &sv->o, w, n, 3, NULL, 0, sv->kind);
	}
	c->servers = xreallocarray(c->servers, c->nservers + 1,
	    sizeof(*c->servers));
	c->servers[c->nservers++] = sv;
	if (p->farm == NULL)	/* a farm's wait for its end */
		lb_server_options(p, sv, "a farm with a 'listen'");
	else {
		p->farm->servers = xreallocarray(p->farm->servers,
		    p->farm->nservers + 1, sizeof(*p->farm->servers));
		p->farm->servers[p->farm->nservers++] = sv;
	}
	return;
drop:
	conf_server_free(sv);
}

static void
st_farm(struct parser *p, struct word *w, int n)
{
	struct conf		*c = p->conf;
	struct farm_conf	*f;

	if (n < 2) {
		conf_err(p, w[0].line, "'farm' needs a name");
		/* Still open a block so its '}' balances. */
	}
	f = xcalloc(1, sizeof(*f));
	f->name = xstrdup(n < 2 ? "?" : w[1].s);
	f->file = p->stack[p->depth - 1]->name;
	f->line = w[0].line;
	f->balance = BALANCE_FASTEST;
	if (n >= 2 && !valid_name(w[1].s))
		conf_err(p, w[1].line, "bad farm name '%s' (letters, digits, "
		    "'.', '_', '-')", w[1].s);
	if (n > 2)
		parse_options(p, &f->o, w, n, 2, NULL, 0, -1);
	c->farms = xreallocarray(c->farms, c->nfarms + 1, sizeof(*c->farms));
	c->farms[c->nfarms++] = f;
	p->farm = f;
	p->farm_seen = 0;
}

#define NO_LISTEN	"(a farm without one is watched, not balanced)"

/*
 * weight and maxconn, where given has their bits (a server's own line's,
 * or a farm's), are tocsin-lb's: written where no listen balances them,
 * each is an error at file:line, "WHO: 'weight' is tocsin-lb's and needs
 * NEEDS".
 */
static void
lb_options(struct parser *p, uint64_t given, const char *file, int line,
    const char *who, const char *needs)
{
	static const char	*names[] = { "weight", "maxconn" };
	size_t			 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (given & conf_parse_opt_bit(names[i]))
			conf_err_at(p, file, line, "%s: '%s' is tocsin-lb's and "
			    "needs %s", who, names[i], needs);
}

/* lb_options for a server's own line (sv->o.given is its own until
 * conf_validate resolves it); needs: what it lacks. */
static void
lb_server_options(struct parser *p, const struct server_conf *sv,
    const char *needs)
{
	char who[SERVER_ID_MAX + 16];

	snprintf(who, sizeof(who), "server '%s'", sv->id);
	lb_options(p, sv->o.given, sv->file, sv->line, who, needs);
}

/*
 * A farm's block closed: what only the whole block can tell. Its block
 * keywords but server and listen, and weight and maxconn (its own or its
 * servers'), are tocsin-lb's: without a listen they would do nothing.
 * server-timeout times http answers: it needs an http listen.
 */
static void
farm_end(struct parser *p, struct farm_conf *f)
{
	const struct where	*at;
	char			 who[SERVER_ID_MAX + 16];
	size_t			 i;
	int			 http = 0;

	for (i = 0; i < f->nlistens; i++)
		http |= f->listens[i].http;
	for (i = 0; farm_words[i] != NULL; i++) {
		at = &p->farm_at[i];
		if (!(p->farm_seen & (1U << i)))
			continue;
		if (f->nlistens == 0)
			conf_err_at(p, at->file, at->line, "farm '%s': '%s' is "
			    "tocsin-lb's and needs a 'listen' in the farm "
			    NO_LISTEN, f->name, farm_words[i]);
		else if (!http && strcmp(farm_words[i], "server-timeout") == 0)
			conf_err_at(p, at->file, at->line, "farm '%s': "
			    "'server-timeout' times http answers, and the farm "
			    "has no 'listen ... http' (a tcp session ends after "
			    "its client-timeout)", f->name);
	}
	if (f->nlistens > 0)
		return;
	snprintf(who, sizeof(who), "farm '%s'", f->name);
	lb_options(p, f->o.given, f->file, f->line, who,
	    "a 'listen' in the farm " NO_LISTEN);
	for (i = 0; i < f->nservers; i++)
		lb_server_options(p, f->servers[i],
		    "a 'listen' in its farm " NO_LISTEN);
}

/*
 * A farm's block keyword (balance, persist, a timeout, ...) the block had
 * already: 1 after reporting, else 0 and noted. server, listen and the
 * server options are not counted here.
 */
static int
farm_twice(struct parser *p, const char *k, int line)
{
	size_t i;

	for (i = 0; farm_words[i] != NULL; i++)
		if (strcmp(farm_words[i], k) == 0)
			break;
	if (farm_words[i] == NULL || strcmp(k, "listen") == 0)
		return 0;
	if (p->farm_seen & (1U << i)) {
		conf_err(p, line, "'%s' given twice", k);
		return 1;
	}
	p->farm_seen |= 1U << i;
	p->farm_at[i].file = p->stack[p->depth - 1]->name;
	p->farm_at[i].line = line;
	return 0;
}

static void
st_farm_item(struct parser *p, struct word *w, int n)
{
	struct farm_conf	*f = p->farm;
	static const char	*algos[] = { "fastest", "leastconn",
	    "roundrobin", "source", "random", NULL };
	static const struct {
		const char	*name;
		size_t		 off;
	} timeouts[] = {
		{ "connect-timeout", offsetof(struct farm_conf,
		    connect_timeout) },
		{ "client-timeout", offsetof(struct farm_conf,
		    client_timeout) },
		{ "server-timeout", offsetof(struct farm_conf,
		    server_timeout) },
	};
	char			 hint[64];
	const char		*port;
	unsigned long		 ul;
	uint64_t		 ms;
	size_t			 k;
	int			 i;

	if (strcmp(w[0].s, "server") == 0) {
		st_server(p, w, n);
		return;
	}
	if (farm_twice(p, w[0].s, w[0].line))
		return;
	if (strcmp(w[0].s, "balance") == 0) {
		if (n != 2) {
			conf_err(p, w[0].line,
			    "'balance' needs one of fastest, "
			    "leastconn, roundrobin, source, random");
			return;
		}
		for (i = 0; algos[i] != NULL; i++)
			if (strcmp(algos[i], w[1].s) == 0)
				break;
		if (algos[i] == NULL) {
			suggest(hint, sizeof(hint), w[1].s, algos, 0);
			conf_err(p, w[1].line, "unknown balance '%s'%s", w[1].s,
			    hint);
			return;
		}
		f->balance = i;
		return;
	}
	if (strcmp(w[0].s, "listen") == 0) {
		if (n < 2 || n > 3 || (n == 3 && strcmp(w[2].s, "http") != 0 &&
		    strcmp(w[2].s, "tcp") != 0)) {
			conf_err(p, w[0].line, "'listen' needs ADDRESS:PORT "
			    "[http|tcp]");
			return;
		}
		if ((port = strrchr(w[1].s, ':')) == NULL) {
			conf_err(p, w[1].line,
			    "listen address '%s' needs a port",
			    w[1].s);
			return;
		}
		if (parse_uint(port + 1, ULONG_MAX, &ul) == -1) {
			conf_err(p, w[1].line,
			    "bad port '%s' in listen address "
			    "'%s'", port + 1, w[1].s);
			return;
		}
		if (ul < 1 || ul > 65535) {
			conf_err(p, w[1].line, "port %s out of range (1-65535)",
			    port + 1);
			return;
		}
		f->listens = xreallocarray(f->listens, f->nlistens + 1,
		    sizeof(*f->listens));
		f->listens[f->nlistens].addr = xstrdup(w[1].s);
		f->listens[f->nlistens].file = p->stack[p->depth - 1]->name;
		f->listens[f->nlistens].line = w[0].line;
		f->listens[f->nlistens++].http = n < 3 ||
		    strcmp(w[2].s, "http") == 0;
		return;
	}
	if (strcmp(w[0].s, "persist") == 0) {
		if (n != 2) {
			conf_err(p, w[0].line, "'persist' needs one duration");
			return;
		}
		if (parse_duration(p, w[1].line, "persist", w[1].s, &ms) == -1)
			return;
		f->persist = ms;
		return;
	}
	if (strcmp(w[0].s, "slowstart") == 0) {
		if (n != 2) {
			conf_err(p, w[0].line,
			    "'slowstart' needs one duration");
			return;
		}
		if (parse_duration(p, w[1].line, "slowstart", w[1].s, &ms) ==
		    -1)
			return;
		f->slowstart = ms;
		return;
	}
	for (k = 0; k < sizeof(timeouts) / sizeof(timeouts[0]); k++) {
		if (strcmp(w[0].s, timeouts[k].name) != 0)
			continue;
		if (n != 2) {
			conf_err(p, w[0].line, "'%s' needs one duration",
			    w[0].s);
			return;
		}
		if (parse_duration(p, w[1].line, w[0].s, w[1].s, &ms) == -1)
			return;
		if (ms == 0) {
			conf_err(p, w[1].line, "'%s' needs a duration above 0",
			    w[0].s);
			return;
		}
		*(uint64_t *)((char *)f + timeouts[k].off) = ms;
		return;
	}
	if (strcmp(w[0].s, "proxy-protocol") == 0) {
		if (n != 2 || (strcmp(w[1].s, "v1") != 0 &&
		    strcmp(w[1].s, "v2") != 0)) {
			conf_err(p, w[0].line,
			    "'proxy-protocol' needs v1 or v2");
			return;
		}
		f->proxy_protocol = w[1].s[1] - '0';
		return;
	}
	if (find_opt(w[0].s) != NULL) {
		parse_options(p, &f->o, w, n, 0, farm_words,
		    f->o.given & ~list_bits(), -1);
		return;
	}
	suggest(hint, sizeof(hint), w[0].s, farm_words, 1);
	conf_err(p, w[0].line, "unknown keyword '%s'%s", w[0].s, hint);
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

/*
 * Parse a file's text (or a string's) as a new source on the include stack;
 * real is its realpath, or NULL for a string.
 */
void
conf_parse_src(struct parser *p, const char *name, const char *real,
    const char *text)
{
	struct src s;

	memset(&s, 0, sizeof(s));
	s.name = intern_file(p->conf, name);
	s.real = real != NULL ? xstrdup(real) : NULL;
	s.text = s.pos = text;
	s.line = 1;
	p->stack[p->depth++] = &s;
	parse_statements(p, &s);
	p->depth--;
	free(s.real);
}

/*
 * Count an included file of size bytes (0: before reading it) against
 * the totals, so a few files that include each other many times fail
 * fast. Returns 0, or -1 after reporting and stopping the parse.
 */
static int
include_bounded(struct parser *p, int line, size_t size)
{
	if (size == 0 && p->nincluded >= INCLUDE_FILES_MAX) {
		conf_err(p, line, "includes read more than %d files in total",
		    INCLUDE_FILES_MAX);
		p->fatal = 1;
		return -1;
	}
	if (size == 0) {
		p->nincluded++;
		return 0;
	}
	if (size > INCLUDE_BYTES_MAX - p->included_bytes) {
		conf_err(p, line, "included files hold more than %d MiB in "
		    "total", INCLUDE_BYTES_MAX / (1024 * 1024));
		p->fatal = 1;
		return -1;
	}
	p->included_bytes += size;
	return 0;
}

static void
st_include(struct parser *p, struct src *s, struct word *w, int n)
{
	char		*dir, *pattern, real[PATH_MAX];
	const char	*err;
	char		*text;
	glob_t		 g;
	size_t		 i, size;
	int		 d, r, line;

	if (n != 2) {
		conf_err(p, w[0].line,
		    "'include' needs one file name or pattern");
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
		conf_err(p, w[1].line, "include '%s' matches nothing", w[1].s);
		free(pattern);
		return;
	} else if (r != 0) {
		conf_err(p, w[1].line, "include '%s': cannot read the folder",
		    w[1].s);
		free(pattern);
		return;
	}
	free(pattern);
	for (i = 0; i < g.gl_pathc; i++) {
		if (realpath(g.gl_pathv[i], real) == NULL) {
			conf_err(p, w[1].line,
			    "include '%s': %s", g.gl_pathv[i],
			    strerror(errno));
			continue;
		}
		for (d = 0; d < p->depth; d++)
			if (p->stack[d]->real != NULL &&
			    strcmp(p->stack[d]->real, real) == 0)
				break;
		if (d < p->depth) {
			conf_err(p, w[1].line, "include '%s' includes itself",
			    g.gl_pathv[i]);
			continue;
		}
		/* depth counts the top file, which no include read */
		if (p->depth > INCLUDE_DEPTH) {
			conf_err(p, w[1].line,
			    "includes nested more than %d deep",
			    INCLUDE_DEPTH);
			break;
		}
		if (include_bounded(p, w[1].line, 0) == -1)
			break;
		if ((text = conf_lex_read_file(g.gl_pathv[i], &size, &err,
		    &line)) == NULL) {
			if (line > 0)	/* a line of that file */
				conf_err_at(p, g.gl_pathv[i], line, "%s", err);
			else
				conf_err(p, w[1].line, "include '%s': %s",
				    g.gl_pathv[i], err);
			continue;
		}
		if (include_bounded(p, w[1].line, size) == 0)
			conf_parse_src(p, g.gl_pathv[i], real, text);
		free(text);
		if (p->fatal)
			break;
	}
	globfree(&g);
}

/* Copy into `to` every option `from` gave that `to` did not. */
