"""Agents search customers and impersonate them (doc/api.md §8, §9; the agent
check of §3.4)."""
import json
import time

from api import ERR_001, ERR_4102, ERR_4103, add_customers, agent_token, expect_error, \
    forge, jwt_claims, jwt_header, sign_rs256
from harness import expect, expect_eq, request
from registry import test

ERR_4104 = b'{"errors":[{"code":"4104","status":401,"detail":"Failed to impersonate a customer."}]}'
BAD_PAGING = b'{"errors":[{"status":400,"detail":"Pagination parameters are invalid."}]}'
SEARCH = "/auth/agent-customer-search"
IMP = "/auth/agent-customer-impersonation-access-tokens"


def search(env, query="", token=None, headers=None):
    h = dict(headers or {})
    if token is not None:
        h["X-Agent-Authorization"] = "Bearer " + token
    return request(env.port, "GET", SEARCH + ("?" + query if query else ""), None, h)


def impersonate(env, attrs, token=None, headers=None, type_="agent-customer-impersonation-access-tokens"):
    h = dict(headers or {})
    if token is not None:
        h["X-Agent-Authorization"] = "Bearer " + token
    return request(env.port, "POST", IMP, {"data": {"type": type_, "attributes": attrs}}, h)


def refs(r):
    return [c["customerReference"] for c in r.json()["data"][0]["attributes"]["customers"]]


@test
def test_search_document_shape(env):
    add_customers(env)
    tok = agent_token(env)
    r = search(env, "q=sonia@acme.com", tok)
    expect_eq(r.status, 200, "status")
    expect_eq(r.header("Content-Type"), "application/vnd.api+json", "type")
    base = env.url(SEARCH)
    want = ('{"data":[{"type":"agent-customer-search","id":null,"attributes":{"customers":['
            '{"customerReference":"DE--21","email":"sonia@acme.com","firstName":"Sonia",'
            '"lastName":"Wagner"}]},"links":{"self":"%s?q=sonia@acme.com"}}],"links":{'
            '"self":"%s?q=sonia@acme.com","last":"%s?q=sonia@acme.com&page[offset]=0&'
            'page[limit]=10","first":"%s?q=sonia@acme.com&page[offset]=0&page[limit]=10"}}'
            % (base, base, base, base))
    expect_eq(r.body.decode(), want, "body")


@test
def test_search_matching(env):
    add_customers(env)
    tok = agent_token(env)
    for q, want in (("q=sonia", ["DE--21"]),                # email prefix and first name
                    ("q=SONIA", ["DE--21"]),                # case
                    ("q=Wag", ["DE--21"]),                  # last name
                    ("q=spenc", ["DE--22"]),                # first name, email
                    ("q=Son", ["DE--21", "DE--23"]),        # two hits, id order; deleted DE--24 not
                    ("q=DE--23", ["DE--23"]),               # exact reference
                    ("q=de--23", []),                       # reference is exact
                    ("q=DE--2", []),                        # no prefix on references
                    ("q=%25", []),                          # % literal, nobody starts with %
                    ("q=100%25_", ["DE--25"]),              # %, _ literal
                    ("q=per%25c", ["DE--25"]),
                    ("q=under_", ["DE--25"]),
                    ("q=under%5C", []),
                    ("q=100%25_real%5Cuser", ["DE--25"]),   # backslash literal
                    ("q=_", []),                            # _ is not a wildcard
                    ("q=anna", ["DE--26"]),
                    ("q=qqqq", []),
                    ("q=gone", [])):                        # deleted customers are not found
        r = search(env, q, tok)
        expect_eq(r.status, 200, q)
        expect_eq(refs(r), want, q)


@test
def test_search_no_match_has_only_self(env):
    add_customers(env)
    r = search(env, "q=qqqq", agent_token(env))
    expect_eq(r.json()["links"], {"self": env.url(SEARCH + "?q=qqqq")}, "links")
    expect_eq(r.json()["data"][0]["attributes"]["customers"], [], "customers")


