/* issue: signs the access token of a session and answers 201 with the
 * token document (login, refresh, impersonation). */
#ifndef AGENTAUTH_ISSUE_H
#define AGENTAUTH_ISSUE_H

#include "exchange.h"

struct session {
	long long agent_id;              /* the agent, or the acting agent */
	long long customer_id;           /* > 0: an impersonation session */
	const char *customer_reference;  /* impersonation only */
	long long exp_cap;               /* 0, or the latest allowed exp */
	const char *sid;                 /* the session (refresh-token family) id */
	const char *reason;              /* impersonation only: the agent's reason,
	                                    or NULL */
};

/* The shortest lifetime (exp - iat, seconds) of an access token we issue.
 * A session with less time left (an impersonation capped by an agent token
 * about to expire, which clock_skew may still let in) gets no token rather
 * than one that is dead at birth (doc/api.md §9.2). */
#define ISSUE_MIN_TTL 1

/* The lifetime of an access token for s issued at iat: access_token_ttl,
 * capped so that exp never passes s->exp_cap.  May be below ISSUE_MIN_TTL,
 * or negative. */
long issue_ttl(const struct config *cfg, const struct session *s, long long iat);

/* Builds the claims of s's access token issued at iat (sub, scopes, act
 * for an impersonation, exp from issue_ttl) and signs it with key.
 * Returns a malloc'd JWT, which the caller wipes and frees, or NULL: memory
 * ran out, signing failed, or the lifetime would be below ISSUE_MIN_TTL.
 * Never a token with a claim missing. */
char *issue_access_token(const struct config *cfg, const struct signing_key *key,
    const struct session *s, long long iat);

/* Answers 201 with {"data":{"type":type,...}} holding a new access token
 * for s and the given refresh token (already stored by the caller), with
 * links.self = <base>/<type>, and returns 0; or answers 500 (logged) if
 * the token cannot be signed, and returns 0 too.  If s has less than
 * ISSUE_MIN_TTL seconds left it answers too_soon, the endpoint's refusal,
 * and returns -1: no token is issued, and the caller logs why. */
int issue_respond(struct exchange *x, const char *type, const struct session *s,
    const char *refresh, enum error_id too_soon);

#endif
