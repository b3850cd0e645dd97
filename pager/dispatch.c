/*
 * dispatch.c: the pager's core on the event loop. It scans the spool for
 * new events (on the I/O worker), turns each into delivery records on disk,
 * starts the deliveries that are due (email and SMS on the mail worker,
 * webhooks on the loop through libcurl), records each outcome durably, and
 * when every delivery of an event is final deletes the event's spool file,
 * then its records. Nothing here blocks: fsync, SMTP, the state file and
 * the control socket are worker jobs.
 *
 * Crash safety: a spool file is deleted only after all its deliveries are
 * final on disk; records are made by name, so a rescan after a crash makes
 * only the missing ones; a delivery whose outcome was not yet on disk is
 * sent again with the same Message-ID or Idempotency-Key.
 *
 * Probed's contract (EVENT SPOOL, STATE FILE): an event may be deleted
 * only once its number is at most state.json's "spooled", since probed
 * re-derives its state at start from the events above it. An event
 * delivered (or with nothing to page) above it stays in the spool, its
 * records final, so it is never sent again; the sweep (at start and every
 * SWEEP_EVERY_MS) reads "spooled" on the I/O worker and deletes what it
 * now covers.
 */
#include <sys/inotify.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <event2/event.h>

#include "conf.h"
#include "ctlclient.h"
#include "fsutil.h"
#include "hash.h"
#include "history.h"
#include "jsontext.h"
#include "log.h"
#include "paths.h"
#include "stateread.h"
#include "util.h"
#include "xmalloc.h"

#include "dispatch.h"
#include "pager.h"

#define SCAN_EVERY_MS	250	/* spool scan and due-delivery check */
#define SCAN_MAX	1000	/* events read per scan */
#define PAGER_INFLIGHT_MAX 64	/* sends in flight at once */
#define MAIL_INFLIGHT_MAX 48	/* of them, mails: a slow relay leaves
				   room for webhooks and the SMS API */
#define READY_MAX	1024	/* lane heads looked at by one run() */
#define MAIL_BATCH	32	/* a lane's mails in one SMTP session */
#define SWEEP_EVERY_MS	10000	/* state.json's "spooled" read again */
#define POLL_EVERY_MS	2000	/* probed's status, then renotify */
#define INFO_WAIT_MS	2000	/* probed's answer for a page's details */
#define INFO_QUIET_US	(60 * 1000000LL) /* after none: the state file */

struct dispatch {
	struct event_base	*base;
	struct conf		*conf;
	struct conf		*next_conf;	/* a reload waiting for a scan */
	struct mail_conf	*mc;		/* NULL: Maildir */
	struct mail_conf	*next_mc;
	struct smsapi		*sms;		/* NULL: no set sms-gateway */
	struct smsapi		*next_sms;
	struct worker		*io;		/* spool, records */
	struct worker		*mail;		/* SMTP, Maildir */
	struct worker		*ctl;		/* asking probed */
	struct worker		*save;		/* outcomes, on disk */
	struct batch		*saves;		/* outcomes to write (sends) */
	struct batch		*finals;	/* events to remove (finals) */
	struct event		*kick;		/* run() from the next turn */
	struct webhook		*wh;
	TAILQ_HEAD(, send)	 calls;		/* webhook and SMS API sends in
						   flight (freed on a stop that
						   abandons them) */
	struct event		*tick;
	struct history		*dlog;		/* pager/deliveries.jsonl */
	int			 inofd;		/* inotify on the spool, or -1 */
	struct event		*ino;
	int			 rescan;	/* a new file came during a scan */
	int			 behind;	/* the last scan left events
						   unread (SCAN_MAX): no storm
						   window ends until they are */
	struct deliveries	 q;
	char			 spool_dir[1024];
	char			 maildir[1024];
	int			 qfd;		/* STATE/pager/queue */
	int			 failfd;	/* STATE/pager/failed */
	int			 spoolfd;
	uint64_t		 last_seq;	/* highest event with records */
	int64_t			 info_quiet;	/* mono_us until which a page's
						   details come from the state
						   file: probed did not answer
						   (the I/O worker's) */
	int			 scanning;
	int			 stopping;
	size_t			 inflight;
	size_t			 mail_inflight;	/* of them, by the relay */
	int			 pagerfd;	/* STATE/pager */
	int			 statefd;	/* STATE */
	/* Deletion waits for state.json's "spooled" (loop's copy). */
	struct event		*sweep;
	int			 sweeping;
	uint64_t		 spooled;
	uint64_t		*idle;		/* nothing to page, kept */
	size_t			 nidle, idlecap;
	uint64_t		*unread;	/* events that could not be read
						   (not bad ones): read again */
	size_t			 nunread, unreadcap;
	/* Asking probed for acks and downtimes, then the renotify pass. */
	struct event		*poll;
	int			 polling;
	struct poll		*poll_waiting;	/* for the scan to end */
	int			 probed_answers;	/* the last poll's */
	struct watchdog		 wd;		/* set admin's */
	/* Owned by the scan (one at a time, on the I/O worker). */
	struct memo		*memo;
	struct storm		 storm;
};

/* A scan of the spool, on the I/O worker. */
struct scan {
	struct dispatch		*d;
	const struct conf	*conf;
	uint64_t		 after;
	uint64_t		 last;		/* highest seq handled */
	uint64_t		 spooled;	/* deletable up to it */
	struct deliveries	 made;
	uint64_t		*idle;		/* nothing to page, above spooled */
	size_t			 nidle, idlecap;
	uint64_t		*retry;		/* d->unread's copy, read first */
	size_t			 nretry;
	uint64_t		*unread;	/* still or newly unreadable */
	size_t			 nunread, unreadcap;
	int			 more;		/* stopped at SCAN_MAX, events
						   left to read */
};

/* A storm window's held deliveries for one contact and channel, folded
 * on the I/O worker: the last one's record becomes the digest (unless a
 * crash left it made already: last == -1), then the others are done. */
struct fold {
	struct dispatch		*d;
	size_t			 n;
	struct delivery		**orig;		/* the loop's; not touched */
	struct delivery		*copy;		/* what the worker writes */
	int			*ok;
	ssize_t			 last;		/* becomes the digest; or -1 */
	char			*digest;	/* its payload */
	uint64_t		 digest_seq;
};

/*
 * A poll of probed's status (on the ctl worker), then the renotify pass
 * over the open problems (on the I/O worker, which owns the memo).
 */
struct poll {
	struct dispatch		*d;
	char			 control[1100];
	char			 state_file[1100];
	int			 answered;	/* probed answered */
	struct ctl_server	*sv;		/* NULL: nothing known */
	size_t			 nsv;
	const struct conf	*conf;		/* the pass's */
	struct deliveries	 made;
	enum wd_verdict		 wd;		/* to tell set admin */
	struct watchdog		 wd_state;	/* to save after */
	char			 wd_why[256];
	int			 wd_told;	/* on disk */
};

/* `pages`: the loop's queue copied, then pager/failed read on the I/O
 * worker. */
struct pages {
	struct dispatch		*d;
	struct deliveries	 q;		/* copies, payloads dropped */
	dispatch_answer_fn	*cb;
	void			*arg;
	int			 probed;	/* probed answered last */
};

/* A read of state.json's "spooled", on the I/O worker. */
struct sweep {
	struct dispatch		*d;
	uint64_t		 spooled;
	int			 ok;
};

/* Tries of mails (or Maildir files) in one SMTP session, on the mail
 * worker. */
struct mailjob {
	struct dispatch		*d;
	struct mail_conf	*mc;		/* NULL: the Maildir */
	size_t			 n;
	struct send		*s[MAIL_BATCH * 2];
	struct mail_msg		 mm[MAIL_BATCH * 2];
};

/* One try of one delivery; the copy is what the worker writes. */
struct send {
	struct dispatch		*d;
	struct delivery		*del;		/* the loop's; not touched */
	struct delivery		 copy;		/* payload shared, read only */
	struct mail_conf	*mc;
	enum send_result	 r;
	char			 err[ERROR_MAX];
	int			 saved;		/* the record write worked */
	int			 rewrite;	/* no try: the final record that
						   could not be written, again */
	int			 calling;	/* on d->calls */
	TAILQ_ENTRY(send)	 entry;
};

/* Removing an event's spool file and records, on the I/O worker: the
 * names are copied, so the worker never reads the loop's queue. */
struct final {
	struct dispatch		*d;
	uint64_t		 seq;
	int			 kept;		/* the spool file would not go */
	size_t			 n;
	struct {
		char	 name[200];
		int	 failed;
		char	*line;	/* for the delivery log, or NULL */
	}			*recs;
};

static void	 on_tick(evutil_socket_t, short, void *);
static void	 scan_work(void *);
static int	 scan_one(struct scan *, uint64_t, int);
static void	 scan_start(struct dispatch *);
static char	*delivery_log_line(const struct delivery *, int64_t);
static void	 watch_spool(struct dispatch *, const struct conf *);
static void	 on_spool_change(evutil_socket_t, short, void *);
static void	 scan_done(void *);
static int	 make_deliveries(struct dispatch *, const struct conf *,
		    const struct spool_event *, struct deliveries *);
static struct delivery *record_new(struct dispatch *,
		    const struct spool_event *, const struct want *, unsigned);
static int	 record_write(struct dispatch *, struct delivery *,
		    struct deliveries *);
static int	 make_unsent(struct dispatch *, const struct spool_event *,
		    const struct want *, const char *, struct deliveries *);
static int	 was_listed(const struct memo_entry *, const struct want *);
static int	 make_record(struct dispatch *, const struct conf *,
		    const struct spool_event *, const struct want *, int,
		    int64_t, unsigned, struct server_info *, int *,
		    struct deliveries *);
static void	 on_poll(evutil_socket_t, short, void *);
static void	 poll_work(void *);
static void	 poll_done(void *);
static void	 remind_work(void *);
static void	 remind_server(struct poll *, struct memo_entry *,
		    const struct ctl_server *, int64_t);
static void	 remind_finish(void *);
static void	 dtend_server(struct poll *, struct memo_entry *,
		    const struct ctl_server *, int64_t);
static void	 dtend_reconcile(struct dispatch *);
static void	 remind_reconcile(struct dispatch *);
static void	 poll_free(struct poll *);
static void	 watch_probed(struct dispatch *, struct poll *);
static void	 tell_admin(struct poll *, int64_t);
static void	 pages_work(void *);
static void	 pages_done(void *);
static json_t	*delivery_json(const struct delivery *);
static void	 fold_due(struct dispatch *);
static void	 stale_due(struct dispatch *);
static int64_t	 stale_window(struct dispatch *, const struct delivery *,
		    int64_t);
static void	 stale_work(void *);
static void	 stale_done(void *);
static void	 fold_work(void *);
static void	 fold_done(void *);
static int	 same_lane(const struct delivery *, const struct delivery *);
static void	 server_info(struct dispatch *, const struct conf *,
		    const char *, struct server_info *);
