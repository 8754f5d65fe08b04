/* strict: JSON text held to RFC 8259 before json-c parses it.
 *
 * json-c alone is lenient (duplicate keys, overlong UTF-8, lone surrogate
 * escapes, trailing garbage, NaN, "-01"); strict_parse() runs our own
 * validator over the raw text first and closes those gaps. */
#ifndef AGENTAUTH_STRICT_H
#define AGENTAUTH_STRICT_H

#include <stddef.h>

#include <json-c/json.h>

/* At most this many nested objects and arrays. */
#define STRICT_MAX_DEPTH 8

/* Returns 1 if s[0..len) is well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF), else 0. */
int utf8_valid(const char *s, size_t len);

/* Parses text[0..len) as one JSON value under the rules in doc/api.md:
 * RFC 8259 syntax only, valid UTF-8, no NUL byte, no duplicate member names,
 * no lone surrogate escapes, nesting at most STRICT_MAX_DEPTH.  text[len]
 * must be '\0'.  Returns a new reference (caller puts it, with
 * jx_put_wiped when it came from a request body) or NULL: for text it
 * cannot parse and for memory it cannot get alike.  json-c's parse buffer
 * is wiped. */
struct json_object *strict_parse(const char *text, size_t len);

#endif
