/*
 * check_dns.c: dns://server[:port]/name?type=T. One c-ares query of the
 * given type to that server (or to the configured resolvers when the URL
 * names none), its answers collected as text, and `expect` looked for
 * among them.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>

#include "xmalloc.h"

#include "probed.h"
#include "resolver.h"

#define ANSWERS_MAX	RESULT_MSG_MAX	/* bytes of answer text kept, as a
					   message holds; expect sees all */

/* c-ares cannot cancel one query: a released probe leaves this behind
 * with p = NULL and the callback frees it. */
struct dnsq {
	struct probe	*p;
	char		 server[300];	/* who is asked, for messages */
};

static int	dns_start(struct probe *);
static void	dns_release(struct probe *);
static const char *dns_phase(struct probe *);
static void	on_answer(void *, int, int, unsigned char *, int);
static int	has_word(const char *, const char *);

const struct check_ops check_dns_ops = {
	.name = "dns",
	.needs_addr = 0,
	.start = dns_start,
	.release = dns_release,
	.phase = dns_phase,
};

static int
type_code(const char *t)
{
	if (strcmp(t, "AAAA") == 0)
		return ns_t_aaaa;
	if (strcmp(t, "MX") == 0)
		return ns_t_mx;
	if (strcmp(t, "NS") == 0)
		return ns_t_ns;
	if (strcmp(t, "TXT") == 0)
		return ns_t_txt;
	if (strcmp(t, "SOA") == 0)
		return ns_t_soa;
	return ns_t_a;
}

static int
dns_start(struct probe *p)
{
	const struct server_conf *sc = p->sc;
	struct dnschan	*chan;
	struct dnsq	*q;
	char		 server[300], err[200];

	server[0] = '\0';
	if (sc->host != NULL) {
		if (strchr(sc->host, ':') != NULL)
			snprintf(server, sizeof(server), "[%s]:%d", sc->host,
			    sc->port);
		else
			snprintf(server, sizeof(server), "%s:%d", sc->host,
			    sc->port);
	} else if (engine_conf(p->eng)->dns_servers != NULL)
		snprintf(server, sizeof(server), "%s",
		    engine_conf(p->eng)->dns_servers);
	if ((chan = engine_dnschan(p->eng, server, err, sizeof(err))) ==
	    NULL) {
		result_set(&p->r, CHECK_UNKNOWN, "%s", err);
		return -1;
	}
	q = xcalloc(1, sizeof(*q));
	q->p = p;
	snprintf(q->server, sizeof(q->server), "%s", server[0] != '\0' ?
	    server : "the system's name servers");
	p->priv = q;
	ares_query(dnschan_channel(chan), sc->path, ns_c_in,
	    type_code(sc->dns_type), on_answer, q);
	dnschan_kick(chan);
	return 0;
}

static void
dns_release(struct probe *p)
{
	struct dnsq *q = p->priv;

	if (q != NULL)
		q->p = NULL;	/* on_answer frees it */
	p->priv = NULL;
}

static const char *
dns_phase(struct probe *p)
{
	return "the DNS answer";
}

/* Is want one of the blank-separated words of list? */
static int
has_word(const char *list, const char *want)
{
	size_t		 n = strlen(want);
	const char	*s = list;

	while ((s = strstr(s, want)) != NULL) {
		if ((s == list || s[-1] == ' ') && (s[n] == ' ' ||
		    s[n] == '\0' || (s[n] == '.' && (s[n + 1] == ' ' ||
		    s[n + 1] == '\0'))))
			return 1;
		s += n;
	}
	return 0;
}

/*
 * What an answer holds, for the check's verdict and its message: every
 * record is matched against expect, while the text keeps only the
 * records that fit in ANSWERS_MAX (then says how many more there were).
 */
struct answers {
	const char	*want;		/* expect; NULL = none */
	int		 found;		/* want is one of the records */
	unsigned	 n;		/* records seen */
	unsigned	 shown;		/* of them, in text */
	char		 text[ANSWERS_MAX];	/* blank-separated records */
};

#define MORE_MAX	24	/* room kept for " (+N more)" */

/* One record: matched against want, and added to the text if it fits. */
static void
add(struct answers *an, const char *s)
{
	size_t	 used = strlen(an->text), len = strlen(s);

	an->n++;
	if (an->want != NULL && has_word(s, an->want))
		an->found = 1;
	if (an->shown + 1 < an->n ||
	    used + 1 + len >= sizeof(an->text) - MORE_MAX)
		return;
	snprintf(an->text + used, sizeof(an->text) - used, "%s%s",
	    used ? " " : "", s);
	an->shown++;
}

/*
 * The number of answer records the header announces, but no more than
 * alen bytes can hold (a record takes 11 bytes at least), at least 1: the
 * size of the array ares_parse_a(aaa)_reply fills.
 */
static int
answer_count(const unsigned char *abuf, int alen)
{
	int	 n;

	if (alen < NS_HFIXEDSZ)
		return 1;
	n = abuf[6] << 8 | abuf[7];
	if (n > (alen - NS_HFIXEDSZ) / 11)
		n = (alen - NS_HFIXEDSZ) / 11;
	return n < 1 ? 1 : n;
}

