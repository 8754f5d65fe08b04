/* app: per-process state set up before the first request. */
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "password.h"

/* Loads the signing key into keys[0] and the public_keys list after it,
 * each key once. */
static int
load_keys(struct app *app, char *err, size_t errlen)
{
	char *list, *save = NULL, *path;

	if (signing_key_load(&app->keys[0], app->cfg.private_key, err, errlen) < 0)
		return -1;
	app->nkeys = 1;
	list = strdup(app->cfg.public_keys);
	if (list == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (path = strtok_r(list, ", \t", &save); path != NULL;
	    path = strtok_r(NULL, ", \t", &save)) {
		struct signing_key *k;
		int known = 0;
		if (app->nkeys == KEYRING_MAX) {
			snprintf(err, errlen, "public_keys: at most %d keys", KEYRING_MAX - 1);
			goto fail;
		}
		k = &app->keys[app->nkeys];
		if (signing_key_load_public(k, path, err, errlen) < 0)
			goto fail;
		for (size_t i = 0; i < app->nkeys; i++)
			known |= strcmp(app->keys[i].kid, k->kid) == 0;
		if (known)
			/* the same key twice (e.g. the signing key listed again) */
			signing_key_free(k);
		else
			app->nkeys++;
	}
	free(list);
	return 0;
fail:
	free(list);
	return -1;
}

int
app_init(struct app *app, struct config *cfg, char *err, size_t errlen)
{
	struct keyring ring;

	memset(app, 0, sizeof(*app));
	app->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	if (cidr_list_parse(&app->trusted_proxies, app->cfg.trusted_proxies, err, errlen) < 0 ||
	    load_keys(app, err, errlen) < 0)
		goto fail;
	if (strcmp(app->cfg.impersonation_reason, "required") == 0) {
		app->reason_rule = REASON_REQUIRED;
	} else if (strcmp(app->cfg.impersonation_reason, "optional") != 0) {
		/* config_validate has compiled it once already */
		if (regcomp(&app->reason_re, app->cfg.impersonation_reason,
		    REG_EXTENDED | REG_NOSUB) != 0) {
			snprintf(err, errlen, "impersonation_reason: cannot compile it");
			goto fail;
		}
		app->reason_rule = REASON_MATCH;
	}
	app_keyring(app, &ring);
	app->jwks = jwks_document(ring.keys, ring.n, &app->jwks_len);
	app->db = db_new(app->cfg.database, app->cfg.db_timeout,
	    (int)app->cfg.db_prepared_statements);
	app->dummy_hash = password_dummy_hash((int)app->cfg.dummy_hash_cost);
	if (app->db == NULL || app->dummy_hash == NULL || app->jwks == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* only now: a reload that fails must not change the logging either */
	log_set_level(app->cfg.log_level);
	log_set_syslog(strcmp(app->cfg.log_target, "syslog") == 0);
	return 0;
fail:
	app_free(app);
	return -1;
}

void
app_keyring(const struct app *app, struct keyring *ring)
{
	ring->n = app->nkeys;
	for (size_t i = 0; i < app->nkeys; i++)
		ring->keys[i] = &app->keys[i];
}

void
app_free(struct app *app)
{
	db_free(app->db);
	free(app->dummy_hash);
	for (size_t i = 0; i < KEYRING_MAX; i++)
		signing_key_free(&app->keys[i]);
	free(app->jwks);
	if (app->reason_rule == REASON_MATCH)
		regfree(&app->reason_re);
	config_free(&app->cfg);
	memset(app, 0, sizeof(*app));
}
