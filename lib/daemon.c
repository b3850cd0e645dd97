/*
 * daemon.c: start-up shared by the daemons: -c -t -f -d -V, loading and
 * checking the config, a locked pidfile, detaching (the parent waits until
 * the daemon is ready, so a failed start exits 1 with its reason), and
 * dropping root.
 */
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "conf.h"
#include "daemon.h"
#include "fsutil.h"
#include "log.h"
#include "xmalloc.h"

/* The common flags' usage, to f. */
static void
daemon_usage(FILE *f, const char *progname)
{
	fprintf(f, "usage: %s [-dftV] [-c file]\n"
	    "  -c, --config FILE   the config (default %s)\n"
	    "  -d, --debug         log debug lines\n"
	    "  -f, --foreground    stay in the foreground, log to stderr\n"
	    "  -t, --test          check the config and exit\n"
	    "  -V, --version       print the version and exit\n"
	    "  -h, --help          this help\n", progname,
	    conf_default_path());
}

/* Parse the common flags; prints usage and exits on a bad one. */
void
daemon_getopt(int argc, char **argv, const char *progname,
    struct daemon_opts *o)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "debug",	no_argument,		NULL, 'd' },
		{ "foreground",	no_argument,		NULL, 'f' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "test",	no_argument,		NULL, 't' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->conf_path = conf_default_path();
	while ((ch = getopt_long(argc, argv, "c:dfhtV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->conf_path = optarg;
			break;
		case 'd':
			o->debug = 1;
			break;
		case 'f':
			o->foreground = 1;
			break;
		case 'h':
			daemon_usage(stdout, progname);
			exit(0);
		case 't':
			o->test = 1;
			break;
		case 'V':
			printf("%s %s\n", progname, PACKAGE_VERSION);
			exit(0);
		default:
			daemon_usage(stderr, progname);
			exit(2);
		}
	}
	if (optind != argc) {
		daemon_usage(stderr, progname);
		exit(2);
	}
}

/*
 * Load the config and check it against this machine (reading its
 * secrets); print the warnings, and on error every FILE:LINE message and
 * return NULL.
 */
struct conf *
daemon_load_conf(const char *path)
{
	struct conf	*c;
	char		*errs;

	if ((c = conf_load(path, &errs)) != NULL &&
	    conf_host_check(c, &errs) == -1) {
		conf_free(c);
		c = NULL;
	}
	if (c == NULL) {
		fputs(errs, stderr);
		free(errs);
	} else if (c->warnings != NULL)
		fputs(c->warnings, stderr);
	return c;
}

/* -t: check the config, print a one-line summary; returns the exit code. */
int
daemon_check_conf(const char *path)
{
	struct conf	*c;
	char		 sum[128];

	if ((c = daemon_load_conf(path)) == NULL)
		return 1;
	conf_summary(c, sum, sizeof(sum));
	printf("config ok: %s\n", sum);
	conf_free(c);
	return 0;
}

/*
 * Open name below dirfd for the pidfile: a regular file with one link,
 * made if missing. A link, a hard-linked file or anything else in its
 * place is removed (it is not ours) and a new file made, so root never
 * writes through what another user planted. -1 with errno.
 */
static int
pidfile_openat(int dirfd, const char *name)
{
	struct stat	 sb;
	int		 fd, tries;

	for (tries = 0; tries < 2; tries++) {
		fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW |
		    O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0644);
		if (fd != -1 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    sb.st_nlink == 1)
			return fd;
		if (fd == -1 && errno != ELOOP && errno != ENXIO &&
		    errno != EISDIR)
			return -1;
		if (fd != -1)
			close(fd);
		log_warnx("pidfile %s is not a plain file of ours; replacing "
		    "it", name);
		if (unlinkat(dirfd, name, 0) == -1)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

/*
 * Lock fd (a pidfile just opened) for good and write our pid in it.
 * Returns fd, or -1 with errno set after closing it; EWOULDBLOCK means
 * another process holds it.
 */
static int
pidfile_take(int fd)
{
	char	 buf[32];
	int	 n, saved;

	if (flock(fd, LOCK_EX | LOCK_NB) == -1)
		goto fail;
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || write(fd, buf, n) != n)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/*
 * Create and lock the pidfile, never following a link at its name.
 * Returns its fd (kept open to hold the lock), or -1 with errno set;
 * EWOULDBLOCK means another instance runs.
 */
int
pidfile_open(const char *path)
{
	char	*dir, *slash;
	int	 dfd, fd, saved;

	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) == NULL)
		strlcpy(dir, ".", strlen(dir) + 1);
	else
		*(slash == dir ? slash + 1 : slash) = '\0';
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (dfd == -1)
		return -1;
	slash = strrchr(path, '/');
	fd = pidfile_openat(dfd, slash != NULL ? slash + 1 : path);
	saved = errno;
	close(dfd);
	if (fd == -1) {
		errno = saved;
		return -1;
	}
	return pidfile_take(fd);
}

