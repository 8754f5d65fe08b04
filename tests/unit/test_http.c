/* Unit tests for src/http.c: body length checks, content negotiation,
 * link bases, client addresses and response framing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "clientip.h"
#include "suites.h"

#define MAX 16384

/* ---- http_param / request_init ---- */

START_TEST(test_request_init)
{
	char *envp[] = {
		"REQUEST_METHOD=POST",
		"SCRIPT_NAME=/auth",
		"PATH_INFO=/agent-access-tokens",
		"QUERY_STRINGX=wrong",
		"CONTENT_TYPE=application/json",
		"CONTENT_LENGTH=12",
		"HTTP_ACCEPT=*/*",
		"HTTP_HOST=shop.example",
		"REMOTE_ADDR=192.0.2.1",
		"HTTP_X_AGENT_AUTHORIZATION=Bearer x",
		NULL,
	};
	char *empty[] = { NULL };
	struct request req;

	request_init(&req, envp);
	ck_assert_str_eq(req.method, "POST");
	ck_assert_str_eq(req.script_name, "/auth");
	ck_assert_str_eq(req.path_info, "/agent-access-tokens");
	ck_assert_str_eq(req.query, "");  /* QUERY_STRINGX is another name */
	ck_assert_str_eq(req.content_type, "application/json");
	ck_assert_str_eq(req.content_length, "12");
	ck_assert_str_eq(req.accept, "*/*");
	ck_assert_str_eq(req.http_host, "shop.example");
	ck_assert_str_eq(req.remote_addr, "192.0.2.1");
	ck_assert_str_eq(req.agent_authorization, "Bearer x");
	ck_assert_ptr_null(req.authorization);
	ck_assert_ptr_null(req.document_uri);
	ck_assert_ptr_null(req.body);
	ck_assert_int_eq(req.body_status, 0);
	request_free(&req);

	request_init(&req, empty);
	ck_assert_str_eq(req.method, "GET");
	ck_assert_str_eq(req.query, "");
	ck_assert_ptr_null(req.content_type);
	ck_assert_ptr_null(req.accept);
	req.body = strdup("secret");
	req.body_len = 6;
	request_free(&req);
	ck_assert_ptr_null(req.body);
	ck_assert_uint_eq(req.body_len, 0);
}
END_TEST

/* ---- X-Forwarded-For values (request_init) ---- */

#define XFF "HTTP_X_FORWARDED_FOR="

/* "HTTP_X_FORWARDED_FOR=" followed by text; caller frees. */
static char *
xff_param(const char *text)
{
	size_t n = strlen(XFF) + strlen(text) + 1;
	char *p = malloc(n);

	ck_assert_ptr_nonnull(p);
	snprintf(p, n, "%s%s", XFF, text);
	return p;
}

/* head, then ",hop" as often as fits, spaces (which end the last hop),
 * then tail: exactly len bytes.  Caller frees. */
static char *
hops_of_length(const char *head, const char *hop, const char *tail, size_t len)
{
	char *p = malloc(len + 1);
	size_t n = strlen(head);

	ck_assert_ptr_nonnull(p);
	memcpy(p, head, n);
	while (n + 1 + strlen(hop) + strlen(tail) <= len) {
		p[n++] = ',';
		memcpy(p + n, hop, strlen(hop));
		n += strlen(hop);
	}
	while (n + strlen(tail) < len)
		p[n++] = ' ';
	memcpy(p + n, tail, strlen(tail) + 1);
	ck_assert_uint_eq(strlen(p), len);
	return p;
}

START_TEST(test_request_forwarded_for_lines)
{
	/* nginx passes each header line as its own param, in order */
	char *envp[] = {
		"REMOTE_ADDR=127.0.0.1",
		XFF "203.0.113.9",
		"HTTP_X_FORWARDED_FORX=no",
		XFF "198.51.100.1, 198.51.100.2",
		"HTTP_X_FORWARDED=no",
		XFF "",
		XFF "2001:db8::1",
		NULL,
	};
	char *none[] = { "REMOTE_ADDR=127.0.0.1", NULL };
	struct request req;

	request_init(&req, envp);
	ck_assert_uint_eq(req.forwarded_for_n, 4);
	ck_assert_ptr_eq(req.forwarded_for[0], envp[1] + strlen(XFF));   /* borrowed */
	ck_assert_str_eq(req.forwarded_for[1], "198.51.100.1, 198.51.100.2");
	ck_assert_str_eq(req.forwarded_for[2], "");
	ck_assert_str_eq(req.forwarded_for[3], "2001:db8::1");
	request_free(&req);
	request_init(&req, none);
	ck_assert_uint_eq(req.forwarded_for_n, 0);
	request_free(&req);
	request_init(&req, NULL);
	ck_assert_uint_eq(req.forwarded_for_n, 0);
	request_free(&req);
}
END_TEST

