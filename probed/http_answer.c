/*
 * http_answer.c: an HTTP/1.1 answer read as curl 7.88 reads it, bytes in,
 * a verdict's facts out, no I/O (http_native.c feeds it what it reads).
 * The first line must start as "HTTP/" does (else it is HTTP/0.9, which
 * curl refuses); the status line is taken by curl's sscanf; 1xx answers
 * are skipped; a NUL byte, or a field without a colon, is a bad answer;
 * a header line over 100 KiB is refused. The body ends by Content-Length,
 * by chunked encoding (extensions and trailers allowed, decoded in curl's
 * steps and with its words for each fault) or by the close; none comes
 * after a HEAD, a 204 or a 304. At most HTTP_BODY_MAX body bytes are
 * taken (kept when asked, for a `body` pattern); then reading stops.
 * Memory is bounded: 256 bytes of each header line are kept, the body
 * only when asked and up to HTTP_BODY_MAX.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xmalloc.h"

#include "http_answer.h"
#include "http_judge.h"

#define LINE_KEEP	256		/* bytes kept of a header line */
#define HEADER_LINE_MAX	(100 * 1024)	/* curl's longest header line */
#define TRAILER_MAX	(64 * 1024)	/* curl's longest trailer line */
#define HEX_MAX		16		/* digits of a chunk size */

enum phase {
	PH_HEAD,			/* status line and header */
	PH_BODY,
};

enum framing {
	FR_CLOSE,			/* the body ends at the close */
	FR_LENGTH,			/* Content-Length */
	FR_CHUNKED,
};

/* Chunked decoding, in curl's steps. */
enum chunk {
	CH_HEX,				/* the size's digits */
	CH_LF,				/* to the end of the size line */
	CH_DATA,
	CH_POSTLF,			/* the CRLF after the data */
	CH_TRAILER,			/* a trailer line, or the end */
	CH_TRAILER_CR,
	CH_TRAILER_POSTCR,
	CH_STOP,			/* the last LF */
};

struct http_answer {
	int		 head;		/* asked with HEAD: no body comes */
	int		 keep_body;	/* keep the body's bytes */
	enum phase	 phase;
	char		 line[LINE_KEEP];	/* a header line's first bytes */
	size_t		 linelen;	/* its bytes so far */
	int		 line_colon;	/* it holds a ':' */
	int		 line_nul;	/* it holds a NUL byte */
	unsigned	 lines;		/* whole lines of this answer's header */
	uint64_t	 hdrbytes;	/* bytes of whole header lines */
	uint64_t	 deduct;	/* of those, 1xx answers' */
	int		 hdr_end;	/* the last line was the blank one */
	long		 status;
	int		 bodyless;	/* 1xx, 204, 304: no length read */
	int		 nobody;	/* 204, 304: the header ends it */
	int		 have_length;
	int64_t		 length;	/* Content-Length */
	int		 ignore_length;	/* a Transfer-Encoding not chunked */
	int		 chunked;
	enum framing	 framing;
	uint64_t	 left;		/* FR_LENGTH: bytes still to come */
	enum chunk	 cs;
	char		 hex[HEX_MAX + 1];
	size_t		 nhex;
	uint64_t	 csize;		/* the chunk's bytes still to come */
	size_t		 trailer;	/* bytes of the trailer line */
	size_t		 len;		/* body bytes taken */
	int		 over;		/* stopped at HTTP_BODY_MAX */
	char		*body;		/* with keep_body; NUL-terminated */
	char		 err[HTTP_ANSWER_ERR_MAX];	/* with HTTP_FAILED */
};

static enum http_step head_bytes(struct http_answer *, const char *, size_t,
		    size_t *);
static enum http_step head_line(struct http_answer *);
static enum http_step status_line(struct http_answer *);
static enum http_step header_line(struct http_answer *);
static void	 transfer_encoding(struct http_answer *, const char *);
static enum http_step body_start(struct http_answer *);
static enum http_step body_bytes(struct http_answer *, const char *, size_t,
		    size_t *);
static enum http_step chunk_size(struct http_answer *);
static enum http_step chunk_bytes(struct http_answer *, const char *, size_t,
		    size_t *);
