/* server: accept loop, body reading, response writing, prefork master. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
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
 * smuggling and stalls").  libfcgi has no timeouts.  A SIGALRM handler
 * shuts the connection down both ways when its time is up: the read or
 * write libfcgi is blocked in is restarted (SA_RESTART) and ends at once,
 * and so does every later one, however the peer trickles.  (SO_RCVTIMEO
 * would bound each read only, and Linux does not pass it from a Unix
 * listening socket to the connections it accepts.)
 *
 * The timer is not set and cancelled around each phase, which cost four
 * system calls per request: starting a phase stores its end, and only
 * arms the timer when none would fire by then; stopping one only clears
 * the end.  A timer that fires early (a phase ended, a later one began)
 * is armed again for what is left of the current phase, and one that
 * fires with no phase running does nothing; at most one such signal per
 * read_timeout reaches a busy worker, and what it interrupts is restarted
 * or retried (poll and epoll_pwait return EINTR: their callers loop). */
static volatile sig_atomic_t deadline_fd = -1;
static volatile sig_atomic_t deadline_passed;
static _Atomic long long deadline_at;   /* monotonic ms; 0: no phase */
static _Atomic long long timer_at;      /* when the armed timer fires; 0: not armed */

/* Arms the timer ms from now (at least 1 ms); now + ms is stored in
 * timer_at.  Async-signal-safe. */
static void
arm_timer(long long now, long long ms)
{
	struct itimerval it = { { 0, 0 }, { 0, 0 } };

	if (ms < 1)
		ms = 1;
	it.it_value.tv_sec = (time_t)(ms / 1000);
	it.it_value.tv_usec = (suseconds_t)(ms % 1000 * 1000);
	timer_at = now + ms;
	setitimer(ITIMER_REAL, &it, NULL);
}

static void
on_deadline(int sig)
{
	int saved = errno;
	long long at = deadline_at, now;

	(void)sig;
	timer_at = 0;
	if (at != 0) {
		now = monotonic_ms();
		if (now >= at) {
			deadline_passed = 1;
			if (deadline_fd >= 0)
				shutdown(deadline_fd, SHUT_RDWR);
		} else {
			arm_timer(now, at - now);
		}
	}
	errno = saved;
}

/* Gives connection fd seconds from now; deadline_passed says whether they
 * ran out. */
static void
deadline_start(int fd, long seconds)
{
	long long now = monotonic_ms(), at = now + seconds * 1000LL, armed;

	deadline_passed = 0;
	deadline_fd = fd;
	deadline_at = at;
	/* a timer that fires by then re-arms itself for the rest; a handler
	 * run between the load and the arming leaves at most a later timer,
	 * which the store below replaces */
	armed = timer_at;
	if (armed == 0 || armed > at)
		arm_timer(now, at - now);
}

