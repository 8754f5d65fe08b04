/* clientip: CIDR lists, canonical addresses, X-Forwarded-For. */
#include <string.h>

#include "clientip.h"
#include "suites.h"

struct ip_case {
	const char *remote_addr;
	const char *want;
};

static const struct ip_case ip_cases[] = {
	{ "192.0.2.1", "192.0.2.1" },
	{ "::ffff:1.2.3.4", "1.2.3.4" },
	{ "::FFFF:10.0.0.1", "10.0.0.1" },
	{ "::ffff:0102:0304", "1.2.3.4" },
	{ "::1", "::1" },
	{ "2001:DB8:0:0:0:0:0:1", "2001:db8::1" },
	{ "127.0.0.1", "127.0.0.1" },
	{ " 1.2.3.4 ", "1.2.3.4" },
	{ "garbage", "" },
	{ "", "" },
	{ NULL, "" },
	{ "1.2.3.4:5678", "" },
	{ "1.2.3", "" },
	{ "256.1.1.1", "" },
	{ "unix:/run/sock", "" },
};

START_TEST(test_remote_addr_only)
{
	struct request req;
	char out[CLIENT_IP_MAX];

	memset(&req, 0, sizeof(req));
	req.remote_addr = ip_cases[_i].remote_addr;
	req.forwarded_for = "203.0.113.9";   /* no trusted proxies: ignored */
	memset(out, 'X', sizeof(out));
	client_ip(&req, NULL, out);
	ck_assert_msg(strcmp(out, ip_cases[_i].want) == 0, "REMOTE_ADDR \"%s\" gave \"%s\"",
	    ip_cases[_i].remote_addr ? ip_cases[_i].remote_addr : "(null)", out);
}
END_TEST

