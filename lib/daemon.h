/*
 * daemon.h: what every tocsin daemon does at start: the common flags,
 * loading the config, the pidfile, detaching until ready, dropping
 * privileges.
 */
#ifndef TOCSIN_DAEMON_H
#define TOCSIN_DAEMON_H

struct conf;
struct event_base;
struct daemon_signals;

/* SIGHUP: reload the config (the daemon's own way). */
typedef void	 daemon_reload_fn(void *arg);

struct daemon_opts {
	const char	*conf_path;
	int		 test;		/* -t */
	int		 foreground;	/* -f */
	int		 debug;		/* -d */
};

/* What daemon_start keeps for daemon_settle and daemon_stop. */
struct daemon_run {
	char		*pidpath;
	int		 pidfd;
	int		 lockfd;	/* STATE_DIR/KIND.lock, held */
	int		 statefd;	/* the state folder, until settled */
	int		 readyfd;	/* to the waiting parent; -1 in the
					   foreground and once ready */
};

void		 daemon_getopt(int, char **, const char *progname,
		    struct daemon_opts *);
struct conf	*daemon_load_conf(const char *path);
int		 daemon_check_conf(const char *path);
int		 pidfile_open(const char *path);
void		 pidfile_remove(const char *path, int fd);
int		 daemon_drop_privileges(const char *user);
int		 daemon_state_dir(const char *path, const char *user);
int		 daemon_own_dir(int dirfd, const char *dir, const char *user);
void		 daemon_start(const char *progname, const struct daemon_opts *,
		    const struct conf *, char *pidpath, struct daemon_run *);
void		 daemon_settle(struct daemon_run *, const struct conf *);
void		 daemon_ready(struct daemon_run *);
void		 daemon_stop(struct daemon_run *);
struct daemon_signals *daemon_signals_new(struct event_base *,
		    daemon_reload_fn *, void *arg);
void		 daemon_signals_free(struct daemon_signals *);
void		 daemon_reload_failed(char *errs);

#endif