void
pidfile_remove(const char *path, int fd)
{
	if (fd == -1)
		return;
	unlink(path);
	close(fd);
}

/*
 * The pid written in the pidfile (or lock file) name below dirfd
 * (AT_FDCWD: name is a path), never following a link: the holder of its
 * lock, for the message that refuses a second instance. 0 when it cannot
 * be read (the holder may not have written it yet).
 */
static long
pidfile_owner(int dirfd, const char *name)
{
	char	 buf[32];
	ssize_t	 n;
	int	 fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/*
 * Detach: fork, the child in a session of its own in /. The parent never
 * returns: it waits for the child's word through a pipe and exits 0 when
 * the child is ready (daemon_ready), or 1 when the child ended first (it
 * said why on stderr, which it keeps until then; the parent adds a
 * signal that killed it). The child gets the pipe's end to write.
 */
static int
daemon_detach(const char *progname)
{
	pid_t	 pid;
	ssize_t	 n;
	char	 c;
	int	 p[2], st;

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe");
	fflush(NULL);
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		close(p[0]);
		if (setsid() == -1 || chdir("/") == -1)
			fatal("detach");
		return p[1];
	}
	close(p[1]);
	while ((n = read(p[0], &c, 1)) == -1 && errno == EINTR)
		;
	if (n == 1)
		_exit(0);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (WIFSIGNALED(st))
		fprintf(stderr, "%s: killed by signal %d while starting\n",
		    progname, WTERMSIG(st));
	_exit(1);
}

/*
 * The passwd entry of the user a root daemon becomes, or NULL: when not
 * root or no user is set (nothing to do), or after logging an unknown user.
 */
static struct passwd *
root_as_user(const char *user)
{
	struct passwd *pw;

	if (user == NULL || geteuid() != 0)
		return NULL;
	if ((pw = getpwnam(user)) == NULL)
		log_warnx("unknown user '%s'", user);
	return pw;
}

/*
 * Become the named user, with its primary and supplementary groups (the
 * groups check_state_dir counts: a group-readable rrdcached socket or
 * plugin stays reachable), if running as root; a no-op otherwise.
 * Returns 0, or -1 after logging.
 */
int
daemon_drop_privileges(const char *user)
{
	struct passwd *pw;

	if ((pw = root_as_user(user)) == NULL)
		return user == NULL || geteuid() != 0 ? 0 : -1;
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		log_warn("cannot become user '%s'", user);
		return -1;
	}
	return 0;
}

/* The daemon user: uid, gid and groups, for the checks below. */
struct duser {
	const char	*name;
	uid_t		 uid;
	gid_t		 gid;
	gid_t		 groups[64];
	int		 ngroups;
};

