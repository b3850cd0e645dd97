/*
 * cluster.h: tocsin-probed in cluster mode (set cluster, cluster.c). The
 * node publishes its own verdict of each server, watches every node's,
 * and moves the cluster-level state that a quorum agrees on; each change
 * of it becomes one event in the events stream. Without `set cluster`
 * nothing here runs.
 */
#ifndef TOCSIN_PROBED_CLUSTER_H
#define TOCSIN_PROBED_CLUSTER_H

#include <stdint.h>

struct conf;
struct engine;
struct event_base;
struct json_t;
struct cluster;
struct cluster_ctl;
struct target;

/* How often a server of another node asks again whether it is this
 * node's (set shard on), in ms at most. */
#define CLUSTER_ASK_MS	1000

struct cluster	*cluster_new(struct event_base *, struct engine *,
		    char **err);
void		 cluster_verdict(struct cluster *, const struct target *);
int		 cluster_mine(struct cluster *, const struct target *);
int		 cluster_checks(struct cluster *, const struct target *);
void		 cluster_checked(struct cluster *, const struct target *);
struct cluster_ctl *cluster_control(struct cluster *);
struct json_t	*cluster_server_json(struct cluster *, const char *id,
		    int64_t now);
struct json_t	*cluster_head_json(struct cluster *);
void		 cluster_free(struct cluster *);

#endif
