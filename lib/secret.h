/*
 * secret.h: reading a secret (a password) from a file of its own, once,
 * when the config is loaded; never on an event loop.
 */
#ifndef TOCSIN_SECRET_H
#define TOCSIN_SECRET_H

#include <stddef.h>

#define SECRET_MAX	1024	/* bytes of a secret, without its newline */

int	 secret_read(const char *path, char **secret, int *world_readable,
	    char *err, size_t errlen);
int	 secret_read_private(const char *path, const char *label,
	    char **secret, char *err, size_t errlen);
void	 secret_free(char *);

#endif
