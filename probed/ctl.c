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
 * dropped.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

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
#include "jsontext.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"
#include "probed.h"

#define CTL_CLIENTS_MAX	256		/* connected at once; more refused */
#define CTL_OUT_MAX	(1024 * 1024)	/* bytes queued for one client */
#define CTL_IN_MAX	(2 * CTL_REQUEST_MAX)	/* bytes read ahead */
#define CTL_BACKLOG	64
#define CTL_BACKOFF_S	1		/* accept pause after EMFILE */
#define CTL_FLUSH_S	5		/* to write a last answer, then close */
#define CTL_JSON_FLAGS	(JSON_COMPACT | JSON_REAL_PRECISION(16))
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
	long			 uid;	/* the peer's; -1 when not known */
	long			 pid;
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
};

struct ctl_cmd {
	const char	*name;
	json_t		*(*fn)(struct ctl_client *, char *);
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
static void	 note_queue(struct ctl *, struct evbuffer *);
static void	 broadcast(struct ctl *, json_t *);
static void	 publish_server(struct ctl *, const struct target *,
		    const char *);
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
static json_t	*cmd_status(struct ctl_client *, char *);
static json_t	*cmd_stats(struct ctl_client *, char *);
static json_t	*cmd_watch(struct ctl_client *, char *);
static json_t	*cmd_check(struct ctl_client *, char *);
static json_t	*cmd_ack(struct ctl_client *, char *);
static json_t	*cmd_downtime(struct ctl_client *, char *);
static json_t	*cmd_drain(struct ctl_client *, char *);
static json_t	*cmd_enable(struct ctl_client *, char *);
static json_t	*cmd_reload(struct ctl_client *, char *);

static const struct ctl_cmd ctl_cmds[] = {
	{ "status",	cmd_status },
	{ "stats",	cmd_stats },
	{ "watch",	cmd_watch },
	{ "check",	cmd_check },
	{ "ack",	cmd_ack },
	{ "downtime",	cmd_downtime },
	{ "drain",	cmd_drain },
	{ "enable",	cmd_enable },
	{ "reload",	cmd_reload },
};

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
#ifdef SO_PEERCRED
	struct ucred		 uc;
	socklen_t		 uclen = sizeof(uc);
#endif