/* Every A or AAAA record of the answer, however many. 0 or an ares status. */
static int
answers_addr(int af, unsigned char *abuf, int alen, struct answers *an)
{
	char			 a[INET6_ADDRSTRLEN];
	struct ares_addrttl	*v4 = NULL;
	struct ares_addr6ttl	*v6 = NULL;
	int			 rc, i, n = answer_count(abuf, alen);

	if (af == AF_INET) {
		v4 = xreallocarray(NULL, n, sizeof(*v4));
		rc = ares_parse_a_reply(abuf, alen, NULL, v4, &n);
	} else {
		v6 = xreallocarray(NULL, n, sizeof(*v6));
		rc = ares_parse_aaaa_reply(abuf, alen, NULL, v6, &n);
	}
	for (i = 0; rc == ARES_SUCCESS && i < n; i++)
		add(an, inet_ntop(af, af == AF_INET ? (void *)&v4[i].ipaddr :
		    (void *)&v6[i].ip6addr, a, sizeof(a)));
	free(v4);
	free(v6);
	return rc;
}

/*
 * Every answer record of the query's type into *an (its want set by the
 * caller). 0, or an ares status (ARES_ENODATA when there is none).
 */
static int
answers(const char *type, unsigned char *abuf, int alen, struct answers *an)
{
	char		 a[64];
	int		 rc, i;

	if (strcmp(type, "A") == 0) {
		if ((rc = answers_addr(AF_INET, abuf, alen, an)) != 0)
			return rc;
	} else if (strcmp(type, "AAAA") == 0) {
		if ((rc = answers_addr(AF_INET6, abuf, alen, an)) != 0)
			return rc;
	} else if (strcmp(type, "MX") == 0) {
		struct ares_mx_reply *mx, *m;
		if ((rc = ares_parse_mx_reply(abuf, alen, &mx)) != 0)
			return rc;
		for (m = mx; m != NULL; m = m->next)
			add(an, m->host);
		ares_free_data(mx);
	} else if (strcmp(type, "NS") == 0) {
		struct hostent *h;
		if ((rc = ares_parse_ns_reply(abuf, alen, &h)) != 0)
			return rc;
		for (i = 0; h->h_aliases[i] != NULL; i++)
			add(an, h->h_aliases[i]);
		ares_free_hostent(h);
	} else if (strcmp(type, "TXT") == 0) {
		struct ares_txt_ext *txt, *t;
		if ((rc = ares_parse_txt_reply_ext(abuf, alen, &txt)) != 0)
			return rc;
		for (t = txt; t != NULL; t = t->next)
			add(an, (const char *)t->txt);
		ares_free_data(txt);
	} else {
		struct ares_soa_reply *soa;
		if ((rc = ares_parse_soa_reply(abuf, alen, &soa)) != 0)
			return rc;
		add(an, soa->nsname);
		snprintf(a, sizeof(a), "%u", soa->serial);
		add(an, a);
		ares_free_data(soa);
	}
	if (an->n == 0)
		return ARES_ENODATA;
	if (an->shown < an->n)
		snprintf(an->text + strlen(an->text), sizeof(an->text) -
		    strlen(an->text), " (+%u more)", an->n - an->shown);
	return 0;
}

static void
on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dnsq	*q = arg;
	struct probe	*p = q->p;
	const struct server_conf *sc;
	struct answers	 an;
	char		 server[sizeof(q->server)];

	snprintf(server, sizeof(server), "%s", q->server);
	free(q);
	if (p == NULL)
		return;
	p->priv = NULL;
	sc = p->sc;
	p->r.dns_us = p->r.firstbyte_us = p->r.total_us = probe_elapsed_us(p);
	memset(&an, 0, sizeof(an));
	an.want = sc->o.expect;
	if (status == ARES_SUCCESS)
		status = answers(sc->dns_type, abuf, alen, &an);
	if (status == ARES_ENOTFOUND)
		result_set(&p->r, CHECK_CRITICAL, "%s: no such name", sc->path);
	else if (status == ARES_ENODATA)
		result_set(&p->r, CHECK_CRITICAL, "%s: no %s record",
		    sc->path, sc->dns_type);
	else if (status == ARES_ESERVFAIL)
		result_set(&p->r, CHECK_CRITICAL, "%s %s: SERVFAIL from %s",
		    sc->path, sc->dns_type, server);
	else if (status == ARES_EREFUSED)
		result_set(&p->r, CHECK_CRITICAL, "%s %s: REFUSED by %s",
		    sc->path, sc->dns_type, server);
	else if (status == ARES_ECONNREFUSED)
		result_set(&p->r, CHECK_CRITICAL, "%s %s: no answer from %s "
		    "(connection refused)", sc->path, sc->dns_type, server);
	else if (status != ARES_SUCCESS)
		result_set(&p->r, CHECK_CRITICAL, "%s %s: %s", sc->path,
		    sc->dns_type, ares_strerror(status));
	else if (sc->o.expect != NULL && !an.found)
		result_set(&p->r, CHECK_CRITICAL, "%s %s is %s, expected %s",
		    sc->path, sc->dns_type, an.text, sc->o.expect);
	else
		result_set(&p->r, CHECK_OK, "%s %s %s in %.1f ms", sc->path,
		    sc->dns_type, an.text, p->r.total_us / 1000.0);
	probe_done(p);
}
