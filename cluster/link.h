/*
 * link.h: a daemon's connection to the NATS JetStream cluster that
 * `set cluster` names (link.c), on the daemon's libevent loop, with a
 * thread for the calls nats.c makes blocking (JetStream requests).
 */
#ifndef TOCSIN_LINK_H
#define TOCSIN_LINK_H

#include <stddef.h>

#include <nats/nats.h>

struct conf;
struct event_base;
struct link;


/* Runs on the link's thread (may block on JetStream), then done on the
 * loop; arg is the caller's. */
typedef void	(link_fn)(void *arg);

struct link	*link_new(struct event_base *, const struct conf *,
		    const char *who, char *err, size_t errlen);
void		 link_close(struct link *);
void		 link_free(struct link *);
jsCtx		*link_js(struct link *);
natsConnection	*link_conn(struct link *);
unsigned	 link_generation(struct link *);
void		 link_job(struct link *, link_fn *work, link_fn *done,
		    void *arg);
int		 link_publish(struct link *, const char *subject,
		    const char *data);
const char	*link_node(const struct link *);
int		 link_replicas(const struct link *);

/* The last nats.c error as text, for messages. */
const char	*link_error(int status);

#endif
