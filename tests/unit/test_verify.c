/* Unit tests for src/verify.c (token_verify): valid tokens, forged
 * headers and signatures, claims, structure, encoding and size, key
 * rotation, and ES256 and EdDSA beside RS256 (the algorithm rule,
 * cross-algorithm forgery, signature forms).
 *
 * Forged tokens are built with the kit of testutil.h from raw JSON text
 * and signed with OpenSSL, so the verifier sees exactly what an attacker
 * could send (doc/security.md §1 "Presented tokens"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

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

/* ====================================================================== */
/* token_verify: ES256 and EdDSA keys beside RS256, and the algorithm rule:
 * a token's alg must be the algorithm of the key that checks it.
 *
 * Keys C and C2 are EC P-256 (ES256), D and D2 Ed25519 (EdDSA), P a P-384
 * key (ES384, never configured); A and B are the RSA keys of testutil.h.
 * Signatures are made here with OpenSSL, not with src/token.c. */

static EVP_PKEY *pk_c, *pk_c2, *pk_d, *pk_d2, *pk_p384;
static char *pem_c_pub, *pem_d_pub;
static size_t pem_c_pub_len, pem_d_pub_len;
static struct signing_key sk_c, sk_c2, sk_d, sk_d2;

static void
alg_keys_free(void)
{
	signing_key_free(&sk_c);
	signing_key_free(&sk_c2);
	signing_key_free(&sk_d);
	signing_key_free(&sk_d2);
	EVP_PKEY_free(pk_c);
	EVP_PKEY_free(pk_c2);
	EVP_PKEY_free(pk_d);
	EVP_PKEY_free(pk_d2);
	EVP_PKEY_free(pk_p384);
	free(pem_c_pub);
	free(pem_d_pub);
}

static void
alg_key(EVP_PKEY *pk, struct signing_key *sk)
{
	size_t len;
	char *pem = test_pem_of(pk, 1, &len);

	test_signing_key(sk, pem, len);
	free(pem);
}

/* Unchecked fixture: the keys, made once in the runner, freed at exit. */
static void
alg_keys_setup(void)
{
	test_keys_setup();
	if (pk_c != NULL)
		return;
	pk_c = EVP_EC_gen("P-256");
	pk_c2 = EVP_EC_gen("P-256");
	pk_p384 = EVP_EC_gen("P-384");
	pk_d = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	pk_d2 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	ck_assert_ptr_nonnull(pk_c);
	ck_assert_ptr_nonnull(pk_c2);
	ck_assert_ptr_nonnull(pk_p384);
	ck_assert_ptr_nonnull(pk_d);
	ck_assert_ptr_nonnull(pk_d2);
	pem_c_pub = test_pem_of(pk_c, 0, &pem_c_pub_len);
	pem_d_pub = test_pem_of(pk_d, 0, &pem_d_pub_len);
	atexit(alg_keys_free);
	alg_key(pk_c, &sk_c);
	alg_key(pk_c2, &sk_c2);
	alg_key(pk_d, &sk_d);
	alg_key(pk_d2, &sk_d2);
	ck_assert_int_eq(sk_c.alg, TOKEN_ES256);
	ck_assert_int_eq(sk_d.alg, TOKEN_EDDSA);
	ck_assert_int_eq(sk_a.alg, TOKEN_RS256);
}

enum alg_signer {
	AS_RS256_A,        /* RS256 by A */
	AS_RS256_B,
	AS_ES256_C,        /* ES256 by C: R||S, 64 bytes */
	AS_ES256_C2,
	AS_ES256_C_DER,    /* C's ECDSA P-256 SHA-256 signature in DER (OpenSSL's form) */
	AS_ES384_C,        /* ECDSA with SHA-384 by C (P-256), R||S */
	AS_ES512_C,        /* ECDSA with SHA-512 by C, R||S */
	AS_ES384_P,        /* ES384 by the P-384 key: R||S, 96 bytes */
	AS_EDDSA_D,        /* Ed25519 by D, 64 bytes */
	AS_EDDSA_D2,
	AS_PS256_A,
	AS_HS256_C_PUB,    /* HMAC keyed with C's public PEM text */
	AS_HS256_D_PUB,    /* HMAC keyed with D's public PEM text */
	AS_HS256_C_X,      /* HMAC keyed with C's JWK "x" text */
	AS_HS256_D_X,      /* HMAC keyed with D's JWK "x" text */
	AS_EMPTY,
};

