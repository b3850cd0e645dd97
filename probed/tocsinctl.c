/*
 * tocsinctl.c: probed's control socket for people. status as an aligned
 * table, the watch stream as it comes, and the commands (check, ack,
 * downtime, drain, enable, reload, stats); -j prints probed's JSON
 * instead. When probed is gone, status shows the last state it wrote.
 *
 * Exit: 0 done, 1 probed refused the request, 2 usage, 3 probed not
 * reachable (status printed the last known state first).
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <limits.h>
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
#include "paths.h"
#include "xmalloc.h"

#define EXIT_REFUSED	1
#define EXIT_USAGE	2
#define EXIT_GONE	3

#define MSG_WIDTH	60	/* message column when not on a terminal */
#define MSG_WIDTH_MIN	20

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
	{ "downtime",	2, -1,	"downtime ID DURATION [COMMENT]" },
	{ "drain",	1, 1,	"drain ID" },
	{ "enable",	1, 1,	"enable ID" },
	{ "reload",	0, 0,	"reload" },
};

struct opts {
	int		 json;
	const char	*socket;
	char		*state_dir;
	struct conf	*conf;		/* NULL when it could not be read */
};

static void		 usage(FILE *, int) __attribute__((noreturn));
static const struct command *find_command(const char *);
static char		*build_request(int, char **);
static void		 load_conf(struct opts *, const char *, int);
static int		 gone(struct opts *, int, const char *, const char *);
static int		 cmd_status(struct opts *, int, const char *);
static int		 cmd_watch(struct opts *, int);
static json_t		*request(const struct opts *, int, const char *, int *);
static int		 cmd_stats(struct opts *, int, const char *);
static int		 cmd_simple(struct opts *, int, const char *);
static void		 append(char *, size_t, const char *, ...)
			    __attribute__((format(printf, 3, 4)));
static int		 last_known(struct opts *, const char *, const char *);
static void		 print_table(const struct opts *, struct ctl_server *,
			    size_t);
static void		 print_json_servers(struct ctl_server *, size_t);
static void		 print_watch_line(const char *, int);
static void		 clean(char *, const char *, size_t);
static size_t		 utf8_len(const char *);
static void		 utf8_cut(char *, size_t);
static void		 fmt_ago(char *, size_t, int64_t, int64_t);
static void		 fmt_ms(char *, size_t, double);
static void		 fmt_clock(char *, size_t, double);
static int		 term_width(void);

int
main(int argc, char **argv)
{
	struct opts		 o;
	const struct command	*cmd;
	const char		*conf_path = NULL;
	char			*req;
	int			 ch, fd, nargs, r;

	memset(&o, 0, sizeof(o));
	while ((ch = getopt(argc, argv, "c:hjs:")) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'h':
			usage(stdout, 0);
		case 'j':
			o.json = 1;
			break;
		case 's':
			o.socket = optarg;
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
		fprintf(stderr, "usage: tocsinctl [-j] [-c file] [-s socket] "
		    "%s\n", cmd->usage);
		return EXIT_USAGE;
	}
	if ((req = build_request(argc, argv)) == NULL)
		return EXIT_USAGE;

	load_conf(&o, conf_path, o.socket != NULL);
	if ((fd = ctlclient_connect(o.socket)) == -1)
		r = -1;
	else if (strcmp(cmd->name, "status") == 0)
		r = cmd_status(&o, fd, req);
	else if (strcmp(cmd->name, "watch") == 0)
		r = cmd_watch(&o, fd);
	else if (strcmp(cmd->name, "stats") == 0)
		r = cmd_stats(&o, fd, req);
	else
		r = cmd_simple(&o, fd, req);
	if (r == -1)		/* no connection, or it failed */
		r = gone(&o, errno, argv[0], nargs > 0 ? argv[1] : NULL);
	if (fd != -1)
		close(fd);
	free(req);
	free(o.state_dir);
	conf_free(o.conf);
	return r;
}

