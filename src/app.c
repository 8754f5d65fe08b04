/* app: per-process state set up before the first request. */
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "password.h"

/* Loads the public_keys list into extra_keys and builds the keyring. */
static int
load_public_keys(struct app *app, char *err, size_t errlen)
{
	char *list = strdup(app->cfg.public_keys), *save = NULL, *path;

	if (list == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	app->keyring.keys[app->keyring.n++] = &app->key;
	for (path = strtok_r(list, ", \t", &save); path != NULL;
	    path = strtok_r(NULL, ", \t", &save)) {
		struct signing_key *k;
		if (app->keyring.n == KEYRING_MAX) {
			snprintf(err, errlen, "public_keys: at most %d keys", KEYRING_MAX - 1);
			goto fail;
		}
		k = &app->extra_keys[app->keyring.n - 1];
		if (signing_key_load_public(k, path, err, errlen) < 0)
			goto fail;
		for (size_t i = 0; i < app->keyring.n; i++) {
			if (strcmp(app->keyring.keys[i]->kid, k->kid) == 0) {
				/* the same key twice (e.g. the signing key listed again) */
				signing_key_free(k);
				k = NULL;
				break;
			}
		}
		if (k != NULL)
			app->keyring.keys[app->keyring.n++] = k;
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
	memset(app, 0, sizeof(*app));
	app->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	if (cidr_list_parse(&app->trusted_proxies, app->cfg.trusted_proxies, err, errlen) < 0)
		goto fail;
	if (signing_key_load(&app->key, app->cfg.private_key, err, errlen) < 0 ||
	    load_public_keys(app, err, errlen) < 0)
		goto fail;
	app->jwks = jwks_document(app->keyring.keys, app->keyring.n, &app->jwks_len);
	app->db = db_new(app->cfg.database, app->cfg.db_timeout);
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
app_move(struct app *dst, struct app *src)
{
	*dst = *src;
	for (size_t i = 0; i < dst->keyring.n; i++) {
		const struct signing_key *k = dst->keyring.keys[i];
		if (k == &src->key)
			dst->keyring.keys[i] = &dst->key;
		else
			dst->keyring.keys[i] = &dst->extra_keys[k - src->extra_keys];
	}
	memset(src, 0, sizeof(*src));
}

void
app_free(struct app *app)
{
	db_free(app->db);
	free(app->dummy_hash);
	signing_key_free(&app->key);
	for (size_t i = 0; i < KEYRING_MAX - 1; i++)
		signing_key_free(&app->extra_keys[i]);
	free(app->jwks);
	config_free(&app->cfg);
	password_cleanup();
	memset(app, 0, sizeof(*app));
}
