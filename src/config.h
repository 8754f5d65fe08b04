/* config: the settings of one agentauth instance.
 *
 * Sources, later ones winning: built-in defaults, the `key = value` file,
 * then AGENTAUTH_<KEY> environment variables.  Unknown keys and bad values
 * are errors that name the file and line (or the variable). */
#ifndef AGENTAUTH_CONFIG_H
#define AGENTAUTH_CONFIG_H

#include <stddef.h>

#include "log.h"

#define CONFIG_DEFAULT_PATH "/etc/agentauth/agentauth.conf"

struct config {
	char *database;          /* libpq conninfo or URI; "" = libpq defaults */
	char *private_key;       /* PEM path of the RS256 signing key (required) */
	char *audience;          /* JWT "aud" */
	char *issuer;            /* JWT "iss"; "" = claim omitted */
	char *base_url;          /* external URL prefix for links; "" = derived */
	char *listen;            /* "unix:PATH" or "HOST:PORT"; "" = fd 0 */
	char *auth_realm;        /* realm in WWW-Authenticate */
	char *trusted_proxies;   /* CIDR list whose X-Forwarded-For is believed */
	long ipv6_prefix;        /* IPv6 clients are counted by this network */
	char *public_keys;       /* extra verification keys: PEM paths, ',' separated */
	long access_token_ttl;   /* seconds */
	long refresh_token_ttl;  /* seconds */
	long session_max_age;    /* seconds: a login's refresh family ends then */
	long max_body_bytes;
	long read_timeout;       /* seconds to receive a whole request */
	long workers;
	long db_timeout;         /* milliseconds: connect + statement deadline */
	long db_prepared_statements;  /* boolean: prepare each statement once per
	                                 connection (off behind poolers) */
	long dummy_hash_cost;    /* bcrypt cost of the hash for unknown users */
	long lockout_attempts;   /* failures per (address, username) ... */
	long lockout_window;     /* ... within this many seconds ... */
	long lockout_block;      /* ... block it for this many seconds */
	long account_lockout_attempts;  /* failures per username, all addresses */
	long account_lockout_window;
	long ip_lockout_attempts;       /* failures per address, all usernames */
	long clock_skew;         /* seconds of leeway for exp/nbf/iat */
	long jwks_max_age;       /* Cache-Control max-age of the JWKS document */
	long refresh_reuse_grace;/* seconds a used refresh token may be repeated
	                            without revoking its family */
	long search_max_limit;   /* largest page[limit] honoured */
	long impersonation_requires_consent;  /* boolean: customers.allow_assistance */
	long impersonation_max_age;  /* seconds: an impersonation session ends then */
	long impersonation_single;   /* boolean: a new impersonation ends the
	                                agent's others */
	long session_idle_timeout;   /* seconds without a refresh that end a
	                                session; 0 = no limit */
	char *impersonation_reason;  /* "optional", "required", or an extended
	                                regular expression the reason must match */
	long impersonation_reason_claim;  /* boolean: the reason in the tokens */
	long max_requests;       /* a worker leaves after this many; 0 = never */
	char *pid_file;          /* written by the serving process; "" = none */
	char *log_target;        /* "stderr" or "syslog" */
	enum log_level log_level;
};

/* Fills cfg with the defaults.  Strings are owned by cfg. */
void config_init(struct config *cfg);

/* Releases what cfg owns; cfg may be passed to config_init again. */
void config_free(struct config *cfg);

/* Sets one key from text, with the same checks as the file (command-line
 * overrides).  Returns 0, or -1 with err. */
int config_set(struct config *cfg, const char *name, const char *value,
    char *err, size_t errlen);

/* Reads a config file into cfg.  A missing file is an error unless
 * missing_ok.  Returns 0, or -1 with a message in err. */
int config_read_file(struct config *cfg, const char *path, int missing_ok,
    char *err, size_t errlen);

/* Applies AGENTAUTH_<KEY> variables from env (a NULL-terminated environ
 * array).  AGENTAUTH_CONF is the file path and is skipped here.
 * Returns 0, or -1 with a message in err. */
int config_apply_env(struct config *cfg, char *const *env, char *err, size_t errlen);

/* Checks that required settings are present.  Returns 0 or -1 with err. */
int config_validate(const struct config *cfg, char *err, size_t errlen);

/* The whole sequence: defaults, file (path; else $AGENTAUTH_CONF; else the
 * default path, which may be missing), environment, validation.
 * On failure cfg is freed.  Returns 0 or -1 with err. */
int config_load(struct config *cfg, const char *path, char *const *env,
    char *err, size_t errlen);

#endif
