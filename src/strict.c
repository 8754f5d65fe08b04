/* strict: JSON text held to RFC 8259 before json-c parses it. */
#include "strict.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"

int
utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		i += n + 1;
	}
	return 1;
}

static int
hex4(const char *p, unsigned *v_r)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		int d = hex_value(p[i]);
		if (d < 0)
			return -1;
		v = v << 4 | (unsigned)d;
	}
	*v_r = v;
	return 0;
}

/* An RFC 8259 validator over the raw text, for what json-c's strict mode
 * still lets through (NaN, single-quoted names, "-01", "1.", raw control
 * characters in strings, lone surrogate escapes).  It also counts the
 * members of every object in order of appearance, so that duplicate names,
 * which json-c silently merges, can be found after parsing. */
struct scan {
	const char *t;
	size_t len, pos;
	unsigned *counts;    /* len / 2 + 1 entries */
	long nobj;
	int depth;
};

static int scan_value(struct scan *s);

static void
scan_ws(struct scan *s)
{
	while (s->pos < s->len && (s->t[s->pos] == ' ' || s->t[s->pos] == '\t' ||
	    s->t[s->pos] == '\n' || s->t[s->pos] == '\r'))
		s->pos++;
}

static int
scan_peek(const struct scan *s)
{
	return s->pos < s->len ? (unsigned char)s->t[s->pos] : -1;
}

static int
scan_string(struct scan *s)
{
	if (scan_peek(s) != '"')
		return -1;
	for (s->pos++; s->pos < s->len; s->pos++) {
		unsigned char c = (unsigned char)s->t[s->pos];
		unsigned u, lo;

		if (c == '"') {
			s->pos++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c != '\\')
			continue;
		if (++s->pos >= s->len)
			return -1;
		c = (unsigned char)s->t[s->pos];
		if (strchr("\"\\/bfnrt", c) != NULL && c != '\0')
			continue;
		if (c != 'u' || s->pos + 4 >= s->len || hex4(s->t + s->pos + 1, &u) < 0)
			return -1;
		s->pos += 4;
		if (u >= 0xdc00 && u <= 0xdfff)
			return -1;
		if (u >= 0xd800 && u <= 0xdbff) {
			if (s->pos + 6 >= s->len || s->t[s->pos + 1] != '\\' ||
			    s->t[s->pos + 2] != 'u' || hex4(s->t + s->pos + 3, &lo) < 0 ||
			    lo < 0xdc00 || lo > 0xdfff)
				return -1;
			s->pos += 6;
		}
	}
	return -1;
}

static int
scan_digits(struct scan *s)
{
	size_t start = s->pos;

	while (s->pos < s->len && s->t[s->pos] >= '0' && s->t[s->pos] <= '9')
		s->pos++;
	return s->pos > start ? 0 : -1;
}

static int
scan_number(struct scan *s)
{
	if (scan_peek(s) == '-')
		s->pos++;
	if (scan_peek(s) == '0')
		s->pos++;
	else if (scan_digits(s) < 0)
		return -1;
	if (scan_peek(s) == '.') {
		s->pos++;
		if (scan_digits(s) < 0)
			return -1;
	}
	if (scan_peek(s) == 'e' || scan_peek(s) == 'E') {
		s->pos++;
		if (scan_peek(s) == '+' || scan_peek(s) == '-')
			s->pos++;
		if (scan_digits(s) < 0)
			return -1;
	}
	return 0;
}

static int
scan_literal(struct scan *s, const char *word)
{
	size_t n = strlen(word);

	if (s->len - s->pos < n || memcmp(s->t + s->pos, word, n) != 0)
		return -1;
	s->pos += n;
	return 0;
}

/* Scans an object or array starting at '{' or '['. */
static int
scan_container(struct scan *s)
{
	int object = scan_peek(s) == '{';
	char close = object ? '}' : ']';
	long idx = -1;

	if (++s->depth > STRICT_MAX_DEPTH)
		return -1;
	if (object) {
		idx = s->nobj++;
		s->counts[idx] = 0;
	}
	s->pos++;
	scan_ws(s);
	if (scan_peek(s) == close) {
		s->pos++;
		s->depth--;
		return 0;
	}
	for (;;) {
		if (object) {
			if (scan_string(s) < 0)
				return -1;
			scan_ws(s);
			if (scan_peek(s) != ':')
				return -1;
			s->pos++;
			s->counts[idx]++;
		}
		if (scan_value(s) < 0)
			return -1;
		if (scan_peek(s) == ',') {
			s->pos++;
			scan_ws(s);
			continue;
		}
		if (scan_peek(s) != close)
			return -1;
		s->pos++;
		s->depth--;
		return 0;
	}
}

