/* check_mail.c: placeholder until the mail check lands. */
#include "probed.h"

static int
mail_start(struct probe *p)
{
	result_set(&p->r, CHECK_UNKNOWN, "mail checks are not built yet");
	return -1;
}

static void
mail_release(struct probe *p)
{
}

const struct check_ops check_mail_ops = {
	.name = "mail",
	.start = mail_start,
	.release = mail_release,
};
