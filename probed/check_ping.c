/*
 * check_ping.c: ping://host: `count` ICMP echoes, Smokeping-like loss,
 * median, min and max round trip. One shared socket per address family,
 * raw when the daemon has CAP_NET_RAW (root, opened before privileges go,
 * or a user given that capability alone, as the systemd unit does), else
 * an unprivileged ICMP datagram socket (net.ipv4.ping_group_range).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "util.h"
#include "xmalloc.h"

#include "probed.h"

#ifndef ICMP_FILTER
#define ICMP_FILTER	1	/* linux/icmp.h: SOL_RAW option, a u32 mask */
#endif

#define COUNT_MAX	100	/* echoes per check (the config's limit) */
#define SPACING_US	100000	/* between echoes, shrunk to fit a timeout */
#define MARGIN_MIN_US	10000	/* results this long before the deadline */
#define MARGIN_MAX_US	500000
#define ECHO_HDR	8	/* ICMP and ICMPv6 echo headers alike */
#define PAYLOAD_MAGIC	0x74637368u	/* "tcsh" */
#define RECV_BURST	64	/* packets read per wake-up */
#define PKT_MAX		512	/* our replies are 64 bytes, 84 with IP */

/*
 * What an echo carries, and a reply gives back unchanged: which check
 * (slot, cookie) and which echo (index). Host byte order: only we read it.
 */
struct payload {
	uint32_t	 magic;
	uint32_t	 slot;		/* index into slots[] */
	uint64_t	 cookie;	/* random, per check */
	uint32_t	 index;		/* echo number in the check */
	uint8_t		 fill[36];	/* to 56 bytes, like ping(8) */
};

/* One shared ICMP socket. */
struct icmpsock {
	int		 family;
	int		 fd;		/* -1: not open */
	int		 raw;		/* raw: IPv4 reads carry the IP header */
	struct event	*ev;		/* reads fd; made on first use */
};

/* One ping check in flight. */
struct ping {
	struct probe	*p;
	struct icmpsock	*s;
	uint32_t	 slot;
	uint64_t	 cookie;
	unsigned	 count;		/* echoes to send */
	unsigned	 sent;		/* echoes tried */
	unsigned	 failed;	/* echoes sendto() refused */
	unsigned	 nreplies;
	int		 send_errno;	/* last sendto() error */
	int64_t		 t0;		/* monotonic µs of the first echo */
	int64_t		 spacing;	/* µs between echoes */
	int64_t		 give_up;	/* monotonic µs: stop waiting */
	struct event	*timer;
	uint16_t	 seq[COUNT_MAX];
	int64_t		 sent_ns[COUNT_MAX];	/* CLOCK_REALTIME ns; 0 unsent */
	int64_t		 rtt_us[COUNT_MAX];	/* -1: no reply */
};

static int	 ping_start(struct probe *);
static void	 ping_release(struct probe *);
static const char *ping_phase(struct probe *);
static struct icmpsock *sock_for(int);
static int	 sock_open(struct icmpsock *);
static void	 sock_close(struct icmpsock *);
static uint32_t	 slot_take(struct ping *);
static uint16_t	 cksum(const void *, size_t);
static int64_t	 realtime_ns(void);
static void	 send_echo(struct ping *, unsigned);
static void	 reply(struct icmpsock *, const uint8_t *, size_t,
		    const struct sockaddr_storage *, int64_t);
static int	 same_addr(const struct sockaddr_storage *,
		    const struct sockaddr_storage *);
static int	 all_in(const struct ping *);
static void	 ping_finish(struct ping *);
static int	 cmp_i64(const void *, const void *);
static void	 on_tick(evutil_socket_t, short, void *);
static void	 on_icmp(evutil_socket_t, short, void *);

const struct check_ops check_ping_ops = {
	.name = "ping",
	.needs_addr = 1,
	.start = ping_start,
	.release = ping_release,
	.phase = ping_phase,
};

static struct icmpsock	 sock4 = { AF_INET, -1, 0, NULL };
static struct icmpsock	 sock6 = { AF_INET6, -1, 0, NULL };
static uint16_t		 ident;		/* echo id on raw sockets; not 0 */
static uint16_t		 next_seq;
static struct ping	**slots;	/* checks in flight by slot */
static uint32_t		 nslots;
static uint32_t		 slot_hint;