START_TEST(test_request_forwarded_for_many_lines)
{
	char *envp[REQUEST_FORWARDED_MAX + 6];
	char text[32];
	struct request req;
	size_t n = REQUEST_FORWARDED_MAX + 4;

	/* the last REQUEST_FORWARDED_MAX lines are kept, in order */
	for (size_t i = 0; i < n; i++) {
		snprintf(text, sizeof(text), "192.0.2.%zu", i + 1);
		envp[i] = xff_param(text);
	}
	envp[n] = NULL;
	request_init(&req, envp);
	ck_assert_uint_eq(req.forwarded_for_n, REQUEST_FORWARDED_MAX);
	ck_assert_str_eq(req.forwarded_for[0], "192.0.2.5");
	ck_assert_str_eq(req.forwarded_for[REQUEST_FORWARDED_MAX - 1], "192.0.2.20");
	request_free(&req);
	for (size_t i = 0; i < n; i++)
		free(envp[i]);
}
END_TEST

START_TEST(test_request_forwarded_for_bytes)
{
	char *envp[5], *a, *b, ip[CLIENT_IP_MAX], err[160];
	struct cidr_list trusted;
	struct request req;
	size_t left;

	/* exactly REQUEST_FORWARDED_BYTES in all: everything */
	a = hops_of_length("192.0.2.1", "192.0.2.2", "", REQUEST_FORWARDED_BYTES - 12);
	envp[0] = xff_param(a);
	envp[1] = xff_param("198.51.100.7");
	envp[2] = NULL;
	request_init(&req, envp);
	ck_assert_uint_eq(req.forwarded_for_n, 2);
	ck_assert_ptr_eq(req.forwarded_for[0], envp[0] + strlen(XFF));
	request_free(&req);
	free(envp[0]);
	free(envp[1]);
	free(a);

	/* one byte more: the first value loses its first hop, cut after a ','
	 * (11.2.3.4 cut at the byte limit would have read as 1.2.3.4) */
	a = hops_of_length("11.2.3.4", "10.0.0.2", ",::1", REQUEST_FORWARDED_BYTES + 1);
	envp[0] = xff_param(a);
	envp[1] = NULL;
	request_init(&req, envp);
	ck_assert_uint_eq(req.forwarded_for_n, 1);
	ck_assert_ptr_eq(req.forwarded_for[0], envp[0] + strlen(XFF) + strlen("11.2.3.4,"));
	ck_assert(strncmp(req.forwarded_for[0], "10.0.0.2,", 9) == 0);
	ck_assert_uint_le(strlen(req.forwarded_for[0]), REQUEST_FORWARDED_BYTES);
	/* every hop left is trusted: the client is the left-most of them */
	ck_assert_int_eq(cidr_list_parse(&trusted, "127.0.0.1, 10.0.0.0/8, ::1", err,
	    sizeof(err)), 0);
	client_ip("127.0.0.1", req.forwarded_for, req.forwarded_for_n, &trusted, ip);
	ck_assert_str_eq(ip, "10.0.0.2");
	request_free(&req);
	free(envp[0]);
	free(a);

	/* the values at the right are whole; the one over the limit keeps the
	 * whole hops of what is left; the ones before it are dropped */
	a = hops_of_length("203.0.113.1", "203.0.113.2", "", 4000);
	b = hops_of_length("203.0.113.3", "203.0.113.4", "", 6000);
	envp[0] = xff_param("192.0.2.99");
	envp[1] = xff_param(a);
	envp[2] = xff_param(b);
	envp[3] = xff_param("198.51.100.7, 10.0.0.2");
	envp[4] = NULL;
	request_init(&req, envp);
	ck_assert_uint_eq(req.forwarded_for_n, 3);
	left = REQUEST_FORWARDED_BYTES - 6000 - strlen("198.51.100.7, 10.0.0.2");
	ck_assert_uint_le(strlen(req.forwarded_for[0]), left);
	ck_assert_uint_gt(strlen(req.forwarded_for[0]), left - 13);
	ck_assert_int_eq(req.forwarded_for[0][-1], ',');
	ck_assert(strncmp(req.forwarded_for[0], "203.0.113.2,", 12) == 0);
	ck_assert_ptr_eq(req.forwarded_for[1], envp[2] + strlen(XFF));
	ck_assert_str_eq(req.forwarded_for[2], "198.51.100.7, 10.0.0.2");
	request_free(&req);
	for (int i = 0; i < 4; i++)
		free(envp[i]);
	free(a);
	free(b);

	/* a value with no whole hop inside the limit is dropped */
	a = malloc(REQUEST_FORWARDED_BYTES + 2);
	ck_assert_ptr_nonnull(a);
	memset(a, '1', REQUEST_FORWARDED_BYTES + 1);
	a[REQUEST_FORWARDED_BYTES + 1] = '\0';
	envp[0] = xff_param(a);
	envp[1] = xff_param("198.51.100.7");
	envp[2] = NULL;
	request_init(&req, envp);
	ck_assert_uint_eq(req.forwarded_for_n, 1);
	ck_assert_str_eq(req.forwarded_for[0], "198.51.100.7");
	request_free(&req);
	free(envp[1]);
	envp[1] = NULL;
	request_init(&req, envp);
	ck_assert_uint_eq(req.forwarded_for_n, 0);
	request_free(&req);
	free(envp[0]);
	free(a);

	/* the limit used up exactly by the values at the right: a ',' at the
	 * limit keeps nothing of the value before */
	a = hops_of_length("192.0.2.1", "192.0.2.2", "", REQUEST_FORWARDED_BYTES);
	envp[0] = xff_param("192.0.2.9,");
	envp[1] = xff_param(a);
	envp[2] = NULL;
	request_init(&req, envp);
	ck_assert_uint_eq(req.forwarded_for_n, 1);
	ck_assert_ptr_eq(req.forwarded_for[0], envp[1] + strlen(XFF));
	request_free(&req);
	free(envp[0]);
	free(envp[1]);
	free(a);
}
END_TEST

