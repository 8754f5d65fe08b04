"""The HTTP conventions of doc/api.md §1 on the login route, through nginx,
plus raw FastCGI requests for what nginx never sends."""
import json

from api import expect_error
from harness import expect_eq, fcgi_request, request
from registry import test

INVALID = b'{"errors":[{"status":400,"detail":"Post data is invalid."}]}'
BAD_TYPE = b'{"errors":[{"status":400,"detail":"Invalid type."}]}'
NOT_FOUND = b'{"errors":[{"status":404,"detail":"Not Found"}]}'
PATH = "/auth/agent-access-tokens"


def audit_rows(env):
    return int(env.cluster.psql("SELECT count(*) FROM agentauth.audit_events"))


GOOD = '{"data":{"type":"agent-access-tokens","attributes":{"username":"admin@spryker.com","password":"change123"}}}'


@test
def test_malformed_bodies_are_400_post_data_invalid(env):
    cases = [
        ("empty body", b""),
        ("not JSON", b"username=admin"),
        ("trailing garbage", GOOD.encode() + b"xyz"),
        ("second object", GOOD.encode() + b"{}"),
        ("comment", b"/*c*/" + GOOD.encode()),
        ("single quotes", GOOD.replace('"', "'").encode()),
        ("trailing comma", GOOD[:-2].encode() + b",}}"),
        ("duplicate key", b'{"data":{"type":"agent-access-tokens","attributes":{"username":"a",'
                          b'"username":"admin@spryker.com","password":"change123"}}}'),
        ("duplicate data", b'{"data":{},"data":' + GOOD[8:].encode()),
        ("nesting deeper than 8", b'{"data":{"type":"agent-access-tokens","attributes":{"x":'
                                  + b"[" * 9 + b"]" * 9 + b"}}}"),
        ("invalid UTF-8", GOOD.replace("change123", "\udcff").encode("utf-8", "surrogateescape")),
        ("overlong UTF-8", GOOD.encode().replace(b"change123", b"\xc0\xaf")),
        ("lone surrogate escape", GOOD.replace("change123", "\\ud800").encode()),
        ("raw NUL", GOOD.encode().replace(b"change123", b"change\x00123")),
        ("scalar body", b"5"),
        ("string body", b'"x"'),
        ("array body", b"[" + GOOD.encode() + b"]"),
        ("NaN", b'{"data":NaN}'),
        ("missing data", b'{"type":"agent-access-tokens"}'),
        ("data not an object", b'{"data":[]}'),
        ("missing type", b'{"data":{"attributes":{"username":"a","password":"b"}}}'),
        ("missing attributes", b'{"data":{"type":"agent-access-tokens"}}'),
        ("attributes null", b'{"data":{"type":"agent-access-tokens","attributes":null}}'),
        ("attributes array", b'{"data":{"type":"agent-access-tokens","attributes":[]}}'),
    ]
    before = audit_rows(env)
    for what, body in cases:
        r = request(env.port, "POST", PATH, body, {"Content-Type": "application/vnd.api+json"})
        expect_error(r, 400, INVALID, what)
    expect_eq(audit_rows(env), before, "no database write for malformed bodies")


@test
def test_wrong_type_is_400_invalid_type(env):
    for t in ("access-tokens", "agent-access-token", "", 5, None):
        body = {"data": {"type": t, "attributes": {"username": "admin@spryker.com",
                                                   "password": "change123"}}}
        expect_error(request(env.port, "POST", PATH, body), 400, BAD_TYPE, "type %r" % (t,))


@test
def test_unknown_path_404(env):
    for path in ("/auth/nope", "/auth/", "/auth/agent-access-tokens/x/y", "/auth/agent-access"):
        expect_error(request(env.port, "POST", path, GOOD,
                             {"Content-Type": "application/json"}), 404, NOT_FOUND, path)


@test
def test_post_with_id_404(env):
    expect_error(request(env.port, "POST", PATH + "/x", GOOD,
                         {"Content-Type": "application/json"}), 404, NOT_FOUND, "POST with id")


@test
def test_wrong_method_405_with_allow(env):
    for method in ("GET", "DELETE", "PUT", "PATCH"):
        r = request(env.port, method, PATH)
        expect_error(r, 405, b'{"errors":[{"status":405,"detail":"Method Not Allowed"}]}',
                     method)
        expect_eq(r.header("Allow"), "POST", method + ": Allow")


@test
def test_unacceptable_accept_406(env):
    for accept in ("text/html", "application/xml, text/plain",
                   "application/vnd.api+json; ext=bulk", "application/json;q=0"):
        r = request(env.port, "POST", PATH, GOOD, {"Accept": accept,
                                                   "Content-Type": "application/json"})
        expect_error(r, 406, b'{"errors":[{"status":406,"detail":"Not acceptable."}]}', accept)


@test
def test_unsupported_content_type_415(env):
    for ct in ("text/plain", "application/x-www-form-urlencoded", "application/xml",
               "application/vnd.api+json; ext=bulk", "application/json; charset=latin1"):
        r = request(env.port, "POST", PATH, GOOD, {"Content-Type": ct})
        expect_error(r, 415, b'{"errors":[{"status":415,"detail":"Unsupported media type."}]}',
                     ct)


