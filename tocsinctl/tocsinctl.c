/*
 * tocsinctl.c: probed's control socket for people. status as an aligned
 * table, the watch stream as it comes, scheduled downtimes as a list,
 * and the commands (check, ack, downtime, downtime-cancel, drain, enable,
 * reload, stats); -j prints probed's JSON instead. When probed is gone,
 * status shows the last state it wrote.
 *
 * Exit: 0 done, 1 probed refused the request, 2 usage, 3 probed not
 * reachable (status printed the last known state first).
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "conf.h"
#include "ctlclient.h"
#include "jsontext.h"
#include "lbstats.h"
#include "pagerctl.h"
#include "paths.h"
#include "xmalloc.h"

#define EXIT_REFUSED	1
#define EXIT_USAGE	2
#define EXIT_GONE	3

#define MSG_WIDTH	60	/* message column when not on a terminal */
#define MSG_WIDTH_MIN	20
#define ACK_WIDTH	20	/* the ACK column's comment, at most */

struct command {
	const char	*name;
	int		 min;	/* arguments */
	int		 max;	/* -1: any number (a comment) */
	const char	*usage;
};

static const struct command commands[] = {
	{ "status",	0, 1,	"status [ID]" },
	{ "watch",	0, 0,	"watch" },
	{ "stats",	0, 0,	"stats" },
	{ "check",	1, 1,	"check ID" },
	{ "ack",	1, -1,	"ack ID [COMMENT]" },
	{ "downtime",	2, -1,	"downtime ID|FARM [from WHEN] [for] DURATION "
	    "[COMMENT]" },
	{ "downtimes",	0, 1,	"downtimes [ID|FARM]" },
	{ "downtime-cancel", 1, 1, "downtime-cancel N|ID|FARM" },
	{ "drain",	1, 1,	"drain ID" },
	{ "enable",	1, 1,	"enable ID" },
	{ "reload",	0, 0,	"reload" },
	{ "lb-stats",	0, 0,	"lb-stats" },
	{ "pages",	0, 0,	"pages" },
	{ "test-page",	1, 1,	"test-page CONTACT" },
};

struct opts {
	int		 json;
	const char	*socket;
	char		*socket_buf;	/* socket, when we made its path */
	char		*state_dir;
	struct conf	*conf;		/* NULL when it could not be read */
	char		*conf_errors;	/* FILE:LINE lines when it could not */
};

static void		 usage(FILE *, int) __attribute__((noreturn));
static const struct command *find_command(const char *);
static char		*build_request(int, char **);
static int		 load_conf(struct opts *, const char *, int);
static int		 gone(struct opts *, int, const char *, const char *);
static int		 cmd_status(struct opts *, int, const char *);
static int		 pager(struct opts *, const char *, char **);
static int		 cmd_watch(struct opts *, int);
static json_t		*request(const struct opts *, int, const char *, int *);
static json_t		*request_table(const struct opts *, int, const char *, int *);
static int		 cmd_stats(struct opts *, int, const char *);
static int		 lb_stats(struct opts *, const char *);
static int		 cmd_simple(struct opts *, int, const char *);
static int		 cmd_reload(struct opts *, int, const char *);
static int		 cmd_downtime(struct opts *, int, const char *);
static int		 cmd_downtimes(struct opts *, int, const char *);
static void		 scan_paths(struct opts *, const char *, int);
static void		 scan_statement(struct opts *, const char *,
			    const char *, int);
static const char	*next_statement(const char *);
static void		 fmt_when(char *, size_t, int64_t, int64_t);
static void		 fmt_who(char *, size_t, json_t *);
static void		 word_cut(char *, size_t);
static void		 print_long_output(json_t *);
static void		 print_cluster_head(json_t *);
static void		 print_cluster(json_t *);
static void		 cluster_cells(char [][256], json_t *, json_t *, int,
			    const char *, json_t *);
static void		 append(char *, size_t, const char *, ...)
			    __attribute__((format(printf, 3, 4)));
static int		 last_known(struct opts *, const char *, const char *);
static void		 print_table(const struct opts *, struct ctl_server *,
			    size_t);
static void		 print_json_servers(struct ctl_server *, size_t);
static void		 print_watch_line(const char *, int);
static void		 clean(char *, const char *, size_t);
static size_t		 utf8_len(const char *);
static void		 fmt_ago(char *, size_t, int64_t, int64_t);
static void		 fmt_ms(char *, size_t, double);
static void		 fmt_clock(char *, size_t, double);
static int		 term_width(void);

