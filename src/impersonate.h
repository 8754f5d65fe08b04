/* impersonate: POST /agent-customer-impersonation-access-tokens (CONTRACT §8). */
#ifndef AGENTAUTH_IMPERSONATE_H
#define AGENTAUTH_IMPERSONATE_H

#include "router.h"

void impersonate_handle(struct exchange *x);

#endif
