/*
 * cluster.h: tocsin-probed in cluster mode (set cluster): its link to
 * NATS JetStream (cluster.c). Without `set cluster` nothing here runs.
 */
#ifndef TOCSIN_PROBED_CLUSTER_H
#define TOCSIN_PROBED_CLUSTER_H

struct conf;
struct event_base;
struct cluster;

struct cluster	*cluster_new(struct event_base *, const struct conf *,
		    char **err);
void		 cluster_free(struct cluster *);

#endif
