/*
 * resolver.c: c-ares on libevent. c-ares tells us which sockets it wants
 * watched through its socket-state callback; we keep one event per socket
 * and one timer for its retransmissions. On top of a channel, the
 * resolver caches answers for their TTL and merges concurrent lookups of
 * the same name, so a thousand servers on one host cost one query.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ares.h>
#include <event2/event.h>

#include "hash.h"
#include "log.h"
#include "resolver.h"
#include "util.h"
#include "xmalloc.h"

#define DNSCHAN_SOCKS	16	/* sockets c-ares uses at once per channel */
#define TTL_MIN_S	1
#define TTL_MAX_S	3600
#define TTL_FAIL_S	5	/* failures are remembered this long */

struct sockev {
	ares_socket_t	 fd;
	struct event	*ev;
};

struct dnschan {
	struct event_base *base;
	ares_channel	 ch;
	struct event	*timer;
	struct sockev	 socks[DNSCHAN_SOCKS];
};

struct resolve_req {
	struct cache_entry *ce;
	resolve_cb	 cb;		/* NULL once cancelled */
	void		*arg;
	int		 port;
	struct resolve_req *next;
};

struct cache_entry {
	struct sockaddr_storage addr;	/* port 0 */
	socklen_t	 addrlen;
	int		 ok;
	char		 err[64];
	int64_t		 expires;	/* monotonic µs; 0 = lookup running */
	int		 running;
	struct resolve_req *waiting;
	struct resolver	*r;
};

/*
 * A resolver that a reload replaced (resolver_renew) is retired: it takes
 * no new lookups, answers the ones it runs, then frees itself from the
 * loop. Its heir owns it until then (its retired list), and frees it
 * with itself at shutdown.
 */
struct resolver {
	struct dnschan	*chan;
	struct hash	*cache;		/* host name -> struct cache_entry */
	unsigned	 running;	/* lookups out on chan */
	struct resolver	*heir;		/* retired: the one that replaced it */
	struct resolver	*retired;	/* those it replaced, still answering */
	struct resolver	*next;		/* in its heir's retired list */
	struct event	*reap;		/* retired and idle: frees it */
	int		 dying;		/* being freed: no reaping */
};

static void	on_sock(evutil_socket_t, short, void *);
static void	on_timer(evutil_socket_t, short, void *);
static void	on_sock_state(void *, ares_socket_t, int, int);
static void	on_addrinfo(void *, int, int, struct ares_addrinfo *);
static void	on_reap(evutil_socket_t, short, void *);
static void	reap_soon(struct resolver *);
static void	resolver_free_one(struct resolver *);
static struct dnschan *chan_new(struct event_base *, const char *, int,
		    char **);

static void
on_sock_state(void *arg, ares_socket_t fd, int readable, int writable)
{
	struct dnschan	*c = arg;
	struct sockev	*s = NULL, *freeslot = NULL;
	int		 i;
	short		 what;

	for (i = 0; i < DNSCHAN_SOCKS; i++) {
		if (c->socks[i].ev != NULL && c->socks[i].fd == fd)
			s = &c->socks[i];
		else if (c->socks[i].ev == NULL && freeslot == NULL)
			freeslot = &c->socks[i];
	}
	if (s != NULL) {
		event_free(s->ev);
		s->ev = NULL;
	}
	if (!readable && !writable)
		return;
	if (s == NULL)
		s = freeslot;
	if (s == NULL) {
		/* c-ares uses one socket per server and protocol; never here. */
		log_warnx("dns: more than %d sockets in use", DNSCHAN_SOCKS);
		return;
	}
	what = EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
	s->fd = fd;
	s->ev = event_new(c->base, fd, what, on_sock, c);
	if (s->ev == NULL || event_add(s->ev, NULL) == -1)
		fatalx("dns: cannot add socket event");
}

