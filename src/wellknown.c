/* wellknown: the key set for resource servers, and a health check. */
#include "wellknown.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

void
wellknown_jwks(struct exchange *x)
{
	char *body = malloc(x->app->jwks_len + 1);
	char cache[64];

	if (body != NULL)
		memcpy(body, x->app->jwks, x->app->jwks_len + 1);
	response_set_json(x->res, 200, MEDIA_JSON, body, x->app->jwks_len);
	snprintf(cache, sizeof(cache), "public, max-age=%ld", x->app->cfg.jwks_max_age);
	response_add_header(x->res, "Cache-Control", cache);
}

void
wellknown_health(struct exchange *x)
{
	static const char ok[] = "{\"status\":\"ok\"}";
	char *body;

	if (store_ping(x->app->db) < 0) {
		exchange_fail(x, ERR_SERVICE_UNAVAILABLE);
	} else {
		body = strdup(ok);
		response_set_json(x->res, 200, MEDIA_JSON, body, sizeof(ok) - 1);
	}
	response_add_header(x->res, "Cache-Control", "no-store");
}
