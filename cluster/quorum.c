/*
 * quorum.c: how a server's cluster-level state follows from its nodes'
 * verdicts, and how a server id becomes a JetStream key. Pure functions:
 * given the same verdicts every node decides the same.
 */
#include <stdio.h>
#include <string.h>

#include "quorum.h"

/*
 * Verdicts that must agree: `set quorum N` when given (not 0), else a
 * majority of the nodes that watch the server.
 */
int
quorum_needed(unsigned long set_quorum, size_t watchers)
{
	if (set_quorum > 0)
		return set_quorum > 1000000 ? 1000000 : (int)set_quorum;
	return (int)(watchers / 2 + 1);
}

/*
 * The cluster-level state from n nodes' votes (0: the node has no
 * verdict yet; it watches, but does not count towards a state): a state
 * at least quorum_needed() nodes agree on. When none has that many, the
 * current state stays. When several have (a quorum of half or less), the
 * one of highest severity wins (severity[state], larger is worse), so a
 * quorum of 1 pages as soon as any node sees a failure. States are
 * 1 .. QUORUM_STATES_MAX - 1.
 */
int
quorum_decide(const int *votes, size_t n, unsigned long set_quorum,
    int current, const int *severity)
{
	int	 count[QUORUM_STATES_MAX] = { 0 };
	int	 need = quorum_needed(set_quorum, n), best = -1, s;
	size_t	 i;

	for (i = 0; i < n; i++)
		if (votes[i] > 0 && votes[i] < QUORUM_STATES_MAX)
			count[votes[i]]++;
	for (s = 1; s < QUORUM_STATES_MAX; s++)
		if (count[s] >= need && (best == -1 ||
		    severity[s] > severity[best]))
			best = s;
	return best == -1 ? current : best;
}

/*
 * Is a node whose last heartbeat says beat (seconds since the epoch; 0 =
 * none) alive at now? Nodes' clocks must agree within a few seconds
 * (NTP): a heartbeat from a clock ahead counts as fresh.
 */
int
quorum_alive(long long beat, long long now)
{
	return beat > 0 && now - beat <= QUORUM_NODE_MAX_AGE;
}

/*
 * With `set shard on`: how many of the live nodes watch each server:
 * `set quorum` (default 2), at most all of them.
 */
size_t
quorum_watchers(unsigned long set_quorum, size_t live)
{
	size_t k = set_quorum > 0 ? set_quorum : 2;

	return k < live ? k : live;
}

/*
 * A server's `vantage NODE,...` (nvantage 0: none given): is node one
 * that watches it? Without the option every node is.
 */
int
quorum_named(const char *node, char *const *vantage, size_t nvantage)
{
	size_t i;

	if (nvantage == 0)
		return 1;
	for (i = 0; i < nvantage; i++)
		if (strcmp(vantage[i], node) == 0)
			return 1;
	return 0;
}

/*
 * Keep of the n nodes those a server's vantage names, in order, in place
 * (nodes[0 .. returned count)): who `set shard on` chooses among.
 */
size_t
quorum_among(const char **nodes, size_t n, char *const *vantage,
    size_t nvantage)
{
	size_t i, m = 0;

	for (i = 0; i < n; i++)
		if (quorum_named(nodes[i], vantage, nvantage))
			nodes[m++] = nodes[i];
	return m;
}

/*
 * The quorum of a server: `set quorum` when given; else, for a server
 * with a vantage list, a majority of its named nodes (fixed, so a named
 * node that dies is a missing vote); else 0, a majority of the nodes
 * with a verdict (quorum_needed()).
 */
unsigned long
quorum_vantage(unsigned long set_quorum, size_t nvantage)
{
	if (set_quorum > 0 || nvantage == 0)
		return set_quorum;
	return nvantage / 2 + 1;
}

/* A node's weight for a server: 64-bit FNV-1a over node NUL skey, then
 * mixed (splitmix64's finalizer) so that close names spread. */
static unsigned long long
weight(const char *node, const char *skey)
{
	unsigned long long h = 0xcbf29ce484222325ULL;
	const unsigned char *p;

	for (p = (const unsigned char *)node; *p != '\0'; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	h = (h ^ 0) * 0x100000001b3ULL;
	for (p = (const unsigned char *)skey; *p != '\0'; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

/* Does node a (weight wa) come before b (wb)? Equal weights: by name, so
 * every node orders them alike. */
static int
before(unsigned long long wa, const char *a, unsigned long long wb,
    const char *b)
{
	if (wa != wb)
		return wa > wb;
	return strcmp(a, b) < 0;
}

/*
 * Rendezvous hashing: the k (at most n, at most QUORUM_SHARD_MAX) of
 * the n nodes that watch the server of key skey, as their indices in
 * out, best first. Depends only on the set of names, not their order,
 * so every node that sees the same live nodes picks the same; a node
 * that goes moves only its own servers, each to the next best.
 */
size_t
quorum_shard(const char *skey, const char *const *nodes, size_t n, size_t k,
    size_t *out)
{
	unsigned long long w[QUORUM_SHARD_MAX];
	size_t	 i, j, m = 0;

	if (k > n)
		k = n;
	if (k > QUORUM_SHARD_MAX)
		k = QUORUM_SHARD_MAX;
	for (i = 0; i < n; i++) {
		unsigned long long wi = weight(nodes[i], skey);

		/* insert into the best k kept so far */
		for (j = m; j > 0 && before(wi, nodes[i], w[j - 1],
		    nodes[out[j - 1]]); j--) {
			if (j < k) {
				w[j] = w[j - 1];
				out[j] = out[j - 1];
			}
		}
		if (j < k) {
			w[j] = wi;
			out[j] = i;
			if (m < k)
				m++;
		}
	}
	return m;
}

/*
 * A server id as one JetStream key token: letters, digits, '-', '_' and
 * '/' stay, any other byte is =XX (hex), so no two ids meet and none
 * holds the '.' that separates tokens. out holds QUORUM_KEY_MAX bytes
 * for any id up to SERVER_ID_MAX; a longer one is cut.
 */
void
quorum_key(const char *id, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	size_t	 o = 0;

	for (p = (const unsigned char *)id; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		    *p == '/') {
			if (o + 1 >= len)
				break;
			out[o++] = *p;
		} else {
			if (o + 3 >= len)
				break;
			out[o++] = '=';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (len > 0)
		out[o] = '\0';
}
