/* login: credential checks, password verification and token issue. */
#include "login.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static long long
monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Every failed password check takes as long: half again the running
 * mean of this worker's checks against the dummy hash (dummy_hash_cost),
 * or more when the check itself took longer.  So response times do not
 * tell which usernames exist, whatever scheme and cost an agent's hash has
 * (doc/security.md "Timing"). */
static long long dummy_mean_us;

static void
dummy_verify(struct exchange *x, const char *password, size_t plen)
{
	long long t0 = monotonic_us(), d;

	password_verify(password, plen, x->app->dummy_hash);
	d = monotonic_us() - t0;
	dummy_mean_us = dummy_mean_us == 0 ? d : (dummy_mean_us * 7 + d) / 8;
}

/* Sleeps until the floor has passed since started (monotonic µs). */
static void
pad_to_floor(struct exchange *x, long long started)
{
	long long left;
	struct timespec ts;

	if (dummy_mean_us == 0) {
		/* the first failure of this worker: measure a dummy check */
		static const char probe[] = "calibration";
		dummy_verify(x, probe, sizeof(probe) - 1);
	}
	left = dummy_mean_us + dummy_mean_us / 2 - (monotonic_us() - started);
	if (left <= 0)
		return;
	ts.tv_sec = (time_t)(left / 1000000);
	ts.tv_nsec = (long)(left % 1000000) * 1000;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Ends the attempt as failed: the database writes the audit row (reason
 * is one of the fixed list of agentauth.login_failed).  Answers 401, or
 * 503 if the record cannot be written. */
static void
login_failed(struct exchange *x, const char *attempt_id, const char *username,
    const char *reason)
{
	char who[128];
	const char *params[2] = { attempt_id, reason };
	PGresult *res;

	log_info("login failed: user=\"%s\" ip=%s reason=%s",
	    log_quote(who, sizeof(who), username, username ? strlen(username) : 0),
	    x->client_ip[0] ? x->client_ip : "-", reason);
	if (db_query(x->app->db, "SELECT agentauth.login_failed($1, $2)", 2, params,
	    &res) != DB_OK) {
		fail_503(x);
		return;
	}
	PQclear(res);
	fail_401(x);
}

/* Stores the session and its first refresh token for the attempt, clears
 * the failure counts of this attempt and answers 201 with the tokens.
 * new_hash (or NULL) replaces a weaker stored password hash. */
static void
login_succeeded(struct exchange *x, const char *attempt_id, const char *new_hash)
{
	const struct config *cfg = &x->app->cfg;
	char refresh[REFRESH_TOKEN_LEN + 1], hash[65], ttl[24], max_age[24];
	char account_limit[24], ip_limit[24];
	struct session s = { 0 };
	const char *params[7];
	PGresult *res;

	if (token_new_refresh(refresh, hash) < 0) {
		response_error(x->res, 500, NULL, "Internal Server Error");
		return;
	}
	snprintf(ttl, sizeof(ttl), "%ld", cfg->refresh_token_ttl);
	snprintf(max_age, sizeof(max_age), "%ld", cfg->session_max_age);
	snprintf(account_limit, sizeof(account_limit), "%ld", cfg->account_lockout_attempts);
	snprintf(ip_limit, sizeof(ip_limit), "%ld", cfg->ip_lockout_attempts);
	params[0] = attempt_id;
	params[1] = hash;
	params[2] = ttl;
	params[3] = max_age;
	params[4] = new_hash;
	params[5] = account_limit;
	params[6] = ip_limit;
	if (db_query(x->app->db, "SELECT family_id, agent_id, session_exp FROM "
	    "agentauth.login_succeeded($1, $2, $3, $4, $5, $6, $7)", 7, params, &res) != DB_OK) {
		fail_503(x);
		goto out;
	}
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		/* the agent stopped being active meanwhile: audited by the database */
		log_info("login failed: agent stopped being active during login ip=%s",
		    x->client_ip[0] ? x->client_ip : "-");
		fail_401(x);
	} else {
		s.agent_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		s.exp_cap = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
		s.sid = PQgetvalue(res, 0, 0);
		x->agent_id = s.agent_id;
		issue_respond(x, LOGIN_TYPE, &s, refresh);
		log_info("login succeeded: agent=%lld ip=%s%s", s.agent_id,
		    x->client_ip[0] ? x->client_ip : "-",
		    new_hash != NULL ? " (password re-hashed)" : "");
	}
	PQclear(res);
out:
	explicit_bzero(refresh, sizeof(refresh));
}

/* Starts the login in the database: counts this attempt before any
 * password is checked and looks the agent up.  Returns the result row
 * (retry_after, attempt_id, agent_id, password_hash, status, hash_cost),
 * which the caller must PQclear, or NULL if the database could not be
 * asked. */
