"""Impersonation sessions that end: impersonation_max_age, the agent token
that started them, the agent ending one or logging out, and the session id
shared by the tokens and the audit (doc/api.md §9.6, doc/sql-admin.md
§3.1)."""
import json
import time

from api import ERR_004, ERR_4103, add_customers, agent_token, expect_error, forge, jwt_claims, \
    jwt_header, login_tokens, refresh, sign_rs256
from harness import expect, expect_eq, request
from registry import test

IMP = "/auth/agent-customer-impersonation-access-tokens"


def new_agent(env, prefix):
    """A fresh active agent (password pw-pw-pw); returns its username."""
    name = "%s-%d@example.com" % (prefix, time.time() * 1000)
    env.cluster.psql("INSERT INTO agentauth.agents (username, password_hash) VALUES ('%s', "
                     "crypt('pw-pw-pw', gen_salt('bf', 4)))" % name)
    return name


def start(env, agent_tok, ref="DE--21", reason=None):
    """Impersonates ref (201 expected); returns the answer's attributes."""
    attrs = {"customerReference": ref}
    if reason is not None:
        attrs["reason"] = reason
    r = request(env.port, "POST", IMP, {"data": {
        "type": "agent-customer-impersonation-access-tokens", "attributes": attrs}},
        {"X-Agent-Authorization": "Bearer " + agent_tok})
    expect_eq(r.status, 201, "impersonation of %s" % ref)
    return r.json()["data"]["attributes"]


def ended_rows(env, sid):
    """The impersonation_ended audit rows of session sid: reason|customer_reference."""
    return env.cluster.psql("SELECT string_agg(reason || '|' || customer_reference, ',' "
                            "ORDER BY id) FROM agentauth.audit_events WHERE event = "
                            "'impersonation_ended' AND session_id = '%s'" % sid)


def end_now(env, sid):
    """Moves the end of session sid to a second ago (as if its time had passed)."""
    env.cluster.psql("UPDATE agentauth.refresh_tokens SET session_exp = now() - interval '1s', "
                     "expires_at = least(expires_at, now() - interval '1s') "
                     "WHERE family_id = '%s'" % sid)


@test
def test_impersonation_max_age_ends_the_session(env):
    """impersonation_max_age (default 3600 s) ends an impersonation session
    that long after it began, across refreshes, however long the agent token
    lasts (8 h here); its refresh then gets 401 004 and one audit row."""
    add_customers(env)
    tok = agent_token(env, new_agent(env, "maxage"), "pw-pw-pw")
    t0 = int(time.time())
    a = start(env, tok)
    c = jwt_claims(a["accessToken"])
    sid = c["sid"]
    expect(c["exp"] <= t0 + 3601, "access token ends within the max age (%d)" % (c["exp"] - t0))
    expect(jwt_claims(tok)["exp"] > t0 + 7200, "the agent token lasts longer")
    expect_eq(env.cluster.psql("SELECT event || '|' || (reason IS NULL) FROM agentauth.audit_events "
                               "WHERE session_id = '%s'" % sid), "impersonation|true",
              "the audit row of the start carries the token's sid")
    expect_eq(env.cluster.psql("SELECT session_end || '|' || (extract(epoch FROM session_exp) "
                               "BETWEEN %d AND %d) FROM agentauth.refresh_tokens WHERE family_id "
                               "= '%s'" % (t0 + 3598, t0 + 3602, sid)), "max_age|true",
              "the session ends max age after its start")
    r = refresh(env, a["refreshToken"])
    expect_eq(r.status, 201, "refresh within the max age")
    c2 = jwt_claims(r.json()["data"]["attributes"]["accessToken"])
    expect_eq(c2["sid"], sid, "same session")
    expect(c2["exp"] <= t0 + 3601, "the refreshed token does not outlive the session")
    rt = r.json()["data"]["attributes"]["refreshToken"]
    end_now(env, sid)
    expect_error(refresh(env, rt), 401, ERR_004, "refresh after the max age")
    expect_eq(ended_rows(env, sid), "max_age|DE--21", "audited once, reason max_age")
    expect_error(refresh(env, rt), 401, ERR_004, "again")
    expect_eq(ended_rows(env, sid), "max_age|DE--21", "no second row")


