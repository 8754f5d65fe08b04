/* Unit tests for src/jsonapi.c: the strict JSON front end, UTF-8
 * validation, resource documents and the documents we render. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonapi.h"
#include "suites.h"

/* A test input with an explicit length (it may hold NUL bytes). */
struct text {
	const char *s;
	size_t len;
};

#define TXT(lit) { lit, sizeof(lit) - 1 }

/* ---- utf8_valid ---- */

static const struct text utf8_good[] = {
	TXT(""),
	TXT("plain ascii"),
	TXT("nul \0 inside"),
	TXT("\x7f"),
	TXT("caf\xc3\xa9"),                 /* U+00E9 */
	TXT("\xc2\x80"),                    /* U+0080, the first 2-byte one */
	TXT("\xdf\xbf"),                    /* U+07FF */
	TXT("\xe0\xa0\x80"),                /* U+0800 */
	TXT("\xe2\x82\xac"),                /* U+20AC euro */
	TXT("\xed\x9f\xbf"),                /* U+D7FF, just below surrogates */
	TXT("\xee\x80\x80"),                /* U+E000, just above */
	TXT("\xef\xbf\xbf"),                /* U+FFFF */
	TXT("\xf0\x90\x80\x80"),            /* U+10000 */
	TXT("\xf0\x9f\x98\x80"),            /* U+1F600 */
	TXT("\xf4\x8f\xbf\xbf"),            /* U+10FFFF, the last one */
	TXT("\xd0\xb0" "dmin@spryker.com"), /* Cyrillic a: valid, if sneaky */
};

static const struct text utf8_bad[] = {
	TXT("\xff"),
	TXT("\xfe\xff"),
	TXT("ab\xff"),
	TXT("\x80"),                        /* lone continuation byte */
	TXT("\xbf"),
	TXT("\xc0\xaf"),                    /* overlong '/' */
	TXT("\xc1\xbf"),                    /* overlong */
	TXT("\xe0\x80\xaf"),                /* overlong 3-byte '/' */
	TXT("\xe0\x9f\xbf"),                /* overlong U+07FF */
	TXT("\xf0\x80\x80\xaf"),            /* overlong 4-byte '/' */
	TXT("\xf0\x8f\xbf\xbf"),            /* overlong U+FFFF */
	TXT("\xed\xa0\x80"),                /* U+D800 encoded */
	TXT("\xed\xbf\xbf"),                /* U+DFFF encoded */
	TXT("\xed\xa0\xbd\xed\xb8\x80"),    /* CESU-8 surrogate pair */
	TXT("\xf4\x90\x80\x80"),            /* U+110000 */
	TXT("\xf5\x80\x80\x80"),
	TXT("\xf8\x88\x80\x80\x80"),        /* 5-byte form */
	TXT("\xc3"),                        /* truncated */
	TXT("caf\xc3"),
	TXT("\xe2\x82"),
	TXT("\xf0\x9f\x98"),
	TXT("\xc3\x28"),                    /* bad continuation */
	TXT("\xe2\x28\xa1"),
	TXT("\xe2\x82\x28"),
	TXT("\xf0\x28\x8c\xbc"),
};

START_TEST(test_utf8_good)
{
	ck_assert_msg(utf8_valid(utf8_good[_i].s, utf8_good[_i].len) == 1,
	    "valid UTF-8 #%d refused", _i);
}
END_TEST

START_TEST(test_utf8_bad)
{
	ck_assert_msg(utf8_valid(utf8_bad[_i].s, utf8_bad[_i].len) == 0,
	    "invalid UTF-8 #%d accepted", _i);
}
END_TEST

START_TEST(test_utf8_respects_len)
{
	/* the bad byte lies beyond len */
	ck_assert_int_eq(utf8_valid("ab\xff", 2), 1);
	/* a sequence cut by len */
	ck_assert_int_eq(utf8_valid("\xe2\x82\xac", 2), 0);
}
END_TEST

/* ---- strict_parse ---- */

