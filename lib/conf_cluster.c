/*
 * conf_cluster.c: the `set` keywords of cluster mode: `set cluster URL,...
 * [credentials FILE] [ca FILE]`, `set node NAME` and `set quorum N`; the node's
 * name defaults to the host's. Without `set cluster` none of it is used.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_impl.h"
#include "util.h"
#include "xmalloc.h"

#define CLUSTER_URLS_MAX 16
#define CONF_QUORUM_MAX	32	/* the nodes that vote on a server */

static int	 valid_url(const char *, const char **why);
static void	 cluster_only_at(struct parser *, struct where *, int);

/*
 * One server's URL: nats:// or tls://, an optional user[:password]@, a
 * host, an optional port (1 to 65535). 1, or 0 with *why.
 */
static int
valid_url(const char *u, const char **why)
{
	const char	*h, *at, *colon, *end;
	unsigned long	 port;
	char		 num[8];

	if (strncmp(u, "nats://", 7) == 0)
		h = u + 7;
	else if (strncmp(u, "tls://", 6) == 0)
		h = u + 6;
	else {
		*why = "needs nats:// or tls://";
		return 0;
	}
	if ((at = strrchr(h, '@')) != NULL)
		h = at + 1;
	end = h + strlen(h);
	if ((colon = strrchr(h, ':')) != NULL && strchr(h, ']') < colon) {
		if ((size_t)(end - colon - 1) >= sizeof(num) ||
		    end - colon - 1 == 0) {
			*why = "bad port";
			return 0;
		}
		memcpy(num, colon + 1, end - colon - 1);
		num[end - colon - 1] = '\0';
		if (parse_uint(num, 65535, &port) == -1 || port == 0) {
			*why = "bad port (1 to 65535)";
			return 0;
		}
		end = colon;
	}
	if (end == h || strchr(h, '/') != NULL) {
		*why = "needs a host: nats://HOST:PORT";
		return 0;
	}
	return 1;
}

/* A node's name: what NATS subjects and keys can hold, 1 to 63 bytes. */
int
conf_cluster_valid_node(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 63)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_')
			return 0;
	return 1;
}

/* set cluster URL[,URL...] [credentials FILE] [ca FILE] */
static void
set_cluster(struct parser *p, struct word *w, int n)
{
	struct conf	*c = p->conf;
	char		*list, *u, *save;
	const char	*why;
	int		 i, count = 0, bad = 0;

	list = xstrdup(w[2].s);
	for (u = strtok_r(list, ",", &save); u != NULL;
	    u = strtok_r(NULL, ",", &save)) {
		if (!valid_url(u, &why)) {
			conf_err(p, w[2].line, "bad cluster URL '%s': %s", u,
			    why);
			bad = 1;
		}
		count++;
	}
	free(list);
	if (count == 0 || count > CLUSTER_URLS_MAX) {
		conf_err(p, w[2].line, "'cluster' needs 1 to %d URLs "
		    "separated by commas", CLUSTER_URLS_MAX);
		bad = 1;
	}
	for (i = 3; i < n; i++) {
		if (strcmp(w[i].s, "credentials") == 0 && i + 1 < n) {
			free(c->cluster_creds);
			c->cluster_creds = xstrdup(w[++i].s);
		} else if (strcmp(w[i].s, "ca") == 0 && i + 1 < n) {
			free(c->cluster_ca);
			c->cluster_ca = xstrdup(w[++i].s);
		} else if (strcmp(w[i].s, "credentials") == 0 ||
		    strcmp(w[i].s, "ca") == 0)
			conf_err(p, w[i].line, "'%s' needs a file", w[i].s);
		else {
			conf_err(p, w[i].line, "unknown keyword '%s' after "
			    "cluster (credentials, ca)", w[i].s);
			break;	/* one typo, one error */
		}
	}
	if (c->cluster_ca != NULL && strstr(w[2].s, "tls://") == NULL) {
		conf_err(p, w[2].line, "'ca' is for tls:// URLs; these have "
		    "none");
		bad = 1;
	}
	if (bad)
		return;
	free(c->cluster);
	c->cluster = xstrdup(w[2].s);
	c->cluster_file = p->stack[p->depth - 1]->name;
	c->cluster_line = w[2].line;
}

