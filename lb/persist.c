/*
 * persist.c: `persist DURATION`: a client stays on its member while that
 * member may take traffic. For tcp the client is its address, kept in a
 * table per farm name whose entries expire after DURATION without a new
 * connection. The table is shared by every loop's farm of that name
 * (behind its lock: the kernel may hand a client's next connection to
 * another loop) and outlives a reload, which takes it before letting go
 * of the old farm. For http the client carries a cookie naming its
 * member's hash, refreshed on every answer, so nothing is kept here.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
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
	struct persist	*next;		/* in the registry */
	char		*farm;
	int		 refs;		/* farms holding it, in any loop */
	pthread_mutex_t	 lock;		/* n and b */
	size_t		 n;
	struct pentry	*b[PERSIST_BUCKETS];
};

/* Every table, by farm name; refs and next under registry_lock. */
static struct persist	*registry;
static pthread_mutex_t	 registry_lock = PTHREAD_MUTEX_INITIALIZER;

static int	client_ip(const struct sockaddr *, const void **);
static void	entry_free(struct pentry *);

/* The 64-bit key that the http cookie carries for member id. */
uint64_t
persist_key(const char *id)
{
	return hash_bytes(HASH_BYTES_INIT, id, strlen(id));
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

/* The table of farm name, shared with every loop's farm of that name
 * (and an old one a reload replaces); new when none holds one. */
struct persist *
persist_new(const char *farm)
{
	struct persist	*p;

	pthread_mutex_lock(&registry_lock);
	for (p = registry; p != NULL; p = p->next)
		if (strcmp(p->farm, farm) == 0)
			break;
	if (p != NULL)
		p->refs++;
	else {
		p = xcalloc(1, sizeof(*p));
		p->farm = xstrdup(farm);
		p->refs = 1;
		pthread_mutex_init(&p->lock, NULL);
		p->next = registry;
		registry = p;
	}
	pthread_mutex_unlock(&registry_lock);
	return p;
}

/* A farm lets go of its table: freed with the last one, in any loop. */
void
persist_unref(struct persist *p)
{
	struct persist	**pp;
	struct pentry	*e, *next;
	size_t		 i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&registry_lock);
	if (--p->refs > 0) {
		pthread_mutex_unlock(&registry_lock);
		return;
	}
	for (pp = &registry; *pp != p; pp = &(*pp)->next)
		;
	*pp = p->next;
	pthread_mutex_unlock(&registry_lock);
	pthread_mutex_destroy(&p->lock);
	free(p->farm);
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
	struct backend	*b = NULL;
	const void	*ip;
	int		 len;
	int64_t		 now = mono_us();
	size_t		 i;

	if ((len = client_ip(sa, &ip)) == 0)
		return NULL;
	pthread_mutex_lock(&p->lock);
	ep = &p->b[hash_bytes(HASH_BYTES_INIT, ip, len) %
	    PERSIST_BUCKETS];
	while ((e = *ep) != NULL) {
		/* In ms: ttl_ms in us may not fit (persist 200000000d). */
		if ((uint64_t)(now - e->seen) / 1000 > ttl_ms) {
			*ep = e->next;
			entry_free(e);
			p->n--;
			continue;
		}
		if (e->iplen == len && memcmp(e->ip, ip, len) == 0)
			break;
		ep = &e->next;
	}
	for (i = 0; e != NULL && i < f->nbe; i++)
		if (strcmp(f->be[i]->id, e->id) == 0 &&
		    backend_usable(f->be[i], now)) {
			b = f->be[i];
			break;
		}
	pthread_mutex_unlock(&p->lock);
	return b;
}

/*
 * Client sa is now on member b: remember it, from now. With PERSIST_MAX
 * clients remembered, a new one takes the place of the longest idle entry
 * in its bucket.
 */
void
persist_note(struct persist *p, const struct sockaddr *sa,
    const struct backend *b)
{
	struct pentry	*e, *o;
	const void	*ip;
	int		 len;
	size_t		 h;

	if ((len = client_ip(sa, &ip)) == 0)
		return;
	h = hash_bytes(HASH_BYTES_INIT, ip, len) % PERSIST_BUCKETS;
	pthread_mutex_lock(&p->lock);
	for (e = p->b[h]; e != NULL; e = e->next)
		if (e->iplen == len && memcmp(e->ip, ip, len) == 0)
			break;
	if (e == NULL && p->n >= PERSIST_MAX) {
		/* Full: the longest idle entry of this bucket makes room. */
		for (e = p->b[h], o = e; o != NULL; o = o->next)
			if (o->seen < e->seen)
				e = o;
		if (e == NULL) {
			pthread_mutex_unlock(&p->lock);
			return;
		}
		memcpy(e->ip, ip, len);
		e->iplen = len;
	}
	if (e == NULL) {
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
	pthread_mutex_unlock(&p->lock);
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