@test
def test_cross_site_requests_carry_no_credential(env):
    """What stops cross-site posts is not the 415 of text/plain: agentauth
    sets no cookie and sends no CORS header, so a page on another site can
    neither add the Authorization header nor read an answer."""
    evil = {"Origin": "https://evil.example"}

    def no_cookie_no_cors(r, what):
        names = [k.lower() for k, _ in r.headers]
        expect_eq([n for n in names if n == "set-cookie" or n.startswith("access-control-")],
                  [], what + ": no Set-Cookie, no Access-Control-*")

    r = request(env.port, "POST", PATH, GOOD, dict(evil, **{"Content-Type": "application/json"}))
    expect_eq(r.status, 201, "login")
    no_cookie_no_cors(r, "login")
    # the preflight a cross-site script needs for X-Agent-Authorization
    r = request(env.port, "OPTIONS", "/auth/agent-customer-impersonation-access-tokens", None,
                dict(evil, **{"Access-Control-Request-Method": "POST",
                              "Access-Control-Request-Headers": "x-agent-authorization"}))
    expect_eq(r.status, 405, "preflight")
    no_cookie_no_cors(r, "preflight")
    # a no-cors post with a Blob body carries no Content-Type at all: accepted
    # as JSON, but without a bearer header nobody is acting
    body = b'{"data":{"type":"agent-customer-impersonation-access-tokens",' \
           b'"attributes":{"customerReference":"DE--21"}}}'
    r = request(env.port, "POST", "/auth/agent-customer-impersonation-access-tokens", body,
                dict(evil, **{"Content-Type": None}))
    expect_error(r, 401, b'{"errors":[{"code":"4103","status":401,"detail":"Action is available '
                 b'to agent user only."}]}', "cross-site impersonation without a token")
    no_cookie_no_cors(r, "cross-site impersonation")


@test
def test_body_over_limit_413(env):
    before = audit_rows(env)
    big = '{"data":{"type":"agent-access-tokens","attributes":{"username":"admin@spryker.com",' \
          '"password":"%s"}}}' % ("x" * 17000)
    r = request(env.port, "POST", PATH, big, {"Content-Type": "application/json"})
    expect_error(r, 413, b'{"errors":[{"status":413,"detail":"Request body is too large."}]}',
                 "17 kB body")
    expect_eq(audit_rows(env), before, "no database write")
    # the worker that refused it still answers
    r = request(env.port, "POST", PATH, GOOD, {"Content-Type": "application/json"})
    expect_eq(r.status, 201, "next request")


def fcgi(env, content_length, stdin):
    params = {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/auth",
              "PATH_INFO": "/agent-access-tokens", "CONTENT_TYPE": "application/json",
              "REMOTE_ADDR": "127.0.0.1", "SERVER_PORT": "80", "HTTP_HOST": "example.org"}
    if content_length is not None:
        params["CONTENT_LENGTH"] = content_length
    return fcgi_request(env.pool.sock, params, stdin)


@test
def test_raw_fastcgi_content_length_must_match(env):
    body = GOOD.encode()
    before = audit_rows(env)
    for what, cl in (("longer than sent", str(len(body) + 10)),
                     ("shorter than sent", str(len(body) - 10)),
                     ("negative", "-5"), ("plus sign", "+%d" % len(body)),
                     ("trailing space", "%d " % len(body)), ("not a number", "abc"),
                     ("huge", "99999999999999999999"), ("missing with a body", None)):
        status, headers, out = fcgi(env, cl, body)
        want = 413 if what == "huge" else 400
        expect_eq(status, want, what + ": status")
        expect_eq(headers.get("Content-Type"), "application/vnd.api+json", what + ": type")
        expect_eq(int(headers.get("Content-Length")), len(out), what + ": length")
    expect_eq(audit_rows(env), before, "no database write")
    status, headers, out = fcgi(env, str(len(body)), body)
    expect_eq(status, 201, "matching length")
    expect_eq(json.loads(out)["data"]["links"]["self"],
              "http://example.org/auth/agent-access-tokens", "links.self from HTTP_HOST")


@test
def test_raw_fastcgi_non_default_port_in_links(env):
    params = {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/auth",
              "PATH_INFO": "/agent-access-tokens", "CONTENT_LENGTH": str(len(GOOD)),
              "REMOTE_ADDR": "::ffff:127.0.0.1", "SERVER_PORT": "8443", "HTTPS": "on",
              "HTTP_HOST": "shop.example"}
    status, _, out = fcgi_request(env.pool.sock, params, GOOD.encode())
    expect_eq(status, 201, "status")
    expect_eq(json.loads(out)["data"]["links"]["self"],
              "https://shop.example:8443/auth/agent-access-tokens", "links.self")
    expect_eq(env.cluster.psql("SELECT host(client_ip) FROM agentauth.audit_events ORDER BY id DESC "
                               "LIMIT 1"), "127.0.0.1", "IPv4-mapped address normalised")
