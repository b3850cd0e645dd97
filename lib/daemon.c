/*
 * daemon.c: start-up shared by the daemons: -c -t -f -d -V, loading and
 * checking the config, a locked pidfile, detaching, and dropping root.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "xmalloc.h"

/* Parse the common flags; prints usage and exits on a bad one. */
void
daemon_getopt(int argc, char **argv, const char *progname,
    struct daemon_opts *o)
{
	int ch;

	memset(o, 0, sizeof(*o));
	o->conf_path = conf_default_path();
	while ((ch = getopt(argc, argv, "c:dftV")) != -1) {
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
		case 't':
			o->test = 1;
			break;
		case 'V':
			printf("%s %s\n", progname, PACKAGE_VERSION);
			exit(0);
		default:
			fprintf(stderr, "usage: %s [-dftV] [-c file]\n",
			    progname);
			exit(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: %s [-dftV] [-c file]\n", progname);
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
 * Create and lock the pidfile. Returns its fd (kept open to hold the lock),
 * or -1 with errno set; EWOULDBLOCK means another instance runs.
 */
int
pidfile_open(const char *path)
{
	char	 buf[32];
	int	 fd, n;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || write(fd, buf, n) != n) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

void
pidfile_remove(const char *path, int fd)
{
	if (fd == -1)
		return;
	unlink(path);
	close(fd);
}

void
daemon_detach(void)
{
	if (daemon(0, 0) == -1)
		fatal("daemon");
}

/*
 * Become the named user (groups included) if running as root; a no-op
 * otherwise. Returns 0, or -1 after logging.
 */
int
daemon_drop_privileges(const char *user)
{
	struct passwd *pw;

	if (user == NULL || geteuid() != 0)
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_warnx("unknown user '%s'", user);
		return -1;
	}
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		log_warn("cannot become user '%s'", user);
		return -1;
	}
	return 0;
}

/* mkdir -p; 0 or -1 with errno (ENOTDIR if path exists but is no folder). */
int
mkdir_p(const char *path, int mode)
{
	struct stat	 st;
	char		*p, *s;
	int		 r = 0;

	if (*path == '\0') {
		errno = ENOENT;
		return -1;
	}
	s = xstrdup(path);
	for (p = s + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(s, mode) == -1 && errno != EEXIST) {
			r = -1;
			break;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	free(s);
	if (r == 0 && stat(path, &st) == -1)
		r = -1;
	else if (r == 0 && !S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		r = -1;
	}
	return r;
}

/*
 * Before dropping root: give the state folder and what is in it (one level
 * below too: spool/, rrd/ and farm folders) to user, so the daemon can
 * still write there. A no-op when not root or no user is set. 0 or -1.
 */
int
daemon_own_dir(const char *dir, const char *user)
{
	struct passwd	*pw;
	char		 path[4096], sub[8192];
	DIR		*d, *d2;
	struct dirent	*de, *de2;

	if (user == NULL || geteuid() != 0)
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_warnx("unknown user '%s'", user);
		return -1;
	}
	if (chown(dir, pw->pw_uid, pw->pw_gid) == -1)
		return -1;
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lchown(path, pw->pw_uid, pw->pw_gid) == -1)
			log_warn("chown %s", path);
		if ((d2 = opendir(path)) == NULL)
			continue;
		while ((de2 = readdir(d2)) != NULL) {
			if (de2->d_name[0] == '.')
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de2->d_name);
			if (lchown(sub, pw->pw_uid, pw->pw_gid) == -1)
				log_warn("chown %s", sub);
		}
		closedir(d2);
	}
	closedir(d);
	return 0;
}
