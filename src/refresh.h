/* refresh: POST /refresh-tokens (rotation) and DELETE /refresh-tokens/{id}
 * (revocation): doc/api.md §4 and §5. */
#ifndef AGENTAUTH_REFRESH_H
#define AGENTAUTH_REFRESH_H

#include "exchange.h"

void refresh_handle_post(struct exchange *x);
void refresh_handle_delete(struct exchange *x);

#endif
