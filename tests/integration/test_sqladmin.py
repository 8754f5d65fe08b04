"""What DB admins do with plain SQL (doc/sql-admin.md): the admin functions,
the views, the two roles' privileges and the import from Spryker."""
import os
import subprocess
import time

from api import expect_sql_refused
from harness import ROOT, client_key, expect, expect_eq, new_client_ip
from registry import test


def admin(env, sql, check=True):
    """Runs sql as a LOGIN role that is a member of agentauth_admin."""
    if env.cluster.psql("SELECT count(*) FROM pg_roles WHERE rolname = 'aa_admin'") == "0":
        env.cluster.psql("CREATE ROLE aa_admin LOGIN IN ROLE agentauth_admin")
    return env.cluster.psql(sql, user="aa_admin", check=check)


@test
def test_admin_creates_agent_and_changes_password(env):
    name = "new-%d@example.com" % time.time()
    agent_id = admin(env, "SELECT agentauth.create_agent('%s', 'first-pass', 'New', 'Agent')"
                     % name)
    expect(agent_id.isdigit(), "create_agent returns the id: %r" % agent_id)
    expect_eq(env.cluster.psql("SELECT left(password_hash, 7) FROM agentauth.agents WHERE id = %s"
                               % agent_id), "$2a$12$", "pgcrypto bcrypt, cost 12")
    expect_eq(env.login(name, "first-pass").status, 201, "login with the first password")
    admin(env, "SELECT agentauth.set_agent_password('%s', 'second-pass')" % name.upper())
    expect_eq(env.login(name, "first-pass").status, 401, "old password")
    expect_eq(env.login(name, "second-pass").status, 201, "new password")
    r = admin(env, "SELECT agentauth.set_agent_password('%s', repeat('y', 73))" % name,
              check=False)
    expect_sql_refused(r, "73-byte password", "72 bytes")
    r = admin(env, "SELECT agentauth.set_agent_password('%s', '')" % name, check=False)
    expect_sql_refused(r, "empty password", "empty")
    for bad in ("E'pass\\tword'", "'   '"):
        r = admin(env, "SELECT agentauth.set_agent_password('%s', %s)" % (name, bad), check=False)
        expect_sql_refused(r, "password %s" % bad, "blank or contain control")
    for bad in ("E'tab\\tname@example.com'", "'   '"):
        r = admin(env, "SELECT agentauth.create_agent(%s, 'good-pass')" % bad, check=False)
        expect_sql_refused(r, "username %s" % bad, "agents_username_usable")
    expect_eq(admin(env, "SELECT count(*) FROM agentauth.audit_events WHERE event = "
                    "'password_changed' AND username = '%s'" % name), "1", "password change audited")
    r = admin(env, "SELECT agentauth.create_agent('%s', 'x')" % name.upper(), check=False)
    expect_sql_refused(r, "username unique ignoring case", "duplicate key")
    r = admin(env, "SELECT agentauth.set_agent_password('nobody-at-all', 'x')", check=False)
    expect_sql_refused(r, "unknown agent", "no agent named")


@test
def test_admin_inserts_a_precomputed_hash(env):
    name = "insert-%d@example.com" % time.time()
    admin(env, "INSERT INTO agentauth.agents (username, password_hash) VALUES ('%s', "
          "'$y$j9T$abcdefghijklmnop$y5Ig1N.I8uuoOkUxrDjuSfFV4jrkie9/i9wJ8IFbZnC')" % name)
    expect_eq(env.login(name, "yes-pass").status, 201, "login")


@test
def test_status_blocks_and_revokes(env):
    name = "status-%d@example.com" % time.time()
    admin(env, "SELECT agentauth.create_agent('%s', 'status-pass')" % name)
    expect_eq(env.login(name, "status-pass").status, 201, "active")
    admin(env, "SELECT agentauth.set_agent_status('%s', 'blocked')" % name)
    expect_eq(env.login(name, "status-pass").status, 401, "blocked")
    expect_eq(admin(env, "SELECT count(*) FROM agentauth.refresh_tokens r JOIN agentauth.agents a"
                    " ON a.id = r.agent_id WHERE a.username = '%s' AND r.revoked_at IS NULL"
                    % name), "0", "refresh tokens revoked")
    expect_eq(admin(env, "SELECT count(*) FROM agentauth.refresh_tokens r JOIN agentauth.agents a"
                    " ON a.id = r.agent_id WHERE a.username = '%s' AND r.revoked_at IS NOT NULL"
                    % name), "1", "its session revoked (its access tokens with it)")
    admin(env, "SELECT agentauth.set_agent_status('%s', 'deleted')" % name)
    expect_eq(env.login(name, "status-pass").status, 401, "deleted")
    admin(env, "SELECT agentauth.set_agent_status('%s', 'active')" % name)
    expect_eq(env.login(name, "status-pass").status, 201, "active again")
    r = admin(env, "SELECT agentauth.set_agent_status('%s', 'paused')" % name, check=False)
    expect_sql_refused(r, "bad status", "status must be")
    expect_eq(admin(env, "SELECT string_agg(reason, ',' ORDER BY id) FROM agentauth.audit_events"
                    " WHERE event = 'status_changed' AND username = '%s'" % name),
              "blocked by aa_admin,deleted by aa_admin,active by aa_admin", "audit")


