/*
 * main.c: tocsin-lb's start-up: flags, config, the farms that have a
 * listen line with their listeners, tocsin-probed's watch stream, then the
 * loop until SIGTERM; SIGHUP reloads, keeping the listeners it still has.
 */

#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "conf.h"
#include "ctlsock.h"
#include "daemon.h"
#include "log.h"
#include "paths.h"
#include "util.h"
#include "xmalloc.h"

#include "lb.h"

static const char *conf_path;

static int	lb_check(const struct conf *, char *err, size_t);
static int	build(struct lb *, struct conf *, char *err, size_t);
static void	reload(struct lb *);
static struct conf *load(const char *path, int quiet);
static void	*worker_main(void *);
static void	worker_reload(evutil_socket_t, short, void *);
static void	workers_build(struct lb *);
static void	workers_start(struct lb *);
static void	workers_stop(void);

/* The loops beyond the first (set lb-threads), each with its own farms,
 * listeners (SO_REUSEPORT) and watch of probed; NULL-free array. */
static struct lb **workers;
static size_t	nworkers;

/*
 * What tocsin-lb needs beyond the config language: nothing yet, but the
 * place for it (a farm's members must have a port: checked by farm_new).
 * Returns 0, or -1 with err (FILE:LINE: ...).
 */
static int
lb_check(const struct conf *c, char *err, size_t errlen)
{
	struct farm	*f;
	size_t		 i;

	for (i = 0; i < c->nfarms; i++) {
		if (c->farms[i]->nlistens == 0)
			continue;
		if ((f = farm_new(c->farms[i], NULL, 0, err, errlen)) == NULL)
			return -1;
		farm_unref(f);
	}
	return 0;
}

/* The config, checked for tocsin-lb too; NULL after printing (or, quiet,
 * logging) every error. */
static struct conf *
load(const char *path, int quiet)
{
	struct conf	*c;
	char		*errs = NULL, err[512];

	if ((c = conf_load(path, &errs)) != NULL &&
	    conf_host_check(c, &errs) == -1) {
		conf_free(c);
		c = NULL;
	}
	if (c != NULL && lb_check(c, err, sizeof(err)) == -1) {
		conf_free(c);
		c = NULL;
		xasprintf(&errs, "%s\n", err);
	}
	if (c == NULL && quiet)
		daemon_reload_failed(errs);
	else if (c == NULL) {
		fputs(errs, stderr);
		free(errs);
	} else if (c->warnings != NULL && !quiet)
		fputs(c->warnings, stderr);
	return c;
}

/*
 * Make lb's farms and listeners from c, keeping the running listeners on
 * the same address and mode, the members of the same id and address, and
 * each farm's counts. Returns 0 (lb now runs c; the old farms are let go,
 * and the clients waiting for a slot try again), or -1 with err and lb as
 * it was.
 */
static int
build(struct lb *lb, struct conf *c, char *err, size_t errlen)
{
	struct farm	**farms, *f;
	struct listener	**ls, *l;
	struct farm	**lfarm;
	size_t		 nfarms = 0, nls = 0, i, j, k, total = 0;
	int		*taken;
	const struct listen_conf *lc;

	for (i = 0; i < c->nfarms; i++)
		total += c->farms[i]->nlistens;
	farms = xcalloc(c->nfarms + 1, sizeof(*farms));
	ls = xcalloc(total + 1, sizeof(*ls));
	taken = xcalloc(total + 1, sizeof(*taken));
	lfarm = xcalloc(total + 1, sizeof(*lfarm));
	for (i = 0; i < c->nfarms; i++) {
		if (c->farms[i]->nlistens == 0)
			continue;
		if ((f = farm_new(c->farms[i], lb->farms, lb->nfarms, err,
		    errlen)) == NULL)
			goto fail;
		farms[nfarms++] = f;
		for (j = 0; j < c->farms[i]->nlistens; j++) {
			lc = &c->farms[i]->listens[j];
			if ((l = listener_take(lb, lc->addr, lc->http)) !=
			    NULL) {
				taken[nls] = 1;
			} else if ((l = listener_open(lb, lc->addr, lc->http,
			    f, err, errlen)) == NULL)
				goto fail;
			lfarm[nls] = f;
			ls[nls++] = l;
		}
	}
	for (i = 0; i < nfarms; i++)
		farm_apply(farms[i]);
	/* A client waiting for a slot tries again under the new settings
	 * (a maxconn raised), on the farm it began with. */
	queue_kick();
	for (k = 0; k < nls; k++)
		if (taken[k])
			listener_set_farm(ls[k], lfarm[k]);
	for (i = 0; i < lb->nls; i++)
		listener_close(lb->ls[i]);
	free(lb->ls);
	for (i = 0; i < lb->nfarms; i++)
		farm_unref(lb->farms[i]);
	free(lb->farms);
	lb->farms = farms;
	lb->nfarms = nfarms;
	lb->gen++;
	lb->ls = ls;
	lb->nls = nls;
	free(taken);
	free(lfarm);
	return 0;
fail:
	/* Back as it was: kept listeners return to lb->ls, new ones close. */
	for (k = 0; k < nls; k++) {
		if (!taken[k]) {
			listener_close(ls[k]);
			continue;
		}
		for (j = 0; j < lb->nls && lb->ls[j] != NULL; j++)
			;
		lb->ls[j] = ls[k];
	}
	for (i = 0; i < nfarms; i++)
		farm_unref(farms[i]);
	free(farms);
	free(ls);
	free(taken);
	free(lfarm);
	return -1;
}

