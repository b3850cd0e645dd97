/*
 * rrdload.c: librrd loaded when the page first needs it, not at every
 * start. librrd pulls in some fifty libraries (cairo, pango, glib, ICU,
 * X11...) whose loading and constructors cost a CGI about 7 ms of CPU
 * before main, while the overview reads only the summary file. So
 * tocsin.cgi is not linked with librrd: the functions rrd/ calls are
 * defined here under librrd's own names and prototypes, and the first
 * call dlopens librrd.so.8 (RTLD_NOW | RTLD_LOCAL, once, thread-safe)
 * and forwards. When it cannot be loaded every call fails as librrd's
 * do: -1 or NULL, and rrd_get_error() says why.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <rrd.h>
#include <rrd_client.h>

#define RRDLOAD_LIB	"librrd.so.8"

/* The real functions, once loaded; all NULL when loading failed. */
static struct {
	void		 (*clear_error)(void);
	int		 (*create_r2)(const char *, unsigned long, time_t, int,
			    const char **, const char *, int, const char **);
	int		 (*fetch_r)(const char *, const char *, time_t *,
			    time_t *, unsigned long *, unsigned long *,
			    char ***, rrd_value_t **);
	void		 (*freemem)(void *);
	char		*(*get_error)(void);
	rrd_info_t	*(*graph_v)(int, char **);
	void		 (*info_free)(rrd_info_t *);
	rrd_info_t	*(*info_r)(const char *);
	char		*(*list)(int, char **);
	int		 (*test_error)(void);
	int		 (*update_r)(const char *, const char *, int,
			    const char **);
	int		 (*c_connect)(const char *);
	int		 (*c_disconnect)(void);
	int		 (*c_create_r2)(const char *, unsigned long, time_t,
			    int, const char **, const char *, int,
			    const char **);
	int		 (*c_fetch)(const char *, const char *, time_t *,
			    time_t *, unsigned long *, unsigned long *,
			    char ***, rrd_value_t **);
	int		 (*c_flush)(const char *);
	rrd_info_t	*(*c_info)(const char *);
	int		 (*c_is_connected)(const char *);
	int		 (*c_update)(const char *, int, const char *const *);
	int		 loaded;
} lib;

static pthread_once_t	 once = PTHREAD_ONCE_INIT;
static char		 why[256] = "librrd not loaded";

static void	 load(void);
static int	 ready(void);

/* dlopen librrd and look every function up; all or nothing. */
static void
load(void)
{
	void	*h;
	struct { const char *name; void **fn; } t[] = {
		{ "rrd_clear_error", (void **)&lib.clear_error },
		{ "rrd_create_r2", (void **)&lib.create_r2 },
		{ "rrd_fetch_r", (void **)&lib.fetch_r },
		{ "rrd_freemem", (void **)&lib.freemem },
		{ "rrd_get_error", (void **)&lib.get_error },
		{ "rrd_graph_v", (void **)&lib.graph_v },
		{ "rrd_info_free", (void **)&lib.info_free },
		{ "rrd_info_r", (void **)&lib.info_r },
		{ "rrd_list", (void **)&lib.list },
		{ "rrd_test_error", (void **)&lib.test_error },
		{ "rrd_update_r", (void **)&lib.update_r },
		{ "rrdc_connect", (void **)&lib.c_connect },
		{ "rrdc_disconnect", (void **)&lib.c_disconnect },
		{ "rrdc_create_r2", (void **)&lib.c_create_r2 },
		{ "rrdc_fetch", (void **)&lib.c_fetch },
		{ "rrdc_flush", (void **)&lib.c_flush },
		{ "rrdc_info", (void **)&lib.c_info },
		{ "rrdc_is_connected", (void **)&lib.c_is_connected },
		{ "rrdc_update", (void **)&lib.c_update },
	};
	size_t	 i;

	if ((h = dlopen(RRDLOAD_LIB, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(why, sizeof(why), "cannot load %s: %s", RRDLOAD_LIB,
		    dlerror());
		return;
	}
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if ((*t[i].fn = dlsym(h, t[i].name)) == NULL) {
			snprintf(why, sizeof(why), "%s lacks %s", RRDLOAD_LIB,
			    t[i].name);
			return;
		}
	lib.loaded = 1;
}

/* 1 once librrd is loaded (loading it the first time). */
static int
ready(void)
{
	pthread_once(&once, load);
	return lib.loaded;
}

void
rrd_clear_error(void)
{
	if (ready())
		lib.clear_error();
}

int
rrd_test_error(void)
{
	return ready() ? lib.test_error() : 1;
}

char *
rrd_get_error(void)
{
	return ready() ? lib.get_error() : why;
}

void
rrd_freemem(void *p)
{
	if (ready())
		lib.freemem(p);
	else
		free(p);
}

int
rrd_create_r2(const char *f, unsigned long step, time_t last, int noow,
    const char **src, const char *tmpl, int argc, const char **argv)
{
	return ready() ? lib.create_r2(f, step, last, noow, src, tmpl, argc,
	    argv) : -1;
}

int
rrd_fetch_r(const char *f, const char *cf, time_t *start, time_t *end,
    unsigned long *step, unsigned long *nds, char ***names,
    rrd_value_t **data)
{
	return ready() ? lib.fetch_r(f, cf, start, end, step, nds, names,
	    data) : -1;
}

rrd_info_t *
rrd_graph_v(int argc, char **argv)
{
	return ready() ? lib.graph_v(argc, argv) : NULL;
}

void
rrd_info_free(rrd_info_t *i)
{
	if (ready())
		lib.info_free(i);
}

rrd_info_t *
rrd_info_r(const char *f)
{
	return ready() ? lib.info_r(f) : NULL;
}

char *
rrd_list(int argc, char **argv)
{
	return ready() ? lib.list(argc, argv) : NULL;
}

int
rrd_update_r(const char *f, const char *tmpl, int argc, const char **argv)
{
	return ready() ? lib.update_r(f, tmpl, argc, argv) : -1;
}

int
rrdc_connect(const char *addr)
{
	return ready() ? lib.c_connect(addr) : -1;
}

int
rrdc_disconnect(void)
{
	return ready() ? lib.c_disconnect() : 0;
}

int
rrdc_create_r2(const char *f, unsigned long step, time_t last, int noow,
    const char **src, const char *tmpl, int argc, const char **argv)
{
	return ready() ? lib.c_create_r2(f, step, last, noow, src, tmpl,
	    argc, argv) : -1;
}

int
rrdc_fetch(const char *f, const char *cf, time_t *start, time_t *end,
    unsigned long *step, unsigned long *nds, char ***names,
    rrd_value_t **data)
{
	return ready() ? lib.c_fetch(f, cf, start, end, step, nds, names,
	    data) : -1;
}

int
rrdc_flush(const char *f)
{
	return ready() ? lib.c_flush(f) : -1;
}

rrd_info_t *
rrdc_info(const char *f)
{
	return ready() ? lib.c_info(f) : NULL;
}

int
rrdc_is_connected(const char *addr)
{
	return ready() ? lib.c_is_connected(addr) : 0;
}

int
rrdc_update(const char *f, int n, const char *const *values)
{
	return ready() ? lib.c_update(f, n, values) : -1;
}
