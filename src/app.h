/* app: what a worker keeps between requests: configuration, signing key,
 * database connection and the dummy hash for unknown usernames. */
#ifndef AGENTAUTH_APP_H
#define AGENTAUTH_APP_H

#include <regex.h>
#include <stddef.h>

#include "clientip.h"
#include "config.h"
#include "db.h"
#include "token.h"
#include "verify.h"

/* What an impersonation's reason must be (impersonation_reason). */
enum reason_rule {
	REASON_OPTIONAL = 0,
	REASON_REQUIRED,        /* present and not blank */
	REASON_MATCH,           /* present and matching reason_re */
};

/* Holds no pointer into itself: a copy is as good as the original (a
 * reload assigns the new one over the old). */
struct app {
	struct config cfg;
	struct signing_key keys[KEYRING_MAX];  /* keys[0] signs; every one verifies
	                                          (then those of public_keys) */
	size_t nkeys;
	struct db *db;
	char *dummy_hash;
	struct cidr_list trusted_proxies;
	char *jwks;              /* the JWKS document, built once */
	size_t jwks_len;
	enum reason_rule reason_rule;  /* cfg.impersonation_reason */
	regex_t reason_re;       /* compiled, for REASON_MATCH */
};

/* Takes over *cfg (the caller must not free it), loads the keys and makes
 * the dummy hash.  The database is not contacted.  Returns 0, or -1 with
 * err, in which case everything (cfg included) is released. */
int app_init(struct app *app, struct config *cfg, char *err, size_t errlen);

/* Releases what app owns.  Process-wide state (password.c's scratch area)
 * is not the app's: it is released at exit. */
void app_free(struct app *app);

/* The key ring of app's keys for token_verify: borrowed pointers into
 * app, valid while app is neither freed nor replaced (one request). */
void app_keyring(const struct app *app, struct keyring *ring);

#endif
