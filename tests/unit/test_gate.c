/* Unit tests for src/gate.c: gate_bearer, the Bearer scheme of the
 * Authorization and X-Agent-Authorization headers; gate_ladder, the answer
 * of doc/api.md §3.5 and §5.2 to the states of the two headers; and
 * gate_defers, when the agent check is left to the endpoint's statement. */
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

/* doc/api.md §3.5 (strict 0) and §5.2 (strict 1), row by row.  GO: the
 * request goes on. */
#define GO ERR_COUNT

static const struct {
	enum credential agent, auth;
	int strict;
	enum error_id want;
} ladder_cases[] = {
	/* §3.5 */
	{ CRED_UNAVAILABLE, CRED_ABSENT, 0, ERR_SERVICE_UNAVAILABLE },
	{ CRED_AGENT, CRED_UNAVAILABLE, 0, ERR_SERVICE_UNAVAILABLE },
	{ CRED_INVALID, CRED_UNAVAILABLE, 0, ERR_SERVICE_UNAVAILABLE },  /* 503 before 401s */
	{ CRED_INVALID, CRED_INVALID, 0, ERR_AGENT_TOKEN_INVALID },      /* 4102 wins over 001 */
	{ CRED_INVALID, CRED_AGENT, 0, ERR_AGENT_TOKEN_INVALID },
	{ CRED_AGENT, CRED_INVALID, 0, ERR_TOKEN_INVALID },  /* a good agent token excuses nothing */
	{ CRED_ABSENT, CRED_INVALID, 0, ERR_TOKEN_INVALID },
	{ CRED_AGENT, CRED_ABSENT, 0, GO },
	{ CRED_ABSENT, CRED_AGENT, 0, GO },
	{ CRED_AGENT, CRED_AGENT, 0, GO },
	{ CRED_AGENT, CRED_NOT_BEARER, 0, GO },              /* not Bearer: ignored */
	{ CRED_NOT_BEARER, CRED_AGENT, 0, GO },
	{ CRED_OTHER, CRED_AGENT, 0, GO },
	{ CRED_ABSENT, CRED_ABSENT, 0, ERR_AGENT_ONLY },
	{ CRED_NOT_BEARER, CRED_ABSENT, 0, ERR_AGENT_ONLY },
	{ CRED_OTHER, CRED_OTHER, 0, ERR_AGENT_ONLY },
	{ CRED_PENDING, CRED_ABSENT, 0, ERR_AGENT_ONLY },    /* unconfirmed: not an agent */
	/* §5.2 */
	{ CRED_ABSENT, CRED_ABSENT, 1, ERR_TOKEN_MISSING },
	{ CRED_NOT_BEARER, CRED_AGENT, 1, ERR_AGENT_TOKEN_INVALID },
	{ CRED_AGENT, CRED_NOT_BEARER, 1, ERR_TOKEN_INVALID },
	{ CRED_OTHER, CRED_ABSENT, 1, ERR_AGENT_ONLY },
	{ CRED_ABSENT, CRED_AGENT, 1, GO },
	{ CRED_UNAVAILABLE, CRED_NOT_BEARER, 1, ERR_SERVICE_UNAVAILABLE },
};

START_TEST(test_ladder)
{
	enum error_id got = GO;
	int rc = gate_ladder(ladder_cases[_i].agent, ladder_cases[_i].auth, ladder_cases[_i].strict,
	    &got);

	ck_assert_int_eq(rc, ladder_cases[_i].want == GO ? 0 : -1);
	if (rc < 0)
		ck_assert_int_eq(got, ladder_cases[_i].want);
}
END_TEST

static const enum credential local_states[] = {
	CRED_ABSENT, CRED_NOT_BEARER, CRED_INVALID, CRED_OTHER, CRED_PENDING,
};

#define NLOCAL (sizeof(local_states) / sizeof(local_states[0]))

/* What the gate answers when it asks the database itself (no deferring):
 * X-Agent-Authorization's token first, Authorization's only if the first
 * could be asked; db[0] and db[1] are the database's answers for them. */
