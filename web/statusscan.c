/*
 * statusscan.c: probed's `status` answer read straight into ctl_server
 * records, for the pages that need no JSON objects (the overview, a
 * farm, a badge, events). perf: building jansson's tree of thousands of
 * servers was 60 % of a CGI's CPU. It gives exactly what
 * ctlclient_servers_from_answer gives from json_loads, or -1 whenever the
 * text holds anything it does not read the same way (a raw byte above
 * 0x7f, a \u escape outside the BMP or of NUL, a number out of range,
 * nesting past SCAN_DEPTH, any syntax error, a missing id or state): the
 * caller then parses it with jansson as before, which decides.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctlclient.h"
#include "util.h"
#include "xmalloc.h"
#include "web.h"

#define SCAN_DEPTH	32	/* nesting skipped, at most */
#define SCAN_STR	1024	/* bytes of a string kept (> any field) */

struct scan {
	const char	*p;
	int		 bad;
};

/* A scalar as jansson would hold it. */
enum kind { K_NONE, K_NULL, K_TRUE, K_FALSE, K_INT, K_REAL, K_STR, K_OTHER };

struct val {
	enum kind	 kind;
	int64_t		 i;
	double		 d;
	char		 s[SCAN_STR];
};

static void	 ws(struct scan *);
static int	 eat(struct scan *, char);
static int	 string(struct scan *, char *, size_t);
static int	 number(struct scan *, struct val *);
static int	 value(struct scan *, struct val *, int);
static int	 server(struct scan *, struct ctl_server *, int64_t);
static int64_t	 as_int(const struct val *);
static int	 downtimes(struct scan *, int64_t, int64_t *);

static void
ws(struct scan *s)
{
	while (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' ||
	    *s->p == '\r')
		s->p++;
}

/* Take c after blanks; 0 (not bad) when it is not there. */
static int
eat(struct scan *s, char c)
{
	ws(s);
	if (*s->p != c)
		return 0;
	s->p++;
	return 1;
}

/*
 * A string at s->p (after its quote), decoded into dst (cap bytes, the
 * rest dropped; NULL: skipped). Returns 0, or -1 (s->bad) for what
 * jansson might read otherwise.
 */
static int
string(struct scan *s, char *dst, size_t cap)
{
	size_t		 n = 0;
	unsigned	 u, k;
	char		 out[3];
	size_t		 m, j;
	int		 c;

	for (;;) {
		c = (unsigned char)*s->p++;
		if (c == '"')
			break;
		if (c < 0x20 || c >= 0x80)
			return s->bad = 1, -1;
		m = 1;
		out[0] = (char)c;
		if (c == '\\') {
			c = *s->p++;
			switch (c) {
			case '"': case '\\': case '/': out[0] = (char)c; break;
			case 'b': out[0] = '\b'; break;
			case 'f': out[0] = '\f'; break;
			case 'n': out[0] = '\n'; break;
			case 'r': out[0] = '\r'; break;
			case 't': out[0] = '\t'; break;
			case 'u':
				for (u = 0, k = 0; k < 4; k++) {
					c = *s->p++;
					u <<= 4;
					if (c >= '0' && c <= '9')
						u |= (unsigned)(c - '0');
					else if (c >= 'a' && c <= 'f')
						u |= (unsigned)(c - 'a' + 10);
					else if (c >= 'A' && c <= 'F')
						u |= (unsigned)(c - 'A' + 10);
					else
						return s->bad = 1, -1;
				}
				if (u == 0 || (u >= 0xd800 && u <= 0xdfff))
					return s->bad = 1, -1;
				if (u < 0x80)
					out[0] = (char)u;
				else if (u < 0x800) {
					out[0] = (char)(0xc0 | (u >> 6));
					out[1] = (char)(0x80 | (u & 0x3f));
					m = 2;
				} else {
					out[0] = (char)(0xe0 | (u >> 12));
					out[1] = (char)(0x80 | ((u >> 6) & 0x3f));
					out[2] = (char)(0x80 | (u & 0x3f));
					m = 3;
				}
				break;
			default:
				return s->bad = 1, -1;
			}
		}
		for (j = 0; j < m; j++)
			if (dst != NULL && n + 1 < cap)
				dst[n++] = out[j];
	}
	if (dst != NULL)
		dst[n] = '\0';
	return 0;
}

/* A number, as jansson reads it: an integer when it has no '.', 'e' or
 * 'E' (out of range: bad), else a real. */
static int
number(struct scan *s, struct val *v)
{
	const char	*q = s->p;
	char		*end;
	int		 real = 0;

	if (*q == '-')
		q++;
	if (*q == '0')
		q++;
	else if (*q >= '1' && *q <= '9')
		while (*q >= '0' && *q <= '9')
			q++;
	else
		return s->bad = 1, -1;
	if (*q == '.') {
		real = 1;
		if (*++q < '0' || *q > '9')
			return s->bad = 1, -1;
		while (*q >= '0' && *q <= '9')
			q++;
	}
	if (*q == 'e' || *q == 'E') {
		real = 1;
		q++;
		if (*q == '+' || *q == '-')
			q++;
		if (*q < '0' || *q > '9')
			return s->bad = 1, -1;
		while (*q >= '0' && *q <= '9')
			q++;
	}
	errno = 0;
	if (real) {
		v->kind = K_REAL;
		v->d = strtod(s->p, &end);
	} else {
		v->kind = K_INT;
		v->i = strtoll(s->p, &end, 10);
		v->d = (double)v->i;
	}
	if (errno != 0 || end != q)
		return s->bad = 1, -1;
	s->p = q;
	return 0;
}