int
main(int argc, char **argv)
{
	struct opts		 o;
	const struct command	*cmd;
	const char		*conf_path = NULL, *lb_socket = NULL;
	char			*req;
	int			 ch, fd, nargs, r;
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "socket",	required_argument,	NULL, 's' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 },
	};

	memset(&o, 0, sizeof(o));
	while ((ch = getopt_long(argc, argv, "+c:hjs:V", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'h':
			usage(stdout, 0);
		case 'V':
			printf("tocsinctl %s\n", PACKAGE_VERSION);
			return 0;
		case 'j':
			o.json = 1;
			break;
		case 's':
			o.socket = optarg;
			lb_socket = optarg;
			break;
		default:
			usage(stderr, EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage(stderr, EXIT_USAGE);
	if ((cmd = find_command(argv[0])) == NULL) {
		fprintf(stderr, "tocsinctl: unknown command '%s'\n", argv[0]);
		usage(stderr, EXIT_USAGE);
	}
	nargs = argc - 1;
	if (nargs < cmd->min || (cmd->max >= 0 && nargs > cmd->max)) {
		fprintf(stderr, "usage: tocsinctl [-jV] [-c file] [-s socket] "
		    "%s\n", cmd->usage);
		return EXIT_USAGE;
	}
	if ((req = build_request(argc, argv)) == NULL)
		return EXIT_USAGE;

	if (load_conf(&o, conf_path, o.socket != NULL) == -1) {
		free(req);
		return EXIT_USAGE;
	}
	if (strcmp(cmd->name, "lb-stats") == 0 ||
	    strcmp(cmd->name, "pages") == 0 ||
	    strcmp(cmd->name, "test-page") == 0) {
		r = strcmp(cmd->name, "lb-stats") == 0 ?
		    lb_stats(&o, lb_socket) : pager(&o, lb_socket, argv);
		free(req);
		free(o.socket_buf);
		free(o.state_dir);
		free(o.conf_errors);
		conf_free(o.conf);
		return r;
	}
	if ((fd = ctlclient_connect(o.socket)) == -1)
		r = -1;
	else if (strcmp(cmd->name, "status") == 0)
		r = cmd_status(&o, fd, req);
	else if (strcmp(cmd->name, "watch") == 0)
		r = cmd_watch(&o, fd);
	else if (strcmp(cmd->name, "stats") == 0)
		r = cmd_stats(&o, fd, req);
	else if (strcmp(cmd->name, "reload") == 0)
		r = cmd_reload(&o, fd, req);
	else if (strcmp(cmd->name, "downtime") == 0)
		r = cmd_downtime(&o, fd, req);
	else if (strcmp(cmd->name, "downtimes") == 0)
		r = cmd_downtimes(&o, fd, req);
	else
		r = cmd_simple(&o, fd, req);
	if (r == -1)		/* no connection, or it failed */
		r = gone(&o, errno, argv[0], nargs > 0 ? argv[1] : NULL);
	if (fd != -1)
		close(fd);
	free(req);
	free(o.socket_buf);
	free(o.state_dir);
	free(o.conf_errors);
	conf_free(o.conf);
	return r;
}

static void
usage(FILE *f, int code)
{
	fprintf(f, "usage: tocsinctl [-jV] [-c file] [-s socket] command "
	    "[args]\n"
	    "  -c, --config FILE   the config (for the socket's path)\n"
	    "  -j, --json          print probed's JSON\n"
	    "  -s, --socket PATH   probed's control socket\n"
	    "  -V, --version       print the version\n"
	    "  -h, --help          this help\n"
	    "commands:\n"
	    "  status [ID]               servers and their states\n"
	    "  watch                     results and state changes, as they "
	    "come\n"
	    "  check ID                  check now\n"
	    "  ack ID [COMMENT]          acknowledge a problem\n"
	    "  downtime ID|FARM [from WHEN] [for] DURATION [COMMENT]\n"
	    "                            no pages from WHEN (HH:MM, "
	    "YYYY-MM-DDTHH:MM;\n"
	    "                            default now) for DURATION (30m, "
	    "2h, 1d)\n"
	    "  downtimes [ID|FARM]       downtimes running and scheduled\n"
	    "  downtime-cancel N|ID|FARM end downtime N, or all of a server "
	    "or farm\n"
	    "  drain ID                  the balancer sends no new traffic\n"
	    "  enable ID                 undo drain\n"
	    "  reload                    read the config again\n"
	    "  stats                     the engine's figures\n"
	    "  lb-stats                  tocsin-lb's figures\n"
	    "  pages                     tocsin-pager's deliveries: queued, "
	    "retrying, failed\n"
	    "  test-page CONTACT         a test page on each of CONTACT's "
	    "channels\n");
	exit(code);
}

static const struct command *
find_command(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/*
 * The request line: the words joined by spaces. NULL (after saying why)
 * when a word holds a line break, or the line is over the protocol's
 * limit.
 */
static char *
build_request(int argc, char **argv)
{
	char	*req;
	size_t	 len = 0, off = 0, n;
	int	 i;

	for (i = 0; i < argc; i++) {
		if (strpbrk(argv[i], "\r\n") != NULL) {
			fprintf(stderr, "tocsinctl: arguments may not hold "
			    "line breaks\n");
			return NULL;
		}
		len += strlen(argv[i]) + 1;
	}
	if (len > CTL_REQUEST_MAX) {
		fprintf(stderr, "tocsinctl: request longer than %d bytes\n",
		    CTL_REQUEST_MAX);
		return NULL;
	}
	req = xmalloc(len + 1);
	for (i = 0; i < argc; i++) {
		n = strlen(argv[i]);
		if (i > 0)
			req[off++] = ' ';
		memcpy(req + off, argv[i], n);
		off += n;
	}
	req[off] = '\0';
	return req;
}

/*
 * The config says where the socket and the state folder are. Without one
 * (none at the default path, or -s given) the defaults do, or the
 * socket's folder. A config that was asked for (-c) and cannot be opened
 * is reported and -1 returned, whatever the command: tocsinctl would
 * otherwise speak of the default socket as if it were the user's. One
 * that opens and does not load is searched for the two statements, its
 * errors kept for gone().
 */
static int
load_conf(struct opts *o, const char *path, int have_socket)
{
	char	*errs = NULL, *slash;
	int	 asked = path != NULL, fd;

	if (path == NULL)
		path = conf_default_path();
	if (asked) {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
			fprintf(stderr, "tocsinctl: cannot read the config "
			    "%s: %s\n", path, strerror(errno));
			return -1;
		}
		close(fd);
	}
	if (asked || access(path, F_OK) == 0) {
		o->conf = conf_load(path, &errs);
		if (o->conf == NULL) {
			/* Kept for reload; the socket is found as well as
			 * a broken file allows. */
			o->conf_errors = errs != NULL ? errs : xstrdup(path);
			errs = NULL;
			if (!have_socket)
				scan_paths(o, path, 0);
		}
		free(errs);
	}
	if (o->conf != NULL) {
		o->state_dir = xstrdup(o->conf->state_dir);
		if (o->socket == NULL)
			o->socket = o->conf->control;
		return 0;
	}
	if (o->socket == NULL && o->state_dir != NULL) {
		xasprintf(&o->socket_buf, "%s/probed.sock", o->state_dir);
		o->socket = o->socket_buf;
		return 0;
	}
	if (o->socket == NULL) {
		o->state_dir = xstrdup(PATH_STATE_DIR);
		o->socket = PATH_STATE_DIR "/" PATH_CTL_SOCKET;
		return 0;
	}
	if (o->state_dir != NULL)
		return 0;
	o->state_dir = xstrdup(o->socket);
	if ((slash = strrchr(o->state_dir, '/')) != NULL)
		*(slash == o->state_dir ? slash + 1 : slash) = '\0';
	else
		strlcpy(o->state_dir, ".", strlen(o->state_dir) + 1);
	return 0;
}

/*
 * probed could not be reached (err is why): say so, after the config's
 * errors when it did not load; status goes on with the last known state.
 * Returns the exit code.
 */
static int
gone(struct opts *o, int err, const char *cmd, const char *id)
{
	char		 why[PATH_MAX + 128];
	const char	*how;

	if (err == ECONNREFUSED || err == ENOENT)
		how = "tocsin-probed is not running";
	else if (err == ETIMEDOUT)
		how = "tocsin-probed is not answering";
	else if (err == ECONNRESET || err == EPIPE)
		how = "tocsin-probed closed the connection";
	else
		how = "cannot reach tocsin-probed";
	snprintf(why, sizeof(why), "%s (%s: %s)", how, o->socket,
	    strerror(err));
	if (o->conf_errors != NULL)
		fputs(o->conf_errors, stderr);
	if (strcmp(cmd, "status") == 0)
		return last_known(o, why, id);
	fprintf(stderr, "tocsinctl: %s\n", why);
	return EXIT_GONE;
}

/*
 * Ask for one answer. Returns the parsed answer with ok true, NULL after
 * reporting probed's refusal (*code = 1), or NULL with *code = -1 and
 * errno when the exchange failed.
 */
static json_t *
request(const struct opts *o, int fd, const char *req, int *code)
{
	char		*line, err[512];
	json_t		*j;
	enum ctl_line	 k;

	*code = 0;
	if (ctlclient_request(fd, req, &line) == -1) {
		*code = -1;
		return NULL;
	}
	k = ctlclient_parse(line, &j, err, sizeof(err));
	if (k == CTL_LINE_OK) {
		free(line);
		return j;
	}
	if (k == CTL_LINE_ERROR && o->json)
		printf("%s\n", line);
	else if (k == CTL_LINE_ERROR) {
		clean(err, err, sizeof(err));
		fprintf(stderr, "tocsinctl: %s\n", err);
	} else
		fprintf(stderr, "tocsinctl: a bad answer from probed: %s\n",
		    err);
	free(line);
	json_decref(j);
	*code = EXIT_REFUSED;
	return NULL;
}

/*
 * request() for a command that prints a table: with -j the answer is
 * printed as it came and NULL returned with *code 0; NULL on failure as
 * request(); else the answer for the caller to print and free.
 */
static json_t *
request_table(const struct opts *o, int fd, const char *req, int *code)
{
	json_t	*ans;

	if ((ans = request(o, fd, req, code)) == NULL || !o->json)
		return ans;
	json_dumpf(ans, stdout, JSONTEXT_DUMP_FLAGS);
	putchar('\n');
	json_decref(ans);
	return NULL;
}

/* Returns the exit code, or -1 (errno set) when probed went away. */
static int
cmd_status(struct opts *o, int fd, const char *req)
{
	struct ctl_server	*s;
	json_t			*ans;
	size_t			 n;
	char			 err[256];
	int			 code;

	if ((ans = request(o, fd, req, &code)) == NULL)
		return code;
	if (o->json) {
		if (json_object_get(ans, "cluster") != NULL)
			json_object_del(ans, "ok");	/* {cluster, servers} */
		json_dumpf(json_object_get(ans, "cluster") != NULL ? ans :
		    json_object_get(ans, "servers"), stdout,
		    JSONTEXT_DUMP_FLAGS);
		putchar('\n');
		json_decref(ans);
		return 0;
	}
	if (ctlclient_servers_from_answer(ans, &s, &n, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "tocsinctl: %s\n", err);
		json_decref(ans);
		return EXIT_REFUSED;
	}
	print_cluster_head(json_object_get(ans, "cluster"));
	print_table(o, s, n);
	print_cluster(json_object_get(ans, "servers"));
	if (n == 1)
		print_long_output(json_array_get(json_object_get(ans,
		    "servers"), 0));
	json_decref(ans);
	ctlclient_servers_free(s, n);
	return 0;
}

/* In cluster mode, above the table: "node1 answers; alive: node1,
 * node2" (head: the answer's "cluster"; NULL: nothing). */
static void
print_cluster_head(json_t *head)
{
	json_t		*v;
	const char	*node;
	char		 buf[256];
	size_t		 i;

	if ((node = json_string_value(json_object_get(head, "node"))) == NULL)
		return;
	clean(buf, node, sizeof(buf));
	printf("cluster: %s answers; alive:", buf);
	json_array_foreach(json_object_get(head, "alive"), i, v) {
		clean(buf, json_string_value(v) != NULL ?
		    json_string_value(v) : "?", sizeof(buf));
		printf("%s %s", i > 0 ? "," : "", buf);
	}
	printf("\n\n");
}

/*
 * In cluster mode, under the table: each server's cluster-level state
 * and each node's verdict, one line a node:
 *   ID  CLUSTER  NODE  VERDICT  LATENCY  AGE
 * a dead node's verdict (it no longer counts) marked "(dead)".
 */
static void
print_cluster(json_t *servers)
{
	static const char *head[] = { "ID", "CLUSTER", "NODE", "VERDICT",
	    "LATENCY", "AGE" };
	enum { NC = 6 };
	json_t		*srv, *cv, *v;
	const char	*node;
	char		 cell[NC][256];
	size_t		 w[NC], i, k;
	int		 pass, first, pad, any = 0;

	for (k = 0; k < NC; k++)
		w[k] = strlen(head[k]);
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			if (!any)
				return;
			printf("\n");
			for (k = 0; k < NC - 1; k++)
				printf(k == 4 ? "%*s  " : "%-*s  ", (int)w[k],
				    head[k]);
			printf("%s\n", head[NC - 1]);
		}
		json_array_foreach(servers, i, srv) {
			if ((cv = json_object_get(srv, "cluster")) == NULL)
				continue;
			any = 1;
			first = 1;
			json_object_foreach(json_object_get(cv, "nodes"), node,
			    v) {
				cluster_cells(cell, srv, cv, first, node, v);
				first = 0;
				for (k = 0; k < NC; k++) {
					if (pass == 0) {
						if (utf8_len(cell[k]) > w[k])
							w[k] = utf8_len(cell[k]);
						continue;
					}
					pad = (int)(w[k] - utf8_len(cell[k]));
					if (k == NC - 1)
						printf("%s\n", cell[k]);
					else if (k == 4)	/* LATENCY */
						printf("%*s%s  ", pad, "",
						    cell[k]);
					else
						printf("%s%*s  ", cell[k], pad,
						    "");
				}
			}
		}
	}
}

/* One line of print_cluster: the server's id and state on its first. */
static void
cluster_cells(char cell[][256], json_t *srv, json_t *cv, int first,
    const char *node, json_t *v)
{
	const char	*st;
	json_t		*lat;

	if (first) {
		clean(cell[0], json_string_value(json_object_get(srv, "id")) ?
		    json_string_value(json_object_get(srv, "id")) : "?", 256);
		st = json_string_value(json_object_get(cv, "state"));
		clean(cell[1], st != NULL ? st : "?", 256);
	} else
		cell[0][0] = cell[1][0] = '\0';
	clean(cell[2], node, 256);
	st = json_string_value(json_object_get(v, "state"));
	snprintf(cell[3], 256, "%s%s", st != NULL ? st : "?",
	    json_is_false(json_object_get(v, "alive")) ? " (dead)" : "");
	clean(cell[3], cell[3], 256);
	lat = json_object_get(v, "latency_ms");
	fmt_ms(cell[4], 256, json_is_number(lat) ? json_number_value(lat) :
	    -1);
	snprintf(cell[5], 256, "%llds ago", (long long)json_integer_value(
	    json_object_get(v, "age_s")));
}

/* status ID: a plugin's long output (the lines after the first), if the
 * check kept any, under the table. */
static void
print_long_output(json_t *srv)
{
	const char	*text, *nl;
	char		 line[1024];
	size_t		 len;

	text = json_string_value(json_object_get(srv, "long_output"));
	if (text == NULL || *text == '\0')
		return;
	printf("\n");
	while (*text != '\0') {
		nl = strchr(text, '\n');
		len = nl != NULL ? (size_t)(nl - text) : strlen(text);
		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, text, len);
		line[len] = '\0';
		clean(line, line, sizeof(line));
		printf("  %s\n", line);
		if (nl == NULL)
			break;
		text = nl + 1;
	}
}

