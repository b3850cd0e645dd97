/*
 * peer.h: who is at the other end of a Unix socket (SO_PEERCRED and
 * SO_PEERGROUPS), and whether they may change things: root, the daemon's
 * own user, or a member of `set control-group`. Shared by every control
 * socket (tocsin-probed's, and lib/ctlsock's for tocsin-pager and
 * tocsin-lb), so the rule is one.
 */
#ifndef TOCSIN_PEER_H
#define TOCSIN_PEER_H

#include <sys/types.h>

#define PEER_GROUPS_MAX	64		/* the peer's groups we look at */

struct peer {
	long	 uid;			/* -1 when not known */
	long	 pid;
	long	 gid;
	gid_t	 groups[PEER_GROUPS_MAX];	/* supplementary */
	int	 ngroups;
};

void	 peer_get(int fd, struct peer *);
int	 peer_privileged(const struct peer *);
int	 peer_may_change(const struct peer *, long group);

#endif
