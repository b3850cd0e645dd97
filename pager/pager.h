/*
 * pager.h: what tocsin-pager's files share: one delivery (an event, a
 * contact, a channel) with its state and retries, and the prototypes of
 * each file, grouped by the file that defines them.
 */
#ifndef TOCSIN_PAGER_H
#define TOCSIN_PAGER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "spool.h"
#include "worker.h"

struct conf;
struct contact_conf;
struct server_conf;
struct event_base;

enum channel {
	CH_EMAIL,
	CH_SMS,		/* an email-to-SMS gateway address, or a
			   +NUMBER through `set sms-gateway` */
	CH_WEBHOOK,
	CH_MAX
};

enum dstate {
	D_QUEUED,	/* not sent yet, or to be retried at `next` */
	D_DONE,		/* the far side took it (final) */
	D_FAILED,	/* refused for good: bad address, a 4xx (final) */
	D_HELD,		/* for the storm digest that `window` ends with */
};

/* How one try ended. */
enum send_result {
	SEND_OK,
	SEND_RETRY,	/* far side down or busy: back off and try again */
	SEND_REFUSED,	/* refused for good */
};

#define CONTACT_MAX	64
#define ADDR_MAX	512
#define ERROR_MAX	256
#define BACKOFF_MIN	2	/* seconds before the first retry */
#define BACKOFF_MAX	600	/* seconds: the cap */

/*
 * One delivery. The page (payload) is rendered once, when the record is
 * made, and kept in it: a resend after a crash sends the same bytes, with
 * the same Message-ID or Idempotency-Key.
 */
struct delivery {
	uint64_t	 seq;		/* the event's sequence number */
	char		 contact[CONTACT_MAX];
	enum channel	 ch;
	char		 server[256];	/* server id */
	char		 to[ADDR_MAX];	/* address or URL */
	enum dstate	 state;
	unsigned	 tries;		/* tries that failed */
	int64_t		 next;		/* Unix s: not before */
	int64_t		 created;	/* Unix s */
	char		 error[ERROR_MAX];	/* the last failure */
	char		*payload;	/* message (LF lines) or JSON; owned;
					   held: the event's digest line */
	int64_t		 window;	/* Unix s: held or digest, its
					   storm window's end; else 0 */
	int		 digest;	/* the window's digest page */
	int		 stale;		/* held or digest: for set stale-after,
					   not a storm */
	unsigned	 round;		/* 0: the event's page; N: the Nth
					   reminder (renotify) */
	/* Run-time only. */
	int		 busy;		/* a send or a write is in flight */
	int		 taken;		/* busy: the far side's answer is
					   final (took it or refused it),
					   its record not yet written: the
					   lane's next may start */
	int		 closing;	/* final; the event is being removed */
	int		 unsaved;	/* final in memory, its record not
					   written (disk full): written again
					   at resave, never sent again */
	int64_t		 resave;	/* Unix s: the record's next write */
	unsigned	 resaves;	/* writes of it that failed */
	TAILQ_ENTRY(delivery) entry;
};
TAILQ_HEAD(deliveries, delivery);

/* The server's state when the page is made (probed's status, or the
 * state file). */
struct server_info {
	int64_t		 since;		/* Unix s; 0 = not known */
	double		 latency_ms;	/* < 0 = not known */
	char		 message[256];
	char		 unreachable[512];	/* servers that depend on it,
					   down or unreachable: "a,b" */
};

/* What the texts need besides the event. */
struct page_ctx {
	const struct conf	*conf;
	const char		*contact;
	const char		*to;
	enum channel		 ch;
	const struct server_info *info;	/* may be NULL */
	int			 flap_stopped;	/* flapping ended with this */
	unsigned		 round;		/* reminder number, or 0 */
	int			 stale;		/* a digest of stale pages */
	int64_t			 window;	/* a stale digest's: its own
						   Message-ID and Idempotency-Key
						   (".sWINDOW"); 0: the event's */
	int64_t			 now;		/* Unix s: the Date header */
};

/* queue.c */
const char	*queue_channel_str(enum channel);
int		 queue_channel_parse(const char *, enum channel *);
const char	*queue_state_str(enum dstate);
void		 queue_name(const struct delivery *, char *, size_t);
char		*queue_to_json(const struct delivery *);
struct delivery	*queue_from_json(const char *, char *err, size_t errlen);
int		 queue_write(int dirfd, const struct delivery *);
int		 queue_exists(int dirfd, const struct delivery *);
int		 queue_load(int dirfd, struct deliveries *, char *err,
		    size_t errlen);
int		 queue_remove(int dirfd, const struct delivery *);
void		 queue_insert(struct deliveries *, struct delivery *);
void		 queue_free(struct delivery *);
void		 queue_outcome(struct delivery *, enum send_result,
		    const char *error, int64_t now);
int64_t		 queue_backoff(unsigned tries);
int		 queue_event_final(const struct deliveries *, uint64_t seq);
size_t		 queue_ready(struct deliveries *, int64_t now,
		    struct delivery **, size_t max);
struct delivery	*queue_lane_next(struct delivery *, int64_t now);

