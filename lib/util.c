/*
 * util.c: durations ("500ms", "90s", "1h30m", "2d4h"), bounded numbers,
 * percentages, clocks, and the config's word splitting, which exec checks
 * use to turn a command line into an argv without a shell; opening a
 * file that must be a regular one without blocking on anything else.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "xmalloc.h"

/* The units of a duration, largest first; a compound goes down this list. */
static const struct {
	const char	*name;
	uint64_t	 ms;
} duration_units[] = {
	{ "d", 86400000 }, { "h", 3600000 }, { "ms", 1 }, { "m", 60000 },
	{ "s", 1000 },
};
#define NDURATION_UNITS (sizeof(duration_units) / sizeof(duration_units[0]))

/* The unit s starts with (ms before m), its length in *len, or -1. */
static int
duration_unit(const char *s, size_t *len)
{
	size_t i, n;

	for (i = 0; i < NDURATION_UNITS; i++) {
		n = strlen(duration_units[i].name);
		if (strncmp(s, duration_units[i].name, n) == 0 &&
		    !isalpha((unsigned char)s[n])) {
			*len = n;
			return i;
		}
	}
	return -1;
}

/*
 * Parse a duration: one or more whole numbers each with a unit (d, h, m,
 * s, ms), larger units first, each unit once: "500ms", "90s", "1m30s",
 * "1h30m", "2d4h". A bare "0" is zero. Returns 0 and stores milliseconds
 * (never more than UINT64_MAX / 1000, so it converts to microseconds);
 * DURATION_BARE for a bare number other than 0, whose unit a reader would
 * have to guess; -1 for any other bad text. *ms is untouched on error.
 */
int
parse_duration_ms(const char *s, uint64_t *ms)
{
	const char		*c = s;
	char			*end;
	unsigned long long	 n;
	uint64_t		 total = 0, mult, last = UINT64_MAX;
	size_t			 len;
	int			 u;

	if (!isdigit((unsigned char)*c))
		return -1;
	do {
		if (!isdigit((unsigned char)*c))
			return -1;
		errno = 0;
		n = strtoull(c, &end, 10);
		if (errno != 0)
			return -1;
		if (*end == '\0' && c == s) {
			if (n != 0)
				return DURATION_BARE;
			*ms = 0;
			return 0;
		}
		if ((u = duration_unit(end, &len)) == -1)
			return -1;
		mult = duration_units[u].ms;
		if (mult >= last)	/* "30m1h", "1m1m" */
			return -1;
		last = mult;
		if (n > (UINT64_MAX / 1000 - total) / mult)
			return -1;
		total += n * mult;
		c = end + len;
	} while (*c != '\0');
	*ms = total;
	return 0;
}

/* Parse a decimal number no greater than max; 0 or -1. */
int
parse_uint(const char *s, unsigned long max, unsigned long *v)
{
	char		*end;
	unsigned long	 n;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || n > max)
		return -1;
	*v = n;
	return 0;
}

/* Parse "20%" or "20" (0..100, decimals allowed). */
int
parse_percent(const char *s, double *v)
{
	char	*end;
	double	 d;

	if (!isdigit((unsigned char)*s))
		return -1;
	d = strtod(s, &end);
	if (*end == '%')
		end++;
	if (*end != '\0' || d < 0 || d > 100)
		return -1;
	*v = d;
	return 0;
}

/* Parse "23:00-07:00" into minutes after midnight. */
int
parse_hhmm_range(const char *s, int *from, int *to)
{
	int	 h1, m1, h2, m2, n = 0;

	if (sscanf(s, "%2d:%2d-%2d:%2d%n", &h1, &m1, &h2, &m2, &n) != 4 ||
	    s[n] != '\0')
		return -1;
	if (h1 < 0 || h1 > 23 || h2 < 0 || h2 > 23 || m1 < 0 || m1 > 59 ||
	    m2 < 0 || m2 > 59)
		return -1;
	*from = h1 * 60 + m1;
	*to = h2 * 60 + m2;
	return 0;
}

