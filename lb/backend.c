/*
 * backend.c: a farm's members and what tocsin-lb knows of each: address
 * from the check URL, probed's word, passive marks, the EWMA of
 * response times and the sessions in flight; farms built from the config.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "xmalloc.h"

#include "lb.h"

struct beslot {
	struct beslot	*next;		/* in the registry */
	char		*id;
	struct sockaddr_storage addr;
	socklen_t	 addrlen;
	int		 refs;		/* loops' members holding it */
	atomic_uint	 inflight;	/* sessions on the server, all loops */
};

/* Every slot, by id and address; refs and next under registry_lock. */
static struct beslot	*registry;
static pthread_mutex_t	 registry_lock = PTHREAD_MUTEX_INITIALIZER;

static int	resolve(const char *host, int port, struct backend *,
		    char *err, size_t);
static struct beslot *slot_get(const struct backend *);
static void	slot_put(struct beslot *);
static void	backend_take(struct backend *);
static struct backend *old_backend(struct farm **, size_t, const char *id,
		    const struct backend *fresh);
static struct farm_stats *farm_stats_get(struct farm **, size_t,
		    const char *name);

/*
 * The member's address is its check URL's host and port: blocking
 * getaddrinfo, so only at start and on reload. Returns 0 or -1 with err.
 */
