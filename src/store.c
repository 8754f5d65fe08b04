/* store: one typed call per SQL function of the service. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "log.h"

/* Room for a number as a parameter: "-9223372036854775808" and a NUL. */
#define NUM_MAX 24

static const char *
num(char *buf, long long v)
{
	snprintf(buf, NUM_MAX, "%lld", v);
	return buf;
}

static const char *
boolean(long v)
{
	return v ? "true" : "false";
}

/* The integer in a column, 0 for NULL. */
static long long
int_at(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* The SQLSTATE of the database's refusal of a setting outside
 * agentauth.settings (sql/install/service.sql, require_setting). */
#define SQLSTATE_SETTING_REFUSED "AA001"

/* Runs sql and decides what the answer means (see store.h): STORE_OK with
 * *res_r (rows; the caller clears it), or STORE_UNAVAILABLE, logged.  The
 * columns are those the constant SQL text names. */
static enum store_status
run(struct db *db, const char *sql, int nparams, const char *const *params, PGresult **res_r)
{
	const char *state, *message;
	PGresult *res;

	*res_r = NULL;
	if (db_query(db, sql, nparams, params, &res) != DB_OK)
		return STORE_UNAVAILABLE;
	if (PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK) {
		*res_r = res;
		return STORE_OK;
	}
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (state != NULL && strcmp(state, SQLSTATE_SETTING_REFUSED) == 0)
		/* our own message: it names the setting, never a parameter value */
		log_error("database: statement failed: %s (the database refuses a setting of "
		    "this service: %s)", state, message != NULL ? message : "no message");
	else
		log_error("database: statement failed: %s%s", state != NULL ? state : "",
		    message != NULL ? "" : " (no server answer)");
	PQclear(res);
	return STORE_UNAVAILABLE;
}

enum store_status
store_ping(struct db *db)
{
	PGresult *res;

	if (run(db, "SELECT 1", 0, NULL, &res) < 0)
		return STORE_UNAVAILABLE;
	PQclear(res);
	return STORE_OK;
}

enum store_status
store_login_begin(struct db *db, const struct config *cfg, const char *client_key,
    const char *username, const char *client_ip, struct login_attempt *a)
{
	char v[6][NUM_MAX];
	const char *params[9] = {
		client_key, username, num(v[0], cfg->lockout_attempts),
		num(v[1], cfg->lockout_window), num(v[2], cfg->lockout_block),
		num(v[3], cfg->account_lockout_attempts), num(v[4], cfg->account_lockout_window),
		num(v[5], cfg->ip_lockout_attempts), client_ip,
	};
	const char *status;
	PGresult *res;

	memset(a, 0, sizeof(*a));
	if (run(db, "SELECT retry_after, attempt_id, agent_id, password_hash, "
	    "status, hash_cost FROM agentauth.login_begin($1, $2, $3, $4, $5, $6, $7, $8, $9)",
	    9, params, &res) < 0)
		return STORE_UNAVAILABLE;
	if (PQntuples(res) != 1 || PQnfields(res) != 6) {
		log_error("login: login_begin returned %d rows", PQntuples(res));
		PQclear(res);
		return STORE_UNAVAILABLE;
	}
	a->result = res;
	a->retry_after = (long)int_at(res, 0, 0);
	if (a->retry_after > 0)
		return STORE_OK;
	a->attempt_id = int_at(res, 0, 1);
	a->agent_id = int_at(res, 0, 2);
	a->password_hash = PQgetisnull(res, 0, 3) ? NULL : PQgetvalue(res, 0, 3);
	status = PQgetisnull(res, 0, 4) ? NULL : PQgetvalue(res, 0, 4);
	a->status = status == NULL ? AGENT_UNKNOWN : strcmp(status, "active") == 0 ?
	    AGENT_ACTIVE : strcmp(status, "blocked") == 0 ? AGENT_BLOCKED : AGENT_DELETED;
	a->hash_cost = (int)int_at(res, 0, 5);
	return STORE_OK;
}

void
store_login_attempt_free(struct login_attempt *a)
{
	PQclear(a->result);
	memset(a, 0, sizeof(*a));
}

void
store_session_free(struct store_session *s)
{
	PQclear(s->result);
	memset(s, 0, sizeof(*s));
}

enum store_status
store_login_failed(struct db *db, long long attempt_id, const char *reason)
{
	char id[NUM_MAX];
	const char *params[2] = { num(id, attempt_id), reason };
	PGresult *res;

	if (run(db, "SELECT agentauth.login_failed($1, $2)", 2, params, &res) < 0)
		return STORE_UNAVAILABLE;
	PQclear(res);
	return STORE_OK;
}

enum store_status
store_login_succeeded(struct db *db, const struct config *cfg, long long attempt_id,
    const char *token_hash, const char *new_hash, struct store_session *s)
{
	char v[5][NUM_MAX];
	const char *params[7] = {
		num(v[0], attempt_id), token_hash, num(v[1], cfg->refresh_token_ttl),
		num(v[2], cfg->session_max_age), new_hash,
		num(v[3], cfg->account_lockout_attempts), num(v[4], cfg->ip_lockout_attempts),
	};
	PGresult *res;

	memset(s, 0, sizeof(*s));
	if (run(db, "SELECT family_id, agent_id, session_exp FROM "
	    "agentauth.login_succeeded($1, $2, $3, $4, $5, $6, $7)", 7, params, &res) < 0)
		return STORE_UNAVAILABLE;
	s->result = res;
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
		s->sid = PQgetvalue(res, 0, 0);
		s->agent_id = int_at(res, 0, 1);
		s->customer_reference = "";
		s->session_exp = int_at(res, 0, 2);
	}
	return STORE_OK;
}