START_TEST(test_http_param)
{
	char *envp[] = { "HTTP_HOSTNAME=no", "HTTP_HOST=yes", "EMPTY=", NULL };

	ck_assert_str_eq(http_param(envp, "HTTP_HOST"), "yes");
	ck_assert_str_eq(http_param(envp, "EMPTY"), "");
	ck_assert_ptr_null(http_param(envp, "HTTP"));
	ck_assert_ptr_null(http_param(NULL, "HTTP_HOST"));
}
END_TEST

/* ---- http_body_status ---- */

struct body_case {
	const char *content_length;
	size_t received;
	int want;
};

static const struct body_case body_cases[] = {
	{ NULL, 0, 0 },                     /* no body at all */
	{ "", 0, 0 },
	{ "0", 0, 0 },
	{ "5", 5, 0 },
	{ "0005", 5, 0 },
	{ "16384", MAX, 0 },                /* exactly the limit */
	{ NULL, 5, 400 },                   /* a body without CONTENT_LENGTH */
	{ "", 5, 400 },
	{ "5", 4, 400 },                    /* short body */
	{ "5", 6, 400 },                    /* more than declared */
	{ "5", 0, 400 },
	{ "-5", 5, 400 },                   /* negative */
	{ "-0", 0, 400 },
	{ "+5", 5, 400 },
	{ "5 ", 5, 400 },
	{ " 5", 5, 400 },
	{ "5\n", 5, 400 },
	{ "0x5", 5, 400 },
	{ "five", 4, 400 },
	{ "5.0", 5, 400 },
	{ "16385", MAX, 413 },              /* declared over the limit */
	{ "16385", MAX + 1, 413 },
	{ "5", MAX + 1, 413 },              /* more arrived than allowed */
	{ NULL, MAX + 1, 413 },
	{ "99999999999999999999", 10, 413 },
	/* 2^64: would wrap to 0 with unchecked arithmetic */
	{ "18446744073709551616", 0, 413 },
	{ "184467440737095516160", 0, 413 },
	{ "99999999999999999999x", 0, 413 },
};

START_TEST(test_body_status)
{
	const struct body_case *c = &body_cases[_i];
	int got = http_body_status(c->content_length, c->received, MAX);

	ck_assert_msg(got == c->want, "http_body_status(\"%s\", %zu, %d) = %d, want %d",
	    c->content_length ? c->content_length : "(null)", c->received, MAX, got, c->want);
}
END_TEST

/* ---- http_content_type_ok ---- */

static const char *const ct_ok[] = {
	/* Debian's fastcgi_params sends CONTENT_TYPE empty when the header is
	 * absent, so empty is absent (http.h) */
	"",
	"   ",
	"application/json",
	"application/vnd.api+json",
	"APPLICATION/JSON",
	"Application/Vnd.Api+Json",
	"application/json; charset=utf-8",
	"application/json;charset=UTF-8",
	"application/vnd.api+json; charset=utf-8",
	"application/vnd.api+json; CHARSET=\"utf-8\"",
	"  application/json  ",
	"application/json ; charset=utf-8",
};

