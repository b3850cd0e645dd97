/*
 * reload.c: what a reload of tocsin-probed's config takes of the `set`
 * keys. One table says, key by key, whether the engine applies a change
 * at once or it takes a restart (then the reload logs so and the daemon
 * keeps what it started with).
 */
#include <stddef.h>
#include <string.h>

#include "conf.h"
#include "log.h"

#include "probed.h"

#define C(f)	offsetof(struct conf, f)

#define K_CLUSTER	1	/* compared only when both run in cluster mode */
#define K_SECRET	2	/* may hold a password (nats://user:pw@...):
				   its value is not logged */

/*
 * The `set` keys tocsin-probed reads once, at start or at a reload, with
 * the char * of struct conf each is: applies is the RELOAD_ bit of a key
 * the engine takes at once (0: it takes a restart). One key may hold
 * several fields (set cluster): it is logged once. The keys not here are
 * read where they are used, so a reload takes them (max-concurrent,
 * exec-max, flap-low, flap-high, quorum, shard), or are other daemons'.
 */
static const struct {
	const char	*key;
	size_t		 off;
	unsigned	 applies;
	int		 flags;		/* K_ */
} keys[] = {
	{ "state-dir",		C(state_dir),		0, 0 },
	{ "control",		C(control),		0, 0 },
	{ "pidfile",		C(pidfile),		0, 0 },
	{ "user",		C(user),		0, 0 },
	{ "cluster",		C(cluster),		0, K_SECRET },
	{ "cluster",		C(cluster_creds),	0, K_SECRET },
	{ "cluster",		C(cluster_ca),		0, K_SECRET },
	{ "node",		C(node),		0, K_CLUSTER },
	{ "dns-servers",	C(dns_servers),		RELOAD_DNS, 0 },
	{ "rrdcached",		C(rrdcached),		RELOAD_ARCHIVES, 0 },
	{ "control-group",	C(control_group),	RELOAD_CONTROL, 0 },
};
#undef C

/* 1 when the two strings (either may be NULL) differ. */
static int
changed(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/*
 * Compare the running config with the one a reload read. Each key that
 * takes a restart and changed is logged ("reload: set user changed: it
 * takes a restart (still tocsin)"); returns the RELOAD_ bits of the keys
 * the engine must apply.
 */
unsigned
reload_compare(const struct conf *was, const struct conf *now)
{
	const char	*a, *b, *logged = NULL;
	unsigned	 apply = 0;
	size_t		 i;

	if (was->no_archives != now->no_archives)
		apply |= RELOAD_ARCHIVES;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		a = *(char *const *)((const char *)was + keys[i].off);
		b = *(char *const *)((const char *)now + keys[i].off);
		if (!changed(a, b) || ((keys[i].flags & K_CLUSTER) &&
		    (was->cluster == NULL || now->cluster == NULL)))
			continue;
		if (keys[i].applies != 0)
			apply |= keys[i].applies;
		else if (logged == NULL || strcmp(logged, keys[i].key) != 0) {
			log_warnx("reload: set %s changed: it takes a restart "
			    "(still %s)", keys[i].key, keys[i].flags &
			    K_SECRET ? "the one it started with" : a != NULL ?
			    a : "unset");
			logged = keys[i].key;
		}
	}
	return apply;
}
