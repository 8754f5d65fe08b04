/* exchange: one request being answered, as the handlers see it: the
 * request, the caller's address, the link base and the response to fill;
 * reading the JSON:API resource of a POST body; and answering an error of
 * the table in errors.h (exchange_fail). */
#ifndef AGENTAUTH_EXCHANGE_H
#define AGENTAUTH_EXCHANGE_H

#include <json-c/json.h>

#include "app.h"
#include "clientip.h"
#include "errors.h"
#include "http.h"

#define BASE_URL_MAX 1024

/* One request being answered.  router_dispatch() fills it; everything is
 * borrowed from its caller except res, which the handler fills. */
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
 * success returns 0 with *root_r (the caller puts it, with jx_put_wiped)
 * and *attributes_r (borrowed from it); otherwise answers 400 ("Invalid
 * type." or "Post data is invalid.") and returns -1. */
int exchange_read_resource(struct exchange *x, const char *type, struct json_object **root_r,
    struct json_object **attributes_r);

/* Answers the error e of the table (errors.h): its status, code and
 * detail as a JSON:API error document.  exchange_fail_n writes n where the
 * detail has "%ld" (ERR_LOCKED_OUT: the minutes of the block). */
void exchange_fail(struct exchange *x, enum error_id e);
void exchange_fail_n(struct exchange *x, enum error_id e, long n);

#endif
