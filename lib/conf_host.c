/*
 * conf_host.c: the checks of a config against the machine it runs on:
 * the exec plugins exist, `set user` names a user, every password-file
 * is read (once, here: never on the loop) and kept by others' eyes.
 * The daemons run it after conf_load, and -t with them; tocsinctl and the
 * web page need none of it, and may not be allowed to read the secrets.
 */
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_impl.h"
#include "secret.h"
#include "xmalloc.h"

/* The secret last read, so the servers sharing a `set` read it once. */
struct secret_cache {
	const char	*path;		/* NULL before the first read */
	char		*secret;	/* NULL when it could not be read */
	char		 err[512];
	int		 world;
};

/* `set user` must name a user of this machine. */
static void
check_user(struct parser *p)
{
	struct conf *c = p->conf;

	if (c->user == NULL)
		return;
	errno = 0;
	if (getpwnam(c->user) == NULL)
		conf_err_at(p, c->user_file, c->user_line, "unknown user '%s' "
		    "for 'set user'%s%s", c->user, errno != 0 ? ": " : "",
		    errno != 0 ? strerror(errno) : "");
}

/* `set control-group` must name a group of this machine: its gid is
 * kept in control_gid. */
static void
check_control_group(struct parser *p)
{
	struct conf	*c = p->conf;
	struct group	*gr;

	c->control_gid = -1;
	if (c->control_group == NULL)
		return;
	errno = 0;
	if ((gr = getgrnam(c->control_group)) == NULL)
		conf_err_at(p, c->control_group_file, c->control_group_line,
		    "unknown group '%s' for 'set control-group'%s%s",
		    c->control_group, errno != 0 ? ": " : "",
		    errno != 0 ? strerror(errno) : "");
	else
		c->control_gid = (long)gr->gr_gid;
}

/*
 * An exec plugin that is missing or not executable fails every check,
 * but running the others is still sensible (the plugin may be installed
 * later): a warning.
 */
static void
check_plugin(struct parser *p, struct server_conf *sv)
{
	struct stat st;

	if (sv->kind != KIND_EXEC || sv->argv == NULL)
		return;
	if (stat(sv->argv[0], &st) == -1)
		conf_warn_at(p, sv->file, sv->line, "server '%s': exec plugin "
		    "%s: %s", sv->id, sv->argv[0], strerror(errno));
	else if (!S_ISREG(st.st_mode) ||
	    (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0)
		conf_warn_at(p, sv->file, sv->line, "server '%s': exec plugin "
		    "%s is not an executable file", sv->id, sv->argv[0]);
}

/*
 * Read the server's password-file into sv->password. A file that cannot
 * be read is an error; one that every user may read, a warning.
 */
static void
read_password(struct parser *p, struct server_conf *sv,
    struct secret_cache *sc)
{
	const char	*path = sv->o.password_file;
	int		 fresh = 0;

	if (path == NULL)
		return;
	if (sc->path == NULL || strcmp(sc->path, path) != 0) {
		fresh = 1;
		secret_free(sc->secret);
		sc->secret = NULL;
		sc->path = path;
		sc->err[0] = '\0';
		(void)secret_read(path, &sc->secret, &sc->world, sc->err,
		    sizeof(sc->err));
	}
	if (sc->secret == NULL) {
		conf_err_at(p, sv->file, sv->line, "server '%s': %s", sv->id,
		    sc->err);
		return;
	}
	if (sc->world && fresh)	/* once for the servers that share it */
		conf_warn_at(p, sv->file, sv->line, "server '%s': "
		    "password-file %s is readable by every user (chmod o-r "
		    "it)", sv->id, path);
	secret_free(sv->password);
	sv->password = xstrdup(sc->secret);
}

/*
 * `set cluster`'s files: the CA must be a readable file; the credentials
 * (a NATS .creds file: a JWT and the key that signs with it) one that
 * other users cannot read. libnats reads both at each connection, as the
 * daemon's user.
 */
static void
check_cluster_files(struct parser *p)
{
	struct conf	*c = p->conf;
	struct stat	 st;

	if (c->cluster == NULL)
		return;
	if (c->cluster_ca != NULL && stat(c->cluster_ca, &st) == -1)
		conf_err_at(p, c->cluster_file, c->cluster_line, "cluster: "
		    "ca %s: %s", c->cluster_ca, strerror(errno));
	else if (c->cluster_ca != NULL && !S_ISREG(st.st_mode))
		conf_err_at(p, c->cluster_file, c->cluster_line, "cluster: "
		    "ca %s: not a file", c->cluster_ca);
	if (c->cluster_creds == NULL)
		return;
	if (stat(c->cluster_creds, &st) == -1)
		conf_err_at(p, c->cluster_file, c->cluster_line, "cluster: "
		    "credentials %s: %s", c->cluster_creds, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		conf_err_at(p, c->cluster_file, c->cluster_line, "cluster: "
		    "credentials %s: not a file", c->cluster_creds);
	else if (st.st_mode & S_IROTH)
		conf_err_at(p, c->cluster_file, c->cluster_line, "cluster: "
		    "credentials %s is readable by every user (chmod o-r "
		    "it)", c->cluster_creds);
}

/*
 * Check the config against this machine and read its secrets. Returns 0,
 * with the warnings added to c->warnings; or -1 with *errors set to every
 * "FILE:LINE: message\n" (the caller frees it, and still frees c).
 */
int
conf_host_check(struct conf *c, char **errors)
{
	struct parser		 p;
	struct secret_cache	 sc;
	size_t			 i;

	memset(&p, 0, sizeof(p));
	memset(&sc, 0, sizeof(sc));
	p.conf = c;
	if (c->warnings != NULL) {
		p.warns = c->warnings;
		p.warnlen = strlen(c->warnings);
	}
	check_user(&p);
	check_control_group(&p);
	check_cluster_files(&p);
	for (i = 0; i < c->nservers; i++) {
		check_plugin(&p, c->servers[i]);
		read_password(&p, c->servers[i], &sc);
	}
	secret_free(sc.secret);
	c->warnings = p.warns;
	*errors = p.errs;
	return p.nerrs > 0 ? -1 : 0;
}
