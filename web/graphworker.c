/*
 * graphworker.c: --serve's graph workers. librrd draws one graph at a
 * time and may take seconds over it (a year of a big archive, an
 * rrdcached slow to flush), which on the loop would hold up every other
 * request. So the loop draws none: --graph-workers processes, forked at
 * start, each draw one graph at a time, asked over a socketpair (a struct
 * graph_ask), answering with the image or that librrd drew none. On the
 * loop a worker is a bufferevent and a timer: one that dies costs the
 * graph it was drawing, one that takes over --graph-timeout is killed
 * and its graph given up; either is replaced once reaped. Graphs with no
 * worker free wait in a queue of GRAPHWORKER_QUEUE_MAX, and past it are
 * refused (GRAPHJOB_BUSY). The figures of a page (its uptime, its probe
 * nodes' archives) read the same archives the same way, and are a job
 * like a graph (graph_ask's figures), their struct web_figures in place
 * of an image.
 */
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "util.h"
#include "xmalloc.h"
#include "archive.h"
#include "graph.h"
#include "web.h"

#define GRAPHWORKER_QUEUE_MAX	32		/* graphs waiting for one */
#define GRAPHWORKER_IMAGE_MAX	(16 << 20)	/* bytes of an image */
#define GRAPHWORKER_RESPAWN_MS	1000		/* a worker a slot, at most */
#define GRAPHWORKER_READY	'r'		/* a worker's first byte */

/* A worker's answer to a graph_ask, before the image's len bytes. */
struct answer {
	int		 drawn;		/* 1: an image follows; 0: none */
	size_t		 len;		/* bytes */
};

struct graphjob {
	struct graphworkers	*gw;
	struct graph_ask	 ask;
	graphjob_cb		 done;	/* NULL: nobody waits for it */
	void			*arg;
	struct drawer		*on;	/* its worker; NULL: queued */
	TAILQ_ENTRY(graphjob)	 entry;
};

/* A worker: a process, its socket here, the graph it draws. */
struct drawer {
	struct graphworkers	*gw;
	pid_t			 pid;	/* 0: none (or reaped) */
	struct bufferevent	*bev;	/* NULL: none, or being ended */
	struct event		*timer;	/* the deadline of its start or of
					   its graph; or its next start */
	struct graphjob		*job;	/* NULL: idle */
	int			 ready;	/* said so, once warm */
	int			 retire;	/* end once its graph is done */
	int64_t			 started;	/* mono_us */
	char			 lost[SERVER_ID_MAX + 64];	/* why it was
					   ended, logged once reaped; ""
					   when asked to end */
};

struct graphworkers {
	struct web		*w;
	struct event_base	*base;
	struct drawer		*d;
	size_t			 n;
	struct event		*sigchld;
	TAILQ_HEAD(, graphjob)	 queue;
	size_t			 queued;
	int			 stopping;
};

static int	 spawn(struct drawer *);
static void	 child(struct web *, int, pid_t) __attribute__((noreturn));
static int	 work(struct web *, const struct graph_ask *,
		    struct graph_image *);
static int	 full(int, void *, size_t, int);
static void	 dispatch(struct graphworkers *);
static void	 finish(struct drawer *, enum graphjob_end,
		    struct graph_image *);
static void	 lose(struct drawer *, enum graphjob_end, const char *);
static const char *doing(const struct graph_ask *);
static void	 tell(struct graphjob *, enum graphjob_end,
		    struct graph_image *);
static void	 reaped(struct drawer *, int);
static void	 respawn(struct drawer *);
static void	 on_answer(struct bufferevent *, void *);
static void	 on_event(struct bufferevent *, short, void *);
static void	 on_timer(evutil_socket_t, short, void *);
static void	 on_sigchld(evutil_socket_t, short, void *);

/*
 * Fork w->graph_workers workers on base, each to draw with w as it is
 * now (its config and archive store). Never NULL (fatal on no memory).
 */
struct graphworkers *
graphworker_start(struct event_base *base, struct web *w)
{
	struct graphworkers	*gw;
	size_t			 i;

	gw = xcalloc(1, sizeof(*gw));
	gw->w = w;
	gw->base = base;
	gw->n = w->graph_workers;
	gw->d = xcalloc(gw->n, sizeof(*gw->d));
	TAILQ_INIT(&gw->queue);
	if ((gw->sigchld = evsignal_new(base, SIGCHLD, on_sigchld, gw)) ==
	    NULL || event_add(gw->sigchld, NULL) == -1)
		fatalx("libevent: cannot watch SIGCHLD");
	for (i = 0; i < gw->n; i++) {
		gw->d[i].gw = gw;
		if ((gw->d[i].timer = evtimer_new(base, on_timer,
		    &gw->d[i])) == NULL)
			fatalx("libevent: no memory for a graph worker");
		(void)spawn(&gw->d[i]);
	}
	return gw;
}

