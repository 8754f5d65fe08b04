/* Unit tests for src/verify.c (token_verify): valid tokens, forged
 * headers and signatures, claims, structure, encoding and size, and key
 * rotation.
 *
 * Forged tokens are built with the kit of testutil.h from raw JSON text
 * and signed with OpenSSL, so the verifier sees exactly what an attacker
 * could send (doc/security.md §1 "Presented tokens"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/evp.h>

#include "encode.h"
#include "suites.h"
#include "testutil.h"
#include "token.h"
#include "verify.h"

/* ====================================================================== */
/* token_verify: valid tokens */

static const char *const agent_scopes[] = { "agent" };
static const char *const impersonation_scopes[] = { "customer_impersonation", "customer" };
static const char *const customer_scopes[] = { "customer" };

START_TEST(test_valid_agent_token)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	char *sub = token_agent_sub(5);
	struct access_claims c = {
		.aud = AUD, .iss = NULL, .iat = NOW, .ttl = 900, .sub = sub,
		.scopes = agent_scopes, .nscopes = 1, .act_sub = NULL,
	};
	struct token_info info;
	char *tok = token_issue_access(&sk_a, &c);

	ck_assert_ptr_nonnull(tok);
	ACCEPTED(&p, tok, strlen(tok), &info, "agent token");
	ck_assert_int_eq(info.kind, TOKEN_AGENT);
	ck_assert_int_eq(info.agent_id, 5);
	ck_assert_int_eq(info.customer_id, 0);
	ck_assert_str_eq(info.customer_reference, "");
	ck_assert_int_eq(info.impersonation, 0);
	ck_assert_int_eq(info.iat, NOW);
	ck_assert_int_eq(info.exp, NOW + 900);

	/* verified as-is at the last second of its life, not a second later */
	p.skew = 0;
	p.now = NOW + 899;
	ACCEPTED(&p, tok, strlen(tok), &info, "last second");
	p.now = NOW + 900;
	REFUSED(&p, tok, strlen(tok), "expired at exp");

	/* the length is honoured: a buffer without a terminating NUL */
	{
		size_t len = strlen(tok);
		char *exact = malloc(len);
		ck_assert_ptr_nonnull(exact);
		memcpy(exact, tok, len);
		p.now = NOW;
		ACCEPTED(&p, exact, len, &info, "unterminated buffer");
		REFUSED(&p, exact, len - 1, "one byte short");
		free(exact);
	}
	free(tok);
	free(sub);
}
END_TEST

START_TEST(test_valid_customer_token)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "https://issuer.example");
	struct access_claims c = {
		.aud = AUD, .iss = "https://issuer.example", .iat = NOW, .ttl = 600,
		.sub = CUSTOMER_SUB, .scopes = impersonation_scopes, .nscopes = 2,
		.act_sub = "agent:7",
	};
	struct token_info info;
	char *tok = token_issue_access(&sk_a, &c);

	ck_assert_ptr_nonnull(tok);
	ACCEPTED(&p, tok, strlen(tok), &info, "impersonation token");
	ck_assert_int_eq(info.kind, TOKEN_CUSTOMER);
	ck_assert_int_eq(info.impersonation, 1);
	ck_assert_int_eq(info.customer_id, 21);
	ck_assert_str_eq(info.customer_reference, "DE--21");
	ck_assert_int_eq(info.agent_id, 7);
	ck_assert_int_eq(info.iat, NOW);
	ck_assert_int_eq(info.exp, NOW + 600);
	free(tok);

	/* a plain customer token */
	c.scopes = customer_scopes;
	c.nscopes = 1;
	c.act_sub = NULL;
	tok = token_issue_access(&sk_a, &c);
	ck_assert_ptr_nonnull(tok);
	ACCEPTED(&p, tok, strlen(tok), &info, "customer token");
	ck_assert_int_eq(info.kind, TOKEN_CUSTOMER);
	ck_assert_int_eq(info.impersonation, 0);
	ck_assert_int_eq(info.customer_id, 21);
	ck_assert_str_eq(info.customer_reference, "DE--21");
	ck_assert_int_eq(info.agent_id, 0);
	free(tok);
}
END_TEST

/* The forging machinery itself: a hand-made token signed by key A passes,
 * so every refusal below is due to the one thing changed. */
START_TEST(test_crafted_baseline)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 0, "");
	struct claims c = default_claims();
	struct token_info info;
	char *tok = make_claims_token(HDR_A, &c, SIG_RS256_A);

	ACCEPTED(&p, tok, strlen(tok), &info, "crafted, kid A");
	ck_assert_int_eq(info.kind, TOKEN_AGENT);
	ck_assert_int_eq(info.agent_id, 5);
	free(tok);
	tok = make_claims_token(HDR_NOKID, &c, SIG_RS256_A);
	ACCEPTED(&p, tok, strlen(tok), &info, "crafted, no kid");
	free(tok);
	tok = make_claims_token("{\"alg\":\"RS256\",\"kid\":\"$A\",\"typ\":\"JWT\"}", &c,
	    SIG_RS256_A);
	ACCEPTED(&p, tok, strlen(tok), &info, "crafted, other member order");
	free(tok);
}
END_TEST

/* ====================================================================== */
/* token_verify: forged headers and signatures (payload valid) */