static const char *const ct_bad[] = {
	"text/plain",
	"text/plain; charset=utf-8",
	"application/x-www-form-urlencoded",
	"multipart/form-data; boundary=xyz",
	"text/json",
	"application/jsonx",
	"application/json+x",
	"application/json, text/plain",
	"application/json; charset=latin1",
	"application/json; charset=iso-8859-1",
	"application/json; charset=utf-16",
	"application/json; charset=utf-8x",
	"application/json; charset=\"utf-8",
	"application/json; foo=bar",
	"application/json; charset=utf-8; foo=bar",
	"application/vnd.api+json; ext=\"https://jsonapi.org/ext/atomic\"",
	"application/vnd.api+json; profile=\"https://example.com/p\"",
	"application/vnd.api+json; charset",
};

START_TEST(test_content_type_absent)
{
	ck_assert_int_eq(http_content_type_ok(NULL), 1);
}
END_TEST

START_TEST(test_content_type_ok)
{
	ck_assert_msg(http_content_type_ok(ct_ok[_i]) == 1, "\"%s\" refused", ct_ok[_i]);
}
END_TEST

START_TEST(test_content_type_bad)
{
	ck_assert_msg(http_content_type_ok(ct_bad[_i]) == 0, "\"%s\" accepted", ct_bad[_i]);
}
END_TEST

/* ---- http_accept_ok ---- */

static const char *const accept_ok[] = {
	"",
	"*/*",
	"application/*",
	"application/json",
	"application/vnd.api+json",
	"APPLICATION/VND.API+JSON",
	"Application/JSON",
	"text/html, application/json",
	"text/html,application/json",
	"text/html , application/vnd.api+json ",
	"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
	"application/json;q=0.5",
	"application/json; q=1",
	"application/vnd.api+json;q=0.9",
	"application/vnd.api+json; ext=\"https://jsonapi.org/ext/atomic\", application/vnd.api+json",
	"*/*;q=0, application/json",
};

static const char *const accept_bad[] = {
	"text/html",
	"text/*",
	"text/plain, text/html",
	"application/xml",
	"image/png,image/*",
	"application/json;q=0",
	"application/json; q=0.0",
	"application/json;q=0.000",
	"*/*;q=0",
	"application/vnd.api+json; ext=\"https://jsonapi.org/ext/atomic\"",
	"application/vnd.api+json;ext=x",
	"application/vnd.api+json; profile=\"https://example.com/p\"",
	"application/vnd.api+json; charset=utf-8",
	"application/vnd.api+json; ext=x, text/html",
	"application/jsonx",
};

START_TEST(test_accept_absent)
{
	ck_assert_int_eq(http_accept_ok(NULL), 1);
}
END_TEST

START_TEST(test_accept_ok)
{
	ck_assert_msg(http_accept_ok(accept_ok[_i]) == 1, "\"%s\" refused", accept_ok[_i]);
}
END_TEST

START_TEST(test_accept_bad)
{
	ck_assert_msg(http_accept_ok(accept_bad[_i]) == 0, "\"%s\" accepted", accept_bad[_i]);
}
END_TEST

START_TEST(test_accept_long_list)
{
	char accept[4096] = "";

	/* many ranges, the good one last; and one over-long range */
	for (int i = 0; i < 100; i++)
		strcat(accept, "text/html;q=0.9, ");
	strcat(accept, "application/json");
	ck_assert_int_eq(http_accept_ok(accept), 1);

	memset(accept, 0, sizeof(accept));
	strcpy(accept, "application/json;");
	memset(accept + strlen(accept), 'x', 400);
	ck_assert_int_eq(http_accept_ok(accept), 0);
}
END_TEST

/* ---- http_base_url ---- */

static void
req_for_url(struct request *req, const char *https, const char *scheme,
    const char *host, const char *server_name, const char *port)
{
	memset(req, 0, sizeof(*req));
	req->method = "POST";
	req->query = "";
	req->https = https;
	req->request_scheme = scheme;
	req->http_host = host;
	req->server_name = server_name;
	req->server_port = port;
}

static void
check_url(const struct request *req, const char *base_url, const char *mount,
    const char *want)
{
	char out[256];

	memset(out, 'X', sizeof(out));
	ck_assert_int_eq(http_base_url(req, base_url, mount, strlen(mount), out, sizeof(out)), 0);
	ck_assert_str_eq(out, want);
}