/*
 * Open the ICMP sockets while still root, if any server pings: raw ones
 * with CAP_NET_RAW, else (when raw is refused) datagram
 * ping sockets, which the kernel allows when our group is in
 * net.ipv4.ping_group_range at the time they are made. A family that
 * cannot be opened now is tried again at its first check.
 */
void
check_ping_init(const struct conf *c)
{
	size_t	 i;
	int	 any = 0;

	for (i = 0; i < c->nservers; i++)
		if (c->servers[i]->kind == KIND_PING)
			any = 1;
	if (!any)
		return;
	if (sock_open(&sock4) == -1)
		log_warn("ping: no ICMP socket for IPv4 yet");
	if (sock_open(&sock6) == -1 && errno != EAFNOSUPPORT)
		log_warn("ping: no ICMPv6 socket yet");
}

/* At exit, after the engine released every check. */
void
check_ping_shutdown(void)
{
	sock_close(&sock4);
	sock_close(&sock6);
	free(slots);
	slots = NULL;
	nslots = slot_hint = 0;
}

/*
 * Open s: raw when the kernel lets us (CAP_NET_RAW, which root has and
 * the systemd unit gives its user alone), else a datagram ping socket.
 * Raw sockets only pass echo replies up (ICMP_FILTER, ICMP6_FILTER), and
 * every socket asks for kernel receive timestamps. 0, or -1 with errno
 * from the last attempt.
 */
static int
sock_open(struct icmpsock *s)
{
	int			 proto, fd = -1, raw = 0, one = 1, err;
	uint32_t		 mask;
	struct icmp6_filter	 f6;

	if (s->fd != -1)
		return 0;
	proto = s->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	fd = socket(s->family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	raw = fd != -1;
	if (fd == -1)
		fd = socket(s->family, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, proto);
	if (fd == -1)
		return -1;
	while (ident == 0)
		ident = (uint16_t)random();
	if (raw && s->family == AF_INET) {
		mask = ~(1u << ICMP_ECHOREPLY);
		if (setsockopt(fd, SOL_RAW, ICMP_FILTER, &mask,
		    sizeof(mask)) == -1)
			log_warn("ping: ICMP_FILTER");
	} else if (raw) {
		ICMP6_FILTER_SETBLOCKALL(&f6);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f6);
		if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f6,
		    sizeof(f6)) == -1)
			log_warn("ping: ICMP6_FILTER");
	}
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one,
	    sizeof(one)) == -1) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	s->fd = fd;
	s->raw = raw;
	log_debug("ping: %s %s socket", raw ? "raw" : "datagram",
	    s->family == AF_INET ? "ICMP" : "ICMPv6");
	return 0;
}

