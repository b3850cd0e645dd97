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