static const struct {
	const char *label;
	const char *header;   /* "$A"/"$B" = kid of key A/B */
	enum signer signer;
} header_cases[] = {
	{ "alg none, empty signature", "{\"alg\":\"none\",\"typ\":\"JWT\"}", SIG_EMPTY },
	{ "alg none, RS256 signature", "{\"alg\":\"none\",\"typ\":\"JWT\"}", SIG_RS256_A },
	{ "alg none, junk signature", "{\"typ\":\"JWT\",\"alg\":\"none\",\"kid\":\"$A\"}", SIG_JUNK },
	{ "alg None, empty signature", "{\"alg\":\"None\",\"typ\":\"JWT\"}", SIG_EMPTY },
	{ "alg None, RS256 signature", "{\"alg\":\"None\",\"typ\":\"JWT\"}", SIG_RS256_A },
	{ "alg NONE, empty signature", "{\"alg\":\"NONE\",\"typ\":\"JWT\"}", SIG_EMPTY },
	{ "alg NONE, RS256 signature", "{\"alg\":\"NONE\",\"typ\":\"JWT\"}", SIG_RS256_A },
	{ "alg none only", "{\"alg\":\"none\"}", SIG_EMPTY },
	{ "HS256 keyed with the public PEM", "{\"typ\":\"JWT\",\"alg\":\"HS256\",\"kid\":\"$A\"}",
		SIG_HS256_PUB },
	{ "HS256 keyed with the public PEM, no kid", "{\"typ\":\"JWT\",\"alg\":\"HS256\"}",
		SIG_HS256_PUB },
	{ "HS384 keyed with the public PEM", "{\"typ\":\"JWT\",\"alg\":\"HS384\",\"kid\":\"$A\"}",
		SIG_HS384_PUB },
	{ "HS512 keyed with the public PEM", "{\"typ\":\"JWT\",\"alg\":\"HS512\",\"kid\":\"$A\"}",
		SIG_HS512_PUB },
	{ "alg RS256 but an HS256 MAC", HDR_A, SIG_HS256_PUB },
	{ "alg RS256 but an HS512 MAC", HDR_NOKID, SIG_HS512_PUB },
	{ "RS512 with our key", "{\"typ\":\"JWT\",\"alg\":\"RS512\",\"kid\":\"$A\"}", SIG_RS512_A },
	{ "PS256 with our key", "{\"typ\":\"JWT\",\"alg\":\"PS256\",\"kid\":\"$A\"}", SIG_PS256_A },
	{ "alg RS256 but an RS512 signature", HDR_A, SIG_RS512_A },
	{ "alg RS256 but a PS256 signature", HDR_A, SIG_PS256_A },
	{ "ES256 header with our key", "{\"typ\":\"JWT\",\"alg\":\"ES256\",\"kid\":\"$A\"}",
		SIG_RS256_A },
	{ "alg rs256 (lowercase)", "{\"typ\":\"JWT\",\"alg\":\"rs256\",\"kid\":\"$A\"}",
		SIG_RS256_A },
	{ "alg \"RS256 \"", "{\"typ\":\"JWT\",\"alg\":\"RS256 \",\"kid\":\"$A\"}", SIG_RS256_A },
	{ "alg \"RS256\\u0000\"", "{\"typ\":\"JWT\",\"alg\":\"RS256\\u0000\",\"kid\":\"$A\"}",
		SIG_RS256_A },
	{ "alg as an array", "{\"typ\":\"JWT\",\"alg\":[\"RS256\"],\"kid\":\"$A\"}", SIG_RS256_A },
	{ "alg null", "{\"typ\":\"JWT\",\"alg\":null,\"kid\":\"$A\"}", SIG_RS256_A },
	{ "alg missing", "{\"typ\":\"JWT\",\"kid\":\"$A\"}", SIG_RS256_A },
	{ "zero-filled signature", HDR_A, SIG_ZERO },
	{ "junk signature", HDR_A, SIG_JUNK },
	{ "foreign key, our kid", HDR_A, SIG_RS256_B },
	{ "foreign key, no kid", HDR_NOKID, SIG_RS256_B },
	{ "foreign key, its own kid", HDR_B, SIG_RS256_B },
	{ "unknown kid", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"unknown\"}", SIG_RS256_A },
	{ "kid ../../dev/null", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"../../dev/null\"}",
		SIG_RS256_A },
	{ "kid ' OR 1=1", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"' OR 1=1\"}", SIG_RS256_A },
	{ "kid empty", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"\"}", SIG_RS256_A },
	{ "kid our kid plus a character", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$Ax\"}",
		SIG_RS256_A },
	{ "kid our kid with a NUL", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$A\\u0000\"}",
		SIG_RS256_A },
	{ "kid a number", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":1}", SIG_RS256_A },
	{ "kid null", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":null}", SIG_RS256_A },
	{ "kid an array", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":[\"$A\"]}", SIG_RS256_A },
	{ "jku", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$A\","
		"\"jku\":\"https://evil.example/jwks.json\"}", SIG_RS256_A },
	{ "x5u", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$A\","
		"\"x5u\":\"https://evil.example/cert.pem\"}", SIG_RS256_A },
	{ "jwk", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$A\","
		"\"jwk\":{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"AQAB\"}}", SIG_RS256_A },
	{ "x5c", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$A\",\"x5c\":[\"MIIB\"]}",
		SIG_RS256_A },
	{ "crit", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$A\",\"crit\":[\"exp\"]}",
		SIG_RS256_A },
	{ "cty", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$A\",\"cty\":\"JWT\"}", SIG_RS256_A },
	{ "nested alg none", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$A\","
		"\"x\":{\"alg\":\"none\"}}", SIG_RS256_A },
	{ "duplicate alg, RS256 last", "{\"typ\":\"JWT\",\"alg\":\"HS256\",\"alg\":\"RS256\","
		"\"kid\":\"$A\"}", SIG_RS256_A },
	{ "duplicate alg, RS256 first", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"alg\":\"none\","
		"\"kid\":\"$A\"}", SIG_RS256_A },
	{ "duplicate alg, both RS256", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"alg\":\"RS256\","
		"\"kid\":\"$A\"}", SIG_RS256_A },
	{ "duplicate kid", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"unknown\","
		"\"kid\":\"$A\"}", SIG_RS256_A },
	{ "duplicate typ", "{\"typ\":\"at+jwt\",\"typ\":\"JWT\",\"alg\":\"RS256\","
		"\"kid\":\"$A\"}", SIG_RS256_A },
	{ "typ at+jwt", "{\"typ\":\"at+jwt\",\"alg\":\"RS256\",\"kid\":\"$A\"}", SIG_RS256_A },
	{ "typ missing", "{\"alg\":\"RS256\",\"kid\":\"$A\"}", SIG_RS256_A },
	{ "typ null", "{\"typ\":null,\"alg\":\"RS256\",\"kid\":\"$A\"}", SIG_RS256_A },
	{ "typ JWS", "{\"typ\":\"JWS\",\"alg\":\"RS256\",\"kid\":\"$A\"}", SIG_RS256_A },
	{ "header {}", "{}", SIG_RS256_A },
	{ "header an array", "[\"RS256\",\"JWT\"]", SIG_RS256_A },
	{ "header a string", "\"RS256\"", SIG_RS256_A },
	{ "header null", "null", SIG_RS256_A },
	{ "header not JSON", "alg=RS256", SIG_RS256_A },
	{ "header with trailing garbage", HDR_A "x", SIG_RS256_A },
	{ "header followed by a second object", HDR_A "{}", SIG_RS256_A },
	{ "header with a trailing comma", "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$A\",}",
		SIG_RS256_A },
	{ "header in single quotes", "{'typ':'JWT','alg':'RS256','kid':'$A'}", SIG_RS256_A },
	{ "header empty", "", SIG_RS256_A },
};

