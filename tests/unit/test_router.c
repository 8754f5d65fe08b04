/* Unit tests for src/router.c: mount point resolution and the checks that
 * answer before a handler touches the database. */
#include <stdlib.h>
#include <string.h>

#include "exchange.h"
#include "router.h"
#include "suites.h"

/* ---- router_resolve ---- */

struct resolve_case {
	const char *script_name;
	const char *path_info;
	const char *document_uri;
	const char *mount;
	const char *path;
};

static const struct resolve_case resolve_cases[] = {
	/* Apache, nginx with fastcgi_split_path_info */
	{ "/auth", "/agent-access-tokens", NULL, "/auth", "agent-access-tokens" },
	{ "/auth/", "/agent-access-tokens", NULL, "/auth", "agent-access-tokens" },
	{ "/shop/auth", "/agent-access-tokens/abc", NULL, "/shop/auth", "agent-access-tokens/abc" },
	{ "", "/agent-access-tokens", NULL, "", "agent-access-tokens" },
	{ NULL, "/agent-access-tokens", NULL, "", "agent-access-tokens" },
	{ "/", "/agent-access-tokens", NULL, "", "agent-access-tokens" },
	{ "/auth", "//agent-access-tokens", NULL, "/auth", "agent-access-tokens" },
	{ "/auth", "/nope", NULL, "/auth", "nope" },
	{ "/auth", "/", NULL, "/auth", "" },
	/* nginx: everything in SCRIPT_NAME */
	{ "/auth/agent-access-tokens", NULL, NULL, "/auth", "agent-access-tokens" },
	{ "/auth/agent-access-tokens", "", NULL, "/auth", "agent-access-tokens" },
	{ "/agent-access-tokens", NULL, NULL, "", "agent-access-tokens" },
	{ "/a/b/agent-access-tokens/xyz", NULL, NULL, "/a/b", "agent-access-tokens/xyz" },
	{ "/auth/agent-access-tokens/", NULL, NULL, "/auth", "agent-access-tokens/" },
	/* a resource name must match a whole segment */
	{ "/auth/agent-access-tokensx", NULL, NULL, "/auth/agent-access-tokensx", "" },
	{ "/xagent-access-tokens", NULL, NULL, "/xagent-access-tokens", "" },
	/* no known resource: the whole path is the mount point */
	{ "/auth", NULL, NULL, "/auth", "" },
	{ "/auth/", NULL, NULL, "/auth", "" },
	{ "/auth/unknown", NULL, NULL, "/auth/unknown", "" },
	/* nginx with only DOCUMENT_URI */
	{ NULL, NULL, "/auth/agent-access-tokens", "/auth", "agent-access-tokens" },
	{ "", NULL, "/agent-access-tokens", "", "agent-access-tokens" },
	{ NULL, NULL, NULL, "", "" },
};

START_TEST(test_resolve)
{
	const struct resolve_case *c = &resolve_cases[_i];
	struct request req;
	const char *mount = NULL, *path = NULL;
	size_t mount_len = 999;

	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.query = "";
	req.script_name = c->script_name;
	req.path_info = c->path_info;
	req.document_uri = c->document_uri;
	router_resolve(&req, &mount, &mount_len, &path);
	ck_assert_ptr_nonnull(mount);
	ck_assert_ptr_nonnull(path);
	ck_assert_msg(mount_len == strlen(c->mount) && strncmp(mount, c->mount, mount_len) == 0,
	    "SCRIPT_NAME=%s PATH_INFO=%s: mount \"%.*s\", want \"%s\"",
	    c->script_name ? c->script_name : "(null)", c->path_info ? c->path_info : "(null)",
	    (int)mount_len, mount, c->mount);
	ck_assert_msg(strcmp(path, c->path) == 0, "SCRIPT_NAME=%s PATH_INFO=%s: path \"%s\", want \"%s\"",
	    c->script_name ? c->script_name : "(null)", c->path_info ? c->path_info : "(null)",
	    path, c->path);
}
END_TEST

/* ---- router_dispatch ---- */

