/*
 * http_judge.h: the verdict on an HTTP answer, the same whichever client
 * fetched it (libcurl in check_http.c, our own in http_native.c): the
 * status against `expect`, the body against `body`, and the OK message.
 */
#ifndef TOCSIN_HTTP_JUDGE_H
#define TOCSIN_HTTP_JUDGE_H

#include <stddef.h>

struct probe;

#define HTTP_BODY_MAX	(1024 * 1024)	/* body bytes read, at most */

int		 http_judge_head(struct probe *, long status, int hdr_end);
int		 http_judge_body(struct probe *, long status, const char *body,
		    int over);
void		 http_judge_ok(struct probe *, long status, size_t len,
		    int over);

#endif