static void
on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct dnschan *c = arg;

	ares_process_fd(c->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	dnschan_kick(c);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dnschan *c = arg;

	ares_process_fd(c->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dnschan_kick(c);
}

/* Re-arm the retransmission timer after anything touched the channel. */
void
dnschan_kick(struct dnschan *c)
{
	struct timeval	 tv, *t;

	if ((t = ares_timeout(c->ch, NULL, &tv)) == NULL)
		evtimer_del(c->timer);
	else
		evtimer_add(c->timer, t);
}

/*
 * A channel asking `servers` ("host:port,host:port", NULL for the system's
 * resolv.conf). NULL with *err (malloc'd) on failure.
 */
struct dnschan *
dnschan_new(struct event_base *base, const char *servers, char **err)
{
	return chan_new(base, servers, 0, err);
}

/*
 * A channel for dns checks: answers reach the query's callback whatever
 * their rcode (ARES_FLAG_NOCHECKRESP), so SERVFAIL and REFUSED are told
 * apart from a server that never answered, instead of c-ares moving on
 * and reporting that it could not contact any server.
 */
struct dnschan *
dnschan_new_check(struct event_base *base, const char *servers, char **err)
{
	return chan_new(base, servers, ARES_FLAG_NOCHECKRESP, err);
}

static struct dnschan *
chan_new(struct event_base *base, const char *servers, int flags, char **err)
{
	struct dnschan		*c;
	struct ares_options	 opts;
	int			 rc;

	c = xcalloc(1, sizeof(*c));
	c->base = base;
	memset(&opts, 0, sizeof(opts));
	opts.sock_state_cb = on_sock_state;
	opts.sock_state_cb_data = c;
	opts.timeout = 2000;
	opts.tries = 2;
	opts.flags = flags;
	rc = ares_init_options(&c->ch, &opts, ARES_OPT_SOCK_STATE_CB |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS);
	if (rc != ARES_SUCCESS) {
		xasprintf(err, "c-ares: %s", ares_strerror(rc));
		free(c);
		return NULL;
	}
	if (servers != NULL &&
	    (rc = ares_set_servers_ports_csv(c->ch, servers)) != ARES_SUCCESS) {
		xasprintf(err, "dns-servers '%s': %s", servers,
		    ares_strerror(rc));
		ares_destroy(c->ch);
		free(c);
		return NULL;
	}
	if ((c->timer = evtimer_new(base, on_timer, c)) == NULL)
		fatalx("dns: evtimer_new");
	return c;
}

ares_channel
dnschan_channel(struct dnschan *c)
{
	return c->ch;
}

/* Destroying the channel runs pending callbacks with ARES_EDESTRUCTION. */
void
dnschan_free(struct dnschan *c)
{
	int i;

	if (c == NULL)
		return;
	ares_destroy(c->ch);
	for (i = 0; i < DNSCHAN_SOCKS; i++)
		if (c->socks[i].ev != NULL)
			event_free(c->socks[i].ev);
	event_free(c->timer);
	free(c);
}

struct resolver *
resolver_new(struct event_base *base, const char *servers, char **err)
{
	struct resolver *r;

	r = xcalloc(1, sizeof(*r));
	if ((r->chan = dnschan_new(base, servers, err)) == NULL) {
		free(r);
		return NULL;
	}
	r->cache = hash_new();
	return r;
}

/* "localhost", "localhost." or a name under .localhost. */
static int
is_localhost(const char *h)
{
	size_t n = strlen(h);

	if (n > 0 && h[n - 1] == '.')
		n--;
	if (n == 9 && strncasecmp(h, "localhost", 9) == 0)
		return 1;
	return n > 10 && strncasecmp(h + n - 10, ".localhost", 10) == 0;
}

static void
set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* Deliver the entry's answer to every waiting request. */
static void
deliver(struct cache_entry *ce)
{
	struct resolve_req	*q, *next;
	struct sockaddr_storage	 ss;

	q = ce->waiting;
	ce->waiting = NULL;
	for (; q != NULL; q = next) {
		next = q->next;
		if (q->cb != NULL) {
			if (ce->ok) {
				ss = ce->addr;
				set_port(&ss, q->port);
				q->cb(q->arg, 0, (struct sockaddr *)&ss,
				    ce->addrlen, NULL);
			} else
				q->cb(q->arg, -1, NULL, 0, ce->err);
		}
		free(q);
	}
}

static void
on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct cache_entry		*ce = arg;
	struct ares_addrinfo_node	*n, *pick = NULL;
	int				 ttl = TTL_FAIL_S;

	ce->running = 0;
	ce->r->running--;
	if (status == ARES_EDESTRUCTION) {
		ce->ok = 0;
		snprintf(ce->err, sizeof(ce->err), "resolver shut down");
	} else if (status != ARES_SUCCESS || ai == NULL || ai->nodes == NULL) {
		ce->ok = 0;
		snprintf(ce->err, sizeof(ce->err), "cannot resolve: %s",
		    ares_strerror(status));
	} else {
		/* Prefer IPv4, as most checks target v4 services. */
		for (n = ai->nodes; n != NULL; n = n->ai_next)
			if (n->ai_family == AF_INET) {
				pick = n;
				break;
			}
		if (pick == NULL)
			pick = ai->nodes;
		memcpy(&ce->addr, pick->ai_addr, pick->ai_addrlen);
		ce->addrlen = pick->ai_addrlen;
		ce->ok = 1;
		ttl = pick->ai_ttl;
		if (ttl < TTL_MIN_S)
			ttl = TTL_MIN_S;
		if (ttl > TTL_MAX_S)
			ttl = TTL_MAX_S;
	}
	if (ai != NULL)
		ares_freeaddrinfo(ai);
	ce->expires = mono_us() + (int64_t)ttl * 1000000;
	deliver(ce);
	if (ce->r->heir != NULL && ce->r->running == 0)
		reap_soon(ce->r);
}

