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

/* Secrets in libfcgi's buffers (doc/security.md "Secrets in memory and
 * out-of-memory").  libfcgi frees its buffers without wiping them; these
 * wipe what its public stream fields reach.  The stream is libfcgi's
 * FCGX_Stream, borrowed. */
struct FCGX_Stream;

/* Copies up to cap bytes of the request body from in into buf, wiping each
 * byte in libfcgi's buffer once copied.  Returns the number of bytes. */
size_t server_read_stdin(struct FCGX_Stream *in, char *buf, size_t cap);

/* Sends what out holds (FCGX_FFlush) and wipes the free space of its
 * buffer, where the bytes just sent remain.  Returns 0, or -1 if the
 * stream failed (then nothing is wiped). */
int server_flush_wiped(struct FCGX_Stream *out);

/* Wipes every string of a request's parameter array (header values carry
 * bearer tokens, the path may carry a refresh token), which libfcgi frees
 * in FCGX_Finish_r without wiping.  Call it when nothing borrows them. */
void server_wipe_params(char **envp);

/* Serves requests until SIGTERM/SIGINT.  With cfg.listen set it opens
 * that socket and runs a prefork pool of cfg.workers (or opts->workers)
 * processes: crashed workers are restarted with back-off, SIGHUP reloads
 * the configuration and keys by replacing the workers.  Otherwise it
 * serves the listening socket on fd 0 (web server, spawn-fcgi, systemd),
 * in this process unless opts->workers > 1.  Writes cfg.pid_file if set.
 * Returns the process exit status. */
int server_run(struct app *app, const struct server_opts *opts);

#endif