static int
resolve(const char *host, int port, struct backend *b, char *err,
    size_t errlen)
{
	struct addrinfo	 hints, *res;
	char		 serv[16];
	int		 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(serv, sizeof(serv), "%d", port);
	if ((rc = getaddrinfo(host, serv, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: cannot resolve %s: %s", b->id, host,
		    gai_strerror(rc));
		return -1;
	}
	memcpy(&b->addr, res->ai_addr, res->ai_addrlen);
	b->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	snprintf(b->addrstr, sizeof(b->addrstr), "%s:%d", host, port);
	return 0;
}

/*
 * A member from a server line, with one reference (the caller's). Returns
 * NULL with err when the server has no host and port to send traffic to
 * (ping, exec) or its host does not resolve.
 */
struct backend *
backend_new(const struct server_conf *s, char *err, size_t errlen)
{
	struct backend	*b;

	if (s->host == NULL || s->port <= 0) {
		snprintf(err, errlen, "%s:%d: %s: a %s check gives no port to "
		    "send traffic to", s->file, s->line, s->id,
		    conf_kind_str(s->kind));
		return NULL;
	}
	b = xcalloc(1, sizeof(*b));
	b->id = xstrdup(s->id);
	b->refs = 1;
	b->weight = (unsigned)s->o.weight;
	b->maxconn = (unsigned)s->o.maxconn;
	if (resolve(s->host, s->port, b, err, errlen) == -1) {
		free(b->id);
		free(b);
		return NULL;
	}
	b->slot = slot_get(b);
	return b;
}

/* The slot of b's id and address, shared with every loop's member of
 * them; new when none holds one. */
static struct beslot *
slot_get(const struct backend *b)
{
	struct beslot	*sl;

	pthread_mutex_lock(&registry_lock);
	for (sl = registry; sl != NULL; sl = sl->next)
		if (strcmp(sl->id, b->id) == 0 && sl->addrlen == b->addrlen &&
		    memcmp(&sl->addr, &b->addr, b->addrlen) == 0)
			break;
	if (sl != NULL)
		sl->refs++;
	else {
		sl = xcalloc(1, sizeof(*sl));
		sl->id = xstrdup(b->id);
		memcpy(&sl->addr, &b->addr, b->addrlen);
		sl->addrlen = b->addrlen;
		sl->refs = 1;
		atomic_init(&sl->inflight, 0);
		sl->next = registry;
		registry = sl;
	}
	pthread_mutex_unlock(&registry_lock);
	return sl;
}

/* A loop's member lets go of its slot: freed with the last one. */
static void
slot_put(struct beslot *sl)
{
	struct beslot	**pp;

	if (sl == NULL)
		return;
	pthread_mutex_lock(&registry_lock);
	if (--sl->refs > 0) {
		pthread_mutex_unlock(&registry_lock);
		return;
	}
	for (pp = &registry; *pp != sl; pp = &(*pp)->next)
		;
	*pp = sl->next;
	pthread_mutex_unlock(&registry_lock);
	free(sl->id);
	free(sl);
}

void
backend_ref(struct backend *b)
{
	b->refs++;
}

void
backend_unref(struct backend *b)
{
	if (b == NULL || --b->refs > 0)
		return;
	slot_put(b->slot);
	free(b->id);
	free(b);
}

/* May take new traffic as probed sees it: not drained, not down. */
int
backend_eligible(const struct backend *b)
{
	return !b->drained && b->health != BE_DOWN;
}

/* Sessions on b's server now, from every loop. */
unsigned
backend_inflight(const struct backend *b)
{
	return b->slot != NULL ? atomic_load(&b->slot->inflight) :
	    b->inflight;
}

/* At its maxconn, counting every loop's sessions: no new session until
 * one ends. A check only: two loops may both see the last slot free, and
 * backend_try_take is the one that cannot be raced. */
int
backend_full(const struct backend *b)
{
	return b->maxconn > 0 && backend_inflight(b) >= b->maxconn;
}

/*
 * A tcp session or http request goes to b: one slot more in use, taken
 * at once against maxconn (compare and swap: no loop can take the slot
 * another loop just took), before any connection to b is taken or
 * opened. Returns 0, or -1 when b is at its maxconn after all (the
 * caller waits for a slot). Each slot taken is let go once, with
 * backend_release.
 */
int
backend_try_take(struct backend *b)
{
	unsigned	 cur;

	if (b->slot == NULL || b->maxconn == 0) {
		backend_take(b);
		return 0;
	}
	cur = atomic_load(&b->slot->inflight);
	do {
		if (cur >= b->maxconn)
			return -1;
	} while (!atomic_compare_exchange_weak(&b->slot->inflight, &cur,
	    cur + 1));
	b->inflight++;
	return 0;
}

/* One slot more in use on b, whatever its maxconn. */
static void
backend_take(struct backend *b)
{
	b->inflight++;
	if (b->slot != NULL)
		atomic_fetch_add(&b->slot->inflight, 1);
}

/* A session or request on b ended: one slot fewer in use, and the queue
 * of every loop may go on (the slot is theirs too). */
void
backend_release(struct backend *b)
{
	b->inflight--;
	if (b->slot != NULL)
		atomic_fetch_sub(&b->slot->inflight, 1);
	if (b->maxconn > 0)
		queue_kick_all();
}

/* Eligible and not marked suspect by our own traffic. */
int
backend_usable(const struct backend *b, int64_t now)
{
	return backend_eligible(b) && b->suspect_until <= now;
}

/*
 * Feed a response time (ms) into the EWMA. A sample's weight grows with
 * the time since the last one (1 - e^(-dt/tau), tau LB_EWMA_TAU_MS): a
 * busy member's average moves smoothly, so one slow answer among many
 * does not drive its traffic away (herding the rest onto the others),
 * while a member heard from rarely takes its new time almost whole.
 */
void
backend_sample(struct backend *b, double ms, int64_t now)
{
	double	 w;

	if (!b->has_ewma) {
		b->ewma_ms = ms;
	} else {
		w = exp(-(double)(now - b->ewma_at) /
		    (LB_EWMA_TAU_MS * 1000.0));
		b->ewma_ms = b->ewma_ms * w + ms * (1.0 - w);
	}
	b->has_ewma = 1;
	b->ewma_at = now;
}

/* Our traffic's answer came after ms: a sample, and the response time
 * the stats show (an average over every answer since start). */
void
backend_answered(struct backend *b, double ms, int64_t now)
{
	b->answered++;
	b->answer_ms_sum += ms;
	backend_sample(b, ms, now);
}

/*
 * A connect failure or reset counts as a slow answer, never a fast one:
 * a sample of LB_ERROR_PENALTY_MS, or of the member's average now when
 * that is more (an error must not make a member slower than 1 s look
 * faster), weighing half the average at once, however busy the member
 * is.
 */
void
backend_error(struct backend *b, int64_t now)
{
	double	 cur = backend_ewma(b, now), penalty = LB_ERROR_PENALTY_MS;

	b->errors++;
	if (cur > penalty)
		penalty = cur;
	b->ewma_ms = b->has_ewma ? (cur + penalty) / 2 : penalty;
	b->has_ewma = 1;
	b->ewma_at = now;
}

/* A connect that worked: our passive mark, if any, is lifted. */
void
backend_ok(struct backend *b)
{
	b->suspect_until = 0;
}

/*
 * The weight as balancing uses it: the config's, doubled, and only the
 * config's while probed says degraded, so a degraded member gets half the
 * share of an up one of the same weight at any weight (weight 1 too) and
 * in every algorithm, which all count weights relative to each other. 0
 * stays 0, a member that takes no new traffic.
 */
unsigned
backend_weight(const struct backend *b)
{
	if (b->health == BE_DEGRADED)
		return b->weight;
	return b->weight * 2;
}

/*
 * The share of new traffic b takes now, from LB_SLOWSTART_MIN to 1: it
 * grows linearly over its farm's slowstart after a ramp began (joined by
 * a reload, back from down, undrained); 1 otherwise. A finished ramp is
 * forgotten.
 */
double
backend_share(struct backend *b, int64_t now)
{
	double	 f;

	if (b->ramp_at == 0 || b->slowstart_ms == 0)
		return 1.0;
	f = (double)(now - b->ramp_at) / (b->slowstart_ms * 1000.0);
	if (f >= 1.0) {
		b->ramp_at = 0;
		return 1.0;
	}
	return f < LB_SLOWSTART_MIN ? LB_SLOWSTART_MIN : f;
}

/*
 * b's share of new traffic as the stats show it: 0 for a member that takes
 * none (drained, down, suspect, weight 0), half when degraded, times the
 * slow-start ramp.
 */
double
backend_traffic_share(struct backend *b, int64_t now)
{
	if (!backend_usable(b, now) || b->weight == 0)
		return 0.0;
	return backend_share(b, now) * (b->health == BE_DEGRADED ? 0.5 : 1.0);
}

/* Begin b's ramp now, when its farm has a slowstart. */
void
backend_ramp(struct backend *b, int64_t now)
{
	if (b->slowstart_ms == 0)
		return;
	if (b->ramp_at == 0)
		log_info("%s: slow start over %llu ms", b->id,
		    (unsigned long long)b->slowstart_ms);
	b->ramp_at = now > 0 ? now : 1;
}

/* The EWMA now: decayed toward 0 while no sample comes, so a member once
 * slow is tried again. */
double
backend_ewma(const struct backend *b, int64_t now)
{
	if (!b->has_ewma)
		return 0;
	return b->ewma_ms * exp(-(double)(now - b->ewma_at) /
	    (LB_EWMA_TAU_MS * 1000.0));
}

/*
 * A request sent at mono_us sent now waits for its answer; it stops
 * waiting (answered, failed or abandoned) with backend_wait_end.
 */
void
backend_wait_begin(struct backend *b, int64_t sent)
{
	b->waiting++;
	b->waiting_sum += sent;
}

void
backend_wait_end(struct backend *b, int64_t sent)
{
	if (b->waiting == 0)
		return;
	b->waiting--;
	b->waiting_sum -= sent;
}

/*
 * The response time to expect now (ms): the EWMA, or when more, the mean
 * age of the requests waiting for their answer. An answer not come yet
 * takes at least that long, so a member that stops answering looks slow
 * within milliseconds, not only when its first slow answer (or the
 * client's giving up) is measured: peak EWMA's penalty on outstanding
 * requests, with their true age.
 */
double
backend_latency(const struct backend *b, int64_t now)
{
	double	 ewma = backend_ewma(b, now), age;

	if (b->waiting == 0)
		return ewma;
	age = ((double)now - (double)b->waiting_sum / b->waiting) / 1000.0;
	return age > ewma ? age : ewma;
}

/*
 * Expected cost of one more session: its latency (backend_latency, as
 * the caller had it), raised to band (response times that close to the
 * fastest member's are noise, and load alone should decide between them),
 * times the sessions it would then have, over its weight. Lower is
 * better.
 */
double
backend_cost(const struct backend *b, double latency, double band)
{
	double	 ewma = latency;

	if (ewma < band)
		ewma = band;
	return (ewma + 0.05) * (backend_inflight(b) + 1) / backend_weight(b);
}

const char *
backend_health_str(enum be_health h)
{
	switch (h) {
	case BE_UP:
		return "up";
	case BE_DEGRADED:
		return "degraded";
	case BE_DOWN:
		return "down";
	default:
		return "unknown";
	}
}

enum be_health
backend_health_parse(const char *s)
{
	if (strcmp(s, "up") == 0)
		return BE_UP;
	if (strcmp(s, "degraded") == 0)
		return BE_DEGRADED;
	if (strcmp(s, "down") == 0)
		return BE_DOWN;
	return BE_UNKNOWN;
}

/* The old farms' member of that id and address, to keep its state. */
static struct backend *
old_backend(struct farm **old, size_t nold, const char *id,
    const struct backend *fresh)
{
	size_t	 i, j;

	for (i = 0; i < nold; i++)
		for (j = 0; j < old[i]->nbe; j++)
			if (strcmp(old[i]->be[j]->id, id) == 0 &&
			    old[i]->be[j]->addrlen == fresh->addrlen &&
			    memcmp(&old[i]->be[j]->addr, &fresh->addr,
			    fresh->addrlen) == 0)
				return old[i]->be[j];
	return NULL;
}

/* The counts of the old farm of that name, shared; new ones when none. */
static struct farm_stats *
farm_stats_get(struct farm **old, size_t nold, const char *name)
{
	struct farm_stats *st;
	size_t		 i;

	for (i = 0; i < nold; i++)
		if (strcmp(old[i]->name, name) == 0) {
			old[i]->st->refs++;
			return old[i]->st;
		}
	st = xcalloc(1, sizeof(*st));
	st->refs = 1;
	return st;
}

/*
 * A farm from its config, one reference (the caller's). Its counts are
 * the old farm's of its name (a reload's: farm_stats_get), shared with
 * it while that one's sessions finish. Members that the old farms have
 * with the same id and address are shared, so health, EWMA and load
 * carry over; their new settings (weight, maxconn,
 * slowstart) are kept in f->set and take effect with farm_apply, once
 * the whole reload went through: a reload that fails leaves the running
 * members as they were. Returns NULL with err when a member cannot take
 * traffic.
 */
struct farm *
farm_new(const struct farm_conf *fc, struct farm **old, size_t nold,
    char *err, size_t errlen)
{
	struct farm	*f;
	struct backend	*b, *ob;
	size_t		 i, n = fc->nservers == 0 ? 1 : fc->nservers;

	f = xcalloc(1, sizeof(*f));
	f->name = xstrdup(fc->name);
	f->algo = fc->balance;
	f->refs = 1;
	f->persist_ms = fc->persist;
	f->slowstart_ms = fc->slowstart;
	f->proxy_protocol = fc->proxy_protocol;
	f->connect_ms = fc->connect_timeout != 0 ?
	    (int64_t)fc->connect_timeout : LB_CONNECT_TIMEOUT_MS;
	f->client_ms = fc->client_timeout != 0 ?
	    (int64_t)fc->client_timeout : LB_IDLE_TIMEOUT_MS;
	f->server_ms = fc->server_timeout != 0 ?
	    (int64_t)fc->server_timeout : LB_IDLE_TIMEOUT_MS;
	f->st = farm_stats_get(old, nold, fc->name);
	if (f->persist_ms > 0)
		f->persist = persist_new(f->name);
	f->be = xcalloc(n, sizeof(*f->be));
	f->set = xcalloc(n, sizeof(*f->set));
	for (i = 0; i < fc->nservers; i++) {
		if ((b = backend_new(fc->servers[i], err, errlen)) == NULL) {
			farm_unref(f);
			return NULL;
		}
		f->set[f->nbe].weight = b->weight;
		f->set[f->nbe].maxconn = b->maxconn;
		f->set[f->nbe].slowstart_ms = f->slowstart_ms;
		if ((ob = old_backend(old, nold, b->id, b)) != NULL) {
			backend_unref(b);
			backend_ref(ob);
			b = ob;
		} else {
			/* A member a reload adds ramps up; not at start. */
			b->slowstart_ms = f->slowstart_ms;
			if (nold > 0)
				backend_ramp(b, mono_us());
		}
		f->be[f->nbe++] = b;
	}
	return f;
}

/* The settings farm_new read, given to f's members (those kept from the
 * running farms among them): once f is sure to run. */
void
farm_apply(struct farm *f)
{
	size_t	 i;

	for (i = 0; i < f->nbe; i++) {
		f->be[i]->weight = f->set[i].weight;
		f->be[i]->maxconn = f->set[i].maxconn;
		f->be[i]->slowstart_ms = f->set[i].slowstart_ms;
	}
}

void
farm_ref(struct farm *f)
{
	f->refs++;
}

void
farm_unref(struct farm *f)
{
	size_t	 i;

	if (f == NULL || --f->refs > 0)
		return;
	for (i = 0; i < f->nbe; i++)
		backend_unref(f->be[i]);
	persist_unref(f->persist);
	if (--f->st->refs == 0)
		free(f->st);
	free(f->set);
	free(f->be);
	free(f->name);
	free(f);
}

/*
 * Mark b suspect after a failure of our own traffic, unless that would
 * leave the farm with no usable member to take new traffic (the panic
 * threshold: passive marks never take out the last healthy servers; a
 * member of weight 0 takes none, so it does not count).
 */
void
farm_mark_suspect(struct farm *f, struct backend *b, int64_t now)
{
	size_t	 i, others = 0;

	for (i = 0; i < f->nbe; i++)
		if (f->be[i] != b && backend_weight(f->be[i]) > 0 &&
		    backend_usable(f->be[i], now))
			others++;
	if (others == 0) {
		log_debug("%s: not marked suspect: the last usable member",
		    b->id);
		return;
	}
	if (b->suspect_until <= now)
		log_info("%s: suspect after a failed connection", b->id);
	b->suspect_until = now + LB_SUSPECT_MS * 1000;
}

/* The member of that id in the running farms, or NULL. */
struct backend *
lb_find_backend(struct lb *lb, const char *id)
{
	size_t	 i, j;

	for (i = 0; i < lb->nfarms; i++)
		for (j = 0; j < lb->farms[i]->nbe; j++)
			if (strcmp(lb->farms[i]->be[j]->id, id) == 0)
				return lb->farms[i]->be[j];
	return NULL;
}