START_TEST(test_base_url_configured)
{
	struct request req;

	/* base_url replaces the request's origin; the mount point follows */
	req_for_url(&req, "on", NULL, "evil.example", "srv", "8080");
	check_url(&req, "https://shop.example/api/", "/auth", "https://shop.example/api/auth");
	check_url(&req, "https://shop.example/api/", "", "https://shop.example/api");
	check_url(&req, "https://shop.example//", "/auth", "https://shop.example/auth");
	check_url(&req, "http://shop.example", "/auth", "http://shop.example/auth");
	check_url(&req, "http://shop.example", "", "http://shop.example");
	/* an empty base_url means "derive it" */
	check_url(&req, "", "/auth", "https://evil.example:8080/auth");
	check_url(&req, NULL, "/auth", "https://evil.example:8080/auth");
}
END_TEST

START_TEST(test_base_url_scheme)
{
	struct request req;

	req_for_url(&req, NULL, NULL, "shop.example", NULL, "80");
	check_url(&req, NULL, "/auth", "http://shop.example/auth");
	req_for_url(&req, "on", NULL, "shop.example", NULL, "443");
	check_url(&req, NULL, "/auth", "https://shop.example/auth");
	req_for_url(&req, "ON", NULL, "shop.example", NULL, "443");
	check_url(&req, NULL, "/auth", "https://shop.example/auth");
	req_for_url(&req, "1", NULL, "shop.example", NULL, "443");
	check_url(&req, NULL, "/auth", "https://shop.example/auth");
	req_for_url(&req, "off", NULL, "shop.example", NULL, "80");
	check_url(&req, NULL, "/auth", "http://shop.example/auth");
	req_for_url(&req, NULL, "https", "shop.example", NULL, "443");
	check_url(&req, NULL, "/auth", "https://shop.example/auth");
	req_for_url(&req, NULL, "HTTPS", "shop.example", NULL, "443");
	check_url(&req, NULL, "/auth", "https://shop.example/auth");
	req_for_url(&req, NULL, "http", "shop.example", NULL, "80");
	check_url(&req, NULL, "/auth", "http://shop.example/auth");
	req_for_url(&req, "", "http", "shop.example", NULL, "80");
	check_url(&req, NULL, "", "http://shop.example");
}
END_TEST

START_TEST(test_base_url_port)
{
	struct request req;

	req_for_url(&req, NULL, NULL, "shop.example", NULL, "8080");
	check_url(&req, NULL, "/auth", "http://shop.example:8080/auth");
	req_for_url(&req, "on", NULL, "shop.example", NULL, "8443");
	check_url(&req, NULL, "/auth", "https://shop.example:8443/auth");
	/* 443 is only the default for https */
	req_for_url(&req, NULL, NULL, "shop.example", NULL, "443");
	check_url(&req, NULL, "/auth", "http://shop.example:443/auth");
	req_for_url(&req, "on", NULL, "shop.example", NULL, "80");
	check_url(&req, NULL, "/auth", "https://shop.example:80/auth");
	/* the host already names its port */
	req_for_url(&req, NULL, NULL, "shop.example:8080", NULL, "8080");
	check_url(&req, NULL, "/auth", "http://shop.example:8080/auth");
	req_for_url(&req, NULL, NULL, "shop.example:8080", NULL, "80");
	check_url(&req, NULL, "/auth", "http://shop.example:8080/auth");
	/* IPv6 literals */
	req_for_url(&req, NULL, NULL, "[::1]", NULL, "8080");
	check_url(&req, NULL, "/auth", "http://[::1]:8080/auth");
	req_for_url(&req, NULL, NULL, "[::1]:8080", NULL, "8080");
	check_url(&req, NULL, "/auth", "http://[::1]:8080/auth");
	/* no or unusable SERVER_PORT */
	req_for_url(&req, NULL, NULL, "shop.example", NULL, NULL);
	check_url(&req, NULL, "/auth", "http://shop.example/auth");
	req_for_url(&req, NULL, NULL, "shop.example", NULL, "80abc");
	check_url(&req, NULL, "/auth", "http://shop.example/auth");
	req_for_url(&req, NULL, NULL, "shop.example", NULL, "");
	check_url(&req, NULL, "/auth", "http://shop.example/auth");
}
END_TEST

