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
	const char *const xff[] = { "203.0.113.9" };   /* no trusted proxies: ignored */
	char out[CLIENT_IP_MAX];

	memset(out, 'X', sizeof(out));
	client_ip(ip_cases[_i].remote_addr, xff, 1, NULL, out);
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
	const char *const xff[] = { xff_cases[_i].xff };
	struct cidr_list trusted;
	char out[CLIENT_IP_MAX], peer[CLIENT_IP_MAX], err[160];

	ck_assert_int_eq(cidr_list_parse(&trusted, "127.0.0.1, 10.0.0.0/8", err, sizeof(err)), 0);
	client_ip(xff_cases[_i].remote_addr, xff, 1, &trusted, out);
	ck_assert_msg(strcmp(out, xff_cases[_i].want) == 0, "%s + \"%s\" gave \"%s\"",
	    xff_cases[_i].remote_addr, xff_cases[_i].xff, out);
	/* no header at all: the peer */
	ck_assert_int_eq(ip_canonical(xff_cases[_i].remote_addr,
	    strlen(xff_cases[_i].remote_addr), peer), 0);
	client_ip(xff_cases[_i].remote_addr, NULL, 0, &trusted, out);
	ck_assert_str_eq(out, peer);
}
END_TEST

/* Several X-Forwarded-For values (nginx passes one per header line): one
 * list, as if joined by ',' in the order given; the last value is the one
 * the nearest proxy added. */
struct lines_case {
	const char *xff[4];
	size_t n;
	const char *want;
};

static const struct lines_case lines_cases[] = {
	/* the client's own header first, the proxy's last */
	{ { "203.0.113.9", "198.51.100.7" }, 2, "198.51.100.7" },
	{ { "203.0.113.9, 192.0.2.1", "203.0.113.8", "198.51.100.7" }, 3, "198.51.100.7" },
	/* trusted hops are skipped across the values */
	{ { "203.0.113.9", "198.51.100.7, 10.0.0.2", "10.0.0.3" }, 3, "198.51.100.7" },
	{ { "203.0.113.9", "10.0.0.2", "10.0.0.3" }, 3, "203.0.113.9" },
	{ { "10.0.0.1", "10.0.0.2" }, 2, "10.0.0.1" },   /* all trusted: the left-most */
	/* the client's garbage never matters */
	{ { "garbage", "", "198.51.100.7" }, 3, "198.51.100.7" },
	/* an empty value is an empty hop, as Apache's "a, " would be */
	{ { "198.51.100.7", "" }, 2, "127.0.0.1" },
	{ { "198.51.100.7", "10.0.0.2", "" }, 3, "127.0.0.1" },
	{ { "", "" }, 2, "127.0.0.1" },
	{ { "198.51.100.7", "garbage, 10.0.0.2" }, 2, "10.0.0.2" },
	{ { "198.51.100.7", "," }, 2, "127.0.0.1" },
	/* the same as one joined value */
	{ { "203.0.113.9, 198.51.100.7, 10.0.0.3" }, 1, "198.51.100.7" },
	{ { "" }, 1, "127.0.0.1" },
	{ { NULL }, 0, "127.0.0.1" },
};

START_TEST(test_forwarded_for_lines)
{
	const struct lines_case *c = &lines_cases[_i];
	struct cidr_list trusted;
	char out[CLIENT_IP_MAX], err[160];

	ck_assert_int_eq(cidr_list_parse(&trusted, "127.0.0.1, 10.0.0.0/8", err, sizeof(err)), 0);
	client_ip("127.0.0.1", c->xff, c->n, &trusted, out);
	ck_assert_msg(strcmp(out, c->want) == 0, "case %d gave \"%s\", want \"%s\"", _i, out,
	    c->want);
	/* from an untrusted peer, none of it is read */
	client_ip("192.0.2.200", c->xff, c->n, &trusted, out);
	ck_assert_str_eq(out, "192.0.2.200");
}
END_TEST

struct key_case {
	const char *ip;
	unsigned prefix;
	int rc;
	const char *want;
};

