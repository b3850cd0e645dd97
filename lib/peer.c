/*
 * peer.c: the credentials of a Unix socket's peer, and the one rule for
 * who may change things through a control socket.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <string.h>
#include <unistd.h>

#include "peer.h"

/* The peer of fd, as far as the kernel says (uid -1 when it does not). */
void
peer_get(int fd, struct peer *p)
{
	struct ucred	 uc;
	socklen_t	 len = sizeof(uc);

	memset(p, 0, sizeof(*p));
	p->uid = p->pid = p->gid = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0) {
		p->uid = (long)uc.uid;
		p->pid = (long)uc.pid;
		p->gid = (long)uc.gid;
	}
#ifdef SO_PEERGROUPS
	len = sizeof(p->groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, p->groups, &len) == 0)
		p->ngroups = (int)(len / sizeof(p->groups[0]));
#endif
}

/* Root and the daemon's own user. */
int
peer_privileged(const struct peer *p)
{
	return p->uid == 0 || (p->uid >= 0 && (uid_t)p->uid == geteuid());
}

/*
 * Whether p may send what changes things: anyone when group < 0 (no `set
 * control-group`), else root, the daemon's user and the group's members.
 */
int
peer_may_change(const struct peer *p, long group)
{
	int	 i;

	if (group < 0 || peer_privileged(p) || p->gid == group)
		return 1;
	for (i = 0; i < p->ngroups; i++)
		if ((long)p->groups[i] == group)
			return 1;
	return 0;
}
