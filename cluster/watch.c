/*
 * watch.c: a key-value bucket's changes, delivered on the daemon's loop.
 * nats.c's watcher blocks for the next change, so a thread of its own
 * waits for them and queues them; one event hands the queue to the loop.
 * A watcher that fails (its server died) is made again: the bucket's
 * values come again first, marked initial, so the loop sees the whole
 * bucket after any gap.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "log.h"
#include "handoff.h"
#include "xmalloc.h"

#include "watch.h"

#define NEXT_WAIT_MS	500	/* a stop is seen within this */
#define RETRY_MS	1000	/* before making a failed watcher again */

struct item {
	struct watch_entry	 e;
	char			*key;
	char			*value;
};

struct watch {
	kvStore		*kv;		/* the caller's */
	watch_fn	*fn;
	void		*arg;
	pthread_t	 thread;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;
	struct handoff	*items;		/* to the loop */
	int		 stop;
	int		 restart;	/* make the watcher again */
};

static void	*run(void *);
static void	 on_item(void *, void *);
static void	 item_free(void *, void *);

/* Queue one entry (NULL: caught up) for the loop. */
static void
push(struct watch *w, kvEntry *e, int initial)
{
	struct item	*it;
	kvOperation	 op;

	it = xcalloc(1, sizeof(*it));
	it->e.initial = initial;
	if (e != NULL) {
		it->key = xstrdup(kvEntry_Key(e));
		it->e.len = kvEntry_ValueLen(e);
		it->value = xmalloc(it->e.len + 1);
		memcpy(it->value, kvEntry_Value(e), it->e.len);
		it->value[it->e.len] = '\0';
		it->e.rev = kvEntry_Revision(e);
		op = kvEntry_Operation(e);
		it->e.deleted = op == kvOp_Delete || op == kvOp_Purge;
	}
	it->e.key = it->key;
	it->e.value = it->value;
	handoff_push(w->items, it);
}

/* Wait ms unless told to stop; 1 when stopping. */
static int
pause_or_stop(struct watch *w, int ms)
{
	struct timespec	 ts;
	int		 stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&w->mtx);
	while (!w->stop && pthread_cond_timedwait(&w->cond, &w->mtx, &ts) !=
	    ETIMEDOUT)
		;
	stop = w->stop;
	pthread_mutex_unlock(&w->mtx);
	return stop;
}

static int
stopping(struct watch *w)
{
	int stop;

	pthread_mutex_lock(&w->mtx);
	stop = w->stop;
	pthread_mutex_unlock(&w->mtx);
	return stop;
}

/* Take the restart flag. */
static int
restarting(struct watch *w)
{
	int r;

	pthread_mutex_lock(&w->mtx);
	r = w->restart;
	w->restart = 0;
	pthread_mutex_unlock(&w->mtx);
	return r;
}

/*
 * Make the watcher again soon (the link reconnected: its consumer may
 * have lived on a server that died, and nats.c may not notice). Does not
 * block: the watch's thread does it.
 */
void
watch_restart(struct watch *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mtx);
	w->restart = 1;
	pthread_mutex_unlock(&w->mtx);
}

/* The thread: (re)make the watcher, pass on what it gives. */
static void *
run(void *arg)
{
	struct watch	*w = arg;
	kvWatcher	*kw = NULL;
	kvEntry		*e;
	natsStatus	 s;
	int		 initial = 1;

	while (!stopping(w)) {
		if (kw != NULL && restarting(w)) {
			kvWatcher_Destroy(kw);
			kw = NULL;
		}
		if (kw == NULL) {
			if ((s = kvStore_WatchAll(&kw, w->kv, NULL)) !=
			    NATS_OK) {
				kw = NULL;
				pause_or_stop(w, RETRY_MS);
				continue;
			}
			initial = 1;
		}
		s = kvWatcher_Next(&e, kw, NEXT_WAIT_MS);
		if (s == NATS_TIMEOUT)
			continue;
		if (s != NATS_OK && stopping(w))
			break;
		if (s == NATS_CONNECTION_CLOSED) {	/* link_close: stopping */
			pause_or_stop(w, RETRY_MS);
			continue;
		}
		if (s != NATS_OK) {
			log_warnx("cluster: watch of %s: %s; watching again",
			    kvStore_Bucket(w->kv), natsStatus_GetText(s));
			kvWatcher_Destroy(kw);
			kw = NULL;
			pause_or_stop(w, RETRY_MS);
			continue;
		}
		if (e == NULL) {
			push(w, NULL, initial);
			initial = 0;
			continue;
		}
		push(w, e, initial);
		kvEntry_Destroy(e);
	}
	if (kw != NULL) {
		kvWatcher_Stop(kw);
		kvWatcher_Destroy(kw);
	}
	return NULL;
}

/* On the loop: one change, in order. */
static void
on_item(void *item, void *arg)
{
	struct watch	*w = arg;
	struct item	*it = item;

	w->fn(&it->e, w->arg);
	item_free(it, NULL);
}

/* An item's memory. */
static void
item_free(void *item, void *arg)
{
	struct item	*it = item;

	(void)arg;
	free(it->key);
	free(it->value);
	free(it);
}

/* Watch every key of kv (which must outlive the watch); fn gets each
 * change on base's loop. */
struct watch *
watch_new(struct event_base *base, kvStore *kv, watch_fn *fn, void *arg)
{
	struct watch *w;

	w = xcalloc(1, sizeof(*w));
	w->kv = kv;
	w->fn = fn;
	w->arg = arg;
	pthread_mutex_init(&w->mtx, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->items = handoff_new(base, on_item, w);
	if (pthread_create(&w->thread, NULL, run, w) != 0)
		fatalx("watch: pthread_create");
	return w;
}

/* Stop (within NEXT_WAIT_MS) and drop what was not handed on. Close the
 * link first: the watcher's end asks JetStream, whose reply this loop
 * would have to read. */
void
watch_free(struct watch *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mtx);
	w->stop = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mtx);
	pthread_join(w->thread, NULL);
	handoff_free(w->items, item_free);
	pthread_mutex_destroy(&w->mtx);
	pthread_cond_destroy(&w->cond);
	free(w);
}
