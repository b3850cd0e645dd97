/*
 * curlglue.h: libcurl's multi_socket interface driven by libevent.
 */
#ifndef TOCSIN_CURLGLUE_H
#define TOCSIN_CURLGLUE_H

#include <curl/curl.h>

struct event_base;
struct curlglue;

/* Called for each finished transfer; `priv` is its CURLOPT_PRIVATE. */
typedef void	(*curlglue_done_fn)(void *priv, CURL *, CURLcode);

struct curlglue	*curlglue_new(struct event_base *, curlglue_done_fn);
void		 curlglue_free(struct curlglue *);
int		 curlglue_add(struct curlglue *, CURL *);
void		 curlglue_remove(struct curlglue *, CURL *);
CURLM		*curlglue_multi(struct curlglue *);

#endif
