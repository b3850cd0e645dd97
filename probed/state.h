/*
 * state.h: a server's run-time state and the state machine that moves it:
 * soft and hard states, retries, rise, flapping, acknowledgement, downtime
 * and draining. Pure logic: no I/O, no clock (callers pass the time), so it
 * is tested on its own.
 */
#ifndef TOCSIN_STATE_H
#define TOCSIN_STATE_H

#include <stdint.h>

#include "result.h"

struct server_conf;
struct json_t;

/*
 * Both unknowns read "unknown" outside: HSTATE_UNKNOWN is a server not
 * checked yet (no news when it turns up), HSTATE_UNKNOWN_STATUS one whose
 * check said it could not tell (a plugin's UNKNOWN): a problem, with its
 * retries and pages, as Nagios treats it. The state file tells them
 * apart by `since` (set once a hard state was reached).
 */
enum hstate {
	HSTATE_UNKNOWN = 0,	/* not checked yet */
	HSTATE_UP,
	HSTATE_DEGRADED,	/* answers, but slow or with a warning */
	HSTATE_DOWN,
	HSTATE_UNKNOWN_STATUS,	/* the check could not tell */
};

enum state_type {
	STATE_SOFT,
	STATE_HARD,
};

#define FLAP_WINDOW	21	/* results kept for flap detection */
#define STATE_MSG_MAX	RESULT_MSG_MAX	/* bytes kept of a message, with NUL */
#define STATE_COMMENT_MAX 128		/* bytes kept of a comment, with NUL */
#define STATE_DOWNTIMES_MAX 16		/* scheduled downtimes a server keeps */

/*
 * A downtime: no pages for the server from `from` until `until`. Numbered
 * so a person can cancel it; a farm's downtime is one number on each of
 * its members, with scope naming the farm.
 */
struct downtime {
	unsigned	 id;		/* 1, 2, ...; 0 from an old state file */
	int64_t		 from;		/* Unix s */
	int64_t		 until;		/* Unix s; > from */
	long		 uid;		/* who set it; -1 = not known */
	char		*scope;		/* farm's name; NULL = this server */
	char		*comment;	/* NULL = none */
};

#define STATE_LONG_MAX	RESULT_LONG_MAX	/* bytes kept of long output */

/*
 * Text fields are malloc'd (and NULL when empty) so an idle server costs
 * little: a state owns them, state_free releases them.
 */

struct state {
	enum hstate	 state;		/* current, soft or hard */
	enum state_type	 type;
	enum hstate	 hard;		/* last hard state */
	enum hstate	 candidate;	/* state being counted towards hard */
	unsigned	 count;		/* consecutive results on candidate's
					   side of hard (worse or better) */
	int64_t		 since;		/* Unix s: hard state began */
	int64_t		 last_check;	/* Unix s; 0 = never */
	int64_t		 last_latency_us;	/* -1 = none */
	int64_t		 last_parts_us[4];	/* dns, connect, tls, first
						   byte ends; -1 = none */
	int64_t		 cert_not_after;	/* Unix s; 0 = none */
	enum check_status last_status;
	char		*message;	/* last result's; NULL = none */
	char		*long_output;	/* last result's; NULL = none */
	unsigned char	 hist[FLAP_WINDOW];	/* observed hstate, oldest first */
	unsigned	 nhist;
	double		 flap_pct;	/* weighted percent state change */
	int		 flapping;
	int		 acked;		/* problem acknowledged */
	char		*ack_comment;	/* NULL = none */
	struct downtime	*downtimes;	/* by start time; NULL when none */
	unsigned	 ndowntimes;
	int		 drained;	/* balancer sends no new traffic */
	uint64_t	 checks;	/* results seen */
	uint64_t	 failures;	/* results that were not ok */
};

/* A hard state change, for the spool and the watchers. */
struct state_change {
	enum hstate	 old_state;
	enum hstate	 new_state;
	int		 flapping;
	int		 in_downtime;
	int		 acked;
};

void		 state_init(struct state *);
void		 state_free(struct state *);
void		 state_set_text(char **, const char *, size_t max);
int		 state_update(struct state *, const struct server_conf *,
		    const struct check_result *, unsigned flap_low,
		    unsigned flap_high, int64_t now, struct state_change *);
enum hstate	 state_observe(const struct server_conf *,
		    const struct check_result *);
int		 state_in_downtime(const struct state *, int64_t now);
void		 state_set_hard(struct state *, enum hstate, int64_t since);
const char	*hstate_str(enum hstate);
int		 hstate_parse(const char *, enum hstate *);
const char	*state_type_str(enum state_type);

/* Persistence: every server's state in one file, written atomically. */
struct json_t	*state_to_json(const struct state *);
int		 state_from_json(struct state *, struct json_t *);
struct json_t	*state_downtimes_to_json(const struct state *);
struct json_t	*state_downtime_json(const struct downtime *);
int		 state_downtimes_from_json(struct state *, struct json_t *);

/* What a person asks for (the control socket). */
int		 state_ack(struct state *, const char *comment);
void		 state_drain(struct state *);
void		 state_enable(struct state *);
int		 state_downtime_add(struct state *, const struct downtime *);
unsigned	 state_downtime_cancel(struct state *, unsigned id);
void		 state_downtime_expire(struct state *, int64_t now);
const struct downtime *state_downtime_current(const struct state *,
		    int64_t now);
unsigned	 state_downtime_max_id(const struct state *);

#endif
