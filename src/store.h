/* store: the service's data access, typed.
 *
 * One C function per SQL function of sql/install/service.sql that the
 * service calls (and the health check's SELECT 1).  Each turns its
 * parameters into text once, runs its constant statement with db_query
 * and hands back what the database said in structs with named fields; no
 * libpq type leaves this module.
 *
 * What an answer means is decided here, and only here (doc/STYLE.md
 * "SQL"): rows are STORE_OK; everything else is STORE_UNAVAILABLE, logged
 * at error level, and the caller answers 503 ERR_SERVICE_UNAVAILABLE:
 *   - no answer: no connection, connection lost, deadline (db_query logs);
 *   - SQLSTATE AA001: the database refused a setting of this service that
 *     is outside agentauth.settings (the log line names it);
 *   - any other error of the statement (a lock wait over lock_timeout, a
 *     missing function or grant): the service cannot decide without the
 *     database, and a decision made without it would be a guess. */
#ifndef AGENTAUTH_STORE_H
#define AGENTAUTH_STORE_H

#include <stddef.h>

#include "config.h"
#include "db.h"

enum store_status {
	STORE_OK = 0,
	STORE_UNAVAILABLE = -1,  /* logged; answer 503 */
};

/* The health check: SELECT 1. */
enum store_status store_ping(struct db *db);

/* ---- agentauth.login_begin ---- */

enum agent_status {
	AGENT_UNKNOWN = 0,       /* no agent has that username */
	AGENT_ACTIVE,
	AGENT_BLOCKED,
	AGENT_DELETED,           /* any other status */
};

/* A counted login attempt. */
struct login_attempt {
	long retry_after;        /* > 0: a key is blocked for this many seconds,
	                            nothing was counted and nothing below is set */
	long long attempt_id;    /* for store_login_failed or _succeeded, once */
	long long agent_id;      /* the agent of the username, 0 if none */
	enum agent_status status;
	const char *password_hash; /* an active agent's hash, else NULL; borrowed
	                            until store_login_attempt_free */
	int hash_cost;           /* the bcrypt cost of new hashes (settings) */
	struct pg_result *result;  /* private: holds password_hash */
};

/* Counts an attempt of username (as sent, "" if unusable) from the client
 * (its address and its counting key) against the lock-out settings of cfg
 * and looks the agent up.  On STORE_OK fills *a, which the caller releases
 * with store_login_attempt_free (also after a failure: *a is then empty). */
enum store_status store_login_begin(struct db *db, const struct config *cfg,
    const char *client_key, const char *username, const char *client_ip,
    struct login_attempt *a);
void store_login_attempt_free(struct login_attempt *a);

/* ---- sessions: login_succeeded, refresh_rotate, impersonate ---- */

/* A session (a refresh-token family) that the database started or
 * continued.  sid is NULL when there is none. */
struct store_session {
	const char *sid;         /* the family id, a UUID; borrowed */
	long long agent_id;      /* the agent, or the acting agent */
	long long customer_id;   /* > 0: an impersonation session */
	const char *customer_reference; /* its customer ("" for an agent); borrowed */
	long long session_exp;   /* when it ends (Unix time), 0 if not set */
	const char *reason;      /* an impersonation's reason, or NULL; borrowed */
	struct pg_result *result;  /* private: holds the strings */
};

/* Releases what s borrows from; s may be empty. */
void store_session_free(struct store_session *s);

/* Ends the attempt as failed and writes its audit row; reason is one of
 * the fixed list of agentauth.login_failed. */
enum store_status store_login_failed(struct db *db, long long attempt_id, const char *reason);

/* Ends the attempt as a success: starts the session with its first refresh
 * token (token_hash, hex SHA-256) and, when new_hash is not NULL, replaces
 * the agent's weaker password hash.  s->sid is NULL if the agent stopped
 * being active meanwhile (audited by the database). */
enum store_status store_login_succeeded(struct db *db, const struct config *cfg,
    long long attempt_id, const char *token_hash, const char *new_hash,
    struct store_session *s);

enum rotate_outcome {
	ROTATE_OK = 0,           /* s is the session, new_hash stored in it */
	ROTATE_INVALID,          /* unknown, expired, revoked, session over, ... */
	ROTATE_GRACE,            /* used within refresh_reuse_grace: refused */
	ROTATE_REPLAY,           /* used before: its family is revoked */
	ROTATE_INACTIVE,         /* the agent is not active */
	ROTATE_IDLE,             /* no refresh for session_idle_timeout */
};

/* The outcome as the database names it ("ok", "invalid", ...), static. */
const char *store_rotate_outcome_name(enum rotate_outcome o);

/* Uses up the refresh token of token_hash and stores its successor
 * new_hash in the same session. */
enum store_status store_refresh_rotate(struct db *db, const struct config *cfg,
    const char *token_hash, const char *new_hash, const char *client_ip,
    enum rotate_outcome *outcome_r, struct store_session *s);

/* What a statement that also checks the caller's agent token (the agent
 * active, the session sid not revoked: doc/api.md §3.4) found of it.  The
 * gate settles the request with it (gate_settle). */
enum agent_token {
	AGENT_TOKEN_VALID = 0,   /* the statement did its work */
	AGENT_TOKEN_INVALID,     /* it did nothing else: no rows, no audit */
};

/* Checks the agent's token (agent_id, and sid, its session) into *token_r
 * and, when it is valid, starts an impersonation session of the customer
 * (reference and reason may be NULL) for the agent, ending at session_exp
 * (the agent token's exp) or impersonation_max_age from now, whichever
 * comes first (s->session_exp), with its first refresh token token_hash,
 * and audits it.  s->sid is NULL
 * if the token is not valid, or if the agent may not impersonate that
 * customer (audited as refused). */
enum store_status store_impersonate(struct db *db, const struct config *cfg,
    long long agent_id, const char *sid, const char *customer_reference, const char *reason,
    const char *client_ip, const char *token_hash, long long session_exp,
    enum agent_token *token_r, struct store_session *s);

/* ---- agent tokens, revocation ---- */

/* *valid_r: 1 if the agent is active and the session sid not revoked. */
enum store_status store_agent_token_valid(struct db *db, long long agent_id, const char *sid,
    int *valid_r);

/* Revokes the session of the agent's refresh token token_hash, or with
 * _mine every session of the agent.  *revoked_r: the number of tokens
 * revoked, -1 if the database did not say. */
enum store_status store_refresh_revoke(struct db *db, long long agent_id,
    const char *token_hash, long *revoked_r);
enum store_status store_refresh_revoke_mine(struct db *db, long long agent_id,
    long *revoked_r);

/* ---- agentauth.customer_search ---- */

struct customer {
	const char *reference;   /* all borrowed from the page */
	const char *email;
	const char *first_name;
	const char *last_name;
};

struct customer_page {
	long long total;         /* every match, not only this page */
	size_t n;                /* customers on this page */
	struct pg_result *result;  /* private: holds them */
};

/* Checks the agent's token (agent_id, and sid, its session) into *token_r
 * and, when it is valid, reads the page [offset, offset + limit) of the
 * customers matching q and their total, in one statement.  The caller
 * releases *p with store_customer_page_free (also after a failure, or for
 * an invalid token: *p is then empty). */
enum store_status store_customer_search(struct db *db, long long agent_id, const char *sid,
    const char *q, long offset, long limit, enum agent_token *token_r,
    struct customer_page *p);

/* Customer i (below p->n) of the page. */
struct customer store_customer(const struct customer_page *p, size_t i);

void store_customer_page_free(struct customer_page *p);

#endif
