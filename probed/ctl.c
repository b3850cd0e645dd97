/*
 * ctl.c: the control socket. tocsinctl, tocsin.cgi and tocsin-lb connect
 * to a Unix socket to read status, act on servers (check, ack, downtime,
 * drain, enable, reload) and watch results and state changes as they
 * happen: one request a line, one compact JSON object a line back.
 *
 * Nothing a client does can block the loop or grow without bound: a
 * request line is at most CTL_REQUEST_MAX bytes, at most CTL_IN_MAX bytes
 * are read ahead, a client's requests wait while its answers fill
 * CTL_OUT_MAX, and a watcher whose stream would pass CTL_OUT_MAX is
 * dropped. Nor can clients lock others out: one that is not watching
 * and sends nothing for CTL_IDLE_S is closed, and the last CTL_RESERVED
 * places are kept for root and the daemon's own user.
 *
 * The commands are one table (ctl_cmds): those that change anything need
 * the peer's uid to be root, the daemon's, or in the control group.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <jansson.h>

#include "ctlclient.h"
#include "daemon.h"
#include "jsontext.h"
#include "log.h"
#include "peer.h"
#include "util.h"
#include "xmalloc.h"

#include "ctl.h"
#include "probed.h"

#define CTL_CLIENTS_MAX	256		/* connected at once; more refused */
#define CTL_RESERVED	16		/* of those, kept for root and us */
#define CTL_IDLE_S	10		/* a silent non-watcher is closed */
#define CTL_DOWNTIME_MAX_S (366LL * 86400)	/* the longest downtime */
#define CTL_OUT_MAX	(1024 * 1024)	/* bytes queued for one client */
#define CTL_IN_MAX	(2 * CTL_REQUEST_MAX)	/* bytes read ahead */
#define CTL_BACKLOG	64
#define CTL_BACKOFF_S	1		/* accept pause after EMFILE */
#define CTL_FLUSH_S	5		/* to write a last answer, then close */
/* 15 digits: a double shows a decimal of up to 15 digits exactly, so
 * 0.687 ms prints as 0.687 (16 would print 0.6870000000000001). */
#define CTL_FULL_LINE	"{\"ok\":false,\"error\":\"too many clients\"}\n"

/*
 * One connected client. Its one teardown is client_close(); a callback
 * holds `busy` so the struct outlives a close that happens inside it.
 */
struct ctl_client {
	TAILQ_ENTRY(ctl_client)	 entry;
	struct ctl		*ctl;
	struct bufferevent	*bev;	/* NULL once closed */
	unsigned		 id;	/* for log lines */
	struct peer		 peer;	/* uid -1 when not known */
	int			 watching;
	int			 paused;	/* queue full: requests wait */
	int			 eof;		/* the peer has sent all */
	int			 rejected;	/* answering, then closing */
	int			 busy;		/* its callbacks running */
	int			 closed;
};

struct ctl {
	struct engine		*eng;
	struct evconnlistener	*listener;
	struct event		*backoff;	/* re-enables the listener */
	char			*path;
	dev_t			 dev;		/* the socket we bound, so we */
	ino_t			 ino;		/* unlink that one only */
	TAILQ_HEAD(, ctl_client) clients;
	size_t			 nclients;
	size_t			 nwatchers;
	unsigned		 next_id;
	uint64_t		 dropped;	/* slow watchers dropped */
	size_t			 out_highwater;	/* bytes: longest queue */
	int			 full_logged;
	long			 group;		/* control group; -1 = none */
	int			 idle_ms;	/* CTL_IDLE_S, or a test's */
};

/* One command: its handler gets the words after the name. */
struct ctl_cmd {
	const char	*name;
	json_t		*(*fn)(struct ctl_client *, char *);
	int		 changes;	/* needs the right to change things */
	const char	*help;		/* its usage */
};

static int	 clear_stale(const char *, const struct sockaddr_un *);
static void	 on_accept(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	 on_accept_error(struct evconnlistener *, void *);
static void	 on_backoff(evutil_socket_t, short, void *);
static void	 on_client_read(struct bufferevent *, void *);
static void	 on_client_write(struct bufferevent *, void *);
static void	 on_client_event(struct bufferevent *, short, void *);
static void	 client_process(struct ctl_client *);
static void	 client_request(struct ctl_client *, char *);
static void	 client_send(struct ctl_client *, json_t *);
static void	 client_reject(struct ctl_client *, const char *);
static void	 client_finish(struct ctl_client *);
static void	 client_close(struct ctl_client *, const char *);
static void	 client_release(struct ctl_client *);
static const char *client_name(const struct ctl_client *);
static void	 client_idle_timer(struct ctl_client *);
static const struct ctl_cmd *find_cmd(const char *);
static json_t	*answer_usage(const char *);
static json_t	*status_json(struct engine *, const struct target *,
		    int64_t);
static void	 note_queue(struct ctl *, struct evbuffer *);
static void	 broadcast(struct ctl *, json_t *);
static char	*json_line(json_t *, size_t *);
static json_t	*json_ms(int64_t);
static json_t	*answer_ok(void);
static json_t	*answer_err(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
static json_t	*answer_errstr(const char *);
static char	*next_word(char **);
static char	*rest_of_line(char **);
static struct target *find_target(struct ctl_client *, const char *,
		    json_t **);
static size_t	 find_scope(struct ctl_client *, const char *,
		    struct target ***, int *);
static int	 target_unreachable(struct engine *, const struct target *);
static unsigned	 next_downtime_id(struct engine *);
static int	 parse_length(const char *, int64_t *, char *, size_t);
static int	 parse_when(const char *, int64_t, int64_t *, char *, size_t);
static char	*unquote(char *);
static int	 cmp_downtime(const void *, const void *);
static void	 qsort_downtimes(json_t *);
static void	 save_and_publish(struct ctl_client *, struct target **,
		    size_t, const char *);
static json_t	*cmd_status(struct ctl_client *, char *);
static json_t	*cmd_stats(struct ctl_client *, char *);
static json_t	*cmd_watch(struct ctl_client *, char *);
static json_t	*cmd_check(struct ctl_client *, char *);
static json_t	*cmd_ack(struct ctl_client *, char *);
static json_t	*cmd_downtime(struct ctl_client *, char *);
static json_t	*cmd_drain(struct ctl_client *, char *);
static json_t	*cmd_enable(struct ctl_client *, char *);
static json_t	*cmd_reload(struct ctl_client *, char *);
static json_t	*cmd_downtimes(struct ctl_client *, char *);
static json_t	*cmd_downtime_cancel(struct ctl_client *, char *);
static json_t	*cmd_help(struct ctl_client *, char *);

static const struct ctl_cmd ctl_cmds[] = {
	{ "status",	cmd_status,	0, "status [ID]" },
	{ "stats",	cmd_stats,	0, "stats" },
	{ "watch",	cmd_watch,	0, "watch" },
	{ "downtimes",	cmd_downtimes,	0, "downtimes [ID|FARM]" },
	{ "help",	cmd_help,	0, "help" },
	{ "check",	cmd_check,	1, "check ID" },
	{ "ack",	cmd_ack,	1, "ack ID [COMMENT]" },
	{ "downtime",	cmd_downtime,	1, "downtime ID|FARM [from WHEN] "
	    "[for] DURATION [COMMENT]" },
	{ "downtime-cancel", cmd_downtime_cancel, 1,
	    "downtime-cancel N|ID|FARM" },
	{ "drain",	cmd_drain,	1, "drain ID" },
	{ "enable",	cmd_enable,	1, "enable ID" },
	{ "reload",	cmd_reload,	1, "reload" },
};
#define CTL_NCMDS	(sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

/*
 * Open the control socket at path on the engine's loop: mode 0660 (the
 * daemon's group may use it), a stale socket left by a dead probed is
 * replaced, but a live one (something accepts there) or a file that is
 * not a socket makes this fail. Returns the control socket, or NULL with
 * errno set after logging why.
 */
struct ctl *
ctl_open(struct engine *eng, const char *path)
{
	struct sockaddr_un	 sun;
	struct stat		 sb;
	struct ctl		*ctl;
	int			 fd, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		log_warnx("control socket %s: path longer than %zu bytes",
		    path, sizeof(sun.sun_path) - 1);
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (clear_stale(path, &sun) == -1)
		return NULL;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("control socket %s: socket", path);
		return NULL;
	}
	/* On Linux the node bind() creates takes the socket's mode (less the
	 * umask), so it is never more open than 0660, not even briefly. */
	(void)fchmod(fd, 0660);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		saved = errno;
		log_warn("control socket %s: bind", path);
		close(fd);
		errno = saved;
		return NULL;
	}
	if (chmod(path, 0660) == -1 || lstat(path, &sb) == -1) {
		saved = errno;
		log_warn("control socket %s: chmod", path);
		unlink(path);
		close(fd);
		errno = saved;
		return NULL;
	}

	ctl = xcalloc(1, sizeof(*ctl));
	ctl->eng = eng;
	ctl->path = xstrdup(path);
	ctl->dev = sb.st_dev;
	ctl->ino = sb.st_ino;
	ctl->group = -1;
	ctl->idle_ms = CTL_IDLE_S * 1000;
	TAILQ_INIT(&ctl->clients);
	ctl->listener = evconnlistener_new(engine_base(eng), on_accept, ctl,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, CTL_BACKLOG, fd);
	if (ctl->listener == NULL) {
		saved = errno;
		log_warn("control socket %s: listen", path);
		close(fd);
		goto fail;
	}
	evconnlistener_set_error_cb(ctl->listener, on_accept_error);
	if ((ctl->backoff = evtimer_new(engine_base(eng), on_backoff,
	    ctl)) == NULL) {
		saved = ENOMEM;
		log_warnx("control socket %s: evtimer_new failed", path);
		goto fail;
	}
	log_debug("control socket %s", path);
	return ctl;
fail:
	ctl_close(ctl);
	errno = saved;
	return NULL;
}

