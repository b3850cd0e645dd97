/*
 * listener.c: the farms' listening sockets: bound at start, kept across a
 * reload (handed to the new farm), accepting on the loop and backing off
 * for a while when out of descriptors.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "xmalloc.h"

#include "lb.h"

#define ACCEPT_BACKOFF_MS	100	/* after EMFILE/ENFILE */
#define ACCEPT_FD_RESERVE	8	/* descriptors kept for server sides */
#define ACCEPT_BATCH		64	/* accepts per wake-up, at most */

struct listener {
	struct lb	*lb;
	char		*addr;		/* as written */
	int		 http;
	int		 fd;
	struct event	*ev;		/* readable */
	struct event	*backoff;	/* timer while out of descriptors */
	struct farm	*farm;		/* referenced */
};

static void	on_accept(evutil_socket_t, short, void *);
static void	on_backoff(evutil_socket_t, short, void *);
static int	bind_addr(const char *addr, int reuseport, char *err, size_t);

/* A listening socket on "host:port" or "[v6]:port"; -1 with err. */
static int
bind_addr(const char *addr, int reuseport, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res;
	char		 host[256], *port;
	int		 fd, on = 1, rc;

	if (strlcpy(host, addr, sizeof(host)) >= sizeof(host) ||
	    (port = strrchr(host, ':')) == NULL) {
		snprintf(err, errlen, "listen %s: needs ADDRESS:PORT", addr);
		return -1;
	}
	*port++ = '\0';
	memmove(host, host[0] == '[' ? host + 1 : host, strlen(host) + 1);
	if (host[0] != '\0' && host[strlen(host) - 1] == ']')
		host[strlen(host) - 1] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host[0] == '\0' ? NULL : host, port, &hints,
	    &res)) != 0) {
		snprintf(err, errlen, "listen %s: %s", addr, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (reuseport &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, 1024) == -1) {
		snprintf(err, errlen, "listen %s: %s", addr, strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/*
 * Bind addr and accept for farm f (referenced here). Returns the listener
 * (also in lb->ls once the caller adds it) or NULL with err.
 */
struct listener *
listener_open(struct lb *lb, const char *addr, int http, struct farm *f,
    char *err, size_t errlen)
{
	struct listener	*l;
	int		 fd;

	if ((fd = bind_addr(addr, lb->reuseport, err, errlen)) == -1)
		return NULL;
	l = xcalloc(1, sizeof(*l));
	l->lb = lb;
	l->addr = xstrdup(addr);
	l->http = http;
	l->fd = fd;
	l->ev = event_new(lb->base, fd, EV_READ | EV_PERSIST, on_accept, l);
	l->backoff = evtimer_new(lb->base, on_backoff, l);
	if (l->ev == NULL || l->backoff == NULL || event_add(l->ev, NULL))
		fatalx("listener %s: cannot make its events", addr);
	farm_ref(f);
	l->farm = f;
	log_info("farm %s: listening on %s (%s)", f->name, addr,
	    http ? "http" : "tcp");
	return l;
}

/* Take the running listener on addr in that mode out of lb->ls, for a
 * reload to keep; NULL when there is none. */
struct listener *
listener_take(struct lb *lb, const char *addr, int http)
{
	struct listener	*l;
	size_t		 i;

	for (i = 0; i < lb->nls; i++) {
		l = lb->ls[i];
		if (l != NULL && l->http == http && strcmp(l->addr, addr) == 0) {
			lb->ls[i] = NULL;
			return l;
		}
	}
	return NULL;
}

/* Hand a kept listener to the reloaded farm. */
void
listener_set_farm(struct listener *l, struct farm *f)
{
	farm_ref(f);
	farm_unref(l->farm);
	l->farm = f;
}

const char *
listener_addr(const struct listener *l)
{
	return l->addr;
}

void
listener_close(struct listener *l)
{
	if (l == NULL)
		return;
	event_free(l->ev);
	event_free(l->backoff);
	close(l->fd);
	farm_unref(l->farm);
	free(l->addr);
	free(l);
}

/*
 * The descriptor limit, read once (a getrlimit(2) an accept cost as much
 * as a system call a request in close mode); it is set at start and
 * never changes. RLIM_INFINITY when there is none.
 */
static rlim_t
fd_limit(void)
{
	static _Thread_local rlim_t lim;	/* 0: not read yet */
	struct rlimit	 rl;

	if (lim == 0)
		lim = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur :
		    RLIM_INFINITY;
	return lim;
}

/*
 * fd leaves fewer than ACCEPT_FD_RESERVE descriptors below the limit: a
 * client accepted there is closed.
 */
int
listener_fd_scarce(int fd)
{
	rlim_t	 lim = fd_limit();

	return lim != RLIM_INFINITY && (rlim_t)fd + ACCEPT_FD_RESERVE >= lim;
}

/*
 * fd is in the lower half of the descriptors: room for extras a session
 * can do without (a tcp session's pipes, two descriptors a direction).
 * In the upper half, descriptors are kept for clients and their members,
 * two a session, so that near the limit more clients are served, more
 * slowly, rather than fewer, faster.
 */
int
listener_fd_plenty(int fd)
{
	rlim_t	 lim = fd_limit();

	return lim == RLIM_INFINITY || (rlim_t)fd < lim / 2;
}

/* Accept what is waiting (a batch at most) and hand each to the proxy.
 * Out of descriptors, or a client whose descriptor leaves fewer than
 * ACCEPT_FD_RESERVE for its server side (closed at once): stop accepting
 * for ACCEPT_BACKOFF_MS. */
static void
on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct listener		*l = arg;
	struct sockaddr_storage	 ss;
	struct timeval		 tv = { 0, ACCEPT_BACKOFF_MS * 1000 };
	socklen_t		 len;
	int			 c, i;

	(void)what;
	for (i = 0; i < ACCEPT_BATCH; i++) {
		len = sizeof(ss);
		c = accept4(fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c != -1 && listener_fd_scarce(c)) {
			close(c);
			c = -1;
			errno = EMFILE;
		}
		if (c == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				log_warn("listen %s: accept, backing off",
				    l->addr);
				event_del(l->ev);
				evtimer_add(l->backoff, &tv);
			} else if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("listen %s: accept", l->addr);
			return;
		}
		if (l->http)
			proxy_http_accept(l->lb, l->farm, c,
			    (struct sockaddr *)&ss, len);
		else
			proxy_tcp_accept(l->lb, l->farm, c,
			    (struct sockaddr *)&ss, len);
	}
}

static void
on_backoff(evutil_socket_t fd, short what, void *arg)
{
	struct listener	*l = arg;

	(void)fd;
	(void)what;
	event_add(l->ev, NULL);
}