/* The last state probed wrote, after saying why it is the last. */
static int
last_known(struct opts *o, const char *why, const char *id)
{
	struct ctl_server		*s;
	const struct server_conf	*sc;
	size_t				 n, i, keep;
	int64_t				 written;
	char				 path[PATH_MAX], err[PATH_MAX + 128];
	char				 when[64];
	time_t				 tw;
	struct tm			 tm;

	snprintf(path, sizeof(path), "%s/%s", o->state_dir, PATH_STATE_FILE);
	if (ctlclient_state_load(path, &s, &n, &written, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "tocsinctl: %s; no last known state (%s)\n",
		    why, err);
		return EXIT_GONE;
	}
	tw = (time_t)written;
	if (written > 0 && localtime_r(&tw, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	else
		strlcpy(when, "at an unknown time", sizeof(when));
	fprintf(stderr, "tocsinctl: %s; showing last known state from %s "
	    "(written at %s)\n", why, path, when);

	for (i = keep = 0; i < n; i++) {
		if (id != NULL && strcmp(s[i].id, id) != 0) {
			free(s[i].id);
			continue;
		}
		if (o->conf != NULL &&
		    (sc = conf_find_server(o->conf, s[i].id)) != NULL)
			strlcpy(s[i].kind, conf_kind_str(sc->kind),
			    sizeof(s[i].kind));
		s[keep++] = s[i];
	}
	if (id != NULL && keep == 0)
		fprintf(stderr, "tocsinctl: unknown server '%s'\n", id);
	else if (o->json)
		print_json_servers(s, keep);
	else
		print_table(o, s, keep);
	ctlclient_servers_free(s, keep);
	return EXIT_GONE;
}

/* -j status from the state file: the live objects' keys it can fill,
 * and "stale": true. */
static void
print_json_servers(struct ctl_server *s, size_t n)
{
	json_t	*arr, *o;
	size_t	 i;

	arr = json_array();
	for (i = 0; i < n; i++) {
		o = json_pack("{s:s,s:s?,s:s,s:s?,s:o,s:o,s:o,s:s,s:b,s:b,"
		    "s:b,s:o,s:b}",
		    "id", s[i].id,
		    "kind", s[i].kind[0] != '\0' ? s[i].kind : NULL,
		    "state", s[i].state,
		    "state_type", s[i].state_type[0] != '\0' ?
		    s[i].state_type : NULL,
		    "since", s[i].since != 0 ? json_integer(s[i].since) :
		    json_null(),
		    "last_check", s[i].last_check != 0 ?
		    json_integer(s[i].last_check) : json_null(),
		    "latency_ms", s[i].latency_ms >= 0 ?
		    json_real(s[i].latency_ms) : json_null(),
		    "message", s[i].message,
		    "flapping", s[i].flapping,
		    "acked", s[i].acked,
		    "drained", s[i].drained,
		    "downtime_until", s[i].downtime_until != 0 ?
		    json_integer(s[i].downtime_until) : json_null(),
		    "stale", 1);
		if (o != NULL)
			json_array_append_new(arr, o);
	}
	json_dumpf(arr, stdout, JSONTEXT_DUMP_FLAGS);
	putchar('\n');
	json_decref(arr);
}

/*
 * The status table: ID KIND STATE TYPE SINCE LATENCY ACK DOWNTIME
 * MESSAGE, columns as wide as their widest cell. STATE says unreachable
 * for a server down while one it depends on is down; ACK holds the ack's
 * comment (cut to ACK_WIDTH), DOWNTIME the running downtime's end; the
 * message, after [drained] and [flapping], is cut at a word to what the
 * terminal has left (MSG_WIDTH characters when not on one).
 */
static void
print_table(const struct opts *o, struct ctl_server *s, size_t n)
{
	static const char *head[] = { "ID", "KIND", "STATE", "TYPE", "SINCE",
	    "LATENCY", "ACK", "DOWNTIME", "MESSAGE" };
	enum { NCOLS = 8 };
	char		 cell[NCOLS][256], msg[1024];
	size_t		 w[NCOLS], i, k, used, room;
	int64_t		 now = time(NULL);
	int		 cols, pass, pad;

	for (k = 0; k < NCOLS; k++)
		w[k] = strlen(head[k]);
	used = 0;
	room = MSG_WIDTH;
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			for (k = 0; k < NCOLS; k++)
				used += w[k] + 2;
			if ((cols = term_width()) > 0)
				room = (size_t)cols > used + MSG_WIDTH_MIN ?
				    (size_t)cols - used : MSG_WIDTH_MIN;
			for (k = 0; k < NCOLS; k++)
				printf(k == 5 ? "%*s  " : "%-*s  ", (int)w[k],
				    head[k]);
			printf("%s\n", head[NCOLS]);
		}
		for (i = 0; i < n; i++) {
			clean(cell[0], s[i].id, sizeof(cell[0]));
			strlcpy(cell[1], s[i].kind[0] != '\0' ? s[i].kind :
			    "-", sizeof(cell[1]));
			strlcpy(cell[2], s[i].unreachable &&
			    strcmp(s[i].state, "down") == 0 ? "unreachable" :
			    s[i].state, sizeof(cell[2]));
			strlcpy(cell[3], s[i].state_type[0] != '\0' ?
			    s[i].state_type : "-", sizeof(cell[3]));
			fmt_ago(cell[4], sizeof(cell[4]), s[i].since, now);
			fmt_ms(cell[5], sizeof(cell[5]), s[i].latency_ms);
			if (!s[i].acked)
				strlcpy(cell[6], "-", sizeof(cell[6]));
			else {
				clean(cell[6], s[i].ack_comment[0] != '\0' ?
				    s[i].ack_comment : "yes", sizeof(cell[6]));
				word_cut(cell[6], ACK_WIDTH);
			}
			if (s[i].downtime_until > now)
				fmt_when(cell[7], sizeof(cell[7]),
				    s[i].downtime_until, now);
			else
				strlcpy(cell[7], "-", sizeof(cell[7]));
			if (pass == 0) {
				for (k = 0; k < NCOLS; k++)
					if (utf8_len(cell[k]) > w[k])
						w[k] = utf8_len(cell[k]);
				continue;
			}
			msg[0] = '\0';
			if (s[i].drained)
				append(msg, sizeof(msg), "[drained] ");
			if (s[i].flapping)
				append(msg, sizeof(msg), "[flapping] ");
			append(msg, sizeof(msg), "%s", s[i].message);
			clean(msg, msg, sizeof(msg));
			word_cut(msg, room);
			for (k = 0; k < NCOLS; k++) {
				pad = (int)(w[k] - utf8_len(cell[k]));
				if (k == 5)	/* LATENCY: to the right */
					printf("%*s%s  ", pad, "", cell[k]);
				else
					printf("%s%*s  ", cell[k], pad, "");
			}
			printf("%s\n", msg);
		}
	}
	(void)o;
}

