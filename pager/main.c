/*
 * main.c: tocsin-pager's start-up: flags, config, state folder, pidfile,
 * privileges dropped, the control socket, then the loop until SIGTERM;
 * SIGHUP reloads. -l lists the deliveries queued, retrying and refused.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <auth-client.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "config.h"
#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "xmalloc.h"

#include "cluster.h"
#include "dispatch.h"
#include "pager.h"

struct mainctx {
	struct event_base	*base;
	struct dispatch		*disp;
	struct cluster		*cl;		/* set cluster: instead of disp */
	struct pagerctl		*ctl;		/* NULL: none could be made */
	const char		*conf_path;
};

static void	usage(FILE *, int) __attribute__((noreturn));
static int	check_conf(const char *);
static int	list_queue(const char *);

static void
usage(FILE *f, int code)
{
	fprintf(f, "usage: tocsin-pager [-dfltV] [-c file]\n"
	    "  -c file    the config (default %s)\n"
	    "  -d         debug logging\n"
	    "  -f         stay in the foreground, log to stderr\n"
	    "  -l         list deliveries queued, retrying and refused\n"
	    "  -t         check the config (and the auth-files), exit\n"
	    "  -V, --version  print the version\n"
	    "  --help     this text\n", conf_default_path());
	exit(code);
}

/* -t: the config, and what only the pager checks: the auth-files of the
 * relay and of the SMS gateway. "config ok" only once all of them are. */
static int
check_conf(const char *path)
{
	struct mail_conf	*mc;
	struct smsapi		*sa;
	struct conf		*c;
	char			 err[512], sum[128];

	if ((c = daemon_load_conf(path)) == NULL)
		return 1;
	if ((mc = mail_conf_new(c, err, sizeof(err))) == NULL &&
	    c->smtp_relay != NULL)
		goto bad;
	mail_conf_free(mc);
	if ((sa = smsapi_new(c, err, sizeof(err))) == NULL && err[0] != '\0')
		goto bad;
	smsapi_free(sa);
	conf_summary(c, sum, sizeof(sum));
	printf("config ok: %s\n", sum);
	conf_free(c);
	return 0;
bad:
	fprintf(stderr, "tocsin-pager: %s\n", err);
	conf_free(c);
	return 1;
}

/* Print one folder's records: SEQ CONTACT CHANNEL STATE TRIES NEXT ERROR. */
static int
list_dir(const char *dir)
{
	struct deliveries	 q;
	struct delivery		*d;
	char			 err[512], next[32];
	struct tm		 tm;
	time_t			 t;
	int			 fd, n;

	TAILQ_INIT(&q);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	n = queue_load(fd, &q, err, sizeof(err));
	close(fd);
	while ((d = TAILQ_FIRST(&q)) != NULL) {
		TAILQ_REMOVE(&q, d, entry);
		t = d->next;
		if ((d->state == D_QUEUED || d->state == D_HELD) &&
		    d->next > 0 &&
		    localtime_r(&t, &tm) != NULL)
			strftime(next, sizeof(next), "%Y-%m-%d %H:%M:%S", &tm);
		else
			strlcpy(next, d->state == D_QUEUED ? "now" : "-",
			    sizeof(next));
		printf("%" PRIu64 "\t%s\t%s\t%s\t%s\t%u\t%s\t%s\n", d->seq,
		    d->server, d->contact, queue_channel_str(d->ch),
		    d->state == D_QUEUED && d->tries > 0 ? "retrying" :
		    queue_state_str(d->state), d->tries, next, d->error);
		queue_free(d);
	}
	return n;
}

/* -l: the queue, then the deliveries refused for good. */
static int
list_queue(const char *path)
{
	struct conf	*c;
	char		 dir[1100];
	int		 rc = 0;

	if ((c = daemon_load_conf(path)) == NULL)
		return 1;
	printf("event\tserver\tcontact\tchannel\tstate\ttries\tnext\terror\n");
	snprintf(dir, sizeof(dir), "%s/pager/queue", c->state_dir);
	if (list_dir(dir) == -1)
		rc = 1;
	snprintf(dir, sizeof(dir), "%s/pager/failed", c->state_dir);
	if (list_dir(dir) == -1)
		rc = 1;
	conf_free(c);
	return rc;
}

