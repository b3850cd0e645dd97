/*
 * store.c: makes (or finds) tocsin's key-value buckets and its events
 * stream in JetStream, and publishes events with their dedup id. Any node
 * may make them first: the same config twice is no error, and a bucket or
 * stream another node made is used as it is.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "quorum.h"
#include "store.h"

#define DUPLICATES_MS	(10 * 60 * 1000)	/* events' dedup window */
#define EVENTS_MAX_AGE_MS ((int64_t)30 * 24 * 3600 * 1000)

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
