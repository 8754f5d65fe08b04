"""The database side: schema install, privileges, outages and deadlines."""
import os
import signal
import subprocess
import time

from harness import expect, expect_eq, request
from registry import test

UNAVAILABLE = b'{"errors":[{"status":503,"detail":"Service temporarily unavailable."}]}'


def expect_503(r, what):
    expect_eq(r.status, 503, what + ": status")
    expect_eq(r.body, UNAVAILABLE, what + ": body")
    expect_eq(r.header("Content-Type"), "application/vnd.api+json", what + ": type")
    expect(r.header("Retry-After") is not None, what + ": Retry-After")


@test
def test_install_is_idempotent(env):
    agents = env.cluster.psql("SELECT count(*) FROM agentauth.agents")
    # a bulk load may drop a prefix index: install.sql makes it again
    env.cluster.psql("DROP INDEX agentauth.customers_email_lower_idx")
    env.cluster.psql_file(env.install)
    expect_eq(env.cluster.psql("SELECT count(*) FROM agentauth.agents"), agents, "agents kept")
    expect_eq(env.cluster.psql("SELECT string_agg(indexname, ',' ORDER BY indexname) FROM "
                               "pg_indexes WHERE schemaname = 'agentauth' AND indexname LIKE "
                               "'customers_%_lower_idx'"),
              "customers_email_lower_idx,customers_first_name_lower_idx,"
              "customers_last_name_lower_idx", "the prefix indexes")
    expect_eq(env.cluster.psql("SELECT max(version) FROM agentauth.schema_version"), "4",
              "schema version (history squashed before the first release)")


@test
def test_app_role_cannot_read_tables(env):
    for sql in ("SELECT * FROM agentauth.agents", "SELECT * FROM agentauth.refresh_tokens",
                "UPDATE agentauth.agents SET status = 'active'",
                "SELECT agentauth.create_agent('x@example.com', 'pw', '', '')"):
        r = env.cluster.psql(sql, user="agentauth_worker", check=False)
        expect(r.returncode != 0 and "permission denied" in r.stderr,
               "%s as the app role: %s" % (sql, r.stderr.strip()))


@test
def test_audit_table_is_append_only(env):
    for sql in ("DELETE FROM agentauth.audit_events", "TRUNCATE agentauth.audit_events",
                "UPDATE agentauth.audit_events SET reason = 'x'"):
        r = env.cluster.psql(sql, check=False)
        expect(r.returncode != 0 and "append-only" in r.stderr, "%s refused (owner)" % sql)


@test
def test_create_agent_refuses_long_password(env):
    r = env.cluster.psql("SELECT agentauth.create_agent('l@example.com', repeat('x', 73))",
                         check=False)
    expect(r.returncode != 0 and "72 bytes" in r.stderr, "73-byte password refused")


@test
def test_database_down_503_then_back(env):
    env.cluster.stop()
    try:
        t0 = time.time()
        r = env.login("admin@spryker.com", "change123")
        expect_503(r, "login while the database is down")
        expect(time.time() - t0 < 5, "answered quickly")
        expect_503(env.login("admin@spryker.com", "wrong"), "wrong password while down")
        expect_503(request(env.port, "GET", "/auth/health"), "health while down")
        expect_503(request(env.port, "POST", "/auth/refresh-tokens", {"data": {
            "type": "refresh-tokens", "attributes": {"refreshToken": "x" * 43}}}),
            "refresh while down")
        r = request(env.port, "GET", "/auth/.well-known/jwks.json")
        expect_eq(r.status, 200, "the JWKS needs no database")
    finally:
        env.cluster.start()
    expect_eq(env.login("admin@spryker.com", "change123").status, 201, "login after restart")


@test
def test_database_restart_between_requests_is_invisible(env):
    for _ in range(4):  # give both workers a connection
        expect_eq(env.login("admin@spryker.com", "change123").status, 201, "warm up")
    env.cluster.stop()
    env.cluster.start()
    for i in range(4):
        expect_eq(env.login("admin@spryker.com", "change123").status, 201,
                  "login %d after restart" % i)


def postgres_pids(env):
    pm = int(open(os.path.join(env.cluster.data, "postmaster.pid")).readline())
    kids = subprocess.run(["pgrep", "-P", str(pm)], capture_output=True, text=True).stdout
    return [pm] + [int(p) for p in kids.split()]