static int	 take_body(struct http_answer *, const char *, size_t);
static enum http_step fail(struct http_answer *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/*
 * A reader for the answer to one request; head: it was a HEAD; keep_body:
 * keep the body's bytes (for a pattern). Freed with http_answer_free.
 */
struct http_answer *
http_answer_new(int head, int keep_body)
{
	struct http_answer *a;

	a = xcalloc(1, sizeof(*a));
	a->head = head;
	a->keep_body = keep_body;
	a->phase = PH_HEAD;
	return a;
}

void
http_answer_free(struct http_answer *a)
{
	if (a == NULL)
		return;
	free(a->body);
	free(a);
}

/* What a whole answer showed, for http_judge.c; body is a's. */
void
http_answer_facts(const struct http_answer *a, struct http_facts *f)
{
	f->status = a->status;
	f->hdr_end = a->hdr_end;
	f->len = a->len;
	f->over = a->over;
	f->body = a->body;
}

/* Why the answer failed (after HTTP_FAILED): curl's words. */
const char *
http_answer_error(const struct http_answer *a)
{
	return a->err;
}

/* Say why the answer fails; returns HTTP_FAILED. */
static enum http_step
fail(struct http_answer *a, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(a->err, sizeof(a->err), fmt, ap);
	va_end(ap);
	return HTTP_FAILED;
}

/*
 * Bytes of the answer, in whatever pieces they come: HTTP_MORE (read
 * on), HTTP_DONE (the answer is whole; read no more) or HTTP_FAILED
 * (http_answer_error says why).
 */
enum http_step
http_answer_feed(struct http_answer *a, const char *d, size_t len)
{
	enum http_step	 st = HTTP_MORE;
	size_t		 used;

	while (len > 0 && st == HTTP_MORE) {
		if (a->phase == PH_HEAD)
			st = head_bytes(a, d, len, &used);
		else if (a->framing == FR_CHUNKED)
			st = chunk_bytes(a, d, len, &used);
		else
			st = body_bytes(a, d, len, &used);
		d += used;
		len -= used;
	}
	return st;
}

/*
 * Header bytes, up to the end of the line they hold. The first line of
 * an answer must start as "HTTP/" does, checked as its bytes come, as
 * curl does (else it is HTTP/0.9, which curl refuses).
 */
static enum http_step
head_bytes(struct http_answer *a, const char *d, size_t len, size_t *used)
{
	const char	*nl = memchr(d, '\n', len);
	size_t		 take = nl != NULL ? (size_t)(nl - d) + 1 : len;
	size_t		 keep, k;

	*used = take;
	if (a->linelen < LINE_KEEP - 1) {
		keep = LINE_KEEP - 1 - a->linelen;
		if (keep > take)
			keep = take;
		memcpy(a->line + a->linelen, d, keep);
		a->line[a->linelen + keep] = '\0';
	}
	a->linelen += take;
	if (!a->line_colon && memchr(d, ':', take) != NULL)
		a->line_colon = 1;
	if (!a->line_nul && memchr(d, '\0', take) != NULL)
		a->line_nul = 1;
	if (a->lines == 0) {
		k = a->linelen < 5 ? a->linelen : 5;
		if (strncasecmp(a->line, "HTTP/", k) != 0)
			return fail(a, "bad answer: Received HTTP/0.9 when "
			    "not allowed");
	}
	if (a->linelen >= HEADER_LINE_MAX)
		return fail(a, "Out of memory");
	if (nl == NULL)
		return HTTP_MORE;
	a->hdrbytes += a->linelen;
	return head_line(a);
}

/*
 * A whole header line is in a->line (its first bytes): the blank one, the
 * status line or a field, which curl refuses with a NUL byte or, past the
 * status line, without a colon.
 */
static enum http_step
head_line(struct http_answer *a)
{
	enum http_step	 st;
	int		 colon = a->line_colon, nul = a->line_nul;

	a->linelen = 0;
	a->line_colon = a->line_nul = 0;
	if (a->line[0] == '\r' || a->line[0] == '\n') {
		a->hdr_end = 1;
		if (a->status >= 100 && a->status < 200 && a->status != 101) {
			/* A provisional answer: the real one follows. */
			a->lines = 0;
			a->deduct = a->hdrbytes;
			return HTTP_MORE;
		}
		return body_start(a);
	}
	if (a->lines == 0 && (st = status_line(a)) != HTTP_MORE)
		return st;
	if (nul)
		return fail(a, "bad answer: Nul byte in header");
	if (a->lines > 0 && !colon)
		return fail(a, "bad answer: Header without colon");
	st = a->lines == 0 ? HTTP_MORE : header_line(a);
	a->lines++;
	return st;
}

/*
 * "HTTP/1.1 200 OK", read as curl 7.88 reads it; a line that starts as
 * "HTTP/" (in any case) but has no version curl reads is taken as
 * HTTP/1.0 200, as curl takes it.
 */
static enum http_step
status_line(struct http_answer *a)
{
	int	 major = 0, minor = 0, code = 0, nc, version;
	char	 sep = 0, digit4 = 0, two[2];

	a->hdr_end = 0;
	a->have_length = a->chunked = a->ignore_length = 0;
	nc = sscanf(a->line, " HTTP/%1d.%1d%c%3d%c", &major, &minor, &sep,
	    &code, &digit4);
	if (nc == 1 && major >= 2 &&
	    sscanf(a->line, " HTTP/%1[23] %d", two, &code) == 2) {
		nc = 4;
		sep = ' ';
		major = minor = 1;	/* no version check */
	} else if (isdigit((unsigned char)digit4) || (nc >= 4 && code < 100))
		return fail(a, "bad answer: Unsupported response code in "
		    "HTTP response");
	if (nc == 0) {
		major = 1;
		minor = 0;
		code = 200;
	} else if (nc < 4 || sep != ' ')
		return fail(a, "bad answer: Unsupported HTTP version in "
		    "response");
	version = major * 10 + minor;
	if (version != 10 && version != 11 && version != 20)
		return fail(a, "bad answer: Unsupported HTTP version (%d.%d) "
		    "in response", major, minor);
	a->status = code;
	a->nobody = code == 204 || code == 304;
	a->bodyless = a->nobody || (code >= 100 && code < 200);
	return HTTP_MORE;
}

/* A header field: only the body's framing matters here. */
static enum http_step
header_line(struct http_answer *a)
{
	const char	*v;
	char		*e;
	long long	 cl;

	if (!a->bodyless && strncasecmp(a->line, "Content-Length:", 15) == 0) {
		for (v = a->line + 15; *v == ' ' || *v == '\t'; v++)
			;
		if (*v == '-' || isspace((unsigned char)*v))
			return fail(a, "bad answer: Invalid Content-Length: "
			    "value");
		errno = 0;
		cl = strtoll(v, &e, 10);
		if (errno == ERANGE)
			a->have_length = 0;	/* curl: read to the close */
		else if (e == v)
			return fail(a, "bad answer: Invalid Content-Length: "
			    "value");
		else {
			a->have_length = 1;
			a->length = cl;
		}
	} else if (!a->bodyless &&
	    strncasecmp(a->line, "Transfer-Encoding:", 18) == 0)
		transfer_encoding(a, a->line + 18);
	return HTTP_MORE;
}

/*
 * A Transfer-Encoding list, as curl reads it: "chunked" among the names
 * before the first other one says chunked; without it the body runs to
 * the close whatever Content-Length says.
 */
static void
transfer_encoding(struct http_answer *a, const char *v)
{
	const char	*name;
	size_t		 len;

	do {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		name = v;
		for (len = 0; *v != '\0' && *v != ','; v++)
			if (!isspace((unsigned char)*v))
				len = v - name + 1;
		if (len == 7 && strncasecmp(name, "chunked", 7) == 0)
			a->chunked = 1;
		else if (len > 0)
			break;		/* curl stops at one it does not do */
	} while (*v != '\0');
	if (!a->chunked)
		a->ignore_length = 1;
}

/* The header ended: how the body comes, or that none does. */
static enum http_step
body_start(struct http_answer *a)
{
	a->phase = PH_BODY;
	if (a->head || a->nobody)
		return HTTP_DONE;
	if (a->chunked) {
		a->framing = FR_CHUNKED;
		a->cs = CH_HEX;
		return HTTP_MORE;
	}
	if (a->have_length && !a->ignore_length) {
		if (a->length == 0)
			return HTTP_DONE;
		a->framing = FR_LENGTH;
		a->left = a->length;
		return HTTP_MORE;
	}
	a->framing = FR_CLOSE;
	return HTTP_MORE;
}

/*
 * Body bytes, as check_http.c's on_body takes them: at most
 * HTTP_BODY_MAX counted (kept for a `body` pattern); 1 when that stops
 * the reading.
 */
static int
take_body(struct http_answer *a, const char *d, size_t len)
{
	if (a->len + len > HTTP_BODY_MAX) {
		len = HTTP_BODY_MAX - a->len;
		a->over = 1;
	}
	if (a->keep_body) {
		a->body = xreallocarray(a->body, a->len + len + 1, 1);
		memcpy(a->body + a->len, d, len);
		a->body[a->len + len] = '\0';
	}
	a->len += len;
	return a->over;
}

/* Body bytes ended by Content-Length or by the close. */
static enum http_step
body_bytes(struct http_answer *a, const char *d, size_t len, size_t *used)
{
	if (a->framing == FR_LENGTH && len > a->left)
		len = a->left;
	*used = len;
	if (take_body(a, d, len))
		return HTTP_DONE;
	if (a->framing == FR_LENGTH) {
		a->left -= len;
		if (a->left == 0)
			return HTTP_DONE;
	}
	return HTTP_MORE;
}

/* The size line's digits are in: the chunk's size. */
static enum http_step
chunk_size(struct http_answer *a)
{
	char			*e;
	unsigned long long	 v;

	a->hex[a->nhex] = '\0';
	errno = 0;
	v = strtoull(a->hex, &e, 16);
	if (errno == ERANGE || v > INT64_MAX)
		return fail(a, "connection broken mid-answer: Illegal or "
		    "missing hexadecimal sequence in chunked-encoding");
	a->csize = v;
	a->nhex = 0;
	a->cs = CH_LF;
	return HTTP_MORE;
}

/* Chunked body bytes, decoded in curl's steps. */
static enum http_step
chunk_bytes(struct http_answer *a, const char *d, size_t len, size_t *used)
{
	char	 c = d[0];
	size_t	 take;

	*used = 1;
	switch (a->cs) {
	case CH_HEX:
		if (isxdigit((unsigned char)c)) {
			if (a->nhex >= HEX_MAX)
				return fail(a, "connection broken mid-answer: "
				    "Too long hexadecimal number in "
				    "chunked-encoding");
			a->hex[a->nhex++] = c;
			return HTTP_MORE;
		}
		*used = 0;
		if (a->nhex == 0)
			return fail(a, "connection broken mid-answer: Illegal "
			    "or missing hexadecimal sequence in "
			    "chunked-encoding");
		return chunk_size(a);
	case CH_LF:
		if (c == '\n')
			a->cs = a->csize == 0 ? CH_TRAILER : CH_DATA;
		return HTTP_MORE;
	case CH_DATA:
		take = len < a->csize ? len : (size_t)a->csize;
		*used = take;
		if (take_body(a, d, take))
			return HTTP_DONE;
		if ((a->csize -= take) == 0)
			a->cs = CH_POSTLF;
		return HTTP_MORE;
	case CH_POSTLF:
		if (c == '\n')
			a->cs = CH_HEX;
		else if (c != '\r')
			return fail(a, "connection broken mid-answer: "
			    "Malformed encoding found in chunked-encoding");
		return HTTP_MORE;
	case CH_TRAILER:
		if (c != '\r' && c != '\n') {
			if (++a->trailer >= TRAILER_MAX)
				return fail(a, "connection broken mid-answer: "
				    "Out of memory in chunked-encoding");
			return HTTP_MORE;
		}
		if (a->trailer > 0) {
			a->trailer = 0;
			a->cs = CH_TRAILER_CR;
			if (c == '\n')
				*used = 0;	/* already on the LF */
		} else {
			a->cs = CH_TRAILER_POSTCR;
			*used = 0;
		}
		return HTTP_MORE;
	case CH_TRAILER_CR:
		if (c != '\n')
			return fail(a, "connection broken mid-answer: "
			    "Malformed encoding found in chunked-encoding");
		a->cs = CH_TRAILER_POSTCR;
		return HTTP_MORE;
	case CH_TRAILER_POSTCR:
		if (c != '\r' && c != '\n') {
			a->cs = CH_TRAILER;	/* another trailer line */
			*used = 0;
			return HTTP_MORE;
		}
		if (c != '\r')
			*used = 0;
		a->cs = CH_STOP;
		return HTTP_MORE;
	case CH_STOP:
		if (c != '\n')
			return fail(a, "connection broken mid-answer: "
			    "Malformed encoding found in chunked-encoding");
		return HTTP_DONE;
	}
	return HTTP_MORE;
}

/* The server closed: HTTP_DONE for a whole answer, or HTTP_FAILED. */
enum http_step
http_answer_close(struct http_answer *a)
{
	if (a->phase == PH_HEAD) {
		if (a->hdrbytes - a->deduct == 0)
			return fail(a, "connection closed with no answer");
		return HTTP_DONE;		/* judged: "mid-header" */
	}
	if (a->framing == FR_LENGTH)
		return fail(a, "connection broken mid-answer: transfer closed "
		    "with %llu bytes remaining to read",
		    (unsigned long long)a->left);
	if (a->framing == FR_CHUNKED)
		return fail(a, "connection broken mid-answer: transfer closed "
		    "with outstanding read data remaining");
	return HTTP_DONE;
}
