/*
 * dispatch.h: the pager's core on the event loop (dispatch.c).
 */
#ifndef TOCSIN_DISPATCH_H
#define TOCSIN_DISPATCH_H

#include <stddef.h>

struct conf;
struct dispatch;
struct event_base;

struct dispatch	*dispatch_new(struct event_base *, struct conf *, char *err,
		    size_t errlen);
void		 dispatch_free(struct dispatch *);
struct conf	*dispatch_reload(struct dispatch *, struct conf *, char *err,
		    size_t errlen);
const char	*dispatch_maildir(const struct dispatch *);

#endif
