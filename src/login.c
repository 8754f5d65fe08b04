/* login: credential checks, password verification and token issue. */
#include "login.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "issue.h"
#include "jsonapi.h"
#include "log.h"
#include "password.h"
#include "token.h"

#define LOGIN_TYPE "agent-access-tokens"

int
login_credential_ok(const char *s, size_t len, size_t max)
{
	int visible = 0;

	if (s == NULL || len == 0 || len > max)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return 0;
		if (c != ' ')
			visible = 1;
	}
	return visible;
}

static void
fail_401(struct exchange *x)
{
	response_error(x->res, 401, "4101", "Failed to authenticate an agent.");
}

static void
fail_503(struct exchange *x)
{
	response_error(x->res, 503, NULL, "Service temporarily unavailable.");
}

/* Records a failed login in the audit table and answers 401, or 503 if
 * the record cannot be written.  username may be NULL; agent_id may be 0. */
static void
login_failed(struct exchange *x, const char *username, long long agent_id,
    const char *reason)
{
	char idbuf[24], who[128];
	const char *params[4];
	PGresult *res;

	snprintf(idbuf, sizeof(idbuf), "%lld", agent_id);
	params[0] = username;
	params[1] = agent_id > 0 ? idbuf : NULL;
	params[2] = x->client_ip[0] != '\0' ? x->client_ip : NULL;
	params[3] = reason;
	log_info("login failed: user=\"%s\" ip=%s reason=%s",
	    log_quote(who, sizeof(who), username, username ? strlen(username) : 0),
	    x->client_ip[0] ? x->client_ip : "-", reason);
	if (db_query(x->app->db, "SELECT agentauth.login_failed($1, $2, $3, $4)",
	    4, params, &res) != DB_OK) {
		fail_503(x);
		return;
	}
	PQclear(res);
	fail_401(x);
}

/* Stores a refresh token for agent_id, clears the failure counts of this
 * attempt and answers 201 with the tokens. */
static void
login_succeeded(struct exchange *x, long long agent_id, const char *username)
{
	const struct config *cfg = &x->app->cfg;
	char refresh[REFRESH_TOKEN_LEN + 1], hash[65], idbuf[24], ttl[24];
	char account_limit[24], ip_limit[24];
	struct session s = { .agent_id = agent_id };
	const char *params[7];
	PGresult *res;
	int ok;

	if (token_new_refresh(refresh, hash) < 0) {
		response_error(x->res, 500, NULL, "Internal Server Error");
		return;
	}
	snprintf(idbuf, sizeof(idbuf), "%lld", agent_id);
	snprintf(ttl, sizeof(ttl), "%ld", cfg->refresh_token_ttl);
	snprintf(account_limit, sizeof(account_limit), "%ld", cfg->account_lockout_attempts);
	snprintf(ip_limit, sizeof(ip_limit), "%ld", cfg->ip_lockout_attempts);
	params[0] = idbuf;
	params[1] = x->client_ip;
	params[2] = username;
	params[3] = hash;
	params[4] = ttl;
	params[5] = account_limit;
	params[6] = ip_limit;
	if (db_query(x->app->db, "SELECT agentauth.login_succeeded($1, $2, $3, $4, $5, $6, $7)",
	    7, params, &res) != DB_OK) {
		fail_503(x);
		goto out;
	}
	ok = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!ok) {
		login_failed(x, NULL, agent_id, "agent stopped being active during login");
		goto out;
	}
	x->agent_id = agent_id;
	issue_respond(x, LOGIN_TYPE, &s, refresh);
	log_info("login succeeded: agent=%lld ip=%s", agent_id,
	    x->client_ip[0] ? x->client_ip : "-");
out:
	explicit_bzero(refresh, sizeof(refresh));
}

/* Starts the login in the database (CONTRACT §3): counts this attempt
 * before any password is checked and looks the agent up.  Returns the
 * result row (retry_after, agent_id, password_hash, status), which the
 * caller must PQclear, or NULL if the database could not be asked. */
static PGresult *
begin_attempt(struct exchange *x, const char *username_key)
{
	const struct config *cfg = &x->app->cfg;
	char v[6][24];
	const char *params[8];
	PGresult *res;

	snprintf(v[0], sizeof(v[0]), "%ld", cfg->lockout_attempts);
	snprintf(v[1], sizeof(v[1]), "%ld", cfg->lockout_window);
	snprintf(v[2], sizeof(v[2]), "%ld", cfg->lockout_block);
	snprintf(v[3], sizeof(v[3]), "%ld", cfg->account_lockout_attempts);
	snprintf(v[4], sizeof(v[4]), "%ld", cfg->account_lockout_window);
	snprintf(v[5], sizeof(v[5]), "%ld", cfg->ip_lockout_attempts);
	params[0] = x->client_ip;
	params[1] = username_key;
	for (int i = 0; i < 6; i++)
		params[2 + i] = v[i];
	if (db_query(x->app->db, "SELECT retry_after, agent_id, password_hash, status "
	    "FROM agentauth.login_begin($1, $2, $3, $4, $5, $6, $7, $8)",
	    8, params, &res) != DB_OK)
		return NULL;
	if (PQntuples(res) != 1 || PQnfields(res) != 4) {
		log_error("login: login_begin returned %d rows", PQntuples(res));
		PQclear(res);
		return NULL;
	}
	return res;
}

