/*
 * ctlsock.h: the server side of a control socket in probed's protocol (one
 * request a line, one compact JSON object a line back, {"ok": ...} first),
 * for a daemon that only needs requests and answers: lib/ctlclient talks
 * to it. An answer may come later (ctlsock_reply): the client's next
 * requests wait for it, so answers keep the order of requests.
 */
#ifndef TOCSIN_CTLSOCK_H
#define TOCSIN_CTLSOCK_H

struct event_base;
struct json_t;
struct ctlsock;
struct ctlsock_req;
struct peer;

/*
 * A request's handler: returns the answer (taken), or NULL when it will
 * answer later with ctlsock_reply(req, ...).
 */
typedef struct json_t *ctlsock_fn(struct ctlsock_req *req, char *line,
		    void *arg);

struct ctlsock	*ctlsock_open(struct event_base *, const char *path,
		    ctlsock_fn *, void *arg, char *err, size_t errlen);
void		 ctlsock_close(struct ctlsock *);
void		 ctlsock_reply(struct ctlsock_req *, struct json_t *answer);
const struct peer *ctlsock_peer(const struct ctlsock_req *);

#endif