START_TEST(test_forged_header)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	struct claims c = default_claims();
	char *tok = make_claims_token(header_cases[_i].header, &c, header_cases[_i].signer);

	REFUSED(&p, tok, strlen(tok), header_cases[_i].label);
	free(tok);
}
END_TEST

/* "alg":"none" with no third segment at all ("h.p"). */
START_TEST(test_alg_none_two_segments)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	static const char *const algs[] = { "none", "None", "NONE" };
	struct claims c = default_claims();
	char *payload = claims_text(&c), *p64 = test_b64url_str(payload);

	for (size_t i = 0; i < 3; i++) {
		char header[64], *h64, *tok;
		snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", algs[i]);
		h64 = test_b64url_str(header);
		tok = test_join(h64, p64, NULL);
		REFUSED(&p, tok, strlen(tok), algs[i]);
		free(tok);
		tok = test_join(h64, p64, "");
		REFUSED(&p, tok, strlen(tok), algs[i]);
		free(tok);
		free(h64);
	}
	free(p64);
	free(payload);
}
END_TEST

/* ====================================================================== */
/* token_verify: claims (header and signature valid) */

static const struct {
	const char *label;
	const char *name;     /* the claim changed; NULL none; "extra"; "*" whole payload */
	const char *value;    /* raw JSON; NULL removes the claim */
	long skew;
	const char *iss;      /* configured issuer */
	int accept;
} claim_cases[] = {
	{ "unchanged, skew 60", NULL, NULL, 60, "", 1 },
	{ "unchanged, skew 0", NULL, NULL, 0, "", 1 },
	/* exp */
	{ "exp now-1", "exp", "1699999999", 0, "", 0 },
	{ "exp now", "exp", "1700000000", 0, "", 0 },
	{ "exp now+1", "exp", "1700000001", 0, "", 1 },
	{ "exp now-1 within skew 60", "exp", "1699999999", 60, "", 1 },
	{ "exp now-59 within skew 60", "exp", "1699999941", 60, "", 1 },
	{ "exp now-60 at the skew edge", "exp", "1699999940", 60, "", 0 },
	{ "exp now-61 beyond skew 60", "exp", "1699999939", 60, "", 0 },
	{ "exp missing", "exp", NULL, 60, "", 0 },
	{ "exp a string", "exp", "\"1700000900\"", 60, "", 0 },
	{ "exp a float 1e10", "exp", "1e10", 60, "", 0 },
	{ "exp a float 1700000900.0", "exp", "1700000900.0", 60, "", 0 },
	{ "exp 99999999999999999999", "exp", "99999999999999999999", 60, "", 0 },
	{ "exp 2^63-1", "exp", "9223372036854775807", 60, "", 0 },
	{ "exp 2^63", "exp", "9223372036854775808", 60, "", 0 },
	{ "exp -1", "exp", "-1", 60, "", 0 },
	{ "exp 0", "exp", "0", 60, "", 0 },
	{ "exp null", "exp", "null", 60, "", 0 },
	{ "exp true", "exp", "true", 60, "", 0 },
	{ "exp an array", "exp", "[1700000900]", 60, "", 0 },
	{ "exp NaN", "exp", "NaN", 60, "", 0 },
	/* nbf */
	{ "nbf now+1, skew 0", "nbf", "1700000001", 0, "", 0 },
	{ "nbf now+61, skew 60", "nbf", "1700000061", 60, "", 0 },
	{ "nbf now+60, skew 60", "nbf", "1700000060", 60, "", 1 },
	{ "nbf now+30, skew 60", "nbf", "1700000030", 60, "", 1 },
	{ "nbf missing", "nbf", NULL, 60, "", 1 },
	{ "nbf a string", "nbf", "\"1700000000\"", 60, "", 0 },
	{ "nbf a float", "nbf", "1.7e9", 60, "", 0 },
	{ "nbf null", "nbf", "null", 60, "", 0 },
	/* iat */
	{ "iat now+1, skew 0", "iat", "1700000001", 0, "", 0 },
	{ "iat now+61, skew 60", "iat", "1700000061", 60, "", 0 },
	{ "iat now+30, skew 60", "iat", "1700000030", 60, "", 1 },
	{ "iat missing", "iat", NULL, 60, "", 0 },
	{ "iat a string", "iat", "\"1700000000\"", 60, "", 0 },
	{ "iat a float", "iat", "1700000000.5", 60, "", 0 },
	/* aud */
	{ "aud wrong", "aud", "\"backend\"", 60, "", 0 },
	{ "aud another case", "aud", "\"Frontend\"", 60, "", 0 },
	{ "aud with a suffix", "aud", "\"frontendx\"", 60, "", 0 },
	{ "aud a prefix", "aud", "\"front\"", 60, "", 0 },
	{ "aud with a NUL", "aud", "\"frontend\\u0000x\"", 60, "", 0 },
	{ "aud an array", "aud", "[\"frontend\"]", 60, "", 0 },
	{ "aud missing", "aud", NULL, 60, "", 0 },
	{ "aud null", "aud", "null", 60, "", 0 },
	{ "aud duplicate, right one last", "extra", "\"aud\":\"frontend\"", 60, "", 0 },
	/* iss */
	{ "iss required and missing", NULL, NULL, 60, "https://issuer.example", 0 },
	{ "iss required and wrong", "iss", "\"https://evil.example\"", 60,
		"https://issuer.example", 0 },
	{ "iss required, a prefix", "iss", "\"https://issuer.exampl\"", 60,
		"https://issuer.example", 0 },
	{ "iss required, an array", "iss", "[\"https://issuer.example\"]", 60,
		"https://issuer.example", 0 },
	{ "iss required and right", "iss", "\"https://issuer.example\"", 60,
		"https://issuer.example", 1 },
	{ "iss not configured, present", "iss", "\"https://issuer.example\"", 60, "", 1 },
	/* jti */
	{ "jti missing", "jti", NULL, 60, "", 0 },
	{ "jti a number", "jti", "12345", 60, "", 0 },
	{ "jti null", "jti", "null", 60, "", 0 },
	/* sub */
	{ "sub missing", "sub", NULL, 60, "", 0 },
	{ "sub an object, not a string", "sub",
		"{\"id_company_user\":null,\"id_agent\":5,\"customer_reference\":null,"
		"\"id_customer\":null,\"permissions\":null}", 60, "", 0 },
	{ "sub numeric", "sub", "5", 60, "", 0 },
	{ "sub a numeric string", "sub", "\"5\"", 60, "", 0 },
	{ "sub not JSON", "sub", "\"agent:5\"", 60, "", 0 },
	{ "sub null", "sub", "null", 60, "", 0 },
	{ "sub without id_agent", "sub", "\"{\\\"id_customer\\\":21}\"", 60, "", 0 },
	{ "sub id_agent a string", "sub", "\"{\\\"id_agent\\\":\\\"5\\\"}\"", 60, "", 0 },
	{ "sub id_agent 0", "sub", "\"{\\\"id_agent\\\":0}\"", 60, "", 0 },
	{ "sub id_agent -5", "sub", "\"{\\\"id_agent\\\":-5}\"", 60, "", 0 },
	{ "sub id_agent a float", "sub", "\"{\\\"id_agent\\\":5.0}\"", 60, "", 0 },
	{ "sub with duplicate id_agent", "sub",
		"\"{\\\"id_agent\\\":5,\\\"id_agent\\\":6}\"", 60, "", 0 },
	/* scopes */
	{ "scopes missing", "scopes", NULL, 60, "", 0 },
	{ "scopes a string", "scopes", "\"agent\"", 60, "", 0 },
	{ "scopes empty", "scopes", "[]", 60, "", 0 },
	{ "scopes agent and customer", "scopes", "[\"agent\",\"customer\"]", 60, "", 0 },
	{ "scopes customer and agent", "scopes", "[\"customer\",\"agent\"]", 60, "", 0 },
	{ "scopes agent twice", "scopes", "[\"agent\",\"agent\"]", 60, "", 0 },
	{ "scopes Agent", "scopes", "[\"Agent\"]", 60, "", 0 },
	{ "scopes refresh", "scopes", "[\"refresh\"]", 60, "", 0 },
	{ "scopes a number", "scopes", "[1]", 60, "", 0 },
	{ "scopes agent and a number", "scopes", "[\"agent\",1]", 60, "", 0 },
	{ "scopes null", "scopes", "null", 60, "", 0 },
	/* the payload as a whole */
	{ "payload an array", "*", "[{\"aud\":\"frontend\"}]", 60, "", 0 },
	{ "payload a string", "*", "\"frontend\"", 60, "", 0 },
	{ "payload a number", "*", "1", 60, "", 0 },
	{ "payload null", "*", "null", 60, "", 0 },
	{ "payload {}", "*", "{}", 60, "", 0 },
	{ "payload empty", "*", "", 60, "", 0 },
	{ "payload with trailing garbage", "extra", "\"x\":1}x", 60, "", 0 },
	{ "duplicate exp", "extra", "\"exp\":1800000000", 60, "", 0 },
	{ "duplicate scopes", "extra", "\"scopes\":[\"customer\"]", 60, "", 0 },
};

