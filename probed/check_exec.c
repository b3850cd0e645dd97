/* check_exec.c: placeholder until the exec check lands. */
#include "probed.h"

static int
exec_start(struct probe *p)
{
	result_set(&p->r, CHECK_UNKNOWN, "exec checks are not built yet");
	return -1;
}

static void
exec_release(struct probe *p)
{
}

const struct check_ops check_exec_ops = {
	.name = "exec",
	.start = exec_start,
	.release = exec_release,
};