@test
def test_frozen_database_503_within_deadline(env):
    expect_eq(env.login("admin@spryker.com", "change123").status, 201, "before")
    pids = postgres_pids(env)
    for p in pids:
        os.kill(p, signal.SIGSTOP)
    try:
        t0 = time.time()
        r = env.login("admin@spryker.com", "change123")
        took = time.time() - t0
        expect_503(r, "login while the database is frozen")
        expect(took < 3.5, "answered within the deadline (took %.1f s)" % took)
    finally:
        for p in pids:
            os.kill(p, signal.SIGCONT)
    for i in range(3):
        expect_eq(env.login("admin@spryker.com", "change123").status, 201,
                  "login %d after thaw" % i)


@test
def test_upgrade_from_version_1_keeps_data(env):
    import os
    from harness import ROOT
    env.cluster.psql("DROP DATABASE IF EXISTS agentauth_upgrade", db="postgres")
    env.cluster.psql("CREATE DATABASE agentauth_upgrade", db="postgres")
    try:
        env.cluster.psql_file(os.path.join(ROOT, "tests", "sql", "install-v1.sql"),
                              db="agentauth_upgrade")
        env.cluster.psql("INSERT INTO agentauth.agents (username, password_hash) VALUES "
                         "('old@example.com', crypt('old-pass', gen_salt('bf', 4)))",
                         db="agentauth_upgrade")
        env.cluster.psql("INSERT INTO agentauth.customers (id, customer_reference, email) "
                         "VALUES (7, 'DE--7', 'old.customer@example.com')",
                         db="agentauth_upgrade")
        env.cluster.psql_file(env.install, db="agentauth_upgrade")
        expect_eq(env.cluster.psql("SELECT string_agg(version::text, ',' ORDER BY version) FROM "
                                   "agentauth.schema_version", db="agentauth_upgrade"), "1,2,3,4",
                  "versions")
        row = env.cluster.psql("SELECT retry_after, status FROM agentauth.login_begin("
                               "'192.0.2.7', 'OLD@example.com', 9, 900, 360, 100, 3600, 100, "
                               "'192.0.2.7')", db="agentauth_upgrade", user="agentauth_worker")
        expect_eq(row, "0|active", "the v1 agent through the v2 login function")
        r = env.cluster.psql("SELECT agentauth.login_begin('192.0.2.7', 'x', 9, 900, 360, 100, "
                             "3600, 100)", db="agentauth_upgrade", check=False)
        expect(r.returncode != 0 and "does not exist" in r.stderr, "v1 signature dropped")
        # version 2's search and impersonation took no session to check;
        # version 3's impersonation took no impersonation_max_age
        for fn in ("customer_search(text, integer, integer)",
                   "impersonate(bigint, text, boolean, text, text, text, integer, bigint)",
                   "impersonate(bigint, uuid, text, boolean, text, text, text, integer, bigint)"):
            expect_eq(env.cluster.psql("SELECT to_regprocedure('agentauth.%s') IS NULL" % fn,
                                       db="agentauth_upgrade"), "t", "dropped: %s" % fn)
        # v1's customers, counted by prefix (migration 3) at the upgrade
        expect_eq(env.cluster.psql("SELECT string_agg(prefix || '=' || customers, ',' ORDER BY "
                                   "prefix) FROM agentauth.customer_prefix_counts",
                                   db="agentauth_upgrade"), "o=1,ol=1,old=1", "prefix counts")
        expect_eq(env.cluster.psql("SELECT string_agg(DISTINCT pg_get_userbyid(relowner), ',') "
                                   "FROM pg_class WHERE relnamespace = 'agentauth'::regnamespace",
                                   db="agentauth_upgrade"), "agentauth_owner",
                  "v1's objects now belong to agentauth_owner")
    finally:
        env.cluster.psql("DROP DATABASE agentauth_upgrade", db="postgres")


# ------------------------------------------------------ prepared statements
# (db_prepared_statements, doc/configuration.md): seen from the server's
# log, where a role of their own makes the test pool's backends log every
# Parse, Bind and Execute with its statement name (log_min_duration_statement
# = 0 for that role only).

STATEMENT_LINE = r"\[(\d+)\] LOG:  duration: [0-9.]+ ms  (parse|bind|execute) ([^:]+): (.*)$"


