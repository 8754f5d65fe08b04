/* impersonate: POST /agent-customer-impersonation-access-tokens (doc/api.md §9). */
#ifndef AGENTAUTH_IMPERSONATE_H
#define AGENTAUTH_IMPERSONATE_H

#include "exchange.h"

void impersonate_handle(struct exchange *x);

#endif