/*
 * Who may change things beyond root and the daemon's user: the members of
 * a->group, or anyone who can connect when it is -1. Applies to the next
 * request of every client, connected or not.
 */
void
ctl_set_access(struct ctl *ctl, const struct ctl_access *a)
{
	ctl->group = a->group;
}

/* Close a silent client that is not watching after ms (CTL_IDLE_S by
 * default); for the clients that connect from now on. */
void
ctl_set_idle_timeout(struct ctl *ctl, int ms)
{
	ctl->idle_ms = ms;
}

/*
 * Before binding: 0 when path is free, or held a stale socket (nothing
 * accepts there) that is now removed; -1 (logged, errno set) when another
 * process answers there, or the path is not a socket, or cannot be
 * checked.
 */
static int
clear_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat	 sb;
	int		 fd, r, saved;

	if (lstat(path, &sb) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("control socket %s", path);
		return -1;
	}
	if (!S_ISSOCK(sb.st_mode)) {
		log_warnx("control socket %s: exists and is not a socket",
		    path);
		errno = EEXIST;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("control socket %s: socket", path);
		return -1;
	}
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	saved = errno;
	close(fd);
	if (r == 0 || saved == EAGAIN) {
		log_warnx("control socket %s: another tocsin-probed answers "
		    "there", path);
		errno = EADDRINUSE;
		return -1;
	}
	if (saved != ECONNREFUSED) {
		errno = saved;
		log_warn("control socket %s: connect", path);
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("control socket %s: removing a stale socket", path);
		return -1;
	}
	log_info("control socket %s: removed a stale socket", path);
	return 0;
}

/*
 * Close every client, stop listening and remove the socket (if it is
 * still the one we bound). ctl may be NULL.
 */
void
ctl_close(struct ctl *ctl)
{
	struct ctl_client	*c;
	struct stat		 sb;

	if (ctl == NULL)
		return;
	while ((c = TAILQ_FIRST(&ctl->clients)) != NULL)
		client_close(c, NULL);
	if (ctl->listener != NULL)
		evconnlistener_free(ctl->listener);
	if (lstat(ctl->path, &sb) == 0 && sb.st_dev == ctl->dev &&
	    sb.st_ino == ctl->ino)
		unlink(ctl->path);
	if (ctl->backoff != NULL)
		event_free(ctl->backoff);
	free(ctl->path);
	free(ctl);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct ctl		*ctl = arg;
	struct ctl_client	*c;
	(void)sa;
	(void)salen;
	c = xcalloc(1, sizeof(*c));
	c->ctl = ctl;
	peer_get(fd, &c->peer);
	if (ctl->nclients >= CTL_CLIENTS_MAX || (ctl->nclients >=
	    CTL_CLIENTS_MAX - CTL_RESERVED && !peer_privileged(&c->peer))) {
		if (!ctl->full_logged)
			log_warnx("control: %zu clients connected; refusing "
			    "more%s", ctl->nclients,
			    ctl->nclients < CTL_CLIENTS_MAX ? " but from root "
			    "and the daemon's user" : "");
		ctl->full_logged = 1;
		(void)send(fd, CTL_FULL_LINE, sizeof(CTL_FULL_LINE) - 1,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->id = ++ctl->next_id;
	c->bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		log_warnx("control: bufferevent_socket_new failed");
		evutil_closesocket(fd);
		free(c);
		return;
	}
	bufferevent_setcb(c->bev, on_client_read, on_client_write,
	    on_client_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, CTL_IN_MAX);
	client_idle_timer(c);
	if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) == -1) {
		log_warnx("control: bufferevent_enable failed");
		bufferevent_free(c->bev);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&ctl->clients, c, entry);
	ctl->nclients++;
	log_debug("control: %s connected", client_name(c));
}

/*
 * accept() failed. Out of descriptors or memory, the listener would fire
 * again at once: swap it for a timer that turns it back on in
 * CTL_BACKOFF_S, as tmux does. Anything else is logged and passes.
 */
static void
on_accept_error(struct evconnlistener *l, void *arg)
{
	struct ctl	*ctl = arg;
	struct timeval	 tv = { CTL_BACKOFF_S, 0 };
	int		 err = EVUTIL_SOCKET_ERROR();

	if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM) {
		log_warnx("control: accept: %s; pausing %d s", strerror(err),
		    CTL_BACKOFF_S);
		evconnlistener_disable(l);
		evtimer_add(ctl->backoff, &tv);
		return;
	}
	log_warnx("control: accept: %s", strerror(err));
}

static void
on_backoff(evutil_socket_t fd, short what, void *arg)
{
	struct ctl	*ctl = arg;

	(void)fd;
	(void)what;
	if (evconnlistener_enable(ctl->listener) == -1)
		log_warnx("control: cannot resume accepting");
}

static void
on_client_read(struct bufferevent *bev, void *arg)
{
	struct ctl_client	*c = arg;

	(void)bev;
	c->busy++;
	client_process(c);
	client_finish(c);
	client_release(c);
}

