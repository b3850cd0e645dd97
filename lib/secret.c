/*
 * secret.c: read a secret (a password) from a file. The file must be a
 * regular one, opened without blocking, so a FIFO or a device named as a
 * password-file is refused at once instead of hanging the reader. The
 * secret is the file's first line, at most SECRET_MAX bytes.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secret.h"
#include "util.h"
#include "xmalloc.h"

static int	 read_first_line(const char *, const char *, int, char **,
		    int *, char *, size_t);

/*
 * Read the first line of path (without its "\r\n" or "\n") into *secret,
 * which the caller frees with secret_free. *world_readable says whether
 * users other than the owner and group may read the file, which the caller
 * should warn about. Returns 0, or -1 with err set to "password-file PATH:
 * why".
 */
int
secret_read(const char *path, char **secret, int *world_readable, char *err,
    size_t errlen)
{
	return read_first_line(path, "password-file", 0, secret,
	    world_readable, err, errlen);
}

/*
 * As secret_read, for a file only its owner may read or write (mode 0600
 * or stricter): anything else is refused, saying so and how to fix it.
 * label names the file in err ("auth-file").
 */
int
secret_read_private(const char *path, const char *label, char **secret,
    char *err, size_t errlen)
{
	int wr;

	return read_first_line(path, label, 1, secret, &wr, err, errlen);
}

/* The one reader behind both; private: refuse group and other bits. */
static int
read_first_line(const char *path, const char *label, int private,
    char **secret, int *world_readable, char *err, size_t errlen)
{
	struct stat	 st;
	char		 buf[SECRET_MAX + 2];
	const char	*why;
	size_t		 n = 0;
	ssize_t		 r;
	int		 fd;

	if ((fd = open_regular(path, &st, &why)) == -1) {
		snprintf(err, errlen, "%s %s: %s", label, path, why);
		return -1;
	}
	if (private && (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s %s is mode %04o: it must be 0600, "
		    "readable by its owner only (chmod 600 %s)", label, path,
		    (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return -1;
	}
	while (n < sizeof(buf) - 1 && memchr(buf, '\n', n) == NULL) {
		if ((r = read(fd, buf + n, sizeof(buf) - 1 - n)) == -1 &&
		    errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "%s %s: %s", label, path,
			    strerror(errno));
			close(fd);
			explicit_bzero(buf, sizeof(buf));
			return -1;
		}
		if (r == 0)
			break;
		n += r;
	}
	close(fd);
	buf[n] = '\0';
	n = strcspn(buf, "\r\n");
	if (n > SECRET_MAX) {
		snprintf(err, errlen, "%s %s: first line longer than %d "
		    "bytes", label, path, SECRET_MAX);
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	buf[n] = '\0';
	*secret = xstrdup(buf);
	*world_readable = (st.st_mode & S_IROTH) != 0;
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/* Wipe and free a secret; NULL is fine. */
void
secret_free(char *secret)
{
	if (secret == NULL)
		return;
	explicit_bzero(secret, strlen(secret));
	free(secret);
}