#define NOSNIFF "X-Content-Type-Options: nosniff\r\n"

static struct app app;

static void
app_setup(void)
{
	memset(&app, 0, sizeof(app));
	config_init(&app.cfg);
	app.db = NULL;  /* none of these paths reaches the database */
}

static void
app_teardown(void)
{
	config_free(&app.cfg);
}

/* Builds a request from params and an optional body, dispatches it and
 * checks the answer: status, media type, exact body, exact extra headers. */
static void
check_dispatch(char *const *params, const char *body, int body_status, int want_status,
    const char *want_body, const char *want_headers)
{
	struct request req;
	struct response res;
	char head[2048];

	request_init(&req, params);
	if (body != NULL) {
		req.body = strdup(body);
		req.body_len = strlen(body);
	}
	req.body_status = body_status;
	response_init(&res);
	router_dispatch(&app, &req, &res);

	ck_assert_int_eq(res.status, want_status);
	ck_assert_ptr_nonnull(res.content_type);
	ck_assert_str_eq(res.content_type, "application/vnd.api+json");
	ck_assert_ptr_nonnull(res.body);
	ck_assert_uint_eq(res.body_len, strlen(want_body));
	ck_assert_mem_eq(res.body, want_body, res.body_len);
	/* every answer ends with a fresh X-Request-Id: 16 hex digits */
	{
		size_t n = strlen(res.headers), idlen = strlen("X-Request-Id: ") + 16 + 2;
		ck_assert_uint_ge(n, idlen);
		ck_assert_int_eq(strncmp(res.headers + n - idlen, "X-Request-Id: ", 14), 0);
		ck_assert_uint_eq(strspn(res.headers + n - idlen + 14, "0123456789abcdef"), 16);
		ck_assert_str_eq(res.headers + n - 2, "\r\n");
		ck_assert_int_eq((int)(n - idlen), (int)strlen(want_headers));
		ck_assert_int_eq(strncmp(res.headers, want_headers, n - idlen), 0);
	}
	ck_assert_ptr_nonnull(strstr(res.headers, NOSNIFF));
	ck_assert_int_gt(response_head(&res, head, sizeof(head)), 0);
	ck_assert_ptr_nonnull(strstr(head, "\r\n" NOSNIFF));

	response_free(&res);
	request_free(&req);
}

#define LOGIN_BODY "{\"data\":{\"type\":\"agent-access-tokens\",\"attributes\":" \
	"{\"username\":\"admin@spryker.com\",\"password\":\"change123\"}}}"
#define ERR_404 "{\"errors\":[{\"status\":404,\"detail\":\"Not Found\"}]}"
#define ERR_405 "{\"errors\":[{\"status\":405,\"detail\":\"Method Not Allowed\"}]}"
#define ERR_406 "{\"errors\":[{\"status\":406,\"detail\":\"Not acceptable.\"}]}"
#define ERR_413 "{\"errors\":[{\"status\":413,\"detail\":\"Request body is too large.\"}]}"
#define ERR_415 "{\"errors\":[{\"status\":415,\"detail\":\"Unsupported media type.\"}]}"
#define ERR_INVALID "{\"errors\":[{\"status\":400,\"detail\":\"Post data is invalid.\"}]}"
#define ERR_TYPE "{\"errors\":[{\"status\":400,\"detail\":\"Invalid type.\"}]}"

START_TEST(test_unknown_path)
{
	char *p1[] = { "REQUEST_METHOD=POST", "SCRIPT_NAME=/auth", "PATH_INFO=/nope",
		"CONTENT_TYPE=application/vnd.api+json", NULL };
	char *p2[] = { "REQUEST_METHOD=GET", "SCRIPT_NAME=/auth", "PATH_INFO=/", NULL };
	char *p3[] = { "REQUEST_METHOD=POST", "SCRIPT_NAME=/auth", NULL };
	char *p4[] = { "REQUEST_METHOD=POST", "SCRIPT_NAME=/auth",
		"PATH_INFO=/agent-access-tokens/a/b", NULL };
	char *p5[] = { "REQUEST_METHOD=POST", "SCRIPT_NAME=/auth",
		"PATH_INFO=/agent-access-tokensx", NULL };

	check_dispatch(p1, LOGIN_BODY, 0, 404, ERR_404, NOSNIFF);
	check_dispatch(p2, NULL, 0, 404, ERR_404, NOSNIFF);
	check_dispatch(p3, LOGIN_BODY, 0, 404, ERR_404, NOSNIFF);
	check_dispatch(p4, LOGIN_BODY, 0, 404, ERR_404, NOSNIFF);
	check_dispatch(p5, LOGIN_BODY, 0, 404, ERR_404, NOSNIFF);
}
END_TEST