@test
def test_search_paging(env):
    add_customers(env)
    tok = agent_token(env)
    base = env.url(SEARCH)
    r = search(env, "q=pager", tok)                      # 35 hits, default page size 10
    expect_eq(refs(r), ["PG--%d" % i for i in range(1, 11)], "first page")
    links = r.json()["links"]
    expect_eq(list(links.keys()), ["self", "last", "first", "next"], "links on page 1")
    expect_eq(links["last"], base + "?q=pager&page[offset]=30&page[limit]=10", "last")
    expect_eq(links["next"], base + "?q=pager&page[offset]=10&page[limit]=10", "next")
    r = search(env, "q=pager&page[offset]=20&page[limit]=20", tok)
    expect_eq(refs(r), ["PG--%d" % i for i in range(21, 36)], "the last page, limit 20")
    links = r.json()["links"]
    expect_eq(list(links.keys()), ["self", "last", "first", "prev"], "no next on the last page")
    expect_eq(links["self"], base + "?q=pager&page[offset]=20&page[limit]=20", "self as sent")
    expect_eq(links["prev"], base + "?q=pager&page[offset]=0&page[limit]=20", "prev")
    expect_eq(links["last"], base + "?q=pager&page[offset]=20&page[limit]=20", "last")
    r = search(env, "page%5Blimit%5D=5&q=pager&page%5Boffset%5D=7", tok)
    expect_eq(refs(r), ["PG--%d" % i for i in range(6, 11)], "offset 7 rounds down to 5")
    expect_eq(r.json()["links"]["prev"], base + "?q=pager&page[offset]=0&page[limit]=5",
              "other parameters kept, paging appended")
    r = search(env, "q=pager&page[limit]=5", tok)      # limit alone: both needed
    expect_eq(len(refs(r)), 10, "a limit without an offset is ignored")
    r = search(env, "q=pager&page[offset]=0&page[limit]=1000", tok)
    expect_eq(len(refs(r)), 35, "limit capped at search_max_limit (100)")
    expect_eq(r.json()["links"]["first"], base + "?q=pager&page[offset]=0&page[limit]=100",
              "capped limit in links")
    r = search(env, "q=pager&page[offset]=100&page[limit]=10", tok)
    expect_eq(refs(r), [], "past the end")
    expect_eq(r.json()["links"]["last"], base + "?q=pager&page[offset]=30&page[limit]=10",
              "last past the end")
    r = search(env, "", tok)
    expect_eq(len(refs(r)), 10, "no q: everyone, first page")


@test
def test_search_bad_paging_400(env):
    add_customers(env)
    tok = agent_token(env)
    for q in ("page[offset]=x&page[limit]=10", "page[offset]=0&page[limit]=0",
              "page[offset]=-10&page[limit]=10", "page[offset]=0&page[limit]=-1",
              "page[offset]=1.5&page[limit]=10", "page[offset]=0&page[limit]=ten",
              "page[offset]=10", "page[offset]=&page[limit]=10"):
        r = search(env, q, tok)
        expect_error(r, 400, BAD_PAGING, q)
        expect_eq(r.header("Content-Type"), "application/vnd.api+json", q)
    expect_error(search(env, "page[offset]=x&page[limit]=10"), 400, BAD_PAGING,
                 "paging is checked before the token")


@test
def test_agent_gate_on_both_endpoints(env):
    add_customers(env)
    tok = agent_token(env)
    imp = impersonate(env, {"customerReference": "DE--21"}, tok).json()
    cust = imp["data"]["attributes"]["accessToken"]
    forged = tok[:-4] + ("AAAA" if not tok.endswith("AAAA") else "BBBB")
    cases = [
        ("no token", {}, 401, ERR_4103),
        ("customer (impersonation) token as agent token", {"X-Agent-Authorization": "Bearer " + cust},
         401, ERR_4103),
        ("customer token in Authorization", {"Authorization": "Bearer " + cust}, 401, ERR_4103),
        ("no Bearer scheme", {"X-Agent-Authorization": tok}, 401, ERR_4103),
        ("Basic scheme", {"Authorization": "Basic YTpi"}, 401, ERR_4103),
        ("garbage agent header", {"X-Agent-Authorization": "Bearer garbage"}, 401, ERR_4102),
        ("bad signature agent header", {"X-Agent-Authorization": "Bearer " + forged}, 401,
         ERR_4102),
        ("garbage Authorization", {"Authorization": "Bearer garbage"}, 401, ERR_001),
        ("4102 wins over 001", {"X-Agent-Authorization": "Bearer garbage",
                                "Authorization": "Bearer garbage"}, 401, ERR_4102),
    ]
    for what, headers, status, body in cases:
        expect_error(search(env, "q=sonia", headers=headers), status, body, "search: " + what)
        expect_error(impersonate(env, {"customerReference": "DE--21"}, headers=headers), status,
                     body, "impersonation: " + what)
        expect_eq(search(env, "q=sonia", headers=headers).header("WWW-Authenticate"),
                  'Bearer realm="Access to shop API"', what + ": WWW-Authenticate")
    for what, headers in (("X-Agent-Authorization", {"X-Agent-Authorization": "Bearer " + tok}),
                          ("Authorization", {"Authorization": "Bearer " + tok})):
        expect_eq(search(env, "q=sonia", headers=headers).status, 200, "search via " + what)
        expect_eq(impersonate(env, {"customerReference": "DE--21"}, headers=headers).status, 201,
                  "impersonation via " + what)


