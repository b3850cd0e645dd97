/*
 * main.c: tocsin-lb's start-up: flags, config, the farms that have a
 * listen line with their listeners, tocsin-probed's watch stream, then the
 * loop until SIGTERM; SIGHUP reloads, keeping the listeners it still has.
 */
#include <sys/resource.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "daemon.h"
#include "fsutil.h"
#include "log.h"
#include "paths.h"
#include "util.h"
#include "xmalloc.h"

#include "lb.h"

static const char *conf_path;

static int	lb_check(const struct conf *, char *err, size_t);
static int	build(struct lb *, struct conf *, char *err, size_t);
static void	reload(struct lb *);
static void	on_signal(evutil_socket_t, short, void *);
static void	raise_nofile(void);
static struct conf *load(const char *path, int quiet);

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
	char		*errs = NULL, err[512], *line, *save;

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
	if (c == NULL) {
		if (quiet)
			for (line = strtok_r(errs, "\n", &save); line != NULL;
			    line = strtok_r(NULL, "\n", &save))
				log_warnx("reload failed, keeping the running "
				    "config: %s", line);
		else
			fputs(errs, stderr);
		free(errs);
	} else if (c->warnings != NULL && !quiet)
		fputs(c->warnings, stderr);
	return c;
}

/*
 * Make lb's farms and listeners from c, keeping the running listeners on
 * the same address and mode and the members of the same id and address.
 * Returns 0 (lb now runs c; the old farms are let go), or -1 with err and
 * lb as it was.
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

/* SIGHUP: the new config, or the running one with every error logged. */
static void
reload(struct lb *lb)
{
	struct conf	*c;
	char		 err[512];

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
	log_info("reloaded: %zu farms balanced, %zu listeners", lb->nfarms,
	    lb->nls);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct lb	*lb = arg;

	(void)what;
	switch (sig) {
	case SIGHUP:
		reload(lb);
		break;
	case SIGTERM:
	case SIGINT:
		log_info("exiting on signal %d", (int)sig);
		event_base_loopbreak(lb->base);
		break;
	}
}

/* Each session takes up to six descriptors: take the hard limit. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit NOFILE");
	}
}

int
main(int argc, char **argv)
{
	struct daemon_opts	 o;
	struct lb		 lb;
	struct event		*sighup, *sigterm, *sigint;
	char			*pidpath, *ctlpath, err[512], sum[128];
	int			 pidfd;
	size_t			 i;

	daemon_getopt(argc, argv, "tocsin-lb", &o);
	conf_path = o.conf_path;
	memset(&lb, 0, sizeof(lb));
	if ((lb.conf = load(conf_path, 0)) == NULL)
		return 1;
	if (o.test) {
		conf_summary(lb.conf, sum, sizeof(sum));
		printf("config ok: %s\n", sum);
		conf_free(lb.conf);
		return 0;
	}
	log_init("tocsin-lb", o.foreground, o.debug);
	if (fsutil_mkdir_p(lb.conf->state_dir, 0750) == -1)
		fatal("cannot make state folder %s", lb.conf->state_dir);
	xasprintf(&pidpath, "%s/%s", lb.conf->state_dir, PATH_LB_PIDFILE);
	xasprintf(&ctlpath, "%s/%s", lb.conf->state_dir, PATH_LB_SOCKET);
	if (!o.foreground)
		daemon_detach();
	if ((pidfd = pidfile_open(pidpath)) == -1) {
		if (errno == EWOULDBLOCK)
			fatalx("another tocsin-lb runs (%s is locked)",
			    pidpath);
		fatal("pidfile %s", pidpath);
	}
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	srandom(time(NULL) ^ getpid());
	if ((lb.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if (build(&lb, lb.conf, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (lb.nfarms == 0)
		log_warnx("no farm has a listen line: nothing to balance");
	if (daemon_drop_privileges(lb.conf->user) == -1)
		fatalx("cannot drop privileges");
	lb.started = mono_us();
	lb.ctl = lbctl_open(&lb, ctlpath);
	lb.health = health_start(&lb, lb.conf->control);
	sighup = evsignal_new(lb.base, SIGHUP, on_signal, &lb);
	sigterm = evsignal_new(lb.base, SIGTERM, on_signal, &lb);
	sigint = evsignal_new(lb.base, SIGINT, on_signal, &lb);
	if (sighup == NULL || sigterm == NULL || sigint == NULL ||
	    evsignal_add(sighup, NULL) == -1 ||
	    evsignal_add(sigterm, NULL) == -1 ||
	    evsignal_add(sigint, NULL) == -1)
		fatalx("cannot watch signals");
	log_info("started: %zu farms balanced, %zu listeners", lb.nfarms,
	    lb.nls);
	event_base_dispatch(lb.base);
	health_stop(lb.health);
	lbctl_close(lb.ctl);
	free(ctlpath);
	proxy_http_shutdown();
	queue_shutdown();
	for (i = 0; i < lb.nls; i++)
		listener_close(lb.ls[i]);
	free(lb.ls);
	for (i = 0; i < lb.nfarms; i++)
		farm_unref(lb.farms[i]);
	free(lb.farms);
	event_free(sighup);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(lb.base);
	conf_free(lb.conf);
	pidfile_remove(pidpath, pidfd);
	free(pidpath);
	return 0;
}