static void	 run(struct dispatch *);
static void	 on_kick(evutil_socket_t, short, void *);
static int	 by_mail(const struct delivery *);
static struct send *start(struct dispatch *, struct delivery *);
static void	 mail_add(struct mailjob **, struct send *);
static void	 mail_work(void *);
static void	 mail_done(void *);
static void	 send_done(struct send *);
static void	 on_webhook(void *, enum send_result, const char *);
static void	 taken(struct send *);
static void	 unsaved_keep(struct delivery *, const char *);
static void	 resave_due(struct dispatch *);
static void	 resave_done(struct send *);
static void	 saves_work(void **, size_t, void *);
static void	 saves_done(void **, size_t, void *);
static void	 finals_work(void **, size_t, void *);
static void	 finals_done(void **, size_t, void *);
static void	 final_remove(struct final *);
static int	 finalize(struct dispatch *, uint64_t);
static int	 read_spooled(int, uint64_t *);
static void	 on_sweep(evutil_socket_t, short, void *);
static void	 sweep_work(void *);
static void	 sweep_done(void *);
static void	 release(struct dispatch *);
static void	 idle_add(uint64_t **, size_t *, size_t *, uint64_t);
static void	 delete_event(struct dispatch *, uint64_t);
static void	 final_done(struct final *);
static int	 open_dir(const char *, const char *, char *, size_t);
static int	 open_folders(struct dispatch *, const struct conf *, char *,
		    size_t);
static struct conf *swap_conf(struct dispatch *);
static void	 scan_done_sync(struct dispatch *, struct scan *);

