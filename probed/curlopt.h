/*
 * curlopt.h: what every check on curl shares: the options that keep curl
 * off the network's resolver and within the check's deadline, latency
 * parts from curl's timers, and messages for curl's errors.
 */
#ifndef TOCSIN_CURLOPT_H
#define TOCSIN_CURLOPT_H

#include <stdint.h>

#include <curl/curl.h>

#include "tlsinfo.h"

struct probe;
struct server_conf;

#define CURLOPT_CONNECT_TO_MAX	512	/* "host:port:addr:port" */

/*
 * One transfer on the multi handle: what every curl kind keeps. The
 * CONNECT_TO list is one node held here, not allocated per check: curl
 * only reads it, until the handle goes back (curlopt_close).
 */
struct curlxfer {
	CURL		*easy;		/* pooled; NULL once closed */
	struct curl_slist connect_to;	/* its data is connect_line */
	char		 connect_line[CURLOPT_CONNECT_TO_MAX];
	int64_t		 launch_us;	/* curl's clock starts here */
	struct tlsinfo	 tls;		/* what the handshake showed */
	char		 errbuf[CURL_ERROR_SIZE];
};

const char	*curlopt_host(const struct server_conf *);
int		 curlopt_open(struct probe *, struct curlxfer *);
void		 curlopt_close(struct probe *, struct curlxfer *);
int		 curlopt_tls_error(struct probe *, struct curlxfer *, int code);
void		 curlopt_times(struct probe *, CURL *, int64_t launch_us);
void		 curlopt_error(struct probe *, CURL *, int code,
		    const char *errbuf, const char *waiting_for);
const char	*curlopt_phase(CURL *, int tls, const char *last);

#endif
