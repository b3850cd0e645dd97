/*
 * cluster.c: tocsin-probed's part of cluster mode. It joins the NATS
 * JetStream cluster that `set cluster` names as node `set node`.
 */
#include <stdio.h>
#include <stdlib.h>

#include "conf.h"
#include "log.h"
#include "xmalloc.h"

#include "cluster.h"
#include "link.h"

struct cluster {
	struct link	*link;
};

/* Join the cluster of c (c->cluster set). NULL with *err. */
struct cluster *
cluster_new(struct event_base *base, const struct conf *c, char **err)
{
	struct cluster	*cl;
	char		 msg[512];

	cl = xcalloc(1, sizeof(*cl));
	if ((cl->link = link_new(base, c, "tocsin-probed", msg,
	    sizeof(msg))) == NULL) {
		*err = xstrdup(msg);
		free(cl);
		return NULL;
	}
	return cl;
}

void
cluster_free(struct cluster *cl)
{
	if (cl == NULL)
		return;
	link_free(cl->link);
	free(cl);
}
