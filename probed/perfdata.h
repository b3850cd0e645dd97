/*
 * perfdata.h: reading a Nagios/Icinga plugin's output: the one-line
 * message and its performance data, as series for the archives.
 */
#ifndef TOCSIN_PERFDATA_H
#define TOCSIN_PERFDATA_H

#include <stddef.h>

#include "result.h"

int	 perfdata_parse(const char *, struct perf_value *, int n, int max);
int	 perfdata_output(const char *, char *msg, size_t msglen,
	    struct perf_value *, int max);

#endif
