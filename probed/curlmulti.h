/*
 * curlmulti.h: the one owner of libcurl's multi handle and of the easy
 * handles: check kinds ask it for a handle, start the transfer on it, and
 * give the handle back; it drives curl's sockets and timers on the loop
 * and tells the probe (the handle's CURLOPT_PRIVATE) when a transfer ends.
 */
#ifndef TOCSIN_CURLMULTI_H
#define TOCSIN_CURLMULTI_H

#include <curl/curl.h>

struct event_base;

void		 curlmulti_init(struct event_base *);
void		 curlmulti_shutdown(void);
CURL		*curlmulti_get(void);
int		 curlmulti_add(CURL *);
void		 curlmulti_put(CURL *);

#endif