START_TEST(test_base_url_bad_host)
{
	struct request req;

	req_for_url(&req, NULL, NULL, "evil.example/phish?", "shop.example", "80");
	check_url(&req, NULL, "/auth", "http://shop.example/auth");
	req_for_url(&req, NULL, NULL, "evil.example\"><script>", "shop.example", "80");
	check_url(&req, NULL, "/auth", "http://shop.example/auth");
	req_for_url(&req, NULL, NULL, "a b", "shop.example", "80");
	check_url(&req, NULL, "/auth", "http://shop.example/auth");
	req_for_url(&req, NULL, NULL, "user@evil.example", "shop.example", "80");
	check_url(&req, NULL, "/auth", "http://shop.example/auth");
	req_for_url(&req, NULL, NULL, "", "shop.example", "80");
	check_url(&req, NULL, "/auth", "http://shop.example/auth");
	req_for_url(&req, NULL, NULL, NULL, "shop.example", "8080");
	check_url(&req, NULL, "/auth", "http://shop.example:8080/auth");
	/* neither is usable */
	req_for_url(&req, NULL, NULL, "bad host", "bad/name", "80");
	check_url(&req, NULL, "/auth", "http://localhost/auth");
	req_for_url(&req, NULL, NULL, NULL, NULL, NULL);
	check_url(&req, NULL, "/auth", "http://localhost/auth");
}
END_TEST

START_TEST(test_base_url_mount_len_and_overflow)
{
	struct request req;
	const char *mount = "/auth/agent-access-tokens";
	char out[64], small[20];

	req_for_url(&req, NULL, NULL, "shop.example", NULL, "80");
	ck_assert_int_eq(http_base_url(&req, NULL, mount, 5, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "http://shop.example/auth");
	/* "http://shop.example/auth" is 24 bytes */
	ck_assert_int_eq(http_base_url(&req, NULL, mount, 5, small, sizeof(small)), -1);
	ck_assert_int_eq(http_base_url(&req, NULL, mount, 5, out, 25), 0);
	ck_assert_str_eq(out, "http://shop.example/auth");
	ck_assert_int_eq(http_base_url(&req, NULL, mount, 5, out, 24), -1);
	ck_assert_int_eq(http_base_url(&req, "https://a-rather-long-base.example/x", mount, 5,
	    small, sizeof(small)), -1);
	/* base_url plus mount must fit too: "https://b.example/auth" is 22 */
	ck_assert_int_eq(http_base_url(&req, "https://b.example", mount, 5, out, 23), 0);
	ck_assert_str_eq(out, "https://b.example/auth");
	ck_assert_int_eq(http_base_url(&req, "https://b.example", mount, 5, out, 22), -1);
}
END_TEST

/* ---- http_append_query ---- */

START_TEST(test_append_query)
{
	char url[128];

	strcpy(url, "http://h/x");
	ck_assert_int_eq(http_append_query(url, sizeof(url), ""), 0);
	ck_assert_str_eq(url, "http://h/x");
	ck_assert_int_eq(http_append_query(url, sizeof(url), NULL), 0);
	ck_assert_str_eq(url, "http://h/x");

	ck_assert_int_eq(http_append_query(url, sizeof(url), "page[offset]=0&page[limit]=10"), 0);
	ck_assert_str_eq(url, "http://h/x?page[offset]=0&page[limit]=10");

	strcpy(url, "http://h/x");
	ck_assert_int_eq(http_append_query(url, sizeof(url),
	    "q=a b&c=\x01\t\x7f\xff\"\\%41~"), 0);
	ck_assert_str_eq(url, "http://h/x?q=a%20b&c=%01%09%7F%FF%22%5C%41~");

	strcpy(url, "http://h/x");
	ck_assert_int_eq(http_append_query(url, sizeof(url), "q=\xc3\xa9\r\n"), 0);
	ck_assert_str_eq(url, "http://h/x?q=%C3%A9%0D%0A");
}
END_TEST

START_TEST(test_append_query_fits_exactly)
{
	char url[16];

	/* "http://h?ab" + NUL = 12 bytes */
	strcpy(url, "http://h");
	ck_assert_int_eq(http_append_query(url, 12, "ab"), 0);
	ck_assert_str_eq(url, "http://h?ab");
	/* "http://h?%20" + NUL = 13 bytes */
	strcpy(url, "http://h");
	ck_assert_int_eq(http_append_query(url, 13, " "), 0);
	ck_assert_str_eq(url, "http://h?%20");
}
END_TEST

START_TEST(test_append_query_too_long)
{
	static const char *const queries[] = { "ab", " ", "abcdefghijklmnopqrstuvwxyz", "a b c d" };
	char url[16];

	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		/* the bytes after the terminator are not NUL: a result that
		 * lost its terminator would show */
		memset(url, 'Z', sizeof(url));
		strcpy(url, "http://h");
		ck_assert_int_eq(http_append_query(url, i < 2 ? 11 : sizeof(url), queries[i]), -1);
		/* the url is left unchanged (http.h); in particular it is still
		 * a string inside its buffer */
		ck_assert_msg(memchr(url, '\0', i < 2 ? 11 : sizeof(url)) != NULL,
		    "url lost its NUL terminator after a failed append of \"%s\"", queries[i]);
		ck_assert_str_eq(url, "http://h");
	}
}
END_TEST