/* memo.c */
struct memo_entry {
	char		 id[256];
	int		 flapping;
	char		 sms[256];	/* contacts SMSed for the open problem */
	/* The open problem, for renotify and escalate-after. */
	uint64_t	 problem;	/* its page's event; 0 = none open */
	int64_t		 problem_time;	/* Unix s: that event's time */
	char		 state[16];	/* its state */
	char		 message[256];	/* its message */
	char		 rounds[256];	/* "contact:N,...": reminders made */
	char		 escalated[256];	/* contacts escalated to */
	char		 escalated_at[256];	/* "contact:T,...": Unix s
					   of each one's page ("": a memo
					   of before, the problem's time) */
	char		 paged[512];	/* contacts its page went to; ""
					   (a memo of before): the server's */
	/* A problem not paged because of a downtime: paged when the
	 * downtime ends if it is still there (remind.c). */
	uint64_t	 held;		/* its event; 0 = none */
	int64_t		 held_time;	/* Unix s: that event's time */
	char		 held_state[16];
	char		 held_message[256];
	/* Its problem listed in a parent's page (it depends on it): who
	 * read it there ("contact/channel,..."), and that page's event.
	 * Its own unreachable event then goes to no one of them. */
	char		 listed[256];
	uint64_t	 listed_by;
};
struct memo;
struct want;
int		 memo_entry_empty(const struct memo_entry *);
struct json_t	*memo_entry_dump(const struct memo_entry *);
void		 memo_entry_parse(struct memo_entry *, struct json_t *);
struct memo	*memo_load(int dirfd);
struct memo_entry *memo_get(struct memo *, const char *id);
void		 memo_touch(struct memo *);
int		 memo_save(struct memo *, int dirfd);
void		 memo_free(struct memo *);
size_t		 memo_count(const struct memo *);
struct memo_entry *memo_at(struct memo *, size_t);
int		 memo_listed(const char *list, const char *name);
void		 memo_list_add(char *list, size_t len, const char *name);
uint64_t	 memo_num(const char *list, const char *contact);
void		 memo_num_set(char *list, size_t len, const char *contact,
		    uint64_t n);
void		 memo_problem_open(struct memo_entry *,
		    const struct spool_event *);
void		 memo_problem_close(struct memo_entry *, uint64_t seq);
void		 memo_held_note(struct memo_entry *, const struct spool_event *);
int		 memo_event_read(struct memo_entry *,
		    const struct spool_event *);
void		 memo_event_paged(struct memo_entry *,
		    const struct spool_event *, const char *why,
		    const struct want *, size_t n);
const char	*memo_heard(const struct memo_entry *);
void		 memo_listed_note(struct memo *, const char *children,
		    const char *contact, enum channel, uint64_t seq);

/* rules.c */
struct storm {			/* the storm window (one for all pages) */
	int64_t		 end;		/* Unix s; event times before it */
	unsigned long	 count;		/* changes paged alone in it */
};
enum storm_verdict {
	STORM_PAGE,		/* page it alone, now */
	STORM_FOLD,		/* list it in the window's digest */
};
enum storm_verdict rules_storm(struct storm *, const struct conf *,
		    const struct spool_event *, int64_t *window_end);
struct want {
	const struct contact_conf *contact;
	enum channel	 ch;
	const char	*to;
};
#define WANT_MAX	(3 * 64)
int		 rules_alone(const struct spool_event *);
#define RULES_FLAPPING	"flapping"	/* why a change is held */
int		 rules_page_worthy(const struct spool_event *, int was_flapping,
		    const char **why);
int		 rules_flap_held(const char *why);
const struct spool_event *rules_as_heard(const struct spool_event *,
		    int was_flapping, const char *heard, struct spool_event *);
size_t		 rules_wants(const struct conf *, const struct spool_event *,
		    const char *sms_sent, struct want *, size_t max);
int		 rules_in_quiet(const struct contact_conf *, int64_t when);
size_t		 rules_contact_wants(const struct contact_conf *,
		    const struct spool_event *, const char *sms_sent,
		    struct want *, size_t max);
uint64_t	 rules_renotify_ms(const struct server_conf *,
		    const struct contact_conf *);

/* remind.c */
struct ctl_server;
struct remind {
	const struct contact_conf *ct;	/* who gets it */
	unsigned	 round;		/* reminder number; 0: escalation */
	const struct contact_conf *from;	/* escalated from; NULL:
					   a reminder */
};
int		 remind_allowed(const struct ctl_server *, int64_t now);
size_t		 remind_due(const struct conf *, const struct server_conf *,
		    const struct memo_entry *, int64_t now, struct remind *,
		    size_t max);
void		 remind_event(const struct memo_entry *, const struct remind *,
		    int64_t now, struct spool_event *);
void		 remind_done(struct memo_entry *, const struct remind *,
		    int64_t now);
int		 remind_found(const struct conf *, struct memo_entry *,
		    const char *contact, unsigned round, int64_t created);
size_t		 remind_escalated_wants(const struct conf *,
		    const char *escalated, const struct spool_event *,
		    struct want *, size_t max);
int		 remind_dtend_due(const struct ctl_server *,
		    const struct memo_entry *, int64_t now);