/* watch: print each line as it comes until probed goes away. */
static int
cmd_watch(struct opts *o, int fd)
{
	json_t	*ans;
	char	*line;
	int	 code, r, tty = isatty(STDOUT_FILENO);

	if ((ans = request(o, fd, "watch", &code)) == NULL)
		return code;
	json_decref(ans);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((r = ctlclient_readline(fd, -1, &line)) == 1) {
		if (o->json)
			printf("%s\n", line);
		else
			print_watch_line(line, tty);
		free(line);
		if (ferror(stdout))
			return 0;	/* the reader went (a pipe to head) */
	}
	if (r == 0)
		errno = ECONNRESET;
	return -1;
}

/*
 * One watch line for people:
 *   12:00:01 www1 ok 12.3 ms up
 *   12:00:07 *** db1 up -> down (acked): connection refused
 * state changes in bold on a terminal.
 */
static void
print_watch_line(const char *line, int tty)
{
	json_t		*j;
	enum ctl_line	 k;
	char		 clock[16], lat[32], id[256], msg[RESULT_MSG_MAX];
	const char	*status, *state, *type, *o, *n, *change;
	double		 t;
	int		 fl, dt, ack;

	k = ctlclient_parse(line, &j, NULL, 0);
	if (k == CTL_LINE_BAD) {
		clean(msg, line, sizeof(msg));
		printf("%s\n", msg);
		return;
	}
	t = json_number_value(json_object_get(j, "time"));
	fmt_clock(clock, sizeof(clock), t > 0 ? t : (double)time(NULL));
	clean(id, json_string_value(json_object_get(j, "id")), sizeof(id));
	clean(msg, json_string_value(json_object_get(j, "message")),
	    sizeof(msg));
	switch (k) {
	case CTL_LINE_RESULT:
		status = json_string_value(json_object_get(j, "status"));
		state = json_string_value(json_object_get(j, "state"));
		type = json_string_value(json_object_get(j, "state_type"));
		if (json_is_number(json_object_get(j, "latency_ms")))
			fmt_ms(lat, sizeof(lat), json_number_value(
			    json_object_get(j, "latency_ms")));
		else
			strlcpy(lat, "-", sizeof(lat));
		printf("%s %s %s %s %s%s%s%s\n", clock, id,
		    status != NULL ? status : "?", lat,
		    state != NULL ? state : "?",
		    type != NULL && strcmp(type, "soft") == 0 ? " (soft)" : "",
		    status != NULL && strcmp(status, "ok") != 0 &&
		    msg[0] != '\0' ? ": " : "",
		    status != NULL && strcmp(status, "ok") != 0 ? msg : "");
		break;
	case CTL_LINE_EVENT:
		o = json_string_value(json_object_get(j, "old"));
		n = json_string_value(json_object_get(j, "new"));
		fl = json_is_true(json_object_get(j, "flapping"));
		dt = json_is_true(json_object_get(j, "downtime"));
		ack = json_is_true(json_object_get(j, "acked"));
		printf("%s%s *** %s %s -> %s%s%s%s%s%s%s%s\n",
		    tty ? "\033[1m" : "", clock, id, o != NULL ? o : "?",
		    n != NULL ? n : "?",
		    fl || dt || ack ? " (" : "",
		    fl ? "flapping" : "",
		    dt ? (fl ? ", downtime" : "downtime") : "",
		    ack ? (fl || dt ? ", acked" : "acked") : "",
		    fl || dt || ack ? ")" : "",
		    msg[0] != '\0' ? ": " : "", msg);
		if (tty)
			fputs("\033[0m", stdout);
		break;
	case CTL_LINE_SERVER:
		change = json_string_value(json_object_get(j, "change"));
		printf("%s --- %s %s\n", clock, id,
		    change != NULL ? change : "changed");
		break;
	default:
		clean(msg, line, sizeof(msg));
		printf("%s\n", msg);
		break;
	}
	json_decref(j);
}

