/*
 * conf_lex.c: the config language's lexer. It reads a config file whole
 * and turns its text into words, strings, braces and ends of statements.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_impl.h"
#include "util.h"
#include "xmalloc.h"

/*
 * Read one token. Words run to a blank, ';', '{', '}' or '#'; strings are
 * double-quoted with \" and \\ as escapes (any other backslash is kept, so
 * regular expressions read as written). The word's text is malloc'd.
 */
enum tok
conf_lex_next(struct parser *p, struct src *s, struct word *w)
{
	const char	*c;
	char		*out;
	size_t		 len;

	w->s = NULL;
	w->quoted = 0;
	for (;;) {
		c = s->pos;
		while (*c == ' ' || *c == '\t' || *c == '\r')
			c++;
		/* A continuation, also in a file with CRLF line ends. */
		if (*c == '\\' && (c[1] == '\n' ||
		    (c[1] == '\r' && c[2] == '\n'))) {
			s->line++;
			s->pos = c + (c[1] == '\r' ? 3 : 2);
			continue;
		}
		/* A file's last line, unended, cannot go on. */
		if (*c == '\\' && (c[1] == '\0' ||
		    (c[1] == '\r' && c[2] == '\0'))) {
			conf_err(p, s->line, "line continued past end of "
			    "file");
			s->pos = c + 1 + (c[1] == '\r');
			continue;
		}
		if (*c == '#')
			while (*c != '\0' && *c != '\n')
				c++;
		break;
	}
	w->line = s->line;
	switch (*c) {
	case '\0':
		s->pos = c;
		return TOK_EOF;
	case '\n':
		s->line++;
		s->pos = c + 1;
		return TOK_EOS;
	case ';':
		s->pos = c + 1;
		return TOK_EOS;
	case '{':
		s->pos = c + 1;
		return TOK_LBRACE;
	case '}':
		s->pos = c + 1;
		return TOK_RBRACE;
	case '"':
		c++;
		out = xmalloc(strcspn(c, "\n") + 1);	/* ends on its line */
		len = 0;
		while (*c != '"') {
			if (*c == '\0' || *c == '\n') {
				conf_err(p, w->line, "unterminated string");
				p->badtok = 1;
				free(out);
				s->pos = c;
				w->s = xstrdup("");
				w->quoted = 1;
				return TOK_STRING;
			}
			if (*c == '\\' && (c[1] == '"' || c[1] == '\\'))
				c++;
			out[len++] = *c++;
		}
		out[len] = '\0';
		s->pos = c + 1;
		w->s = out;
		w->quoted = 1;
		return TOK_STRING;
	}
	len = strcspn(c, " \t\r\n;{}#\"");
	w->s = xstrndup(c, len);
	s->pos = c + len;
	return TOK_WORD;
}

/* Free the text of n words. */
void
conf_lex_words_free(struct word *w, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(w[i].s);
}

/*
 * Read a config file whole into a NUL-terminated buffer the caller frees;
 * only a regular file, opened without blocking (a FIFO named by an include
 * must not hang the loop or -t). *size is the file's length. Returns NULL
 * with *err set to a static message on failure, and *line to the line of
 * the file it is about (a NUL byte's), or 0 when it is about the whole.
 */
char *
conf_lex_read_file(const char *path, size_t *size, const char **err,
    int *line)
{
	struct stat	 st;
	char		*buf = NULL, *nul, *c;
	size_t		 n = 0, cap = 0;
	ssize_t		 r;
	int		 fd;

	*line = 0;
	if ((fd = open_regular(path, &st, err)) == -1)
		return NULL;
	/* Grow with the file: includes nest, so never hold the cap each. */
	while (n < CONF_FILE_MAX + 1) {
		if (n == cap) {
			cap = cap == 0 ? 64 * 1024 : cap * 2;
			if (cap > CONF_FILE_MAX + 1)
				cap = CONF_FILE_MAX + 1;
			buf = xreallocarray(buf, cap, 1);
		}
		if ((r = read(fd, buf + n, cap - n)) == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			*err = strerror(errno);
			close(fd);
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		n += r;
	}
	close(fd);
	if (n > CONF_FILE_MAX) {
		*err = "file larger than 64 MiB";
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	if ((nul = memchr(buf, '\0', n)) != NULL) {
		*err = "file holds a NUL byte";
		*line = 1;
		for (c = buf; (c = memchr(c, '\n', nul - c)) != NULL; c++)
			(*line)++;
		free(buf);
		return NULL;
	}
	*size = n;
	return buf;
}
