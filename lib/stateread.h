/*
 * stateread.h: the one reader of the state file (STATE_DIR/state.json),
 * for tocsin-probed at start and for clients when probed is gone:
 *   {"version":1,"written":UNIX,"spooled":SEQ,"servers":{"ID":{...},...}}
 * Same rules for both: a regular file (no link, no FIFO) of bounded size,
 * JSON, version 1 (any other is refused, never misread), "servers" an
 * object. What one server's entry means is each reader's own business.
 */
#ifndef TOCSIN_STATEREAD_H
#define TOCSIN_STATEREAD_H

#include <stddef.h>
#include <stdint.h>

#define STATE_VERSION	1
#define STATE_FILE_MAX	(256 * 1024 * 1024)	/* bytes, at most */

struct json_t;

struct stateread {
	struct json_t	*root;		/* owned */
	struct json_t	*servers;	/* in root: id -> state object */
	int64_t		 written;	/* Unix s; 0 = not said */
	uint64_t	 spooled;	/* every event up to it is in here */
};

int	 stateread_load(int dirfd, const char *name, struct stateread *,
	    char *err, size_t errlen);
void	 stateread_free(struct stateread *);

#endif