/* mkdir -p base/sub and open it; returns the fd or -1. */
static int
open_dir(const char *base, const char *sub, char *path, size_t len)
{
	if ((size_t)snprintf(path, len, "%s/%s", base, sub) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (fsutil_mkdir_p(path, 0750) == -1)
		return -1;
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Open (making them) pager/, pager/queue, pager/failed, spool/ and, with
 * no relay, the Maildir. Returns 0, or -1 with err set. */
static int
open_folders(struct dispatch *d, const struct conf *conf, char *err,
    size_t errlen)
{
	char path[1100];

	if ((d->pagerfd = open_dir(conf->state_dir, "pager", path,
	    sizeof(path))) == -1 ||
	    (d->qfd = open_dir(conf->state_dir, "pager/queue", path,
	    sizeof(path))) == -1 ||
	    (d->failfd = open_dir(conf->state_dir, "pager/failed", path,
	    sizeof(path))) == -1 ||
	    (d->statefd = open_dir(conf->state_dir, ".", path,
	    sizeof(path))) == -1 ||
	    (d->spoolfd = open_dir(conf->state_dir, PATH_SPOOL_DIR, path,
	    sizeof(path))) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	strlcpy(d->spool_dir, path, sizeof(d->spool_dir));	/* opened last */
	snprintf(path, sizeof(path), "%s/%s", conf->state_dir, PATH_PAGER_DIR);
	d->dlog = history_open_file(path, PATH_DELIVERY_LOG,
	    PATH_DELIVERY_OLD);
	if (d->mc == NULL && maildir_open(conf->state_dir, d->maildir,
	    sizeof(d->maildir)) == -1) {
		snprintf(err, errlen, "maildir under %s: %s", conf->state_dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Set up the folders, load the queue left on disk, make the records the
 * spool still lacks, and start the scan timer. Blocks (start-up only).
 * The dispatch owns conf from here on, even when it fails. Returns NULL
 * with err set.
 */
struct dispatch *
dispatch_new(struct event_base *base, struct conf *conf, char *err,
    size_t errlen)
{
	struct dispatch	*d;
	struct scan	 s;
	struct timeval	 tv = { 0, SCAN_EVERY_MS * 1000 };
	struct timeval	 stv = { SWEEP_EVERY_MS / 1000, 0 };
	struct timeval	 ptv = { POLL_EVERY_MS / 1000,
			    POLL_EVERY_MS % 1000 * 1000 };
	char		 why[512];
	int		 n;

	d = xcalloc(1, sizeof(*d));
	d->base = base;
	d->conf = conf;
	TAILQ_INIT(&d->q);
	TAILQ_INIT(&d->calls);
	d->qfd = d->failfd = d->spoolfd = d->pagerfd = d->statefd = -1;
	d->inofd = -1;
	if ((d->mc = mail_conf_new(conf, err, errlen)) == NULL &&
	    conf->smtp_relay != NULL)
		goto fail;
	if ((d->sms = smsapi_new(conf, err, errlen)) == NULL && err[0] != '\0')
		goto fail;
	if (open_folders(d, conf, err, errlen) == -1)
		goto fail;
	if ((n = queue_load(d->qfd, &d->q, why, sizeof(why))) == -1) {
		snprintf(err, errlen, "%s/pager/queue: %s", conf->state_dir,
		    strerror(errno));
		goto fail;
	}
	if (why[0] != '\0')
		log_warnx("queue: %s", why);
	d->memo = memo_load(d->pagerfd);
	dtend_reconcile(d);
	remind_reconcile(d);
	watchdog_load(d->pagerfd, &d->wd);
	/* What may be deleted; read again by every sweep. */
	read_spooled(d->statefd, &d->spooled);
	/* What a crash left: events whose records are not all made, and
	 * events kept for "spooled" that it covers now. */
	memset(&s, 0, sizeof(s));
	s.d = d;
	s.conf = conf;
	s.spooled = d->spooled;
	TAILQ_INIT(&s.made);
	scan_work(&s);
	scan_done_sync(d, &s);
	d->io = worker_new(base, "io");
	d->mail = worker_new(base, "mail");
	d->ctl = worker_new(base, "ctl");
	d->save = worker_new(base, "save");
	d->saves = batch_new(d->save, saves_work, saves_done, d);
	d->finals = batch_new(d->io, finals_work, finals_done, d);
	if ((d->kick = event_new(base, -1, 0, on_kick, d)) == NULL) {
		snprintf(err, errlen, "cannot add the run event");
		goto fail;
	}
	if ((d->wh = webhook_new(base)) == NULL) {
		snprintf(err, errlen, "cannot start libcurl");
		goto fail;
	}
	if ((d->tick = event_new(base, -1, EV_PERSIST, on_tick, d)) == NULL ||
	    event_add(d->tick, &tv) == -1) {
		snprintf(err, errlen, "cannot add the scan timer");
		goto fail;
	}
	watch_spool(d, conf);
	if ((d->sweep = event_new(base, -1, EV_PERSIST, on_sweep, d)) ==
	    NULL || event_add(d->sweep, &stv) == -1) {
		snprintf(err, errlen, "cannot add the sweep timer");
		goto fail;
	}
	if ((d->poll = event_new(base, -1, EV_PERSIST, on_poll, d)) ==
	    NULL || event_add(d->poll, &ptv) == -1) {
		snprintf(err, errlen, "cannot add the poll timer");
		goto fail;
	}
	log_info("queue: %d deliveries pending from before, spool up to "
	    "event %" PRIu64 ", state.json's spooled %" PRIu64, n,
	    d->last_seq, d->spooled);
	return d;
fail:
	dispatch_free(d);
	return NULL;
}

/* Where pages go when there is no relay ("" with a relay). */
const char *
dispatch_maildir(const struct dispatch *d)
{
	return d->maildir;
}

/*
 * Stop: sends in flight on the mail worker finish (bounded by its
 * timeouts) and their outcomes are written; webhooks in flight are
 * abandoned and stay queued on disk. Frees the config in use too (the
 * dispatch owns it from dispatch_new on).
 */
void
dispatch_free(struct dispatch *d)
{
	struct delivery *del;
	struct send	*s;

	if (d == NULL)
		return;
	d->stopping = 1;
	if (d->tick != NULL)
		event_free(d->tick);
	if (d->ino != NULL)
		event_free(d->ino);
	if (d->inofd != -1)
		close(d->inofd);
	if (d->sweep != NULL)
		event_free(d->sweep);
	if (d->poll != NULL)
		event_free(d->poll);
	if (d->poll_waiting != NULL)
		poll_free(d->poll_waiting);
	webhook_free(d->wh);
	/* Their callbacks never come: the pages stay queued on disk. */
	while ((s = TAILQ_FIRST(&d->calls)) != NULL) {
		TAILQ_REMOVE(&d->calls, s, entry);
		free(s);
	}
	worker_free(d->ctl);
	/* The mails' outcomes go to the save worker, the saves' removals
	 * to the I/O worker: stopped in that order. */
	worker_free(d->mail);
	worker_free(d->save);
	worker_free(d->io);
	batch_free(d->saves);
	batch_free(d->finals);
	if (d->kick != NULL)
		event_free(d->kick);
	while ((del = TAILQ_FIRST(&d->q)) != NULL) {
		/* A final outcome still only in memory: a last write. */
		if (del->unsaved && queue_write(d->qfd, del) == -1)
			log_warn("queue: event %" PRIu64 " to %s (%s): the "
			    "record is not written; the page goes again at the "
			    "next start", del->seq, del->contact,
			    queue_channel_str(del->ch));
		TAILQ_REMOVE(&d->q, del, entry);
		queue_free(del);
	}
	mail_conf_free(d->mc);
	mail_conf_free(d->next_mc);
	smsapi_free(d->sms);
	smsapi_free(d->next_sms);
	if (d->next_conf != NULL)
		conf_free(d->next_conf);
	conf_free(d->conf);
	memo_free(d->memo);
	if (d->pagerfd != -1)
		close(d->pagerfd);
	if (d->qfd != -1)
		close(d->qfd);
	if (d->failfd != -1)
		close(d->failfd);
	history_close(d->dlog);
	if (d->spoolfd != -1)
		close(d->spoolfd);
	if (d->statefd != -1)
		close(d->statefd);
	free(d->idle);
	free(d->unread);
	free(d);
}

/*
 * Take a new config (after SIGHUP). Returns the config that is no longer
 * used, for the caller to free, or NULL when the swap waits for the scan
 * in flight (dispatch then frees the old one). On error (the relay's
 * settings are refused) returns conf itself with err set: nothing changed.
 */
struct conf *
dispatch_reload(struct dispatch *d, struct conf *conf, char *err,
    size_t errlen)
{
	struct mail_conf	*mc;
	struct smsapi		*sms;

	mc = mail_conf_new(conf, err, errlen);
	if (mc == NULL && conf->smtp_relay != NULL)
		return conf;
	if ((sms = smsapi_new(conf, err, errlen)) == NULL && err[0] != '\0') {
		mail_conf_free(mc);
		return conf;
	}
	if ((mc == NULL) != (d->mc == NULL) ||
	    strcmp(conf->state_dir, d->conf->state_dir) != 0)
		log_warnx("reload: a change of smtp-relay on or off, or of "
		    "state-dir, takes effect at the next start");
	if (d->next_conf != NULL)
		conf_free(d->next_conf);
	mail_conf_free(d->next_mc);
	smsapi_free(d->next_sms);
	d->next_conf = conf;
	d->next_mc = mc;
	d->next_sms = sms;
	if (d->scanning)
		return NULL;
	return swap_conf(d);
}

/* Put the waiting config in place; return the old one. The old relay
 * settings are freed on the mail worker, after the jobs that use them. */
static struct conf *
swap_conf(struct dispatch *d)
{
	struct conf *old = d->conf;

	d->conf = d->next_conf;
	d->next_conf = NULL;
	if ((d->next_mc == NULL) == (d->mc == NULL)) {
		if (d->mc != NULL)
			worker_submit(d->mail, mail_conf_free_job, NULL, d->mc);
		d->mc = d->next_mc;
	} else
		mail_conf_free(d->next_mc);
	d->next_mc = NULL;
	/* Used on the loop only (webhook_call copies what it needs). */
	smsapi_free(d->sms);
	d->sms = d->next_sms;
	d->next_sms = NULL;
	return old;
}

/*
 * React to a new spool file at once: inotify on the spool folder (a file
 * gets its name by link(2), IN_CREATE, or by rename, IN_MOVED_TO) starts a
 * scan. The scan timer stays the fallback (inotify missing, its queue
 * overflowing, or a file system that does not report): without inotify a
 * new event waits at most SCAN_EVERY_MS.
 */
static void
watch_spool(struct dispatch *d, const struct conf *conf)
{
	char	 path[1024];

	snprintf(path, sizeof(path), "%s/%s", conf->state_dir, PATH_SPOOL_DIR);
	if ((d->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1 ||
	    inotify_add_watch(d->inofd, path, IN_CREATE | IN_MOVED_TO) == -1) {
		log_warn("inotify on %s (the spool is scanned every %d ms)",
		    path, SCAN_EVERY_MS);
		goto fail;
	}
	if ((d->ino = event_new(d->base, d->inofd, EV_READ | EV_PERSIST,
	    on_spool_change, d)) == NULL || event_add(d->ino, NULL) == -1) {
		log_warnx("inotify: cannot add the event (the spool is "
		    "scanned every %d ms)", SCAN_EVERY_MS);
		goto fail;
	}
	return;
fail:
	if (d->ino != NULL)
		event_free(d->ino);
	d->ino = NULL;
	if (d->inofd != -1)
		close(d->inofd);
	d->inofd = -1;
}

/* A name appeared in the spool: scan when it is an event (SEQ.json),
 * now or when the scan running ends. */
static void
on_spool_change(evutil_socket_t fd, short what, void *arg)
{
	struct dispatch	*d = arg;
	char		 buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ie;
	ssize_t		 n;
	size_t		 off, len;
	int		 event = 0;

	(void)what;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off + sizeof(*ie) <= (size_t)n;
		    off += sizeof(*ie) + ie->len) {
			ie = (const struct inotify_event *)(buf + off);
			if (ie->mask & IN_Q_OVERFLOW)
				event = 1;
			if (ie->len == 0)
				continue;
			len = strlen(ie->name);
			if (len > 5 && ie->name[0] >= '0' &&
			    ie->name[0] <= '9' &&
			    strcmp(ie->name + len - 5, ".json") == 0)
				event = 1;
		}
	}
	if (!event || d->stopping)
		return;
	if (d->scanning)
		d->rescan = 1;
	else {
		scan_start(d);
		run(d);
	}
}

/* Scan the spool on the I/O worker unless a scan runs. */
static void
scan_start(struct dispatch *d)
{
	struct scan	*s;

	if (d->scanning || d->stopping)
		return;
	s = xcalloc(1, sizeof(*s));
	s->d = d;
	s->conf = d->conf;
	s->after = d->last_seq;
	s->spooled = d->spooled;
	TAILQ_INIT(&s->made);
	if (d->nunread > 0) {
		s->retry = xreallocarray(NULL, d->nunread, sizeof(*s->retry));
		memcpy(s->retry, d->unread, d->nunread * sizeof(*s->retry));
		s->nretry = d->nunread;
	}
	d->scanning = 1;
	d->rescan = 0;
	worker_submit(d->io, scan_work, scan_done, s);
}

/* Every SCAN_EVERY_MS: scan the spool unless a scan runs, start what is
 * due. */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct dispatch	*d = arg;

	(void)fd;
	(void)what;
	scan_start(d);
	if (!d->stopping) {
		stale_due(d);
		fold_due(d);
		resave_due(d);
	}
	run(d);
}

/*
 * On the I/O worker: read the events after s->after and make their
 * deliveries on disk. An event with nothing to page is deleted at once
 * when s->spooled covers it, else listed in s->idle for the sweep. A
 * record that cannot be written stops the scan there; the next one
 * resumes at that event. An event that cannot be read (open or read
 * failed: not a bad file) is not passed over: it goes in s->unread, and
 * the next scan reads it first (s->retry), while the later ones go on.
 */
static void
scan_work(void *arg)
{
	struct scan		*s = arg;
	uint64_t		*seqs = NULL;
	size_t			 n = 0, i;
	int			 r;

	s->last = s->after;
	for (i = 0; i < s->nretry; i++)
		if (scan_one(s, s->retry[i], 1) == -1)
			idle_add(&s->unread, &s->nunread, &s->unreadcap,
			    s->retry[i]);
	if (spool_list(s->d->spool_dir, s->after, &seqs, &n) == -1)
		log_warn("spool %s", s->d->spool_dir);
	for (i = 0; i < n && i < SCAN_MAX; i++) {
		if ((r = scan_one(s, seqs[i], 0)) == -2)
			break;
		if (r == -1)
			idle_add(&s->unread, &s->nunread, &s->unreadcap,
			    seqs[i]);
		s->last = seqs[i];
	}
	s->more = i == SCAN_MAX && n > SCAN_MAX;
	free(seqs);
	memo_save(s->d->memo, s->d->pagerfd);
}

/*
 * Read event seq and make its deliveries (again: one read before that
 * could not be, when retry). Returns 0 when it is done with (a bad event,
 * not JSON or gone, is logged and left in place), -1 when it could not be
 * read (a transient error: open or read; read again at the next scan),
 * -2 when a record could not be written (the scan stops there).
 */
static int
scan_one(struct scan *s, uint64_t seq, int retry)
{
	struct spool_event	 ev;
	char			 name[64];
	int			 r;

	if (spool_read(s->d->spool_dir, seq, &ev) == -1) {
		if (errno == EINVAL || errno == ENOENT) {
			log_warnx("spool: event %" PRIu64 " %s; left in place",
			    seq, errno == EINVAL ? "is not a valid event" :
			    "is gone");
			return 0;
		}
		if (!retry)
			log_warn("spool: event %" PRIu64 " cannot be read "
			    "(read again at every scan until it can)", seq);
		return -1;
	}
	if (retry)
		log_info("spool: event %" PRIu64 " can be read now", seq);
	if ((r = make_deliveries(s->d, s->conf, &ev, &s->made)) == -1)
		return retry ? -1 : -2;
	if (r == 0 && ev.seq > s->spooled)
		idle_add(&s->idle, &s->nidle, &s->idlecap, ev.seq);
	else if (r == 0) {
		/* Nothing to page. */
		snprintf(name, sizeof(name), "%020" PRIu64 ".json", ev.seq);
		if (unlinkat(s->d->spoolfd, name, 0) == -1 && errno != ENOENT)
			log_warn("spool: cannot delete %s", name);
		else
			fsync(s->d->spoolfd);
	}
	return 0;
}

/*
 * Make one record, unless it is on disk already. info is filled the first
 * time a record needs it (*have_info). held: the end of the storm window
 * whose digest lists the event (the record holds its line), or 0. round:
 * the reminder's number (renotify), or 0 for the event's page. Returns
 * 0, or -1 when the record could not be written.
 */
static int
make_record(struct dispatch *d, const struct conf *conf,
    const struct spool_event *ev, const struct want *w, int flap_stopped,
    int64_t held, unsigned round, struct server_info *info, int *have_info,
    struct deliveries *made)
{
	struct delivery	*del;
	struct page_ctx	 p;
	char		 line[1024];

	if ((del = record_new(d, ev, w, round)) == NULL)
		return 0;
	if (held != 0) {
		format_digest_line(ev, line, sizeof(line));
		del->payload = xstrdup(line);
		del->state = D_HELD;
		del->next = del->window = held;
		goto write;
	}
	if (!*have_info) {
		server_info(d, conf, ev->id, info);
		*have_info = 1;
	}
	memset(&p, 0, sizeof(p));
	p.conf = conf;
	p.contact = del->contact;
	p.to = del->to;
	p.ch = del->ch;
	p.info = info;
	p.flap_stopped = flap_stopped;
	p.round = round;
	p.now = del->created;
	del->payload = del->ch == CH_WEBHOOK ? format_webhook(ev, &p) :
	    del->ch == CH_SMS ? format_sms(ev, &p) : format_email(ev, &p);
	/* Email and webhook pages list the unreachable dependents. */
	if (del->ch != CH_SMS && info->unreachable[0] != '\0' &&
	    format_kind(ev, flap_stopped) == PAGE_PROBLEM)
		memo_listed_note(d->memo, info->unreachable, del->contact,
		    del->ch, ev->seq);
write:
	return record_write(d, del, made);
}

/* A new record of ev for w (its page not made yet), or NULL when it is on
 * disk already. */
static struct delivery *
record_new(struct dispatch *d, const struct spool_event *ev,
    const struct want *w, unsigned round)
{
	struct delivery *del;

	del = xcalloc(1, sizeof(*del));
	del->seq = ev->seq;
	strlcpy(del->contact, w->contact->name, sizeof(del->contact));
	del->ch = w->ch;
	strlcpy(del->server, ev->id, sizeof(del->server));
	strlcpy(del->to, w->to, sizeof(del->to));
	del->created = now_us() / 1000000;
	del->round = round;
	if (queue_exists(d->qfd, del)) {
		queue_free(del);
		return NULL;
	}
	return del;
}

/* Write the record and add it to made; 0, or -1 (logged; freed). */
static int
record_write(struct dispatch *d, struct delivery *del,
    struct deliveries *made)
{
	if (del->payload == NULL || queue_write(d->qfd, del) == -1) {
		log_warn("queue: cannot write the delivery of event %" PRIu64
		    " to %s (%s)", del->seq, del->contact,
		    queue_channel_str(del->ch));
		queue_free(del);
		return -1;
	}
	queue_insert(made, del);
	return 0;
}

/*
 * A record of ev for w made done at once, never sent nor digested: why
 * says what stood in for its page ("listed in the page of event N", an
 * unreachable server's event whose contact read it in its parent's page;
 * "not paged: flapping", a change held while its server flaps). 0, or
 * -1.
 */
static int
make_unsent(struct dispatch *d, const struct spool_event *ev,
    const struct want *w, const char *why, struct deliveries *made)
{
	struct delivery	*del;
	char		 line[1024];

	if ((del = record_new(d, ev, w, 0)) == NULL)
		return 0;
	format_digest_line(ev, line, sizeof(line));
	del->payload = xstrdup(line);
	del->state = D_DONE;
	strlcpy(del->error, why, sizeof(del->error));
	return record_write(d, del, made);
}

/* 1 when the memo says w's contact read the server's problem on w's
 * channel in a parent's page. */
static int
was_listed(const struct memo_entry *me, const struct want *w)
{
	char who[CONTACT_MAX + 16];

	if (me == NULL || me->listed_by == 0)
		return 0;
	snprintf(who, sizeof(who), "%s/%s", w->contact->name,
	    queue_channel_str(w->ch));
	return memo_listed(me->listed, who);
}

/*
 * Make the records an event wants that are not on disk yet, and note in
 * the server's memo whether it flaps, who got its problem by SMS (who
 * then gets the recovery by SMS, quiet hours or not) and the problem
 * itself (for renotify and escalate-after). A change held while its
 * server flaps gets records too, done at once and never sent, so that
 * `pages` and the delivery log say why it went to no one. Returns how many
 * deliveries the event has (made now or before), or -1 when a record could
 * not be written (the event is retried at the next scan).
 */
static int
make_deliveries(struct dispatch *d, const struct conf *conf,
    const struct spool_event *ev, struct deliveries *made)
{
	struct want		 wants[WANT_MAX];
	struct server_info	 info;
	struct spool_event	 buf;
	const struct spool_event *as = ev;
	struct memo_entry	*me;
	const char		*why;
	char			 listed[64];
	size_t			 n = 0, i, nlisted = 0;
	int64_t			 held = 0;
	int			 was = 0, have_info = 0, recovery, worthy;
	uint64_t		 by = 0;

	recovery = strcmp(ev->new_state, "up") == 0;
	if ((me = memo_get(d->memo, ev->id)) != NULL) {
		as = rules_as_heard(ev, me->flapping, memo_heard(me), &buf);
		was = memo_event_read(me, ev);
		memo_touch(d->memo);
	}
	if ((worthy = rules_page_worthy(ev, was, &why)) ||
	    rules_flap_held(why))
		n = rules_wants(conf, as, me != NULL ? me->sms : NULL, wants,
		    WANT_MAX);
	/* The open problem: renotify and escalate-after page it again; a
	 * recovery goes to whoever it was escalated to, too. */
	if (me != NULL && recovery && worthy && ev->seq > me->problem)
		n += remind_escalated_wants(conf, me->escalated, as,
		    wants + n, WANT_MAX - n);
	if (me != NULL)
		memo_event_paged(me, ev, why, wants, n);
	if (!worthy) {
		log_info("event %" PRIu64 " %s %s -> %s: not paged, %s",
		    ev->seq, ev->id, ev->old_state, ev->new_state, why);
		/* Held while it flaps: each delivery says so, unsent. */
		for (i = 0; i < n; i++)
			if (make_unsent(d, ev, &wants[i], "not paged: "
			    RULES_FLAPPING, made) == -1)
				return -1;
		return n;
	}
	/* An unreachable server's event goes to no one who read it in its
	 * parent's page; to the others in the digest. */
	for (i = 0; !rules_alone(ev) && i < n; i++)
		nlisted += was_listed(me, &wants[i]);
	if (nlisted > 0) {
		by = me->listed_by;
		log_info("event %" PRIu64 " %s %s -> %s: listed in the page of "
		    "event %" PRIu64 " for %zu of its %zu deliveries", ev->seq,
		    ev->id, ev->old_state, ev->new_state, by, nlisted, n);
	}
	if (n == 0 || nlisted == n)
		log_info("event %" PRIu64 " %s %s -> %s: not paged, %s",
		    ev->seq, ev->id, ev->old_state, ev->new_state,
		    n == 0 ? "no contact for it" :
		    "all listed in its parent's page");
	else if (rules_storm(&d->storm, conf, ev, &held) == STORM_FOLD)
		log_info("event %" PRIu64 " %s %s -> %s: listed in the "
		    "storm digest at the window's end (%s)", ev->seq, ev->id,
		    ev->old_state, ev->new_state, !rules_alone(ev) ?
		    "unreachable: a server it depends on is down" :
		    "more changes than set storm pages alone");
	else
		held = 0;
	snprintf(listed, sizeof(listed), "listed in the page of event %"
	    PRIu64, by);
	for (i = 0; i < n; i++)
		if (by != 0 && was_listed(me, &wants[i])) {
			if (make_unsent(d, ev, &wants[i], listed, made) == -1)
				return -1;
		} else if (make_record(d, conf, ev, &wants[i], was &&
		    !ev->flapping, held, 0, &info, &have_info, made) == -1)
			return -1;
	return n;
}

/*
 * The server's latency and last message, from probed's `status` or, when
 * probed is gone, the state file, and the servers that depend on it and
 * are unreachable or not up now (for its problem page to list them).
 * Unknown fields stay unknown. Probed gets INFO_WAIT_MS; one that lets
 * that pass (stopped, wedged) is not asked again for INFO_QUIET_US, so a
 * storm's pages wait on it once, not once each.
 */
static void
server_info(struct dispatch *d, const struct conf *conf, const char *id,
    struct server_info *si)
{
	const struct server_conf *c;
	struct ctl_server	*sv = NULL;
	json_t			*obj = NULL;
	size_t			 n = 0, i, ndep = 0;
	int64_t			 written;
	char			 req[300], *ans = NULL, err[128], path[1100];
	int			 fd, left;
	int64_t			 t0;

	memset(si, 0, sizeof(*si));
	si->latency_ms = -1;
	for (i = 0; i < conf->nservers; i++)
		ndep += conf_depends_on(conf->servers[i], id);
	/* With dependents, every server's status (one answer). */
	snprintf(req, sizeof(req), ndep > 0 ? "status" : "status %s", id);
	if ((t0 = mono_us()) >= d->info_quiet) {
		fd = ctlclient_connect_timeout(conf->control, INFO_WAIT_MS);
		left = INFO_WAIT_MS - (int)((mono_us() - t0) / 1000);
		if (fd != -1 && left > 0 &&
		    ctlclient_request_timeout(fd, req, left, &ans) == 0 &&
		    ctlclient_parse(ans, &obj, err, sizeof(err)) ==
		    CTL_LINE_OK)
			ctlclient_servers_from_answer(obj, &sv, &n, err,
			    sizeof(err));
		if (fd != -1)
			close(fd);
		free(ans);
		json_decref(obj);
		/* No answer, and the whole wait gone: stopped or wedged. */
		if (sv == NULL && mono_us() - t0 >= INFO_WAIT_MS * 1000LL) {
			log_warnx("probed did not answer in %d ms: pages take "
			    "their details from its state file for %lld s",
			    INFO_WAIT_MS, INFO_QUIET_US / 1000000);
			d->info_quiet = mono_us() + INFO_QUIET_US;
		}
	}
	if (sv == NULL) {
		snprintf(path, sizeof(path), "%s/%s", conf->state_dir,
		    PATH_STATE_FILE);
		if (ctlclient_state_load(path, &sv, &n, &written, err,
		    sizeof(err)) == -1)
			return;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(sv[i].id, id) == 0) {
			si->since = sv[i].since;
			si->latency_ms = sv[i].latency_ms;
			strlcpy(si->message, sv[i].message,
			    sizeof(si->message));
		} else if (ndep > 0 && (sv[i].unreachable ||
		    strcmp(sv[i].state, "up") != 0) &&
		    (c = conf_find_server(conf, sv[i].id)) != NULL &&
		    conf_depends_on(c, id))
			memo_list_add(si->unreachable, sizeof(si->unreachable),
			    sv[i].id);
	}
	ctlclient_servers_free(sv, n);
}

/* On the loop: take what a scan made. */
static void
scan_done(void *arg)
{
	struct scan	*s = arg;
	struct dispatch	*d = s->d;
	struct conf	*old;
	struct poll	*p;

	scan_done_sync(d, s);
	free(s);
	d->scanning = 0;
	if (d->next_conf != NULL && (old = swap_conf(d)) != NULL)
		conf_free(old);
	if ((p = d->poll_waiting) != NULL) {
		d->poll_waiting = NULL;
		poll_done(p);
	}
	if (d->rescan)
		scan_start(d);
	run(d);
}

/* Move what the scan made into the queue; events already final (all
 * delivered before a crash) are finalized. */
static void
scan_done_sync(struct dispatch *d, struct scan *s)
{
	struct delivery	*del;
	size_t		 i;

	while ((del = TAILQ_FIRST(&s->made)) != NULL) {
		TAILQ_REMOVE(&s->made, del, entry);
		queue_insert(&d->q, del);
	}
	if (s->last > d->last_seq)
		d->last_seq = s->last;
	/* A backlog (a restart, a relay back): read on at once, and let
	 * no storm window end before its later events are read. */
	d->behind = s->more;
	if (s->more)
		d->rescan = 1;
	for (i = 0; i < s->nidle; i++)
		idle_add(&d->idle, &d->nidle, &d->idlecap, s->idle[i]);
	free(s->idle);
	s->idle = NULL;
	s->nidle = s->idlecap = 0;
	/* What is still unreadable replaces what was. */
	free(d->unread);
	d->unread = s->unread;
	d->nunread = s->nunread;
	d->unreadcap = s->unreadcap;
	s->unread = NULL;
	free(s->retry);
	s->retry = NULL;
	/* Records left final by a crash before their event was removed. */
	if (d->io == NULL)
		release(d);
}

/* Add seq to a growing list. */
static void
idle_add(uint64_t **v, size_t *n, size_t *cap, uint64_t seq)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = xreallocarray(*v, *cap, sizeof(**v));
	}
	(*v)[(*n)++] = seq;
}

/*
 * Read state.json's "spooled" into *out. A missing state file is 0 (no
 * event may go); an unreadable one leaves *out as it was and says why.
 * Blocks: on the I/O worker, or at start.
 */
static int
read_spooled(int dirfd, uint64_t *out)
{
	struct stateread	 sr;
	char			 err[256];

	if (faccessat(dirfd, PATH_STATE_FILE, F_OK, 0) == -1 &&
	    errno == ENOENT) {
		*out = 0;
		return 0;
	}
	if (stateread_load(dirfd, PATH_STATE_FILE, &sr, err,
	    sizeof(err)) == -1) {
		log_warnx("%s: %s; spool events kept", PATH_STATE_FILE, err);
		return -1;
	}
	*out = sr.spooled;
	stateread_free(&sr);
	return 0;
}

/* Every SWEEP_EVERY_MS: when events wait for "spooled", read it again. */
static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct dispatch	*d = arg;
	struct delivery	*del;
	struct sweep	*w;
	int		 waiting = d->nidle > 0;

	TAILQ_FOREACH(del, &d->q, entry)
		if (!waiting && !del->closing && (del->state == D_DONE ||
		    del->state == D_FAILED))
			waiting = 1;
	if (!waiting || d->sweeping || d->stopping)
		return;
	w = xcalloc(1, sizeof(*w));
	w->d = d;
	d->sweeping = 1;
	worker_submit(d->io, sweep_work, sweep_done, w);
}

