/*
 * link.c: one daemon's connection to the NATS cluster of `set cluster`.
 * Its socket is served by the daemon's libevent loop (nats.c's libevent
 * adapter); it reconnects for ever, over every URL given. JetStream calls
 * wait for a reply that the loop reads, so they never run on the loop:
 * link_job hands them to the link's thread and their ends back to the loop.
 */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <nats/nats.h>
#include <nats/adapters/libevent.h>

#include "conf.h"
#include "log.h"
#include "worker.h"
#include "xmalloc.h"

#include "link.h"

#define URLS_MAX	16
#define RECONNECT_MS	500	/* between rounds over the servers */
#define CLOSE_WAIT_MS	5000	/* for nats.c's last callback, at most */
#define JS_WAIT_MS	5000	/* a JetStream request's reply */

struct link {
	struct event_base	*base;
	natsOptions		*opts;
	natsConnection		*nc;
	jsCtx			*js;
	char			 node[64];
	int			 replicas;	/* of streams and buckets */
	unsigned		 generation;	/* connections made; under mtx */
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;		/* nats_closed */
	struct worker		*jobs;		/* JetStream requests */
	int			 stop;		/* under mtx: closing */
	int			 closed;	/* link_close ran */
	int			 nats_closed;	/* nats.c's last callback ran;
						   under mtx */
};

static void	 on_connected(natsConnection *, void *);
static void	 on_disconnected(natsConnection *, void *);
static void	 on_closed(natsConnection *, void *);
static void	 wait_closed(struct link *);
static int	 set_options(struct link *, const struct conf *, const char *,
		    char *, size_t);

/* The text of status s: the thread's last error when it is s's (it
 * says more), else the status's name. */
const char *
link_error(int s)
{
	const char	*t;
	natsStatus	 last = NATS_OK;

	if ((t = nats_GetLastError(&last)) != NULL && *t != '\0' &&
	    last == (natsStatus)s)
		return t;
	return natsStatus_GetText((natsStatus)s);
}

/* A URL's user and password cut out (for the log): scheme://host:port. */
static void
hide_userinfo(char *url)
{
	char	*host, *at;

	if ((host = strstr(url, "://")) == NULL)
		return;
	host += 3;
	if ((at = strrchr(host, '@')) != NULL)
		memmove(host, at + 1, strlen(at + 1) + 1);
}

/* A nats.c thread: the connection is up (again). */
static void
on_connected(natsConnection *nc, void *arg)
{
	struct link	*l = arg;
	char		 url[256] = "";

	natsConnection_GetConnectedUrl(nc, url, sizeof(url));
	hide_userinfo(url);
	pthread_mutex_lock(&l->mtx);
	l->generation++;
	pthread_mutex_unlock(&l->mtx);
	log_info("cluster: connected to %s as node %s", url, l->node);
}

/* A nats.c thread: the connection is lost; nats.c reconnects. */
static void
on_disconnected(natsConnection *nc, void *arg)
{
	struct link	*l = arg;
	int		 closing;

	pthread_mutex_lock(&l->mtx);
	closing = l->stop;
	pthread_mutex_unlock(&l->mtx);
	if (!closing)
		log_warnx("cluster: disconnected; reconnecting");
}

/* A nats.c thread: the connection is closed for good, the last
 * callback nats.c makes with the link: it may be freed now. */
static void
on_closed(natsConnection *nc, void *arg)
{
	struct link *l = arg;

	(void)nc;
	pthread_mutex_lock(&l->mtx);
	l->nats_closed = 1;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mtx);
}

/*
 * Close the connection and wait (CLOSE_WAIT_MS at most) for nats.c's
 * closed callback: its callbacks run on a thread of its own, after
 * natsConnection_Close returns, and read the link.
 */
static void
wait_closed(struct link *l)
{
	struct timespec	 ts;

	if (l->nc == NULL)
		return;
	natsConnection_Close(l->nc);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += CLOSE_WAIT_MS / 1000;
	pthread_mutex_lock(&l->mtx);
	while (!l->nats_closed && pthread_cond_timedwait(&l->cond, &l->mtx,
	    &ts) == 0)
		;
	if (!l->nats_closed)
		log_warnx("cluster: NATS connection not closed after %d ms",
		    CLOSE_WAIT_MS);
	pthread_mutex_unlock(&l->mtx);
}

/* How many times the link (re)connected: a change says subscriptions
 * that lived on a server may be gone. */
unsigned
link_generation(struct link *l)
{
	unsigned g;

	pthread_mutex_lock(&l->mtx);
	g = l->generation;
	pthread_mutex_unlock(&l->mtx);
	return g;
}

/*
 * The options from the config: every URL, TLS when one says tls:// (with
 * the CA file when given), the credentials file, reconnection for ever
 * (buffering what is published meanwhile), the loop. 0, or -1 with err.
 */
