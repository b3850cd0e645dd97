/*
 * lbtest.c: what tocsin-lb's Check suites share: a member made by hand,
 * and the stub of a call backend.c makes into a file they do not link.
 */
#include <sys/types.h>

#include "xmalloc.h"

#include "lb.h"
#include "lbtest.h"

/* lb/queue.c's, which backend.c calls when a member can take more. */
void
queue_kick_all(void)
{
}

/*
 * A member of weight 1 with the id ID (copied) and the health HEALTH, one
 * reference held: the caller drops it with backend_unref.
 */
struct backend *
lbtest_member(const char *id, enum be_health health)
{
	struct backend	*b = xcalloc(1, sizeof(*b));

	b->id = xstrdup(id);
	b->refs = 1;
	b->weight = 1;
	b->health = health;
	return b;
}
