/*
 * cluster_sms.c: SMS to phone numbers in cluster mode, through the HTTP
 * API of set sms-gateway (smsapi.c makes the request), sent on the loop
 * as the cluster's webhooks are, under the Idempotency-Key of one
 * machine: an SMS resent after its pager died mid-send carries the same
 * key, and the gateway can drop the second.
 */
#include <stdio.h>

#include "cluster_impl.h"
#include "pager.h"

/* Thread: text to the phone number to, under key; waited for. */
enum send_result
cluster_sms_send(struct cluster *cl, const char *to, const char *key,
    const char *text, char *err, size_t errlen)
{
	struct http_call http;
	enum send_result r;

	if (cl->sms == NULL) {
		snprintf(err, errlen, "no 'set sms-gateway' in the config");
		return SEND_RETRY;
	}
	smsapi_request(cl->sms, to, text, key, &http);
	r = cluster_http_send(cl, &http, err, errlen);
	smsapi_request_free(&http);
	return r;
}
