/*
 * quorum.h: the cluster's pure rules (quorum.c): what state the nodes'
 * verdicts make a server's, and the names under which JetStream keeps
 * them. No I/O, so every node computes the same and tests need no NATS.
 */
#ifndef TOCSIN_QUORUM_H
#define TOCSIN_QUORUM_H

#include <stddef.h>

/* JetStream's names for tocsin's data (see tocsin-cluster(7)). */
#define QUORUM_VERDICTS	"tocsin_verdicts"	/* KV: SKEY.NODE -> verdict */
#define QUORUM_STATES	"tocsin_states"		/* KV: SKEY -> cluster state */
#define QUORUM_NODES	"tocsin_nodes"		/* KV: NODE -> heartbeat */
#define QUORUM_CONTROL	"tocsin_control"	/* KV: SKEY.KIND -> ack,
						   drain, downtime */
#define QUORUM_STREAM	"TOCSIN_EVENTS"		/* stream of cluster events */
#define QUORUM_SUBJECT	"tocsin.events"		/* ... on SUBJECT.SKEY */
#define QUORUM_KEY_MAX	(3 * 200 + 1)		/* an encoded server id */

/*
 * Heartbeats: each node puts {"node", "time"} under its name every
 * QUORUM_BEAT seconds; a node whose last one is older than
 * QUORUM_NODE_MAX_AGE is dead: its verdicts stop counting.
 */
#define QUORUM_BEAT		2
#define QUORUM_NODE_MAX_AGE	10

/* The most nodes that watch one server with `set shard on`. */
#define QUORUM_SHARD_MAX	32

/* The most states a vote may hold; states are small ints, 0 = none. */
#define QUORUM_STATES_MAX 8

int		 quorum_needed(unsigned long set_quorum, size_t watchers);
int		 quorum_decide(const int *votes, size_t n, unsigned long
		    set_quorum, int current, const int *severity);
int		 quorum_alive(long long beat, long long now);
size_t		 quorum_watchers(unsigned long set_quorum, size_t live);
size_t		 quorum_shard(const char *skey, const char *const *nodes,
		    size_t n, size_t k, size_t *out);
int		 quorum_named(const char *node, char *const *vantage,
		    size_t nvantage);
size_t		 quorum_among(const char **nodes, size_t n,
		    char *const *vantage, size_t nvantage);
unsigned long	 quorum_vantage(unsigned long set_quorum, size_t nvantage);
void		 quorum_key(const char *id, char *out, size_t outlen);

#endif