/* stats: one figure a line ("-" for none); -j: probed's answer. */
static int
cmd_stats(struct opts *o, int fd, const char *req)
{
	json_t		*ans, *v;
	const char	*key;
	int		 code;

	if ((ans = request_table(o, fd, req, &code)) == NULL)
		return code;
	json_object_foreach(json_object_get(ans, "stats"), key, v) {
		if (json_is_integer(v))
			printf("%-18s %lld\n", key,
			    (long long)json_integer_value(v));
		else if (json_is_real(v))
			printf("%-18s %.1f\n", key, json_real_value(v));
		else
			printf("%-18s -\n", key);
	}
	json_decref(ans);
	return 0;
}

/*
 * lb-stats: tocsin-lb's own socket, -s or STATE_DIR/lb.sock. Returns the
 * exit code.
 */
static int
lb_stats(struct opts *o, const char *sock)
{
	char	*path = NULL;
	int	 fd, r;

	if (sock == NULL) {
		xasprintf(&path, "%s/%s", o->state_dir != NULL ?
		    o->state_dir : PATH_STATE_DIR, PATH_LB_SOCKET);
		sock = path;
	}
	if ((fd = ctlclient_connect(sock)) == -1 ||
	    (r = lbstats_run(fd, o->json)) == -1) {
		fprintf(stderr, "tocsinctl: cannot reach tocsin-lb (%s: %s)\n",
		    sock, strerror(errno));
		r = EXIT_GONE;
	}
	if (fd != -1)
		close(fd);
	free(path);
	return r;
}

