/*
 * resolver.h: DNS on the event loop with c-ares. A dnschan is one c-ares
 * channel driven by libevent (used for name resolution and by dns://
 * checks); the resolver adds a TTL cache and merges lookups of one name.
 */
#ifndef TOCSIN_RESOLVER_H
#define TOCSIN_RESOLVER_H

#include <sys/socket.h>

#include <ares.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct dnschan;
struct resolver;
struct resolve_req;

struct dnschan	*dnschan_new(struct event_base *, const char *servers,
		    char **err);
struct dnschan	*dnschan_new_check(struct event_base *, const char *servers,
		    char **err);
ares_channel	 dnschan_channel(struct dnschan *);
void		 dnschan_kick(struct dnschan *);
void		 dnschan_free(struct dnschan *);

/*
 * Called once per lookup on the loop: status 0 with an address (port
 * set), or -1 with err ("no such name", "timeout", ...).
 */
typedef void	(*resolve_cb)(void *arg, int status,
		    const struct sockaddr *, socklen_t, const char *err);

struct resolver	*resolver_new(struct event_base *, const char *servers,
		    char **err);
struct resolver	*resolver_renew(struct resolver *, const char *servers,
		    char **err);
void		 resolver_free(struct resolver *);
int		 resolver_lookup(struct resolver *, const char *host, int port,
		    struct sockaddr_storage *, socklen_t *,
		    resolve_cb, void *arg, struct resolve_req **,
		    char *err, size_t errlen);
void		 resolver_cancel(struct resolve_req *);

#endif
