/* gate: bearer headers, token verification, agent state. */
#include "gate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"

const char *
gate_bearer(const char *header, size_t *len_r)
{
	if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0 || header[7] == '\0')
		return NULL;
	*len_r = strlen(header + 7);
	return header + 7;
}

/* Is the agent of a verified token still allowed in?  CRED_AGENT,
 * CRED_INVALID or CRED_UNAVAILABLE. */
static enum credential
agent_state(struct exchange *x, const struct token_info *t)
{
	char id[24];
	const char *params[2] = { id, t->sid };
	enum credential c;
	PGresult *res;

	if (t->sid[0] == '\0') {
		log_info("agent %lld: token names no session", t->agent_id);
		return CRED_INVALID;
	}
	snprintf(id, sizeof(id), "%lld", t->agent_id);
	if (db_query(x->app->db, "SELECT agentauth.agent_token_valid($1, $2)", 2, params,
	    &res) != DB_OK)
		return CRED_UNAVAILABLE;
	c = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0 ?
	    CRED_AGENT : CRED_INVALID;
	PQclear(res);
	if (c == CRED_INVALID)
		log_info("agent %lld: token no longer valid (agent inactive or session revoked)",
		    t->agent_id);
	return c;
}

static enum credential
examine(struct exchange *x, const char *header, const char *name, struct token_info *t)
{
	const struct config *cfg = &x->app->cfg;
	struct verify_params p = {
		.keys = &x->app->keyring, .aud = cfg->audience, .iss = cfg->issuer,
		.skew = cfg->clock_skew, .now = (long long)time(NULL),
	};
	const char *token, *why;
	size_t len;

	if (header == NULL)
		return CRED_ABSENT;
	token = gate_bearer(header, &len);
	if (token == NULL)
		return CRED_NOT_BEARER;
	if (token_verify(&p, token, len, t, &why) < 0) {
		log_info("%s: token refused: %s", name, why);
		return CRED_INVALID;
	}
	if (t->kind != TOKEN_AGENT)
		return CRED_OTHER;
	return agent_state(x, t);
}

void
gate_examine(struct exchange *x, struct caller *c)
{
	struct token_info t;

	memset(c, 0, sizeof(*c));
	c->agent_header = examine(x, x->req->agent_authorization, "X-Agent-Authorization",
	    &c->agent);
	if (c->agent_header == CRED_UNAVAILABLE)
		return;
	c->auth_header = examine(x, x->req->authorization, "Authorization", &t);
	if (c->auth_header == CRED_AGENT && c->agent_header != CRED_AGENT)
		c->agent = t;
}

int
gate_agent_only(struct exchange *x, struct caller *c)
{
	gate_examine(x, c);
	if (c->agent_header == CRED_UNAVAILABLE || c->auth_header == CRED_UNAVAILABLE) {
		response_error(x->res, 503, NULL, "Service temporarily unavailable.");
		return 0;
	}
	if (c->agent_header == CRED_INVALID) {
		response_error(x->res, 401, "4102", "Agent access token is invalid.");
		return 0;
	}
	if (c->auth_header == CRED_INVALID) {
		response_error(x->res, 401, "001", "Invalid access token.");
		return 0;
	}
	if (c->agent_header == CRED_AGENT || c->auth_header == CRED_AGENT) {
		x->agent_id = c->agent.agent_id;
		return 1;
	}
	response_error(x->res, 401, "4103", "Action is available to agent user only.");
	return 0;
}
