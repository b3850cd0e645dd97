/*
 * badserver.c: a TCP server on 127.0.0.1 that misbehaves on purpose, in one
 * way per run, so integration tests can show that a bad server costs one
 * check and nothing else. One process, non-blocking sockets, one poll loop:
 * hundreds of clients at once, and no client (drip, flood) holds up another.
 *
 * usage: badserver [-a ADDR] [-d MS] [-i MS] [-p PIDFILE] MODE PORT
 */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* When a client gets its reply. */
enum when {
	AT_ACCEPT,		/* at once */
	AT_INPUT,		/* after its first bytes (a request, a hello) */
	NEVER			/* silent: it gets nothing, ever */
};

/* How the reply goes out. */
enum pace {
	ALL,			/* as fast as the socket takes it */
	DRIP,			/* one byte per interval, then body bytes forever */
	FLOOD			/* the reply, then body bytes forever, at full speed */
};

/* What happens once the reply is out. */
enum after {
	KEEP,			/* stay open, read and discard, until the peer closes */
	CLOSE,			/* shutdown(SHUT_WR), drain, then close (a clean FIN) */
	RESET			/* close with SO_LINGER 0: the peer sees an RST */
};

struct mode {
	const char	*name;
	enum when	 when;
	enum pace	 pace;
	enum after	 after;
	const char	*reply;
	const char	*help;
};

static const struct mode modes[] = {
	{ "noaccept", NEVER, ALL, KEEP, NULL,
	  "listen (backlog 1), fill the backlog itself, never accept" },
	{ "lateaccept", AT_INPUT, ALL, CLOSE,
	  "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nOK\n",
	  "as noaccept until SIGUSR1, then answer: a connect that completes "
	  "late" },
	{ "silent", NEVER, ALL, KEEP, NULL,
	  "accept, never send a byte" },
	{ "drip", AT_ACCEPT, DRIP, KEEP,
	  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n",
	  "accept, send an HTTP response one byte per interval, forever" },
	{ "flood", AT_ACCEPT, FLOOD, KEEP,
	  "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
	  "Connection: close\r\n\r\n",
	  "accept, send an HTTP 200 header, then body bytes without end" },
	{ "garbage", AT_INPUT, ALL, CLOSE, "HELLO WORLD\r\n\r\n",
	  "answer a request with a garbage status line, then close" },
	{ "halfheader", AT_INPUT, ALL, CLOSE,
	  "HTTP/1.1 200 OK\r\nContent-Len",
	  "answer a request with half a header, then close" },
	{ "shortbody", AT_INPUT, ALL, CLOSE,
	  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	  "Content-Length: 100\r\nConnection: close\r\n\r\nhello",
	  "answer a request with 5 of 100 promised body bytes, then close" },
	{ "notls", AT_INPUT, ALL, CLOSE,
	  "this is not TLS, friend\r\n\r\n",
	  "answer a TLS ClientHello (any first bytes) with plain text" },
	{ "banner-close", AT_ACCEPT, ALL, CLOSE, "220 hello\r\n",
	  "send an SMTP/FTP-style banner, then close" },
	{ "garbage-banner", AT_ACCEPT, ALL, KEEP, "xyzzy garbage\r\n",
	  "send a garbage banner and stay open" },
	{ "slow", AT_INPUT, ALL, CLOSE,
	  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	  "Content-Length: 3\r\nConnection: close\r\n\r\nOK\n",
	  "answer a request correctly, but after -d milliseconds" },
	{ "reset", AT_INPUT, ALL, RESET, NULL,
	  "answer a request with a TCP reset" },
	{ "longline", AT_ACCEPT, FLOOD, KEEP, "220 ",
	  "send \"220 \" and then one line without end, at full speed" },
	{ "empty", AT_INPUT, ALL, CLOSE, "",
	  "answer a request with nothing: close at once" },
	{ "chunked", AT_INPUT, ALL, CLOSE,
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	  "Connection: close\r\n\r\n3\r\nOK\n\r\n4;x=y\r\nmore\r\n0\r\n"
	  "Trailer: z\r\n\r\n",
	  "answer a request with a chunked body (an extension, a trailer)" },
	{ "badchunk", AT_INPUT, ALL, CLOSE,
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "zz\r\nOK\r\n0\r\n\r\n",
	  "answer a request with a chunk size that is not hexadecimal" },
	{ "shortchunk", AT_INPUT, ALL, CLOSE,
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "64\r\nhello",
	  "answer a request with 5 of a chunk's 100 bytes, then close" },
	{ "oldhttp", AT_INPUT, ALL, CLOSE,
	  "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
	  "OK from HTTP/1.0, the body ends at the close\n",
	  "answer as HTTP/1.0 with no Content-Length, then close" },
	{ "badstatus", AT_INPUT, ALL, CLOSE, "HTTP/1.1 2x0 OK\r\n\r\n",
	  "answer a request with a status code that is not a number" },
	{ "continue", AT_INPUT, ALL, CLOSE,
	  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\n"
	  "Content-Length: 4\r\n\r\ngone",
	  "answer 100 Continue, then 404 with a body" },
	{ "lfonly", AT_INPUT, ALL, CLOSE,
	  "HTTP/1.1 200 OK\nContent-Length: 3\n\nOK\n",
	  "answer with lines ending in LF alone" },
	{ "badlength", AT_INPUT, ALL, CLOSE,
	  "HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\nOK",
	  "answer with a Content-Length that is not a number" },
	{ "manyheaders", AT_INPUT, FLOOD, KEEP,
	  "HTTP/1.1 200 OK\r\n",
	  "answer with header lines without end, at full speed" },
	{ "lowerhttp", AT_INPUT, ALL, CLOSE,
	  "http/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\ngone",
	  "answer with the protocol name in small letters" },
	{ "nocolon", AT_INPUT, ALL, CLOSE,
	  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nno colon here\r\n\r\nOK",
	  "answer with a header line without a colon" },
	{ "gzipchunked", AT_INPUT, ALL, CLOSE,
	  "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n"
	  "Content-Length: 2\r\n\r\n2\r\nOK\r\n0\r\n\r\n",
	  "answer with a transfer coding before chunked, then close" },
	{ "switching", AT_INPUT, ALL, CLOSE,
	  "HTTP/1.1 101 Switching Protocols\r\nContent-Length: 2\r\n\r\n"
	  "OK and more",
	  "answer 101 not asked for, with a body, then close" },
	{ "nocontent", AT_INPUT, ALL, KEEP,
	  "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
	  "answer 204 with a Content-Length and stay open" },
	{ "bigheader", AT_INPUT, FLOOD, KEEP,
	  "HTTP/1.1 200 OK\r\nX-Long: ",
	  "answer with one header line without end, at full speed" },
};

