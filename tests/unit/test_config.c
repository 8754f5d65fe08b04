/* Unit tests for src/config.c: defaults, the key = value file, environment
 * overrides, validation and config_load's choice of file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "suites.h"
#include "testutil.h"

/* Writes content to a new temporary file; returns its malloc'd path. */
static char *
temp_file(const char *content)
{
	return test_temp_file(content, strlen(content));
}

/* Reads content as a config file into a fresh cfg.  Returns the result of
 * config_read_file; err gets its message and path_r the file's name. */
static int
read_content(struct config *cfg, const char *content, char *err, size_t errlen,
    char *path_r, size_t pathlen)
{
	char *path = temp_file(content);
	int rc;

	config_init(cfg);
	err[0] = '\0';
	rc = config_read_file(cfg, path, 0, err, errlen);
	if (path_r != NULL)
		snprintf(path_r, pathlen, "%s", path);
	test_temp_remove(path);
	return rc;
}

START_TEST(test_defaults)
{
	struct config cfg;

	config_init(&cfg);
	ck_assert_str_eq(cfg.database, "");
	ck_assert_str_eq(cfg.private_key, "");
	ck_assert_str_eq(cfg.audience, "frontend");
	ck_assert_str_eq(cfg.issuer, "");
	ck_assert_str_eq(cfg.base_url, "");
	ck_assert_str_eq(cfg.listen, "");
	ck_assert_str_eq(cfg.auth_realm, "Access to shop API");
	ck_assert_int_eq(cfg.access_token_ttl, 28800);
	ck_assert_int_eq(cfg.refresh_token_ttl, 2628000);
	ck_assert_int_eq(cfg.max_body_bytes, 16384);
	ck_assert_int_eq(cfg.workers, 4);
	ck_assert_int_eq(cfg.db_timeout, 2000);
	ck_assert_int_eq(cfg.dummy_hash_cost, 12);
	ck_assert_int_eq(cfg.impersonation_max_age, 3600);
	ck_assert_str_eq(cfg.impersonation_reason, "optional");
	ck_assert_int_eq(cfg.log_level, LOG_LVL_INFO);
	config_free(&cfg);
	ck_assert_ptr_null(cfg.database);
	ck_assert_ptr_null(cfg.audience);
	/* config_free leaves cfg ready for config_init again */
	config_init(&cfg);
	ck_assert_str_eq(cfg.audience, "frontend");
	config_free(&cfg);
}
END_TEST

START_TEST(test_file_parsing)
{
	static const char content[] =
	    "# agentauth test configuration\n"
	    "; another comment style\n"
	    "\n"
	    "   \t\n"
	    "\tprivate_key\t=\t/etc/agentauth/key.pem   \n"
	    "audience = \"frontend api\"\n"
	    "database=\"\"\n"
	    "base_url = https://shop.example/auth\r\n"
	    "auth_realm = \"Shop realm\"\n"
	    "listen = unix:/run/agentauth.sock\n"
	    "issuer = \"https://issuer.example\n"
	    "access_token_ttl = 600\n"
	    "refresh_token_ttl=86400\n"
	    "max_body_bytes = 1024\n"
	    "workers = 256\n"
	    "db_timeout = 100\n"
	    "dummy_hash_cost = 4\n"
	    "log_level = debug\n";
	struct config cfg;
	char err[256];

	ck_assert_int_eq(read_content(&cfg, content, err, sizeof(err), NULL, 0), 0);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(cfg.database, "");
	ck_assert_str_eq(cfg.private_key, "/etc/agentauth/key.pem");
	ck_assert_str_eq(cfg.audience, "frontend api");
	/* an unbalanced quote is kept as it is */
	ck_assert_str_eq(cfg.issuer, "\"https://issuer.example");
	ck_assert_str_eq(cfg.base_url, "https://shop.example/auth");
	ck_assert_str_eq(cfg.auth_realm, "Shop realm");
	ck_assert_str_eq(cfg.listen, "unix:/run/agentauth.sock");
	ck_assert_int_eq(cfg.access_token_ttl, 600);
	ck_assert_int_eq(cfg.refresh_token_ttl, 86400);
	ck_assert_int_eq(cfg.max_body_bytes, 1024);
	ck_assert_int_eq(cfg.workers, 256);
	ck_assert_int_eq(cfg.db_timeout, 100);
	ck_assert_int_eq(cfg.dummy_hash_cost, 4);
	ck_assert_int_eq(cfg.log_level, LOG_LVL_DEBUG);
	config_free(&cfg);
}
END_TEST