@test
def test_impersonation_ends_with_its_agent_token(env):
    """An agent token that ends before impersonation_max_age ends the
    session with it: reason agent_token."""
    add_customers(env)
    tok = agent_token(env, new_agent(env, "agenttok"), "pw-pw-pw")
    short = forge(jwt_header(tok), dict(jwt_claims(tok), exp=int(time.time()) + 100),
                  lambda si: sign_rs256(env.key, si))
    a = start(env, short)
    sid = jwt_claims(a["accessToken"])["sid"]
    expect_eq(env.cluster.psql("SELECT coalesce(session_end, '-') FROM agentauth.refresh_tokens "
                               "WHERE family_id = '%s'" % sid), "-", "not ended by the max age")
    end_now(env, sid)
    expect_error(refresh(env, a["refreshToken"]), 401, ERR_004, "refresh after the agent token")
    expect_eq(ended_rows(env, sid), "agent_token|DE--21", "reason agent_token")


@test
def test_impersonation_max_age_setting(env):
    """A pool with impersonation_max_age = 60: tokens and session end 60 s
    after the start."""
    add_customers(env)
    import harness
    pool = harness.Pool(env.workdir, env.binary, env.cluster, env.key, workers=1,
                        extra={"impersonation_max_age": "60"}, name="maxage60")
    try:
        tok = agent_token(env, new_agent(env, "maxage60"), "pw-pw-pw")
        body = json.dumps({"data": {"type": "agent-customer-impersonation-access-tokens",
                                    "attributes": {"customerReference": "DE--22"}}}).encode()
        t0 = int(time.time())
        status, _, out = harness.fcgi_request(pool.sock, {
            "REQUEST_METHOD": "POST", "SCRIPT_NAME": "/auth",
            "PATH_INFO": "/agent-customer-impersonation-access-tokens",
            "CONTENT_TYPE": "application/vnd.api+json", "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1", "HTTP_X_AGENT_AUTHORIZATION": "Bearer " + tok}, body)
        expect_eq(status, 201, "impersonation")
        a = json.loads(out)["data"]["attributes"]
        c = jwt_claims(a["accessToken"])
        expect(t0 + 58 <= c["exp"] <= t0 + 61, "exp 60 s after the start (%d)" % (c["exp"] - t0))
        expect(a["expiresIn"] <= 61, "expiresIn %d" % a["expiresIn"])
    finally:
        pool.stop()


def revoke(env, what, agent_tok):
    return request(env.port, "DELETE", "/auth/refresh-tokens/" + what, None,
                   {"X-Agent-Authorization": "Bearer " + agent_tok})


@test
def test_deleting_an_impersonation_refresh_token_ends_it(env):
    add_customers(env)
    tok = agent_token(env, new_agent(env, "delimp"), "pw-pw-pw")
    a = start(env, tok)
    sid = jwt_claims(a["accessToken"])["sid"]
    expect_eq(revoke(env, a["refreshToken"], tok).status, 204, "DELETE")
    expect_eq(ended_rows(env, sid), "agent|DE--21", "impersonation_ended, reason agent")
    expect_eq(env.cluster.psql("SELECT reason FROM agentauth.audit_events WHERE event = "
                               "'tokens_revoked' AND session_id = '%s'" % sid),
              "DELETE /refresh-tokens/{token}: 1 token(s) of one session", "tokens_revoked row")
    expect_error(refresh(env, a["refreshToken"]), 401, ERR_004, "refresh after the end")
    expect_eq(revoke(env, a["refreshToken"], tok).status, 204, "DELETE again")
    expect_eq(ended_rows(env, sid), "agent|DE--21", "no second row")
    expect_eq(refresh(env, login_tokens(env, "agent@example.com", "agent-pass")[1]).status, 201,
              "other sessions go on")


