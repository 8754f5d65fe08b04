/* search: customer search for agents, with Spryker's paging links. */
#include "search.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "jx.h"
#include "log.h"
#include "store.h"
#include "strict.h"

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
page_link(const char *base, const char *others, long offset, long limit, char *link,
    size_t cap)
{
	size_t n;

	snprintf(link, cap, "%s/" SEARCH_TYPE "?", base);
	http_append_encoded(link, cap, others);
	n = strlen(link);
	snprintf(link + n, cap - n, "%spage[offset]=%ld&page[limit]=%ld",
	    others[0] != '\0' ? "&" : "", offset, limit);
	return json_object_new_string(link);
}

/* Appends customer cu to arr.  Returns 0 or -1 (out of memory). */
static int
append_customer(struct json_object *arr, const struct customer *cu)
{
	struct json_object *c;

	return jx_append(arr, c = json_object_new_object()) < 0 ||
	    jx_set(c, "customerReference", json_object_new_string(cu->reference)) < 0 ||
	    jx_set(c, "email", json_object_new_string(cu->email)) < 0 ||
	    jx_set(c, "firstName", json_object_new_string(cu->first_name)) < 0 ||
	    jx_set(c, "lastName", json_object_new_string(cu->last_name)) < 0 ? -1 : 0;
}

/* The document of one page of results (doc/api.md §8.2, §8.3): the
 * customers of page, links.self from base and the request's query, and
 * for a result that is not empty first, last, prev and next under pg.
 * Returns a malloc'd string, or NULL when memory ran out. */
static char *
search_document(const char *base, const char *query, const struct paging *pg,
    const struct customer_page *page, size_t *len_r)
{
	struct json_object *root, *data, *item, *attrs, *customers, *links, *ilinks;
	size_t qlen = strlen(query), cap = strlen(base) + 3 * qlen + 128;
	char *others = malloc(qlen + 1), *self = malloc(cap), *link = malloc(cap), *body = NULL;
	long long total = page->total;
	int failed;

	if (others == NULL || self == NULL || link == NULL ||
	    http_query_without(query, paging_names, 2, others, qlen + 1) < 0)
		goto out;
	snprintf(self, cap, "%s/" SEARCH_TYPE, base);
	http_append_query(self, cap, query);

	/* each container is attached first, so that putting root frees all */
	root = json_object_new_object();
	failed = jx_set(root, "data", data = json_object_new_array()) < 0 ||
	    jx_append(data, item = json_object_new_object()) < 0 ||
	    jx_set(item, "type", json_object_new_string(SEARCH_TYPE)) < 0 ||
	    jx_set_null(item, "id") < 0 ||
	    jx_set(item, "attributes", attrs = json_object_new_object()) < 0 ||
	    jx_set(attrs, "customers", customers = json_object_new_array()) < 0 ||
	    jx_set(item, "links", ilinks = json_object_new_object()) < 0 ||
	    jx_set(ilinks, "self", json_object_new_string(self)) < 0 ||
	    jx_set(root, "links", links = json_object_new_object()) < 0 ||
	    jx_set(links, "self", json_object_new_string(self)) < 0;
	for (size_t i = 0; !failed && i < page->n; i++) {
		struct customer cu = store_customer(page, i);
		failed = append_customer(customers, &cu) < 0;
	}
	if (!failed && total > 0) {
		long last = pg->limit * (long)((total + pg->limit - 1) / pg->limit - 1);
		failed = jx_set(links, "last", page_link(base, others, last, pg->limit, link,
		    cap)) < 0 ||
		    jx_set(links, "first", page_link(base, others, 0, pg->limit, link, cap)) < 0 ||
		    (pg->offset > 0 && jx_set(links, "prev", page_link(base, others,
		    pg->offset - pg->limit > 0 ? pg->offset - pg->limit : 0, pg->limit, link,
		    cap)) < 0) ||
		    (pg->offset + pg->limit < total && jx_set(links, "next", page_link(base,
		    others, pg->offset + pg->limit, pg->limit, link, cap)) < 0);
	}
	if (failed)
		json_object_put(root);
	else
		body = jx_render(root, len_r);
out:
	free(others);
	free(self);
	free(link);
	return body;
}

void
search_handle(struct exchange *x)
{
	struct customer_page page = { 0 };
	enum agent_token token = AGENT_TOKEN_VALID;
	enum store_status st;
	struct paging pg;
	struct caller c;
	char q[Q_MAX], *body;
	size_t len = 0;

	if (search_paging(x->req->query, x->app->cfg.search_max_limit, &pg) < 0) {
		exchange_fail(x, ERR_PAGINATION_INVALID);
		return;
	}
	/* the agent check of a lone agent token is made by the search itself */
	if (gate_agent_only(x, &c) < 0)
		return;
	if (http_query_get(x->req->query, "q", q, sizeof(q)) < 0 || !utf8_valid(q, strlen(q))) {
		/* a q the database cannot hold (bad UTF-8, NUL, too long) matches
		 * nothing, without searching */
		if (gate_confirm(x, &c) < 0)
			return;
	} else {
		st = store_customer_search(x->app->db, c.agent.agent_id, c.agent.sid, q, pg.offset,
		    pg.limit, &token, &page);
		if (gate_settle(x, &c, st, token) < 0)
			goto out;
	}
	/* out of memory: a NULL body, which is the fixed 500 */
	body = search_document(x->base, x->req->query, &pg, &page, &len);
	response_set_json(x->res, 200, MEDIA_JSONAPI, body, len);
	response_add_header(x->res, "Cache-Control", "no-store");
	log_debug("search: agent=%lld total=%lld offset=%ld limit=%ld", c.agent.agent_id,
	    page.total, pg.offset, pg.limit);
out:
	store_customer_page_free(&page);
}
