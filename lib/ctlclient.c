/*
 * ctlclient.c: the client side of probed's control socket. Blocking I/O
 * bounded by poll() deadlines (tocsinctl and the CGI wait for one answer);
 * the parse helpers take lines from any reader, so tocsin-lb can feed them
 * from its own loop.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ctlclient.h"
#include "stateread.h"
#include "util.h"
#include "xmalloc.h"

#define READ_CHUNK	65536	/* bytes asked of the socket at a time */

static int	 wait_fd(int, short, int64_t);
static void	 seterr(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	 get_str(json_t *, const char *, char *, size_t);
static int64_t	 get_int(json_t *, const char *);
static int	 get_flag(json_t *, const char *);
static int64_t	 downtime_running(json_t *);

/*
 * Wait until fd is ready for events, or the deadline (monotonic ms; -1 =
 * none) passes. Returns 0 when ready, -1 with errno (ETIMEDOUT, or poll's).
 */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd	 pfd;
	int64_t		 left;
	int		 n;

	for (;;) {
		left = -1;
		if (deadline >= 0) {
			left = deadline - mono_us() / 1000;
			if (left < 0)
				left = 0;
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n > 0)
			return 0;	/* also POLLHUP/POLLERR: the I/O says */
		if (n == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
}

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Connect to probed's socket at path. Returns a blocking, close-on-exec
 * descriptor, or -1 with errno: ENOENT (no socket: probed never ran or
 * cleaned up), ECONNREFUSED (a stale socket: probed is gone), EACCES,
 * ENAMETOOLONG, or ETIMEDOUT (probed's backlog stayed full for
 * CTL_TIMEOUT_MS: it is alive but not accepting).
 */
int
ctlclient_connect(const char *path)
{
	return ctlclient_connect_timeout(path, CTL_TIMEOUT_MS);
}

/*
 * ctlclient_connect, waiting timeout_ms (> 0) at most for room in a
 * full backlog (tocsin.cgi asks tocsin-lb 1 s at most).
 */
int
ctlclient_connect_timeout(const char *path, int timeout_ms)
{
	struct sockaddr_un	 sun;
	struct timeval		 tv;
	int			 fd, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	/* On Linux a connect to a full backlog waits SO_SNDTIMEO at most;
	 * the option is the send timeout too, which send does not use
	 * (ctlclient_send polls, MSG_DONTWAIT). */
	ms_to_timeval(timeout_ms, &tv);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		saved = errno;
		if (saved == EAGAIN || saved == EINPROGRESS)
			saved = ETIMEDOUT;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/*
 * Send one request line (without its "\n", which this adds). Returns 0,
 * or -1 with errno: EINVAL (the line holds a newline), EMSGSIZE (longer
 * than CTL_REQUEST_MAX), ETIMEDOUT after timeout_ms (-1 = wait for ever),
 * EPIPE (probed closed the connection), or send's.
 */
int
ctlclient_send(int fd, const char *line, int timeout_ms)
{
	char		 buf[CTL_REQUEST_MAX + 1];
	size_t		 len, off;
	ssize_t		 n;
	int64_t		 deadline;

	len = strlen(line);
	if (memchr(line, '\n', len) != NULL) {
		errno = EINVAL;
		return -1;
	}
	if (len > CTL_REQUEST_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	memcpy(buf, line, len);
	buf[len++] = '\n';
	deadline = timeout_ms < 0 ? -1 : mono_us() / 1000 + timeout_ms;
	for (off = 0; off < len; off += (size_t)n) {
		n = send(fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0)
			continue;
		if (errno == EINTR) {
			n = 0;
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (wait_fd(fd, POLLOUT, deadline) == -1)
			return -1;
		n = 0;
	}
	return 0;
}

/*
 * Read one line from probed, waiting timeout_ms at most (-1 = for ever, as
 * `watch` does). Returns 1 with *line set (malloc'd, without "\n"), 0 at
 * a clean end of stream (*line NULL), or -1 with errno: ETIMEDOUT,
 * ECONNRESET (the stream ended inside a line), EMSGSIZE (a line over
 * CTL_ANSWER_MAX: close the connection, the stream is out of step), or
 * recv's.
 *
 * It keeps no state between calls, so a descriptor needs no companion
 * buffer: it peeks at what has arrived and consumes up to the newline
 * only, leaving the next line in the socket.
 */
int
ctlclient_readline(int fd, int timeout_ms, char **line)
{
	char		*buf = NULL, *nl;
	size_t		 len = 0, cap = 0, take;
	ssize_t		 n, got;
	int64_t		 deadline;
	int		 saved;

	*line = NULL;
	deadline = timeout_ms < 0 ? -1 : mono_us() / 1000 + timeout_ms;
	for (;;) {
		if (cap - len < READ_CHUNK) {
			cap = cap * 2 > len + READ_CHUNK ? cap * 2 :
			    len + READ_CHUNK;
			buf = xreallocarray(buf, cap, 1);
		}
		if (wait_fd(fd, POLLIN, deadline) == -1)
			goto fail;
		n = recv(fd, buf + len, cap - len - 1, MSG_PEEK | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			goto fail;
		}
		if (n == 0) {
			if (len == 0) {
				free(buf);
				return 0;
			}
			errno = ECONNRESET;
			goto fail;
		}
		nl = memchr(buf + len, '\n', (size_t)n);
		take = nl != NULL ? (size_t)(nl - (buf + len)) + 1 : (size_t)n;
		got = recv(fd, buf + len, take, MSG_DONTWAIT);
		if (got == -1) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			goto fail;
		}
		len += (size_t)got;
		if (nl != NULL && (size_t)got == take) {
			buf[len - 1] = '\0';
			*line = buf;
			return 1;
		}
		if (len > CTL_ANSWER_MAX) {
			errno = EMSGSIZE;
			goto fail;
		}
	}
fail:
	saved = errno;
	free(buf);
	errno = saved;
	return -1;
}

/* ctlclient_request_timeout with CTL_TIMEOUT_MS. */
int
ctlclient_request(int fd, const char *line, char **answer)
{
	return ctlclient_request_timeout(fd, line, CTL_TIMEOUT_MS, answer);
}

/*
 * Send one request and wait timeout_ms (> 0) at most, all told, for its
 * answer. Returns 0 with *answer set (malloc'd, one JSON line without
 * "\n"), or -1 with errno as ctlclient_send and ctlclient_readline say;
 * ECONNRESET when probed closed the connection without answering. On a
 * watching connection the stream's lines ({"type":...}) that arrive
 * first are skipped, and lost to the caller.
 */
int
ctlclient_request_timeout(int fd, const char *line, int timeout_ms,
    char **answer)
{
	int64_t		 deadline, left;
	char		*l;
	int		 r;

	*answer = NULL;
	deadline = mono_us() / 1000 + timeout_ms;
	/* A daemon that refuses us (too many clients) answers, then closes
	 * before our request is in: read its answer all the same. */
	if (ctlclient_send(fd, line, timeout_ms) == -1 &&
	    errno != EPIPE && errno != ECONNRESET)
		return -1;
	for (;;) {
		left = deadline - mono_us() / 1000;
		if (left < 0)
			left = 0;
		if ((r = ctlclient_readline(fd, (int)left, &l)) == -1)
			return -1;
		if (r == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (strncmp(l, "{\"type\":", 8) != 0) {
			*answer = l;
			return 0;
		}
		free(l);
	}
}

/*
 * Say what a line from probed is. With obj non-NULL, *obj gets the parsed
 * object (the caller json_decrefs it) unless the result is CTL_LINE_BAD.
 * err (may be NULL) gets probed's error text for CTL_LINE_ERROR, or what
 * is wrong for CTL_LINE_BAD.
 */
enum ctl_line
ctlclient_parse(const char *line, json_t **obj, char *err, size_t errlen)
{
	json_error_t	 je;
	json_t		*j, *v;
	const char	*type;
	enum ctl_line	 kind;

	if (obj != NULL)
		*obj = NULL;
	if ((j = json_loads(line, 0, &je)) == NULL) {
		seterr(err, errlen, "not JSON: %s", je.text);
		return CTL_LINE_BAD;
	}
	if (!json_is_object(j)) {
		seterr(err, errlen, "not a JSON object");
		json_decref(j);
		return CTL_LINE_BAD;
	}
	if ((type = json_string_value(json_object_get(j, "type"))) != NULL) {
		if (strcmp(type, "result") == 0)
			kind = CTL_LINE_RESULT;
		else if (strcmp(type, "event") == 0)
			kind = CTL_LINE_EVENT;
		else if (strcmp(type, "server") == 0)
			kind = CTL_LINE_SERVER;
		else {
			seterr(err, errlen, "unknown line type '%s'", type);
			json_decref(j);
			return CTL_LINE_BAD;
		}
	} else if (json_is_boolean(v = json_object_get(j, "ok"))) {
		kind = json_is_true(v) ? CTL_LINE_OK : CTL_LINE_ERROR;
		if (kind == CTL_LINE_ERROR) {
			type = json_string_value(json_object_get(j, "error"));
			seterr(err, errlen, "%s",
			    type != NULL ? type : "probed gave no reason");
		}
	} else {
		seterr(err, errlen, "neither an answer nor a watch line");
		json_decref(j);
		return CTL_LINE_BAD;
	}
	if (obj != NULL)
		*obj = j;
	else
		json_decref(j);
	return kind;
}

/* Copy a string member into dst; 1 when there, 0 when absent or null or
 * of another type (dst then ""). */
static int
get_str(json_t *obj, const char *key, char *dst, size_t size)
{
	const char	*s;

	if ((s = json_string_value(json_object_get(obj, key))) == NULL) {
		dst[0] = '\0';
		return 0;
	}
	copy_utf8(dst, size, s);
	return 1;
}

/* An integer member (a real is truncated); 0 when absent or null. */
static int64_t
get_int(json_t *obj, const char *key)
{
	json_t	*v;

	v = json_object_get(obj, key);
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (int64_t)json_real_value(v);
	return 0;
}

/* A boolean member (an integer counts, as a person may write one). */
static int
get_flag(json_t *obj, const char *key)
{
	json_t	*v;

	v = json_object_get(obj, key);
	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_integer(v))
		return json_integer_value(v) != 0;
	return 0;
}

/* Of a state file's "downtimes", the end of the one running now that
 * ends last; 0 when none runs. */
static int64_t
downtime_running(json_t *arr)
{
	json_t	*d;
	size_t	 i;
	int64_t	 now = time(NULL), until = 0;

	json_array_foreach(arr, i, d)
		if (get_int(d, "from") <= now && get_int(d, "until") > now &&
		    get_int(d, "until") > until)
			until = get_int(d, "until");
	return until;
}

/*
 * Fill s from a server object: an element of `status`'s "servers", a
 * watch "result" or "server" line, or a state-file entry (which has no id
 * or kind, says "type" for the state type and last_latency_us for the
 * latency). id, when not NULL, overrides the object's. Returns 0, or -1
 * when the object has no id or no state (s is then empty).
 */
int
ctlclient_server_from_json(json_t *obj, const char *id, struct ctl_server *s)
{
	json_t		*v;
	const char	*type;

	memset(s, 0, sizeof(*s));
	s->latency_ms = -1;
	if (!json_is_object(obj))
		return -1;
	if (id == NULL && (id = json_string_value(json_object_get(obj,
	    "id"))) == NULL)
		return -1;
	if (!get_str(obj, "state", s->state, sizeof(s->state)))
		return -1;
	if (!get_str(obj, "state_type", s->state_type,
	    sizeof(s->state_type))) {
		type = json_string_value(json_object_get(obj, "type"));
		if (type != NULL && (strcmp(type, "soft") == 0 ||
		    strcmp(type, "hard") == 0))
			copy_utf8(s->state_type, sizeof(s->state_type), type);
	}
	get_str(obj, "kind", s->kind, sizeof(s->kind));
	get_str(obj, "message", s->message, sizeof(s->message));
	get_str(obj, "ack_comment", s->ack_comment, sizeof(s->ack_comment));
	s->since = get_int(obj, "since");
	s->last_check = get_int(obj, "last_check");
	s->downtime_until = get_int(obj, "downtime_until");
	if (s->downtime_until == 0)
		s->downtime_until = downtime_running(json_object_get(obj,
		    "downtimes"));
	s->unreachable = get_flag(obj, "unreachable");
	s->flapping = get_flag(obj, "flapping");
	s->acked = get_flag(obj, "acked");
	s->drained = get_flag(obj, "drained");
	if (json_is_number(v = json_object_get(obj, "latency_ms")))
		s->latency_ms = json_number_value(v);
	else if (json_is_integer(v = json_object_get(obj,
	    "last_latency_us")) && json_integer_value(v) >= 0)
		s->latency_ms = (double)json_integer_value(v) / 1000.0;
	s->id = xstrdup(id);
	return 0;
}

/*
 * The servers of a `status` answer (parsed, "ok": true). Returns 0 with
 * *servers (the caller frees with ctlclient_servers_free) and *n, or -1
 * with err set.
 */
int
ctlclient_servers_from_answer(json_t *answer, struct ctl_server **servers,
    size_t *n, char *err, size_t errlen)
{
	json_t			*arr;
	struct ctl_server	*s;
	size_t			 i, len;

	*servers = NULL;
	*n = 0;
	if (!json_is_array(arr = json_object_get(answer, "servers"))) {
		seterr(err, errlen, "the answer has no servers array");
		return -1;
	}
	len = json_array_size(arr);
	s = xcalloc(len == 0 ? 1 : len, sizeof(*s));
	for (i = 0; i < len; i++) {
		if (ctlclient_server_from_json(json_array_get(arr, i), NULL,
		    &s[i]) == -1) {
			seterr(err, errlen, "server %zu of the answer has no "
			    "id or state", i + 1);
			ctlclient_servers_free(s, i);
			return -1;
		}
	}
	*servers = s;
	*n = len;
	return 0;
}

/*
 * Read the state file probed writes (lib/stateread.c: the same rules as
 * probed's own reading), for when probed is gone. Returns 0 with
 * *servers in the file's order, *n and *written (Unix s), or -1 with err
 * set and errno (ENOENT when there is no file; EINVAL when it is not a
 * state file).
 */
int
ctlclient_state_load(const char *path, struct ctl_server **servers,
    size_t *n, int64_t *written, char *err, size_t errlen)
{
	struct stateread	 sr;
	json_t			*v;
	const char		*id;
	struct ctl_server	*s;
	size_t			 i, len;

	*servers = NULL;
	*n = 0;
	*written = 0;
	if (stateread_load(AT_FDCWD, path, &sr, err, errlen) == -1)
		return -1;
	len = json_object_size(sr.servers);
	s = xcalloc(len == 0 ? 1 : len, sizeof(*s));
	i = 0;
	json_object_foreach(sr.servers, id, v) {
		if (ctlclient_server_from_json(v, id, &s[i]) == -1) {
			seterr(err, errlen, "%s: server '%s' has no state",
			    path, id);
			ctlclient_servers_free(s, i);
			stateread_free(&sr);
			errno = EINVAL;
			return -1;
		}
		i++;
	}
	*written = sr.written;
	stateread_free(&sr);
	*servers = s;
	*n = len;
	return 0;
}

void
ctlclient_servers_free(struct ctl_server *s, size_t n)
{
	size_t	 i;

	if (s == NULL)
		return;
	for (i = 0; i < n; i++)
		free(s[i].id);
	free(s);
}
