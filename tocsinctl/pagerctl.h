/* pagerctl.h: `tocsinctl pages` and `test-page`, tocsin-pager's socket
 * (pagerctl.c). */
#ifndef TOCSINCTL_PAGERCTL_H
#define TOCSINCTL_PAGERCTL_H

int	pagerctl_pages(int fd, int json);
int	pagerctl_test_page(int fd, const char *contact, int json);

#endif