/*
 * A value: a scalar into v (strings decoded when v is not NULL), an
 * object or array skipped (K_OTHER). Returns 0 or -1 (s->bad).
 */
static int
value(struct scan *s, struct val *v, int depth)
{
	struct val	 tmp;
	int		 first;

	if (v == NULL)
		v = &tmp;
	v->kind = K_OTHER;
	ws(s);
	if (*s->p == '"') {
		s->p++;
		v->kind = K_STR;
		return string(s, v == &tmp ? NULL : v->s, sizeof(v->s));
	}
	if (*s->p == '{' || *s->p == '[') {
		char close = *s->p == '{' ? '}' : ']';

		if (depth >= SCAN_DEPTH)
			return s->bad = 1, -1;
		s->p++;
		for (first = 1; !eat(s, close); first = 0) {
			if (!first && !eat(s, ','))
				return s->bad = 1, -1;
			if (close == '}') {
				if (!eat(s, '"') || string(s, NULL, 0) == -1 ||
				    !eat(s, ':'))
					return s->bad = 1, -1;
			}
			if (value(s, NULL, depth + 1) == -1)
				return -1;
		}
		return 0;
	}
	if (strncmp(s->p, "null", 4) == 0)
		return s->p += 4, v->kind = K_NULL, 0;
	if (strncmp(s->p, "true", 4) == 0)
		return s->p += 4, v->kind = K_TRUE, 0;
	if (strncmp(s->p, "false", 5) == 0)
		return s->p += 5, v->kind = K_FALSE, 0;
	return number(s, v);
}

/* get_int's reading: an integer, a real truncated, else 0. */
static int64_t
as_int(const struct val *v)
{
	return v->kind == K_INT ? v->i : v->kind == K_REAL ? (int64_t)v->d : 0;
}

/*
 * A "downtimes" array: *until gets the end of the one running at now
 * that ends last (0: none), as ctlclient reads it. Anything but an array
 * of objects counts as none, as there.
 */
static int
downtimes(struct scan *s, int64_t now, int64_t *until)
{
	struct val	*v = xmalloc(sizeof(*v));
	int64_t		 from, to;
	int		 first, f2, rc = -1;

	*until = 0;
	ws(s);
	if (*s->p != '[') {
		rc = value(s, NULL, 1);
		goto out;
	}
	s->p++;
	for (first = 1; !eat(s, ']'); first = 0) {
		if (!first && !eat(s, ','))
			goto bad;
		ws(s);
		if (*s->p != '{') {
			if (value(s, NULL, 2) == -1)
				goto out;
			continue;
		}
		s->p++;
		from = to = 0;
		for (f2 = 1; !eat(s, '}'); f2 = 0) {
			if ((!f2 && !eat(s, ',')) || !eat(s, '"') ||
			    string(s, v->s, sizeof(v->s)) == -1 || !eat(s, ':'))
				goto bad;
			if (strcmp(v->s, "from") == 0) {
				if (value(s, v, 3) == -1)
					goto out;
				from = as_int(v);
			} else if (strcmp(v->s, "until") == 0) {
				if (value(s, v, 3) == -1)
					goto out;
				to = as_int(v);
			} else if (value(s, NULL, 3) == -1)
				goto out;
		}
		if (from <= now && to > now && to > *until)
			*until = to;
	}
	rc = 0;
	goto out;
bad:
	s->bad = 1;
out:
	free(v);
	return rc;
}

/* Keys of a server object that ctlclient reads. */
enum key { K_ID, K_STATE, K_STATE_TYPE, K_TYPE, K_KIND, K_MESSAGE,
	K_ACK_COMMENT, K_SINCE, K_LAST_CHECK, K_DOWNTIME_UNTIL,
	K_UNREACHABLE, K_FLAPPING, K_ACKED, K_DRAINED, K_LATENCY_MS,
	K_LAST_LATENCY_US, K_NKEYS };

static const char *const keys[K_NKEYS] = { "id", "state", "state_type",
	"type", "kind", "message", "ack_comment", "since", "last_check",
	"downtime_until", "unreachable", "flapping", "acked", "drained",
	"latency_ms", "last_latency_us" };

/*
 * One server object into r, as ctlclient_server_from_json fills it (the
 * last of a repeated key wins, as in jansson). Returns 0, or -1 (bad,
 * or no id or state).
 */
