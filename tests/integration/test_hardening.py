"""Hardening (doc/security.md): privilege escalation through SECURITY DEFINER
functions, least privilege of the service's role, sliding lock-out budgets,
session lifetime and reuse, revocation without clocks, equal timing of
failed logins and re-hashing of weak passwords."""
import os
import time

import harness
from api import expect_sql_refused, refresh
from harness import expect, expect_eq, new_client_ip, request
from registry import test


def psql_as(env, user, sql, db="agentauth"):
    """Runs sql as user; returns the CompletedProcess (never raises)."""
    return env.cluster.psql(sql, db=db, user=user, check=False)


PLANT = r"""
CREATE TABLE public.pwned (who text, session_who text, at timestamptz DEFAULT now());
GRANT INSERT ON public.pwned TO PUBLIC;
CREATE FUNCTION public.pwn(a text, b name) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.pwned (who, session_who) VALUES (current_user, session_user);
    BEGIN
        EXECUTE 'ALTER ROLE planter SUPERUSER';
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
    RETURN a || b::text;
END $$;
CREATE FUNCTION public.pwn2(a name, b name) RETURNS text LANGUAGE sql AS
    'SELECT public.pwn(a::text, b)';
CREATE FUNCTION public.pwn3(a text, b text) RETURNS text LANGUAGE sql AS
    'SELECT public.pwn(a, b::name)';
CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = name, FUNCTION = public.pwn);
CREATE OPERATOR public.|| (LEFTARG = name, RIGHTARG = name, FUNCTION = public.pwn2);
CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = public.pwn3);
CREATE FUNCTION public.lower(x text) RETURNS text LANGUAGE sql AS
    'SELECT public.pwn(x, ''x''::name)';
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE sql AS
    'SELECT pg_catalog.now() + (length(public.pwn(''a'', ''b''::name)) * interval ''0'')';
"""

ADMIN_CALLS = [
    "SELECT agentauth.create_agent('planted-%(n)s@example.com', 'Pass-%(n)s-1', 'A', 'B')",
    "SELECT agentauth.set_agent_password('planted-%(n)s@example.com', 'Pass-%(n)s-2')",
    "SELECT agentauth.set_agent_status('planted-%(n)s@example.com', 'blocked')",
    "SELECT agentauth.revoke_agent_tokens('planted-%(n)s@example.com')",
    "SELECT agentauth.unlock('planted-%(n)s@example.com')",
    "SELECT agentauth.unlock_ip('192.0.2.0/24')",
    "SELECT agentauth.purge_login_attempts()",
    "SELECT count(*) FROM agentauth.current_lockouts",
    "SELECT count(*) FROM agentauth.weak_password_hashes",
    "SELECT count(*) FROM agentauth.recent_failures_by_username",
]


def plant_and_call(env, db, install):
    """A fresh database with `install`; a role with CREATE on public plants
    operators and functions; a superuser then runs every admin function.
    Returns (planter is superuser, rows in public.pwned)."""
    env.cluster.psql("DROP DATABASE IF EXISTS %s" % db, db="postgres")
    env.cluster.psql("CREATE DATABASE %s" % db, db="postgres")
    env.cluster.psql_file(install, db=db)
    env.cluster.psql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = "
                     "'planter') THEN CREATE ROLE planter LOGIN; END IF; END $$; "
                     "ALTER ROLE planter NOSUPERUSER; GRANT CREATE ON SCHEMA public TO planter",
                     db=db)
    r = psql_as(env, "planter", PLANT, db=db)
    expect_eq(r.returncode, 0, "planting in public: %s" % r.stderr)
    n = str(os.getpid())
    for sql in ADMIN_CALLS:
        psql_as(env, "postgres", sql % {"n": n}, db=db)
    su = env.cluster.psql("SELECT rolsuper FROM pg_roles WHERE rolname = 'planter'", db="postgres")
    rows = env.cluster.psql("SELECT count(*) FROM public.pwned", db=db)
    env.cluster.psql("DROP DATABASE %s" % db, db="postgres")
    env.cluster.psql("ALTER ROLE planter NOSUPERUSER", db="postgres")
    return su, rows


