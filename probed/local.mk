# probed/: the probe daemon and its client.
sbin_PROGRAMS += probed/tocsin-probed
probed_tocsin_probed_SOURCES = probed/main.c
probed_tocsin_probed_LDADD = lib/libtocsin.a $(JANSSON_LIBS)