/* The output queue drained: requests held back by it go on. */
static void
on_client_write(struct bufferevent *bev, void *arg)
{
	struct ctl_client	*c = arg;

	(void)bev;
	c->busy++;
	if (c->paused) {
		c->paused = 0;
		client_process(c);
	}
	client_finish(c);
	client_release(c);
}

static void
on_client_event(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_client	*c = arg;

	(void)bev;
	c->busy++;
	if (what & BEV_EVENT_EOF) {
		c->eof = 1;
		client_finish(c);
	} else if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING)) {
		log_debug("control: %s idle for %d ms; closing",
		    client_name(c), c->ctl->idle_ms);
		client_close(c, NULL);
	} else if (what & BEV_EVENT_TIMEOUT)
		client_close(c, "last answer not read in time");
	else if (what & BEV_EVENT_ERROR) {
		log_debug("control: %s: %s", client_name(c),
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		client_close(c, NULL);
	}
	client_release(c);
}

/*
 * Answer the complete request lines that have arrived, in order, until
 * the input runs out, the answers queued reach CTL_OUT_MAX (the rest
 * waits for on_client_write), or the client goes. Called with c->busy
 * held.
 */
static void
client_process(struct ctl_client *c)
{
	struct evbuffer	*in, *out;
	char		*line;
	size_t		 len;

	while (!c->closed && !c->rejected) {
		in = bufferevent_get_input(c->bev);
		out = bufferevent_get_output(c->bev);
		if (evbuffer_get_length(out) >= CTL_OUT_MAX) {
			c->paused = 1;
			return;
		}
		if ((line = evbuffer_readln(in, &len,
		    EVBUFFER_EOL_LF)) == NULL) {
			if (evbuffer_get_length(in) > CTL_REQUEST_MAX)
				client_reject(c, "request line too long");
			return;
		}
		if (len > CTL_REQUEST_MAX)
			client_reject(c, "request line too long");
		else
			client_request(c, line);
		free(line);
	}
}

/*
 * After a callback: a client that has said all it will (EOF) and has had
 * every answer written is closed; so is a rejected one. A watcher that
 * shuts its side down (`echo watch | nc -U ...`) keeps its stream.
 */
static void
client_finish(struct ctl_client *c)
{
	if (c->closed || c->paused || (!c->rejected && (!c->eof ||
	    c->watching)))
		return;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		client_close(c, NULL);
}

/*
 * The one teardown of a client: forget it, free its bufferevent (which
 * closes the socket; libevent allows this inside the bufferevent's own
 * callback), and free it unless a callback of its is running, which then
 * frees it on the way out (client_release). why, if not NULL, is logged
 * as a warning. Safe to call twice.
 */
static void
client_close(struct ctl_client *c, const char *why)
{
	struct ctl	*ctl = c->ctl;

	if (c->closed)
		return;
	if (why != NULL)
		log_warnx("control: %s dropped: %s", client_name(c), why);
	else
		log_debug("control: %s closed", client_name(c));
	c->closed = 1;
	TAILQ_REMOVE(&ctl->clients, c, entry);
	ctl->nclients--;
	if (ctl->nclients < CTL_CLIENTS_MAX - CTL_RESERVED)
		ctl->full_logged = 0;
	if (c->watching)
		ctl->nwatchers--;
	bufferevent_free(c->bev);
	c->bev = NULL;
	if (c->busy == 0)
		free(c);
}

static void
client_release(struct ctl_client *c)
{
	if (--c->busy == 0 && c->closed)
		free(c);
}

/* "client 3 (uid 1000, pid 4242)", in a static buffer. */
static const char *
client_name(const struct ctl_client *c)
{
	static char	 buf[64];

	if (c->peer.uid >= 0)
		snprintf(buf, sizeof(buf), "client %u (uid %ld, pid %ld)",
		    c->id, c->peer.uid, c->peer.pid);
	else
		snprintf(buf, sizeof(buf), "client %u", c->id);
	return buf;
}


/*
 * A client that does not watch is closed after idle_ms without a byte
 * from it (libevent restarts the read timeout at each read), or with
 * answers waiting that it has not taken a byte of for idle_ms (reading
 * stops while they are full, or at its end, and the read timeout with
 * it); a watcher may stay silent for ever.
 */
static void
client_idle_timer(struct ctl_client *c)
{
	struct timeval	 tv;

	ms_to_timeval(c->ctl->idle_ms, &tv);
	bufferevent_set_timeouts(c->bev, c->watching ? NULL : &tv,
	    c->watching ? NULL : &tv);
}

/*
 * Answer a bad request, then close once the answer is written (or after
 * CTL_FLUSH_S if the client does not read it). What it sent is dropped
 * unread.
 */
static void
client_reject(struct ctl_client *c, const char *why)
{
	struct evbuffer	*in;
	struct timeval	 tv = { CTL_FLUSH_S, 0 };

	log_warnx("control: %s: %s; closing", client_name(c), why);
	client_send(c, answer_err("%s", why));
	if (c->closed)
		return;
	c->rejected = 1;
	in = bufferevent_get_input(c->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_set_timeouts(c->bev, NULL, &tv);
}

/* Queue one JSON line for c; takes the reference to j (may be NULL). */
static void
client_send(struct ctl_client *c, json_t *j)
{
	struct evbuffer	*out;
	char		*line;
	size_t		 len;

	if (j == NULL)
		j = answer_err("out of memory");
	line = json_line(j, &len);
	json_decref(j);
	if (c->closed) {
		free(line);
		return;
	}
	out = bufferevent_get_output(c->bev);
	if (line == NULL || evbuffer_add(out, line, len) == -1) {
		free(line);
		client_close(c, "out of memory for an answer");
		return;
	}
	free(line);
	note_queue(c->ctl, out);
}

static void
note_queue(struct ctl *ctl, struct evbuffer *out)
{
	size_t	 len;

	if ((len = evbuffer_get_length(out)) > ctl->out_highwater)
		ctl->out_highwater = len;
}

/* Run one request line (without its newline) and queue its answer. */
static void
client_request(struct ctl_client *c, char *line)
{
	const struct ctl_cmd	*cmd;
	char			*p, *word, names[256];
	size_t			 i, len, off;

	len = strlen(line);
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	p = line;
	if ((word = next_word(&p)) == NULL) {
		client_send(c, answer_err("empty request"));
		return;
	}
	if ((cmd = find_cmd(word)) == NULL) {
		for (i = 0, off = 0; i < CTL_NCMDS && off < sizeof(names);
		    i++)
			off += (size_t)snprintf(names + off, sizeof(names) - off,
			    "%s%s", i > 0 ? ", " : "", ctl_cmds[i].name);
		client_send(c, answer_err("unknown command '%s' (%s)", word,
		    names));
		return;
	}
	if (cmd->changes && !peer_may_change(&c->peer, c->ctl->group)) {
		log_warnx("control: %s may not %s: not in the control group "
		    "%ld", client_name(c), cmd->name, c->ctl->group);
		client_send(c, answer_err("permission denied: %s changes "
		    "things, and uid %ld is not in the control group",
		    cmd->name, c->peer.uid));
		return;
	}
	client_send(c, cmd->fn(c, p));
}

static const struct ctl_cmd *
find_cmd(const char *name)
{
	size_t	 i;

	for (i = 0; i < CTL_NCMDS; i++)
		if (strcmp(name, ctl_cmds[i].name) == 0)
			return &ctl_cmds[i];
	return NULL;
}

/* {"ok":false,"error":"usage: ..."} for the command called name. */
static json_t *
answer_usage(const char *name)
{
	const struct ctl_cmd	*cmd = find_cmd(name);

	return answer_err("usage: %s", cmd != NULL ? cmd->help : name);
}

/* The next blank-separated word of *p, NUL-terminated in place; NULL at
 * the end of the line. */
static char *
next_word(char **p)
{
	char	*s = *p, *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0') {
		*p = s;
		return NULL;
	}
	w = s;
	while (*s != '\0' && *s != ' ' && *s != '\t')
		s++;
	if (*s != '\0')
		*s++ = '\0';
	*p = s;
	return w;
}

