/* gate: who is calling.  Examines X-Agent-Authorization and Authorization
 * (both "Bearer <jwt>"), verifies the tokens and, for agent tokens, asks
 * the database whether the agent is still active and its session not
 * revoked (doc/api.md §3).  Two named policies turn that into an answer:
 * the agent-only endpoints' (§3.5) and the revocation endpoints' (§5.2). */
#ifndef AGENTAUTH_GATE_H
#define AGENTAUTH_GATE_H

#include "exchange.h"
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

/* The two policies of the agent endpoints.  Each examines both headers
 * into *c and returns 0 if an agent calls (x->agent_id and c->agent are
 * that agent's), or answers and returns -1.
 *
 * gate_agent_only: the agent-only endpoints, search and impersonation
 * (doc/api.md §3.5): 503, then 401 4102 for an invalid X-Agent-Authorization
 * token, 401 001 for an invalid Authorization token, 401 4103 when neither
 * holds a good agent token; a header that is not Bearer is ignored.
 *
 * gate_agent_revoking: DELETE /refresh-tokens/... (doc/api.md §5.2): the
 * same, except that a header that is not Bearer counts as an invalid token
 * and a request with neither header gets 403 002. */
int gate_agent_only(struct exchange *x, struct caller *c);
int gate_agent_revoking(struct exchange *x, struct caller *c);

/* Splits "Bearer <token>" (scheme in any case, one space).  Returns the
 * token and its length in *len_r, or NULL. */
const char *gate_bearer(const char *header, size_t *len_r);

#endif
