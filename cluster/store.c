/*
 * store.c: makes (or finds) tocsin's key-value buckets and its events
 * stream in JetStream, and publishes events with their dedup id. Any node
 * may make them first: the same config twice is no error, and a bucket or
 * stream another node made is used as it is. store_get and store_cas
 * read and change a key by compare-and-set, for what several processes
 * update at once.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "quorum.h"
#include "store.h"

#define DUPLICATES_MS	(10 * 60 * 1000)	/* events' dedup window */
#define EVENTS_MAX_AGE_MS ((int64_t)30 * 24 * 3600 * 1000)
#define REQUEST_MS	5000	/* a JetStream request's reply, as link.c */

static const char *
errtext(natsStatus s)
{
	natsStatus	 last = NATS_OK;
	const char	*t = nats_GetLastError(&last);

	return t != NULL && *t != '\0' && last == s ? t :
	    natsStatus_GetText(s);
}

/*
 * The bucket `name` (file storage, `replicas` copies, `history` values a
 * key), made unless it exists. 0 with *kv, or -1 with err.
 */
int
store_bucket(jsCtx *js, const char *name, int replicas, int history,
    kvStore **kv, char *err, size_t errlen)
{
	return store_bucket_ttl(js, name, replicas, history, 0, kv, err,
	    errlen);
}

/* store_bucket whose values go ttl_ms milliseconds after their last
 * change (0: never). */
int
store_bucket_ttl(jsCtx *js, const char *name, int replicas, int history,
    int64_t ttl_ms, kvStore **kv, char *err, size_t errlen)
{
	kvConfig	 kc;
	natsStatus	 s;

	*kv = NULL;
	if (js_KeyValue(kv, js, name) == NATS_OK)
		return 0;
	kvConfig_Init(&kc);
	kc.Bucket = name;
	kc.History = (uint8_t)history;
	kc.StorageType = js_FileStorage;
	kc.Replicas = replicas;
	kc.TTL = ttl_ms * 1000000;	/* ns */
	if ((s = js_CreateKeyValue(kv, js, &kc)) != NATS_OK &&
	    js_KeyValue(kv, js, name) != NATS_OK) {
		snprintf(err, errlen, "bucket %s: %s", name, errtext(s));
		*kv = NULL;
		return -1;
	}
	return 0;
}

/* The events stream, made unless it exists. 0, or -1 with err. */
int
store_stream(jsCtx *js, int replicas, char *err, size_t errlen)
{
	jsStreamConfig	 sc;
	jsStreamInfo	*si = NULL;
	jsErrCode	 jerr = 0;
	const char	*subjects[] = { QUORUM_SUBJECT ".>" };
	natsStatus	 s;

	if (js_GetStreamInfo(&si, js, QUORUM_STREAM, NULL, &jerr) ==
	    NATS_OK) {
		jsStreamInfo_Destroy(si);
		return 0;
	}
	jsStreamConfig_Init(&sc);
	sc.Name = QUORUM_STREAM;
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.Storage = js_FileStorage;
	sc.Replicas = replicas;
	sc.Duplicates = (int64_t)DUPLICATES_MS * 1000000;	/* ns */
	sc.MaxAge = EVENTS_MAX_AGE_MS * 1000000;
	s = js_AddStream(&si, js, &sc, NULL, &jerr);
	jsStreamInfo_Destroy(si);
	if (s != NATS_OK && js_GetStreamInfo(&si, js, QUORUM_STREAM, NULL,
	    &jerr) != NATS_OK) {
		snprintf(err, errlen, "stream %s: %s", QUORUM_STREAM,
		    errtext(s));
		return -1;
	}
	if (s != NATS_OK)
		jsStreamInfo_Destroy(si);
	return 0;
}

/* qsort: two key names. */
static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The keys of kv in *keys, sorted, each once: nats.c's kvStore_Keys
 * lists a key twice when its value changes while it lists (the new value
 * comes before the end of the values it had), as heartbeats do every
 * 2 s. nats.c's status (NATS_NOT_FOUND: no key); the caller
 * kvKeysList_Destroy()s keys after NATS_OK.
 */
natsStatus
store_keys(kvStore *kv, kvKeysList *keys)
{
	natsStatus	 s;
	int		 i, j;

	memset(keys, 0, sizeof(*keys));
	if ((s = kvStore_Keys(keys, kv, NULL)) != NATS_OK)
		return s;
	if (keys->Count > 1)
		qsort(keys->Keys, (size_t)keys->Count, sizeof(keys->Keys[0]),
		    by_name);
	for (i = j = 0; i < keys->Count; i++)
		if (j > 0 && strcmp(keys->Keys[j - 1], keys->Keys[i]) == 0)
			free(keys->Keys[i]);
		else
			keys->Keys[j++] = keys->Keys[i];
	keys->Count = j;
	return NATS_OK;
}

/*
 * The bytes of the base64 text b64 (a stream message's data, as the
 * stream's API gives it), a new NUL-ended string in *out, their count in
 * *len. 0, or -1 when b64 is not base64.
 */