/* What is left of the line, without leading blanks (maybe ""). */
static char *
rest_of_line(char **p)
{
	char	*s = *p;

	while (*s == ' ' || *s == '\t')
		s++;
	*p = s + strlen(s);
	return s;
}

/* The live target called id, or NULL with *err set to an answer. */
static struct target *
find_target(struct ctl_client *c, const char *id, json_t **err)
{
	struct target	*t;

	if ((t = engine_find(c->ctl->eng, id)) == NULL) {
		*err = answer_err("unknown server '%s'", id);
		return NULL;
	}
	return t;
}

/*
 * The live targets name covers: the server called name, or else every
 * member of the farm called name (*farm then 1). Returns how many, with
 * *ts malloc'd (the caller frees it), or 0 with *ts NULL.
 */
static size_t
find_scope(struct ctl_client *c, const char *name, struct target ***ts,
    int *farm)
{
	struct engine	*eng = c->ctl->eng;
	struct target	*t;
	size_t		 i, n, k = 0;

	*ts = NULL;
	*farm = 0;
	if ((t = engine_find(eng, name)) != NULL &&
	    t->life != TARGET_REMOVED) {
		*ts = xcalloc(1, sizeof(**ts));
		(*ts)[0] = t;
		return 1;
	}
	n = engine_ntargets(eng);
	for (i = 0; i < n; i++) {
		if ((t = engine_target(eng, i)) == NULL ||
		    t->life == TARGET_REMOVED || t->sc->farm == NULL || strcmp(t->sc->farm->name, name) != 0)
			continue;
		if (*ts == NULL)
			*ts = xcalloc(n, sizeof(**ts));
		(*ts)[k++] = t;
	}
	*farm = k > 0;
	return k;
}

/* 1 when a server t depends on (depends-on) is hard down. */
static int
target_unreachable(struct engine *eng, const struct target *t)
{
	const struct target	*d;
	size_t			 i;

	for (i = 0; i < t->sc->ndeps; i++)
		if ((d = engine_find(eng, t->sc->deps[i]->id)) != NULL &&
		    d->st.hard == HSTATE_DOWN)
			return 1;
	return 0;
}

/*
 * The number for a new downtime: one above every number in use and every
 * number given since probed started, so a number names one downtime (a
 * farm's on each member), never the next one once it has ended: a
 * script's later downtime-cancel N cannot end someone else's.
 */
static unsigned
next_downtime_id(struct engine *eng)
{
	static unsigned	 given;
	struct target	*t;
	size_t		 i, n = engine_ntargets(eng);
	unsigned	 max = given;

	for (i = 0; i < n; i++)
		if ((t = engine_target(eng, i)) != NULL &&
		    state_downtime_max_id(&t->st) > max)
			max = state_downtime_max_id(&t->st);
	given = max + 1;
	return given;
}

/*
 * A downtime's length in seconds: numbers with their units (30m, 2h,
 * 1h30m, 1d), as the config writes durations (lib/util.c). A bare number,
 * 0 included, is refused: a Nagios admin reads minutes where tocsin would
 * read seconds, and 0 once ended a downtime. The one call of the duration
 * parser here. Returns 0, or -1 with why.
 */
static int
parse_length(const char *w, int64_t *secs, char *why, size_t whylen)
{
	uint64_t	 ms;
	const char	*p;

	for (p = w; isdigit((unsigned char)*p); p++)
		;
	if (*p == '\0' && p != w) {
		snprintf(why, whylen, "'%s' has no unit: write %ss or %sm "
		    "(or %sh); downtime-cancel N ends a downtime", w, w, w, w);
		return -1;
	}
	if (parse_duration_ms(w, &ms) == -1 || ms == 0) {
		snprintf(why, whylen, "bad duration '%s': use e.g. 30m, 2h, "
		    "1h30m or 1d", w);
		return -1;
	}
	if (ms / 1000 > CTL_DOWNTIME_MAX_S) {
		snprintf(why, whylen, "downtime of '%s' is longer than %lld "
		    "days", w, CTL_DOWNTIME_MAX_S / 86400);
		return -1;
	}
	*secs = (int64_t)((ms + 999) / 1000);
	return 0;
}

/*
 * When a downtime starts, in the daemon's local time: HH:MM (the next
 * such time: today, or tomorrow when it has passed by more than a
 * minute), YYYY-MM-DDTHH:MM (or with a space for the T), "now", or
 * @UNIXSECONDS. Returns 0 with *when, or -1 with why.
 */
static int
parse_when(const char *w, int64_t now, int64_t *when, char *why,
    size_t whylen)
{
	struct tm	 tm;
	time_t		 tn = (time_t)now, t;
	char		*end;
	long long	 v;
	int		 hh, mm, n = 0, mon = 0, mday = 0;

	if (strcmp(w, "now") == 0) {
		*when = now;
		return 0;
	}
	if (w[0] == '@' && isdigit((unsigned char)w[1])) {
		v = strtoll(w + 1, &end, 10);
		if (*end == '\0' && v > 0) {
			*when = v;
			return 0;
		}
	}
	if (localtime_r(&tn, &tm) == NULL)
		goto bad;
	if (sscanf(w, "%2d:%2d%n", &hh, &mm, &n) == 2 && w[n] == '\0') {
		tm.tm_hour = hh;
		tm.tm_min = mm;
	} else if (sscanf(w, "%4d-%2d-%2d%*1[T ]%2d:%2d%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &hh, &mm, &n) == 5 && w[n] == '\0') {
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		tm.tm_hour = hh;
		tm.tm_min = mm;
		if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
		    tm.tm_mday > 31)
			goto bad;
		mon = tm.tm_mon;
		mday = tm.tm_mday;
		n = -1;		/* a date: no rolling to tomorrow */
	} else
		goto bad;
	if (hh < 0 || hh > 23 || mm < 0 || mm > 59)
		goto bad;
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	if ((t = mktime(&tm)) == (time_t)-1)
		goto bad;
	/* mktime makes April 31 May 1: a date that does not exist. */
	if (n == -1 && (tm.tm_mon != mon || tm.tm_mday != mday))
		goto bad;
	if (n != -1 && (int64_t)t < now - 60) {
		/* Tomorrow at the time asked, not at the one mktime moved
		 * it to when it fell in today's daylight-saving gap. */
		tm.tm_mday++;
		tm.tm_hour = hh;
		tm.tm_min = mm;
		tm.tm_sec = 0;
		tm.tm_isdst = -1;
		if ((t = mktime(&tm)) == (time_t)-1)
			goto bad;
	}
	*when = (int64_t)t;
	return 0;
bad:
	snprintf(why, whylen, "bad start '%s': use HH:MM, YYYY-MM-DDTHH:MM "
	    "or now", w);
	return -1;
}

