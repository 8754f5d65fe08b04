/* router: maps a request to its resource and handler, and applies the
 * checks every endpoint shares (404, 405, 406, 413, 400, 415). */
#ifndef AGENTAUTH_ROUTER_H
#define AGENTAUTH_ROUTER_H

#include "app.h"
#include "http.h"

/* Answers req into res (which must be initialised).  Never fails: errors
 * become JSON:API error documents. */
void router_dispatch(struct app *app, const struct request *req, struct response *res);

/* Splits the request path into mount point and the path below it.  Used by
 * router_dispatch(); exposed for tests.  *path_r has no leading '/'. */
void router_resolve(const struct request *req, const char **mount_r, size_t *mount_len_r,
    const char **path_r);

#endif
