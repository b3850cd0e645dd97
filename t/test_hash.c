/*
 * test_hash.c: lib/hash.c, the one string-keyed table: put, get, replace,
 * remove, growth past its first size, and iteration over every entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "hash.h"

#include "ckrun.h"

static Suite	*hash_suite(void);

START_TEST(get_returns_what_put_stored)
{
	struct hash	*t = hash_new();
	int		 a = 1, b = 2;

	ck_assert_ptr_null(hash_get(t, "a"));
	hash_put(t, "a", &a);
	hash_put(t, "b", &b);
	ck_assert_ptr_eq(hash_get(t, "a"), &a);
	ck_assert_ptr_eq(hash_get(t, "b"), &b);
	ck_assert_ptr_null(hash_get(t, "c"));
	ck_assert_uint_eq(hash_count(t), 2);
	hash_free(t, NULL);
}
END_TEST

START_TEST(put_replaces_and_remove_takes_out)
{
	struct hash	*t = hash_new();
	int		 a = 1, b = 2;

	hash_put(t, "k", &a);
	hash_put(t, "k", &b);
	ck_assert_uint_eq(hash_count(t), 1);
	ck_assert_ptr_eq(hash_get(t, "k"), &b);
	ck_assert_ptr_eq(hash_remove(t, "k"), &b);
	ck_assert_ptr_null(hash_get(t, "k"));
	ck_assert_ptr_null(hash_remove(t, "k"));
	ck_assert_uint_eq(hash_count(t), 0);
	hash_free(t, NULL);
}
END_TEST

static void
sum(const char *key, void *value, void *arg)
{
	(void)key;
	*(long *)arg += *(int *)value;
}

START_TEST(grows_and_keeps_every_entry)
{
	struct hash	*t = hash_new();
	char		 key[32];
	int		*v;
	long		 total = 0;
	int		 i;

	for (i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "host%d.example", i);
		v = malloc(sizeof(*v));
		ck_assert_ptr_nonnull(v);
		*v = i;
		hash_put(t, key, v);
	}
	ck_assert_uint_eq(hash_count(t), 10000);
	for (i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "host%d.example", i);
		v = hash_get(t, key);
		ck_assert_ptr_nonnull(v);
		ck_assert_int_eq(*v, i);
	}
	hash_each(t, sum, &total);
	ck_assert_int_eq(total, 10000L * 9999 / 2);
	hash_free(t, free);
}
END_TEST

/* FNV-1a 64's published values; pieces hash as their concatenation. */
START_TEST(hash_bytes_is_fnv1a_64)
{
	ck_assert_uint_eq(hash_bytes(HASH_BYTES_INIT, "", 0),
	    0xcbf29ce484222325ULL);
	ck_assert_uint_eq(hash_bytes(HASH_BYTES_INIT, "a", 1),
	    0xaf63dc4c8601ec8cULL);
	ck_assert_uint_eq(hash_bytes(HASH_BYTES_INIT, "foobar", 6),
	    0x85944171f73967e8ULL);
	ck_assert_uint_eq(hash_bytes(hash_bytes(HASH_BYTES_INIT, "foo", 3),
	    "bar", 3), 0x85944171f73967e8ULL);
}
END_TEST

static Suite *
hash_suite(void)
{
	Suite	*s = suite_create("hash");
	TCase	*tc = tcase_create("hash");

	tcase_add_test(tc, get_returns_what_put_stored);
	tcase_add_test(tc, put_replaces_and_remove_takes_out);
	tcase_add_test(tc, grows_and_keeps_every_entry);
	tcase_add_test(tc, hash_bytes_is_fnv1a_64);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return ckrun(hash_suite());
}
