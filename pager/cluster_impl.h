/*
 * cluster_impl.h: the cluster pager's state (cluster.c), shared with the
 * files that do one part of its work on its thread: cluster_memo.c (the
 * memo in the bucket tocsin_memo), cluster_storm.c (storm digests),
 * cluster_events.c (dependencies), cluster_sms.c (SMS through the HTTP
 * API of set sms-gateway), cluster_remind.c (renotify and escalate-after),
 * cluster_stale.c (stale digests), cluster_watchdog.c (set admin).
 */
#ifndef TOCSIN_PAGER_CLUSTER_IMPL_H
#define TOCSIN_PAGER_CLUSTER_IMPL_H

#include <pthread.h>

#include <jansson.h>

#include <nats/nats.h>

#include "pager.h"
#include "quorum.h"

#define RETRY_S		5	/* set-up, or an event, tried again after */
#define CLAIM_S		90	/* a claim (a reminder, a digest) older is
				   taken over: its pager is stuck (a page
				   takes 60 s at most; a claim is made fresh
				   before each further page) */
#define ORDER_WAIT_MS	1000	/* an event behind an earlier one of its
				   server comes again after */
#define PAGER_TTL_S	10	/* a pager's heartbeat (every 2 s) gone so
				   long: it died, and its claims are taken
				   over without waiting CLAIM_S */
#define PAGER_MAX	(QUORUM_KEY_MAX + 48)	/* a pager's name in
						   claims: NODE-PID-START */

/* An HTTP request (a webhook, an SMS by the API) the thread asks the
 * loop to send; on the thread's stack while it waits. */
struct hookcall {
	const struct http_call *http;
	enum send_result r;
	char		 err[ERROR_MAX];
	int		 done;
};

struct cluster {
	const struct conf *conf;	/* the caller's, for our life */
	struct webhook	*wh;		/* the loop's */
	struct smsapi	*sms;		/* NULL: no set sms-gateway */
	struct event	*hook_ev;	/* starts call on the loop */
	struct hookcall	*call;		/* under mtx; NULL: none */
	pthread_cond_t	 cond;		/* call done, or stop */
	struct link	*link;
	char		 self[PAGER_MAX];	/* this pager, in claims */
	kvStore		*pagers;	/* tocsin_pagers: heartbeats */
	struct event	*beat_ev;	/* this pager's, on the loop */
	struct mail_conf *mc;		/* NULL: the Maildir */
	char		 maildir[1024];
	kvStore		*kv;
	kvStore		*memo;		/* tocsin_memo (cluster_memo.c) */
	kvStore		*storm;		/* tocsin_storm (cluster_storm.c) */
	kvStore		*deps;		/* tocsin_unreachable and */
	kvStore		*states;	/* QUORUM_STATES (cluster_events.c) */
	kvStore		*remind;	/* tocsin_remind (cluster_remind.c) */
	kvStore		*control;	/* tocsin_control: acks, downtimes */
	int64_t		 remind_next;	/* monotonic s: the next look */
	kvStore		*stale;		/* tocsin_stale (cluster_stale.c) */
	int64_t		 stale_next;	/* monotonic s: its next look */
	kvStore		*watchdog;	/* tocsin_watchdog and */
	kvStore		*nodes;		/* tocsin_nodes (cluster_watchdog.c);
					   NULL: no set admin */
	int64_t		 watchdog_next;	/* monotonic s: its next look */
	long		 watchdog_alive; /* probe nodes alive at it */
	int64_t		 watchdog_bad_since; /* this pager's first look
					   that found too few nodes; 0 */
	natsSubscription *sub;
	int		 fetch_failing;	/* the last pull failed (logged) */
	natsMsg		*held;		/* under mtx: the event the thread
					   delivers, NULL: none */
	int64_t		 held_since;	/* under mtx: since then (Unix s) */
	pthread_t	 thread;
	pthread_mutex_t	 mtx;
	int		 stop;
};

/* cluster.c */
int	 cluster_event_parse(const char *data, size_t len, uint64_t seq,
	    struct spool_event *);
int	 cluster_ack_floor(struct cluster *, uint64_t *floor);
json_t	*cluster_kv_object(kvStore *, const char *key, uint64_t *rev,
	    const char *what);
int	 cluster_kv_cas(kvStore *, const char *key, json_t *, uint64_t *rev,
	    const char *what);
int	 cluster_due(int64_t *next, int every_s);
int	 cluster_claim_lapsed(struct cluster *, const char *by,
	    int64_t claimed, int64_t now);
void	 cluster_nak(struct cluster *, natsMsg *, int64_t delay_ms);
char	*cluster_page_format(struct cluster *, const struct spool_event *,
	    const struct want *, const struct server_info *, unsigned round,
	    int flap_stopped);
char	*cluster_digest_format(struct cluster *, const struct want *,
	    uint64_t seq, const char *const *lines, size_t n, int stale);
int	 cluster_page_made(struct cluster *, natsMsg *, uint64_t seq,
	    const char *id, const struct want *, unsigned round,
	    const char *what, const char *msg);
enum send_result cluster_send_made(struct cluster *, uint64_t seq,
	    const struct want *, unsigned round, const char *msg, char *err,
	    size_t errlen);
enum send_result cluster_http_send(struct cluster *,
	    const struct http_call *, char *err, size_t errlen);

/* cluster_events.c */
int	 cluster_events_open(struct cluster *, char *err, size_t errlen);
int	 cluster_events_take(struct cluster *, natsMsg *,
	    const struct spool_event *, struct want *, size_t *n);
int	 cluster_events_list(struct cluster *, const struct spool_event *,
	    const struct want *, size_t n, struct server_info *);

/* cluster_sms.c */
enum send_result cluster_sms_send(struct cluster *, const char *to,
	    const char *key, const char *text, char *err, size_t errlen);

/* cluster_memo.c */
struct cluster_memo {		/* what the memo says for one event */
	int		 was_flapping;	/* the server flapped before it */
	char		 sms[256];	/* contacts SMSed for its problem */
	uint64_t	 problem;	/* the open problem before it */
	char		 heard[16];	/* the state its contacts last heard
					   before it (memo_heard) */
	int		 open;		/* it is open: cluster_memo_done once
					   its pages are final */
	uint64_t	 behind;	/* an earlier event of its server
					   open: it sends nothing; 0 */
};
int	 cluster_memo_open(struct cluster *, char *err, size_t errlen);
int	 cluster_memo_note(struct cluster *, natsMsg *,
	    const struct spool_event *, struct cluster_memo *);
int	 cluster_memo_done(struct cluster *, const struct spool_event *);

/* cluster_remind.c */
int	 cluster_remind_open(struct cluster *, char *err, size_t errlen);
void	 cluster_remind_tick(struct cluster *);
size_t	 cluster_remind_recovery(struct cluster *, const struct spool_event *,
	    const struct cluster_memo *, struct want *, size_t max);

/* cluster_stale.c */
int	 cluster_stale_open(struct cluster *, char *err, size_t errlen);
void	 cluster_stale_tick(struct cluster *);

/* cluster_watchdog.c */
int	 cluster_watchdog_open(struct cluster *, char *err, size_t errlen);
void	 cluster_watchdog_tick(struct cluster *);

/* cluster_storm.c */
int	 cluster_storm_open(struct cluster *, char *err, size_t errlen);
int	 cluster_storm_fold(struct cluster *, natsMsg *,
	    const struct spool_event *, const struct want *, size_t n);

#endif
