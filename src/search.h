/* search: GET /agent-customer-search (doc/api.md §8). */
#ifndef AGENTAUTH_SEARCH_H
#define AGENTAUTH_SEARCH_H

#include "exchange.h"

#define SEARCH_DEFAULT_LIMIT 10

struct paging {
	long offset;
	long limit;
};

/* Reads page[offset] and page[limit] from query under Spryker's rules:
 * used only when both are present (else 0 and 10), offset rounded down to
 * a multiple of the limit, limit capped at max_limit.  Returns 0, or -1
 * for invalid values (400 "Pagination parameters are invalid."). */
int search_paging(const char *query, long max_limit, struct paging *p);

void search_handle(struct exchange *x);

#endif