/* A loop beyond the first: its own until SIGTERM ends the first. */
static void *
worker_main(void *arg)
{
	struct lb	*lb = arg;

	event_base_dispatch(lb->base);
	proxy_http_shutdown();
	batch_shutdown();
	queue_shutdown();
	return NULL;
}

/* In a worker's own thread, after the first loop reloaded: the config
 * again, for its own farms and listeners. */
static void
worker_reload(evutil_socket_t fd, short what, void *arg)
{
	struct lb	*lb = arg;
	struct conf	*c;
	char		 err[512];

	(void)fd;
	(void)what;
	if ((c = load(conf_path, 1)) == NULL)
		return;
	if (build(lb, c, err, sizeof(err)) == -1) {
		log_warnx("reload failed in a loop, keeping its config: %s",
		    err);
		conf_free(c);
		return;
	}
	conf_free(lb->conf);
	lb->conf = c;
	health_set_path(lb->health, c->control);
	health_refresh(lb->health);
}

/*
 * Make lb-threads - 1 more loops, each built from its own reading of the
 * config (nothing is shared between loops but the sockets' addresses:
 * the kernel spreads connections over their SO_REUSEPORT listeners).
 * Before privileges are dropped, for low ports.
 */
static void
workers_build(struct lb *first)
{
	struct lb	*w;
	char		 err[512];
	size_t		 i, n = first->conf->lb_threads;

	if (n <= 1)
		return;
	workers = xcalloc(n - 1, sizeof(*workers));
	for (i = 0; i + 1 < n; i++) {
		w = xcalloc(1, sizeof(*w));
		w->reuseport = 1;
		if ((w->conf = load(conf_path, 1)) == NULL)
			fatalx("loop %zu: the config no longer loads", i + 2);
		if ((w->base = event_base_new()) == NULL)
			fatalx("event_base_new");
		if (build(w, w->conf, err, sizeof(err)) == -1)
			fatalx("loop %zu: %s", i + 2, err);
		workers[nworkers++] = w;
	}
}

/* Run the loops made by workers_build, each watching probed; they block
 * every signal (the first loop takes them). */
static void
workers_start(struct lb *first)
{
	struct lb	*w;
	sigset_t	 all, old;
	size_t		 i;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < nworkers; i++) {
		w = workers[i];
		w->started = first->started;
		w->health = health_start(w, w->conf->control);
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
			fatalx("cannot start loop %zu", i + 2);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	first->nthreads = 1 + nworkers;
	first->peers = workers;
	first->npeers = nworkers;
}

/* End the other loops, then free what they had. */
static void
workers_stop(void)
{
	struct lb	*w;
	size_t		 i, j;

	for (i = 0; i < nworkers; i++)
		event_base_loopbreak(workers[i]->base);
	for (i = 0; i < nworkers; i++) {
		w = workers[i];
		pthread_join(w->thread, NULL);
		health_stop(w->health);
		for (j = 0; j < w->nls; j++)
			listener_close(w->ls[j]);
		free(w->ls);
		for (j = 0; j < w->nfarms; j++)
			farm_unref(w->farms[j]);
		free(w->farms);
		event_base_free(w->base);
		conf_free(w->conf);
		free(w);
	}
	free(workers);
	workers = NULL;
	nworkers = 0;
}