static const struct text json_good[] = {
	TXT("{}"),
	TXT("[]"),
	TXT("{\"data\":{\"type\":\"agent-access-tokens\",\"attributes\":"
	    "{\"username\":\"admin@spryker.com\",\"password\":\"change123\"}}}"),
	TXT(" \t\r\n{ \"a\" : [ 1 , 2.5 , -3e2 , true , false , null ] } \t\r\n"),
	TXT("{\"a\":1}\n"),
	TXT("{\"a\":1}   "),
	TXT("\"\\ud83d\\ude00\""),          /* a valid surrogate pair escape */
	TXT("\"\\uD83D\\uDE00\""),
	TXT("{\"k\":\"\\ud83d\\ude00\"}"),
	TXT("\"\\\\ud800\""),               /* an escaped backslash, not an escape */
	TXT("\"\\u00e9\\u20ac\""),
	TXT("\"caf\xc3\xa9 \xf0\x9f\x98\x80\""),
	TXT("{\"a\":\"x\",\"A\":\"y\"}"),   /* names differ in case only */
	TXT("[{\"a\":1},{\"a\":1}]"),       /* same name in sibling objects */
	TXT("{\"a\":{\"a\":{\"a\":1}}}"),   /* same name at different levels */
	TXT("{\"a:b\":1,\"{\":\"}\",\"[\":\"]\",\"q\":\"\\\"\"}"), /* syntax in strings */
	TXT("\"x\""),
	TXT("1"),
	TXT("true"),
	TXT("[[[[[[[1]]]]]]]"),             /* 7 levels */
};

static const struct text json_bad[] = {
	TXT(""),                            /* empty input */
	TXT(" "),
	TXT("{"),
	TXT("{\"a\":1}xyz"),                /* trailing garbage */
	TXT("{\"a\":1} x"),
	TXT("{\"a\":1}{\"b\":2}"),          /* a second object */
	TXT("{\"a\":1} {\"b\":2}"),
	TXT("[1]]"),
	TXT("{\"a\":1}/*c*/"),              /* comments */
	TXT("/*c*/{\"a\":1}"),
	TXT("{/*c*/\"a\":1}"),
	TXT("// c\n{\"a\":1}"),
	TXT("{'a':1}"),                     /* single quotes */
	TXT("{\"a\":'x'}"),
	TXT("['x']"),
	TXT("[1,]"),                        /* trailing commas */
	TXT("{\"a\":1,}"),
	TXT("[1,,2]"),
	TXT("True"),
	TXT("{\"a\":True}"),
	TXT("{\"a\":FALSE}"),
	TXT("{\"a\":Null}"),
	TXT("NaN"),
	TXT("{\"a\":NaN}"),
	TXT("[NaN]"),
	TXT("[-NaN]"),
	TXT("[Infinity]"),
	TXT("[-Infinity]"),
	TXT("{a:1}"),                       /* unquoted names */
	TXT("[0x10]"),
	TXT("[01]"),
	TXT("[.5]"),
	TXT("[+1]"),
	TXT("{\"a\":1,\"a\":2}"),           /* duplicate keys, top level */
	TXT("{\"a\":1,\"b\":2,\"a\":1}"),
	TXT("{\"a\":1,\"\\u0061\":2}"),     /* same name, escaped */
	TXT("{\"d\":{\"u\":1,\"u\":2}}"),   /* nested */
	TXT("{\"data\":{\"type\":\"x\",\"attributes\":{\"username\":\"a\",\"username\":\"b\"}}}"),
	TXT("{\"a\":[{\"b\":1,\"b\":2}]}"), /* inside an array */
	TXT("[{},{\"b\":1,\"b\":2}]"),
	TXT("[[[{\"x\":{\"y\":1,\"y\":1}}]]]"),
	TXT("{\"a\":{\"b\":1},\"a\":{\"b\":1}}"),
	TXT("[[[[[[[[[1]]]]]]]]]"),         /* 9 levels */
	TXT("{\"1\":{\"2\":{\"3\":{\"4\":{\"5\":{\"6\":{\"7\":{\"8\":{\"9\":1}}}}}}}}}"),
	TXT("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"),
	TXT("{\"a\":\"x\0\"}"),             /* raw NUL */
	TXT("{\"a\":1}\0"),
	TXT("\0{}"),
	TXT("{\"a\":\"\xff\"}"),            /* invalid UTF-8 */
	TXT("{\"a\":\"\xfe\xff\"}"),
	TXT("{\"a\":\"\xc0\xaf\"}"),        /* overlong */
	TXT("{\"a\":\"\xed\xa0\x80\"}"),    /* encoded surrogate */
	TXT("{\"\xff\":1}"),
	TXT("\xef\xbb\xbf{}"),              /* a BOM */
	TXT("\"\\ud800\""),                 /* lone surrogate escapes */
	TXT("\"\\udc00\""),
	TXT("\"\\uDBFF\""),
	TXT("\"\\ud800x\""),
	TXT("\"\\ud800\\u0041\""),
	TXT("\"\\udc00\\ud800\""),          /* pair in the wrong order */
	TXT("\"\\ud800\\ud800\""),
	TXT("{\"a\":\"\\ud800\"}"),
	TXT("{\"\\udc00\":1}"),
	TXT("\"\\u12\""),                   /* short escape */
	TXT("\"\\x41\""),
	TXT("\"abc"),                       /* unterminated string */
};