@test
def test_blocked_agent_token_stops_working(env):
    add_customers(env)
    name = "gate-%d@example.com" % time.time()
    env.cluster.psql("INSERT INTO agentauth.agents (username, password_hash) VALUES ('%s', "
                     "crypt('pw-pw-pw', gen_salt('bf', 4)))" % name)
    tok = agent_token(env, name, "pw-pw-pw")
    expect_eq(search(env, "q=sonia", tok).status, 200, "active")
    env.cluster.psql("UPDATE agentauth.agents SET status = 'blocked' WHERE username = '%s'" % name)
    expect_error(search(env, "q=sonia", tok), 401, ERR_4102, "blocked agent")



@test
def test_revoked_session_refused_by_the_endpoint_statement(env):
    """One agent token: its check is made by the endpoint's own statement
    (doc/api.md §3.5), which refuses a revoked session with the gate's
    answers (4102 in X-Agent-Authorization, 001 in Authorization) and
    stores and audits nothing."""
    add_customers(env)
    name = "revoked-%d@example.com" % time.time()
    env.cluster.psql("INSERT INTO agentauth.agents (username, password_hash) VALUES ('%s', "
                     "crypt('pw-pw-pw', gen_salt('bf', 4)))" % name)
    tok = agent_token(env, name, "pw-pw-pw")
    expect_eq(impersonate(env, {"customerReference": "DE--21"}, tok).status, 201, "live session")
    env.cluster.psql("SELECT agentauth.revoke_agent_tokens('%s')" % name)

    def stored():
        return env.cluster.psql(
            "SELECT (SELECT count(*) FROM agentauth.refresh_tokens r JOIN agentauth.agents a ON "
            "a.id = r.agent_id WHERE a.username = '%s') || '/' || (SELECT count(*) FROM "
            "agentauth.audit_events WHERE username = '%s' AND event LIKE 'impersonation%%')"
            % (name, name))
    before = stored()
    for what, headers, body in (
            ("X-Agent-Authorization", {"X-Agent-Authorization": "Bearer " + tok}, ERR_4102),
            ("Authorization", {"Authorization": "Bearer " + tok}, ERR_001),
            ("Authorization, Basic X-Agent-Authorization",
             {"Authorization": "Bearer " + tok, "X-Agent-Authorization": "Basic YTpi"}, ERR_001)):
        expect_error(impersonate(env, {"customerReference": "DE--21"}, headers=headers), 401,
                     body, "impersonation, " + what)
        expect_error(search(env, "q=sonia", headers=headers), 401, body, "search, " + what)
        expect_error(search(env, "q=%FF", headers=headers), 401, body,
                     "search for a q that is not text, " + what)
    expect_eq(stored(), before, "no refresh token and no audit row stored")


@test
def test_impersonation_token(env):
    add_customers(env)
    tok = agent_token(env)
    agent_claims = jwt_claims(tok)
    agent_id = json.loads(agent_claims["sub"])["id_agent"]
    r = impersonate(env, {"customerReference": "DE--21", "reason": "ticket #4711"}, tok)
    expect_eq(r.status, 201, "status")
    expect_eq(r.header("Cache-Control"), "no-store", "cache control")
    doc = r.json()["data"]
    expect_eq(list(doc.keys()), ["type", "id", "attributes", "links"], "keys")
    expect_eq((doc["type"], doc["id"]), ("agent-customer-impersonation-access-tokens", None),
              "type, id")
    a = doc["attributes"]
    expect_eq(list(a.keys()), ["tokenType", "expiresIn", "accessToken", "refreshToken"], "attrs")
    expect_eq(doc["links"]["self"], env.url(IMP), "links.self")
    c = jwt_claims(a["accessToken"])
    expect_eq(list(c.keys()), ["aud", "jti", "iat", "nbf", "exp", "sub", "scopes", "act",
                                "sid"],
              "claim order")
    expect_eq(c["sub"], '{"id_company_user":null,"id_agent":null,"customer_reference":"DE--21",'
              '"id_customer":21,"permissions":null}', "sub")
    expect_eq(c["scopes"], ["customer_impersonation", "customer"], "scopes")
    expect_eq(c["act"], {"sub": "agent:%d" % agent_id}, "act")
    expect(c["exp"] <= agent_claims["exp"], "exp not after the agent token's")
    expect_eq(a["expiresIn"], c["exp"] - c["iat"], "expiresIn")
    row = env.cluster.psql("SELECT event, agent_id, customer_id, customer_reference, reason, "
                           "host(client_ip) IS NOT NULL FROM agentauth.audit_events WHERE event = "
                           "'impersonation' ORDER BY id DESC LIMIT 1")
    expect_eq(row, "impersonation|%d|21|DE--21|ticket #4711|t" % agent_id, "audit row")