/* ---- responses ---- */

START_TEST(test_status_text)
{
	ck_assert_str_eq(http_status_text(201), "Created");
	ck_assert_str_eq(http_status_text(404), "Not Found");
	ck_assert_str_eq(http_status_text(405), "Method Not Allowed");
	ck_assert_str_eq(http_status_text(406), "Not Acceptable");
	ck_assert_str_eq(http_status_text(413), "Payload Too Large");
	ck_assert_str_eq(http_status_text(415), "Unsupported Media Type");
	ck_assert_str_eq(http_status_text(429), "Too Many Requests");
	ck_assert_str_eq(http_status_text(503), "Service Unavailable");
	ck_assert_str_eq(http_status_text(500), "Internal Server Error");
	ck_assert_str_eq(http_status_text(999), "Internal Server Error");
}
END_TEST

START_TEST(test_response_error_and_head)
{
	static const char body[] = "{\"errors\":[{\"status\":404,\"detail\":\"Not Found\"}]}";
	static const char want[] = "Status: 404 Not Found\r\n"
	    "Content-Type: application/vnd.api+json\r\n"
	    "Content-Length: 48\r\n\r\n";
	char buf[512];
	struct response res;
	int n;

	response_init(&res);
	ck_assert_int_eq(res.status, 500);
	ck_assert_ptr_null(res.body);
	ck_assert_uint_eq(res.headers_len, 0);

	response_error(&res, 404, NULL, "Not Found");
	ck_assert_int_eq(res.status, 404);
	ck_assert_str_eq(res.content_type, "application/vnd.api+json");
	ck_assert_uint_eq(res.body_len, sizeof(body) - 1);
	ck_assert_mem_eq(res.body, body, sizeof(body));

	n = response_head(&res, buf, sizeof(buf));
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(n, (int)sizeof(want) - 1);
	response_free(&res);
	ck_assert_ptr_null(res.body);
}
END_TEST

START_TEST(test_response_head_with_headers)
{
	static const char want[] =
	    "Status: 405 Method Not Allowed\r\n"
	    "Content-Type: application/vnd.api+json\r\n"
	    "Content-Length: 57\r\n"
	    "Allow: POST\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "\r\n";
	char buf[512];
	struct response res;

	response_init(&res);
	response_error(&res, 405, NULL, "Method Not Allowed");
	ck_assert_uint_eq(res.body_len, 57);
	ck_assert_int_eq(response_add_header(&res, "Allow", "POST"), 0);
	ck_assert_int_eq(response_add_header(&res, "X-Content-Type-Options", "nosniff"), 0);
	ck_assert_str_eq(res.headers, "Allow: POST\r\nX-Content-Type-Options: nosniff\r\n");
	ck_assert_uint_eq(res.headers_len, strlen(res.headers));
	ck_assert_int_eq(response_head(&res, buf, sizeof(buf)), (int)sizeof(want) - 1);
	ck_assert_str_eq(buf, want);
	/* exact fit, one byte short */
	ck_assert_int_eq(response_head(&res, buf, sizeof(want)), (int)sizeof(want) - 1);
	ck_assert_int_eq(response_head(&res, buf, sizeof(want) - 1), -1);
	response_free(&res);
}
END_TEST

START_TEST(test_response_head_no_body)
{
	char buf[256];
	struct response res;

	response_init(&res);
	res.status = 204;
	ck_assert_int_eq(response_head(&res, buf, sizeof(buf)),
	    (int)strlen("Status: 204 No Content\r\nContent-Length: 0\r\n\r\n"));
	ck_assert_str_eq(buf, "Status: 204 No Content\r\nContent-Length: 0\r\n\r\n");
	response_free(&res);
}
END_TEST