def logging_pool(env, role, prepared, db="agentauth"):
    """A pool of one worker as role on database db, whose statements the
    server logs, with db_prepared_statements = prepared, behind an nginx of
    its own."""
    import harness
    if env.cluster.psql("SELECT count(*) FROM pg_roles WHERE rolname = '%s'" % role) == "0":
        env.cluster.psql("CREATE ROLE %s LOGIN IN ROLE agentauth_app" % role)
        env.cluster.psql("ALTER ROLE %s SET log_min_duration_statement = 0" % role)
    pool = harness.Pool(env.workdir, env.binary, env.cluster, env.key, workers=1,
                        extra={"database": env.cluster.conninfo(user=role, db=db),
                               "db_prepared_statements": prepared},
                        name="pool-%s-%s" % (role, db))
    try:
        nginx = harness.Nginx(env.workdir, pool.sock, name="nginx-%s-%s" % (role, db))
    except Exception:
        pool.stop()
        raise
    return pool, nginx


def backend_pids(env, role, db="agentauth"):
    return [int(p) for p in env.cluster.psql(
        "SELECT pid FROM pg_stat_activity WHERE usename = '%s' AND datname = '%s'"
        % (role, db)).split()]


def statements(env, pids):
    """[(pid, parse|bind|execute, statement name, text)] from the server's
    log, for the backends pids."""
    import re
    with open(env.cluster.log, errors="replace") as f:
        found = (re.search(STATEMENT_LINE, line) for line in f)
        return [(int(m.group(1)), m.group(2), m.group(3), m.group(4)) for m in found
                if m is not None and int(m.group(1)) in pids]


def search_sonia(port, token):
    r = request(port, "GET", "/auth/agent-customer-search?q=sonia", None,
                {"X-Agent-Authorization": "Bearer " + token})
    expect_eq(r.status, 200, "search: status")
    expect_eq([c["customerReference"] for c in r.json()["data"][0]["attributes"]["customers"]],
              ["DE--21"], "search: customers")


def login_at(port):
    r = request(port, "POST", "/auth/agent-access-tokens", {"data": {
        "type": "agent-access-tokens",
        "attributes": {"username": "agent@example.com", "password": "agent-pass"}}})
    expect_eq(r.status, 201, "login")
    return r.json()["data"]["attributes"]["accessToken"]


def search_statement(env, pids, steps=("parse", "execute")):
    """{step: [statement names]} of customer_search's statement for pids,
    waiting (up to 5 s) until the log shows at least one execution."""
    from harness import wait_for

    def seen():
        got = {s: [n for _, what, n, text in statements(env, pids)
                   if what == s and "agentauth.customer_search(" in text] for s in steps}
        return got if got.get("execute") else None
    got = wait_for(seen, 5, 0.05)
    expect(got is not None, "the server logged no execution of the search statement")
    return got


@test
def test_statements_are_prepared_once_per_connection(env):
    import hashlib
    from api import add_customers
    add_customers(env)
    pool, nginx = logging_pool(env, "agentauth_prepared", "on")
    try:
        token = login_at(nginx.port)
        search_sonia(nginx.port, token)
        search_sonia(nginx.port, token)
        pids = backend_pids(env, "agentauth_prepared")
        expect_eq(len(pids), 1, "one connection")
        got = search_statement(env, pids)
        expect_eq(len(got["parse"]), 1, "parsed once: %r" % got)
        expect_eq(got["execute"], got["parse"] * 2, "executed twice by its name")
        lines = statements(env, pids)
        expect_eq([n for _, _, n, _ in lines if n == "<unnamed>"], [], "no unnamed statement")
        # a name is made from its text alone, so that behind a pooler a name
        # means the same statement for every worker
        for _, what, name, text in lines:
            if what == "parse":
                expect_eq(name, "agentauth_" + hashlib.sha256(text.encode()).hexdigest()[:32],
                          "the name of %r" % text)
        # each statement parsed once, however often it runs
        parsed = [n for _, what, n, _ in lines if what == "parse"]
        expect_eq(sorted(parsed), sorted(set(parsed)), "every statement parsed once")
    finally:
        nginx.stop()
        pool.stop()