static void
sweep_work(void *arg)
{
	struct sweep *w = arg;

	w->ok = read_spooled(w->d->statefd, &w->spooled) == 0;
}

/* On the loop: take the new "spooled" and delete what it covers. */
static void
sweep_done(void *arg)
{
	struct sweep	*w = arg;
	struct dispatch	*d = w->d;

	d->sweeping = 0;
	if (w->ok)
		d->spooled = w->spooled;
	free(w);
	release(d);
}

/* Delete the events kept for "spooled" that d->spooled covers now. */
static void
release(struct dispatch *d)
{
	struct delivery	*del;
	size_t		 i, j;

	for (i = j = 0; i < d->nidle; i++)
		if (d->idle[i] <= d->spooled)
			delete_event(d, d->idle[i]);
		else
			d->idle[j++] = d->idle[i];
	d->nidle = j;
again:
	TAILQ_FOREACH(del, &d->q, entry)
		if (!del->closing && (del->state == D_DONE ||
		    del->state == D_FAILED) &&
		    queue_event_final(&d->q, del->seq) &&
		    finalize(d, del->seq) && d->io == NULL)
			goto again;	/* done at once; list changed */
}

/*
 * Start every delivery that is due, within PAGER_INFLIGHT_MAX, of which
 * mails take MAIL_INFLIGHT_MAX at most: a relay that stalls (each step
 * waits its 10 s) never holds every slot, and webhooks and the SMS API go
 * on. The mails go as one job on the mail worker, one SMTP session for
 * all: each lane's head, and after it up to MAIL_BATCH of that lane's
 * next ones when they are due too (taken in order, in that one session).
 */