static void
deadline_stop(void)
{
	deadline_at = 0;
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

/* Takes the next waiting connection from the (non-blocking) listen_fd.
 * Returns it; or -1 with *fatal 0 when there is none (another worker took
 * it, or it failed on its way), or -1 with *fatal 1 when accept fails for
 * good (logged).  Connections are accepted here, not by libfcgi, so that
 * the deadline starts with them; what libfcgi's accept did is done here
 * too (TCP_NODELAY, FCGI_WEB_SERVER_ADDRS). */
static int
accept_ready(int listen_fd, const char *web_servers, int *fatal)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	int fd, one = 1;

	*fatal = 0;
	fd = accept(listen_fd, (struct sockaddr *)&sa, &len);
	if (fd < 0) {
		switch (errno) {
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
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
			/* no connection, or this one failed: not the socket */
			return -1;
		default:
			log_error("cannot accept a connection: %s", strerror(errno));
			*fatal = 1;
			return -1;
		}
	}
	if (sa.ss_family == AF_INET || sa.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (web_server_ok(&sa, web_servers))
		return fd;
	close(fd);
	return -1;
}

/* Serves the request whose parameters FCGX_Accept_r has read, within the
 * deadline that serve_connection started; returns with the deadline
 * started again, for the answer and FCGX_Finish_r. */
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
	/* Tokens are sent at once and wiped from libfcgi's buffer; any other
	 * answer goes out with the end of the request, in one write. */
	if (res.secret)
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

/* Serves the next request of a connection that has bytes (or its peer's
 * close) waiting, the whole request within read_timeout.  last: end the
 * connection after the answer.  Returns 1 if a request was answered (the
 * connection is kept, fr->ipcFd >= 0, if the web server asked for that
 * and the request was read to its end), 0 if libfcgi closed the
 * connection without one (the peer closed it, broke the protocol, or ran
 * out of time). */
static int
serve_connection(struct app *app, FCGX_Request *fr, int last)
{
	long timeout = app->cfg.read_timeout;
	int plain;

	deadline_start(fr->ipcFd, timeout);
	if (FCGX_Accept_r(fr) < 0) {
		/* libfcgi has closed the connection */
		deadline_stop();
		if (deadline_passed)
			log_warn("connection dropped: no complete request within "
			    "read_timeout (%ld s)", timeout);
		return 0;
	}
	serve_one(app, fr);
	if (last)
		fr->keepConnection = 0;
	/* A connection that ends after a request read to its end holds no
	 * unread byte: it is closed at once.  libfcgi's close half-closes and
	 * then waits for the web server to close too (up to 2 s), which is
	 * needed only when bytes may be unread (a close with unread bytes
	 * resets the connection, and the answer with it). */
	plain = !fr->keepConnection && FCGX_HasSeenEOF(fr->in);
	if (plain)
		fr->keepConnection = 1;
	FCGX_Finish_r(fr);
	if (plain && fr->ipcFd >= 0) {
		close(fr->ipcFd);
		fr->ipcFd = -1;
	}
	deadline_stop();
	return 1;
}

/* The connections one worker holds at most (doc/operations.md §3.1). */
#define WORKER_CONNECTIONS 16

/* A connection a worker holds: the one being served, or a kept one, idle
 * between the web server's requests. */
struct held {
	FCGX_Request fr;
	long long since;        /* monotonic ms of its accept or last answer */
	int watched;            /* in the worker's epoll set: it was kept after
	                           its first request */
};

/* What one worker process serves from: its connections, the listening
 * socket and the epoll instance that watches them. */
struct worker {
	struct app *app;
	int listen_fd;
	const char *web_servers;  /* FCGI_WEB_SERVER_ADDRS, borrowed */
	int ep;
	struct held conns[WORKER_CONNECTIONS];
	size_t n;
	long served;
};

/* Lets go of held connection i, closing it if it is still open.  It is
 * between requests (every answer has been sent whole), so it is closed at
 * once: libfcgi's close would wait up to 2 s for the peer to close too. */
static void
drop_held(struct worker *w, size_t i)
{
	FCGX_Request *fr = &w->conns[i].fr;

	/* closing the descriptor takes it out of the epoll set */
	if (fr->ipcFd >= 0) {
		close(fr->ipcFd);
		fr->ipcFd = -1;
	}
	FCGX_Free(fr, 0);
	w->conns[i] = w->conns[--w->n];
}

/* Serves held connection i, which has bytes waiting; drops it if it ends.
 * Returns 1 when the worker has served max_requests. */
static int
serve_held(struct worker *w, size_t i)
{
	long max = w->app->cfg.max_requests;
	int last = max > 0 && w->served + 1 >= max;

	if (serve_connection(w->app, &w->conns[i].fr, last || stop_requested) &&
	    ++w->served >= max && max > 0) {
		log_info("served %ld requests; leaving for a fresh worker", w->served);
		last = 1;
	} else {
		last = 0;
	}
	w->conns[i].since = monotonic_ms();
	if (w->conns[i].fr.ipcFd >= 0 && !w->conns[i].watched) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = w->conns[i].fr.ipcFd };
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, ev.data.fd, &ev) == 0) {
			w->conns[i].watched = 1;
		} else {
			log_error("cannot take a connection: %s", strerror(errno));
			close(w->conns[i].fr.ipcFd);
			w->conns[i].fr.ipcFd = -1;
		}
	}
	if (w->conns[i].fr.ipcFd < 0)
		drop_held(w, i);
	return last;
}

/* Holds a new connection from the listening socket, if one is waiting.
 * Returns its index, -1 if there was none, -2 if accept failed for good. */
static long
hold_new(struct worker *w)
{
	struct held *h = &w->conns[w->n];
	int fd, fatal;

	fd = accept_ready(w->listen_fd, w->web_servers, &fatal);
	if (fd < 0)
		return fatal ? -2 : -1;
	if (FCGX_InitRequest(&h->fr, -1, 0) != 0) {
		log_error("cannot take a connection: %s", strerror(errno));
		close(fd);
		return -1;
	}
	h->watched = 0;
	h->fr.ipcFd = fd;
	/* FCGX_Accept_r first ends the previous request, and must not close
	 * this connection doing so */
	h->fr.keepConnection = 1;
	h->since = monotonic_ms();
	return (long)w->n++;
}

/* Closes the held connections that have been idle for read_timeout (the
 * web server's next request may come on another one) and returns the
 * milliseconds until the next would be, or -1 when none is held. */
static int
close_idle(struct worker *w)
{
	long long now = monotonic_ms(), limit = w->app->cfg.read_timeout * 1000LL, wait = -1;

	for (size_t i = 0; i < w->n; i++) {
		long long left = w->conns[i].since + limit - now;
		if (left <= 0) {
			log_debug("kept connection closed: no request within read_timeout (%ld s)",
			    w->app->cfg.read_timeout);
			drop_held(w, i--);
		} else if (wait < 0 || left < wait) {
			wait = left;
		}
	}
	return (int)wait;
}