/* SIGHUP: the new config, or the running one with every error logged. */
static void
reload(struct lb *lb)
{
	struct conf	*c;
	char		 err[512];
	size_t		 i;

	if ((c = load(conf_path, 1)) == NULL)
		return;
	if (build(lb, c, err, sizeof(err)) == -1) {
		log_warnx("reload failed, keeping the running config: %s",
		    err);
		conf_free(c);
		return;
	}
	conf_free(lb->conf);
	lb->conf = c;
	health_set_path(lb->health, c->control);
	health_refresh(lb->health);
	if (c->lb_threads != lb->nthreads && c->lb_threads + lb->nthreads > 2)
		log_warnx("lb-threads %lu takes a restart; %u loops run",
		    c->lb_threads, lb->nthreads);
	for (i = 0; i < nworkers; i++)
		if (event_base_once(workers[i]->base, -1, EV_TIMEOUT,
		    worker_reload, workers[i], NULL) == -1)
			log_warnx("cannot tell loop %zu to reload", i + 2);
	log_info("reloaded: %zu farms balanced, %zu listeners", lb->nfarms,
	    lb->nls);
}

/* SIGHUP. */
static void
on_hup(void *arg)
{
	reload(arg);
}

int
main(int argc, char **argv)
{
	struct daemon_opts	 o;
	struct lb		 lb;
	struct daemon_signals	*sigs;
	struct daemon_run	 run;
	char			*pidpath, *ctlpath, err[512], sum[128];
	size_t			 i;

	daemon_getopt(argc, argv, "tocsin-lb", &o);
	conf_path = o.conf_path;
	/*
	 * The heap is not given back below 32 MiB free at its top: a turn of
	 * the loop ends by making its staged sends (batch.c), which frees
	 * the turn's answers' buffers together, and with glibc's default
	 * (128 KiB) each turn gave the heap back with brk(2) and the next
	 * took it again, page faults and TLB flushes included (perf of
	 * bench/lb's HTTP keep-alive row: a sixth of the lb's time).
	 */
	mallopt(M_TRIM_THRESHOLD, 32 << 20);
	memset(&lb, 0, sizeof(lb));
	if ((lb.conf = load(conf_path, 0)) == NULL)
		return 1;
	if (o.test) {
		conf_summary(lb.conf, sum, sizeof(sum));
		printf("config ok: %s\n", sum);
		conf_free(lb.conf);
		return 0;
	}
	xasprintf(&pidpath, "%s/%s", lb.conf->state_dir, PATH_LB_PIDFILE);
	xasprintf(&ctlpath, "%s/%s", lb.conf->state_dir, PATH_LB_SOCKET);
	daemon_start("tocsin-lb", &o, lb.conf, pidpath, &run);
	if (evthread_use_pthreads() == -1)
		fatalx("evthread_use_pthreads");
	if ((lb.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	lb.nthreads = 1;
	lb.reuseport = lb.conf->lb_threads > 1;
	if (build(&lb, lb.conf, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (lb.nfarms == 0)
		log_warnx("no farm has a listen line: nothing to balance");
	workers_build(&lb);
	daemon_settle(&run, lb.conf);
	lb.started = mono_us();
	lb.ctl = lbctl_open(&lb, ctlpath);
	lb.health = health_start(&lb, lb.conf->control);
	workers_start(&lb);
	sigs = daemon_signals_new(lb.base, on_hup, &lb);
	daemon_ready(&run);
	log_info("started: %zu farms balanced, %zu listeners, %u loops",
	    lb.nfarms, lb.nls, lb.nthreads);
	event_base_dispatch(lb.base);
	workers_stop();
	lb.peers = NULL;
	lb.npeers = 0;
	health_stop(lb.health);
	ctlsock_close(lb.ctl);
	free(ctlpath);
	proxy_http_shutdown();
	batch_shutdown();
	queue_shutdown();
	for (i = 0; i < lb.nls; i++)
		listener_close(lb.ls[i]);
	free(lb.ls);
	for (i = 0; i < lb.nfarms; i++)
		farm_unref(lb.farms[i]);
	free(lb.farms);
	daemon_signals_free(sigs);
	event_base_free(lb.base);
	conf_free(lb.conf);
	daemon_stop(&run);
	return 0;
}