/* OpenSSL's DER ECDSA-Sig-Value of data by pk with md; *len_r bytes. */
static unsigned char *
ecdsa_der(EVP_PKEY *pk, const EVP_MD *md, const void *data, size_t n, size_t *len_r)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t len = (size_t)EVP_PKEY_get_size(pk);
	unsigned char *der = malloc(len);

	ck_assert_ptr_nonnull(ctx);
	ck_assert_ptr_nonnull(der);
	ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, md, NULL, pk), 1);
	ck_assert_int_eq(EVP_DigestSign(ctx, der, &len, data, n), 1);
	EVP_MD_CTX_free(ctx);
	*len_r = len;
	return der;
}

/* The JWS form R||S (each half) of a DER ECDSA-Sig-Value. */
static unsigned char *
der_to_raw(const unsigned char *der, size_t len, int half)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *s;
	unsigned char *raw = malloc(2 * (size_t)half);

	ck_assert_ptr_nonnull(es);
	ck_assert_ptr_nonnull(raw);
	ECDSA_SIG_get0(es, &r, &s);
	ck_assert_int_eq(BN_bn2binpad(r, raw, half), half);
	ck_assert_int_eq(BN_bn2binpad(s, raw + half, half), half);
	ECDSA_SIG_free(es);
	return raw;
}

static unsigned char *
ecdsa_raw(EVP_PKEY *pk, const EVP_MD *md, int half, const void *data, size_t n,
    size_t *len_r)
{
	size_t dlen;
	unsigned char *der = ecdsa_der(pk, md, data, n, &dlen);
	unsigned char *raw = der_to_raw(der, dlen, half);

	free(der);
	*len_r = 2 * (size_t)half;
	return raw;
}

static unsigned char *
ed25519_sig(EVP_PKEY *pk, const void *data, size_t n, size_t *len_r)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *sig = malloc(64);
	size_t len = 64;

	ck_assert_ptr_nonnull(ctx);
	ck_assert_ptr_nonnull(sig);
	ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk), 1);
	ck_assert_int_eq(EVP_DigestSign(ctx, sig, &len, data, n), 1);
	ck_assert_uint_eq(len, 64);
	EVP_MD_CTX_free(ctx);
	*len_r = len;
	return sig;
}

static unsigned char *
hmac_of(const char *secret, const void *data, size_t n, size_t *len_r)
{
	unsigned char *mac = malloc(EVP_MAX_MD_SIZE);
	unsigned int len = 0;

	ck_assert_ptr_nonnull(mac);
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), secret, (int)strlen(secret), data, n, mac,
	    &len));
	*len_r = len;
	return mac;
}

static unsigned char *
alg_sign(enum alg_signer s, const void *data, size_t n, size_t *len_r)
{
	switch (s) {
	case AS_RS256_A:
		return sign_with(SIG_RS256_A, data, n, len_r);
	case AS_RS256_B:
		return sign_with(SIG_RS256_B, data, n, len_r);
	case AS_PS256_A:
		return sign_with(SIG_PS256_A, data, n, len_r);
	case AS_EMPTY:
		return sign_with(SIG_EMPTY, data, n, len_r);
	case AS_ES256_C:
		return ecdsa_raw(pk_c, EVP_sha256(), 32, data, n, len_r);
	case AS_ES256_C2:
		return ecdsa_raw(pk_c2, EVP_sha256(), 32, data, n, len_r);
	case AS_ES256_C_DER:
		return ecdsa_der(pk_c, EVP_sha256(), data, n, len_r);
	case AS_ES384_C:
		return ecdsa_raw(pk_c, EVP_sha384(), 32, data, n, len_r);
	case AS_ES512_C:
		return ecdsa_raw(pk_c, EVP_sha512(), 32, data, n, len_r);
	case AS_ES384_P:
		return ecdsa_raw(pk_p384, EVP_sha384(), 48, data, n, len_r);
	case AS_EDDSA_D:
		return ed25519_sig(pk_d, data, n, len_r);
	case AS_EDDSA_D2:
		return ed25519_sig(pk_d2, data, n, len_r);
	case AS_HS256_C_PUB:
		return hmac_of(pem_c_pub, data, n, len_r);
	case AS_HS256_D_PUB:
		return hmac_of(pem_d_pub, data, n, len_r);
	case AS_HS256_C_X:
		return hmac_of(sk_c.x_b64, data, n, len_r);
	case AS_HS256_D_X:
		return hmac_of(sk_d.x_b64, data, n, len_r);
	}
	ck_abort_msg("unknown signer %d", (int)s);
	return NULL;
}

