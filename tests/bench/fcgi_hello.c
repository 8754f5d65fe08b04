/* fcgi_hello: the bare libfcgi responder of tests/bench/api.sh, the ceiling
 * of "nginx + FastCGI" on this machine.  Usage: fcgi_hello THREADS SOCKET.
 * THREADS threads share the Unix socket SOCKET and answer every request with
 * the same 200-byte JSON document; a connection nginx keeps open
 * (fastcgi_keep_conn) stays with its thread until nginx closes it, so
 * THREADS must cover every connection nginx may hold.  Build:
 * cc -O2 -o fcgi_hello fcgi_hello.c -lfcgi -lpthread.  Not part of agentauth.
 * (FCGX_FPrintF has its own printf: no %zu.) */
#include <fcgiapp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define BODY "{\"status\":\"ok\",\"service\":\"fcgi_hello\",\"note\":\"a fixed answer of " \
	"200 bytes from a bare libfcgi responder: no database, no JSON library, no " \
	"signature; the ceiling of nginx and FastCGI on this machine.\"}"

static int sock;

static void *
serve(void *unused)
{
	FCGX_Request req;

	(void)unused;
	if (FCGX_InitRequest(&req, sock, 0) != 0)
		return NULL;
	while (FCGX_Accept_r(&req) >= 0)
		FCGX_FPrintF(req.out, "Status: 200 OK\r\nContent-Type: application/json\r\n"
		    "Content-Length: %d\r\n\r\n%s", (int)sizeof(BODY) - 1, BODY);
	return NULL;
}

int
main(int argc, char **argv)
{
	int i, n = argc == 3 ? atoi(argv[1]) : 0;
	pthread_t t;

	if (n < 1 || n > 1024 || FCGX_Init() != 0 || (sock = FCGX_OpenSocket(argv[2], 1024)) < 0) {
		fprintf(stderr, "usage: fcgi_hello THREADS(1-1024) SOCKET_PATH\n");
		return 2;
	}
	for (i = 1; i < n; i++)
		if (pthread_create(&t, NULL, serve, NULL) != 0)
			return 1;
	serve(NULL);
	return 1;
}
