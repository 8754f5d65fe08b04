/* Unit tests for src/token.c: key loading, the RFC 7638 kid, RS256 access
 * tokens (checked with libjwt and by decoding them ourselves), refresh
 * tokens, the public side (jwks_document, signing_key_load_public), and EC
 * P-256 (ES256, checked with libjwt) and Ed25519 (EdDSA) keys and tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "issue.h"
#include "suites.h"
#include "testutil.h"
#include "token.h"

/* ---- helpers independent of src/encode.c ---- */

/* Decodes unpadded base64url in[0..n) into a malloc'd NUL-terminated
 * buffer; fails the test on characters outside the URL-safe alphabet. */
static char *
test_b64url_decode(const char *in, size_t n, size_t *len_r)
{
	unsigned char *out = malloc(n * 3 / 4 + 4);
	unsigned long acc = 0;
	size_t o = 0;
	int bits = 0;

	ck_assert_ptr_nonnull(out);
	ck_assert_msg(n % 4 != 1, "impossible base64url length %zu", n);
	for (size_t i = 0; i < n; i++) {
		const char *p = memchr(test_b64url_alphabet, in[i], 64);
		ck_assert_msg(p != NULL && in[i] != '\0', "not base64url: 0x%02x",
		    (unsigned char)in[i]);
		acc = (acc << 6 | (unsigned long)(p - test_b64url_alphabet)) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	out[o] = '\0';
	if (len_r != NULL)
		*len_r = o;
	return (char *)out;
}

static void
sha256_hex(const void *in, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int len = 0;

	ck_assert_int_eq(EVP_Digest(in, n, md, &len, EVP_sha256(), NULL), 1);
	ck_assert_uint_eq(len, 32);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* ---- the 2048-bit key, made once per test case (in the runner) ---- */

static EVP_PKEY *rsa2048;
static char *priv_pem, *pub_pem;
static size_t priv_len, pub_len;

static void
keys_setup(void)
{
	rsa2048 = EVP_RSA_gen(2048);
	ck_assert_ptr_nonnull(rsa2048);
	priv_pem = test_pem_of(rsa2048, 1, &priv_len);
	pub_pem = test_pem_of(rsa2048, 0, &pub_len);
}

static void
keys_teardown(void)
{
	EVP_PKEY_free(rsa2048);
	free(priv_pem);
	free(pub_pem);
	rsa2048 = NULL;
	priv_pem = pub_pem = NULL;
}

static void
load_key(struct signing_key *key)
{
	test_signing_key(key, priv_pem, priv_len);
}

/* The three segments of a JWT, decoded where it makes sense. */
struct jwt_parts {
	char *header_b64;
	char *header;       /* decoded JSON */
	char *payload;      /* decoded JSON */
	size_t payload_len;
	char *signature_b64;
};

static void
split_jwt(const char *jwt, struct jwt_parts *p)
{
	const char *d1 = strchr(jwt, '.'), *d2;

	memset(p, 0, sizeof(*p));
	ck_assert_ptr_nonnull(d1);
	d2 = strchr(d1 + 1, '.');
	ck_assert_ptr_nonnull(d2);
	ck_assert_ptr_null(strchr(d2 + 1, '.'));
	p->header_b64 = strndup(jwt, (size_t)(d1 - jwt));
	p->header = test_b64url_decode(jwt, (size_t)(d1 - jwt), NULL);
	p->payload = test_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &p->payload_len);
	p->signature_b64 = strdup(d2 + 1);
	/* the signature is base64url too, 256 bytes for RSA-2048 */
	{
		size_t slen = 0;
		char *sig = test_b64url_decode(p->signature_b64, strlen(p->signature_b64), &slen);
		ck_assert_uint_eq(slen, 256);
		free(sig);
	}
}

static void
free_parts(struct jwt_parts *p)
{
	free(p->header_b64);
	free(p->header);
	free(p->payload);
	free(p->signature_b64);
}

/* Copies the jti of payload into jti (81 bytes); checks its form. */
static void
extract_jti(const char *payload, char jti[JTI_HEX_LEN + 1])
{
	const char *p = strstr(payload, "\"jti\":\"");

	ck_assert_ptr_nonnull(p);
	p += 7;
	ck_assert_uint_ge(strlen(p), JTI_HEX_LEN + 1);
	memcpy(jti, p, JTI_HEX_LEN);
	jti[JTI_HEX_LEN] = '\0';
	ck_assert_msg(p[JTI_HEX_LEN] == '"', "jti is not %d characters long", JTI_HEX_LEN);
	ck_assert_msg(strspn(jti, "0123456789abcdef") == JTI_HEX_LEN,
	    "jti is not lowercase hex: %s", jti);
}

/* Verifies jwt with libjwt and the public key; returns the decoded jwt. */
static jwt_t *
libjwt_verify(const char *token, const char *pem, size_t pem_len)
{
	jwt_t *jwt = NULL;
	int rc = jwt_decode(&jwt, token, (const unsigned char *)pem, (int)pem_len);

	ck_assert_msg(rc == 0, "jwt_decode failed: %d", rc);
	ck_assert_ptr_nonnull(jwt);
	ck_assert_int_eq(jwt_get_alg(jwt), JWT_ALG_RS256);
	return jwt;
}

static const char *const agent_scopes[] = { "agent" };
static const char *const customer_scopes[] = { "customer_impersonation", "customer" };

#define SUB1 "{\"id_company_user\":null,\"id_agent\":1,\"customer_reference\":null," \
	"\"id_customer\":null,\"permissions\":null}"
#define SUB1_ESCAPED "{\\\"id_company_user\\\":null,\\\"id_agent\\\":1," \
	"\\\"customer_reference\\\":null,\\\"id_customer\\\":null,\\\"permissions\\\":null}"
#define IAT 1700000000LL

/* ---- keys ---- */

START_TEST(test_kid_is_rfc7638_thumbprint)
{
	struct signing_key key;
	char *n = test_bn_b64url(rsa2048, OSSL_PKEY_PARAM_RSA_N);
	char *e = test_bn_b64url(rsa2048, OSSL_PKEY_PARAM_RSA_E);
	char *input, *kid, want_header[160], *header;
	unsigned char md[32];
	unsigned int mdlen = 0;
	size_t ilen = strlen(n) + strlen(e) + 64;

	load_key(&key);
	ck_assert_str_eq(key.n_b64, n);
	ck_assert_str_eq(key.e_b64, "AQAB");
	ck_assert_str_eq(key.e_b64, e);
	ck_assert_uint_eq(strlen(n), 342);  /* 256 bytes */

	input = malloc(ilen);
	ck_assert_ptr_nonnull(input);
	snprintf(input, ilen, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", e, n);
	ck_assert_int_eq(EVP_Digest(input, strlen(input), md, &mdlen, EVP_sha256(), NULL), 1);
	kid = test_b64url(md, mdlen);
	ck_assert_uint_eq(strlen(kid), KID_LEN);
	ck_assert_str_eq(key.kid, kid);

	/* the prepared JOSE header */
	snprintf(want_header, sizeof(want_header),
	    "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"%s\"}", kid);
	header = test_b64url_decode(key.header_b64, strlen(key.header_b64), NULL);
	ck_assert_str_eq(header, want_header);

	free(header);
	free(kid);
	free(input);
	free(n);
	free(e);
	signing_key_free(&key);
	ck_assert_ptr_null(key.pkey);
	ck_assert_ptr_null(key.n_b64);
}
END_TEST

START_TEST(test_key_load_file)
{
	char *path = test_temp_file(priv_pem, priv_len);
	struct signing_key key, mem;
	char err[256] = "";

	ck_assert_int_eq(signing_key_load(&key, path, err, sizeof(err)), 0);
	load_key(&mem);
	ck_assert_str_eq(key.kid, mem.kid);
	ck_assert_str_eq(key.header_b64, mem.header_b64);
	signing_key_free(&key);
	signing_key_free(&mem);
	test_temp_remove(path);

	ck_assert_int_eq(signing_key_load(&key, "/nonexistent/key.pem", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/key.pem: cannot open"));
	ck_assert_ptr_null(key.pkey);
}
END_TEST

START_TEST(test_key_1024_refused)
{
	EVP_PKEY *small = EVP_RSA_gen(1024);
	struct signing_key key;
	char err[256] = "", *pem;
	size_t len;

	ck_assert_ptr_nonnull(small);
	pem = test_pem_of(small, 1, &len);
	ck_assert_int_eq(signing_key_from_pem(&key, pem, len, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "the RSA key has 1024 bits; at least 2048 are needed");
	ck_assert_ptr_null(key.pkey);
	ck_assert_ptr_null(key.n_b64);
	ck_assert_ptr_null(key.header_b64);
	free(pem);
	EVP_PKEY_free(small);
}
END_TEST

START_TEST(test_key_not_pem_refused)
{
	struct signing_key key;
	char err[256];
	char *truncated = strndup(priv_pem, priv_len / 2);

	strcpy(err, "");
	ck_assert_int_eq(signing_key_from_pem(&key, "garbage", 7, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "not a PEM private key");
	ck_assert_ptr_null(key.pkey);

	strcpy(err, "");
	ck_assert_int_eq(signing_key_from_pem(&key, "", 0, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "not a PEM private key");

	/* a public key is not a signing key */
	strcpy(err, "");
	ck_assert_int_eq(signing_key_from_pem(&key, pub_pem, pub_len, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "not a PEM private key");

	strcpy(err, "");
	ck_assert_int_eq(signing_key_from_pem(&key, truncated, strlen(truncated), err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "not a PEM private key");
	ck_assert_ptr_null(key.pkey);
	free(truncated);
}
END_TEST

/* ---- access tokens ---- */

/* An impersonation token is capped at the agent token's exp; with less
 * than ISSUE_MIN_TTL left none is issued (never one dead at birth). */
START_TEST(test_issue_never_dead_at_birth)
{
	struct signing_key key;
	struct config cfg;
	struct session s = {
		.agent_id = 7, .customer_id = 21, .customer_reference = "DE--21",
	};
	struct jwt_parts p;
	char *token;

	memset(&cfg, 0, sizeof(cfg));
	cfg.audience = (char *)"frontend";
	cfg.issuer = (char *)"";
	cfg.access_token_ttl = 600;
	load_key(&key);
	for (long long left = -60; left < ISSUE_MIN_TTL; left++) {
		s.exp_cap = IAT + left;
		ck_assert_int_eq(issue_ttl(&cfg, &s, IAT), left);
		ck_assert_ptr_null(issue_access_token(&cfg, &key, &s, IAT));
	}
	s.exp_cap = IAT + ISSUE_MIN_TTL;
	token = issue_access_token(&cfg, &key, &s, IAT);
	ck_assert_ptr_nonnull(token);
	split_jwt(token, &p);
	ck_assert_ptr_nonnull(strstr(p.payload, "\"iat\":1700000000,\"nbf\":1700000000,"
	    "\"exp\":1700000001,"));
	free_parts(&p);
	free(token);
	/* not capped: an agent's own session, or a cap beyond the lifetime */
	s.exp_cap = 0;
	ck_assert_int_eq(issue_ttl(&cfg, &s, IAT), 600);
	s.exp_cap = IAT + 601;
	ck_assert_int_eq(issue_ttl(&cfg, &s, IAT), 600);
	signing_key_free(&key);
}
END_TEST

START_TEST(test_access_token_exact_payload)
{
	struct signing_key key;
	struct access_claims c = {
		.aud = "frontend", .iss = NULL, .iat = IAT, .ttl = 28800, .sub = SUB1,
		.scopes = agent_scopes, .nscopes = 1, .act_sub = NULL,
	};
	struct jwt_parts p;
	char jti[JTI_HEX_LEN + 1], want[1024], want_header[160];
	char *token;

	load_key(&key);
	token = token_issue_access(&key, &c);
	ck_assert_ptr_nonnull(token);
	split_jwt(token, &p);

	ck_assert_str_eq(p.header_b64, key.header_b64);
	snprintf(want_header, sizeof(want_header),
	    "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"%s\"}", key.kid);
	ck_assert_str_eq(p.header, want_header);

	extract_jti(p.payload, jti);
	snprintf(want, sizeof(want),
	    "{\"aud\":\"frontend\",\"jti\":\"%s\",\"iat\":1700000000,\"nbf\":1700000000,"
	    "\"exp\":1700028800,\"sub\":\"" SUB1_ESCAPED "\",\"scopes\":[\"agent\"]}", jti);
	ck_assert_str_eq(p.payload, want);
	ck_assert_uint_eq(p.payload_len, strlen(want));

	free_parts(&p);
	free(token);
	signing_key_free(&key);
}
END_TEST

/* Position of needle in hay, failing the test when absent. */
static long
pos(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	ck_assert_msg(p != NULL, "%s missing from %s", needle, hay);
	return p - hay;
}

START_TEST(test_access_token_claim_order)
{
	struct signing_key key;
	struct access_claims c = {
		.aud = "frontend", .iss = "https://issuer.example", .iat = IAT, .ttl = 600,
		.sub = "{\"id_customer\":21}", .scopes = customer_scopes, .nscopes = 2,
		.act_sub = "agent:1",
	};
	static const char *const order[] = {
		"{\"aud\":", ",\"jti\":", ",\"iat\":", ",\"nbf\":", ",\"exp\":", ",\"sub\":",
		",\"scopes\":", ",\"act\":", ",\"iss\":",
	};
	struct jwt_parts p;
	char jti[JTI_HEX_LEN + 1], want[1024];
	char *token;
	long last = -1;

	load_key(&key);
	token = token_issue_access(&key, &c);
	ck_assert_ptr_nonnull(token);
	split_jwt(token, &p);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		long at = pos(p.payload, order[i]);
		ck_assert_msg(at > last, "%s is out of order in %s", order[i], p.payload);
		last = at;
	}
	ck_assert_int_eq(pos(p.payload, "{\"aud\":"), 0);

	extract_jti(p.payload, jti);
	snprintf(want, sizeof(want),
	    "{\"aud\":\"frontend\",\"jti\":\"%s\",\"iat\":1700000000,\"nbf\":1700000000,"
	    "\"exp\":1700000600,\"sub\":\"{\\\"id_customer\\\":21}\","
	    "\"scopes\":[\"customer_impersonation\",\"customer\"],"
	    "\"act\":{\"sub\":\"agent:1\"},\"iss\":\"https://issuer.example\"}", jti);
	ck_assert_str_eq(p.payload, want);

	free_parts(&p);
	free(token);
	signing_key_free(&key);
}
END_TEST

START_TEST(test_access_token_optional_claims)
{
	struct signing_key key;
	struct access_claims c = {
		.aud = "frontend", .iss = "", .iat = IAT, .ttl = 28800, .sub = SUB1,
		.scopes = agent_scopes, .nscopes = 1, .act_sub = NULL,
	};
	struct jwt_parts p;
	char *token;

	load_key(&key);
	/* iss "" is omitted like NULL; no act without act_sub */
	token = token_issue_access(&key, &c);
	ck_assert_ptr_nonnull(token);
	split_jwt(token, &p);
	ck_assert_ptr_null(strstr(p.payload, "\"iss\""));
	ck_assert_ptr_null(strstr(p.payload, "\"act\""));
	free_parts(&p);
	free(token);

	/* iss without act */
	c.iss = "agentauth";
	token = token_issue_access(&key, &c);
	ck_assert_ptr_nonnull(token);
	split_jwt(token, &p);
	ck_assert_ptr_null(strstr(p.payload, "\"act\""));
	ck_assert_int_eq(pos(p.payload, ",\"iss\":\"agentauth\"}"),
	    (long)p.payload_len - (long)strlen(",\"iss\":\"agentauth\"}"));
	free_parts(&p);
	free(token);

	/* act without iss */
	c.iss = NULL;
	c.act_sub = "agent:7";
	token = token_issue_access(&key, &c);
	ck_assert_ptr_nonnull(token);
	split_jwt(token, &p);
	ck_assert_ptr_null(strstr(p.payload, "\"iss\""));
	ck_assert_int_eq(pos(p.payload, ",\"act\":{\"sub\":\"agent:7\"}}"),
	    (long)p.payload_len - (long)strlen(",\"act\":{\"sub\":\"agent:7\"}}"));
	free_parts(&p);
	free(token);
	signing_key_free(&key);
}
END_TEST

START_TEST(test_access_token_verifies_with_libjwt)
{
	struct signing_key key;
	struct access_claims c = {
		.aud = "frontend", .iss = NULL, .iat = IAT, .ttl = 28800, .sub = SUB1,
		.scopes = agent_scopes, .nscopes = 1, .act_sub = NULL,
	};
	char *token, *scopes;
	jwt_t *jwt;
	const char *jti;

	load_key(&key);
	token = token_issue_access(&key, &c);
	ck_assert_ptr_nonnull(token);
	jwt = libjwt_verify(token, pub_pem, pub_len);

	ck_assert_str_eq(jwt_get_header(jwt, "typ"), "JWT");
	ck_assert_str_eq(jwt_get_header(jwt, "alg"), "RS256");
	ck_assert_str_eq(jwt_get_header(jwt, "kid"), key.kid);
	ck_assert_str_eq(jwt_get_grant(jwt, "aud"), "frontend");
	ck_assert_str_eq(jwt_get_grant(jwt, "sub"), SUB1);  /* a string claim */
	ck_assert_int_eq(jwt_get_grant_int(jwt, "iat"), IAT);
	ck_assert_int_eq(jwt_get_grant_int(jwt, "nbf"), IAT);
	ck_assert_int_eq(jwt_get_grant_int(jwt, "exp"), IAT + 28800);
	jti = jwt_get_grant(jwt, "jti");
	ck_assert_ptr_nonnull(jti);
	ck_assert_uint_eq(strlen(jti), JTI_HEX_LEN);
	ck_assert_uint_eq(strspn(jti, "0123456789abcdef"), JTI_HEX_LEN);
	scopes = jwt_get_grants_json(jwt, "scopes");
	ck_assert_ptr_nonnull(scopes);
	ck_assert_str_eq(scopes, "[\"agent\"]");
	free(scopes);
	ck_assert_ptr_null(jwt_get_grant(jwt, "iss"));
	ck_assert_ptr_null(jwt_get_grants_json(jwt, "act"));
	jwt_free(jwt);

	/* with iss and act */
	c.iss = "https://issuer.example";
	c.act_sub = "agent:1";
	c.scopes = customer_scopes;
	c.nscopes = 2;
	free(token);
	token = token_issue_access(&key, &c);
	ck_assert_ptr_nonnull(token);
	jwt = libjwt_verify(token, pub_pem, pub_len);
	ck_assert_str_eq(jwt_get_grant(jwt, "iss"), "https://issuer.example");
	scopes = jwt_get_grants_json(jwt, "act");
	ck_assert_ptr_nonnull(scopes);
	ck_assert_str_eq(scopes, "{\"sub\":\"agent:1\"}");
	free(scopes);
	scopes = jwt_get_grants_json(jwt, "scopes");
	ck_assert_str_eq(scopes, "[\"customer_impersonation\",\"customer\"]");
	free(scopes);
	jwt_free(jwt);

	free(token);
	signing_key_free(&key);
}
END_TEST

START_TEST(test_access_token_tampering_detected)
{
	struct signing_key key;
	struct access_claims c = {
		.aud = "frontend", .iss = NULL, .iat = IAT, .ttl = 28800, .sub = SUB1,
		.scopes = agent_scopes, .nscopes = 1, .act_sub = NULL,
	};
	EVP_PKEY *other = EVP_RSA_gen(1024);
	char *token, *copy, *other_pem, *sig;
	size_t other_len;
	jwt_t *jwt = NULL;

	ck_assert_ptr_nonnull(other);
	other_pem = test_pem_of(other, 0, &other_len);
	load_key(&key);
	token = token_issue_access(&key, &c);
	ck_assert_ptr_nonnull(token);

	/* a signature byte changed */
	copy = strdup(token);
	sig = strrchr(copy, '.') + 10;
	*sig = *sig == 'A' ? 'B' : 'A';
	ck_assert_int_ne(jwt_decode(&jwt, copy, (const unsigned char *)pub_pem, (int)pub_len), 0);
	ck_assert_ptr_null(jwt);
	free(copy);

	/* a payload character changed */
	copy = strdup(token);
	sig = strchr(copy, '.') + 5;
	*sig = *sig == 'A' ? 'B' : 'A';
	ck_assert_int_ne(jwt_decode(&jwt, copy, (const unsigned char *)pub_pem, (int)pub_len), 0);
	ck_assert_ptr_null(jwt);
	free(copy);

	/* another key */
	ck_assert_int_ne(jwt_decode(&jwt, token, (const unsigned char *)other_pem,
	    (int)other_len), 0);
	ck_assert_ptr_null(jwt);

	free(token);
	free(other_pem);
	EVP_PKEY_free(other);
	signing_key_free(&key);
}
END_TEST

START_TEST(test_access_token_jti_unique)
{
	struct signing_key key;
	struct access_claims c = {
		.aud = "frontend", .iss = NULL, .iat = IAT, .ttl = 28800, .sub = SUB1,
		.scopes = agent_scopes, .nscopes = 1, .act_sub = NULL,
	};
	struct jwt_parts p1, p2;
	char jti1[JTI_HEX_LEN + 1], jti2[JTI_HEX_LEN + 1];
	char *t1, *t2;

	load_key(&key);
	t1 = token_issue_access(&key, &c);
	t2 = token_issue_access(&key, &c);
	ck_assert_ptr_nonnull(t1);
	ck_assert_ptr_nonnull(t2);
	ck_assert_str_ne(t1, t2);
	split_jwt(t1, &p1);
	split_jwt(t2, &p2);
	extract_jti(p1.payload, jti1);
	extract_jti(p2.payload, jti2);
	ck_assert_str_ne(jti1, jti2);
	free_parts(&p1);
	free_parts(&p2);
	free(t1);
	free(t2);
	signing_key_free(&key);
}
END_TEST

/* ---- refresh tokens and sub ---- */

START_TEST(test_refresh_token)
{
	char t1[REFRESH_TOKEN_LEN + 1], h1[65], t2[REFRESH_TOKEN_LEN + 1], h2[65], want[65];
	size_t len = 0;
	char *raw;

	memset(t1, 'X', sizeof(t1));
	ck_assert_int_eq(token_new_refresh(t1, h1), 0);
	ck_assert_uint_eq(strlen(t1), 43);
	ck_assert_uint_eq(strspn(t1, test_b64url_alphabet), 43);
	/* 32 random bytes */
	raw = test_b64url_decode(t1, 43, &len);
	ck_assert_uint_eq(len, 32);
	free(raw);
	ck_assert_uint_eq(strlen(h1), 64);
	sha256_hex(t1, strlen(t1), want);
	ck_assert_str_eq(h1, want);

	ck_assert_int_eq(token_new_refresh(t2, h2), 0);
	ck_assert_str_ne(t1, t2);
	ck_assert_str_ne(h1, h2);
	sha256_hex(t2, strlen(t2), want);
	ck_assert_str_eq(h2, want);

	/* the hash of a presented token is the stored one */
	ck_assert_int_eq(token_hash_refresh(t1, strlen(t1), want), 0);
	ck_assert_str_eq(want, h1);
}
END_TEST

START_TEST(test_hash_refresh_vector)
{
	char h[65];

	ck_assert_int_eq(token_hash_refresh("abc", 3, h), 0);
	ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ck_assert_int_eq(token_hash_refresh("", 0, h), 0);
	ck_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(test_agent_sub)
{
	char *s = token_agent_sub(1);

	ck_assert_str_eq(s, SUB1);
	free(s);
	s = token_agent_sub(9223372036854775807LL);
	ck_assert_str_eq(s, "{\"id_company_user\":null,\"id_agent\":9223372036854775807,"
	    "\"customer_reference\":null,\"id_customer\":null,\"permissions\":null}");
	free(s);
}
END_TEST

/* ---- the public side: jwks_document, signing_key_load_public (keys A and B
 * of testutil.h) ---- */

static int
has_private_d(EVP_PKEY *pk)
{
	BIGNUM *d = NULL;
	int has = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_D, &d) == 1 && d != NULL;

	BN_free(d);
	return has;
}

START_TEST(test_jwks_exact)
{
	const struct signing_key *keys[] = { &sk_a, &sk_b };
	char *n_a = test_bn_b64url(pk_a, OSSL_PKEY_PARAM_RSA_N);
	char *n_b = test_bn_b64url(pk_b, OSSL_PKEY_PARAM_RSA_N);
	char *e_a = test_bn_b64url(pk_a, OSSL_PKEY_PARAM_RSA_E);
	size_t cap = strlen(n_a) + strlen(n_b) + 512, len = 0;
	char *want = malloc(cap), *doc;
	static const char *const private_members[] = { "\"d\"", "\"p\"", "\"q\"", "\"dp\"",
		"\"dq\"", "\"qi\"", "\"oth\"", "\"k\"" };
	struct json_object *root, *arr;

	ck_assert_ptr_nonnull(want);
	ck_assert_str_eq(e_a, "AQAB");
	ck_assert_uint_eq(strlen(n_a), 342);
	snprintf(want, cap, "{\"keys\":["
	    "{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"%s\",\"n\":\"%s\","
	    "\"e\":\"AQAB\"},"
	    "{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"%s\",\"n\":\"%s\","
	    "\"e\":\"AQAB\"}]}", sk_a.kid, n_a, sk_b.kid, n_b);
	doc = jwks_document(keys, 2, &len);
	ck_assert_ptr_nonnull(doc);
	ck_assert_str_eq(doc, want);
	ck_assert_uint_eq(len, strlen(want));
	for (size_t i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++)
		ck_assert_msg(strstr(doc, private_members[i]) == NULL, "%s in the JWKS",
		    private_members[i]);

	/* parsed: two objects of exactly six members, distinct kids */
	root = json_tokener_parse(doc);
	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(json_object_object_length(root), 1);
	ck_assert(json_object_object_get_ex(root, "keys", &arr));
	ck_assert_uint_eq(json_object_array_length(arr), 2);
	for (size_t i = 0; i < 2; i++)
		ck_assert_int_eq(json_object_object_length(json_object_array_get_idx(arr, i)), 6);
	json_object_put(root);
	free(doc);

	/* order follows the array */
	{
		const struct signing_key *rev[] = { &sk_b, &sk_a };
		char *d2 = jwks_document(rev, 2, NULL);
		ck_assert_ptr_nonnull(d2);
		ck_assert_ptr_nonnull(strstr(d2, sk_a.kid));
		ck_assert_int_lt(strstr(d2, sk_b.kid) - d2, strstr(d2, sk_a.kid) - d2);
		free(d2);
	}
	/* one key */
	doc = jwks_document(keys, 1, &len);
	ck_assert_ptr_nonnull(doc);
	snprintf(want, cap, "{\"keys\":["
	    "{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"%s\",\"n\":\"%s\","
	    "\"e\":\"AQAB\"}]}", sk_a.kid, n_a);
	ck_assert_str_eq(doc, want);
	free(doc);

	free(want);
	free(n_a);
	free(n_b);
	free(e_a);
}
END_TEST

/* Loads data through a temporary file, which is removed at once. */
static int
load_public_data(struct signing_key *key, const void *data, size_t len, char *err,
    size_t errlen)
{
	char *path = test_temp_file(data, len);
	int rc = signing_key_load_public(key, path, err, errlen);

	test_temp_remove(path);
	return rc;
}

START_TEST(test_load_public_pem)
{
	struct signing_key key;
	char err[256] = "";
	struct keyring ring = { .keys = { &key }, .n = 1 };
	struct verify_params p = params_for(&ring, 60, "");
	struct claims c = default_claims();
	struct token_info info;
	char *tok;

	ck_assert_msg(load_public_data(&key, pem_a_pub, pem_a_pub_len, err, sizeof(err)) == 0,
	    "public PEM refused: %s", err);
	ck_assert_str_eq(key.kid, sk_a.kid);
	ck_assert_str_eq(key.n_b64, sk_a.n_b64);
	ck_assert_str_eq(key.e_b64, "AQAB");
	ck_assert_msg(!has_private_d(key.pkey), "a public key with a private exponent?");

	/* a ring of the public key alone verifies tokens signed by A */
	tok = make_claims_token(HDR_A, &c, SIG_RS256_A);
	ACCEPTED(&p, tok, strlen(tok), &info, "public-only key, kid");
	free(tok);
	tok = make_claims_token(HDR_NOKID, &c, SIG_RS256_A);
	ACCEPTED(&p, tok, strlen(tok), &info, "public-only key, no kid");
	free(tok);
	tok = make_claims_token(HDR_NOKID, &c, SIG_RS256_B);
	REFUSED(&p, tok, strlen(tok), "public-only key, signed by B");
	free(tok);

	/* and the JWKS of it is the same as of the private key */
	{
		const struct signing_key *k1[] = { &key }, *k2[] = { &sk_a };
		char *d1 = jwks_document(k1, 1, NULL), *d2 = jwks_document(k2, 1, NULL);
		ck_assert_ptr_nonnull(d1);
		ck_assert_ptr_nonnull(d2);
		ck_assert_str_eq(d1, d2);
		free(d1);
		free(d2);
	}
	signing_key_free(&key);
}
END_TEST

START_TEST(test_load_public_from_private_pem)
{
	struct signing_key key;
	char err[256] = "";

	ck_assert_msg(load_public_data(&key, pem_a, pem_a_len, err, sizeof(err)) == 0,
	    "private PEM refused: %s", err);
	ck_assert_str_eq(key.kid, sk_a.kid);
	ck_assert_str_eq(key.n_b64, sk_a.n_b64);
	signing_key_free(&key);

	ck_assert_msg(load_public_data(&key, pem_b, pem_b_len, err, sizeof(err)) == 0,
	    "private PEM refused: %s", err);
	ck_assert_str_eq(key.kid, sk_b.kid);
	signing_key_free(&key);
}
END_TEST

/* token.h: a verification-only key "holds only the public part", also when
 * its file is a private key. */
START_TEST(test_load_public_keeps_no_private_part)
{
	struct signing_key key;
	char err[256] = "";
	int has;

	ck_assert_int_eq(load_public_data(&key, pem_a, pem_a_len, err, sizeof(err)), 0);
	has = has_private_d(key.pkey);
	signing_key_free(&key);
	ck_assert_msg(!has, "signing_key_load_public on a private-key file keeps the "
	    "private exponent in key->pkey");
}
END_TEST

START_TEST(test_load_public_refusals)
{
	EVP_PKEY *small = EVP_RSA_gen(1024), *ec = EVP_EC_gen("P-384");
	struct signing_key key;
	char err[256], *pem;
	size_t len;
	static const char garbage[] = "-----BEGIN PUBLIC KEY-----\nnot base64 at all\n"
	    "-----END PUBLIC KEY-----\n";

	ck_assert_ptr_nonnull(small);
	ck_assert_ptr_nonnull(ec);

	pem = test_pem_of(small, 0, &len);
	strcpy(err, "");
	ck_assert_int_eq(load_public_data(&key, pem, len, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "1024") != NULL, "err: %s", err);
	ck_assert_ptr_null(key.pkey);
	free(pem);
	pem = test_pem_of(small, 1, &len);
	strcpy(err, "");
	ck_assert_int_eq(load_public_data(&key, pem, len, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "1024") != NULL, "err: %s", err);
	ck_assert_ptr_null(key.pkey);
	free(pem);

	pem = test_pem_of(ec, 0, &len);
	strcpy(err, "");
	ck_assert_int_eq(load_public_data(&key, pem, len, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "only P-256") != NULL, "err: %s", err);
	ck_assert_ptr_null(key.pkey);
	free(pem);

	strcpy(err, "");
	ck_assert_int_eq(load_public_data(&key, "garbage\n", 8, err, sizeof(err)), -1);
	ck_assert_str_ne(err, "");
	ck_assert_ptr_null(key.pkey);
	strcpy(err, "");
	ck_assert_int_eq(load_public_data(&key, garbage, strlen(garbage), err, sizeof(err)), -1);
	ck_assert_str_ne(err, "");
	ck_assert_ptr_null(key.pkey);
	strcpy(err, "");
	ck_assert_int_eq(load_public_data(&key, "", 0, err, sizeof(err)), -1);
	ck_assert_str_ne(err, "");
	/* a truncated public key */
	strcpy(err, "");
	ck_assert_int_eq(load_public_data(&key, pem_a_pub, pem_a_pub_len / 2, err, sizeof(err)),
	    -1);
	ck_assert_ptr_null(key.pkey);

	strcpy(err, "");
	ck_assert_int_eq(signing_key_load_public(&key, "/nonexistent/pub.pem", err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/pub.pem"));
	ck_assert_ptr_null(key.pkey);

	EVP_PKEY_free(small);
	EVP_PKEY_free(ec);
}
END_TEST

/* ---- EC P-256 (ES256) and Ed25519 (EdDSA) keys ---- */

static EVP_PKEY *ec256, *ed25519;
static char *ec_pem, *ec_pub_pem, *ed_pem, *ed_pub_pem;
static size_t ec_len, ec_pub_len, ed_len, ed_pub_len;

static void
alg_keys_setup(void)
{
	ec256 = EVP_EC_gen("P-256");
	ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	ck_assert_ptr_nonnull(ec256);
	ck_assert_ptr_nonnull(ed25519);
	ec_pem = test_pem_of(ec256, 1, &ec_len);
	ec_pub_pem = test_pem_of(ec256, 0, &ec_pub_len);
	ed_pem = test_pem_of(ed25519, 1, &ed_len);
	ed_pub_pem = test_pem_of(ed25519, 0, &ed_pub_len);
}

static void
alg_keys_teardown(void)
{
	EVP_PKEY_free(ec256);
	EVP_PKEY_free(ed25519);
	free(ec_pem);
	free(ec_pub_pem);
	free(ed_pem);
	free(ed_pub_pem);
	ec256 = ed25519 = NULL;
	ec_pem = ec_pub_pem = ed_pem = ed_pub_pem = NULL;
}

/* An EC coordinate (OSSL_PKEY_PARAM_EC_PUB_X, _Y) of pk, 32 bytes with
 * leading zeros kept (RFC 7518 §6.2.1.2), as base64url.  Caller frees. */
static char *
ec_coordinate(EVP_PKEY *pk, const char *name)
{
	BIGNUM *bn = NULL;
	unsigned char bin[32];
	char *out;

	ck_assert_int_eq(EVP_PKEY_get_bn_param(pk, name, &bn), 1);
	ck_assert_int_eq(BN_bn2binpad(bn, bin, 32), 32);
	BN_free(bn);
	out = test_b64url(bin, 32);
	ck_assert_uint_eq(strlen(out), 43);
	return out;
}

/* The RFC 7638 thumbprint of the canonical JWK text json. */
static char *
thumbprint(const char *json)
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	ck_assert_int_eq(EVP_Digest(json, strlen(json), md, &mdlen, EVP_sha256(), NULL), 1);
	return test_b64url(md, mdlen);
}

static char *
decoded_header(const struct signing_key *key)
{
	return test_b64url_decode(key->header_b64, strlen(key->header_b64), NULL);
}

START_TEST(test_ec_key_thumbprint_and_header)
{
	struct signing_key key;
	char *x = ec_coordinate(ec256, OSSL_PKEY_PARAM_EC_PUB_X);
	char *y = ec_coordinate(ec256, OSSL_PKEY_PARAM_EC_PUB_Y);
	char json[256], want[160], *kid, *header;

	test_signing_key(&key, ec_pem, ec_len);
	ck_assert_int_eq(key.alg, TOKEN_ES256);
	ck_assert_str_eq(token_alg_name(key.alg), "ES256");
	ck_assert_str_eq(key.x_b64, x);
	ck_assert_str_eq(key.y_b64, y);
	ck_assert_ptr_null(key.n_b64);
	ck_assert_ptr_null(key.e_b64);
	/* RFC 7638 §3.2: crv, kty, x, y in this order, no white space */
	snprintf(json, sizeof(json),
	    "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", x, y);
	kid = thumbprint(json);
	ck_assert_str_eq(key.kid, kid);
	header = decoded_header(&key);
	snprintf(want, sizeof(want), "{\"typ\":\"JWT\",\"alg\":\"ES256\",\"kid\":\"%s\"}", kid);
	ck_assert_str_eq(header, want);
	free(header);
	free(kid);
	free(x);
	free(y);
	signing_key_free(&key);
	ck_assert_ptr_null(key.x_b64);
	ck_assert_ptr_null(key.pkey);
}
END_TEST

/* RFC 8037 Appendix A: the Ed25519 key of A.1, its public key x (A.2) and
 * its RFC 7638 thumbprint (A.3). */
START_TEST(test_ed25519_rfc8037_vector)
{
	static const char d64[] = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
	size_t dlen = 0, len;
	char *d = test_b64url_decode(d64, strlen(d64), &dlen), *pem, *header;
	EVP_PKEY *pk;
	struct signing_key key;

	ck_assert_uint_eq(dlen, 32);
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, (unsigned char *)d, dlen);
	ck_assert_ptr_nonnull(pk);
	pem = test_pem_of(pk, 1, &len);
	test_signing_key(&key, pem, len);
	ck_assert_int_eq(key.alg, TOKEN_EDDSA);
	ck_assert_str_eq(token_alg_name(key.alg), "EdDSA");
	ck_assert_str_eq(key.x_b64, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
	ck_assert_ptr_null(key.y_b64);
	ck_assert_ptr_null(key.n_b64);
	ck_assert_str_eq(key.kid, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
	header = decoded_header(&key);
	ck_assert_str_eq(header, "{\"typ\":\"JWT\",\"alg\":\"EdDSA\","
	    "\"kid\":\"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k\"}");
	free(header);
	signing_key_free(&key);
	free(pem);
	EVP_PKEY_free(pk);
	explicit_bzero(d, dlen);
	free(d);
}
END_TEST

/* x and y are always 32 bytes (43 characters), also when a coordinate
 * starts with a zero byte, and the thumbprint hashes that form. */
START_TEST(test_ec_coordinates_keep_leading_zeros)
{
	int found = 0;

	for (int i = 0; i < 4000 && !found; i++) {
		EVP_PKEY *pk = EVP_EC_gen("P-256");
		BIGNUM *bx = NULL, *by = NULL;
		ck_assert_ptr_nonnull(pk);
		ck_assert_int_eq(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &bx), 1);
		ck_assert_int_eq(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &by), 1);
		if (BN_num_bytes(bx) < 32 || BN_num_bytes(by) < 32) {
			struct signing_key key;
			size_t len, xl = 0, yl = 0;
			char *pem = test_pem_of(pk, 1, &len), json[256], *kid, *xd, *yd;
			found = 1;
			test_signing_key(&key, pem, len);
			ck_assert_uint_eq(strlen(key.x_b64), 43);
			ck_assert_uint_eq(strlen(key.y_b64), 43);
			xd = test_b64url_decode(key.x_b64, 43, &xl);
			yd = test_b64url_decode(key.y_b64, 43, &yl);
			ck_assert_uint_eq(xl, 32);
			ck_assert_uint_eq(yl, 32);
			ck_assert(BN_num_bytes(bx) == 32 || xd[0] == 0);
			ck_assert(BN_num_bytes(by) == 32 || yd[0] == 0);
			snprintf(json, sizeof(json),
			    "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
			    key.x_b64, key.y_b64);
			kid = thumbprint(json);
			ck_assert_str_eq(key.kid, kid);
			free(kid);
			free(xd);
			free(yd);
			free(pem);
			signing_key_free(&key);
		}
		BN_free(bx);
		BN_free(by);
		EVP_PKEY_free(pk);
	}
	ck_assert_msg(found, "no P-256 key with a short coordinate in 4000 tries");
}
END_TEST

/* Only P-256: other curves, and key types that are neither RSA, EC nor
 * Ed25519, are refused at load with a reason, as private and as public
 * keys. */
START_TEST(test_key_other_curves_refused)
{
	static const struct {
		const char *type, *param;
		const char *err;
	} cases[] = {
		{ "EC", "P-384",
			"the EC key is on curve secp384r1; only P-256 (ES256) is supported" },
		{ "EC", "P-521",
			"the EC key is on curve secp521r1; only P-256 (ES256) is supported" },
		{ "EC", "secp256k1",
			"the EC key is on curve secp256k1; only P-256 (ES256) is supported" },
		{ "ED448", NULL, "the key is not an RSA, EC P-256 or Ed25519 key" },
		{ "X25519", NULL, "the key is not an RSA, EC P-256 or Ed25519 key" },
		{ "RSA-PSS", NULL, "the key is not an RSA, EC P-256 or Ed25519 key" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EVP_PKEY *pk;
		struct signing_key key;
		char err[256], *pem, *path;
		size_t len;

		pk = NULL;
		if (cases[i].param != NULL) {
			pk = EVP_PKEY_Q_keygen(NULL, NULL, cases[i].type, cases[i].param);
		} else {
			/* EVP_PKEY_Q_keygen makes no RSA-PSS key */
			EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, cases[i].type, NULL);
			ck_assert_ptr_nonnull(ctx);
			ck_assert_int_eq(EVP_PKEY_keygen_init(ctx), 1);
			ck_assert_int_eq(EVP_PKEY_generate(ctx, &pk), 1);
			EVP_PKEY_CTX_free(ctx);
		}
		ck_assert_msg(pk != NULL, "cannot make a %s key", cases[i].type);
		/* as the signing key */
		pem = test_pem_of(pk, 1, &len);
		strcpy(err, "");
		ck_assert_int_eq(signing_key_from_pem(&key, pem, len, err, sizeof(err)), -1);
		ck_assert_str_eq(err, cases[i].err);
		ck_assert_ptr_null(key.pkey);
		ck_assert_ptr_null(key.header_b64);
		path = test_temp_file(pem, len);
		strcpy(err, "");
		ck_assert_int_eq(signing_key_load(&key, path, err, sizeof(err)), -1);
		ck_assert_ptr_nonnull(strstr(err, cases[i].err));
		ck_assert_ptr_nonnull(strstr(err, path));
		test_temp_remove(path);
		free(pem);
		/* as a public key, from its public PEM */
		pem = test_pem_of(pk, 0, &len);
		path = test_temp_file(pem, len);
		strcpy(err, "");
		ck_assert_int_eq(signing_key_load_public(&key, path, err, sizeof(err)), -1);
		ck_assert_msg(strstr(err, cases[i].err) != NULL, "%s: err: %s", cases[i].type,
		    err);
		ck_assert_ptr_null(key.pkey);
		test_temp_remove(path);
		free(pem);
		EVP_PKEY_free(pk);
	}
}
END_TEST

/* The JWS signature of an ES256 token is R||S, 64 bytes; OpenSSL verifies
 * it once it is written as DER again, and libjwt 1.10 (an independent
 * implementation) verifies the token with the public PEM. */
START_TEST(test_es256_token_verifies_with_libjwt)
{
	struct signing_key key;
	struct access_claims c = {
		.aud = "frontend", .iss = "https://issuer.example", .iat = IAT, .ttl = 600,
		.sub = SUB1, .scopes = agent_scopes, .nscopes = 1, .act_sub = NULL,
	};
	char *token, *header, *sig, *si, *copy, want[160];
	const char *dot;
	size_t siglen = 0;
	jwt_t *jwt = NULL;
	ECDSA_SIG *es;
	BIGNUM *r, *s;
	unsigned char *der = NULL;
	int derlen;
	EVP_MD_CTX *ctx;

	test_signing_key(&key, ec_pem, ec_len);
	token = token_issue_access(&key, &c);
	ck_assert_ptr_nonnull(token);
	dot = strchr(token, '.');
	header = test_b64url_decode(token, (size_t)(dot - token), NULL);
	snprintf(want, sizeof(want), "{\"typ\":\"JWT\",\"alg\":\"ES256\",\"kid\":\"%s\"}",
	    key.kid);
	ck_assert_str_eq(header, want);
	free(header);
	sig = test_b64url_decode(strrchr(token, '.') + 1, strlen(strrchr(token, '.') + 1),
	    &siglen);
	ck_assert_uint_eq(siglen, 64);

	/* R||S back to DER, checked by OpenSSL over the signing input */
	si = strndup(token, (size_t)(strrchr(token, '.') - token));
	ck_assert_ptr_nonnull(si);
	es = ECDSA_SIG_new();
	r = BN_bin2bn((unsigned char *)sig, 32, NULL);
	s = BN_bin2bn((unsigned char *)sig + 32, 32, NULL);
	ck_assert_ptr_nonnull(es);
	ck_assert_int_eq(ECDSA_SIG_set0(es, r, s), 1);
	derlen = i2d_ECDSA_SIG(es, &der);
	ck_assert_int_gt(derlen, 0);
	ctx = EVP_MD_CTX_new();
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, ec256), 1);
	ck_assert_int_eq(EVP_DigestVerify(ctx, der, (size_t)derlen, (unsigned char *)si,
	    strlen(si)), 1);
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);

	/* libjwt */
	ck_assert_int_eq(jwt_decode(&jwt, token, (const unsigned char *)ec_pub_pem,
	    (int)ec_pub_len), 0);
	ck_assert_ptr_nonnull(jwt);
	ck_assert_int_eq(jwt_get_alg(jwt), JWT_ALG_ES256);
	ck_assert_str_eq(jwt_get_header(jwt, "kid"), key.kid);
	ck_assert_str_eq(jwt_get_grant(jwt, "aud"), "frontend");
	ck_assert_str_eq(jwt_get_grant(jwt, "iss"), "https://issuer.example");
	ck_assert_str_eq(jwt_get_grant(jwt, "sub"), SUB1);
	ck_assert_int_eq(jwt_get_grant_int(jwt, "exp"), IAT + 600);
	jwt_free(jwt);
	jwt = NULL;
	/* and libjwt refuses it changed, or with another EC key */
	copy = strdup(token);
	ck_assert_ptr_nonnull(copy);
	copy[strlen(copy) - 5] = copy[strlen(copy) - 5] == 'A' ? 'B' : 'A';
	ck_assert_int_ne(jwt_decode(&jwt, copy, (const unsigned char *)ec_pub_pem,
	    (int)ec_pub_len), 0);
	ck_assert_ptr_null(jwt);
	free(copy);
	{
		EVP_PKEY *other = EVP_EC_gen("P-256");
		size_t olen;
		char *opem;
		ck_assert_ptr_nonnull(other);
		opem = test_pem_of(other, 0, &olen);
		ck_assert_int_ne(jwt_decode(&jwt, token, (const unsigned char *)opem, (int)olen),
		    0);
		ck_assert_ptr_null(jwt);
		free(opem);
		EVP_PKEY_free(other);
	}
	free(si);
	free(sig);
	free(token);
	signing_key_free(&key);
}
END_TEST

/* An EdDSA token: header, 64 signature bytes, and the signature checked
 * with OpenSSL's one-shot Ed25519 against the public PEM.  (libjwt 1.10
 * has no EdDSA; the integration tests check EdDSA tokens with PyJWT.) */
START_TEST(test_eddsa_token_signature)
{
	struct signing_key key;
	struct access_claims c = {
		.aud = "frontend", .iss = NULL, .iat = IAT, .ttl = 600, .sub = SUB1,
		.scopes = agent_scopes, .nscopes = 1, .act_sub = NULL,
	};
	char *token, *header, *sig, *si, want[160];
	size_t siglen = 0;
	EVP_MD_CTX *ctx;
	BIO *bio;
	EVP_PKEY *pub;

	test_signing_key(&key, ed_pem, ed_len);
	token = token_issue_access(&key, &c);
	ck_assert_ptr_nonnull(token);
	header = test_b64url_decode(token, (size_t)(strchr(token, '.') - token), NULL);
	snprintf(want, sizeof(want), "{\"typ\":\"JWT\",\"alg\":\"EdDSA\",\"kid\":\"%s\"}",
	    key.kid);
	ck_assert_str_eq(header, want);
	free(header);
	sig = test_b64url_decode(strrchr(token, '.') + 1, strlen(strrchr(token, '.') + 1),
	    &siglen);
	ck_assert_uint_eq(siglen, 64);
	si = strndup(token, (size_t)(strrchr(token, '.') - token));
	ck_assert_ptr_nonnull(si);
	bio = BIO_new_mem_buf(ed_pub_pem, (int)ed_pub_len);
	ck_assert_ptr_nonnull(bio);
	pub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ck_assert_ptr_nonnull(pub);
	ctx = EVP_MD_CTX_new();
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub), 1);
	ck_assert_int_eq(EVP_DigestVerify(ctx, (unsigned char *)sig, 64, (unsigned char *)si,
	    strlen(si)), 1);
	EVP_MD_CTX_free(ctx);
	/* one changed byte of the signing input does not verify */
	si[strlen(si) - 3] ^= 0x01;
	ctx = EVP_MD_CTX_new();
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub), 1);
	ck_assert_int_ne(EVP_DigestVerify(ctx, (unsigned char *)sig, 64, (unsigned char *)si,
	    strlen(si)), 1);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pub);
	free(si);
	free(sig);
	free(token);
	signing_key_free(&key);
}
END_TEST