/* The kid of key name: "A", "B" (testutil.h), "C", "C2", "D", "D2"; NULL
 * for none; any other text is taken as the kid itself. */
static const char *
kid_of(const char *name)
{
	static const struct {
		const char *name;
		const struct signing_key *key;
	} names[] = {
		{ "A", &sk_a }, { "B", &sk_b }, { "C", &sk_c }, { "C2", &sk_c2 },
		{ "D", &sk_d }, { "D2", &sk_d2 },
	};

	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i].name) == 0)
			return names[i].key->kid;
	return name;
}

/* The header {"typ":"JWT","alg":alg[,"kid":kid of key]} as text. */
static char *
alg_header(const char *alg, const char *key)
{
	const char *kid = kid_of(key);
	char *h = malloc(256);

	ck_assert_ptr_nonnull(h);
	if (kid != NULL)
		snprintf(h, 256, "{\"typ\":\"JWT\",\"alg\":\"%s\",\"kid\":\"%s\"}", alg, kid);
	else
		snprintf(h, 256, "{\"typ\":\"JWT\",\"alg\":\"%s\"}", alg);
	return h;
}

/* A token of the default claims with header text h, signed by s. */
static char *
header_token(const char *h, enum alg_signer s)
{
	struct claims c = default_claims();
	char *payload = claims_text(&c);
	char *h64 = test_b64url_str(h), *p64 = test_b64url_str(payload);
	char *input = test_join(h64, p64, NULL), *sig64, *tok;
	size_t siglen;
	unsigned char *sig = alg_sign(s, input, strlen(input), &siglen);

	sig64 = test_b64url(sig, siglen);
	tok = test_join(h64, p64, sig64);
	free(sig64);
	free(sig);
	free(input);
	free(p64);
	free(h64);
	free(payload);
	return tok;
}

/* A token of the default claims: header alg and the kid of key (NULL: no
 * kid), signed by s. */
static char *
alg_token(const char *alg, const char *key, enum alg_signer s)
{
	char *h = alg_header(alg, key), *tok = header_token(h, s);

	free(h);
	return tok;
}

/* The header and payload of a token with the given signature bytes. */
static char *
with_signature(const char *tok, const unsigned char *sig, size_t siglen)
{
	char *sig64 = test_b64url(sig, siglen), *out;
	char *si = strndup(tok, (size_t)(strrchr(tok, '.') - tok));

	ck_assert_ptr_nonnull(si);
	out = test_join(si, sig64, NULL);
	free(si);
	free(sig64);
	return out;
}

/* The signature bytes of tok (malloc'd). */
static unsigned char *
signature_of(const char *tok, size_t *len_r)
{
	const char *s = strrchr(tok, '.') + 1;
	unsigned char *sig = malloc(strlen(s));
	long n;

	ck_assert_ptr_nonnull(sig);
	n = b64url_decode(sig, strlen(s), s, strlen(s));
	ck_assert_int_ge(n, 0);
	*len_r = (size_t)n;
	return sig;
}

/* The forging machinery: each kind passes with its own key, with and
 * without kid, so every refusal below is due to the one thing changed. */
START_TEST(test_alg_baseline)
{
	struct keyring ring = { .keys = { &sk_a, &sk_c, &sk_d }, .n = 3 };
	struct verify_params p = params_for(&ring, 0, "");
	struct token_info info;
	static const struct {
		const char *alg, *key;
		enum alg_signer s;
	} ok[] = {
		{ "RS256", "A", AS_RS256_A }, { "RS256", NULL, AS_RS256_A },
		{ "ES256", "C", AS_ES256_C }, { "ES256", NULL, AS_ES256_C },
		{ "EdDSA", "D", AS_EDDSA_D }, { "EdDSA", NULL, AS_EDDSA_D },
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char label[64], *tok = alg_token(ok[i].alg, ok[i].key, ok[i].s);
		snprintf(label, sizeof(label), "%s, kid %s", ok[i].alg,
		    ok[i].key != NULL ? ok[i].key : "-");
		ACCEPTED(&p, tok, strlen(tok), &info, label);
		ck_assert_int_eq(info.kind, TOKEN_AGENT);
		ck_assert_int_eq(info.agent_id, 5);
		free(tok);
	}
}
END_TEST