START_TEST(test_post_with_id)
{
	char *p1[] = { "REQUEST_METHOD=POST", "SCRIPT_NAME=/auth",
		"PATH_INFO=/agent-access-tokens/x", "CONTENT_TYPE=application/vnd.api+json", NULL };
	char *p2[] = { "REQUEST_METHOD=POST", "SCRIPT_NAME=/auth/agent-access-tokens/123", NULL };

	check_dispatch(p1, LOGIN_BODY, 0, 404, ERR_404, NOSNIFF);
	check_dispatch(p2, LOGIN_BODY, 0, 404, ERR_404, NOSNIFF);
}
END_TEST

START_TEST(test_wrong_method)
{
	static const char *const methods[] = { "GET", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS" };
	char method[64];
	char *params[] = { method, "SCRIPT_NAME=/auth", "PATH_INFO=/agent-access-tokens", NULL };
	char *noparam[] = { "SCRIPT_NAME=/auth/agent-access-tokens", NULL };  /* GET */
	char *withid[] = { "REQUEST_METHOD=GET", "SCRIPT_NAME=/auth",
		"PATH_INFO=/agent-access-tokens/x", NULL };

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		strcpy(method, "REQUEST_METHOD=");
		strcat(method, methods[i]);
		check_dispatch(params, NULL, 0, 405, ERR_405, "Allow: POST\r\n" NOSNIFF);
	}
	check_dispatch(noparam, NULL, 0, 405, ERR_405, "Allow: POST\r\n" NOSNIFF);
	check_dispatch(withid, NULL, 0, 405, ERR_405, "Allow: POST\r\n" NOSNIFF);
}
END_TEST

START_TEST(test_method_is_case_sensitive)
{
	char *params[] = { "REQUEST_METHOD=post", "SCRIPT_NAME=/auth",
		"PATH_INFO=/agent-access-tokens", NULL };

	check_dispatch(params, LOGIN_BODY, 0, 405, ERR_405, "Allow: POST\r\n" NOSNIFF);
}
END_TEST

START_TEST(test_not_acceptable)
{
	char *p1[] = { "REQUEST_METHOD=POST", "SCRIPT_NAME=/auth", "PATH_INFO=/agent-access-tokens",
		"CONTENT_TYPE=application/vnd.api+json", "HTTP_ACCEPT=text/html", NULL };
	char *p2[] = { "REQUEST_METHOD=POST", "SCRIPT_NAME=/auth/agent-access-tokens",
		"HTTP_ACCEPT=application/vnd.api+json; ext=\"https://jsonapi.org/ext/atomic\"", NULL };

	check_dispatch(p1, LOGIN_BODY, 0, 406, ERR_406, NOSNIFF);
	check_dispatch(p2, LOGIN_BODY, 0, 406, ERR_406, NOSNIFF);
}
END_TEST

START_TEST(test_body_too_large)
{
	char *params[] = { "REQUEST_METHOD=POST", "SCRIPT_NAME=/auth",
		"PATH_INFO=/agent-access-tokens", "CONTENT_TYPE=text/plain", NULL };

	/* 413 wins over the media type */
	check_dispatch(params, NULL, 413, 413, ERR_413, NOSNIFF);
}
END_TEST

