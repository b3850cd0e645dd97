/*
 * ctlsock.c: a control socket in probed's protocol for a daemon that
 * answers requests (tocsin-pager): a Unix stream socket, mode 0660, each
 * line a request handed to the daemon's handler, each answer one compact
 * JSON line. A handler may answer later (ctlsock_reply); until it does,
 * that client's next lines wait in its buffer.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>

#include "ctlclient.h"
#include "ctlsock.h"
#include "jsontext.h"
#include "log.h"
#include "peer.h"
#include "xmalloc.h"

#define CTLSOCK_IDLE_S		120	/* a silent client is closed after */
#define CTLSOCK_BACKLOG		16
#define CTLSOCK_CLIENTS_MAX	64	/* at once; the next is refused */
/* A client's lines waiting behind an answer: reading stops at this much. */
#define CTLSOCK_IN_MAX		(4 * (CTL_REQUEST_MAX + 1))
/* A client's answers not yet taken: no more of its requests are read
 * until they drain to CTLSOCK_OUT_LOW (a client that sends and never
 * reads costs this, then the write timeout closes it). */
#define CTLSOCK_OUT_MAX		(1024 * 1024)
#define CTLSOCK_OUT_LOW		(CTLSOCK_OUT_MAX / 2)

struct client;
TAILQ_HEAD(clients, client);

struct ctlsock {
	struct event_base	*base;
	char			*path;
	struct evconnlistener	*listener;
	ctlsock_fn		*fn;
	void			*arg;
	struct clients		 clients;
	size_t			 nclients;
};

struct client {
	struct ctlsock		*cs;
	struct bufferevent	*bev;
	struct ctlsock_req	*pending;	/* answer awaited */
	int			 eof;		/* the client sent its all */
	int			 full;		/* answers untaken: no reading */
	struct peer		 peer;
	TAILQ_ENTRY(client)	 entry;
};

/* A request answered later; c is NULL once the client is gone. */
struct ctlsock_req {
	struct client		*c;
	int			 in_handler;	/* its handler runs */
	json_t			*early;		/* answered before it returned */
};

static void	on_accept(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	on_read(struct bufferevent *, void *);
static void	on_drained(struct bufferevent *, void *);
static void	on_written(struct bufferevent *, void *);
static void	on_event(struct bufferevent *, short, void *);
static void	answer(struct client *, json_t *);
static void	client_free(struct client *);
static void	client_close_when_written(struct client *);

/*
 * Listen at path (a stale socket there is replaced: the caller's locked
 * pidfile says no other instance runs). fn(req, line, arg) answers each
 * request. Returns NULL with err set.
 */
struct ctlsock *
ctlsock_open(struct event_base *base, const char *path, ctlsock_fn *fn,
    void *arg, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct ctlsock		*cs;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket %s: path too long "
		    "(%zu bytes at most)", path, sizeof(sun.sun_path) - 1);
		return NULL;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "control socket %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		return NULL;
	}
	/* The node takes the socket's mode: never more open than 0660. */
	(void)fchmod(fd, 0660);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0660) == -1) {
		snprintf(err, errlen, "control socket %s: %s", path,
		    strerror(errno));
		close(fd);
		return NULL;
	}
	cs = xcalloc(1, sizeof(*cs));
	cs->base = base;
	cs->path = xstrdup(path);
	cs->fn = fn;
	cs->arg = arg;
	TAILQ_INIT(&cs->clients);
	if ((cs->listener = evconnlistener_new(base, on_accept, cs,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, CTLSOCK_BACKLOG,
	    fd)) == NULL) {
		snprintf(err, errlen, "control socket %s: listen: %s", path,
		    strerror(errno));
		close(fd);
		unlink(path);
		free(cs->path);
		free(cs);
		return NULL;
	}
	return cs;
}

/* Stop listening, drop every client (answers awaited go nowhere) and
 * remove the socket. */
