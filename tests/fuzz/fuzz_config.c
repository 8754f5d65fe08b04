/* fuzz_config: the configuration reader (config_read_file) and the
 * environment reader (config_apply_env).
 *
 * The input is the text of a configuration file.  config_read_file takes a
 * path, so the input is put into a memory file (memfd_create) and read
 * through /proc/self/fd/N; nothing touches the disk.  Then each line of
 * the input is used as one environment entry ("AGENTAUTH_KEY=value") for
 * config_apply_env. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sys/mman.h>

#include "config.h"
#include "fuzz.h"

#define MAX_ENV 64

static int fd = -1;
static char path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fd = memfd_create("fuzz_config", 0);
	if (fd < 0) {
		perror("fuzz_config: memfd_create");
		abort();
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return 0;
}

/* What every successful read leaves: a complete configuration. */
static void
check_config(const struct config *cfg)
{
	FUZZ_CHECK(cfg->database != NULL && cfg->private_key != NULL &&
	    cfg->audience != NULL && cfg->trusted_proxies != NULL &&
	    cfg->log_target != NULL && cfg->auth_realm != NULL);
	FUZZ_CHECK(cfg->workers >= 1 && cfg->workers <= 256);
	FUZZ_CHECK(cfg->search_max_limit >= 1 && cfg->search_max_limit <= 1000);
	FUZZ_CHECK(cfg->impersonation_requires_consent == 0 ||
	    cfg->impersonation_requires_consent == 1);
	FUZZ_CHECK(cfg->impersonation_max_age >= 60 &&
	    cfg->impersonation_max_age <= 86400L * 366);
	FUZZ_CHECK(strcmp(cfg->log_target, "stderr") == 0 ||
	    strcmp(cfg->log_target, "syslog") == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[512], *text, *env[MAX_ENV + 1];
	size_t n = 0;
	int rc;

	if (ftruncate(fd, 0) < 0 || (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	config_init(&cfg);
	err[0] = '\0';
	rc = config_read_file(&cfg, path, 0, err, sizeof(err));
	if (rc == 0)
		check_config(&cfg);
	else
		FUZZ_CHECK(err[0] != '\0' && strlen(err) < sizeof(err));
	config_free(&cfg);

	text = fuzz_cstr(data, size);
	for (char *p = text; p != NULL && n < MAX_ENV; ) {
		char *nl = strchr(p, '\n');

		if (nl != NULL)
			*nl++ = '\0';
		env[n++] = p;
		p = nl;
	}
	env[n] = NULL;
	config_init(&cfg);
	err[0] = '\0';
	if (config_apply_env(&cfg, env, err, sizeof(err)) == 0)
		check_config(&cfg);
	else
		FUZZ_CHECK(err[0] != '\0');
	config_free(&cfg);
	free(text);
	return 0;
}
