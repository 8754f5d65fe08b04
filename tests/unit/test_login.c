/* Unit tests for src/login.c: login_credential_ok, the check of a
 * username or password before any database work (doc/api.md §2.1). */
#include <stdlib.h>
#include <string.h>

#include "login.h"
#include "suites.h"

static const struct {
	const char *s;
	size_t len;     /* 0 with s non-empty: strlen(s) */
	size_t max;
	int ok;
} credential_cases[] = {
	{ "a", 0, 255, 1 },
	{ "admin@spryker.com", 0, 255, 1 },
	{ " a ", 0, 255, 1 },                    /* white space around is kept */
	{ "pass word", 0, 255, 1 },
	{ "p\xc3\xa4ssw\xc3\xb6rd", 0, 255, 1 },  /* UTF-8 */
	{ "\x80\xfe\xff", 0, 255, 1 },           /* bytes >= 0x80 are not checked here */
	{ "~", 0, 255, 1 },
	{ " ", 0, 255, 0 },                      /* only white space */
	{ "     ", 0, 255, 0 },
	{ "\t", 0, 255, 0 },                     /* control characters */
	{ "a\tb", 0, 255, 0 },
	{ "a\nb", 0, 255, 0 },
	{ "a\r", 0, 255, 0 },
	{ "\x1f", 0, 255, 0 },
	{ "\x1b[2J", 0, 255, 0 },
	{ "a\x7f", 0, 255, 0 },                  /* DEL */
	{ "abc", 3, 3, 1 },                      /* exactly max bytes */
	{ "abcd", 4, 3, 0 },                     /* one more */
	{ "abc", 2, 2, 1 },                      /* the length is honoured */
	{ "ab\n", 2, 255, 1 },
	{ "x", 1, (size_t)-1, 1 },               /* the password's max */
};

START_TEST(test_credential_cases)
{
	const char *s = credential_cases[_i].s;
	size_t len = credential_cases[_i].len != 0 ? credential_cases[_i].len : strlen(s);
	size_t max = credential_cases[_i].max;
	char *exact = malloc(len > 0 ? len : 1);   /* no NUL after it: ASan */

	ck_assert_ptr_nonnull(exact);
	memcpy(exact, s, len);
	ck_assert_msg(login_credential_ok(exact, len, max) == credential_cases[_i].ok,
	    "case %d (\"%.*s\", len %zu, max %zu): want %d", _i, (int)len, s, len, max,
	    credential_cases[_i].ok);
	free(exact);
}
END_TEST

START_TEST(test_credential_empty_null_and_nul)
{
	ck_assert_int_eq(login_credential_ok("", 0, 255), 0);
	ck_assert_int_eq(login_credential_ok("abc", 0, 255), 0);
	ck_assert_int_eq(login_credential_ok(NULL, 0, 255), 0);
	ck_assert_int_eq(login_credential_ok(NULL, 3, 255), 0);
	/* a NUL inside (JSON "\u0000") is a control character */
	ck_assert_int_eq(login_credential_ok("a\0b", 3, 255), 0);
	ck_assert_int_eq(login_credential_ok("\0", 1, 255), 0);
	ck_assert_int_eq(login_credential_ok("abc", 3, 0), 0);
}
END_TEST

/* The username limit the handler applies: USERNAME_MAX_BYTES, not one more. */
START_TEST(test_credential_username_limit)
{
	char name[USERNAME_MAX_BYTES + 1];

	memset(name, 'a', sizeof(name));
	ck_assert_int_eq(login_credential_ok(name, USERNAME_MAX_BYTES, USERNAME_MAX_BYTES), 1);
	ck_assert_int_eq(login_credential_ok(name, USERNAME_MAX_BYTES + 1, USERNAME_MAX_BYTES), 0);
	/* every control character, anywhere */
	for (int c = 0; c < 0x20; c++) {
		for (size_t at = 0; at < 3; at++) {
			char s[3] = { 'a', 'b', 'c' };
			s[at] = (char)c;
			ck_assert_msg(login_credential_ok(s, 3, 255) == 0, "0x%02x at %zu", c, at);
		}
	}
	/* every other byte alone is usable, but the space */
	for (int c = 0x20; c < 0x100; c++) {
		char s = (char)c;
		ck_assert_msg(login_credential_ok(&s, 1, 255) == (c != ' ' && c != 0x7f),
		    "0x%02x alone", c);
	}
}
END_TEST

Suite *
login_suite(void)
{
	Suite *s = suite_create("login");
	TCase *tc = tcase_create("login_credential_ok");

	tcase_add_loop_test(tc, test_credential_cases, 0,
	    (int)(sizeof(credential_cases) / sizeof(credential_cases[0])));
	tcase_add_test(tc, test_credential_empty_null_and_nul);
	tcase_add_test(tc, test_credential_username_limit);
	suite_add_tcase(s, tc);
	return s;
}