static int
unbase64(const char *b64, char **out, size_t *len)
{
	size_t	 n = strlen(b64), pad = 0;
	int	 r;

	if (n % 4 != 0 || (*out = malloc(n / 4 * 3 + 1)) == NULL)
		return -1;
	if ((r = EVP_DecodeBlock((unsigned char *)*out,
	    (const unsigned char *)b64, (int)n)) < 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	pad = (n > 0 && b64[n - 1] == '=') + (n > 1 && b64[n - 2] == '=');
	*len = (size_t)r - pad;
	(*out)[*len] = '\0';
	return 0;
}

/*
 * The first event of the server whose key is skey at or after stream
 * sequence from, asked of the stream's leader ("next_by_subj", which
 * nats.c's js_GetMsg does not ask): 1 with *seq and, when data is not
 * NULL, its data in *data (the caller frees it) and *len, so it need
 * not be fetched again; 0 when there is none, -1 with err.
 */
int
store_next_event(natsConnection *nc, const char *skey, uint64_t from,
    uint64_t *seq, char **data, size_t *len, char *err, size_t errlen)
{
	natsMsg		*reply = NULL;
	json_t		*o, *m;
	natsStatus	 s;
	const char	*b64;
	char		 req[QUORUM_KEY_MAX + 96];
	int		 r = -1;

	snprintf(req, sizeof(req), "{\"seq\":%" PRIu64 ",\"next_by_subj\":"
	    "\"%s.%s\"}", from, QUORUM_SUBJECT, skey);
	if ((s = natsConnection_RequestString(&reply, nc, "$JS.API.STREAM."
	    "MSG.GET." QUORUM_STREAM, req, REQUEST_MS)) != NATS_OK) {
		snprintf(err, errlen, "stream %s: %s", QUORUM_STREAM,
		    errtext(s));
		return -1;
	}
	o = json_loadb(natsMsg_GetData(reply), natsMsg_GetDataLength(reply),
	    0, NULL);
	natsMsg_Destroy(reply);
	if ((m = json_object_get(o, "message")) != NULL &&
	    json_integer_value(json_object_get(m, "seq")) > 0) {
		*seq = (uint64_t)json_integer_value(json_object_get(m, "seq"));
		r = 1;
		b64 = json_string_value(json_object_get(m, "data"));
		if (data != NULL && unbase64(b64 != NULL ? b64 : "", data,
		    len) == -1) {
			snprintf(err, errlen, "stream %s: message %" PRIu64
			    " is not base64", QUORUM_STREAM, *seq);
			r = -1;
		}
	} else if (json_integer_value(json_object_get(json_object_get(o,
	    "error"), "code")) == 404)
		r = 0;		/* no message found */
	else
		snprintf(err, errlen, "stream %s: no answer to %s",
		    QUORUM_STREAM, req);
	json_decref(o);
	return r;
}

/*
 * Publish one cluster event of the server whose key is skey. Its
 * Nats-Msg-Id is "SKEY:REV" for the change away from revision rev of its
 * state, or "SKEY:TAG:REV" for another event (tag "dtend": the server
 * still down when its downtime, whose key had revision rev, ended), so
 * whichever nodes publish it, the stream keeps it once. 0 (*duplicate:
 * the stream had it already), or -1 with err.
 */
int
store_publish_event(jsCtx *js, const char *skey, const char *tag,
    uint64_t rev, const char *data, size_t len, int *duplicate, char *err,
    size_t errlen)
{
	jsPubOptions	 po;
	jsPubAck	*pa = NULL;
	jsErrCode	 jerr = 0;
	natsStatus	 s;
	char		 subj[QUORUM_KEY_MAX + 32], id[QUORUM_KEY_MAX + 64];

	snprintf(subj, sizeof(subj), "%s.%s", QUORUM_SUBJECT, skey);
	snprintf(id, sizeof(id), "%s:%s%s%" PRIu64, skey, tag != NULL ? tag :
	    "", tag != NULL ? ":" : "", rev);
	jsPubOptions_Init(&po);
	po.MsgId = id;
	s = js_Publish(&pa, js, subj, data, (int)len, &po, &jerr);
	if (s != NATS_OK) {
		snprintf(err, errlen, "publish %s: %s", id, errtext(s));
		return -1;
	}
	*duplicate = pa->Duplicate;
	jsPubAck_Destroy(pa);
	return 0;
}

/*
 * The value of key: 1 with *val (the caller frees it) and its revision
 * *rev, 0 when it has none (or was deleted; *rev then 0), -1 with err.
 */
int
store_get(kvStore *kv, const char *key, char **val, uint64_t *rev,
    char *err, size_t errlen)
{
	kvEntry		*e = NULL;
	natsStatus	 s;

	*val = NULL;
	*rev = 0;
	if ((s = kvStore_Get(&e, kv, key)) == NATS_NOT_FOUND)
		return 0;
	if (s != NATS_OK) {
		snprintf(err, errlen, "get %s: %s", key, errtext(s));
		return -1;
	}
	if ((*val = strdup(kvEntry_ValueString(e))) == NULL) {
		kvEntry_Destroy(e);
		snprintf(err, errlen, "get %s: out of memory", key);
		return -1;
	}
	*rev = kvEntry_Revision(e);
	kvEntry_Destroy(e);
	return 1;
}

/*
 * Put val under key if the key is still at revision rev (0: if it has no
 * value), as store_get gave it. 1 when done, 0 when another process
 * changed it first (read it again and redo the change), -1 with err.
 */
int
store_cas(kvStore *kv, const char *key, const char *val, uint64_t rev,
    char *err, size_t errlen)
{
	return store_cas_rev(kv, key, val, &rev, err, errlen);
}

/* store_cas at *rev, which becomes the new value's revision. */
int
store_cas_rev(kvStore *kv, const char *key, const char *val, uint64_t *rev,
    char *err, size_t errlen)
{
	natsStatus	 s;
	uint64_t	 nrev, now;
	char		*cur;

	s = *rev == 0 ? kvStore_CreateString(&nrev, kv, key, val) :
	    kvStore_UpdateString(&nrev, kv, key, val, *rev);
	if (s == NATS_OK) {
		*rev = nrev;
		return 1;
	}
	snprintf(err, errlen, "put %s: %s", key, errtext(s));
	/* moved on: a conflict, not a failure */
	if (store_get(kv, key, &cur, &now, err, errlen) == -1)
		return -1;
	free(cur);
	return now != *rev ? 0 : -1;
}
