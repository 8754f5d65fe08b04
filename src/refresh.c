/* refresh: refresh-token rotation with reuse detection, and revocation. */
#include "refresh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "issue.h"
#include "jx.h"
#include "log.h"
#include "store.h"
#include "token.h"

#define REFRESH_TYPE "refresh-tokens"

static int
blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return 0;
	return 1;
}

void
refresh_handle_post(struct exchange *x)
{
	struct json_object *root = NULL, *attrs = NULL;
	char old_hash[65], new_hash[65], refresh[REFRESH_TOKEN_LEN + 1];
	enum rotate_outcome outcome;
	struct store_session ss;
	const char *token;
	size_t len = 0;

	if (exchange_read_resource(x, REFRESH_TYPE, &root, &attrs) < 0)
		return;
	token = jx_string_member(attrs, "refreshToken", &len);
	if (token == NULL || blank(token, len)) {
		exchange_fail(x, ERR_REFRESH_TOKEN_BLANK);
		goto out;
	}
	if (token_hash_refresh(token, len, old_hash) < 0 ||
	    token_new_refresh(refresh, new_hash) < 0) {
		exchange_fail(x, ERR_INTERNAL);
		goto out;
	}
	if (store_refresh_rotate(x->app->db, &x->app->cfg, old_hash, new_hash, x->client_ip,
	    &outcome, &ss) < 0) {
		exchange_fail(x, ERR_SERVICE_UNAVAILABLE);
		goto out;
	}
	if (outcome == ROTATE_OK) {
		struct session sess = {
			.agent_id = ss.agent_id,
			.customer_id = ss.customer_id,
			.customer_reference = ss.customer_reference,
			.exp_cap = ss.session_exp,
			.sid = ss.sid,
			.reason = ss.reason,
		};
		x->agent_id = sess.agent_id;
		if (issue_respond(x, REFRESH_TYPE, &sess, refresh, ERR_REFRESH_FAILED) < 0) {
			/* the database saw the impersonation session alive, but it
			 * ends within ISSUE_MIN_TTL by our clock: no dead token (the
			 * successor stored expires with the session, unseen) */
			log_info("refresh refused: session ends too soon ip=%s",
			    x->client_ip[0] ? x->client_ip : "-");
		} else {
			log_info("refresh: agent=%lld customer=%lld ip=%s", sess.agent_id,
			    sess.customer_id, x->client_ip[0] ? x->client_ip : "-");
		}
	} else {
		log_info("refresh refused: %s ip=%s", store_rotate_outcome_name(outcome),
		    x->client_ip[0] ? x->client_ip : "-");
		exchange_fail(x, ERR_REFRESH_FAILED);
	}
	store_session_free(&ss);
out:
	explicit_bzero(refresh, sizeof(refresh));
	jx_put_wiped(root);
}

void
refresh_handle_delete(struct exchange *x)
{
	struct caller c;
	char hash[65], count[24];
	enum store_status st;
	long n;
	int mine = strcmp(x->id, "mine") == 0;

	if (gate_agent_revoking(x, &c) < 0)
		return;
	if (mine) {
		st = store_refresh_revoke_mine(x->app->db, c.agent.agent_id, &n);
	} else {
		if (token_hash_refresh(x->id, strlen(x->id), hash) < 0) {
			exchange_fail(x, ERR_INTERNAL);
			return;
		}
		st = store_refresh_revoke(x->app->db, c.agent.agent_id, hash, &n);
	}
	if (st < 0) {
		exchange_fail(x, ERR_SERVICE_UNAVAILABLE);
		return;
	}
	if (n >= 0)
		snprintf(count, sizeof(count), "%ld", n);
	else
		snprintf(count, sizeof(count), "?");
	log_info("revoke: agent=%lld %s, %s token(s) revoked", c.agent.agent_id,
	    mine ? "all tokens" : "one token", count);
	x->res->status = 204;
	x->res->content_type = NULL;
	response_add_header(x->res, "Cache-Control", "no-store");
}
