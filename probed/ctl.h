/*
 * ctl.h: probed's control socket (ctl.c): the engine opens it, tells it
 * what happened (results, hard changes) and closes it; the commands a
 * client may send are in ctl.c's table and in tocsin-probed(8).
 */
#ifndef TOCSIN_CTL_H
#define TOCSIN_CTL_H

#include <stdint.h>

struct ctl;
struct engine;
struct target;
struct check_result;
struct state_change;
struct json_t;

/* ctl.c */
struct ctl	*ctl_open(struct engine *, const char *path);
void		 ctl_close(struct ctl *);
void		 ctl_publish_result(struct ctl *, const struct target *,
		    const struct check_result *);
void		 ctl_publish_event(struct ctl *, const struct target *,
		    uint64_t seq, const struct state_change *);
struct json_t	*ctl_target_json(const struct target *, int64_t now);

#endif