/*
 * Start d's worker: a child that draws (child), its end of a socketpair
 * on a bufferevent here, given --graph-timeout to say it is ready.
 * Returns -1 when it cannot (logged): tried again later.
 */
static int
spawn(struct drawer *d)
{
	struct graphworkers	*gw = d->gw;
	struct timeval		 tv = { gw->w->graph_timeout_s, 0 };
	int			 sv[2];
	pid_t			 pid, parent = getpid();

	d->started = mono_us();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("graph worker: socketpair");
		respawn(d);
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_warn("graph worker: fork");
		close(sv[0]);
		close(sv[1]);
		respawn(d);
		return -1;
	}
	if (pid == 0)
		child(gw->w, sv[1], parent);
	close(sv[1]);
	if (evutil_make_socket_nonblocking(sv[0]) == -1 ||
	    (d->bev = bufferevent_socket_new(gw->base, sv[0],
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("libevent: no memory for a graph worker");
	d->pid = pid;
	d->ready = 0;
	d->retire = 0;
	d->lost[0] = '\0';
	bufferevent_setcb(d->bev, on_answer, NULL, on_event, d);
	bufferevent_enable(d->bev, EV_READ);
	evtimer_add(d->timer, &tv);
	return 0;
}

/*
 * A worker, just forked: no descriptor of the server's but its socket
 * and the standard ones (the clients' connections must close when the
 * server closes them), no rrdcached connection of the server's, the
 * signals' defaults, gone with the server. It warms librrd up, says it
 * is ready (and is named tocsin-graph from then on), then draws what it
 * is asked, one graph at a time, until its socket closes. It never
 * returns, nor runs the server's exit handlers.
 */
static void
child(struct web *w, int fd, pid_t parent)
{
	struct graph_ask	 a;
	struct graph_image	 img;
	struct answer		 ans;
	char			 ready = GRAPHWORKER_READY;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(1);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGHUP, SIG_IGN);
	if (dup2(fd, 3) == -1 || close_range(4, ~0U, 0) == -1) {
		log_warn("graph worker: descriptors");
		_exit(1);
	}
	fd = 3;
	archive_forked();
	graphcache_warm(w);
	(void)prctl(PR_SET_NAME, "tocsin-graph");	/* for ps: ready */
	if (full(fd, &ready, 1, 1) == -1)
		_exit(0);
	while (full(fd, &a, sizeof(a), 0) == 0) {
		a.name[sizeof(a.name) - 1] = '\0';
		memset(&img, 0, sizeof(img));
		memset(&ans, 0, sizeof(ans));
		if (work(w, &a, &img) == 0) {
			ans.drawn = 1;
			ans.len = img.len;
		}
		if (full(fd, &ans, sizeof(ans), 1) == -1 ||
		    full(fd, img.data, ans.len, 1) == -1)
			_exit(0);
		graph_image_free(&img);
	}
	_exit(0);
}

/*
 * A worker's job: a's graph, or its figures (their bytes as the image),
 * of a server or farm of the config. Returns 0 with img filled, or -1
 * (logged).
 */
static int
work(struct web *w, const struct graph_ask *a, struct graph_image *img)
{
	const struct server_conf	*sc = NULL;
	const struct farm_conf		*farm = NULL;
	struct web_figures		*fig;

	if (a->farm)
		farm = conf_find_farm(w->conf, a->name);
	else
		sc = conf_find_server(w->conf, a->name);
	if (sc == NULL && farm == NULL) {
		log_warnx("%s: %s %s: not in the config", a->figures ?
		    "figures" : "graph", a->farm ? "farm" : "server", a->name);
		return -1;
	}
	if (!a->figures)
		return graphcache_draw(w, sc, farm, a, img);
	fig = xmalloc(sizeof(*fig));
	views_figures(w, sc, farm, a->figures, (time_t)a->end, fig);
	img->data = (unsigned char *)fig;
	img->len = sizeof(*fig);
	return 0;
}

/*
 * Write len bytes of buf to a blocking fd (out 1), or read them into it:
 * 0, or -1 on an error or at its end.
 */
static int
full(int fd, void *buf, size_t len, int out)
{
	char	*p = buf;
	ssize_t	 n;

	while (len > 0) {
		n = out ? write(fd, p, len) : read(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Queue a to be drawn; done(end, img, arg) is called once, later, from
 * the loop (never from here): with the image (for figures, their struct
 * web_figures), which done may take (it is freed after), when
 * GRAPHJOB_DRAWN. Returns NULL, done never called, when
 * GRAPHWORKER_QUEUE_MAX jobs wait already.
 */
struct graphjob *
graphworker_submit(struct graphworkers *gw, const struct graph_ask *a,
    graphjob_cb done, void *arg)
{
	struct graphjob	*j;

	if (gw->queued >= GRAPHWORKER_QUEUE_MAX)
		return NULL;
	j = xcalloc(1, sizeof(*j));
	j->gw = gw;
	j->ask = *a;
	j->done = done;
	j->arg = arg;
	TAILQ_INSERT_TAIL(&gw->queue, j, entry);
	gw->queued++;
	dispatch(gw);
	return j;
}

/*
 * Nobody waits for j: dropped, and 1, if it waits for a worker still;
 * 0 when a worker draws it already (done is called when it ends).
 */
int
graphworker_cancel(struct graphjob *j)
{
	if (j->on != NULL)
		return 0;
	TAILQ_REMOVE(&j->gw->queue, j, entry);
	j->gw->queued--;
	free(j);
	return 1;
}

/*
 * Nobody waits for j any more: dropped if it waits for a worker still,
 * else its end, when it comes, is told to no one.
 */
void
graphworker_forget(struct graphjob *j)
{
	if (!graphworker_cancel(j))
		j->done = NULL;
}

/* Each ready worker without a graph takes the next one queued. */
static void
dispatch(struct graphworkers *gw)
{
	struct graphjob	*j;
	struct drawer	*d;
	struct timeval	 tv = { gw->w->graph_timeout_s, 0 };
	size_t		 i;

	for (i = 0; i < gw->n && (j = TAILQ_FIRST(&gw->queue)) != NULL;
	    i++) {
		d = &gw->d[i];
		if (d->bev == NULL || !d->ready || d->job != NULL ||
		    d->retire)
			continue;
		TAILQ_REMOVE(&gw->queue, j, entry);
		gw->queued--;
		d->job = j;
		j->on = d;
		if (bufferevent_write(d->bev, &j->ask, sizeof(j->ask)) == -1)
			fatalx("libevent: no memory to ask a graph worker");
		evtimer_add(d->timer, &tv);
	}
}

/*
 * d's worker said it is ready, or answered its graph (an answer, then
 * the image): d's graph ends, drawn or not. Anything else from it, it is
 * ended as broken.
 */
static void
on_answer(struct bufferevent *bev, void *arg)
{
	struct drawer		*d = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct answer		 a;
	struct graph_image	 img;
	char			 c;

	if (!d->ready) {
		if (evbuffer_remove(in, &c, 1) != 1 || c != GRAPHWORKER_READY) {
			lose(d, GRAPHJOB_FAILED, "said no hello");
			return;
		}
		d->ready = 1;
		evtimer_del(d->timer);
		dispatch(d->gw);
		return;
	}
	if (evbuffer_get_length(in) < sizeof(a))
		return;
	evbuffer_copyout(in, &a, sizeof(a));
	if (d->job == NULL || (a.drawn ? a.len == 0 ||
	    a.len > GRAPHWORKER_IMAGE_MAX : a.len != 0)) {
		lose(d, GRAPHJOB_DIED, "answered out of turn");
		return;
	}
	if (evbuffer_get_length(in) < sizeof(a) + a.len)
		return;
	evbuffer_drain(in, sizeof(a));
	memset(&img, 0, sizeof(img));
	if (a.drawn) {
		img.data = xmalloc(a.len);
		img.len = a.len;
		evbuffer_remove(in, img.data, a.len);
	}
	finish(d, a.drawn ? GRAPHJOB_DRAWN : GRAPHJOB_FAILED, &img);
	graph_image_free(&img);
}

/*
 * d's graph ended so: tell who asked; d takes the next one, or ends when
 * a reload asked it to.
 */
static void
finish(struct drawer *d, enum graphjob_end end, struct graph_image *img)
{
	struct graphjob	*j = d->job;

	d->job = NULL;
	j->on = NULL;
	evtimer_del(d->timer);
	tell(j, end, img);
	if (d->retire)
		lose(d, GRAPHJOB_STOPPED, NULL);
	else
		dispatch(d->gw);
}

/*
 * End d's worker: killed, its socket closed, its graph (if any) ended as
 * end. why says what went wrong ("" or NULL: it was asked to end), to be
 * logged once it is reaped; then a new one starts.
 */
static void
lose(struct drawer *d, enum graphjob_end end, const char *why)
{
	struct graphjob	*j = d->job;

	snprintf(d->lost, sizeof(d->lost), "%s%s%s", why != NULL ? why : "",
	    why == NULL || j == NULL ? "" : doing(&j->ask),
	    why != NULL && j != NULL ? j->ask.name : "");
	if (d->bev != NULL)
		bufferevent_free(d->bev);
	d->bev = NULL;
	if (d->pid > 0)
		(void)kill(d->pid, SIGKILL);
	evtimer_del(d->timer);
	d->job = NULL;
	if (j == NULL)
		return;
	j->on = NULL;
	tell(j, end, NULL);
}

/* What a job does, for the log: " drawing " (NAME follows). */
static const char *
doing(const struct graph_ask *a)
{
	switch (a->figures) {
	case WEB_FIGURES_UPTIME:
		return " reading the uptime of ";
	case WEB_FIGURES_VANTAGE:
		return " reading the probe nodes' archives of ";
	}
	return " drawing ";
}

/* j ended so: tell who waits for it (if anyone still does); free j. */
static void
tell(struct graphjob *j, enum graphjob_end end, struct graph_image *img)
{
	if (j->done != NULL)
		j->done(end, img, j->arg);
	free(j);
}

/* d's worker ends: it closed its socket, or could not be read. */
static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	lose(arg, GRAPHJOB_DIED, "died");
}

/*
 * d's deadline: a worker not ready, or not done with its graph, in
 * time is killed; or it is time to start one again.
 */
static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct drawer	*d = arg;
	char		 why[64];

	(void)fd;
	(void)what;
	if (d->bev == NULL) {
		if (d->pid == 0 && spawn(d) == 0)
			dispatch(d->gw);
		return;
	}
	snprintf(why, sizeof(why), "%s after %u s", d->ready ? "killed" :
	    "killed, not ready", d->gw->w->graph_timeout_s);
	lose(d, GRAPHJOB_TIMEOUT, why);
}

/* Children ended: reap the workers among them. */
static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct graphworkers	*gw = arg;
	pid_t			 pid;
	size_t			 i;
	int			 status;

	(void)sig;
	(void)what;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (i = 0; i < gw->n; i++)
			if (gw->d[i].pid == pid)
				reaped(&gw->d[i], status);
}

/*
 * d's worker is reaped (ended with status): say why, when it was not
 * asked to end, and start another.
 */
static void
reaped(struct drawer *d, int status)
{
	char	 how[48];

	if (d->bev != NULL)	/* before its socket's end was read */
		lose(d, GRAPHJOB_DIED, "died");
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "killed by signal %d",
		    WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "exit %d", WEXITSTATUS(status));
	if (d->lost[0] != '\0')
		log_warnx("graph worker %ld %s (%s): started again",
		    (long)d->pid, d->lost, how);
	d->pid = 0;
	if (!d->gw->stopping)
		respawn(d);
}

