/*
 * archive.c: the archive layout (STATE_DIR/rrd/ID.rrd, its series, its
 * round-robin archives) and every librrd or rrdcached call on one archive.
 * Nothing here logs: a failed call returns -1 and leaves its reason, with
 * librrd's own words, for archive_error() in the calling thread.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rrd.h>
#include <rrd_client.h>

#include "fsutil.h"
#include "hash.h"
#include "util.h"
#include "xmalloc.h"
#include "archive.h"

#define DAY		86400L
#define ARG_MAX_LEN	64	/* one DS: or RRA: argument */

/*
 * Where archives live. With rrdcached over a Unix socket the paths sent are
 * absolute (librrd's client resolves relative ones against our working
 * folder); over TCP they are relative to rrdcached's base folder, which
 * must be STATE_DIR/rrd, since it refuses absolute ones.
 */
struct archive_store {
	char		*dir;		/* STATE_DIR/rrd */
	char		*daemon;	/* rrdcached address; NULL: none */
	int		 remote;	/* rrdcached over TCP */
	pthread_mutex_t	 lock;		/* of lists */
	struct hash	*lists;		/* folder -> struct listing */
};

#define ARCHIVE_LIST_TTL_US	(5 * 1000000LL)	/* a folder's listing */

/*
 * Resolutions kept, Smokeping-like, so that one archive stays under 2 MB
 * at any step: every sample for two days but at most FULL_ROWS rows (an
 * hour at a 1 s step, two days at 60 s), then minute rows for two days,
 * 5 minute rows for two weeks, hourly rows for two months and daily rows
 * for two years. A tier whose row holds one sample is kept as AVERAGE
 * only: its MIN and MAX would be the same numbers, and librrd answers a
 * MIN or MAX fetch (a graph's too) from such AVERAGE rows. A tier whose
 * row consolidates several samples is also kept as MIN and MAX.
 */
static const struct tier {
	long	 span;		/* seconds of history */
	long	 res;		/* seconds a row; 0: one step */
} tiers[] = {
	{ 2 * DAY, 0 },
	{ 2 * DAY, 60 },
	{ 14 * DAY, 300 },
	{ 62 * DAY, 3600 },
	{ 732 * DAY, DAY },
};
#define NTIERS		(sizeof(tiers) / sizeof(tiers[0]))
#define FULL_ROWS	3600UL	/* rows of the full-resolution tier, at most */

static const char *const cfs[] = { "AVERAGE", "MIN", "MAX" };
#define NCFS	(sizeof(cfs) / sizeof(cfs[0]))

#define NRRA	(NTIERS * NCFS)
#define NARGS	(ARCHIVE_DS_MAX + NRRA)

/* One round-robin archive of a layout's plan, or as read from a file. */
struct rra {
	const char	*cf;
	unsigned long	 pdp;		/* steps a row */
	unsigned long	 rows;
};

const char *const archive_fixed_ds[ARCHIVE_NFIXED] = {
	"total", "dns", "connect", "tls", "firstbyte", "up", "sla"
};

static _Thread_local char errbuf[1024];

