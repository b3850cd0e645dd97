/*
 * archive.h: one RRD archive per server: where it lives, which series it
 * holds, and create, re-create, update and fetch, straight on the files
 * through librrd or through rrdcached.
 */
#ifndef TOCSIN_ARCHIVE_H
#define TOCSIN_ARCHIVE_H

#include <stddef.h>
#include <time.h>

#include "result.h"

#define ARCHIVE_ID_MAX	192	/* "farm/name[@node]" and its NUL */
#define ARCHIVE_NFIXED	7	/* series every archive has */
#define ARCHIVE_DS_MAX	(ARCHIVE_NFIXED + PERF_MAX)
#define ARCHIVE_DS_NAME	PERF_LABEL_MAX	/* 19 characters and NUL */

/* The fixed series, in this order, first in every archive. */
enum archive_fixed {
	ARCHIVE_TOTAL,		/* seconds, whole check */
	ARCHIVE_DNS,		/* seconds */
	ARCHIVE_CONNECT,	/* seconds */
	ARCHIVE_TLS,		/* seconds */
	ARCHIVE_FIRSTBYTE,	/* seconds */
	ARCHIVE_UP,		/* 1 up, 0 down, unknown */
	ARCHIVE_SLA,		/* as up, but unknown while a scheduled
				   downtime runs: uptime for an SLA */
};

/*
 * What an archive holds: its step, its data sources in file order, when
 * it was last updated, and whether its round-robin archives consolidate
 * as this build's do for its step (an older layout is re-created, history
 * kept, on the next write).
 */
struct archive_layout {
	unsigned long	 step;		/* seconds a data point */
	time_t		 last;		/* last update, Unix s */
	int		 current;	/* 1: this build's consolidations */
	int		 nds;
	char		 ds[ARCHIVE_DS_MAX][ARCHIVE_DS_NAME];
};

/*
 * Rows fetched back: row i is the consolidated value of
 * (start + i * step, start + (i + 1) * step], NaN where unknown.
 */
struct archive_series {
	time_t		 start;		/* Unix seconds */
	time_t		 end;		/* Unix seconds */
	unsigned long	 step;		/* seconds a row */
	size_t		 nrows;
	unsigned long	 nds;
	char		**names;	/* nds data source names */
	double		*data;		/* nrows x nds, row-major */
};

struct archive_store;

extern const char *const archive_fixed_ds[ARCHIVE_NFIXED];

struct archive_store *archive_store_open(const char *, const char *);
void		 archive_store_close(struct archive_store *);
const char	*archive_store_daemon(const struct archive_store *);
const char	*archive_error(void);
int		 archive_lock_wait(int *tries);
void		 archive_forked(void);

int		 archive_id_valid(const char *);
int		 archive_node_id(const char *, const char *, char *, size_t);
int		 archive_nodes(struct archive_store *, const char *, char ***);
void		 archive_nodes_free(char **);
int		 archive_path(const struct archive_store *, const char *,
		    char *, size_t);

unsigned	 archive_step(unsigned long);
void		 archive_layout_init(struct archive_layout *,
		    unsigned long);
int		 archive_layout_ds(const struct archive_layout *,
		    const char *);
int		 archive_layout_want(const struct archive_layout *,
		    unsigned long, const struct check_result *,
		    struct archive_layout *);
int		 archive_layout_same(const struct archive_layout *,
		    const struct archive_layout *);
void		 archive_values(const struct archive_layout *,
		    const struct check_result *, double *);

int		 archive_info(struct archive_store *, const char *,
		    struct archive_layout *);
int		 archive_create(struct archive_store *, const char *,
		    const struct archive_layout *,
		    const struct archive_layout *);
int		 archive_update(struct archive_store *, const char *,
		    const struct archive_layout *, time_t, const double *);
int		 archive_flush(struct archive_store *, const char *);
int		 archive_fetch(struct archive_store *, const char *,
		    const char *, time_t, time_t, unsigned long,
		    struct archive_series *);
int		 archive_series_ds(const struct archive_series *,
		    const char *);
void		 archive_series_free(struct archive_series *);

#endif