@test
def test_impersonation_exp_capped_by_agent_token(env):
    add_customers(env)
    tok = agent_token(env)
    # an agent token that ends in 100 s, signed with the service's key
    h = jwt_header(tok)
    c = dict(jwt_claims(tok), exp=int(time.time()) + 100)
    short = forge(h, c, lambda si: sign_rs256(env.key, si))
    r = impersonate(env, {"customerReference": "DE--21"}, short)
    expect_eq(r.status, 201, "status")
    ic = jwt_claims(r.json()["data"]["attributes"]["accessToken"])
    expect_eq(ic["exp"], c["exp"], "exp equals the agent token's")
    expect(r.json()["data"]["attributes"]["expiresIn"] <= 100, "expiresIn")
    # refreshing the session never goes past the agent token either
    r = request(env.port, "POST", "/auth/refresh-tokens", {"data": {
        "type": "refresh-tokens", "attributes": {
            "refreshToken": r.json()["data"]["attributes"]["refreshToken"]}}})
    expect_eq(r.status, 201, "refresh")
    expect(jwt_claims(r.json()["data"]["attributes"]["accessToken"])["exp"] <= c["exp"],
           "refreshed exp not after the agent token's")
    rt = r.json()["data"]["attributes"]["refreshToken"]
    env.cluster.psql("UPDATE agentauth.refresh_tokens SET session_exp = now() - interval '1s' "
                     "WHERE session_exp IS NOT NULL AND used_at IS NULL")
    r = request(env.port, "POST", "/auth/refresh-tokens", {"data": {
        "type": "refresh-tokens", "attributes": {"refreshToken": rt}}})
    expect_eq(r.status, 401, "refresh after the session's end")


ERR_4102_TOO_SOON = (b'{"errors":[{"code":"4102","status":401,"detail":"Agent access token expires '
                     b'too soon."}]}')


@test
def test_impersonation_never_issues_a_dead_token(env):
    """With clock_skew, an agent token whose exp has just passed still passes
    the gate; the impersonation token it would yield (capped at that exp) is
    dead at birth, so it is refused with 401 4102 and nothing is stored."""
    add_customers(env)
    import harness
    skew = harness.Pool(env.workdir, env.binary, env.cluster, env.key, workers=1,
                        extra={"clock_skew": "60"}, name="skew")
    try:
        tok = agent_token(env)
        h = jwt_header(tok)
        body = json.dumps({"data": {"type": "agent-customer-impersonation-access-tokens",
                                    "attributes": {"customerReference": "DE--21"}}}).encode()

        def call(exp):
            agent = forge(h, dict(jwt_claims(tok), exp=exp),
                          lambda si: sign_rs256(env.key, si))
            return harness.fcgi_request(skew.sock, {
                "REQUEST_METHOD": "POST", "SCRIPT_NAME": "/auth",
                "PATH_INFO": "/agent-customer-impersonation-access-tokens",
                "CONTENT_TYPE": "application/vnd.api+json",
                "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "127.0.0.1",
                "HTTP_X_AGENT_AUTHORIZATION": "Bearer " + agent}, body)

        def stored():
            return env.cluster.psql(
                "SELECT (SELECT count(*) FROM agentauth.refresh_tokens WHERE customer_id = 21)"
                " || '/' || (SELECT count(*) FROM agentauth.audit_events WHERE event IN "
                "('impersonation', 'impersonation_refused'))")
        for what, ago in (("exp 5 s ago", 5), ("exp now", 0)):
            before = stored()
            status, headers, out = call(int(time.time()) - ago)
            expect_eq((status, out), (401, ERR_4102_TOO_SOON), what)
            expect_eq(dict(headers).get("WWW-Authenticate"), 'Bearer realm="Access to shop API"',
                      what + ": WWW-Authenticate")
            expect_eq(stored(), before, what + ": no refresh token and no audit row stored")
        # an agent token with time left still works through the skew pool
        exp = int(time.time()) + 30
        status, _, out = call(exp)
        expect_eq(status, 201, "exp in 30 s")
        a = json.loads(out)["data"]["attributes"]
        c = jwt_claims(a["accessToken"])
        expect_eq(c["exp"], exp, "capped at the agent token's exp")
        expect(1 <= a["expiresIn"] <= 30, "expiresIn between 1 and 30: %r" % a["expiresIn"])
    finally:
        skew.stop()


