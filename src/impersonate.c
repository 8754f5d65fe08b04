/* impersonate: an agent obtains a customer token, with an audit event. */
#include "impersonate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gate.h"
#include "issue.h"
#include "jsonapi.h"
#include "log.h"
#include "token.h"

#define IMPERSONATE_TYPE "agent-customer-impersonation-access-tokens"
#define REFERENCE_MAX 255
#define REASON_MAX 1000

static void
fail_4104(struct exchange *x)
{
	response_error(x->res, 401, "4104", "Failed to impersonate a customer.");
}

/* The agent token passed the gate (clock_skew lets in one whose exp has
 * just passed), but a token capped at its exp would be dead at birth. */
static void
fail_too_soon(struct exchange *x, long long agent_id)
{
	log_info("impersonation refused: agent=%lld: agent token expires too soon", agent_id);
	response_error(x->res, 401, "4102", "Agent access token expires too soon.");
}

void
impersonate_handle(struct exchange *x)
{
	const struct config *cfg = &x->app->cfg;
	struct json_object *root = NULL, *attrs = NULL, *v;
	char refresh[REFRESH_TOKEN_LEN + 1], hash[65], agent[24], ttl[24], exp[24], who[128];
	const char *ref, *reason = NULL, *params[8];
	size_t rlen = 0, reason_len = 0;
	struct caller c;
	PGresult *res = NULL;

	if (router_read_resource(x, IMPERSONATE_TYPE, &root, &attrs) < 0)
		return;
	if (json_object_object_get_ex(attrs, "reason", &v) && v != NULL) {
		reason = json_get_string_member(attrs, "reason", &reason_len);
		if (reason == NULL || reason_len > REASON_MAX || memchr(reason, '\0', reason_len) ||
		    !utf8_valid(reason, reason_len)) {
			response_error(x->res, 400, NULL, "Post data is invalid.");
			goto out;
		}
	}
	if (!gate_agent_only(x, &c))
		goto out;
	/* refused before anything is stored or audited (doc/api.md §9.2) */
	if (c.agent.exp - (long long)time(NULL) < ISSUE_MIN_TTL) {
		fail_too_soon(x, c.agent.agent_id);
		goto out;
	}
	ref = json_get_string_member(attrs, "customerReference", &rlen);
	/* an unusable reference matches no customer; the refusal is audited */
	if (ref != NULL && (rlen == 0 || rlen > REFERENCE_MAX || memchr(ref, '\0', rlen) != NULL ||
	    !utf8_valid(ref, rlen)))
		ref = NULL;
	if (token_new_refresh(refresh, hash) < 0) {
		response_error(x->res, 500, NULL, "Internal Server Error");
		goto out;
	}
	snprintf(agent, sizeof(agent), "%lld", c.agent.agent_id);
	snprintf(ttl, sizeof(ttl), "%ld", cfg->refresh_token_ttl);
	params[0] = agent;
	params[1] = ref;
	params[2] = cfg->impersonation_requires_consent ? "true" : "false";
	params[3] = reason;
	params[4] = x->client_ip;
	params[5] = hash;
	params[6] = ttl;
	snprintf(exp, sizeof(exp), "%lld", c.agent.exp);
	params[7] = exp;
	if (db_query(x->app->db, "SELECT customer_id, customer_reference, family_id FROM "
	    "agentauth.impersonate($1, $2, $3, $4, $5, $6, $7, $8)", 8, params, &res) != DB_OK) {
		response_error(x->res, 503, NULL, "Service temporarily unavailable.");
		goto out;
	}
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		log_info("impersonation refused: agent=%lld customer=\"%s\"", c.agent.agent_id,
		    log_quote(who, sizeof(who), ref, ref != NULL ? rlen : 0));
		fail_4104(x);
	} else {
		struct session s = {
			.agent_id = c.agent.agent_id,
			.customer_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10),
			.customer_reference = PQgetvalue(res, 0, 1),
			.exp_cap = c.agent.exp,
			.sid = PQgetvalue(res, 0, 2),
		};
		/* the database was slow and the agent token ran out meanwhile:
		 * the session stored has ended too (its session_exp) */
		if (issue_respond(x, IMPERSONATE_TYPE, &s, refresh) < 0)
			fail_too_soon(x, s.agent_id);
		else
			log_info("impersonation: agent=%lld customer=%lld ip=%s", s.agent_id,
			    s.customer_id, x->client_ip[0] ? x->client_ip : "-");
	}
out:
	PQclear(res);
	explicit_bzero(refresh, sizeof(refresh));
	json_object_put(root);
}