/* Outside RFC 8259's grammar too ("RFC 8259 syntax only", strict.h), but
 * less obvious than the cases above: number forms and raw control
 * characters in strings (RFC 8259 section 7: they must be escaped). */
static const struct text json_not_rfc8259[] = {
	TXT("[-01]"),
	TXT("-01"),
	TXT("[00]"),
	TXT("[1.]"),
	TXT("1."),
	TXT("[1.e5]"),
	TXT("[\"a\tb\"]"),
	TXT("[\"a\nb\"]"),
	TXT("[\"\x01\"]"),
	TXT("{\"k\x1f\":1}"),
	TXT("{\"password\":\"pass\rword\"}"),
};

START_TEST(test_json_not_rfc8259)
{
	const struct text *t = &json_not_rfc8259[_i];
	struct json_object *o = strict_parse(t->s, t->len);

	ck_assert_msg(o == NULL, "non-RFC 8259 JSON #%d accepted: %s", _i,
	    o != NULL ? json_object_to_json_string(o) : "");
	json_object_put(o);
}
END_TEST

START_TEST(test_json_good)
{
	struct json_object *o = strict_parse(json_good[_i].s, json_good[_i].len);

	ck_assert_msg(o != NULL, "valid JSON refused: %s", json_good[_i].s);
	json_object_put(o);
}
END_TEST

START_TEST(test_json_bad)
{
	struct json_object *o = strict_parse(json_bad[_i].s, json_bad[_i].len);

	ck_assert_msg(o == NULL, "invalid JSON #%d accepted: %.60s -> %s", _i, json_bad[_i].s,
	    o != NULL ? json_object_to_json_string(o) : "");
	json_object_put(o);
}
END_TEST

START_TEST(test_json_values)
{
	static const char doc[] = "{\"s\":\"\\ud83d\\ude00\",\"n\":-12,\"a\":[true,null]}";
	struct json_object *o = strict_parse(doc, sizeof(doc) - 1), *v;

	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_is_type(o, json_type_object));
	ck_assert_int_eq(json_object_object_length(o), 3);
	ck_assert(json_object_object_get_ex(o, "s", &v));
	ck_assert_str_eq(json_object_get_string(v), "\xf0\x9f\x98\x80");
	ck_assert(json_object_object_get_ex(o, "n", &v));
	ck_assert_int_eq(json_object_get_int64(v), -12);
	ck_assert(json_object_object_get_ex(o, "a", &v));
	ck_assert_uint_eq(json_object_array_length(v), 2);
	json_object_put(o);
}
END_TEST

/* Nesting n levels deep: [[[...1...]]] */
static struct json_object *
nested(int n)
{
	char buf[256];
	int i;

	for (i = 0; i < n; i++)
		buf[i] = '[';
	buf[i] = '1';
	for (i = 0; i < n; i++)
		buf[n + 1 + i] = ']';
	buf[2 * n + 1] = '\0';
	return strict_parse(buf, (size_t)(2 * n + 1));
}

