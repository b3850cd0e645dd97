/*
 * store.h: tocsin's buckets and stream in JetStream (store.c). Every
 * function blocks on JetStream: call them from the link's thread.
 */
#ifndef TOCSIN_STORE_H
#define TOCSIN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

int	 store_bucket(jsCtx *, const char *name, int replicas, int history,
	    kvStore **, char *err, size_t errlen);
int	 store_bucket_ttl(jsCtx *, const char *name, int replicas,
	    int history, int64_t ttl_ms, kvStore **, char *err,
	    size_t errlen);
int	 store_stream(jsCtx *, int replicas, char *err, size_t errlen);
int	 store_next_event(natsConnection *, const char *skey, uint64_t from,
	    uint64_t *seq, char **data, size_t *len, char *err,
	    size_t errlen);
int	 store_publish_event(jsCtx *, const char *skey, const char *tag,
	    uint64_t rev, const char *data, size_t len, int *duplicate,
	    char *err, size_t errlen);
natsStatus store_keys(kvStore *, kvKeysList *);
int	 store_get(kvStore *, const char *key, char **val, uint64_t *rev,
	    char *err, size_t errlen);
int	 store_cas(kvStore *, const char *key, const char *val, uint64_t rev,
	    char *err, size_t errlen);
int	 store_cas_rev(kvStore *, const char *key, const char *val,
	    uint64_t *rev, char *err, size_t errlen);

#endif
