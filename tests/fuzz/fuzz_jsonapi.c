/* fuzz_jsonapi: the strict JSON parser and the JSON:API resource reader.
 *
 * The input is a request body as a client sends it.  It goes through
 * strict_parse, and through jsonapi_parse_resource for each resource
 * type an endpoint reads, then the string members the handlers take out
 * of "attributes" go through the same checks and log quoting as in
 * login.c, refresh.c and impersonate.c. */
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "jsonapi.h"
#include "log.h"
#include "login.h"

static const char *const types[] = {
	"agent-access-tokens", "refresh-tokens", "agent-customer-impersonation-access-tokens",
};

static const char *const members[] = {
	"username", "password", "refreshToken", "customerReference", "reason",
};

static void
read_resource(const char *body, size_t len, const char *type)
{
	struct json_object *root, *attrs;
	enum jsonapi_status st;
	char quoted[64];

	st = jsonapi_parse_resource(body, len, type, &root, &attrs);
	if (st != JSONAPI_OK) {
		FUZZ_CHECK(root == NULL && attrs == NULL);
		FUZZ_CHECK(st == JSONAPI_INVALID || st == JSONAPI_BAD_TYPE);
		return;
	}
	FUZZ_CHECK(root != NULL && json_object_is_type(attrs, json_type_object));
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		size_t n = 0;
		const char *v = jx_string_member(attrs, members[i], &n);

		if (v == NULL)
			continue;
		FUZZ_CHECK(strlen(v) <= n);
		(void)login_credential_ok(v, n, USERNAME_MAX_BYTES);
		log_quote(quoted, sizeof(quoted), v, n);
		FUZZ_CHECK(strlen(quoted) < sizeof(quoted));
	}
	jx_put_wiped(root);
}

static int
has_double(struct json_object *o)
{
	if (json_object_is_type(o, json_type_double))
		return 1;
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, val) {
			(void)key;
			if (has_double(val))
				return 1;
		}
	} else if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (has_double(json_object_array_get_idx(o, i)))
				return 1;
	}
	return 0;
}

/* jx_render writes every tree the strict parser builds, except one with
 * a double, as text that the strict parser reads back to the same tree
 * (the same text when rendered again). */
static void
round_trip(struct json_object *o)
{
	int doubles = has_double(o);
	size_t len = 0, len2 = 0;
	char *text, *text2;

	text = jx_render(o, &len);    /* puts o */
	if (text == NULL) {
		FUZZ_CHECK(doubles);
		return;
	}
	FUZZ_CHECK(strlen(text) == len);
	o = strict_parse(text, len);
	FUZZ_CHECK(o != NULL);
	text2 = jx_render(o, &len2);
	FUZZ_CHECK(text2 != NULL && len2 == len && memcmp(text, text2, len) == 0);
	free(text);
	free(text2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* strict_parse wants text[len] == '\0', as the request body has */
	char *body = fuzz_cstr(data, size);
	struct json_object *o;

	o = strict_parse(body, size);
	if (o != NULL) {
		/* accepted text is valid UTF-8 without NUL bytes */
		FUZZ_CHECK(utf8_valid(body, size) && memchr(body, '\0', size) == NULL);
		round_trip(o);
	}
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		read_resource(body, size, types[i]);
	free(body);
	return 0;
}