@test
def test_impersonation_refused_4104(env):
    add_customers(env)
    tok = agent_token(env)
    before = int(env.cluster.psql("SELECT count(*) FROM agentauth.audit_events WHERE event = "
                                  "'impersonation_refused'"))
    for what, attrs in (("missing", {}), ("empty", {"customerReference": ""}),
                        ("not a string", {"customerReference": 21}),
                        ("unknown", {"customerReference": "DE--999"}),
                        ("deleted", {"customerReference": "DE--24"}),
                        ("wrong case", {"customerReference": "de--21"})):
        expect_error(impersonate(env, attrs, tok), 401, ERR_4104, what)
    expect_eq(int(env.cluster.psql("SELECT count(*) FROM agentauth.audit_events WHERE event = "
                                   "'impersonation_refused'")), before + 6,
              "every refusal is audited")
    r = impersonate(env, {"customerReference": "DE--21"}, tok, type_="agent-access-tokens")
    expect_error(r, 400, b'{"errors":[{"status":400,"detail":"Invalid type."}]}', "wrong type")
    r = impersonate(env, {"customerReference": "DE--21", "reason": 5}, tok)
    expect_eq(r.status, 400, "reason not a string")


@test
def test_impersonation_consent(env):
    add_customers(env)
    import harness
    consent = harness.Pool(env.workdir, env.binary, env.cluster, env.key, workers=1,
                           extra={"impersonation_requires_consent": "true"}, name="consent")
    try:
        tok = agent_token(env)
        body = lambda ref: json.dumps({"data": {  # noqa: E731
            "type": "agent-customer-impersonation-access-tokens",
            "attributes": {"customerReference": ref}}}).encode()

        def call(ref):
            return harness.fcgi_request(consent.sock, {
                "REQUEST_METHOD": "POST", "SCRIPT_NAME": "/auth",
                "PATH_INFO": "/agent-customer-impersonation-access-tokens",
                "CONTENT_LENGTH": str(len(body(ref))), "REMOTE_ADDR": "127.0.0.1",
                "HTTP_X_AGENT_AUTHORIZATION": "Bearer " + tok}, body(ref))
        expect_eq(call("DE--21")[0], 201, "customer who allows assistance")
        status, _, out = call("DE--23")
        expect_eq((status, out), (401, ERR_4104), "customer without consent")
    finally:
        consent.stop()
    expect_eq(impersonate(env, {"customerReference": "DE--23"}, agent_token(env)).status, 201,
              "consent not required by default")


@test
def test_impersonation_refresh(env):
    add_customers(env)
    name = "imp-refresh-%d@example.com" % time.time()
    env.cluster.psql("INSERT INTO agentauth.agents (username, password_hash) VALUES ('%s', "
                     "crypt('pw-pw-pw', gen_salt('bf', 4)))" % name)
    tok = agent_token(env, name, "pw-pw-pw")
    rt = impersonate(env, {"customerReference": "DE--22"}, tok).json()["data"]["attributes"][
        "refreshToken"]
    r = request(env.port, "POST", "/auth/refresh-tokens",
                {"data": {"type": "refresh-tokens", "attributes": {"refreshToken": rt}}})
    expect_eq(r.status, 201, "refresh")
    a = r.json()["data"]["attributes"]
    c = jwt_claims(a["accessToken"])
    expect_eq(c["scopes"], ["customer_impersonation", "customer"], "still an impersonation token")
    expect_eq(json.loads(c["sub"])["customer_reference"], "DE--22", "same customer")
    expect(c["act"]["sub"].startswith("agent:"), "act kept")
    env.cluster.psql("UPDATE agentauth.agents SET status = 'blocked' WHERE username = '%s'" % name)
    r = request(env.port, "POST", "/auth/refresh-tokens",
                {"data": {"type": "refresh-tokens", "attributes": {"refreshToken":
                                                                   a["refreshToken"]}}})
    expect_eq(r.status, 401, "refresh after the agent is blocked")