START_TEST(test_body_length_mismatch)
{
	char *params[] = { "REQUEST_METHOD=POST", "SCRIPT_NAME=/auth",
		"PATH_INFO=/agent-access-tokens", "CONTENT_TYPE=application/vnd.api+json",
		"CONTENT_LENGTH=500", NULL };

	/* a well-formed body does not help when the length was wrong */
	check_dispatch(params, LOGIN_BODY, 400, 400, ERR_INVALID, NOSNIFF);
}
END_TEST

START_TEST(test_body_status_from_http)
{
	char *params[] = { "REQUEST_METHOD=POST", "SCRIPT_NAME=/auth",
		"PATH_INFO=/agent-access-tokens", "CONTENT_TYPE=application/vnd.api+json",
		"CONTENT_LENGTH=+5", NULL };
	struct request req;

	request_init(&req, params);
	check_dispatch(params, "{}   ", http_body_status(req.content_length, 5, 16384), 400,
	    ERR_INVALID, NOSNIFF);
}
END_TEST

START_TEST(test_body_unreadable)
{
	char *params[] = { "REQUEST_METHOD=POST", "SCRIPT_NAME=/auth",
		"PATH_INFO=/agent-access-tokens", "CONTENT_TYPE=application/vnd.api+json", NULL };

	check_dispatch(params, NULL, 503, 503,
	    "{\"errors\":[{\"status\":503,\"detail\":\"Service temporarily unavailable.\"}]}",
	    NOSNIFF "Retry-After: 5\r\n");
}
END_TEST

START_TEST(test_unsupported_media_type)
{
	static const char *const types[] = {
		"CONTENT_TYPE=text/plain",
		"CONTENT_TYPE=text/html; charset=utf-8",
		"CONTENT_TYPE=application/x-www-form-urlencoded",
		"CONTENT_TYPE=application/json; charset=latin1",
		"CONTENT_TYPE=multipart/form-data; boundary=x",
	};
	char ct[128];
	char *params[] = { "REQUEST_METHOD=POST", "SCRIPT_NAME=/auth",
		"PATH_INFO=/agent-access-tokens", ct, NULL };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		strcpy(ct, types[i]);
		check_dispatch(params, LOGIN_BODY, 0, 415, ERR_415, NOSNIFF);
	}
}
END_TEST

START_TEST(test_malformed_json)
{
	static const char *const bodies[] = {
		"{",
		"",
		"not json",
		"{\"data\":{\"type\":\"agent-access-tokens\",\"attributes\":{}}} trailing",
		("{\"data\":{\"type\":\"agent-access-tokens\",\"attributes\":"
		    "{\"username\":\"a\",\"username\":\"b\",\"password\":\"x\"}}}"),
		"[]",
		"5",
		"{}",
		"{\"data\":[]}",
		"{\"data\":{\"type\":\"agent-access-tokens\"}}",
		"{\"data\":{\"type\":\"agent-access-tokens\",\"attributes\":null}}",
		"{\"data\":{\"type\":\"agent-access-tokens\",\"attributes\":{\"u\":\"\xff\"}}}",
	};
	char *params[] = { "REQUEST_METHOD=POST", "SCRIPT_NAME=/auth",
		"PATH_INFO=/agent-access-tokens", "CONTENT_TYPE=application/vnd.api+json", NULL };
	char *absent[] = { "REQUEST_METHOD=POST", "SCRIPT_NAME=/auth/agent-access-tokens", NULL };
	char *empty[] = { "REQUEST_METHOD=POST", "SCRIPT_NAME=/auth/agent-access-tokens",
		"CONTENT_TYPE=", NULL };

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		check_dispatch(params, bodies[i], 0, 400, ERR_INVALID, NOSNIFF);
	/* no body at all, Content-Type absent */
	check_dispatch(absent, NULL, 0, 400, ERR_INVALID, NOSNIFF);
	/* an empty CONTENT_TYPE is an absent one: the body is parsed */
	check_dispatch(empty, "{\"data\":1}", 0, 400, ERR_INVALID, NOSNIFF);
	check_dispatch(empty, "{\"data\":{\"type\":\"x\",\"attributes\":{}}}", 0, 400,
	    ERR_TYPE, NOSNIFF);
}
END_TEST

