/*
 * cluster_ctl.h: people's acks, downtimes and drains shared by every
 * node of the cluster through the bucket tocsin_control (cluster_ctl.c).
 * The cluster (cluster.c) makes it and ticks it; the control socket tells
 * it what a person changed here.
 */
#ifndef TOCSIN_PROBED_CLUSTER_CTL_H
#define TOCSIN_PROBED_CLUSTER_CTL_H

#include <stddef.h>
#include <stdint.h>

struct cluster_ctl;
struct engine;
struct link;
struct target;

/* A downtime of server id ended (its key, of revision rev, went). */
typedef void	(cluster_ctl_ended_fn)(void *arg, const char *id,
		    uint64_t rev);
struct cluster_ctl *cluster_ctl_new(struct engine *, struct link *,
		    cluster_ctl_ended_fn *, void *arg);
void		 cluster_ctl_tick(struct cluster_ctl *);
void		 cluster_ctl_changed(struct cluster_ctl *,
		    struct target *const *, size_t, const char *what);
void		 cluster_ctl_state(struct cluster_ctl *, const char *id,
		    int up);
void		 cluster_ctl_local(struct cluster_ctl *, struct target *);
void		 cluster_ctl_flags(struct cluster_ctl *, const char *id,
		    int64_t now, int *acked, int *downtime);
void		 cluster_ctl_stop(struct cluster_ctl *);
void		 cluster_ctl_free(struct cluster_ctl *);

#endif
