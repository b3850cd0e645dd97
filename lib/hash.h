/*
 * hash.h: the one string-keyed hash table of tocsin (hosts, names, ids):
 * keys are copied, values belong to the caller; it grows as it fills.
 */
#ifndef TOCSIN_HASH_H
#define TOCSIN_HASH_H

#include <stddef.h>
#include <stdint.h>

/* hash_bytes's start: FNV-1a's 64-bit offset basis. */
#define HASH_BYTES_INIT	14695981039346656037ULL

struct hash;

typedef void	(*hash_each_fn)(const char *key, void *value, void *arg);

struct hash	*hash_new(void);
void		 hash_free(struct hash *, void (*free_value)(void *));
void		*hash_get(const struct hash *, const char *key);
void		 hash_put(struct hash *, const char *key, void *value);
void		*hash_remove(struct hash *, const char *key);
size_t		 hash_count(const struct hash *);
void		 hash_each(const struct hash *, hash_each_fn, void *arg);
uint64_t	 hash_bytes(uint64_t h, const void *, size_t);

#endif