static void
run(struct dispatch *d)
{
	struct delivery	*ready[READY_MAX], *del;
	struct mailjob	*mj = NULL;
	struct send	*s;
	size_t		 n, i, k;
	int64_t		 now = now_us() / 1000000;

	if (d->stopping || d->inflight >= PAGER_INFLIGHT_MAX)
		return;
	n = queue_ready(&d->q, now, ready, READY_MAX);
	for (i = 0; i < n && d->inflight < PAGER_INFLIGHT_MAX; i++) {
		if (by_mail(ready[i]) && d->mail_inflight >= MAIL_INFLIGHT_MAX)
			continue;
		if ((s = start(d, ready[i])) == NULL)
			continue;
		mail_add(&mj, s);
		for (del = ready[i], k = 1; k < MAIL_BATCH &&
		    d->inflight < PAGER_INFLIGHT_MAX &&
		    d->mail_inflight < MAIL_INFLIGHT_MAX &&
		    (del = queue_lane_next(del, now)) != NULL &&
		    by_mail(del); k++)
			mail_add(&mj, start(d, del));
	}
	if (mj != NULL)
		worker_submit(d->mail, mail_work, mail_done, mj);
}

/* 1 when del goes through the relay (or the Maildir): email, and SMS by
 * an email-to-SMS gateway. */
static int
by_mail(const struct delivery *del)
{
	return del->ch == CH_EMAIL ||
	    (del->ch == CH_SMS && sms_is_gateway(del->to));
}

/* run() at the loop's next turn: a far side's answer may let a lane go on
 * (called where run() itself may be on the stack). */
static void
on_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	run(arg);
}

/* Put one mail try in the job being made (a new one when full: the full
 * one goes to the worker). */
static void
mail_add(struct mailjob **mjp, struct send *s)
{
	struct mailjob	*mj = *mjp;
	struct delivery	*c = &s->copy;

	if (mj != NULL && mj->n == sizeof(mj->s) / sizeof(mj->s[0])) {
		worker_submit(s->d->mail, mail_work, mail_done, mj);
		mj = NULL;
	}
	if (mj == NULL) {
		mj = *mjp = xcalloc(1, sizeof(*mj));
		mj->d = s->d;
		mj->mc = s->mc;
	}
	mj->s[mj->n] = s;
	mj->mm[mj->n].to = c->to;
	mj->mm[mj->n++].msg = c->payload;
}

/*
 * One try. A webhook and SMS by the API start on the loop (NULL
 * returned); email and SMS by gateway are returned for the caller to put
 * in a mail job.
 */
static struct send *
start(struct dispatch *d, struct delivery *del)
{
	struct send	*s;
	struct http_call hc;
	char		 key[200];

	s = xcalloc(1, sizeof(*s));
	s->d = d;
	s->del = del;
	s->copy = *del;
	s->mc = d->mc;
	del->busy = 1;
	d->inflight++;
	if (by_mail(del))
		d->mail_inflight++;
	/* Tests read this line: a try cut by a crash, between it and the
	 * outcome, is the one that may be sent twice. */
	log_debug("event %" PRIu64 " %s: sending %s page to %s (try %u)",
	    del->seq, del->server, queue_channel_str(del->ch), del->contact,
	    del->tries + 1);
	if (by_mail(del))
		return s;
	format_digest_key(del->seq, del->contact, del->ch, del->round,
	    del->digest && del->stale ? del->window : 0, key, sizeof(key));
	TAILQ_INSERT_TAIL(&d->calls, s, entry);
	s->calling = 1;
	if (del->ch == CH_WEBHOOK) {
		if (webhook_post(d->wh, del->to, key, del->payload,
		    on_webhook, s) == -1)
			on_webhook(s, SEND_RETRY, "cannot start the HTTP "
			    "request");
		return NULL;
	}
	if (d->sms == NULL) {
		on_webhook(s, SEND_RETRY, "no 'set sms-gateway' in the config");
		return NULL;
	}
	smsapi_request(d->sms, del->to, del->payload, key, &hc);
	if (webhook_call(d->wh, &hc, on_webhook, s) == -1)
		on_webhook(s, SEND_RETRY, "cannot start the HTTP request");
	smsapi_request_free(&hc);
	return NULL;
}

/* On the mail worker: the job's mails in one session through the relay,
 * or each into the Maildir. */
static void
mail_work(void *arg)
{
	struct mailjob	*mj = arg;
	struct delivery	*c;
	char		 name[200];
	size_t		 i;

	if (mj->mc != NULL)
		mail_send_batch(mj->mc, mj->mm, mj->n);
	for (i = 0; i < mj->n; i++) {
		if (mj->mc == NULL) {
			c = &mj->s[i]->copy;
			queue_name(c, name, sizeof(name));
			name[strlen(name) - 5] = '\0';	/* no ".json" */
			mj->mm[i].r = maildir_deliver(mj->d->maildir, name,
			    c->payload, mj->mm[i].err, sizeof(mj->mm[i].err))
			    == 0 ? SEND_OK : SEND_RETRY;
		}
		mj->s[i]->r = mj->mm[i].r;
		strlcpy(mj->s[i]->err, mj->mm[i].err, sizeof(mj->s[i]->err));
	}
}

/* On the loop: the relay answered; each outcome to be written. */
static void
mail_done(void *arg)
{
	struct mailjob	*mj = arg;
	size_t		 i;

	for (i = 0; i < mj->n; i++)
		taken(mj->s[i]);
	free(mj);
}

/* The webhook's (or SMS API's) answer, on the loop. */
static void
on_webhook(void *arg, enum send_result r, const char *err)
{
	struct send *s = arg;

	if (s->calling) {
		TAILQ_REMOVE(&s->d->calls, s, entry);
		s->calling = 0;
	}
	s->r = r;
	strlcpy(s->err, err ? err : "", sizeof(s->err));
	if (s->d->stopping) {
		send_done(s);
		return;
	}
	taken(s);
}

/*
 * The far side has answered s: its outcome goes to the save worker's next
 * batch (one round of fsyncs for all). Answered for good, the delivery no
 * longer holds its lane: the next one starts at the loop's next turn.
 */
static void
taken(struct send *s)
{
	struct dispatch *d = s->d;

	if (s->r != SEND_RETRY) {
		s->del->taken = 1;
		event_active(d->kick, EV_READ, 0);
	}
	batch_add(d->saves, s);
}

/* On the save worker: record each outcome in its copy, and write them
 * all with one round of syncs. */
static void
saves_work(void **items, size_t n, void *ctx)
{
	struct dispatch	*d = ctx;
	struct send	*s;
	char		**names, **texts;
	int		*ok;
	size_t		 i;
	int64_t		 now = now_us() / 1000000;

	names = xcalloc(n, sizeof(*names));
	texts = xcalloc(n, sizeof(*texts));
	ok = xcalloc(n, sizeof(*ok));
	for (i = 0; i < n; i++) {
		s = items[i];
		if (!s->rewrite)
			queue_outcome(&s->copy, s->r, s->err, now);
		names[i] = xmalloc(200);
		queue_name(&s->copy, names[i], 200);
		if ((texts[i] = queue_to_json(&s->copy)) == NULL)
			texts[i] = xstrdup("");	/* a record that fails to load */
	}
	fsutil_write_batch(d->qfd, n, (const char *const *)names,
	    (const char *const *)texts, 0640, ok);
	for (i = 0; i < n; i++) {
		s = items[i];
		s->saved = ok[i];
		if (!s->saved)
			snprintf(s->err + strlen(s->err), sizeof(s->err) -
			    strlen(s->err), "%srecord not written",
			    s->err[0] ? "; " : "");
		free(names[i]);
		free(texts[i]);
	}
	free(names);
	free(texts);
	free(ok);
}

/* On the loop: the batch's outcomes are on disk. */
static void
saves_done(void **items, size_t n, void *ctx)
{
	size_t i;

	for (i = 0; i < n; i++)
		send_done(items[i]);
	run(ctx);
}

/* On the loop: the try is over and on disk. Log it, take the new state,
 * and close the event when all its deliveries are final. */
static void
send_done(struct send *s)
{
	struct dispatch	*d = s->d;
	struct delivery	*del = s->del, *c = &s->copy;

	if (s->rewrite) {
		resave_done(s);
		return;
	}
	del->busy = 0;
	del->taken = 0;
	d->inflight--;
	if (by_mail(del))
		d->mail_inflight--;
	del->state = c->state;
	del->tries = c->tries;
	del->next = c->next;
	strlcpy(del->error, c->error, sizeof(del->error));
	switch (c->state) {
	case D_DONE:
		log_info("event %" PRIu64 " %s: %s page to %s (%s) delivered%s",
		    del->seq, del->server, queue_channel_str(del->ch),
		    del->contact, del->to, d->mc == NULL &&
		    del->ch != CH_WEBHOOK ? " to the Maildir" : "");
		break;
	case D_FAILED:
		log_warnx("event %" PRIu64 " %s: %s page to %s (%s) refused "
		    "for good: %s", del->seq, del->server,
		    queue_channel_str(del->ch), del->contact, del->to,
		    del->error);
		break;
	case D_HELD:
		break;
	case D_QUEUED:
		log_warnx("event %" PRIu64 " %s: %s page to %s (%s) failed "
		    "(try %u), next in %" PRId64 " s: %s", del->seq,
		    del->server, queue_channel_str(del->ch), del->contact,
		    del->to, del->tries, del->next - now_us() / 1000000,
		    del->error);
		break;
	}
	if (!s->saved && del->state == D_QUEUED)
		/* Not on disk: written again with the next try. */
		log_warnx("queue: %s", s->err);
	else if (!s->saved)
		unsaved_keep(del, s->err);
	free(s);
	if (del->state != D_QUEUED && queue_event_final(&d->q, del->seq))
		finalize(d, del->seq);
}

