/* Unit tests for src/encode.c: b64url_encode and the strict base64url
 * decoder (b64url_decode), checked against an encoder of our own. */
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "suites.h"
#include "testutil.h"

START_TEST(test_b64_round_trip)
{
	unsigned char in[70];
	char enc[B64URL_LEN(70) + 1];

	for (size_t n = 0; n <= 70; n++) {
		unsigned char *buf = malloc(n > 0 ? n : 1);   /* exact size: ASan */
		char *indep;
		size_t elen;

		ck_assert_ptr_nonnull(buf);
		for (size_t i = 0; i < n; i++)
			in[i] = (unsigned char)(0xfb + i * 131 + n * 7);
		elen = b64url_encode(enc, in, n);
		ck_assert_uint_eq(elen, B64URL_LEN(n));
		ck_assert_uint_eq(strlen(enc), elen);
		indep = test_b64url(in, n);
		ck_assert_str_eq(enc, indep);
		free(indep);
		ck_assert_msg(b64url_decode(buf, n, enc, elen) == (long)n,
		    "length %zu: %s does not decode", n, enc);
		ck_assert_msg(n == 0 || memcmp(buf, in, n) == 0, "length %zu: bytes differ", n);
		/* the exact capacity is enough, one byte less is not */
		if (n > 0)
			ck_assert_msg(b64url_decode(buf, n - 1, enc, elen) == -1,
			    "length %zu: decoded into %zu bytes", n, n - 1);
		free(buf);
	}
}
END_TEST

START_TEST(test_b64_all_bytes)
{
	for (int b = 0; b < 256; b++) {
		unsigned char in[2] = { (unsigned char)b, (unsigned char)(255 - b) }, out[2];
		char enc[B64URL_LEN(2) + 1];
		size_t elen;

		elen = b64url_encode(enc, in, 1);
		ck_assert_int_eq(b64url_decode(out, 1, enc, elen), 1);
		ck_assert_int_eq(out[0], b);
		elen = b64url_encode(enc, in, 2);
		ck_assert_int_eq(b64url_decode(out, 2, enc, elen), 2);
		ck_assert_int_eq(out[0], in[0]);
		ck_assert_int_eq(out[1], in[1]);
	}
}
END_TEST

/* Every two- and three-character text decodes iff its unused bits are 0,
 * so each byte string has exactly one encoding. */
START_TEST(test_b64_unused_bits_exhaustive)
{
	unsigned char out[3];
	char in[4];

	for (int i = 0; i < 64; i++)
		for (int j = 0; j < 64; j++) {
			long r;
			in[0] = test_b64url_alphabet[i];
			in[1] = test_b64url_alphabet[j];
			r = b64url_decode(out, sizeof(out), in, 2);
			if ((j & 15) == 0) {
				ck_assert_msg(r == 1, "%.2s refused", in);
				ck_assert_int_eq(out[0], i << 2 | j >> 4);
			} else {
				ck_assert_msg(r == -1, "%.2s (unused bits set) accepted", in);
			}
		}
	for (int k = 0; k < 64; k++) {
		long r;
		memcpy(in, "QU", 2);
		in[2] = test_b64url_alphabet[k];
		r = b64url_decode(out, sizeof(out), in, 3);
		ck_assert_msg(r == ((k & 3) == 0 ? 2 : -1), "%.3s gave %ld", in, r);
	}
}
END_TEST

START_TEST(test_b64_refusals)
{
	static const struct {
		const char *in;
		size_t n;
	} bad[] = {
		{ "QQ==", 4 }, { "QQ=", 3 }, { "QUI=", 4 }, { "QUJD====", 8 }, { "=", 1 },
		{ "====", 4 }, { "+/+/", 4 }, { "QUJ+", 4 }, { "QUJ/", 4 }, { "a+b/", 4 },
		{ "QQ ", 3 }, { " QQ", 3 }, { "Q Q", 3 }, { "QUJD ", 5 }, { "QU JD", 5 },
		{ "QUJD\n", 5 }, { "QUJ\t", 4 }, { "QUJ.", 4 }, { "QUJ@", 4 }, { "QUJ[", 4 },
		{ "QUJ`", 4 }, { "QUJ{", 4 }, { "QUJ:", 4 }, { "QUJ\x80", 4 }, { "QUJ\xff", 4 },
		{ "QU\0D", 4 },
		{ "Q", 1 }, { "QUJDR", 5 }, { "QUJDRUZHS", 9 },  /* 4k+1 */
		{ "A", 1 }, { "QUJDA", 5 }, { "AAAAA", 5 },       /* 4k+1, no bits set */
		{ "QR", 2 }, { "QUJ", 3 },                           /* unused bits */
	};
	unsigned char out[16];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(b64url_decode(out, sizeof(out), bad[i].in, bad[i].n) == -1,
		    "case %zu (\"%.*s\") accepted", i, (int)bad[i].n, bad[i].in);

	/* the canonical forms of the same bytes are accepted */
	ck_assert_int_eq(b64url_decode(out, sizeof(out), "QQ", 2), 1);
	ck_assert_int_eq(out[0], 0x41);
	ck_assert_int_eq(b64url_decode(out, sizeof(out), "QUI", 3), 2);
	ck_assert(memcmp(out, "AB", 2) == 0);
	ck_assert_int_eq(b64url_decode(out, sizeof(out), "QUJD", 4), 3);
	ck_assert(memcmp(out, "ABC", 3) == 0);
	ck_assert_int_eq(b64url_decode(out, sizeof(out), "-_-_", 4), 3);
	ck_assert(memcmp(out, "\xfb\xff\xbf", 3) == 0);
	ck_assert_int_eq(b64url_decode(out, sizeof(out), "", 0), 0);
	ck_assert_int_eq(b64url_decode(out, 0, "", 0), 0);
}
END_TEST

START_TEST(test_b64_capacity)
{
	unsigned char *out;

	/* heap buffers of exactly cap bytes: ASan reports any write past them */
	for (size_t cap = 0; cap <= 3; cap++) {
		out = malloc(cap > 0 ? cap : 1);
		ck_assert_ptr_nonnull(out);
		ck_assert_int_eq(b64url_decode(out, cap, "QUJD", 4), cap >= 3 ? 3 : -1);
		ck_assert_int_eq(b64url_decode(out, cap, "QUI", 3), cap >= 2 ? 2 : -1);
		ck_assert_int_eq(b64url_decode(out, cap, "QQ", 2), cap >= 1 ? 1 : -1);
		free(out);
	}
	out = malloc(5);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(b64url_decode(out, 5, "QUJDREVG", 8), -1);
	ck_assert_int_eq(b64url_decode(out, 5, "QUJDREU", 7), 5);
	ck_assert(memcmp(out, "ABCDE", 5) == 0);
	free(out);
}
END_TEST

Suite *
encode_suite(void)
{
	Suite *s = suite_create("encode");
	TCase *tc = tcase_create("b64url_decode");

	tcase_add_test(tc, test_b64_round_trip);
	tcase_add_test(tc, test_b64_all_bytes);
	tcase_add_test(tc, test_b64_unused_bits_exhaustive);
	tcase_add_test(tc, test_b64_refusals);
	tcase_add_test(tc, test_b64_capacity);
	suite_add_tcase(s, tc);
	return s;
}