static const char *const outcome_names[] = {
	[ROTATE_OK] = "ok", [ROTATE_INVALID] = "invalid", [ROTATE_GRACE] = "grace",
	[ROTATE_REPLAY] = "replay", [ROTATE_INACTIVE] = "inactive", [ROTATE_IDLE] = "idle",
};

#define NOUTCOMES (sizeof(outcome_names) / sizeof(outcome_names[0]))

const char *
store_rotate_outcome_name(enum rotate_outcome o)
{
	return (size_t)o < NOUTCOMES ? outcome_names[o] : "invalid";
}

enum store_status
store_refresh_rotate(struct db *db, const struct config *cfg, const char *token_hash,
    const char *new_hash, const char *client_ip, enum rotate_outcome *outcome_r,
    struct store_session *s)
{
	char ttl[NUM_MAX], grace[NUM_MAX], idle[NUM_MAX];
	const char *params[7] = {
		token_hash, new_hash, num(ttl, cfg->refresh_token_ttl), client_ip,
		num(grace, cfg->refresh_reuse_grace), boolean(cfg->impersonation_requires_consent),
		num(idle, cfg->session_idle_timeout),
	};
	const char *outcome;
	PGresult *res;

	memset(s, 0, sizeof(*s));
	*outcome_r = ROTATE_INVALID;
	if (run(db, "SELECT outcome, agent_id, customer_id, customer_reference, "
	    "session_exp, family_id, reason FROM "
	    "agentauth.refresh_rotate($1, $2, $3, $4, $5, $6, $7)", 7, params, &res) < 0)
		return STORE_UNAVAILABLE;
	s->result = res;
	outcome = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "invalid";
	for (size_t i = 0; i < NOUTCOMES; i++)
		if (strcmp(outcome, outcome_names[i]) == 0)
			*outcome_r = (enum rotate_outcome)i;
	if (*outcome_r == ROTATE_OK) {
		s->agent_id = int_at(res, 0, 1);
		s->customer_id = int_at(res, 0, 2);
		s->customer_reference = PQgetvalue(res, 0, 3);
		s->session_exp = int_at(res, 0, 4);
		s->sid = PQgetvalue(res, 0, 5);
		s->reason = PQgetisnull(res, 0, 6) ? NULL : PQgetvalue(res, 0, 6);
	}
	return STORE_OK;
}

/* The outcome column of a statement that checks the caller's agent token:
 * "token_invalid", or the statement's own outcome.  An answer without one
 * ("cannot happen") did not say the token is valid. */
static enum agent_token
token_of(const PGresult *res, int row, int col)
{
	return row >= 0 && row < PQntuples(res) && !PQgetisnull(res, row, col) &&
	    strcmp(PQgetvalue(res, row, col), "token_invalid") != 0 ?
	    AGENT_TOKEN_VALID : AGENT_TOKEN_INVALID;
}

