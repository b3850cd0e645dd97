/*
 * ctl.c: tocsin-pager's control socket, STATE_DIR/pager.sock
 * (PATH_PAGER_SOCKET), in probed's protocol (lib/ctlsock): `pages` (what
 * is queued, retrying, held, done and refused; on one machine only: in
 * cluster mode the deliveries are the cluster's, and it says so),
 * `test-page CONTACT` (a test page on each of its channels, answered when
 * every try is over; testpage.c), `ping` and `help`, in both modes. Only
 * `test-page` sends anything; it changes no record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf.h"
#include "ctlsock.h"
#include "log.h"
#include "paths.h"
#include "peer.h"
#include "xmalloc.h"

#include "dispatch.h"
#include "pager.h"

struct pagerctl {
	struct ctlsock	*cs;
	struct dispatch	*d;		/* NULL: cluster mode */
	const struct conf *conf;	/* cluster mode's (d has its own) */
	struct testpages *tp;
	long		 group;		/* set control-group's gid; -1 */
};

#define PAGES_CLUSTER	"pages is for one machine: in cluster mode the " \
			"deliveries are the records of the bucket " \
			"tocsin_deliveries, which every pager shares"

static json_t	*on_request(struct ctlsock_req *, char *, void *);
static void	 reply(void *, json_t *);
static json_t	*error(const char *);

static json_t *
error(const char *msg)
{
	return json_pack("{sbss}", "ok", 0, "error", msg);
}

/* The dispatch's answer to a request kept for it. */
static void
reply(void *arg, json_t *answer)
{
	ctlsock_reply(arg, answer);
}

/* One request: answered now, or later through reply. */
static json_t *
on_request(struct ctlsock_req *req, char *line, void *arg)
{
	struct pagerctl	*pc = arg;
	char		*cmd, *contact, *save, err[256];

	if ((cmd = strtok_r(line, " \t", &save)) == NULL)
		return error("empty request (pages, test-page CONTACT, ping, "
		    "help)");
	if (strcmp(cmd, "ping") == 0)
		return json_pack("{sb}", "ok", 1);
	if (strcmp(cmd, "help") == 0)
		return json_pack("{sbs[sss]}", "ok", 1, "commands", "pages",
		    "test-page CONTACT", "ping");
	if (strcmp(cmd, "pages") == 0) {
		if (pc->d == NULL)
			return error(PAGES_CLUSTER);
		dispatch_pages(pc->d, reply, req);
		return NULL;
	}
	if (strcmp(cmd, "test-page") == 0) {
		if ((contact = strtok_r(NULL, " \t", &save)) == NULL ||
		    strtok_r(NULL, " \t", &save) != NULL)
			return error("usage: test-page CONTACT");
		/* It sends real pages: a change, as probed's commands. */
		if (!peer_may_change(ctlsock_peer(req), pc->group)) {
			log_warnx("control: uid %ld may not test-page: not "
			    "in the control group %ld",
			    ctlsock_peer(req)->uid, pc->group);
			snprintf(err, sizeof(err), "permission denied: "
			    "test-page sends pages, and uid %ld is not in the "
			    "control group", ctlsock_peer(req)->uid);
			return error(err);
		}
		if (testpage_start(pc->tp, pc->d != NULL ?
		    dispatch_conf(pc->d) : pc->conf, contact, reply, req, err,
		    sizeof(err)) == -1)
			return error(err);
		return NULL;
	}
	snprintf(err, sizeof(err), "unknown command '%s' (pages, test-page "
	    "CONTACT, ping, help)", cmd);
	return error(err);
}

/*
 * Listen at STATE_DIR/pager.sock (conf's state folder); test-page only for
 * root, the daemon's user and the members of group (set control-group's
 * gid; -1: anyone). d: the queue `pages` shows, and the config in force;
 * NULL in cluster mode, where conf (kept by the caller until
 * pagerctl_close) is. Returns NULL after logging why: the pager then
 * pages without one.
 */
struct pagerctl *
pagerctl_open(struct event_base *base, struct dispatch *d,
    const struct conf *conf, long group)
{
	struct pagerctl	*pc;
	char		 path[1100], err[1300];

	snprintf(path, sizeof(path), "%s/%s", conf->state_dir,
	    PATH_PAGER_SOCKET);
	pc = xcalloc(1, sizeof(*pc));
	pc->d = d;
	pc->conf = conf;
	pc->group = group;
	if ((pc->tp = testpages_new(base, err, sizeof(err))) == NULL ||
	    (pc->cs = ctlsock_open(base, path, on_request, pc, err,
	    sizeof(err))) == NULL) {
		log_warnx("%s; tocsinctl pages and test-page will not reach "
		    "the pager", err);
		testpages_free(pc->tp);
		free(pc);
		return NULL;
	}
	log_info("control socket %s", path);
	return pc;
}

/* Close it: the test pages in flight answer first. */
void
pagerctl_close(struct pagerctl *pc)
{
	if (pc == NULL)
		return;
	testpages_free(pc->tp);
	ctlsock_close(pc->cs);
	free(pc);
}