@test
def test_statements_are_not_prepared_when_off(env):
    from api import add_customers
    add_customers(env)
    pool, nginx = logging_pool(env, "agentauth_unprepared", "off")
    try:
        token = login_at(nginx.port)
        search_sonia(nginx.port, token)
        search_sonia(nginx.port, token)
        pids = backend_pids(env, "agentauth_unprepared")
        got = search_statement(env, pids)
        expect_eq(got, {"parse": ["<unnamed>"] * 2, "execute": ["<unnamed>"] * 2},
                  "the search statement sent with its text each time")
        expect_eq([n for _, _, n, _ in statements(env, pids) if n != "<unnamed>"], [],
                  "no named statement")
    finally:
        nginx.stop()
        pool.stop()


@test
def test_prepared_statements_after_database_restart(env):
    from api import add_customers
    add_customers(env)
    pool, nginx = logging_pool(env, "agentauth_prepared", "on")
    try:
        token = login_at(nginx.port)
        search_sonia(nginx.port, token)
        before = backend_pids(env, "agentauth_prepared")
        expect_eq(len(before), 1, "one connection before")
        name = search_statement(env, before)["parse"]
        expect_eq(len(name), 1, "prepared once before the restart")
        env.cluster.stop()
        env.cluster.start()
        # the worker finds its connection closed, opens a new one and
        # prepares its statements there again
        search_sonia(nginx.port, token)
        search_sonia(nginx.port, token)
        after = backend_pids(env, "agentauth_prepared")
        expect(len(after) == 1 and after != before, "a new connection: %r" % after)
        got = search_statement(env, after)
        expect_eq(got, {"parse": name, "execute": name * 2},
                  "prepared again on the new connection, under the same name")
    finally:
        nginx.stop()
        pool.stop()


@test
def test_prepared_statement_whose_function_changed_its_result(env):
    # In a database of its own: the function that the search's statement
    # calls gets other result types (varchar for text: the same values, as
    # an upgrade may do with DROP and CREATE).  PostgreSQL then refuses every
    # execution of the statement prepared before (0A000, "cached plan must
    # not change result type"): one 503, after which the worker's next
    # connection prepares it anew.
    import re
    db = "agentauth_replan"
    env.cluster.psql("DROP DATABASE IF EXISTS %s" % db, db="postgres")
    env.cluster.psql("CREATE DATABASE %s" % db, db="postgres")
    pool = nginx = None
    try:
        env.cluster.psql_file(env.install, db=db)
        env.cluster.psql("INSERT INTO agentauth.agents (username, password_hash) VALUES "
                         "('agent@example.com', crypt('agent-pass', gen_salt('bf', 4)))", db=db)
        pool, nginx = logging_pool(env, "agentauth_prepared", "on", db)
        token = login_at(nginx.port)
        path = "/auth/agent-customer-search?q=sonia"
        auth = {"X-Agent-Authorization": "Bearer " + token}
        expect_eq(request(nginx.port, "GET", path, None, auth).status, 200, "before")
        # the function, from the statement the server logged
        pids = backend_pids(env, "agentauth_prepared", db)
        text = [t for _, what, _, t in statements(env, pids)
                if what == "parse" and "customer_search(" in t]
        expect_eq(len(text), 1, "the search statement, prepared once")
        call = re.search(r"agentauth\.(\w+)\(([^)]*)\)", text[0])
        fn = env.cluster.psql(
            "SELECT oid::regprocedure FROM pg_proc WHERE pronamespace = 'agentauth'::regnamespace "
            "AND proname = '%s' AND pronargs = %d" % (call.group(1), call.group(2).count("$")),
            db=db)
        expect(fn and "\n" not in fn, "one function for %r: %r" % (call.group(0), fn))
        info = env.cluster.psql("SELECT pg_get_function_identity_arguments('%s'::regprocedure) "
                                "|| '|' || pg_get_function_result('%s'::regprocedure)" % (fn, fn),
                                db=db)
        args, result = info.split("|")
        columns = re.fullmatch(r"TABLE\((.*)\)", result)
        expect(columns is not None and " text" in result, "%s returns a table with text "
               "columns: %s" % (fn, result))
        retyped = [(n, "varchar" if t == "text" else t)
                   for n, t in (c.split(" ", 1) for c in columns.group(1).split(", "))]
        env.cluster.psql(
            "BEGIN; ALTER FUNCTION %(fn)s RENAME TO %(name)s_before; "
            "CREATE FUNCTION agentauth.%(name)s(%(args)s) RETURNS TABLE(%(result)s) "
            "LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ "
            "SELECT %(casts)s FROM agentauth.%(name)s_before(%(names)s) r $$; "
            "GRANT EXECUTE ON FUNCTION agentauth.%(name)s(%(args)s) TO agentauth_app; "
            "COMMIT" % {
                "fn": fn, "name": call.group(1), "args": args,
                "names": ", ".join(a.split()[0] for a in args.split(", ")),
                "result": ", ".join("%s %s" % c for c in retyped),
                "casts": ", ".join("r.%s::%s" % c for c in retyped)}, db=db)
        expect_503(request(nginx.port, "GET", path, None, auth), "the prepared statement")
        expect_eq(request(nginx.port, "GET", path, None, auth).status, 200,
                  "prepared anew on a new connection")
        expect_eq(request(nginx.port, "GET", path, None, auth).status, 200, "and kept")
        log = open(pool.log, errors="replace").read()
        expect_eq(log.count("database: statement failed: 0A000"), 1, "one 0A000 logged")
        expect_eq(log.count("database: connected"), 2, "one reconnection")
    finally:
        if nginx is not None:
            nginx.stop()
        if pool is not None:
            pool.stop()
        env.cluster.psql("DROP DATABASE %s" % db, db="postgres")