/* signing_key_verify: the form of each algorithm and nothing else. */
START_TEST(test_signing_key_verify_forms)
{
	struct signing_key rsa, ec, ed;
	static const char data[] = "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ4In0";
	unsigned char sig[300];
	struct access_claims c = {
		.aud = "frontend", .iss = NULL, .iat = IAT, .ttl = 600, .sub = SUB1,
		.scopes = agent_scopes, .nscopes = 1, .act_sub = NULL,
	};
	const struct signing_key *keys[] = { &rsa, &ec, &ed };

	load_key(&rsa);
	test_signing_key(&ec, ec_pem, ec_len);
	test_signing_key(&ed, ed_pem, ed_len);
	memset(sig, 0, sizeof(sig));
	for (size_t k = 0; k < 3; k++) {
		char *token = token_issue_access(keys[k], &c), *s64 = strrchr(token, '.') + 1;
		size_t siglen = 0, silen = (size_t)(s64 - 1 - token);
		char *raw = test_b64url_decode(s64, strlen(s64), &siglen);

		ck_assert_int_eq(signing_key_verify(keys[k], token, silen, (unsigned char *)raw,
		    siglen), 1);
		/* under each other key: no */
		for (size_t o = 0; o < 3; o++)
			if (o != k)
				ck_assert_int_eq(signing_key_verify(keys[o], token, silen,
				    (unsigned char *)raw, siglen), 0);
		/* one byte short, one byte more */
		ck_assert_int_eq(signing_key_verify(keys[k], token, silen, (unsigned char *)raw,
		    siglen - 1), 0);
		memcpy(sig, raw, siglen);
		ck_assert_int_eq(signing_key_verify(keys[k], token, silen, sig, siglen + 1), 0);
		/* other data */
		ck_assert_int_eq(signing_key_verify(keys[k], data, strlen(data),
		    (unsigned char *)raw, siglen), 0);
		free(raw);
		free(token);
	}
	signing_key_free(&rsa);
	signing_key_free(&ec);
	signing_key_free(&ed);
}
END_TEST