/* Start d's worker again, GRAPHWORKER_RESPAWN_MS after its last start. */
static void
respawn(struct drawer *d)
{
	struct timeval	 tv;
	int64_t		 wait_us;

	wait_us = d->started + GRAPHWORKER_RESPAWN_MS * 1000 - mono_us();
	if (wait_us <= 0 && spawn(d) == 0) {
		dispatch(d->gw);
		return;
	}
	us_to_timeval(wait_us > 0 ? wait_us : GRAPHWORKER_RESPAWN_MS * 1000,
	    &tv);
	evtimer_add(d->timer, &tv);
}

/*
 * The config was read again: each worker ends once its graph is done,
 * and the next ones start with the new config.
 */
void
graphworker_reload(struct graphworkers *gw)
{
	size_t	i;

	for (i = 0; gw != NULL && i < gw->n; i++) {
		if (gw->d[i].job != NULL)
			gw->d[i].retire = 1;
		else if (gw->d[i].bev != NULL)
			lose(&gw->d[i], GRAPHJOB_STOPPED, NULL);
	}
}

/*
 * The server stops: every graph, queued or being drawn, ends
 * GRAPHJOB_STOPPED; the workers are killed and reaped; gw is freed.
 */
void
graphworker_stop(struct graphworkers *gw)
{
	struct graphjob	*j;
	size_t		 i;

	if (gw == NULL)
		return;
	gw->stopping = 1;
	while ((j = TAILQ_FIRST(&gw->queue)) != NULL) {
		TAILQ_REMOVE(&gw->queue, j, entry);
		tell(j, GRAPHJOB_STOPPED, NULL);
	}
	for (i = 0; i < gw->n; i++) {
		if (gw->d[i].bev != NULL)
			lose(&gw->d[i], GRAPHJOB_STOPPED, NULL);
		while (gw->d[i].pid != 0 && waitpid(gw->d[i].pid, NULL, 0) ==
		    -1 && errno == EINTR)
			;
		event_free(gw->d[i].timer);
	}
	event_free(gw->sigchld);
	free(gw->d);
	free(gw);
}
