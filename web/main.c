/*
 * main.c: tocsin.cgi. As a CGI (REQUEST_METHOD set) it answers one
 * request from the environment; with --serve ADDR:PORT it is an HTTP
 * server of its own (serve.c). The config comes from -c, TOCSIN_CONF or
 * the default path; --public, TOCSIN_PUBLIC=1 or `set public-page on`
 * makes the customers' page (no URL, message, comment, JSON or metrics).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "conf.h"
#include "paths.h"
#include "log.h"
#include "util.h"
#include "archive.h"
#include "web.h"

static void	 usage(void) __attribute__((noreturn));
static int	 cgi(struct web *);
static void	 cgi_header(void *, const char *, const char *);
static const char *env(const char *);

static void
usage(void)
{
	fprintf(stderr, "usage: tocsin.cgi [-c file] [--public] "
	    "[--serve addr:port [--graph-workers n] [--graph-timeout s] | "
	    "--write-summary]\n"
	    "  as a CGI it reads PATH_INFO and QUERY_STRING; the config is "
	    "-c, TOCSIN_CONF or %s\n", conf_default_path());
	exit(2);
}

static const char *
env(const char *name)
{
	const char	*v = getenv(name);

	return v != NULL ? v : "";
}

static void
cgi_header(void *arg, const char *name, const char *value)
{
	fprintf(arg, "%s: %s\r\n", name, value);
}

/* One request from the environment, answered on stdout. */
static int
cgi(struct web *w)
{
	struct web_req	 q;
	struct web_resp	 r;
	size_t		 len;

	memset(&q, 0, sizeof(q));	/* can_wait 0: graphs drawn here */
	memset(&r, 0, sizeof(r));
	r.code = 200;
	r.ctype = "text/html; charset=utf-8";
	if ((r.body = evbuffer_new()) == NULL)
		return 1;
	q.method = env("REQUEST_METHOD");
	q.path = env("PATH_INFO");
	q.query = env("QUERY_STRING");
	q.if_none_match = env("HTTP_IF_NONE_MATCH");
	route_request(w, &q, &r);
	len = evbuffer_get_length(r.body);
	printf("Status: %d %s\r\n", r.code, route_reason(r.code));
	route_headers(&r, cgi_header, stdout);
	if (r.code != 304)
		printf("Content-Length: %zu\r\n", len);
	printf("\r\n");
	fflush(stdout);
	while (strcmp(q.method, "HEAD") != 0 && r.code != 304 &&
	    evbuffer_get_length(r.body) > 0)
		if (evbuffer_write(r.body, STDOUT_FILENO) <= 0)
			break;
	evbuffer_free(r.body);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct web	 w;
	const char	*path = NULL, *serve = NULL;
	char		*errors = NULL;
	unsigned long	 u;
	int		 i, rc, summary = 0;

	memset(&w, 0, sizeof(w));
	w.graph_workers = GRAPHWORKER_DEFAULT;
	w.graph_timeout_s = GRAPHWORKER_TIMEOUT_S;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--serve") == 0 && i + 1 < argc)
			serve = argv[++i];
		else if (strcmp(argv[i], "--graph-workers") == 0 &&
		    i + 1 < argc && parse_uint(argv[++i], GRAPHWORKER_MAX,
		    &u) == 0 && u > 0)
			w.graph_workers = (unsigned)u;
		else if (strcmp(argv[i], "--graph-timeout") == 0 &&
		    i + 1 < argc && parse_uint(argv[++i], 3600, &u) == 0 &&
		    u > 0)
			w.graph_timeout_s = (unsigned)u;
		else if (strcmp(argv[i], "--public") == 0)
			w.public_arg = 1;
		else if (strcmp(argv[i], "--write-summary") == 0)
			summary = 1;
		else
			usage();
	}
	if (serve == NULL && !summary && getenv("REQUEST_METHOD") == NULL)
		usage();
	if (getenv("TOCSIN_PUBLIC") != NULL &&
	    strcmp(getenv("TOCSIN_PUBLIC"), "1") == 0)
		w.public_arg = 1;
	log_init("tocsin.cgi", 1, 0);
	if (path == NULL && (path = getenv("TOCSIN_CONF")) == NULL)
		path = conf_default_path();
	w.conf_path = path;
	if ((w.conf = conf_load(path, &errors)) == NULL) {
		fprintf(stderr, "tocsin.cgi: %s", errors != NULL ? errors :
		    "cannot read the config\n");
		if (serve != NULL)
			return 1;
		printf("Status: 500 Internal Server Error\r\nContent-Type: "
		    "text/plain\r\n\r\nThe config could not be read: see "
		    "the web server's error log.\n");
		return 0;
	}
	free(errors);
	w.public = w.public_arg || w.conf->public_page;
	lbstats_path(&w);
	if (!w.conf->no_archives)
		w.store = archive_store_open(w.conf->state_dir,
		    w.conf->rrdcached);
	if (summary) {
		rc = summary_write(&w);
	} else if (serve != NULL) {
		w.base = "";
		w.cache = graphcache_new(256);
		rc = serve_run(&w, serve);
		graphcache_free(w.cache);
	} else {
		w.base = env("SCRIPT_NAME");
		w.once = 1;
		rc = cgi(&w);
	}
	if (w.store != NULL)
		archive_store_close(w.store);
	conf_free(w.conf);
	return rc;
}