static int
server(struct scan *s, struct ctl_server *r, int64_t now)
{
	struct val	*v;
	char		 name[32];
	int		 first, k, rc = -1;
	int64_t		 running = 0;

	memset(r, 0, sizeof(*r));
	r->latency_ms = -1;
	v = xcalloc(K_NKEYS, sizeof(*v));
	if (!eat(s, '{'))
		goto bad;
	for (first = 1; !eat(s, '}'); first = 0) {
		if ((!first && !eat(s, ',')) || !eat(s, '"') ||
		    string(s, name, sizeof(name)) == -1 || !eat(s, ':'))
			goto bad;
		for (k = 0; k < K_NKEYS && strcmp(name, keys[k]) != 0; k++)
			;
		if (strcmp(name, "downtimes") == 0) {
			if (downtimes(s, now, &running) == -1)
				goto out;
		} else if (value(s, k < K_NKEYS ? &v[k] : NULL, 1) == -1)
			goto out;
	}
	if (v[K_ID].kind != K_STR || v[K_STATE].kind != K_STR)
		goto out;
	copy_utf8(r->state, sizeof(r->state), v[K_STATE].s);
	if (v[K_STATE_TYPE].kind == K_STR)
		copy_utf8(r->state_type, sizeof(r->state_type),
		    v[K_STATE_TYPE].s);
	else if (v[K_TYPE].kind == K_STR &&
	    (strcmp(v[K_TYPE].s, "soft") == 0 ||
	    strcmp(v[K_TYPE].s, "hard") == 0))
		copy_utf8(r->state_type, sizeof(r->state_type), v[K_TYPE].s);
	if (v[K_KIND].kind == K_STR)
		copy_utf8(r->kind, sizeof(r->kind), v[K_KIND].s);
	if (v[K_MESSAGE].kind == K_STR)
		copy_utf8(r->message, sizeof(r->message), v[K_MESSAGE].s);
	if (v[K_ACK_COMMENT].kind == K_STR)
		copy_utf8(r->ack_comment, sizeof(r->ack_comment),
		    v[K_ACK_COMMENT].s);
	r->since = as_int(&v[K_SINCE]);
	r->last_check = as_int(&v[K_LAST_CHECK]);
	if ((r->downtime_until = as_int(&v[K_DOWNTIME_UNTIL])) == 0)
		r->downtime_until = running;
	for (k = K_UNREACHABLE; k <= K_DRAINED; k++) {
		int flag = v[k].kind == K_TRUE ||
		    (v[k].kind == K_INT && v[k].i != 0);

		if (k == K_UNREACHABLE)
			r->unreachable = flag;
		else if (k == K_FLAPPING)
			r->flapping = flag;
		else if (k == K_ACKED)
			r->acked = flag;
		else
			r->drained = flag;
	}
	if (v[K_LATENCY_MS].kind == K_INT || v[K_LATENCY_MS].kind == K_REAL)
		r->latency_ms = v[K_LATENCY_MS].d;
	else if (v[K_LAST_LATENCY_US].kind == K_INT &&
	    v[K_LAST_LATENCY_US].i >= 0)
		r->latency_ms = (double)v[K_LAST_LATENCY_US].i / 1000.0;
	r->id = xstrdup(v[K_ID].s);
	rc = 0;
	goto out;
bad:
	s->bad = 1;
out:
	free(v);
	return rc;
}

/*
 * The servers of probed's `status` answer text, as
 * ctlclient_parse + ctlclient_servers_from_answer give them. Returns 0
 * with *servers (free with ctlclient_servers_free) and *n, or -1 when the
 * text must be read by jansson instead (see the top of the file).
 */
int
statusscan(const char *text, struct ctl_server **servers, size_t *n)
{
	struct scan		 s = { text, 0 };
	struct ctl_server	*r = NULL;
	size_t			 len = 0, cap = 0;
	char			 name[32];
	int			 first, ok = 0, have = 0, f2;
	int64_t			 now = time(NULL);
	struct val		 v;

	*servers = NULL;
	*n = 0;
	if (!eat(&s, '{'))
		return -1;
	for (first = 1; !eat(&s, '}'); first = 0) {
		if ((!first && !eat(&s, ',')) || !eat(&s, '"') ||
		    string(&s, name, sizeof(name)) == -1 || !eat(&s, ':'))
			goto fail;
		if (strcmp(name, "servers") == 0 && !have) {
			if (!eat(&s, '['))
				goto fail;
			have = 1;
			for (f2 = 1; !eat(&s, ']'); f2 = 0) {
				if (!f2 && !eat(&s, ','))
					goto fail;
				if (len == cap) {
					cap = cap == 0 ? 256 : cap * 2;
					r = xreallocarray(r, cap, sizeof(*r));
				}
				if (server(&s, &r[len], now) == -1)
					goto fail;
				len++;
			}
		} else if (strcmp(name, "servers") == 0 ||
		    strcmp(name, "type") == 0)
			goto fail;	/* repeated, or a watch line */
		else {
			if (value(&s, &v, 1) == -1)
				goto fail;
			if (strcmp(name, "ok") == 0)
				ok = v.kind == K_TRUE;
		}
	}
	ws(&s);
	if (!ok || !have || *s.p != '\0')
		goto fail;
	*servers = r != NULL ? r : xcalloc(1, sizeof(*r));
	*n = len;
	return 0;
fail:
	ctlclient_servers_free(r, len);
	return -1;
}