START_TEST(test_wrong_type)
{
	static const char *const bodies[] = {
		("{\"data\":{\"type\":\"customers\",\"attributes\":{\"username\":\"a\","
		    "\"password\":\"b\"}}}"),
		"{\"data\":{\"type\":\"agent-access-token\",\"attributes\":{}}}",
		"{\"data\":{\"type\":\"refresh-tokens\",\"attributes\":{}}}",
		"{\"data\":{\"type\":5,\"attributes\":{}}}",
	};
	char *params[] = { "REQUEST_METHOD=POST", "SCRIPT_NAME=/auth",
		"PATH_INFO=/agent-access-tokens", "CONTENT_TYPE=application/json; charset=utf-8",
		"HTTP_ACCEPT=application/vnd.api+json", NULL };

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		check_dispatch(params, bodies[i], 0, 400, ERR_TYPE, NOSNIFF);
}
END_TEST

START_TEST(test_check_order)
{
	/* 404 before 405 before 406 before 413/400 before 415 */
	char *p404[] = { "REQUEST_METHOD=GET", "SCRIPT_NAME=/auth", "PATH_INFO=/x",
		"HTTP_ACCEPT=text/html", "CONTENT_TYPE=text/plain", NULL };
	char *p405[] = { "REQUEST_METHOD=GET", "SCRIPT_NAME=/auth", "PATH_INFO=/agent-access-tokens",
		"HTTP_ACCEPT=text/html", "CONTENT_TYPE=text/plain", NULL };
	char *p406[] = { "REQUEST_METHOD=POST", "SCRIPT_NAME=/auth", "PATH_INFO=/agent-access-tokens",
		"HTTP_ACCEPT=text/html", "CONTENT_TYPE=text/plain", NULL };
	char *p400[] = { "REQUEST_METHOD=POST", "SCRIPT_NAME=/auth", "PATH_INFO=/agent-access-tokens",
		"CONTENT_TYPE=text/plain", NULL };

	check_dispatch(p404, "x", 413, 404, ERR_404, NOSNIFF);
	check_dispatch(p405, "x", 413, 405, ERR_405, "Allow: POST\r\n" NOSNIFF);
	check_dispatch(p406, "x", 413, 406, ERR_406, NOSNIFF);
	check_dispatch(p400, "x", 400, 400, ERR_INVALID, NOSNIFF);
}
END_TEST

START_TEST(test_long_url)
{
	char script[BASE_URL_MAX + 64];
	char *params[] = { "REQUEST_METHOD=POST", script, "PATH_INFO=/agent-access-tokens", NULL };

	strcpy(script, "SCRIPT_NAME=/");
	memset(script + 13, 'a', BASE_URL_MAX);
	script[13 + BASE_URL_MAX] = '\0';
	check_dispatch(params, LOGIN_BODY, 0, 400,
	    "{\"errors\":[{\"status\":400,\"detail\":\"Request URL is too long.\"}]}", NOSNIFF);
}
END_TEST

Suite *
router_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("resolve");

	tcase_add_loop_test(tc, test_resolve, 0,
	    (int)(sizeof(resolve_cases) / sizeof(resolve_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("dispatch");
	tcase_add_checked_fixture(tc, app_setup, app_teardown);
	tcase_add_test(tc, test_unknown_path);
	tcase_add_test(tc, test_post_with_id);
	tcase_add_test(tc, test_wrong_method);
	tcase_add_test(tc, test_method_is_case_sensitive);
	tcase_add_test(tc, test_not_acceptable);
	tcase_add_test(tc, test_body_too_large);
	tcase_add_test(tc, test_body_length_mismatch);
	tcase_add_test(tc, test_body_status_from_http);
	tcase_add_test(tc, test_body_unreadable);
	tcase_add_test(tc, test_unsupported_media_type);
	tcase_add_test(tc, test_malformed_json);
	tcase_add_test(tc, test_wrong_type);
	tcase_add_test(tc, test_check_order);
	tcase_add_test(tc, test_long_url);
	suite_add_tcase(s, tc);
	return s;
}
