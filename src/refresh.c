/* refresh: refresh-token rotation with reuse detection, and revocation. */
#include "refresh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "issue.h"
#include "jsonapi.h"
#include "log.h"
#include "token.h"

#define REFRESH_TYPE "refresh-tokens"

static void
fail_004(struct exchange *x)
{
	response_error(x->res, 401, "004", "Failed to refresh token.");
}

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
	const struct config *cfg = &x->app->cfg;
	struct json_object *root = NULL, *attrs = NULL;
	char old_hash[65], new_hash[65], refresh[REFRESH_TOKEN_LEN + 1];
	char ttl[24], grace[24];
	const char *token, *params[6], *outcome;
	size_t len = 0;
	PGresult *res;

	if (router_read_resource(x, REFRESH_TYPE, &root, &attrs) < 0)
		return;
	token = json_get_string_member(attrs, "refreshToken", &len);
	if (token == NULL || blank(token, len)) {
		response_error(x->res, 422, "901", "refreshToken => This value should not be blank.");
		goto out;
	}
	if (token_hash_refresh(token, len, old_hash) < 0 || token_new_refresh(refresh, new_hash) < 0) {
		response_error(x->res, 500, NULL, "Internal Server Error");
		goto out;
	}
	snprintf(ttl, sizeof(ttl), "%ld", cfg->refresh_token_ttl);
	snprintf(grace, sizeof(grace), "%ld", cfg->refresh_reuse_grace);
	params[0] = old_hash;
	params[1] = new_hash;
	params[2] = ttl;
	params[3] = x->client_ip;
	params[4] = grace;
	params[5] = cfg->impersonation_requires_consent ? "true" : "false";
	if (db_query(x->app->db, "SELECT outcome, agent_id, customer_id, customer_reference, "
	    "session_exp, family_id FROM "
	    "agentauth.refresh_rotate($1, $2, $3, $4, $5, $6)", 6, params, &res) != DB_OK) {
		response_error(x->res, 503, NULL, "Service temporarily unavailable.");
		goto out;
	}
	outcome = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "invalid";
	if (strcmp(outcome, "ok") == 0) {
		struct session sess = {
			.agent_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10),
			.customer_id = PQgetisnull(res, 0, 2) ? 0 :
			    strtoll(PQgetvalue(res, 0, 2), NULL, 10),
			.customer_reference = PQgetvalue(res, 0, 3),
			.exp_cap = PQgetisnull(res, 0, 4) ? 0 : strtoll(PQgetvalue(res, 0, 4), NULL, 10),
			.sid = PQgetvalue(res, 0, 5),
		};
		x->agent_id = sess.agent_id;
		if (issue_respond(x, REFRESH_TYPE, &sess, refresh) < 0) {
			/* the database saw the impersonation session alive, but it
			 * ends within ISSUE_MIN_TTL by our clock: no dead token (the
			 * successor stored expires with the session, unseen) */
			log_info("refresh refused: session ends too soon ip=%s",
			    x->client_ip[0] ? x->client_ip : "-");
			fail_004(x);
		} else {
			log_info("refresh: agent=%lld customer=%lld ip=%s", sess.agent_id,
			    sess.customer_id, x->client_ip[0] ? x->client_ip : "-");
		}
	} else {
		log_info("refresh refused: %s ip=%s", outcome, x->client_ip[0] ? x->client_ip : "-");
		fail_004(x);
	}
	PQclear(res);
out:
	explicit_bzero(refresh, sizeof(refresh));
	json_put_wiped(root);
}

void
refresh_handle_delete(struct exchange *x)
{
	struct caller c;
	char id[24], hash[65];
	const char *params[2] = { id, hash };
	PGresult *res;
	int mine = strcmp(x->id, "mine") == 0;

	gate_examine(x, &c);
	if (c.agent_header == CRED_UNAVAILABLE || c.auth_header == CRED_UNAVAILABLE) {
		response_error(x->res, 503, NULL, "Service temporarily unavailable.");
		return;
	}
	if (c.agent_header == CRED_INVALID || c.agent_header == CRED_NOT_BEARER) {
		response_error(x->res, 401, "4102", "Agent access token is invalid.");
		return;
	}
	if (c.auth_header == CRED_INVALID || c.auth_header == CRED_NOT_BEARER) {
		response_error(x->res, 401, "001", "Invalid access token.");
		return;
	}
	if (c.agent_header == CRED_ABSENT && c.auth_header == CRED_ABSENT) {
		response_error(x->res, 403, "002", "Missing access token.");
		return;
	}
	if (c.agent_header != CRED_AGENT && c.auth_header != CRED_AGENT) {
		response_error(x->res, 401, "4103", "Action is available to agent user only.");
		return;
	}
	x->agent_id = c.agent.agent_id;
	snprintf(id, sizeof(id), "%lld", c.agent.agent_id);
	if (mine) {
		if (db_query(x->app->db, "SELECT agentauth.refresh_revoke_mine($1)", 1, params,
		    &res) != DB_OK)
			goto unavailable;
	} else {
		if (token_hash_refresh(x->id, strlen(x->id), hash) < 0) {
			response_error(x->res, 500, NULL, "Internal Server Error");
			return;
		}
		if (db_query(x->app->db, "SELECT agentauth.refresh_revoke($1, $2)", 2, params,
		    &res) != DB_OK)
			goto unavailable;
	}
	log_info("revoke: agent=%lld %s, %s token(s) revoked", c.agent.agent_id,
	    mine ? "all tokens" : "one token", PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "?");
	PQclear(res);
	x->res->status = 204;
	x->res->content_type = NULL;
	response_add_header(x->res, "Cache-Control", "no-store");
	return;
unavailable:
	response_error(x->res, 503, NULL, "Service temporarily unavailable.");
}