@test
def test_token_checks_use_the_index_after_the_table_grew(env):
    """A worker's connection keeps its plans: one made while refresh_tokens
    was small (a new installation) scanned the whole table at every agent
    check once it had grown, until the next ANALYZE.  The token functions
    plan with the index, whatever the table's size was."""
    db = "agentauth_plans"
    env.cluster.psql("DROP DATABASE IF EXISTS %s" % db, db="postgres")
    env.cluster.psql("CREATE DATABASE %s" % db, db="postgres")
    try:
        env.cluster.psql_file(env.install, db=db)
        env.cluster.psql(
            "INSERT INTO agentauth.agents (id, username, password_hash, first_name, last_name) "
            "VALUES (1, 'plans@example.com', 'x', 'P', 'Q'); "
            "INSERT INTO agentauth.refresh_tokens (token_hash, family_id, agent_id, expires_at) "
            "SELECT sha256(g::text::bytea), gen_random_uuid(), 1, now() + interval '1 day' "
            "FROM generate_series(1, 3) g; ANALYZE agentauth.refresh_tokens", db=db)
        # one session: plans made while the table is small (the first five
        # calls plan each time, the later ones keep a generic plan), then the
        # table grows, then the scans of one more call are counted (the
        # view's counts include those not yet reported: the difference)
        out = env.cluster.psql(
            "SELECT agentauth.agent_token_valid(1, gen_random_uuid()) "
            "FROM generate_series(1, 1) \\g /dev/null\n" * 8 +
            "SELECT agentauth.refresh_rotate(encode(sha256('x'), 'hex'), "
            "encode(sha256('y'), 'hex'), 60, '', 0, false, 0) \\g /dev/null\n" * 8 +
            "INSERT INTO agentauth.refresh_tokens (token_hash, family_id, agent_id, expires_at) "
            "SELECT sha256((g + 10)::text::bytea), gen_random_uuid(), 1, "
            "now() + interval '1 day' FROM generate_series(1, 20000) g;\n"
            "BEGIN;\n"
            "SELECT seq_scan AS before FROM pg_stat_xact_user_tables "
            "WHERE relid = 'agentauth.refresh_tokens'::regclass \\gset\n"
            "SELECT agentauth.agent_token_valid(1, gen_random_uuid()) \\g /dev/null\n"
            "SELECT agentauth.refresh_rotate(encode(sha256('x'), 'hex'), "
            "encode(sha256('y'), 'hex'), 60, '', 0, false, 0) \\g /dev/null\n"
            "SELECT seq_scan - :before FROM pg_stat_xact_user_tables "
            "WHERE relid = 'agentauth.refresh_tokens'::regclass;\n"
            "ROLLBACK;\n", db=db, script=True)
        expect_eq(out, "0", "whole scans of refresh_tokens after it grew")
    finally:
        env.cluster.psql("DROP DATABASE IF EXISTS %s" % db, db="postgres")
