/* check_ftp.c: placeholder until the ftp check lands. */
#include "probed.h"

static int
ftp_start(struct probe *p)
{
	result_set(&p->r, CHECK_UNKNOWN, "ftp checks are not built yet");
	return -1;
}

static void
ftp_release(struct probe *p)
{
}

const struct check_ops check_ftp_ops = {
	.name = "ftp",
	.start = ftp_start,
	.release = ftp_release,
};
