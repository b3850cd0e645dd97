/*
 * persist.c: `persist DURATION`: a client stays on its member while that
 * member may take traffic. For tcp the client is its address, kept in a
 * table per farm whose entries expire after DURATION without a new
 * connection; a reload hands the table to the farm of the same name. For
 * http the client carries a cookie naming its member's hash, refreshed on
 * every answer, so nothing is kept here.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "xmalloc.h"

#include "lb.h"

#define PERSIST_BUCKETS	4096
#define PERSIST_MAX	262144		/* entries, at most */

struct pentry {
	struct pentry	*next;
	unsigned char	 ip[16];
	int		 iplen;
	char		*id;		/* the member's id */
	int64_t		 seen;		/* mono_us of the last connection */
};

struct persist {
	int		 refs;
	size_t		 n;
	struct pentry	*b[PERSIST_BUCKETS];
};

static uint64_t	hash_bytes(uint64_t, const void *, size_t);
static int	client_ip(const struct sockaddr *, const void **);
static void	entry_free(struct pentry *);

static uint64_t
hash_bytes(uint64_t h, const void *p, size_t len)
{
	const unsigned char	*s = p;
	size_t			 i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* The 64-bit key that the http cookie carries for member id. */
uint64_t
persist_key(const char *id)
{
	return hash_bytes(14695981039346656037ULL, id, strlen(id));
}

static int
client_ip(const struct sockaddr *sa, const void **ip)
{
	if (sa->sa_family == AF_INET) {
		*ip = &((const struct sockaddr_in *)sa)->sin_addr;
		return 4;
	}
	if (sa->sa_family == AF_INET6) {
		*ip = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		return 16;
	}
	return 0;
}

static void
entry_free(struct pentry *e)
{
	free(e->id);
	free(e);
}

/* A table for a farm: the old one of the same farm (a reload's), or new. */
struct persist *
persist_new(struct persist *old)
{
	struct persist	*p;

	if (old != NULL) {
		old->refs++;
		return old;
	}
	p = xcalloc(1, sizeof(*p));
	p->refs = 1;
	return p;
}

void
persist_unref(struct persist *p)
{
	struct pentry	*e, *next;
	size_t		 i;

	if (p == NULL || --p->refs > 0)
		return;
	for (i = 0; i < PERSIST_BUCKETS; i++)
		for (e = p->b[i]; e != NULL; e = next) {
			next = e->next;
			entry_free(e);
		}
	free(p);
}

/*
 * The member that client sa was on, when it connected less than ttl_ms
 * ago and that member is still in farm f and may take traffic; else NULL.
 * Expired entries met on the way are dropped.
 */
struct backend *
persist_lookup(struct persist *p, struct farm *f, const struct sockaddr *sa,
    uint64_t ttl_ms)
{
	struct pentry	**ep, *e;
	const void	*ip;
	int		 len;
	int64_t		 now = mono_us();
	size_t		 i;

	if ((len = client_ip(sa, &ip)) == 0)
		return NULL;
	ep = &p->b[hash_bytes(14695981039346656037ULL, ip, len) %
	    PERSIST_BUCKETS];
	while ((e = *ep) != NULL) {
		if (now - e->seen > (int64_t)ttl_ms * 1000) {
			*ep = e->next;
			entry_free(e);
			p->n--;
			continue;
		}
		if (e->iplen == len && memcmp(e->ip, ip, len) == 0)
			break;
		ep = &e->next;
	}
	if (e == NULL)
		return NULL;
	for (i = 0; i < f->nbe; i++)
		if (strcmp(f->be[i]->id, e->id) == 0 &&
		    backend_usable(f->be[i], now))
			return f->be[i];
	return NULL;
}

/* Client sa is now on member b: remember it, from now. */
void
persist_note(struct persist *p, const struct sockaddr *sa,
    const struct backend *b)
{
	struct pentry	*e;
	const void	*ip;
	int		 len;
	size_t		 h;

	if ((len = client_ip(sa, &ip)) == 0)
		return;
	h = hash_bytes(14695981039346656037ULL, ip, len) % PERSIST_BUCKETS;
	for (e = p->b[h]; e != NULL; e = e->next)
		if (e->iplen == len && memcmp(e->ip, ip, len) == 0)
			break;
	if (e == NULL) {
		if (p->n >= PERSIST_MAX)
			return;
		e = xcalloc(1, sizeof(*e));
		memcpy(e->ip, ip, len);
		e->iplen = len;
		e->next = p->b[h];
		p->b[h] = e;
		p->n++;
	}
	if (e->id == NULL || strcmp(e->id, b->id) != 0) {
		free(e->id);
		e->id = xstrdup(b->id);
	}
	e->seen = mono_us();
}

/* The member of farm f whose cookie key is key, if it may take traffic. */
struct backend *
persist_by_key(struct farm *f, uint64_t key)
{
	int64_t	 now = mono_us();
	size_t	 i;

	for (i = 0; i < f->nbe; i++)
		if (persist_key(f->be[i]->id) == key &&
		    backend_usable(f->be[i], now))
			return f->be[i];
	return NULL;
}
