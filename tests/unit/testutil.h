/* testutil: helpers shared by the unit test suites.
 *
 * Every helper fails the running test (ck_assert) when something it needs
 * cannot be made, so callers do not check for NULL.  Strings they return
 * are malloc'd: the caller frees them. */
#ifndef AGENTAUTH_TESTUTIL_H
#define AGENTAUTH_TESTUTIL_H

#include <stddef.h>

#include <check.h>
#include <openssl/evp.h>

#include "token.h"
#include "verify.h"

/* ---- text ---- */

/* The two base64 alphabets, written out independently of src/encode.c. */
extern const char test_b64url_alphabet[];
extern const char test_b64std_alphabet[];

/* base64 of data[0..n) in alphabet (64 characters), padded with '=' when
 * pad is set.  Caller frees. */
char *test_b64(const char *alphabet, int pad, const void *data, size_t n);

/* Unpadded base64url of data[0..n), and of the string s.  Caller frees. */
char *test_b64url(const void *data, size_t n);
char *test_b64url_str(const char *s);

/* "a.b", or "a.b.c" when c is not NULL.  Caller frees. */
char *test_join(const char *a, const char *b, const char *c);

/* ---- files ---- */

/* Writes data[0..len) to a new file under /tmp; returns its path.  Caller
 * frees (test_temp_remove removes the file and frees the path). */
char *test_temp_file(const void *data, size_t len);
void test_temp_remove(char *path);

/* ---- keys ---- */

/* pk as PEM (private or public); *len_r gets its length.  Caller frees. */
char *test_pem_of(EVP_PKEY *pk, int private, size_t *len_r);

/* The RSA parameter name (OSSL_PKEY_PARAM_RSA_N, _E) of pk as unpadded
 * base64url.  Caller frees. */
char *test_bn_b64url(EVP_PKEY *pk, const char *name);

/* Loads key from a PEM private key; fails the test if it is refused or
 * leaves a message.  The caller frees key with signing_key_free. */
void test_signing_key(struct signing_key *key, const char *pem, size_t len);

/* ---- forged JWTs: two 2048-bit keys and a hand-made token builder ----
 *
 * Forged tokens are built from raw JSON text and signed with OpenSSL (RSA,
 * RSA-PSS, or HMAC keyed with our public PEM as libjwt 1.10 would accept),
 * so that the verifier sees exactly what an attacker could send. */

#define NOW 1700000000LL
#define AUD "frontend"

/* Keys A and B (borrowed; made by test_keys_setup, freed at exit). */
extern EVP_PKEY *pk_a, *pk_b;
extern char *pem_a, *pem_a_pub, *pem_b;
extern size_t pem_a_len, pem_a_pub_len, pem_b_len;
extern struct signing_key sk_a, sk_b;

/* Unchecked fixture: makes the keys once in the runner, so that every
 * forked test inherits them.  Freed at exit. */
void test_keys_setup(void);

enum signer {
	SIG_EMPTY,       /* no signature bytes */
	SIG_JUNK,        /* 256 bytes that are not a signature */
	SIG_ZERO,        /* 256 zero bytes */
	SIG_RS256_A,
	SIG_RS256_B,     /* the second (or a foreign) key */
	SIG_RS512_A,
	SIG_PS256_A,
	SIG_HS256_PUB,   /* HMAC keyed with key A's public PEM text */
	SIG_HS384_PUB,
	SIG_HS512_PUB,
};

/* The signature of data[0..n) made by s (*len_r bytes).  Caller frees. */
unsigned char *sign_with(enum signer s, const void *data, size_t n, size_t *len_r);

/* "h64.p64.<signature of 'h64.p64' by s>", with the two first segments
 * taken verbatim (they may be deliberately malformed).  Caller frees. */
char *sign_segments(const char *h64, const char *p64, enum signer s);

/* tmpl with "$A" and "$B" replaced by the kids of keys A and B.  Caller
 * frees. */
char *with_kids(const char *tmpl);

/* A token from header and payload JSON text ("$A"/"$B" in the header
 * become the kids), signed by s.  Caller frees. */
char *make_token(const char *header_tmpl, const char *payload, enum signer s);

#define HDR_A "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$A\"}"
#define HDR_B "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"$B\"}"
#define HDR_NOKID "{\"typ\":\"JWT\",\"alg\":\"RS256\"}"

/* Claims as raw JSON text.  Each member is raw JSON; NULL omits it.  extra
 * is appended verbatim as more members. */
struct claims {
	const char *aud, *iss, *jti, *iat, *nbf, *exp, *sub, *scopes, *act, *extra;
};

#define AGENT_SUB_JSON "\"{\\\"id_company_user\\\":null,\\\"id_agent\\\":5," \
	"\\\"customer_reference\\\":null,\\\"id_customer\\\":null,\\\"permissions\\\":null}\""
#define CUSTOMER_SUB "{\"id_company_user\":null,\"id_agent\":null," \
	"\"customer_reference\":\"DE--21\",\"id_customer\":21,\"permissions\":null}"

/* An agent token's claims (agent 5, aud AUD, issued at NOW for 900 s). */
struct claims default_claims(void);

/* The payload text of c.  Caller frees. */
char *claims_text(const struct claims *c);

/* A token with claims c and header tmpl, signed by s.  Caller frees. */
char *make_claims_token(const char *header_tmpl, const struct claims *c, enum signer s);

/* token_verify's parameters for a ring (borrowed) at NOW. */
struct verify_params params_for(const struct keyring *ring, long skew, const char *iss);

/* token_verify refuses tok[0..len), with a reason that does not quote it;
 * or accepts it, filling info. */
#define REFUSED(p, tok, len, label) expect_refused((p), (tok), (len), (label), __LINE__)
#define ACCEPTED(p, tok, len, info, label) \
	expect_accepted((p), (tok), (len), (info), (label), __LINE__)
void expect_refused(const struct verify_params *p, const char *tok, size_t len,
    const char *label, int line);
void expect_accepted(const struct verify_params *p, const char *tok, size_t len,
    struct token_info *info, const char *label, int line);

#endif
