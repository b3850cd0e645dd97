/*
 * jsontext.h: any text as a JSON string (invalid UTF-8 made '?').
 */
#ifndef TOCSIN_JSONTEXT_H
#define TOCSIN_JSONTEXT_H

#include <stdint.h>

#include <jansson.h>

json_t	*jsontext(const char *);
json_t	*jsontext_u64(uint64_t);
int	 jsontext_set(json_t *, const char *, json_t *);

#endif