/* A comment without the quotes a person may have put around it. */
static char *
unquote(char *s)
{
	size_t	 len = strlen(s);

	if (len >= 2 && (s[0] == '"' || s[0] == '\'') && s[len - 1] == s[0]) {
		s[len - 1] = '\0';
		return s + 1;
	}
	return s;
}

/* By start, then number. */
static int
cmp_downtime(const void *a, const void *b)
{
	json_t * const	*x = a, * const *y = b;
	json_int_t	 fx, fy, ix, iy;

	fx = json_integer_value(json_object_get(*x, "from"));
	fy = json_integer_value(json_object_get(*y, "from"));
	ix = json_integer_value(json_object_get(*x, "id"));
	iy = json_integer_value(json_object_get(*y, "id"));
	if (fx != fy)
		return fx < fy ? -1 : 1;
	return ix < iy ? -1 : ix > iy;
}

/* Sort a JSON array of downtimes in place (cmp_downtime). */
static void
qsort_downtimes(json_t *arr)
{
	json_t	**v;
	size_t	 i, n = json_array_size(arr);

	if (n < 2)
		return;
	v = xcalloc(n, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), cmp_downtime);
	json_array_clear(arr);
	for (i = 0; i < n; i++)
		(void)json_array_append_new(arr, v[i]);
	free(v);
}

/* status [ID] */
static json_t *
cmd_status(struct ctl_client *c, char *args)
{
	struct engine	*eng = c->ctl->eng;
	struct target	*t;
	json_t		*ans, *arr, *err, *head;
	const char	*id;
	size_t		 i, n;
	int64_t		 now = time(NULL);

	id = next_word(&args);
	if (next_word(&args) != NULL)
		return answer_usage("status");
	if ((arr = json_array()) == NULL)
		return NULL;
	if (id != NULL) {
		if ((t = find_target(c, id, &err)) == NULL) {
			json_decref(arr);
			return err;
		}
		if (json_array_append_new(arr, status_json(eng, t, now)) == -1)
			goto fail;
	} else {
		n = engine_ntargets(eng);
		for (i = 0; i < n; i++) {
			if ((t = engine_target(eng, i)) == NULL)
				continue;
			if (json_array_append_new(arr,
			    status_json(eng, t, now)) == -1)
				goto fail;
		}
	}
	if ((ans = answer_ok()) == NULL)
		goto fail;
	if (jsontext_set(ans, "servers", arr) == -1) {	/* arr is freed */
		json_decref(ans);
		return NULL;
	}
	if ((head = engine_cluster_head(eng)) != NULL &&
	    jsontext_set(ans, "cluster", head) == -1) {
		json_decref(ans);
		return NULL;
	}
	return ans;
fail:
	json_decref(arr);
	return NULL;
}

/* A server in `status`: ctl_target_json, with the cluster's view of it
 * under "cluster" in cluster mode. NULL when out of memory. */
