/*
 * ctl.h: probed's control socket (ctl.c): the engine opens it, tells it
 * what happened (results, hard changes) and closes it; the commands a
 * client may send are in ctl.c's table and in tocsin-probed(8).
 */
#ifndef TOCSIN_CTL_H
#define TOCSIN_CTL_H

#include <stdint.h>
#include <sys/types.h>

struct ctl;
struct engine;
struct target;
struct check_result;
struct state_change;
struct json_t;

/*
 * Who may change things: root and the daemon's own user always; with
 * group set (>= 0), also members of that group (primary or
 * supplementary, as the kernel reports them for the peer); with none,
 * anyone who can connect. Reading (status, stats, watch, downtimes) is
 * open to anyone who can connect.
 */
struct ctl_access {
	long	 group;		/* gid; -1 = none configured */
};

/* ctl.c */
struct ctl	*ctl_open(struct engine *, const char *path);
void		 ctl_close(struct ctl *);
void		 ctl_set_access(struct ctl *, const struct ctl_access *);
void		 ctl_set_idle_timeout(struct ctl *, int ms);
void		 ctl_publish_result(struct ctl *, const struct target *,
		    const struct check_result *);
void		 ctl_publish_event(struct ctl *, const struct target *,
		    uint64_t seq, const struct state_change *);
void		 ctl_publish_server(struct ctl *, const struct target *,
		    const char *what);
struct json_t	*ctl_target_json(struct engine *, const struct target *,
		    int64_t now);

#endif