START_TEST(test_file_value_with_equals_sign)
{
	struct config cfg;
	char err[256];

	ck_assert_int_eq(read_content(&cfg,
	    "database = \"postgresql://app@localhost/shop?sslmode=disable\"\n",
	    err, sizeof(err), NULL, 0), 0);
	ck_assert_str_eq(cfg.database, "postgresql://app@localhost/shop?sslmode=disable");
	config_free(&cfg);
}
END_TEST

START_TEST(test_file_unknown_key)
{
	struct config cfg;
	char err[256], path[64], want[128];

	ck_assert_int_eq(read_content(&cfg, "# comment\nworkers = 2\nworkerz = 3\n",
	    err, sizeof(err), path, sizeof(path)), -1);
	snprintf(want, sizeof(want), "%s:3: unknown key \"workerz\"", path);
	ck_assert_str_eq(err, want);
	config_free(&cfg);
}
END_TEST

START_TEST(test_file_key_is_case_sensitive)
{
	struct config cfg;
	char err[256], path[64], want[128];

	ck_assert_int_eq(read_content(&cfg, "Workers = 2\n", err, sizeof(err),
	    path, sizeof(path)), -1);
	snprintf(want, sizeof(want), "%s:1:", path);
	ck_assert_ptr_nonnull(strstr(err, want));
	ck_assert_ptr_nonnull(strstr(err, "unknown key"));
	config_free(&cfg);
}
END_TEST

START_TEST(test_file_missing_equals)
{
	struct config cfg;
	char err[256], path[64], want[128];

	ck_assert_int_eq(read_content(&cfg, "\n\nworkers 2\n", err, sizeof(err),
	    path, sizeof(path)), -1);
	snprintf(want, sizeof(want), "%s:3: expected key = value", path);
	ck_assert_str_eq(err, want);
	config_free(&cfg);
}
END_TEST

static const char *const bad_ints[] = {
	"abc", "", "5x", "0", "257", "-1", "+5", "4.0", " ", "0x10",
	"99999999999999999999", "-99999999999999999999", "-",
};

START_TEST(test_file_bad_int)
{
	struct config cfg;
	char content[128], err[256], path[64], want[160];

	snprintf(content, sizeof(content), "log_level = warn\nworkers = %s\n", bad_ints[_i]);
	ck_assert_msg(read_content(&cfg, content, err, sizeof(err), path, sizeof(path)) == -1,
	    "workers = \"%s\" was accepted", bad_ints[_i]);
	snprintf(want, sizeof(want), "%s:2: workers must be an integer from 1 to 256", path);
	ck_assert_str_eq(err, want);
	config_free(&cfg);
}
END_TEST

START_TEST(test_file_int_bounds)
{
	struct config cfg;
	char err[256];

	ck_assert_int_eq(read_content(&cfg, "access_token_ttl = 60\n", err, sizeof(err),
	    NULL, 0), 0);
	ck_assert_int_eq(cfg.access_token_ttl, 60);
	config_free(&cfg);
	ck_assert_int_eq(read_content(&cfg, "access_token_ttl = 59\n", err, sizeof(err),
	    NULL, 0), -1);
	ck_assert_ptr_nonnull(strstr(err, "access_token_ttl must be an integer from 60 to 604800"));
	config_free(&cfg);
	ck_assert_int_eq(read_content(&cfg, "dummy_hash_cost = 17\n", err, sizeof(err),
	    NULL, 0), -1);
	ck_assert_ptr_nonnull(strstr(err, "dummy_hash_cost must be an integer from 4 to 16"));
	config_free(&cfg);
	ck_assert_int_eq(read_content(&cfg, "dummy_hash_cost = 3\n", err, sizeof(err),
	    NULL, 0), -1);
	config_free(&cfg);
	ck_assert_int_eq(read_content(&cfg, "dummy_hash_cost = 16\n", err, sizeof(err),
	    NULL, 0), 0);
	ck_assert_int_eq(cfg.dummy_hash_cost, 16);
	config_free(&cfg);
}
END_TEST

