/*
 * paths.h: the names of what the daemons and their clients share on disk,
 * in one place. Names are relative to the state folder (`set state-dir`).
 */
#ifndef TOCSIN_PATHS_H
#define TOCSIN_PATHS_H

#define PATH_STATE_DIR	LOCALSTATEDIR "/lib/tocsin"	/* the default */
#define PATH_STATE_FILE	"state.json"	/* every server's last state */
#define PATH_SPOOL_DIR	"spool"		/* events, one file each */
#define PATH_SPOOL_SEQ	"seq"		/* in spool/: numbers reserved */
#define PATH_RRD_DIR	"rrd"		/* archives */
#define PATH_CTL_SOCKET	"probed.sock"	/* the control socket */
#define PATH_PIDFILE	"probed.pid"	/* tocsin-probed's pidfile */
#define PATH_LB_SOCKET	"lb.sock"	/* tocsin-lb's control socket */
#define PATH_LB_PIDFILE	"lb.pid"	/* tocsin-lb's pidfile */
#define PATH_PAGER_SOCKET "pager.sock"	/* tocsin-pager's control socket */
#define PATH_PAGER_DIR	"pager"		/* tocsin-pager's records */
#define PATH_DELIVERY_LOG "deliveries.jsonl"	/* in pager/: outcomes */
#define PATH_DELIVERY_OLD "deliveries.1.jsonl"	/* ... the one before */
#define PATH_TMP_PREFIX	".tmp."		/* a write not yet renamed */

#endif
