/*
 * lb.h: tocsin-lb's run-time model: farms made from the config, their
 * members (backends) with health and load, listeners, and the prototypes
 * of each file, grouped by the file that defines them.
 */
#ifndef TOCSIN_LB_H
#define TOCSIN_LB_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <pthread.h>

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct event;
struct event_base;

/* Defaults of a farm's connect-timeout, client-timeout, server-timeout. */
#define LB_CONNECT_TIMEOUT_MS	3000	/* a server's connect, at most */
#define LB_IDLE_TIMEOUT_MS	60000	/* a silent client, or server */
#define LB_EWMA_TAU_MS		1000	/* EWMA time constant; also its decay */
#define LB_ERROR_PENALTY_MS	1000	/* what an error counts as */
#define LB_BAND_FACTOR		3.0	/* fastest: times within this factor */
#define LB_BAND_MS		2.0	/* or this much of the best are equal */
#define LB_SUSPECT_MS		10000	/* a passive mark lasts, at most */
#define LB_REPLAY_MAX		16384	/* client bytes kept for a retry */
#define LB_TRIES_MAX		8	/* servers one session may try */
#define LB_QUEUE_MAX		1024	/* waiting for a slot, a farm */
#define LB_SLOWSTART_MIN	0.05	/* a ramping member's first share */
#define PROXYPROTO_MAX		108	/* a PROXY header, bytes, at most */

/* What probed says of a server; unknown until it has said anything. */
enum be_health {
	BE_UNKNOWN,
	BE_UP,
	BE_DEGRADED,
	BE_DOWN,
};

/*
 * A member: a server of a farm that takes traffic. Its settings (address,
 * weight) come from the config; its state (health, EWMA, load) is kept
 * across a reload when the id and address stay. Referenced by its farm and
 * by each session on it; freed at the last reference.
 */
struct backend {
	char		*id;		/* "farm/name" */
	struct sockaddr_storage addr;
	socklen_t	 addrlen;
	char		 addrstr[64];	/* "host:port" for logs */
	unsigned	 weight;	/* 0..256; 0: no new traffic */
	unsigned	 maxconn;	/* sessions at once; 0 = no limit */
	int		 refs;
	enum be_health	 health;	/* probed's word */
	int		 drained;	/* probed's drained flag */
	int64_t		 health_at;	/* mono_us of the last word */
	int64_t		 suspect_until;	/* mono_us; 0 = not suspect */
	double		 ewma_ms;	/* EWMA of response times */
	int64_t		 ewma_at;	/* mono_us of its last update */
	int		 has_ewma;
	unsigned	 inflight;	/* sessions on it now, this loop's */
	struct beslot	*slot;		/* shared by every loop's member of
					   this id and address */
	unsigned	 waiting;	/* http requests sent, no answer yet */
	int64_t		 waiting_sum;	/* their mono_us sent, summed */
	int		 rr_current;	/* smooth weighted round robin */
	uint64_t	 conns;		/* connections opened to it */
	uint64_t	 requests;	/* sessions (tcp), requests (http) */
	uint64_t	 answered;	/* of them, answered (first byte) */
	double		 answer_ms_sum;	/* their times to the first byte */
	uint64_t	 errors;	/* connect failures and resets */
	uint64_t	 slowstart_ms;	/* its farm's; 0 = none */
	int64_t		 ramp_at;	/* mono_us its ramp began; 0 = none */
};

/*
 * What every loop's member of one id and address shares (backend.c's
 * registry, as persist.c's tables): the sessions in flight on the server
 * from all loops, which maxconn caps. Lives while a loop's member holds
 * it, so it outlives a reload that keeps the member.
 */
struct beslot;

struct ctlsock;
struct listener;
struct persist;

/* A member's settings from the config, kept apart from its state. */
struct member_set {
	unsigned	 weight;
	unsigned	 maxconn;
	uint64_t	 slowstart_ms;
};

/*
 * A farm's counts, its state apart from its settings: shared by the farms
 * of one name in a loop, the one running and those a reload replaced
 * while their sessions finish, so that what those sessions count (a
 * wait, a reject) counts where the stats read it, and counts go on
 * across a reload. Freed with the last farm holding it.
 */
struct farm_stats {
	int		 refs;
	unsigned	 nqueued;	/* waiting for a slot now */
	uint64_t	 queued_total;	/* that ever waited */
	uint64_t	 clients;	/* connections accepted */
	uint64_t	 rejected;	/* 503s, and tcp clients closed unserved */
};