@test
def test_revoke_agent_tokens(env):
    name = "revoke-%d@example.com" % time.time()
    admin(env, "SELECT agentauth.create_agent('%s', 'revoke-pass')" % name)
    for _ in range(3):
        expect_eq(env.login(name, "revoke-pass").status, 201, "login")
    expect_eq(admin(env, "SELECT agentauth.revoke_agent_tokens('%s')" % name), "3", "revoked")
    expect_eq(admin(env, "SELECT agentauth.revoke_agent_tokens('%s')" % name), "0", "again")


@test
def test_unlock_and_the_views(env):
    ip, name = new_client_ip(), "agent@example.com"
    for _ in range(9):
        env.login(name, "wrong", headers={"X-Forwarded-For": ip})
    expect_eq(env.login(name, "agent-pass", headers={"X-Forwarded-For": ip}).status, 429,
              "locked")
    row = admin(env, "SELECT scope, username, failures, seconds_left BETWEEN 1 AND 360 FROM "
                "agentauth.current_lockouts WHERE client_ip = '%s'" % client_key(ip))
    expect_eq(row, "ip_user|agent@example.com|9|t", "current_lockouts")
    fails = admin(env, "SELECT failures >= 9 FROM agentauth.recent_failures_by_username "
                  "WHERE username = 'agent@example.com'")
    expect_eq(fails, "t", "recent_failures_by_username")
    expect_eq(admin(env, "SELECT failures FROM agentauth.recent_failures_by_ip WHERE "
                    "client_ip = '%s'" % ip), "9", "recent_failures_by_ip")
    expect(int(admin(env, "SELECT agentauth.unlock('Agent@Example.com')")) >= 2, "unlock rows")
    expect_eq(env.login(name, "agent-pass", headers={"X-Forwarded-For": ip}).status, 201,
              "after unlock")
    expect_eq(admin(env, "SELECT count(*) FROM agentauth.audit_events WHERE event = 'unlocked' "
                    "AND username = 'Agent@Example.com'"), "1", "unlock audited")


@test
def test_purge_removes_only_expired_rows(env):
    env.cluster.psql("INSERT INTO agentauth.login_attempts (scope, client_ip, username, failures,"
                     " window_start, blocked_until) VALUES "
                     "('ip', '192.0.2.50', '', 3, now() - interval '2 days', NULL), "
                     "('ip', '192.0.2.51', '', 3, now() - interval '2 days', now() + interval '1 hour')")
    expect(int(admin(env, "SELECT agentauth.purge_login_attempts()")) >= 1, "purged")
    expect_eq(admin(env, "SELECT string_agg(client_ip, ',') FROM agentauth.login_attempts WHERE "
                    "client_ip IN ('192.0.2.50', '192.0.2.51')"), "192.0.2.51",
              "a running block is kept")
    admin(env, "SELECT agentauth.unlock_ip('192.0.2.51')")
    env.cluster.psql("INSERT INTO agentauth.login_attempts (scope, client_ip, username, failures,"
                     " window_start) VALUES ('ip', '192.0.2.52', '', 3, now() - interval '3 hours')")
    admin(env, "SELECT agentauth.purge_login_attempts('1 second')")
    expect_eq(admin(env, "SELECT count(*) FROM agentauth.login_attempts WHERE client_ip = "
                    "'192.0.2.52'"), "1", "a window that may still run is kept")
    admin(env, "SELECT agentauth.unlock_ip('192.0.2.52')")