/* Tokens that src/token.c issues with an EC and an Ed25519 key verify, in a
 * ring of that key alone and in a ring of all three kinds. */
START_TEST(test_issued_es256_eddsa)
{
	const struct signing_key *signers[] = { &sk_c, &sk_d };
	struct keyring all = { .keys = { &sk_a, &sk_c, &sk_d }, .n = 3 };
	char *sub = token_agent_sub(8);
	struct access_claims ac = {
		.aud = AUD, .iss = NULL, .iat = NOW, .ttl = 900, .sub = sub,
		.scopes = agent_scopes, .nscopes = 1, .act_sub = NULL,
	};
	struct token_info info;

	for (size_t i = 0; i < 2; i++) {
		struct keyring one = { .keys = { signers[i] }, .n = 1 };
		struct verify_params p = params_for(&one, 0, "");
		char *tok = token_issue_access(signers[i], &ac), *bad;
		size_t siglen;
		unsigned char *sig;

		ck_assert_ptr_nonnull(tok);
		ACCEPTED(&p, tok, strlen(tok), &info, token_alg_name(signers[i]->alg));
		ck_assert_int_eq(info.kind, TOKEN_AGENT);
		ck_assert_int_eq(info.agent_id, 8);
		ck_assert_int_eq(info.exp, NOW + 900);
		p.keys = &all;
		ACCEPTED(&p, tok, strlen(tok), &info, "ring of three kinds");
		/* 64 signature bytes, and one bit changed is a bad signature */
		sig = signature_of(tok, &siglen);
		ck_assert_uint_eq(siglen, 64);
		sig[17] ^= 0x01;
		bad = with_signature(tok, sig, siglen);
		REFUSED(&p, bad, strlen(bad), "one signature bit changed");
		free(bad);
		free(sig);
		/* the other key of the same kind does not verify it */
		one.keys[0] = i == 0 ? &sk_c2 : &sk_d2;
		p.keys = &one;
		REFUSED(&p, tok, strlen(tok), "another key of the same kind");
		free(tok);
	}
	free(sub);
}
END_TEST

/* Cross-algorithm forgery, for each ordered pair of kinds (X, Y): a
 * signature that is valid for key Y in Y's own algorithm, under a header
 * that says alg X, with the kid of Y or without kid.  A verifier that chose
 * the check from the key instead of matching it with alg would accept it. */
static const struct {
	const char *alg;        /* X */
	const char *key;        /* Y's name, NULL: no kid */
	enum alg_signer s;      /* Y, in Y's algorithm */
} cross_cases[] = {
	{ "ES256", "A", AS_RS256_A }, { "ES256", NULL, AS_RS256_A },
	{ "EdDSA", "A", AS_RS256_A }, { "EdDSA", NULL, AS_RS256_A },
	{ "RS256", "C", AS_ES256_C }, { "RS256", NULL, AS_ES256_C },
	{ "EdDSA", "C", AS_ES256_C }, { "EdDSA", NULL, AS_ES256_C },
	{ "RS256", "D", AS_EDDSA_D }, { "RS256", NULL, AS_EDDSA_D },
	{ "ES256", "D", AS_EDDSA_D }, { "ES256", NULL, AS_EDDSA_D },
	/* X's own key signed, but the kid names Y */
	{ "RS256", "C", AS_RS256_A }, { "RS256", "D", AS_RS256_A },
	{ "ES256", "A", AS_ES256_C }, { "ES256", "D", AS_ES256_C },
	{ "EdDSA", "A", AS_EDDSA_D }, { "EdDSA", "C", AS_EDDSA_D },
};