static int
duser_get(const char *name, struct duser *u)
{
	struct passwd	*pw;

	if ((pw = getpwnam(name)) == NULL) {
		log_warnx("unknown user '%s'", name);
		return -1;
	}
	u->name = name;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	u->ngroups = 64;
	if (getgrouplist(name, pw->pw_gid, u->groups, &u->ngroups) == -1) {
		u->groups[0] = pw->pw_gid;
		u->ngroups = 1;
	}
	return 0;
}

/* Can the user write in (add, remove, rename entries of) folder sb? */
static int
duser_writes(const struct duser *u, const struct stat *sb)
{
	int	 i;

	if (sb->st_uid == u->uid)
		return 1;	/* owner: can chmod it writable */
	if (sb->st_mode & S_IWOTH)
		return 1;
	if (sb->st_mode & S_IWGRP)
		for (i = 0; i < u->ngroups; i++)
			if (u->groups[i] == sb->st_gid)
				return 1;
	return 0;
}

/*
 * Could the user swap child (whose stat is csb) in the folder parent?
 * Yes when the user owns parent, or may write in it and either it is not
 * sticky or the user owns child (the sticky bit spares only others'
 * entries). Says why in why.
 */
static int
swappable(const struct duser *u, const char *parent, const struct stat *psb,
    const char *child, const struct stat *csb, char *why, size_t len)
{
	if (psb->st_uid == u->uid) {
		snprintf(why, len, "%s belongs to %s, who could replace %s",
		    parent, u->name, child);
		return 1;
	}
	if (duser_writes(u, psb) && (!(psb->st_mode & S_ISVTX) ||
	    csb->st_uid == u->uid)) {
		snprintf(why, len, "%s is writable by %s, who could replace "
		    "%s", parent, u->name, child);
		return 1;
	}
	return 0;
}

/* Check the folder itself and every folder above it. 0 or -1 (logged). */
static int
check_state_dir(const char *real, const struct stat *sb,
    const struct duser *u)
{
	char		 child[PATH_MAX], parent[PATH_MAX], why[2 * PATH_MAX + 64];
	struct stat	 csb, psb;
	char		*slash;

	if (sb->st_uid != 0 && sb->st_uid != u->uid) {
		log_warnx("state folder %s belongs to uid %ld, neither root "
		    "nor %s: refused", real, (long)sb->st_uid, u->name);
		return -1;
	}
	if (sb->st_mode & S_IWOTH) {
		log_warnx("state folder %s is writable by anyone: refused "
		    "(chmod o-w)", real);
		return -1;
	}
	strlcpy(child, real, sizeof(child));
	csb = *sb;
	while (strcmp(child, "/") != 0) {
		strlcpy(parent, child, sizeof(parent));
		slash = strrchr(parent, '/');
		*(slash == parent ? slash + 1 : slash) = '\0';
		if (lstat(parent, &psb) == -1) {
			log_warn("state folder: %s", parent);
			return -1;
		}
		if (swappable(u, parent, &psb, child, &csb, why,
		    sizeof(why))) {
			log_warnx("state folder %s refused: %s (running as "
			    "root for %s, it would follow what %s put there)",
			    real, why, u->name, u->name);
			return -1;
		}
		strlcpy(child, parent, sizeof(child));
		csb = psb;
	}
	return 0;
}

/*
 * Make (as needed), check and open the state folder, before anything is
 * written there. Run as root for `user`, the folder must be one that user
 * could not have swapped for another: owned by root or user, not
 * writable by anyone, and no folder above it owned or writable by user
 * (sticky folders excepted, for what user does not own). Returns the
 * folder's descriptor, or -1 after logging why.
 */