START_TEST(test_cidr_parse_and_match)
{
	struct cidr_list l;
	char err[160];

	ck_assert_int_eq(cidr_list_parse(&l, "10.0.0.0/8, 192.168.1.7  2001:db8::/32,::1", err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(l.n, 4);
	ck_assert(cidr_list_contains(&l, "10.255.1.2"));
	ck_assert(!cidr_list_contains(&l, "11.0.0.1"));
	ck_assert(cidr_list_contains(&l, "192.168.1.7"));
	ck_assert(!cidr_list_contains(&l, "192.168.1.8"));
	ck_assert(cidr_list_contains(&l, "2001:db8:ffff::1"));
	ck_assert(!cidr_list_contains(&l, "2001:db9::1"));
	ck_assert(cidr_list_contains(&l, "::1"));
	ck_assert(cidr_list_contains(&l, "::ffff:10.1.1.1"));   /* mapped = IPv4 */
	ck_assert(!cidr_list_contains(&l, "garbage"));
	ck_assert(!cidr_list_contains(&l, NULL));

	ck_assert_int_eq(cidr_list_parse(&l, "172.16.0.0/12", err, sizeof(err)), 0);
	ck_assert(cidr_list_contains(&l, "172.31.255.255"));
	ck_assert(!cidr_list_contains(&l, "172.32.0.0"));
	ck_assert_int_eq(cidr_list_parse(&l, "0.0.0.0/0", err, sizeof(err)), 0);
	ck_assert(cidr_list_contains(&l, "8.8.8.8"));
	ck_assert(!cidr_list_contains(&l, "::2"));
	ck_assert_int_eq(cidr_list_parse(&l, "::ffff:10.0.0.0/104", err, sizeof(err)), 0);
	ck_assert(cidr_list_contains(&l, "10.20.30.40"));
	ck_assert(!cidr_list_contains(&l, "11.0.0.1"));
	ck_assert_uint_eq(l.items[0].prefix, 8);
	ck_assert_int_eq(cidr_list_parse(&l, "", err, sizeof(err)), 0);
	ck_assert_uint_eq(l.n, 0);
}
END_TEST

START_TEST(test_cidr_parse_errors)
{
	static const char *const bad[] = {
		"10.0.0.0/33", "::1/129", "::ffff:10.0.0.0/95", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/8x", "host.example",
		"1.2.3.4.5", "/8",
	};
	struct cidr_list l;
	char err[160];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(cidr_list_parse(&l, bad[i], err, sizeof(err)) == -1, "%s", bad[i]);
		ck_assert_msg(err[0] != '\0', "no message for %s", bad[i]);
	}
}
END_TEST

struct xff_case {
	const char *remote_addr;
	const char *xff;
	const char *want;
};

static const struct xff_case xff_cases[] = {
	/* untrusted peer: header ignored */
	{ "198.51.100.7", "203.0.113.5", "198.51.100.7" },
	/* trusted peer: right-most untrusted hop */
	{ "127.0.0.1", "203.0.113.5", "203.0.113.5" },
	{ "127.0.0.1", "1.1.1.1, 203.0.113.5", "203.0.113.5" },
	{ "127.0.0.1", "1.1.1.1, 203.0.113.5, 10.0.0.2", "203.0.113.5" },
	{ "127.0.0.1", "203.0.113.5,10.0.0.2,10.0.0.3", "203.0.113.5" },
	{ "::ffff:127.0.0.1", " 2001:db8::5 ", "2001:db8::5" },
	{ "127.0.0.1", "::ffff:203.0.113.5", "203.0.113.5" },
	/* every hop trusted: the left-most */
	{ "127.0.0.1", "10.0.0.2, 10.0.0.3", "10.0.0.2" },
	/* garbage hop: stop at the last trusted hop seen */
	{ "127.0.0.1", "203.0.113.5, garbage", "127.0.0.1" },
	{ "127.0.0.1", "203.0.113.5, unknown, 10.0.0.2", "10.0.0.2" },
	{ "127.0.0.1", "", "127.0.0.1" },
	{ "127.0.0.1", ",", "127.0.0.1" },
};

START_TEST(test_forwarded_for)
{
	struct cidr_list trusted;
	struct request req;
	char out[CLIENT_IP_MAX], err[160];

	ck_assert_int_eq(cidr_list_parse(&trusted, "127.0.0.1, 10.0.0.0/8", err, sizeof(err)), 0);
	memset(&req, 0, sizeof(req));
	req.remote_addr = xff_cases[_i].remote_addr;
	req.forwarded_for = xff_cases[_i].xff;
	client_ip(&req, &trusted, out);
	ck_assert_msg(strcmp(out, xff_cases[_i].want) == 0, "%s + \"%s\" gave \"%s\"",
	    xff_cases[_i].remote_addr, xff_cases[_i].xff, out);
}
END_TEST

START_TEST(test_canonical)
{
	char out[CLIENT_IP_MAX];

	ck_assert_int_eq(ip_canonical("::FFFF:1.2.3.4", 14, out), 0);
	ck_assert_str_eq(out, "1.2.3.4");
	ck_assert_int_eq(ip_canonical("2001:0db8::0001", 15, out), 0);
	ck_assert_str_eq(out, "2001:db8::1");
	ck_assert_int_eq(ip_canonical("nope", 4, out), -1);
	ck_assert_str_eq(out, "");
}
END_TEST

Suite *
clientip_suite(void)
{
	Suite *s = suite_create("clientip");
	TCase *tc = tcase_create("clientip");

	tcase_add_loop_test(tc, test_remote_addr_only, 0,
	    (int)(sizeof(ip_cases) / sizeof(ip_cases[0])));
	tcase_add_test(tc, test_cidr_parse_and_match);
	tcase_add_test(tc, test_cidr_parse_errors);
	tcase_add_loop_test(tc, test_forwarded_for, 0,
	    (int)(sizeof(xff_cases) / sizeof(xff_cases[0])));
	tcase_add_test(tc, test_canonical);
	suite_add_tcase(s, tc);
	return s;
}
