/*
 * natsdump.c: the tests' window on JetStream. `natsdump URL STREAM`
 * prints each message of STREAM as one line, "SEQ DATA"; `natsdump URL
 * -k BUCKET` prints each key of a bucket as "KEY VALUE"; `natsdump URL -t
 * STREAM` prints "SEQ TIME DATA", TIME the message's, nanoseconds since
 * the epoch (bench/cluster); `natsdump URL -r SUBJECT` sends a raw
 * request with no data (a JetStream API call such as
 * $JS.API.CONSUMER.DELETE.STREAM.NAME) and prints its reply. Exit 0, or 1
 * with why on stderr.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

static int
fail(const char *what, natsStatus s)
{
	fprintf(stderr, "natsdump: %s: %s\n", what, natsStatus_GetText(s));
	return 1;
}

static int
dump_stream(jsCtx *js, const char *stream, int times)
{
	jsStreamInfo	*si = NULL;
	natsMsg		*m;
	jsErrCode	 je;
	uint64_t	 seq;
	natsStatus	 s;

	if ((s = js_GetStreamInfo(&si, js, stream, NULL, &je)) != NATS_OK)
		return fail(stream, s);
	for (seq = si->State.FirstSeq; seq > 0 && seq <= si->State.LastSeq;
	    seq++) {
		if (js_GetMsg(&m, js, stream, seq, NULL, &je) != NATS_OK)
			continue;	/* deleted */
		if (times)
			printf("%" PRIu64 " %" PRId64 " %.*s\n", seq,
			    natsMsg_GetTime(m), natsMsg_GetDataLength(m),
			    natsMsg_GetData(m));
		else
			printf("%" PRIu64 " %.*s\n", seq,
			    natsMsg_GetDataLength(m), natsMsg_GetData(m));
		natsMsg_Destroy(m);
	}
	jsStreamInfo_Destroy(si);
	return 0;
}

static int
dump_bucket(jsCtx *js, const char *bucket)
{
	kvStore		*kv;
	kvKeysList	 keys;
	kvEntry		*e;
	natsStatus	 s;
	int		 i;

	if ((s = js_KeyValue(&kv, js, bucket)) != NATS_OK)
		return fail(bucket, s);
	if ((s = kvStore_Keys(&keys, kv, NULL)) != NATS_OK)
		return s == NATS_NOT_FOUND ? 0 : fail("keys", s);
	for (i = 0; i < keys.Count; i++) {
		if (kvStore_Get(&e, kv, keys.Keys[i]) != NATS_OK)
			continue;
		printf("%s %s\n", keys.Keys[i], kvEntry_ValueString(e));
		kvEntry_Destroy(e);
	}
	kvKeysList_Destroy(&keys);
	kvStore_Destroy(kv);
	return 0;
}

static int
request(natsConnection *nc, const char *subject)
{
	natsMsg		*m;
	natsStatus	 s;

	if ((s = natsConnection_RequestString(&m, nc, subject, "", 10000)) !=
	    NATS_OK)
		return fail(subject, s);
	printf("%.*s\n", natsMsg_GetDataLength(m), natsMsg_GetData(m));
	natsMsg_Destroy(m);
	return 0;
}

int
main(int argc, char **argv)
{
	natsConnection	*nc;
	jsCtx		*js;
	natsStatus	 s;
	int		 rc;

	if (argc != 3 && !(argc == 4 && (strcmp(argv[2], "-k") == 0 ||
	    strcmp(argv[2], "-t") == 0 || strcmp(argv[2], "-r") == 0))) {
		fprintf(stderr, "usage: natsdump URL [-t] STREAM | "
		    "URL -k BUCKET | URL -r SUBJECT\n");
		return 2;
	}
	if ((s = natsConnection_ConnectTo(&nc, argv[1])) != NATS_OK)
		return fail(argv[1], s);
	if ((s = natsConnection_JetStream(&js, nc, NULL)) != NATS_OK)
		return fail("jetstream", s);
	if (argc == 3)
		rc = dump_stream(js, argv[2], 0);
	else if (strcmp(argv[2], "-t") == 0)
		rc = dump_stream(js, argv[3], 1);
	else if (strcmp(argv[2], "-r") == 0)
		rc = request(nc, argv[3]);
	else
		rc = dump_bucket(js, argv[3]);
	fflush(stdout);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return rc;
}
