/* server: accept loop, body reading, response writing, prefork master. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "errors.h"
#include "http.h"
#include "log.h"
#include "monotonic.h"
#include "router.h"

static volatile sig_atomic_t stop_requested;

static void
on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
	FCGX_ShutdownPending();
}

/* Installs handler for SIGTERM and SIGINT without SA_RESTART, so that a
 * blocked accept() or waitpid() returns EINTR. */
static void
install_stop_handler(void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* no reload yet: a stray SIGHUP must not kill the pool */
	signal(SIGHUP, SIG_IGN);
}

size_t
server_read_stdin(struct FCGX_Stream *in, char *buf, size_t cap)
{
	size_t n = 0, avail;
	int c;

	while (n < cap) {
		/* [rdNext, stop) is the unread part of libfcgi's buffer */
		avail = (size_t)(in->stop - in->rdNext);
		if (avail == 0) {
			/* refills the buffer from the socket, or ends */
			c = FCGX_GetChar(in);
			if (c == EOF)
				break;
			in->rdNext[-1] = 0;
			buf[n++] = (char)c;
			continue;
		}
		if (avail > cap - n)
			avail = cap - n;
		memcpy(buf + n, in->rdNext, avail);
		explicit_bzero(in->rdNext, avail);
		in->rdNext += avail;
		n += avail;
	}
	return n;
}

int
server_flush_wiped(struct FCGX_Stream *out)
{
	if (FCGX_FFlush(out) != 0 || FCGX_GetError(out) != 0)
		return -1;
	/* [wrNext, stop) is free space: after the flush the whole buffer but
	 * its record header, so the bytes just sent */
	explicit_bzero(out->wrNext, (size_t)(out->stop - out->wrNext));
	return 0;
}

void
server_wipe_params(char **envp)
{
	for (; envp != NULL && *envp != NULL; envp++)
		explicit_bzero(*envp, strlen(*envp));
}

/* Reads the request body, at most max + 1 bytes, into req. */
static void
read_body(FCGX_Request *fr, struct request *req, size_t max)
{
	size_t cap = max + 1, n;
	char *buf;

	req->body_status = 0;
	/* A declared length over the limit is refused without reading. */
	if (http_body_status(req->content_length, 0, max) == 413) {
		req->body_status = 413;
		return;
	}
	buf = malloc(cap + 1);
	if (buf == NULL) {
		req->body_status = 503;
		return;
	}
	n = server_read_stdin(fr->in, buf, cap);
	buf[n] = '\0';
	req->body = buf;
	req->body_len = n;
	req->body_status = http_body_status(req->content_length, n, max);
}

static void
write_response(FCGX_Request *fr, const struct response *res)
{
	char head[RESPONSE_HEADERS_MAX + 256], body[128];
	int n = response_head(res, head, sizeof(head)), blen;

	if (n < 0 || (res->status == 500 && res->body_len == 0)) {
		/* no memory for a body, or headers too long: a fixed answer,
		 * made without allocating (the document of jsonapi_error_body) */
		const struct error_entry *e = errors_get(ERR_INTERNAL);
		blen = snprintf(body, sizeof(body),
		    "{\"errors\":[{\"status\":%d,\"detail\":\"%s\"}]}", e->status, e->detail);
		n = snprintf(head, sizeof(head), "Status: %d %s\r\n"
		    "Content-Type: " MEDIA_JSONAPI "\r\nContent-Length: %d\r\n"
		    "X-Content-Type-Options: nosniff\r\n\r\n", e->status,
		    http_status_text(e->status), blen);
		FCGX_PutStr(head, n, fr->out);
		FCGX_PutStr(body, blen, fr->out);
		return;
	}
	FCGX_PutStr(head, n, fr->out);
	if (res->body_len > 0)
		FCGX_PutStr(res->body, (int)res->body_len, fr->out);
}

/* The read deadline (read_timeout; doc/security.md "FastCGI connections:
 * smuggling and stalls").  libfcgi has no timeouts.  alarm() raises
 * SIGALRM when a connection's time is up, and the handler shuts the
 * connection down both ways: the read or write libfcgi is blocked in
 * returns (EINTR, the handler has no SA_RESTART), and every later one ends
 * at once, however the peer trickles.  (SO_RCVTIMEO would bound each read
 * only, and Linux does not pass it from a Unix listening socket to the
 * connections it accepts.) */