@test
def test_impersonation_token_cannot_impersonate(env):
    add_customers(env)
    tok = agent_token(env)
    cust = impersonate(env, {"customerReference": "DE--21"}, tok).json()["data"]["attributes"][
        "accessToken"]
    expect_error(impersonate(env, {"customerReference": "DE--22"}, cust), 401, ERR_4103,
                 "an impersonation token used to impersonate")



def last_offset(r):
    """The page[offset] of the "last" link, None without one."""
    import re
    link = r.json()["links"].get("last")
    return None if link is None else int(re.search(r"page\[offset\]=(\d+)", link).group(1))


@test
def test_search_total_with_and_without_a_count(env):
    """The total behind the "last" link, however it is found: from the
    prefix counts (q of 1 to 3 characters), from a page that is not full
    (first, or not empty: offset + its customers), or counted (a full page,
    an empty page past offset 0); and the exact reference counted once."""
    add_customers(env)
    tok = agent_token(env)
    # (query, customers on the page, last offset); the matches in id order:
    # q=p: DE--25 (Per%cent), PG--1..PG--35 (36); q=pager: PG--1..PG--35 (35)
    for q, page, last in (
            ("q=p&page[offset]=30&page[limit]=10", ["PG--%d" % i for i in range(30, 36)], 30),
            ("q=P&page[offset]=0&page[limit]=100", ["DE--25"] + ["PG--%d" % i for i in
                                                                 range(1, 36)], 0),
            ("q=pa&page[offset]=40&page[limit]=10", [], 30),
            ("q=so", ["DE--21", "DE--23"], 0),               # Sonja is deleted
            ("q=pager&page[offset]=30&page[limit]=10", ["PG--%d" % i for i in range(31, 36)], 30),
            ("q=pager&page[offset]=30&page[limit]=5", ["PG--%d" % i for i in range(31, 36)], 30),
            ("q=pager&page[offset]=35&page[limit]=5", [], 30),
            ("q=pager&page[offset]=0&page[limit]=35", ["PG--%d" % i for i in range(1, 36)], 0),
            ("q=pager&page[offset]=0&page[limit]=36", ["PG--%d" % i for i in range(1, 36)], 0),
            ("q=pager&page[offset]=34&page[limit]=1", ["PG--35"], 34),
            ("q=pagerx&page[offset]=10&page[limit]=10", [], None),
            ("q=number3&page[offset]=0&page[limit]=2", ["PG--3", "PG--30"], 6)):
        r = search(env, q, tok)
        expect_eq(r.status, 200, q)
        expect_eq(refs(r), page, q + ": customers")
        expect_eq(last_offset(r), last, q + ": last link")
    env.cluster.psql("""
        INSERT INTO agentauth.customers (id, customer_reference, email, first_name, last_name,
            allow_assistance, deleted_at) VALUES
         (31, 'zq', 'quentin@acme.com', 'Quentin', 'Xu', true, NULL),
         (32, 'zr', 'zr.mail@acme.com', 'Rita', 'Xu', true, NULL),
         (33, 'zs', 'zs@acme.com', 'Sam', 'Xu', true, now())
        ON CONFLICT (id) DO NOTHING""")
    for q, page in (("q=zq", ["zq"]),          # by its reference only
                    ("q=zr", ["zr"]),          # by reference and email: once
                    ("q=zr&page[offset]=0&page[limit]=1", ["zr"]),
                    ("q=ZQ", []),              # the reference is exact
                    ("q=zs", []),              # deleted
                    ("q=z", ["DE--26", "zr"]),   # Zeta, and zr's email
                    ("q=xu", ["zq", "zr"])):
        r = search(env, q, tok)
        expect_eq(refs(r), page, q + ": customers")
        expect_eq(last_offset(r), 0 if page else None, q + ": last link")


# the prefix counts that agentauth.customer_prefix_counts should hold, made
# here another way: every live customer, each prefix of 1 to 3 characters
# of its lower-case email, first and last name once
COUNTS_DIFFER = r"""
WITH want AS (
    SELECT x.p AS prefix, count(*) AS customers FROM agentauth.customers c,
        LATERAL (SELECT DISTINCT left(lower(v), k) COLLATE "C" AS p
                 FROM unnest(ARRAY[c.email, c.first_name, c.last_name]) v,
                      generate_series(1, 3) k
                 WHERE length(left(lower(v), k)) = k) x
    WHERE c.deleted_at IS NULL GROUP BY x.p),
kept AS (SELECT prefix, customers FROM agentauth.customer_prefix_counts WHERE customers <> 0)
SELECT coalesce(string_agg(d.prefix || ':' || d.customers, ' ' ORDER BY d.prefix), '') FROM (
    (SELECT * FROM kept EXCEPT SELECT * FROM want)
    UNION ALL (SELECT prefix, -customers FROM want EXCEPT SELECT prefix, -customers FROM kept)) d
"""