static int
asked(enum credential agent, enum credential auth, const enum credential db[2],
    enum error_id *err_r)
{
	if (agent == CRED_PENDING)
		agent = db[0];
	if (agent != CRED_UNAVAILABLE && auth == CRED_PENDING)
		auth = db[1];
	return gate_ladder(agent, auth, 0, err_r);
}

/* Every pair of header states the gate can see without the database: it
 * defers exactly when one agent token waits and the request goes on if that
 * token is good; and settling a deferred check with each answer of the
 * database gives what asking first gives (same status, same error). */
START_TEST(test_defers_only_when_the_answer_is_the_statement_s)
{
	static const enum credential answers[] = { CRED_AGENT, CRED_INVALID, CRED_UNAVAILABLE };
	enum credential agent = local_states[_i / NLOCAL], auth = local_states[_i % NLOCAL];
	int pending = (agent == CRED_PENDING) + (auth == CRED_PENDING), defers;
	enum error_id e;

	defers = gate_defers(agent, auth);
	if (pending != 1) {
		ck_assert_msg(!defers, "defers with %d pending tokens", pending);
		return;
	}
	/* deferred iff a good token lets the request go on */
	ck_assert_int_eq(defers, gate_ladder(agent == CRED_PENDING ? CRED_AGENT : agent,
	    auth == CRED_PENDING ? CRED_AGENT : auth, 0, &e) == 0);
	if (!defers)
		return;
	for (size_t k = 0; k < sizeof(answers) / sizeof(answers[0]); k++) {
		const enum credential db[2] = { answers[k], answers[k] };
		enum error_id want = GO, got = GO;
		int want_rc = asked(agent, auth, db, &want);
		int got_rc = gate_ladder(agent == CRED_PENDING ? answers[k] : agent,
		    auth == CRED_PENDING ? answers[k] : auth, 0, &got);

		ck_assert_int_eq(got_rc, want_rc);
		ck_assert_int_eq(got, want);
		/* and the database's answer is what decides */
		ck_assert_int_eq(got_rc, answers[k] == CRED_AGENT ? 0 : -1);
	}
}
END_TEST

/* The common case, one agent token, defers; two agent tokens, or one next
 * to an invalid token, do not (the database chooses between answers). */
START_TEST(test_defers_examples)
{
	ck_assert_int_eq(gate_defers(CRED_PENDING, CRED_ABSENT), 1);
	ck_assert_int_eq(gate_defers(CRED_ABSENT, CRED_PENDING), 1);
	ck_assert_int_eq(gate_defers(CRED_PENDING, CRED_OTHER), 1);
	ck_assert_int_eq(gate_defers(CRED_NOT_BEARER, CRED_PENDING), 1);
	ck_assert_int_eq(gate_defers(CRED_PENDING, CRED_PENDING), 0);
	ck_assert_int_eq(gate_defers(CRED_PENDING, CRED_INVALID), 0);
	ck_assert_int_eq(gate_defers(CRED_INVALID, CRED_PENDING), 0);
	ck_assert_int_eq(gate_defers(CRED_ABSENT, CRED_ABSENT), 0);
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

	tc = tcase_create("gate_ladder and gate_defers");
	tcase_add_loop_test(tc, test_ladder, 0,
	    (int)(sizeof(ladder_cases) / sizeof(ladder_cases[0])));
	tcase_add_loop_test(tc, test_defers_only_when_the_answer_is_the_statement_s, 0,
	    (int)(NLOCAL * NLOCAL));
	tcase_add_test(tc, test_defers_examples);
	suite_add_tcase(s, tc);

	/* the RSA keys are made once (lazily, in the runner) and freed at exit */
	tc = tcase_create("gate_bearer then token_verify");
	tcase_add_unchecked_fixture(tc, test_keys_setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_bearer_double_space_fails_verification);
	suite_add_tcase(s, tc);
	return s;
}