static volatile sig_atomic_t deadline_fd = -1;
static volatile sig_atomic_t deadline_passed;

static void
on_deadline(int sig)
{
	int saved = errno;

	(void)sig;
	deadline_passed = 1;
	if (deadline_fd >= 0)
		shutdown(deadline_fd, SHUT_RDWR);
	errno = saved;
}

/* Gives connection fd seconds from now; deadline_passed says whether they
 * ran out. */
static void
deadline_start(int fd, long seconds)
{
	alarm(0);
	deadline_passed = 0;
	deadline_fd = fd;
	alarm((unsigned)seconds);
}

static void
deadline_stop(void)
{
	alarm(0);
	deadline_fd = -1;
}

/* FCGI_WEB_SERVER_ADDRS, as libfcgi reads it: the IPv4 addresses,
 * separated by commas, that may connect over TCP; unset or empty: any
 * peer.  1 if the peer sa may connect. */
static int
web_server_ok(const struct sockaddr_storage *sa, const char *list)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	char item[INET_ADDRSTRLEN];
	struct in_addr a;
	size_t n;

	if (sa->ss_family != AF_INET || list == NULL || list[0] == '\0')
		return 1;
	for (const char *p = list; *p != '\0'; p += n + (p[n] == ',')) {
		n = strcspn(p, ",");
		if (n >= sizeof(item))
			continue;
		memcpy(item, p, n);
		item[n] = '\0';
		if (inet_pton(AF_INET, item, &a) == 1 && a.s_addr == sin->sin_addr.s_addr)
			return 1;
	}
	return 0;
}

/* Waits for the next connection on listen_fd and returns it, or -1 when
 * the worker is to stop or accept fails for good (logged).  Connections
 * are accepted here, not by libfcgi, so that the deadline starts with
 * them; what libfcgi's accept did is done here too (TCP_NODELAY,
 * FCGI_WEB_SERVER_ADDRS). */
static int
accept_connection(int listen_fd, const char *web_servers)
{
	struct sockaddr_storage sa;
	struct pollfd p;
	socklen_t len;
	int fd, one = 1;

	while (!stop_requested) {
		len = sizeof(sa);
		fd = accept(listen_fd, (struct sockaddr *)&sa, &len);
		if (fd < 0) {
			switch (errno) {
			case EAGAIN:
				/* a non-blocking listening socket, as passed to us */
				p.fd = listen_fd;
				p.events = POLLIN;
				poll(&p, 1, -1);
				continue;
			case EINTR:
			case ECONNABORTED:
			case ECONNRESET:
			case EPROTO:
			case EPERM:
			case ETIMEDOUT:
			case ENETDOWN:
			case ENETUNREACH:
			case EHOSTDOWN:
			case EHOSTUNREACH:
			case ENONET:
			case ENOPROTOOPT:
			case EOPNOTSUPP:
				/* this connection failed, not the socket */
				continue;
			default:
				log_error("cannot accept a connection: %s", strerror(errno));
				return -1;
			}
		}
		if (sa.ss_family == AF_INET || sa.ss_family == AF_INET6)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (web_server_ok(&sa, web_servers))
			return fd;
		close(fd);
	}
	return -1;
}

/* Waits at most seconds for the next request to begin on a kept
 * connection.  1 when bytes (or the peer's close) arrived, else 0. */
static int
wait_request(int fd, long seconds)
{
	struct pollfd p;
	int r;

	p.fd = fd;
	p.events = POLLIN;
	do
		r = poll(&p, 1, (int)(seconds * 1000));
	while (r < 0 && errno == EINTR && !stop_requested);
	return r > 0;
}

/* Closes fr's connection, if any, through libfcgi (which half-closes it
 * and reads until the peer closes too), within the deadline. */
static void
close_connection(FCGX_Request *fr, long seconds)
{
	if (fr->ipcFd >= 0)
		deadline_start(fr->ipcFd, seconds);
	FCGX_Free(fr, 1);
	deadline_stop();
}

