/*
 * fsutil.c: durable file writes and folder tools. Everything works on a
 * folder's descriptor and never follows a link in the last component, so
 * a link planted in a state folder leads nowhere.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "paths.h"
#include "xmalloc.h"

static int	write_all(int, const char *, size_t);
static int	place(int, const char *, const char *, int);

static const struct fsutil_sys real_sys = { fsync, renameat, linkat };
static struct fsutil_sys sys = { fsync, renameat, linkat };

/* Tests only: make the sync and rename calls through other functions. */
void
fsutil_set_sys(const struct fsutil_sys *s)
{
	sys = s != NULL ? *s : real_sys;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* Give the temporary its name: replace what is there, or (NOREPLACE)
 * link it and fail with EEXIST when the name is taken. */
static int
place(int dirfd, const char *tmp, const char *name, int flags)
{
	if (!(flags & FSUTIL_NOREPLACE))
		return sys.renameat(dirfd, tmp, dirfd, name);
	if (sys.linkat(dirfd, tmp, dirfd, name, 0) == -1)
		return -1;
	if (unlinkat(dirfd, tmp, 0) == -1)
		log_warn("cannot remove %s%s", PATH_TMP_PREFIX, name);
	return 0;
}

/*
 * Write name in the folder dirfd so that, after a crash at any moment,
 * the name holds either its old content or all of data, never part:
 * ".tmp.NAME" (any file or link of that name is removed first, and the
 * new one is made with O_EXCL), write, fsync, rename (or link, with
 * FSUTIL_NOREPLACE) to NAME, fsync of the folder. Once it returns 0 the
 * file survives a power cut. Returns -1 with errno set; the temporary is
 * then gone.
 */
int
fsutil_write_atomic(int dirfd, const char *name, const void *data,
    size_t len, int mode, int flags)
{
	char	 tmp[256];
	int	 fd, saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s%s", PATH_TMP_PREFIX,
	    name) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (unlinkat(dirfd, tmp, 0) == -1 && errno != ENOENT)
		return -1;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode);
	if (fd == -1)
		return -1;
	if (write_all(fd, data, len) == -1 || sys.fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (place(dirfd, tmp, name, flags) == -1)
		goto fail;
	return sys.fsync(dirfd);
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	errno = saved;
	return -1;
}

/*
 * Write n files in the folder dirfd as fsutil_write_atomic writes one,
 * with one round of syncs for all: every temporary written, one syncfs of
 * the filesystem (an fsync of each temporary where syncfs fails), every
 * rename, one fsync of the folder. So a burst of small records costs two
 * syncs, not two each. ok[i] says which file is in place and durable.
 * Returns 0 when all are, else -1 with errno of the last failure.
 */
int
fsutil_write_batch(int dirfd, size_t n, const char *const *names,
    const char *const *data, int mode, int *ok)
{
	char	 tmp[256];
	int	*fds, bad = 0, saved = 0, synced;
	size_t	 i;

	fds = xcalloc(n ? n : 1, sizeof(*fds));
	for (i = 0; i < n; i++) {
		ok[i] = 0;
		fds[i] = -1;
		if ((size_t)snprintf(tmp, sizeof(tmp), "%s%s", PATH_TMP_PREFIX,
		    names[i]) >= sizeof(tmp)) {
			saved = ENAMETOOLONG;
			continue;
		}
		if ((unlinkat(dirfd, tmp, 0) == -1 && errno != ENOENT) ||
		    (fds[i] = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, mode)) == -1 ||
		    write_all(fds[i], data[i], strlen(data[i])) == -1) {
			saved = errno;
			if (fds[i] != -1) {
				close(fds[i]);
				fds[i] = -1;
				unlinkat(dirfd, tmp, 0);
			}
			continue;
		}
		ok[i] = 1;
	}
	synced = n > 0 && syncfs(dirfd) == 0;
	for (i = 0; i < n; i++) {
		if (fds[i] == -1)
			continue;
		snprintf(tmp, sizeof(tmp), "%s%s", PATH_TMP_PREFIX, names[i]);
		if (!synced && sys.fsync(fds[i]) == -1)
			ok[i] = 0;
		if (close(fds[i]) == -1)
			ok[i] = 0;
		if (!ok[i] || sys.renameat(dirfd, tmp, dirfd, names[i]) == -1) {
			saved = errno;
			ok[i] = 0;
			unlinkat(dirfd, tmp, 0);
		}
	}
	free(fds);
	if (n > 0 && sys.fsync(dirfd) == -1) {
		saved = errno;
		for (i = 0; i < n; i++)
			ok[i] = 0;
	}
	for (i = 0; i < n; i++)
		bad |= !ok[i];
	if (bad)
		errno = saved;
	return bad ? -1 : 0;
}

/* mkdir -p; 0 or -1 with errno (ENOTDIR if path exists but is no folder). */
int
fsutil_mkdir_p(const char *path, int mode)
{
	struct stat	 st;
	char		*p, *s, c;
	int		 r = 0;

	if (*path == '\0') {
		errno = ENOENT;
		return -1;
	}
	s = xstrdup(path);
	for (p = s + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
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
 * Open the folder name below dirfd, making it with mode when missing. A
 * link in its place is refused (ELOOP or ENOTDIR), never followed.
 * Returns the folder's descriptor or -1 with errno.
 */
int
fsutil_open_dir(int dirfd, const char *name, int mode)
{
	int	 fd;

	if (mkdirat(dirfd, name, mode) == -1 && errno != EEXIST)
		return -1;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	return fd;
}

/*
 * Remove the temporaries a crash left in the folder dirfd: ".tmp.*" (ours)
 * and "*.tmp" (older versions' state.json.tmp). Only files and links are
 * removed, never what they point to. Logs each, naming the folder as
 * what; returns how many were removed.
 */
int
fsutil_clean_tmp(int dirfd, const char *what)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 len;
	int		 fd, n = 0;

	if ((fd = dup(dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		log_warn("cannot list %s", what);
		return 0;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (strncmp(de->d_name, PATH_TMP_PREFIX,
		    strlen(PATH_TMP_PREFIX)) != 0 &&
		    (len <= 4 || strcmp(de->d_name + len - 4, ".tmp") != 0))
			continue;
		if (unlinkat(dirfd, de->d_name, 0) == -1) {
			if (errno != EISDIR && errno != EPERM)
				log_warn("cannot remove %s/%s", what,
				    de->d_name);
			continue;
		}
		log_info("removed %s/%s, a write cut short", what, de->d_name);
		n++;
	}
	closedir(d);
	return n;
}