START_TEST(test_ipv6_prefix)
{
	struct config cfg;
	char err[256];

	config_init(&cfg);
	ck_assert_int_eq(cfg.ipv6_prefix, 64);
	config_free(&cfg);
	ck_assert_int_eq(read_content(&cfg, "ipv6_prefix = 32\n", err, sizeof(err), NULL, 0), 0);
	ck_assert_int_eq(cfg.ipv6_prefix, 32);
	config_free(&cfg);
	ck_assert_int_eq(read_content(&cfg, "ipv6_prefix = 128\n", err, sizeof(err), NULL, 0), 0);
	ck_assert_int_eq(cfg.ipv6_prefix, 128);
	config_free(&cfg);
	ck_assert_int_eq(read_content(&cfg, "ipv6_prefix = 31\n", err, sizeof(err), NULL, 0), -1);
	ck_assert_ptr_nonnull(strstr(err, "ipv6_prefix must be an integer from 32 to 128"));
	config_free(&cfg);
	ck_assert_int_eq(read_content(&cfg, "ipv6_prefix = 129\n", err, sizeof(err), NULL, 0), -1);
	config_free(&cfg);
	ck_assert_int_eq(read_content(&cfg, "ipv6_prefix = /64\n", err, sizeof(err), NULL, 0), -1);
	config_free(&cfg);
}
END_TEST

