/* db: lazy connection, liveness check, prepared statements, async query
 * with poll deadline. */
#include "db.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "encode.h"
#include "log.h"
#include "monotonic.h"

/* The statement texts a connection prepares, at most; a text beyond them
 * is sent with its text, as with prepare off.  store.c has a dozen. */
#define DB_STMT_MAX 32

/* A prepared statement's name: the prefix and 32 hex digits, the first 128
 * bits of the SHA-256 of its text. */
#define DB_STMT_PREFIX "agentauth_"
#define DB_STMT_HASH 16
#define DB_STMT_NAME_SIZE (sizeof(DB_STMT_PREFIX) + 2 * DB_STMT_HASH)

/* The server's answers about a statement name (both come before the
 * statement runs: the Bind of a name it lacks, the Parse of a name it has)
 * and the one it gives when a prepared statement's tables or functions
 * changed their columns ("cached plan must not change result type"). */
#define SQLSTATE_NO_STATEMENT "26000"
#define SQLSTATE_STATEMENT_EXISTS "42P05"
#define SQLSTATE_NOT_SUPPORTED "0A000"

/* A statement text and its name.  The name depends on the text alone, so
 * that a name means the same text on every connection: a pooler that lends
 * the server connection where another worker prepared it runs the same
 * statement, never another one.  prepared: the server has it, as far as
 * this connection knows. */
struct db_stmt {
	char *sql;
	char name[DB_STMT_NAME_SIZE];
	int prepared;
};

struct db {
	char *conninfo;
	long timeout_ms;
	int prepare;
	PGconn *conn;
	struct db_stmt stmts[DB_STMT_MAX];
	size_t nstmts;
};

/* How a statement goes out: with its text (Parse of the unnamed statement,
 * Bind, Execute); by its name (Bind, Execute); or prepared and executed in
 * one pipeline (Parse of the name, Bind, Execute), one round trip. */
enum db_send { DB_SEND_TEXT, DB_SEND_NAME, DB_SEND_PREPARE };

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
db_new(const char *conninfo, long timeout_ms, int prepare)
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
	db->prepare = prepare;
	return db;
}

/* Closes the connection.  The statements it prepared went with it: the
 * table keeps the texts and their names, none prepared. */
static void
db_drop(struct db *db)
{
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
	for (size_t i = 0; i < db->nstmts; i++)
		db->stmts[i].prepared = 0;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	db_drop(db);
	for (size_t i = 0; i < db->nstmts; i++)
		free(db->stmts[i].sql);
	free(db->conninfo);
	free(db);
}

/* The table's entry for sql, added if new.  NULL when the table is full
 * or memory runs out: the statement is then sent with its text. */
static struct db_stmt *
stmt_find(struct db *db, const char *sql)
{
	unsigned char hash[32];
	struct db_stmt *st;

	for (size_t i = 0; i < db->nstmts; i++)
		if (strcmp(db->stmts[i].sql, sql) == 0)
			return &db->stmts[i];
	if (db->nstmts == DB_STMT_MAX || sha256(hash, sql, strlen(sql)) < 0)
		return NULL;
	st = &db->stmts[db->nstmts];
	st->sql = strdup(sql);
	if (st->sql == NULL)
		return NULL;
	memcpy(st->name, DB_STMT_PREFIX, sizeof(DB_STMT_PREFIX) - 1);
	hex_encode(st->name + sizeof(DB_STMT_PREFIX) - 1, hash, DB_STMT_HASH);
	st->prepared = 0;
	db->nstmts++;
	return st;
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

/* Queues the statement in libpq's buffer (PQflush sends it).  Returns 1;
 * 0 when libpq refused its first message (nothing queued, so nothing can
 * have reached the server); -1 when it refused a later one. */
static int
queue_statement(PGconn *conn, enum db_send how, const struct db_stmt *st, const char *sql,
    int nparams, const char *const *params)
{
	switch (how) {
	case DB_SEND_NAME:
		return PQsendQueryPrepared(conn, st->name, nparams, params, NULL, NULL, 0) ? 1 : 0;
	case DB_SEND_PREPARE:
		if (!PQenterPipelineMode(conn) || !PQsendPrepare(conn, st->name, sql, 0, NULL))
			return 0;
		if (!PQsendQueryPrepared(conn, st->name, nparams, params, NULL, NULL, 0) ||
		    !PQpipelineSync(conn))
			return -1;
		return 1;
	case DB_SEND_TEXT:
		break;
	}
	return PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0) ? 1 : 0;
}

