/*
 * result.h: the check result, the contract between a check, the state
 * machine, the archives and every client of the control socket.
 */
#ifndef TOCSIN_RESULT_H
#define TOCSIN_RESULT_H

#include <stdint.h>
#include <time.h>

enum check_status {
	CHECK_OK = 0,
	CHECK_WARNING = 1,
	CHECK_CRITICAL = 2,
	CHECK_UNKNOWN = 3,
};

#define RESULT_MSG_MAX	256
#define RESULT_LONG_MAX	4096	/* bytes kept of long output, with NUL */
#define PERF_MAX	8	/* perfdata series kept per result */
#define PERF_LABEL_MAX	20	/* RRD data source names are at most 19 chars */

struct perf_value {
	char	 label[PERF_LABEL_MAX];	/* sanitised: [A-Za-z0-9_] */
	double	 value;
};

/*
 * Latency parts are microseconds from the start of the check; -1 when the
 * part did not happen (no TLS, a cached name, no first byte).
 */
struct check_result {
	int64_t		 started;	/* Unix time, microseconds */
	enum check_status status;
	int64_t		 dns_us;
	int64_t		 connect_us;
	int64_t		 tls_us;
	int64_t		 firstbyte_us;
	int64_t		 total_us;
	int		 nperf;
	struct perf_value perf[PERF_MAX];
	char		 message[RESULT_MSG_MAX];	/* one line */
	/*
	 * More lines (a plugin's long output), malloc'd, at most
	 * RESULT_LONG_MAX bytes with its NUL, or NULL. The result owns it
	 * (result_release frees it); a copy of the struct does not.
	 */
	char		*long_output;
	int64_t		 cert_not_after;	/* Unix s: the peer certificate
						   ends; 0 = none seen */
	int		 in_downtime;	/* 1: a scheduled downtime of the
					   server ran (set by probed for the
					   archives' sla series) */
};

const char	*check_status_str(enum check_status);
void		 result_init(struct check_result *, int64_t started);
void		 result_set(struct check_result *, enum check_status,
		    const char *, ...) __attribute__((format(printf, 3, 4)));
void		 result_set_long(struct check_result *, const char *,
		    size_t);
void		 result_release(struct check_result *);

#endif
