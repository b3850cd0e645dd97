/*
 * ctlclient.h: the client side of probed's control socket, shared by
 * tocsinctl, tocsin.cgi and tocsin-lb: the protocol's limits, connecting,
 * one request and its answer, the watch stream, and parsing what probed
 * says (or, when it is gone, the last state it wrote).
 *
 * The protocol: one request a line; one compact JSON object a line back.
 * Answers start with {"ok": ...}; watch lines with {"type": ...}
 * ("result", "event" or "server"), so a watching client that sends a
 * request can tell its answer from the stream.
 */
#ifndef TOCSIN_CTLCLIENT_H
#define TOCSIN_CTLCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"

struct json_t;

#define CTL_REQUEST_MAX	4096		/* bytes in a request, without "\n" */
#define CTL_ANSWER_MAX	(64 * 1024 * 1024)	/* bytes in a line, at most */
#define CTL_TIMEOUT_MS	10000		/* a request's answer, at most */

/* One server as a client sees it: from `status`, a watch line, or the
 * state file. Strings are never NULL; id is owned (ctlclient_servers_free). */
struct ctl_server {
	char		*id;
	char		 kind[16];	/* "" when not known (state file) */
	char		 state[16];	/* up, degraded, down, unknown */
	char		 state_type[8];	/* soft, hard */
	int64_t		 since;		/* Unix s; 0 = not known */
	int64_t		 last_check;	/* Unix s; 0 = never */
	double		 latency_ms;	/* last check's total; < 0 = none */
	int		 flapping;
	int		 acked;
	int		 drained;
	int64_t		 downtime_until;	/* Unix s; 0 = none */
	int		 unreachable;	/* a server it depends on is down */
	char		 ack_comment[128];
	char		 message[RESULT_MSG_MAX];
};

/* What one line from probed is. */
enum ctl_line {
	CTL_LINE_BAD = -1,	/* not JSON, or not an object of ours */
	CTL_LINE_OK,		/* an answer, "ok": true */
	CTL_LINE_ERROR,		/* an answer, "ok": false */
	CTL_LINE_RESULT,	/* watch: a check result */
	CTL_LINE_EVENT,		/* watch: a hard state change */
	CTL_LINE_SERVER,	/* watch: ack, downtime, drain or enable */
};

int		 ctlclient_connect(const char *path);
int		 ctlclient_connect_timeout(const char *path, int timeout_ms);
int		 ctlclient_send(int fd, const char *line, int timeout_ms);
int		 ctlclient_readline(int fd, int timeout_ms, char **line);
int		 ctlclient_request(int fd, const char *line, char **answer);
int		 ctlclient_request_timeout(int fd, const char *line,
		    int timeout_ms, char **answer);
enum ctl_line	 ctlclient_parse(const char *line, struct json_t **obj,
		    char *err, size_t errlen);
int		 ctlclient_server_from_json(struct json_t *obj, const char *id,
		    struct ctl_server *);
int		 ctlclient_servers_from_answer(struct json_t *answer,
		    struct ctl_server **, size_t *, char *err, size_t errlen);
int		 ctlclient_state_load(const char *path, struct ctl_server **,
		    size_t *, int64_t *written, char *err, size_t errlen);
void		 ctlclient_servers_free(struct ctl_server *, size_t);

#endif