/*
 * pages, test-page CONTACT: tocsin-pager's own socket, -s or
 * STATE_DIR/pager.sock. Returns the exit code.
 */
static int
pager(struct opts *o, const char *sock, char **argv)
{
	char	*path = NULL;
	int	 fd, r;

	if (sock == NULL) {
		xasprintf(&path, "%s/%s", o->state_dir != NULL ?
		    o->state_dir : PATH_STATE_DIR, PATH_PAGER_SOCKET);
		sock = path;
	}
	if ((fd = ctlclient_connect(sock)) == -1 ||
	    (r = strcmp(argv[0], "pages") == 0 ? pagerctl_pages(fd, o->json) :
	    pagerctl_test_page(fd, argv[1], o->json)) == -1) {
		fprintf(stderr, "tocsinctl: cannot reach tocsin-pager (%s: "
		    "%s)\n", sock, strerror(errno));
		r = EXIT_GONE;
	}
	if (fd != -1)
		close(fd);
	free(path);
	return r;
}

/* check, ack, downtime, drain, enable, reload: "ok", or why not. */
static int
cmd_simple(struct opts *o, int fd, const char *req)
{
	json_t	*ans;
	int	 code;

	if ((ans = request(o, fd, req, &code)) == NULL)
		return code;
	if (o->json) {
		json_dumpf(ans, stdout, JSONTEXT_DUMP_FLAGS);
		putchar('\n');
	} else
		printf("ok\n");
	json_decref(ans);
	return 0;
}

