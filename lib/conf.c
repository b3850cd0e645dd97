/*
 * conf.c: the config language's entry points and model. conf_lex.c turns
 * text into words, conf_parse.c builds the model in conf.h from them and
 * conf_validate.c checks what needs the whole file and resolves defaults;
 * this file runs them in turn, keeps the error list and frees the model.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_impl.h"
#include "hash.h"
#include "secret.h"
#include "paths.h"
#include "util.h"
#include "xmalloc.h"

/* Append "FILE:LINE: [prefix]message\n" to the list *buf of *len bytes. */
static void
vappend(char **buf, size_t *len, const char *prefix, const char *file,
    int line, const char *fmt, va_list ap)
{
	char	 msg[512];
	int	 n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = snprintf(NULL, 0, "%s:%d: %s%s\n", file, line, prefix, msg);
	*buf = xreallocarray(*buf, *len + n + 1, 1);
	snprintf(*buf + *len, n + 1, "%s:%d: %s%s\n", file, line, prefix, msg);
	*len += n;
}

static void
vperr(struct parser *p, const char *file, int line, const char *fmt,
    va_list ap)
{
	vappend(&p->errs, &p->errlen, "", file, line, fmt, ap);
	p->nerrs++;
}

/* An error at a line of the file being parsed. */
void
conf_err(struct parser *p, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vperr(p, p->stack[p->depth - 1]->name, line, fmt, ap);
	va_end(ap);
}

/* An error at a line of any file (validation names the server's). */
void
conf_err_at(struct parser *p, const char *file, int line, const char *fmt,
    ...)
{
	va_list ap;

	va_start(ap, fmt);
	vperr(p, file, line, fmt, ap);
	va_end(ap);
}

/*
 * A warning: something that runs, though likely not as meant (a secret
 * others may read). It does not refuse the config.
 */
void
conf_warn_at(struct parser *p, const char *file, int line, const char *fmt,
    ...)
{
	va_list ap;

	va_start(ap, fmt);
	vappend(&p->warns, &p->warnlen, "warning: ", file, line, fmt, ap);
	va_end(ap);
}

static void
conf_defaults(struct conf *c)
{
	c->state_dir = xstrdup(PATH_STATE_DIR);
	c->max_concurrent = 1000;
	c->exec_max = 8;
	c->lb_threads = 1;
	c->flap_low = 20;
	c->flap_high = 30;
	c->storm_n = 10;
	c->storm_ms = 60000;
	c->stale_after_ms = 30 * 60000;
}

/* After parsing: fill paths that derive from the state folder. */
static void
conf_finish(struct conf *c)
{
	if (c->control == NULL)
		xasprintf(&c->control, "%s/%s", c->state_dir, PATH_CTL_SOCKET);
	if (c->from == NULL)
		c->from = xstrdup("tocsin@localhost");
	conf_cluster_finish(c);
}

static struct conf *
parse_common(const char *name, const char *real, const char *text,
    char **errors)
{
	struct parser	 p;
	struct conf	*c;

	memset(&p, 0, sizeof(p));
	c = p.conf = xcalloc(1, sizeof(*c));
	c->path = xstrdup(name);
	conf_defaults(c);
	conf_parse_src(&p, name, real, text);
	if (!p.fatal)
		conf_validate(&p);
	if (p.nerrs > 0) {
		*errors = p.errs;
		free(p.warns);
		conf_free(c);
		return NULL;
	}
	conf_finish(c);
	c->warnings = p.warns;
	*errors = NULL;
	free(p.errs);
	return c;
}

/*
 * Load a config file and what it includes. Returns the model, or NULL with
 * *errors set to every problem found, one "FILE:LINE: message\n" each
 * (the caller frees it).
 */
struct conf *
conf_load(const char *path, char **errors)
{
	struct conf	*c;
	const char	*err;
	char		*text, real[PATH_MAX];
	size_t		 size;
	int		 line;

	if ((text = conf_lex_read_file(path, &size, &err, &line)) == NULL ||
	    realpath(path, real) == NULL) {
		if (text == NULL && line > 0)
			xasprintf(errors, "%s:%d: %s\n", path, line, err);
		else if (text == NULL)
			xasprintf(errors, "%s: %s\n", path, err);
		else
			xasprintf(errors, "%s: %s\n", path, strerror(errno));
		free(text);
		return NULL;
	}
	c = parse_common(path, real, text, errors);
	free(text);
	return c;
}

/* Parse text as if read from a file called name; includes are relative to
 * the current folder. */
struct conf *
conf_parse_string(const char *name, const char *text, char **errors)
{
	return parse_common(name, NULL, text, errors);
}