@test
def test_logout_ends_the_agents_impersonations(env):
    add_customers(env)
    name = new_agent(env, "logout")
    tok, own_rt = login_tokens(env, name, "pw-pw-pw")
    live = [start(env, tok, ref) for ref in ("DE--21", "DE--22")]
    over = start(env, tok, "DE--21")
    over_sid = jwt_claims(over["accessToken"])["sid"]
    end_now(env, over_sid)   # over, and not audited yet (no refresh came)
    expect_eq(revoke(env, "mine", tok).status, 204, "DELETE /refresh-tokens/mine")
    for a, ref in zip(live, ("DE--21", "DE--22")):
        sid = jwt_claims(a["accessToken"])["sid"]
        expect_eq(ended_rows(env, sid), "agent|" + ref, "live session %s ended by the agent" % ref)
        expect_error(refresh(env, a["refreshToken"]), 401, ERR_004, "refresh after logout")
    expect_eq(ended_rows(env, over_sid), "max_age|DE--21",
              "a session over before, not audited yet: its own reason")
    expect_error(refresh(env, own_rt), 401, ERR_004, "the agent's own session")


BLANK = (b'{"errors":[{"code":"901","status":422,"detail":"reason => This value should not be '
         b'blank."}]}')
NOT_VALID = b'{"errors":[{"code":"901","status":422,"detail":"reason => This value is not valid."}]}'


def reason_pool(env, rule, name):
    import harness
    return harness.Pool(env.workdir, env.binary, env.cluster, env.key, workers=1,
                        extra={"impersonation_reason": rule}, name=name)