enum store_status
store_impersonate(struct db *db, const struct config *cfg, long long agent_id, const char *sid,
    const char *customer_reference, const char *reason, const char *client_ip,
    const char *token_hash, long long session_exp, enum agent_token *token_r,
    struct store_session *s)
{
	char agent[NUM_MAX], ttl[NUM_MAX], exp[NUM_MAX], max_age[NUM_MAX];
	const char *params[11] = {
		num(agent, agent_id), sid, customer_reference,
		boolean(cfg->impersonation_requires_consent), reason, client_ip, token_hash,
		num(ttl, cfg->refresh_token_ttl), num(exp, session_exp),
		num(max_age, cfg->impersonation_max_age), boolean(cfg->impersonation_single),
	};
	PGresult *res;

	memset(s, 0, sizeof(*s));
	*token_r = AGENT_TOKEN_INVALID;
	if (run(db, "SELECT outcome, customer_id, customer_reference, family_id, session_exp "
	    "FROM agentauth.impersonate($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)", 11, params,
	    &res) < 0)
		return STORE_UNAVAILABLE;
	s->result = res;
	*token_r = token_of(res, 0, 0);
	if (*token_r == AGENT_TOKEN_VALID && !PQgetisnull(res, 0, 3)) {
		s->agent_id = agent_id;
		s->customer_id = int_at(res, 0, 1);
		s->customer_reference = PQgetvalue(res, 0, 2);
		s->sid = PQgetvalue(res, 0, 3);
		s->session_exp = PQgetisnull(res, 0, 4) ? session_exp : int_at(res, 0, 4);
	}
	return STORE_OK;
}

enum store_status
store_agent_token_valid(struct db *db, long long agent_id, const char *sid, int *valid_r)
{
	char id[NUM_MAX];
	const char *params[2] = { num(id, agent_id), sid };
	PGresult *res;

	*valid_r = 0;
	if (run(db, "SELECT agentauth.agent_token_valid($1, $2)", 2, params, &res) < 0)
		return STORE_UNAVAILABLE;
	*valid_r = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return STORE_OK;
}

/* Runs a revocation; *revoked_r gets the count it answers, or -1. */
static enum store_status
revoke(struct db *db, const char *sql, int nparams, const char *const *params,
    long *revoked_r)
{
	PGresult *res;

	*revoked_r = -1;
	if (run(db, sql, nparams, params, &res) < 0)
		return STORE_UNAVAILABLE;
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		*revoked_r = (long)int_at(res, 0, 0);
	PQclear(res);
	return STORE_OK;
}

enum store_status
store_refresh_revoke(struct db *db, long long agent_id, const char *token_hash,
    long *revoked_r)
{
	char id[NUM_MAX];
	const char *params[2] = { num(id, agent_id), token_hash };

	return revoke(db, "SELECT agentauth.refresh_revoke($1, $2)", 2, params, revoked_r);
}

enum store_status
store_refresh_revoke_mine(struct db *db, long long agent_id, long *revoked_r)
{
	char id[NUM_MAX];
	const char *params[1] = { num(id, agent_id) };

	return revoke(db, "SELECT agentauth.refresh_revoke_mine($1)", 1, params, revoked_r);
}

enum store_status
store_customer_search(struct db *db, long long agent_id, const char *sid, const char *q,
    long offset, long limit, enum agent_token *token_r, struct customer_page *p)
{
	char agent[NUM_MAX], off[NUM_MAX], lim[NUM_MAX];
	const char *params[5] = { num(agent, agent_id), sid, q, num(off, offset), num(lim, limit) };
	PGresult *res;
	int last;

	memset(p, 0, sizeof(*p));
	*token_r = AGENT_TOKEN_INVALID;
	if (run(db, "SELECT outcome, total, customer_reference, email, first_name, "
	    "last_name FROM agentauth.customer_search($1, $2, $3, $4, $5)", 5, params, &res) < 0)
		return STORE_UNAVAILABLE;
	/* the customers, then one row with the outcome and the total */
	last = PQntuples(res) - 1;
	*token_r = token_of(res, last, 0);
	if (*token_r != AGENT_TOKEN_VALID) {
		PQclear(res);
		return STORE_OK;
	}
	p->result = res;
	p->total = int_at(res, last, 1);
	p->n = (size_t)last;
	return STORE_OK;
}

struct customer
store_customer(const struct customer_page *p, size_t i)
{
	int row = (int)i;
	struct customer c = {
		.reference = PQgetvalue(p->result, row, 2),
		.email = PQgetvalue(p->result, row, 3),
		.first_name = PQgetvalue(p->result, row, 4),
		.last_name = PQgetvalue(p->result, row, 5),
	};

	return c;
}

void
store_customer_page_free(struct customer_page *p)
{
	PQclear(p->result);
	memset(p, 0, sizeof(*p));
}