int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The shortest exact spelling: 90000 -> "90s", 120000 -> "2m". */
void
format_duration(uint64_t ms, char *buf, size_t len)
{
	if (ms % 86400000 == 0 && ms != 0)
		snprintf(buf, len, "%llud", (unsigned long long)(ms / 86400000));
	else if (ms % 3600000 == 0 && ms != 0)
		snprintf(buf, len, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms % 60000 == 0 && ms != 0)
		snprintf(buf, len, "%llum", (unsigned long long)(ms / 60000));
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
}

/*
 * Split a command line into words: blanks separate, double quotes group,
 * backslash escapes the next character inside quotes (\" and \\) and
 * outside. Returns 0 with a NULL-terminated argv owned by the caller
 * (free_words), or -1 with *err set.
 */
int
split_words(const char *s, char ***argvp, int *argcp, const char **err)
{
	char	**argv = NULL, *w;
	int	  argc = 0;
	size_t	  len;

	w = xmalloc(strlen(s) + 1);
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		len = 0;
		while (*s != '\0' && *s != ' ' && *s != '\t') {
			if (*s == '"') {
				s++;
				while (*s != '"') {
					if (*s == '\0') {
						*err = "unterminated string";
						goto fail;
					}
					if (*s == '\\' && s[1] != '\0')
						s++;
					w[len++] = *s++;
				}
				s++;
			} else {
				if (*s == '\\' && s[1] != '\0')
					s++;
				w[len++] = *s++;
			}
		}
		argv = xreallocarray(argv, argc + 2, sizeof(*argv));
		/* w is not terminated: copy len bytes, not a string. */
		argv[argc] = xmalloc(len + 1);
		memcpy(argv[argc], w, len);
		argv[argc++][len] = '\0';
		argv[argc] = NULL;
	}
	free(w);
	if (argc == 0) {
		*err = "empty command";
		return -1;
	}
	*argvp = argv;
	*argcp = argc;
	return 0;
fail:
	free(w);
	if (argv != NULL) {
		argv[argc] = NULL;
		free_words(argv);
	}
	return -1;
}

void
free_words(char **argv)
{
	char **p;

	if (argv == NULL)
		return;
	for (p = argv; *p != NULL; p++)
		free(*p);
	free(argv);
}

/* Levenshtein distance, for "did you mean"; words are short. */
unsigned
edit_distance(const char *a, const char *b)
{
	unsigned	 row[64], prev, tmp, i, j, la, lb;

	la = strlen(a);
	lb = strlen(b);
	if (la >= 63 || lb >= 63)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			row[j] = prev + (a[i - 1] != b[j - 1]);
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (tmp + 1 < row[j])
				row[j] = tmp + 1;
			prev = tmp;
		}
	}
	return row[lb];
}

/* FNV-1a: a string's hash for the small tables (ids, hosts, names). */
unsigned
hash_str(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/*
 * Copy src into dst (size bytes, size > 0), NUL-terminated; where it must
 * cut, it cuts before a UTF-8 sequence rather than inside one.
 */
void
copy_utf8(char *dst, size_t size, const char *src)
{
	size_t	 len;

	len = strlen(src);
	if (len >= size) {
		len = size - 1;
		while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/*
 * Open path for reading only if it is a regular file. The open never
 * blocks (O_NONBLOCK: a FIFO with no writer, a tty) and a FIFO, device,
 * socket or folder is refused after fstat, before anything is read.
 * Returns the fd (close-on-exec, blocking again) with *st filled, or -1
 * with *err set to a static message.
 */
int
open_regular(const char *path, struct stat *st, const char **err)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) ==
	    -1) {
		*err = strerror(errno);
		return -1;
	}
	if (fstat(fd, st) == -1) {
		*err = strerror(errno);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		*err = S_ISDIR(st->st_mode) ? "a folder, not a regular file" :
		    "not a regular file";
		close(fd);
		return -1;
	}
	if (fcntl(fd, F_SETFL, 0) == -1) {
		*err = strerror(errno);
		close(fd);
		return -1;
	}
	return fd;
}
