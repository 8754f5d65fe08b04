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

/* An agent token the database no longer accepts: CRED_INVALID, logged. */
static enum credential
no_longer_valid(const struct token_info *t)
{
	log_info("agent %lld: token no longer valid (agent inactive or session revoked)",
	    t->agent_id);
	return CRED_INVALID;
}

/* Asks the database about a CRED_PENDING token (doc/api.md §3.4):
 * CRED_AGENT, CRED_INVALID or CRED_UNAVAILABLE. */
static enum credential
ask(struct exchange *x, const struct token_info *t)
{
	int valid;

	if (store_agent_token_valid(x->app->db, t->agent_id, t->sid, &valid) < 0)
		return CRED_UNAVAILABLE;
	return valid ? CRED_AGENT : no_longer_valid(t);
}

/* One header, without the database: CRED_ABSENT, CRED_NOT_BEARER,
 * CRED_INVALID, CRED_OTHER or CRED_PENDING (with *t). */
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
	if (t->sid[0] == '\0') {
		log_info("agent %lld: token names no session", t->agent_id);
		return CRED_INVALID;
	}
	return CRED_PENDING;
}

int
gate_ladder(enum credential agent_header, enum credential auth_header, int strict,
    enum error_id *err_r)
{
	if (agent_header == CRED_UNAVAILABLE || auth_header == CRED_UNAVAILABLE)
		*err_r = ERR_SERVICE_UNAVAILABLE;
	else if (agent_header == CRED_INVALID || (strict && agent_header == CRED_NOT_BEARER))
		*err_r = ERR_AGENT_TOKEN_INVALID;
	else if (auth_header == CRED_INVALID || (strict && auth_header == CRED_NOT_BEARER))
		*err_r = ERR_TOKEN_INVALID;
	else if (strict && agent_header == CRED_ABSENT && auth_header == CRED_ABSENT)
		*err_r = ERR_TOKEN_MISSING;
	else if (agent_header != CRED_AGENT && auth_header != CRED_AGENT)
		*err_r = ERR_AGENT_ONLY;
	else
		return 0;
	return -1;
}

int
gate_defers(enum credential agent_header, enum credential auth_header)
{
	enum error_id e;

	/* one token waits for the database, and the request goes on if it is
	 * good: then what the database says of it alone decides (503, 4102 or
	 * 001, or on), and the endpoint's statement can say it */
	if ((agent_header == CRED_PENDING) == (auth_header == CRED_PENDING))
		return 0;
	return gate_ladder(agent_header == CRED_PENDING ? CRED_AGENT : agent_header,
	    auth_header == CRED_PENDING ? CRED_AGENT : auth_header, 0, &e) == 0;
}

/* Answers c's headers with the ladder.  Returns 0 (x->agent_id set) or -1. */
static int
decide(struct exchange *x, const struct caller *c)
{
	enum error_id e;

	if (gate_ladder(c->agent_header, c->auth_header, c->strict, &e) < 0) {
		x->agent_id = 0;
		exchange_fail(x, e);
		return -1;
	}
	x->agent_id = c->agent.agent_id;
	return 0;
}

/* Both policies (doc/api.md §3.5).  strict (the revocation endpoints): a
 * header that is not Bearer is an invalid token, and a request with neither
 * header is 403 002.  defer: gate_agent_only. */
static int
admit_agent(struct exchange *x, struct caller *c, int strict, int defer)
{
	struct token_info auth;

	memset(c, 0, sizeof(*c));
	c->strict = strict;
	c->agent_header = examine(x, x->req->agent_authorization, "X-Agent-Authorization",
	    &c->agent);
	c->auth_header = examine(x, x->req->authorization, "Authorization", &auth);
	if (defer && !strict && gate_defers(c->agent_header, c->auth_header)) {
		c->deferred = 1;
		c->from = GATE_AGENT_HEADER;
		if (c->auth_header == CRED_PENDING) {
			c->agent = auth;
			c->from = GATE_AUTH_HEADER;
		}
		return 0;
	}
	/* X-Agent-Authorization first: if it cannot be checked, the answer is
	 * 503 and Authorization is not checked */
	if (c->agent_header == CRED_PENDING)
		c->agent_header = ask(x, &c->agent);
	if (c->agent_header != CRED_UNAVAILABLE && c->auth_header == CRED_PENDING)
		c->auth_header = ask(x, &auth);
	/* the calling agent: X-Agent-Authorization's if good, else Authorization's */
	if (c->agent_header == CRED_AGENT) {
		c->from = GATE_AGENT_HEADER;
	} else if (c->auth_header == CRED_AGENT) {
		c->agent = auth;
		c->from = GATE_AUTH_HEADER;
	}
	return decide(x, c);
}

int
gate_agent_only(struct exchange *x, struct caller *c)
{
	return admit_agent(x, c, 0, 1);
}

int
gate_agent_revoking(struct exchange *x, struct caller *c)
{
	return admit_agent(x, c, 1, 0);
}

int
gate_settle(struct exchange *x, struct caller *c, enum store_status st,
    enum agent_token token)
{
	enum credential got = st != STORE_OK ? CRED_UNAVAILABLE :
	    token == AGENT_TOKEN_VALID ? CRED_AGENT : no_longer_valid(&c->agent);

	if (c->from == GATE_AUTH_HEADER)
		c->auth_header = got;
	else
		c->agent_header = got;
	c->deferred = 0;
	return decide(x, c);
}

int
gate_confirm(struct exchange *x, struct caller *c)
{
	int valid;
	enum store_status st;

	if (!c->deferred)
		return 0;
	st = store_agent_token_valid(x->app->db, c->agent.agent_id, c->agent.sid, &valid);
	return gate_settle(x, c, st, valid ? AGENT_TOKEN_VALID : AGENT_TOKEN_INVALID);
}