int
daemon_state_dir(const char *path, const char *user)
{
	struct duser	 u;
	struct stat	 sb, fsb;
	char		 real[PATH_MAX];
	int		 fd;

	if (fsutil_mkdir_p(path, 0750) == -1) {
		log_warn("cannot make state folder %s", path);
		return -1;
	}
	if (realpath(path, real) == NULL) {
		log_warn("state folder %s", path);
		return -1;
	}
	if (lstat(real, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		log_warnx("state folder %s is not a folder", real);
		return -1;
	}
	if (user != NULL && geteuid() == 0 && (duser_get(user, &u) == -1 ||
	    check_state_dir(real, &sb, &u) == -1))
		return -1;
	fd = open(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &fsb) == -1 || fsb.st_dev != sb.st_dev ||
	    fsb.st_ino != sb.st_ino) {
		log_warnx("state folder %s changed while it was checked", real);
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * Give what is in the folder dirfd (named name, for the log) to uid:gid,
 * depth folders down, through descriptors only: a link is neither changed
 * nor followed, a file with more than one link (it may be another's) is
 * left alone.
 */
static void
own_tree(int dirfd, const char *name, uid_t uid, gid_t gid, int depth)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	int		 fd, dfd;

	if ((dfd = dup(dirfd)) == -1 || (d = fdopendir(dfd)) == NULL) {
		if (dfd != -1)
			close(dfd);
		log_warn("cannot list %s", name);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if (S_ISLNK(sb.st_mode)) {
			log_warnx("%s/%s is a link: not followed, not given "
			    "to the daemon user", name, de->d_name);
			continue;
		}
		if (S_ISREG(sb.st_mode) || S_ISDIR(sb.st_mode)) {
			fd = openat(dirfd, de->d_name, O_RDONLY | O_NOFOLLOW |
			    O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
			if (fd == -1 || fstat(fd, &sb) == -1) {
				log_warn("%s/%s", name, de->d_name);
				if (fd != -1)
					close(fd);
				continue;
			}
			if (S_ISREG(sb.st_mode) && sb.st_nlink != 1)
				log_warnx("%s/%s has %ld links: left alone",
				    name, de->d_name, (long)sb.st_nlink);
			else if (fchown(fd, uid, gid) == -1)
				log_warn("chown %s/%s", name, de->d_name);
			else if (S_ISDIR(sb.st_mode) && depth > 0) {
				char sub[PATH_MAX];

				snprintf(sub, sizeof(sub), "%s/%s", name,
				    de->d_name);
				own_tree(fd, sub, uid, gid, depth - 1);
			}
			close(fd);
		} else if (fchownat(dirfd, de->d_name, uid, gid,
		    AT_SYMLINK_NOFOLLOW) == -1)
			log_warn("chown %s/%s", name, de->d_name);
	}
	closedir(d);
}

/*
 * Before dropping root: give the state folder dirfd (named dir) and what
 * is in it (spool/, rrd/ and farm folders, three levels down) to user,
 * so the daemon can still write there. A no-op when not root or no user
 * is set. 0 or -1.
 */
int
daemon_own_dir(int dirfd, const char *dir, const char *user)
{
	struct passwd	*pw;

	if ((pw = root_as_user(user)) == NULL)
		return user == NULL || geteuid() != 0 ? 0 : -1;
	if (fchown(dirfd, pw->pw_uid, pw->pw_gid) == -1) {
		log_warn("chown %s", dir);
		return -1;
	}
	own_tree(dirfd, dir, pw->pw_uid, pw->pw_gid, 3);
	return 0;
}

/* Thousands of checks or sessions need as many descriptors: take the hard
 * limit. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit NOFILE");
	}
}

/*
 * Lock the state folder dirfd (named dir) for progname through the file
 * KIND.lock in it (KIND: progname less "tocsin-"), which holds our pid:
 * two daemons of a kind on one folder would share its spool, state file
 * and queue, whatever pidfiles and sockets their configs name. The file
 * is never removed (one unlinked while a second daemon opened it would
 * let a third lock a new one). Returns its fd, kept for the daemon's life;
 * exits when another daemon holds it.
 */
static int
state_lock(const char *progname, int dirfd, const char *dir)
{
	char	 name[64];
	int	 fd;

	if (strncmp(progname, "tocsin-", 7) == 0)
		progname += 7;
	snprintf(name, sizeof(name), "%s.lock", progname);
	if ((fd = pidfile_openat(dirfd, name)) == -1 ||
	    (fd = pidfile_take(fd)) == -1) {
		if (errno == EWOULDBLOCK)
			fatalx("already running on the state folder %s (pid "
			    "%ld holds %s/%s)", dir, pidfile_owner(dirfd, name),
			    dir, name);
		fatal("cannot lock the state folder: %s/%s", dir, name);
	}
	return fd;
}

/* The daemon between its pidfile and daemon_ready, for unstarted(). */
static struct daemon_run *starting;

/* At exit before daemon_ready (a failed start): the pidfile we hold is
 * removed, so that it names no pid that is gone. */
static void
unstarted(void)
{
	if (starting != NULL && starting->pidfd != -1)
		unlink(starting->pidpath);
}

/*
 * What every daemon does once its config is loaded, in this order:
 * logging as progname, detached unless -f (the parent waits for
 * daemon_ready; until then warnings go to stderr too), the state folder
 * made and checked before anything is written there (daemon_state_dir;
 * kept open in run->statefd for daemon_own_dir) and locked for this kind
 * of daemon (state_lock: one a folder), the pidfile pidpath
 * (taken) locked (and removed should the start fail), SIGPIPE ignored,
 * the descriptor limit raised to the hard one, random() seeded. Exits
 * with a message when one of them cannot be done.
 */
void
daemon_start(const char *progname, const struct daemon_opts *o,
    const struct conf *conf, char *pidpath, struct daemon_run *run)
{
	log_init(progname, o->foreground, o->debug);
	run->readyfd = o->foreground ? -1 : daemon_detach(progname);
	if ((run->statefd = daemon_state_dir(conf->state_dir,
	    conf->user)) == -1)
		fatalx("cannot use state folder %s", conf->state_dir);
	run->lockfd = state_lock(progname, run->statefd, conf->state_dir);
	run->pidpath = pidpath;
	if ((run->pidfd = pidfile_open(pidpath)) == -1) {
		if (errno == EWOULDBLOCK)
			fatalx("already running (pid %ld holds the pidfile "
			    "%s)", pidfile_owner(AT_FDCWD, pidpath), pidpath);
		fatal("pidfile %s", pidpath);
	}
	starting = run;
	atexit(unstarted);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	srandom(time(NULL) ^ getpid());
}

/*
 * Call once everything that can fail at start has succeeded (the control
 * socket is bound): a detached daemon lets go of the terminal (standard
 * input, output and error on /dev/null, logs to syslog alone), then tells
 * its waiting parent, which exits 0. A no-op in the foreground.
 */
void
daemon_ready(struct daemon_run *run)
{
	int	 fd;

	starting = NULL;
	if (run->readyfd == -1)
		return;
	if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	log_detached();
	if (write(run->readyfd, "", 1) != 1)
		log_warn("cannot tell the starting shell that we run");
	close(run->readyfd);
	run->readyfd = -1;
}

/*
 * Before dropping root: the state folder given to the config's user
 * (daemon_own_dir) and closed, then privileges dropped. Exits with a
 * message when one of them cannot be done.
 */
void
daemon_settle(struct daemon_run *run, const struct conf *conf)
{
	if (daemon_own_dir(run->statefd, conf->state_dir, conf->user) == -1)
		fatalx("cannot give %s to user %s", conf->state_dir,
		    conf->user);
	close(run->statefd);
	run->statefd = -1;
	if (daemon_drop_privileges(conf->user) == -1)
		fatalx("cannot drop privileges");
}

/* At exit: the pidfile removed and unlocked. */
void
daemon_stop(struct daemon_run *run)
{
	starting = NULL;
	pidfile_remove(run->pidpath, run->pidfd);
	close(run->lockfd);
	free(run->pidpath);
	run->pidpath = NULL;
}
