/* issue: access token claims for agents and impersonation sessions. */
#include "issue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonapi.h"
#include "log.h"
#include "token.h"

static const char *const agent_scopes[] = { "agent" };
static const char *const customer_scopes[] = { "customer_impersonation", "customer" };

/* The sub claim of a customer token (Spryker's customer identifier). */
static char *
customer_sub(long long customer_id, const char *reference)
{
	struct json_object *o = json_object_new_object();

	if (jx_set_null(o, "id_company_user") < 0 || jx_set_null(o, "id_agent") < 0 ||
	    jx_set(o, "customer_reference", json_object_new_string(reference)) < 0 ||
	    jx_set(o, "id_customer", json_object_new_int64(customer_id)) < 0 ||
	    jx_set_null(o, "permissions") < 0) {
		json_object_put(o);
		return NULL;
	}
	return jx_render(o, NULL);
}

long
issue_ttl(const struct config *cfg, const struct session *s, long long iat)
{
	/* an impersonation token never outlives the agent token behind it */
	if (s->exp_cap > 0 && iat + cfg->access_token_ttl > s->exp_cap)
		return (long)(s->exp_cap - iat);
	return cfg->access_token_ttl;
}

char *
issue_access_token(const struct config *cfg, const struct signing_key *key,
    const struct session *s, long long iat)
{
	struct access_claims c = {
		.aud = cfg->audience, .iss = cfg->issuer, .iat = iat,
		.ttl = issue_ttl(cfg, s, iat), .sid = s->sid,
	};
	char act[48], *sub, *jwt;

	if (c.ttl < ISSUE_MIN_TTL)
		return NULL;
	if (s->customer_id > 0) {
		sub = customer_sub(s->customer_id, s->customer_reference);
		c.scopes = customer_scopes;
		c.nscopes = 2;
		snprintf(act, sizeof(act), "agent:%lld", s->agent_id);
		c.act_sub = act;
		if (cfg->impersonation_reason_claim)
			c.reason = s->reason;
	} else {
		sub = token_agent_sub(s->agent_id);
		c.scopes = agent_scopes;
		c.nscopes = 1;
	}
	c.sub = sub;
	jwt = sub != NULL ? token_issue_access(key, &c) : NULL;
	free(sub);
	return jwt;
}

int
issue_respond(struct exchange *x, const char *type, const struct session *s,
    const char *refresh, enum error_id too_soon)
{
	long long iat = (long long)time(NULL);
	long ttl = issue_ttl(&x->app->cfg, s, iat);
	char self[BASE_URL_MAX + 128], *jwt, *body;
	size_t len = 0;

	if (ttl < ISSUE_MIN_TTL) {
		exchange_fail(x, too_soon);
		return -1;
	}
	jwt = issue_access_token(&x->app->cfg, &x->app->keys[0], s, iat);
	if (jwt == NULL) {
		log_error("cannot issue an access token");
		exchange_fail(x, ERR_INTERNAL);
		return 0;
	}
	snprintf(self, sizeof(self), "%s/%s", x->base, type);
	http_append_query(self, sizeof(self), x->req->query);
	body = jsonapi_token_body(type, ttl, jwt, refresh, self, &len);
	response_set_json(x->res, 201, MEDIA_JSONAPI, body, len);
	x->res->secret = 1;
	response_add_header(x->res, "Cache-Control", "no-store");
	response_add_header(x->res, "Pragma", "no-cache");
	explicit_bzero(jwt, strlen(jwt));
	free(jwt);
	return 0;
}
