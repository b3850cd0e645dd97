/*
 * handoff.c: a queue from any thread to an event loop. handoff_push may
 * be called from any thread; the loop calls fn on each item, in the order
 * pushed, from one libevent event activated by the push. The daemons run
 * libevent with its thread locks on (evthread_use_pthreads), which
 * event_active from another thread needs.
 */
#include <sys/queue.h>

#include <pthread.h>
#include <stdlib.h>

#include <event2/event.h>

#include "log.h"
#include "xmalloc.h"

#include "handoff.h"

struct node {
	void			*item;
	STAILQ_ENTRY(node)	 entry;
};
STAILQ_HEAD(nodes, node);

struct handoff {
	handoff_fn	*fn;
	void		*arg;
	pthread_mutex_t	 mtx;
	struct nodes	 q;		/* under mtx */
	struct event	*ev;
};

static void	 on_pushed(evutil_socket_t, short, void *);

/* On the loop: every item queued so far, in order. */
static void
on_pushed(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	handoff_drain(arg);
}

/* A handoff whose items go to fn(item, arg) on base's loop. Fatal when
 * libevent cannot make its event (start-up only). */
struct handoff *
handoff_new(struct event_base *base, handoff_fn *fn, void *arg)
{
	struct handoff	*h;

	h = xcalloc(1, sizeof(*h));
	h->fn = fn;
	h->arg = arg;
	STAILQ_INIT(&h->q);
	pthread_mutex_init(&h->mtx, NULL);
	if ((h->ev = event_new(base, -1, 0, on_pushed, h)) == NULL)
		fatalx("handoff: event_new");
	return h;
}

/* From any thread: queue item for the loop. */
void
handoff_push(struct handoff *h, void *item)
{
	struct node	*n;

	n = xmalloc(sizeof(*n));
	n->item = item;
	pthread_mutex_lock(&h->mtx);
	STAILQ_INSERT_TAIL(&h->q, n, entry);
	pthread_mutex_unlock(&h->mtx);
	event_active(h->ev, EV_READ, 0);
}

/*
 * Call fn for every item queued so far, in order, on the caller's thread
 * (the loop's, or the owner's once no other thread pushes). Items pushed
 * meanwhile wait for the next round.
 */
void
handoff_drain(struct handoff *h)
{
	struct nodes	 list;
	struct node	*n;

	STAILQ_INIT(&list);
	pthread_mutex_lock(&h->mtx);
	STAILQ_CONCAT(&list, &h->q);
	pthread_mutex_unlock(&h->mtx);
	while ((n = STAILQ_FIRST(&list)) != NULL) {
		STAILQ_REMOVE_HEAD(&list, entry);
		h->fn(n->item, h->arg);
		free(n);
	}
}

/*
 * Free, once no thread pushes any more: items still queued go to drop
 * (NULL: to the handoff's fn, as on the loop). NULL h is nothing.
 */
void
handoff_free(struct handoff *h, handoff_fn *drop)
{
	if (h == NULL)
		return;
	if (drop != NULL)
		h->fn = drop;
	handoff_drain(h);
	event_free(h->ev);
	pthread_mutex_destroy(&h->mtx);
	free(h);
}
