/*
 * pagerctl.c: `tocsinctl pages` and `tocsinctl test-page CONTACT`, asked
 * of tocsin-pager on its control socket (STATE_DIR/pager.sock): the
 * deliveries as a table (or with -j the answer's JSON line as it came),
 * and each channel's outcome of a test page.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ctlclient.h"
#include "pagerctl.h"

#define TEST_PAGE_WAIT_MS	60000	/* a relay's and an API's timeouts */

static const char *
str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* Send req, read the answer within ms; 0 with *ans, 1 when refused or
 * nonsense (said), -1 with errno when the exchange failed. */
static int
ask(int fd, const char *req, int ms, int json, json_t **ans)
{
	char	*line, err[512];
	int	 r;

	if (ctlclient_send(fd, req, ms) == -1 ||
	    (r = ctlclient_readline(fd, ms, &line)) == -1)
		return -1;
	if (r == 0) {
		/* The pager went away before it answered. */
		errno = ECONNRESET;
		return -1;
	}
	if (ctlclient_parse(line, ans, err, sizeof(err)) != CTL_LINE_OK) {
		fprintf(stderr, "tocsinctl: tocsin-pager: %s\n", err);
		free(line);
		return 1;
	}
	if (json)
		printf("%s\n", line);
	free(line);
	return 0;
}

/*
 * pages: EVENT (with .rN for a reminder), SERVER, CONTACT, CHANNEL, STATE,
 * TRIES, NEXT (local time), ERROR. Returns the exit code, or -1 with
 * errno.
 */
int
pagerctl_pages(int fd, int json)
{
	json_t		*ans, *p;
	size_t		 i;
	char		 ev[40], next[32];
	struct tm	 tm;
	time_t		 t;
	int		 r;

	if ((r = ask(fd, "pages", 10000, json, &ans)) != 0)
		return r;
	if (!json) {
		printf("%-10s %-16s %-10s %-7s %-8s %5s %-19s %s\n", "EVENT",
		    "SERVER", "CONTACT", "CHANNEL", "STATE", "TRIES", "NEXT",
		    "ERROR");
		json_array_foreach(json_object_get(ans, "pages"), i, p) {
			snprintf(ev, sizeof(ev), "%lld",
			    (long long)json_integer_value(json_object_get(p,
			    "event")));
			if (json_integer_value(json_object_get(p, "round")) > 0)
				snprintf(ev + strlen(ev), sizeof(ev) -
				    strlen(ev), ".r%lld", (long long)
				    json_integer_value(json_object_get(p,
				    "round")));
			t = json_integer_value(json_object_get(p, "next"));
			if (t > 0 && localtime_r(&t, &tm) != NULL)
				strftime(next, sizeof(next),
				    "%Y-%m-%d %H:%M:%S", &tm);
			else
				strcpy(next, "-");
			printf("%-10s %-16s %-10s %-7s %-8s %5lld %-19s %s\n",
			    ev, str(p, "server"), str(p, "contact"),
			    str(p, "channel"), str(p, "state"), (long long)
			    json_integer_value(json_object_get(p, "tries")),
			    next, str(p, "error"));
		}
		if (!json_is_true(json_object_get(ans, "probed")))
			printf("(tocsin-probed does not answer the pager: "
			    "acks and downtimes from its state file)\n");
	}
	json_decref(ans);
	return 0;
}

/*
 * test-page CONTACT: one line per channel, "email ops@example.net
 * delivered" or "... failed: why". Returns 0 when every channel
 * delivered, 1 when one failed, the contact has none or is unknown, or -1
 * with errno.
 */
int
pagerctl_test_page(int fd, const char *contact, int json)
{
	json_t	*ans, *c;
	size_t	 i;
	char	 req[300];
	int	 r, bad = 0;

	snprintf(req, sizeof(req), "test-page %s", contact);
	if ((r = ask(fd, req, TEST_PAGE_WAIT_MS, json, &ans)) != 0)
		return r;
	json_array_foreach(json_object_get(ans, "channels"), i, c) {
		if (strcmp(str(c, "result"), "delivered") != 0)
			bad = 1;
		if (!json)
			printf("%-8s %-40s %s%s%s\n", str(c, "channel"),
			    str(c, "to"), str(c, "result"),
			    str(c, "error")[0] ? ": " : "", str(c, "error"));
	}
	if (json_array_size(json_object_get(ans, "channels")) == 0) {
		/* Nothing went anywhere: not a success. */
		if (!json)
			printf("contact %s has no channel\n", contact);
		bad = 1;
	}
	json_decref(ans);
	return bad;
}
