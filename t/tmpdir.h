/*
 * tmpdir.h: the folder a Check suite's tests work in (t/tmpdir.c), made
 * afresh by the suite's setup and removed by its teardown.
 */
#ifndef TOCSIN_TMPDIR_H
#define TOCSIN_TMPDIR_H

#include <stddef.h>

/* tmpdir.c */
void	tmpdir_make(char *, size_t, const char *);
void	tmpdir_remove(const char *);

#endif /* TOCSIN_TMPDIR_H */
