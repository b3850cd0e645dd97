/*
 * test_proxyproto.c: lb/proxyproto.c, the PROXY header tocsin-lb sends
 * first to a farm's servers: its exact bytes in versions 1 and 2, IPv4,
 * IPv6, IPv4-mapped, and the unknown forms.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

#include <check.h>

#include "lb.h"

#include "ckrun.h"

static struct sockaddr_storage	 src, dst;
static unsigned char		 out[PROXYPROTO_MAX];

static struct sockaddr *
in4(struct sockaddr_storage *ss, const char *ip, int port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	return (struct sockaddr *)ss;
}

static struct sockaddr *
in6(struct sockaddr_storage *ss, const char *ip, int port)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	return (struct sockaddr *)ss;
}

static void
assert_v1(size_t n, const char *want)
{
	ck_assert_uint_eq(n, strlen(want));
	ck_assert_int_eq(memcmp(out, want, n), 0);
}

START_TEST(v1_ipv4_names_both_ends)
{
	assert_v1(proxyproto_header(1, in4(&src, "192.0.2.7", 56324),
	    in4(&dst, "198.51.100.1", 443), out, sizeof(out)),
	    "PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n");
}
END_TEST

START_TEST(v1_ipv6_and_mapped)
{
	assert_v1(proxyproto_header(1, in6(&src, "2001:db8::7", 1),
	    in6(&dst, "::1", 65535), out, sizeof(out)),
	    "PROXY TCP6 2001:db8::7 ::1 1 65535\r\n");
	/* A [::] listener's IPv4 client is written as IPv4. */
	assert_v1(proxyproto_header(1, in6(&src, "::ffff:192.0.2.7", 40000),
	    in4(&dst, "127.0.0.1", 80), out, sizeof(out)),
	    "PROXY TCP4 192.0.2.7 127.0.0.1 40000 80\r\n");
}
END_TEST

START_TEST(v1_unknown_when_families_differ_or_missing)
{
	assert_v1(proxyproto_header(1, in6(&src, "2001:db8::7", 1),
	    in4(&dst, "127.0.0.1", 80), out, sizeof(out)),
	    "PROXY UNKNOWN\r\n");
	assert_v1(proxyproto_header(1, in4(&src, "192.0.2.7", 1), NULL, out,
	    sizeof(out)), "PROXY UNKNOWN\r\n");
}
END_TEST

START_TEST(v1_longest_fits)
{
	size_t	 n;

	n = proxyproto_header(1,
	    in6(&src, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535),
	    in6(&dst, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535), out,
	    sizeof(out));
	ck_assert_uint_eq(n, 104);
	ck_assert_uint_eq(proxyproto_header(1, (struct sockaddr *)&src,
	    (struct sockaddr *)&dst, out, 50), 0);
}
END_TEST

START_TEST(v2_ipv4_bytes)
{
	static const unsigned char want[] = {
		0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49,
		0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c,
		192, 0, 2, 7, 198, 51, 100, 1,
		0xdc, 0x04, 0x01, 0xbb
	};
	size_t	 n;

	n = proxyproto_header(2, in4(&src, "192.0.2.7", 56324),
	    in4(&dst, "198.51.100.1", 443), out, sizeof(out));
	ck_assert_uint_eq(n, sizeof(want));
	ck_assert_int_eq(memcmp(out, want, n), 0);
}
END_TEST

START_TEST(v2_ipv6_and_unspec)
{
	size_t	 n;

	n = proxyproto_header(2, in6(&src, "2001:db8::7", 258),
	    in6(&dst, "::1", 80), out, sizeof(out));
	ck_assert_uint_eq(n, 16 + 36);
	ck_assert_int_eq(out[12], 0x21);
	ck_assert_int_eq(out[13], 0x21);
	ck_assert_int_eq(out[14], 0);
	ck_assert_int_eq(out[15], 36);
	ck_assert_int_eq(out[16], 0x20);
	ck_assert_int_eq(out[17], 0x01);
	ck_assert_int_eq(out[32 + 15], 1);	/* ::1 */
	ck_assert_int_eq(out[48], 1);		/* port 258 */
	ck_assert_int_eq(out[49], 2);
	ck_assert_int_eq(out[51], 80);
	n = proxyproto_header(2, in6(&src, "2001:db8::7", 1),
	    in4(&dst, "127.0.0.1", 80), out, sizeof(out));
	ck_assert_uint_eq(n, 16);
	ck_assert_int_eq(out[13], 0x00);
	ck_assert_int_eq(out[15], 0);
	ck_assert_uint_eq(proxyproto_header(3, (struct sockaddr *)&src,
	    (struct sockaddr *)&dst, out, sizeof(out)), 0);
}
END_TEST

static Suite *
proxyproto_suite(void)
{
	Suite	*su = suite_create("proxyproto");
	TCase	*tc = tcase_create("header");

	tcase_add_test(tc, v1_ipv4_names_both_ends);
	tcase_add_test(tc, v1_ipv6_and_mapped);
	tcase_add_test(tc, v1_unknown_when_families_differ_or_missing);
	tcase_add_test(tc, v1_longest_fits);
	tcase_add_test(tc, v2_ipv4_bytes);
	tcase_add_test(tc, v2_ipv6_and_unspec);
	suite_add_tcase(su, tc);
	return su;
}

int
main(void)
{
	return ckrun(proxyproto_suite());
}