/*
 * The far side answered del for good but its record could not be written
 * (a full or failing disk): sending it again would page twice, so the
 * outcome stays in memory (the lane goes on, the event waits) and only
 * the record is written again, after 2 s, 4 s, ... (resave_due). Logged
 * once; a crash before the write is the resend window of any try.
 */
static void
unsaved_keep(struct delivery *del, const char *err)
{
	int64_t now = now_us() / 1000000;

	if (!del->unsaved)
		log_warnx("queue: event %" PRIu64 " %s: %s page to %s: %s; "
		    "its outcome is kept in memory and the record written "
		    "again until it can be (the page is not sent again)",
		    del->seq, del->server, queue_channel_str(del->ch),
		    del->contact, err);
	del->unsaved = 1;
	del->resaves++;
	del->resave = now + queue_backoff(del->resaves);
}

/* On the loop, each tick: the final records not yet written whose next
 * write is due go to the save worker's next batch, no try made. */
static void
resave_due(struct dispatch *d)
{
	struct delivery	*del;
	struct send	*s;
	int64_t		 now = now_us() / 1000000;

	TAILQ_FOREACH(del, &d->q, entry) {
		if (!del->unsaved || del->busy || del->resave > now)
			continue;
		s = xcalloc(1, sizeof(*s));
		s->d = d;
		s->del = del;
		s->copy = *del;
		s->rewrite = 1;
		del->busy = 1;
		batch_add(d->saves, s);
	}
}

/* On the loop: a final record written again, or not yet. */
static void
resave_done(struct send *s)
{
	struct dispatch	*d = s->d;
	struct delivery	*del = s->del;

	del->busy = 0;
	if (!s->saved) {
		unsaved_keep(del, s->err);
		log_debug("queue: event %" PRIu64 " %s to %s (%s): record "
		    "still not written, again in %" PRId64 " s", del->seq,
		    del->server, del->contact, queue_channel_str(del->ch),
		    del->resave - now_us() / 1000000);
	} else {
		log_info("queue: event %" PRIu64 " %s: the record of the %s "
		    "page to %s is written (after %u failed writes)", del->seq,
		    del->server, queue_channel_str(del->ch), del->contact,
		    del->resaves);
		del->unsaved = 0;
		del->resaves = 0;
	}
	free(s);
	if (!del->unsaved && queue_event_final(&d->q, del->seq))
		finalize(d, del->seq);
}

/*
 * Every delivery of seq is final: remove the event, then its records (at
 * once while starting, when there is no worker yet; else with the I/O
 * worker's next batch of removals). An event above state.json's
 * "spooled" is kept, records and all, for the sweep. Returns 1 when the
 * removal started, 0 when the event is kept.
 */
static int
finalize(struct dispatch *d, uint64_t seq)
{
	struct delivery	*del;
	struct final	*f;

	if (d->stopping)
		return 0;	/* done at the next start */
	if (seq > d->spooled) {
		log_debug("event %" PRIu64 ": delivered; kept in the spool "
		    "until state.json's spooled (%" PRIu64 ") reaches it",
		    seq, d->spooled);
		return 0;
	}
	/* Only the deliveries not closing already: a reminder made for the
	 * event while an earlier removal of it was on its way has its own. */
	f = xcalloc(1, sizeof(*f));
	f->d = d;
	f->seq = seq;
	TAILQ_FOREACH(del, &d->q, entry)
		if (del->seq == seq && !del->closing)
			f->n++;
	f->recs = xcalloc(f->n + 1, sizeof(*f->recs));
	f->n = 0;
	TAILQ_FOREACH(del, &d->q, entry)
		if (del->seq == seq && !del->closing) {
			del->closing = 1;
			queue_name(del, f->recs[f->n].name,
			    sizeof(f->recs[f->n].name));
			f->recs[f->n].line = delivery_log_line(del,
			    now_us() / 1000000);
			f->recs[f->n++].failed = del->state == D_FAILED;
		}
	final_remove(f);
	return 1;
}

/* Delete an event that has no records (nothing was paged for it). */
static void
delete_event(struct dispatch *d, uint64_t seq)
{
	struct final *f;

	f = xcalloc(1, sizeof(*f));
	f->d = d;
	f->seq = seq;
	f->recs = xcalloc(1, sizeof(*f->recs));
	final_remove(f);
}

/* Remove f's event: at once while starting, else in the next batch. */
static void
final_remove(struct final *f)
{
	void *one = f;

	if (f->d->finals == NULL) {
		finals_work(&one, 1, f->d);
		final_done(f);
	} else
		batch_add(f->d->finals, f);
}

/*
 * On the I/O worker: delete the batch's spool files and fsync the spool
 * folder first (once for all); only then remove their records (failed
 * ones are moved to pager/failed, where they stay listed), and fsync
 * those folders once. A crash in between leaves final records without an
 * event, which the next start removes.
 */
static void
finals_work(void **items, size_t n, void *ctx)
{
	struct dispatch	*d = ctx;
	struct final	*f;
	char		 name[64];
	size_t		 i, j;

	for (i = 0; i < n; i++) {
		f = items[i];
		snprintf(name, sizeof(name), "%020" PRIu64 ".json", f->seq);
		f->kept = unlinkat(d->spoolfd, name, 0) == -1 &&
		    errno != ENOENT;
		if (f->kept)
			log_warn("spool: cannot delete %s", name);
	}
	if (fsync(d->spoolfd) == -1)
		log_warn("spool: fsync");
	/* The outcomes, before their records go (a crash in between logs
	 * them again at the next start). */
	for (i = 0; i < n; i++) {
		f = items[i];
		for (j = 0; j < f->n && !f->kept; j++)
			if (f->recs[j].line != NULL)
				history_append_line(d->dlog, f->recs[j].line);
	}
	for (i = 0; i < n; i++) {
		f = items[i];
		for (j = 0; j < f->n && !f->kept; j++) {
			if (f->recs[j].failed)
				renameat(d->qfd, f->recs[j].name, d->failfd,
				    f->recs[j].name);
			else
				unlinkat(d->qfd, f->recs[j].name, 0);
		}
	}
	fsync(d->failfd);
	fsync(d->qfd);
}

/* On the loop: the batch's events are gone. */
static void
finals_done(void **items, size_t n, void *ctx)
{
	size_t i;

	(void)ctx;
	for (i = 0; i < n; i++)
		final_done(items[i]);
}

/* On the loop: forget the event's deliveries that were closing; one made
 * since (a reminder, maybe in flight) stays for its own removal. */
static void
final_done(struct final *f)
{
	struct delivery	*del, *next;
	size_t		 i;

	for (del = TAILQ_FIRST(&f->d->q); del != NULL; del = next) {
		next = TAILQ_NEXT(del, entry);
		if (del->seq == f->seq && del->closing) {
			TAILQ_REMOVE(&f->d->q, del, entry);
			queue_free(del);
		}
	}
	for (i = 0; i < f->n; i++)
		free(f->recs[i].line);
	free(f->recs);
	free(f);
}

/*
 * One final outcome as a line of pager/deliveries.jsonl (tocsin-pager(8),
 * FILES): {"seq","contact","channel","to","server","result","tries",
 * "time","error"}, "result" "done" or "failed", "time" the Unix second
 * it was logged (the event's removal). NULL for a delivery not final.
 */
static char *
delivery_log_line(const struct delivery *del, int64_t now)
{
	json_t	*o;
	char	*s, *line;
	size_t	 len;

	if (del->state != D_DONE && del->state != D_FAILED)
		return NULL;
	o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s?}",
	    "seq", (json_int_t)del->seq,
	    "contact", del->contact,
	    "channel", queue_channel_str(del->ch),
	    "to", del->to,
	    "server", del->server,
	    "result", del->state == D_DONE ? "done" : "failed",
	    "tries", (json_int_t)del->tries,
	    "time", (json_int_t)now,
	    "error", del->error[0] != '\0' ? del->error : NULL);
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		return NULL;
	len = strlen(s);
	line = xmalloc(len + 2);
	memcpy(line, s, len);
	line[len] = '\n';
	line[len + 1] = '\0';
	free(s);
	return line;
}

/* Same contact and channel. */
static int
same_lane(const struct delivery *a, const struct delivery *b)
{
	return a->ch == b->ch && strcmp(a->contact, b->contact) == 0;
}

/*
 * On the loop, each tick: the storm windows that have ended. The held
 * deliveries of one (contact, channel, window) are folded on the I/O
 * worker into one digest page: the record of the window's last event
 * becomes the digest, then the others are done ("listed in the storm
 * digest of event N"). When a digest of that window is on disk already (a
 * crash came between the two writes), the held ones are only marked done:
 * nothing is listed twice.
 */
static void
fold_due(struct dispatch *d)
{
	struct delivery	*del, *o;
	struct fold	*f;
	struct page_ctx	 p;
	const char	**lines;
	int64_t		 now = now_us() / 1000000;
	size_t		 i;

	/* Events still unread may belong to a window that ended by the
	 * clock (a backlog read SCAN_MAX at a time): it would be folded in
	 * two digests, or more. Its end waits for them. */
	if (d->behind)
		return;
#define IN_GROUP(o)	((o)->state == D_HELD && !(o)->busy &&		\
			    (o)->window == del->window &&			\
			    (o)->stale == del->stale && same_lane(o, del))
	TAILQ_FOREACH(del, &d->q, entry) {
		if (del->state != D_HELD || del->busy || del->next > now)
			continue;
		f = xcalloc(1, sizeof(*f));
		f->d = d;
		f->last = -1;
		TAILQ_FOREACH(o, &d->q, entry)
			if (IN_GROUP(o))
				f->n++;
		f->orig = xcalloc(f->n, sizeof(*f->orig));
		f->copy = xcalloc(f->n, sizeof(*f->copy));
		f->ok = xcalloc(f->n, sizeof(*f->ok));
		f->n = 0;
		TAILQ_FOREACH(o, &d->q, entry)
			if (IN_GROUP(o)) {
				f->orig[f->n] = o;
				f->copy[f->n++] = *o;
			}
		for (i = 0; i < f->n; i++)
			f->orig[i]->busy = 1;
		TAILQ_FOREACH(o, &d->q, entry)
			if (o->digest && o->window == del->window &&
			    o->stale == del->stale && same_lane(o, del))
				f->digest_seq = o->seq;
		if (f->digest_seq == 0) {
			for (i = 0; i < f->n; i++)
				if (f->last == -1 ||
				    f->orig[i]->seq > f->orig[f->last]->seq)
					f->last = i;
			f->digest_seq = f->orig[f->last]->seq;
			lines = xcalloc(f->n, sizeof(*lines));
			for (i = 0; i < f->n; i++)
				lines[i] = f->orig[i]->payload;
			memset(&p, 0, sizeof(p));
			p.conf = d->conf;
			p.contact = del->contact;
			p.to = f->orig[f->last]->to;
			p.ch = del->ch;
			p.now = now;
			p.round = f->orig[f->last]->round;
			p.stale = del->stale;
			p.window = del->stale ? del->window : 0;
			f->digest = format_digest(&p, f->digest_seq, lines,
			    f->n);
			free(lines);
		}
		worker_submit(d->io, fold_work, fold_done, f);
	}
