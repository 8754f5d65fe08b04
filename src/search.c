/* search: customer search for agents, with Spryker's paging links. */
#include "search.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "jsonapi.h"
#include "log.h"

#define SEARCH_TYPE "agent-customer-search"
#define Q_MAX 256

static const char *const paging_names[] = { "page[offset]", "page[limit]" };

/* A whole number 0..INT_MAX/2 written with digits only; -1 otherwise. */
static long
whole(const char *s)
{
	long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > INT_MAX / 2)
		return -1;
	return v;
}

int
search_paging(const char *query, long max_limit, struct paging *p)
{
	char off[32], lim[32];
	int has_off = http_query_get(query, paging_names[0], off, sizeof(off));
	int has_lim = http_query_get(query, paging_names[1], lim, sizeof(lim));
	long o = 0, l = 0;

	p->offset = 0;
	p->limit = SEARCH_DEFAULT_LIMIT < max_limit ? SEARCH_DEFAULT_LIMIT : max_limit;
	if (has_off < 0 || has_lim < 0)
		return -1;
	if (has_off && (o = whole(off)) < 0)
		return -1;
	if (has_lim && ((l = whole(lim)) <= 0))
		return -1;
	if (has_off && !has_lim)
		return -1;   /* Spryker: an offset without a limit has limit 0 */
	if (has_off && has_lim) {
		p->limit = l < max_limit ? l : max_limit;
		p->offset = o / p->limit * p->limit;
	}
	return 0;
}

/* <base>/agent-customer-search?<others>&page[offset]=O&page[limit]=L, in
 * link (cap bytes, enough for base + 3 x others + 64). */
static struct json_object *
page_link(struct exchange *x, const char *others, long offset, long limit, char *link,
    size_t cap)
{
	size_t n;

	snprintf(link, cap, "%s/" SEARCH_TYPE "?", x->base);
	http_append_encoded(link, cap, others);
	n = strlen(link);
	snprintf(link + n, cap - n, "%spage[offset]=%ld&page[limit]=%ld",
	    others[0] != '\0' ? "&" : "", offset, limit);
	return json_object_new_string(link);
}

/* Appends the customer of row to arr.  Returns 0 or -1 (out of memory). */
static int
append_customer(struct json_object *arr, const PGresult *res, int row)
{
	struct json_object *c;

	return json_append(arr, c = json_object_new_object()) < 0 ||
	    json_set(c, "customerReference", json_object_new_string(PQgetvalue(res, row, 1))) < 0 ||
	    json_set(c, "email", json_object_new_string(PQgetvalue(res, row, 2))) < 0 ||
	    json_set(c, "firstName", json_object_new_string(PQgetvalue(res, row, 3))) < 0 ||
	    json_set(c, "lastName", json_object_new_string(PQgetvalue(res, row, 4))) < 0 ? -1 : 0;
}

void
search_handle(struct exchange *x)
{
	struct json_object *root, *data, *item, *attrs, *customers, *links, *ilinks;
	char q[Q_MAX], off[24], lim[24], *others, *self, *link;
	const char *params[3] = { q, off, lim };
	struct paging pg;
	struct caller c;
	PGresult *res = NULL;
	long long total = 0;
	size_t len = 0, qlen, cap;
	int valid_q, failed;
	char *body;

	if (search_paging(x->req->query, x->app->cfg.search_max_limit, &pg) < 0) {
		response_error(x->res, 400, NULL, "Pagination parameters are invalid.");
		return;
	}
	if (!gate_agent_only(x, &c))
		return;
	/* a q the database cannot hold (bad UTF-8, NUL, too long) matches nothing */
	valid_q = http_query_get(x->req->query, "q", q, sizeof(q)) >= 0 &&
	    utf8_valid(q, strlen(q));
	if (valid_q) {
		snprintf(off, sizeof(off), "%ld", pg.offset);
		snprintf(lim, sizeof(lim), "%ld", pg.limit);
		if (db_query(x->app->db, "SELECT total, customer_reference, email, first_name, "
		    "last_name FROM agentauth.customer_search($1, $2, $3)", 3, params, &res) != DB_OK) {
			response_error(x->res, 503, NULL, "Service temporarily unavailable.");
			return;
		}
		if (PQntuples(res) >= 1)
			total = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	}
	qlen = strlen(x->req->query);
	cap = strlen(x->base) + 3 * qlen + 128;
	others = malloc(qlen + 1);
	self = malloc(cap);
	link = malloc(cap);
	if (others == NULL || self == NULL || link == NULL ||
	    http_query_without(x->req->query, paging_names, 2, others, qlen + 1) < 0) {
		response_error(x->res, 500, NULL, "Internal Server Error");
		PQclear(res);
		goto out;
	}
	snprintf(self, cap, "%s/" SEARCH_TYPE, x->base);
	http_append_query(self, cap, x->req->query);

	/* each container is attached first, so that putting root frees all;
	 * out of memory: root is put and json_render(NULL) gives the 500 */
	root = json_object_new_object();
	failed = json_set(root, "data", data = json_object_new_array()) < 0 ||
	    json_append(data, item = json_object_new_object()) < 0 ||
	    json_set(item, "type", json_object_new_string(SEARCH_TYPE)) < 0 ||
	    json_set_null(item, "id") < 0 ||
	    json_set(item, "attributes", attrs = json_object_new_object()) < 0 ||
	    json_set(attrs, "customers", customers = json_object_new_array()) < 0 ||
	    json_set(item, "links", ilinks = json_object_new_object()) < 0 ||
	    json_set(ilinks, "self", json_object_new_string(self)) < 0 ||
	    json_set(root, "links", links = json_object_new_object()) < 0 ||
	    json_set(links, "self", json_object_new_string(self)) < 0;
	for (int i = 1; !failed && res != NULL && i < PQntuples(res); i++)
		failed = append_customer(customers, res, i) < 0;
	PQclear(res);
	if (!failed && total > 0) {
		long last = pg.limit * (long)((total + pg.limit - 1) / pg.limit - 1);
		failed = json_set(links, "last", page_link(x, others, last, pg.limit, link, cap)) < 0 ||
		    json_set(links, "first", page_link(x, others, 0, pg.limit, link, cap)) < 0 ||
		    (pg.offset > 0 && json_set(links, "prev", page_link(x, others,
		    pg.offset - pg.limit > 0 ? pg.offset - pg.limit : 0, pg.limit, link, cap)) < 0) ||
		    (pg.offset + pg.limit < total && json_set(links, "next", page_link(x, others,
		    pg.offset + pg.limit, pg.limit, link, cap)) < 0);
	}
	if (failed) {
		json_object_put(root);
		root = NULL;
	}
	body = json_render(root, &len);
	response_set_json(x->res, 200, MEDIA_JSONAPI, body, len);
	response_add_header(x->res, "Cache-Control", "no-store");
	log_debug("search: agent=%lld total=%lld offset=%ld limit=%ld", c.agent.agent_id, total,
	    pg.offset, pg.limit);
out:
	free(others);
	free(self);
	free(link);
}
