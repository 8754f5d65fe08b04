/* gate: bearer headers, token verification, agent state. */
#include "gate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "store.h"

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
	int valid;

	if (t->sid[0] == '\0') {
		log_info("agent %lld: token names no session", t->agent_id);
		return CRED_INVALID;
	}
	if (store_agent_token_valid(x->app->db, t->agent_id, t->sid, &valid) < 0)
		return CRED_UNAVAILABLE;
	if (!valid) {
		log_info("agent %lld: token no longer valid (agent inactive or session revoked)",
		    t->agent_id);
		return CRED_INVALID;
	}
	return CRED_AGENT;
}

static enum credential
examine(struct exchange *x, const char *header, const char *name, struct token_info *t)
{
	const struct config *cfg = &x->app->cfg;
	struct keyring ring;
	struct verify_params p = {
		.keys = &ring, .aud = cfg->audience, .iss = cfg->issuer,
		.skew = cfg->clock_skew, .now = (long long)time(NULL),
	};
	const char *token, *why;
	size_t len;

	app_keyring(x->app, &ring);
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

/* Fills c from the request's headers (doc/api.md §3.5). */
static void
examine_both(struct exchange *x, struct caller *c)
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

/* The one ladder of both policies.  strict (the revocation endpoints): a
 * header that is not Bearer is an invalid token, and a request with
 * neither header is 403 002. */
static int
admit_agent(struct exchange *x, struct caller *c, int strict)
{
	examine_both(x, c);
	if (c->agent_header == CRED_UNAVAILABLE || c->auth_header == CRED_UNAVAILABLE) {
		exchange_fail(x, ERR_SERVICE_UNAVAILABLE);
		return -1;
	}
	if (c->agent_header == CRED_INVALID ||
	    (strict && c->agent_header == CRED_NOT_BEARER)) {
		exchange_fail(x, ERR_AGENT_TOKEN_INVALID);
		return -1;
	}
	if (c->auth_header == CRED_INVALID || (strict && c->auth_header == CRED_NOT_BEARER)) {
		exchange_fail(x, ERR_TOKEN_INVALID);
		return -1;
	}
	if (strict && c->agent_header == CRED_ABSENT && c->auth_header == CRED_ABSENT) {
		exchange_fail(x, ERR_TOKEN_MISSING);
		return -1;
	}
	if (c->agent_header != CRED_AGENT && c->auth_header != CRED_AGENT) {
		exchange_fail(x, ERR_AGENT_ONLY);
		return -1;
	}
	x->agent_id = c->agent.agent_id;
	return 0;
}

int
gate_agent_only(struct exchange *x, struct caller *c)
{
	return admit_agent(x, c, 0);
}

int
gate_agent_revoking(struct exchange *x, struct caller *c)
{
	return admit_agent(x, c, 1);
}