@test
def test_planted_operators_in_public_gain_nothing(env):
    # the attack works against version 1 of the schema: the test can fail
    su, rows = plant_and_call(env, "agentauth_plant_v1",
                              os.path.join(harness.ROOT, "tests", "sql", "install-v1.sql"))
    expect(su == "t" or rows != "0", "version 1 was open to the attack (su=%s rows=%s)" % (su, rows))
    su, rows = plant_and_call(env, "agentauth_plant", env.install)
    expect_eq(su, "f", "the planting role became superuser")
    expect_eq(rows, "0", "planted code ran inside agentauth's functions")


@test
def test_functions_pin_search_path_and_belong_to_a_plain_owner(env):
    bad = env.cluster.psql(
        "SELECT string_agg(p.proname, ',') FROM pg_proc p WHERE p.pronamespace = "
        "'agentauth'::regnamespace AND (p.proconfig IS NULL OR NOT "
        "('search_path=pg_catalog, pg_temp' = ANY (p.proconfig)))")
    expect_eq(bad, "", "functions without search_path = pg_catalog, pg_temp")
    owners = env.cluster.psql(
        "SELECT string_agg(DISTINCT pg_get_userbyid(p.proowner), ',') FROM pg_proc p "
        "WHERE p.pronamespace = 'agentauth'::regnamespace")
    expect_eq(owners, "agentauth_owner", "function owners")
    expect_eq(env.cluster.psql("SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolcanlogin "
                               "FROM pg_roles WHERE rolname = 'agentauth_owner'"), "f",
              "agentauth_owner has no powers")


def worker_sql(env, sql):
    return psql_as(env, "agentauth_worker", sql)


@test
def test_service_role_cannot_exceed_the_database_limits(env):
    ip = new_client_ip()
    begin = ("SELECT attempt_id FROM agentauth.login_begin('%s', 'nobody@example.com', "
             "%%d, 900, 360, %%d, 3600, 100, '%s')" % (ip, ip))
    expect_sql_refused(worker_sql(env, begin % (10**7, 100)),
                       "10^7 attempts per address and user", "outside agentauth.settings")
    expect_sql_refused(worker_sql(env, begin % (9, 10**7)), "10^7 attempts per username",
                       "outside agentauth.settings")
    expect_sql_refused(worker_sql(env, "SELECT agentauth.login_begin('%s', 'x', 9, 0, 360, 100, "
                                  "3600, 100, '%s')" % (ip, ip)), "a window of 0 s")
    # the DB admin tightens a limit: the service must stay inside it
    env.cluster.psql("UPDATE agentauth.settings SET max_account_lockout_attempts = 50")
    try:
        expect_sql_refused(worker_sql(env, begin % (9, 100)),
                           "100 per username over the admin's 50")
        r = env.login("agent@example.com", "agent-pass")
        expect_eq(r.status, 503, "the service configured over the limit answers 503")
    finally:
        env.cluster.psql("UPDATE agentauth.settings SET max_account_lockout_attempts = 100000")
    attempt = worker_sql(env, begin % (9, 100)).stdout.strip()
    expect(attempt.isdigit(), "a counted attempt: %r" % attempt)
    expect_sql_refused(worker_sql(env, "SELECT agentauth.login_succeeded(%s, repeat('ab', 32), "
                                  "999999999, 43200, NULL, 100, 100)" % attempt),
                       "a refresh token for 31 years")
    expect_sql_refused(worker_sql(env, "SELECT agentauth.login_succeeded(%s, repeat('ab', 32), "
                                  "3600, 999999999, NULL, 100, 100)" % attempt),
                       "a session for 31 years")
    # impersonate checks the agent's session first: a live one of agent 1
    expect_eq(env.login("admin@spryker.com", "change123").status, 201, "a session of agent 1")
    sid = env.cluster.psql("SELECT family_id FROM agentauth.refresh_tokens WHERE agent_id = 1 "
                           "AND customer_id IS NULL AND revoked_at IS NULL ORDER BY id DESC "
                           "LIMIT 1")
    expect_sql_refused(worker_sql(env, "SELECT agentauth.impersonate(1, '%s', 'DE--1', false, "
                                  "'r', '', repeat('cd', 32), 3600, 99999999999, 3600, false)" % sid),
                       "an impersonation session until the year 5138",
                       "outside agentauth.settings")
    expect_sql_refused(worker_sql(env, "SELECT agentauth.impersonate(1, '%s', 'DE--1', false, "
                                  "'r', '', repeat('cd', 32), 3600, extract(epoch FROM now())"
                                  "::bigint + 3600, 999999999, false)" % sid),
                       "an impersonation_max_age of 31 years", "impersonation_max_age")
    expect_sql_refused(worker_sql(env, "SELECT agentauth.refresh_rotate(repeat('ab', 32), "
                                  "repeat('cd', 32), 999999999, '', 2, false, 0)"),
                       "a rotated token for 31 years")
    expect_sql_refused(worker_sql(env, "SELECT agentauth.refresh_rotate(repeat('ab', 32), "
                                  "repeat('cd', 32), 3600, '', 2, false, 999999999)"),
                       "an idle timeout of 31 years", "session_idle_timeout")


