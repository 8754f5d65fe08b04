/* search: paging rules and the query-string helpers behind them. */
#include <string.h>

#include "http.h"
#include "search.h"
#include "suites.h"

struct paging_case {
	const char *query;
	long max;
	int rc;
	long offset, limit;
};

static const struct paging_case paging_cases[] = {
	{ "", 100, 0, 0, 10 },
	{ "q=x", 100, 0, 0, 10 },
	{ "page[offset]=20&page[limit]=10", 100, 0, 20, 10 },
	{ "page%5Boffset%5D=20&page%5Blimit%5D=10", 100, 0, 20, 10 },
	{ "page[offset]=7&page[limit]=5", 100, 0, 5, 5 },         /* rounded down */
	{ "page[offset]=0&page[limit]=1000", 100, 0, 0, 100 },    /* capped */
	{ "page[offset]=250&page[limit]=1000", 100, 0, 200, 100 },
	{ "page[limit]=5", 100, 0, 0, 10 },                       /* alone: ignored */
	{ "", 5, 0, 0, 5 },                                       /* cap applies to the default */
	{ "page[offset]=10", 100, -1, 0, 10 },                    /* offset without a limit */
	{ "page[offset]=x&page[limit]=10", 100, -1, 0, 10 },
	{ "page[offset]=-1&page[limit]=10", 100, -1, 0, 10 },
	{ "page[offset]=0&page[limit]=0", 100, -1, 0, 10 },
	{ "page[offset]=0&page[limit]=-5", 100, -1, 0, 10 },
	{ "page[offset]=1.5&page[limit]=10", 100, -1, 0, 10 },
	{ "page[offset]=+1&page[limit]=10", 100, -1, 0, 10 },
	{ "page[offset]=&page[limit]=10", 100, -1, 0, 10 },
	{ "page[offset]=0&page[limit]=99999999999999999999", 100, -1, 0, 10 },
	{ "page[offset]=0&page[limit]=1%00", 100, -1, 0, 10 },    /* NUL */
};

START_TEST(test_paging)
{
	const struct paging_case *c = &paging_cases[_i];
	struct paging p;

	ck_assert_msg(search_paging(c->query, c->max, &p) == c->rc, "rc for \"%s\"", c->query);
	if (c->rc == 0) {
		ck_assert_msg(p.offset == c->offset && p.limit == c->limit,
		    "\"%s\" gave offset %ld limit %ld", c->query, p.offset, p.limit);
	}
}
END_TEST

START_TEST(test_query_get)
{
	char out[16];

	ck_assert_int_eq(http_query_get("q=a+b%40c&x=1", "q", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "a b@c");
	ck_assert_int_eq(http_query_get("x=1&q", "q", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(http_query_get("x=1", "q", out, sizeof(out)), 0);
	ck_assert_int_eq(http_query_get("", "q", out, sizeof(out)), 0);
	ck_assert_int_eq(http_query_get("q=%zz", "q", out, sizeof(out)), 1);
	ck_assert_str_eq(out, "%zz");                               /* not an escape: literal */
	ck_assert_int_eq(http_query_get("q=%00", "q", out, sizeof(out)), -1);
	ck_assert_int_eq(http_query_get("q=0123456789abcdefXYZ", "q", out, sizeof(out)), -1);
	ck_assert_str_eq(out, "");          /* no half-decoded, unterminated value left */
	memset(out, 'x', sizeof(out));
	ck_assert_int_eq(http_query_get("q=ab%00", "q", out, sizeof(out)), -1);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(http_query_get("%71=v", "q", out, sizeof(out)), 1);  /* encoded name */
	ck_assert_str_eq(out, "v");
}
END_TEST

START_TEST(test_query_without)
{
	static const char *const skip[] = { "page[offset]", "page[limit]" };
	char out[128], small[8];
	char longname[300];

	ck_assert_int_eq(http_query_without("q=a&page[offset]=1&x=%22&page%5Blimit%5D=2", skip, 2,
	    out, sizeof(out)), 0);
	ck_assert_str_eq(out, "q=a&x=%22");
	ck_assert_int_eq(http_query_without("", skip, 2, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(http_query_without("q=abcdefghij", skip, 2, small, sizeof(small)), -1);
	/* a name too long to decode is kept, not dropped */
	memset(longname, 'z', 280);
	strcpy(longname + 280, "=1&q=a");
	ck_assert_int_eq(http_query_without(longname, skip, 2, out, sizeof(out)), -1);
	{
		char big[400];
		ck_assert_int_eq(http_query_without(longname, skip, 2, big, sizeof(big)), 0);
		ck_assert_str_eq(big, longname);
	}
	/* exactly enough room */
	ck_assert_int_eq(http_query_without("ab=1&cd=2", skip, 2, out, 10), 0);
	ck_assert_str_eq(out, "ab=1&cd=2");
	ck_assert_int_eq(http_query_without("ab=1&cd=2", skip, 2, out, 9), -1);
}
END_TEST

START_TEST(test_append_encoded)
{
	char url[32] = "http://h/x?";

	ck_assert_int_eq(http_append_encoded(url, sizeof(url), "a\"b c\\"), 0);
	ck_assert_str_eq(url, "http://h/x?a%22b%20c%5C");
	ck_assert_int_eq(http_append_encoded(url, sizeof(url), "0123456789"), -1);
	ck_assert_str_eq(url, "http://h/x?a%22b%20c%5C");           /* unchanged */
}
END_TEST

Suite *
search_suite(void)
{
	Suite *s = suite_create("search");
	TCase *tc = tcase_create("search");

	tcase_add_loop_test(tc, test_paging, 0,
	    (int)(sizeof(paging_cases) / sizeof(paging_cases[0])));
	tcase_add_test(tc, test_query_get);
	tcase_add_test(tc, test_query_without);
	tcase_add_test(tc, test_append_encoded);
	suite_add_tcase(s, tc);
	return s;
}
