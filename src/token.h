/* token: access tokens (JWT: RS256, ES256 or EdDSA, after the key) and
 * opaque refresh tokens.
 *
 * Keys are parsed once and kept; signing and signature checks use OpenSSL
 * EVP directly (libjwt 1.10 re-parses the PEM on every call). */
#ifndef AGENTAUTH_TOKEN_H
#define AGENTAUTH_TOKEN_H

#include <stddef.h>

#include <openssl/evp.h>

/* RFC 7638 thumbprint: base64url of a SHA-256, 43 characters. */
#define KID_LEN 43
/* Refresh token: 32 random bytes, base64url. */
#define REFRESH_TOKEN_LEN 43
#define JTI_HEX_LEN 80
/* The JWS signature of ES256 (R||S, RFC 7518 §3.4) and of EdDSA with
 * Ed25519 (RFC 8037 §3.1), in bytes. */
#define TOKEN_ES256_SIG_LEN 64
#define TOKEN_EDDSA_SIG_LEN 64

/* The JWS algorithm of a key, which follows from the key alone: an RSA key
 * (at least 2048 bits) signs RS256, an EC P-256 key ES256, an Ed25519 key
 * EdDSA. */
enum token_alg {
	TOKEN_RS256 = 1,
	TOKEN_ES256,
	TOKEN_EDDSA,
};

/* A key of ours: the signing key, or a verification-only key listed in
 * public_keys (then pkey holds only the public part). */
struct signing_key {
	EVP_PKEY *pkey;
	enum token_alg alg;
	char kid[KID_LEN + 1];
	/* the public members of its JWK, base64url: n and e for RSA; x and y
	 * (32 bytes each) for EC P-256; x (32 bytes) for Ed25519.  NULL where
	 * the kind has no such member. */
	char *n_b64;
	char *e_b64;
	char *x_b64;
	char *y_b64;
	char *header_b64;       /* encoded JOSE header, built once */
	/* initialised once for pkey; each verification and signature works
	 * on a copy.  sign_ctx is NULL for a key without a private part. */
	EVP_MD_CTX *verify_ctx;
	EVP_MD_CTX *sign_ctx;
};

/* The JOSE "alg" name of alg: "RS256", "ES256" or "EdDSA" (static). */
const char *token_alg_name(enum token_alg alg);

/* Loads a private key from a PEM file: RSA of at least 2048 bits, EC on
 * P-256, or Ed25519.  Returns 0, or -1 with err.  Release with
 * signing_key_free(). */
int signing_key_load(struct signing_key *key, const char *path, char *err, size_t errlen);

/* Same for a key already in memory (tests). */
int signing_key_from_pem(struct signing_key *key, const char *pem, size_t len,
    char *err, size_t errlen);

/* Loads a public key for verification only, from a PEM file holding a
 * public or a private key of a kind signing_key_load accepts.  Returns 0,
 * or -1 with err. */
int signing_key_load_public(struct signing_key *key, const char *path, char *err,
    size_t errlen);

void signing_key_free(struct signing_key *key);

/* Predicate: sig[0..siglen) is the JWS signature of data[0..len) by key,
 * in key->alg's form (RS256: as long as the modulus; ES256: R||S,
 * exactly 64 bytes; EdDSA: 64 bytes).  Any other length is 0. */
int signing_key_verify(const struct signing_key *key, const void *data, size_t len,
    const unsigned char *sig, size_t siglen);

/* The JWKS document {"keys":[...]} for keys[0..n) (public parts only).
 * Returns a malloc'd string or NULL. */
char *jwks_document(const struct signing_key *const *keys, size_t n, size_t *len_r);

struct access_claims {
	const char *aud;
	const char *iss;              /* NULL or "" = omitted */
	long long iat;
	long ttl;
	const char *sub;              /* stored as a JSON string claim */
	const char *const *scopes;
	size_t nscopes;
	const char *act_sub;          /* NULL, or the RFC 8693 actor's sub */
	const char *sid;              /* NULL, or the session (refresh-token family) id */
	const char *reason;           /* NULL, or the impersonation's reason claim */
};

/* Signs an access token with key, in key->alg; the signature is verified
 * before it is returned.  Returns a malloc'd JWT or NULL. */
char *token_issue_access(const struct signing_key *key, const struct access_claims *c);

/* Makes a new refresh token (token_r, REFRESH_TOKEN_LEN + 1 bytes) and the
 * hex SHA-256 under which it is stored (hash_hex_r, 65 bytes).
 * Returns 0 or -1. */
int token_new_refresh(char *token_r, char *hash_hex_r);

/* Hex SHA-256 of a presented refresh token.  Returns 0 or -1. */
int token_hash_refresh(const char *token, size_t len, char *hash_hex_r);

/* The sub claim of an agent token for agent id. Returns a malloc'd string. */
char *token_agent_sub(long long agent_id);

#endif