#undef IN_GROUP
}

/* On the I/O worker: the digest first, then the others done. */
static void
fold_work(void *arg)
{
	struct fold	*f = arg;
	struct delivery	*c;
	size_t		 i;

	if (f->last >= 0) {
		c = &f->copy[f->last];
		c->state = D_QUEUED;
		c->digest = 1;
		c->payload = f->digest;
		c->next = 0;
		c->tries = 0;
		c->error[0] = '\0';
		if (f->digest == NULL || queue_write(f->d->qfd, c) == -1) {
			log_warn("queue: cannot write the storm digest of "
			    "event %" PRIu64 " to %s (%s)", c->seq, c->contact,
			    queue_channel_str(c->ch));
			return;		/* all held; tried again */
		}
		f->ok[f->last] = 1;
	}
	for (i = 0; i < f->n; i++) {
		if ((ssize_t)i == f->last)
			continue;
		c = &f->copy[i];
		c->state = D_DONE;
		snprintf(c->error, sizeof(c->error), "listed in the %s "
		    "digest of event %" PRIu64, c->stale ? "stale" : "storm",
		    f->digest_seq);
		f->ok[i] = queue_write(f->d->qfd, c) == 0;
	}
}

/* On the loop: take the new states; close the events now final. */
static void
fold_done(void *arg)
{
	struct fold	*f = arg;
	struct dispatch	*d = f->d;
	struct delivery	*o;
	size_t		 i;

	for (i = 0; i < f->n; i++) {
		o = f->orig[i];
		o->busy = 0;
		if (!f->ok[i]) {
			o->next = now_us() / 1000000 + BACKOFF_MIN;
			continue;
		}
		if ((ssize_t)i == f->last) {
			free(o->payload);
			o->payload = f->digest;
			f->digest = NULL;
			o->state = D_QUEUED;
			o->digest = 1;
			o->next = 0;
			o->tries = 0;
			o->error[0] = '\0';
			log_info("event %" PRIu64 " %s: %s digest of %zu "
			    "%s for %s (%s)", o->seq, o->server, o->stale ?
			    "stale" : "storm", f->n, o->stale ? "pages" :
			    "changes", o->contact, queue_channel_str(o->ch));
		} else {
			o->state = D_DONE;
			strlcpy(o->error, f->copy[i].error, sizeof(o->error));
		}
	}
	for (i = 0; i < f->n; i++) {
		o = f->orig[i];
		if (f->ok[i] && (ssize_t)i != f->last && !o->closing &&
		    queue_event_final(&d->q, o->seq))
			finalize(d, o->seq);
	}
	free(f->digest);
	free(f->orig);
	free(f->copy);
	free(f->ok);
	free(f);
	run(d);
}

/* Every POLL_EVERY_MS: ask probed (unless a poll runs). */
static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct dispatch	*d = arg;
	struct poll	*p;

	if (d->polling || d->stopping)
		return;
	p = xcalloc(1, sizeof(*p));
	p->d = d;
	TAILQ_INIT(&p->made);
	strlcpy(p->control, d->conf->control, sizeof(p->control));
	snprintf(p->state_file, sizeof(p->state_file), "%s/%s",
	    d->conf->state_dir, PATH_STATE_FILE);
	d->polling = 1;
	worker_submit(d->ctl, poll_work, poll_done, p);
}

/*
 * On the ctl worker: every server as probed sees it now (acks and
 * downtimes included); when probed does not answer, as its state file
 * last said.
 */
static void
poll_work(void *arg)
{
	struct poll	*p = arg;
	json_t		*obj = NULL;
	char		*ans = NULL, err[256];
	int64_t		 written;
	int		 fd;

	if ((fd = ctlclient_connect(p->control)) != -1) {
		if (ctlclient_request(fd, "status", &ans) == 0 &&
		    ctlclient_parse(ans, &obj, err, sizeof(err)) ==
		    CTL_LINE_OK &&
		    ctlclient_servers_from_answer(obj, &p->sv, &p->nsv, err,
		    sizeof(err)) == 0)
			p->answered = 1;
		close(fd);
		free(ans);
		json_decref(obj);
	}
	if (!p->answered && ctlclient_state_load(p->state_file, &p->sv,
	    &p->nsv, &written, err, sizeof(err)) == -1) {
		p->sv = NULL;
		p->nsv = 0;
	}
}

/* On the loop: start the renotify pass with what the poll learnt (when
 * a scan runs, once it is over). */
static void
poll_done(void *arg)
{
	struct poll	*p = arg;
	struct dispatch	*d = p->d;

	d->probed_answers = p->answered;
	if (d->stopping) {
		poll_free(p);
		d->polling = 0;
		return;
	}
	if (d->scanning) {
		d->poll_waiting = p;
		return;
	}
	watch_probed(d, p);
	/* The pass holds the config as a scan does: a reload waits. */
	d->scanning = 1;
	p->conf = d->conf;
	worker_submit(d->io, remind_work, remind_finish, p);
}

/* On the I/O worker: the reminders and escalations due now, made on disk,
 * then the memo saved. */
static void
remind_work(void *arg)
{
	struct poll		*p = arg;
	struct memo		*m = p->d->memo;
	struct memo_entry	*e;
	struct hash		*byid;
	int64_t			 now = now_us() / 1000000;
	size_t			 i;

	if (p->wd != WD_NONE)
		tell_admin(p, now);
	byid = hash_new();
	for (i = 0; i < p->nsv; i++)
		hash_put(byid, p->sv[i].id, &p->sv[i]);
	for (i = 0; i < memo_count(m); i++) {
		e = memo_at(m, i);
		if (e->held != 0)
			dtend_server(p, e, hash_get(byid, e->id), now);
		if (e->problem != 0)
			remind_server(p, e, hash_get(byid, e->id), now);
	}
	hash_free(byid, NULL);
	memo_save(m, p->d->pagerfd);
}

/* One open problem: make what is due, unless the server is up again,
 * acknowledged or in a downtime (st says; NULL: not known). */
static void
remind_server(struct poll *p, struct memo_entry *e,
    const struct ctl_server *st, int64_t now)
{
	const struct server_conf	*sv;
	struct remind			 due[64];
	struct want			 w[3];
	struct spool_event		 ev;
	struct server_info		 info;
	size_t				 n, i, k, j;
	int				 have_info = 0, ok;

	if (!remind_allowed(st, now) ||
	    (sv = conf_find_server(p->conf, e->id)) == NULL)
		return;
	n = remind_due(p->conf, sv, e, now, due, 64);
	for (i = 0; i < n; i++) {
		remind_event(e, &due[i], now, &ev);
		k = rules_contact_wants(due[i].ct, &ev, NULL, w, 3);
		for (j = 0, ok = 1; j < k && ok; j++)
			ok = make_record(p->d, p->conf, &ev, &w[j], 0, 0,
			    due[i].round, &info, &have_info, &p->made) == 0;
		if (!ok)
			return;		/* tried again at the next poll */
		remind_done(e, &due[i], now);
		memo_touch(p->d->memo);
		log_info("event %" PRIu64 " %s: %s to %s (%zu page%s): %s",
		    e->problem, e->id, due[i].from != NULL ? "escalated" :
		    "reminder", due[i].ct->name, k, k == 1 ? "" : "s",
		    ev.message);
	}
}

/* A problem a downtime held: page it once when the downtime is over and
 * the server is still not up, nor acknowledged (st says). */
static void
dtend_server(struct poll *p, struct memo_entry *e,
    const struct ctl_server *st, int64_t now)
{
	struct want		 w[WANT_MAX];
	struct spool_event	 ev;
	struct server_info	 info;
	size_t			 n, i;
	int			 have_info = 0;

	if (!remind_dtend_due(st, e, now))
		return;
	remind_dtend_event(e, now, &ev);
	n = rules_wants(p->conf, &ev, e->sms, w, WANT_MAX);
	for (i = 0; i < n; i++)
		if (make_record(p->d, p->conf, &ev, &w[i], 0, 0, 0, &info,
		    &have_info, &p->made) == -1)
			return;		/* tried again at the next poll */
	for (i = 0; i < n; i++)
		if (w[i].ch == CH_SMS)
			memo_list_add(e->sms, sizeof(e->sms),
			    w[i].contact->name);
	remind_dtend_done(e, now);
	for (i = 0; i < n; i++)
		memo_list_add(e->paged, sizeof(e->paged), w[i].contact->name);
	memo_touch(p->d->memo);
	log_info("event %" PRIu64 " %s: downtime over (%zu page%s): %s",
	    ev.seq, e->id, n, n == 1 ? "" : "s", ev.message);
}

/*
 * At start: a held problem whose page records are on disk was paged (a
 * crash came before the memo said so): say so now, before those records
 * go out and are deleted.
 */
static void
dtend_reconcile(struct dispatch *d)
{
	struct memo_entry	*e;
	struct delivery		*del;
	size_t			 i;

	for (i = 0; i < memo_count(d->memo); i++) {
		e = memo_at(d->memo, i);
		if (e->held == 0)
			continue;
		TAILQ_FOREACH(del, &d->q, entry)
			if (del->seq == e->held && del->round == 0 &&
			    strcmp(del->server, e->id) == 0)
				break;
		if (del == NULL)
			continue;
		remind_dtend_done(e, del->created);
		memo_touch(d->memo);
	}
}

/*
 * At start: the reminders and escalations whose records are on disk and
 * that the memo does not know of (a crash came between the record and the
 * memo's save) are kept in it now, before those records go out and are
 * removed: the memo is saved by the first scan, before any send.
 */
static void
remind_reconcile(struct dispatch *d)
{
	struct memo_entry	*e;
	struct delivery		*del;
	size_t			 i;

	for (i = 0; i < memo_count(d->memo); i++) {
		e = memo_at(d->memo, i);
		if (e->problem == 0)
			continue;
		TAILQ_FOREACH(del, &d->q, entry)
			if (del->seq == e->problem &&
			    strcmp(del->server, e->id) == 0 &&
			    remind_found(d->conf, e, del->contact, del->round,
			    del->created)) {
				log_info("event %" PRIu64 " %s: the %s to %s "
				    "is on disk, not in the memo: kept", e->problem,
				    e->id, del->round > 0 ? "reminder" :
				    "escalation", del->contact);
				memo_touch(d->memo);
			}
	}
}