static json_t *
status_json(struct engine *eng, const struct target *t, int64_t now)
{
	json_t *o, *cv;

	if ((o = ctl_target_json(eng, t, now)) == NULL)
		return NULL;
	if ((cv = engine_cluster_json(eng, t, now)) != NULL &&
	    jsontext_set(o, "cluster", cv) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* stats: the engine's figures, and the control socket's own. */
static json_t *
cmd_stats(struct ctl_client *c, char *args)
{
	struct ctl		*ctl = c->ctl;
	struct engine_stats	 es;
	json_t			*ans, *st;

	if (next_word(&args) != NULL)
		return answer_usage("stats");
	memset(&es, 0, sizeof(es));
	engine_stats(ctl->eng, &es);
	if ((st = json_object()) == NULL)
		return NULL;
	if (jsontext_set(st, "checks", jsontext_u64(es.checks)) == -1 ||
	    jsontext_set(st, "running", jsontext_u64(es.running)) == -1 ||
	    jsontext_set(st, "pending", jsontext_u64(es.pending)) == -1 ||
	    jsontext_set(st, "lateness_p50_ms", json_ms(es.lateness_p50_us)) == -1 ||
	    jsontext_set(st, "lateness_p99_ms", json_ms(es.lateness_p99_us)) == -1 ||
	    jsontext_set(st, "lateness_max_ms", json_ms(es.lateness_max_us)) == -1 ||
	    jsontext_set(st, "events", jsontext_u64(es.events)) == -1 ||
	    jsontext_set(st, "archive_dropped",
	    jsontext_u64(es.archive_dropped)) == -1 ||
	    jsontext_set(st, "uptime_s", jsontext_u64(es.uptime_s)) == -1 ||
	    jsontext_set(st, "exec_leftovers",
	    jsontext_u64(es.exec_leftovers)) == -1 ||
	    jsontext_set(st, "targets",
	    jsontext_u64(engine_ntargets(ctl->eng))) == -1 ||
	    jsontext_set(st, "clients", jsontext_u64(ctl->nclients)) == -1 ||
	    jsontext_set(st, "watchers", jsontext_u64(ctl->nwatchers)) == -1 ||
	    jsontext_set(st, "clients_dropped", jsontext_u64(ctl->dropped)) == -1 ||
	    jsontext_set(st, "output_highwater",
	    jsontext_u64(ctl->out_highwater)) == -1) {
		json_decref(st);
		return NULL;
	}
	if ((ans = answer_ok()) == NULL) {
		json_decref(st);
		return NULL;
	}
	if (jsontext_set(ans, "stats", st) == -1) {	/* st is freed */
		json_decref(ans);
		return NULL;
	}
	return ans;
}

/* watch: from now on this client also gets every result and event. */
static json_t *
cmd_watch(struct ctl_client *c, char *args)
{
	json_t	*ans;

	if (next_word(&args) != NULL)
		return answer_usage("watch");
	if (!c->watching) {
		c->watching = 1;
		c->ctl->nwatchers++;
		client_idle_timer(c);
	}
	if ((ans = answer_ok()) == NULL ||
	    jsontext_set(ans, "watching", json_true()) == -1) {
		json_decref(ans);
		return NULL;
	}
	return ans;
}

/* check ID: start a check now. */
static json_t *
cmd_check(struct ctl_client *c, char *args)
{
	struct target	*t;
	const char	*id;
	json_t		*err;

	if ((id = next_word(&args)) == NULL || next_word(&args) != NULL)
		return answer_usage("check");
	if ((t = find_target(c, id, &err)) == NULL)
		return err;
	log_debug("control: %s asks to check %s now", client_name(c), id);
	engine_check_now(c->ctl->eng, t);
	return answer_ok();
}

/* ack ID [COMMENT]: a person is on the problem; the pager stops
 * repeating it (state_ack says when that makes no sense). */
static json_t *
cmd_ack(struct ctl_client *c, char *args)
{
	struct target	*t;
	const char	*id, *comment;
	json_t		*err;

	if ((id = next_word(&args)) == NULL)
		return answer_usage("ack");
	comment = unquote(rest_of_line(&args));
	if ((t = find_target(c, id, &err)) == NULL)
		return err;
	if (state_ack(&t->st, comment) == -1)
		return answer_err("%s is up: nothing to acknowledge", id);
	log_info("control: %s acknowledged by %s%s%s", id, client_name(c),
	    *comment != '\0' ? ": " : "", comment);
	save_and_publish(c, &t, 1, "ack");
	return answer_ok();
}

/*
 * downtime ID|FARM [from WHEN] [for] DURATION [COMMENT]: no pages for the
 * server, or for every member of the farm, from WHEN (default now) for
 * DURATION. Downtimes already there stay: the new one is added beside
 * them, under a new number, and the answer names those it overlaps.
 * Refused as a whole when a server has STATE_DOWNTIMES_MAX already.
 */
static json_t *
cmd_downtime(struct ctl_client *c, char *args)
{
	struct target	**ts = NULL;
	struct downtime	 d;
	const struct downtime *o;
	const char	*scope, *w, *when = NULL;
	json_t		*ans = NULL, *over, *e;
	int64_t		 now = time(NULL), len;
	char		 why[256];
	size_t		 n, i;
	unsigned	 k;
	int		 farm;

	memset(&d, 0, sizeof(d));
	if ((scope = next_word(&args)) == NULL ||
	    (w = next_word(&args)) == NULL)
		return answer_usage("downtime");
	if (strcmp(w, "from") == 0) {
		if ((when = next_word(&args)) == NULL ||
		    (w = next_word(&args)) == NULL)
			return answer_usage("downtime");
	}
	if (strcmp(w, "for") == 0 && (w = next_word(&args)) == NULL)
		return answer_usage("downtime");
	d.from = now;
	if (when != NULL && parse_when(when, now, &d.from, why,
	    sizeof(why)) == -1)
		return answer_err("%s", why);
	if (parse_length(w, &len, why, sizeof(why)) == -1)
		return answer_err("%s", why);
	d.until = d.from + len;
	if (d.until <= now)
		return answer_err("that downtime would be over already "
		    "(it ends %lld s ago)", (long long)(now - d.until));
	d.comment = unquote(rest_of_line(&args));
	d.uid = c->peer.uid;
	if ((n = find_scope(c, scope, &ts, &farm)) == 0)
		return answer_err("unknown server or farm '%s'", scope);
	d.scope = farm ? (char *)scope : NULL;
	for (i = 0; i < n; i++)
		if (ts[i]->st.ndowntimes >= STATE_DOWNTIMES_MAX) {
			ans = answer_err("%s has %d downtimes already: cancel "
			    "one first", ts[i]->sc->id, STATE_DOWNTIMES_MAX);
			goto out;
		}
	d.id = next_downtime_id(c->ctl->eng);
	if ((over = json_array()) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		for (k = 0; k < ts[i]->st.ndowntimes; k++) {
			o = &ts[i]->st.downtimes[k];
			if (o->until <= d.from || o->from >= d.until ||
			    (e = state_downtime_json(o)) == NULL)
				continue;
			if (jsontext_set(e, "server", jsontext(ts[i]->sc->id)) == -1 ||
			    json_array_append_new(over, e) == -1) {
				json_decref(over);
				goto out;
			}
		}
		(void)state_downtime_add(&ts[i]->st, &d);
	}
	log_info("control: %s%s: downtime %u from %lld until %lld set by "
	    "%s%s%s", farm ? "farm " : "", scope, d.id, (long long)d.from,
	    (long long)d.until, client_name(c), *d.comment != '\0' ? ": " : "",
	    d.comment);
	save_and_publish(c, ts, n, "downtime");
	if ((ans = answer_ok()) == NULL ||
	    jsontext_set(ans, "downtime", state_downtime_json(&d)) == -1 ||
	    jsontext_set(ans, "servers", json_array()) == -1 ||
	    jsontext_set(ans, "overlaps", over) == -1 ||
	    jsontext_set(ans, "downtime_until", json_integer(d.until)) == -1) {
		json_decref(ans);
		ans = NULL;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (json_array_append_new(json_object_get(ans, "servers"),
		    jsontext(ts[i]->sc->id)) == -1) {
			json_decref(ans);
			ans = NULL;
			goto out;
		}
out:
	free(ts);
	return ans;
}

/*
 * downtime-cancel N|#N|ID|FARM: end downtime number N on every server
 * that has it, or every downtime of a server or of a farm's members. A
 * bare number that also names a server or farm is refused, not guessed:
 * #N is always the number.
 */
static json_t *
cmd_downtime_cancel(struct ctl_client *c, char *args)
{
	struct engine	*eng = c->ctl->eng;
	struct target	**ts = NULL, *t;
	const char	*arg;
	json_t		*ans;
	unsigned long	 id;
	unsigned	 gone = 0, k;
	size_t		 i, n, nt = 0;
	int		 farm;

	if ((arg = next_word(&args)) == NULL || next_word(&args) != NULL)
		return answer_usage("downtime-cancel");
	if (arg[0] != '#' && parse_uint(arg, UINT_MAX, &id) == 0 &&
	    (nt = find_scope(c, arg, &ts, &farm)) > 0) {
		free(ts);
		return answer_err("'%s' is both a downtime number and a %s: "
		    "write #%s for the number, or cancel the %s's downtimes "
		    "by their numbers (downtimes %s)", arg, farm ? "farm" :
		    "server", arg, farm ? "farm" : "server", arg);
	}
	if (parse_uint(arg[0] == '#' ? arg + 1 : arg, UINT_MAX, &id) == 0) {
		n = engine_ntargets(eng);
		ts = xcalloc(n == 0 ? 1 : n, sizeof(*ts));
		for (i = 0; i < n; i++) {
			if ((t = engine_target(eng, i)) == NULL ||
			    (k = state_downtime_cancel(&t->st,
			    (unsigned)id)) == 0)
				continue;
			gone += k;
			ts[nt++] = t;
		}
		if (gone == 0) {
			free(ts);
			return answer_err("no downtime numbered %lu", id);
		}
	} else {
		if ((nt = find_scope(c, arg, &ts, &farm)) == 0)
			return answer_err("unknown server or farm '%s'", arg);
		for (i = 0; i < nt; i++) {
			k = ts[i]->st.ndowntimes;
			while (ts[i]->st.ndowntimes > 0)
				(void)state_downtime_cancel(&ts[i]->st,
				    ts[i]->st.downtimes[0].id);
			gone += k;
		}
	}
	log_info("control: %s: %u downtime%s cancelled by %s", arg, gone,
	    gone == 1 ? "" : "s", client_name(c));
	save_and_publish(c, ts, nt, "downtime");
	free(ts);
	if ((ans = answer_ok()) == NULL ||
	    jsontext_set(ans, "cancelled", json_integer(gone)) == -1) {
		json_decref(ans);
		return NULL;
	}
	return ans;
}

/*
 * downtimes [ID|FARM]: what is scheduled and running, each downtime once
 * (a farm's with all its servers), by start time:
 * {"ok":true,"downtimes":[{"id","from","until","uid","farm","comment",
 * "servers":[ID,...]},...]}.
 */
static json_t *
cmd_downtimes(struct ctl_client *c, char *args)
{
	struct target	**ts = NULL;
	const char	*arg;
	json_t		*byid, *arr = NULL, *e, *ans;
	const char	*key;
	char		 kbuf[32];
	size_t		 i, n;
	unsigned	 k;
	int		 farm;
	int64_t		 now = time(NULL);

	arg = next_word(&args);
	if (next_word(&args) != NULL)
		return answer_usage("downtimes");
	if (arg != NULL && (n = find_scope(c, arg, &ts, &farm)) == 0)
		return answer_err("unknown server or farm '%s'", arg);
	if (arg == NULL) {
		n = engine_ntargets(c->ctl->eng);
		ts = xcalloc(n == 0 ? 1 : n, sizeof(*ts));
		for (i = 0; i < n; i++)
			ts[i] = engine_target(c->ctl->eng, i);
	}
	if ((byid = json_object()) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		if (ts[i] == NULL || ts[i]->life == TARGET_REMOVED)
			continue;
		for (k = 0; k < ts[i]->st.ndowntimes; k++) {
			if (ts[i]->st.downtimes[k].until <= now)
				continue;
			snprintf(kbuf, sizeof(kbuf), "%u",
			    ts[i]->st.downtimes[k].id);
			if ((e = json_object_get(byid, kbuf)) == NULL) {
				if ((e = state_downtime_json(
				    &ts[i]->st.downtimes[k])) == NULL ||
				    jsontext_set(e, "servers",
				    json_array()) == -1 ||
				    json_object_set_new(byid, kbuf, e) == -1)
					goto fail;
			}
			if (json_array_append_new(json_object_get(e,
			    "servers"), jsontext(ts[i]->sc->id)) == -1)
				goto fail;
		}
	}
	if ((arr = json_array()) == NULL)
		goto fail;
	json_object_foreach(byid, key, e)
		if (json_array_append(arr, e) == -1)
			goto fail;
	qsort_downtimes(arr);
	json_decref(byid);
	free(ts);
	if ((ans = answer_ok()) == NULL) {
		json_decref(arr);
		return NULL;
	}
	if (jsontext_set(ans, "downtimes", arr) == -1) {
		json_decref(ans);
		return NULL;
	}
	return ans;
fail:
	json_decref(arr);
	json_decref(byid);
	free(ts);
	return NULL;
}

/* drain ID: the balancer sends the server no new traffic. */
static json_t *
cmd_drain(struct ctl_client *c, char *args)
{
	struct target	*t;
	const char	*id;
	json_t		*err;

	if ((id = next_word(&args)) == NULL || next_word(&args) != NULL)
		return answer_usage("drain");
	if ((t = find_target(c, id, &err)) == NULL)
		return err;
	state_drain(&t->st);
	log_info("control: %s drained by %s", id, client_name(c));
	save_and_publish(c, &t, 1, "drain");
	return answer_ok();
}

/* enable ID: undo drain. */
static json_t *
cmd_enable(struct ctl_client *c, char *args)
{
	struct target	*t;
	const char	*id;
	json_t		*err;

	if ((id = next_word(&args)) == NULL || next_word(&args) != NULL)
		return answer_usage("enable");
	if ((t = find_target(c, id, &err)) == NULL)
		return err;
	state_enable(&t->st);
	log_info("control: %s enabled by %s", id, client_name(c));
	save_and_publish(c, &t, 1, "enable");
	return answer_ok();
}

/* help: every command with its usage, and whether it changes things. */
static json_t *
cmd_help(struct ctl_client *c, char *args)
{
	json_t	*arr, *ans;
	size_t	 i;

	(void)c;
	if (next_word(&args) != NULL)
		return answer_usage("help");
	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < CTL_NCMDS; i++)
		if (json_array_append_new(arr, json_pack("{s:s,s:s,s:b}",
		    "name", ctl_cmds[i].name, "usage", ctl_cmds[i].help,
		    "changes", ctl_cmds[i].changes)) == -1) {
			json_decref(arr);
			return NULL;
		}
	if ((ans = answer_ok()) == NULL ||
	    jsontext_set(ans, "commands", arr) == -1) {
		json_decref(ans);
		return NULL;
	}
	return ans;
}

/* After a change by a person: save the state file soon, tell watchers. */
static void
save_and_publish(struct ctl_client *c, struct target **ts, size_t n,
    const char *what)
{
	size_t	 i;

	engine_save_state(c->ctl->eng);
	for (i = 0; i < n; i++)
		ctl_publish_server(c->ctl, ts[i], what);
	engine_share_change(c->ctl->eng, ts, n, what);
}

/* reload: read the config again; a bad one keeps the old, and says why,
 * to the asker and in the log (as SIGHUP does). */
static json_t *
cmd_reload(struct ctl_client *c, char *args)
{
	char	*errors = NULL;
	size_t	 len;
	json_t	*ans;

	if (next_word(&args) != NULL)
		return answer_usage("reload");
	log_info("control: reload asked by %s", client_name(c));
	if (engine_reload(c->ctl->eng, &errors) == 0) {
		free(errors);
		return answer_ok();
	}
	daemon_reload_failed(xstrdup(errors != NULL && *errors != '\0' ?
	    errors : "no reason given"));
	if (errors == NULL || *errors == '\0') {
		free(errors);
		return answer_err("reload failed");
	}
	len = strlen(errors);
	while (len > 0 && errors[len - 1] == '\n')
		errors[--len] = '\0';
	ans = answer_errstr(errors);
	free(errors);
	return ans;
}

/*
 * A server for `status` and the watch stream: settings, state, flags and
 * counters; now (Unix s) decides whether a downtime still runs; eng
 * says whether a server it depends on is down (unreachable). Absent
 * things are null, never 0 or "". The caller owns the result; NULL when
 * out of memory.
 */
json_t *
ctl_target_json(struct engine *eng, const struct target *t, int64_t now)
{
	const struct server_conf	*sc = t->sc;
	const struct state		*st = &t->st;
	const struct downtime		*dt;
	json_t				*o;

	if ((o = json_object()) == NULL)
		return NULL;
	dt = state_downtime_current(st, now);
	if (jsontext_set(o, "id", jsontext(sc->id)) == -1 ||
	    jsontext_set(o, "name", jsontext(sc->name)) == -1 ||
	    jsontext_set(o, "farm", sc->farm != NULL ?
	    jsontext(sc->farm->name) : json_null()) == -1 ||
	    jsontext_set(o, "kind", json_string(conf_kind_str(sc->kind))) == -1 ||
	    jsontext_set(o, "url", sc->url != NULL ?
	    jsontext(sc->url) : json_null()) == -1 ||
	    jsontext_set(o, "state", json_string(hstate_str(st->state))) == -1 ||
	    jsontext_set(o, "state_type",
	    json_string(state_type_str(st->type))) == -1 ||
	    jsontext_set(o, "since", st->since != 0 ?
	    json_integer(st->since) : json_null()) == -1 ||
	    jsontext_set(o, "last_check", st->last_check != 0 ?
	    json_integer(st->last_check) : json_null()) == -1 ||
	    jsontext_set(o, "latency_ms", json_ms(st->last_latency_us)) == -1 ||
	    jsontext_set(o, "dns_ms", json_ms(st->last_parts_us[0])) == -1 ||
	    jsontext_set(o, "connect_ms", json_ms(st->last_parts_us[1])) == -1 ||
	    jsontext_set(o, "tls_ms", json_ms(st->last_parts_us[2])) == -1 ||
	    jsontext_set(o, "firstbyte_ms",
	    json_ms(st->last_parts_us[3])) == -1 ||
	    jsontext_set(o, "cert_not_after", st->cert_not_after != 0 ?
	    json_integer(st->cert_not_after) : json_null()) == -1 ||
	    jsontext_set(o, "message", jsontext(st->message)) == -1 ||
	    jsontext_set(o, "long_output", st->long_output != NULL ?
	    jsontext(st->long_output) : json_null()) == -1 ||
	    jsontext_set(o, "flapping", json_boolean(st->flapping)) == -1 ||
	    jsontext_set(o, "flap_pct", json_real(st->flap_pct)) == -1 ||
	    jsontext_set(o, "acked", json_boolean(st->acked)) == -1 ||
	    jsontext_set(o, "ack_comment", st->acked ?
	    jsontext(st->ack_comment) : json_null()) == -1 ||
	    jsontext_set(o, "downtime_until", dt != NULL ?
	    json_integer(dt->until) : json_null()) == -1 ||
	    jsontext_set(o, "downtime_comment", dt != NULL ?
	    jsontext(dt->comment) : json_null()) == -1 ||
	    jsontext_set(o, "downtimes", state_downtimes_to_json(st)) == -1 ||
	    jsontext_set(o, "drained", json_boolean(st->drained)) == -1 ||
	    jsontext_set(o, "unreachable",
	    json_boolean(target_unreachable(eng, t))) == -1 ||
	    jsontext_set(o, "checks", jsontext_u64(st->checks)) == -1 ||
	    jsontext_set(o, "failures", jsontext_u64(st->failures)) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/*
 * A check finished: tell the watchers. Latency parts that did not happen
 * are null. Costs nothing when nobody watches.
 */
void
ctl_publish_result(struct ctl *ctl, const struct target *t,
    const struct check_result *r)
{
	json_t	*o;

	if (ctl == NULL || ctl->nwatchers == 0)
		return;
	if ((o = json_object()) == NULL)
		return;
	if (jsontext_set(o, "type", json_string("result")) == -1 ||
	    jsontext_set(o, "id", jsontext(t->sc->id)) == -1 ||
	    jsontext_set(o, "time", json_real((double)r->started / 1e6)) == -1 ||
	    jsontext_set(o, "status",
	    json_string(check_status_str(r->status))) == -1 ||
	    jsontext_set(o, "state", json_string(hstate_str(t->st.state))) == -1 ||
	    jsontext_set(o, "state_type",
	    json_string(state_type_str(t->st.type))) == -1 ||
	    jsontext_set(o, "latency_ms", json_ms(r->total_us)) == -1 ||
	    jsontext_set(o, "dns_ms", json_ms(r->dns_us)) == -1 ||
	    jsontext_set(o, "connect_ms", json_ms(r->connect_us)) == -1 ||
	    jsontext_set(o, "tls_ms", json_ms(r->tls_us)) == -1 ||
	    jsontext_set(o, "firstbyte_ms", json_ms(r->firstbyte_us)) == -1 ||
	    jsontext_set(o, "message", jsontext(r->message)) == -1) {
		json_decref(o);
		return;
	}
	broadcast(ctl, o);
	json_decref(o);
}

/*
 * A hard state change, already on disk: tell the watchers. seq is the
 * event's sequence number in the spool.
 */
void
ctl_publish_event(struct ctl *ctl, const struct target *t, uint64_t seq,
    const struct state_change *chg)
{
	json_t	*o;

	if (ctl == NULL || ctl->nwatchers == 0)
		return;
	if ((o = json_object()) == NULL)
		return;
	if (jsontext_set(o, "type", json_string("event")) == -1 ||
	    jsontext_set(o, "seq", jsontext_u64(seq)) == -1 ||
	    jsontext_set(o, "id", jsontext(t->sc->id)) == -1 ||
	    jsontext_set(o, "time", json_real((double)now_us() / 1e6)) == -1 ||
	    jsontext_set(o, "old", json_string(hstate_str(chg->old_state))) == -1 ||
	    jsontext_set(o, "new", json_string(hstate_str(chg->new_state))) == -1 ||
	    jsontext_set(o, "flapping", json_boolean(chg->flapping)) == -1 ||
	    jsontext_set(o, "downtime", json_boolean(chg->in_downtime)) == -1 ||
	    jsontext_set(o, "acked", json_boolean(chg->acked)) == -1 ||
	    jsontext_set(o, "message", jsontext(t->st.message)) == -1) {
		json_decref(o);
		return;
	}
	broadcast(ctl, o);
	json_decref(o);
}

/*
 * A person changed a server (ack, downtime, drain, enable): tell the
 * watchers with {"type":"server","change":WHAT, ...the status object},
 * so tocsin-lb learns of a drain without polling.
 */
void
ctl_publish_server(struct ctl *ctl, const struct target *t, const char *what)
{
	json_t	*o, *srv;

	if (ctl->nwatchers == 0)
		return;
	if ((o = json_object()) == NULL)
		return;
	if (jsontext_set(o, "type", json_string("server")) == -1 ||
	    jsontext_set(o, "change", json_string(what)) == -1 ||
	    (srv = ctl_target_json(ctl->eng, t, time(NULL))) == NULL) {
		json_decref(o);
		return;
	}
	if (json_object_update(o, srv) == 0)
		broadcast(ctl, o);
	json_decref(srv);
	json_decref(o);
}

/*
 * Queue one line for every watcher. A watcher whose queue would pass
 * CTL_OUT_MAX is not keeping up: it is dropped (it can reconnect and ask
 * for status), so the queue never holds more than the cap.
 */
static void
broadcast(struct ctl *ctl, json_t *o)
{
	struct ctl_client	*c, *next;
	struct evbuffer		*out;
	char			*line, why[96];
	size_t			 len, queued;

	if ((line = json_line(o, &len)) == NULL)
		return;
	for (c = TAILQ_FIRST(&ctl->clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (!c->watching || c->rejected)
			continue;
		out = bufferevent_get_output(c->bev);
		queued = evbuffer_get_length(out);
		if (queued + len > CTL_OUT_MAX) {
			snprintf(why, sizeof(why), "too slow a watcher: %zu "
			    "bytes waiting, the cap is %d", queued,
			    CTL_OUT_MAX);
			ctl->dropped++;
			client_close(c, why);
			continue;
		}
		if (evbuffer_add(out, line, len) == -1) {
			client_close(c, "out of memory for the watch stream");
			continue;
		}
		note_queue(ctl, out);
	}
	free(line);
}

/* j as one compact line ending in "\n"; malloc'd, NULL when out of
 * memory. */
static char *
json_line(json_t *j, size_t *len)
{
	char	*s, *line;
	size_t	 n;

	if ((s = json_dumps(j, JSONTEXT_DUMP_FLAGS)) == NULL)
		return NULL;
	n = strlen(s);
	if ((line = realloc(s, n + 2)) == NULL) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	*len = n + 1;
	return line;
}


/*
 * Microseconds as milliseconds with three decimals (printed exactly, see
 * JSONTEXT_DUMP_FLAGS); null when negative (did not happen).
 */
static json_t *
json_ms(int64_t us)
{
	if (us < 0)
		return json_null();
	return json_real((double)us / 1000.0);
}

static json_t *
answer_ok(void)
{
	json_t	*j;

	if ((j = json_object()) == NULL)
		return NULL;
	if (jsontext_set(j, "ok", json_true()) == -1) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* {"ok":false,"error":"..."}; NULL when out of memory. */
static json_t *
answer_err(const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return answer_errstr(msg);
}

/* The same with a ready message of any length (a reload's errors). */
static json_t *
answer_errstr(const char *msg)
{
	json_t	*j;

	if ((j = json_object()) == NULL)
		return NULL;
	if (jsontext_set(j, "ok", json_false()) == -1 ||
	    jsontext_set(j, "error", jsontext(msg)) == -1) {
		json_decref(j);
		return NULL;
	}
	return j;
}