def on_pool(pool, method, path, doc=None, tok=None):
    """A request to pool (over FastCGI, no web server); returns (status,
    headers, body)."""
    import harness
    body = json.dumps(doc).encode() if doc is not None else b""
    env_ = {"REQUEST_METHOD": method, "SCRIPT_NAME": "/auth", "PATH_INFO": path,
            "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "127.0.0.1"}
    if doc is not None:
        env_["CONTENT_TYPE"] = "application/vnd.api+json"
    if tok is not None:
        env_["HTTP_X_AGENT_AUTHORIZATION"] = "Bearer " + tok
    return harness.fcgi_request(pool.sock, env_, body)


def imp_on(pool, tok, attrs):
    """Impersonation through pool; returns (status, headers, body)."""
    return on_pool(pool, "POST", "/agent-customer-impersonation-access-tokens",
                   {"data": {"type": "agent-customer-impersonation-access-tokens",
                             "attributes": attrs}}, tok)


def refresh_on(pool, rt):
    return on_pool(pool, "POST", "/refresh-tokens",
                   {"data": {"type": "refresh-tokens", "attributes": {"refreshToken": rt}}})


def audited_reasons(env, agent):
    return env.cluster.psql("SELECT count(*) FILTER (WHERE e.event = 'impersonation') || '/' || "
                            "count(*) FILTER (WHERE e.event = 'impersonation_refused') || '/' || "
                            "coalesce(string_agg(e.reason, ',' ORDER BY e.id) FILTER (WHERE "
                            "e.event = 'impersonation'), '') FROM agentauth.audit_events e JOIN "
                            "agentauth.agents a ON a.id = e.agent_id WHERE a.username = '%s'"
                            % agent)


@test
def test_reason_required(env):
    add_customers(env)
    pool = reason_pool(env, "required", "reason-required")
    try:
        agent = new_agent(env, "reasonreq")
        tok = agent_token(env, agent, "pw-pw-pw")
        for what, attrs in (("missing", {"customerReference": "DE--21"}),
                            ("null", {"customerReference": "DE--21", "reason": None}),
                            ("empty", {"customerReference": "DE--21", "reason": ""}),
                            ("white space", {"customerReference": "DE--21",
                                             "reason": " \t\r\n"})):
            status, headers, out = imp_on(pool, tok, attrs)
            expect_eq((status, out), (422, BLANK), what)
            expect_eq(dict(headers).get("Content-Type"), "application/vnd.api+json",
                      what + ": type")
        expect_eq(audited_reasons(env, agent), "0/0/", "a 422 stores and audits nothing")
        status, _, out = imp_on(pool, None, {"customerReference": "DE--21"})
        expect_eq((status, out), (401, ERR_4103), "no token: the gate first, the rule stays unknown")
        status, _, _ = imp_on(pool, tok, {"customerReference": "DE--21", "reason": "called in"})
        expect_eq(status, 201, "a reason")
        expect_eq(audited_reasons(env, agent), "1/0/called in", "in the audit row")
    finally:
        pool.stop()


@test
def test_reason_must_match_the_expression(env):
    add_customers(env)
    pool = reason_pool(env, "^[A-Z]+-[0-9]+", "reason-regex")
    try:
        agent = new_agent(env, "reasonre")
        tok = agent_token(env, agent, "pw-pw-pw")
        status, _, out = imp_on(pool, tok, {"customerReference": "DE--21"})
        expect_eq((status, out), (422, BLANK), "missing")
        for bad in ("ticket 4711", "abc-12", " ABC-12", "ABC-", "ABC-x1"):
            status, _, out = imp_on(pool, tok, {"customerReference": "DE--21", "reason": bad})
            expect_eq((status, out), (422, NOT_VALID), repr(bad))
        status, _, _ = imp_on(pool, tok, {"customerReference": "DE--21",
                                          "reason": "SUP-4711 customer called"})
        expect_eq(status, 201, "a ticket number first")
        expect_eq(audited_reasons(env, agent), "1/0/SUP-4711 customer called", "audit")
        # a customer the agent may not impersonate still gets 4104, after the rule
        status, _, _ = imp_on(pool, tok, {"customerReference": "DE--999", "reason": "SUP-1"})
        expect_eq(status, 401, "unknown customer with a good reason")
    finally:
        pool.stop()


@test
def test_reason_claim(env):
    """impersonation_reason_claim: the reason in the token, at the start and
    after a refresh; off (the default), no such claim."""
    add_customers(env)
    import harness
    pool = harness.Pool(env.workdir, env.binary, env.cluster, env.key, workers=1,
                        extra={"impersonation_reason_claim": "on"}, name="reason-claim")
    try:
        tok = agent_token(env, new_agent(env, "claim"), "pw-pw-pw")
        status, _, out = imp_on(pool, tok, {"customerReference": "DE--21", "reason": "SUP-7 ä"})
        expect_eq(status, 201, "impersonation")
        a = json.loads(out)["data"]["attributes"]
        c = jwt_claims(a["accessToken"])
        expect_eq(c.get("reason"), "SUP-7 ä", "the claim")
        expect_eq(list(c.keys())[-2:], ["sid", "reason"], "after sid")
        status, _, out = refresh_on(pool, a["refreshToken"])
        expect_eq(status, 201, "refresh")
        c = jwt_claims(json.loads(out)["data"]["attributes"]["accessToken"])
        expect_eq(c.get("reason"), "SUP-7 ä", "the claim after a refresh")
        status, _, out = imp_on(pool, tok, {"customerReference": "DE--21"})
        expect("reason" not in jwt_claims(json.loads(out)["data"]["attributes"]["accessToken"]),
               "no reason, no claim")
    finally:
        pool.stop()
    a = start(env, tok, reason="SUP-8")
    expect("reason" not in jwt_claims(a["accessToken"]), "off by default")


def pool_with(env, name, workers=1, **settings):
    import harness
    return harness.Pool(env.workdir, env.binary, env.cluster, env.key, workers=workers,
                        extra={k: str(v) for k, v in settings.items()}, name=name)


def live_impersonations(env, agent):
    return env.cluster.psql("SELECT count(DISTINCT r.family_id) FROM agentauth.refresh_tokens r "
                            "JOIN agentauth.agents a ON a.id = r.agent_id WHERE a.username = "
                            "'%s' AND r.customer_id IS NOT NULL AND r.revoked_at IS NULL AND "
                            "r.used_at IS NULL AND r.expires_at > now()" % agent)


@test
def test_impersonation_single_across_two_pools(env):
    """impersonation_single: a new impersonation ends the agent's live one,
    also when another pool (another host) started it, and parallel
    impersonations of one agent leave exactly one session."""
    add_customers(env)
    one = pool_with(env, "single-1", workers=2, impersonation_single="on")
    two = pool_with(env, "single-2", workers=2, impersonation_single="on")
    try:
        agent = new_agent(env, "single")
        tok = agent_token(env, agent, "pw-pw-pw")
        status, _, out = imp_on(one, tok, {"customerReference": "DE--21"})
        expect_eq(status, 201, "first, on pool 1")
        first = json.loads(out)["data"]["attributes"]
        status, _, out = imp_on(two, tok, {"customerReference": "DE--22"})
        expect_eq(status, 201, "second, on pool 2")
        second = json.loads(out)["data"]["attributes"]
        sid1 = jwt_claims(first["accessToken"])["sid"]
        expect_eq(ended_rows(env, sid1), "replaced|DE--21", "the first ended: replaced")
        expect_eq(refresh_on(one, first["refreshToken"])[0], 401, "the first cannot be refreshed")
        expect_eq(refresh_on(one, second["refreshToken"])[0], 201, "the second goes on")
        expect_eq(live_impersonations(env, agent), "1", "one live session")

        # at once, alternating between the pools (2 workers each): without
        # the agent's row lock two of them commonly miss each other
        import threading
        statuses = []
        go = threading.Barrier(16)

        def one_of_many(i):
            go.wait()
            statuses.append(imp_on(one if i % 2 else two, tok, {"customerReference": "DE--21"})[0])
        threads = [threading.Thread(target=one_of_many, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        expect_eq(sorted(statuses), [201] * 16, "all sixteen started")
        expect_eq(live_impersonations(env, agent), "1", "exactly one live session after sixteen "
                  "parallel impersonations")
        expect_eq(env.cluster.psql("SELECT count(*) FROM agentauth.audit_events e JOIN "
                                   "agentauth.agents a ON a.id = e.agent_id WHERE a.username = "
                                   "'%s' AND e.event = 'impersonation_ended' AND e.reason = "
                                   "'replaced'" % agent), "17", "each replaced one audited once")
    finally:
        one.stop()
        two.stop()
    # off (the default pool): several at once
    agent = new_agent(env, "several")
    tok = agent_token(env, agent, "pw-pw-pw")
    start(env, tok, "DE--21")
    start(env, tok, "DE--22")
    expect_eq(live_impersonations(env, agent), "2", "without the setting, several at once")


def idle_for(env, sid, seconds):
    """Makes session sid look unrefreshed for that long."""
    env.cluster.psql("UPDATE agentauth.refresh_tokens SET created_at = now() - interval "
                     "'%d s' WHERE family_id = '%s' AND used_at IS NULL" % (seconds, sid))


@test
def test_session_idle_timeout(env):
    add_customers(env)
    pool = pool_with(env, "idle", session_idle_timeout=60)
    try:
        agent = new_agent(env, "idle")
        login = {"data": {"type": "agent-access-tokens",
                          "attributes": {"username": agent, "password": "pw-pw-pw"}}}
        status, _, out = on_pool(pool, "POST", "/agent-access-tokens", login)
        expect_eq(status, 201, "login")
        a = json.loads(out)["data"]["attributes"]
        sid = jwt_claims(a["accessToken"])["sid"]
        idle_for(env, sid, 59)
        status, _, out = refresh_on(pool, a["refreshToken"])
        expect_eq(status, 201, "refreshed 59 s after the last refresh")
        rt = json.loads(out)["data"]["attributes"]["refreshToken"]
        idle_for(env, sid, 60)
        status, _, out = refresh_on(pool, rt)
        expect_eq((status, out), (401, ERR_004), "60 s without a refresh: dead")
        expect_eq(env.cluster.psql("SELECT bool_and(revoked_at IS NOT NULL) FROM "
                                   "agentauth.refresh_tokens WHERE family_id = '%s'" % sid), "t",
                  "the family is revoked")
        status, _, _ = imp_on(pool, a["accessToken"], {"customerReference": "DE--21"})
        expect_eq(status, 401, "its agent token is refused with it")

        tok = agent_token(env, agent, "pw-pw-pw")
        status, _, out = imp_on(pool, tok, {"customerReference": "DE--22"})
        expect_eq(status, 201, "an impersonation")
        b = json.loads(out)["data"]["attributes"]
        isid = jwt_claims(b["accessToken"])["sid"]
        idle_for(env, isid, 61)
        expect_eq(refresh_on(pool, b["refreshToken"])[0], 401, "an idle impersonation")
        expect_eq(ended_rows(env, isid), "idle|DE--22", "audited: idle")
    finally:
        pool.stop()
    # the default (0): no limit
    a2, rt2 = login_tokens(env, agent, "pw-pw-pw")
    idle_for(env, jwt_claims(a2)["sid"], 86400)
    expect_eq(refresh(env, rt2).status, 201, "no idle limit by default")



@test
def test_impersonation_single_when_two_overlap(env):
    """Two impersonations of one agent on two pools, both after the agent's
    live session F0: a lock the test holds on F0's tokens for 0.6 s (within
    lock_timeout) makes both reach its end at once, each having looked for
    live sessions before the other committed.  Exactly one session is left:
    the agent's row orders them."""
    import subprocess
    import threading
    from harness import wait_for
    add_customers(env)
    one = pool_with(env, "overlap-1", impersonation_single="on")
    two = pool_with(env, "overlap-2", impersonation_single="on")
    try:
        agent = new_agent(env, "overlap")
        tok = agent_token(env, agent, "pw-pw-pw")
        status, _, out = imp_on(one, tok, {"customerReference": "DE--21"})
        expect_eq(status, 201, "F0")
        f0 = jwt_claims(json.loads(out)["data"]["attributes"]["accessToken"])["sid"]
        expect_eq(on_pool(two, "GET", "/agent-customer-search", None, tok)[0], 200,
                  "pool 2 connected to the database")
        holder = subprocess.Popen(
            ["psql", "-X", "-q", "-h", env.cluster.dir, "-p", str(env.cluster.port), "-U",
             "postgres", "-d", "agentauth", "-c",
             "BEGIN; SELECT 1 FROM agentauth.refresh_tokens WHERE family_id = '%s' FOR UPDATE; "
             "SELECT pg_sleep(0.6); COMMIT;" % f0],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            expect(wait_for(lambda: env.cluster.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND "
                "query LIKE '%FOR UPDATE%' AND pid <> pg_backend_pid()") == "1", 10),
                "F0's tokens are locked")
            statuses = []
            threads = [threading.Thread(target=lambda p=p, ref=ref: statuses.append(
                imp_on(p, tok, {"customerReference": ref})[0]))
                for p, ref in ((one, "DE--22"), (two, "DE--23"))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            holder.wait(10)
        expect_eq(sorted(statuses), [201, 201], "both started")
        expect_eq(live_impersonations(env, agent), "1", "one live session")
        expect_eq(ended_rows(env, f0), "replaced|DE--21", "F0 ended once")
    finally:
        one.stop()
        two.stop()
