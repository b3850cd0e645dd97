/*
 * graph.h: Smokeping-style latency graphs (PNG or SVG) of a server or a
 * farm, drawn by librrd one at a time.
 */
#ifndef TOCSIN_GRAPH_H
#define TOCSIN_GRAPH_H

#include <stddef.h>
#include <time.h>

#include "archive.h"

struct uptime_src;

enum graph_format {
	GRAPH_PNG,
	GRAPH_SVG,
};

struct graph_req {
	time_t		 start;		/* Unix seconds */
	time_t		 end;		/* Unix seconds; 0: now */
	unsigned	 width;		/* plot area, pixels; 0: 800 */
	unsigned	 height;	/* plot area, pixels; 0: 200 */
	enum graph_format format;
	const char	*title;		/* NULL: the id or farm name */
};

/* An image in memory; the caller owns it (graph_image_free). */
struct graph_image {
	unsigned char	*data;
	size_t		 len;		/* bytes */
	unsigned	 width;		/* whole image, pixels */
	unsigned	 height;
	char		*legend;	/* the legend's entries as drawn, a
					   line each (figures included) */
};

int	graph_period(const char *, time_t, struct graph_req *);
int	graph_server(struct archive_store *, const char *,
	    const struct graph_req *, struct graph_image *);
int	graph_farm(struct archive_store *, const char *, const char *const *,
	    size_t, const struct graph_req *, struct graph_image *);
int	graph_farm_views(struct archive_store *, const char *,
	    const struct uptime_src *, const char *const *, size_t,
	    const struct graph_req *, struct graph_image *);
int	graph_vantage(struct archive_store *, const char *,
	    const char *const *, const char *const *, size_t,
	    const struct graph_req *, struct graph_image *);
void	graph_image_free(struct graph_image *);

#endif