static void
locked_out(struct exchange *x, const char *username, long seconds_left)
{
	char detail[160], retry[24], who[128];
	long minutes = (x->app->cfg.lockout_block + 59) / 60;

	snprintf(detail, sizeof(detail), "Too many log in attempts from your address. "
	    "Please wait %ld minutes before trying again.", minutes);
	snprintf(retry, sizeof(retry), "%ld", seconds_left);
	response_error(x->res, 429, "4401", detail);
	response_add_header(x->res, "Retry-After", retry);
	log_info("login refused, locked out: user=\"%s\" ip=%s retry_after=%ld",
	    log_quote(who, sizeof(who), username, strlen(username)),
	    x->client_ip[0] ? x->client_ip : "-", seconds_left);
}

/* Verifies the password against the agent row of begin_attempt().
 * Returns the agent id on success, or 0 with *reason_r saying why (and
 * *agent_id_r naming the agent if it exists). */
static long long
check_credentials(struct exchange *x, const PGresult *row, const char *password,
    size_t plen, const char **reason_r, long long *agent_id_r)
{
	const char *hash, *status;
	enum pw_result pw;
	long long id;

	*agent_id_r = 0;
	if (PQgetisnull(row, 0, 1)) {
		/* the same work as for a real agent, so timing tells nothing */
		password_verify(password, plen, x->app->dummy_hash);
		*reason_r = "unknown username";
		return 0;
	}
	id = strtoll(PQgetvalue(row, 0, 1), NULL, 10);
	hash = PQgetvalue(row, 0, 2);
	status = PQgetvalue(row, 0, 3);
	*agent_id_r = id;
	pw = password_verify(password, plen, hash);
	if (pw == PW_WEAK) {
		log_warn("login: agent %lld has a %s password hash, which is refused; "
		    "set a new password", id, password_scheme(hash));
		password_verify(password, plen, x->app->dummy_hash);
		*reason_r = "stored password hash uses a refused scheme";
	} else if (pw == PW_ERROR) {
		log_warn("login: agent %lld has an unusable password hash", id);
		*reason_r = "stored password hash is unusable";
	} else if (pw == PW_MISMATCH) {
		*reason_r = plen > PASSWORD_MAX_BYTES ? "password too long" :
		    "wrong password";
	} else if (strcmp(status, "active") != 0) {
		*reason_r = strcmp(status, "blocked") == 0 ? "agent is blocked" :
		    "agent is deleted";
	} else {
		*reason_r = NULL;
	}
	return *reason_r == NULL ? id : 0;
}

void
login_handle(struct exchange *x)
{
	struct json_object *root = NULL, *attrs = NULL;
	const char *username, *password, *reason = NULL, *key;
	size_t ulen = 0, plen = 0;
	long long agent_id = 0, id;
	PGresult *row = NULL;
	long left;

	if (router_read_resource(x, LOGIN_TYPE, &root, &attrs) < 0)
		return;
	username = json_get_string_member(attrs, "username", &ulen);
	password = json_get_string_member(attrs, "password", &plen);
	/* Every well-formed attempt counts, whatever is wrong with it; the
	 * counter key is the username as sent ("" if unusable: NUL cannot go
	 * to the database). */
	key = username != NULL && memchr(username, '\0', ulen) == NULL ? username : "";
	row = begin_attempt(x, key);
	if (row == NULL) {
		fail_503(x);
		goto out;
	}
	left = strtol(PQgetvalue(row, 0, 0), NULL, 10);
	if (left > 0) {
		locked_out(x, key, left);
		goto out;
	}
	if (username == NULL)
		reason = "username missing or not a string";
	else if (!login_credential_ok(username, ulen, USERNAME_MAX_BYTES))
		reason = "username empty, too long or with control characters";
	else if (password == NULL)
		reason = "password missing or not a string";
	else if (!login_credential_ok(password, plen, (size_t)-1))
		reason = "password empty or with control characters";
	if (reason != NULL) {
		login_failed(x, key[0] != '\0' ? key : NULL, 0, reason);
		goto out;
	}
	id = check_credentials(x, row, password, plen, &reason, &agent_id);
	if (id == 0)
		login_failed(x, username, agent_id, reason);
	else
		login_succeeded(x, id, username);
out:
	PQclear(row);
	if (password != NULL)
		explicit_bzero((char *)password, plen);
	json_object_put(root);
}
