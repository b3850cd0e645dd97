EXTRA_DIST += bench/probe
