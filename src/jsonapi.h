/* jsonapi: JSON:API documents: the single resource of a POST body, the
 * error document and the token document.  Parsing is strict (strict.h),
 * building goes through jx.h. */
#ifndef AGENTAUTH_JSONAPI_H
#define AGENTAUTH_JSONAPI_H

#include <stddef.h>

#include <json-c/json.h>

#include "jx.h"
#include "strict.h"

enum jsonapi_status {
	JSONAPI_OK = 0,
	JSONAPI_INVALID,   /* 400 "Post data is invalid." */
	JSONAPI_BAD_TYPE,  /* 400 "Invalid type." */
};

/* Parses a single-resource document {"data":{"type":type,"attributes":{}}}.
 * On JSONAPI_OK *root_r is a new reference the caller puts and
 * *attributes_r is borrowed from it; otherwise both are NULL. */
enum jsonapi_status jsonapi_parse_resource(const char *body, size_t len,
    const char *type, struct json_object **root_r,
    struct json_object **attributes_r);

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