@test
def test_unlock_ip_takes_networks_and_mapped_addresses(env):
    env.cluster.psql("INSERT INTO agentauth.login_attempts (scope, client_ip, username, failures,"
                     " window_start) VALUES ('ip', '198.18.77.40', '', 3, now()), "
                     "('ip', '198.18.77.41', '', 3, now()), ('ip', '198.18.78.1', '', 3, now()),"
                     " ('ip', '', '', 3, now())")
    expect_eq(admin(env, "SELECT agentauth.unlock_ip('::ffff:198.18.77.40')"), "1", "mapped")
    expect_eq(admin(env, "SELECT agentauth.unlock_ip('198.18.77.0/24')"), "1", "network")
    expect_eq(admin(env, "SELECT agentauth.unlock_ip(NULL)"), "1", "unknown address")
    expect_eq(admin(env, "SELECT agentauth.unlock_ip('198.18.78.1')"), "1", "exact")


@test
def test_role_privileges(env):
    app = "agentauth_worker"
    for sql in ("SELECT * FROM agentauth.current_lockouts",
                "SELECT * FROM agentauth.audit_events",
                "SELECT * FROM agentauth.login_attempts",
                "SELECT agentauth.unlock('agent@example.com')",
                "SELECT agentauth.set_agent_status('agent@example.com', 'active')",
                "SELECT agentauth.revoke_agent_tokens('agent@example.com')",
                "SELECT agentauth.purge_login_attempts()",
                "INSERT INTO agentauth.agents (username, password_hash) VALUES ('x', 'y')"):
        r = env.cluster.psql(sql, user=app, check=False)
        expect_sql_refused(r, "app role: %s" % sql, "permission denied")
    for sql in ("SELECT * FROM agentauth.login_begin('1.2.3.4', 'x', 9, 900, 360, 100, 3600, 100, "
                "'1.2.3.4')",
                "DELETE FROM agentauth.audit_events",
                "UPDATE agentauth.login_attempts SET failures = 0",
                "DROP TABLE agentauth.agents"):
        r = admin(env, sql, check=False)
        expect_sql_refused(r, "admin role may not: %s" % sql)
    # the app role's own functions work for it
    r = env.cluster.psql("SELECT retry_after, status FROM agentauth.login_begin('192.0.2.99', "
                         "'agent@example.com', 9, 900, 360, 100, 3600, 100, '192.0.2.99')",
                         user=app)
    expect_eq(r, "0|active", "app role: login_begin")
    env.cluster.psql("SELECT agentauth.unlock_ip('192.0.2.99')")


@test
def test_import_from_spryker(env):
    env.cluster.psql("""
        DROP TABLE IF EXISTS spy_user;
        -- as Propel creates it: the status ENUM is stored as its index
        CREATE TABLE spy_user (id_user serial PRIMARY KEY, username varchar(255) NOT NULL,
            password varchar(255), first_name varchar(100), last_name varchar(100),
            status smallint NOT NULL DEFAULT 0, is_agent boolean DEFAULT false);
        INSERT INTO spy_user (username, password, first_name, last_name, status, is_agent) VALUES
          ('sonia@spryker.com', '$2y$04$abcdefghijklmnopqrstuuihJ4Y.0..nuISCyE.9oWdbu/lSS9sZS',
           'Sonia', 'Wagner', 0, true),
          ('blocked.agent@spryker.com', '$2y$04$abcdefghijklmnopqrstuuihJ4Y.0..nuISCyE.9oWdbu/lSS9sZS',
           'B', 'A', 1, true),
          ('backoffice@spryker.com', '$2y$04$abcdefghijklmnopqrstuuihJ4Y.0..nuISCyE.9oWdbu/lSS9sZS',
           'Back', 'Office', 0, false),
          ('AGENT@EXAMPLE.COM', '$2y$04$abcdefghijklmnopqrstuuihJ4Y.0..nuISCyE.9oWdbu/lSS9sZS',
           'Dup', 'Licate', 0, true);
    """)
    path = os.path.join(ROOT, "sql", "import", "spryker-agents.sql")
    for run in (1, 2):  # idempotent
        r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-h", env.cluster.dir, "-p",
                            str(env.cluster.port), "-U", "postgres", "-d", "agentauth",
                            "-f", path], capture_output=True, text=True)
        expect_eq(r.returncode, 0, "import run %d: %s" % (run, r.stderr))
        expect_eq(r.stdout.strip(), "3|3", "import summary, run %d" % run)
    expect_eq(env.cluster.psql("SELECT first_name || ' ' || last_name || ' ' || status FROM "
                               "agentauth.agents WHERE username = 'sonia@spryker.com'"),
              "Sonia Wagner active", "imported row")
    expect_eq(env.login("sonia@spryker.com", "change123").status, 201, "imported agent logs in")
    expect_eq(env.login("blocked.agent@spryker.com", "change123").status, 401, "blocked")
    expect_eq(env.login("backoffice@spryker.com", "change123").status, 401, "not an agent")
    expect_eq(env.login("agent@example.com", "agent-pass").status, 201, "existing agent kept")
    env.cluster.psql("DROP TABLE spy_user")