static int
set_options(struct link *l, const struct conf *c, const char *who,
    char *err, size_t errlen)
{
	char		*list, *p, *save, name[128];
	const char	*urls[URLS_MAX];
	int		 n = 0, tls = 0, s;

	list = xstrdup(c->cluster);
	for (p = strtok_r(list, ",", &save); p != NULL && n < URLS_MAX;
	    p = strtok_r(NULL, ",", &save)) {
		urls[n++] = p;
		tls |= strncmp(p, "tls://", 6) == 0;
	}
	l->replicas = n >= 3 ? 3 : 1;
	snprintf(name, sizeof(name), "%s@%s", who, l->node);
	s = natsOptions_Create(&l->opts);
	if (s == NATS_OK)
		s = natsOptions_SetServers(l->opts, urls, n);
	if (s == NATS_OK)
		s = natsOptions_SetName(l->opts, name);
	if (s == NATS_OK && tls)
		s = natsOptions_SetSecure(l->opts, true);
	if (s == NATS_OK && tls && c->cluster_ca != NULL)
		s = natsOptions_LoadCATrustedCertificates(l->opts,
		    c->cluster_ca);
	if (s == NATS_OK && c->cluster_creds != NULL)
		s = natsOptions_SetUserCredentialsFromFiles(l->opts,
		    c->cluster_creds, NULL);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(l->opts, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(l->opts, RECONNECT_MS);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(l->opts, on_connected, l);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(l->opts, on_disconnected, l);
	if (s == NATS_OK)
		s = natsOptions_SetClosedCB(l->opts, on_closed, l);
	if (s == NATS_OK)
		s = natsOptions_SetEventLoop(l->opts, l->base,
		    natsLibevent_Attach, natsLibevent_Read, natsLibevent_Write,
		    natsLibevent_Detach);
	free(list);
	if (s != NATS_OK) {
		snprintf(err, errlen, "cluster: %s", link_error(s));
		return -1;
	}
	return 0;
}

/*
 * Connect to the cluster of c (c->cluster is set) on base; who names the
 * daemon in the server's connection list. A cluster not reachable now is
 * not an error: the link keeps trying and JetStream calls fail meanwhile.
 * NULL with err when the options are refused.
 */
struct link *
link_new(struct event_base *base, const struct conf *c, const char *who,
    char *err, size_t errlen)
{
	struct link	*l;
	jsOptions	 jo;
	int		 s;

	l = xcalloc(1, sizeof(*l));
	l->base = base;
	snprintf(l->node, sizeof(l->node), "%s", c->node);
	pthread_mutex_init(&l->mtx, NULL);
	pthread_cond_init(&l->cond, NULL);
	natsLibevent_Init();	/* libevent's locks: the daemon's are on */
	if (set_options(l, c, who, err, errlen) == -1)
		goto fail;
	/*
	 * One try first, to log why it failed (nats.c's own retries say
	 * nothing); then nats.c keeps trying, on_connected when it is in.
	 */
	if ((s = natsConnection_Connect(&l->nc, l->opts)) != NATS_OK) {
		log_warnx("cluster: cannot connect yet: %s", link_error(s));
		s = natsOptions_SetRetryOnFailedConnect(l->opts, true,
		    on_connected, l);
		if (s == NATS_OK)
			s = natsConnection_Connect(&l->nc, l->opts);
	}
	if (s == NATS_OK) {
		pthread_mutex_lock(&l->mtx);
			l->generation++;
		pthread_mutex_unlock(&l->mtx);
		log_info("cluster: connected as node %s", l->node);
	} else if (s == NATS_NOT_YET_CONNECTED)
		log_warnx("cluster: no NATS server answers yet; retrying");
	else {
		snprintf(err, errlen, "cluster: %s", link_error(s));
		goto fail;
	}
	jsOptions_Init(&jo);
	jo.Wait = JS_WAIT_MS;
	if ((s = natsConnection_JetStream(&l->js, l->nc, &jo)) != NATS_OK) {
		snprintf(err, errlen, "cluster: JetStream: %s", link_error(s));
		goto fail;
	}
	l->jobs = worker_new(base, "link");
	return l;
fail:
	wait_closed(l);
	natsConnection_Destroy(l->nc);
	natsOptions_Destroy(l->opts);
	pthread_mutex_destroy(&l->mtx);
	pthread_cond_destroy(&l->cond);
	free(l);
	return NULL;
}

jsCtx *
link_js(struct link *l)
{
	return l->js;
}

/* The connection, for a JetStream request nats.c makes no call of
 * (store_next_event). */
natsConnection *
link_conn(struct link *l)
{
	return l->nc;
}

const char *
link_node(const struct link *l)
{
	return l->node;
}

int
link_replicas(const struct link *l)
{
	return l->replicas;
}

/*
 * Publish data on subject without waiting for JetStream's ack: from the
 * loop, never blocking (the client buffers it). For what must not queue
 * behind the thread's requests, as a heartbeat (a key-value put is a
 * message on $KV.BUCKET.KEY). 0, or -1 when not even buffered.
 */
int
link_publish(struct link *l, const char *subject, const char *data)
{
	return natsConnection_PublishString(l->nc, subject, data) ==
	    NATS_OK ? 0 : -1;
}

/* Queue a job: work on the link's thread, then done (may be NULL) on the
 * loop. Jobs run one at a time, in order. */
void
link_job(struct link *l, link_fn *work, link_fn *done, void *arg)
{
	worker_submit(l->jobs, work, done, arg);
}

/*
 * Close the connection: every JetStream call under way, on any thread,
 * fails at once (their replies would need this loop, which is busy
 * closing), and so do later ones. The job under way ends; then every
 * job's done runs here, those never started too (their work did not run:
 * callers mark a result failed until work sets it). So the owner closes
 * the link before what the dones touch goes, and before it joins threads
 * that may wait on JetStream (watches). Idempotent.
 */
void
link_close(struct link *l)
{
	if (l == NULL || l->closed)
		return;
	l->closed = 1;
	pthread_mutex_lock(&l->mtx);
	l->stop = 1;
	pthread_mutex_unlock(&l->mtx);
	wait_closed(l);
	worker_stop(l->jobs, WORKER_SKIP);
}

/* Close (if not yet) and free. */
void
link_free(struct link *l)
{
	if (l == NULL)
		return;
	link_close(l);
	jsCtx_Destroy(l->js);
	natsConnection_Destroy(l->nc);
	natsOptions_Destroy(l->opts);
	worker_free(l->jobs);
	pthread_mutex_destroy(&l->mtx);
	pthread_cond_destroy(&l->cond);
	free(l);
}