static void
usage(FILE *f, int code)
{
	fprintf(f, "usage: tocsinctl [-j] [-c file] [-s socket] command "
	    "[args]\n"
	    "commands:\n"
	    "  status [ID]                     servers and their states\n"
	    "  watch                           results and state changes, "
	    "as they come\n"
	    "  check ID                        check now\n"
	    "  ack ID [COMMENT]                acknowledge a problem\n"
	    "  downtime ID DURATION [COMMENT]  no pages for DURATION "
	    "(0 ends it)\n"
	    "  drain ID                        the balancer sends no new "
	    "traffic\n"
	    "  enable ID                       undo drain\n"
	    "  reload                          read the config again\n"
	    "  stats                           the engine's figures\n");
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
 * socket's folder; a config that was asked for and cannot be read is
 * reported, and the defaults used.
 */
static void
load_conf(struct opts *o, const char *path, int have_socket)
{
	char	*errs = NULL, *nl, *slash;
	int	 asked = path != NULL;

	if (path == NULL)
		path = conf_default_path();
	if (asked || access(path, F_OK) == 0) {
		o->conf = conf_load(path, &errs);
		if (o->conf == NULL && !have_socket) {
			if (errs != NULL && (nl = strchr(errs, '\n')) != NULL)
				*nl = '\0';
			fprintf(stderr, "tocsinctl: %s; using the default "
			    "control socket\n", errs != NULL ? errs : path);
		}
		free(errs);
	}
	if (o->conf != NULL) {
		o->state_dir = xstrdup(o->conf->state_dir);
		if (o->socket == NULL)
			o->socket = o->conf->control;
		return;
	}
	if (o->socket == NULL) {
		o->state_dir = xstrdup(PATH_STATE_DIR);
		o->socket = PATH_STATE_DIR "/" PATH_CTL_SOCKET;
		return;
	}
	o->state_dir = xstrdup(o->socket);
	if ((slash = strrchr(o->state_dir, '/')) != NULL)
		*(slash == o->state_dir ? slash + 1 : slash) = '\0';
	else
		strlcpy(o->state_dir, ".", strlen(o->state_dir) + 1);
}

/*
 * probed could not be reached (err is why): say so; status goes on with
 * the last known state. Returns the exit code.
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
		json_dumpf(json_object_get(ans, "servers"), stdout,
		    JSON_COMPACT | JSON_REAL_PRECISION(16));
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
	json_decref(ans);
	print_table(o, s, n);
	ctlclient_servers_free(s, n);
	return 0;
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
	json_dumpf(arr, stdout, JSON_COMPACT | JSON_REAL_PRECISION(16));
	putchar('\n');
	json_decref(arr);
}

/*
 * The status table: ID KIND STATE TYPE SINCE LATENCY MESSAGE, columns as
 * wide as their widest cell, the message cut to what the terminal has
 * left (MSG_WIDTH characters when not on one) and prefixed with the
 * server's flags.
 */
static void
print_table(const struct opts *o, struct ctl_server *s, size_t n)
{
	static const char *head[] = { "ID", "KIND", "STATE", "TYPE", "SINCE",
	    "LATENCY", "MESSAGE" };
	char		 since[32], lat[32], msg[1024], id[256];
	size_t		 w[6], i, k, used, room;
	int64_t		 now = time(NULL);
	int		 cols;

	for (k = 0; k < 6; k++)
		w[k] = strlen(head[k]);
	for (i = 0; i < n; i++) {
		clean(id, s[i].id, sizeof(id));
		fmt_ago(since, sizeof(since), s[i].since, now);
		fmt_ms(lat, sizeof(lat), s[i].latency_ms);
		if (utf8_len(id) > w[0])
			w[0] = utf8_len(id);
		if (strlen(s[i].kind) > w[1])
			w[1] = strlen(s[i].kind);
		if (strlen(s[i].state) > w[2])
			w[2] = strlen(s[i].state);
		if (strlen(s[i].state_type) > w[3])
			w[3] = strlen(s[i].state_type);
		if (strlen(since) > w[4])
			w[4] = strlen(since);
		if (strlen(lat) > w[5])
			w[5] = strlen(lat);
	}
	used = 0;
	for (k = 0; k < 6; k++)
		used += w[k] + 2;
	room = MSG_WIDTH;
	if ((cols = term_width()) > 0)
		room = (size_t)cols > used + MSG_WIDTH_MIN ?
		    (size_t)cols - used : MSG_WIDTH_MIN;

	printf("%-*s  %-*s  %-*s  %-*s  %-*s  %*s  %s\n", (int)w[0], head[0],
	    (int)w[1], head[1], (int)w[2], head[2], (int)w[3], head[3],
	    (int)w[4], head[4], (int)w[5], head[5], head[6]);
	for (i = 0; i < n; i++) {
		clean(id, s[i].id, sizeof(id));
		fmt_ago(since, sizeof(since), s[i].since, now);
		fmt_ms(lat, sizeof(lat), s[i].latency_ms);
		msg[0] = '\0';
		if (s[i].acked && s[i].ack_comment[0] != '\0')
			append(msg, sizeof(msg), "[ack: %s] ",
			    s[i].ack_comment);
		else if (s[i].acked)
			append(msg, sizeof(msg), "[ack] ");
		if (s[i].downtime_until > now)
			append(msg, sizeof(msg), "[downtime] ");
		if (s[i].drained)
			append(msg, sizeof(msg), "[drained] ");
		if (s[i].flapping)
			append(msg, sizeof(msg), "[flapping] ");
		append(msg, sizeof(msg), "%s", s[i].message);
		clean(msg, msg, sizeof(msg));
		utf8_cut(msg, room);
		printf("%s%*s  %-*s  %-*s  %-*s  %-*s  %*s  %s\n", id,
		    (int)(w[0] - utf8_len(id)), "",
		    (int)w[1], s[i].kind[0] != '\0' ? s[i].kind : "-",
		    (int)w[2], s[i].state,
		    (int)w[3], s[i].state_type[0] != '\0' ?
		    s[i].state_type : "-",
		    (int)w[4], since, (int)w[5], lat, msg);
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

	if ((ans = request(o, fd, req, &code)) == NULL)
		return code;
	if (o->json) {
		json_dumpf(ans, stdout, JSON_COMPACT | JSON_REAL_PRECISION(16));
		putchar('\n');
		json_decref(ans);
		return 0;
	}
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

/* check, ack, downtime, drain, enable, reload: "ok", or why not. */
static int
cmd_simple(struct opts *o, int fd, const char *req)
{
	json_t	*ans;
	int	 code;

	if ((ans = request(o, fd, req, &code)) == NULL)
		return code;
	if (o->json) {
		json_dumpf(ans, stdout, JSON_COMPACT | JSON_REAL_PRECISION(16));
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

/* Cut s to at most max characters, the last three "..." if cut. */
static void
utf8_cut(char *s, size_t max)
{
	size_t	 i, n = 0;

	if (utf8_len(s) <= max || max < 4)
		return;
	for (i = 0; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && n++ == max - 3)
			break;
	}
	strlcpy(s + i, "...", 4);
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

/* "12.3 ms"; "-" when there is none. */
static void
fmt_ms(char *buf, size_t len, double ms)
{
	if (ms < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1f ms", ms);
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
