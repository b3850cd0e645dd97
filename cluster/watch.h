/*
 * watch.h: a JetStream key-value bucket watched from the daemon's loop
 * (watch.c).
 */
#ifndef TOCSIN_WATCH_H
#define TOCSIN_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

struct event_base;
struct watch;

/*
 * One change of the bucket, on the loop. key NULL: the values the bucket
 * held when the watch (re)started were all given (initial was 1 for
 * them; live changes after it have 0). value is NUL-terminated, len bytes;
 * deleted: the key was deleted or purged. All are the callee's to read
 * only during the call.
 */
struct watch_entry {
	const char	*key;
	const char	*value;
	size_t		 len;
	uint64_t	 rev;
	int		 deleted;
	int		 initial;
};
typedef void	(watch_fn)(const struct watch_entry *, void *arg);

struct watch	*watch_new(struct event_base *, kvStore *, watch_fn *,
		    void *arg);
void		 watch_restart(struct watch *);
void		 watch_free(struct watch *);

#endif