/* Where a client is in its life. */
enum state {
	WAITING,		/* for input, or for its due time */
	SENDING,		/* the reply (and for drip/flood, the body) */
	HOLDING,		/* reply sent; reading and discarding */
	DRAINING		/* write side shut; waiting for the peer's FIN */
};

struct client {
	int		 fd;		/* -1: slot free */
	enum state	 state;
	size_t		 off;		/* bytes of the reply sent */
	int64_t		 due;		/* monotonic ms; 0: no timer */
};

#define MAX_CLIENTS	16384
#define DRAIN_MS	10000		/* longest wait for a FIN after ours */
#define NOACCEPT_FILL	8		/* most connections used to fill */

static void	 usage(void) __attribute__((noreturn));
static void	 die(const char *) __attribute__((noreturn));
static int64_t	 now_ms(void);
static int	 set_nonblock(int);
static void	 on_signal(int);
static int	 listen_on(const char *, int, int);
static void	 fill_backlog(const char *, int);
static void	 write_pidfile(const char *);
static void	 client_new(int);
static void	 client_close(struct client *);
static void	 client_read(struct client *);
static void	 client_write(struct client *);
static void	 client_timer(struct client *);
static void	 client_start(struct client *);
static void	 client_replied(struct client *);
static int	 client_events(const struct client *);