	(void)sa;
	(void)salen;
	if (ctl->nclients >= CTL_CLIENTS_MAX) {
		if (!ctl->full_logged)
			log_warnx("control: %d clients connected; refusing "
			    "more", CTL_CLIENTS_MAX);
		ctl->full_logged = 1;
		(void)send(fd, CTL_FULL_LINE, sizeof(CTL_FULL_LINE) - 1,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		evutil_closesocket(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->ctl = ctl;
	c->id = ++ctl->next_id;
	c->uid = c->pid = -1;
#ifdef SO_PEERCRED
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &uclen) == 0) {
		c->uid = (long)uc.uid;
		c->pid = (long)uc.pid;
	}
#endif
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
	if (ctl->nclients < CTL_CLIENTS_MAX)
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

	if (c->uid >= 0)
		snprintf(buf, sizeof(buf), "client %u (uid %ld, pid %ld)",
		    c->id, c->uid, c->pid);
	else
		snprintf(buf, sizeof(buf), "client %u", c->id);
	return buf;
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
	char	*p, *word;
	size_t	 i, len;

	len = strlen(line);
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	p = line;
	if ((word = next_word(&p)) == NULL) {
		client_send(c, answer_err("empty request"));
		return;
	}
	for (i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++) {
		if (strcmp(word, ctl_cmds[i].name) == 0) {
			client_send(c, ctl_cmds[i].fn(c, p));
			return;
		}
	}
	client_send(c, answer_err("unknown command '%s' (status, watch, "
	    "check, ack, downtime, drain, enable, reload, stats)", word));
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

/* status [ID] */
static json_t *
cmd_status(struct ctl_client *c, char *args)
{
	struct engine	*eng = c->ctl->eng;
	struct target	*t;
	json_t		*ans, *arr, *err;
	const char	*id;
	size_t		 i, n;
	int64_t		 now = time(NULL);

	id = next_word(&args);
	if (next_word(&args) != NULL)
		return answer_err("usage: status [ID]");
	if ((arr = json_array()) == NULL)
		return NULL;
	if (id != NULL) {
		if ((t = find_target(c, id, &err)) == NULL) {
			json_decref(arr);
			return err;
		}
		if (json_array_append_new(arr, ctl_target_json(t, now)) == -1)
			goto fail;
	} else {
		n = engine_ntargets(eng);
		for (i = 0; i < n; i++) {
			if ((t = engine_target(eng, i)) == NULL)
				continue;
			if (json_array_append_new(arr,
			    ctl_target_json(t, now)) == -1)
				goto fail;
		}
	}
	if ((ans = answer_ok()) == NULL)
		goto fail;
	if (jsontext_set(ans, "servers", arr) == -1) {	/* arr is freed */
		json_decref(ans);
		return NULL;
	}
	return ans;
fail:
	json_decref(arr);
	return NULL;
}

/* stats: the engine's figures, and the control socket's own. */
static json_t *
cmd_stats(struct ctl_client *c, char *args)
{
	struct ctl		*ctl = c->ctl;
	struct engine_stats	 es;
	json_t			*ans, *st;

	if (next_word(&args) != NULL)
		return answer_err("usage: stats");
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
		return answer_err("usage: watch");
	if (!c->watching) {
		c->watching = 1;
		c->ctl->nwatchers++;
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
		return answer_err("usage: check ID");
	if ((t = find_target(c, id, &err)) == NULL)
		return err;
	log_debug("control: %s asks to check %s now", client_name(c), id);
	engine_check_now(c->ctl->eng, t);
	return answer_ok();
}

/*
 * ack ID [COMMENT]: a person is on the problem; the pager stops
 * repeating it. The state machine clears it when the server is back up,
 * so acknowledging a server that is up would only hide its next problem:
 * refused.
 */
static json_t *
cmd_ack(struct ctl_client *c, char *args)
{
	struct target	*t;
	const char	*id, *comment;
	json_t		*err;

	if ((id = next_word(&args)) == NULL)
		return answer_err("usage: ack ID [COMMENT]");
	comment = rest_of_line(&args);
	if ((t = find_target(c, id, &err)) == NULL)
		return err;
	if (t->st.state == HSTATE_UP && t->st.hard == HSTATE_UP)
		return answer_err("%s is up: nothing to acknowledge", id);
	t->st.acked = 1;
	state_set_text(&t->st.ack_comment, comment, STATE_COMMENT_MAX);
	log_info("control: %s acknowledged by %s%s%s", id, client_name(c),
	    *comment != '\0' ? ": " : "", comment);
	engine_save_state(c->ctl->eng);
	publish_server(c->ctl, t, "ack");
	return answer_ok();
}

/*
 * downtime ID DURATION [COMMENT]: no pages for the server until now +
 * DURATION (30m, 2h, 1d; a bare number is seconds); 0 ends a downtime.
 */
static json_t *
cmd_downtime(struct ctl_client *c, char *args)
{
	struct target	*t;
	const char	*id, *dur, *comment;
	json_t		*err, *ans;
	uint64_t	 ms;
	int64_t		 now = time(NULL);

	if ((id = next_word(&args)) == NULL ||
	    (dur = next_word(&args)) == NULL)
		return answer_err("usage: downtime ID DURATION [COMMENT]");
	comment = rest_of_line(&args);
	if ((t = find_target(c, id, &err)) == NULL)
		return err;
	if (parse_duration_ms(dur, &ms) == -1)
		return answer_err("bad duration '%s': use e.g. 30m, 2h or 1d; "
		    "0 ends a downtime", dur);
	if (ms == 0) {
		t->st.downtime_until = 0;
		state_set_text(&t->st.downtime_comment, NULL, 0);
		log_info("control: %s downtime ended by %s", id,
		    client_name(c));
	} else {
		t->st.downtime_until = now + (int64_t)((ms + 999) / 1000);
		state_set_text(&t->st.downtime_comment, comment,
		    STATE_COMMENT_MAX);
		log_info("control: %s in downtime for %s by %s%s%s", id, dur,
		    client_name(c), *comment != '\0' ? ": " : "", comment);
	}
	engine_save_state(c->ctl->eng);
	publish_server(c->ctl, t, "downtime");
	if ((ans = answer_ok()) == NULL || jsontext_set(ans, "downtime_until",
	    ms == 0 ? json_null() : json_integer(t->st.downtime_until)) == -1) {
		json_decref(ans);
		return NULL;
	}
	return ans;
}

/* drain ID: the balancer sends the server no new traffic. */
static json_t *
cmd_drain(struct ctl_client *c, char *args)
{
	struct target	*t;
	const char	*id;
	json_t		*err;

	if ((id = next_word(&args)) == NULL || next_word(&args) != NULL)
		return answer_err("usage: drain ID");
	if ((t = find_target(c, id, &err)) == NULL)
		return err;
	t->st.drained = 1;
	log_info("control: %s drained by %s", id, client_name(c));
	engine_save_state(c->ctl->eng);
	publish_server(c->ctl, t, "drain");
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
		return answer_err("usage: enable ID");
	if ((t = find_target(c, id, &err)) == NULL)
		return err;
	t->st.drained = 0;
	log_info("control: %s enabled by %s", id, client_name(c));
	engine_save_state(c->ctl->eng);
	publish_server(c->ctl, t, "enable");
	return answer_ok();
}

/* reload: read the config again; a bad one keeps the old, and says why. */
static json_t *
cmd_reload(struct ctl_client *c, char *args)
{
	char	*errors = NULL;
	size_t	 len;
	json_t	*ans;

	if (next_word(&args) != NULL)
		return answer_err("usage: reload");
	log_info("control: reload asked by %s", client_name(c));
	if (engine_reload(c->ctl->eng, &errors) == 0) {
		free(errors);
		return answer_ok();
	}
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
 * counters; now (Unix s) decides whether a downtime still runs. Absent
 * things are null, never 0 or "". The caller owns the result; NULL when
 * out of memory.
 */
json_t *
ctl_target_json(const struct target *t, int64_t now)
{
	const struct server_conf	*sc = t->sc;
	const struct state		*st = &t->st;
	json_t				*o;
	int				 indt;

	if ((o = json_object()) == NULL)
		return NULL;
	indt = state_in_downtime(st, now);
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
	    jsontext_set(o, "message", jsontext(st->message)) == -1 ||
	    jsontext_set(o, "flapping", json_boolean(st->flapping)) == -1 ||
	    jsontext_set(o, "flap_pct", json_real(st->flap_pct)) == -1 ||
	    jsontext_set(o, "acked", json_boolean(st->acked)) == -1 ||
	    jsontext_set(o, "ack_comment", st->acked ?
	    jsontext(st->ack_comment) : json_null()) == -1 ||
	    jsontext_set(o, "downtime_until", indt ?
	    json_integer(st->downtime_until) : json_null()) == -1 ||
	    jsontext_set(o, "downtime_comment", indt ?
	    jsontext(st->downtime_comment) : json_null()) == -1 ||
	    jsontext_set(o, "drained", json_boolean(st->drained)) == -1 ||
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
static void
publish_server(struct ctl *ctl, const struct target *t, const char *what)
{
	json_t	*o, *srv;

	if (ctl->nwatchers == 0)
		return;
	if ((o = json_object()) == NULL)
		return;
	if (jsontext_set(o, "type", json_string("server")) == -1 ||
	    jsontext_set(o, "change", json_string(what)) == -1 ||
	    (srv = ctl_target_json(t, time(NULL))) == NULL) {
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

	if ((s = json_dumps(j, CTL_JSON_FLAGS)) == NULL)
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


/* Microseconds as milliseconds; null when negative (did not happen). */
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
