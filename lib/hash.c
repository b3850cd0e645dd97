/*
 * hash.c: a chained hash table keyed by strings (FNV-1a, util.c's
 * hash_str), doubled when it holds more entries than buckets, so lookups
 * stay O(1) from ten keys to a hundred thousand. Also the one byte hash
 * (hash_bytes, 64-bit FNV-1a) for keys that are not strings.
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "util.h"
#include "xmalloc.h"

#define HASH_MIN	64	/* buckets to start with; a power of two */

struct entry {
	char		*key;
	unsigned	 h;		/* hash_str(key) */
	void		*value;
	struct entry	*next;
};

struct hash {
	struct entry	**b;
	size_t		 size;		/* buckets, a power of two */
	size_t		 n;		/* entries */
};

static void	grow(struct hash *);

struct hash *
hash_new(void)
{
	struct hash *t;

	t = xcalloc(1, sizeof(*t));
	t->size = HASH_MIN;
	t->b = xcalloc(t->size, sizeof(*t->b));
	return t;
}

/* Free the table and its keys; free_value (may be NULL) on each value. */
void
hash_free(struct hash *t, void (*free_value)(void *))
{
	struct entry	*e, *next;
	size_t		 i;

	if (t == NULL)
		return;
	for (i = 0; i < t->size; i++)
		for (e = t->b[i]; e != NULL; e = next) {
			next = e->next;
			if (free_value != NULL)
				free_value(e->value);
			free(e->key);
			free(e);
		}
	free(t->b);
	free(t);
}

static struct entry **
find(const struct hash *t, const char *key, unsigned h)
{
	struct entry **ep;

	for (ep = &t->b[h & (t->size - 1)]; *ep != NULL; ep = &(*ep)->next)
		if ((*ep)->h == h && strcmp((*ep)->key, key) == 0)
			break;
	return ep;
}

/* The value stored under key, or NULL. */
void *
hash_get(const struct hash *t, const char *key)
{
	struct entry *e = *find(t, key, hash_str(key));

	return e != NULL ? e->value : NULL;
}

/* Store value under key, replacing what was there. */
void
hash_put(struct hash *t, const char *key, void *value)
{
	unsigned	 h = hash_str(key);
	struct entry	**ep = find(t, key, h), *e;

	if (*ep != NULL) {
		(*ep)->value = value;
		return;
	}
	e = xcalloc(1, sizeof(*e));
	e->key = xstrdup(key);
	e->h = h;
	e->value = value;
	e->next = t->b[h & (t->size - 1)];
	t->b[h & (t->size - 1)] = e;
	if (++t->n > t->size)
		grow(t);
}

/* Take key out; its value (or NULL) is returned to the caller. */
void *
hash_remove(struct hash *t, const char *key)
{
	struct entry	**ep = find(t, key, hash_str(key)), *e = *ep;
	void		*v;

	if (e == NULL)
		return NULL;
	*ep = e->next;
	v = e->value;
	free(e->key);
	free(e);
	t->n--;
	return v;
}

size_t
hash_count(const struct hash *t)
{
	return t->n;
}

/* Call fn on every entry; fn must not add or remove entries. */
void
hash_each(const struct hash *t, hash_each_fn fn, void *arg)
{
	struct entry	*e;
	size_t		 i;

	for (i = 0; i < t->size; i++)
		for (e = t->b[i]; e != NULL; e = e->next)
			fn(e->key, e->value, arg);
}

/*
 * 64-bit FNV-1a of len bytes at p, going on from h (HASH_BYTES_INIT to
 * start), so several pieces hash as their concatenation. Stable: values
 * leave the process (tocsin-lb's persist cookie).
 */
uint64_t
hash_bytes(uint64_t h, const void *p, size_t len)
{
	const unsigned char	*s = p;
	size_t			 i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void
grow(struct hash *t)
{
	struct entry	**nb, *e, *next;
	size_t		 i, size = t->size * 2;

	nb = xcalloc(size, sizeof(*nb));
	for (i = 0; i < t->size; i++)
		for (e = t->b[i]; e != NULL; e = next) {
			next = e->next;
			e->next = nb[e->h & (size - 1)];
			nb[e->h & (size - 1)] = e;
		}
	free(t->b);
	t->b = nb;
	t->size = size;
}