static const struct mode *mode;
static const char	*reply;		/* mode->reply, or "" */
static size_t		 replylen;
static int64_t		 interval_ms = 1000;	/* drip pace */
static int64_t		 delay_ms = 2000;	/* slow: wait before replying */
static struct client	*clients;
static size_t		 nclients;		/* slots in use */
static size_t		 maxclients;
static int		 sigpipe[2] = { -1, -1 };
static volatile sig_atomic_t quit;
static volatile sig_atomic_t open_up;	/* lateaccept: SIGUSR1 came */
static char		 body[65536];		/* flood and drip body bytes */
static int		 fillers[NOACCEPT_FILL];
static int		 nfillers;

static void
usage(void)
{
	size_t i;

	fprintf(stderr, "usage: badserver [-a addr] [-d delay-ms] "
	    "[-i interval-ms] [-p pidfile] mode port\nmodes:\n");
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		fprintf(stderr, "  %-15s %s\n", modes[i].name, modes[i].help);
	exit(2);
}

static void
die(const char *what)
{
	fprintf(stderr, "badserver: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
set_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		return -1;
	return 0;
}

/* SIGTERM, SIGINT (quit), SIGUSR1 (lateaccept opens): wake the poll
 * loop through the self-pipe. */
static void
on_signal(int sig)
{
	int saved = errno;

	if (sig == SIGUSR1)
		open_up = 1;
	else
		quit = 1;
	if (write(sigpipe[1], "x", 1) == -1) {
		/* the pipe is full: the loop wakes anyway */
	}
	errno = saved;
}

/*
 * Bind addr:port with SO_REUSEADDR and listen with the given backlog.
 * Returns the non-blocking listening socket; exits on failure (start-up).
 */
static int
listen_on(const char *addr, int port, int backlog)
{
	struct sockaddr_in sin;
	int fd, on = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "badserver: bad address %s\n", addr);
		exit(2);
	}
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		die("SO_REUSEADDR");
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		die("bind");
	if (listen(fd, backlog) == -1)
		die("listen");
	if (set_nonblock(fd) == -1)
		die("fcntl");
	return fd;
}

/*
 * noaccept: connect to ourselves until a connect no longer completes. Linux
 * completes handshakes into the accept queue on its own (backlog + 1 of
 * them for backlog 1); once that queue is full it drops new SYNs, so every
 * later client hangs in SYN_SENT and sees a connect timeout. Our completed
 * connections stay open (never accepted) to keep the queue full.
 */
static void
fill_backlog(const char *addr, int port)
{
	struct sockaddr_in sin;
	struct pollfd pfd;
	socklen_t len;
	int fd, err;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, addr, &sin.sin_addr);
	while (nfillers < NOACCEPT_FILL) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			die("socket");
		if (set_nonblock(fd) == -1)
			die("fcntl");
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
		    errno != EINPROGRESS)
			die("connect to self");
		pfd.fd = fd;
		pfd.events = POLLOUT;
		err = -1;
		len = sizeof(err);
		if (poll(&pfd, 1, 300) == 1)
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) {
			close(fd);	/* this one hangs: the queue is full */
			break;
		}
		fillers[nfillers++] = fd;
	}
	fprintf(stderr, "badserver: %s: %d connections fill the backlog\n",
	    mode->name, nfillers);
}

/* Write our pid to path, or exit. */
static void
write_pidfile(const char *path)
{
	FILE *f;

	if ((f = fopen(path, "w")) == NULL)
		die(path);
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) == EOF)
		die(path);
}

/* Take a freshly accepted socket into a free slot and start its mode. */
static void
client_new(int fd)
{
	struct client *c;
	size_t i;

	for (i = 0; i < maxclients; i++)
		if (clients[i].fd == -1)
			break;
	if (i == maxclients) {		/* cannot happen: caller checks */
		close(fd);
		return;
	}
	c = &clients[i];
	c->fd = fd;
	c->state = WAITING;
	c->off = 0;
	c->due = 0;
	nclients++;
	if (mode->when == AT_ACCEPT)
		client_start(c);
}

/* The one teardown: close, free the slot. Safe to call twice. */
static void
client_close(struct client *c)
{
	struct linger lg = { 1, 0 };

	if (c->fd == -1)
		return;
	if (mode->after == RESET)
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(c->fd);
	c->fd = -1;
	nclients--;
}