/* A farm that has at least one listen line. Referenced by main and each
 * session, so a reload can replace it while sessions finish. */
struct farm {
	char		*name;
	enum balance_algo algo;
	struct backend	**be;
	size_t		 nbe;
	struct member_set *set;		/* the config's settings of be[i],
					   applied by farm_apply */
	int		 refs;
	uint64_t	 persist_ms;	/* 0 = none */
	uint64_t	 slowstart_ms;	/* 0 = none */
	int		 proxy_protocol;	/* to members: 0 none, 1, 2 */
	int64_t		 connect_ms;	/* a member's connect; a queued wait */
	int64_t		 client_ms;	/* a client's silence; a tcp
					   session's, either way */
	int64_t		 server_ms;	/* a member's silence, in http */
	struct persist	*persist;	/* tcp clients' members; or NULL */
	struct farm_stats *st;		/* its counts, kept across a reload */
};

/* A session or request waiting for a slot (queue.c); embedded in it,
 * zeroed before its first use. */
struct waiter {
	TAILQ_ENTRY(waiter) entry;
	struct farm	*farm;
	struct event	*timer;
	void		(*retry)(void *);
	void		(*expire)(void *);
	void		*arg;
	int		 queued;
};

struct lb {
	struct event_base *base;
	struct conf	*conf;
	struct farm	**farms;
	size_t		 nfarms;
	unsigned	 gen;		/* farms built so far: a keep-alive
					   client looks its farm up again
					   when this changed */
	struct listener	**ls;
	size_t		 nls;
	struct health	*health;
	struct ctlsock	*ctl;		/* the first loop's; NULL in others */
	int64_t		 started;	/* mono_us */
	int		 reuseport;	/* several loops listen on each address */
	unsigned	 nthreads;	/* loops running (the first one's) */
	struct lb	**peers;	/* the first one's: the other loops */
	size_t		 npeers;
	pthread_t	 thread;	/* the other loops' */
};

/* backend.c */
struct backend	*backend_new(const struct server_conf *, char *err, size_t);
void		 backend_ref(struct backend *);
void		 backend_unref(struct backend *);
int		 backend_usable(const struct backend *, int64_t now);
int		 backend_eligible(const struct backend *);
int		 backend_full(const struct backend *);
unsigned	 backend_inflight(const struct backend *);
int		 backend_try_take(struct backend *);
void		 backend_release(struct backend *);
void		 backend_sample(struct backend *, double ms, int64_t now);
void		 backend_answered(struct backend *, double ms, int64_t now);
void		 backend_error(struct backend *, int64_t now);
void		 backend_ok(struct backend *);
double		 backend_ewma(const struct backend *, int64_t now);
double		 backend_latency(const struct backend *, int64_t now);
double		 backend_cost(const struct backend *, double latency,
		    double band);
void		 backend_wait_begin(struct backend *, int64_t sent);
void		 backend_wait_end(struct backend *, int64_t sent);
unsigned	 backend_weight(const struct backend *);
double		 backend_share(struct backend *, int64_t now);
double		 backend_traffic_share(struct backend *, int64_t now);
void		 backend_ramp(struct backend *, int64_t now);
const char	*backend_health_str(enum be_health);
enum be_health	 backend_health_parse(const char *);
struct farm	*farm_new(const struct farm_conf *, struct farm **old,
		    size_t nold, char *err, size_t);
void		 farm_apply(struct farm *);
void		 farm_ref(struct farm *);
void		 farm_unref(struct farm *);
void		 farm_mark_suspect(struct farm *, struct backend *, int64_t);
struct backend	*lb_find_backend(struct lb *, const char *id);

/* balance.c */
struct backend	*balance_pick(struct farm *, const struct sockaddr *,
		    socklen_t, struct backend **tried, size_t ntried,
		    int *full);

/* queue.c */
int		 queue_add(struct lb *, struct waiter *, struct farm *,
		    void (*retry)(void *), void (*expire)(void *), void *);
void		 queue_cancel(struct waiter *);
void		 queue_kick(void);
void		 queue_kick_all(void);
void		 queue_shutdown(void);

/* listener.c */
struct listener	*listener_open(struct lb *, const char *addr, int http,
		    struct farm *, char *err, size_t);
