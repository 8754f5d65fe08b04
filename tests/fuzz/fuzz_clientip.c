/* fuzz_clientip: client addresses (ip_canonical, cidr_list_parse,
 * cidr_list_contains, client_ip, client_key) and the X-Forwarded-For
 * bounding of request_init.
 *
 * The whole input goes through ip_canonical (with its length, not
 * NUL-terminated) and cidr_list_parse.  Then it is read as lines:
 * line 1 a trusted_proxies list (a fixed one when it does not parse),
 * line 2 REMOTE_ADDR, every further line one X-Forwarded-For value (at
 * most 40), passed through request_init and client_ip as a request's
 * FastCGI parameters would be. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sys/socket.h>

#include "clientip.h"
#include "fuzz.h"
#include "http.h"

#define MAX_LINES 42

static const char default_trusted[] =
    "127.0.0.1, 10.0.0.0/8 ::1 fd00::/8,::ffff:192.0.2.0/120";

/* out is "" or an address already in canonical form. */
static void
check_canonical(const char *out)
{
	char again[CLIENT_IP_MAX];

	FUZZ_CHECK(memchr(out, '\0', CLIENT_IP_MAX) != NULL);
	if (out[0] == '\0')
		return;
	FUZZ_CHECK(ip_canonical(out, strlen(out), again) == 0);
	FUZZ_CHECK(strcmp(out, again) == 0);
}

/* ip is "" or canonical, as client_ip writes it. */
static void
keys_of(const char *ip)
{
	static const unsigned prefixes[] = { 0, 1, 32, 48, 63, 64, 127, 128 };
	char key[CLIENT_KEY_MAX];

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		int r = client_key(ip, prefixes[i], key);

		FUZZ_CHECK(memchr(key, '\0', sizeof(key)) != NULL);
		FUZZ_CHECK((r == 0) == (ip[0] != '\0'));
	}
}

/* "name" followed by s[0..len) and a NUL, malloc'd. */
static char *
param(const char *name, const uint8_t *s, size_t len)
{
	size_t n = strlen(name);
	char *p = malloc(n + len + 1);

	if (p == NULL)
		abort();
	memcpy(p, name, n);
	memcpy(p + n, s, len);
	p[n + len] = '\0';
	return p;
}

static void
as_request(const uint8_t *data, size_t size, const struct cidr_list *fallback)
{
	char *lines[MAX_LINES + 1], out[CLIENT_IP_MAX], canon[CLIENT_IP_MAX], err[160];
	struct cidr_list trusted;
	struct request req;
	size_t n = 0;

	for (size_t i = 0; n < MAX_LINES;) {
		size_t start = i;

		while (i < size && data[i] != '\n')
			i++;
		lines[n] = param(n == 0 ? "" : n == 1 ? "REMOTE_ADDR=" : "HTTP_X_FORWARDED_FOR=",
		    data + start, i - start);
		n++;
		if (i++ >= size)
			break;
	}
	if (cidr_list_parse(&trusted, lines[0], err, sizeof(err)) < 0)
		trusted = *fallback;
	free(lines[0]);
	lines[0] = NULL;
	/* the FastCGI parameters: lines[1..n), NULL-terminated */
	lines[n] = NULL;
	request_init(&req, lines + 1);
	FUZZ_CHECK(req.forwarded_for_n <= REQUEST_FORWARDED_MAX);
	client_ip(req.remote_addr, req.forwarded_for, req.forwarded_for_n, &trusted, out);
	check_canonical(out);
	if (req.remote_addr == NULL || ip_canonical(req.remote_addr, strlen(req.remote_addr),
	    canon) < 0)
		FUZZ_CHECK(out[0] == '\0');
	else if (!cidr_list_contains(&trusted, req.remote_addr))
		FUZZ_CHECK(strcmp(out, canon) == 0);
	keys_of(out);
	/* no proxies trusted: REMOTE_ADDR alone */
	client_ip(req.remote_addr, req.forwarded_for, req.forwarded_for_n, NULL, out);
	check_canonical(out);
	request_free(&req);
	for (size_t i = 1; i < n; i++)
		free(lines[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cidr_list fallback;
	static int ready;
	char out[CLIENT_IP_MAX], err[160], *text;
	struct cidr_list list;

	if (!ready) {
		FUZZ_CHECK(cidr_list_parse(&fallback, default_trusted, err, sizeof(err)) == 0);
		ready = 1;
	}
	if (ip_canonical((const char *)data, size, out) == 0)
		check_canonical(out);
	else
		FUZZ_CHECK(out[0] == '\0');
	keys_of(out);

	text = fuzz_cstr(data, size);
	if (cidr_list_parse(&list, text, err, sizeof(err)) == 0) {
		FUZZ_CHECK(list.n <= CIDR_MAX);
		for (size_t i = 0; i < list.n; i++)
			FUZZ_CHECK(list.items[i].prefix <=
			    (list.items[i].family == AF_INET ? 32u : 128u));
		(void)cidr_list_contains(&list, "10.1.2.3");
		(void)cidr_list_contains(&list, "2001:db8::1");
		(void)cidr_list_contains(&list, "::ffff:192.0.2.7");
	} else {
		FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
	}
	free(text);

	as_request(data, size, &fallback);
	return 0;
}
