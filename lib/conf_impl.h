/*
 * conf_impl.h: what the config language's own files share and no other
 * file sees: the lexer's tokens, the parser's state, the option table and
 * the error list. conf.h is the model every program uses.
 */
#ifndef TOCSIN_CONF_IMPL_H
#define TOCSIN_CONF_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define CONF_FILE_MAX	(64 * 1024 * 1024)	/* bytes per config file */
#define INCLUDE_DEPTH	16	/* includes below the top file, at most */
#define INCLUDE_FILES_MAX 1000		/* files read through include, total */
#define INCLUDE_BYTES_MAX (128 * 1024 * 1024)	/* and their bytes, total */
#define STMT_WORDS_MAX	64
#define DURATION_MAX_DAYS 3650	/* any duration, at most (ten years) */
#define FARM_WORDS_MAX	16	/* a farm block's own keywords, at most */

enum tok {
	TOK_WORD,
	TOK_STRING,
	TOK_LBRACE,
	TOK_RBRACE,
	TOK_EOS,	/* newline or ';' */
	TOK_EOF,
};

struct src {
	const char	*name;		/* owned by conf->files */
	char		*real;		/* realpath, for include loops */
	const char	*text;
	const char	*pos;
	int		 line;
};

struct word {
	char		*s;
	int		 quoted;
	int		 line;
};

/* Where a statement was written. */
struct where {
	const char	*file;		/* NULL: nowhere */
	int		 line;
};

struct parser {
	struct conf	*conf;
	/* the last `set shard`, `set quorum`, `set node`: cluster mode's
	 * alone, refused without `set cluster` */
	struct where	 shard_at, quorum_at, node_at;
	struct where	 flap_low_at, flap_high_at;	/* the last of each */
	struct src	*stack[INCLUDE_DEPTH + 1];	/* the top file, its includes */
	int		 depth;
	struct farm_conf *farm;		/* open farm block, or NULL */
	unsigned	 farm_seen;	/* its block keywords so far, a bit
					   each, to refuse one given twice */
	struct where	 farm_at[FARM_WORDS_MAX];	/* and where each was */
	struct src	*farm_src;	/* file the open block is in */
	char		*errs;
	size_t		 errlen;
	int		 nerrs;
	char		*warns;		/* "FILE:LINE: warning: ...\n" lines */
	size_t		 warnlen;
	size_t		 nincluded;	/* files read through include */
	size_t		 included_bytes;	/* and their size */
	int		 fatal;		/* stop: something we cannot recover */
	int		 badtok;	/* this statement had an unterminated string */
};

enum opt_type {
	OT_DURATION,
	OT_UINT,
	OT_DAYS,	/* cert-days WARN[,CRIT] */
	OT_PERCENT,
	OT_FLAG,
	OT_STRING,
	OT_LIST,
};

struct optdef {
	const char	*name;
	enum opt_type	 type;
	size_t		 off;
	unsigned long	 max;		/* OT_UINT, OT_DAYS */
	unsigned long	 min;		/* OT_UINT */
};

#define TIMEOUT_BIT (1ULL << 1)	/* optdefs[1] is timeout */
#define RETRY_BIT (1ULL << 2)	/* optdefs[2] is retry-interval */

/* conf.c */
void		 conf_err(struct parser *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
void		 conf_err_at(struct parser *, const char *, int,
		    const char *, ...) __attribute__((format(printf, 4, 5)));
void		 conf_warn_at(struct parser *, const char *, int,
		    const char *, ...) __attribute__((format(printf, 4, 5)));
void		 conf_options_free(struct options *);
void		 conf_server_free(struct server_conf *);

/* conf_lex.c */
enum tok	 conf_lex_next(struct parser *, struct src *, struct word *);
void		 conf_lex_words_free(struct word *, int);
char		*conf_lex_read_file(const char *, size_t *, const char **,
		    int *);

/* conf_parse.c */
extern const struct optdef conf_parse_optdefs[];
extern const size_t conf_parse_noptdefs;
void		 conf_parse_src(struct parser *, const char *name,
		    const char *real, const char *text);
void		 conf_parse_list_add(char ***, size_t *, const char *);
uint64_t	 conf_parse_opt_bit(const char *);

/* conf_validate.c */
void		 conf_validate(struct parser *);

/* conf_cluster.c */
int		 conf_cluster_set(struct parser *, struct word *, int);
void		 conf_cluster_finish(struct conf *);
void		 conf_cluster_check(struct parser *);

#endif
