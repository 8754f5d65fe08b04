/* config: a table of keys, parsed from a file and the environment. */
#include "config.h"

#include "clientip.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum key_type { KEY_STR, KEY_INT, KEY_BOOL, KEY_LEVEL };

/* Checks a string value; returns 0 or -1 with a reason in err. */
typedef int check_fn(const char *value, char *err, size_t errlen);

struct key {
	const char *name;
	enum key_type type;
	size_t offset;
	const char *def;
	long min, max;      /* KEY_INT bounds */
	check_fn *check;    /* KEY_STR: optional */
};

static check_fn check_url, check_listen, check_realm, check_cidrs, check_log_target,
    check_reason_rule;

#define STR(n, d, chk)     { #n, KEY_STR, offsetof(struct config, n), d, 0, 0, chk }
#define INT(n, d, lo, hi)  { #n, KEY_INT, offsetof(struct config, n), d, lo, hi, NULL }
#define BOOL(n, d)         { #n, KEY_BOOL, offsetof(struct config, n), d, 0, 1, NULL }

static const struct key keys[] = {
	STR(database, "", NULL),
	STR(private_key, "", NULL),
	STR(audience, "frontend", NULL),
	STR(issuer, "", NULL),
	STR(base_url, "", check_url),
	STR(listen, "", check_listen),
	STR(auth_realm, "Access to shop API", check_realm),
	STR(trusted_proxies, "", check_cidrs),
	INT(ipv6_prefix, "64", 32, 128),
	STR(public_keys, "", NULL),
	STR(pid_file, "", NULL),
	STR(log_target, "stderr", check_log_target),
	INT(access_token_ttl, "28800", 60, 86400 * 7),
	INT(refresh_token_ttl, "2628000", 60, 86400 * 366),
	INT(session_max_age, "43200", 60, 86400 * 366),
	INT(max_body_bytes, "16384", 1024, 1048576),
	INT(read_timeout, "10", 1, 300),
	INT(workers, "4", 1, 256),
	INT(db_timeout, "2000", 100, 60000),
	BOOL(db_prepared_statements, "on"),
	INT(dummy_hash_cost, "12", 4, 16),
	INT(lockout_attempts, "9", 1, 1000),
	INT(lockout_window, "900", 1, 86400),
	INT(lockout_block, "360", 1, 86400),
	INT(account_lockout_attempts, "100", 1, 100000),
	INT(account_lockout_window, "3600", 1, 86400),
	INT(ip_lockout_attempts, "100", 1, 1000000),
	INT(clock_skew, "0", 0, 300),
	INT(jwks_max_age, "300", 0, 86400),
	INT(refresh_reuse_grace, "2", 0, 60),
	INT(search_max_limit, "100", 1, 1000),
	BOOL(impersonation_requires_consent, "false"),
	INT(impersonation_max_age, "3600", 60, 86400 * 366),
	BOOL(impersonation_single, "false"),
	INT(session_idle_timeout, "0", 0, 86400 * 366),
	STR(impersonation_reason, "optional", check_reason_rule),
	BOOL(impersonation_reason_claim, "false"),
	INT(max_requests, "0", 0, 1000000000),
	{ "log_level", KEY_LEVEL, offsetof(struct config, log_level), "info", 0, 0, NULL },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const struct key *
key_find(const char *name, size_t len)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strlen(keys[i].name) == len && strncmp(keys[i].name, name, len) == 0)
			return &keys[i];
	return NULL;
}

static int
parse_long(const char *s, long *v_r)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)s[0]) && s[0] != '-')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*v_r = v;
	return 0;
}

static int
check_url(const char *v, char *err, size_t errlen)
{
	if (v[0] != '\0' && strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
		snprintf(err, errlen, "base_url must start with http:// or https://");
		return -1;
	}
	for (; *v != '\0'; v++) {
		if ((unsigned char)*v <= ' ' || *v == '"' || *v == '\\' || *v == 0x7f) {
			snprintf(err, errlen, "base_url must not contain spaces, quotes or "
			    "control characters");
			return -1;
		}
	}
	return 0;
}

