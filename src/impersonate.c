/* impersonate: an agent obtains a customer token, with an audit event. */
#include "impersonate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "errors.h"
#include "gate.h"
#include "issue.h"
#include "jx.h"
#include "log.h"
#include "store.h"
#include "strict.h"
#include "token.h"

#define IMPERSONATE_TYPE "agent-customer-impersonation-access-tokens"
#define REASON_MAX 1000

/* Whether reason[0..len) (NULL: none sent) satisfies impersonation_reason:
 * ERR_COUNT, or the error of the answer.  reason is NUL-terminated (json-c) and
 * holds no NUL. */
static enum error_id
reason_refusal(const struct app *app, const char *reason, size_t len)
{
	size_t i = 0;

	if (app->reason_rule == REASON_OPTIONAL)
		return ERR_COUNT;
	while (reason != NULL && i < len && strchr(" \t\r\n", reason[i]) != NULL)
		i++;
	if (reason == NULL || i == len)
		return ERR_REASON_BLANK;
	if (app->reason_rule == REASON_MATCH &&
	    regexec(&app->reason_re, reason, 0, NULL, 0) != 0)
		return ERR_REASON_INVALID;
	return ERR_COUNT;
}

/* The agent token passed the gate (clock_skew lets in one whose exp has
 * just passed), but a token capped at its exp would be dead at birth. */
static void
log_too_soon(long long agent_id)
{
	log_info("impersonation refused: agent=%lld: agent token expires too soon", agent_id);
}

void
impersonate_handle(struct exchange *x)
{
	struct json_object *root = NULL, *attrs = NULL, *v;
	char refresh[REFRESH_TOKEN_LEN + 1], hash[65], who[128];
	const char *ref, *reason = NULL;
	size_t rlen = 0, reason_len = 0;
	struct store_session ss = { 0 };
	enum agent_token token;
	enum store_status st;
	enum error_id refusal;
	struct caller c;

	if (exchange_read_resource(x, IMPERSONATE_TYPE, &root, &attrs) < 0)
		return;
	if (json_object_object_get_ex(attrs, "reason", &v) && v != NULL) {
		reason = jx_string_member(attrs, "reason", &reason_len);
		if (reason == NULL || reason_len > REASON_MAX ||
		    memchr(reason, '\0', reason_len) != NULL || !utf8_valid(reason, reason_len)) {
			exchange_fail(x, ERR_POST_DATA_INVALID);
			goto out;
		}
	}
	/* the agent check of a lone agent token is made by impersonate itself;
	 * an answer before it settles the gate first (503 and 401 come first) */
	if (gate_agent_only(x, &c) < 0)
		goto out;
	/* refused before anything is stored or audited (doc/api.md §9.2) */
	if (c.agent.exp - (long long)time(NULL) < ISSUE_MIN_TTL) {
		if (gate_confirm(x, &c) < 0)
			goto out;
		log_too_soon(c.agent.agent_id);
		exchange_fail(x, ERR_AGENT_TOKEN_TOO_SOON);
		goto out;
	}
	/* the rule of impersonation_reason, once the caller is known to be an
	 * agent (doc/api.md §9.2) */
	if ((refusal = reason_refusal(x->app, reason, reason_len)) != ERR_COUNT) {
		if (gate_confirm(x, &c) == 0)
			exchange_fail(x, refusal);
		goto out;
	}
	ref = jx_string_member(attrs, "customerReference", &rlen);
	/* an unusable reference matches no customer; the refusal is audited */
	if (ref != NULL && (rlen == 0 || rlen > CUSTOMER_REF_MAX ||
	    memchr(ref, '\0', rlen) != NULL || !utf8_valid(ref, rlen)))
		ref = NULL;
	if (token_new_refresh(refresh, hash) < 0) {
		if (gate_confirm(x, &c) == 0)
			exchange_fail(x, ERR_INTERNAL);
		goto out;
	}
	st = store_impersonate(x->app->db, &x->app->cfg, c.agent.agent_id, c.agent.sid, ref,
	    reason, x->client_ip, hash, c.agent.exp, &token, &ss);
	if (gate_settle(x, &c, st, token) < 0)
		goto out;
	if (ss.sid == NULL) {
		log_info("impersonation refused: agent=%lld customer=\"%s\"", c.agent.agent_id,
		    log_quote(who, sizeof(who), ref, ref != NULL ? rlen : 0));
		exchange_fail(x, ERR_IMPERSONATION_FAILED);
	} else {
		struct session s = {
			.agent_id = ss.agent_id,
			.customer_id = ss.customer_id,
			.customer_reference = ss.customer_reference,
			/* the agent token's exp, or impersonation_max_age from now */
			.exp_cap = ss.session_exp,
			.sid = ss.sid,
			.reason = reason,
		};
		/* the database was slow and the agent token ran out meanwhile:
		 * the session stored has ended too (its session_exp) */
		if (issue_respond(x, IMPERSONATE_TYPE, &s, refresh,
		    ERR_AGENT_TOKEN_TOO_SOON) < 0)
			log_too_soon(s.agent_id);
		else
			log_info("impersonation: agent=%lld customer=%lld ip=%s", s.agent_id,
			    s.customer_id, x->client_ip[0] ? x->client_ip : "-");
	}
out:
	store_session_free(&ss);
	explicit_bzero(refresh, sizeof(refresh));
	json_object_put(root);
}
