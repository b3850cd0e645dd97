/* check_ping.c: placeholder until the ping check lands. */
#include "probed.h"

static int
ping_start(struct probe *p)
{
	result_set(&p->r, CHECK_UNKNOWN, "ping checks are not built yet");
	return -1;
}

static void
ping_release(struct probe *p)
{
}

const struct check_ops check_ping_ops = {
	.name = "ping",
	.start = ping_start,
	.release = ping_release,
};

void
check_ping_init(const struct conf *c)
{
}

void
check_ping_shutdown(void)
{
}
