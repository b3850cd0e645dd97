/*
 * fuzz_conf.c: libFuzzer target for the config language. Each input is
 * parsed as a config file; what must hold is no crash, no undefined
 * behaviour, no leak, a model whose pointers all lead somewhere live and
 * whose ids fit SERVER_ID_MAX, and errors and warnings as FILE:LINE:.
 * Built and run by tools/fuzz, never by automake (clang only).
 *
 * Includes: a fuzz input may say `include "/etc/passwd"` or `include "/dev/tty"`,
 * which would read (or block on) whatever the machine holds. tools/fuzz
 * links with -Wl,--wrap=glob, so the parser's glob() lands in
 * __wrap_glob below: absolute patterns and any pattern with ".." match
 * nothing; the rest go to the real glob, relative to the current folder,
 * which tools/fuzz makes a fresh folder holding only a few small config
 * files of its own (so include, nesting and self-inclusion still get
 * exercised).
 */
#include <glob.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	 __real_glob(const char *, int, int (*)(const char *, int), glob_t *);
int	 __wrap_glob(const char *, int, int (*)(const char *, int), glob_t *);

int
__wrap_glob(const char *pattern, int flags,
    int (*errfunc)(const char *, int), glob_t *g)
{
	if (pattern[0] == '/' || strstr(pattern, "..") != NULL) {
		memset(g, 0, sizeof(*g));
		return GLOB_NOMATCH;
	}
	return __real_glob(pattern, flags, errfunc, g);
}

/* Touch every pointer the model holds, so a dangling one shows up. */
static size_t
walk(const struct conf *c)
{
	const struct server_conf *sv;
	const struct farm_conf	 *f;
	size_t			  i, j, sum = 0;
	char			  buf[128];

	conf_summary(c, buf, sizeof(buf));
	sum += strlen(buf) + strlen(c->state_dir) + strlen(c->control);
	for (i = 0; i < c->nservers; i++) {
		sv = c->servers[i];
		sum += strlen(sv->id) + strlen(sv->file) + strlen(sv->url);
		sum += strlen(conf_kind_str(sv->kind));
		if (conf_find_server(c, sv->id) == NULL ||
		    strlen(sv->id) > SERVER_ID_MAX)
			abort();	/* an id the spool could not keep */
		if (sv->farm != NULL)
			sum += strlen(sv->farm->name);
		for (j = 0; j < sv->ndeps; j++)
			sum += strlen(sv->deps[j]->id);
		for (j = 0; j < sv->ncontacts; j++)
			sum += strlen(sv->contacts[j]->name);
		for (j = 0; sv->argv != NULL && sv->argv[j] != NULL; j++)
			sum += strlen(sv->argv[j]);
		if (sv->o.method != NULL)
			sum += strlen(sv->o.method);
	}
	for (i = 0; i < c->nfarms; i++) {
		f = c->farms[i];
		sum += strlen(conf_balance_str(f->balance));
		for (j = 0; j < f->nservers; j++)
			sum += strlen(f->servers[j]->id);
		for (j = 0; j < f->nlistens; j++)
			sum += strlen(f->listens[j].addr);
	}
	return sum;
}

/* Every line of errors reads "FILE:LINE: message"; there is one at least. */
static int
well_formed(const char *errors)
{
	const char	*l, *e, *colon;

	if (errors == NULL || *errors == '\0')
		return 0;
	for (l = errors; *l != '\0'; l = e + 1) {
		if ((e = strchr(l, '\n')) == NULL)
			return 0;
		/* the last ": " before the message ends the line number */
		for (colon = l; colon < e && strncmp(colon, ": ", 2) != 0;
		    colon++)
			;
		if (colon == e || colon == l || colon[-1] < '0' ||
		    colon[-1] > '9')
			return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*c;
	char		*text, *errors = NULL;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	c = conf_parse_string("fuzz.conf", text, &errors);
	if (c != NULL) {
		if (errors != NULL)
			abort();	/* success leaves no errors */
		(void)walk(c);
		if (c->warnings != NULL && !well_formed(c->warnings))
			abort();	/* warnings read FILE:LINE: too */
		conf_free(c);
	} else if (!well_formed(errors))
		abort();		/* failure says why, as FILE:LINE: */
	free(errors);
	free(text);
	return 0;
}
