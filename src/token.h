/* token: RS256 access tokens (JWT) and opaque refresh tokens.
 *
 * The signing key is parsed once and kept; signing uses OpenSSL EVP
 * directly (libjwt 1.10 re-parses the PEM on every call). */
#ifndef AGENTAUTH_TOKEN_H
#define AGENTAUTH_TOKEN_H

#include <stddef.h>

#include <openssl/evp.h>

/* RFC 7638 thumbprint: base64url of a SHA-256, 43 characters. */
#define KID_LEN 43
/* Refresh token: 32 random bytes, base64url. */
#define REFRESH_TOKEN_LEN 43
#define JTI_HEX_LEN 80

/* An RSA key of ours: the signing key, or a verification-only key listed in
 * public_keys (then pkey holds only the public part). */
struct signing_key {
	EVP_PKEY *pkey;
	char kid[KID_LEN + 1];
	char *n_b64;            /* RSA modulus, base64url (for JWKS) */
	char *e_b64;            /* RSA exponent, base64url */
	char *header_b64;       /* encoded JOSE header, built once */
};

/* Loads an RSA private key (at least 2048 bits) from a PEM file.
 * Returns 0, or -1 with err.  Release with signing_key_free(). */
int signing_key_load(struct signing_key *key, const char *path, char *err, size_t errlen);

/* Same for a key already in memory (tests). */
int signing_key_from_pem(struct signing_key *key, const char *pem, size_t len,
    char *err, size_t errlen);

/* Loads a public key for verification only, from a PEM file holding a
 * public or a private RSA key.  Returns 0, or -1 with err. */
int signing_key_load_public(struct signing_key *key, const char *path, char *err,
    size_t errlen);

void signing_key_free(struct signing_key *key);

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
};

/* Signs an access token.  Returns a malloc'd JWT or NULL. */
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
