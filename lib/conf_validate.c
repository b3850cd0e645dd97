/*
 * conf_validate.c: the checks that need the whole config (duplicates,
 * contacts, dependencies and their cycles), and the resolution of each
 * server's options: its own, its farm's, `set`, then built-in defaults.
 */
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_impl.h"
#include "hash.h"
#include "util.h"
#include "xmalloc.h"

static void
options_inherit(struct options *to, const struct options *from)
{
	size_t	 i;
	char	*tb = (char *)to;
	const char *fb = (const char *)from;

	for (i = 0; i < conf_parse_noptdefs; i++) {
		const struct optdef *d = &conf_parse_optdefs[i];
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
		case OT_DAYS:
			to->cert_days_warn = from->cert_days_warn;
			to->cert_days_crit = from->cert_days_crit;
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
		conf_parse_list_add(&to->notify, &to->nnotify, from->notify[i]);
	for (i = 0; i < from->ndepends; i++)
		conf_parse_list_add(&to->depends, &to->ndepends,
		    from->depends[i]);
	/* ... but vantage replaces: a server's own list, else its farm's,
	 * else set's. */
	if (to->nvantage == 0)
		for (i = 0; i < from->nvantage; i++)
			conf_parse_list_add(&to->vantage, &to->nvantage,
			    from->vantage[i]);
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
	b.max_redirects = 5;
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
	uint64_t given;

	if (sv->farm != NULL)
		options_inherit(&sv->o, &sv->farm->o);
	options_inherit(&sv->o, &c->defaults);
	given = sv->o.given;
	options_builtin(&sv->o);
	/* An unset retry interval or timeout never exceeds the interval. */
	if (!(given & RETRY_BIT) && sv->o.retry_interval > sv->o.interval)
		sv->o.retry_interval = sv->o.interval;
	if (!(given & TIMEOUT_BIT) && sv->o.timeout > sv->o.interval)
		sv->o.timeout = sv->o.interval;
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
	size_t			 i;

	c->byid = hash_new();
	for (i = 0; i < c->nservers; i++) {
		sv = c->servers[i];
		sv->idx = i;
		if ((o = hash_get(c->byid, sv->id)) != NULL) {
			conf_err_at(p, sv->file, sv->line,
			    "duplicate server id "
			    "'%s' (first at %s:%d)", sv->id, o->file, o->line);
			continue;
		}
		hash_put(c->byid, sv->id, sv);
	}
}

/* Report contacts and farms defined twice, naming both lines. */
static void
check_duplicate_names(struct parser *p)
{
	struct conf	*c = p->conf;
	size_t		 i, j;

	for (i = 0; i < c->ncontacts; i++)
		for (j = 0; j < i; j++)
			if (strcmp(c->contacts[i]->name,
			    c->contacts[j]->name) == 0) {
				conf_err_at(p, c->contacts[i]->file,
				    c->contacts[i]->line, "duplicate contact "
				    "'%s' (first at %s:%d)",
				    c->contacts[i]->name, c->contacts[j]->file,
				    c->contacts[j]->line);
				break;
			}
	for (i = 0; i < c->nfarms; i++)
		for (j = 0; j < i; j++)
			if (strcmp(c->farms[i]->name, c->farms[j]->name) == 0) {
				conf_err_at(p, c->farms[i]->file,
				    c->farms[i]->line,
				    "duplicate farm '%s' (first at %s:%d)",
				    c->farms[i]->name, c->farms[j]->file,
				    c->farms[j]->line);
				break;
			}
}

/*
 * The first listen before farms[fi]->listens[li] (in any farm) with the
 * same address as written, or NULL.
 */
static const struct listen_conf *
earlier_listen(const struct conf *c, size_t fi, size_t li)
{
	const struct listen_conf	*l = &c->farms[fi]->listens[li];
	size_t				 i, j;

	for (i = 0; i <= fi; i++)
		for (j = 0; j < (i < fi ? c->farms[i]->nlistens : li); j++)
			if (strcmp(c->farms[i]->listens[j].addr, l->addr) == 0)
				return &c->farms[i]->listens[j];
	return NULL;
}

/*
 * Report an address listened on twice, in one farm or two: tocsin-lb
 * could bind it only once, and would fail to start.
 */
static void
check_duplicate_listens(struct parser *p)
{
	const struct conf		*c = p->conf;
	const struct listen_conf	*l, *o;
	size_t				 i, j;

	for (i = 0; i < c->nfarms; i++)
		for (j = 0; j < c->farms[i]->nlistens; j++) {
			l = &c->farms[i]->listens[j];
			if ((o = earlier_listen(c, i, j)) != NULL)
				conf_err_at(p, l->file, l->line, "duplicate "
				    "listen %s (first at %s:%d)", l->addr,
				    o->file, o->line);
		}
}

/*
 * Report a farm named as a server outside farms: a downtime or drain of
 * the name (tocsinctl) could reach only one of them.
 */
static void
check_farm_server_names(struct parser *p)
{
	struct conf		*c = p->conf;
	struct server_conf	*sv;
	size_t			 i;

	for (i = 0; i < c->nfarms; i++) {
		if ((sv = conf_find_server(c, c->farms[i]->name)) == NULL ||
		    sv->farm != NULL)
			continue;
		conf_err_at(p, c->farms[i]->file, c->farms[i]->line, "farm "
		    "'%s' has the name of server '%s' (at %s:%d)",
		    c->farms[i]->name, sv->id, sv->file, sv->line);
	}
}

/*
 * A server stops flapping below flap-low and starts above flap-high: a
 * low above the high would have it do both at once. Reported at flap-low
 * when it was written (naming flap-high's line), else at flap-high.
 */
static void
check_flap(struct parser *p)
{
	const struct conf	*c = p->conf;
	const struct where	*lo = &p->flap_low_at, *hi = &p->flap_high_at;

	if (c->flap_low <= c->flap_high)
		return;
	if (lo->file != NULL && hi->file != NULL)
		conf_err_at(p, lo->file, lo->line, "flap-low %lu is above "
		    "flap-high %lu (at %s:%d)", c->flap_low, c->flap_high,
		    hi->file, hi->line);
	else if (lo->file != NULL)
		conf_err_at(p, lo->file, lo->line, "flap-low %lu is above "
		    "flap-high %lu", c->flap_low, c->flap_high);
	else
		conf_err_at(p, hi->file, hi->line, "flap-high %lu is below "
		    "flap-low %lu", c->flap_high, c->flap_low);
}

/* escalate-after names a known contact, not the contact itself. */
static void
link_escalations(struct parser *p)
{
	struct conf		*c = p->conf;
	struct contact_conf	*ct;
	size_t			 i;

	for (i = 0; i < c->ncontacts; i++) {
		ct = c->contacts[i];
		if (ct->escalate_name == NULL)
			continue;
		if ((ct->escalate = conf_find_contact(c, ct->escalate_name)) ==
		    NULL)
			conf_err_at(p, ct->file, ct->line, "contact '%s': "
			    "escalate-after names unknown contact '%s'",
			    ct->name, ct->escalate_name);
		else if (ct->escalate == ct) {
			conf_err_at(p, ct->file, ct->line, "contact '%s': "
			    "escalate-after names the contact itself",
			    ct->name);
			ct->escalate = NULL;
		}
	}
}

/* set admin names a contact. */
static void
link_admin(struct parser *p)
{
	struct conf *c = p->conf;

	if (c->admin != NULL && (c->admin_contact = conf_find_contact(c,
	    c->admin)) == NULL)
		conf_err_at(p, c->admin_file, c->admin_line, "set admin: "
		    "unknown contact '%s'", c->admin);
}

/* Was an error reported at file:line already (its statement's)? */
static int
error_at(const struct parser *p, const char *file, int line)
{
	char		 at[PATH_MAX + 32];
	const char	*e;
	size_t		 n;

	n = (size_t)snprintf(at, sizeof(at), "%s:%d: ", file, line);
	e = p->errs;
	while (e != NULL && *e != '\0') {
		if (strncmp(e, at, n) == 0)
			return 1;
		if ((e = strchr(e, '\n')) != NULL)
			e++;
	}
	return 0;
}

/*
 * A contact has a channel (one without any was taken, and its pages
 * dropped: "not paged, no contact for it"; not said again of a contact
 * whose line had an error, "'email' needs a value"), and a phone number
 * in its sms needs the HTTP SMS API.
 */
static void
check_contacts(struct parser *p)
{
	struct conf		*c = p->conf;
	struct contact_conf	*ct;
	size_t			 i;

	for (i = 0; i < c->ncontacts; i++) {
		ct = c->contacts[i];
		if (ct->email == NULL && ct->sms == NULL &&
		    ct->webhook == NULL) {
			if (!error_at(p, ct->file, ct->line))
				conf_err_at(p, ct->file, ct->line, "contact "
				    "'%s' has no channel: give it email, sms "
				    "or webhook", ct->name);
		} else if (ct->sms != NULL && ct->sms[0] == '+' &&
		    c->sms_gateway == NULL)
			conf_err_at(p, ct->file, ct->line, "contact '%s': sms "
			    "%s is a phone number, which needs 'set "
			    "sms-gateway URL' (or give an email-to-SMS "
			    "gateway address, NUMBER@gateway)", ct->name,
			    ct->sms);
		else if (ct->quiet_from != -1 && ct->sms == NULL)
			conf_err_at(p, ct->file, ct->line, "contact '%s': "
			    "quiet hours hold only SMS, and it has no sms",
			    ct->name);
	}
}

/* vantage chooses among cluster nodes: without set cluster it would do
 * nothing, so it is refused. (Cluster mode pages all one machine does:
 * pager/cluster*.c.) */
static void
check_vantage(struct parser *p)
{
	struct conf	*c = p->conf;
	size_t		 i;

	if (c->cluster != NULL)
		return;
	for (i = 0; i < c->nservers; i++)
		if (c->servers[i]->o.nvantage > 0)
			conf_err_at(p, c->servers[i]->file,
			    c->servers[i]->line, "server '%s': vantage needs "
			    "'set cluster' (tocsin-cluster(7))",
			    c->servers[i]->id);
}

/*
 * Resolve a server's notify list into sv->contacts, once each; an unknown
 * name is reported.
 */
static void
link_contacts(struct parser *p, struct server_conf *sv)
{
	struct contact_conf	*ct;
	size_t			 j, k;

	for (j = 0; j < sv->o.nnotify; j++) {
		if ((ct = conf_find_contact(p->conf, sv->o.notify[j])) ==
		    NULL) {
			conf_err_at(p, sv->file, sv->line, "server '%s': "
			    "unknown contact '%s'", sv->id, sv->o.notify[j]);
			continue;
		}
		for (k = 0; k < sv->ncontacts; k++)
			if (sv->contacts[k] == ct)
				break;
		if (k < sv->ncontacts)
			continue;
		sv->contacts = xreallocarray(sv->contacts, sv->ncontacts + 1,
		    sizeof(*sv->contacts));
		sv->contacts[sv->ncontacts++] = ct;
	}
}

/*
 * A timeout longer than the interval runs, each check starting late: a
 * warning.
 */
static void
check_timeout(struct parser *p, struct server_conf *sv)
{
	char t[32], iv[32];

	if (sv->o.timeout <= sv->o.interval)
		return;
	format_duration(sv->o.timeout, t, sizeof(t));
	format_duration(sv->o.interval, iv, sizeof(iv));
	conf_warn_at(p, sv->file, sv->line, "server '%s': timeout %s is "
	    "longer than the interval %s (checks will start late)", sv->id,
	    t, iv);
}

#define RX_COPIES_MAX	10000	/* a pattern's atoms, repeats multiplied */
#define RX_COUNT_MAX	255	/* a count of {m,n} (POSIX's RE_DUP_MAX) */
#define RX_DEPTH_MAX	32	/* its groups, nested */

/* a * f, held at RX_COPIES_MAX + 1 (no overflow, and past the limit). */
static unsigned long
rx_mul(unsigned long a, unsigned long f)
{
	if (f != 0 && a > (RX_COPIES_MAX + 1) / f)
		return RX_COPIES_MAX + 1;
	return a * f > RX_COPIES_MAX ? RX_COPIES_MAX + 1 : a * f;
}

static unsigned long
rx_add(unsigned long a, unsigned long b)
{
	return a + b > RX_COPIES_MAX ? RX_COPIES_MAX + 1 : a + b;
}

/* A group being read by rx_cost: its copies so far and the last item's
 * (which a repeat applies to), and which of them can match nothing. */
struct rx_level {
	unsigned long	 base, last;
	int		 has_last;	/* an item a repeat may follow */
	int		 last_null;	/* it can match the empty string */
	int		 branch_null;	/* so can all before it, this branch */
	int		 alt_null;	/* an earlier branch can */
};

/* The item before goes into its branch; a new one (copies, nullable). */
static void
rx_item(struct rx_level *l, unsigned long copies, int null)
{
	if (l->has_last) {
		l->branch_null &= l->last_null;
		l->base = rx_add(l->base, l->last);
	}
	l->last = copies > 0 ? copies : 1;
	l->last_null = null;
	l->has_last = 1;
}

/* The group's end: its branch folded in. Returns its copies; *null says
 * whether it can match nothing. */
static unsigned long
rx_close(struct rx_level *l, int *null)
{
	if (l->has_last) {
		l->branch_null &= l->last_null;
		l->base = rx_add(l->base, l->last);
	}
	*null = l->alt_null || l->branch_null;
	return l->base;
}

/*
 * Why glibc's regcomp(3) would take too long or too much to compile the
 * extended pattern re, or NULL. It copies what a repeat applies to, for
 * +, ? and each count of {m,n}, so repeats of repeats multiply and a
 * config line could ask for gigabytes ("O+++...", found by the config
 * fuzzer); and its closure of the empty matches grows exponentially when
 * what is repeated can match nothing ("^O+?++++++", "^((a?)+){20}": tens
 * of seconds in a 40-byte pattern). Refused: a repeat of what can match
 * the empty string (undefined for stacked repeats in POSIX, and always
 * written better: (a?)+ is a*), a count over 255, more than 10000
 * copies of the atoms in all, groups over 32 deep.
 */
static const char *
rx_cost(const char *re)
{
	struct rx_level	 lv[RX_DEPTH_MAX + 1];
	unsigned long	 f, m, copies;
	const char	*q;
	char		*end;
	int		 d = 0, null;

	memset(&lv[0], 0, sizeof(lv[0]));
	lv[0].branch_null = 1;
	for (q = re; *q != '\0'; q++) {
		switch (*q) {
		case '(':
			if (++d > RX_DEPTH_MAX)
				return "its groups nest over 32 deep";
			memset(&lv[d], 0, sizeof(lv[d]));
			lv[d].branch_null = 1;
			continue;
		case ')':
			if (d == 0)
				break;	/* a literal ) to regcomp */
			copies = rx_close(&lv[d], &null);
			d--;
			rx_item(&lv[d], copies, null);
			continue;
		case '|':
			rx_close(&lv[d], &null);
			lv[d].alt_null |= null;
			lv[d].branch_null = 1;
			lv[d].has_last = 0;
			continue;
		case '^':
		case '$':
			rx_item(&lv[d], 1, 1);	/* they match no character */
			continue;
		case '*':
		case '+':
		case '?':
			if (!lv[d].has_last)
				break;
			if (lv[d].last_null)
				goto null;
			lv[d].last = rx_mul(lv[d].last, 2);
			lv[d].last_null = *q != '+';
			continue;
		case '{':
			m = strtoul(q + 1, &end, 10);
			if (end == q + 1 || !lv[d].has_last)
				break;	/* no count: a literal { */
			f = m;
			if (*end == ',' && end[1] != '}')
				f = strtoul(end + 1, &end, 10);
			else if (*end == ',') {
				end++;
				f = m + 1;
			}
			if (*end != '}')
				break;
			if (m > RX_COUNT_MAX || f > RX_COUNT_MAX)
				return "a count of {m,n} is over 255";
			if (lv[d].last_null)
				goto null;
			lv[d].last = rx_mul(lv[d].last, f > m ? f : m);
			lv[d].last_null = m == 0;
			q = end;
			continue;
		case '\\':
			if (q[1] >= '1' && q[1] <= '9') {
				rx_item(&lv[d], 1, 1);	/* may be empty */
				q++;
				continue;
			}
			if (q[1] != '\0')
				q++;
			break;
		case '[':
			/* A bracket expression, one atom: []...] and [^]...]
			 * hold a ], as do [:class:], [=e=] and [.c.]. */
			q++;
			if (*q == '^')
				q++;
			if (*q == ']')
				q++;
			while (*q != '\0' && *q != ']') {
				if (*q == '[' && (q[1] == ':' || q[1] == '=' ||
				    q[1] == '.') && (end = strchr(q + 2, q[1])) !=
				    NULL && end[1] == ']')
					q = end + 1;
				q++;
			}
			if (*q == '\0')
				q--;	/* regcomp says what is wrong */
			break;
		default:
			break;
		}
		rx_item(&lv[d], 1, 0);
	}
	while (d > 0) {		/* unclosed: regcomp refuses it */
		copies = rx_close(&lv[d], &null);
		d--;
		rx_item(&lv[d], copies, null);
	}
	if (rx_close(&lv[0], &null) > RX_COPIES_MAX)
		return "its repeats multiply to over 10000 copies of its atoms";
	return NULL;
null:
	return "it repeats what can match nothing, as (a?)+ or a*+ do "
	    "(write a*)";
}

/* The body pattern must compile as the http check compiles it, at a
 * cost in time and memory that a config line may ask for (rx_cost). */
static void
check_body_regex(struct parser *p, struct server_conf *sv)
{
	regex_t		 rx;
	const char	*cost;
	char		 why[128];
	int		 rc;

	if ((cost = rx_cost(sv->o.body)) != NULL) {
		conf_err_at(p, sv->file, sv->line, "server '%s': regular "
		    "expression for 'body' too costly to compile: %s", sv->id,
		    cost);
		return;
	}
	if ((rc = regcomp(&rx, sv->o.body, REG_EXTENDED | REG_NOSUB)) == 0) {
		regfree(&rx);
		return;
	}
	regerror(rc, &rx, why, sizeof(why));
	conf_err_at(p, sv->file, sv->line, "server '%s': bad regular "
	    "expression \"%s\" for 'body': %s", sv->id, sv->o.body, why);
}

/* 1 for the kinds that may speak TLS (K_TLS in conf_parse.c). */
static int
tls_kind(enum check_kind k)
{
	return k == KIND_HTTP || k == KIND_TCP || k == KIND_FTP ||
	    k == KIND_SMTP || k == KIND_POP3 || k == KIND_IMAP;
}

/* 1 when sv's check speaks TLS, by its scheme or resolved options. */
static int
speaks_tls(const struct server_conf *sv)
{
	if (sv->implicit_tls)
		return 1;
	if (sv->kind == KIND_TCP)
		return sv->o.tls;
	return sv->kind != KIND_HTTP && sv->o.starttls;
}

/*
 * TLS options a server's own line gave (own: their bits) that would do
 * nothing: starttls where the scheme speaks TLS from the first byte,
 * cert-days and insecure on a check without TLS (but insecure on an
 * http:// check that follows redirects: one may lead to https://). From
 * set or a farm they apply where they mean something, silently.
 */
static void
check_tls_options(struct parser *p, const struct server_conf *sv,
    uint64_t own)
{
	static const char	*names[] = { "cert-days", "insecure" };
	char			 how[64];
	size_t			 i;

	if ((own & conf_parse_opt_bit("starttls")) && sv->implicit_tls &&
	    sv->kind != KIND_HTTP)
		conf_err_at(p, sv->file, sv->line, "server '%s': 'starttls' "
		    "means nothing for %s://, which speaks TLS from the first "
		    "byte", sv->id, sv->scheme);
	if (!tls_kind(sv->kind) || speaks_tls(sv))
		return;
	if (sv->kind == KIND_HTTP || sv->kind == KIND_TCP)
		snprintf(how, sizeof(how), "%s", sv->kind == KIND_HTTP ?
		    "use https://" : "add 'tls'");
	else
		snprintf(how, sizeof(how), "use %ss:// or add 'starttls'",
		    sv->scheme);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((own & conf_parse_opt_bit(names[i])) &&
		    !(i == 1 && sv->kind == KIND_HTTP && sv->o.follow))
			conf_err_at(p, sv->file, sv->line, "server '%s': '%s' "
			    "means nothing without TLS (%s)", sv->id, names[i],
			    how);
}

/*
 * Options that need another (resolved): max-redirects needs follow and
 * password-file a user, when the server's own line gave them (own); and
 * a pop3, imap or ftp user needs a password-file from anywhere, else
 * every check fails at login: but ftp's anonymous, whose login takes an
 * empty password (the way to log in without asking for a file).
 */
static void
check_option_pairs(struct parser *p, const struct server_conf *sv,
    uint64_t own)
{
	if ((own & conf_parse_opt_bit("max-redirects")) &&
	    sv->kind == KIND_HTTP && !sv->o.follow)
		conf_err_at(p, sv->file, sv->line, "server '%s': "
		    "'max-redirects' needs 'follow'", sv->id);
	if ((own & conf_parse_opt_bit("password-file")) &&
	    sv->o.user == NULL && (sv->kind == KIND_HTTP ||
	    sv->kind == KIND_FTP || sv->kind == KIND_POP3 ||
	    sv->kind == KIND_IMAP))
		conf_err_at(p, sv->file, sv->line, "server '%s': "
		    "'password-file' needs 'user' (or user@ in the URL)",
		    sv->id);
	if (sv->o.user != NULL && sv->o.password_file == NULL &&
	    ((sv->kind == KIND_FTP && strcmp(sv->o.user, "anonymous") != 0) ||
	    sv->kind == KIND_POP3 || sv->kind == KIND_IMAP))
		conf_err_at(p, sv->file, sv->line, "server '%s': user %s "
		    "needs a password-file", sv->id, sv->o.user);
}

/*
 * Check a server's resolved options against its kind; own: the bits of
 * the options its own line gave.
 */
static void
check_server_options(struct parser *p, struct server_conf *sv, uint64_t own)
{
	if (sv->kind == KIND_HTTP && sv->o.expect != NULL &&
	    parse_status_list(sv->o.expect, sv) == -1)
		conf_err_at(p, sv->file, sv->line, "server '%s': bad "
		    "status list '%s' for 'expect' (e.g. 200, "
		    "200-299,301)", sv->id, sv->o.expect);
	if (sv->o.timeout == 0 || sv->o.interval == 0)
		conf_err_at(p, sv->file, sv->line, "server '%s': interval "
		    "and timeout must be more than 0", sv->id);
	else
		check_timeout(p, sv);
	if (sv->o.body != NULL)
		check_body_regex(p, sv);
	check_tls_options(p, sv, own);
	check_option_pairs(p, sv, own);
}

/* Resolve a server's depends-on names into sv->deps. */
static void
link_depends(struct parser *p, struct server_conf *sv)
{
	struct server_conf	*dep;
	size_t			 j;

	for (j = 0; j < sv->o.ndepends; j++) {
		if ((dep = find_dep(p->conf, sv, sv->o.depends[j])) == NULL) {
			conf_err_at(p, sv->file, sv->line, "server '%s': "
			    "unknown depends-on target '%s'", sv->id,
			    sv->o.depends[j]);
			continue;
		}
		if (dep == sv) {
			conf_err_at(p, sv->file, sv->line, "server '%s' "
			    "depends on itself", sv->id);
			continue;
		}
		sv->deps = xreallocarray(sv->deps, sv->ndeps + 1,
		    sizeof(*sv->deps));
		sv->deps[sv->ndeps++] = dep;
	}
}

/* Report the first dependency cycle, starting where the cycle starts. */
static void
check_cycles(struct parser *p)
{
	struct conf		*c = p->conf;
	struct server_conf	*sv;
	unsigned char		*mark;
	char			 path[1024], *cyc;
	size_t			 i, k;

	mark = xcalloc(c->nservers + 1, 1);
	for (i = 0; i < c->nservers; i++) {
		path[0] = '\0';
		if ((sv = dep_cycle(c->servers[i], mark, c, path,
		    sizeof(path))) == NULL)
			continue;
		k = strlen(sv->id);
		for (cyc = path; cyc != NULL && (strncmp(cyc, sv->id, k) != 0 ||
		    strncmp(cyc + k, " -> ", 4) != 0);)
			if ((cyc = strstr(cyc, " -> ")) != NULL)
				cyc += 4;
		conf_err_at(p, sv->file, sv->line, "dependency cycle: %s",
		    cyc != NULL ? cyc : path);
		break;
	}
	free(mark);
}

/*
 * Check what needs the whole file and resolve every server's options.
 * Errors go to p; the cycle search runs only on an otherwise clean file.
 */
void
conf_validate(struct parser *p)
{
	struct conf	*c = p->conf;
	uint64_t	 own;
	size_t		 i;

	check_duplicate_names(p);
	check_duplicate_listens(p);
	check_contacts(p);
	check_flap(p);
	link_escalations(p);
	link_admin(p);
	index_servers(p);
	check_farm_server_names(p);
	for (i = 0; i < c->nservers; i++) {
		own = c->servers[i]->o.given;
		resolve(c, c->servers[i]);
		link_contacts(p, c->servers[i]);
		check_server_options(p, c->servers[i], own);
	}
	for (i = 0; i < c->nservers; i++)
		link_depends(p, c->servers[i]);
	check_vantage(p);
	conf_cluster_check(p);
	if (p->nerrs == 0)
		check_cycles(p);
}
