/*
 * conf.h: the config model, shared by every program. Settings only: the
 * run-time state of a server lives in the daemon that keeps it, so a reload
 * can swap settings and keep state.
 */
#ifndef TOCSIN_CONF_H
#define TOCSIN_CONF_H

#include <stddef.h>
#include <stdint.h>

enum check_kind {
	KIND_HTTP,	/* http, https */
	KIND_TCP,	/* tcp */
	KIND_DNS,	/* dns */
	KIND_FTP,	/* ftp, ftps */
	KIND_SMTP,	/* smtp, smtps */
	KIND_POP3,	/* pop3, pop3s */
	KIND_IMAP,	/* imap, imaps */
	KIND_PING,	/* ping */
	KIND_EXEC,	/* exec "command" */
	KIND_MAX
};

enum balance_algo {
	BALANCE_FASTEST,
	BALANCE_LEASTCONN,
	BALANCE_ROUNDROBIN,
	BALANCE_SOURCE,
	BALANCE_RANDOM,
};

#define STATUS_RANGES_MAX 8
struct status_range {
	int	 lo, hi;
};

/*
 * The options a server line, a farm header or `set` may give. A bit in
 * `given` says the field was written, so defaults resolve server, then farm,
 * then set, then built-in, whatever the order of the file.
 */
struct options {
	uint64_t	 given;
	uint64_t	 interval;	/* milliseconds */
	uint64_t	 timeout;	/* milliseconds */
	uint64_t	 retry_interval;	/* milliseconds */
	uint64_t	 warn;		/* milliseconds; 0 = none */
	unsigned long	 retries;
	unsigned long	 rise;
	unsigned long	 cert_days_warn;	/* degraded below; 0 = none */
	unsigned long	 cert_days_crit;	/* down below; 0 = expired */
	unsigned long	 max_redirects;	/* http follow */
	unsigned long	 count;		/* ping: echoes per check */
	unsigned long	 weight;
	unsigned long	 maxconn;	/* tocsin-lb: 0 = no limit */
	unsigned long	 max_per_host;
	double		 loss;		/* ping: percent lost to fail */
	int		 follow;
	int		 insecure;
	int		 starttls;
	int		 tls;
	char		*method;
	char		*body;		/* regular expression */
	char		*host;		/* Host header */
	char		*user;
	char		*password_file;
	char		*send;
	char		*expect;
	char		*file;
	char		**notify;	/* contact names */
	size_t		 nnotify;
	char		**depends;	/* server ids or names */
	size_t		 ndepends;
	uint64_t	 renotify;	/* milliseconds: page again while the
					   problem lasts; 0 = the contact's */
	char		**vantage;	/* cluster nodes that watch it; none =
					   every node (set cluster only) */
	size_t		 nvantage;
};

/*
 * Bytes in a server id ("farm/name"), at most: the spool, the archives and
 * the control socket put it in file names and lines of their own, which
 * must neither cut nor confuse two ids.
 */
#define SERVER_ID_MAX	200

struct farm_conf;
struct contact_conf;
struct hash;

struct server_conf {
	char		*id;		/* "farm/name" or "name" */
	char		*name;
	size_t		 idx;		/* position in conf->servers */
	struct farm_conf *farm;		/* NULL outside a farm */
	const char	*file;		/* where it was defined */
	int		 line;
	enum check_kind	 kind;
	char		*scheme;	/* as written: "https", "pop3s", ... */
	char		*url;		/* as written; exec: the command */
	char		*host;		/* NULL for exec */
	int		 port;		/* 0 for ping and exec */
	char		*path;		/* http: path and query; dns: name */
	char		*dns_type;	/* dns: A, AAAA, MX, NS, TXT, SOA */
	int		 implicit_tls;	/* https, ftps, smtps, pop3s, imaps */
	char		**argv;		/* exec: NULL-terminated */
	char		*password;	/* of o.password_file, read once by
					   conf_host_check; NULL before */
	struct options	 o;		/* resolved: every field has a value */
	struct status_range expect_status[STATUS_RANGES_MAX];
	int		 nexpect_status;	/* http: 0 = 200-399 */
	struct server_conf **deps;	/* resolved depends-on */
	size_t		 ndeps;
	struct contact_conf **contacts;	/* resolved notify */
	size_t		 ncontacts;
};

struct listen_conf {
	char		*addr;		/* host:port as written */
	int		 http;		/* 1 http, 0 tcp */
	const char	*file;		/* where it was written */
	int		 line;
};

struct farm_conf {
	char		*name;
	const char	*file;
	int		 line;
	enum balance_algo balance;
	uint64_t	 persist;	/* milliseconds; 0 = none */
	uint64_t	 slowstart;	/* milliseconds; 0 = none */
	/* tocsin-lb's timeouts, milliseconds; 0 = its default */
	uint64_t	 connect_timeout;	/* a server's connect */
	uint64_t	 client_timeout;	/* a client's silence */
	uint64_t	 server_timeout;	/* a server's, in http */
	int		 proxy_protocol;	/* to its servers: 0 none, 1, 2 */
	struct listen_conf *listens;
	size_t		 nlistens;
	struct options	 o;		/* defaults for its servers */
	struct server_conf **servers;
	size_t		 nservers;
};

