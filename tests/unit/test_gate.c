/* Unit tests for src/gate.c: gate_bearer, the Bearer scheme of the
 * Authorization and X-Agent-Authorization headers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "suites.h"
#include "testutil.h"

static const struct {
	const char *header;
	const char *token;   /* NULL: refused */
} bearer_cases[] = {
	{ "Bearer abc", "abc" },
	{ "bearer abc", "abc" },
	{ "BEARER abc", "abc" },
	{ "bEaReR abc", "abc" },
	{ "Bearer  abc", " abc" },        /* the extra space stays in the token */
	{ "Bearer a.b.c", "a.b.c" },
	{ "Bearer", NULL },
	{ "Bearer ", NULL },
	{ "Basic abc", NULL },
	{ "Bearerabc", NULL },
	{ "Bearer\tabc", NULL },
	{ "Bearer:abc", NULL },
	{ " Bearer abc", NULL },
	{ "Bear abc", NULL },
	{ "", NULL },
};

START_TEST(test_bearer)
{
	const char *header = bearer_cases[_i].header, *want = bearer_cases[_i].token, *got;
	size_t len = 12345;

	got = gate_bearer(header, &len);
	if (want == NULL) {
		ck_assert_msg(got == NULL, "\"%s\" gave \"%s\"", header, got);
	} else {
		ck_assert_msg(got != NULL, "\"%s\" refused", header);
		ck_assert_uint_eq(len, strlen(want));
		ck_assert_str_eq(got, want);
		ck_assert_ptr_eq(got, header + 7);
	}
}
END_TEST

START_TEST(test_bearer_null)
{
	size_t len = 0;

	ck_assert_ptr_null(gate_bearer(NULL, &len));
}
END_TEST

/* "Bearer  <token>" yields " <token>", which the verifier refuses. */
START_TEST(test_bearer_double_space_fails_verification)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	struct claims c = default_claims();
	struct token_info info;
	char *tok = make_claims_token(HDR_A, &c, SIG_RS256_A), *header;
	const char *t;
	size_t hlen = strlen(tok) + 9, len = 0;

	header = malloc(hlen);
	ck_assert_ptr_nonnull(header);
	snprintf(header, hlen, "Bearer %s", tok);
	t = gate_bearer(header, &len);
	ck_assert_ptr_nonnull(t);
	ACCEPTED(&p, t, len, &info, "one space");

	snprintf(header, hlen, "Bearer  %s", tok);
	t = gate_bearer(header, &len);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t[0], ' ');
	ck_assert_uint_eq(len, strlen(tok) + 1);
	REFUSED(&p, t, len, "two spaces");
	free(header);
	free(tok);
}
END_TEST

Suite *
gate_suite(void)
{
	Suite *s = suite_create("gate");
	TCase *tc = tcase_create("gate_bearer");

	tcase_add_loop_test(tc, test_bearer, 0,
	    (int)(sizeof(bearer_cases) / sizeof(bearer_cases[0])));
	tcase_add_test(tc, test_bearer_null);
	suite_add_tcase(s, tc);

	/* the RSA keys are made once (lazily, in the runner) and freed at exit */
	tc = tcase_create("gate_bearer then token_verify");
	tcase_add_unchecked_fixture(tc, test_keys_setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_bearer_double_space_fails_verification);
	suite_add_tcase(s, tc);
	return s;
}
