/*
 * http_native.h: plain http:// checks on probed's own HTTP/1.1 client,
 * without libcurl. check_http.c hands it the checks it takes.
 */
#ifndef TOCSIN_HTTP_NATIVE_H
#define TOCSIN_HTTP_NATIVE_H

struct conf;
struct probe;

extern const struct check_ops http_native_ops;

void		*http_native_prepare(const struct conf *);
void		 http_native_prep_free(void *);
int		 http_native_takes(const struct probe *);

#endif