START_TEST(test_db_prepared_statements)
{
	static const char *const on[] = { "on", "true", "yes", "1" };
	static const char *const off[] = { "off", "false", "no", "0" };
	char *env[] = { "AGENTAUTH_DB_PREPARED_STATEMENTS=off", NULL };
	struct config cfg;
	char err[256], line[64];

	config_init(&cfg);
	ck_assert_int_eq(cfg.db_prepared_statements, 1);
	config_free(&cfg);
	for (size_t i = 0; i < 4; i++) {
		snprintf(line, sizeof(line), "db_prepared_statements = %s\n", off[i]);
		ck_assert_int_eq(read_content(&cfg, line, err, sizeof(err), NULL, 0), 0);
		ck_assert_int_eq(cfg.db_prepared_statements, 0);
		config_free(&cfg);
		snprintf(line, sizeof(line), "db_prepared_statements = %s\n", on[i]);
		ck_assert_int_eq(read_content(&cfg, line, err, sizeof(err), NULL, 0), 0);
		ck_assert_int_eq(cfg.db_prepared_statements, 1);
		config_free(&cfg);
	}
	ck_assert_int_eq(read_content(&cfg, "db_prepared_statements = On\n", err, sizeof(err),
	    NULL, 0), -1);
	ck_assert_ptr_nonnull(strstr(err, ":1: db_prepared_statements must be true or false"));
	config_free(&cfg);
	config_init(&cfg);
	ck_assert_int_eq(config_apply_env(&cfg, env, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.db_prepared_statements, 0);
	config_free(&cfg);
}
END_TEST

START_TEST(test_file_bad_log_level)
{
	struct config cfg;
	char err[256], path[64], want[128];

	ck_assert_int_eq(read_content(&cfg, "log_level = verbose\n", err, sizeof(err),
	    path, sizeof(path)), -1);
	snprintf(want, sizeof(want), "%s:1: log_level must be error, warn, info or debug", path);
	ck_assert_str_eq(err, want);
	config_free(&cfg);
}
END_TEST

START_TEST(test_file_duplicate_key)
{
	struct config cfg;
	char err[256], path[64], want[128];

	ck_assert_int_eq(read_content(&cfg,
	    "audience = a\nworkers = 2\n# comment\naudience = b\n",
	    err, sizeof(err), path, sizeof(path)), -1);
	snprintf(want, sizeof(want), "%s:4: audience is set twice", path);
	ck_assert_str_eq(err, want);
	config_free(&cfg);
}
END_TEST

START_TEST(test_file_line_too_long)
{
	struct config cfg;
	char *content = malloc(6000), err[256], path[64], want[128];

	ck_assert_ptr_nonnull(content);
	strcpy(content, "workers = 2\ndatabase = ");
	memset(content + strlen(content), 'x', 5000);
	strcpy(content + 23 + 5000, "\n");
	ck_assert_int_eq(read_content(&cfg, content, err, sizeof(err), path, sizeof(path)), -1);
	snprintf(want, sizeof(want), "%s:2: line too long", path);
	ck_assert_str_eq(err, want);
	config_free(&cfg);
	free(content);
}
END_TEST

START_TEST(test_file_missing)
{
	struct config cfg;
	char err[256] = "";

	config_init(&cfg);
	ck_assert_int_eq(config_read_file(&cfg, "/nonexistent/agentauth.conf", 1,
	    err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(config_read_file(&cfg, "/nonexistent/agentauth.conf", 0,
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/nonexistent/agentauth.conf: cannot open: No such file or directory");
	config_free(&cfg);
}
END_TEST

START_TEST(test_env_overrides)
{
	char *env[] = {
		"PATH=/usr/bin",
		"AGENTAUTH_DATABASE=dbname=from_env",
		"AGENTAUTH_WORKERS=8",
		"AGENTAUTH_LOG_LEVEL=error",
		"AGENTAUTH_CONF=/does/not/matter.conf",
		"AGENTAUTH_ISSUER=",
		"AGENTAUTH_NO_EQUALS_SIGN",
		"agentauth_audience=ignored",
		NULL,
	};
	struct config cfg;
	char err[256] = "";

	config_init(&cfg);
	ck_assert_int_eq(config_apply_env(&cfg, env, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(cfg.database, "dbname=from_env");
	ck_assert_int_eq(cfg.workers, 8);
	ck_assert_int_eq(cfg.log_level, LOG_LVL_ERROR);
	ck_assert_str_eq(cfg.issuer, "");
	ck_assert_str_eq(cfg.audience, "frontend");
	/* NULL environment: nothing to do */
	ck_assert_int_eq(config_apply_env(&cfg, NULL, err, sizeof(err)), 0);
	config_free(&cfg);
}
END_TEST

START_TEST(test_env_unknown_variable)
{
	char *env[] = { "AGENTAUTH_WORKERS=2", "AGENTAUTH_FOO=1", NULL };
	struct config cfg;
	char err[256] = "";

	config_init(&cfg);
	ck_assert_int_eq(config_apply_env(&cfg, env, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "environment: unknown variable AGENTAUTH_FOO");
	config_free(&cfg);
}
END_TEST

START_TEST(test_env_bad_value)
{
	char *env[] = { "AGENTAUTH_MAX_BODY_BYTES=lots", NULL };
	struct config cfg;
	char err[256] = "";

	config_init(&cfg);
	ck_assert_int_eq(config_apply_env(&cfg, env, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "environment: AGENTAUTH_MAX_BODY_BYTES: "
	    "max_body_bytes must be an integer from 1024 to 1048576");
	ck_assert_int_eq(cfg.max_body_bytes, 16384);
	config_free(&cfg);
}
END_TEST

START_TEST(test_validate)
{
	struct config cfg;
	char err[256] = "";

	config_init(&cfg);
	ck_assert_int_eq(config_validate(&cfg, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "private_key is not set");
	ck_assert_int_eq(config_set(&cfg, "private_key", "/etc/agentauth/key.pem",
	    err, sizeof(err)), 0);
	err[0] = '\0';
	ck_assert_int_eq(config_validate(&cfg, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	config_free(&cfg);
}
END_TEST

START_TEST(test_set)
{
	struct config cfg;
	char err[256] = "";

	config_init(&cfg);
	ck_assert_int_eq(config_set(&cfg, "workers", "7", err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.workers, 7);
	ck_assert_int_eq(config_set(&cfg, "audience", "backoffice", err, sizeof(err)), 0);
	ck_assert_str_eq(cfg.audience, "backoffice");
	ck_assert_int_eq(config_set(&cfg, "log_level", "warn", err, sizeof(err)), 0);
	ck_assert_int_eq(cfg.log_level, LOG_LVL_WARN);

	ck_assert_int_eq(config_set(&cfg, "nope", "1", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "unknown key \"nope\"");
	ck_assert_int_eq(config_set(&cfg, "workers", "0", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "workers must be an integer from 1 to 256");
	ck_assert_int_eq(cfg.workers, 7);  /* unchanged */
	config_free(&cfg);
}
END_TEST

struct str_case {
	const char *key;
	const char *value;
	int ok;
};

static const struct str_case str_cases[] = {
	{ "base_url", "", 1 },
	{ "base_url", "https://shop.example/api/", 1 },
	{ "base_url", "http://127.0.0.1:8080", 1 },
	{ "base_url", "ftp://shop.example", 0 },
	{ "base_url", "shop.example", 0 },
	{ "base_url", "https://shop.example/a b", 0 },
	{ "base_url", "https://shop.example/\"x", 0 },
	{ "base_url", "https://shop.example/\\x", 0 },
	{ "base_url", "https://shop.example/\x01", 0 },
	{ "listen", "", 1 },
	{ "listen", "unix:/run/agentauth/agentauth.sock", 1 },
	{ "listen", "127.0.0.1:9000", 1 },
	{ "listen", "[::1]:9000", 1 },
	{ "listen", "localhost", 0 },
	{ "listen", "localhost:", 0 },
	{ "listen", "localhost:http", 0 },
	{ "listen", "unix:relative.sock", 0 },
	{ "listen", "unix:/run/a/very/long/path/that/goes/on/and/on/and/on/and/on/and/on/"
	    "and/on/until/it/no/longer/fits/sun_path.sock", 0 },
	{ "impersonation_reason", "optional", 1 },
	{ "impersonation_reason", "required", 1 },
	{ "impersonation_reason", "^[A-Z]+-[0-9]+", 1 },
	{ "impersonation_reason", "^(ticket|case) [0-9]{3,}$", 1 },
	{ "impersonation_reason", "", 0 },
	{ "impersonation_reason", "^([A-Z]+", 0 },
	{ "impersonation_reason", "[z-a]", 0 },
	{ "auth_realm", "Access to shop API", 1 },
	{ "auth_realm", "", 1 },
	{ "auth_realm", "say \"hi\"", 0 },
	{ "auth_realm", "back\\slash", 0 },
	{ "auth_realm", "line\nbreak", 0 },
	{ "auth_realm", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxx", 0 },  /* 101 bytes */
};

START_TEST(test_set_checked_strings)
{
	const struct str_case *c = &str_cases[_i];
	struct config cfg;
	char err[256] = "", file[512], path[64], want[128];

	config_init(&cfg);
	ck_assert_msg((config_set(&cfg, c->key, c->value, err, sizeof(err)) == 0) == c->ok,
	    "%s = \"%s\": %s", c->key, c->value, c->ok ? err : "accepted");
	if (c->ok)
		ck_assert_str_eq(*(c->key[0] == 'b' ? &cfg.base_url : c->key[0] == 'l' ?
		    &cfg.listen : c->key[0] == 'i' ? &cfg.impersonation_reason : &cfg.auth_realm),
		    c->value);
	else
		ck_assert_ptr_nonnull(strstr(err, c->key));
	config_free(&cfg);

	/* the same check applies to the file, with file:line */
	if (c->ok || strchr(c->value, '\n') != NULL)
		return;
	snprintf(file, sizeof(file), "\n%s = %s\n", c->key, c->value);
	ck_assert_int_eq(read_content(&cfg, file, err, sizeof(err), path, sizeof(path)), -1);
	snprintf(want, sizeof(want), "%s:2: %s", path, c->key);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
	config_free(&cfg);
}
END_TEST

START_TEST(test_load_explicit_path_and_env_wins)
{
	char *path = temp_file("private_key = /from/file.pem\nworkers = 2\naudience = file\n");
	char *env[] = { "AGENTAUTH_WORKERS=3", NULL };
	struct config cfg;
	int rc;
	char err[256] = "";

	rc = config_load(&cfg, path, env, err, sizeof(err));
	test_temp_remove(path);
	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_str_eq(cfg.private_key, "/from/file.pem");
	ck_assert_str_eq(cfg.audience, "file");
	ck_assert_int_eq(cfg.workers, 3);
	config_free(&cfg);
}
END_TEST

START_TEST(test_load_agentauth_conf)
{
	char *path = temp_file("private_key = /via/conf/variable.pem\n");
	char var[128];
	char *env[] = { "HOME=/root", var, NULL };
	struct config cfg;
	int rc;
	char err[256] = "";

	snprintf(var, sizeof(var), "AGENTAUTH_CONF=%s", path);
	rc = config_load(&cfg, NULL, env, err, sizeof(err));
	test_temp_remove(path);
	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_str_eq(cfg.private_key, "/via/conf/variable.pem");
	config_free(&cfg);
}
END_TEST

START_TEST(test_load_explicit_path_beats_agentauth_conf)
{
	char *explicit = temp_file("private_key = /explicit.pem\n");
	char *other = temp_file("private_key = /other.pem\n");
	char var[128];
	char *env[] = { var, NULL };
	struct config cfg;
	int rc;
	char err[256] = "";

	snprintf(var, sizeof(var), "AGENTAUTH_CONF=%s", other);
	rc = config_load(&cfg, explicit, env, err, sizeof(err));
	test_temp_remove(explicit);
	test_temp_remove(other);
	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_str_eq(cfg.private_key, "/explicit.pem");
	config_free(&cfg);
}
END_TEST

START_TEST(test_load_missing_explicit_file)
{
	char *env[] = { "AGENTAUTH_PRIVATE_KEY=/k.pem", NULL };
	struct config cfg;
	char err[256] = "";

	ck_assert_int_eq(config_load(&cfg, "/nonexistent/explicit.conf", env,
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/nonexistent/explicit.conf: cannot open: No such file or directory");
	/* on failure cfg is freed */
	ck_assert_ptr_null(cfg.private_key);
	ck_assert_ptr_null(cfg.audience);
}
END_TEST

START_TEST(test_load_missing_agentauth_conf_file)
{
	char *env[] = { "AGENTAUTH_CONF=/nonexistent/from-env.conf",
		"AGENTAUTH_PRIVATE_KEY=/k.pem", NULL };
	struct config cfg;
	char err[256] = "";

	ck_assert_int_eq(config_load(&cfg, NULL, env, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/nonexistent/from-env.conf: cannot open: No such file or directory");
}
END_TEST

/* Without a path and AGENTAUTH_CONF, config_load reads CONFIG_DEFAULT_PATH,
 * and a missing one is no error.  Where that file is installed, what is
 * checked instead is that config_load reads it: the outcome is the same as
 * with its path given (the test never passes without checking). */
START_TEST(test_load_default_path_may_be_missing)
{
	char *env[] = { "AGENTAUTH_PRIVATE_KEY=/env/key.pem", NULL };
	struct config cfg, named;
	char err[256] = "", named_err[256] = "";
	int rc;

	if (access(CONFIG_DEFAULT_PATH, F_OK) == 0) {
		rc = config_load(&cfg, NULL, env, err, sizeof(err));
		ck_assert_int_eq(rc, config_load(&named, CONFIG_DEFAULT_PATH, env, named_err,
		    sizeof(named_err)));
		ck_assert_str_eq(err, named_err);
		if (rc == 0) {
			ck_assert_str_eq(cfg.private_key, named.private_key);
			ck_assert_str_eq(cfg.audience, named.audience);
			ck_assert_str_eq(cfg.database, named.database);
			config_free(&cfg);
			config_free(&named);
		}
		return;
	}
	ck_assert_int_eq(config_load(&cfg, NULL, env, err, sizeof(err)), 0);
	ck_assert_str_eq(cfg.private_key, "/env/key.pem");
	ck_assert_str_eq(cfg.audience, "frontend");
	config_free(&cfg);
}
END_TEST

START_TEST(test_load_requires_private_key)
{
	char *path = temp_file("workers = 2\n");
	struct config cfg;
	int rc;
	char err[256] = "";

	rc = config_load(&cfg, path, NULL, err, sizeof(err));
	test_temp_remove(path);
	ck_assert_int_eq(rc, -1);
	ck_assert_str_eq(err, "private_key is not set");
	ck_assert_ptr_null(cfg.database);
}
END_TEST

START_TEST(test_load_file_error_names_line)
{
	char *path = temp_file("private_key = /k.pem\n\nbogus = 1\n");
	struct config cfg;
	int rc;
	char err[256] = "", want[128];

	rc = config_load(&cfg, path, NULL, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:3: unknown key \"bogus\"", path);
	test_temp_remove(path);
	ck_assert_int_eq(rc, -1);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_load_env_error)
{
	char *path = temp_file("private_key = /k.pem\n");
	char *env[] = { "AGENTAUTH_DB_TIMEOUT=99", NULL };
	struct config cfg;
	int rc;
	char err[256] = "";

	rc = config_load(&cfg, path, env, err, sizeof(err));
	test_temp_remove(path);
	ck_assert_int_eq(rc, -1);
	ck_assert_str_eq(err, "environment: AGENTAUTH_DB_TIMEOUT: "
	    "db_timeout must be an integer from 100 to 60000");
}
END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("file");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_file_parsing);
	tcase_add_test(tc, test_file_value_with_equals_sign);
	tcase_add_test(tc, test_file_unknown_key);
	tcase_add_test(tc, test_file_key_is_case_sensitive);
	tcase_add_test(tc, test_file_missing_equals);
	tcase_add_loop_test(tc, test_file_bad_int, 0,
	    (int)(sizeof(bad_ints) / sizeof(bad_ints[0])));
	tcase_add_test(tc, test_file_int_bounds);
	tcase_add_test(tc, test_ipv6_prefix);
	tcase_add_test(tc, test_db_prepared_statements);
	tcase_add_test(tc, test_file_bad_log_level);
	tcase_add_test(tc, test_file_duplicate_key);
	tcase_add_test(tc, test_file_line_too_long);
	tcase_add_test(tc, test_file_missing);
	suite_add_tcase(s, tc);

	tc = tcase_create("env");
	tcase_add_test(tc, test_env_overrides);
	tcase_add_test(tc, test_env_unknown_variable);
	tcase_add_test(tc, test_env_bad_value);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_test(tc, test_validate);
	tcase_add_test(tc, test_set);
	tcase_add_loop_test(tc, test_set_checked_strings, 0,
	    (int)(sizeof(str_cases) / sizeof(str_cases[0])));
	tcase_add_test(tc, test_load_explicit_path_and_env_wins);
	tcase_add_test(tc, test_load_agentauth_conf);
	tcase_add_test(tc, test_load_explicit_path_beats_agentauth_conf);
	tcase_add_test(tc, test_load_missing_explicit_file);
	tcase_add_test(tc, test_load_missing_agentauth_conf_file);
	tcase_add_test(tc, test_load_default_path_may_be_missing);
	tcase_add_test(tc, test_load_requires_private_key);
	tcase_add_test(tc, test_load_file_error_names_line);
	tcase_add_test(tc, test_load_env_error);
	suite_add_tcase(s, tc);
	return s;
}