/* Serves the request whose parameters FCGX_Accept_r has read, within the
 * deadline that worker_loop started; returns with the deadline started
 * again, for the answer and FCGX_Finish_r. */
static void
serve_one(struct app *app, FCGX_Request *fr)
{
	struct request req;
	struct response res;
	int err;

	request_init(&req, fr->envp);
	read_body(fr, &req, (size_t)app->cfg.max_body_bytes);
	deadline_stop();
	err = FCGX_GetError(fr->in);
	if (deadline_passed || err != 0) {
		/* the peer stalled, left or broke the protocol in the body: no
		 * answer, and the connection ends */
		if (deadline_passed)
			log_warn("connection dropped: no complete request within "
			    "read_timeout (%ld s)", app->cfg.read_timeout);
		else
			log_info("connection dropped: the request body did not arrive (%s)",
			    err > 0 ? strerror(err) : "connection closed, or not FastCGI");
		fr->keepConnection = 0;
		request_free(&req);
		server_wipe_params(fr->envp);
		deadline_start(fr->ipcFd, app->cfg.read_timeout);
		return;
	}
	response_init(&res);
	router_dispatch(app, &req, &res);
	deadline_start(fr->ipcFd, app->cfg.read_timeout);
	write_response(fr, &res);
	server_flush_wiped(fr->out);
	response_free(&res);
	request_free(&req);
	server_wipe_params(fr->envp);
	/* A body not read to its end (refused unread, or longer than
	 * max_body_bytes): on a kept connection libfcgi would parse the rest
	 * of it as the next request, so this request ends the connection. */
	if (!FCGX_HasSeenEOF(fr->in))
		fr->keepConnection = 0;
}

/* The request loop of one worker process: serves until told to stop or,
 * with max_requests > 0, until it has served that many. */
static int
worker_loop(struct app *app, int listen_fd)
{
	const char *web_servers = getenv("FCGI_WEB_SERVER_ADDRS");
	long served = 0, timeout = app->cfg.read_timeout;
	struct sigaction sa;
	FCGX_Request fr;
	int rc = 0;

	install_stop_handler(on_stop);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* SIGUSR1, libfcgi's graceful exit, ended its accept; ours must see it */
	sa.sa_handler = on_stop;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_deadline;
	sigaction(SIGALRM, &sa, NULL);
	/* No listening socket for libfcgi (-1): it never accepts, not even
	 * after a connection failed inside FCGX_Accept_r, where it would take
	 * the next one without a deadline; it then returns < 0. */
	if (FCGX_InitRequest(&fr, -1, 0) != 0) {
		log_error("cannot initialise the FastCGI request");
		return 1;
	}
	while (!stop_requested) {
		if (fr.ipcFd < 0) {
			fr.ipcFd = accept_connection(listen_fd, web_servers);
			if (fr.ipcFd < 0) {
				rc = stop_requested ? 0 : 1;
				break;
			}
			/* FCGX_Accept_r first ends the previous request, and must
			 * not close this connection doing so */
			fr.keepConnection = 1;
		} else if (!wait_request(fr.ipcFd, timeout)) {
			/* an idle kept connection: the web server's next request
			 * may come on another one, which this worker must accept */
			if (!stop_requested)
				log_debug("kept connection closed: no request within "
				    "read_timeout (%ld s)", timeout);
			close_connection(&fr, timeout);
			continue;
		}
		deadline_start(fr.ipcFd, timeout);
		if (FCGX_Accept_r(&fr) < 0) {
			/* libfcgi has closed the connection: the peer closed it,
			 * broke the protocol, or ran out of time */
			deadline_stop();
			if (deadline_passed)
				log_warn("connection dropped: no complete request within "
				    "read_timeout (%ld s)", timeout);
			continue;
		}
		serve_one(app, &fr);
		FCGX_Finish_r(&fr);
		deadline_stop();
		if (app->cfg.max_requests > 0 && ++served >= app->cfg.max_requests) {
			log_info("served %ld requests; leaving for a fresh worker", served);
			break;
		}
	}
	close_connection(&fr, timeout);
	return rc;
}

