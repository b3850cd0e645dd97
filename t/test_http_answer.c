/*
 * test_http_answer.c: probed/http_answer.c, the HTTP answer reader of the
 * native http checks: the same verdict however the bytes are split across
 * reads (whole, one byte at a time, uneven pieces), reading stopped where
 * the answer ends, and curl's words for the faults no real server in the
 * shell tests sends (a NUL byte in a header, a cut Content-Length).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "http_answer.h"
#include "http_judge.h"

#include "ckrun.h"

static Suite	*http_answer_suite(void);

/* How one read of an answer ended. */
struct outcome {
	enum http_step	 step;		/* HTTP_DONE or HTTP_FAILED */
	long		 status;
	int		 hdr_end;
	size_t		 len;
	int		 over;
	char		 body[64];	/* the kept body's first bytes */
	char		 err[HTTP_ANSWER_ERR_MAX];
	size_t		 fed;		/* bytes fed before it ended */
};

/*
 * Feed len bytes of text in pieces of at most piece bytes (0: whole),
 * then the close if the answer still wants more; head: asked with HEAD.
 */
static void
read_all(const char *text, size_t len, size_t piece, int head,
    struct outcome *o)
{
	struct http_answer	*a = http_answer_new(head, 1);
	struct http_facts	 f;
	size_t			 at = 0, n;

	memset(o, 0, sizeof(*o));
	o->step = HTTP_MORE;
	while (at < len && o->step == HTTP_MORE) {
		n = piece == 0 || len - at < piece ? len - at : piece;
		o->step = http_answer_feed(a, text + at, n);
		at += n;
	}
	o->fed = at;
	if (o->step == HTTP_MORE)
		o->step = http_answer_close(a);
	if (o->step == HTTP_FAILED)
		snprintf(o->err, sizeof(o->err), "%s", http_answer_error(a));
	else {
		http_answer_facts(a, &f);
		o->status = f.status;
		o->hdr_end = f.hdr_end;
		o->len = f.len;
		o->over = f.over;
		snprintf(o->body, sizeof(o->body), "%s",
		    f.body != NULL ? f.body : "");
	}
	http_answer_free(a);
}

/* Answers of every kind the reader must take alike in any pieces. */
static const char *const answers[] = {
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3\r\nOK\n\r\n4;x=y\r\nmore\r\n0\r\nTrailer: z\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n64\r\nhello",
	"HTTP/1.0 200 OK\r\n\r\nto the close",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\n"
	    "Content-Length: 4\r\n\r\ngone",
	"HTTP/1.1 200 OK\nContent-Length: 3\n\nOK\n",
	"HTTP/1.1 2x0 OK\r\n\r\n",
	"HELLO WORLD\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Len",
	"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\nOK",
	"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
	"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
	"http/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\ngone",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n"
	    "Content-Length: 2\r\n\r\n2\r\nOK\r\n0\r\n\r\n",
	"",
};

START_TEST(same_verdict_in_any_pieces)
{
	static const size_t pieces[] = { 1, 2, 3, 7, 16 };
	struct outcome	 whole, cut;
	size_t		 i, k;

	for (i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		read_all(answers[i], strlen(answers[i]), 0, 0, &whole);
		for (k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
			read_all(answers[i], strlen(answers[i]), pieces[k], 0,
			    &cut);
			ck_assert_msg(cut.step == whole.step &&
			    cut.status == whole.status &&
			    cut.hdr_end == whole.hdr_end &&
			    cut.len == whole.len &&
			    strcmp(cut.body, whole.body) == 0 &&
			    strcmp(cut.err, whole.err) == 0,
			    "answer %zu in pieces of %zu: \"%s\" / \"%s\", "
			    "%zu / %zu bytes", i, pieces[k], cut.err,
			    whole.err, cut.len, whole.len);
		}
	}
}
END_TEST

START_TEST(content_length_ends_the_answer_without_the_close)
{
	const char	*t = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
			    "OKextra";
	struct outcome	 o;

	read_all(t, strlen(t), 1, 0, &o);
	ck_assert_int_eq(o.step, HTTP_DONE);
	ck_assert_int_eq(o.status, 200);
	ck_assert_uint_eq(o.len, 2);
	ck_assert_str_eq(o.body, "OK");
	ck_assert_uint_eq(o.fed, strlen(t) - 5);	/* "extra" unread */
}
END_TEST