struct contact_conf {
	char		*name;
	const char	*file;
	int		 line;
	char		*email;
	char		*sms;
	int		 quiet_from;	/* minutes after midnight; -1 none */
	int		 quiet_to;
	char		*webhook;	/* URL or NULL */
	int		 min_down;	/* min-state down: only pages about down */
	uint64_t	 renotify;	/* milliseconds; 0 = never */
	uint64_t	 escalate_ms;	/* escalate-after: milliseconds */
	char		*escalate_name;	/* escalate-after's contact, or NULL */
	const struct contact_conf *escalate;	/* it, once validated */
};

struct conf {
	char		*path;
	char		*state_dir;
	char		*control;	/* control socket path */
	char		*pidfile;
	char		*user;
	const char	*user_file;	/* where `set user` was written */
	int		 user_line;
	char		*control_group;	/* may change things; NULL = any */
	const char	*control_group_file;
	int		 control_group_line;
	long		 control_gid;	/* its gid once checked; -1 = none */
	char		*dns_servers;	/* "host:port,..." or NULL */
	char		*rrdcached;	/* "unix:/path" or "host:port" or NULL */
	char		*from;
	char		*smtp_relay;	/* host:port or NULL (Maildir) */
	int		 smtp_starttls;
	char		*smtp_auth_file;
	/* set sms-gateway URL [get|post] [auth basic|bearer] [auth-file F]
	 * [body TEMPLATE]: the HTTP SMS API for contacts whose sms is a
	 * phone number; templates hold {to}, {text} and {key}. */
	char		*sms_gateway;	/* URL template, or NULL */
	int		 sms_get;	/* method get: no body */
	int		 sms_bearer;	/* auth bearer: the file holds a token */
	char		*sms_auth_file;	/* or NULL: no Authorization */
	char		*sms_body;	/* body template; NULL = default */
	const char	*sms_gateway_file;	/* where it was written */
	int		 sms_gateway_line;
	char		*admin;		/* set admin CONTACT: paged when
					   tocsin-probed stops answering */
	const char	*admin_file;
	int		 admin_line;
	const struct contact_conf *admin_contact;	/* once validated */
	unsigned long	 max_concurrent;
	unsigned long	 exec_max;
	unsigned long	 lb_threads;	/* tocsin-lb's loops, 1..64 */
	unsigned long	 flap_low;	/* percent */
	unsigned long	 flap_high;	/* percent */
	int		 no_archives;	/* set archives off */
	int		 public_page;	/* set public-page on: tocsin.cgi
					   shows the customers' page */
	struct options	 defaults;	/* from `set` */
	struct server_conf **servers;	/* in file order */
	size_t		 nservers;
	struct farm_conf **farms;
	size_t		 nfarms;
	struct contact_conf **contacts;
	size_t		 ncontacts;
	char		**files;	/* every file read, owned here */
	size_t		 nfiles;
	struct hash	*byid;		/* id -> struct server_conf */
	char		*web_url;	/* set web-url: links in pages */
	unsigned long	 storm_n;	/* set storm N DURATION: changes */
	uint64_t	 storm_ms;	/* paged alone per window; 0 = off */
	const char	*storm_file;	/* where `set storm` was written; */
	int		 storm_line;	/* NULL: not written (the default) */
	char		*cluster;	/* set cluster: "nats://h:p,..."; NULL =
					   one machine, no NATS */
	char		*cluster_creds;	/* credentials file or NULL */
	char		*cluster_ca;	/* CA file for tls:// URLs, or NULL (the
					   system's) */
	const char	*cluster_file;	/* where `set cluster` was written */
	int		 cluster_line;
	char		*node;		/* this node's name (cluster mode) */
	unsigned long	 quorum;	/* verdicts that must agree; 0 = a
					   majority of the server's nodes */
	uint64_t	 stale_after_ms;	/* set stale-after: a contact's
					   pages queued longer go as one
					   digest; 0 = never */
	const char	*stale_after_file;	/* where it was written; NULL:
						   the default */
	int		 stale_after_line;
	int		 shard;		/* set shard on: servers spread over
					   the live nodes */
	char		*warnings;	/* "FILE:LINE: warning: ...\n" lines
					   that do not refuse it; or NULL */
};

struct conf	*conf_load(const char *path, char **errors);
struct conf	*conf_parse_string(const char *name, const char *text,
		    char **errors);
void		 conf_free(struct conf *);
struct server_conf *conf_find_server(const struct conf *, const char *id);
struct farm_conf *conf_find_farm(const struct conf *, const char *);
int		 conf_depends_on(const struct server_conf *, const char *id);
struct contact_conf *conf_find_contact(const struct conf *,
		    const char *name);
const char	*conf_kind_str(enum check_kind);
const char	*conf_balance_str(enum balance_algo);
void		 conf_summary(const struct conf *, char *, size_t);
const char	*conf_default_path(void);

/* conf_cluster.c */
int		 conf_cluster_valid_node(const char *);

/* conf_host.c */
int		 conf_host_check(struct conf *, char **errors);

#endif