START_TEST(test_response_set_json)
{
	char buf[256];
	struct response res;
	int n;
	char *body = strdup("{\"a\":\"\xc3\xa9\"}");

	response_init(&res);
	response_set_json(&res, 200, "application/json", body, strlen(body));
	ck_assert_int_eq(res.status, 200);
	n = response_head(&res, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Status: 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 10\r\n\r\n");
	ck_assert_int_eq(n, (int)strlen(buf));
	/* a new body replaces (and frees) the old one */
	response_error(&res, 503, NULL, "Service temporarily unavailable.");
	ck_assert_int_eq(res.status, 503);
	/* out of memory: 500 without a body */
	response_set_json(&res, 201, "application/json", NULL, 0);
	ck_assert_int_eq(res.status, 500);
	ck_assert_ptr_null(res.body);
	ck_assert_ptr_null(res.content_type);
	ck_assert_uint_eq(res.body_len, 0);
	response_head(&res, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Status: 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
	response_free(&res);
}
END_TEST

START_TEST(test_add_header_refuses_crlf)
{
	static const char *const values[] = {
		"a\r\nSet-Cookie: x=1", "a\nb", "a\rb", "\r\n", "ok\n",
	};
	struct response res;

	response_init(&res);
	ck_assert_int_eq(response_add_header(&res, "X-A", "1"), 0);
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		ck_assert_int_eq(response_add_header(&res, "X-B", values[i]), -1);
		ck_assert_str_eq(res.headers, "X-A: 1\r\n");
		ck_assert_uint_eq(res.headers_len, 8);
	}
	response_free(&res);
}
END_TEST

START_TEST(test_add_header_overflow)
{
	char value[200], buf[2048];
	struct response res;
	size_t before;
	int i;

	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	response_init(&res);
	for (i = 0; i < 100; i++)
		if (response_add_header(&res, "X-Fill", value) < 0)
			break;
	ck_assert_int_eq(i, RESPONSE_HEADERS_MAX / (int)(strlen("X-Fill: \r\n") + 199));
	ck_assert_uint_eq(res.headers_len, strlen(res.headers));
	ck_assert_uint_lt(res.headers_len, RESPONSE_HEADERS_MAX);
	/* a line that would not fit leaves the headers as they were */
	before = res.headers_len;
	ck_assert_int_eq(response_add_header(&res, "X-Fill", value), -1);
	ck_assert_uint_eq(res.headers_len, before);
	ck_assert_uint_eq(strlen(res.headers), before);
	/* a short one still fits */
	ck_assert_int_eq(response_add_header(&res, "X-Ok", "1"), 0);
	ck_assert_uint_eq(res.headers_len, before + 9);
	ck_assert_int_gt(response_head(&res, buf, sizeof(buf)), 0);
	response_free(&res);
}
END_TEST

Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("request");

	tcase_add_test(tc, test_request_init);
	tcase_add_test(tc, test_http_param);
	tcase_add_test(tc, test_request_forwarded_for_lines);
	tcase_add_test(tc, test_request_forwarded_for_many_lines);
	tcase_add_test(tc, test_request_forwarded_for_bytes);
	tcase_add_loop_test(tc, test_body_status, 0,
	    (int)(sizeof(body_cases) / sizeof(body_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("negotiation");
	tcase_add_test(tc, test_content_type_absent);
	tcase_add_loop_test(tc, test_content_type_ok, 0, (int)(sizeof(ct_ok) / sizeof(ct_ok[0])));
	tcase_add_loop_test(tc, test_content_type_bad, 0, (int)(sizeof(ct_bad) / sizeof(ct_bad[0])));
	tcase_add_test(tc, test_accept_absent);
	tcase_add_loop_test(tc, test_accept_ok, 0,
	    (int)(sizeof(accept_ok) / sizeof(accept_ok[0])));
	tcase_add_loop_test(tc, test_accept_bad, 0,
	    (int)(sizeof(accept_bad) / sizeof(accept_bad[0])));
	tcase_add_test(tc, test_accept_long_list);
	suite_add_tcase(s, tc);

	tc = tcase_create("links");
	tcase_add_test(tc, test_base_url_configured);
	tcase_add_test(tc, test_base_url_scheme);
	tcase_add_test(tc, test_base_url_port);
	tcase_add_test(tc, test_base_url_bad_host);
	tcase_add_test(tc, test_base_url_mount_len_and_overflow);
	tcase_add_test(tc, test_append_query);
	tcase_add_test(tc, test_append_query_fits_exactly);
	tcase_add_test(tc, test_append_query_too_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("response");
	tcase_add_test(tc, test_status_text);
	tcase_add_test(tc, test_response_error_and_head);
	tcase_add_test(tc, test_response_head_with_headers);
	tcase_add_test(tc, test_response_head_no_body);
	tcase_add_test(tc, test_response_set_json);
	tcase_add_test(tc, test_add_header_refuses_crlf);
	tcase_add_test(tc, test_add_header_overflow);
	suite_add_tcase(s, tc);
	return s;
}