static void
sock_close(struct icmpsock *s)
{
	if (s->ev != NULL) {
		event_free(s->ev);
		s->ev = NULL;
	}
	if (s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
}

/* The open socket for a family, or NULL with errno. */
static struct icmpsock *
sock_for(int family)
{
	struct icmpsock *s;

	if (family == AF_INET)
		s = &sock4;
	else if (family == AF_INET6)
		s = &sock6;
	else {
		errno = EAFNOSUPPORT;
		return NULL;
	}
	if (sock_open(s) == -1)
		return NULL;
	return s;
}

/* A free slot for pg, the table growing as needed. */
static uint32_t
slot_take(struct ping *pg)
{
	uint32_t	 i, n;

	for (n = 0; n < nslots; n++) {
		i = (slot_hint + n) % nslots;
		if (slots[i] == NULL) {
			slot_hint = i + 1;
			slots[i] = pg;
			return i;
		}
	}
	n = nslots == 0 ? 64 : nslots * 2;
	slots = xreallocarray(slots, n, sizeof(*slots));
	memset(slots + nslots, 0, (n - nslots) * sizeof(*slots));
	i = nslots;
	nslots = n;
	slots[i] = pg;
	slot_hint = i + 1;
	return i;
}

/*
 * Start a check: echoes go out from the next loop turn on, spaced
 * SPACING_US apart, or closer so that all are sent in the first half of
 * the time we wait; we wait for replies until just before the engine's
 * deadline (a margin of a tenth of the timeout, 10 to 500 ms) and then
 * count what is missing as lost. Returns 0, or -1 with p->r set.
 */
static int
ping_start(struct probe *p)
{
	struct ping	*pg;
	struct icmpsock	*s;
	struct timeval	 now = { 0, 0 };
	int64_t		 timeout, margin, window;

	if ((s = sock_for(p->addr.ss_family)) == NULL) {
		result_set(&p->r, CHECK_UNKNOWN, "cannot open an ICMP socket "
		    "for %s: %s (run as root, or allow our group in "
		    "net.ipv4.ping_group_range)", p->addrstr, strerror(errno));
		return -1;
	}
	if (s->ev == NULL && (s->ev = event_new(engine_base(p->eng), s->fd,
	    EV_READ | EV_PERSIST, on_icmp, s)) == NULL) {
		result_set(&p->r, CHECK_UNKNOWN, "cannot watch the ICMP socket");
		return -1;
	}
	if (event_add(s->ev, NULL) == -1) {
		result_set(&p->r, CHECK_UNKNOWN, "cannot watch the ICMP socket");
		return -1;
	}
	pg = xcalloc(1, sizeof(*pg));
	pg->p = p;
	pg->s = s;
	pg->count = p->sc->o.count;
	if (pg->count == 0)
		pg->count = 1;
	if (pg->count > COUNT_MAX)
		pg->count = COUNT_MAX;
	pg->cookie = ((uint64_t)random() << 33) ^ ((uint64_t)random() << 11) ^
	    (uint64_t)random();
	pg->slot = slot_take(pg);
	timeout = (int64_t)p->sc->o.timeout * 1000;
	margin = timeout / 10;
	if (margin < MARGIN_MIN_US)
		margin = MARGIN_MIN_US;
	if (margin > MARGIN_MAX_US)
		margin = MARGIN_MAX_US;
	pg->t0 = mono_us();
	pg->give_up = p->deadline_mono - margin;
	window = pg->give_up - pg->t0;
	if (window <= 0) {
		/* Name resolution took the time: let the engine's deadline
		 * say so, rather than call every echo lost. */
		window = 0;
		pg->give_up = p->deadline_mono + 1000000;
	}
	pg->spacing = SPACING_US;
	if (pg->spacing > window / 2 / pg->count)
		pg->spacing = window / 2 / pg->count;
	p->priv = pg;
	if ((pg->timer = evtimer_new(engine_base(p->eng), on_tick,
	    pg)) == NULL || evtimer_add(pg->timer, &now) == -1) {
		result_set(&p->r, CHECK_UNKNOWN, "cannot arm the ping timer");
		return -1;
	}
	return 0;
}

/* The one teardown of a ping check; its replies are ignored after. */
static void
ping_release(struct probe *p)
{
	struct ping *pg = p->priv;

	if (pg == NULL)
		return;
	if (pg->timer != NULL)
		event_free(pg->timer);
	slots[pg->slot] = NULL;
	free(pg);
	p->priv = NULL;
}

static const char *
ping_phase(struct probe *p)
{
	(void)p;
	return "echo replies";
}

/* The Internet checksum (RFC 1071). */
static uint16_t
cksum(const void *data, size_t len)
{
	const uint8_t	*b = data;
	uint32_t	 sum = 0;

	for (; len > 1; b += 2, len -= 2)
		sum += (uint32_t)b[0] << 8 | b[1];
	if (len == 1)
		sum += (uint32_t)b[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int64_t
realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Send echo i. On a datagram socket the kernel sets the id (its port for
 * the socket) and the checksum; on a raw one we do. A refused send counts
 * as lost at once.
 */
static void
send_echo(struct ping *pg, unsigned i)
{
	uint8_t			 pkt[ECHO_HDR + sizeof(struct payload)];
	struct payload		 pl;
	struct sockaddr_storage	 to;
	uint16_t		 sum, v;
	ssize_t			 n;

	memset(pkt, 0, sizeof(pkt));
	memset(&pl, 0, sizeof(pl));
	pl.magic = PAYLOAD_MAGIC;
	pl.slot = pg->slot;
	pl.cookie = pg->cookie;
	pl.index = i;
	memcpy(pkt + ECHO_HDR, &pl, sizeof(pl));
	pg->seq[i] = next_seq++;
	pkt[0] = pg->s->family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	v = htons(ident);
	memcpy(pkt + 4, &v, 2);
	v = htons(pg->seq[i]);
	memcpy(pkt + 6, &v, 2);
	if (pg->s->family == AF_INET) {
		sum = htons(cksum(pkt, sizeof(pkt)));
		memcpy(pkt + 2, &sum, 2);
	}
	memcpy(&to, &pg->p->addr, sizeof(to));
	if (to.ss_family == AF_INET)
		((struct sockaddr_in *)&to)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&to)->sin6_port = 0;
	pg->sent_ns[i] = realtime_ns();
	pg->rtt_us[i] = -1;
	n = sendto(pg->s->fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&to,
	    pg->p->addrlen);
	if (n != (ssize_t)sizeof(pkt)) {
		pg->send_errno = n == -1 ? errno : EMSGSIZE;
		pg->sent_ns[i] = 0;
		pg->failed++;
	}
}

/* Every echo sent has its answer (or could not be sent)? */
static int
all_in(const struct ping *pg)
{
	return pg->sent == pg->count &&
	    pg->nreplies + pg->failed == pg->count;
}

/*
 * The check's clock: send the echoes that are due, then sleep until the
 * next one is due or, all sent, until we give up waiting. Deadlines are
 * absolute, from t0, so a late wake-up does not stretch the check.
 */
static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct ping	*pg = arg;
	struct timeval	 tv;
	int64_t		 now = mono_us(), next;

	(void)fd;
	(void)what;
	while (pg->sent < pg->count &&
	    pg->t0 + (int64_t)pg->sent * pg->spacing <= now)
		send_echo(pg, pg->sent++);
	if (all_in(pg) || (pg->sent == pg->count && now >= pg->give_up)) {
		ping_finish(pg);
		return;
	}
	next = pg->sent < pg->count ?
	    pg->t0 + (int64_t)pg->sent * pg->spacing : pg->give_up;
	if (next < now)
		next = now;
	us_to_timeval(next - now, &tv);
	if (evtimer_add(pg->timer, &tv) == -1) {
		log_warnx("%s: cannot re-arm the ping timer", pg->p->sc->id);
		ping_finish(pg);
	}
}

/*
 * The socket is readable: take up to RECV_BURST packets, each with its
 * kernel receive time when there is one.
 */
static void
on_icmp(evutil_socket_t fd, short what, void *arg)
{
	struct icmpsock		*s = arg;
	uint8_t			 buf[PKT_MAX];
	union {
		struct cmsghdr	 h;
		char		 b[CMSG_SPACE(sizeof(struct timespec))];
	}			 ctl;
	struct sockaddr_storage	 from;
	struct iovec		 iov;
	struct msghdr		 msg;
	struct cmsghdr		*cm;
	struct timespec		 ts;
	int64_t			 rx;
	ssize_t			 n;
	int			 i;

	(void)what;
	for (i = 0; i < RECV_BURST; i++) {
		memset(&msg, 0, sizeof(msg));
		memset(&from, 0, sizeof(from));
		iov.iov_base = buf;
		iov.iov_len = sizeof(buf);
		msg.msg_name = &from;
		msg.msg_namelen = sizeof(from);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = ctl.b;
		msg.msg_controllen = sizeof(ctl.b);
		if ((n = recvmsg(fd, &msg, 0)) == -1) {
			if (errno != EAGAIN && errno != EINTR)
				log_debug("ping: recvmsg: %s", strerror(errno));
			return;
		}
		rx = 0;
		for (cm = CMSG_FIRSTHDR(&msg); cm != NULL;
		    cm = CMSG_NXTHDR(&msg, cm))
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SCM_TIMESTAMPNS &&
			    cm->cmsg_len >= CMSG_LEN(sizeof(ts))) {
				memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
				rx = (int64_t)ts.tv_sec * 1000000000 +
				    ts.tv_nsec;
			}
		if (rx == 0)
			rx = realtime_ns();
		if (msg.msg_flags & MSG_TRUNC)
			continue;	/* not one of ours */
		reply(s, buf, n, &from, rx);
	}
}