struct listener	*listener_take(struct lb *, const char *addr, int http);
void		 listener_set_farm(struct listener *, struct farm *);
void		 listener_close(struct listener *);
const char	*listener_addr(const struct listener *);
int		 listener_fd_scarce(int fd);
int		 listener_fd_plenty(int fd);

/* batch.c: a loop thread's sends, staged and made together */
struct batch_op {
	void	(*done)(struct batch_op *, int res);	/* bytes or -errno */
	size_t	 len;		/* staged and not yet made; 0 when none */
};
int		 batch_ready(struct event_base *);
int		 batch_send(struct batch_op *, int fd, const void *, size_t);
void		 batch_flush(void);
void		 batch_settle(struct batch_op *);
void		 batch_shutdown(void);

/* proxy_tcp.c */
void		 proxy_tcp_accept(struct lb *, struct farm *, int fd,
		    const struct sockaddr *, socklen_t);
size_t		 proxy_tcp_sessions(void);
int		 proxy_tcp_adopt(struct lb *, struct farm *, struct backend *,
		    int cfd, int sfd, const void *to_client, size_t,
		    const void *to_server, size_t);

/* persist.c */
uint64_t	 persist_key(const char *id);
struct persist	*persist_new(const char *farm);
void		 persist_unref(struct persist *);
struct backend	*persist_lookup(struct persist *, struct farm *,
		    const struct sockaddr *, uint64_t ttl_ms);
void		 persist_note(struct persist *, const struct sockaddr *,
		    const struct backend *);
struct backend	*persist_by_key(struct farm *, uint64_t key);

/* conn.c: a buffered socket, as a bufferevent but no ioctl a read. */
#define CONN_READING	0x01	/* with one of these: which side */
#define CONN_WRITING	0x02
#define CONN_EOF	0x10
#define CONN_ERROR	0x20	/* errno says which */
#define CONN_TIMEOUT	0x40
#define CONN_CONNECTED	0x80
struct conn;
struct evbuffer;
typedef void	 conn_data_cb(struct conn *, void *arg);
typedef void	 conn_event_cb(struct conn *, short what, void *arg);
struct conn	*conn_new(struct event_base *, int fd);
void		 conn_setfd(struct conn *, int fd);
void		 conn_free(struct conn *);
void		 conn_cache_free(void);
int		 conn_connect(struct conn *, const struct sockaddr *,
		    socklen_t);
void		 conn_setcb(struct conn *, conn_data_cb *readcb,
		    conn_data_cb *writecb, conn_event_cb *, void *arg);
void		 conn_enable(struct conn *, short);
void		 conn_disable(struct conn *, short);
short		 conn_enabled(const struct conn *);
void		 conn_set_timeouts(struct conn *, int64_t read_ms,
		    int64_t write_ms);
void		 conn_set_watermarks(struct conn *, size_t rhigh,
		    size_t wlow);
struct evbuffer	*conn_input(const struct conn *);
struct evbuffer	*conn_output(const struct conn *);
int		 conn_fd(const struct conn *);
int		 conn_take_fd(struct conn *);
void		 conn_flush(struct conn *);
void		 conn_shutdown_write(struct conn *);
void		 conn_settle(struct conn *);

/* proxy_http.c */
void		 proxy_http_accept(struct lb *, struct farm *, int fd,
		    const struct sockaddr *, socklen_t);
void		 proxy_http_shutdown(void);

/* proxyproto.c */
size_t		 proxyproto_header(int version, const struct sockaddr *src,
		    const struct sockaddr *dst, unsigned char *, size_t);
size_t		 proxyproto_client(int version, int fd,
		    const struct sockaddr *client, unsigned char *, size_t);

/* ctl.c */
struct ctlsock	*lbctl_open(struct lb *, const char *path);

/* health.c */
struct health	*health_start(struct lb *, const char *sockpath);
void		 health_set_path(struct health *, const char *sockpath);
void		 health_stop(struct health *);
void		 health_refresh(struct health *);
void		 health_drain(struct backend *, int, int64_t, const char *);
void		 health_word(struct backend *, enum be_health, int drained,
		    int64_t now, const char *who);

/* cluster.c */
struct cluster	*cluster_start(struct lb *);
void		 cluster_stop(struct cluster *);
void		 cluster_refresh(struct cluster *);

#endif