static int
has_private_part(EVP_PKEY *pk)
{
	BIGNUM *priv = NULL;
	unsigned char raw[64];
	size_t len = sizeof(raw);
	int has;

	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519)
		return EVP_PKEY_get_raw_private_key(pk, raw, &len) == 1;
	has = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &priv) == 1 && priv != NULL;
	BN_clear_free(priv);
	return has;
}

/* public_keys entries of EC and Ed25519 keys: from a public or a private
 * PEM, the same kid and JWK members as the private key, and no private
 * part kept. */
START_TEST(test_load_public_ec_ed25519)
{
	static const struct {
		int ec, private;
	} cases[] = { { 1, 0 }, { 1, 1 }, { 0, 0 }, { 0, 1 } };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct signing_key full, key;
		const char *pem = cases[i].ec ? (cases[i].private ? ec_pem : ec_pub_pem) :
		    (cases[i].private ? ed_pem : ed_pub_pem);
		size_t len = cases[i].ec ? (cases[i].private ? ec_len : ec_pub_len) :
		    (cases[i].private ? ed_len : ed_pub_len);
		char err[256] = "", *path = test_temp_file(pem, len);

		if (cases[i].ec)
			test_signing_key(&full, ec_pem, ec_len);
		else
			test_signing_key(&full, ed_pem, ed_len);
		ck_assert_msg(signing_key_load_public(&key, path, err, sizeof(err)) == 0,
		    "case %zu refused: %s", i, err);
		test_temp_remove(path);
		ck_assert_int_eq(key.alg, full.alg);
		ck_assert_str_eq(key.kid, full.kid);
		ck_assert_str_eq(key.x_b64, full.x_b64);
		if (cases[i].ec)
			ck_assert_str_eq(key.y_b64, full.y_b64);
		else
			ck_assert_ptr_null(key.y_b64);
		ck_assert_str_eq(key.header_b64, full.header_b64);
		ck_assert_msg(has_private_part(full.pkey), "case %zu: the check sees no private "
		    "part of the private key", i);
		ck_assert_msg(!has_private_part(key.pkey), "case %zu: a public key with a private "
		    "part", i);
		signing_key_free(&key);
		signing_key_free(&full);
	}
}
END_TEST

