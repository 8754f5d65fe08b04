/* db: one PostgreSQL connection per worker, with a client-side deadline.
 *
 * The connection is opened on first use and re-opened after it is lost.
 * Every call waits at most timeout_ms (connect included): a frozen server
 * gives DB_UNAVAILABLE instead of a hung worker.  Statements are always
 * sent with parameters; the SQL text is a constant.  With prepare on, each
 * distinct text is prepared once per connection, under a name made from
 * the text, and executed by that name from then on. */
#ifndef AGENTAUTH_DB_H
#define AGENTAUTH_DB_H

enum db_status {
	DB_OK = 0,             /* the server answered (rows, or an error) */
	DB_UNAVAILABLE = -1,   /* could not connect, connection lost, deadline */
};

/* libpq's PGresult; only db.c and store.c look into it. */
struct pg_result;

struct db;

/* conninfo is copied.  prepare: 1 to prepare statements (the setting
 * db_prepared_statements), 0 to send each one with its text.  Returns NULL
 * when out of memory. */
struct db *db_new(const char *conninfo, long timeout_ms, int prepare);
void db_free(struct db *db);

/* Runs one parameterised statement.  On DB_OK *res_r is the server's
 * answer, which the caller must PQclear: rows (PGRES_TUPLES_OK), or an
 * error the statement met (store.c decides what each error means).
 * Otherwise *res_r is NULL and the reason is logged.  A statement is
 * re-sent only if the connection was found dead before anything reached
 * the server, or once, with its text, when the server answered that its
 * prepared statement does not exist (SQLSTATE 26000) or already exists
 * (42P05): then the statement did not run.  sql is borrowed for the call;
 * db keeps a copy of each text it prepares. */
enum db_status db_query(struct db *db, const char *sql, int nparams,
    const char *const *params, struct pg_result **res_r);

#endif