void
ctlsock_close(struct ctlsock *cs)
{
	struct client *c;

	if (cs == NULL)
		return;
	evconnlistener_free(cs->listener);
	while ((c = TAILQ_FIRST(&cs->clients)) != NULL)
		client_free(c);
	unlink(cs->path);
	free(cs->path);
	free(cs);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct ctlsock		*cs = arg;
	struct client		*c;
	struct timeval		 tv = { CTLSOCK_IDLE_S, 0 };
	static const char	 busy[] = "{\"ok\":false,\"error\":\"too many "
				    "clients\"}\n";

	if (cs->nclients >= CTLSOCK_CLIENTS_MAX) {
		(void)write(fd, busy, sizeof(busy) - 1);
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->cs = cs;
	peer_get(fd, &c->peer);
	if ((c->bev = bufferevent_socket_new(cs->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&cs->clients, c, entry);
	cs->nclients++;
	bufferevent_setcb(c->bev, on_read, on_written, on_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, CTLSOCK_IN_MAX);
	bufferevent_setwatermark(c->bev, EV_WRITE, CTLSOCK_OUT_LOW, 0);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* One compact JSON line to the client. */
static void
answer(struct client *c, json_t *j)
{
	char *s;

	if ((s = json_dumps(j, JSONTEXT_DUMP_FLAGS)) == NULL)
		fatalx("out of memory for an answer");
	evbuffer_add_printf(bufferevent_get_output(c->bev), "%s\n", s);
	free(s);
	json_decref(j);
}

/*
 * Each whole line a request, in order; none while an answer is awaited,
 * nor while the client leaves CTLSOCK_OUT_MAX of answers untaken (reading
 * stops; on_written goes on). A line longer than CTL_REQUEST_MAX gets an
 * error and the connection closes once it is written.
 */
static void
on_read(struct bufferevent *bev, void *arg)
{
	struct client		*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct ctlsock_req	*req;
	json_t			*ans;
	char			*line;
	size_t			 len;

	while (c->pending == NULL) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) >=
		    CTLSOCK_OUT_MAX) {
			c->full = 1;
			bufferevent_disable(bev, EV_READ);
			return;
		}
		if ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) ==
		    NULL)
			break;
		req = xcalloc(1, sizeof(*req));
		req->c = c;
		req->in_handler = 1;
		ans = c->cs->fn(req, line, c->cs->arg);
		req->in_handler = 0;
		free(line);
		if (ans == NULL)
			ans = req->early;
		if (ans == NULL) {
			c->pending = req;
			return;
		}
		free(req);
		answer(c, ans);
	}
	if (c->pending == NULL && evbuffer_get_length(in) > CTL_REQUEST_MAX) {
		answer(c, json_pack("{sbss}", "ok", 0, "error",
		    "request line too long"));
		client_close_when_written(c);
		return;
	}
	if (c->pending == NULL && c->eof)
		client_close_when_written(c);
}

/* Who sent req (lib/peer), or NULL once the client is gone. */
const struct peer *
ctlsock_peer(const struct ctlsock_req *req)
{
	return req->c != NULL ? &req->c->peer : NULL;
}

/*
 * The answer to a request its handler kept: written when the client is
 * still there (then its waiting lines are read), else dropped. Frees req.
 */
void
ctlsock_reply(struct ctlsock_req *req, json_t *ans)
{
	struct client *c = req->c;

	if (req->in_handler) {
		/* Answered before its handler returned: on_read sends it. */
		req->early = ans;
		return;
	}
	free(req);
	if (c == NULL) {
		json_decref(ans);
		return;
	}
	c->pending = NULL;
	answer(c, ans);
	on_read(c->bev, c);
}

/* Close once everything queued is written. */
static void
client_close_when_written(struct client *c)
{
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_setcb(c->bev, NULL, on_drained, on_event, c);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		client_free(c);
}

static void
on_drained(struct bufferevent *bev, void *arg)
{
	(void)bev;
	client_free(arg);
}

/* Its answers drained to CTLSOCK_OUT_LOW: read its requests again. */
static void
on_written(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;

	if (!c->full)
		return;
	c->full = 0;
	if (!c->eof)
		bufferevent_enable(bev, EV_READ);
	on_read(bev, c);
}

/* The client closed its side (its answers still go), failed or idled. */
static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;

	(void)bev;
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
		c->eof = 1;
		if (c->pending == NULL)
			client_close_when_written(c);
		else
			bufferevent_disable(c->bev, EV_READ);
		return;
	}
	client_free(c);
}

/* The one teardown of a client; an answer awaited goes nowhere. */
static void
client_free(struct client *c)
{
	if (c->pending != NULL)
		c->pending->c = NULL;
	TAILQ_REMOVE(&c->cs->clients, c, entry);
	c->cs->nclients--;
	bufferevent_free(c->bev);
	free(c);
}