START_TEST(test_cross_algorithm_forgery)
{
	struct keyring all = { .keys = { &sk_a, &sk_c, &sk_d }, .n = 3 };
	struct keyring rev = { .keys = { &sk_d, &sk_c, &sk_a }, .n = 3 };
	struct verify_params p = params_for(&all, 60, "");
	char label[96], *tok = alg_token(cross_cases[_i].alg, cross_cases[_i].key,
	    cross_cases[_i].s);

	snprintf(label, sizeof(label), "alg %s, kid %s, signer %d", cross_cases[_i].alg,
	    cross_cases[_i].key ? cross_cases[_i].key : "-", (int)cross_cases[_i].s);
	REFUSED(&p, tok, strlen(tok), label);
	p.keys = &rev;
	REFUSED(&p, tok, strlen(tok), label);
	/* a ring that holds only the signer's key: no key of alg X at all */
	if (cross_cases[_i].s == AS_RS256_A || cross_cases[_i].s == AS_ES256_C ||
	    cross_cases[_i].s == AS_EDDSA_D) {
		struct keyring only = { .n = 1 };
		only.keys[0] = cross_cases[_i].s == AS_RS256_A ? &sk_a :
		    cross_cases[_i].s == AS_ES256_C ? &sk_c : &sk_d;
		p.keys = &only;
		REFUSED(&p, tok, strlen(tok), label);
	}
	free(tok);
}
END_TEST

/* Algorithms that no configured key has, and spellings of ours that are
 * not exactly ours: always refused, whatever the ring holds. */
static const struct {
	const char *label;
	const char *alg;
	const char *key;
	enum alg_signer s;
} alien_cases[] = {
	{ "none, kid C", "none", "C", AS_EMPTY },
	{ "none, no kid", "none", NULL, AS_EMPTY },
	{ "none with an ES256 signature", "none", NULL, AS_ES256_C },
	{ "HS256 keyed with C's public PEM", "HS256", "C", AS_HS256_C_PUB },
	{ "HS256 keyed with C's public PEM, no kid", "HS256", NULL, AS_HS256_C_PUB },
	{ "HS256 keyed with D's public PEM", "HS256", "D", AS_HS256_D_PUB },
	{ "HS256 keyed with C's x", "HS256", "C", AS_HS256_C_X },
	{ "HS256 keyed with D's x", "HS256", "D", AS_HS256_D_X },
	{ "ES256 header, HMAC keyed with C's PEM", "ES256", "C", AS_HS256_C_PUB },
	{ "EdDSA header, HMAC keyed with D's PEM", "EdDSA", "D", AS_HS256_D_PUB },
	{ "PS256 by A", "PS256", "A", AS_PS256_A },
	{ "ES384 by C (SHA-384 on P-256)", "ES384", "C", AS_ES384_C },
	{ "ES512 by C (SHA-512 on P-256)", "ES512", "C", AS_ES512_C },
	{ "ES384 by a P-384 key, no kid", "ES384", NULL, AS_ES384_P },
	{ "ES256 header, SHA-384 signature by C", "ES256", "C", AS_ES384_C },
	{ "ES256 header, P-384 signature, no kid", "ES256", NULL, AS_ES384_P },
	{ "ES256K by C", "ES256K", "C", AS_ES256_C },
	{ "Ed25519 as alg", "Ed25519", "D", AS_EDDSA_D },
	{ "Ed448 as alg", "Ed448", "D", AS_EDDSA_D },
	{ "EDDSA", "EDDSA", "D", AS_EDDSA_D },
	{ "eddsa", "eddsa", "D", AS_EDDSA_D },
	{ "Eddsa", "Eddsa", NULL, AS_EDDSA_D },
	{ "es256", "es256", "C", AS_ES256_C },
	{ "Es256", "Es256", NULL, AS_ES256_C },
	{ "\"ES256 \"", "ES256 ", "C", AS_ES256_C },
	{ "\"ES256\\u0000\"", "ES256\\u0000", "C", AS_ES256_C },
	{ "\"EdDSA\\u0000\"", "EdDSA\\u0000", NULL, AS_EDDSA_D },
	{ "ES256 by the other EC key, kid C", "ES256", "C", AS_ES256_C2 },
	{ "ES256 by a key not in the ring, no kid", "ES256", NULL, AS_ES256_C2 },
	{ "ES256 by C under C2's kid", "ES256", "C2", AS_ES256_C },
	{ "EdDSA by the other Ed25519 key, kid D", "EdDSA", "D", AS_EDDSA_D2 },
	{ "EdDSA by a key not in the ring, no kid", "EdDSA", NULL, AS_EDDSA_D2 },
	{ "EdDSA by D under D2's kid", "EdDSA", "D2", AS_EDDSA_D },
	{ "ES256 in DER form", "ES256", "C", AS_ES256_C_DER },
	{ "ES256 in DER form, no kid", "ES256", NULL, AS_ES256_C_DER },
	{ "ES256, empty signature", "ES256", "C", AS_EMPTY },
	{ "EdDSA, empty signature", "EdDSA", "D", AS_EMPTY },
};