/* Makes room for a new connection when the worker holds
 * WORKER_CONNECTIONS: closes the one idle longest that has no request
 * waiting.  Returns -1 if every one has a request waiting. */
static int
make_room(struct worker *w)
{
	long oldest = -1;

	for (size_t i = 0; i < w->n; i++) {
		struct pollfd p = { .fd = w->conns[i].fr.ipcFd, .events = POLLIN };
		if (poll(&p, 1, 0) == 0 &&
		    (oldest < 0 || w->conns[i].since < w->conns[oldest].since))
			oldest = (long)i;
	}
	if (oldest < 0)
		return -1;
	log_info("kept connection closed to take a new one (%d held)", WORKER_CONNECTIONS);
	drop_held(w, (size_t)oldest);
	return 0;
}

/* The request loop of one worker process: serves until told to stop or,
 * with max_requests > 0, until it has served that many.
 *
 * A worker holds up to WORKER_CONNECTIONS connections: a web server that
 * keeps its FastCGI connections (nginx fastcgi_keep_conn, Apache
 * mod_proxy_fcgi enablereuse) sends its next request on one it holds.
 * The worker waits for those and for new connections at once (epoll) and
 * serves one request at a time; a connection idle for read_timeout is
 * closed, and so is the one idle longest when a new one comes and all are
 * held.  The listening socket is watched with EPOLLEXCLUSIVE, so that a
 * new connection wakes one waiting worker rather than all of them, and is
 * non-blocking, so that a worker that wakes in vain goes back to waiting
 * instead of blocking in accept while its kept connections wait. */
static int
worker_loop(struct app *app, int listen_fd)
{
	struct worker w = { .app = app, .listen_fd = listen_fd,
	    .web_servers = getenv("FCGI_WEB_SERVER_ADDRS") };
	struct epoll_event ready[WORKER_CONNECTIONS + 1];
	struct sigaction sa;
	sigset_t stops, waiting;
	int rc = 0, fl, leave = 0;

	install_stop_handler(on_stop);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* SIGUSR1, libfcgi's graceful exit, ended its accept; ours must see it */
	sa.sa_handler = on_stop;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_deadline;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_flags = 0;
	/* The stop signals are taken only while the worker waits (epoll_pwait
	 * unblocks them): one that came while it served is seen there, and
	 * none can slip in between the check of stop_requested and the wait. */
	sigemptyset(&stops);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGUSR1);
	sigprocmask(SIG_BLOCK, &stops, &waiting);
	fl = fcntl(listen_fd, F_GETFL);
	w.ep = epoll_create1(EPOLL_CLOEXEC);
	if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) < 0 || w.ep < 0 ||
	    epoll_ctl(w.ep, EPOLL_CTL_ADD, listen_fd,
	        &(struct epoll_event){ .events = EPOLLIN | EPOLLEXCLUSIVE,
	            .data.fd = listen_fd }) < 0) {
		log_error("cannot wait for connections: %s", strerror(errno));
		if (w.ep >= 0)
			close(w.ep);
		sigprocmask(SIG_SETMASK, &waiting, NULL);
		return 1;
	}
	while (!stop_requested && !leave) {
		int wait_ms = close_idle(&w), nready;

		nready = epoll_pwait(w.ep, ready, WORKER_CONNECTIONS + 1, wait_ms, &waiting);
		if (nready < 0) {
			if (errno == EINTR)
				continue;
			log_error("cannot wait for connections: %s", strerror(errno));
			rc = 1;
			break;
		}
		for (int k = 0; k < nready && !leave && !stop_requested; k++) {
			long i;

			if (ready[k].data.fd == listen_fd) {
				/* a new connection: its first request is served now */
				if (w.n == WORKER_CONNECTIONS && make_room(&w) < 0)
					continue;
				i = hold_new(&w);
				if (i == -2) {
					rc = 1;
					leave = 1;
				}
				if (i < 0)
					continue;
			} else {
				for (i = 0; i < (long)w.n && w.conns[i].fr.ipcFd != ready[k].data.fd; i++)
					;
				if (i == (long)w.n)
					continue;   /* dropped meanwhile */
			}
			leave = serve_held(&w, (size_t)i);
		}
	}
	/* Requests that have arrived on held connections are served (and
	 * their connections closed) before the worker leaves; the web server
	 * sees every other connection close. */
	while (w.n > 0) {
		struct pollfd p = { .fd = w.conns[w.n - 1].fr.ipcFd, .events = POLLIN };
		if (rc == 0 && poll(&p, 1, 0) == 1 && !(p.revents & (POLLHUP | POLLERR)))
			serve_connection(app, &w.conns[w.n - 1].fr, 1);
		drop_held(&w, w.n - 1);
	}
	close(w.ep);
	sigprocmask(SIG_SETMASK, &waiting, NULL);
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
