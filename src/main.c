/* agentauth: command line, configuration, then the server. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "server.h"

extern char **environ;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: agentauth [--config FILE] [--listen unix:PATH|HOST:PORT] [--workers N]\n"
	    "                 [--max-requests N] [--pid-file PATH]\n"
	    "       agentauth [--config FILE] --check-config\n"
	    "Serves the agent-assist authentication API over FastCGI.  Without --listen\n"
	    "it serves the listening socket on fd 0.  See agentauth(8).\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "check-config", no_argument, NULL, 't' },
		{ "max-requests", required_argument, NULL, 'm' },
		{ "pid-file", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct server_opts opts = { 0 };
	const char *path = NULL;
	long workers = 0;
	int check = 0, c, rc;
	struct config cfg;
	struct app app;
	char err[512];

	/* a SIGHUP before the pool can reload (keys loading, dummy hash) must
	 * not end the process */
	signal(SIGHUP, SIG_IGN);
	while ((c = getopt_long(argc, argv, "c:l:w:tm:p:hV", longopts, NULL)) != -1) {
		if (opts.noverrides == SERVER_OVERRIDES_MAX) {
			usage(stderr);
			return 2;
		}
		switch (c) {
		case 'c': path = optarg; break;
		case 'l':
			opts.override_key[opts.noverrides] = "listen";
			opts.override_value[opts.noverrides++] = optarg;
			break;
		case 'm':
			opts.override_key[opts.noverrides] = "max_requests";
			opts.override_value[opts.noverrides++] = optarg;
			break;
		case 'p':
			opts.override_key[opts.noverrides] = "pid_file";
			opts.override_value[opts.noverrides++] = optarg;
			break;
		case 'w': {
			char *end;
			workers = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || workers < 1 || workers > 256) {
				fprintf(stderr, "agentauth: --workers must be from 1 to 256\n");
				return 2;
			}
			break;
		}
		case 't': check = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': puts("agentauth " PACKAGE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (config_load(&cfg, path, environ, err, sizeof(err)) < 0) {
		fprintf(stderr, "agentauth: %s\n", err);
		return 1;
	}
	if (server_apply_overrides(&opts, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "agentauth: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	if (app_init(&app, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "agentauth: %s\n", err);
		return 1;
	}
	if (check) {
		printf("agentauth: configuration OK (key id %s)\n", app.keys[0].kid);
		app_free(&app);
		return 0;
	}
	opts.config_path = path;
	opts.workers = workers;
	rc = server_run(&app, &opts);
	app_free(&app);
	return rc;
}
