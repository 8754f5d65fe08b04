/* Unit tests for src/log.c: log_quote, through which every string that
 * comes from a client reaches a log line (doc/STYLE.md "Secrets"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "suites.h"

/* log_quote of s[0..len) into a heap buffer of exactly bufsize bytes (so
 * that ASan sees any write past it); returns a malloc'd copy of the text. */
static char *
quote(const char *s, size_t len, size_t bufsize)
{
	char *buf = malloc(bufsize), *copy;

	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_eq(log_quote(buf, bufsize, s, len), buf);
	ck_assert_uint_lt(strlen(buf), bufsize);
	copy = strdup(buf);
	ck_assert_ptr_nonnull(copy);
	free(buf);
	return copy;
}

static void
expect_quote(const char *s, size_t len, const char *want)
{
	char *got = quote(s, len, 256);

	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(test_quote_plain_text_is_kept)
{
	expect_quote("agent@example.com", 17, "agent@example.com");
	expect_quote("a b~!#$%&'()*+,-./:;<=>?@[]^_`{|}", 33, "a b~!#$%&'()*+,-./:;<=>?@[]^_`{|}");
	expect_quote("", 0, "");
	/* the length is honoured, not the NUL */
	expect_quote("abcdef", 3, "abc");
	/* NULL is an empty string */
	expect_quote(NULL, 5, "");
}
END_TEST

START_TEST(test_quote_escapes)
{
	expect_quote("\"", 1, "\\x22");
	expect_quote("\\", 1, "\\x5c");
	expect_quote("a\nb", 3, "a\\x0ab");
	expect_quote("\r\n\t", 3, "\\x0d\\x0a\\x09");
	expect_quote("a\0b", 3, "a\\x00b");
	expect_quote("\x7f", 1, "\\x7f");
	expect_quote("\x1b[31m", 5, "\\x1b[31m");
	/* bytes >= 0x80, UTF-8 included: hex, lower case */
	expect_quote("p\xc3\xa4ss", 5, "p\\xc3\\xa4ss");
	expect_quote("\x80\xff", 2, "\\x80\\xff");
	/* a forged log line stays on one line and inside its quotes */
	expect_quote("x\" level=error\nagentauth[1]: error: forged", 42,
	    "x\\x22 level=error\\x0aagentauth[1]: error: forged");
}
END_TEST

/* Every byte: printable ASCII but '"' and '\\' as itself, all else \xHH. */
START_TEST(test_quote_every_byte)
{
	for (int c = 0; c < 256; c++) {
		char in = (char)c, want[8];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			snprintf(want, sizeof(want), "%c", c);
		else
			snprintf(want, sizeof(want), "\\x%02x", c);
		expect_quote(&in, 1, want);
	}
}
END_TEST

/* Cut to fit: the text is always a prefix of the whole quoting, never a
 * split escape, and as long as fits. */
START_TEST(test_quote_cut_to_fit)
{
	static const char in[] = "ab\"c\nd\xff" "e";
	const char *full = "ab\\x22c\\x0ad\\xffe";
	size_t fulllen = strlen(full);
	char canary[4] = { 'z', 'z', 'z', 'z' };

	for (size_t size = 1; size <= fulllen + 2; size++) {
		char *got = quote(in, sizeof(in) - 1, size);
		size_t n = strlen(got);

		ck_assert_msg(strncmp(got, full, n) == 0, "size %zu: \"%s\"", size, got);
		if (size > fulllen)
			ck_assert_str_eq(got, full);
		else
			/* the next piece (a byte or a whole escape) did not fit */
			ck_assert_msg(n + (full[n] == '\\' ? 4 : 1) >= size,
			    "size %zu: \"%s\" stopped early", size, got);
		free(got);
	}
	/* no escape is split */
	{
		char *got = quote("a\nb", 3, 5);
		ck_assert_str_eq(got, "a");
		free(got);
		got = quote("\n", 1, 5);
		ck_assert_str_eq(got, "\\x0a");
		free(got);
		got = quote("\n", 1, 4);
		ck_assert_str_eq(got, "");
		free(got);
	}
	/* size 1: only the terminator; size 0: nothing written at all */
	{
		char *got = quote("abc", 3, 1);
		ck_assert_str_eq(got, "");
		free(got);
	}
	ck_assert_ptr_eq(log_quote(canary, 0, "abc", 3), canary);
	ck_assert_mem_eq(canary, "zzzz", 4);
}
END_TEST

Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log_quote");

	tcase_add_test(tc, test_quote_plain_text_is_kept);
	tcase_add_test(tc, test_quote_escapes);
	tcase_add_test(tc, test_quote_every_byte);
	tcase_add_test(tc, test_quote_cut_to_fit);
	suite_add_tcase(s, tc);
	return s;
}
