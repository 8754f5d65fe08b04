/* jsonapi: strict JSON parser front end and JSON:API document helpers. */
#include "jsonapi.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
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

	if (++s->depth > JSON_MAX_DEPTH)
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
json_parse_strict(const char *text, size_t len)
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
	tok = json_tokener_new_ex(JSON_MAX_DEPTH + 1);
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

enum jsonapi_status
jsonapi_parse_resource(const char *body, size_t len, const char *type,
    struct json_object **root_r, struct json_object **attributes_r)
{
	struct json_object *root, *data, *t, *attrs;
	enum jsonapi_status st = JSONAPI_INVALID;

	*root_r = NULL;
	*attributes_r = NULL;
	root = json_parse_strict(body, len);
	if (root == NULL)
		return JSONAPI_INVALID;
	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "data", &data) ||
	    !json_object_is_type(data, json_type_object) ||
	    !json_object_object_get_ex(data, "type", &t))
		goto fail;
	if (!json_object_is_type(t, json_type_string) ||
	    strcmp(json_object_get_string(t), type) != 0 ||
	    (size_t)json_object_get_string_len(t) != strlen(type)) {
		st = JSONAPI_BAD_TYPE;
		goto fail;
	}
	if (!json_object_object_get_ex(data, "attributes", &attrs) ||
	    !json_object_is_type(attrs, json_type_object))
		goto fail;
	*root_r = root;
	*attributes_r = attrs;
	return JSONAPI_OK;
fail:
	json_object_put(root);
	return st;
}

const char *
json_get_string_member(struct json_object *obj, const char *name, size_t *len_r)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	*len_r = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

void
json_put_wiped(struct json_object *root)
{
	if (json_object_is_type(root, json_type_string)) {
		explicit_bzero((char *)json_object_get_string(root),
		    (size_t)json_object_get_string_len(root));
	} else if (json_object_is_type(root, json_type_object)) {
		json_object_object_foreach(root, key, val) {
			(void)key;
			json_put_wiped(json_object_get(val));
		}
	} else if (json_object_is_type(root, json_type_array)) {
		size_t n = json_object_array_length(root);
		for (size_t i = 0; i < n; i++)
			json_put_wiped(json_object_get(json_object_array_get_idx(root, i)));
	}
	json_object_put(root);
}