/* SIGHUP. */
static void
on_hup(void *arg)
{
	struct mainctx	*m = arg;
	struct conf	*c, *old;
	char		*errs = NULL, err[512];

	if (m->cl != NULL) {
		log_warnx("cluster mode: a reload takes a restart");
		return;
	}
	if ((c = conf_load(m->conf_path, &errs)) == NULL) {
		daemon_reload_failed(errs);
		return;
	}
	if ((old = dispatch_reload(m->disp, c, err, sizeof(err))) == c) {
		log_warnx("reload failed, keeping the running config: %s",
		    err);
		conf_free(c);
		return;
	}
	if (old != NULL)
		conf_free(old);
	log_info("reloaded %s", m->conf_path);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct daemon_opts	 o;
	struct mainctx		 m;
	struct conf		*conf;
	struct daemon_signals	*sigs;
	struct daemon_run	 run;
	char			*pidpath, err[512];
	int			 ch, list = 0, clustered;

	memset(&o, 0, sizeof(o));
	o.conf_path = conf_default_path();
	while ((ch = getopt_long(argc, argv, "c:dfltV", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			o.conf_path = optarg;
			break;
		case 'd':
			o.debug = 1;
			break;
		case 'f':
			o.foreground = 1;
			break;
		case 'l':
			list = 1;
			break;
		case 't':
			o.test = 1;
			break;
		case 'V':
			printf("tocsin-pager %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout, 0);
		default:
			usage(stderr, 2);
		}
	}
	if (optind != argc)
		usage(stderr, 2);
	if (o.test)
		return check_conf(o.conf_path);
	if (list)
		return list_queue(o.conf_path);
	if ((conf = daemon_load_conf(o.conf_path)) == NULL)
		return 1;
	xasprintf(&pidpath, "%s/pager.pid", conf->state_dir);
	daemon_start("tocsin-pager", &o, conf, pidpath, &run);
	if (evthread_use_pthreads() == -1)
		fatalx("libevent: no pthreads support");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
	auth_client_init();
	if ((m.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	daemon_settle(&run, conf);
	m.conf_path = o.conf_path;
	m.disp = NULL;
	m.cl = NULL;
	if (conf->cluster != NULL) {
		if ((m.cl = cluster_new(m.base, conf, err, sizeof(err))) == NULL)
			fatalx("%s", err);
	} else if ((m.disp = dispatch_new(m.base, conf, err, sizeof(err))) ==
	    NULL)
		fatalx("%s", err);
	/* pages shows the local queue: in cluster mode it says it is the
	 * cluster's; test-page and ping work in both. */
	m.ctl = pagerctl_open(m.base, m.disp, conf,
	    conf->control_group != NULL ? conf->control_gid : -1);
	sigs = daemon_signals_new(m.base, on_hup, &m);
	daemon_ready(&run);
	if (conf->smtp_relay == NULL && m.disp != NULL)
		log_info("no smtp-relay in the config: email and SMS pages go "
		    "to the Maildir %s", dispatch_maildir(m.disp));
	else if (conf->smtp_relay == NULL)
		log_info("no smtp-relay in the config: email and SMS pages go "
		    "to the Maildir %s/maildir", conf->state_dir);
	else
		log_info("email and SMS pages go through %s%s%s",
		    conf->smtp_relay, conf->smtp_starttls ?
		    " (STARTTLS required)" : " (STARTTLS when offered)",
		    conf->smtp_auth_file ? " with AUTH" : "");
	if (m.cl != NULL)
		log_info("started: %zu contacts, cluster mode as node %s",
		    conf->ncontacts, conf->node);
	else
		log_info("started: %zu contacts, spool %s/spool",
		    conf->ncontacts, conf->state_dir);
	event_base_dispatch(m.base);
	clustered = m.cl != NULL;
	pagerctl_close(m.ctl);
	cluster_free(m.cl);
	dispatch_free(m.disp);
	daemon_signals_free(sigs);
	event_base_free(m.base);
	auth_client_exit();
	curl_global_cleanup();
	if (clustered)
		conf_free(conf);	/* the cluster's, kept to the end */
	daemon_stop(&run);
	return 0;
}
