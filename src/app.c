/* app: per-process state set up before the first request. */
#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "password.h"

int
app_init(struct app *app, struct config *cfg, char *err, size_t errlen)
{
	memset(app, 0, sizeof(*app));
	app->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	log_set_level(app->cfg.log_level);
	if (cidr_list_parse(&app->trusted_proxies, app->cfg.trusted_proxies, err, errlen) < 0)
		goto fail;
	if (signing_key_load(&app->key, app->cfg.private_key, err, errlen) < 0)
		goto fail;
	app->db = db_new(app->cfg.database, app->cfg.db_timeout);
	app->dummy_hash = password_dummy_hash((int)app->cfg.dummy_hash_cost);
	if (app->db == NULL || app->dummy_hash == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return 0;
fail:
	app_free(app);
	return -1;
}

void
app_free(struct app *app)
{
	db_free(app->db);
	free(app->dummy_hash);
	signing_key_free(&app->key);
	config_free(&app->cfg);
	password_cleanup();
	memset(app, 0, sizeof(*app));
}