@test
def test_customers_as_a_view_are_counted(env):
    """sql-admin.md §7.2: agentauth.customers replaced by a view over the
    shop's table.  install.sql runs again, puts no counting trigger anywhere
    and keeps no prefix counts; the search counts the matches instead, and
    still checks the agent's session first."""
    db = "agentauth_view"
    env.cluster.psql("DROP DATABASE IF EXISTS %s" % db, db="postgres")
    env.cluster.psql("CREATE DATABASE %s" % db, db="postgres")
    try:
        env.cluster.psql_file(env.install, db=db)
        env.cluster.psql("""
            CREATE TABLE public.spy_customer (id_customer integer PRIMARY KEY,
                customer_reference varchar(255) NOT NULL UNIQUE, email varchar(255) NOT NULL,
                first_name varchar(100), last_name varchar(100), anonymized_at timestamp);
            INSERT INTO public.spy_customer VALUES
              (1, 'DE--1', 'anna@x.example', 'Anna', 'Berg', NULL),
              (2, 'DE--2', 'alex@x.example', 'Alex', 'Ander', NULL),
              (3, 'DE--3', 'bob@x.example', 'Bob', 'Ames', now()),
              (4, 'a', 'carl@x.example', 'Carl', NULL, NULL);
            DROP TABLE agentauth.customers;
            CREATE VIEW agentauth.customers AS
            SELECT id_customer AS id, customer_reference::text AS customer_reference,
                   email::text AS email, first_name::text AS first_name,
                   last_name::text AS last_name, false AS allow_assistance,
                   anonymized_at AS deleted_at
            FROM public.spy_customer;""", db=db)
        env.cluster.psql_file(env.install, db=db)
        expect_eq(env.cluster.psql("SELECT (SELECT count(*) FROM agentauth.customer_prefix_counts)"
                                   " || '/' || (SELECT count(*) FROM pg_trigger WHERE tgname LIKE "
                                   "'customers_prefix_counts%') || '/' || "
                                   "agentauth.customer_prefix_counts_kept()", db=db), "0/0/false",
                  "no counts, no triggers, not trusted")
        agent = env.cluster.psql("INSERT INTO agentauth.agents (username, password_hash) VALUES "
                                 "('view@example.com', 'x') RETURNING id", db=db).split()[0]
        sid = "6b2f0c8e-0d5a-4c1e-9a7b-3f1d2e4c5a60"
        env.cluster.psql("INSERT INTO agentauth.refresh_tokens (token_hash, family_id, agent_id, "
                         "expires_at) VALUES ('\\x01', '%s', %s, now() + interval '1 hour')"
                         % (sid, agent), db=db)

        def found(family, q, offset, limit):
            return env.cluster.psql(
                "SELECT string_agg(coalesce(outcome, '-') || ':' || coalesce(total::text, '-') "
                "|| ':' || coalesce(customer_reference, '-'), ' ') FROM agentauth.customer_search"
                "(%s, '%s', '%s', %d, %d)" % (agent, family, q, offset, limit), db=db,
                user="agentauth_worker")
        # q=a: Anna, Alex (Bob Ames is deleted), and the reference 'a' once
        expect_eq(found(sid, "a", 0, 2), "-:-:DE--1 -:-:DE--2 ok:3:-", "a full page: counted")
        expect_eq(found(sid, "a", 2, 2), "-:-:a ok:3:-", "the last page")
        expect_eq(found(sid, "al", 0, 10), "-:-:DE--2 ok:1:-", "a page that is not full")
        expect_eq(found("00000000-0000-0000-0000-000000000000", "a", 0, 2),
                  "token_invalid:-:-", "an unknown session: nothing searched")
    finally:
        env.cluster.psql("DROP DATABASE %s" % db, db="postgres")