START_TEST(chunked_body_is_decoded)
{
	const char	*t = answers[1];
	struct outcome	 o;

	read_all(t, strlen(t), 0, 0, &o);
	ck_assert_int_eq(o.step, HTTP_DONE);
	ck_assert_int_eq(o.hdr_end, 1);
	ck_assert_str_eq(o.body, "OK\nmore");
}
END_TEST

START_TEST(head_ends_at_the_blank_line)
{
	const char	*t = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK";
	struct outcome	 o;

	read_all(t, strlen(t), 0, 1, &o);
	ck_assert_int_eq(o.step, HTTP_DONE);
	ck_assert_uint_eq(o.len, 0);
	ck_assert_uint_eq(o.fed, strlen(t));
}
END_TEST

START_TEST(not_http_fails_at_its_first_wrong_byte)
{
	struct outcome	 o;

	read_all("HELLO", 5, 1, 0, &o);
	ck_assert_int_eq(o.step, HTTP_FAILED);
	ck_assert_str_eq(o.err, "bad answer: Received HTTP/0.9 when not "
	    "allowed");
	ck_assert_uint_eq(o.fed, 2);		/* "HE" is not "HT" */
}
END_TEST

START_TEST(nul_byte_in_a_header_is_a_bad_answer)
{
	const char	 t[] = "HTTP/1.1 200 OK\r\nX-A: b\0c\r\n\r\n";
	struct outcome	 o;

	read_all(t, sizeof(t) - 1, 0, 0, &o);
	ck_assert_int_eq(o.step, HTTP_FAILED);
	ck_assert_str_eq(o.err, "bad answer: Nul byte in header");
}
END_TEST

START_TEST(cut_body_says_what_is_missing)
{
	struct outcome	 o;

	read_all(answers[10], strlen(answers[10]), 0, 0, &o);
	ck_assert_int_eq(o.step, HTTP_FAILED);
	ck_assert_str_eq(o.err, "connection broken mid-answer: transfer "
	    "closed with 95 bytes remaining to read");
	read_all(answers[16], 0, 0, 0, &o);
	ck_assert_str_eq(o.err, "connection closed with no answer");
	read_all(answers[9], strlen(answers[9]), 0, 0, &o);
	ck_assert_int_eq(o.step, HTTP_DONE);
	ck_assert_int_eq(o.hdr_end, 0);		/* judged "mid-header" */
}
END_TEST

START_TEST(reading_stops_after_one_mib_of_body)
{
	const char	*hdr = "HTTP/1.1 200 OK\r\n\r\n";
	size_t		 n = strlen(hdr) + HTTP_BODY_MAX + 65536;
	char		*t = malloc(n);
	struct outcome	 o;

	ck_assert_ptr_nonnull(t);
	memset(t, 'x', n);
	memcpy(t, hdr, strlen(hdr));
	read_all(t, n, 16384, 0, &o);
	ck_assert_int_eq(o.step, HTTP_DONE);
	ck_assert_int_eq(o.over, 1);
	ck_assert_uint_eq(o.len, HTTP_BODY_MAX);
	ck_assert_uint_lt(o.fed, n);
	free(t);
}
END_TEST

START_TEST(header_line_over_100_kib_is_refused)
{
	size_t		 n = 120 * 1024;
	char		*t = malloc(n);
	struct outcome	 o;

	ck_assert_ptr_nonnull(t);
	memset(t, 'x', n);
	memcpy(t, "HTTP/1.1 200 OK\r\nX: ", 20);
	read_all(t, n, 4096, 0, &o);
	ck_assert_int_eq(o.step, HTTP_FAILED);
	ck_assert_str_eq(o.err, "Out of memory");
	ck_assert_uint_lt(o.fed, n);
	free(t);
}
END_TEST

static Suite *
http_answer_suite(void)
{
	Suite	*s = suite_create("http_answer");
	TCase	*tc = tcase_create("read");

	tcase_add_test(tc, same_verdict_in_any_pieces);
	tcase_add_test(tc, content_length_ends_the_answer_without_the_close);
	tcase_add_test(tc, chunked_body_is_decoded);
	tcase_add_test(tc, head_ends_at_the_blank_line);
	tcase_add_test(tc, not_http_fails_at_its_first_wrong_byte);
	tcase_add_test(tc, nul_byte_in_a_header_is_a_bad_answer);
	tcase_add_test(tc, cut_body_says_what_is_missing);
	tcase_add_test(tc, reading_stops_after_one_mib_of_body);
	tcase_add_test(tc, header_line_over_100_kib_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ckrun(http_answer_suite());
}