static int
check_listen(const char *v, char *err, size_t errlen)
{
	if (v[0] == '\0' || (strncmp(v, "unix:/", 6) == 0 && strlen(v) < 100))
		return 0;
	if (strncmp(v, "unix:", 5) != 0) {
		const char *colon = strrchr(v, ':');
		if (colon != NULL && colon[1] != '\0' &&
		    strspn(colon + 1, "0123456789") == strlen(colon + 1))
			return 0;
	}
	snprintf(err, errlen, "listen must be unix:/ABSOLUTE/PATH (under 100 bytes) "
	    "or HOST:PORT");
	return -1;
}

static int
check_realm(const char *v, char *err, size_t errlen)
{
	if (strlen(v) > 100) {
		snprintf(err, errlen, "auth_realm must be at most 100 bytes");
		return -1;
	}
	for (; *v != '\0'; v++) {
		if ((unsigned char)*v < ' ' || *v == '"' || *v == '\\' || *v == 0x7f) {
			snprintf(err, errlen, "auth_realm must not contain quotes, backslashes "
			    "or control characters");
			return -1;
		}
	}
	return 0;
}

static int
check_log_target(const char *v, char *err, size_t errlen)
{
	if (strcmp(v, "stderr") == 0 || strcmp(v, "syslog") == 0)
		return 0;
	snprintf(err, errlen, "log_target must be stderr or syslog");
	return -1;
}

/* impersonation_reason: optional, required, or a POSIX extended regular
 * expression (regcomp) of at most 1000 bytes. */
static int
check_reason_rule(const char *v, char *err, size_t errlen)
{
	regex_t re;
	char why[120];
	int rc;

	if (strcmp(v, "optional") == 0 || strcmp(v, "required") == 0)
		return 0;
	if (v[0] == '\0' || strlen(v) > 1000) {
		snprintf(err, errlen, "impersonation_reason must be optional, required or a regular "
		    "expression of 1 to 1000 bytes");
		return -1;
	}
	rc = regcomp(&re, v, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		regerror(rc, &re, why, sizeof(why));
		snprintf(err, errlen, "impersonation_reason is not a regular expression: %s", why);
		return -1;
	}
	regfree(&re);
	return 0;
}

static int
check_cidrs(const char *v, char *err, size_t errlen)
{
	struct cidr_list list;
	char why[160];

	if (cidr_list_parse(&list, v, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "trusted_proxies: %s", why);
		return -1;
	}
	return 0;
}

/* Stores value for key k.  Returns 0 or -1 with a reason in err. */
static int
key_set(struct config *cfg, const struct key *k, const char *value,
    char *err, size_t errlen)
{
	char *base = (char *)cfg + k->offset;

	switch (k->type) {
	case KEY_STR: {
		char *copy;
		if (k->check != NULL && k->check(value, err, errlen) < 0)
			return -1;
		copy = strdup(value);
		if (copy == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		free(*(char **)base);
		*(char **)base = copy;
		return 0;
	}
	case KEY_INT: {
		long v;
		if (parse_long(value, &v) < 0 || v < k->min || v > k->max) {
			snprintf(err, errlen, "%s must be an integer from %ld to %ld",
			    k->name, k->min, k->max);
			return -1;
		}
		*(long *)base = v;
		return 0;
	}
	case KEY_BOOL:
		if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 ||
		    strcmp(value, "on") == 0 || strcmp(value, "1") == 0) {
			*(long *)base = 1;
		} else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0 ||
		    strcmp(value, "off") == 0 || strcmp(value, "0") == 0) {
			*(long *)base = 0;
		} else {
			snprintf(err, errlen, "%s must be true or false", k->name);
			return -1;
		}
		return 0;
	case KEY_LEVEL:
		if (log_level_parse(value, (enum log_level *)base) < 0) {
			snprintf(err, errlen, "%s must be error, warn, info or debug", k->name);
			return -1;
		}
		return 0;
	}
	return -1;
}

int
config_set(struct config *cfg, const char *name, const char *value, char *err, size_t errlen)
{
	const struct key *k = key_find(name, strlen(name));

	if (k == NULL) {
		snprintf(err, errlen, "unknown key \"%.64s\"", name);
		return -1;
	}
	return key_set(cfg, k, value, err, errlen);
}