START_TEST(test_alien_algorithms)
{
	struct keyring all = { .keys = { &sk_a, &sk_c, &sk_d }, .n = 3 };
	struct verify_params p = params_for(&all, 60, "");
	char *tok = alg_token(alien_cases[_i].alg, alien_cases[_i].key, alien_cases[_i].s);

	REFUSED(&p, tok, strlen(tok), alien_cases[_i].label);
	free(tok);
}
END_TEST

/* ES256 signature bytes: exactly 64 (R||S); DER, other lengths and
 * values outside the group are refused. */
START_TEST(test_es256_signature_form)
{
	struct keyring ring = { .keys = { &sk_c }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	struct token_info info;
	char *tok = alg_token("ES256", "C", AS_ES256_C), *t;
	/* the order n of P-256 */
	static const unsigned char order[32] = {
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
		0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
	};
	static const size_t lens[] = { 1, 8, 32, 48, 62, 63, 65, 66, 70, 71, 72, 96, 128, 256 };
	struct keyring ac = { .keys = { &sk_a, &sk_c }, .n = 2 };
	unsigned char big[300], *sig, *der;
	size_t siglen, derlen;

	ACCEPTED(&p, tok, strlen(tok), &info, "R||S");
	sig = signature_of(tok, &siglen);
	ck_assert_uint_eq(siglen, 64);

	/* the same signature as DER (OpenSSL's form) */
	{
		ECDSA_SIG *es = ECDSA_SIG_new();
		BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
		ck_assert_ptr_nonnull(es);
		ck_assert_int_eq(ECDSA_SIG_set0(es, r, s), 1);
		der = NULL;
		ck_assert_int_gt((int)(derlen = (size_t)i2d_ECDSA_SIG(es, &der)), 0);
		ECDSA_SIG_free(es);
	}
	ck_assert_uint_ge(derlen, 8);
	ck_assert_uint_le(derlen, 72);
	t = with_signature(tok, der, derlen);
	REFUSED(&p, t, strlen(t), "the R||S signature in DER form");
	free(t);
	OPENSSL_free(der);

	/* other lengths, the valid signature at the front */
	memset(big, 0, sizeof(big));
	memcpy(big, sig, 64);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		char label[48];
		snprintf(label, sizeof(label), "ES256 signature of %zu bytes", lens[i]);
		t = with_signature(tok, big, lens[i]);
		REFUSED(&p, t, strlen(t), label);
		free(t);
	}
	/* R and S each padded to 33 bytes with a leading zero */
	memset(big, 0, sizeof(big));
	memcpy(big + 1, sig, 32);
	memcpy(big + 34, sig + 32, 32);
	t = with_signature(tok, big, 66);
	REFUSED(&p, t, strlen(t), "R and S of 33 bytes each");
	free(t);
	/* S before R */
	memcpy(big, sig + 32, 32);
	memcpy(big + 32, sig, 32);
	t = with_signature(tok, big, 64);
	REFUSED(&p, t, strlen(t), "S||R");
	free(t);
	/* zeros; R = 0; S = 0; R = n; S = n; both above n */
	memset(big, 0, 64);
	t = with_signature(tok, big, 64);
	REFUSED(&p, t, strlen(t), "64 zero bytes");
	free(t);
	memcpy(big + 32, sig + 32, 32);
	t = with_signature(tok, big, 64);
	REFUSED(&p, t, strlen(t), "R = 0");
	free(t);
	memcpy(big, sig, 32);
	memset(big + 32, 0, 32);
	t = with_signature(tok, big, 64);
	REFUSED(&p, t, strlen(t), "S = 0");
	free(t);
	memcpy(big, order, 32);
	memcpy(big + 32, sig + 32, 32);
	t = with_signature(tok, big, 64);
	REFUSED(&p, t, strlen(t), "R = n");
	free(t);
	memcpy(big, sig, 32);
	memcpy(big + 32, order, 32);
	t = with_signature(tok, big, 64);
	REFUSED(&p, t, strlen(t), "S = n");
	free(t);
	memset(big, 0xff, 64);
	t = with_signature(tok, big, 64);
	REFUSED(&p, t, strlen(t), "R and S above n");
	free(t);

	/* the ES256 signature of C under the kid of an RSA key with an RSA-sized
	 * signature: zero-padded to 256 bytes */
	memset(big, 0, sizeof(big));
	memcpy(big + 256 - 64, sig, 64);
	{
		char *h = alg_header("RS256", "A"), *h64 = test_b64url_str(h);
		char *rest = strchr(tok, '.'), *t2;
		size_t tlen = strlen(h64) + strlen(rest) + 1;
		t2 = malloc(tlen);
		ck_assert_ptr_nonnull(t2);
		snprintf(t2, tlen, "%s%s", h64, rest);
		t = with_signature(t2, big, 256);
		p.keys = &ac;
		REFUSED(&p, t, strlen(t), "ES256 signature padded to RSA length under kid A");
		p.keys = &ring;
		free(t);
		free(t2);
		free(h64);
		free(h);
	}
	free(sig);
	free(tok);
}
END_TEST

