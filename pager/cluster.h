/*
 * cluster.h: tocsin-pager in cluster mode (set cluster, cluster.c): the
 * pagers share one durable consumer of the cluster's events stream and
 * keep their delivery records in a JetStream bucket.
 */
#ifndef TOCSIN_PAGER_CLUSTER_H
#define TOCSIN_PAGER_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "pager.h"

struct conf;
struct event_base;
struct cluster;

struct cluster	*cluster_new(struct event_base *, const struct conf *,
		    char *err, size_t errlen);
void		 cluster_free(struct cluster *);

/* cluster_events.c */
struct link;
struct cluster_events;
#define CLUSTER_EVENTS_PAGE	2	/* page the event as usual */
/* Sends the made page msg of event seq to w (cluster.c's). */
typedef enum send_result (*cluster_send_fn)(void *, const struct want *,
		    uint64_t seq, const char *msg, char *err, size_t errlen);
struct cluster_events *cluster_events_new(const struct conf *,
		    struct link *);
void		 cluster_events_free(struct cluster_events *);
int		 cluster_events_take(struct cluster_events *,
		    const struct spool_event *, const struct want *, size_t,
		    struct server_info *);
void		 cluster_events_due(struct cluster_events *, cluster_send_fn,
		    void *);

#endif
