/*
 * stateread.c: read and check the state file; see stateread.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "stateread.h"
#include "xmalloc.h"

static void	seterr(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static char	*read_file(int, const char *, size_t *, char *, size_t);
static int	check_doc(struct stateread *, const char *, char *, size_t);

static void
seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/* The whole of name (below dirfd) in a malloc'd buffer, or NULL with err
 * and errno: ENOENT, ELOOP for a link, EINVAL for what is no state file. */
static char *
read_file(int dirfd, const char *name, size_t *lenp, char *err,
    size_t errlen)
{
	struct stat	 sb;
	char		*buf;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, saved;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1) {
		saved = errno;
		seterr(err, errlen, "%s: %s", name, saved == ELOOP ?
		    "a link, not followed" : strerror(saved));
		errno = saved;
		return NULL;
	}
	if (fstat(fd, &sb) == -1) {
		saved = errno;
		seterr(err, errlen, "%s: %s", name, strerror(saved));
		close(fd);
		errno = saved;
		return NULL;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > STATE_FILE_MAX) {
		seterr(err, errlen, "%s: %s", name, !S_ISREG(sb.st_mode) ?
		    "not a regular file" : "too large for a state file");
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	buf = xmalloc((size_t)sb.st_size + 1);
	while (len < (size_t)sb.st_size) {
		if ((n = read(fd, buf + len, sb.st_size - len)) == -1) {
			if (errno == EINTR)
				continue;
			saved = errno;
			seterr(err, errlen, "%s: %s", name, strerror(saved));
			free(buf);
			close(fd);
			errno = saved;
			return NULL;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* The header's rules; 0 or -1 with err. */
static int
check_doc(struct stateread *sr, const char *name, char *err, size_t errlen)
{
	json_t	*v;

	if (!json_is_object(sr->root)) {
		seterr(err, errlen, "%s: not a version %d state file (not an "
		    "object)", name, STATE_VERSION);
		return -1;
	}
	v = json_object_get(sr->root, "version");
	if (!json_is_integer(v)) {
		seterr(err, errlen, "%s: not a version %d state file (no "
		    "version)", name, STATE_VERSION);
		return -1;
	}
	if (json_integer_value(v) != STATE_VERSION) {
		seterr(err, errlen, "%s: version %lld: not a version %d state "
		    "file (written by another tocsin?)", name,
		    (long long)json_integer_value(v), STATE_VERSION);
		return -1;
	}
	if (!json_is_object(sr->servers = json_object_get(sr->root,
	    "servers"))) {
		seterr(err, errlen, "%s: not a version %d state file (no "
		    "servers)", name, STATE_VERSION);
		return -1;
	}
	if (json_is_integer(v = json_object_get(sr->root, "written")))
		sr->written = json_integer_value(v);
	if (json_is_integer(v = json_object_get(sr->root, "spooled")) &&
	    json_integer_value(v) > 0)
		sr->spooled = json_integer_value(v);
	return 0;
}

/*
 * Read the state file name below dirfd (AT_FDCWD for a path) into *sr.
 * Returns 0 (free with stateread_free), or -1 with err ("NAME: why") and
 * errno: ENOENT when there is none, ELOOP when it is a link, EINVAL when it
 * is not a version 1 state file.
 */
int
stateread_load(int dirfd, const char *name, struct stateread *sr, char *err,
    size_t errlen)
{
	json_error_t	 je;
	char		*buf;
	size_t		 len;

	memset(sr, 0, sizeof(*sr));
	if ((buf = read_file(dirfd, name, &len, err, errlen)) == NULL)
		return -1;
	sr->root = json_loadb(buf, len, 0, &je);
	free(buf);
	if (sr->root == NULL) {
		seterr(err, errlen, "%s:%d: %s", name, je.line, je.text);
		errno = EINVAL;
		return -1;
	}
	if (check_doc(sr, name, err, errlen) == -1) {
		stateread_free(sr);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

void
stateread_free(struct stateread *sr)
{
	json_decref(sr->root);
	memset(sr, 0, sizeof(*sr));
}
