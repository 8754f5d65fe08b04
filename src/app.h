/* app: what a worker keeps between requests: configuration, signing key,
 * database connection and the dummy hash for unknown usernames. */
#ifndef AGENTAUTH_APP_H
#define AGENTAUTH_APP_H

#include <stddef.h>

#include "clientip.h"
#include "config.h"
#include "db.h"
#include "token.h"
#include "verify.h"

struct app {
	struct config cfg;
	struct signing_key key;
	struct db *db;
	char *dummy_hash;
	struct cidr_list trusted_proxies;
	struct signing_key extra_keys[KEYRING_MAX - 1];  /* from public_keys */
	struct keyring keyring;  /* key, then extra_keys */
	char *jwks;              /* the JWKS document, built once */
	size_t jwks_len;
};

/* Takes over *cfg (the caller must not free it), loads the key and makes
 * the dummy hash.  The database is not contacted.  Returns 0, or -1 with
 * err, in which case everything (cfg included) is released. */
int app_init(struct app *app, struct config *cfg, char *err, size_t errlen);

void app_free(struct app *app);

/* Moves *src into *dst (which must be free), fixing the pointers into the
 * struct itself (the keyring).  *src is left empty. */
void app_move(struct app *dst, struct app *src);

#endif
