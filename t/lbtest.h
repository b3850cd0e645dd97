/*
 * lbtest.h: what tocsin-lb's Check suites (t/test_backend.c,
 * t/test_persist.c) share, defined in t/lbtest.c.
 */
#ifndef TOCSIN_LBTEST_H
#define TOCSIN_LBTEST_H

#include "lb.h"

/* lbtest.c */
struct backend	*lbtest_member(const char *, enum be_health);

#endif /* TOCSIN_LBTEST_H */
