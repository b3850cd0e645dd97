/*
 * jsontext.h: any text as a JSON string (invalid UTF-8 made '?').
 */
#ifndef TOCSIN_JSONTEXT_H
#define TOCSIN_JSONTEXT_H

#include <stdint.h>

#include <jansson.h>

/*
 * How every program prints JSON: compact, reals to 15 significant digits,
 * so a latency rounded to microseconds prints as 0.684, never
 * 0.6840000000000001, and probed, tocsinctl and tocsin.cgi print the same
 * bytes for the same object.
 */
#define JSONTEXT_DUMP_FLAGS	(JSON_COMPACT | JSON_REAL_PRECISION(15))

json_t	*jsontext(const char *);
json_t	*jsontext_u64(uint64_t);
int	 jsontext_set(json_t *, const char *, json_t *);

#endif