START_TEST(test_json_depth_limit)
{
	struct json_object *o;

	/* "nesting at most STRICT_MAX_DEPTH" (strict.h); "deeper than 8" is
	 * refused (doc/api.md §2.1) */
	o = nested(STRICT_MAX_DEPTH);
	ck_assert_msg(o != NULL, "nesting of exactly STRICT_MAX_DEPTH (%d) refused",
	    STRICT_MAX_DEPTH);
	json_object_put(o);
	o = nested(STRICT_MAX_DEPTH + 1);
	ck_assert_msg(o == NULL, "nesting of STRICT_MAX_DEPTH + 1 accepted");
	o = nested(100);
	ck_assert_ptr_null(o);
}
END_TEST

START_TEST(test_json_depth_limit_objects)
{
	static const char eight[] =
	    "{\"1\":{\"2\":{\"3\":{\"4\":{\"5\":{\"6\":{\"7\":{\"8\":1}}}}}}}}";
	struct json_object *o = strict_parse(eight, sizeof(eight) - 1);

	ck_assert_msg(o != NULL, "8 nested objects refused");
	json_object_put(o);
}
END_TEST

START_TEST(test_json_deep_input_is_fast)
{
	size_t n = 100000;
	char *buf = malloc(2 * n + 1);

	ck_assert_ptr_nonnull(buf);
	memset(buf, '[', n);
	memset(buf + n, ']', n);
	buf[2 * n] = '\0';
	ck_assert_ptr_null(strict_parse(buf, 2 * n));
	memset(buf, '{', 2 * n);
	ck_assert_ptr_null(strict_parse(buf, 2 * n));
	free(buf);
}
END_TEST

START_TEST(test_json_many_keys)
{
	size_t n = 20000, cap = n * 12 + 16, o = 0;
	char *buf = malloc(cap);
	struct json_object *obj;

	ck_assert_ptr_nonnull(buf);
	buf[o++] = '{';
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%s\"k%zu\":1", i ? "," : "", i);
	buf[o++] = '}';
	buf[o] = '\0';
	obj = strict_parse(buf, o);
	ck_assert_ptr_nonnull(obj);
	ck_assert_int_eq(json_object_object_length(obj), (int)n);
	json_object_put(obj);
	/* the same with one duplicate at the very end */
	o--;
	o += (size_t)snprintf(buf + o, cap - o, ",\"k0\":2}");
	ck_assert_ptr_null(strict_parse(buf, o));
	free(buf);
}
END_TEST

/* ---- jsonapi_parse_resource ---- */

#define TYPE "agent-access-tokens"

static enum jsonapi_status
parse(const char *body, struct json_object **root_r, struct json_object **attrs_r)
{
	return jsonapi_parse_resource(body, strlen(body), TYPE, root_r, attrs_r);
}

START_TEST(test_resource_ok)
{
	static const char body[] = "{\"data\":{\"type\":\"agent-access-tokens\",\"attributes\":"
	    "{\"username\":\"admin@spryker.com\",\"password\":\"change123\"}}}";
	struct json_object *root = (void *)1, *attrs = (void *)1;
	const char *s;
	size_t len = 0;

	ck_assert_int_eq(parse(body, &root, &attrs), JSONAPI_OK);
	ck_assert_ptr_nonnull(root);
	ck_assert_ptr_nonnull(attrs);
	ck_assert(json_object_is_type(attrs, json_type_object));
	s = jx_string_member(attrs, "username", &len);
	ck_assert_str_eq(s, "admin@spryker.com");
	ck_assert_uint_eq(len, 17);
	s = jx_string_member(attrs, "password", &len);
	ck_assert_str_eq(s, "change123");
	ck_assert_uint_eq(len, 9);
	json_object_put(root);
}
END_TEST

