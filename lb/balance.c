/*
 * balance.c: choosing a farm's member for a new session: fastest (EWMA
 * times load, power of two choices), leastconn, smooth weighted
 * round robin, source (weighted rendezvous hash of the client address)
 * and random; weights count in each.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "util.h"

#include "lb.h"

#define CAND_MAX	256

static size_t	candidates(struct farm *, struct backend **tried, size_t,
		    struct backend **out, int64_t now, int *full);
static struct backend *pick_fastest(struct backend **, size_t, int64_t);
static struct backend *pick_leastconn(struct backend **, size_t);
static struct backend *pick_roundrobin(struct backend **, size_t);
static struct backend *pick_source(struct backend **, size_t,
		    const struct sockaddr *);
static struct backend *pick_random(struct backend **, size_t);

/*
 * The members a new session may go to, not yet tried by it: the usable
 * ones, or when passive marks left none, the eligible ones (panic mode:
 * probed's word and drain still count, our suspicion does not). A member
 * in slow start is a candidate only with the probability of its share,
 * so its traffic ramps up whatever the algorithm; when that leaves
 * nobody, the ramping ones are candidates all the same. A member at its
 * maxconn is none; *full tells whether that alone left nobody. A member
 * of weight 0 is never one (it takes no new traffic, as in HAProxy; a
 * client persist keeps on it stays), so no algorithm divides by 0.
 */
static size_t
candidates(struct farm *f, struct backend **tried, size_t ntried,
    struct backend **out, int64_t now, int *full)
{
	struct backend	*ramping[CAND_MAX];
	size_t		 i, j, n, nramp, pass;
	double		 share;

	*full = 0;
	for (pass = 0; pass < 2; pass++) {
		n = nramp = 0;
		for (i = 0; i < f->nbe && n + nramp < CAND_MAX; i++) {
			for (j = 0; j < ntried; j++)
				if (tried[j] == f->be[i])
					break;
			if (j < ntried)
				continue;
			if (!(pass == 0 ? backend_usable(f->be[i], now) :
			    backend_eligible(f->be[i])) ||
			    backend_weight(f->be[i]) == 0)
				continue;
			if (backend_full(f->be[i])) {
				*full = 1;
				continue;
			}
			share = backend_share(f->be[i], now);
			if (share < 1.0 &&
			    (double)random() / RAND_MAX >= share)
				ramping[nramp++] = f->be[i];
			else
				out[n++] = f->be[i];
		}
		if (n == 0)
			for (i = 0; i < nramp; i++)
				out[n++] = ramping[i];
		if (n > 0) {
			*full = 0;
			return n;
		}
	}
	return 0;
}

/*
 * Power of two choices on the expected cost, with response times within
 * LB_BAND_FACTOR or LB_BAND_MS of the fastest candidate's taken as equal:
 * measured noise must not herd traffic away from a member, while one
 * truly slower is avoided.
 */
static struct backend *
pick_fastest(struct backend **c, size_t n, int64_t now)
{
	double	 lat[CAND_MAX], best = -1, band;
	size_t	 a, b, i;

	if (n == 1)
		return c[0];
	/* Each candidate's latency once (an exp(3) each). */
	for (i = 0; i < n; i++)
		if ((lat[i] = backend_latency(c[i], now)) < best || best < 0)
			best = lat[i];
	band = best * LB_BAND_FACTOR;
	if (band < best + LB_BAND_MS)
		band = best + LB_BAND_MS;
	a = random() % n;
	b = random() % (n - 1);
	if (b >= a)
		b++;
	return backend_cost(c[a], lat[a], band) <= backend_cost(c[b], lat[b],
	    band) ? c[a] : c[b];
}

/* Fewest sessions per weight; members tied on it share by smooth
 * weighted round robin (so an idle farm still spreads by weight). */
static struct backend *
pick_leastconn(struct backend **c, size_t n)
{
	struct backend	*tied[CAND_MAX];
	double		 load, best = 0;
	size_t		 i, ntied = 0;

	for (i = 0; i < n; i++) {
		load = (double)backend_inflight(c[i]) / backend_weight(c[i]);
		if (ntied == 0 || load < best) {
			ntied = 0;
			best = load;
		}
		if (load == best)
			tied[ntied++] = c[i];
	}
	return pick_roundrobin(tied, ntied);
}

/* Smooth weighted round robin: each turn every candidate gains its
 * weight, the richest is picked and pays the total. */
static struct backend *
pick_roundrobin(struct backend **c, size_t n)
{
	struct backend	*best = NULL;
	int		 total = 0;
	size_t		 i;

	for (i = 0; i < n; i++) {
		c[i]->rr_current += (int)backend_weight(c[i]);
		total += (int)backend_weight(c[i]);
		if (best == NULL || c[i]->rr_current > best->rr_current)
			best = c[i];
	}
	best->rr_current -= total;
	return best;
}

/*
 * Weighted rendezvous hashing of the client's address (not its port):
 * each member scores weight / -ln(u) with u uniform from hash(address,
 * id); the best score wins. A member leaving moves only its own clients.
 */
static struct backend *
pick_source(struct backend **c, size_t n, const struct sockaddr *sa)
{
	struct backend	*best = NULL;
	const void	*ip = "";
	size_t		 iplen = 0, i;
	uint64_t	 h;
	double		 u, score, bestscore = 0;

	if (sa != NULL && sa->sa_family == AF_INET) {
		ip = &((const struct sockaddr_in *)sa)->sin_addr;
		iplen = 4;
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		ip = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		iplen = 16;
	}
	for (i = 0; i < n; i++) {
		h = hash_bytes(HASH_BYTES_INIT, ip, iplen);
		h = hash_bytes(h, c[i]->id, strlen(c[i]->id));
		h ^= h >> 33;
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
		u = ((double)(h >> 11) + 0.5) / 9007199254740992.0;
		score = backend_weight(c[i]) / -log(u);
		if (best == NULL || score > bestscore) {
			best = c[i];
			bestscore = score;
		}
	}
	return best;
}

/* Random, in proportion to weight. */
static struct backend *
pick_random(struct backend **c, size_t n)
{
	unsigned long	 total = 0, r;
	size_t		 i;

	for (i = 0; i < n; i++)
		total += backend_weight(c[i]);
	r = (unsigned long)random() % total;
	for (i = 0; i < n; i++) {
		if (r < backend_weight(c[i]))
			return c[i];
		r -= backend_weight(c[i]);
	}
	return c[n - 1];
}

/*
 * The member for a new session from client sa, none of tried, by the
 * farm's algorithm; NULL when no member may take it (all down, drained or
 * tried); then *full is 1 when members at their maxconn are all that
 * is left (wait for a slot), else 0. The caller counts the session in
 * its inflight.
 */
struct backend *
balance_pick(struct farm *f, const struct sockaddr *sa, socklen_t salen,
    struct backend **tried, size_t ntried, int *full)
{
	struct backend	*c[CAND_MAX];
	int64_t		 now = mono_us();
	size_t		 n;

	(void)salen;
	if ((n = candidates(f, tried, ntried, c, now, full)) == 0)
		return NULL;
	switch (f->algo) {
	case BALANCE_LEASTCONN:
		return pick_leastconn(c, n);
	case BALANCE_ROUNDROBIN:
		return pick_roundrobin(c, n);
	case BALANCE_SOURCE:
		return pick_source(c, n, sa);
	case BALANCE_RANDOM:
		return pick_random(c, n);
	default:
		return pick_fastest(c, n, now);
	}
}
