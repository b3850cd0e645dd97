/*
 * writer.c: the archive writer. The event loop hands results to
 * writer_submit, which copies them into a bounded ring and returns at once;
 * one thread takes them out in order and writes them with librrd or through
 * rrdcached, creating and re-creating archives as steps and perfdata
 * series change. A full ring drops its oldest sample, counted and logged.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rrd.h>
#include <rrd_client.h>

#include "log.h"
#include "xmalloc.h"
#include "archive.h"
#include "writer.h"

#define RATE_WINDOW	60	/* seconds */
#define RATE_BURST	5	/* messages of one kind a window */

/*
 * What the writer knows of one id. The queue fields belong to the lock;
 * the archive fields to the writer thread alone. Never freed before
 * writer_close, so a queued sample may point at it.
 */
struct idstate {
	struct idstate		*next;		/* hash chain */
	char			 id[ARCHIVE_ID_MAX];
	uint64_t		 qseq;	/* newest queued sample; 0 none */
	size_t			 qslot;	/* ... and its ring slot */
	int			 known;	/* layout read or created */
	struct archive_layout	 layout; /* what the archive holds */
	int			 failing; /* last write failed (logged) */
};

struct sample {
	struct idstate		*st;
	uint64_t		 seq;	/* order of submission */
	unsigned		 step;	/* seconds, its interval */
	struct check_result	 r;
};

/* At most RATE_BURST messages a window; the rest are counted. */
struct ratelimit {
	time_t			 window;	/* monotonic seconds */
	unsigned		 n;
	uint64_t		 held;		/* messages held back */
};

enum outcome {
	OUT_WRITTEN,
	OUT_SKIPPED,
	OUT_ERROR,
};

struct writer {
	struct archive_store	*store;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	/* under lock */
	struct sample		*ring;
	size_t			 cap;
	size_t			 head;
	size_t			 count;
	uint64_t		 seq;	/* of the newest sample pushed */
	int			 closing;
	struct writer_stats	 stats;
	struct idstate		**table;
	size_t			 nbuckets;
	size_t			 nids;
	struct ratelimit	 droplog;
	struct ratelimit	 badlog;
	/* writer thread only */
	struct ratelimit	 errlog;
};

static time_t		 mono_now(void);
static int		 ratelimit_ok(struct ratelimit *, uint64_t *);
static uint64_t		 hash_id(const char *);
static struct idstate	*idstate_get(struct writer *, const char *);
static time_t		 sample_sec(const struct check_result *);
static enum outcome	 fail(struct writer *, struct idstate *);
static enum outcome	 write_sample(struct writer *, const struct sample *,
			    int *);
static void		*writer_main(void *);

static time_t
mono_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/*
 * May a message go out now? *held gets how many were held back since the
 * last one that did, so the message can say so.
 */
static int
ratelimit_ok(struct ratelimit *rl, uint64_t *held)
{
	time_t	now = mono_now();

	if (rl->window == 0 || now - rl->window >= RATE_WINDOW) {
		rl->window = now;
		rl->n = 0;
	}
	if (rl->n >= RATE_BURST) {
		rl->held++;
		return 0;
	}
	rl->n++;
	*held = rl->held;
	rl->held = 0;
	return 1;
}

/* FNV-1a. */
static uint64_t
hash_id(const char *id)
{
	uint64_t	h = 14695981039346656037ULL;

	for (; *id != '\0'; id++) {
		h ^= (unsigned char)*id;
		h *= 1099511628211ULL;
	}
	return h;
}

/*
 * The state of an id, made on first sight; the table doubles when chains
 * grow past two on average. Call with the lock held.
 */
static struct idstate *
idstate_get(struct writer *w, const char *id)
{
	struct idstate	**nt, *st, *next;
	size_t		  i, n;

	for (st = w->table[hash_id(id) % w->nbuckets]; st != NULL;
	    st = st->next)
		if (strcmp(st->id, id) == 0)
			return st;
	if (w->nids >= 2 * w->nbuckets) {
		n = 2 * w->nbuckets;
		nt = xcalloc(n, sizeof(*nt));
		for (i = 0; i < w->nbuckets; i++)
			for (st = w->table[i]; st != NULL; st = next) {
				next = st->next;
				st->next = nt[hash_id(st->id) % n];
				nt[hash_id(st->id) % n] = st;
			}
		free(w->table);
		w->table = nt;
		w->nbuckets = n;
	}
	st = xcalloc(1, sizeof(*st));
	strlcpy(st->id, id, sizeof(st->id));
	i = hash_id(id) % w->nbuckets;
	st->next = w->table[i];
	w->table[i] = st;
	w->nids++;
	return st;
}

