/* fuzz_http: the request-header parsers of http.c, and the path split of
 * router.c.
 *
 * The input is one header value as nginx passes it (CONTENT_TYPE,
 * HTTP_ACCEPT, CONTENT_LENGTH, HTTP_HOST, SERVER_PORT): it goes through
 * http_content_type_ok, http_accept_ok, http_body_status (against body
 * sizes derived from the input), http_base_url and log_quote; and, as
 * SCRIPT_NAME, PATH_INFO or DOCUMENT_URI, through router_resolve. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "http.h"
#include "log.h"
#include "router.h"

/* A reference reading of CONTENT_LENGTH for the 0 answer: digits only,
 * and their value equals received. */
static int
length_is(const char *s, size_t received)
{
	unsigned long long v = 0;

	if (*s == '\0')
		return received == 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (unsigned long long)received)
			return 0;
		v = v * 10 + (unsigned)(*s - '0');
	}
	return v == received;
}

static void
body_status(const char *cl, size_t received, size_t max)
{
	int st = http_body_status(cl, received, max);

	FUZZ_CHECK(st == 0 || st == 400 || st == 413);
	FUZZ_CHECK(received <= max || st == 413);
	FUZZ_CHECK((st == 0) == (received <= max && length_is(cl, received)));
}

/* router_resolve's results lie inside the strings it was given. */
static void
resolve(const struct request *req, const char *v)
{
	const char *mount = NULL, *path = NULL;
	size_t mlen = 0, vlen = strlen(v);

	router_resolve(req, &mount, &mlen, &path);
	FUZZ_CHECK(mount != NULL && path != NULL && mlen <= strlen(mount));
	FUZZ_CHECK(path[0] != '/');
	FUZZ_CHECK(path[0] == '\0' || (path >= v && path + strlen(path) == v + vlen));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v = fuzz_cstr(data, size);
	static const size_t maxes[] = { 0, 1024, 16384, 1048576 };
	struct request req;
	char url[512], quoted[80];
	size_t n = strlen(v);

	(void)http_content_type_ok(v);
	(void)http_accept_ok(v);
	for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		body_status(v, size, maxes[i]);
		body_status(v, n, maxes[i]);
		body_status(v, maxes[i] + 1, maxes[i]);
		body_status(v, 0, maxes[i]);
	}
	memset(&req, 0, sizeof(req));
	req.http_host = v;
	req.server_name = v;
	req.server_port = v;
	req.https = v;
	req.request_scheme = v;
	if (http_base_url(&req, NULL, "/api", 4, url, sizeof(url)) == 0)
		FUZZ_CHECK(strncmp(url, "http", 4) == 0 && strchr(url, '\r') == NULL &&
		    strchr(url, '\n') == NULL && strchr(url, '"') == NULL);
	(void)http_base_url(&req, v, "/api", 4, url, sizeof(url));
	memset(&req, 0, sizeof(req));
	req.document_uri = v;               /* nginx without SCRIPT_NAME */
	resolve(&req, v);
	req.script_name = v;                /* everything in SCRIPT_NAME */
	resolve(&req, v);
	req.script_name = "/api";           /* split: PATH_INFO below the mount */
	req.path_info = v;
	resolve(&req, v);
	log_quote(quoted, sizeof(quoted), (const char *)data, size);
	FUZZ_CHECK(strlen(quoted) < sizeof(quoted));
	for (const char *q = quoted; *q != '\0'; q++)
		FUZZ_CHECK((unsigned char)*q >= 0x20 && (unsigned char)*q < 0x7f);
	free(v);
	return 0;
}
