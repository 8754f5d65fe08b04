/* jsonapi: JSON:API documents: a resource read from a body, the error
 * document and the token document. */
#include "jsonapi.h"

#include <stdlib.h>
#include <string.h>

enum jsonapi_status
jsonapi_parse_resource(const char *body, size_t len, const char *type,
    struct json_object **root_r, struct json_object **attributes_r)
{
	struct json_object *root, *data, *t, *attrs;
	enum jsonapi_status st = JSONAPI_INVALID;

	*root_r = NULL;
	*attributes_r = NULL;
	root = strict_parse(body, len);
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

char *
jsonapi_error_body(int status, const char *code, const char *detail, size_t *len_r)
{
	struct json_object *root = json_object_new_object(), *errors, *err;

	/* each container is attached first, so that putting root frees all */
	if (jx_set(root, "errors", errors = json_object_new_array()) < 0 ||
	    jx_append(errors, err = json_object_new_object()) < 0 ||
	    (code != NULL && jx_set(err, "code", json_object_new_string(code)) < 0) ||
	    jx_set(err, "status", json_object_new_int(status)) < 0 ||
	    jx_set(err, "detail", json_object_new_string(detail)) < 0) {
		json_object_put(root);
		return NULL;
	}
	return jx_render(root, len_r);
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
	    jx_set(root, "data", data = json_object_new_object()) < 0 ||
	    jx_set(data, "type", json_object_new_string(type)) < 0 ||
	    jx_set_null(data, "id") < 0 ||
	    jx_set(data, "attributes", attrs = json_object_new_object()) < 0 ||
	    jx_set(attrs, "tokenType", json_object_new_string("Bearer")) < 0 ||
	    jx_set(attrs, "expiresIn", json_object_new_int64(expires_in)) < 0 ||
	    jx_set(attrs, "accessToken", json_object_new_string("")) < 0 ||
	    jx_set(attrs, "refreshToken", json_object_new_string("")) < 0 ||
	    jx_set(data, "links", links = json_object_new_object()) < 0 ||
	    jx_set(links, "self", json_object_new_string(self)) < 0) {
		json_object_put(root);
		return NULL;
	}
	/* the skeleton has the tokens empty: ..."accessToken":"","refreshToken":""...
	 * (the first such text: type is ours, and a quote inside self is escaped) */
	skel = jx_render(root, &slen);
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
