#include <stdio.h>
#include "conf.h"
#include "daemon.h"
#include "log.h"
int
main(int argc, char **argv)
{
	struct daemon_opts o;
	daemon_getopt(argc, argv, "tocsin-probed", &o);
	if (o.test)
		return daemon_check_conf(o.conf_path);
	return 0;
}
