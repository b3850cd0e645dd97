/*
 * perfdata.c: a plugin's output as the Nagios plugin guidelines define it:
 * the first line is the message, performance data follows the first '|'
 * of that line and of the long text after it. Values become series for
 * the archives, in base units.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "perfdata.h"

/*
 * Units and what one of them is in the base unit: time in seconds,
 * bytes in bytes (K, M, G, T are powers of 1024, as check_disk and
 * check_swap mean them), percent and counters as they are.
 */
static const struct unit {
	const char	*name;
	double		 mult;
} units[] = {
	{ "", 1 },
	{ "s", 1 },
	{ "ms", 1e-3 },
	{ "us", 1e-6 },
	{ "%", 1 },
	{ "c", 1 },
	{ "B", 1 },
	{ "KB", 1024.0 },
	{ "kB", 1024.0 },
	{ "KiB", 1024.0 },
	{ "MB", 1024.0 * 1024 },
	{ "MiB", 1024.0 * 1024 },
	{ "GB", 1024.0 * 1024 * 1024 },
	{ "GiB", 1024.0 * 1024 * 1024 },
	{ "TB", 1024.0 * 1024 * 1024 * 1024 },
	{ "TiB", 1024.0 * 1024 * 1024 * 1024 },
};
#define NUNITS	(sizeof(units) / sizeof(units[0]))

static int	 is_space(char);
static int	 is_alpha(char);
static int	 is_digit(char);
static int	 parse_span(const char *, const char *, struct perf_value *,
		    int, int);
static const char *parse_label(const char *, const char *, char *, size_t);
static int	 parse_value(const char *, const char *, double *);
static void	 copy_message(const char *, const char *, char *, size_t);

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

static int
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Read a label at s (before end) up to its '=', quoted ('it''s') or not,
 * into out sanitised for librrd: characters other than [A-Za-z0-9_]
 * become '_' and the name is cut to fit out. Returns the position just
 * after the '=', or NULL when there is no well-formed label there.
 */
static const char *
parse_label(const char *s, const char *end, char *out, size_t outlen)
{
	size_t	 o = 0;
	char	 c;

	if (s < end && *s == '\'') {
		for (s++;; s++) {
			if (s >= end)
				return NULL;	/* unterminated */
			c = *s;
			if (c == '\'') {
				if (s + 1 < end && s[1] == '\'')
					s++;	/* '' is one quote */
				else
					break;
			}
			if (o + 1 < outlen)
				out[o++] = (is_alpha(c) || is_digit(c) ||
				    c == '_') ? c : '_';
		}
		s++;
		if (s >= end || *s != '=')
			return NULL;
	} else {
		for (; s < end && *s != '='; s++) {
			c = *s;
			if (is_space(c) || c == '\'')
				return NULL;
			if (o + 1 < outlen)
				out[o++] = (is_alpha(c) || is_digit(c) ||
				    c == '_') ? c : '_';
		}
		if (s >= end)
			return NULL;
	}
	out[o] = '\0';
	if (o == 0)
		return NULL;
	return s + 1;
}

/*
 * The value from s to end ("12.5ms", "U", "-3e2"): a decimal number and
 * a unit. Known units are converted to the base unit; an unknown unit
 * made of letters keeps the number as written; "U" (undetermined) is
 * NaN. Returns 0, or -1 when it is not a value.
 */
static int
parse_value(const char *s, const char *end, double *v)
{
	const char	*p = s, *num_end;
	char		 buf[64], unit[16];
	size_t		 n, i;
	int		 digits = 0;

	if (end - s == 1 && *s == 'U') {
		*v = NAN;
		return 0;
	}
	if (p < end && (*p == '-' || *p == '+'))
		p++;
	for (; p < end && is_digit(*p); p++)
		digits++;
	if (p < end && *p == '.')
		for (p++; p < end && is_digit(*p); p++)
			digits++;
	if (digits == 0)
		return -1;
	if (p + 1 < end && (*p == 'e' || *p == 'E') && (is_digit(p[1]) ||
	    ((p[1] == '-' || p[1] == '+') && p + 2 < end && is_digit(p[2])))) {
		for (p += 2; p < end && is_digit(*p); p++)
			;
	}
	num_end = p;
	n = num_end - s;
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	n = end - num_end;
	if (n >= sizeof(unit))
		return -1;
	for (p = num_end; p < end; p++)
		if (!is_alpha(*p) && *p != '%' && *p != '/')
			return -1;
	memcpy(unit, num_end, n);
	unit[n] = '\0';
	*v = strtod(buf, NULL);
	for (i = 0; i < NUNITS; i++)
		if (strcmp(units[i].name, unit) == 0) {
			*v *= units[i].mult;
			break;
		}
	if (!isfinite(*v))
		return -1;
	return 0;
}

