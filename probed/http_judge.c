/*
 * http_judge.c: the verdict on an HTTP answer, shared by both clients so
 * that a check says the same words whichever fetched it: a header cut by
 * a close, the status against `expect` (200-399 without it), the body
 * against the `body` regular expression, and the OK message.
 */
#include <regex.h>
#include <stdio.h>

#include "probed.h"
#include "http_judge.h"

static int	status_ok(const struct server_conf *, long);
static int	body_matches(const char *, const char *, char *, size_t);

static int
status_ok(const struct server_conf *sc, long code)
{
	int i;

	if (sc->nexpect_status == 0)
		return code >= 200 && code < 400;
	for (i = 0; i < sc->nexpect_status; i++)
		if (code >= sc->expect_status[i].lo &&
		    code <= sc->expect_status[i].hi)
			return 1;
	return 0;
}

/* 1 if re matches body (NULL: empty), 0 if not, -1 with err if re is bad. */
static int
body_matches(const char *re, const char *body, char *err, size_t len)
{
	regex_t	 rx;
	int	 rc;

	if ((rc = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rc, &rx, err, len);
		regfree(&rx);
		return -1;
	}
	rc = regexec(&rx, body != NULL ? body : "", 0, NULL, 0);
	regfree(&rx);
	return rc == 0;
}

/*
 * The header is in (hdr_end: its last line was the blank one) with this
 * status. 1 with p->r set when that fails the check, else 0.
 */
int
http_judge_head(struct probe *p, long status, int hdr_end)
{
	const struct server_conf *sc = p->sc;

	if (!hdr_end)
		result_set(&p->r, CHECK_CRITICAL, "connection closed "
		    "mid-header");
	else if (!status_ok(sc, status))
		result_set(&p->r, CHECK_CRITICAL, "HTTP %ld, expected %s",
		    status, sc->o.expect != NULL ? sc->o.expect : "2xx or 3xx");
	else
		return 0;
	return 1;
}

/*
 * The body (NUL-terminated, kept only for a `body` pattern; over: reading
 * stopped at HTTP_BODY_MAX) against `body`. 1 with p->r set when that
 * fails the check, else 0.
 */
int
http_judge_body(struct probe *p, long status, const char *body, int over)
{
	const struct server_conf *sc = p->sc;
	char		 err[128];
	int		 m;

	if (sc->o.body == NULL ||
	    (m = body_matches(sc->o.body, body, err, sizeof(err))) == 1)
		return 0;
	if (m == -1)
		result_set(&p->r, CHECK_UNKNOWN, "bad body regular "
		    "expression \"%s\": %s", sc->o.body, err);
	else if (over)
		result_set(&p->r, CHECK_CRITICAL, "HTTP %ld, no match "
		    "for \"%s\" in the first 1 MiB", status, sc->o.body);
	else
		result_set(&p->r, CHECK_CRITICAL, "HTTP %ld, body does "
		    "not match \"%s\"", status, sc->o.body);
	return 1;
}

/* The check passed: len body bytes, p->r.total_us already set. */
void
http_judge_ok(struct probe *p, long status, size_t len, int over)
{
	result_set(&p->r, CHECK_OK, "HTTP %ld, %zu bytes%s in %.1f ms",
	    status, len, over ? " (stopped at 1 MiB)" : "",
	    p->r.total_us / 1000.0);
}