static PGresult *
begin_attempt(struct exchange *x, const char *username_key)
{
	const struct config *cfg = &x->app->cfg;
	char v[6][24];
	const char *params[9];
	PGresult *res;

	snprintf(v[0], sizeof(v[0]), "%ld", cfg->lockout_attempts);
	snprintf(v[1], sizeof(v[1]), "%ld", cfg->lockout_window);
	snprintf(v[2], sizeof(v[2]), "%ld", cfg->lockout_block);
	snprintf(v[3], sizeof(v[3]), "%ld", cfg->account_lockout_attempts);
	snprintf(v[4], sizeof(v[4]), "%ld", cfg->account_lockout_window);
	snprintf(v[5], sizeof(v[5]), "%ld", cfg->ip_lockout_attempts);
	params[0] = x->client_key;
	params[1] = username_key;
	for (int i = 0; i < 6; i++)
		params[2 + i] = v[i];
	params[8] = x->client_ip;
	if (db_query(x->app->db, "SELECT retry_after, attempt_id, agent_id, password_hash, "
	    "status, hash_cost FROM agentauth.login_begin($1, $2, $3, $4, $5, $6, $7, $8, $9)",
	    9, params, &res) != DB_OK)
		return NULL;
	if (PQntuples(res) != 1 || PQnfields(res) != 6) {
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
 * Returns NULL on success, else why it failed.  Every failure checks one
 * hash (the agent's, or the dummy when there is none to check) and is
 * padded to the floor, so all failures take the same time. */
static const char *
check_credentials(struct exchange *x, const PGresult *row, const char *password,
    size_t plen)
{
	long long started = monotonic_us();
	const char *hash, *status, *reason = NULL;
	enum pw_result pw;

	status = PQgetisnull(row, 0, 4) ? NULL : PQgetvalue(row, 0, 4);
	if (status == NULL) {
		dummy_verify(x, password, plen);
		reason = "unknown username";
	} else if (PQgetisnull(row, 0, 3)) {
		/* not active: the database does not hand out its hash */
		dummy_verify(x, password, plen);
		reason = strcmp(status, "blocked") == 0 ? "agent is blocked" : "agent is deleted";
	} else {
		hash = PQgetvalue(row, 0, 3);
		pw = password_verify(password, plen, hash);
		if (pw == PW_WEAK) {
			log_warn("login: agent %s has a %s password hash, which is refused; "
			    "set a new password", PQgetvalue(row, 0, 2), password_scheme(hash));
			dummy_verify(x, password, plen);
			reason = "stored password hash uses a refused scheme";
		} else if (pw == PW_ERROR) {
			log_warn("login: agent %s has an unusable password hash", PQgetvalue(row, 0, 2));
			dummy_verify(x, password, plen);
			reason = "stored password hash is unusable";
		} else if (pw == PW_MISMATCH) {
			reason = plen > PASSWORD_MAX_BYTES ? "password too long" : "wrong password";
		}
	}
	if (reason != NULL)
		pad_to_floor(x, started);
	return reason;
}

void
login_handle(struct exchange *x)
{
	struct json_object *root = NULL, *attrs = NULL;
	const char *username, *password, *reason = NULL, *key, *attempt;
	char *new_hash = NULL;
	size_t ulen = 0, plen = 0;
	PGresult *row = NULL;
	long left;
	int cost;

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
	attempt = PQgetvalue(row, 0, 1);
	if (username == NULL)
		reason = "username missing or not a string";
	else if (!login_credential_ok(username, ulen, USERNAME_MAX_BYTES))
		reason = "username empty, too long or with control characters";
	else if (password == NULL)
		reason = "password missing or not a string";
	else if (!login_credential_ok(password, plen, (size_t)-1))
		reason = "password empty or with control characters";
	else
		reason = check_credentials(x, row, password, plen);
	if (reason != NULL) {
		login_failed(x, attempt, key, reason);
		goto out;
	}
	cost = (int)strtol(PQgetvalue(row, 0, 5), NULL, 10);
	if (password_needs_rehash(PQgetvalue(row, 0, 3), cost)) {
		new_hash = password_hash_new(password, plen, cost);
		if (new_hash == NULL)
			log_warn("login: cannot re-hash the password of agent %s",
			    PQgetvalue(row, 0, 2));
	}
	login_succeeded(x, attempt, new_hash);
out:
	PQclear(row);
	if (new_hash != NULL) {
		explicit_bzero(new_hash, strlen(new_hash));
		free(new_hash);
	}
	if (password != NULL)
		explicit_bzero((char *)password, plen);
	json_put_wiped(root);
}
