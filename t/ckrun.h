/*
 * ckrun.h: main's run of a Check suite (t/ckrun.c), for every suite in t/.
 */
#ifndef TOCSIN_CKRUN_H
#define TOCSIN_CKRUN_H

#include <check.h>

/* ckrun.c */
int	ckrun(Suite *);

#endif /* TOCSIN_CKRUN_H */
