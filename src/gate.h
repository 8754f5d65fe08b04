/* gate: who is calling.  Examines X-Agent-Authorization and Authorization
 * (both "Bearer <jwt>"), verifies the tokens and, for agent tokens, asks
 * the database whether the agent is still active and the token was issued
 * after its tokens_valid_after.  Endpoints map the outcome to their own
 * error codes (CONTRACT §5, §6). */
#ifndef AGENTAUTH_GATE_H
#define AGENTAUTH_GATE_H

#include "router.h"
#include "verify.h"

enum credential {
	CRED_ABSENT = 0,     /* no such header */
	CRED_NOT_BEARER,     /* a header without the "Bearer " scheme */
	CRED_INVALID,        /* bad, expired, revoked, or the agent is inactive */
	CRED_AGENT,          /* a valid agent token */
	CRED_OTHER,          /* a valid token that is not an agent's */
	CRED_UNAVAILABLE,    /* the database could not be asked */
};

struct caller {
	enum credential agent_header;   /* X-Agent-Authorization */
	enum credential auth_header;    /* Authorization */
	struct token_info agent;        /* the agent token, when one is valid */
};

/* Fills c from the request's headers. */
void gate_examine(struct exchange *x, struct caller *c);

/* Agent-only endpoints (CONTRACT §6).  Returns 1 if an agent calls; else
 * answers 401 (4102, 001 or 4103) or 503 and returns 0. */
int gate_agent_only(struct exchange *x, struct caller *c);

/* Splits "Bearer <token>" (scheme in any case, one space).  Returns the
 * token and its length in *len_r, or NULL. */
const char *gate_bearer(const char *header, size_t *len_r);

#endif