/* The JWKS of keys of each kind: the members of each kind in a fixed
 * order, and nothing private. */
START_TEST(test_jwks_mixed_kinds)
{
	struct signing_key rsa, ec, ed;
	const struct signing_key *keys[] = { &ec, &ed, &rsa };
	char *doc, *want, *n;
	size_t len = 0, cap;
	struct json_object *root, *arr;
	static const char *const private_members[] = { "\"d\"", "\"p\"", "\"q\"", "\"dp\"",
		"\"dq\"", "\"qi\"", "\"k\"" };

	load_key(&rsa);
	test_signing_key(&ec, ec_pem, ec_len);
	test_signing_key(&ed, ed_pem, ed_len);
	n = test_bn_b64url(rsa2048, OSSL_PKEY_PARAM_RSA_N);
	cap = strlen(n) + 1024;
	want = malloc(cap);
	ck_assert_ptr_nonnull(want);
	snprintf(want, cap, "{\"keys\":["
	    "{\"kty\":\"EC\",\"use\":\"sig\",\"alg\":\"ES256\",\"kid\":\"%s\",\"crv\":\"P-256\","
	    "\"x\":\"%s\",\"y\":\"%s\"},"
	    "{\"kty\":\"OKP\",\"use\":\"sig\",\"alg\":\"EdDSA\",\"kid\":\"%s\","
	    "\"crv\":\"Ed25519\",\"x\":\"%s\"},"
	    "{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"%s\",\"n\":\"%s\","
	    "\"e\":\"AQAB\"}]}", ec.kid, ec.x_b64, ec.y_b64, ed.kid, ed.x_b64, rsa.kid, n);
	doc = jwks_document(keys, 3, &len);
	ck_assert_ptr_nonnull(doc);
	ck_assert_str_eq(doc, want);
	ck_assert_uint_eq(len, strlen(want));
	for (size_t i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++)
		ck_assert_msg(strstr(doc, private_members[i]) == NULL, "%s in the JWKS",
		    private_members[i]);
	root = json_tokener_parse(doc);
	ck_assert_ptr_nonnull(root);
	ck_assert(json_object_object_get_ex(root, "keys", &arr));
	ck_assert_int_eq(json_object_object_length(json_object_array_get_idx(arr, 0)), 7);
	ck_assert_int_eq(json_object_object_length(json_object_array_get_idx(arr, 1)), 6);
	ck_assert_int_eq(json_object_object_length(json_object_array_get_idx(arr, 2)), 6);
	json_object_put(root);
	free(doc);
	free(want);
	free(n);
	signing_key_free(&rsa);
	signing_key_free(&ec);
	signing_key_free(&ed);
}
END_TEST

