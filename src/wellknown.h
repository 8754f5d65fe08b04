/* wellknown: GET /.well-known/jwks.json and GET /health. */
#ifndef AGENTAUTH_WELLKNOWN_H
#define AGENTAUTH_WELLKNOWN_H

#include "router.h"

void wellknown_jwks(struct exchange *x);
void wellknown_health(struct exchange *x);

#endif