static void
set_claim(struct claims *c, const char *name, const char *value)
{
	if (strcmp(name, "aud") == 0)
		c->aud = value;
	else if (strcmp(name, "iss") == 0)
		c->iss = value;
	else if (strcmp(name, "jti") == 0)
		c->jti = value;
	else if (strcmp(name, "iat") == 0)
		c->iat = value;
	else if (strcmp(name, "nbf") == 0)
		c->nbf = value;
	else if (strcmp(name, "exp") == 0)
		c->exp = value;
	else if (strcmp(name, "sub") == 0)
		c->sub = value;
	else if (strcmp(name, "scopes") == 0)
		c->scopes = value;
	else if (strcmp(name, "extra") == 0)
		c->extra = value;
	else
		ck_abort_msg("unknown claim %s", name);
}

START_TEST(test_claims)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, claim_cases[_i].skew, claim_cases[_i].iss);
	struct claims c = default_claims();
	struct token_info info;
	const char *name = claim_cases[_i].name;
	char *tok;

	if (name != NULL && strcmp(name, "*") == 0) {
		tok = make_token(HDR_A, claim_cases[_i].value, SIG_RS256_A);
	} else {
		if (name != NULL)
			set_claim(&c, name, claim_cases[_i].value);
		tok = make_claims_token(HDR_A, &c, SIG_RS256_A);
	}
	if (claim_cases[_i].accept) {
		ACCEPTED(&p, tok, strlen(tok), &info, claim_cases[_i].label);
		ck_assert_int_eq(info.kind, TOKEN_AGENT);
		ck_assert_int_eq(info.agent_id, 5);
	} else {
		REFUSED(&p, tok, strlen(tok), claim_cases[_i].label);
	}
	free(tok);
}
END_TEST

