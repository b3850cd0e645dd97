/*
 * cluster.h: tocsin-pager in cluster mode (set cluster, cluster.c): the
 * pagers share one durable consumer of the cluster's events stream and
 * keep their delivery records in a JetStream bucket.
 */
#ifndef TOCSIN_PAGER_CLUSTER_H
#define TOCSIN_PAGER_CLUSTER_H

#include <stddef.h>

struct conf;
struct event_base;
struct cluster;

struct cluster	*cluster_new(struct event_base *, const struct conf *,
		    char *err, size_t errlen);
void		 cluster_free(struct cluster *);

#endif
