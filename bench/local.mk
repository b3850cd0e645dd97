EXTRA_DIST += bench/probe
EXTRA_DIST += bench/web
EXTRA_DIST += bench/lb
EXTRA_DIST += bench/probe_http
EXTRA_DIST += bench/pager
EXTRA_DIST += bench/cluster
