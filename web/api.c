/*
 * api.c: "/api/status" and "/api/server/ID": the objects `tocsinctl -j
 * status` prints (probed's, or the state file's with "stale": true).
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "conf.h"
#include "jsontext.h"
#include "web.h"

static void	 dump(struct web_resp *, json_t *);

static void
dump(struct web_resp *r, json_t *j)
{
	char	*s;

	r->ctype = "application/json";
	if ((s = json_dumps(j, JSONTEXT_DUMP_FLAGS)) == NULL) {
		r->code = 500;
		evbuffer_add_printf(r->body, "{\"error\":\"out of memory\"}\n");
		return;
	}
	evbuffer_add(r->body, s, strlen(s));
	evbuffer_add(r->body, "\n", 1);
	free(s);
}

/* Every server: an array, in probed's (config) order. */
void
api_status(struct web *w, const struct web_data *d, struct web_resp *r)
{
	(void)w;
	dump(r, d->objs);
}

/* One server's object; 404 with {"error":...} when probed has none. */
void
api_server(struct web *w, const struct web_data *d,
    const struct server_conf *sc, struct web_resp *r)
{
	json_t	*obj = NULL, *e;

	(void)w;
	if (data_find(d, sc->id, &obj) != NULL && obj != NULL) {
		dump(r, obj);
		return;
	}
	r->code = 404;
	e = json_pack("{s:s,s:s}", "error", "no state for this server yet",
	    "id", sc->id);
	dump(r, e);
	json_decref(e);
}
