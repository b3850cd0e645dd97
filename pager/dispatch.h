/*
 * dispatch.h: the pager's core on the event loop (dispatch.c), its test
 * pages (testpage.c) and its control socket (ctl.c).
 */
#ifndef TOCSIN_DISPATCH_H
#define TOCSIN_DISPATCH_H

#include <stddef.h>

struct conf;
struct dispatch;
struct event_base;
struct json_t;

/* Where an answer for the control socket goes (taken). */
typedef void	 dispatch_answer_fn(void *arg, struct json_t *answer);

struct dispatch	*dispatch_new(struct event_base *, struct conf *, char *err,
		    size_t errlen);
void		 dispatch_free(struct dispatch *);
struct conf	*dispatch_reload(struct dispatch *, struct conf *, char *err,
		    size_t errlen);
const char	*dispatch_maildir(const struct dispatch *);
const struct conf *dispatch_conf(const struct dispatch *);
void		 dispatch_pages(struct dispatch *, dispatch_answer_fn *,
		    void *);

/* testpage.c */
struct testpages;
struct testpages *testpages_new(struct event_base *, char *err,
		    size_t errlen);
void		 testpages_free(struct testpages *);
int		 testpage_start(struct testpages *, const struct conf *,
		    const char *contact, dispatch_answer_fn *, void *,
		    char *err, size_t errlen);

/* ctl.c */
struct pagerctl;
struct pagerctl	*pagerctl_open(struct event_base *, struct dispatch *,
		    const struct conf *, long group);
void		 pagerctl_close(struct pagerctl *);

#endif