/* EdDSA signature bytes: exactly 64; a non-canonical S (S + L) is refused,
 * so a signature has one form. */
START_TEST(test_eddsa_signature_form)
{
	struct keyring ring = { .keys = { &sk_d }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	struct token_info info;
	char *tok = alg_token("EdDSA", "D", AS_EDDSA_D), *t;
	/* L = 2^252 + 27742317777372353535851937790883648493, little-endian */
	static const unsigned char ell[32] = {
		0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2,
		0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
	};
	static const size_t lens[] = { 1, 32, 63, 65, 72, 96, 128, 256 };
	unsigned char big[300], *sig;
	size_t siglen;

	ACCEPTED(&p, tok, strlen(tok), &info, "Ed25519");
	sig = signature_of(tok, &siglen);
	ck_assert_uint_eq(siglen, 64);
	memset(big, 0, sizeof(big));
	memcpy(big, sig, 64);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		char label[48];
		snprintf(label, sizeof(label), "EdDSA signature of %zu bytes", lens[i]);
		t = with_signature(tok, big, lens[i]);
		REFUSED(&p, t, strlen(t), label);
		free(t);
	}
	/* S + L: the same signature, written non-canonically (S < 2^253, so
	 * S + L fits in 32 bytes) */
	{
		unsigned carry = 0;
		memcpy(big, sig, 64);
		for (int i = 0; i < 32; i++) {
			unsigned v = (unsigned)sig[32 + i] + ell[i] + carry;
			big[32 + i] = (unsigned char)v;
			carry = v >> 8;
		}
		ck_assert_uint_eq(carry, 0);
		t = with_signature(tok, big, 64);
		REFUSED(&p, t, strlen(t), "S + L");
		free(t);
	}
	memset(big, 0, 64);
	t = with_signature(tok, big, 64);
	REFUSED(&p, t, strlen(t), "64 zero bytes");
	free(t);
	/* R and S swapped */
	memcpy(big, sig + 32, 32);
	memcpy(big + 32, sig, 32);
	t = with_signature(tok, big, 64);
	REFUSED(&p, t, strlen(t), "S||R");
	free(t);
	free(sig);
	free(tok);
}
END_TEST

/* Key rotation across algorithms: [ES256 signing, RS256 old] verifies both
 * kinds during the overlap; each key's tokens end with its removal. */