START_TEST(test_resource_extra_members)
{
	/* an id, meta and unknown members do not matter */
	static const char body[] = "{\"data\":{\"id\":\"x\",\"type\":\"agent-access-tokens\","
	    "\"attributes\":{},\"meta\":{}},\"jsonapi\":{\"version\":\"1.1\"}}";
	struct json_object *root, *attrs;

	ck_assert_int_eq(parse(body, &root, &attrs), JSONAPI_OK);
	ck_assert_int_eq(json_object_object_length(attrs), 0);
	json_object_put(root);
}
END_TEST

struct resource_case {
	const char *body;
	enum jsonapi_status want;
};

static const struct resource_case resource_cases[] = {
	{ "", JSONAPI_INVALID },
	{ "not json", JSONAPI_INVALID },
	{ "5", JSONAPI_INVALID },                                      /* scalar body */
	{ "\"agent-access-tokens\"", JSONAPI_INVALID },
	{ "true", JSONAPI_INVALID },
	{ "null", JSONAPI_INVALID },
	{ "[]", JSONAPI_INVALID },                                     /* array body */
	{ "[{\"data\":{\"type\":\"agent-access-tokens\",\"attributes\":{}}}]", JSONAPI_INVALID },
	{ "{}", JSONAPI_INVALID },                                     /* missing data */
	{ "{\"type\":\"agent-access-tokens\",\"attributes\":{}}", JSONAPI_INVALID },
	{ "{\"data\":null}", JSONAPI_INVALID },                        /* data not object */
	{ "{\"data\":[]}", JSONAPI_INVALID },
	{ "{\"data\":[{\"type\":\"agent-access-tokens\",\"attributes\":{}}]}", JSONAPI_INVALID },
	{ "{\"data\":\"agent-access-tokens\"}", JSONAPI_INVALID },
	{ "{\"data\":{\"attributes\":{}}}", JSONAPI_INVALID },        /* missing type */
	{ "{\"data\":{}}", JSONAPI_INVALID },
	{ "{\"data\":{\"type\":\"agent-access-token\",\"attributes\":{}}}", JSONAPI_BAD_TYPE },
	{ "{\"data\":{\"type\":\"customers\",\"attributes\":{}}}", JSONAPI_BAD_TYPE },
	{ "{\"data\":{\"type\":\"Agent-Access-Tokens\",\"attributes\":{}}}", JSONAPI_BAD_TYPE },
	{ "{\"data\":{\"type\":\"agent-access-tokens \",\"attributes\":{}}}", JSONAPI_BAD_TYPE },
	{ "{\"data\":{\"type\":\"\",\"attributes\":{}}}", JSONAPI_BAD_TYPE },
	{ "{\"data\":{\"type\":\"agent-access-tokens\\u0000x\",\"attributes\":{}}}", JSONAPI_BAD_TYPE },
	{ "{\"data\":{\"type\":5,\"attributes\":{}}}", JSONAPI_BAD_TYPE }, /* non-string type */
	{ "{\"data\":{\"type\":[\"agent-access-tokens\"],\"attributes\":{}}}", JSONAPI_BAD_TYPE },
	{ "{\"data\":{\"type\":{},\"attributes\":{}}}", JSONAPI_BAD_TYPE },
	{ "{\"data\":{\"type\":true,\"attributes\":{}}}", JSONAPI_BAD_TYPE },
	{ "{\"data\":{\"type\":\"customers\"}}", JSONAPI_BAD_TYPE },
	{ "{\"data\":{\"type\":\"agent-access-tokens\"}}", JSONAPI_INVALID }, /* attributes */
	{ "{\"data\":{\"type\":\"agent-access-tokens\",\"attributes\":null}}", JSONAPI_INVALID },
	{ "{\"data\":{\"type\":\"agent-access-tokens\",\"attributes\":[]}}", JSONAPI_INVALID },
	{ "{\"data\":{\"type\":\"agent-access-tokens\",\"attributes\":\"x\"}}", JSONAPI_INVALID },
	{ "{\"data\":{\"type\":\"agent-access-tokens\",\"attributes\":1}}", JSONAPI_INVALID },
	{ "{\"data\":{\"type\":\"agent-access-tokens\",\"attributes\":{}}} x", JSONAPI_INVALID },
	{ "{\"data\":{\"type\":\"agent-access-tokens\",\"type\":\"agent-access-tokens\","
	  "\"attributes\":{}}}", JSONAPI_INVALID },
	{ "{\"data\":{\"type\":\"customers\",\"type\":\"agent-access-tokens\","
	  "\"attributes\":{}}}", JSONAPI_INVALID },
	{ "{\"data\":{\"type\":\"agent-access-tokens\",\"attributes\":"
	  "{\"password\":\"a\",\"password\":\"b\"}}}", JSONAPI_INVALID },
};