/* Append to a NUL-terminated buffer, cutting what does not fit. */
static void
append(char *buf, size_t size, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 len = strlen(buf);

	if (len + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

/*
 * Copy src to dst (size > 0) fit for a terminal: control characters
 * (ESC above all: a server's banner could move the cursor) become '?'.
 * src NULL is "". src may be dst.
 */
static void
clean(char *dst, const char *src, size_t size)
{
	size_t	 i;

	if (src == NULL)
		src = "";
	if (dst != src)
		strlcpy(dst, src, size);
	for (i = 0; dst[i] != '\0'; i++)
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = '?';
}

/* Characters, not bytes, in UTF-8 text. */
static size_t
utf8_len(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/*
 * Cut s to at most max characters (max >= 4), at the end of a word when
 * one ends in the last third, and end it with "..." when cut.
 */
static void
word_cut(char *s, size_t max)
{
	size_t	 i, n = 0, cut = 0, word = 0;

	if (utf8_len(s) <= max || max < 4)
		return;
	for (i = 0; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (n == max - 3) {
			cut = i;
			break;
		}
		if (s[i] == ' ' && n > 0 && s[i - 1] != ' ' &&
		    n >= (max - 3) * 2 / 3)
			word = i;
		n++;
	}
	if (s[cut] == ' ')
		word = cut;
	if (word > 0)
		cut = word;
	while (cut > 0 && (s[cut - 1] == ' ' || s[cut - 1] == ',' ||
	    s[cut - 1] == ';' || s[cut - 1] == ':'))
		cut--;
	strlcpy(s + cut, "...", 4);
}

/* "3m ago"; "-" for 0 (not known). */
static void
fmt_ago(char *buf, size_t len, int64_t when, int64_t now)
{
	int64_t	 d = now - when;

	if (when == 0)
		snprintf(buf, len, "-");
	else if (d < 60)
		snprintf(buf, len, "%llds ago", (long long)(d < 0 ? 0 : d));
	else if (d < 3600)
		snprintf(buf, len, "%lldm ago", (long long)(d / 60));
	else if (d < 86400)
		snprintf(buf, len, "%lldh ago", (long long)(d / 3600));
	else
		snprintf(buf, len, "%lldd ago", (long long)(d / 86400));
}

/* "12.300 ms" (to the microsecond); "-" when there is none. */
static void
fmt_ms(char *buf, size_t len, double ms)
{
	if (ms < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.3f ms", ms);
}

/* Unix seconds as local "HH:MM:SS". */
static void
fmt_clock(char *buf, size_t len, double t)
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	if (localtime_r(&tt, &tm) == NULL)
		snprintf(buf, len, "--:--:--");
	else
		strftime(buf, len, "%H:%M:%S", &tm);
}

/* The terminal's width, or 0 when stdout is not a terminal. */
static int
term_width(void)
{
	struct winsize	 ws;

	if (!isatty(STDOUT_FILENO) ||
	    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == -1 || ws.ws_col == 0)
		return 0;
	return ws.ws_col;
}

/*
 * One word of a config line at *pp, as the config writes it: bare (up to
 * a blank, '#' or the ';' that ends a statement), or in double quotes
 * (with backslash escapes); copied into buf. Returns 0, or -1 when there
 * is none or it does not fit.
 */
static int
scan_word(const char **pp, char *buf, size_t len)
{
	const char	*p = *pp;
	size_t		 n = 0;
	int		 quoted;

	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	if (*p == '\0' || *p == '\n' || *p == '#' || *p == ';')
		return -1;
	if ((quoted = *p == '"'))
		p++;
	while (*p != '\0' && *p != '\n' && (quoted ? *p != '"' :
	    *p != ' ' && *p != '\t' && *p != '\r' && *p != '#' &&
	    *p != ';')) {
		if (quoted && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
			p++;
		if (n + 1 >= len)
			return -1;
		buf[n++] = *p++;
	}
	if (quoted && *p++ != '"')
		return -1;
	buf[n] = '\0';
	*pp = p;
	return 0;
}

/*
 * The statement after the one at p on its line (past the next ';' outside
 * quotes), or NULL at the line's end or a comment.
 */
static const char *
next_statement(const char *p)
{
	int quoted = 0;

	for (; *p != '\0' && *p != '\n'; p++) {
		if (quoted && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == '#')
			return NULL;
		else if (!quoted && *p == ';')
			return p + 1;
	}
	return NULL;
}

/*
 * One statement of the file at path: an include is scanned in place, a
 * `set control` or `set state-dir` replaces what came before, as the
 * parser's last one wins.
 */
static void
scan_statement(struct opts *o, const char *path, const char *p, int depth)
{
	char		 k[32], v[PATH_MAX], pat[PATH_MAX];
	char		*copy;
	glob_t		 g;
	size_t		 i;

	if (scan_word(&p, k, sizeof(k)) == -1)
		return;
	if (strcmp(k, "include") == 0) {
		if (scan_word(&p, v, sizeof(v)) == -1)
			return;
		copy = xstrdup(path);
		if (v[0] == '/' || (size_t)snprintf(pat, sizeof(pat),
		    "%s/%s", dirname(copy), v) >= sizeof(pat))
			strlcpy(pat, v, sizeof(pat));
		free(copy);
		if (glob(pat, 0, NULL, &g) == 0)
			for (i = 0; i < g.gl_pathc; i++)
				scan_paths(o, g.gl_pathv[i], depth + 1);
		globfree(&g);
		return;
	}
	if (strcmp(k, "set") != 0 || scan_word(&p, k, sizeof(k)) == -1 ||
	    scan_word(&p, v, sizeof(v)) == -1)
		return;
	if (strcmp(k, "control") == 0 && (o->socket == NULL ||
	    o->socket == o->socket_buf)) {
		free(o->socket_buf);
		o->socket = o->socket_buf = xstrdup(v);
	} else if (strcmp(k, "state-dir") == 0) {
		free(o->state_dir);
		o->state_dir = xstrdup(v);
	}
}

/*
 * Where the socket and state folder are, from a config that does not
 * load: the last `set control` and `set state-dir` statements of the
 * file and of the files it includes, in order (depth levels at most), as
 * the parser takes them. Good enough to reach the daemon that runs the
 * old config and ask it to reload.
 */
static void
scan_paths(struct opts *o, const char *path, int depth)
{
	FILE		*f;
	const char	*p;
	char		 line[1024];

	if (depth > 8 || (f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		for (p = line; p != NULL; p = next_statement(p))
			scan_statement(o, path, p, depth);
	fclose(f);
}

/*
 * reload: "ok", or probed's FILE:LINE errors and that it keeps running
 * the config it had (exit 1). The daemon reads the file itself, so its
 * errors are the ones that count, whatever tocsinctl made of the file.
 */
static int
cmd_reload(struct opts *o, int fd, const char *req)
{
	char		*line, err[64 * 1024];
	json_t		*j;
	enum ctl_line	 k;

	if (ctlclient_request(fd, req, &line) == -1)
		return -1;
	k = ctlclient_parse(line, &j, err, sizeof(err));
	if (o->json)
		printf("%s\n", line);
	free(line);
	json_decref(j);
	if (k == CTL_LINE_OK) {
		if (!o->json)
			printf("ok\n");
		return 0;
	}
	if (k == CTL_LINE_BAD) {
		fprintf(stderr, "tocsinctl: a bad answer from probed: %s\n",
		    err);
		return EXIT_REFUSED;
	}
	if (!o->json)
		fprintf(stderr, "%s\ntocsinctl: reload failed: tocsin-probed "
		    "keeps running the config it had\n", err);
	return EXIT_REFUSED;
}

/* downtime: what was set, on which servers, and what it overlaps. */
static int
cmd_downtime(struct opts *o, int fd, const char *req)
{
	json_t		*ans, *d, *v;
	char		 from[64], until[64], id[256], text[256];
	size_t		 i;
	int64_t		 now = time(NULL);
	int		 code;

	if ((ans = request_table(o, fd, req, &code)) == NULL)
		return code;
	d = json_object_get(ans, "downtime");
	fmt_when(from, sizeof(from), json_integer_value(json_object_get(d,
	    "from")), now);
	fmt_when(until, sizeof(until), json_integer_value(json_object_get(d,
	    "until")), now);
	printf("downtime %lld from %s until %s:",
	    (long long)json_integer_value(json_object_get(d, "id")), from,
	    until);
	json_array_foreach(json_object_get(ans, "servers"), i, v) {
		clean(id, json_string_value(v), sizeof(id));
		printf(" %s", id);
	}
	printf("\n");
	json_array_foreach(json_object_get(ans, "overlaps"), i, v) {
		clean(id, json_string_value(json_object_get(v, "server")),
		    sizeof(id));
		clean(text, json_string_value(json_object_get(v, "comment")),
		    sizeof(text));
		fmt_when(until, sizeof(until), json_integer_value(
		    json_object_get(v, "until")), now);
		printf("  %s also has downtime %lld until %s%s%s\n", id,
		    (long long)json_integer_value(json_object_get(v, "id")),
		    until, text[0] != '\0' ? ": " : "", text);
	}
	json_decref(ans);
	return 0;
}

/* downtimes: one line each, by start: N FROM UNTIL WHO SERVERS COMMENT. */
static int
cmd_downtimes(struct opts *o, int fd, const char *req)
{
	json_t		*ans, *d, *v;
	char		 from[64], until[64], who[64], servers[512], text[256];
	size_t		 i, k, off;
	int64_t		 now = time(NULL);
	int		 code;

	if ((ans = request_table(o, fd, req, &code)) == NULL)
		return code;
	printf("%-4s  %-16s  %-16s  %-10s  %-20s  %s\n", "N", "FROM", "UNTIL",
	    "WHO", "SERVERS", "COMMENT");
	json_array_foreach(json_object_get(ans, "downtimes"), i, d) {
		fmt_when(from, sizeof(from), json_integer_value(
		    json_object_get(d, "from")), now);
		fmt_when(until, sizeof(until), json_integer_value(
		    json_object_get(d, "until")), now);
		fmt_who(who, sizeof(who), json_object_get(d, "uid"));
		if (json_is_string(json_object_get(d, "farm")))
			snprintf(servers, sizeof(servers), "farm %s",
			    json_string_value(json_object_get(d, "farm")));
		else {
			servers[0] = '\0';
			off = 0;
			json_array_foreach(json_object_get(d, "servers"), k, v)
				if (off < sizeof(servers))
					off += (size_t)snprintf(servers + off,
					    sizeof(servers) - off, "%s%s",
					    k > 0 ? "," : "",
					    json_string_value(v));
		}
		clean(servers, servers, sizeof(servers));
		clean(text, json_string_value(json_object_get(d, "comment")),
		    sizeof(text));
		printf("%-4lld  %-16s  %-16s  %-10s  %-20s  %s\n",
		    (long long)json_integer_value(json_object_get(d, "id")),
		    from, until, who, servers, text);
	}
	json_decref(ans);
	return 0;
}

/* Unix s as local "14:30" today, else "2026-12-03 14:30". */
static void
fmt_when(char *buf, size_t len, int64_t when, int64_t now)
{
	time_t		 tw = (time_t)when, tn = (time_t)now;
	struct tm	 tm, tmn;

	if (localtime_r(&tw, &tm) == NULL || localtime_r(&tn, &tmn) == NULL)
		snprintf(buf, len, "@%lld", (long long)when);
	else if (tm.tm_year == tmn.tm_year && tm.tm_yday == tmn.tm_yday)
		strftime(buf, len, "%H:%M", &tm);
	else
		strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

/* A uid as its user's name, else the number; "-" when not known. */
static void
fmt_who(char *buf, size_t len, json_t *uid)
{
	struct passwd	*pw;

	if (!json_is_integer(uid))
		snprintf(buf, len, "-");
	else if ((pw = getpwuid((uid_t)json_integer_value(uid))) != NULL)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "%lld", (long long)json_integer_value(uid));
}
