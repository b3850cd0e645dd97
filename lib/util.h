/*
 * util.h: time and unit parsing, monotonic clocks, small string helpers.
 */
#ifndef TOCSIN_UTIL_H
#define TOCSIN_UTIL_H

#include <stddef.h>
#include <stdint.h>

struct stat;

#define DURATION_BARE	(-2)	/* parse_duration_ms: a number, no unit */

int	 parse_duration_ms(const char *, uint64_t *);
int	 parse_uint(const char *, unsigned long max, unsigned long *);
int	 parse_percent(const char *, double *);
int	 parse_hhmm_range(const char *, int *from_min, int *to_min);
int64_t	 now_us(void);		/* CLOCK_REALTIME, microseconds */
int64_t	 mono_us(void);		/* CLOCK_MONOTONIC, microseconds */
void	 format_duration(uint64_t ms, char *, size_t);
int	 split_words(const char *, char ***argv, int *argc, const char **err);
void	 free_words(char **);
unsigned edit_distance(const char *, const char *);
unsigned hash_str(const char *);
void	 copy_utf8(char *, size_t, const char *);
int	 open_regular(const char *, struct stat *, const char **err);

#endif
