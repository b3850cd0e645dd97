/*
 * spoolq.h: the worker thread that does probed's blocking disk work: it
 * appends events to the spool (fsync) and writes the state file, then
 * hands each event back to the loop once it is durable.
 */
#ifndef TOCSIN_SPOOLQ_H
#define TOCSIN_SPOOLQ_H

#include <stdint.h>

#include "spool.h"

struct event_base;
struct spoolq;
struct history;

/* On the loop: ev is durable with its sequence number; ctx as given. */
typedef void	(*spoolq_done_fn)(void *arg, const struct spool_event *,
		    void *ctx);

struct spoolq	*spoolq_new(struct event_base *, struct spool *,
		    spoolq_done_fn, void *arg);
void		 spoolq_event(struct spoolq *, const struct spool_event *,
		    void *ctx);
void		 spoolq_write_file(struct spoolq *, int dirfd,
		    const char *name, char *data);
uint64_t	 spoolq_durable_seq(const struct spoolq *);
void		 spoolq_set_history(struct spoolq *, struct history *);
void		 spoolq_free(struct spoolq *);

#endif
