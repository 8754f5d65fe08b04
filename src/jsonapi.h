/* jsonapi: strict JSON parsing and JSON:API documents.
 *
 * json-c alone is lenient (duplicate keys, overlong UTF-8, lone surrogate
 * escapes, trailing garbage); json_parse_strict() closes those gaps. */
#ifndef AGENTAUTH_JSONAPI_H
#define AGENTAUTH_JSONAPI_H

#include <stddef.h>

#include <json-c/json.h>

/* At most this many nested objects and arrays. */
#define JSON_MAX_DEPTH 8

enum jsonapi_status {
	JSONAPI_OK = 0,
	JSONAPI_INVALID,   /* 400 "Post data is invalid." */
	JSONAPI_BAD_TYPE,  /* 400 "Invalid type." */
};

/* Returns 1 if s[0..len) is well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF), else 0. */
int utf8_valid(const char *s, size_t len);

/* Parses text[0..len) as one JSON value under the rules in doc/api.md:
 * RFC 8259 syntax only, valid UTF-8, no NUL byte, no duplicate member names,
 * no lone surrogate escapes, nesting at most JSON_MAX_DEPTH.  text[len] must
 * be '\0'.  Returns a new reference (caller puts it) or NULL. */
struct json_object *json_parse_strict(const char *text, size_t len);

/* Parses a single-resource document {"data":{"type":type,"attributes":{}}}.
 * On JSONAPI_OK *root_r is a new reference the caller puts and
 * *attributes_r is borrowed from it; otherwise both are NULL. */
enum jsonapi_status jsonapi_parse_resource(const char *body, size_t len,
    const char *type, struct json_object **root_r,
    struct json_object **attributes_r);

/* Returns the string member name of obj if it is a JSON string, else NULL;
 * *len_r gets its byte length (it may contain NUL).  Borrowed. */
const char *json_get_string_member(struct json_object *obj, const char *name,
    size_t *len_r);

/* Puts root after wiping every string value in the tree (for trees parsed
 * from a request body, which may hold a password or a token). */
void json_put_wiped(struct json_object *root);

/* Building documents when memory may run out (doc/STYLE.md "Out of
 * memory").  json_set adds val to obj under key and takes ownership of
 * val, which may be NULL: the constructor that made it ran out of memory.
 * Returns 0, or -1 (val put) if obj or val is NULL or the member cannot be
 * added.  json_set_null adds a JSON null on purpose; json_append appends
 * val to the array arr like json_set.  Chain them with ||, so that after a
 * failure no further value is made. */
int json_set(struct json_object *obj, const char *key, struct json_object *val);
int json_set_null(struct json_object *obj, const char *key);
int json_append(struct json_object *arr, struct json_object *val);

/* Serialises root compactly (no slash escaping) into a malloc'd string and
 * puts root.  Returns NULL if root is NULL, memory ran out or the tree holds
 * a double.  The text is json-c's, written by our own code: json-c's
 * serialiser leaves pieces out silently when memory runs out. */
char *json_render(struct json_object *root, size_t *len_r);

/* {"errors":[{"code":code,"status":status,"detail":detail}]}; code may be
 * NULL (no "code" member).  Returns a malloc'd string or NULL. */
char *jsonapi_error_body(int status, const char *code, const char *detail,
    size_t *len_r);

/* The token document of the login and refresh endpoints:
 * {"data":{"type":type,"id":null,"attributes":{"tokenType":"Bearer",
 * "expiresIn":n,"accessToken":a,"refreshToken":r},"links":{"self":self}}}
 * The two tokens (base64url and '.', else NULL) never pass through json-c:
 * they are copied into the rendered document, so that no library buffer
 * keeps them.  Returns a malloc'd string (the caller wipes and frees it)
 * or NULL. */
char *jsonapi_token_body(const char *type, long expires_in, const char *access_token,
    const char *refresh_token, const char *self, size_t *len_r);

#endif
