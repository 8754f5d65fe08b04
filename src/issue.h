/* issue: signs the access token of a session and answers 201 with the
 * token document (login, refresh, impersonation). */
#ifndef AGENTAUTH_ISSUE_H
#define AGENTAUTH_ISSUE_H

#include "router.h"

struct session {
	long long agent_id;              /* the agent, or the acting agent */
	long long customer_id;           /* > 0: an impersonation session */
	const char *customer_reference;  /* impersonation only */
	long long exp_cap;               /* 0, or the latest allowed exp */
	const char *sid;                 /* the session (refresh-token family) id */
};

/* Answers 201 with {"data":{"type":type,...}} holding a new access token
 * for s and the given refresh token (already stored by the caller), with
 * links.self = <base>/<type>; or 500 if the token cannot be signed. */
void issue_respond(struct exchange *x, const char *type, const struct session *s,
    const char *refresh);

#endif
