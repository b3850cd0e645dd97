/*
 * writer.h: results into archives off the event loop: a bounded queue and
 * one writer thread, writing the files with librrd or through rrdcached.
 */
#ifndef TOCSIN_WRITER_H
#define TOCSIN_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"

/*
 * Counters since writer_open. Once writer_close has drained the queue,
 * submitted == written + dropped + skipped + errors.
 */
struct writer_stats {
	uint64_t	 submitted;	/* results given to writer_submit */
	uint64_t	 written;	/* rows written (or to rrdcached) */
	uint64_t	 dropped;	/* oldest, from a full queue */
	uint64_t	 skipped;	/* same second as one kept, or older */
	uint64_t	 errors;	/* bad id, failed create or update */
	uint64_t	 queued;	/* waiting in the queue now */
	uint64_t	 recreated;	/* archives re-created */
};

struct writer;

struct writer	*writer_open(const char *, const char *, size_t);
int		 writer_submit(struct writer *, const char *, unsigned,
		    const struct check_result *);
void		 writer_stats(struct writer *, struct writer_stats *);
void		 writer_close(struct writer *);

#endif