/* Waits for the next result, reading what arrives.  Returns 1 with
 * *res_r (NULL: the end of a statement's results), 0 when the deadline
 * passes, -1 when the connection fails. */
static int
next_result(PGconn *conn, long long deadline, PGresult **res_r)
{
	int r;

	*res_r = NULL;
	while (PQisBusy(conn)) {
		r = wait_socket(conn, POLLIN, deadline);
		if (r <= 0)
			return r;
		if (!PQconsumeInput(conn))
			return -1;
	}
	*res_r = PQgetResult(conn);
	return 1;
}

static int
is_error(const PGresult *res)
{
	return PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK;
}

static int
has_sqlstate(const PGresult *res, const char *state)
{
	const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return s != NULL && strcmp(s, state) == 0;
}

/* Reads the answer of a DB_SEND_PREPARE pipeline: the Parse's result, the
 * execution's, and the Sync that ends it.  *res_r is the execution's
 * result if the Parse succeeded, else the Parse's error (the execution did
 * not happen); st->prepared follows the Parse.  Returns 1, 0 on timeout,
 * -1 when the connection failed; after a failure *res_r may still hold an
 * error the server sent before it ended the connection. */
static int
read_pipeline(PGconn *conn, struct db_stmt *st, long long deadline, PGresult **res_r)
{
	PGresult *got[2] = { NULL, NULL }, *res;
	size_t n = 0;
	int r, ends = 0;

	*res_r = NULL;
	/* a whole answer is five calls: Parse, NULL, Execute, NULL, Sync */
	for (int calls = 0;; calls++) {
		r = next_result(conn, deadline, &res);
		if (r <= 0)
			break;
		if (calls == 8) {
			PQclear(res);
			r = -1;
			break;
		}
		if (res == NULL) {
			/* one NULL ends each statement's results; two in a row,
			 * or one on a failed connection, mean the Sync is not
			 * coming */
			if (++ends > 1 || PQstatus(conn) == CONNECTION_BAD) {
				r = -1;
				break;
			}
			continue;
		}
		ends = 0;
		if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			if (n < 2 || !PQexitPipelineMode(conn))
				r = -1;
			break;
		}
		if (n < 2)
			got[n++] = res;
		else
			PQclear(res);
	}
	if (got[0] != NULL && !is_error(got[0])) {
		st->prepared = 1;
		*res_r = got[1];
		PQclear(got[0]);
	} else {
		if (got[0] != NULL && has_sqlstate(got[0], SQLSTATE_STATEMENT_EXISTS))
			st->prepared = 1;
		*res_r = got[0];
		PQclear(got[1]);
	}
	if (r > 0 && *res_r == NULL)
		r = -1;
	return r;
}

/* Reads the answer of a statement sent with its text or by its name: the
 * first result, the others (there are none) cleared.  Returns 1, 0 on
 * timeout, -1 when the connection failed (*res_r NULL). */
static int
read_single(PGconn *conn, long long deadline, PGresult **res_r)
{
	PGresult *res;
	int r;

	*res_r = NULL;
	for (;;) {
		r = next_result(conn, deadline, &res);
		if (r <= 0) {
			PQclear(*res_r);
			*res_r = NULL;
			return r;
		}
		if (res == NULL)
			return *res_r != NULL ? 1 : -1;
		if (*res_r == NULL)
			*res_r = res;
		else
			PQclear(res);
	}
}

/* Sends what is queued and reads the answer into *res_r.  On DB_OK the
 * connection may have been dropped: an error that ended it (a terminated
 * backend) is handed out, the connection is not kept. */