/* ====================================================================== */
/* token_verify: structure, encoding and size */

START_TEST(test_segments)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	struct claims c = default_claims();
	char *tok = make_claims_token(HDR_A, &c, SIG_RS256_A), *t;
	const char *d1 = strchr(tok, '.'), *d2 = strrchr(tok, '.');
	size_t len = strlen(tok);
	static const char *const junk[] = { "", ".", "..", "...", "a", "a.b", "a.b.c",
		"a.b.c.d", "eyJ.eyJ.", ".eyJ.eyJ" };

	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		REFUSED(&p, junk[i], strlen(junk[i]), junk[i]);

	/* two segments: header.payload */
	REFUSED(&p, tok, (size_t)(d2 - tok), "two segments");
	REFUSED(&p, tok, (size_t)(d2 - tok) + 1, "two segments and a dot (empty signature)");
	/* four segments */
	t = malloc(len + 8);
	ck_assert_ptr_nonnull(t);
	snprintf(t, len + 8, "%s.", tok);
	REFUSED(&p, t, strlen(t), "trailing dot");
	snprintf(t, len + 8, "%s.eyJ9", tok);
	REFUSED(&p, t, strlen(t), "four segments");
	snprintf(t, len + 8, "%.*s.%s", (int)(d1 - tok), tok, d1);
	REFUSED(&p, t, strlen(t), "empty second segment inserted");
	/* the signature segment empty, the header or payload empty */
	snprintf(t, len + 8, "%.*s", (int)(d2 - tok + 1), tok);
	REFUSED(&p, t, strlen(t), "empty signature");
	snprintf(t, len + 8, "%s", d1);
	REFUSED(&p, t, strlen(t), "empty header");
	snprintf(t, len + 8, "%.*s.%s", (int)(d1 - tok), tok, d2);
	REFUSED(&p, t, strlen(t), "empty payload");
	/* white space and line breaks around or inside */
	snprintf(t, len + 8, " %s", tok);
	REFUSED(&p, t, strlen(t), "leading space");
	snprintf(t, len + 8, "%s ", tok);
	REFUSED(&p, t, strlen(t), "trailing space");
	snprintf(t, len + 8, "%s\r\n", tok);
	REFUSED(&p, t, strlen(t), "trailing CRLF");
	snprintf(t, len + 8, "%.*s\r\n%s", (int)(d2 - tok), tok, d2);
	REFUSED(&p, t, strlen(t), "CRLF inside");
	free(t);
	free(tok);
}
END_TEST