int
json_set(struct json_object *obj, const char *key, struct json_object *val)
{
	if (obj == NULL || val == NULL || json_object_object_add(obj, key, val) != 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

int
json_set_null(struct json_object *obj, const char *key)
{
	return obj != NULL && json_object_object_add(obj, key, NULL) == 0 ? 0 : -1;
}

int
json_append(struct json_object *arr, struct json_object *val)
{
	if (arr == NULL || val == NULL || json_object_array_add(arr, val) != 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

/* json_render's serialiser, in two passes: with out NULL it only counts.
 * It writes what json-c writes with JSON_C_TO_STRING_PLAIN |
 * JSON_C_TO_STRING_NOSLASHESCAPE, but not through json-c's printbuf, whose
 * appends ignore a failed allocation and leave pieces out (a "sub":""
 * instead of the sub), and which grows by realloc, leaving copies. */
#define RENDER_FAIL ((size_t)-1)

static size_t
put(char *out, size_t pos, const char *s, size_t n)
{
	if (out != NULL)
		memcpy(out + pos, s, n);
	return pos + n;
}

static size_t
put_string(char *out, size_t pos, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	static const char from[] = "\b\n\r\t\f\"\\", to[] = "bnrtf\"\\";

	pos = put(out, pos, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *p = c != 0 ? strchr(from, c) : NULL;
		char e[6] = { '\\', 'u', '0', '0', hex[(c >> 4) & 15], hex[c & 15] };

		if (p != NULL) {
			e[1] = to[p - from];
			pos = put(out, pos, e, 2);
		} else if (c < 0x20) {
			pos = put(out, pos, e, 6);
		} else {
			pos = put(out, pos, s + i, 1);
		}
	}
	return put(out, pos, "\"", 1);
}

static size_t put_value(char *out, size_t pos, struct json_object *v);

static size_t
put_object(char *out, size_t pos, struct json_object *o)
{
	int first = 1;

	pos = put(out, pos, "{", 1);
	json_object_object_foreach(o, key, val) {
		if (!first)
			pos = put(out, pos, ",", 1);
		first = 0;
		pos = put_string(out, pos, key, strlen(key));
		pos = put(out, pos, ":", 1);
		pos = put_value(out, pos, val);
		if (pos == RENDER_FAIL)
			return RENDER_FAIL;
	}
	return put(out, pos, "}", 1);
}

static size_t
put_array(char *out, size_t pos, struct json_object *a)
{
	size_t n = json_object_array_length(a);

	pos = put(out, pos, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			pos = put(out, pos, ",", 1);
		pos = put_value(out, pos, json_object_array_get_idx(a, i));
		if (pos == RENDER_FAIL)
			return RENDER_FAIL;
	}
	return put(out, pos, "]", 1);
}

/* Returns the position after v, or RENDER_FAIL for a type we never write
 * (double). */
static size_t
put_value(char *out, size_t pos, struct json_object *v)
{
	char num[24];

	switch (json_object_get_type(v)) {
	case json_type_null:
		return put(out, pos, "null", 4);
	case json_type_boolean:
		return json_object_get_boolean(v) ? put(out, pos, "true", 4) :
		    put(out, pos, "false", 5);
	case json_type_int:
		return put(out, pos, num, (size_t)snprintf(num, sizeof(num), "%" PRId64,
		    json_object_get_int64(v)));
	case json_type_string:
		return put_string(out, pos, json_object_get_string(v),
		    (size_t)json_object_get_string_len(v));
	case json_type_object:
		return put_object(out, pos, v);
	case json_type_array:
		return put_array(out, pos, v);
	default:
		return RENDER_FAIL;
	}
}

char *
json_render(struct json_object *root, size_t *len_r)
{
	size_t len;
	char *out = NULL;

	if (root == NULL)
		return NULL;
	len = put_value(NULL, 0, root);
	if (len != RENDER_FAIL && (out = malloc(len + 1)) != NULL) {
		put_value(out, 0, root);
		out[len] = '\0';
		if (len_r != NULL)
			*len_r = len;
	}
	json_object_put(root);
	return out;
}

char *
jsonapi_error_body(int status, const char *code, const char *detail, size_t *len_r)
{
	struct json_object *root = json_object_new_object(), *errors, *err;

	/* each container is attached first, so that putting root frees all */
	if (json_set(root, "errors", errors = json_object_new_array()) < 0 ||
	    json_append(errors, err = json_object_new_object()) < 0 ||
	    (code != NULL && json_set(err, "code", json_object_new_string(code)) < 0) ||
	    json_set(err, "status", json_object_new_int(status)) < 0 ||
	    json_set(err, "detail", json_object_new_string(detail)) < 0) {
		json_object_put(root);
		return NULL;
	}
	return json_render(root, len_r);
}

/* Are s's characters all base64url or '.' (nothing to escape in JSON)? */
static int
token_chars(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

char *
jsonapi_token_body(const char *type, long expires_in, const char *access_token,
    const char *refresh_token, const char *self, size_t *len_r)
{
	static const char slot_a[] = "\"accessToken\":\"", slot_r[] = "\",\"refreshToken\":\"";
	struct json_object *root = json_object_new_object(), *data, *attrs, *links;
	size_t slen = 0, alen, rlen, head, tail, pos;
	char *skel, *at, *out;

	if (!token_chars(access_token) || !token_chars(refresh_token) ||
	    json_set(root, "data", data = json_object_new_object()) < 0 ||
	    json_set(data, "type", json_object_new_string(type)) < 0 ||
	    json_set_null(data, "id") < 0 ||
	    json_set(data, "attributes", attrs = json_object_new_object()) < 0 ||
	    json_set(attrs, "tokenType", json_object_new_string("Bearer")) < 0 ||
	    json_set(attrs, "expiresIn", json_object_new_int64(expires_in)) < 0 ||
	    json_set(attrs, "accessToken", json_object_new_string("")) < 0 ||
	    json_set(attrs, "refreshToken", json_object_new_string("")) < 0 ||
	    json_set(data, "links", links = json_object_new_object()) < 0 ||
	    json_set(links, "self", json_object_new_string(self)) < 0) {
		json_object_put(root);
		return NULL;
	}
	/* the skeleton has the tokens empty: ..."accessToken":"","refreshToken":""...
	 * (the first such text: type is ours, and a quote inside self is escaped) */
	skel = json_render(root, &slen);
	if (skel == NULL)
		return NULL;
	at = strstr(skel, "\"accessToken\":\"\",\"refreshToken\":\"\"");
	alen = strlen(access_token);
	rlen = strlen(refresh_token);
	out = at != NULL ? malloc(slen + alen + rlen + 1) : NULL;
	if (out != NULL) {
		head = (size_t)(at - skel) + sizeof(slot_a) - 1;
		tail = head + sizeof(slot_r) - 1;
		memcpy(out, skel, head);
		memcpy(out + head, access_token, alen);
		pos = head + alen;
		memcpy(out + pos, slot_r, sizeof(slot_r) - 1);
		pos += sizeof(slot_r) - 1;
		memcpy(out + pos, refresh_token, rlen);
		pos += rlen;
		memcpy(out + pos, skel + tail, slen - tail + 1);
		if (len_r != NULL)
			*len_r = slen + alen + rlen;
	}
	free(skel);
	return out;
}