START_TEST(test_rotation_across_algorithms)
{
	struct keyring next = { .keys = { &sk_a, &sk_c }, .n = 2 };     /* step 1 */
	struct keyring overlap = { .keys = { &sk_c, &sk_a }, .n = 2 };  /* step 2 */
	struct keyring retired = { .keys = { &sk_c }, .n = 1 };         /* step 3 */
	struct keyring three = { .keys = { &sk_d, &sk_c, &sk_a }, .n = 3 };
	struct keyring ed_only = { .keys = { &sk_d }, .n = 1 };
	struct verify_params p = params_for(&overlap, 60, "");
	struct token_info info;
	char *sub = token_agent_sub(9);
	struct access_claims ac = {
		.aud = AUD, .iss = NULL, .iat = NOW, .ttl = 900, .sub = sub,
		.scopes = agent_scopes, .nscopes = 1, .act_sub = NULL,
	};
	char *old = token_issue_access(&sk_a, &ac), *new = token_issue_access(&sk_c, &ac);
	char *ed = token_issue_access(&sk_d, &ac);
	char *old_nokid = alg_token("RS256", NULL, AS_RS256_A);
	char *new_nokid = alg_token("ES256", NULL, AS_ES256_C);
	char *ed_nokid = alg_token("EdDSA", NULL, AS_EDDSA_D);

	ck_assert_ptr_nonnull(old);
	ck_assert_ptr_nonnull(new);
	ck_assert_ptr_nonnull(ed);

	p.keys = &next;
	ACCEPTED(&p, old, strlen(old), &info, "step 1: RS256 signs");
	ACCEPTED(&p, new, strlen(new), &info, "step 1: ES256 published");
	REFUSED(&p, ed, strlen(ed), "step 1: EdDSA not configured");

	p.keys = &overlap;
	ACCEPTED(&p, new, strlen(new), &info, "overlap: ES256 token");
	ck_assert_int_eq(info.agent_id, 9);
	ACCEPTED(&p, old, strlen(old), &info, "overlap: RS256 token of the old key");
	ACCEPTED(&p, old_nokid, strlen(old_nokid), &info, "overlap: RS256, no kid");
	ACCEPTED(&p, new_nokid, strlen(new_nokid), &info, "overlap: ES256, no kid");
	REFUSED(&p, ed, strlen(ed), "overlap: EdDSA token");
	REFUSED(&p, ed_nokid, strlen(ed_nokid), "overlap: EdDSA token, no kid");

	p.keys = &retired;
	ACCEPTED(&p, new, strlen(new), &info, "retired: ES256 token");
	ACCEPTED(&p, new_nokid, strlen(new_nokid), &info, "retired: ES256, no kid");
	REFUSED(&p, old, strlen(old), "retired: RS256 token");
	REFUSED(&p, old_nokid, strlen(old_nokid), "retired: RS256, no kid");

	p.keys = &three;
	ACCEPTED(&p, ed, strlen(ed), &info, "three kinds: EdDSA");
	ACCEPTED(&p, ed_nokid, strlen(ed_nokid), &info, "three kinds: EdDSA, no kid");
	ACCEPTED(&p, new, strlen(new), &info, "three kinds: ES256");
	ACCEPTED(&p, old, strlen(old), &info, "three kinds: RS256");
	ACCEPTED(&p, old_nokid, strlen(old_nokid), &info, "three kinds: RS256, no kid");

	p.keys = &ed_only;
	ACCEPTED(&p, ed, strlen(ed), &info, "EdDSA alone");
	REFUSED(&p, new, strlen(new), "EdDSA alone: ES256 token");
	REFUSED(&p, old, strlen(old), "EdDSA alone: RS256 token");
	REFUSED(&p, new_nokid, strlen(new_nokid), "EdDSA alone: ES256, no kid");
	REFUSED(&p, old_nokid, strlen(old_nokid), "EdDSA alone: RS256, no kid");

	free(old_nokid);
	free(new_nokid);
	free(ed_nokid);
	free(old);
	free(new);
	free(ed);
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

	/* ES256 and EdDSA beside RS256: EC and Ed25519 keys made once in the
	 * runner (with the RSA keys), freed at exit */
	tc = tcase_create("algorithms");
	tcase_add_unchecked_fixture(tc, alg_keys_setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_alg_baseline);
	tcase_add_test(tc, test_issued_es256_eddsa);
	tcase_add_loop_test(tc, test_cross_algorithm_forgery, 0,
	    (int)(sizeof(cross_cases) / sizeof(cross_cases[0])));
	tcase_add_loop_test(tc, test_alien_algorithms, 0,
	    (int)(sizeof(alien_cases) / sizeof(alien_cases[0])));
	tcase_add_test(tc, test_es256_signature_form);
	tcase_add_test(tc, test_eddsa_signature_form);
	tcase_add_test(tc, test_rotation_across_algorithms);
	suite_add_tcase(s, tc);
	return s;
}
