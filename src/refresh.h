/* refresh: POST /refresh-tokens (rotation) and DELETE /refresh-tokens/{id}
 * (revocation), CONTRACT §5. */
#ifndef AGENTAUTH_REFRESH_H
#define AGENTAUTH_REFRESH_H

#include "router.h"

void refresh_handle_post(struct exchange *x);
void refresh_handle_delete(struct exchange *x);

#endif
