/* gate: who is calling.  Examines X-Agent-Authorization and Authorization
 * (both "Bearer <jwt>"), verifies the tokens and, for agent tokens, has the
 * database confirm that the agent is still active and its session not
 * revoked (doc/api.md §3).  Two named policies turn that into an answer:
 * the agent-only endpoints' (§3.5) and the revocation endpoints' (§5.2).
 *
 * The ladder of both lives here alone (gate_ladder).  The agent-only
 * endpoints may leave the database check of the one agent token to their
 * own statement, which checks it first (gate_agent_only): one
 * round trip instead of two; gate_settle then answers from what the
 * statement found, as the ladder would have. */
#ifndef AGENTAUTH_GATE_H
#define AGENTAUTH_GATE_H

#include "exchange.h"
#include "store.h"
#include "verify.h"

enum credential {
	CRED_ABSENT = 0,     /* no such header */
	CRED_NOT_BEARER,     /* a header without the "Bearer " scheme */
	CRED_INVALID,        /* bad, expired, revoked, or the agent is inactive */
	CRED_AGENT,          /* a valid agent token */
	CRED_OTHER,          /* a valid token that is not an agent's */
	CRED_UNAVAILABLE,    /* the database could not be asked */
	CRED_PENDING,        /* an agent token that passed the checks made without
	                        the database (§3.3 1-20, a session named): the
	                        database has not been asked yet (§3.4) */
};

enum gate_header {
	GATE_NEITHER = 0,
	GATE_AGENT_HEADER,   /* X-Agent-Authorization */
	GATE_AUTH_HEADER,    /* Authorization */
};

struct caller {
	enum credential agent_header;   /* X-Agent-Authorization */
	enum credential auth_header;    /* Authorization */
	struct token_info agent;        /* the calling agent's token, once admitted */
	enum gate_header from;          /* the header c->agent came from */
	int deferred;                   /* 1: its database check is left to the
	                                   endpoint's statement (gate_settle) */
	int strict;                     /* private: the revocation endpoints' policy */
};

/* The two policies of the agent endpoints.  Each examines both headers
 * into *c and returns 0 if an agent calls, or answers and returns -1.
 *
 * gate_agent_only: the agent-only endpoints, search and impersonation
 * (doc/api.md §3.5): 503, then 401 4102 for an invalid X-Agent-Authorization
 * token, 401 001 for an invalid Authorization token, 401 4103 when neither
 * holds a good agent token; a header that is not Bearer is ignored.  When
 * the answer hangs on the database check of one agent token only, and the
 * request goes on if that token is good (the common case: one agent token,
 * nothing wrong with the other header), it returns 0 without asking, with
 * c->deferred set, c->agent that token and x->agent_id not yet set.  The
 * caller must then pass c->agent.agent_id and c->agent.sid to its
 * statement, which checks them first, and go on only if gate_settle
 * returns 0; or, if it runs no such statement, call gate_confirm.  When
 * the ladder needs the database to choose between answers (two agent
 * tokens, an agent token next to an invalid one), it asks here, and
 * c->deferred is 0 (x->agent_id and c->agent are then the agent's).
 *
 * gate_agent_revoking: DELETE /refresh-tokens/... (doc/api.md §5.2): the
 * same, except that a header that is not Bearer counts as an invalid token
 * and a request with neither header gets 403 002; it never defers. */
int gate_agent_only(struct exchange *x, struct caller *c);
int gate_agent_revoking(struct exchange *x, struct caller *c);

/* Settles the request from the outcome of the endpoint's statement, which
 * checked c->agent: st (STORE_UNAVAILABLE: the statement could not run) and
 * token.  Returns 0 if the calling agent stays admitted (x->agent_id set),
 * or answers as the ladder does (503, 401 4102, 401 001) and returns -1.
 * Also after a gate that did not defer: the statement's check is then a
 * second look, which a revocation in between can still fail. */
int gate_settle(struct exchange *x, struct caller *c, enum store_status st,
    enum agent_token token);

/* For a deferred check that no statement makes: asks the database
 * (agentauth.agent_token_valid) and settles as gate_settle.  Returns 0 at
 * once when nothing was deferred. */
int gate_confirm(struct exchange *x, struct caller *c);

/* The ladder (doc/api.md §3.5; strict: §5.2) on the states of the two
 * headers, in which CRED_PENDING counts as not an agent's.  Returns 0 if
 * the request goes on, or -1 with *err_r the answer. */
int gate_ladder(enum credential agent_header, enum credential auth_header, int strict,
    enum error_id *err_r);

/* 1 if gate_agent_only leaves the check to the statement for
 * these header states (without the database), else 0. */
int gate_defers(enum credential agent_header, enum credential auth_header);

/* Splits "Bearer <token>" (scheme in any case, one space).  Returns the
 * token and its length in *len_r, or NULL. */
const char *gate_bearer(const char *header, size_t *len_r);

#endif