/* Signature bytes of the wrong length, around a valid signature. */
START_TEST(test_signature_length)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	struct claims c = default_claims();
	char *payload = claims_text(&c), *header = with_kids(HDR_A);
	char *h64 = test_b64url_str(header), *p64 = test_b64url_str(payload), *input = test_join(h64, p64, NULL);
	size_t siglen;
	unsigned char *sig = sign_with(SIG_RS256_A, input, strlen(input), &siglen);
	unsigned char big[1100];
	static const size_t lens[] = { 1, 2, 128, 255, 257, 512, 768, 1024, 1025, 1100 };
	char *s64, *tok;
	struct token_info info;

	ck_assert_uint_eq(siglen, 256);
	s64 = test_b64url(sig, siglen);
	tok = test_join(h64, p64, s64);
	ACCEPTED(&p, tok, strlen(tok), &info, "256 bytes");
	free(tok);
	free(s64);

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = i < siglen ? sig[i] : 0;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		char label[64];
		s64 = test_b64url(big, lens[i]);
		tok = test_join(h64, p64, s64);
		snprintf(label, sizeof(label), "signature of %zu bytes", lens[i]);
		REFUSED(&p, tok, strlen(tok), label);
		free(tok);
		free(s64);
	}
	/* a leading zero byte before a valid signature */
	big[0] = 0;
	memcpy(big + 1, sig, siglen);
	s64 = test_b64url(big, siglen + 1);
	tok = test_join(h64, p64, s64);
	REFUSED(&p, tok, strlen(tok), "signature with a leading zero byte");
	free(tok);
	free(s64);

	free(sig);
	free(input);
	free(h64);
	free(p64);
	free(header);
	free(payload);
}
END_TEST

/* Converts base64url text to the standard alphabet in place. */
static int
to_std_alphabet(char *s)
{
	int changed = 0;

	for (; *s != '\0'; s++)
		if (*s == '-' || *s == '_') {
			*s = *s == '-' ? '+' : '/';
			changed = 1;
		}
	return changed;
}

/* Standard base64 (+, / and = padding) in a segment.  The header and payload
 * variants are signed with our key over the exact text, so only the
 * decoder's strictness can refuse them. */
START_TEST(test_standard_base64_refused)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	struct token_info info;
	char *header = with_kids(HDR_A), *h64 = test_b64url_str(header);
	int found_sig = 0, found_payload = 0;

	for (int attempt = 0; attempt < 200 && !(found_sig && found_payload); attempt++) {
		struct claims c = default_claims();
		char jti[48], *payload, *p64, *p64std, *input, *sig64, *tok, *tmp;
		unsigned char *sig;
		size_t siglen;

		/* '~' and '?' bytes make '-' and '_' likely in the payload text */
		snprintf(jti, sizeof(jti), "\"%.*s%d\"", attempt % 3 + 1, "~?~", attempt);
		c.jti = jti;
		payload = claims_text(&c);
		p64 = test_b64url_str(payload);
		input = test_join(h64, p64, NULL);
		sig = sign_with(SIG_RS256_A, input, strlen(input), &siglen);
		sig64 = test_b64url(sig, siglen);

		tok = test_join(h64, p64, sig64);
		ACCEPTED(&p, tok, strlen(tok), &info, "canonical form");
		free(tok);

		/* the signature in the standard alphabet, and padded */
		tmp = test_b64(test_b64std_alphabet, 1, sig, siglen);
		ck_assert_uint_eq(strlen(tmp), 344);   /* 342 + "==" */
		tok = test_join(h64, p64, tmp);
		REFUSED(&p, tok, strlen(tok), "signature padded with ==");
		tmp[342] = '\0';
		if (strcmp(tmp, sig64) != 0) {
			found_sig = 1;
			free(tok);
			tok = test_join(h64, p64, tmp);
			REFUSED(&p, tok, strlen(tok), "signature with + or /");
		}
		free(tok);
		free(tmp);

		/* the payload with + or /, or padded, signed by our key as such */
		p64std = strdup(p64);
		ck_assert_ptr_nonnull(p64std);
		if (to_std_alphabet(p64std)) {
			found_payload = 1;
			tok = sign_segments(h64, p64std, SIG_RS256_A);
			REFUSED(&p, tok, strlen(tok), "payload with + or /");
			free(tok);
		}
		free(p64std);
		if (strlen(p64) % 4 != 0) {
			tmp = test_b64(test_b64url_alphabet, 1, payload, strlen(payload));
			tok = sign_segments(h64, tmp, SIG_RS256_A);
			REFUSED(&p, tok, strlen(tok), "payload padded with =");
			free(tok);
			free(tmp);
		}
		free(sig64);
		free(sig);
		free(input);
		free(p64);
		free(payload);
	}
	ck_assert_msg(found_sig && found_payload, "no segment with '-' or '_' was produced");

	/* the header padded: {"typ":"JWT","alg":"RS256","kid":"<43>"} is 79 bytes */
	{
		struct claims c = default_claims();
		char *payload = claims_text(&c), *p64 = test_b64url_str(payload);
		char *hpad = test_b64(test_b64url_alphabet, 1, header, strlen(header)), *tok;

		ck_assert_uint_eq(strlen(header) % 3, 1);
		tok = sign_segments(hpad, p64, SIG_RS256_A);
		REFUSED(&p, tok, strlen(tok), "header padded with ==");
		free(tok);
		free(hpad);
		free(p64);
		free(payload);
	}
	free(h64);
	free(header);
}
END_TEST

