/*
 * lbstats.c: `tocsinctl lb-stats`: tocsin-lb's "stats" from its control
 * socket (STATE_DIR/lb.sock), as a table of farms and their servers, or
 * with -j the answer's JSON line as it came.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "ctlclient.h"
#include "lbstats.h"


static long long
num(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static void
print_farm(json_t *f)
{
	json_t		*s;
	size_t		 i;
	const char	*state, *id;

	printf("farm %s (%s): %lld clients, %lld rejected, %lld queued now, "
	    "%lld queued since start\n",
	    json_string_value(json_object_get(f, "name")),
	    json_string_value(json_object_get(f, "balance")),
	    num(f, "clients"), num(f, "rejected"), num(f, "queued"),
	    num(f, "queued_total"));
	printf("  %-24s %-9s %6s %8s %10s %10s %7s %9s\n", "SERVER", "STATE",
	    "SHARE", "INFLIGHT", "CONNS", "REQUESTS", "ERRORS", "RESPONSE");
	json_array_foreach(json_object_get(f, "servers"), i, s) {
		id = json_string_value(json_object_get(s, "id"));
		state = json_string_value(json_object_get(s, "state"));
		printf("  %-24s %-9s %5.0f%% %8lld %10lld %10lld %7lld "
		    "%6.1f ms\n", id != NULL ? id : "?",
		    state != NULL ? state : "?",
		    100 * json_number_value(json_object_get(s, "share")),
		    num(s, "inflight"), num(s, "connections"),
		    num(s, "requests"), num(s, "errors"),
		    json_number_value(json_object_get(s, "rt_ms")));
	}
}

/*
 * Ask tocsin-lb on fd for its stats and print them. Returns 0, 1 when it
 * refused or answered nonsense (said on stderr), or -1 with errno when
 * the exchange failed.
 */
int
lbstats_run(int fd, int json)
{
	json_t	*ans, *f;
	char	*line, err[512];
	size_t	 i;

	if (ctlclient_request(fd, "stats", &line) == -1)
		return -1;
	if (ctlclient_parse(line, &ans, err, sizeof(err)) != CTL_LINE_OK) {
		fprintf(stderr, "tocsinctl: tocsin-lb: %s\n", err);
		free(line);
		return 1;
	}
	if (json)
		printf("%s\n", line);
	else
		json_array_foreach(json_object_get(ans, "farms"), i, f)
			print_farm(f);
	free(line);
	json_decref(ans);
	return 0;
}
