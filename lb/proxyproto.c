/*
 * proxyproto.c: the PROXY protocol header (HAProxy's text version 1 and
 * binary version 2) that tells a server whom a connection came from and
 * where it arrived, sent first on each connection to it when the farm
 * says `proxy-protocol v1|v2`.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "lb.h"

static const unsigned char v2sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* One end of the connection as the header writes it. */
struct end {
	int		 family;	/* AF_INET, AF_INET6, or 0: unknown */
	unsigned char	 ip[16];
	uint16_t	 port;		/* host order */
};

static void	end_of(const struct sockaddr *, struct end *);
static size_t	write_v1(const struct end *, const struct end *,
		    unsigned char *, size_t);
static size_t	write_v2(const struct end *, const struct end *,
		    unsigned char *, size_t);

/* sa as an end; an IPv4-mapped IPv6 address (a [::] listener's IPv4
 * client) as the IPv4 address it is. */
static void
end_of(const struct sockaddr *sa, struct end *e)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)sa;

	memset(e, 0, sizeof(*e));
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		e->family = AF_INET;
		memcpy(e->ip, &sin->sin_addr, 4);
		e->port = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		e->family = AF_INET;
		memcpy(e->ip, &sin6->sin6_addr.s6_addr[12], 4);
		e->port = ntohs(sin6->sin6_port);
	} else if (sa->sa_family == AF_INET6) {
		e->family = AF_INET6;
		memcpy(e->ip, &sin6->sin6_addr, 16);
		e->port = ntohs(sin6->sin6_port);
	}
}

/* "PROXY TCP4 SRC DST SPORT DPORT\r\n", or "PROXY UNKNOWN\r\n" when the
 * two ends are not both of one known family. */
static size_t
write_v1(const struct end *src, const struct end *dst, unsigned char *out,
    size_t outlen)
{
	char	 s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int	 n;

	if (src->family == 0 || src->family != dst->family)
		n = snprintf((char *)out, outlen, "PROXY UNKNOWN\r\n");
	else {
		inet_ntop(src->family, src->ip, s, sizeof(s));
		inet_ntop(dst->family, dst->ip, d, sizeof(d));
		n = snprintf((char *)out, outlen, "PROXY %s %s %s %u %u\r\n",
		    src->family == AF_INET ? "TCP4" : "TCP6", s, d,
		    (unsigned)src->port, (unsigned)dst->port);
	}
	return n < 0 || (size_t)n >= outlen ? 0 : (size_t)n;
}

/* The signature, PROXY command, TCP over IPv4 or IPv6 with both
 * addresses and ports in network order; AF_UNSPEC with no address when
 * the ends are not both of one family. */
static size_t
write_v2(const struct end *src, const struct end *dst, unsigned char *out,
    size_t outlen)
{
	size_t	 alen = 0, ilen = 0;

	if (src->family != 0 && src->family == dst->family)
		ilen = src->family == AF_INET ? 4 : 16;
	alen = ilen == 0 ? 0 : 2 * ilen + 4;
	if (outlen < 16 + alen)
		return 0;
	memcpy(out, v2sig, sizeof(v2sig));
	out[12] = 0x21;		/* version 2, PROXY */
	out[13] = ilen == 0 ? 0x00 : ilen == 4 ? 0x11 : 0x21;
	out[14] = alen >> 8;
	out[15] = alen & 0xff;
	if (ilen == 0)
		return 16;
	memcpy(out + 16, src->ip, ilen);
	memcpy(out + 16 + ilen, dst->ip, ilen);
	out[16 + 2 * ilen] = src->port >> 8;
	out[17 + 2 * ilen] = src->port & 0xff;
	out[18 + 2 * ilen] = dst->port >> 8;
	out[19 + 2 * ilen] = dst->port & 0xff;
	return 16 + alen;
}

/*
 * Write the header of version (1 or 2) for a connection from src to dst
 * (the client's address and the one it connected to; either may be
 * NULL: unknown) into out. Returns its length, 0 when outlen is too
 * small (PROXYPROTO_MAX always fits) or version is neither.
 */
size_t
proxyproto_header(int version, const struct sockaddr *src,
    const struct sockaddr *dst, unsigned char *out, size_t outlen)
{
	struct end	 s, d;

	end_of(src, &s);
	end_of(dst, &d);
	if (version == 1)
		return write_v1(&s, &d, out, outlen);
	if (version == 2)
		return write_v2(&s, &d, out, outlen);
	return 0;
}

/*
 * The header of version for client, connected on socket fd (whose local
 * address is where it connected; unknown when that cannot be read).
 * Returns its length in out, as proxyproto_header.
 */
size_t
proxyproto_client(int version, int fd, const struct sockaddr *client,
    unsigned char *out, size_t outlen)
{
	struct sockaddr_storage	 local;
	socklen_t		 len = sizeof(local);
	int			 known;

	known = getsockname(fd, (struct sockaddr *)&local, &len) == 0;
	return proxyproto_header(version, client, known ?
	    (struct sockaddr *)&local : NULL, out, outlen);
}