START_TEST(test_embedded_nul)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	struct claims c = default_claims();
	struct token_info info;
	char *tok = make_claims_token(HDR_A, &c, SIG_RS256_A), *t;
	size_t len = strlen(tok);

	t = malloc(len + 2);
	ck_assert_ptr_nonnull(t);
	memcpy(t, tok, len + 1);
	ACCEPTED(&p, t, len, &info, "copy");
	/* a NUL after a valid token, counted in the length */
	t[len] = '\0';
	t[len + 1] = '\0';
	REFUSED(&p, t, len + 1, "valid token followed by a NUL");
	/* a NUL inside the signature, the payload, the header */
	t[len - 3] = '\0';
	REFUSED(&p, t, len, "NUL in the signature");
	memcpy(t, tok, len + 1);
	t[strchr(tok, '.') - tok + 5] = '\0';
	REFUSED(&p, t, len, "NUL in the payload");
	memcpy(t, tok, len + 1);
	t[3] = '\0';
	REFUSED(&p, t, len, "NUL in the header");
	memcpy(t, tok, len + 1);
	t[0] = '\0';
	REFUSED(&p, t, len, "NUL first");
	free(t);
	free(tok);
}
END_TEST

/* A valid token signed by key A whose text is exactly total bytes long. */
static char *
token_of_length(size_t total)
{
	static const char *const headers[] = { HDR_A, HDR_NOKID };

	for (size_t h = 0; h < 2; h++) {
		char *header = with_kids(headers[h]), *h64 = test_b64url_str(header), *base, *pad, *tok;
		struct claims c = default_claims();
		size_t plen, p64len, k;

		p64len = total - strlen(h64) - 2 - B64URL_LEN(256);
		free(h64);
		free(header);
		if (p64len % 4 == 1)
			continue;
		plen = p64len / 4 * 3 + (p64len % 4 == 0 ? 0 : p64len % 4 - 1);
		base = claims_text(&c);
		k = plen - strlen(base) - strlen(",\"pad\":\"\"");
		free(base);
		pad = malloc(k + 16);
		ck_assert_ptr_nonnull(pad);
		memcpy(pad, "\"pad\":\"", 7);
		memset(pad + 7, 'x', k);
		memcpy(pad + 7 + k, "\"", 2);
		c.extra = pad;
		tok = make_claims_token(headers[h], &c, SIG_RS256_A);
		free(pad);
		ck_assert_uint_eq(strlen(tok), total);
		return tok;
	}
	ck_abort_msg("no token of %zu bytes", total);
	return NULL;
}

START_TEST(test_size_limit)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	struct token_info info;
	char *tok;

	ck_assert_int_eq(TOKEN_MAX_BYTES, 8192);
	tok = token_of_length(TOKEN_MAX_BYTES);
	ACCEPTED(&p, tok, strlen(tok), &info, "8192 bytes");
	ck_assert_int_eq(info.agent_id, 5);
	free(tok);
	tok = token_of_length(TOKEN_MAX_BYTES + 1);
	REFUSED(&p, tok, strlen(tok), "8193 bytes, validly signed");
	free(tok);
	tok = token_of_length(TOKEN_MAX_BYTES - 1);
	ACCEPTED(&p, tok, strlen(tok), &info, "8191 bytes");
	free(tok);
}
END_TEST

/* Tokens over 8 KiB are refused before a single byte is read: the bytes
 * here are unreadable (PROT_NONE), so any access kills the test. */
START_TEST(test_oversize_not_read)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	static const size_t sizes[] = { TOKEN_MAX_BYTES + 1, 65536, 16u << 20 };
	size_t maplen = (16u << 20) + 4096;
	char *m = mmap(NULL, maplen, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert(m != MAP_FAILED);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		REFUSED(&p, m, sizes[i], "unreadable oversize token");
	ck_assert_int_eq(munmap(m, maplen), 0);
	REFUSED(&p, "", 0, "empty token");
}
END_TEST

