/* db: lazy connection, liveness check, async query with poll deadline. */
#include "db.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "log.h"
#include "monotonic.h"

struct db {
	char *conninfo;
	long timeout_ms;
	PGconn *conn;
};

/* The first line of the connection's error message (libpq's are
 * multi-line), in a static buffer. */
static const char *
conn_error(const PGconn *conn)
{
	static char buf[256];
	const char *m = conn != NULL ? PQerrorMessage(conn) : "no connection";
	size_t n = strcspn(m, "\n");

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, m, n);
	buf[n] = '\0';
	return buf;
}

struct db *
db_new(const char *conninfo, long timeout_ms)
{
	struct db *db = calloc(1, sizeof(*db));

	if (db == NULL)
		return NULL;
	db->conninfo = strdup(conninfo);
	if (db->conninfo == NULL) {
		free(db);
		return NULL;
	}
	db->timeout_ms = timeout_ms;
	return db;
}

static void
db_drop(struct db *db)
{
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	db_drop(db);
	free(db->conninfo);
	free(db);
}

/* Waits until the connection's socket is readable (events POLLIN) or
 * writable (POLLOUT) or the deadline passes.  Returns 1, 0 on timeout,
 * -1 on error. */
static int
wait_socket(PGconn *conn, short events, long long deadline)
{
	struct pollfd pfd;
	int fd = PQsocket(conn), r;

	if (fd < 0)
		return -1;
	for (;;) {
		long long left = deadline - monotonic_ms();
		if (left <= 0)
			return 0;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		return r > 0 ? 1 : 0;
	}
}

static int
db_connect(struct db *db, long long deadline)
{
	const char *keys[3] = { "dbname", "fallback_application_name", NULL };
	const char *vals[3] = { db->conninfo, "agentauth", NULL };
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	db_drop(db);
	db->conn = PQconnectStartParams(keys, vals, 1);
	if (db->conn == NULL) {
		log_error("database: out of memory");
		return -1;
	}
	if (PQstatus(db->conn) == CONNECTION_BAD)
		goto fail;
	while (st != PGRES_POLLING_OK) {
		int r;
		if (st == PGRES_POLLING_FAILED)
			goto fail;
		r = wait_socket(db->conn, st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
		    deadline);
		if (r == 0) {
			log_error("database: connection not established within %ld ms",
			    db->timeout_ms);
			db_drop(db);
			return -1;
		}
		if (r < 0)
			goto fail;
		st = PQconnectPoll(db->conn);
	}
	if (PQsetnonblocking(db->conn, 1) != 0)
		goto fail;
	log_info("database: connected");
	return 0;
fail:
	log_error("database: cannot connect: %s", conn_error(db->conn));
	db_drop(db);
	return -1;
}

/* Nothing should arrive on an idle connection: if its socket is readable
 * the server has closed it or sent a FATAL message (restart, terminated
 * backend).  Such a connection is dropped before it is used. */
static void
db_check_idle(struct db *db)
{
	struct pollfd pfd = { .fd = PQsocket(db->conn), .events = POLLIN };

	if (pfd.fd < 0 || PQstatus(db->conn) == CONNECTION_BAD || poll(&pfd, 1, 0) != 0) {
		log_warn("database: idle connection was closed by the server; reconnecting");
		db_drop(db);
	}
}

enum db_status
db_query(struct db *db, const char *sql, int nparams, const char *const *params,
    struct pg_result **res_r)
{
	long long deadline = monotonic_ms() + db->timeout_ms;
	PGresult *res, *first = NULL;
	int sent = 0, r;

	*res_r = NULL;
	if (db->conn != NULL)
		db_check_idle(db);
	for (int attempt = 0; attempt < 2 && !sent; attempt++) {
		if (db->conn == NULL && db_connect(db, deadline) < 0)
			return DB_UNAVAILABLE;
		if (PQsendQueryParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0)) {
			sent = 1;
		} else if (PQstatus(db->conn) == CONNECTION_BAD && attempt == 0) {
			log_warn("database: connection lost before sending; reconnecting");
			db_drop(db);
		} else {
			log_error("database: cannot send: %s", conn_error(db->conn));
			db_drop(db);
			return DB_UNAVAILABLE;
		}
	}
	if (!sent)
		return DB_UNAVAILABLE;
	while ((r = PQflush(db->conn)) == 1) {
		if (wait_socket(db->conn, POLLOUT | POLLIN, deadline) <= 0)
			goto timeout;
		if (!PQconsumeInput(db->conn))
			goto lost;
	}
	if (r < 0)
		goto lost;
	for (;;) {
		while (PQisBusy(db->conn)) {
			r = wait_socket(db->conn, POLLIN, deadline);
			if (r == 0)
				goto timeout;
			if (r < 0 || !PQconsumeInput(db->conn))
				goto lost;
		}
		res = PQgetResult(db->conn);
		if (res == NULL)
			break;
		if (first == NULL)
			first = res;
		else
			PQclear(res);
	}
	if (first == NULL)
		goto lost;
	/* an error that ended the connection too (a terminated backend): the
	 * answer is handed out, the connection is not kept */
	if (PQresultStatus(first) != PGRES_TUPLES_OK &&
	    PQresultStatus(first) != PGRES_COMMAND_OK && PQstatus(db->conn) == CONNECTION_BAD)
		db_drop(db);
	*res_r = first;
	return DB_OK;
timeout:
	log_error("database: no answer within %ld ms; dropping the connection",
	    db->timeout_ms);
	PQclear(first);
	db_drop(db);
	return DB_UNAVAILABLE;
lost:
	log_error("database: connection lost: %s", conn_error(db->conn));
	PQclear(first);
	db_drop(db);
	return DB_UNAVAILABLE;
}