/* A result's time in whole Unix seconds. */
static time_t
sample_sec(const struct check_result *r)
{
	return (time_t)(r->started / 1000000);
}

/*
 * Open the writer for archives under STATE_DIR/rrd, written by librrd, or
 * through rrdcached when rrdcached is its address ("unix:/path" or
 * "host:port"; its base folder must be STATE_DIR/rrd, and over TCP it
 * needs -R to make farm folders). queue_cap results may wait (at least
 * one). Returns NULL, logged, if the folder or the thread cannot be made.
 */
struct writer *
writer_open(const char *state_dir, const char *rrdcached, size_t queue_cap)
{
	struct writer	*w;
	sigset_t	 all, old;
	int		 rc;

	w = xcalloc(1, sizeof(*w));
	if ((w->store = archive_store_open(state_dir, rrdcached)) == NULL) {
		log_warnx("rrd: %s", archive_error());
		free(w);
		return NULL;
	}
	w->cap = queue_cap > 0 ? queue_cap : 1;
	w->ring = xcalloc(w->cap, sizeof(*w->ring));
	w->nbuckets = 64;
	w->table = xcalloc(w->nbuckets, sizeof(*w->table));
	if ((rc = pthread_mutex_init(&w->lock, NULL)) != 0)
		fatalx("rrd: pthread_mutex_init: %s", strerror(rc));
	if ((rc = pthread_cond_init(&w->wake, NULL)) != 0)
		fatalx("rrd: pthread_cond_init: %s", strerror(rc));

	/* Signals stay with the event loop's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->thread, NULL, writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_warnx("rrd: cannot start the writer thread: %s",
		    strerror(rc));
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
		free(w->table);
		free(w->ring);
		archive_store_close(w->store);
		free(w);
		return NULL;
	}
	if (rrdcached != NULL && *rrdcached != '\0')
		log_info("rrd: archives through rrdcached %s", rrdcached);
	return w;
}

/*
 * Queue a copy of a result for id's archive (step: the server's interval,
 * seconds). Never waits for a write. Returns 0 when queued, 1 when queued
 * and the oldest waiting sample was dropped to make room, -1 when refused
 * (bad id, step 0, negative time; counted as an error). A result in the
 * same second as one of the same id still waiting replaces it (the later
 * one is kept; counted as skipped) and returns 0.
 */
int
writer_submit(struct writer *w, const char *id, unsigned step_s,
    const struct check_result *r)
{
	struct idstate	*st;
	struct sample	*s;
	size_t		 slot;
	uint64_t	 held = 0, dropped = 0;
	int		 bad, logit = 0, ret = 0;
	char		 lost[ARCHIVE_ID_MAX] = "";

	bad = !archive_id_valid(id) || step_s == 0 || r->started < 0;
	pthread_mutex_lock(&w->lock);
	w->stats.submitted++;
	if (bad) {
		w->stats.errors++;
		logit = ratelimit_ok(&w->badlog, &held);
		pthread_mutex_unlock(&w->lock);
		if (logit)
			log_warnx("rrd: refused a result for \"%.*s\" "
			    "(step %us)%s", ARCHIVE_ID_MAX,
			    id == NULL ? "" : id, step_s,
			    held > 0 ? ", and others" : "");
		return -1;
	}
	st = idstate_get(w, id);
	if (st->qseq != 0 && w->count > 0 && st->qseq > w->seq - w->count) {
		s = &w->ring[st->qslot];
		if (sample_sec(&s->r) == sample_sec(r)) {
			s->r = *r;
			s->step = step_s;
			w->stats.skipped++;
			pthread_mutex_unlock(&w->lock);
			return 0;
		}
	}
	if (w->count == w->cap) {
		strlcpy(lost, w->ring[w->head].st->id, sizeof(lost));
		w->head = (w->head + 1) % w->cap;
		w->count--;
		w->stats.dropped++;
		dropped = w->stats.dropped;
		logit = ratelimit_ok(&w->droplog, &held);
		ret = 1;
	}
	slot = (w->head + w->count) % w->cap;
	s = &w->ring[slot];
	s->st = st;
	s->seq = ++w->seq;
	s->step = step_s;
	s->r = *r;
	w->count++;
	st->qseq = s->seq;
	st->qslot = slot;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	if (logit)
		log_warnx("rrd: writer queue full (%zu): dropped the oldest "
		    "sample, of %s (%llu dropped in all%s)", w->cap, lost,
		    (unsigned long long)dropped,
		    held > 0 ? ", not all logged" : "");
	return ret;
}

void
writer_stats(struct writer *w, struct writer_stats *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->stats;
	out->queued = w->count;
	pthread_mutex_unlock(&w->lock);
}

/*
 * Stop taking results, write everything still queued, stop the thread and
 * free the writer.
 */
void
writer_close(struct writer *w)
{
	struct idstate	*st, *next;
	size_t		 i;
	int		 rc;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->closing = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	if ((rc = pthread_join(w->thread, NULL)) != 0)
		log_warnx("rrd: pthread_join: %s", strerror(rc));
	if (archive_store_daemon(w->store) != NULL)
		rrdc_disconnect();
	for (i = 0; i < w->nbuckets; i++)
		for (st = w->table[i]; st != NULL; st = next) {
			next = st->next;
			free(st);
		}
	free(w->table);
	free(w->ring);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	archive_store_close(w->store);
	free(w);
}

/*
 * Count a failed write and log it once for the id (until it writes
 * again), within the error rate limit; the archive's layout is read again
 * next time, in case the file changed under us.
 */
static enum outcome
fail(struct writer *w, struct idstate *st)
{
	uint64_t	held = 0;

	if (!st->failing && ratelimit_ok(&w->errlog, &held))
		log_warnx("rrd: %s: %s%s", st->id, archive_error(),
		    held > 0 ? " (other archive errors not logged)" : "");
	st->failing = 1;
	st->known = 0;
	return OUT_ERROR;
}

/*
 * Write one sample: read the archive's layout the first time (or after an
 * error), create the archive if there is none, re-create it from itself
 * when the step changed, a new perfdata label came or it consolidates as
 * an older layout did, then add the row.
 * A sample not later than the last update is skipped: librrd takes at most
 * one row a second. Sets *recreated when it re-created the archive.
 */
static enum outcome
write_sample(struct writer *w, const struct sample *s, int *recreated)
{
	struct idstate		*st = s->st;
	struct archive_layout	 want;
	double			 v[ARCHIVE_DS_MAX];
	time_t			 t = sample_sec(&s->r);
	int			 rc, lost;

	*recreated = 0;
	if (!st->known) {
		if ((rc = archive_info(w->store, st->id, &st->layout)) == -1)
			return fail(w, st);
		if (rc == 1) {
			(void)archive_layout_want(NULL, s->step, &s->r, &want);
			want.last = t - (time_t)s->step;
			if (archive_create(w->store, st->id, &want, NULL) == -1)
				return fail(w, st);
			log_debug("rrd: %s: archive created, step %us",
			    st->id, s->step);
			st->layout = want;
		}
		st->known = 1;
	}
	lost = archive_layout_want(&st->layout, s->step, &s->r, &want);
	if (lost > 0)
		log_debug("rrd: %s: %d perfdata labels not archived "
		    "(at most %d series, names [A-Za-z0-9_])", st->id, lost,
		    PERF_MAX);
	if (!archive_layout_same(&st->layout, &want)) {
		if (archive_create(w->store, st->id, &want, &st->layout) == -1)
			return fail(w, st);
		log_info("rrd: %s: archive re-created with step %lus and "
		    "%d series, history kept", st->id, want.step, want.nds);
		st->layout = want;
		*recreated = 1;
	}
	if (t <= st->layout.last) {
		log_debug("rrd: %s: sample at %lld skipped, archive is at %lld",
		    st->id, (long long)t, (long long)st->layout.last);
		return OUT_SKIPPED;
	}
	archive_values(&st->layout, &s->r, v);
	if (archive_update(w->store, st->id, &st->layout, t, v) == -1)
		return fail(w, st);
	st->layout.last = t;
	if (st->failing) {
		log_info("rrd: %s: archive written again", st->id);
		st->failing = 0;
	}
	return OUT_WRITTEN;
}

/* The writer thread: take samples in order until closed and drained. */
static void *
writer_main(void *arg)
{
	struct writer	*w = arg;
	struct sample	 s;
	enum outcome	 out;
	int		 recreated;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->count == 0 && !w->closing)
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->count == 0)
			break;
		s = w->ring[w->head];
		w->head = (w->head + 1) % w->cap;
		w->count--;
		pthread_mutex_unlock(&w->lock);

		out = write_sample(w, &s, &recreated);

		pthread_mutex_lock(&w->lock);
		if (out == OUT_WRITTEN)
			w->stats.written++;
		else if (out == OUT_SKIPPED)
			w->stats.skipped++;
		else
			w->stats.errors++;
		if (recreated)
			w->stats.recreated++;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}
