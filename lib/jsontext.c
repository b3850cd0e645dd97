/*
 * jsontext.c: text from the network as a JSON string. Jansson refuses
 * text that is not UTF-8 (a server's Latin-1 banner, a message cut in the
 * middle of a character), so each byte that does not start a valid
 * sequence becomes '?'.
 */
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "jsontext.h"
#include "result.h"

/*
 * A JSON string for text that may not be UTF-8 (a message from a
 * misbehaving server, cut by snprintf): jansson refuses such text, so each
 * byte that does not start a valid sequence becomes '?'. NULL when out of
 * memory.
 */
json_t *
jsontext(const char *text)
{
	json_t			*j;
	char			 buf[RESULT_MSG_MAX * 2];
	const unsigned char	*p;
	size_t			 len, i, n, k;

	if (text == NULL)
		return json_string("");
	if ((j = json_string(text)) != NULL)
		return j;
	p = (const unsigned char *)text;
	len = strlen(text);
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	for (i = 0; i < len; i += n) {
		n = 1;
		if (p[i] < 0x80) {
			buf[i] = (char)p[i];
			continue;
		}
		buf[i] = '?';
		if (p[i] < 0xc2 || p[i] > 0xf4)
			continue;
		n = p[i] < 0xe0 ? 2 : p[i] < 0xf0 ? 3 : 4;
		for (k = 1; k < n; k++)
			if (i + k >= len || (p[i + k] & 0xc0) != 0x80)
				break;
		if (k == n)
			memcpy(buf + i, p + i, n);
		else
			n = 1;
	}
	buf[len] = '\0';
	if ((j = json_string(buf)) != NULL)
		return j;
	/* Overlong or surrogate forms slipped through: keep ASCII only. */
	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] >= 0x80)
			buf[i] = '?';
	return json_string(buf);
}

/* A counter as a JSON integer, capped at the largest one. */
json_t *
jsontext_u64(uint64_t v)
{
	return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX :
	    (json_int_t)v);
}

/* json_object_set_new that also fails on a NULL value. 0 or -1. */
int
jsontext_set(json_t *obj, const char *key, json_t *v)
{
	if (v == NULL)
		return -1;
	return json_object_set_new(obj, key, v);
}
