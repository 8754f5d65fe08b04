/* db: one PostgreSQL connection per worker, with a client-side deadline.
 *
 * The connection is opened on first use and re-opened after it is lost.
 * Every call waits at most timeout_ms (connect included): a frozen server
 * gives DB_UNAVAILABLE instead of a hung worker.  Statements are always
 * sent with parameters; the SQL text is a constant. */
#ifndef AGENTAUTH_DB_H
#define AGENTAUTH_DB_H

#include <libpq-fe.h>

enum db_status {
	DB_OK = 0,
	DB_UNAVAILABLE = -1,   /* could not connect, connection lost, deadline */
	DB_FAILED = -2,        /* the server answered with an error */
};

struct db;

/* conninfo is copied.  Returns NULL when out of memory. */
struct db *db_new(const char *conninfo, long timeout_ms);
void db_free(struct db *db);

/* Runs one parameterised statement.  On DB_OK *res_r is a result the
 * caller must PQclear; otherwise *res_r is NULL and the reason is logged.
 * A statement is re-sent only if the connection was found dead before
 * anything reached the server. */
enum db_status db_query(struct db *db, const char *sql, int nparams,
    const char *const *params, PGresult **res_r);

#endif