/* Opens cfg.listen: "unix:PATH" or "HOST:PORT". */
static int
open_listener(const char *listen)
{
	const char *addr = listen;
	int fd;

	if (strncmp(listen, "unix:", 5) == 0) {
		struct stat st;
		addr = listen + 5;
		/* a socket file left by an earlier run would make bind fail */
		if (stat(addr, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(addr);
	}
	fd = FCGX_OpenSocket(addr, 128);
	if (fd < 0) {
		log_error("cannot listen on %s", listen);
		return -1;
	}
	if (addr != listen && chmod(addr, 0660) < 0)
		log_warn("cannot set the mode of %s", addr);
	return fd;
}

static volatile sig_atomic_t reload_requested;

static void
on_reload(int sig)
{
	(void)sig;
	reload_requested = 1;
}

static pid_t
spawn_worker(struct app *app, int listen_fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		int rc = worker_loop(app, listen_fd);
		app_free(app);
		exit(rc);  /* not _exit: sanitizer leak checks run at exit */
	}
	if (pid < 0)
		log_error("cannot fork a worker: %s", strerror(errno));
	return pid;
}

/* One worker slot of the pool. */
struct slot {
	pid_t pid;
	long long started;   /* monotonic milliseconds */
	unsigned backoff;    /* seconds to wait before the next start */
};

/* SIGHUP: loads the configuration and keys again and replaces the workers
 * one by one (a new worker starts, then the old one is told to finish its
 * request and leave), so no request fails.  A configuration that does not
 * load leaves everything as it was. */
static void
reload(struct app *app, const struct server_opts *opts, int listen_fd, struct slot *slots,
    long n)
{
	extern char **environ;
	struct config cfg;
	struct app fresh;
	char err[512];

	if (config_load(&cfg, opts->config_path, environ, err, sizeof(err)) < 0) {
		log_error("reload: %s; keeping the running configuration", err);
		return;
	}
	if (server_apply_overrides(opts, &cfg, err, sizeof(err)) < 0) {
		log_error("reload: %s", err);
		config_free(&cfg);
		return;
	}
	if (strcmp(cfg.listen, app->cfg.listen) != 0)
		log_warn("reload: a new listen address needs a restart; keeping %s",
		    app->cfg.listen);
	if (app_init(&fresh, &cfg, err, sizeof(err)) < 0) {
		log_error("reload: %s; keeping the running configuration", err);
		return;
	}
	free(fresh.cfg.listen);
	fresh.cfg.listen = strdup(app->cfg.listen);
	if (fresh.cfg.listen == NULL) {
		log_error("reload: out of memory");
		app_free(&fresh);
		return;
	}
	app_free(app);
	*app = fresh;   /* struct app holds no pointer into itself */
	log_info("reload: configuration loaded (key id %s); replacing workers", app->keys[0].kid);
	for (long i = 0; i < n; i++) {
		pid_t old = slots[i].pid;
		slots[i].pid = spawn_worker(app, listen_fd);
		slots[i].started = monotonic_ms();
		slots[i].backoff = 0;
		if (old > 0)
			kill(old, SIGTERM);
	}
}

/* Prefork master: keeps n workers alive until told to stop, then forwards
 * SIGTERM and waits for them to finish their requests. */
static int
master_loop(struct app *app, const struct server_opts *opts, int listen_fd, long n)
{
	struct slot *slots = calloc((size_t)n, sizeof(*slots));
	struct sigaction sa;

	if (slots == NULL)
		return 1;
	install_stop_handler(on_stop);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_reload;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	for (long i = 0; i < n; i++) {
		slots[i].pid = spawn_worker(app, listen_fd);
		slots[i].started = monotonic_ms();
	}
	log_info("serving with %ld workers", n);
	while (!stop_requested) {
		int status;
		pid_t pid;
		long i;

		if (reload_requested) {
			reload_requested = 0;
			reload(app, opts, listen_fd, slots, n);
		}
		pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECHILD) {
				/* every fork failed: try again shortly */
				sleep(1);
				for (i = 0; i < n; i++)
					if (slots[i].pid <= 0)
						slots[i].pid = spawn_worker(app, listen_fd);
				continue;
			}
			break;
		}
		for (i = 0; i < n && slots[i].pid != pid; i++)
			;
		if (i == n)
			continue;   /* a worker replaced by a reload has left */
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			slots[i].backoff = 0;   /* recycled after max_requests */
		} else {
			if (WIFSIGNALED(status))
				log_error("worker %ld died of signal %d; starting another",
				    (long)pid, WTERMSIG(status));
			else
				log_error("worker %ld exited with %d; starting another",
				    (long)pid, WEXITSTATUS(status));
			/* a worker that dies right after starting would otherwise
			 * spin: wait 1, 2, 4 ... 30 s before the next start */
			if (monotonic_ms() - slots[i].started < 1000) {
				slots[i].backoff = slots[i].backoff == 0 ? 1 :
				    slots[i].backoff >= 16 ? 30 : slots[i].backoff * 2;
				sleep(slots[i].backoff);
			} else {
				slots[i].backoff = 0;
			}
		}
		if (stop_requested)
			break;
		slots[i].pid = spawn_worker(app, listen_fd);
		slots[i].started = monotonic_ms();
	}
	log_info("stopping: waiting for workers to finish their requests");
	for (long i = 0; i < n; i++)
		if (slots[i].pid > 0)
			kill(slots[i].pid, SIGTERM);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	free(slots);
	return 0;
}