START_TEST(test_resource_cases)
{
	const struct resource_case *c = &resource_cases[_i];
	struct json_object *root = (void *)1, *attrs = (void *)1;
	enum jsonapi_status st = parse(c->body, &root, &attrs);

	ck_assert_msg(st == c->want, "%s: got %d, want %d", c->body, st, c->want);
	ck_assert_ptr_null(root);
	ck_assert_ptr_null(attrs);
}
END_TEST

START_TEST(test_string_member)
{
	static const char doc[] = "{\"nul\":\"ab\\u0000cd\",\"num\":5,\"nil\":null,\"e\":\"\"}";
	struct json_object *o = strict_parse(doc, sizeof(doc) - 1);
	size_t len = 99;
	const char *s;

	ck_assert_ptr_nonnull(o);
	s = jx_string_member(o, "nul", &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(s, "ab\0cd", 5);
	len = 99;
	ck_assert_ptr_null(jx_string_member(o, "num", &len));
	ck_assert_ptr_null(jx_string_member(o, "nil", &len));
	ck_assert_ptr_null(jx_string_member(o, "missing", &len));
	ck_assert_uint_eq(len, 99);
	s = jx_string_member(o, "e", &len);
	ck_assert_str_eq(s, "");
	ck_assert_uint_eq(len, 0);
	json_object_put(o);
}
END_TEST

/* ---- rendered documents ---- */

START_TEST(test_error_body_with_code)
{
	static const char want[] =
	    "{\"errors\":[{\"code\":\"4101\",\"status\":401,"
	    "\"detail\":\"Failed to authenticate an agent.\"}]}";
	size_t len = 0;
	char *body = jsonapi_error_body(401, "4101", "Failed to authenticate an agent.", &len);

	ck_assert_ptr_nonnull(body);
	ck_assert_str_eq(body, want);
	ck_assert_uint_eq(len, sizeof(want) - 1);
	free(body);
}
END_TEST

START_TEST(test_error_body_without_code)
{
	static const char want[] = "{\"errors\":[{\"status\":404,\"detail\":\"Not Found\"}]}";
	static const char want2[] =
	    "{\"errors\":[{\"code\":\"4401\",\"status\":429,\"detail\":\"Too many log in "
	    "attempts from your address. Please wait 6 minutes before trying again.\"}]}";
	size_t len = 0;
	char *body = jsonapi_error_body(404, NULL, "Not Found", &len);

	ck_assert_ptr_nonnull(body);
	ck_assert_str_eq(body, want);
	ck_assert_uint_eq(len, sizeof(want) - 1);
	free(body);

	body = jsonapi_error_body(429, "4401", "Too many log in attempts from your address. "
	    "Please wait 6 minutes before trying again.", &len);
	ck_assert_str_eq(body, want2);
	ck_assert_uint_eq(len, sizeof(want2) - 1);
	free(body);
}
END_TEST

START_TEST(test_error_body_escaping)
{
	/* slashes stay as they are; quotes and controls are escaped */
	size_t len = 0;
	char *body = jsonapi_error_body(400, NULL, "a/b \"c\"\n", &len);

	ck_assert_str_eq(body, "{\"errors\":[{\"status\":400,\"detail\":\"a/b \\\"c\\\"\\n\"}]}");
	ck_assert_uint_eq(len, strlen(body));
	free(body);
}
END_TEST

START_TEST(test_token_body)
{
	static const char want[] =
	    "{\"data\":{\"type\":\"agent-access-tokens\",\"id\":null,\"attributes\":"
	    "{\"tokenType\":\"Bearer\",\"expiresIn\":28800,\"accessToken\":\"h.p.s\","
	    "\"refreshToken\":\"r-_0\"},\"links\":"
	    "{\"self\":\"https://shop.example/auth/agent-access-tokens?a=1&b=%20\"}}}";
	size_t len = 0;
	char *body = jsonapi_token_body("agent-access-tokens", 28800, "h.p.s", "r-_0",
	    "https://shop.example/auth/agent-access-tokens?a=1&b=%20", &len);

	ck_assert_ptr_nonnull(body);
	ck_assert_str_eq(body, want);
	ck_assert_uint_eq(len, sizeof(want) - 1);
	free(body);
}
END_TEST

START_TEST(test_token_body_refresh_type)
{
	static const char want[] =
	    "{\"data\":{\"type\":\"refresh-tokens\",\"id\":null,\"attributes\":"
	    "{\"tokenType\":\"Bearer\",\"expiresIn\":2628000,\"accessToken\":\"a\","
	    "\"refreshToken\":\"b\"},\"links\":{\"self\":\"http://h/refresh-tokens\"}}}";
	char *body = jsonapi_token_body("refresh-tokens", 2628000, "a", "b",
	    "http://h/refresh-tokens", NULL);

	ck_assert_ptr_nonnull(body);
	ck_assert_str_eq(body, want);
	free(body);
}
END_TEST

START_TEST(test_render)
{
	struct json_object *o = json_object_new_object();
	size_t len = 0;
	char *s;

	json_object_object_add(o, "url", json_object_new_string("http://h/x"));
	json_object_object_add(o, "n", json_object_new_int(7));
	s = jx_render(o, &len);  /* puts o */
	ck_assert_str_eq(s, "{\"url\":\"http://h/x\",\"n\":7}");
	ck_assert_uint_eq(len, strlen(s));
	free(s);
	ck_assert_ptr_null(jx_render(NULL, &len));
}
END_TEST

Suite *
jsonapi_suite(void)
{
	Suite *s = suite_create("jsonapi");
	TCase *tc = tcase_create("utf8");

	tcase_add_loop_test(tc, test_utf8_good, 0, (int)(sizeof(utf8_good) / sizeof(utf8_good[0])));
	tcase_add_loop_test(tc, test_utf8_bad, 0, (int)(sizeof(utf8_bad) / sizeof(utf8_bad[0])));
	tcase_add_test(tc, test_utf8_respects_len);
	suite_add_tcase(s, tc);

	tc = tcase_create("strict");
	tcase_add_loop_test(tc, test_json_good, 0, (int)(sizeof(json_good) / sizeof(json_good[0])));
	tcase_add_loop_test(tc, test_json_bad, 0, (int)(sizeof(json_bad) / sizeof(json_bad[0])));
	tcase_add_loop_test(tc, test_json_not_rfc8259, 0,
	    (int)(sizeof(json_not_rfc8259) / sizeof(json_not_rfc8259[0])));
	tcase_add_test(tc, test_json_values);
	tcase_add_test(tc, test_json_depth_limit);
	tcase_add_test(tc, test_json_depth_limit_objects);
	tcase_add_test(tc, test_json_deep_input_is_fast);
	tcase_add_test(tc, test_json_many_keys);
	suite_add_tcase(s, tc);

	tc = tcase_create("resource");
	tcase_add_test(tc, test_resource_ok);
	tcase_add_test(tc, test_resource_extra_members);
	tcase_add_loop_test(tc, test_resource_cases, 0,
	    (int)(sizeof(resource_cases) / sizeof(resource_cases[0])));
	tcase_add_test(tc, test_string_member);
	suite_add_tcase(s, tc);

	tc = tcase_create("render");
	tcase_add_test(tc, test_error_body_with_code);
	tcase_add_test(tc, test_error_body_without_code);
	tcase_add_test(tc, test_error_body_escaping);
	tcase_add_test(tc, test_token_body);
	tcase_add_test(tc, test_token_body_refresh_type);
	tcase_add_test(tc, test_render);
	suite_add_tcase(s, tc);
	return s;
}
