/*
 * uptime.h: uptime figures from the archives' `up` series, for a server
 * and for a farm (some member up, all members up). Time without data is
 * unknown: it is left out of the percentage and reported on its own. The
 * SLA figure (uptime_server_sla) leaves scheduled downtime out as well.
 * In cluster mode a server is read from its probe nodes' archives with a
 * quorum (struct uptime_src, uptime_view).
 */
#ifndef TOCSIN_UPTIME_H
#define TOCSIN_UPTIME_H

#include <time.h>

#include "archive.h"

enum uptime_span {
	UPTIME_1D,
	UPTIME_7D,
	UPTIME_30D,
	UPTIME_365D,
	UPTIME_NSPANS
};

struct uptime {
	double	 pct;		/* up / known x 100, or NaN */
	double	 unknown_pct;	/* no data / period x 100 */
	double	 up_s;		/* seconds up */
	double	 known_s;	/* seconds with data */
	double	 period_s;	/* seconds asked for */
};

/*
 * The archives one server's uptime is read from: its own (one id, need 1),
 * or in cluster mode its probe nodes' (ID@NODE), of which need must have
 * had it up for it to count as up (the cluster's view).
 */
struct uptime_src {
	const char *const	*ids;
	size_t			 n;
	size_t			 need;	/* 1 .. n; more: never known */
};

time_t		 uptime_span_seconds(enum uptime_span);
const char	*uptime_span_name(enum uptime_span);
int		 uptime_server(struct archive_store *, const char *, time_t,
		    time_t, struct uptime *);
int		 uptime_server_sla(struct archive_store *, const char *,
		    time_t, time_t, struct uptime *);
int		 uptime_server_spans_sla(struct archive_store *,
		    const char *, time_t, struct uptime *);
int		 uptime_farm(struct archive_store *, const char *const *,
		    size_t, time_t, time_t, struct uptime *, struct uptime *);
int		 uptime_server_spans(struct archive_store *, const char *,
		    time_t, struct uptime *);
int		 uptime_farm_spans(struct archive_store *,
		    const char *const *, size_t, time_t, struct uptime *,
		    struct uptime *);
int		 uptime_view(struct archive_store *,
		    const struct uptime_src *, int, time_t, time_t,
		    struct uptime *);
int		 uptime_view_spans(struct archive_store *,
		    const struct uptime_src *, int, time_t, struct uptime *);
int		 uptime_views(struct archive_store *,
		    const struct uptime_src *, size_t, int, time_t, time_t,
		    struct uptime *, struct uptime *);
int		 uptime_views_spans(struct archive_store *,
		    const struct uptime_src *, size_t, time_t,
		    struct uptime *, struct uptime *);
double		 uptime_quorum_at(const double *, size_t, size_t, double *);

#endif
