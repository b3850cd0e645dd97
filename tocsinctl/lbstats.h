/* lbstats.h: `tocsinctl lb-stats`, tocsin-lb's stats (lbstats.c). */
#ifndef TOCSINCTL_LBSTATS_H
#define TOCSINCTL_LBSTATS_H

int	lbstats_run(int fd, int json);

#endif
