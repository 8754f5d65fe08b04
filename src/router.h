/* router: maps a request to its resource and handler, and applies the
 * checks every endpoint shares (404, 405, 406, 413, 400, 415). */
#ifndef AGENTAUTH_ROUTER_H
#define AGENTAUTH_ROUTER_H

#include <json-c/json.h>

#include "app.h"
#include "http.h"

#define BASE_URL_MAX 1024

/* One request being answered.  Everything is borrowed from the caller of
 * router_dispatch() except res, which the handler fills. */
struct exchange {
	struct app *app;
	const struct request *req;
	struct response *res;
	const char *id;            /* resource id after the path, or NULL */
	char base[BASE_URL_MAX];   /* absolute URL of the mount point */
	char client_ip[CLIENT_IP_MAX]; /* "" when unknown */
	char client_key[CLIENT_KEY_MAX]; /* its lock-out counting key (client_key()) */
	long long agent_id;        /* the agent acting, once known (for the log) */
};

/* Parses the request body as a single resource of the given type.  On
 * success returns 0 with *root_r (the caller puts it) and *attributes_r
 * (borrowed from it); otherwise answers 400 ("Invalid type." or "Post data
 * is invalid.") and returns -1. */
int router_read_resource(struct exchange *x, const char *type, struct json_object **root_r,
    struct json_object **attributes_r);

/* Answers req into res (which must be initialised).  Never fails: errors
 * become JSON:API error documents. */
void router_dispatch(struct app *app, const struct request *req, struct response *res);

/* Splits the request path into mount point and the path below it.  Used by
 * router_dispatch(); exposed for tests.  *path_r has no leading '/'. */
void router_resolve(const struct request *req, const char **mount_r, size_t *mount_len_r,
    const char **path_r);

#endif