static int
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		    &((const struct sockaddr_in *)b)->sin_addr,
		    sizeof(struct in_addr)) == 0;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
	    &((const struct sockaddr_in6 *)b)->sin6_addr,
	    sizeof(struct in6_addr)) == 0;
}

/*
 * One packet from s, received at rx (CLOCK_REALTIME ns). Only a
 * well-formed echo reply to an echo of a check in flight counts: from
 * the address pinged, with our id on a raw socket, a valid checksum on
 * raw IPv4, the payload we sent, the sequence number it went out with,
 * and not seen before. Anything else is dropped without a word.
 */
static void
reply(struct icmpsock *s, const uint8_t *buf, size_t n,
    const struct sockaddr_storage *from, int64_t rx)
{
	struct payload	 pl;
	struct ping	*pg;
	const uint8_t	*icmp = buf;
	size_t		 ihl, len = n;
	uint16_t	 id, seq;
	int64_t		 rtt;

	if (s->raw && s->family == AF_INET) {
		if (n < 20 || (buf[0] >> 4) != 4)
			return;
		ihl = (size_t)(buf[0] & 0x0f) * 4;
		if (ihl < 20 || ihl > n)
			return;
		icmp = buf + ihl;
		len = n - ihl;
	}
	if (len < ECHO_HDR + sizeof(pl))
		return;
	if (s->family == AF_INET) {
		if (icmp[0] != ICMP_ECHOREPLY || icmp[1] != 0)
			return;
		if (s->raw && cksum(icmp, len) != 0)
			return;
	} else if (icmp[0] != ICMP6_ECHO_REPLY || icmp[1] != 0)
		return;
	id = (uint16_t)(icmp[4] << 8 | icmp[5]);
	seq = (uint16_t)(icmp[6] << 8 | icmp[7]);
	if (s->raw && id != ident)
		return;
	memcpy(&pl, icmp + ECHO_HDR, sizeof(pl));
	if (pl.magic != PAYLOAD_MAGIC || pl.slot >= nslots ||
	    (pg = slots[pl.slot]) == NULL || pg->cookie != pl.cookie ||
	    pl.index >= pg->sent || pg->seq[pl.index] != seq ||
	    pg->sent_ns[pl.index] == 0 || pg->rtt_us[pl.index] >= 0 ||
	    !same_addr(from, &pg->p->addr))
		return;
	rtt = (rx - pg->sent_ns[pl.index]) / 1000;
	pg->rtt_us[pl.index] = rtt < 0 ? 0 : rtt;
	pg->nreplies++;
	if (all_in(pg))
		ping_finish(pg);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The verdict: critical when nothing answered or the loss reaches `loss`
 * (any loss with `loss 0%`), warning when the median round trip is over
 * `warn`, else ok. total_us is the median round trip, which the archives
 * graph as the server's latency; min, max (seconds) and loss (percent) go
 * to the archives as perfdata. Ends the probe: pg is freed.
 */
static void
ping_finish(struct ping *pg)
{
	struct probe	*p = pg->p;
	int64_t		 rtts[COUNT_MAX], median;
	unsigned	 i, n = 0;
	double		 loss;
	enum check_status st;
	char		 why[96] = "";

	for (i = 0; i < pg->sent; i++)
		if (pg->sent_ns[i] != 0 && pg->rtt_us[i] >= 0)
			rtts[n++] = pg->rtt_us[i];
	loss = 100.0 * (pg->count - n) / pg->count;
	p->r.nperf = 3;
	snprintf(p->r.perf[0].label, sizeof(p->r.perf[0].label), "rtt_min");
	snprintf(p->r.perf[1].label, sizeof(p->r.perf[1].label), "rtt_max");
	snprintf(p->r.perf[2].label, sizeof(p->r.perf[2].label), "loss");
	p->r.perf[2].value = loss;
	if (pg->failed > 0)
		snprintf(why, sizeof(why), "; %u not sent: %s", pg->failed,
		    strerror(pg->send_errno));
	if (n == 0) {
		p->r.perf[0].value = p->r.perf[1].value = NAN;
		result_set(&p->r, CHECK_CRITICAL, "loss 100%% (0/%u replies)%s",
		    pg->count, why);
		probe_done(p);
		return;
	}
	qsort(rtts, n, sizeof(rtts[0]), cmp_i64);
	median = n % 2 ? rtts[n / 2] : (rtts[n / 2 - 1] + rtts[n / 2]) / 2;
	p->r.total_us = median;
	p->r.connect_us = p->r.tls_us = p->r.firstbyte_us = -1;
	p->r.perf[0].value = rtts[0] / 1e6;
	p->r.perf[1].value = rtts[n - 1] / 1e6;
	if (loss > 0 && loss >= p->sc->o.loss)
		st = CHECK_CRITICAL;
	else if (p->sc->o.warn > 0 && median > (int64_t)p->sc->o.warn * 1000)
		st = CHECK_WARNING;
	else
		st = CHECK_OK;
	result_set(&p->r, st, "loss %.0f%% (%u/%u replies), rtt median %.2f ms "
	    "min %.2f max %.2f%s", loss, n, pg->count, median / 1000.0,
	    rtts[0] / 1000.0, rtts[n - 1] / 1000.0, why);
	probe_done(p);
}
