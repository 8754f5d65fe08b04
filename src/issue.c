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

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "id_company_user", NULL);
	json_object_object_add(o, "id_agent", NULL);
	json_object_object_add(o, "customer_reference", json_object_new_string(reference));
	json_object_object_add(o, "id_customer", json_object_new_int64(customer_id));
	json_object_object_add(o, "permissions", NULL);
	return json_render(o, NULL);
}

void
issue_respond(struct exchange *x, const char *type, const struct session *s,
    const char *refresh)
{
	const struct config *cfg = &x->app->cfg;
	struct access_claims c = {
		.aud = cfg->audience, .iss = cfg->issuer, .iat = (long long)time(NULL),
		.ttl = cfg->access_token_ttl,
	};
	char self[BASE_URL_MAX + 128], act[48], *sub, *jwt = NULL, *body;
	size_t len = 0;

	if (s->customer_id > 0) {
		sub = customer_sub(s->customer_id, s->customer_reference);
		c.scopes = customer_scopes;
		c.nscopes = 2;
		snprintf(act, sizeof(act), "agent:%lld", s->agent_id);
		c.act_sub = act;
	} else {
		sub = token_agent_sub(s->agent_id);
		c.scopes = agent_scopes;
		c.nscopes = 1;
	}
	/* an impersonation token never outlives the agent token behind it */
	if (s->exp_cap > 0 && c.iat + c.ttl > s->exp_cap)
		c.ttl = s->exp_cap > c.iat ? (long)(s->exp_cap - c.iat) : 0;
	c.sub = sub;
	c.sid = s->sid;
	if (sub == NULL || (jwt = token_issue_access(&x->app->key, &c)) == NULL) {
		log_error("cannot issue an access token");
		response_error(x->res, 500, NULL, "Internal Server Error");
		goto out;
	}
	snprintf(self, sizeof(self), "%s/%s", x->base, type);
	http_append_query(self, sizeof(self), x->req->query);
	body = jsonapi_token_body(type, c.ttl, jwt, refresh, self, &len);
	response_set_json(x->res, 201, MEDIA_JSONAPI, body, len);
	response_add_header(x->res, "Cache-Control", "no-store");
	response_add_header(x->res, "Pragma", "no-cache");
out:
	if (jwt != NULL) {
		explicit_bzero(jwt, strlen(jwt));
		free(jwt);
	}
	free(sub);
}