@test
def test_prefix_counts_follow_every_write(env):
    """Bulk and single INSERT, UPDATE (names, deleted_at, id), DELETE, an
    upsert, with the counting triggers; the search's totals follow; with a
    trigger disabled the search counts instead, and install.sql rebuilds."""
    add_customers(env)
    tok = agent_token(env)
    db = env.cluster.psql

    def total(q):
        r = search(env, q + "&page[offset]=0&page[limit]=1", tok)
        expect_eq(r.status, 200, q)
        last = last_offset(r)
        return 0 if last is None else last + 1
    try:
        base = total("q=zeb")
        steps = (
            ("bulk insert", "INSERT INTO agentauth.customers (id, customer_reference, email, "
             "first_name, last_name) SELECT 5000 + g, 'ZB--' || g, 'c' || g || '@zeb.example', "
             "'Zebulon', 'Zeb' || g FROM generate_series(1, 40) g", 40),
            ("one insert", "INSERT INTO agentauth.customers (id, customer_reference, email, "
             "first_name, last_name) VALUES (5041, 'ZB--41', 'zebra@zeb.example', 'Al', 'Bo')",
             41),
            ("deleted", "UPDATE agentauth.customers SET deleted_at = now() "
             "WHERE id BETWEEN 5001 AND 5005", 36),
            ("undeleted", "UPDATE agentauth.customers SET deleted_at = NULL WHERE id = 5001", 37),
            ("renamed", "UPDATE agentauth.customers SET first_name = 'Yannick', "
             "last_name = 'Yu' WHERE id BETWEEN 5006 AND 5010", 32),
            ("no name changed", "UPDATE agentauth.customers SET allow_assistance = true "
             "WHERE id > 5000", 32),
            ("new ids", "UPDATE agentauth.customers SET id = id + 100 WHERE id > 5030", 32),
            ("upsert", "INSERT INTO agentauth.customers AS c (id, customer_reference, email, "
             "first_name, last_name) SELECT 5000 + g, 'ZB--' || g, 'c' || g || '@zeb.example', "
             "'Zebulon', 'Zeb' || g FROM generate_series(1, 12) g ON CONFLICT (id) DO UPDATE "
             "SET first_name = excluded.first_name, last_name = excluded.last_name, "
             "deleted_at = NULL", 41),
            ("delete", "DELETE FROM agentauth.customers WHERE id IN (5001, 5002, 5141)", 38))
        for what, sql, want in steps:
            db(sql)
            expect_eq(db(COUNTS_DIFFER), "", what + ": counts")
            expect_eq(total("q=zeb"), base + want, what + ": total of q=zeb")
            expect_eq(total("q=ZE"), base + want + 1, what + ": total of q=ZE (and Zeta)")
        # a trigger off: the counts are no longer trusted, the search counts
        db("ALTER TABLE agentauth.customers DISABLE TRIGGER customers_prefix_counts_delete")
        db("DELETE FROM agentauth.customers WHERE id BETWEEN 5003 AND 5010")
        expect(db(COUNTS_DIFFER) != "", "the counts are stale")
        expect_eq(total("q=zeb"), base + 30, "stale counts: the search counts")
        env.cluster.psql_file(env.install)
        expect_eq(db("SELECT string_agg(tgenabled::text, '') FROM pg_trigger WHERE tgrelid = "
                     "'agentauth.customers'::regclass AND tgname LIKE 'customers_prefix%'"),
                  "AAAA", "install.sql turns the triggers on again")
        expect_eq(db(COUNTS_DIFFER), "", "install.sql rebuilt the counts")
        expect_eq(total("q=zeb"), base + 30, "after the rebuild")
    finally:
        db("ALTER TABLE agentauth.customers ENABLE ALWAYS TRIGGER customers_prefix_counts_delete")
        db("DELETE FROM agentauth.customers WHERE id > 5000")
        expect_eq(db(COUNTS_DIFFER), "", "counts after the clean-up")


# ------------------------------------------------------------ round trips
# One statement per search and per impersonation: the agent check of the
# one agent token is made by the endpoint's own statement (doc/api.md §3.5).
# Counted in the server's log, where a role of its own makes the test
# pool's backends log every statement they execute (log_statement = all for
# that role only, without the parameter values).

