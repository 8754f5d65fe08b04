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
    env.cluster.psql_file(env.install)
    expect_eq(env.cluster.psql("SELECT count(*) FROM agentauth.agents"), agents, "agents kept")
    expect_eq(env.cluster.psql("SELECT max(version) FROM agentauth.schema_version"), "2",
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
        env.cluster.psql_file(env.install, db="agentauth_upgrade")
        expect_eq(env.cluster.psql("SELECT string_agg(version::text, ',' ORDER BY version) FROM "
                                   "agentauth.schema_version", db="agentauth_upgrade"), "1,2",
                  "versions")
        row = env.cluster.psql("SELECT retry_after, status FROM agentauth.login_begin("
                               "'192.0.2.7', 'OLD@example.com', 9, 900, 360, 100, 3600, 100, "
                               "'192.0.2.7')", db="agentauth_upgrade", user="agentauth_worker")
        expect_eq(row, "0|active", "the v1 agent through the v2 login function")
        r = env.cluster.psql("SELECT agentauth.login_begin('192.0.2.7', 'x', 9, 900, 360, 100, "
                             "3600, 100)", db="agentauth_upgrade", check=False)
        expect(r.returncode != 0 and "does not exist" in r.stderr, "v1 signature dropped")
        expect_eq(env.cluster.psql("SELECT string_agg(DISTINCT pg_get_userbyid(relowner), ',') "
                                   "FROM pg_class WHERE relnamespace = 'agentauth'::regnamespace",
                                   db="agentauth_upgrade"), "agentauth_owner",
                  "v1's objects now belong to agentauth_owner")
    finally:
        env.cluster.psql("DROP DATABASE agentauth_upgrade", db="postgres")
