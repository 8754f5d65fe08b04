/* agentauth: command line, configuration, then the server. */
#include <getopt.h>
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
	    "       agentauth [--config FILE] --check-config\n"
	    "Serves the agent-assist authentication API over FastCGI.  Without --listen\n"
	    "it serves the listening socket on fd 0.  See agentauth(8).\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "check-config", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *listen = NULL;
	long workers = 0;
	int check = 0, c, rc;
	struct config cfg;
	struct app app;
	char err[512];

	while ((c = getopt_long(argc, argv, "c:l:w:thV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'l': listen = optarg; break;
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
	if (listen != NULL && config_set(&cfg, "listen", listen, err, sizeof(err)) < 0) {
		fprintf(stderr, "agentauth: --listen: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	if (app_init(&app, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "agentauth: %s\n", err);
		return 1;
	}
	if (check) {
		printf("agentauth: configuration OK (key id %s)\n", app.key.kid);
		app_free(&app);
		return 0;
	}
	rc = server_run(&app, workers);
	app_free(&app);
	return rc;
}