int
server_apply_overrides(const struct server_opts *opts, struct config *cfg, char *err,
    size_t errlen)
{
	char why[256];

	for (int i = 0; i < opts->noverrides; i++) {
		if (config_set(cfg, opts->override_key[i], opts->override_value[i], why,
		    sizeof(why)) < 0) {
			snprintf(err, errlen, "command line: %s", why);
			return -1;
		}
	}
	return 0;
}

static int
write_pid_file(const char *path)
{
	char buf[32];
	FILE *f;

	if (path == NULL || path[0] == '\0')
		return 0;
	f = fopen(path, "w");
	if (f == NULL) {
		log_error("cannot write the pid file %s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	fputs(buf, f);
	return fclose(f) == 0 ? 0 : -1;
}

int
server_run(struct app *app, const struct server_opts *opts)
{
	int listen_fd = 0, rc;
	long workers = opts->workers;
	char *pid_file = NULL;

	if (FCGX_Init() != 0) {
		log_error("cannot initialise libfcgi");
		return 1;
	}
	if (app->cfg.listen[0] != '\0') {
		listen_fd = open_listener(app->cfg.listen);
		if (listen_fd < 0)
			return 1;
		if (workers <= 0)
			workers = app->cfg.workers;
	} else {
		/* systemd socket activation without StandardInput=socket */
		const char *lpid = getenv("LISTEN_PID"), *lfds = getenv("LISTEN_FDS");
		if (lpid != NULL && lfds != NULL && atol(lpid) == (long)getpid() &&
		    strcmp(lfds, "1") == 0) {
			dup2(3, 0);
			close(3);
			unsetenv("LISTEN_PID");
			unsetenv("LISTEN_FDS");
			unsetenv("LISTEN_FDNAMES");
		}
		if (FCGX_IsCGI()) {
			log_error("fd 0 is not a FastCGI listening socket: start agentauth "
			    "from a web server, spawn-fcgi or systemd, or use --listen");
			return 1;
		}
	}
	if (app->cfg.pid_file[0] != '\0') {
		pid_file = strdup(app->cfg.pid_file);
		if (pid_file == NULL || write_pid_file(pid_file) < 0) {
			free(pid_file);
			return 1;
		}
	}
	if (workers <= 1)
		rc = worker_loop(app, listen_fd);
	else
		rc = master_loop(app, opts, listen_fd, workers);
	if (pid_file != NULL) {
		unlink(pid_file);
		free(pid_file);
	}
	if (listen_fd > 0) {
		close(listen_fd);
		if (strncmp(app->cfg.listen, "unix:", 5) == 0)
			unlink(app->cfg.listen + 5);
	}
	return rc;
}