static enum db_status
await_answer(struct db *db, enum db_send how, struct db_stmt *st, long long deadline,
    PGresult **res_r)
{
	PGresult *res;
	int r;

	*res_r = NULL;
	while ((r = PQflush(db->conn)) == 1) {
		if (wait_socket(db->conn, POLLOUT | POLLIN, deadline) <= 0) {
			r = 0;
			goto fail;
		}
		if (!PQconsumeInput(db->conn)) {
			r = -1;
			goto fail;
		}
	}
	if (r < 0)
		goto fail;
	if (how == DB_SEND_PREPARE)
		r = read_pipeline(db->conn, st, deadline, &res);
	else
		r = read_single(db->conn, deadline, &res);
	if (r < 0 && res != NULL && is_error(res) && PQstatus(db->conn) == CONNECTION_BAD)
		r = 1;
	if (r <= 0) {
		PQclear(res);
		goto fail;
	}
	if (is_error(res) && PQstatus(db->conn) == CONNECTION_BAD)
		db_drop(db);
	*res_r = res;
	return DB_OK;
fail:
	if (r == 0)
		log_error("database: no answer within %ld ms; dropping the connection",
		    db->timeout_ms);
	else
		log_error("database: connection lost: %s", conn_error(db->conn));
	db_drop(db);
	return DB_UNAVAILABLE;
}

/* Whether a statement sent by name (or prepared) must be sent again with
 * its text: the server answered, before running it, that the name is
 * missing (26000: DISCARD ALL, or a pooler lent another server connection)
 * or already taken (42P05: a pooler lent one where another client prepared
 * it).  Logs why; next time the statement is prepared again (26000) or
 * executed by its name (42P05). */
static int
must_resend(struct db_stmt *st, enum db_send how, const PGresult *res)
{
	if (how == DB_SEND_NAME && has_sqlstate(res, SQLSTATE_NO_STATEMENT)) {
		st->prepared = 0;
		log_warn("database: prepared statement %s is missing on the server (DISCARD ALL, "
		    "or a pooler: set db_prepared_statements = off); sending its text", st->name);
		return 1;
	}
	if (how == DB_SEND_PREPARE && has_sqlstate(res, SQLSTATE_STATEMENT_EXISTS)) {
		log_warn("database: prepared statement %s already exists on the server (a pooler: "
		    "set db_prepared_statements = off); sending its text", st->name);
		return 1;
	}
	return 0;
}

enum db_status
db_query(struct db *db, const char *sql, int nparams, const char *const *params,
    struct pg_result **res_r)
{
	long long deadline = monotonic_ms() + db->timeout_ms;
	struct db_stmt *st = NULL;
	enum db_send how = DB_SEND_TEXT;
	PGresult *res;
	int sent = 0, r;

	*res_r = NULL;
	if (db->conn != NULL)
		db_check_idle(db);
	if (db->prepare)
		st = stmt_find(db, sql);
	for (int attempt = 0; attempt < 2 && !sent; attempt++) {
		if (db->conn == NULL && db_connect(db, deadline) < 0)
			return DB_UNAVAILABLE;
		how = st == NULL ? DB_SEND_TEXT : st->prepared ? DB_SEND_NAME : DB_SEND_PREPARE;
		r = queue_statement(db->conn, how, st, sql, nparams, params);
		if (r > 0) {
			sent = 1;
		} else if (r == 0 && PQstatus(db->conn) == CONNECTION_BAD && attempt == 0) {
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
	if (await_answer(db, how, st, deadline, &res) != DB_OK)
		return DB_UNAVAILABLE;
	if (db->conn != NULL && must_resend(st, how, res)) {
		PQclear(res);
		how = DB_SEND_TEXT;
		if (queue_statement(db->conn, how, st, sql, nparams, params) <= 0) {
			log_error("database: cannot send: %s", conn_error(db->conn));
			db_drop(db);
			return DB_UNAVAILABLE;
		}
		if (await_answer(db, how, st, deadline, &res) != DB_OK)
			return DB_UNAVAILABLE;
	}
	/* a prepared statement whose tables or functions changed their columns
	 * fails at every execution: the next connection prepares it anew */
	if (how != DB_SEND_TEXT && db->conn != NULL && has_sqlstate(res, SQLSTATE_NOT_SUPPORTED))
		db_drop(db);
	*res_r = res;
	return DB_OK;
}
