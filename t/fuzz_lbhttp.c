/*
 * fuzz_lbhttp.c: libFuzzer target for tocsin-lb's HTTP proxy
 * (lb/proxy_http.c and lb/conn.c, on Debian's http_parser): what a
 * client sends and what the member answers both come from the input.
 * What must hold is no crash, no undefined behaviour, no leak, and that
 * the client's connection always ends: each input runs until the
 * balancer closes it, on one event loop, with no timer needed (the
 * harness's ends close as soon as they have said their part).
 *
 * An input is the client's bytes, then "\n@@\n", then the member's
 * answer; with no separator the member answers a short 200. The member
 * is a listener of the harness on 127.0.0.1: each connection the
 * balancer opens to it gets the answer once, then the close of its
 * sending side. Built and run by tools/fuzz (clang only). With
 * FUZZ_LBHTTP_DUMP in the environment, what the client got goes to
 * stderr (to see what an input does: ./fuzz_lbhttp INPUT).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "log.h"

#include "lb.h"

#define SEP		"\n@@\n"
#define STEPS_MAX	20000	/* turns of the loop an input may take */
#define MEMBERS_MAX	16	/* member connections open at once */

int	 LLVMFuzzerInitialize(int *, char ***);
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct lb	 lb;
static struct farm	*farm;
static struct conf	*conf;
static int		 lfd = -1;	/* the member's listener */

/* One connection the balancer opened to the member. */
static struct member {
	int		 fd;		/* -1: free */
	size_t		 sent;
} members[MEMBERS_MAX];

static const uint8_t	*answer;
static size_t		 answerlen;
static int		 dump;

static void
nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Members: accept, read and drop, answer once, half-close, close at the
 * balancer's end. Returns how many are open. */
static int
serve_members(void)
{
	struct member	*m;
	char		 buf[4096];
	ssize_t		 n;
	int		 fd, i, open = 0;

	while ((fd = accept(lfd, NULL, NULL)) != -1) {
		nonblock(fd);
		for (i = 0; i < MEMBERS_MAX && members[i].fd != -1; i++)
			;
		if (i == MEMBERS_MAX) {
			close(fd);
			continue;
		}
		members[i].fd = fd;
		members[i].sent = 0;
	}
	for (i = 0; i < MEMBERS_MAX; i++) {
		m = &members[i];
		if (m->fd == -1)
			continue;
		while ((n = read(m->fd, buf, sizeof(buf))) > 0)
			;
		if (n == 0 || (n == -1 && errno != EAGAIN)) {
			close(m->fd);
			m->fd = -1;
			continue;
		}
		if (m->sent < answerlen) {
			n = send(m->fd, answer + m->sent, answerlen - m->sent,
			    MSG_NOSIGNAL);
			if (n > 0)
				m->sent += n;
			else if (n == -1 && errno != EAGAIN)
				m->sent = answerlen;	/* the balancer left */
			if (m->sent == answerlen)
				shutdown(m->fd, SHUT_WR);
		} else if (m->sent == 0)
			shutdown(m->fd, SHUT_WR);
		open++;
	}
	return open;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_in sin;
	socklen_t	 len = sizeof(sin);
	char		 text[512], err[256];
	char		*errors = NULL;
	int		 i;

	(void)argc;
	(void)argv;
	log_init("fuzz_lbhttp", 0, 0);
	dump = getenv("FUZZ_LBHTTP_DUMP") != NULL;
	for (i = 0; i < MEMBERS_MAX; i++)
		members[i].fd = -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 64) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) == -1) {
		perror("fuzz_lbhttp: member listener");
		exit(1);
	}
	nonblock(lfd);
	snprintf(text, sizeof(text),
	    "farm f {\n"
	    "    listen 127.0.0.1:1 http\n"
	    "    persist 10m\n"
	    "    server a http://127.0.0.1:%d/\n"
	    "}\n", ntohs(sin.sin_port));
	if ((conf = conf_parse_string("fuzz.conf", text, &errors)) == NULL) {
		fprintf(stderr, "fuzz_lbhttp: %s\n", errors);
		exit(1);
	}
	if ((lb.base = event_base_new()) == NULL ||
	    (farm = farm_new(conf->farms[0], NULL, 0, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_lbhttp: %s\n", err);
		exit(1);
	}
	lb.farms = &farm;
	lb.nfarms = 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char	 ok[] = "HTTP/1.1 200 OK\r\n"
				    "Content-Length: 2\r\n\r\nok";
	struct sockaddr_in	 sin;
	const uint8_t		*sep;
	size_t			 clen = size, csent = 0;
	char			 buf[16384];
	ssize_t			 n;
	int			 sv[2], steps, ended = 0, open, i;

	sep = memmem(data, size, SEP, sizeof(SEP) - 1);
	if (sep != NULL) {
		clen = sep - data;
		answer = sep + sizeof(SEP) - 1;
		answerlen = size - clen - (sizeof(SEP) - 1);
	} else {
		answer = (const uint8_t *)ok;
		answerlen = sizeof(ok) - 1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	nonblock(sv[0]);
	nonblock(sv[1]);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(40000);
	proxy_http_accept(&lb, farm, sv[0], (struct sockaddr *)&sin,
	    sizeof(sin));
	for (steps = 0; steps < STEPS_MAX; steps++) {
		if (csent < clen) {
			n = send(sv[1], data + csent, clen - csent,
			    MSG_NOSIGNAL);
			if (n > 0)
				csent += n;
			else if (n == -1 && errno != EAGAIN)
				csent = clen;	/* closed on us: said enough */
			if (csent == clen)
				shutdown(sv[1], SHUT_WR);
		} else if (clen == 0 && steps == 0)
			shutdown(sv[1], SHUT_WR);
		while (!ended) {
			if ((n = read(sv[1], buf, sizeof(buf))) > 0) {
				if (dump)
					fwrite(buf, 1, n, stderr);
				continue;
			}
			/* Its end; or a reset, closed with what we sent
			 * unread. */
			ended = n == 0 || errno != EAGAIN;
			break;
		}
		open = serve_members();
		if (ended && open == 0)
			break;
		event_base_loop(lb.base, EVLOOP_NONBLOCK);
	}
	if (!ended) {
		fprintf(stderr, "fuzz_lbhttp: the client's connection did "
		    "not end in %d turns\n", STEPS_MAX);
		abort();
	}
	close(sv[1]);
	for (i = 0; i < MEMBERS_MAX; i++)
		if (members[i].fd != -1) {
			close(members[i].fd);
			members[i].fd = -1;
		}
	/* The pool's connections see their member close; then all goes. */
	for (steps = 0; steps < 16; steps++)
		event_base_loop(lb.base, EVLOOP_NONBLOCK);
	proxy_http_shutdown();
	return 0;
}
