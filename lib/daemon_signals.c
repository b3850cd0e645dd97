/*
 * daemon_signals.c: the signals every tocsin daemon takes on its loop
 * (daemon.h); apart from daemon.c so that what links only that needs no
 * libevent.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "daemon.h"
#include "log.h"
#include "xmalloc.h"

struct daemon_signals {
	struct event_base	*base;
	daemon_reload_fn	*reload;
	void			*arg;
	struct event		*ev[3];
};

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon_signals	*ds = arg;

	(void)what;
	if (sig == SIGHUP) {
		ds->reload(ds->arg);
		return;
	}
	log_info("exiting on signal %d", (int)sig);
	event_base_loopbreak(ds->base);
}

/*
 * Watch the signals every daemon takes on its loop: SIGHUP calls reload,
 * SIGTERM and SIGINT end the loop. Exits when they cannot be watched.
 */
struct daemon_signals *
daemon_signals_new(struct event_base *base, daemon_reload_fn *reload,
    void *arg)
{
	static const int	 sigs[] = { SIGHUP, SIGTERM, SIGINT };
	struct daemon_signals	*ds;
	size_t			 i;

	ds = xcalloc(1, sizeof(*ds));
	ds->base = base;
	ds->reload = reload;
	ds->arg = arg;
	for (i = 0; i < 3; i++)
		if ((ds->ev[i] = evsignal_new(base, sigs[i], on_signal,
		    ds)) == NULL || evsignal_add(ds->ev[i], NULL) == -1)
			fatalx("cannot watch signals");
	return ds;
}

void
daemon_signals_free(struct daemon_signals *ds)
{
	size_t	i;

	if (ds == NULL)
		return;
	for (i = 0; i < 3; i++)
		if (ds->ev[i] != NULL)
			event_free(ds->ev[i]);
	free(ds);
}

/* A reload's errors (taken, one per line): logged; the running config
 * stays. */
void
daemon_reload_failed(char *errs)
{
	log_warnx_lines("reload failed, keeping the running config: ", errs);
	free(errs);
}
