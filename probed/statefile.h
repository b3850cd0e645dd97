/*
 * statefile.h: tocsin-probed's state file (STATE_DIR/state.json): every
 * server's state, built on the loop a slice at a time and written by the
 * spool worker after the events it follows from; read back at start and
 * brought level with the spool where a crash left it behind.
 */
#ifndef TOCSIN_STATEFILE_H
#define TOCSIN_STATEFILE_H

struct engine;
struct spoolq;
struct statefile;

struct statefile *statefile_open(struct engine *, struct spoolq *,
		    const char *state_dir, char **err);
void		 statefile_load(struct statefile *);
void		 statefile_touch(struct statefile *);
void		 statefile_save(struct statefile *);
void		 statefile_abort(struct statefile *);
void		 statefile_flush(struct statefile *);
void		 statefile_free(struct statefile *);

#endif
