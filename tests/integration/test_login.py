"""POST /agent-access-tokens (doc/api.md §2) and the claims of its access token
(§2.3)."""
import hashlib
import json
import re
import time

import jwt  # Debian python3-jwt: an independent verifier

from api import b64e, expect_login_401, jwt_header
from harness import expect, expect_eq, request
from registry import test


def audit_count(env, event="login_failure"):
    return int(env.cluster.psql("SELECT count(*) FROM agentauth.audit_events "
                                "WHERE event = '%s'" % event))


def rfc7638_kid(pub_pem_path):
    """Thumbprint computed without our code: modulus and exponent via openssl."""
    import subprocess
    out = subprocess.run(["openssl", "rsa", "-pubin", "-in", pub_pem_path, "-noout",
                          "-modulus"], capture_output=True, text=True, check=True).stdout
    n = int(out.strip().split("=", 1)[1], 16)
    e = 65537
    def enc(i):
        return b64e(i.to_bytes((i.bit_length() + 7) // 8, "big"))
    canon = '{"e":"%s","kty":"RSA","n":"%s"}' % (enc(e), enc(n))
    return b64e(hashlib.sha256(canon.encode()).digest())


@test
def test_success_201_document_headers_and_token(env):
    before = time.time()
    r = env.login("admin@spryker.com", "change123", headers={"X-Forwarded-For": "2001:db8::10"})
    expect_eq(r.status, 201, "status")
    expect_eq(r.header("Content-Type"), "application/vnd.api+json", "content type")
    expect_eq(r.header("Cache-Control"), "no-store", "cache control")
    expect_eq(r.header("X-Content-Type-Options"), "nosniff", "nosniff")
    expect_eq(int(r.header("Content-Length")), len(r.body), "content length")
    m = re.fullmatch(rb'\{"data":\{"type":"agent-access-tokens","id":null,"attributes":\{'
                     rb'"tokenType":"Bearer","expiresIn":28800,"accessToken":"([^"]+)",'
                     rb'"refreshToken":"([A-Za-z0-9_-]{43})"\},"links":\{"self":"([^"]+)"\}\}\}',
                     r.body)
    expect(m is not None, "201 body shape: %r" % r.body[:300])
    access, refresh, self_link = (g.decode() for g in m.groups())
    expect_eq(self_link, env.url("/auth/agent-access-tokens"), "links.self")
    header = jwt_header(access)
    expect_eq(list(header.items()), [("typ", "JWT"), ("alg", "RS256"),
                                     ("kid", rfc7638_kid(env.pub))], "JOSE header")
    claims = jwt.decode(access, open(env.pub).read(), algorithms=["RS256"],
                        audience="frontend")
    expect_eq(list(claims.keys()), ["aud", "jti", "iat", "nbf", "exp", "sub", "scopes",
                                    "sid"],
              "claim order")
    expect(re.fullmatch(r"[0-9a-f]{80}", claims["jti"]), "jti is 80 hex digits")
    expect(before - 1 <= claims["iat"] <= time.time() + 1, "iat is now")
    expect_eq(claims["nbf"], claims["iat"], "nbf")
    expect_eq(claims["exp"], claims["iat"] + 28800, "exp")
    agent_id = int(env.cluster.psql("SELECT id FROM agentauth.agents "
                                    "WHERE username = 'admin@spryker.com'"))
    expect_eq(claims["sub"], '{"id_company_user":null,"id_agent":%d,"customer_reference":'
              'null,"id_customer":null,"permissions":null}' % agent_id, "sub")
    expect_eq(claims["scopes"], ["agent"], "scopes")
    # stored only as SHA-256, with the refresh lifetime, which the session's
    # (session_max_age, 12 h) caps
    digest = hashlib.sha256(refresh.encode()).hexdigest()
    row = env.cluster.psql("SELECT agent_id, round(extract(epoch FROM expires_at - created_at))"
                           " FROM agentauth.refresh_tokens WHERE token_hash = "
                           "decode('%s', 'hex')" % digest)
    expect_eq(row, "%d|43200" % agent_id, "refresh token row")
    dump = env.cluster.psql("SELECT string_agg(t::text, ' ') FROM agentauth.refresh_tokens t")
    expect(refresh not in dump, "refresh token stored in clear")
    expect_eq(env.cluster.psql("SELECT last_login_at > now() - interval '1 minute' FROM "
                               "agentauth.agents WHERE id = %d" % agent_id), "t", "last_login_at")
    expect_eq(env.cluster.psql("SELECT event || '|' || host(client_ip) FROM agentauth.audit_events "
                               "WHERE agent_id = %d ORDER BY id DESC LIMIT 1" % agent_id),
              "login_success|2001:db8::10", "audit event")


@test
def test_username_ignores_case(env):
    expect_eq(env.login("Admin@Spryker.COM", "change123").status, 201, "status")


@test
def test_each_accepted_hash_scheme_logs_in(env):
    for user, pw in (("agent@example.com", "agent-pass"),        # pgcrypto $2a$
                     ("spryker@example.com", "change123"),       # PHP/Spryker $2y$
                     ("yescrypt@example.com", "yes-pass"),
                     ("sha512@example.com", "sha-pass"),
                     ("long@example.com", "x" * 72)):            # exactly 72 bytes
        expect_eq(env.login(user, pw).status, 201, user)


@test
def test_every_failure_cause_gives_identical_401(env):
    cases = [
        ("wrong password", {"username": "admin@spryker.com", "password": "wrong"}),
        ("unknown username", {"username": "nobody@example.com", "password": "change123"}),
        ("blocked agent", {"username": "blocked@example.com", "password": "blocked-pass"}),
        ("deleted agent", {"username": "deleted@example.com", "password": "deleted-pass"}),
        ("md5 hash refused", {"username": "md5@example.com", "password": "md5-pass"}),
        ("73 bytes against bcrypt", {"username": "long@example.com", "password": "x" * 73}),
        ("username missing", {"password": "change123"}),
        ("password missing", {"username": "admin@spryker.com"}),
        ("both missing", {}),
        ("empty username", {"username": "", "password": "change123"}),
        ("empty password", {"username": "admin@spryker.com", "password": ""}),
        ("whitespace password", {"username": "admin@spryker.com", "password": "   "}),
        ("whitespace username", {"username": "  ", "password": "change123"}),
        ("number password", {"username": "admin@spryker.com", "password": 123}),
        ("null password", {"username": "admin@spryker.com", "password": None}),
        ("array username", {"username": ["admin@spryker.com"], "password": "change123"}),
        ("NUL in password", {"username": "admin@spryker.com", "password": "change123\u0000x"}),
        ("NUL in username", {"username": "admin@spryker.com\u0000", "password": "change123"}),
        ("newline in username", {"username": "admin@spryker.com\n", "password": "change123"}),
        ("tab in password", {"username": "admin@spryker.com", "password": "change\t123"}),
        ("username over 255 bytes", {"username": "a" * 256, "password": "change123"}),
        ("password over 256 bytes", {"username": "admin@spryker.com", "password": "p" * 300}),
    ]
    for what, attrs in cases:
        before = audit_count(env)
        r = request(env.port, "POST", "/auth/agent-access-tokens",
                    {"data": {"type": "agent-access-tokens", "attributes": attrs}})
        expect_login_401(r, what)
        expect_eq(audit_count(env), before + 1, what + ": audit row")


@test
def test_failure_reason_is_audited(env):
    env.login("blocked@example.com", "blocked-pass")
    expect_eq(env.cluster.psql("SELECT reason FROM agentauth.audit_events ORDER BY id DESC "
                               "LIMIT 1"), "agent is blocked", "reason")
    env.login("nobody@example.com", "x")
    expect_eq(env.cluster.psql("SELECT username || '|' || reason FROM agentauth.audit_events "
                               "ORDER BY id DESC LIMIT 1"), "nobody@example.com|unknown username",
              "reason")


@test
def test_password_never_in_logs_or_database(env):
    secret = "Sekrit-Password-%d" % time.time()
    env.login("admin@spryker.com", secret)
    log = open(env.pool.log, errors="replace").read()
    expect(secret not in log, "password in the worker log")
    dump = env.cluster.psql("SELECT string_agg(a::text, ' ') FROM agentauth.audit_events a")
    expect(secret not in dump, "password in the audit table")


@test
def test_query_string_is_echoed_in_self_link(env):
    r = env.login("admin@spryker.com", "change123", path="/auth/agent-access-tokens?x=1&y=%C3%A4")
    expect_eq(r.status, 201, "status")
    expect_eq(r.json()["data"]["links"]["self"],
              env.url("/auth/agent-access-tokens?x=1&y=%C3%A4"), "links.self")


@test
def test_mount_point_all_in_script_name(env):
    r = env.login("admin@spryker.com", "change123", path="/raw/agent-access-tokens")
    expect_eq(r.status, 201, "status")
    expect_eq(r.json()["data"]["links"]["self"], env.url("/raw/agent-access-tokens"),
              "links.self")
    r = env.login("admin@spryker.com", "change123", path="/raw/agent-access-tokens/5")
    expect_eq(r.status, 404, "POST with id under /raw")


@test
def test_content_types_accepted(env):
    body = json.dumps({"data": {"type": "agent-access-tokens", "attributes": {
        "username": "admin@spryker.com", "password": "change123"}}})
    for ct in (None, "application/json", "application/vnd.api+json",
               "application/vnd.api+json; charset=utf-8", "Application/JSON;charset=UTF-8"):
        r = request(env.port, "POST", "/auth/agent-access-tokens", body,
                    {"Content-Type": ct})
        expect_eq(r.status, 201, "Content-Type %r" % ct)


@test
def test_accept_variants(env):
    for accept in (None, "*/*", "application/*", "application/json",
                   "text/html, application/vnd.api+json;q=0.5"):
        r = env.login("admin@spryker.com", "change123", headers={"Accept": accept})
        expect_eq(r.status, 201, "Accept %r" % accept)


@test
def test_long_query_string_is_left_out_of_links(env):
    q = "q=" + "a" * 1500
    r = env.login("admin@spryker.com", "change123", path="/auth/agent-access-tokens?" + q)
    expect_eq(r.status, 201, "status")
    expect_eq(r.json()["data"]["links"]["self"], env.url("/auth/agent-access-tokens"),
              "links.self without a query that does not fit")