static void	seterr(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
static void	seterr_rrd(const char *, const char *, int);
static int	rrd_says_missing(void);
static int	daemon_connect(struct archive_store *);
static int	mkdir_parents(const char *);
static void	listing_free(void *);
static int	local_missing(const struct archive_store *, const char *);
static int	ds_name_valid(const char *);
static int	fixed_index(const char *);
static int	layout_add(struct archive_layout *, const char *);
static int	layout_from_info(rrd_info_t *, struct archive_layout *);
static size_t	rra_plan(unsigned long, struct rra *);
static int	rras_current(rrd_info_t *, unsigned long);
static int	create_args(const struct archive_layout *,
		    char (*)[ARG_MAX_LEN], const char **);
static double	us_to_s(int64_t);
static int	fetch_rows(struct archive_store *, const char *, const char *,
		    time_t, time_t, unsigned long, struct archive_series *);
static int	fetch_prepare(struct archive_store *, const char *, time_t,
		    time_t, char *, size_t);

static void
seterr(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
}

/*
 * Keep librrd's reason for a failed call: its error text when it set one,
 * else the errno value some rrdc_* calls return, else the bare status.
 */
static void
seterr_rrd(const char *what, const char *path, int status)
{
	const char	*e = rrd_test_error() ? rrd_get_error() : NULL;

	if (e != NULL && *e != '\0')
		seterr("%s %s: %s", what, path, e);
	else if (status > 0)
		seterr("%s %s: %s", what, path, strerror(status));
	else
		seterr("%s %s: failed (status %d)", what, path, status);
}

/* Did the last librrd call fail because the archive does not exist? */
static int
rrd_says_missing(void)
{
	const char	*e;

	if (!rrd_test_error())
		return 0;
	e = rrd_get_error();
	return strstr(e, "No such file") != NULL;
}

#define LOCK_TRIES	50	/* reads of an archive being written */
#define LOCK_WAIT_NS	20000000	/* between them */

/*
 * Did the last librrd call fail on the archive's lock, held by its
 * writer (tocsin-probed's update, a few ms) or a reader (a page, a
 * graph)? Then wait a little and say to try again, LOCK_TRIES times at
 * most (*tries counts them, from 0). librrd takes its locks without
 * waiting (F_SETLK), so a page read during an update failed at once with
 * "could not lock RRD", and an update during a read lost its sample.
 */
int
archive_lock_wait(int *tries)
{
	if (!rrd_test_error() || strstr(rrd_get_error(), "could not lock") ==
	    NULL || ++*tries > LOCK_TRIES)
		return 0;
	nanosleep(&(struct timespec){ 0, LOCK_WAIT_NS }, NULL);
	return 1;
}

/*
 * The last error of an archive_* call in this thread; never NULL. Valid
 * until the next archive_* call in the same thread.
 */
const char *
archive_error(void)
{
	return errbuf;
}

/* Connect (or keep the connection) to the store's rrdcached. */
static int
daemon_connect(struct archive_store *st)
{
	int	rc;

	rrd_clear_error();
	if ((rc = rrdc_connect(st->daemon)) != 0 ||
	    !rrdc_is_connected(st->daemon)) {
		seterr_rrd("connect to rrdcached", st->daemon, rc);
		return -1;
	}
	return 0;
}

/* Make the folders above an archive (a farm's folder). */
static int
mkdir_parents(const char *path)
{
	char	*copy, *slash;
	int	 rc = 0;

	copy = xstrdup(path);
	if ((slash = strrchr(copy, '/')) != NULL && slash != copy) {
		*slash = '\0';
		if ((rc = fsutil_mkdir_p(copy, 0755)) == -1)
			seterr("mkdir %s: %s", copy, strerror(errno));
	}
	free(copy);
	return rc;
}

/*
 * Open a store: archives under STATE_DIR/rrd, written by librrd itself or,
 * when rrdcached is not NULL ("unix:/path", "/path" or "host:port"),
 * through that rrdcached. Makes STATE_DIR/rrd unless rrdcached is remote.
 * Returns NULL, with archive_error() set, when the folder cannot be made.
 */
struct archive_store *
archive_store_open(const char *state_dir, const char *rrdcached)
{
	struct archive_store	*st;
	char			 real[PATH_MAX];

	st = xcalloc(1, sizeof(*st));
	pthread_mutex_init(&st->lock, NULL);
	st->lists = hash_new();
	if (rrdcached != NULL && *rrdcached != '\0') {
		st->daemon = xstrdup(rrdcached);
		st->remote = strncmp(rrdcached, "unix:", 5) != 0 &&
		    rrdcached[0] != '/';
	}
	xasprintf(&st->dir, "%s/rrd", state_dir);
	if (st->remote)
		return st;
	if (fsutil_mkdir_p(st->dir, 0755) == -1) {
		seterr("mkdir %s: %s", st->dir, strerror(errno));
		goto fail;
	}
	if (st->daemon != NULL) {
		if (realpath(st->dir, real) == NULL) {
			seterr("realpath %s: %s", st->dir, strerror(errno));
			goto fail;
		}
		free(st->dir);
		st->dir = xstrdup(real);
	}
	return st;
fail:
	archive_store_close(st);
	return NULL;
}

void
archive_store_close(struct archive_store *st)
{
	if (st == NULL)
		return;
	hash_free(st->lists, listing_free);
	pthread_mutex_destroy(&st->lock);
	free(st->dir);
	free(st->daemon);
	free(st);
}

/* The store's rrdcached address, or NULL when it writes the files. */
const char *
archive_store_daemon(const struct archive_store *st)
{
	return st->daemon;
}

/*
 * In a child just forked: let go of the rrdcached connection librrd
 * holds, which is its parent's too (closed here only, so nothing is
 * said on it), and connect anew at the next call.
 */
void
archive_forked(void)
{
	rrdc_disconnect();
}

/*
 * A server id names a file under STATE_DIR/rrd: one or more segments of
 * [A-Za-z0-9._-] joined by '/', none empty, "." or "..". A probe node's
 * archive of it (cluster mode) is ID@NODE: one '@' in the last segment,
 * with something on each side.
 */
int
archive_id_valid(const char *id)
{
	const char	*p, *seg, *at;
	size_t		 len;

	if (id == NULL || (len = strlen(id)) == 0 || len >= ARCHIVE_ID_MAX)
		return 0;
	if ((at = strchr(id, '@')) != NULL) {
		if (at == id || at[-1] == '/' || at[1] == '\0' ||
		    strchr(at + 1, '@') != NULL || strchr(at, '/') != NULL)
			return 0;
	}
	for (seg = p = id;; p++) {
		if (*p == '/' || *p == '\0') {
			len = (size_t)(p - seg);
			if (len == 0 || (len == 1 && seg[0] == '.') ||
			    (len == 2 && seg[0] == '.' && seg[1] == '.'))
				return 0;
			if (*p == '\0')
				return 1;
			seg = p + 1;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-' || *p == '@'))
			return 0;
	}
}

/*
 * The archive id of node's samples of server id: ID@NODE (see
 * archive_id_valid). Returns 0, or -1 when it is no valid id or does not
 * fit.
 */
int
archive_node_id(const char *id, const char *node, char *buf, size_t len)
{
	int	n;

	n = snprintf(buf, len, "%s@%s", id, node);
	if (n < 0 || (size_t)n >= len || strchr(id, '@') != NULL ||
	    !archive_id_valid(buf)) {
		seterr("no archive id for server %s at node %s", id, node);
		return -1;
	}
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One server's nodes in a listing: a growing array of names. */
struct nodelist {
	char	**v;
	size_t	  n;
	size_t	  cap;
};

/*
 * A folder's node archives, listed at most once every ARCHIVE_LIST_TTL_US
 * for a store: the page's summary asks for every server of a folder, and
 * listing a folder of 10,000 archives for each took 15 ms each.
 */
struct listing {
	int64_t		 made_us;	/* mono_us() when listed */
	struct hash	*bases;		/* BASE -> struct nodelist */
};

static void
nodelist_free(void *p)
{
	struct nodelist	*nl = p;
	size_t		 i;

	for (i = 0; i < nl->n; i++)
		free(nl->v[i]);
	free(nl->v);
	free(nl);
}

static void
listing_free(void *p)
{
	struct listing	*l = p;

	if (l == NULL)
		return;
	hash_free(l->bases, nodelist_free);
	free(l);
}

/* If name is BASE@NODE.rrd (one '@', neither side empty), add NODE
 * under BASE in l. */
static void
listing_add(struct listing *l, const char *name)
{
	const char	*at = strchr(name, '@');
	size_t		 nl = strlen(name);
	struct nodelist	*list;
	char		*base;

	if (at == NULL || at == name || nl < 5 || (size_t)(at - name) + 5 >=
	    nl || strcmp(name + nl - 4, ".rrd") != 0 ||
	    strchr(at + 1, '@') != NULL || strchr(name, '/') != NULL)
		return;
	base = xstrndup(name, (size_t)(at - name));
	if ((list = hash_get(l->bases, base)) == NULL) {
		list = xcalloc(1, sizeof(*list));
		hash_put(l->bases, base, list);
	}
	free(base);
	if (list->n == list->cap) {
		list->cap = list->cap * 2 + 2;
		list->v = xreallocarray(list->v, list->cap, sizeof(*list->v));
	}
	list->v[list->n++] = xstrndup(at + 1, nl - 4 - (size_t)(at + 1 -
	    name));
}

/* List folder's node archives into a new listing: through rrdcached's
 * LIST, or readdir. NULL on error (archive_error()). */
static struct listing *
nodes_scan(struct archive_store *st, const char *folder)
{
	char		 path[PATH_MAX], *list, *line, *save, *argv[4];
	struct listing	*l;
	DIR		*d;
	struct dirent	*de;

	l = xcalloc(1, sizeof(*l));
	l->bases = hash_new();
	l->made_us = mono_us();
	if (st->remote) {
		snprintf(path, sizeof(path), "/%s", folder);
		argv[0] = "list";
		argv[1] = "--daemon";
		argv[2] = st->daemon;
		argv[3] = path;
		rrd_clear_error();
		/* librrd 1.7.2 exports rrd_list, not rrdc_list */
		if ((list = rrd_list(4, argv)) == NULL) {
			if (!rrd_test_error() || rrd_says_missing())
				return l;
			seterr_rrd("list", path, 0);
			listing_free(l);
			return NULL;
		}
		for (line = strtok_r(list, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save))
			listing_add(l, line);
		free(list);
		return l;
	}
	snprintf(path, sizeof(path), "%s/%s", st->dir, folder);
	if ((d = opendir(path)) == NULL) {
		if (errno == ENOENT)
			return l;
		seterr("opendir %s: %s", path, strerror(errno));
		listing_free(l);
		return NULL;
	}
	while ((de = readdir(d)) != NULL)
		listing_add(l, de->d_name);
	closedir(d);
	return l;
}

/* folder's listing, listed again when older than ARCHIVE_LIST_TTL_US;
 * NULL on error. Called with st->lock held. */
static struct listing *
nodes_listing(struct archive_store *st, const char *folder)
{
	struct listing	*l;

	l = hash_get(st->lists, folder);
	if (l != NULL && mono_us() - l->made_us < ARCHIVE_LIST_TTL_US)
		return l;
	listing_free(hash_remove(st->lists, folder));
	if ((l = nodes_scan(st, folder)) != NULL)
		hash_put(st->lists, folder, l);
	return l;
}

/*
 * The probe nodes that have an archive of server id (ID@NODE.rrd), sorted
 * by name, as a NULL-terminated array the caller frees with
 * archive_nodes_free (*out is NULL when there are none). Returns how many,
 * or -1 with archive_error(). A folder is listed once and kept for
 * ARCHIVE_LIST_TTL_US: a node's new archive shows after that at most.
 */
int
archive_nodes(struct archive_store *st, const char *id, char ***out)
{
	char		 folder[ARCHIVE_ID_MAX], *slash;
	const char	*base = id;
	struct listing	*l;
	struct nodelist	*nl;
	size_t		 i, n = 0;

	*out = NULL;
	if (!archive_id_valid(id) || strchr(id, '@') != NULL) {
		seterr("bad server id \"%.*s\"", ARCHIVE_ID_MAX,
		    id == NULL ? "" : id);
		return -1;
	}
	folder[0] = '\0';
	if ((slash = strrchr(id, '/')) != NULL) {
		snprintf(folder, sizeof(folder), "%.*s", (int)(slash - id), id);
		base = slash + 1;
	}
	pthread_mutex_lock(&st->lock);
	if ((l = nodes_listing(st, folder)) == NULL) {
		pthread_mutex_unlock(&st->lock);
		return -1;
	}
	if ((nl = hash_get(l->bases, base)) != NULL && nl->n > 0) {
		n = nl->n;
		*out = xcalloc(n + 1, sizeof(**out));
		for (i = 0; i < n; i++)
			(*out)[i] = xstrdup(nl->v[i]);
	}
	pthread_mutex_unlock(&st->lock);
	if (n > 1)
		qsort(*out, n, sizeof(**out), cmp_names);
	return (int)n;
}

void
archive_nodes_free(char **nodes)
{
	size_t	i;

	for (i = 0; nodes != NULL && nodes[i] != NULL; i++)
		free(nodes[i]);
	free(nodes);
}

/*
 * The name of an id's archive as librrd or rrdcached must be given it:
 * STATE_DIR/rrd/ID.rrd, or ID.rrd for a remote rrdcached. Returns -1 for a
 * bad id or a name that does not fit.
 */
int
archive_path(const struct archive_store *st, const char *id, char *buf,
    size_t len)
{
	int	n;

	if (!archive_id_valid(id)) {
		seterr("bad server id \"%.*s\"", ARCHIVE_ID_MAX,
		    id == NULL ? "" : id);
		return -1;
	}
	if (st->remote)
		n = snprintf(buf, len, "%s.rrd", id);
	else
		n = snprintf(buf, len, "%s/%s.rrd", st->dir, id);
	if (n < 0 || (size_t)n >= len) {
		seterr("archive path for %s is too long", id);
		return -1;
	}
	return 0;
}

/*
 * For local files: 1 if the archive does not exist, 0 if it does (or the
 * store is remote and cannot tell), -1 on another error.
 */
static int
local_missing(const struct archive_store *st, const char *path)
{
	struct stat	sb;

	if (st->remote)
		return 0;
	if (stat(path, &sb) == 0)
		return 0;
	if (errno == ENOENT)
		return 1;
	seterr("stat %s: %s", path, strerror(errno));
	return -1;
}

/* A data source name librrd takes: 1 to 19 of [A-Za-z0-9_]. */
static int
ds_name_valid(const char *name)
{
	size_t	i;

	for (i = 0; name[i] != '\0'; i++) {
		if (i >= ARCHIVE_DS_NAME - 1)
			return 0;
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return 0;
	}
	return i > 0;
}

/* Index of a fixed series by name, or -1 for a perfdata series. */
static int
fixed_index(const char *name)
{
	int	i;

	for (i = 0; i < ARCHIVE_NFIXED; i++)
		if (strcmp(name, archive_fixed_ds[i]) == 0)
			return i;
	return -1;
}

/*
 * The step of a server's archive for its check interval: whole seconds,
 * at least 1 (librrd's finest), so a 500 ms interval archives at 1 s.
 */
unsigned
archive_step(unsigned long interval_ms)
{
	unsigned long	s = interval_ms / 1000;

	if (s == 0)
		return 1;
	return s > UINT_MAX ? UINT_MAX : (unsigned)s;
}

/* The fixed series for a new archive of this step. */
void
archive_layout_init(struct archive_layout *l, unsigned long step)
{
	int	i;

	memset(l, 0, sizeof(*l));
	l->step = step;
	for (i = 0; i < ARCHIVE_NFIXED; i++)
		strlcpy(l->ds[i], archive_fixed_ds[i], sizeof(l->ds[i]));
	l->nds = ARCHIVE_NFIXED;
	l->current = 1;
}

/* Index of a data source in a layout, or -1. */
int
archive_layout_ds(const struct archive_layout *l, const char *name)
{
	int	i;

	for (i = 0; i < l->nds; i++)
		if (strcmp(l->ds[i], name) == 0)
			return i;
	return -1;
}

/* Append a data source; 0 if present or added, -1 if full or bad. */
static int
layout_add(struct archive_layout *l, const char *name)
{
	if (archive_layout_ds(l, name) != -1)
		return 0;
	if (l->nds >= ARCHIVE_DS_MAX || !ds_name_valid(name))
		return -1;
	strlcpy(l->ds[l->nds++], name, sizeof(l->ds[0]));
	return 0;
}

/*
 * The layout an archive needs to take a result: what it has (have, NULL
 * for no archive yet), at the given step and with this build's round-robin
 * archives, with every fixed series and the result's perfdata labels added
 * at the end, at most PERF_MAX perfdata series in all. A label that names
 * a fixed series is not a perfdata series. Returns how many labels could
 * not be kept.
 */
int
archive_layout_want(const struct archive_layout *have, unsigned long step,
    const struct check_result *r, struct archive_layout *want)
{
	int	i, nperf, lost = 0;

	if (have != NULL)
		*want = *have;
	else
		archive_layout_init(want, step);
	want->step = step;
	want->current = 1;
	for (i = 0; i < ARCHIVE_NFIXED; i++)
		(void)layout_add(want, archive_fixed_ds[i]);
	nperf = 0;
	for (i = 0; i < want->nds; i++)
		if (fixed_index(want->ds[i]) == -1)
			nperf++;
	for (i = 0; r != NULL && i < r->nperf && i < PERF_MAX; i++) {
		const char *label = r->perf[i].label;

		if (archive_layout_ds(want, label) != -1)
			continue;
		if (nperf >= PERF_MAX || layout_add(want, label) == -1) {
			lost++;
			continue;
		}
		nperf++;
	}
	return lost;
}

/*
 * Same step, the same series in the same order, and both consolidating as
 * this build does?
 */
int
archive_layout_same(const struct archive_layout *a,
    const struct archive_layout *b)
{
	int	i;

	if (!a->current || !b->current)
		return 0;
	if (a->step != b->step || a->nds != b->nds)
		return 0;
	for (i = 0; i < a->nds; i++)
		if (strcmp(a->ds[i], b->ds[i]) != 0)
			return 0;
	return 1;
}

static double
us_to_s(int64_t us)
{
	if (us < 0)
		return NAN;
	return (double)us / 1e6;
}

/*
 * One row of values for a result, in the layout's order (v holds l->nds):
 * latencies in seconds, NaN for a part that did not happen; up is 1 for ok
 * or warning, 0 for critical, NaN for unknown; sla as up, but NaN while a
 * scheduled downtime ran (r->in_downtime), so uptime from sla leaves that
 * time out; perfdata by label, NaN when this result does not carry it.
 */
void
archive_values(const struct archive_layout *l, const struct check_result *r,
    double *v)
{
	int	i, j;

	for (i = 0; i < l->nds; i++) {
		v[i] = NAN;
		switch (fixed_index(l->ds[i])) {
		case ARCHIVE_TOTAL:
			v[i] = us_to_s(r->total_us);
			break;
		case ARCHIVE_DNS:
			v[i] = us_to_s(r->dns_us);
			break;
		case ARCHIVE_CONNECT:
			v[i] = us_to_s(r->connect_us);
			break;
		case ARCHIVE_TLS:
			v[i] = us_to_s(r->tls_us);
			break;
		case ARCHIVE_FIRSTBYTE:
			v[i] = us_to_s(r->firstbyte_us);
			break;
		case ARCHIVE_UP:
		case ARCHIVE_SLA:
			if (fixed_index(l->ds[i]) == ARCHIVE_SLA &&
			    r->in_downtime)
				break;
			if (r->status == CHECK_OK || r->status == CHECK_WARNING)
				v[i] = 1;
			else if (r->status == CHECK_CRITICAL)
				v[i] = 0;
			break;
		default:
			for (j = 0; j < r->nperf && j < PERF_MAX; j++)
				if (strcmp(r->perf[j].label, l->ds[i]) == 0 &&
				    isfinite(r->perf[j].value)) {
					v[i] = r->perf[j].value;
					break;
				}
			break;
		}
	}
}

/* Read step, last update and data sources (in file order) from rrd info. */
static int
layout_from_info(rrd_info_t *info, struct archive_layout *l)
{
	rrd_info_t	*p;
	const char	*key, *end;
	size_t		 len;
	unsigned long	 idx;
	int		 i, seen[ARCHIVE_DS_MAX] = { 0 };

	memset(l, 0, sizeof(*l));
	for (p = info; p != NULL; p = p->next) {
		key = p->key;
		if (strcmp(key, "step") == 0 && p->type == RD_I_CNT)
			l->step = p->value.u_cnt;
		else if (strcmp(key, "last_update") == 0 &&
		    p->type == RD_I_CNT)
			l->last = (time_t)p->value.u_cnt;
		else if (strncmp(key, "ds[", 3) == 0 && p->type == RD_I_CNT &&
		    (end = strstr(key, "].index")) != NULL &&
		    end[7] == '\0') {
			idx = p->value.u_cnt;
			len = (size_t)(end - (key + 3));
			if (idx >= ARCHIVE_DS_MAX || len == 0 ||
			    len >= ARCHIVE_DS_NAME || seen[idx]) {
				seterr("unexpected data source %s", key);
				return -1;
			}
			memcpy(l->ds[idx], key + 3, len);
			l->ds[idx][len] = '\0';
			seen[idx] = 1;
			if ((int)idx + 1 > l->nds)
				l->nds = (int)idx + 1;
		}
	}
	for (i = 0; i < l->nds; i++)
		if (!seen[i]) {
			seterr("data source %d missing", i);
			return -1;
		}
	if (l->step == 0 || l->nds == 0) {
		seterr("no step or no data sources");
		return -1;
	}
	return 0;
}

/*
 * Are an archive's round-robin archives (from rrd info) those rra_plan
 * makes for its step: the same consolidation functions and rows of the
 * same steps, in the same order? An archive made by an older layout is
 * not, and is re-created from itself on its next write. Row counts are
 * not compared, so an archive resized by hand (rrdtool resize) stays so.
 */
static int
rras_current(rrd_info_t *info, unsigned long step)
{
	struct rra	 plan[NRRA];
	char		 cf[NRRA][16];
	unsigned long	 pdp[NRRA] = { 0 };
	size_t		 nplan, n = 0, k;
	rrd_info_t	*p;
	const char	*dot;
	char		*end;
	unsigned long	 idx;

	memset(cf, 0, sizeof(cf));
	for (p = info; p != NULL; p = p->next) {
		if (strncmp(p->key, "rra[", 4) != 0)
			continue;
		idx = strtoul(p->key + 4, &end, 10);
		if (end == p->key + 4 || strncmp(end, "].", 2) != 0)
			continue;
		if (idx >= NRRA)
			return 0;
		dot = end + 2;
		if (strcmp(dot, "cf") == 0 && p->type == RD_I_STR)
			strlcpy(cf[idx], p->value.u_str, sizeof(cf[idx]));
		else if (strcmp(dot, "pdp_per_row") == 0 &&
		    p->type == RD_I_CNT)
			pdp[idx] = p->value.u_cnt;
		else
			continue;
		if (idx + 1 > n)
			n = idx + 1;
	}
	nplan = rra_plan(step, plan);
	if (n != nplan)
		return 0;
	for (k = 0; k < n; k++)
		if (strcmp(cf[k], plan[k].cf) != 0 || pdp[k] != plan[k].pdp)
			return 0;
	return 1;
}

/*
 * Read what an archive holds. Returns 0 and fills l, 1 when there is no
 * archive for this id, -1 on error.
 */
int
archive_info(struct archive_store *st, const char *id,
    struct archive_layout *l)
{
	char		 path[PATH_MAX];
	rrd_info_t	*info;
	int		 rc, tries = 0;

	if (archive_path(st, id, path, sizeof(path)) == -1)
		return -1;
	if ((rc = local_missing(st, path)) != 0)
		return rc;
	if (st->daemon != NULL) {
		if (daemon_connect(st) == -1)
			return -1;
		info = rrdc_info(path);
	} else {
		do {
			rrd_clear_error();
			info = rrd_info_r(path);
		} while (info == NULL && archive_lock_wait(&tries));
	}
	if (info == NULL) {
		if (st->remote && rrd_says_missing())
			return 1;
		seterr_rrd("info", path, -1);
		return -1;
	}
	rc = layout_from_info(info, l);
	if (rc == 0)
		l->current = rras_current(info, l->step);
	rrd_info_free(info);
	if (rc == -1) {
		char tmp[sizeof(errbuf)];

		strlcpy(tmp, errbuf, sizeof(tmp));
		seterr("info %s: %s", path, tmp);
	}
	return rc;
}

/*
 * The round-robin archives for a step, in file order: per tier its
 * AVERAGE, then MIN and MAX when a row holds several samples. A tier's
 * row is p steps, p = max(1, floor(res / step)), and it holds
 * ceil(span / (p * step)) rows (the first tier at most FULL_ROWS); tiers
 * with the same p merge, keeping the longer history. Returns the number
 * of archives, at most NRRA.
 */
static size_t
rra_plan(unsigned long step, struct rra *out)
{
	unsigned long	pdp[NTIERS], rows[NTIERS], p, r;
	size_t		i, c, n = 0, nrra = 0;

	for (i = 0; i < NTIERS; i++) {
		p = (unsigned long)tiers[i].res <= step ? 1 :
		    (unsigned long)tiers[i].res / step;
		r = ((unsigned long)tiers[i].span + p * step - 1) / (p * step);
		if (i == 0 && r > FULL_ROWS)
			r = FULL_ROWS;
		if (n > 0 && pdp[n - 1] == p) {
			if (r > rows[n - 1])
				rows[n - 1] = r;
			continue;
		}
		pdp[n] = p;
		rows[n] = r;
		n++;
	}
	for (i = 0; i < n; i++)
		for (c = 0; c < (pdp[i] > 1 ? NCFS : 1); c++) {
			out[nrra].cf = cfs[c];
			out[nrra].pdp = pdp[i];
			out[nrra].rows = rows[i];
			nrra++;
		}
	return nrra;
}

/*
 * librrd create arguments for a layout: a GAUGE per series with a
 * heartbeat of two steps, then the archives of rra_plan, xff 0.5.
 * Returns argc.
 */
static int
create_args(const struct archive_layout *l, char (*buf)[ARG_MAX_LEN],
    const char **argv)
{
	struct rra	 plan[NRRA];
	unsigned long	 hb = 2 * l->step;
	size_t		 nrra, k;
	int		 i, argc = 0;
	const char	*range;

	for (i = 0; i < l->nds; i++) {
		if (strcmp(l->ds[i], archive_fixed_ds[ARCHIVE_UP]) == 0 ||
		    strcmp(l->ds[i], archive_fixed_ds[ARCHIVE_SLA]) == 0)
			range = "0:1";
		else if (fixed_index(l->ds[i]) != -1)
			range = "0:U";	/* latency, seconds */
		else
			range = "U:U";	/* perfdata, any unit */
		snprintf(buf[argc], ARG_MAX_LEN, "DS:%s:GAUGE:%lu:%s",
		    l->ds[i], hb, range);
		argv[argc] = buf[argc];
		argc++;
	}
	nrra = rra_plan(l->step, plan);
	for (k = 0; k < nrra; k++) {
		snprintf(buf[argc], ARG_MAX_LEN, "RRA:%s:0.5:%lu:%lu",
		    plan[k].cf, plan[k].pdp, plan[k].rows);
		argv[argc] = buf[argc];
		argc++;
	}
	return argc;
}

/*
 * Create an id's archive with the layout want. With old NULL it is a new
 * archive starting after want->last (now, if 0) and an existing file is
 * not overwritten; with old (what the archive holds now) it is re-created
 * with the old file as source, so librrd carries the history over to the
 * new step and series. Through rrdcached the old file is flushed first.
 */
int
archive_create(struct archive_store *st, const char *id,
    const struct archive_layout *want, const struct archive_layout *old)
{
	char		 path[PATH_MAX], buf[NARGS][ARG_MAX_LEN];
	const char	*argv[NARGS], *sources[2];
	time_t		 last;
	int		 argc, rc;

	if (archive_path(st, id, path, sizeof(path)) == -1)
		return -1;
	if (want->step == 0 || want->nds == 0) {
		seterr("create %s: no step or no series", path);
		return -1;
	}
	argc = create_args(want, buf, argv);
	last = old != NULL ? old->last : want->last;
	if (last <= 0)
		last = time(NULL) - 10;
	sources[0] = path;
	sources[1] = NULL;
	if (!st->remote && mkdir_parents(path) == -1)
		return -1;
	if (st->daemon != NULL) {
		if (daemon_connect(st) == -1)
			return -1;
		if (old != NULL && (rc = rrdc_flush(path)) != 0) {
			seterr_rrd("flush", path, rc);
			return -1;
		}
		rrd_clear_error();
		rc = rrdc_create_r2(path, want->step, last, old == NULL,
		    old != NULL ? sources : NULL, NULL, argc, argv);
	} else {
		rrd_clear_error();
		rc = rrd_create_r2(path, want->step, last, old == NULL,
		    old != NULL ? sources : NULL, NULL, argc, argv);
	}
	if (rc != 0) {
		seterr_rrd(old != NULL ? "re-create" : "create", path, rc);
		return -1;
	}
	return 0;
}

/*
 * Write one row at time t (Unix seconds; later than the archive's last
 * update): v holds l->nds values in the archive's order, NaN for unknown.
 */
int
archive_update(struct archive_store *st, const char *id,
    const struct archive_layout *l, time_t t, const double *v)
{
	char		 path[PATH_MAX], row[32 + ARCHIVE_DS_MAX * 32];
	const char	*argv[1];
	size_t		 off;
	int		 i, n, rc, tries = 0;

	if (archive_path(st, id, path, sizeof(path)) == -1)
		return -1;
	off = (size_t)snprintf(row, sizeof(row), "%lld", (long long)t);
	for (i = 0; i < l->nds && i < ARCHIVE_DS_MAX; i++) {
		if (isnan(v[i]))
			n = snprintf(row + off, sizeof(row) - off, ":U");
		else
			n = snprintf(row + off, sizeof(row) - off, ":%.10g",
			    v[i]);
		if (n < 0 || (size_t)n >= sizeof(row) - off) {
			seterr("update %s: row too long", path);
			return -1;
		}
		off += (size_t)n;
	}
	argv[0] = row;
	if (st->daemon != NULL) {
		if (daemon_connect(st) == -1)
			return -1;
		rc = rrdc_update(path, 1, argv);
	} else {
		do {
			rrd_clear_error();
			rc = rrd_update_r(path, NULL, 1, argv);
		} while (rc != 0 && archive_lock_wait(&tries));
	}
	if (rc != 0) {
		seterr_rrd("update", path, rc);
		return -1;
	}
	return 0;
}

/* Have rrdcached write what it holds for an archive; nothing otherwise. */
int
archive_flush(struct archive_store *st, const char *id)
{
	char	path[PATH_MAX];
	int	rc;

	if (archive_path(st, id, path, sizeof(path)) == -1)
		return -1;
	if (st->daemon == NULL)
		return 0;
	if (daemon_connect(st) == -1)
		return -1;
	if ((rc = rrdc_flush(path)) != 0) {
		seterr_rrd("flush", path, rc);
		return -1;
	}
	return 0;
}

/*
 * One rrd_fetch of an archive's rows, straight or through rrdcached
 * (flushed first). Returns 0 and fills out, 1 when a remote rrdcached
 * has no such archive, -1 on error.
 */
static int
fetch_rows(struct archive_store *st, const char *path, const char *cf,
    time_t start, time_t end, unsigned long step, struct archive_series *out)
{
	char		**names = NULL;
	rrd_value_t	*data = NULL;
	unsigned long	 nds = 0;
	int		 rc, tries = 0;

	memset(out, 0, sizeof(*out));
	if (st->daemon != NULL) {
		if (daemon_connect(st) == -1)
			return -1;
		if ((rc = rrdc_flush(path)) != 0) {
			if (st->remote && rrd_says_missing())
				return 1;
			seterr_rrd("flush", path, rc);
			return -1;
		}
		rrd_clear_error();
		rc = rrdc_fetch(path, cf, &start, &end, &step, &nds, &names,
		    &data);
	} else {
		do {
			rrd_clear_error();
			rc = rrd_fetch_r(path, cf, &start, &end, &step, &nds,
			    &names, &data);
		} while (rc != 0 && archive_lock_wait(&tries));
	}
	if (rc != 0) {
		if (st->remote && rrd_says_missing())
			return 1;
		seterr_rrd("fetch", path, rc);
		return -1;
	}
	out->start = start;
	out->end = end;
	out->step = step;
	out->nds = nds;
	out->names = names;
	out->data = data;
	out->nrows = step > 0 && end > start ?
	    (size_t)((end - start) / (time_t)step) : 0;
	return 0;
}

/*
 * Checks common to every fetch: the id's path, a non-empty period, and
 * whether a local archive exists. Returns 0, 1 when there is no archive,
 * -1 on error.
 */
static int
fetch_prepare(struct archive_store *st, const char *id, time_t start,
    time_t end, char *path, size_t len)
{
	if (archive_path(st, id, path, len) == -1)
		return -1;
	if (end <= start) {
		seterr("fetch %s: empty period", path);
		return -1;
	}
	return local_missing(st, path);
}

/*
 * Fetch consolidated rows (cf "AVERAGE", "MIN" or "MAX") for (start, end]
 * at the finest resolution of at least step seconds (1: the finest that
 * covers the period). Where no MIN or MAX is kept (rows of one sample),
 * librrd (1.5 and later) answers MIN and MAX from those AVERAGE rows,
 * which are the samples themselves. Through rrdcached the archive is
 * flushed first. Returns 0 and fills out (free it with
 * archive_series_free), 1 when the id has no archive, -1 on error.
 */
int
archive_fetch(struct archive_store *st, const char *id, const char *cf,
    time_t start, time_t end, unsigned long step, struct archive_series *out)
{
	char	path[PATH_MAX];
	int	rc;

	memset(out, 0, sizeof(*out));
	if ((rc = fetch_prepare(st, id, start, end, path, sizeof(path))) != 0)
		return rc;
	return fetch_rows(st, path, cf, start, end, step == 0 ? 1 : step,
	    out);
}

/* Column of a data source in fetched rows, or -1. */
int
archive_series_ds(const struct archive_series *s, const char *name)
{
	unsigned long	i;

	for (i = 0; i < s->nds; i++)
		if (strcmp(s->names[i], name) == 0)
			return (int)i;
	return -1;
}

void
archive_series_free(struct archive_series *s)
{
	unsigned long	i;

	if (s->names != NULL) {
		for (i = 0; i < s->nds; i++)
			rrd_freemem(s->names[i]);
		rrd_freemem(s->names);
	}
	if (s->data != NULL)
		rrd_freemem(s->data);
	memset(s, 0, sizeof(*s));
}
