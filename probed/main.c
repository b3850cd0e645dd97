/*
 * main.c: tocsin-probed's start-up: flags, config, state folder, pidfile,
 * control socket and raw socket bound as root, then privileges dropped and
 * the loop run until SIGTERM; SIGHUP reloads.
 */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "paths.h"
#include "xmalloc.h"

#include "ctl.h"
#include "engine.h"
#include "probed.h"


struct mainctx {
	struct event_base *base;
	struct engine	*eng;
};

/* SIGHUP. */
static void
on_hup(void *arg)
{
	struct mainctx	*m = arg;
	char		*errs = NULL;

	if (engine_reload(m->eng, &errs) == -1)
		daemon_reload_failed(errs);
}

int
main(int argc, char **argv)
{
	struct daemon_opts	 o;
	struct mainctx		 m;
	struct conf		*conf;
	struct ctl		*ctl;
	struct ctl_access	 access;
	struct daemon_signals	*sigs;
	struct event_config	*cfg;
	struct daemon_run	 run;
	char			*pidpath, *err = NULL;

	daemon_getopt(argc, argv, "tocsin-probed", &o);
	if (o.test)
		return daemon_check_conf(o.conf_path);
	if ((conf = daemon_load_conf(o.conf_path)) == NULL)
		return 1;
	if (conf->pidfile != NULL)
		pidpath = xstrdup(conf->pidfile);
	else
		xasprintf(&pidpath, "%s/%s", conf->state_dir, PATH_PIDFILE);
	daemon_start("tocsin-probed", &o, conf, pidpath, &run);
	if (evthread_use_pthreads() == -1)
		fatalx("libevent: no pthreads support");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
	if ((cfg = event_config_new()) == NULL)
		fatalx("event_config_new");
	/* curl changes a socket's interest often: let epoll see one change
	 * per socket per loop turn instead of each step. */
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	if ((m.base = event_base_new_with_config(cfg)) == NULL)
		fatalx("event_base_new");
	event_config_free(cfg);
	check_ping_init(conf);	/* raw socket while still root */
	daemon_settle(&run, conf);
	/* Everything in the state folder is opened as the daemon's user. */
	if ((m.eng = engine_new(m.base, conf, &err)) == NULL)
		fatalx("%s", err);
	/* After the drop, so the socket belongs to the daemon's user. */
	if ((ctl = ctl_open(m.eng, conf->control)) == NULL)
		fatalx("cannot open control socket %s", conf->control);
	if (conf->control_group != NULL && conf->control_gid >= 0) {
		access.group = conf->control_gid;
		ctl_set_access(ctl, &access);
	}
	engine_set_ctl(m.eng, ctl);
	sigs = daemon_signals_new(m.base, on_hup, &m);
	daemon_ready(&run);
	log_info("started: %zu servers, state in %s, control %s",
	    engine_ntargets(m.eng), engine_conf(m.eng)->state_dir,
	    engine_conf(m.eng)->control);
	event_base_dispatch(m.base);
	engine_set_ctl(m.eng, NULL);
	ctl_close(ctl);
	engine_free(m.eng);
	check_ping_shutdown();
	daemon_signals_free(sigs);
	event_base_free(m.base);
	curl_global_cleanup();
	daemon_stop(&run);
	return 0;
}