Suite *
token_suite(void)
{
	Suite *s = suite_create("token");
	TCase *tc = tcase_create("rsa2048");

	/* one key for the whole test case: RSA key generation is slow */
	tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_kid_is_rfc7638_thumbprint);
	tcase_add_test(tc, test_key_load_file);
	tcase_add_test(tc, test_key_1024_refused);
	tcase_add_test(tc, test_key_not_pem_refused);
	tcase_add_test(tc, test_access_token_exact_payload);
	tcase_add_test(tc, test_access_token_claim_order);
	tcase_add_test(tc, test_access_token_optional_claims);
	tcase_add_test(tc, test_access_token_verifies_with_libjwt);
	tcase_add_test(tc, test_access_token_tampering_detected);
	tcase_add_test(tc, test_access_token_jti_unique);
	tcase_add_test(tc, test_issue_never_dead_at_birth);
	suite_add_tcase(s, tc);

	/* keys A and B of testutil.h, made once in the runner, freed at exit */
	tc = tcase_create("public keys");
	tcase_add_unchecked_fixture(tc, test_keys_setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_jwks_exact);
	tcase_add_test(tc, test_load_public_pem);
	tcase_add_test(tc, test_load_public_from_private_pem);
	tcase_add_test(tc, test_load_public_keeps_no_private_part);
	tcase_add_test(tc, test_load_public_refusals);
	suite_add_tcase(s, tc);

	/* EC P-256 and Ed25519 keys, with the RSA key of rsa2048 */
	tc = tcase_create("ec and ed25519");
	tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
	tcase_add_unchecked_fixture(tc, alg_keys_setup, alg_keys_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_ec_key_thumbprint_and_header);
	tcase_add_test(tc, test_ed25519_rfc8037_vector);
	tcase_add_test(tc, test_ec_coordinates_keep_leading_zeros);
	tcase_add_test(tc, test_key_other_curves_refused);
	tcase_add_test(tc, test_es256_token_verifies_with_libjwt);
	tcase_add_test(tc, test_eddsa_token_signature);
	tcase_add_test(tc, test_signing_key_verify_forms);
	tcase_add_test(tc, test_load_public_ec_ed25519);
	tcase_add_test(tc, test_jwks_mixed_kinds);
	suite_add_tcase(s, tc);

	tc = tcase_create("refresh");
	tcase_add_test(tc, test_refresh_token);
	tcase_add_test(tc, test_hash_refresh_vector);
	tcase_add_test(tc, test_agent_sub);
	suite_add_tcase(s, tc);
	return s;
}
