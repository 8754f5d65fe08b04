/* verify: checks a presented access token, with our own code only.
 *
 * The JOSE header is parsed strictly before anything else and must be
 * exactly {"typ":"JWT","alg":ALG[,"kid":known]}, ALG one of RS256, ES256
 * and EdDSA and the algorithm of the key that checks the token (the key
 * kid names; without kid, the keys of ALG in turn); the signature is
 * checked with OpenSSL against the configured keys (parsed once at start);
 * then exp, nbf, iat, aud, iss and the token's kind.  Untrusted tokens are
 * never handed to libjwt (see doc/security.md §1.1, §2.1). */
#ifndef AGENTAUTH_VERIFY_H
#define AGENTAUTH_VERIFY_H

#include <stddef.h>

#include "token.h"

#define TOKEN_MAX_BYTES 8192
#define KEYRING_MAX 8
/* The longest customer reference, in bytes: what the impersonation
 * endpoint accepts as customerReference (doc/api.md §9.1; the audit keeps
 * as much), so the longest a token of ours carries, and the longest kept
 * from a presented token. */
#define CUSTOMER_REF_MAX 255
/* A session id: a UUID in its 36-character text form. */
#define SESSION_ID_LEN 36

/* The keys tokens may be signed with: the signing key first, then the
 * verification-only keys, of any kinds (each verifies its own algorithm
 * only).  A view for one verification: borrowed pointers (app_keyring
 * makes it from the keys struct app holds by value). */
struct keyring {
	const struct signing_key *keys[KEYRING_MAX];
	size_t n;
};

enum token_kind {
	TOKEN_AGENT = 1,         /* scopes ["agent"], sub.id_agent */
	TOKEN_CUSTOMER,          /* scopes with "customer" (impersonation too) */
};

struct token_info {
	enum token_kind kind;
	long long agent_id;      /* agent tokens; for impersonation the actor */
	long long customer_id;   /* customer tokens */
	char customer_reference[CUSTOMER_REF_MAX + 1]; /* "" if none or longer */
	int impersonation;       /* scopes contain "customer_impersonation" */
	long long iat, exp;
	char sid[SESSION_ID_LEN + 1]; /* the session ("sid" claim), "" if none */
};

struct verify_params {
	const struct keyring *keys;
	const char *aud;
	const char *iss;         /* "" = not checked */
	long skew;               /* seconds of leeway for exp, nbf and iat */
	long long now;
};

/* Verifies token[0..len).  Returns 0 and fills *info, or -1 with *why_r
 * set to a static reason for the log (never containing the token). */
int token_verify(const struct verify_params *p, const char *token, size_t len,
    struct token_info *info, const char **why_r);

#endif
