/*
 * probed.h: what the parts of tocsin-probed share: the engine with its
 * loop, the target (a server's settings plus run-time state), the probe
 * (one check in flight), and the table a check kind fills in.
 */
#ifndef TOCSIN_PROBED_H
#define TOCSIN_PROBED_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <stdint.h>

#include "conf.h"
#include "result.h"
#include "state.h"

struct event_base;
struct event;
struct probe;
struct engine;
struct resolver;
struct dnschan;
struct writer;
struct confref;
struct hostq;
struct json_t;

/*
 * A check kind: one file, one table. start() begins the check on the
 * engine's loop and returns 0, or -1 after setting p->r (then the engine
 * finishes the probe itself). When the check ends the kind sets p->r and
 * calls probe_done(p), then returns at once: the probe is gone.
 * release() frees everything the kind holds for p (p->priv); the engine
 * calls it exactly once per started probe, from probe_done or on timeout
 * or shutdown, and after it the kind never touches p again. phase() says
 * what the check was waiting for ("first byte"), for timeout messages; it
 * may be NULL. curl_done() is for kinds on the curl multi handle: the
 * transfer ended with that CURLcode. needs_addr: the engine resolves
 * sc->host (c-ares) first and fills p->addr. A kind's start() may hand
 * the probe to another kind that needs the same (check_http.c gives plain
 * checks to http_native.c): it sets p->ops and returns that one's start().
 */
struct check_ops {
	const char	*name;
	int		 needs_addr;
	int		 (*start)(struct probe *);
	void		 (*release)(struct probe *);
	const char	*(*phase)(struct probe *);
	void		 (*curl_done)(struct probe *, int curlcode);
};

extern const struct check_ops check_http_ops;
extern const struct check_ops check_tcp_ops;
extern const struct check_ops check_dns_ops;
extern const struct check_ops check_ftp_ops;
extern const struct check_ops check_mail_ops;	/* smtp, pop3, imap */
extern const struct check_ops check_ping_ops;
extern const struct check_ops check_exec_ops;

/* reload.c: what a reload must apply (reload_compare's bits) */
#define RELOAD_DNS	0x1	/* dns-servers: a new resolver */
#define RELOAD_ARCHIVES	0x2	/* archives, rrdcached: a new writer */
#define RELOAD_CONTROL	0x4	/* control-group: who may change things */
unsigned	 reload_compare(const struct conf *was, const struct conf *now);

/* check_exec.c */
uint64_t	 check_exec_leftovers(void);

/* check_ping.c: the raw socket is opened before privileges go. */
void		 check_ping_init(const struct conf *);
void		 check_ping_shutdown(void);

/* Where a target stands after a reload. */
enum target_life {
	TARGET_LIVE,		/* in the current config */
	TARGET_KEPT,		/* kept by the reload under way */
	TARGET_REMOVED,		/* gone from the config; freed when its
				   check in flight ends */
};

/*
 * A target: one server. Settings are a pointer into the current config
 * (swapped on reload); everything else survives a reload.
 */
struct target {
	const struct server_conf *sc;
	struct state	 st;
	int64_t		 due;		/* monotonic µs of the next planned start */
	int64_t		 started_mono;	/* monotonic µs the probe started */
	size_t		 heap_idx;	/* position in the scheduler's heap */
	struct probe	*probe;		/* in flight, or NULL */
	struct hostq	*host;		/* its address's slots (slots.c) */
	struct hostq	*held;		/* holds a slot of this address */
	struct hostq	*wait_on;	/* waits in this address's queue */
	int		 waiting;	/* where it waits (slots.c) */
	int64_t		 wait_since;	/* monotonic µs */
	TAILQ_ENTRY(target) wait_link;
	TAILQ_ENTRY(target) hold_link;
	TAILQ_ENTRY(target) gone_link;	/* removed, check in flight */
	int64_t		 done_mono;	/* monotonic µs its last check ended */
	struct check_result *parked;	/* a failure held until ... */
	struct target	*parked_on;	/* ... this parent's fresh result
					   (NULL: the parent left) */
	int64_t		 parked_start;	/* monotonic µs the failed check
					   started */
	TAILQ_ENTRY(target) park_link;
	int		 check_now;	/* asked for by `check ID` */
	enum target_life life;
};

/* One check in flight. The engine owns it (and reuses it); the kind
 * keeps priv. */
struct probe {
	struct engine		*eng;
	struct target		*t;
	const struct server_conf *sc;
	const struct check_ops	*ops;
	struct check_result	 r;
	int64_t			 start_mono;	/* µs */
	int64_t			 deadline_mono;	/* µs */
	struct sockaddr_storage	 addr;		/* resolved, port set */
	socklen_t		 addrlen;
	char			 addrstr[64];	/* numeric form */
	struct event		*timer;		/* engine's hard deadline */
	void			*priv;		/* the kind's state */
	struct confref		*cref;		/* config it started under */
	int			 started;	/* handed to its kind */
	int			 finished;
	struct probe		*next_spare;	/* in the engine's spares */
};

/* engine.c: services for the check kinds. */
struct event_base *engine_base(struct engine *);
const struct conf *engine_conf(struct engine *);
void		 probe_done(struct probe *);
int64_t		 probe_elapsed_us(const struct probe *);
struct dnschan	*engine_dnschan(struct engine *, const char *server,
		    char *err, size_t errlen);

/* engine.c: the target table, for the control socket. */
size_t		 engine_ntargets(struct engine *);
struct target	*engine_target(struct engine *, size_t);
struct target	*engine_find(struct engine *, const char *id);
void		 engine_check_now(struct engine *, struct target *);
int		 engine_reload(struct engine *, char **errors);
void		 engine_save_state(struct engine *);
void		 engine_person_changed(struct engine *, const struct target *,
		    const char *what);
void		 engine_share_change(struct engine *, struct target *const *,
		    size_t, const char *what);
struct json_t	*engine_cluster_json(struct engine *, const struct target *,
		    int64_t now);
struct json_t	*engine_cluster_head(struct engine *);

struct engine_stats {
	uint64_t	 checks;	/* finished since start */
	uint64_t	 running;
	uint64_t	 pending;	/* due, waiting for a slot */
	int64_t		 lateness_p50_us;
	int64_t		 lateness_p99_us;
	int64_t		 lateness_max_us;
	uint64_t	 events;	/* hard changes spooled */
	uint64_t	 archive_dropped;
	uint64_t	 uptime_s;
	uint64_t	 exec_leftovers;	/* plugins' leftovers killed */
};
void		 engine_stats(struct engine *, struct engine_stats *);

#endif
