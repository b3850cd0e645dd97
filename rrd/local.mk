# rrd/
