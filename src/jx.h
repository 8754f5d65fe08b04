/* jx: json-c trees when memory may run out (doc/STYLE.md "Out of memory"):
 * building them, reading string members, writing them with our own
 * serialiser, and putting them wiped. */
#ifndef AGENTAUTH_JX_H
#define AGENTAUTH_JX_H

#include <stddef.h>

#include <json-c/json.h>

/* jx_set adds val to obj under key and takes ownership of val, which may
 * be NULL: the constructor that made it ran out of memory.  Returns 0, or
 * -1 (val put) if obj or val is NULL or the member cannot be added.
 * jx_set_null adds a JSON null on purpose; jx_append appends val to the
 * array arr like jx_set.  Chain them with ||, so that after a failure no
 * further value is made. */
int jx_set(struct json_object *obj, const char *key, struct json_object *val);
int jx_set_null(struct json_object *obj, const char *key);
int jx_append(struct json_object *arr, struct json_object *val);

/* Serialises root compactly (no slash escaping) into a malloc'd string and
 * puts root.  Returns NULL if root is NULL, memory ran out or the tree holds
 * a double.  The text is json-c's, written by our own code: json-c's
 * serialiser leaves pieces out silently when memory runs out. */
char *jx_render(struct json_object *root, size_t *len_r);

/* Returns the string member name of obj if it is a JSON string, else NULL;
 * *len_r gets its byte length (it may contain NUL).  Borrowed. */
const char *jx_string_member(struct json_object *obj, const char *name, size_t *len_r);

/* Puts root after wiping every string value in the tree (for trees parsed
 * from a request body, which may hold a password or a token). */
void jx_put_wiped(struct json_object *root);

#endif
