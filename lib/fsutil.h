/*
 * fsutil.h: the file tools every program shares: an atomic, durable write
 * (temporary, fsync, rename, folder fsync), mkdir -p, opening a folder
 * below another without following links, and removing the temporaries a
 * crash left behind.
 */
#ifndef TOCSIN_FSUTIL_H
#define TOCSIN_FSUTIL_H

#include <stddef.h>

#define FSUTIL_NOREPLACE	0x1	/* fail with EEXIST, never replace */

/*
 * The system calls fsutil_write_atomic makes to sync and to put the file
 * in place, so a test can see their order. The defaults are the real
 * calls; NULL restores them.
 */
struct fsutil_sys {
	int	(*fsync)(int fd);
	int	(*renameat)(int, const char *, int, const char *);
	int	(*linkat)(int, const char *, int, const char *, int);
};

int	 fsutil_write_atomic(int dirfd, const char *name, const void *data,
	    size_t len, int mode, int flags);
int	 fsutil_write_batch(int dirfd, size_t n, const char *const *names,
	    const char *const *data, int mode, int *ok);
int	 fsutil_mkdir_p(const char *path, int mode);
int	 fsutil_open_dir(int dirfd, const char *name, int mode);
int	 fsutil_clean_tmp(int dirfd, const char *what);
void	 fsutil_set_sys(const struct fsutil_sys *);

#endif