/* The reply is due: send it (slow: after the delay). */
static void
client_start(struct client *c)
{
	if (mode->after == RESET) {
		client_close(c);
		return;
	}
	c->state = SENDING;
	c->due = mode->pace == DRIP ? now_ms() : 0;
}

/* The whole reply is out: keep, or close cleanly. */
static void
client_replied(struct client *c)
{
	if (mode->after == KEEP) {
		c->state = HOLDING;
		c->due = 0;
		return;
	}
	shutdown(c->fd, SHUT_WR);
	c->state = DRAINING;
	c->due = now_ms() + DRAIN_MS;
}

/* Read and discard what the peer sends; its first bytes may start a reply. */
static void
client_read(struct client *c)
{
	char buf[16384];
	ssize_t n;

	n = recv(c->fd, buf, sizeof(buf), 0);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	if (c->state == WAITING && mode->when == AT_INPUT && c->due == 0) {
		if (strcmp(mode->name, "slow") == 0)
			c->due = now_ms() + delay_ms;
		else
			client_start(c);
	}
}

/*
 * Send what the socket takes now. ALL: the rest of the reply. FLOOD: the
 * reply, then body bytes. DRIP is paced by client_timer, not by POLLOUT.
 */
static void
client_write(struct client *c)
{
	const char *p;
	size_t len;
	ssize_t n;

	if (c->off < replylen) {
		p = reply + c->off;
		len = replylen - c->off;
	} else if (mode->pace == FLOOD) {
		p = body;
		len = sizeof(body);
	} else {
		client_replied(c);
		return;
	}
	n = send(c->fd, p, len, MSG_NOSIGNAL);
	if (n == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			client_close(c);
		return;
	}
	if (c->off < replylen)
		c->off += (size_t)n;
	if (c->off >= replylen && mode->pace == ALL)
		client_replied(c);
}

/* A client's timer fired: slow's delay, drip's next byte, or a drain cap. */
static void
client_timer(struct client *c)
{
	char ch;

	switch (c->state) {
	case WAITING:
		client_start(c);
		break;
	case SENDING:			/* DRIP */
		ch = c->off < replylen ? reply[c->off] : '.';
		if (send(c->fd, &ch, 1, MSG_NOSIGNAL) == 1)
			c->off++;
		else if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			client_close(c);
			break;
		}
		c->due += interval_ms;
		break;
	case HOLDING:
	case DRAINING:
		client_close(c);
		break;
	}
}

/* What to poll a client for. */
static int
client_events(const struct client *c)
{
	if (c->state == SENDING && mode->pace != DRIP)
		return POLLIN | POLLOUT;
	return POLLIN;
}

