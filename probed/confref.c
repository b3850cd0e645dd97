/*
 * confref.c: reference counting for configs. The engine holds the current
 * one; each probe holds the one it started under. A config is freed once
 * it is retired (a reload replaced it) and the last probe let go.
 */
#include <stdlib.h>

#include "conf.h"
#include "xmalloc.h"

#include "confref.h"

struct confref {
	struct conf	*conf;
	unsigned	 refs;		/* probes using it */
	int		 retired;	/* no longer the current config */
	void		*prep;		/* prepared from conf; may be NULL */
	confref_prep_free prep_free;	/* frees prep */
};

/*
 * A reference to conf, which it then owns, with prep (what the engine
 * prepared from conf, or NULL), freed by prep_free when conf goes.
 */
struct confref *
confref_new(struct conf *conf, void *prep, confref_prep_free prep_free)
{
	struct confref *cr;

	cr = xcalloc(1, sizeof(*cr));
	cr->conf = conf;
	cr->prep = prep;
	cr->prep_free = prep_free;
	return cr;
}

struct conf *
confref_conf(const struct confref *cr)
{
	return cr->conf;
}

void *
confref_prep(const struct confref *cr)
{
	return cr->prep;
}

/* One more user; returns cr. */
struct confref *
confref_hold(struct confref *cr)
{
	cr->refs++;
	return cr;
}

static void
confref_free(struct confref *cr)
{
	if (cr->prep != NULL)
		cr->prep_free(cr->prep);
	conf_free(cr->conf);
	free(cr);
}

/* A user lets go; the last one frees a retired config. */
void
confref_drop(struct confref *cr)
{
	if (--cr->refs == 0 && cr->retired)
		confref_free(cr);
}

/* The owner lets go (reload, exit): freed now or by the last user. */
void
confref_retire(struct confref *cr)
{
	if (cr == NULL)
		return;
	cr->retired = 1;
	if (cr->refs == 0)
		confref_free(cr);
}