/*
 * Parse the perfdata in [s, end) into out[n..max). Malformed items, a
 * label already present (after sanitising) and items past max are
 * skipped. Returns the new count.
 */
static int
parse_span(const char *s, const char *end, struct perf_value *out, int n,
    int max)
{
	struct perf_value	 pv;
	const char		*v, *ve, *next;
	int			 i, dup;

	while (s < end && n < max) {
		while (s < end && is_space(*s))
			s++;
		if (s >= end)
			break;
		/* Where this item ends, minding a quoted label's spaces. */
		next = s;
		if (*next == '\'') {
			for (next++; next < end; next++)
				if (*next == '\'') {
					if (next + 1 < end && next[1] == '\'')
						next++;
					else
						break;
				}
		}
		while (next < end && !is_space(*next))
			next++;
		memset(&pv, 0, sizeof(pv));
		if ((v = parse_label(s, next, pv.label,
		    sizeof(pv.label))) != NULL) {
			for (ve = v; ve < next && *ve != ';'; ve++)
				;
			if (parse_value(v, ve, &pv.value) == 0) {
				for (dup = 0, i = 0; i < n && !dup; i++)
					dup = strcmp(out[i].label,
					    pv.label) == 0;
				if (!dup)
					out[n++] = pv;
			}
		}
		s = next;
	}
	return n;
}

/*
 * Parse perfdata ("label=value[UOM];warn;crit;min;max ...") from s into
 * out[n..max); thresholds, min and max are not kept. Returns the new
 * count, n when nothing parsed.
 */
int
perfdata_parse(const char *s, struct perf_value *out, int n, int max)
{
	if (s == NULL || n >= max)
		return n;
	return parse_span(s, s + strlen(s), out, n, max);
}

/* Copy [s, end) trimmed into msg; control characters become '?'. */
static void
copy_message(const char *s, const char *end, char *msg, size_t len)
{
	size_t	 o = 0;

	if (len == 0)
		return;
	while (s < end && is_space(*s))
		s++;
	while (end > s && is_space(end[-1]))
		end--;
	for (; s < end && o + 1 < len; s++) {
		if (*s == '\t')
			msg[o++] = ' ';
		else if ((unsigned char)*s < 32 || *s == 127)
			msg[o++] = '?';
		else
			msg[o++] = *s;
	}
	msg[o] = '\0';
}

/*
 * A plugin's whole output (NUL-terminated; a NUL inside ends it): the
 * first line's text before any '|' into msg (trimmed, possibly empty),
 * and into perf[0..max) the perfdata of the first line and, after the
 * first '|' of the long text, of every line to the end. Returns how many
 * series were kept.
 */
int
perfdata_output(const char *out, char *msg, size_t msglen,
    struct perf_value *perf, int max)
{
	const char	*eol, *bar, *rest, *end;
	int		 n = 0;

	end = out + strlen(out);
	if ((eol = memchr(out, '\n', end - out)) == NULL)
		eol = end;
	if ((bar = memchr(out, '|', eol - out)) != NULL) {
		copy_message(out, bar, msg, msglen);
		n = parse_span(bar + 1, eol, perf, n, max);
	} else
		copy_message(out, eol, msg, msglen);
	rest = eol < end ? eol + 1 : end;
	if ((bar = memchr(rest, '|', end - rest)) != NULL)
		n = parse_span(bar + 1, end, perf, n, max);
	return n;
}