EXECUTED = r"\[(\d+)\] LOG:  (?:statement|execute [^:]+): (.*)$"


def counting_pool(env):
    """A pool of one worker as the role agentauth_counted, whose executed
    statements the server logs, behind an nginx of its own."""
    import harness
    role = "agentauth_counted"
    if env.cluster.psql("SELECT count(*) FROM pg_roles WHERE rolname = '%s'" % role) == "0":
        env.cluster.psql("CREATE ROLE %s LOGIN IN ROLE agentauth_app" % role)
        env.cluster.psql("ALTER ROLE %s SET log_statement = 'all'" % role)
        env.cluster.psql("ALTER ROLE %s SET log_parameter_max_length = 0" % role)
    pool = harness.Pool(env.workdir, env.binary, env.cluster, env.key, workers=1,
                        extra={"database": env.cluster.conninfo(user=role)},
                        name="pool-counted")
    try:
        nginx = harness.Nginx(env.workdir, pool.sock, name="nginx-counted")
    except Exception:
        pool.stop()
        raise
    return pool, nginx


def executed(env, since):
    """[statement text] that the counted role's backends executed, from the
    server's log after byte offset since."""
    import re
    pids = {int(p) for p in env.cluster.psql(
        "SELECT pid FROM pg_stat_activity WHERE usename = 'agentauth_counted'").split()}
    with open(env.cluster.log, "rb") as f:
        f.seek(since)
        lines = f.read().decode("utf-8", "replace").splitlines()
    found = (re.search(EXECUTED, line) for line in lines)
    return [m.group(2) for m in found if m is not None and int(m.group(1)) in pids]


def count_statements(env, calls, want):
    """Runs calls() and returns the statements executed meanwhile, waiting
    (up to 5 s) until the log holds at least want of them."""
    import os
    from harness import wait_for
    since = os.path.getsize(env.cluster.log)
    calls()
    got = wait_for(lambda: (lambda s: s if len(s) >= want else None)(executed(env, since)), 5)
    return got if got is not None else executed(env, since)


def functions(statements):
    """The agentauth functions the statements call, in order."""
    import re
    return [re.search(r"agentauth\.(\w+)\(", s).group(1) if "agentauth." in s else s
            for s in statements]


@test
def test_one_statement_per_search_and_impersonation(env):
    add_customers(env)
    pool, nginx = counting_pool(env)
    try:
        tok = agent_token(env)
        port = nginx.port

        def get(q, headers):
            return request(port, "GET", SEARCH + "?" + q, None, headers)

        def post(headers):
            return request(port, "POST", IMP, {"data": {
                "type": "agent-customer-impersonation-access-tokens",
                "attributes": {"customerReference": "DE--21"}}}, headers)
        agent = {"X-Agent-Authorization": "Bearer " + tok}
        auth = {"Authorization": "Bearer " + tok}
        # the connection is made and any statement prepared before counting
        expect_eq(get("q=sonia", agent).status, 200, "warm-up search")
        expect_eq(post(agent).status, 201, "warm-up impersonation")

        def common():
            for q in ("q=sonia", "q=a", "q=DE--23", "q=pager&page[offset]=30&page[limit]=10", ""):
                expect_eq(get(q, agent).status, 200, "search %s" % q)
            expect_eq(get("q=sonia", auth).status, 200, "search, token in Authorization")
            for headers in (agent, auth, dict(agent, Authorization="Basic YTpi")):
                expect_eq(post(headers).status, 201, "impersonation")
        got = functions(count_statements(env, common, 9))
        expect_eq(got, ["customer_search"] * 6 + ["impersonate"] * 3,
                  "one statement each, with the agent check in it")

        # the ladder needs the database to choose: the gate asks first
        def two_tokens():
            expect_eq(get("q=sonia", dict(agent, Authorization="Bearer " + tok)).status, 200,
                      "two agent tokens")
        got = functions(count_statements(env, two_tokens, 3))
        expect_eq(got, ["agent_token_valid", "agent_token_valid", "customer_search"],
                  "two agent tokens: each checked, then the search")

        # no search statement to carry the check: the check alone
        def no_search():
            r = get("q=%FF", agent)
            expect_eq((r.status, refs(r)), (200, []), "a q that is not text")
        got = functions(count_statements(env, no_search, 1))
        expect_eq(got, ["agent_token_valid"], "a q that is not text: the agent check alone")
    finally:
        nginx.stop()
        pool.stop()