static const struct key_case key_cases[] = {
	{ "2001:db8:1:2:3:4:5:6", 64, 0, "2001:db8:1:2::/64" },
	{ "2001:db8:1:2::1", 64, 0, "2001:db8:1:2::/64" },
	{ "2001:db8:1:2:ffff:ffff:ffff:ffff", 64, 0, "2001:db8:1:2::/64" },
	{ "2001:db8::1", 64, 0, "2001:db8::/64" },
	{ "2001:DB8:0:0:0:0:0:1", 64, 0, "2001:db8::/64" },
	{ "2001:db8:1:2:3:4:5:6", 48, 0, "2001:db8:1::/48" },
	{ "2001:db8:1:ffff::1", 48, 0, "2001:db8:1::/48" },
	{ "2001:db8:1:2ff:3:4:5:6", 56, 0, "2001:db8:1:200::/56" },
	{ "2001:db8:1:2ff:3:4:5:6", 60, 0, "2001:db8:1:2f0::/60" },
	{ "2001:db8:ffff::1", 33, 0, "2001:db8:8000::/33" },
	{ "2001:db8:ffff::1", 32, 0, "2001:db8::/32" },
	{ "2001:db8:1:2:3:4:5:6", 127, 0, "2001:db8:1:2:3:4:5:6/127" },
	{ "2001:db8:1:2:3:4:5:7", 127, 0, "2001:db8:1:2:3:4:5:6/127" },
	{ "2001:db8:1:2:3:4:5:6", 128, 0, "2001:db8:1:2:3:4:5:6" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128, 0,
	  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 64, 0, "ffff:ffff:ffff:ffff::/64" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 127, 0,
	  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127" },
	/* no bits at all: every IPv6 address is one network */
	{ "2001:db8:1:2::1", 0, 0, "::/0" },
	{ "::1", 0, 0, "::/0" },
	{ "::1", 64, 0, "::/64" },
	{ "::", 64, 0, "::/64" },
	/* IPv4 and IPv4-mapped: the address itself, whatever the prefix */
	{ "192.0.2.1", 64, 0, "192.0.2.1" },
	{ "192.0.2.1", 0, 0, "192.0.2.1" },
	{ "::ffff:192.0.2.1", 64, 0, "192.0.2.1" },
	{ "::FFFF:c000:0201", 48, 0, "192.0.2.1" },
	/* not an address: the empty key */
	{ "", 64, -1, "" },
	{ "garbage", 64, -1, "" },
	{ "2001:db8::/64", 64, -1, "" },
	{ "2001:db8::1%eth0", 64, -1, "" },
	{ "[2001:db8::1]", 64, -1, "" },
	{ "192.0.2.1:80", 64, -1, "" },
	{ NULL, 64, -1, "" },
};

START_TEST(test_client_key)
{
	const struct key_case *c = &key_cases[_i];
	char out[CLIENT_KEY_MAX];

	memset(out, 'X', sizeof(out));
	ck_assert_int_eq(client_key(c->ip, c->prefix, out), c->rc);
	ck_assert_msg(strcmp(out, c->want) == 0, "%s/%u gave \"%s\", want \"%s\"",
	    c->ip ? c->ip : "(null)", c->prefix, out, c->want);
}
END_TEST

START_TEST(test_client_key_longest)
{
	char out[CLIENT_KEY_MAX];

	/* the longest IPv6 text and the longest suffix fit */
	ck_assert_int_eq(client_key("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 127, out), 0);
	ck_assert_str_eq(out, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127");
	ck_assert_uint_lt(strlen(out), CLIENT_KEY_MAX);
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
	tcase_add_loop_test(tc, test_forwarded_for_lines, 0,
	    (int)(sizeof(lines_cases) / sizeof(lines_cases[0])));
	tcase_add_loop_test(tc, test_client_key, 0,
	    (int)(sizeof(key_cases) / sizeof(key_cases[0])));
	tcase_add_test(tc, test_client_key_longest);
	tcase_add_test(tc, test_canonical);
	suite_add_tcase(s, tc);
	return s;
}