/* Note where a keyword of cluster mode alone was set (the last wins). */
static void
cluster_only_at(struct parser *p, struct where *at, int line)
{
	at->file = p->stack[p->depth - 1]->name;
	at->line = line;
}

/*
 * `set shard`, `set quorum` and `set node` choose among cluster nodes:
 * without `set cluster` they would do nothing, so each is refused at its
 * line. After parsing, as `set cluster` may come later.
 */
void
conf_cluster_check(struct parser *p)
{
	const struct {
		const char		*word;
		const struct where	*at;
	} only[] = {
		{ "shard", &p->shard_at },
		{ "quorum", &p->quorum_at },
		{ "node", &p->node_at },
	};
	size_t i;

	if (p->conf->cluster != NULL)
		return;
	for (i = 0; i < sizeof(only) / sizeof(only[0]); i++)
		if (only[i].at->file != NULL)
			conf_err_at(p, only[i].at->file, only[i].at->line,
			    "'set %s' needs 'set cluster' (tocsin-cluster(7))",
			    only[i].word);
}

/* set quorum N: verdicts that must agree (1 to NODES); 0 is the
 * default, a majority of the nodes that watch the server. */
static void
set_quorum(struct parser *p, struct word *w, int n)
{
	unsigned long q;

	if (n > 3)
		conf_err(p, w[3].line, "unexpected '%s' after 'set quorum'",
		    w[3].s);
	else if (parse_uint(w[2].s, CONF_QUORUM_MAX, &q) == -1 || q == 0)
		conf_err(p, w[2].line, "bad number '%s' for 'quorum' (1 to "
		    "%d)", w[2].s, CONF_QUORUM_MAX);
	else {
		p->conf->quorum = q;
		cluster_only_at(p, &p->quorum_at, w[0].line);
	}
}

/*
 * `set KEY VALUE...` for a cluster keyword (w[1] is KEY, n > 2): 1 when
 * handled here (errors reported), 0 when KEY is not one of them.
 */
int
conf_cluster_set(struct parser *p, struct word *w, int n)
{
	struct conf *c = p->conf;

	if (strcmp(w[1].s, "cluster") == 0) {
		set_cluster(p, w, n);
		return 1;
	}
	if (strcmp(w[1].s, "quorum") == 0) {
		set_quorum(p, w, n);
		return 1;
	}
	if (strcmp(w[1].s, "shard") == 0) {
		if (n > 3)
			conf_err(p, w[3].line, "unexpected '%s' after "
			    "'set shard'", w[3].s);
		else if (strcmp(w[2].s, "on") != 0 &&
		    strcmp(w[2].s, "off") != 0)
			conf_err(p, w[2].line, "bad value '%s' for 'shard' "
			    "(on or off)", w[2].s);
		else {
			c->shard = strcmp(w[2].s, "on") == 0;
			cluster_only_at(p, &p->shard_at, w[0].line);
		}
		return 1;
	}
	if (strcmp(w[1].s, "node") != 0)
		return 0;
	if (n > 3)
		conf_err(p, w[3].line, "unexpected '%s' after 'set node'",
		    w[3].s);
	else if (!conf_cluster_valid_node(w[2].s))
		conf_err(p, w[2].line, "bad node name '%s' (1 to 63 letters, "
		    "digits, '-' or '_')", w[2].s);
	else {
		free(c->node);
		c->node = xstrdup(w[2].s);
		cluster_only_at(p, &p->node_at, w[0].line);
	}
	return 1;
}

/*
 * After parsing, in cluster mode: the node's name, by default the host's
 * first label with what a key cannot hold made '-'.
 */
void
conf_cluster_finish(struct conf *c)
{
	char	 host[256];
	size_t	 i;

	if (c->cluster == NULL || c->node != NULL)
		return;
	if (gethostname(host, sizeof(host) - 1) == -1 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, ".")] = '\0';
	host[63] = '\0';
	for (i = 0; host[i] != '\0'; i++)
		if (!isalnum((unsigned char)host[i]) && host[i] != '_')
			host[i] = '-';
	c->node = xstrdup(host[0] != '\0' ? host : "localhost");
}