/* On the loop: queue what the pass made. */
static void
remind_finish(void *arg)
{
	struct poll	*p = arg;
	struct dispatch	*d = p->d;
	struct delivery	*del;
	struct conf	*old;

	while ((del = TAILQ_FIRST(&p->made)) != NULL) {
		TAILQ_REMOVE(&p->made, del, entry);
		queue_insert(&d->q, del);
	}
	if (p->wd != WD_NONE && !p->wd_told) {
		/* Not on disk: judge again (and tell) at the next poll. */
		d->wd.down = !d->wd.down;
		if (p->wd == WD_STOPPED)
			d->wd.incident--;
	}
	poll_free(p);
	d->polling = 0;
	d->scanning = 0;
	if (d->next_conf != NULL && (old = swap_conf(d)) != NULL)
		conf_free(old);
	run(d);
}

static void
poll_free(struct poll *p)
{
	struct delivery *del;

	while ((del = TAILQ_FIRST(&p->made)) != NULL) {
		TAILQ_REMOVE(&p->made, del, entry);
		queue_free(del);
	}
	ctlclient_servers_free(p->sv, p->nsv);
	free(p);
}

/* The config in use (for the control socket's checks). */
const struct conf *
dispatch_conf(const struct dispatch *d)
{
	return d->conf;
}

/*
 * `pages`: every delivery queued, retrying, held or done (waiting for its
 * event's removal), then those refused for good (pager/failed, read on the
 * I/O worker); cb(arg, answer) gets {"ok":true,"probed":B,"pages":[...]}.
 */
void
dispatch_pages(struct dispatch *d, dispatch_answer_fn *cb, void *arg)
{
	struct pages	*pg;
	struct delivery	*del, *c;

	pg = xcalloc(1, sizeof(*pg));
	pg->d = d;
	pg->cb = cb;
	pg->arg = arg;
	pg->probed = d->probed_answers;
	TAILQ_INIT(&pg->q);
	TAILQ_FOREACH(del, &d->q, entry) {
		c = xmalloc(sizeof(*c));
		*c = *del;
		c->payload = NULL;
		TAILQ_INSERT_TAIL(&pg->q, c, entry);
	}
	worker_submit(d->io, pages_work, pages_done, pg);
}

/* On the I/O worker: add the records of pager/failed. */
static void
pages_work(void *arg)
{
	struct pages	*pg = arg;
	struct deliveries failed;
	struct delivery	*del;
	char		 err[256];

	TAILQ_INIT(&failed);
	if (queue_load(pg->d->failfd, &failed, err, sizeof(err)) == -1)
		log_warn("pager/failed");
	while ((del = TAILQ_FIRST(&failed)) != NULL) {
		TAILQ_REMOVE(&failed, del, entry);
		free(del->payload);
		del->payload = NULL;
		TAILQ_INSERT_TAIL(&pg->q, del, entry);
	}
}

/* One delivery as `pages` lists it. */
static json_t *
delivery_json(const struct delivery *del)
{
	const char	*st;
	json_t		*o;

	st = del->state == D_QUEUED && del->tries > 0 ? "retrying" :
	    queue_state_str(del->state);
	o = json_object();
	jsontext_set(o, "event", jsontext_u64(del->seq));
	jsontext_set(o, "server", jsontext(del->server));
	jsontext_set(o, "contact", jsontext(del->contact));
	jsontext_set(o, "channel", json_string(queue_channel_str(del->ch)));
	jsontext_set(o, "to", jsontext(del->to));
	jsontext_set(o, "state", json_string(st));
	jsontext_set(o, "round", json_integer(del->round));
	jsontext_set(o, "tries", json_integer(del->tries));
	jsontext_set(o, "next", (del->state == D_QUEUED ||
	    del->state == D_HELD) && del->next > 0 ?
	    json_integer(del->next) : json_null());
	jsontext_set(o, "created", json_integer(del->created));
	jsontext_set(o, "error", jsontext(del->error));
	return o;
}

/* On the loop: the answer. */
static void
pages_done(void *arg)
{
	struct pages	*pg = arg;
	struct delivery	*del;
	json_t		*arr;

	arr = json_array();
	while ((del = TAILQ_FIRST(&pg->q)) != NULL) {
		TAILQ_REMOVE(&pg->q, del, entry);
		json_array_append_new(arr, delivery_json(del));
		queue_free(del);
	}
	pg->cb(pg->arg, json_pack("{sbsbso}", "ok", 1, "probed",
	    pg->probed, "pages", arr));
	free(pg);
}

/*
 * On the loop, after each poll: has monitoring stopped, or is it back?
 * The verdict rides with the poll to the I/O worker (tell_admin).
 */
static void
watch_probed(struct dispatch *d, struct poll *p)
{
	int64_t		 newest = 0;
	size_t		 i;

	for (i = 0; p->answered && i < p->nsv; i++)
		if (p->sv[i].last_check > newest)
			newest = p->sv[i].last_check;
	p->wd = watchdog_judge(&d->wd, p->answered, newest,
	    watchdog_interval(d->conf),
	    now_us() / 1000000, p->wd_why, sizeof(p->wd_why));
	p->wd_state = d->wd;
	if (p->wd == WD_STOPPED)
		log_warnx("monitoring has stopped: %s%s", p->wd_why,
		    d->conf->admin_contact != NULL ? "; paging set admin" :
		    " (no set admin to page)");
	else if (p->wd == WD_BACK)
		log_info("monitoring is back: tocsin-probed answers again");
}

/*
 * On the I/O worker: set admin's page that monitoring stopped or is back,
 * made on disk before watchdog.json says it was told (a crash between
 * makes the same record again, which is then found on disk).
 */
static void
tell_admin(struct poll *p, int64_t now)
{
	const struct contact_conf	*ct = p->conf->admin_contact;
	struct spool_event		 ev;
	struct server_info		 info;
	struct want			 w[3];
	size_t				 k, j;
	unsigned			 round;
	int				 have_info = 0;

	round = watchdog_event(&p->wd_state, p->wd, p->wd_why, now, &ev);
	k = ct != NULL ? rules_contact_wants(ct, &ev, NULL, w, 3) : 0;
	for (j = 0; j < k; j++)
		if (make_record(p->d, p->conf, &ev, &w[j], 0, 0, round, &info,
		    &have_info, &p->made) == -1)
			return;		/* told again at the next poll */
	p->wd_told = watchdog_save(p->d->pagerfd, &p->wd_state) == 0;
}

/* Stale deliveries of one lane, held for their digest on the I/O worker
 * (the copies are written; the loop's are updated after). */
struct stale {
	struct dispatch		*d;
	size_t			 n;
	struct delivery		**orig;
	struct delivery		*copy;
	int			*ok;
};

/*
 * On the loop, each tick: a contact's channel whose queue holds two or
 * more pages made longer than `set stale-after` ago (not sent yet, or
 * retrying) gets them held, with their lines, for one digest: fold_due
 * sends it as it sends a storm's. A crash before all are held leaves the
 * rest queued; they go in a digest of their own: none is listed twice.
 */
static void
stale_due(struct dispatch *d)
{
	struct delivery	*del, *o;
	struct stale	*st;
	int64_t		 now = now_us() / 1000000, cut, window;
	size_t		 n;

	if (d->conf->stale_after_ms == 0)
		return;
	cut = now - (int64_t)(d->conf->stale_after_ms / 1000);
#define STALE(o)	((o)->state == D_QUEUED && !(o)->busy &&		\
			    !(o)->closing && !(o)->digest && (o)->created < cut)
	TAILQ_FOREACH(del, &d->q, entry) {
		if (!STALE(del))
			continue;
		n = 0;
		TAILQ_FOREACH(o, &d->q, entry)
			if (STALE(o) && same_lane(o, del))
				n++;
		if (n < 2)
			continue;
		st = xcalloc(1, sizeof(*st));
		st->d = d;
		st->orig = xcalloc(n, sizeof(*st->orig));
		st->copy = xcalloc(n, sizeof(*st->copy));
		st->ok = xcalloc(n, sizeof(*st->ok));
		TAILQ_FOREACH(o, &d->q, entry)
			if (STALE(o) && same_lane(o, del) && o != del) {
				st->orig[st->n] = o;
				st->copy[st->n++] = *o;
			}
		st->orig[st->n] = del;
		st->copy[st->n++] = *del;
		window = stale_window(d, del, now);
		for (n = 0; n < st->n; n++) {
			st->orig[n]->busy = 1;
			st->copy[n].state = D_HELD;
			st->copy[n].stale = 1;
			st->copy[n].window = window;
			st->copy[n].next = now;
			st->copy[n].payload = xmalloc(1024);
			format_stale_line(st->orig[n], st->copy[n].payload,
			    1024);
		}
		log_info("%zu pages to %s (%s) made over %" PRIu64 " s ago: "
		    "held for one digest", st->n, del->contact,
		    queue_channel_str(del->ch), d->conf->stale_after_ms / 1000);
		worker_submit(d->io, stale_work, stale_done, st);
	}
#undef STALE
}

/*
 * The window that names a new stale group of del's lane: now, or past
 * every stale window the lane's records hold. fold_due finds a group's
 * digest by its window; a second group held in the same second (its pages
 * were in a try when the first was held) would find the first one's and
 * be marked listed in it, never sent. On disk, so a restart keeps it.
 */
static int64_t
stale_window(struct dispatch *d, const struct delivery *del, int64_t now)
{
	struct delivery	*o;
	int64_t		 w = now;

	TAILQ_FOREACH(o, &d->q, entry)
		if (o->stale && o->window >= w && same_lane(o, del))
			w = o->window + 1;
	return w;
}

/* On the I/O worker: write each as held. */
static void
stale_work(void *arg)
{
	struct stale	*st = arg;
	size_t		 i;

	for (i = 0; i < st->n; i++)
		st->ok[i] = queue_write(st->d->qfd, &st->copy[i]) == 0;
}

/* On the loop: the held ones wait for fold_due; the others stay queued. */
static void
stale_done(void *arg)
{
	struct stale	*st = arg;
	struct delivery	*o;
	size_t		 i;

	for (i = 0; i < st->n; i++) {
		o = st->orig[i];
		o->busy = 0;
		if (!st->ok[i]) {
			free(st->copy[i].payload);
			continue;
		}
		free(o->payload);
		o->payload = st->copy[i].payload;
		o->state = D_HELD;
		o->stale = 1;
		o->window = st->copy[i].window;
		o->next = st->copy[i].next;
	}
	free(st->orig);
	free(st->copy);
	free(st->ok);
	free(st);
}