void
config_init(struct config *cfg)
{
	char err[128];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NKEYS; i++) {
		if (key_set(cfg, &keys[i], keys[i].def, err, sizeof(err)) < 0)
			abort();  /* a bad built-in default is a programming error */
	}
}

void
config_free(struct config *cfg)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i].type == KEY_STR) {
			char **p = (char **)((char *)cfg + keys[i].offset);
			free(*p);
			*p = NULL;
		}
	}
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

int
config_read_file(struct config *cfg, const char *path, int missing_ok,
    char *err, size_t errlen)
{
	unsigned char seen[NKEYS] = { 0 };
	char line[4096], why[256];
	unsigned lineno = 0;
	int rc = 0;
	FILE *f;

	f = fopen(path, "r");
	if (f == NULL) {
		if (errno == ENOENT && missing_ok)
			return 0;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *s, *eq, *name, *value;
		const struct key *k;
		size_t vlen;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path, lineno);
			rc = -1;
			break;
		}
		s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		eq = strchr(s, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "%s:%u: expected key = value", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		name = trim(s);
		value = trim(eq + 1);
		vlen = strlen(value);
		if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
			value[vlen - 1] = '\0';
			value++;
		}
		k = key_find(name, strlen(name));
		if (k == NULL) {
			snprintf(err, errlen, "%s:%u: unknown key \"%.64s\"", path, lineno, name);
			rc = -1;
			break;
		}
		if (seen[k - keys]++) {
			snprintf(err, errlen, "%s:%u: %s is set twice", path, lineno, k->name);
			rc = -1;
			break;
		}
		if (key_set(cfg, k, value, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -1;
	}
	fclose(f);
	return rc;
}

int
config_apply_env(struct config *cfg, char *const *env, char *err, size_t errlen)
{
	static const char prefix[] = "AGENTAUTH_";
	const size_t plen = sizeof(prefix) - 1;
	char why[256];

	for (; env != NULL && *env != NULL; env++) {
		const char *var = *env, *eq;
		char name[64];
		size_t nlen;
		const struct key *k;

		if (strncmp(var, prefix, plen) != 0)
			continue;
		eq = strchr(var, '=');
		if (eq == NULL)
			continue;
		nlen = (size_t)(eq - var) - plen;
		if (nlen == 4 && strncmp(var + plen, "CONF", 4) == 0)
			continue;
		if (nlen >= sizeof(name)) {
			snprintf(err, errlen, "environment: unknown variable %.80s", var);
			return -1;
		}
		for (size_t i = 0; i < nlen; i++)
			name[i] = (char)tolower((unsigned char)var[plen + i]);
		name[nlen] = '\0';
		k = key_find(name, nlen);
		if (k == NULL) {
			snprintf(err, errlen, "environment: unknown variable %.*s",
			    (int)(eq - var), var);
			return -1;
		}
		if (key_set(cfg, k, eq + 1, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "environment: %.*s: %s", (int)(eq - var), var, why);
			return -1;
		}
	}
	return 0;
}

int
config_validate(const struct config *cfg, char *err, size_t errlen)
{
	if (cfg->private_key[0] == '\0') {
		snprintf(err, errlen, "private_key is not set");
		return -1;
	}
	return 0;
}

int
config_load(struct config *cfg, const char *path, char *const *env,
    char *err, size_t errlen)
{
	int missing_ok = 0;

	config_init(cfg);
	if (path == NULL) {
		for (char *const *e = env; e != NULL && *e != NULL; e++)
			if (strncmp(*e, "AGENTAUTH_CONF=", 15) == 0)
				path = *e + 15;
	}
	if (path == NULL) {
		path = CONFIG_DEFAULT_PATH;
		missing_ok = 1;
	}
	if (config_read_file(cfg, path, missing_ok, err, errlen) < 0 ||
	    config_apply_env(cfg, env, err, errlen) < 0 ||
	    config_validate(cfg, err, errlen) < 0) {
		config_free(cfg);
		return -1;
	}
	return 0;
}
