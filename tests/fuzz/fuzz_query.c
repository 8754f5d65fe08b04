/* fuzz_query: the query-string parsers (http_query_get, http_query_without,
 * http_append_query, http_append_encoded) and search_paging.
 *
 * The input is QUERY_STRING as nginx passes it (raw, still
 * percent-encoded).  If it holds a newline, the part before the first one
 * is also looked up as a parameter name in the part after it. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "http.h"
#include "search.h"

static const char *const names[] = { "q", "page[offset]", "page[limit]", "" };

/* A link is printable ASCII without '"' and '\\' (it goes into JSON and
 * headers unescaped). */
static void
check_link(const char *url)
{
	for (const char *p = url; *p != '\0'; p++)
		FUZZ_CHECK(*p > 0x20 && *p < 0x7f && *p != '"' && *p != '\\');
}

static void
lookups(const char *query, const char *name)
{
	static const size_t sizes[] = { 1, 2, 8, 32, 256 };
	char out[256];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int r = http_query_get(query, name, out, sizes[i]);

		FUZZ_CHECK(r >= -1 && r <= 1);
		FUZZ_CHECK(strlen(out) < sizes[i]);
	}
}

static void
paging(const char *query)
{
	static const long maxes[] = { 1, 7, 100, 1000 };
	struct paging p;

	for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		if (search_paging(query, maxes[i], &p) < 0)
			continue;
		FUZZ_CHECK(p.limit >= 1 && p.limit <= maxes[i]);
		FUZZ_CHECK(p.offset >= 0 && p.offset % p.limit == 0);
	}
}

static void
rebuild(const char *query)
{
	static const char *const skip[] = { "page[offset]", "page[limit]" };
	static const size_t sizes[] = { 1, 16, 4096 };
	char out[4096], url[4096];
	size_t qlen = strlen(query);

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (http_query_without(query, skip, 2, out, sizes[i]) == 0) {
			FUZZ_CHECK(strlen(out) < sizes[i] && strlen(out) <= qlen);
			/* what was left out cannot be found any more */
			for (size_t k = 0; k < 2; k++)
				FUZZ_CHECK(http_query_get(out, skip[k], url, sizeof(url)) == 0);
			strcpy(url, "https://shop.example/agent-customer-search?");
			if (http_append_encoded(url, sizeof(url), out) == 0)
				check_link(url);
			else
				FUZZ_CHECK(strcmp(url,
				    "https://shop.example/agent-customer-search?") == 0);
		}
		strcpy(url, "https://shop.example/x");
		if (http_append_query(url, sizes[i] < 32 ? 32 : sizes[i], query) == 0)
			check_link(url);
		else
			FUZZ_CHECK(strcmp(url, "https://shop.example/x") == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *query = fuzz_cstr(data, size), *nl;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		lookups(query, names[i]);
	paging(query);
	rebuild(query);
	nl = strchr(query, '\n');
	if (nl != NULL) {
		*nl = '\0';
		lookups(nl + 1, query);
		paging(nl + 1);
	}
	free(query);
	return 0;
}