int
main(int argc, char *argv[])
{
	struct sigaction sa;
	struct rlimit rl;
	struct pollfd *pfd;
	struct client **who;
	const char *addr = "127.0.0.1", *pidfile = NULL;
	char *end;
	size_t i, n;
	int64_t now, next;
	long port;
	int ch, lfd, fd, timeout, listening, closed;

	while ((ch = getopt(argc, argv, "a:d:hi:p:")) != -1) {
		switch (ch) {
		case 'a':
			addr = optarg;
			break;
		case 'd':
			delay_ms = strtol(optarg, &end, 10);
			if (*end != '\0' || delay_ms < 0)
				usage();
			break;
		case 'i':
			interval_ms = strtol(optarg, &end, 10);
			if (*end != '\0' || interval_ms < 1)
				usage();
			break;
		case 'p':
			pidfile = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(argv[0], modes[i].name) == 0)
			mode = &modes[i];
	if (mode == NULL)
		usage();
	port = strtol(argv[1], &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		usage();
	reply = mode->reply != NULL ? mode->reply : "";
	replylen = strlen(reply);
	for (i = 0; i < sizeof(body); i++)
		body[i] = (i % 64 == 63 && strcmp(mode->name, "longline") != 0 &&
		    strcmp(mode->name, "bigheader") != 0) ?
		    '\n' : 'A' + (char)(i % 26);

	/* As many clients as descriptors allow, within MAX_CLIENTS. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
			getrlimit(RLIMIT_NOFILE, &rl);
		}
		maxclients = rl.rlim_cur > MAX_CLIENTS + 32 ? MAX_CLIENTS :
		    rl.rlim_cur > 64 ? (size_t)rl.rlim_cur - 32 : 32;
	} else
		maxclients = 1000;
	if ((clients = calloc(maxclients, sizeof(*clients))) == NULL ||
	    (pfd = calloc(maxclients + 2, sizeof(*pfd))) == NULL ||
	    (who = calloc(maxclients + 2, sizeof(*who))) == NULL)
		die("calloc");
	for (i = 0; i < maxclients; i++)
		clients[i].fd = -1;

	if (pipe(sigpipe) == -1 || set_nonblock(sigpipe[0]) == -1 ||
	    set_nonblock(sigpipe[1]) == -1)
		die("pipe");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	closed = strcmp(mode->name, "noaccept") == 0 ||
	    strcmp(mode->name, "lateaccept") == 0;
	lfd = listen_on(addr, (int)port, closed ? 1 : SOMAXCONN);
	if (closed)
		fill_backlog(addr, (int)port);
	if (pidfile != NULL)
		write_pidfile(pidfile);
	fprintf(stderr, "badserver: %s on %s:%ld, pid %ld, up to %zu "
	    "clients\n", mode->name, addr, port, (long)getpid(), maxclients);

	while (!quit) {
		/* The self-pipe, the listener (if a slot is free), clients. */
		n = 0;
		pfd[n].fd = sigpipe[0];
		pfd[n].events = POLLIN;
		who[n++] = NULL;
		if (open_up && strcmp(mode->name, "lateaccept") == 0)
			closed = 0;
		listening = !closed && nclients < maxclients;
		if (listening) {
			pfd[n].fd = lfd;
			pfd[n].events = POLLIN;
			who[n++] = NULL;
		}
		now = now_ms();
		next = -1;
		for (i = 0; i < maxclients; i++) {
			if (clients[i].fd == -1)
				continue;
			pfd[n].fd = clients[i].fd;
			pfd[n].events = (short)client_events(&clients[i]);
			who[n++] = &clients[i];
			if (clients[i].due != 0 &&
			    (next == -1 || clients[i].due < next))
				next = clients[i].due;
		}
		timeout = next == -1 ? -1 : next <= now ? 0 :
		    next - now > INT_MAX ? INT_MAX : (int)(next - now);
		if (poll(pfd, n, timeout) == -1) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (quit)
			break;
		if (pfd[0].revents & POLLIN) {
			char junk[16];

			while (read(sigpipe[0], junk, sizeof(junk)) > 0)
				;	/* SIGUSR1's wake-up, seen */
		}
		if (listening && (pfd[1].revents & POLLIN)) {
			/* A bounded batch, so clients get their turn too. */
			for (i = 0; i < 64 && nclients < maxclients; i++) {
				fd = accept(lfd, NULL, NULL);
				if (fd == -1)
					break;	/* EAGAIN, EMFILE: try later */
				if (set_nonblock(fd) == -1) {
					close(fd);
					continue;
				}
				client_new(fd);
			}
		}
		now = now_ms();
		for (i = listening ? 2 : 1; i < n; i++) {
			struct client *c = who[i];

			if (c->fd != pfd[i].fd)
				continue;	/* closed during this round */
			if (pfd[i].revents & (POLLERR | POLLNVAL)) {
				client_close(c);
				continue;
			}
			if (pfd[i].revents & (POLLIN | POLLHUP))
				client_read(c);
			if (c->fd != -1 && (pfd[i].revents & POLLOUT))
				client_write(c);
			if (c->fd != -1 && c->due != 0 && c->due <= now)
				client_timer(c);
		}
	}

	for (i = 0; i < maxclients; i++)
		client_close(&clients[i]);
	for (i = 0; i < (size_t)nfillers; i++)
		close(fillers[i]);
	close(lfd);
	free(clients);
	free(pfd);
	free(who);
	if (pidfile != NULL)
		unlink(pidfile);
	fprintf(stderr, "badserver: %s: stopped\n", mode->name);
	return 0;
}