/* Free what a set of options owns (not the struct). */
void
conf_options_free(struct options *o)
{
	size_t i;

	free(o->method);
	free(o->body);
	free(o->host);
	free(o->user);
	free(o->password_file);
	free(o->send);
	free(o->expect);
	free(o->file);
	for (i = 0; i < o->nnotify; i++)
		free(o->notify[i]);
	free(o->notify);
	for (i = 0; i < o->ndepends; i++)
		free(o->depends[i]);
	free(o->depends);
	for (i = 0; i < o->nvantage; i++)
		free(o->vantage[i]);
	free(o->vantage);
}

/* Free one server's settings (NULL fields allowed; sv may be NULL). */
void
conf_server_free(struct server_conf *sv)
{
	if (sv == NULL)
		return;
	free(sv->id);
	free(sv->name);
	free(sv->scheme);
	free(sv->url);
	free(sv->host);
	free(sv->path);
	free(sv->dns_type);
	free_words(sv->argv);
	secret_free(sv->password);
	conf_options_free(&sv->o);
	free(sv->deps);
	free(sv->contacts);
	free(sv);
}

void
conf_free(struct conf *c)
{
	size_t i, j;

	if (c == NULL)
		return;
	for (i = 0; i < c->nservers; i++)
		conf_server_free(c->servers[i]);
	free(c->servers);
	for (i = 0; i < c->nfarms; i++) {
		struct farm_conf *f = c->farms[i];
		free(f->name);
		for (j = 0; j < f->nlistens; j++)
			free(f->listens[j].addr);
		free(f->listens);
		conf_options_free(&f->o);
		free(f->servers);
		free(f);
	}
	free(c->farms);
	for (i = 0; i < c->ncontacts; i++) {
		free(c->contacts[i]->name);
		free(c->contacts[i]->email);
		free(c->contacts[i]->sms);
		free(c->contacts[i]->webhook);
		free(c->contacts[i]->escalate_name);
		free(c->contacts[i]);
	}
	free(c->contacts);
	for (i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	hash_free(c->byid, NULL);
	conf_options_free(&c->defaults);
	free(c->path);
	free(c->state_dir);
	free(c->control);
	free(c->control_group);
	free(c->pidfile);
	free(c->user);
	free(c->dns_servers);
	free(c->rrdcached);
	free(c->from);
	free(c->smtp_relay);
	free(c->smtp_auth_file);
	free(c->sms_gateway);
	free(c->sms_auth_file);
	free(c->sms_body);
	free(c->admin);
	free(c->web_url);
	free(c->cluster);
	free(c->cluster_creds);
	free(c->cluster_ca);
	free(c->node);
	free(c->warnings);
	free(c);
}

struct server_conf *
conf_find_server(const struct conf *c, const char *id)
{
	return c->byid != NULL ? hash_get(c->byid, id) : NULL;
}

/* The farm called name, or NULL. */
struct farm_conf *
conf_find_farm(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nfarms; i++)
		if (strcmp(c->farms[i]->name, name) == 0)
			return c->farms[i];
	return NULL;
}

/* The first contact called name, or NULL. */
struct contact_conf *
conf_find_contact(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->ncontacts; i++)
		if (strcmp(c->contacts[i]->name, name) == 0)
			return c->contacts[i];
	return NULL;
}

/* 1 if server c depends on (depends-on) the server called id. */
int
conf_depends_on(const struct server_conf *c, const char *id)
{
	size_t i;

	for (i = 0; i < c->ndeps; i++)
		if (strcmp(c->deps[i]->id, id) == 0)
			return 1;
	return 0;
}

const char *
conf_kind_str(enum check_kind k)
{
	static const char *names[] = { "http", "tcp", "dns", "ftp", "smtp",
	    "pop3", "imap", "ping", "exec" };

	return k < KIND_MAX ? names[k] : "?";
}

const char *
conf_balance_str(enum balance_algo a)
{
	static const char *names[] = { "fastest", "leastconn", "roundrobin",
	    "source", "random" };

	return names[a];
}

/* "12 servers, 1 farm, 2 contacts" */
void
conf_summary(const struct conf *c, char *buf, size_t len)
{
	snprintf(buf, len, "%zu server%s, %zu farm%s, %zu contact%s",
	    c->nservers, c->nservers == 1 ? "" : "s", c->nfarms,
	    c->nfarms == 1 ? "" : "s", c->ncontacts,
	    c->ncontacts == 1 ? "" : "s");
}

const char *
conf_default_path(void)
{
	return SYSCONFDIR "/tocsin.conf";
}

