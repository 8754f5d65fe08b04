/* wellknown: GET /.well-known/jwks.json and GET /health (doc/api.md §6, §7). */
#ifndef AGENTAUTH_WELLKNOWN_H
#define AGENTAUTH_WELLKNOWN_H

#include "exchange.h"

void wellknown_jwks(struct exchange *x);
void wellknown_health(struct exchange *x);

#endif
