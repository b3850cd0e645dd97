/*
 * maildir.c: pages written to a local Maildir (STATE_DIR/maildir) when no
 * SMTP relay is configured. A page is written to tmp/, fsynced, renamed
 * into new/ and new/ fsynced. Its name comes from the delivery, so a
 * resend after a crash lands on the same file instead of a second one.
 * Blocking: called from a worker thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

#include "pager.h"

/* Make STATE_DIR/maildir/{tmp,new,cur}; path gets the Maildir's path.
 * Returns 0 or -1 with errno set. */
int
maildir_open(const char *state_dir, char *path, size_t len)
{
	char	 sub[1100];
	int	 i;
	static const char *subs[] = { "tmp", "new", "cur" };

	if ((size_t)snprintf(path, len, "%s/maildir", state_dir) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (i = 0; i < 3; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", path, subs[i]);
		if (fsutil_mkdir_p(sub, 0750) == -1)
			return -1;
	}
	return 0;
}

static int
write_all(int fd, const char *s, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, s, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += n;
		len -= n;
	}
	return 0;
}

/*
 * Deliver msg as dir/new/NAME. Returns 0, or -1 with err set (a full disk
 * is worth a retry).
 */
int
maildir_deliver(const char *dir, const char *name, const char *msg,
    char *err, size_t errlen)
{
	char	 tmp[1200], dst[1200], newdir[1100];
	int	 fd, dfd;

	snprintf(tmp, sizeof(tmp), "%s/tmp/%s", dir, name);
	snprintf(dst, sizeof(dst), "%s/new/%s", dir, name);
	snprintf(newdir, sizeof(newdir), "%s/new", dir);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0640)) == -1) {
		snprintf(err, errlen, "maildir %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write_all(fd, msg, strlen(msg)) == -1 || fsync(fd) == -1) {
		snprintf(err, errlen, "maildir %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, dst) == -1) {
		snprintf(err, errlen, "maildir %s: %s", dst, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if ((dfd = open(newdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) == -1) {
		snprintf(err, errlen, "maildir %s: %s", newdir,
		    strerror(errno));
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	close(dfd);
	return 0;
}
