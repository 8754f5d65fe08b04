/* server: the FastCGI request loop and the optional prefork pool. */
#ifndef AGENTAUTH_SERVER_H
#define AGENTAUTH_SERVER_H

#include "app.h"

/* Serves requests until SIGTERM/SIGINT.  With cfg.listen set it opens
 * that socket and runs cfg.workers worker processes (restarting any that
 * die); otherwise it serves the listening socket on fd 0 (web server,
 * spawn-fcgi, systemd), in this process when workers is 0 or 1.
 * Returns the process exit status. */
int server_run(struct app *app, long workers);

#endif