/* Scans one value with the white space around it. */
static int
scan_value(struct scan *s)
{
	int c, r;

	scan_ws(s);
	c = scan_peek(s);
	if (c == '{' || c == '[')
		r = scan_container(s);
	else if (c == '"')
		r = scan_string(s);
	else if (c == '-' || (c >= '0' && c <= '9'))
		r = scan_number(s);
	else if (c == 't')
		r = scan_literal(s, "true");
	else if (c == 'f')
		r = scan_literal(s, "false");
	else if (c == 'n')
		r = scan_literal(s, "null");
	else
		r = -1;
	scan_ws(s);
	return r;
}

/* Validates t[0..len) as one JSON text; returns the number of objects, or
 * -1.  counts must hold len / 2 + 1 entries. */
static long
scan_objects(const char *t, size_t len, unsigned *counts)
{
	struct scan s = { .t = t, .len = len, .counts = counts };

	if (scan_value(&s) < 0 || s.pos != len)
		return -1;
	return s.nobj;
}

/* Walks the parsed tree in document order and compares member counts with
 * the raw scan: fewer members than names in the text means a duplicate. */
static int
counts_match(struct json_object *o, const unsigned *counts, long nobj, long *idx)
{
	if (json_object_is_type(o, json_type_object)) {
		if (*idx >= nobj || (unsigned)json_object_object_length(o) != counts[*idx])
			return 0;
		(*idx)++;
		json_object_object_foreach(o, key, val) {
			(void)key;
			if (!counts_match(val, counts, nobj, idx))
				return 0;
		}
	} else if (json_object_is_type(o, json_type_array)) {
		size_t n = json_object_array_length(o);
		for (size_t i = 0; i < n; i++)
			if (!counts_match(json_object_array_get_idx(o, i), counts, nobj, idx))
				return 0;
	}
	return 1;
}

struct json_object *
strict_parse(const char *text, size_t len)
{
	struct json_tokener *tok;
	struct json_object *root = NULL;
	unsigned *counts;
	long nobj, idx = 0;
	size_t end;

	if (len == 0 || memchr(text, '\0', len) != NULL || !utf8_valid(text, len))
		return NULL;
	counts = malloc((len / 2 + 1) * sizeof(*counts));
	if (counts == NULL)
		return NULL;
	nobj = scan_objects(text, len, counts);
	if (nobj < 0)
		goto out;
	/* json-c counts the innermost scalar as a level too */
	tok = json_tokener_new_ex(STRICT_MAX_DEPTH + 1);
	if (tok == NULL || len >= INT_MAX)
		goto out_tok;
	/* The tokener collects every string in tok->pb: grow it once to the
	 * size of the text, so that it is never reallocated (leaving copies
	 * behind) and can be wiped as a whole below. */
	if (printbuf_memset(tok->pb, 0, 0, (int)len + 1) < 0)
		goto out_tok;
	printbuf_reset(tok->pb);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	/* The terminating NUL ends a top-level number or literal. */
	root = json_tokener_parse_ex(tok, text, (int)len + 1);
	end = json_tokener_get_parse_end(tok);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(root);
		root = NULL;
	}
out_tok:
	if (tok != NULL) {
		explicit_bzero(tok->pb->buf, (size_t)tok->pb->size);
		json_tokener_free(tok);
	}
	if (root == NULL)
		goto out;
	while (end < len && (text[end] == ' ' || text[end] == '\t' ||
	    text[end] == '\r' || text[end] == '\n'))
		end++;
	if ((end < len && text[end] != '\0') || !counts_match(root, counts, nobj, &idx) ||
	    idx != nobj) {
		json_object_put(root);
		root = NULL;
	}
out:
	free(counts);
	return root;
}
