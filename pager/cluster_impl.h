/*
 * cluster_impl.h: the cluster pager's state (cluster.c), shared with the
 * files that do one part of its work on its thread: cluster_memo.c (the
 * memo in the bucket tocsin_memo), cluster_storm.c (storm digests),
 * cluster_events.c (dependencies).
 */
#ifndef TOCSIN_PAGER_CLUSTER_IMPL_H
#define TOCSIN_PAGER_CLUSTER_IMPL_H

#include <pthread.h>

#include <nats/nats.h>

#include "pager.h"

#define RETRY_S		5	/* set-up, or an event, tried again after */

/* A webhook the thread asks the loop to send; on the thread's stack
 * while it waits. */
struct hookcall {
	const char	*url;
	const char	*key;		/* Idempotency-Key */
	const char	*json;
	enum send_result r;
	char		 err[ERROR_MAX];
	int		 done;
};

struct cluster {
	const struct conf *conf;	/* the caller's, for our life */
	struct webhook	*wh;		/* the loop's */
	struct event	*hook_ev;	/* starts call on the loop */
	struct hookcall	*call;		/* under mtx; NULL: none */
	pthread_cond_t	 cond;		/* call done, or stop */
	struct link	*link;
	struct mail_conf *mc;		/* NULL: the Maildir */
	char		 maildir[1024];
	kvStore		*kv;
	kvStore		*memo;		/* tocsin_memo (cluster_memo.c) */
	kvStore		*storm;		/* tocsin_storm (cluster_storm.c) */
	kvStore		*deps;		/* tocsin_unreachable and */
	kvStore		*states;	/* QUORUM_STATES (cluster_events.c) */
	natsSubscription *sub;
	pthread_t	 thread;
	pthread_mutex_t	 mtx;
	int		 stop;
};

/* cluster.c */
int	 cluster_page_made(struct cluster *, natsMsg *, uint64_t seq,
	    const char *id, const struct want *, const char *msg);

/* cluster_events.c */
int	 cluster_events_open(struct cluster *, char *err, size_t errlen);
int	 cluster_events_take(struct cluster *, natsMsg *,
	    const struct spool_event *, struct want *, size_t *n);
void	 cluster_events_list(struct cluster *, const struct spool_event *,
	    const struct want *, size_t n, struct server_info *);

/* cluster_memo.c */
struct cluster_memo {		/* what the memo says for one event */
	int		 was_flapping;	/* the server flapped before it */
	char		 sms[256];	/* contacts SMSed for its problem */
};
int	 cluster_memo_open(struct cluster *, char *err, size_t errlen);
int	 cluster_memo_note(struct cluster *, const struct spool_event *,
	    struct cluster_memo *);

/* cluster_storm.c */
int	 cluster_storm_open(struct cluster *, char *err, size_t errlen);
int	 cluster_storm_fold(struct cluster *, natsMsg *,
	    const struct spool_event *, const struct want *, size_t n);

#endif
