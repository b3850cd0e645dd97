/*
 * http_answer.h: an HTTP/1.1 answer read as curl reads it, from bytes in
 * any pieces, with no I/O: http_native.c feeds it, t/test_http_answer.c
 * tests it.
 */
#ifndef TOCSIN_HTTP_ANSWER_H
#define TOCSIN_HTTP_ANSWER_H

#include <stddef.h>

struct http_answer;

#define HTTP_ANSWER_ERR_MAX	200	/* bytes of a failure's words */

enum http_step {
	HTTP_MORE,			/* read on */
	HTTP_DONE,			/* the answer is whole */
	HTTP_FAILED,			/* http_answer_error says why */
};

/* What a whole answer showed. */
struct http_facts {
	long		 status;
	int		 hdr_end;	/* the header's blank line came */
	size_t		 len;		/* body bytes taken */
	int		 over;		/* stopped at HTTP_BODY_MAX */
	const char	*body;		/* kept body, NUL-terminated, or NULL */
};

struct http_answer *http_answer_new(int head, int keep_body);
void		 http_answer_free(struct http_answer *);
enum http_step	 http_answer_feed(struct http_answer *, const char *, size_t);
enum http_step	 http_answer_close(struct http_answer *);
const char	*http_answer_error(const struct http_answer *);
void		 http_answer_facts(const struct http_answer *,
		    struct http_facts *);

#endif
