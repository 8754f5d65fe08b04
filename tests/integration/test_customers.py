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
