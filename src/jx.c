/* jx: building, reading and writing json-c trees when memory may run out. */
#include "jx.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"

const char *
jx_string_member(struct json_object *obj, const char *name, size_t *len_r)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	*len_r = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

void
jx_put_wiped(struct json_object *root)
{
	if (json_object_is_type(root, json_type_string)) {
		explicit_bzero((char *)json_object_get_string(root),
		    (size_t)json_object_get_string_len(root));
	} else if (json_object_is_type(root, json_type_object)) {
		json_object_object_foreach(root, key, val) {
			(void)key;
			jx_put_wiped(json_object_get(val));
		}
	} else if (json_object_is_type(root, json_type_array)) {
		size_t n = json_object_array_length(root);
		for (size_t i = 0; i < n; i++)
			jx_put_wiped(json_object_get(json_object_array_get_idx(root, i)));
	}
	json_object_put(root);
}

int
jx_set(struct json_object *obj, const char *key, struct json_object *val)
{
	if (obj == NULL || val == NULL || json_object_object_add(obj, key, val) != 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

int
jx_set_null(struct json_object *obj, const char *key)
{
	return obj != NULL && json_object_object_add(obj, key, NULL) == 0 ? 0 : -1;
}

int
jx_append(struct json_object *arr, struct json_object *val)
{
	if (arr == NULL || val == NULL || json_object_array_add(arr, val) != 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

/* jx_render's serialiser, in two passes: with out NULL it only counts.
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
	static const char from[] = "\b\n\r\t\f\"\\", to[] = "bnrtf\"\\";

	pos = put(out, pos, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *p = c != 0 ? strchr(from, c) : NULL;
		char e[6] = { '\\', 'u', '0', '0' };

		if (p != NULL) {
			e[1] = to[p - from];
			pos = put(out, pos, e, 2);
		} else if (c < 0x20) {
			hex_byte(e + 4, c, 0);
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
jx_render(struct json_object *root, size_t *len_r)
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
