# etc/
EXTRA_DIST += etc/demo.conf