@test
def test_service_role_cannot_write_audit_rows_or_read_hashes(env):
    before = env.cluster.psql("SELECT count(*) FROM agentauth.audit_events")
    expect_sql_refused(worker_sql(env, "INSERT INTO agentauth.audit_events (event, reason) "
                                  "VALUES ('login_success', 'forged')"), "INSERT into the audit",
                       "permission denied")
    expect_sql_refused(worker_sql(env, "SELECT agentauth.login_failed(1, 'the agent said so')"),
                       "an audit row with any text")
    expect_eq(worker_sql(env, "SELECT agentauth.login_failed(987654321, 'wrong password')")
              .stdout.strip(), "f", "an attempt that was never counted")
    expect_eq(env.cluster.psql("SELECT count(*) FROM agentauth.audit_events"), before,
              "audit rows written")
    expect_sql_refused(worker_sql(env, "SELECT password_hash FROM agentauth.agents"),
                       "reading agents", "permission denied")
    ip = new_client_ip()
    for user in ("blocked@example.com", "deleted@example.com"):
        row = worker_sql(env, "SELECT coalesce(password_hash, 'NULL'), status FROM "
                              "agentauth.login_begin('%s', '%s', 9, 900, 360, 100, 3600, 100, "
                              "'%s')" % (ip, user, ip)).stdout.strip()
        expect_eq(row.split("|")[0], "NULL", "hash of %s handed out" % user)
    expect(worker_sql(env, "SELECT password_hash FROM agentauth.login_begin('%s', "
                           "'agent@example.com', 9, 900, 360, 100, 3600, 100, '%s')"
                           % (ip, ip)).stdout.strip().startswith("$2"),
           "an active agent's hash is handed out (the service checks it)")


@test
def test_login_right_after_logout_works(env):
    # tokens of the same second as a revocation used to be refused
    for _ in range(3):
        r = env.login("agent@example.com", "agent-pass")
        expect_eq(r.status, 201, "login")
        token = r.json()["data"]["attributes"]["accessToken"]
        hdr = {"X-Agent-Authorization": "Bearer " + token}
        r = request(env.port, "DELETE", "/auth/refresh-tokens/mine", headers=hdr)
        expect_eq(r.status, 204, "logout")
        r = request(env.port, "GET", "/auth/agent-customer-search?q=x", headers=hdr)
        expect_eq(r.status, 401, "the logged-out token")
        r = env.login("agent@example.com", "agent-pass")
        expect_eq(r.status, 201, "login again at once")
        hdr2 = {"X-Agent-Authorization": "Bearer " + r.json()["data"]["attributes"]["accessToken"]}
        r = request(env.port, "GET", "/auth/agent-customer-search?q=x", headers=hdr2)
        expect_eq(r.status, 200, "the new token, same second as the logout")


@test
def test_session_has_an_absolute_lifetime(env):
    r = env.login("agent@example.com", "agent-pass")
    expect_eq(r.status, 201, "login")
    rt = r.json()["data"]["attributes"]["refreshToken"]
    ends = env.cluster.psql("SELECT extract(epoch FROM session_exp - created_at)::int FROM "
                            "agentauth.refresh_tokens ORDER BY id DESC LIMIT 1")
    expect_eq(ends, "43200", "session_max_age (12 h by default)")
    r = refresh(env, rt)
    expect_eq(r.status, 201, "refresh inside the session")
    rt = r.json()["data"]["attributes"]["refreshToken"]
    expect(r.json()["data"]["attributes"]["expiresIn"] <= 28800, "access token")
    # the session's end comes: rotations do not extend it
    env.cluster.psql("UPDATE agentauth.refresh_tokens SET session_exp = now() - interval '1 s' "
                     "WHERE family_id = (SELECT family_id FROM agentauth.refresh_tokens "
                     "ORDER BY id DESC LIMIT 1)")
    r = refresh(env, rt)
    expect_eq(r.status, 401, "refresh after the session's end")
    expect_eq(r.json()["errors"][0]["code"], "004", "code")


