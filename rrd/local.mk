# rrd/: the archive layer: archive layout and librrd/rrdcached calls, the
# writer thread, graphs, uptime. Its test and its bench live here too.
noinst_LIBRARIES += rrd/librrdarch.a
rrd_librrdarch_a_SOURCES = \
	rrd/archive.c rrd/archive.h \
	rrd/writer.c rrd/writer.h \
	rrd/graph.c rrd/graph.h \
	rrd/uptime.c rrd/uptime.h
rrd_librrdarch_a_CFLAGS = $(AM_CFLAGS) $(RRD_CFLAGS)

check_PROGRAMS += t/test_rrd
TESTS += t/test_rrd
t_test_rrd_SOURCES = t/test_rrd.c t/ckrun.c t/ckrun.h
t_test_rrd_CFLAGS = $(AM_CFLAGS) $(RRD_CFLAGS) $(CHECK_CFLAGS)
t_test_rrd_LDADD = rrd/librrdarch.a lib/libtocsin.a $(RRD_LIBS) \
	$(CHECK_LIBS) -lpthread -lm

noinst_PROGRAMS += bench/bench_rrd
bench_bench_rrd_SOURCES = bench/bench_rrd.c
bench_bench_rrd_CFLAGS = $(AM_CFLAGS) $(RRD_CFLAGS)
bench_bench_rrd_LDADD = rrd/librrdarch.a lib/libtocsin.a $(RRD_LIBS) \
	-lpthread -lm
EXTRA_DIST += bench/rrd
