/*
 * jsontext.h: any text as a JSON string (invalid UTF-8 made '?').
 */
#ifndef TOCSIN_JSONTEXT_H
#define TOCSIN_JSONTEXT_H

#include <jansson.h>

json_t	*jsontext(const char *);

#endif