@test
def test_reuse_within_grace_is_refused_and_audited(env):
    r = env.login("agent@example.com", "agent-pass")
    rt = r.json()["data"]["attributes"]["refreshToken"]
    expect_eq(refresh(env, rt).status, 201, "first use")
    r = refresh(env, rt)
    expect_eq(r.status, 401, "second use within the grace")
    expect_eq(r.json()["errors"][0]["code"], "004", "code")
    expect("refreshToken" not in r.body.decode(), "no new token")
    expect_eq(env.cluster.psql("SELECT event FROM agentauth.audit_events ORDER BY id DESC "
                               "LIMIT 1"), "refresh_reuse_in_grace", "audit")


@test
def test_weak_hash_is_rehashed_at_login_and_listed_before(env):
    user = "weak-%d@example.com" % os.getpid()
    env.cluster.psql("INSERT INTO agentauth.agents (username, password_hash) VALUES "
                     "('%s', crypt('weak-pass', gen_salt('bf', 4)))" % user)
    expect_eq(env.cluster.psql("SELECT hash_cost || ' ' || why FROM "
                               "agentauth.weak_password_hashes WHERE username = '%s'" % user),
              "4 weaker cost", "the view lists it")
    r = env.login(user, "weak-pass")
    expect_eq(r.status, 201, "login")
    expect_eq(env.cluster.psql("SELECT substr(password_hash, 1, 7) FROM agentauth.agents WHERE "
                               "username = '%s'" % user), "$2b$12$", "re-hashed at cost 12")
    expect_eq(env.cluster.psql("SELECT count(*) FROM agentauth.audit_events WHERE event = "
                               "'password_rehashed' AND username = '%s'" % user), "1", "audit")
    expect_eq(env.cluster.psql("SELECT count(*) FROM agentauth.weak_password_hashes WHERE "
                               "username = '%s'" % user), "0", "off the list")
    expect_eq(env.login(user, "weak-pass").status, 201, "the new hash works")


@test
def test_username_budget_slides_and_a_block_does_not_reset_it(env):
    # 5 failures per 4 s per username: a budget that regains one attempt
    # every 0.8 s.  A block that ends must not hand out 5 new attempts.
    pool = harness.Pool(env.workdir, env.binary, env.cluster, env.key, workers=2,
                        extra={"account_lockout_attempts": "5", "account_lockout_window": "4",
                               "lockout_block": "1", "lockout_attempts": "1000"},
                        name="budget")
    nginx = harness.Nginx(env.workdir, pool.sock, name="nginx-budget")
    user = "budget-%d@example.com" % os.getpid()
    body = {"data": {"type": "agent-access-tokens",
                     "attributes": {"username": user, "password": "x"}}}
    try:
        def one():
            return request(nginx.port, "POST", "/auth/agent-access-tokens", body,
                           {"X-Forwarded-For": new_client_ip()})
        statuses = [one().status for _ in range(5)]
        expect_eq(statuses, [401] * 5, "the first 5 failures, each from its own address")
        r = one()
        expect_eq(r.status, 429, "the 6th")
        left = int(r.header("Retry-After"))
        expect(1 <= left <= 1, "Retry-After: the next attempt fits in under a second (%d)" % left)
        # wait out the block (the test is about time: it polls with an
        # attempt every 0.1 s until one is let through): exactly one
        # attempt fits, not five
        last = []

        def let_through():
            last.append(one())
            return last[-1].status == 401
        harness.wait_for(let_through, 5, 0.1)
        r = last[-1]
        expect_eq(r.status, 401, "an attempt fits again after the block")
        expect_eq(one().status, 429, "and only one: a block does not reset the budget")
        # hammer for 3 windows from ever new addresses: at most the budget
        # plus what drains meanwhile (one per 0.8 s) gets through
        start, n401, n = time.time(), 0, 0
        while time.time() - start < 12:
            s = one().status
            n += 1
            n401 += s == 401
            expect(s in (401, 429), "status %d" % s)
        expect(n401 <= 12 / 0.8 + 2, "%d failures let through in 12 s (of %d tries)" % (n401, n))
        expect(n401 >= 12 / 0.8 / 2, "the budget drains: %d in 12 s" % n401)
    finally:
        nginx.stop()
        pool.stop()
