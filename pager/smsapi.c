/*
 * smsapi.c: SMS through an HTTP API (`set sms-gateway`): the gateway's
 * settings with its secret read once at load, and the request one SMS
 * makes from the URL and body templates. The request itself goes out
 * through webhook.c (libcurl multi on the loop, back-off, Idempotency-Key).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "secret.h"
#include "xmalloc.h"

#include "pager.h"

#define SMSAPI_DEFAULT_BODY	"to={to}&text={text}"

struct smsapi {
	char		*url;		/* template */
	char		*body;		/* template; NULL for GET */
	int		 json;		/* the body is JSON */
	int		 bearer;
	char		*secret;	/* user:password or token; or NULL */
};

enum esc {
	ESC_URL,	/* percent-encoded, RFC 3986 unreserved kept */
	ESC_JSON,	/* inside a JSON string */
};

/* Append s to the growing buffer *b (length *n, capacity *cap). */
static void
put(char **b, size_t *n, size_t *cap, const char *s, size_t len)
{
	if (*n + len + 1 > *cap) {
		while (*n + len + 1 > *cap)
			*cap = *cap ? *cap * 2 : 256;
		*b = xreallocarray(*b, *cap, 1);
	}
	memcpy(*b + *n, s, len);
	*n += len;
	(*b)[*n] = '\0';
}

/* Append v escaped for where it goes. */
static void
put_escaped(char **b, size_t *n, size_t *cap, const char *v, enum esc e)
{
	const unsigned char	*s;
	char			 hex[8];

	for (s = (const unsigned char *)v; *s != '\0'; s++) {
		if (e == ESC_URL && ((*s >= 'a' && *s <= 'z') ||
		    (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		    strchr("-._~", *s) != NULL))
			put(b, n, cap, (const char *)s, 1);
		else if (e == ESC_URL) {
			snprintf(hex, sizeof(hex), "%%%02X", *s);
			put(b, n, cap, hex, 3);
		} else if (*s == '"' || *s == '\\') {
			hex[0] = '\\';
			hex[1] = *s;
			put(b, n, cap, hex, 2);
		} else if (*s < 0x20) {
			snprintf(hex, sizeof(hex), "\\u%04x", *s);
			put(b, n, cap, hex, 6);
		} else
			put(b, n, cap, (const char *)s, 1);
	}
}

/*
 * Fill a template: {to}, {text} and {key} replaced by their values,
 * JSON-escaped when json, else percent-encoded; anything else copied as it
 * is. Returns a malloc'd string.
 */
char *
smsapi_fill(const char *tmpl, const char *to, const char *text,
    const char *key, int json)
{
	const char	*s = tmpl, *v;
	char		*b = NULL;
	size_t		 n = 0, cap = 0, skip;

	put(&b, &n, &cap, "", 0);
	while (*s != '\0') {
		v = NULL;
		if (strncmp(s, "{to}", 4) == 0) {
			v = to;
			skip = 4;
		} else if (strncmp(s, "{text}", 6) == 0) {
			v = text;
			skip = 6;
		} else if (strncmp(s, "{key}", 5) == 0) {
			v = key;
			skip = 5;
		}
		if (v == NULL) {
			put(&b, &n, &cap, s++, 1);
			continue;
		}
		put_escaped(&b, &n, &cap, v, json ? ESC_JSON : ESC_URL);
		s += skip;
	}
	return b;
}

/*
 * The gateway of conf, its auth-file read (mode 0600 or refused). Returns
 * NULL with err "" when there is no gateway, or NULL with err set when it
 * is refused.
 */
struct smsapi *
smsapi_new(const struct conf *c, char *err, size_t errlen)
{
	struct smsapi	*sa;

	err[0] = '\0';
	if (c->sms_gateway == NULL)
		return NULL;
	sa = xcalloc(1, sizeof(*sa));
	sa->url = xstrdup(c->sms_gateway);
	if (!c->sms_get) {
		sa->body = xstrdup(c->sms_body != NULL ? c->sms_body :
		    SMSAPI_DEFAULT_BODY);
		sa->json = sa->body[strspn(sa->body, " \t")] == '{';
	}
	sa->bearer = c->sms_bearer;
	if (c->sms_auth_file != NULL &&
	    secret_read_private(c->sms_auth_file, "sms-gateway auth-file",
	    &sa->secret, err, errlen) == -1) {
		smsapi_free(sa);
		return NULL;
	}
	if (sa->secret != NULL && !sa->bearer &&
	    strchr(sa->secret, ':') == NULL) {
		snprintf(err, errlen, "sms-gateway auth-file %s: expected "
		    "user:password on the first line (or write 'auth bearer' "
		    "for a token)", c->sms_auth_file);
		smsapi_free(sa);
		return NULL;
	}
	return sa;
}

void
smsapi_free(struct smsapi *sa)
{
	if (sa == NULL)
		return;
	free(sa->url);
	free(sa->body);
	secret_free(sa->secret);
	free(sa);
}

/*
 * The request that sends text to the phone number `to`: the URL's
 * placeholders percent-encoded, the body's form-encoded or, for a body
 * that starts with '{', JSON-escaped (and sent as application/json).
 * Free it with smsapi_request_free.
 */
void
smsapi_request(const struct smsapi *sa, const char *to, const char *text,
    const char *key, struct http_call *hc)
{
	memset(hc, 0, sizeof(*hc));
	hc->url = smsapi_fill(sa->url, to, text, key, 0);
	if (sa->body != NULL) {
		hc->body = smsapi_fill(sa->body, to, text, key, sa->json);
		hc->content_type = sa->json ? "application/json" :
		    "application/x-www-form-urlencoded";
	}
	hc->key = key;
	if (sa->secret != NULL && sa->bearer)
		hc->bearer = sa->secret;
	else if (sa->secret != NULL)
		hc->userpwd = sa->secret;
}

void
smsapi_request_free(struct http_call *hc)
{
	free(hc->url);
	free(hc->body);
}