/*
 * Resolve host. Returns 1 with *ss filled when the answer is at hand (a
 * numeric address or a fresh cache entry), 0 when cb will be called later
 * (*reqp lets the caller cancel), or -1 for a failure remembered from a
 * moment ago, with its message in err (cb is not called).
 */
int
resolver_lookup(struct resolver *r, const char *host, int port,
    struct sockaddr_storage *ss, socklen_t *len, resolve_cb cb, void *arg,
    struct resolve_req **reqp, char *err, size_t errlen)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	struct cache_entry	*ce;
	struct resolve_req	*q;
	struct ares_addrinfo_hints hints;

	*reqp = NULL;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 1;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 1;
	}
	/* RFC 6761: localhost is loopback, with or without /etc/hosts. */
	if (is_localhost(host)) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 1;
	}
	if ((ce = hash_get(r->cache, host)) == NULL) {
		ce = xcalloc(1, sizeof(*ce));
		ce->r = r;
		hash_put(r->cache, host, ce);
	}
	if (!ce->running && ce->expires > mono_us()) {
		if (!ce->ok)
			goto failed;
		*ss = ce->addr;
		*len = ce->addrlen;
		set_port(ss, port);
		return 1;
	}
	if (!ce->running) {
		ce->running = 1;
		r->running++;
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		ares_getaddrinfo(dnschan_channel(r->chan), host, NULL, &hints,
		    on_addrinfo, ce);
		dnschan_kick(r->chan);
		/* Answered at once (hosts file, bad name): no waiting. */
		if (!ce->running) {
			if (!ce->ok)
				goto failed;
			*ss = ce->addr;
			*len = ce->addrlen;
			set_port(ss, port);
			return 1;
		}
	}
	q = xcalloc(1, sizeof(*q));
	q->ce = ce;
	q->cb = cb;
	q->arg = arg;
	q->port = port;
	q->next = ce->waiting;
	ce->waiting = q;
	*reqp = q;
	return 0;
failed:
	snprintf(err, errlen, "%s", ce->err);
	return -1;
}

/* The callback will not be called; the request is freed on delivery. */
void
resolver_cancel(struct resolve_req *q)
{
	if (q != NULL)
		q->cb = NULL;
}

/*
 * Free r once its last lookup has answered: from the loop, never inside
 * c-ares's callback (the channel would be destroyed under its feet).
 */
static void
reap_soon(struct resolver *r)
{
	struct timeval	 now = { 0, 0 };

	if (r->dying || r->reap != NULL)
		return;
	if ((r->reap = evtimer_new(r->chan->base, on_reap, r)) == NULL ||
	    evtimer_add(r->reap, &now) == -1)
		fatalx("dns: cannot add the resolver's reaper");
}

/* A retired resolver is idle: out of its heir's list, and freed. */
static void
on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct resolver	*r = arg, **pp;

	for (pp = &r->heir->retired; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	resolver_free_one(r);
}

/*
 * A resolver asking `servers` (NULL: the system's) in old's place; old is
 * retired (it answers the lookups it runs, then goes) and belongs to the
 * new one. NULL with *err (malloc'd) when the new one cannot be made:
 * old stays as it was.
 */
struct resolver *
resolver_renew(struct resolver *old, const char *servers, char **err)
{
	struct resolver *r, *o;

	if ((r = resolver_new(old->chan->base, servers, err)) == NULL)
		return NULL;
	r->retired = old->retired;	/* old's retired ones, and old */
	old->retired = NULL;
	old->next = r->retired;
	r->retired = old;
	for (o = r->retired; o != NULL; o = o->next)
		o->heir = r;
	if (old->running == 0)
		reap_soon(old);
	return r;
}

/* Free r alone; destroying its channel answers what it runs. */
static void
resolver_free_one(struct resolver *r)
{
	r->dying = 1;
	dnschan_free(r->chan);	/* runs pending callbacks */
	hash_free(r->cache, free);
	if (r->reap != NULL)
		event_free(r->reap);
	free(r);
}

/* Free r and the resolvers it replaced that still answered. */
void
resolver_free(struct resolver *r)
{
	struct resolver *o;

	if (r == NULL)
		return;
	while ((o = r->retired) != NULL) {
		r->retired = o->next;
		resolver_free_one(o);
	}
	resolver_free_one(r);
}
