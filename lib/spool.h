/*
 * spool.h: the event spool, the contract between tocsin-probed (writer) and
 * tocsin-pager (reader). Each hard state change is one file
 * STATE_DIR/spool/SEQ.json (SEQ zero-padded to 20 digits, so names sort
 * by number) holding one JSON object:
 *   {"seq":42,"id":"shop/web1","time":1700000000,"old":"up","new":"down",
 *    "message":"...","flapping":false,"downtime":false,"acked":false,
 *    "unreachable":false}
 * flapping: the server flaps (the pager may hold back); downtime: inside
 * scheduled downtime (no page); acked: the problem was acknowledged;
 * unreachable: a server it depends on (depends-on) is hard down, so this
 * one is probably not at fault (Nagios' UNREACHABLE).
 * A file is complete once it has its name: it is written as a temporary,
 * fsynced, linked to its name (never replacing a file), and the folder
 * fsynced. Sequence numbers only grow, across restarts too
 * (STATE_DIR/spool/seq holds the highest one reserved; the files on disk
 * count too when it is lost), up to SPOOL_SEQ_MAX, and never wrap.
 * The reader owns what happens after: it may delete delivered files that
 * the state file covers (see tocsin-probed(8), EVENT SPOOL).
 */
#ifndef TOCSIN_SPOOL_H
#define TOCSIN_SPOOL_H

#include <stddef.h>
#include <stdint.h>

/* The largest sequence number (2^53 - 1: exact in any JSON reader). A
 * file named above it is left alone and numbers stop there. */
#define SPOOL_SEQ_MAX	UINT64_C(9007199254740991)

struct spool;

struct spool_event {
	uint64_t	 seq;
	char		 id[256];
	int64_t		 time;		/* Unix seconds */
	char		 old_state[16];	/* up, degraded, down, unknown */
	char		 new_state[16];
	char		 message[256];
	int		 flapping;
	int		 downtime;
	int		 acked;
	int		 unreachable;
	int		 was_flapping;	/* read only: the server's previous
					   event flapped (a cluster event
					   says; one machine keeps it in
					   the pager's memo) */
};

struct spool	*spool_open(const char *state_dir);
int		 spool_append(struct spool *, struct spool_event *);
uint64_t	 spool_last_seq(const struct spool *);
void		 spool_close(struct spool *);

char		*spool_event_json(const struct spool_event *);
int		 spool_event_parse(const char *json, struct spool_event *);
int		 spool_list(const char *spool_dir, uint64_t after,
		    uint64_t **seqs, size_t *n);
int		 spool_read(const char *spool_dir, uint64_t seq,
		    struct spool_event *);

#endif