/* A signature that verifies, moved onto a changed payload or header. */
START_TEST(test_modified_after_signing)
{
	struct keyring ring = { .keys = { &sk_a }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	struct claims c = default_claims();
	struct token_info info;
	char *tok = make_claims_token(HDR_A, &c, SIG_RS256_A), *payload, *p64, *h64, *t;
	char *header, *sig64 = strrchr(tok, '.') + 1;
	char *issued, *sub = token_agent_sub(5);
	struct access_claims ac = {
		.aud = AUD, .iss = NULL, .iat = NOW, .ttl = 900, .sub = sub,
		.scopes = agent_scopes, .nscopes = 1, .act_sub = NULL,
	};

	ACCEPTED(&p, tok, strlen(tok), &info, "original");
	header = with_kids(HDR_A);
	h64 = test_b64url_str(header);

	/* id_agent 5 -> 1 */
	c.sub = "\"{\\\"id_company_user\\\":null,\\\"id_agent\\\":1,"
	    "\\\"customer_reference\\\":null,\\\"id_customer\\\":null,\\\"permissions\\\":null}\"";
	payload = claims_text(&c);
	p64 = test_b64url_str(payload);
	t = test_join(h64, p64, sig64);
	REFUSED(&p, t, strlen(t), "id_agent changed after signing");
	free(t);
	free(p64);
	free(payload);

	/* exp extended */
	c = default_claims();
	c.exp = "1800000000";
	payload = claims_text(&c);
	p64 = test_b64url_str(payload);
	t = test_join(h64, p64, sig64);
	REFUSED(&p, t, strlen(t), "exp changed after signing");
	free(t);
	free(p64);
	free(payload);

	/* the header changed (kid removed), payload and signature kept */
	free(h64);
	h64 = test_b64url_str(HDR_NOKID);
	p64 = strndup(strchr(tok, '.') + 1, (size_t)(strrchr(tok, '.') - strchr(tok, '.') - 1));
	t = test_join(h64, p64, sig64);
	REFUSED(&p, t, strlen(t), "header changed after signing");
	free(t);

	/* an issued token with its payload replaced */
	issued = token_issue_access(&sk_a, &ac);
	ck_assert_ptr_nonnull(issued);
	ACCEPTED(&p, issued, strlen(issued), &info, "issued");
	{
		char *ih = strndup(issued, (size_t)(strchr(issued, '.') - issued));
		t = test_join(ih, p64, strrchr(issued, '.') + 1);
		REFUSED(&p, t, strlen(t), "issued token with another payload");
		free(t);
		free(ih);
	}
	/* one signature character changed */
	t = strdup(issued);
	ck_assert_ptr_nonnull(t);
	{
		char *s = strrchr(t, '.') + 100;
		*s = *s == 'A' ? 'B' : 'A';
	}
	REFUSED(&p, t, strlen(t), "signature character changed");
	free(t);

	free(issued);
	free(sub);
	free(p64);
	free(h64);
	free(header);
	free(tok);
}
END_TEST

/* ====================================================================== */
/* token_verify: key rotation */

START_TEST(test_rotation)
{
	struct keyring ab = { .keys = { &sk_a, &sk_b }, .n = 2 };
	struct keyring ba = { .keys = { &sk_b, &sk_a }, .n = 2 };
	struct keyring a = { .keys = { &sk_a }, .n = 1 };
	struct keyring none = { .n = 0 };
	struct verify_params p = params_for(&ab, 60, "");
	struct claims c = default_claims();
	struct token_info info;
	char *sub = token_agent_sub(9), *issued, *nokid, *mixed, *nokid_a;
	struct access_claims ac = {
		.aud = AUD, .iss = NULL, .iat = NOW, .ttl = 900, .sub = sub,
		.scopes = agent_scopes, .nscopes = 1, .act_sub = NULL,
	};

	/* issued by the second key of the ring (its kid in the header) */
	issued = token_issue_access(&sk_b, &ac);
	ck_assert_ptr_nonnull(issued);
	ACCEPTED(&p, issued, strlen(issued), &info, "second key, with kid");
	ck_assert_int_eq(info.kind, TOKEN_AGENT);
	ck_assert_int_eq(info.agent_id, 9);

	/* no kid: any key of the ring may have signed */
	nokid = make_claims_token(HDR_NOKID, &c, SIG_RS256_B);
	ACCEPTED(&p, nokid, strlen(nokid), &info, "second key, no kid");
	ck_assert_int_eq(info.agent_id, 5);
	nokid_a = make_claims_token(HDR_NOKID, &c, SIG_RS256_A);
	p.keys = &ba;
	ACCEPTED(&p, nokid_a, strlen(nokid_a), &info, "first key after the second, no kid");
	ACCEPTED(&p, issued, strlen(issued), &info, "ring order B, A, with kid");

	/* no kid and two keys: a bad signature still fails against every key */
	{
		static const enum signer bad[] = { SIG_JUNK, SIG_ZERO, SIG_HS256_PUB, SIG_RS512_A,
			SIG_PS256_A, SIG_EMPTY };
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char label[64], *t = make_claims_token(HDR_NOKID, &c, bad[i]);
			snprintf(label, sizeof(label), "two keys, no kid, bad signature %zu", i);
			p.keys = &ab;
			REFUSED(&p, t, strlen(t), label);
			p.keys = &ba;
			REFUSED(&p, t, strlen(t), label);
			free(t);
		}
	}

	/* the kid binds the key: kid A over a signature by B */
	mixed = make_claims_token(HDR_A, &c, SIG_RS256_B);
	p.keys = &ab;
	REFUSED(&p, mixed, strlen(mixed), "kid A, signed by B");

	/* B removed from the ring */
	p.keys = &a;
	REFUSED(&p, issued, strlen(issued), "B removed, with kid");
	REFUSED(&p, nokid, strlen(nokid), "B removed, no kid");
	ACCEPTED(&p, nokid_a, strlen(nokid_a), &info, "A still there");

	/* an empty ring accepts nothing */
	p.keys = &none;
	REFUSED(&p, issued, strlen(issued), "empty ring, with kid");
	REFUSED(&p, nokid_a, strlen(nokid_a), "empty ring, no kid");

	free(mixed);
	free(nokid_a);
	free(nokid);
	free(issued);
	free(sub);
}
END_TEST


Suite *
verify_suite(void)
{
	Suite *s = suite_create("verify");
	TCase *tc;

	/* the RSA keys are made once (lazily, in the runner) and freed at exit */
	tc = tcase_create("token_verify");
	tcase_add_unchecked_fixture(tc, test_keys_setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_valid_agent_token);
	tcase_add_test(tc, test_valid_customer_token);
	tcase_add_test(tc, test_crafted_baseline);
	tcase_add_loop_test(tc, test_forged_header, 0,
	    (int)(sizeof(header_cases) / sizeof(header_cases[0])));
	tcase_add_test(tc, test_alg_none_two_segments);
	tcase_add_loop_test(tc, test_claims, 0,
	    (int)(sizeof(claim_cases) / sizeof(claim_cases[0])));
	tcase_add_test(tc, test_segments);
	tcase_add_test(tc, test_signature_length);
	tcase_add_test(tc, test_standard_base64_refused);
	tcase_add_test(tc, test_embedded_nul);
	tcase_add_test(tc, test_size_limit);
	tcase_add_test(tc, test_oversize_not_read);
	tcase_add_test(tc, test_modified_after_signing);
	tcase_add_test(tc, test_rotation);
	suite_add_tcase(s, tc);
	return s;
}
