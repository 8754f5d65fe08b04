/* router: the route table and the checks shared by every endpoint. */
#include "router.h"

#include <stdio.h>
#include <string.h>

#include "encode.h"
#include "exchange.h"
#include "impersonate.h"
#include "login.h"
#include "monotonic.h"
#include "search.h"
#include "refresh.h"
#include "wellknown.h"

typedef void handler_fn(struct exchange *x);

struct route {
	const char *path;        /* below the mount point, no leading '/' */
	const char *allow;       /* value of the Allow header */
	handler_fn *get;
	handler_fn *post;
	handler_fn *del;
};

static const struct route routes[] = {
	{ "agent-access-tokens", "POST", NULL, login_handle, NULL },
	{ "agent-customer-search", "GET", search_handle, NULL, NULL },
	{ "agent-customer-impersonation-access-tokens", "POST", NULL, impersonate_handle, NULL },
	{ "refresh-tokens", "POST, DELETE", NULL, refresh_handle_post, refresh_handle_delete },
	{ ".well-known/jwks.json", "GET", wellknown_jwks, NULL, NULL },
	{ "health", "GET", wellknown_health, NULL, NULL },
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* Finds "/" path at a segment boundary in s; returns its offset or -1. */
static long
find_segment(const char *s, const char *path)
{
	size_t plen = strlen(path);

	for (const char *p = strchr(s, '/'); p != NULL; p = strchr(p + 1, '/'))
		if (strncmp(p + 1, path, plen) == 0 && (p[1 + plen] == '\0' || p[1 + plen] == '/'))
			return p - s;
	return -1;
}

void
router_resolve(const struct request *req, const char **mount_r, size_t *mount_len_r,
    const char **path_r)
{
	const char *full;
	long best = -1;

	if (req->path_info != NULL && req->path_info[0] != '\0') {
		*mount_r = req->script_name != NULL ? req->script_name : "";
		*mount_len_r = strlen(*mount_r);
		full = req->path_info;
	} else {
		/* Everything in SCRIPT_NAME (nginx without fastcgi_split_path_info):
		 * the mount point ends where a known resource begins. */
		full = req->script_name != NULL && req->script_name[0] != '\0' ?
		    req->script_name : req->document_uri != NULL ? req->document_uri : "/";
		for (size_t i = 0; i < NROUTES; i++) {
			long at = find_segment(full, routes[i].path);
			if (at >= 0 && (best < 0 || at < best))
				best = at;
		}
		if (best < 0) {
			/* no known resource: the whole path is the mount (Apache
			 * without PATH_INFO); answer for "/" */
			*mount_r = full;
			*mount_len_r = strlen(full);
			while (*mount_len_r > 0 && full[*mount_len_r - 1] == '/')
				(*mount_len_r)--;
			*path_r = "";
			return;
		}
		*mount_r = full;
		*mount_len_r = (size_t)best;
		full += best;
	}
	while (*mount_len_r > 0 && (*mount_r)[*mount_len_r - 1] == '/')
		(*mount_len_r)--;
	while (*full == '/')
		full++;
	*path_r = full;
}

/* Matches path against a route; sets *id_r to the part after "route/"
 * (NULL when there is none).  Returns the route or NULL. */
static const struct route *
route_match(const char *path, const char **id_r)
{
	for (size_t i = 0; i < NROUTES; i++) {
		size_t n = strlen(routes[i].path);
		if (strncmp(path, routes[i].path, n) != 0)
			continue;
		if (path[n] == '\0') {
			*id_r = NULL;
			return &routes[i];
		}
		if (path[n] == '/' && strchr(path + n + 1, '/') == NULL) {
			*id_r = path + n + 1;
			return &routes[i];
		}
	}
	return NULL;
}

/* One line per request: never the id part of the path (it can be a
 * refresh token), never a header value. */
static void
log_request(struct exchange *x, const char *route, const char *request_id, long long started)
{
	char agent[24] = "-", method[48];

	if (x->agent_id > 0)
		snprintf(agent, sizeof(agent), "%lld", x->agent_id);
	log_info("request id=%s %s /%s%s status=%d ms=%.1f agent=%s ip=%s", request_id,
	    log_quote(method, sizeof(method), x->req->method, strlen(x->req->method)), route,
	    x->id != NULL ? "/{id}" : "", x->res->status,
	    (monotonic_us() - started) / 1000.0, agent,
	    x->client_ip[0] ? x->client_ip : "-");
}

static void
finish(struct exchange *x)
{
	struct response *res = x->res;
	char value[256];

	response_add_header(res, "X-Content-Type-Options", "nosniff");
	if (res->status == 401) {
		snprintf(value, sizeof(value), "Bearer realm=\"%s\"", x->app->cfg.auth_realm);
		response_add_header(res, "WWW-Authenticate", value);
	}
	if (res->status == 503 && strstr(res->headers, "Retry-After:") == NULL)
		response_add_header(res, "Retry-After", "5");
}

void
router_dispatch(struct app *app, const struct request *req, struct response *res)
{
	struct exchange x = { .app = app, .req = req, .res = res };
	const struct route *rt = NULL;
	const char *mount, *path;
	handler_fn *fn = NULL;
	size_t mount_len;
	unsigned char rnd[8];
	char request_id[17];
	long long started = monotonic_us();

	if (random_bytes(rnd, sizeof(rnd)) < 0)
		memset(rnd, 0, sizeof(rnd));
	hex_encode(request_id, rnd, sizeof(rnd));

	router_resolve(req, &mount, &mount_len, &path);
	client_ip(req->remote_addr, req->forwarded_for, req->forwarded_for_n,
	    &app->trusted_proxies, x.client_ip);
	client_key(x.client_ip, (unsigned)app->cfg.ipv6_prefix, x.client_key);
	if (http_base_url(req, app->cfg.base_url, mount, mount_len, x.base,
	    sizeof(x.base)) < 0) {
		exchange_fail(&x, ERR_URL_TOO_LONG);
		goto out;
	}
	rt = route_match(path, &x.id);
	if (rt == NULL) {
		exchange_fail(&x, ERR_NOT_FOUND);
		goto out;
	}
	if (strcmp(req->method, "GET") == 0)
		fn = rt->get;
	else if (strcmp(req->method, "POST") == 0)
		fn = rt->post;
	else if (strcmp(req->method, "DELETE") == 0)
		fn = rt->del;
	if (fn == NULL) {
		exchange_fail(&x, ERR_METHOD_NOT_ALLOWED);
		response_add_header(res, "Allow", rt->allow);
		goto out;
	}
	if (x.id != NULL && strcmp(req->method, "DELETE") != 0) {
		exchange_fail(&x, ERR_NOT_FOUND);  /* as Spryker */
		goto out;
	}
	if ((x.id == NULL || x.id[0] == '\0') && strcmp(req->method, "DELETE") == 0) {
		exchange_fail(&x, ERR_ID_NOT_SPECIFIED);
		goto out;
	}
	if (!http_accept_ok(req->accept)) {
		exchange_fail(&x, ERR_NOT_ACCEPTABLE);
		goto out;
	}
	if (req->body_status == 413) {
		exchange_fail(&x, ERR_BODY_TOO_LARGE);
		goto out;
	}
	if (req->body_status == 503) {
		exchange_fail(&x, ERR_SERVICE_UNAVAILABLE);
		goto out;
	}
	if (req->body_status != 0) {
		exchange_fail(&x, ERR_POST_DATA_INVALID);
		goto out;
	}
	if (strcmp(req->method, "POST") == 0 && !http_content_type_ok(req->content_type)) {
		exchange_fail(&x, ERR_UNSUPPORTED_MEDIA_TYPE);
		goto out;
	}
	fn(&x);
out:
	finish(&x);
	response_add_header(res, "X-Request-Id", request_id);
	log_request(&x, rt != NULL ? rt->path : "-", request_id, started);
}
