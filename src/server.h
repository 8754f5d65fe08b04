/* server: the FastCGI request loop and the optional prefork pool. */
#ifndef AGENTAUTH_SERVER_H
#define AGENTAUTH_SERVER_H

#include "app.h"

/* What the command line said, for start and reload. */
#define SERVER_OVERRIDES_MAX 8

struct server_opts {
	const char *config_path;   /* --config, or NULL */
	long workers;              /* --workers, or 0 */
	/* command-line settings (--listen, --max-requests, --pid-file) that
	 * win over the file and the environment, at start and on reload */
	const char *override_key[SERVER_OVERRIDES_MAX];
	const char *override_value[SERVER_OVERRIDES_MAX];
	int noverrides;
};

/* Applies opts' command-line settings to cfg.  Returns 0, or -1 with err. */
int server_apply_overrides(const struct server_opts *opts, struct config *cfg, char *err,
    size_t errlen);

/* Serves requests until SIGTERM/SIGINT.  With cfg.listen set it opens
 * that socket and runs a prefork pool of cfg.workers (or opts->workers)
 * processes: crashed workers are restarted with back-off, SIGHUP reloads
 * the configuration and keys by replacing the workers.  Otherwise it
 * serves the listening socket on fd 0 (web server, spawn-fcgi, systemd),
 * in this process unless opts->workers > 1.  Writes cfg.pid_file if set.
 * Returns the process exit status. */
int server_run(struct app *app, const struct server_opts *opts);

#endif