void		 remind_dtend_event(const struct memo_entry *, int64_t now,
		    struct spool_event *);
void		 remind_dtend_done(struct memo_entry *, int64_t now);

/* watchdog.c */
struct watchdog {
	unsigned	 incident;	/* incidents told so far */
	int		 down;		/* "stopped" told, "back" not yet */
	int64_t		 since;		/* Unix s: when it stopped */
	int64_t		 bad_since;	/* run-time: first bad poll; 0 */
};
enum wd_verdict {
	WD_NONE,
	WD_STOPPED,		/* page set admin: monitoring stopped */
	WD_BACK,		/* page set admin: it is back */
};
uint64_t	 watchdog_interval(const struct conf *);
enum wd_verdict	 watchdog_judge(struct watchdog *, int answered,
		    int64_t newest, uint64_t interval_ms, int64_t now,
		    char *why, size_t whylen);
void		 watchdog_load(int dirfd, struct watchdog *);
int		 watchdog_save(int dirfd, const struct watchdog *);
unsigned	 watchdog_event(const struct watchdog *, enum wd_verdict,
		    const char *why, int64_t now, struct spool_event *);

/* format.c */
enum page_kind {
	PAGE_PROBLEM,
	PAGE_RECOVERY,
	PAGE_FLAP_START,
	PAGE_FLAP_STOP,
};
enum page_kind	 format_kind(const struct spool_event *, int flap_stopped);
void		 format_message_id(const struct conf *, uint64_t seq,
		    const char *contact, enum channel, unsigned round, char *,
		    size_t);
void		 format_digest_key(uint64_t seq, const char *contact,
		    enum channel, unsigned round, int64_t window, char *,
		    size_t);
void		 format_idempotency_key(uint64_t seq, const char *contact,
		    enum channel, unsigned round, char *, size_t);
void		 format_subject(const struct spool_event *, int flap_stopped,
		    char *, size_t);
char		*format_page(const struct spool_event *,
		    const struct page_ctx *);
char		*format_email(const struct spool_event *,
		    const struct page_ctx *);
char		*format_sms(const struct spool_event *,
		    const struct page_ctx *);
char		*format_webhook(const struct spool_event *,
		    const struct page_ctx *);
void		 format_digest_line(const struct spool_event *, char *,
		    size_t);
void		 format_stale_line(const struct delivery *, char *, size_t);
#define DIGEST_LINES	500	/* lines a digest lists, at most */
char		*format_digest(const struct page_ctx *, uint64_t seq,
		    const char *const *lines, size_t n);

/* sms.c */
#define SMS_MAX		160	/* GSM-7 septets in one segment */
size_t		 sms_gsm7(const char *utf8, char *out, size_t outlen,
		    size_t max_septets);
void		 sms_text(const struct spool_event *, int flap_stopped,
		    char *, size_t);
int		 sms_is_gateway(const char *);

/* maildir.c */
int		 maildir_open(const char *state_dir, char *path, size_t);
int		 maildir_deliver(const char *dir, const char *name,
		    const char *msg, char *err, size_t errlen);

/* mail.c */
struct mail_conf;
struct mail_conf *mail_conf_new(const struct conf *, char *err,
		    size_t errlen);
void		 mail_conf_free(struct mail_conf *);
void		 mail_conf_free_job(void *);
/* One message of a session: to, msg in; r, err out. */
struct mail_msg {
	const char	*to;
	const char	*msg;
	enum send_result r;
	char		 err[ERROR_MAX];
	/* libesmtp's, during the session. */
	char		*text;
	void		*m, *rcpt;
};
void		 mail_send_batch(const struct mail_conf *, struct mail_msg *,
		    size_t n);
enum send_result mail_send(const struct mail_conf *, const char *to,
		    const char *msg, char *err, size_t errlen);

/* webhook.c */
struct webhook;
/* One HTTP request: POST with body, or GET when body is NULL. */
struct http_call {
	char		*url;
	char		*body;		/* or NULL: GET */
	const char	*content_type;	/* of the body */
	const char	*key;		/* the Idempotency-Key header */
	const char	*userpwd;	/* Basic auth user:password, or NULL */
	const char	*bearer;	/* Bearer token, or NULL */
};
typedef void	 webhook_cb(void *arg, enum send_result, const char *err);
struct webhook	*webhook_new(struct event_base *);
void		 webhook_free(struct webhook *);
void		 webhook_json(struct http_call *, const char *url,
		    const char *key, const char *json);
int		 webhook_post(struct webhook *, const char *url,
		    const char *key, const char *json, webhook_cb *, void *);
int		 webhook_call(struct webhook *, const struct http_call *,
		    webhook_cb *, void *);

/* smsapi.c */
struct smsapi;
struct smsapi	*smsapi_new(const struct conf *, char *err, size_t errlen);
void		 smsapi_free(struct smsapi *);
char		*smsapi_fill(const char *tmpl, const char *to,
		    const char *text, const char *key, int json);
void		 smsapi_request(const struct smsapi *, const char *to,
		    const char *text, const char *key, struct http_call *);
void		 smsapi_request_free(struct http_call *);


#endif
