/* login: credential checks, password verification and token issue. */
#include "login.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "issue.h"
#include "jx.h"
#include "log.h"
#include "monotonic.h"
#include "password.h"
#include "store.h"
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
login_failed(struct exchange *x, long long attempt_id, const char *username,
    const char *reason)
{
	char who[128];

	log_info("login failed: user=\"%s\" ip=%s reason=%s",
	    log_quote(who, sizeof(who), username, username ? strlen(username) : 0),
	    x->client_ip[0] ? x->client_ip : "-", reason);
	if (store_login_failed(x->app->db, attempt_id, reason) < 0)
		exchange_fail(x, ERR_SERVICE_UNAVAILABLE);
	else
		exchange_fail(x, ERR_LOGIN_FAILED);
}

/* Stores the session and its first refresh token for the attempt, clears
 * the failure counts of this attempt and answers 201 with the tokens.
 * new_hash (or NULL) replaces a weaker stored password hash. */
static void
login_succeeded(struct exchange *x, long long attempt_id, const char *new_hash)
{
	char refresh[REFRESH_TOKEN_LEN + 1], hash[65];
	struct store_session ss;
	struct session s = { 0 };

	if (token_new_refresh(refresh, hash) < 0) {
		exchange_fail(x, ERR_INTERNAL);
		return;
	}
	if (store_login_succeeded(x->app->db, &x->app->cfg, attempt_id, hash, new_hash,
	    &ss) < 0) {
		exchange_fail(x, ERR_SERVICE_UNAVAILABLE);
		goto out;
	}
	if (ss.sid == NULL) {
		/* the agent stopped being active meanwhile: audited by the database */
		log_info("login failed: agent stopped being active during login ip=%s",
		    x->client_ip[0] ? x->client_ip : "-");
		exchange_fail(x, ERR_LOGIN_FAILED);
	} else {
		s.agent_id = ss.agent_id;
		s.exp_cap = ss.session_exp;
		s.sid = ss.sid;
		x->agent_id = s.agent_id;
		/* a login session ends session_max_age (at least 60 s) from now:
		 * never too soon */
		issue_respond(x, LOGIN_TYPE, &s, refresh, ERR_INTERNAL);
		log_info("login succeeded: agent=%lld ip=%s%s", s.agent_id,
		    x->client_ip[0] ? x->client_ip : "-",
		    new_hash != NULL ? " (password re-hashed)" : "");
	}
	store_session_free(&ss);
out:
	explicit_bzero(refresh, sizeof(refresh));
}

static void
locked_out(struct exchange *x, const char *username, long seconds_left)
{
	char retry[24], who[128];

	snprintf(retry, sizeof(retry), "%ld", seconds_left);
	exchange_fail_n(x, ERR_LOCKED_OUT, (x->app->cfg.lockout_block + 59) / 60);
	response_add_header(x->res, "Retry-After", retry);
	log_info("login refused, locked out: user=\"%s\" ip=%s retry_after=%ld",
	    log_quote(who, sizeof(who), username, strlen(username)),
	    x->client_ip[0] ? x->client_ip : "-", seconds_left);
}

/* Verifies the password against the agent of the attempt.  Returns NULL
 * on success, else why it failed.  Every failure checks one hash (the
 * agent's, or the dummy when there is none to check) and is padded to the
 * floor, so all failures take the same time. */
static const char *
check_credentials(struct exchange *x, const struct login_attempt *a, const char *password,
    size_t plen)
{
	long long started = monotonic_us();
	const char *reason = NULL;
	enum pw_result pw;

	if (a->status == AGENT_UNKNOWN) {
		dummy_verify(x, password, plen);
		reason = "unknown username";
	} else if (a->password_hash == NULL) {
		/* not active: the database does not hand out its hash */
		dummy_verify(x, password, plen);
		reason = a->status == AGENT_BLOCKED ? "agent is blocked" : "agent is deleted";
	} else {
		pw = password_verify(password, plen, a->password_hash);
		if (pw == PW_WEAK) {
			log_warn("login: agent %lld has a %s password hash, which is refused; "
			    "set a new password", a->agent_id, password_scheme(a->password_hash));
			dummy_verify(x, password, plen);
			reason = "stored password hash uses a refused scheme";
		} else if (pw == PW_ERROR) {
			log_warn("login: agent %lld has an unusable password hash", a->agent_id);
			dummy_verify(x, password, plen);
			reason = "stored password hash is unusable";
		} else if (pw == PW_MISMATCH) {
			reason = plen > PASSWORD_MAX_BYTES ? "password too long" :
			    "wrong password";
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
	const char *username, *password, *reason = NULL, *key;
	struct login_attempt a;
	char *new_hash = NULL;
	size_t ulen = 0, plen = 0;

	if (exchange_read_resource(x, LOGIN_TYPE, &root, &attrs) < 0)
		return;
	username = jx_string_member(attrs, "username", &ulen);
	password = jx_string_member(attrs, "password", &plen);
	/* Every well-formed attempt counts, whatever is wrong with it; the
	 * counter key is the username as sent ("" if unusable: NUL cannot go
	 * to the database). */
	key = username != NULL && memchr(username, '\0', ulen) == NULL ? username : "";
	if (store_login_begin(x->app->db, &x->app->cfg, x->client_key, key, x->client_ip,
	    &a) < 0) {
		exchange_fail(x, ERR_SERVICE_UNAVAILABLE);
		goto out;
	}
	if (a.retry_after > 0) {
		locked_out(x, key, a.retry_after);
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
	else
		reason = check_credentials(x, &a, password, plen);
	if (reason != NULL) {
		login_failed(x, a.attempt_id, key, reason);
		goto out;
	}
	if (password_needs_rehash(a.password_hash, a.hash_cost)) {
		new_hash = password_hash_new(password, plen, a.hash_cost);
		if (new_hash == NULL)
			log_warn("login: cannot re-hash the password of agent %lld", a.agent_id);
	}
	login_succeeded(x, a.attempt_id, new_hash);
out:
	store_login_attempt_free(&a);
	if (new_hash != NULL) {
		explicit_bzero(new_hash, strlen(new_hash));
		free(new_hash);
	}
	if (password != NULL)
		explicit_bzero((char *)password, plen);
	jx_put_wiped(root);
}
