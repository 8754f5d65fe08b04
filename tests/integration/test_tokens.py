"""Token lifecycle: refresh with rotation, revocation, the agent gate, JWKS,
health, forged tokens and key rotation (doc/api.md §3–§7, doc/security.md
§1, §3 and §4)."""
import hashlib
import hmac
import json
import os
import subprocess
import threading
import time

import jwt  # Debian python3-jwt: an independent verifier

import harness
from api import ERR_001, ERR_4102, ERR_4103, b64d, b64e, expect_error, forge, jwt_claims, \
    jwt_header, login_tokens, refresh, sign_rs256
from harness import expect, expect_eq, fcgi_request, request, wait_for
from registry import test

ERR_004 = b'{"errors":[{"code":"004","status":401,"detail":"Failed to refresh token."}]}'
ERR_901 = (b'{"errors":[{"code":"901","status":422,"detail":"refreshToken => This value should '
           b'not be blank."}]}')
ERR_002 = b'{"errors":[{"code":"002","status":403,"detail":"Missing access token."}]}'


def revoke(env, what, authorization=None, agent=None):
    h = {}
    if authorization is not None:
        h["Authorization"] = authorization
    if agent is not None:
        h["X-Agent-Authorization"] = agent
    return request(env.port, "DELETE", "/auth/refresh-tokens/" + what, None, h)


@test
def test_refresh_rotates(env):
    access, rt = login_tokens(env)
    r = refresh(env, rt)
    expect_eq(r.status, 201, "status")
    expect_eq(r.header("Cache-Control"), "no-store", "cache control")
    doc = r.json()
    expect_eq(list(doc["data"].keys()), ["type", "id", "attributes", "links"], "keys")
    expect_eq(doc["data"]["type"], "refresh-tokens", "type")
    expect_eq(doc["data"]["id"], None, "id")
    a = doc["data"]["attributes"]
    expect_eq(list(a.keys()), ["tokenType", "expiresIn", "accessToken", "refreshToken"], "attrs")
    expect_eq((a["tokenType"], a["expiresIn"]), ("Bearer", 28800), "token type, expiry")
    expect_eq(doc["data"]["links"]["self"], env.url("/auth/refresh-tokens"), "links.self")
    new = jwt_claims(a["accessToken"])
    old = jwt_claims(access)
    expect_eq((new["sub"], new["scopes"]), (old["sub"], old["scopes"]), "same sub and scopes")
    expect(new["jti"] != old["jti"], "a new jti")
    expect(a["refreshToken"] != rt, "a new refresh token")
    expect_error(refresh(env, rt), 401, ERR_004, "the used token")
    expect_eq(refresh(env, a["refreshToken"]).status, 201, "the successor works")


@test
def test_refresh_blank_token_422(env):
    for attrs in ({}, {"refreshToken": ""}, {"refreshToken": "   "}, {"refreshToken": None},
                  {"refreshToken": 5}):
        r = request(env.port, "POST", "/auth/refresh-tokens",
                    {"data": {"type": "refresh-tokens", "attributes": attrs}})
        expect_error(r, 422, ERR_901, "attributes %r" % attrs)
    r = request(env.port, "POST", "/auth/refresh-tokens",
                {"data": {"type": "agent-access-tokens", "attributes": {"refreshToken": "x"}}})
    expect_eq(r.status, 400, "wrong type")


@test
def test_refresh_refused_004(env):
    access, rt = login_tokens(env)
    cases = [("unknown", "A" * 43), ("an access token", access), ("garbage", "x")]
    _, expired = login_tokens(env)
    env.cluster.psql("UPDATE agentauth.refresh_tokens SET expires_at = now() - interval '1s' "
                     "WHERE token_hash = decode('%s', 'hex')"
                     % hashlib.sha256(expired.encode()).hexdigest())
    cases.append(("expired", expired))
    _, revoked = login_tokens(env)
    a2, _ = login_tokens(env)
    expect_eq(revoke(env, revoked, authorization="Bearer " + a2).status, 204, "revoke")
    cases.append(("revoked", revoked))
    for what, token in cases:
        expect_error(refresh(env, token), 401, ERR_004, what)


@test
def test_refresh_rechecks_agent_status(env):
    name = "refresh-status-%d@example.com" % time.time()
    env.cluster.psql("INSERT INTO agentauth.agents (username, password_hash) VALUES ('%s', "
                     "crypt('pw-pw-pw', gen_salt('bf', 4)))" % name)
    _, rt = login_tokens(env, name, "pw-pw-pw")
    env.cluster.psql("UPDATE agentauth.agents SET status = 'blocked' WHERE username = '%s'" % name)
    expect_error(refresh(env, rt), 401, ERR_004, "blocked agent")


@test
def test_replay_revokes_the_family(env):
    _, rt1 = login_tokens(env)
    rt2 = refresh(env, rt1).json()["data"]["attributes"]["refreshToken"]
    # within the grace period a repeat is refused but revokes nothing
    expect_error(refresh(env, rt1), 401, ERR_004, "repeat within the grace period")
    env.cluster.psql("UPDATE agentauth.refresh_tokens SET used_at = used_at - interval '10s' "
                     "WHERE token_hash = decode('%s', 'hex')"
                     % hashlib.sha256(rt1.encode()).hexdigest())
    before = int(env.cluster.psql("SELECT count(*) FROM agentauth.audit_events "
                                  "WHERE event = 'refresh_replay'"))
    expect_error(refresh(env, rt1), 401, ERR_004, "replay")
    expect_error(refresh(env, rt2), 401, ERR_004, "the successor after the replay")
    expect_eq(int(env.cluster.psql("SELECT count(*) FROM agentauth.audit_events "
                                   "WHERE event = 'refresh_replay'")), before + 1, "audit")


@test
def test_parallel_refresh_of_one_token_succeeds_once(env):
    _, rt = login_tokens(env)
    family = env.cluster.psql("SELECT family_id FROM agentauth.refresh_tokens WHERE token_hash = "
                              "decode('%s', 'hex')" % hashlib.sha256(rt.encode()).hexdigest())
    statuses = []
    lock = threading.Lock()
    start = threading.Event()

    def go():
        start.wait()
        s = refresh(env, rt).status
        with lock:
            statuses.append(s)

    threads = [threading.Thread(target=go) for _ in range(24)]
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join(60)
    expect_eq(statuses.count(201), 1, "201s among %r" % sorted(statuses))
    expect_eq(statuses.count(401), 23, "the others get 401")
    expect_eq(env.cluster.psql("SELECT count(*) FROM agentauth.refresh_tokens WHERE family_id = "
                               "'%s' AND revoked_at IS NULL AND used_at IS NULL" % family), "1",
              "one live successor")


@test
def test_delete_refresh_token(env):
    access, rt = login_tokens(env)
    for hdr in ("authorization", "agent"):
        _, victim = login_tokens(env)
        kw = {hdr: "Bearer " + access}
        r = revoke(env, victim, **kw)
        expect_eq(r.status, 204, "revoke own token via %s" % hdr)
        expect_eq(r.body, b"", "no body")
        expect_error(refresh(env, victim), 401, ERR_004, "revoked token via %s" % hdr)
        expect_eq(env.cluster.psql("SELECT reason FROM agentauth.audit_events WHERE event = "
                                   "'tokens_revoked' ORDER BY id DESC LIMIT 1"),
                  "DELETE /refresh-tokens/{token}: 1 token(s) of one session", "audit")
    expect_eq(revoke(env, "unknown-token", authorization="Bearer " + access).status, 204,
              "unknown token")
    other_access, other_rt = login_tokens(env, "spryker@example.com", "change123")
    expect_eq(revoke(env, other_rt, authorization="Bearer " + access).status, 204,
              "another agent's token")
    expect_eq(refresh(env, other_rt).status, 201, "another agent's token stays valid")


@test
def test_delete_mine_ends_refresh_and_access_tokens(env):
    name = "mine-%d@example.com" % time.time()
    env.cluster.psql("INSERT INTO agentauth.agents (username, password_hash) VALUES ('%s', "
                     "crypt('pw-pw-pw', gen_salt('bf', 4)))" % name)
    a1, r1 = login_tokens(env, name, "pw-pw-pw")
    _, r2 = login_tokens(env, name, "pw-pw-pw")
    expect_eq(revoke(env, "mine", agent="Bearer " + a1).status, 204, "mine")
    for rt in (r1, r2):
        expect_error(refresh(env, rt), 401, ERR_004, "refresh after mine")
    expect_error(revoke(env, "mine", authorization="Bearer " + a1), 401, ERR_001,
                 "the access token after mine")
    expect_error(revoke(env, "mine", agent="Bearer " + a1), 401, ERR_4102,
                 "the access token after mine, as agent header")
    # no clock is compared (doc/security.md §4): a login in the same second
    # works at once, and the revoked tokens stay refused in the seconds after
    revoked_at = int(time.time())
    a3, _ = login_tokens(env, name, "pw-pw-pw")
    expect_eq(revoke(env, "x", authorization="Bearer " + a3).status, 204, "a new login works")
    expect(wait_for(lambda: int(time.time()) > revoked_at, 2), "the clock moves on")
    expect_error(revoke(env, "mine", authorization="Bearer " + a1), 401, ERR_001,
                 "the access token after mine, a second later")
    expect_error(refresh(env, r1), 401, ERR_004, "refresh after mine, a second later")
    a4, _ = login_tokens(env, name, "pw-pw-pw")
    expect_eq(revoke(env, "x", authorization="Bearer " + a4).status, 204,
              "a login a second later works")


@test
def test_delete_auth_errors(env):
    access, _ = login_tokens(env)
    expect_error(revoke(env, "x"), 403, ERR_002, "no token")
    expect_error(revoke(env, "x", authorization="Bearer garbage"), 401, ERR_001, "garbage")
    expect_error(revoke(env, "x", authorization="Basic YWI6Y2Q="), 401, ERR_001, "Basic")
    expect_error(revoke(env, "x", agent="Bearer garbage"), 401, ERR_4102, "garbage agent header")
    expect_error(revoke(env, "x", authorization="Bearer garbage", agent="Bearer garbage"), 401,
                 ERR_4102, "4102 wins over 001")
    expect_eq(revoke(env, "x", authorization="bearer " + access).status, 204,
              "scheme in lower case")
    for path in ("/auth/refresh-tokens/", "/auth/refresh-tokens"):
        r = request(env.port, "DELETE", path, None, {"Authorization": "Bearer " + access})
        expect_error(r, 400, b'{"errors":[{"status":400,"detail":"Resource id is not '
                     b'specified."}]}', path)
    r = request(env.port, "GET", "/auth/refresh-tokens")
    expect_eq((r.status, r.header("Allow")), (405, "POST, DELETE"), "GET")


def forgeries(env):
    """(name, token) pairs that must all be refused."""
    key_pem = open(env.pub, "rb").read()
    good_access, good_refresh = login_tokens(env)
    h = jwt_header(good_access)
    c = jwt_claims(good_access)
    now = int(time.time())
    own = lambda si: sign_rs256(env.key, si)  # noqa: E731
    foreign = os.path.join(env.workdir, "foreign.pem")
    if not os.path.exists(foreign):
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", foreign], check=True, capture_output=True)
    out = []
    for alg in ("none", "None", "NONE"):
        hh = {"typ": "JWT", "alg": alg}
        si = b64e(json.dumps(hh).encode()) + "." + b64e(json.dumps(c).encode())
        out += [("alg %s, no signature" % alg, si + "."),
                ("alg %s, with signature" % alg, si + "." + good_access.split(".")[2])]
    for alg, dig in (("HS256", hashlib.sha256), ("HS384", hashlib.sha384),
                     ("HS512", hashlib.sha512)):
        out.append(("%s keyed with our public key" % alg,
                    forge(dict(h, alg=alg), c, lambda si, d=dig: hmac.new(key_pem, si, d).digest())))
    out += [
        ("foreign RSA key", forge(h, c, lambda si: sign_rs256(foreign, si))),
        ("foreign RSA key, no kid", forge({"typ": "JWT", "alg": "RS256"}, c,
                                          lambda si: sign_rs256(foreign, si))),
        ("unknown kid", forge(dict(h, kid="x" * 43), c, own)),
        ("kid a path", forge(dict(h, kid="../../dev/null"), c, own)),
        ("jku header", forge(dict(h, jku="http://127.0.0.1:1/jwks"), c, own)),
        ("jwk header", forge(dict(h, jwk={"kty": "RSA"}), c, own)),
        ("typ at+jwt", forge(dict(h, typ="at+jwt"), c, own)),
        ("duplicate alg", forge(b'{"typ":"JWT","alg":"HS256","alg":"RS256","kid":"%s"}'
                                % h["kid"].encode(), c, own)),
        ("expired", forge(h, dict(c, exp=now - 1), own)),
        ("exp missing", forge(h, {k: v for k, v in c.items() if k != "exp"}, own)),
        ("exp a string", forge(h, dict(c, exp=str(now + 100)), own)),
        ("exp a float", forge(h, dict(c, exp=now + 100.5), own)),
        ("nbf in the future", forge(h, dict(c, nbf=now + 120), own)),
        ("iat in the future", forge(h, dict(c, iat=now + 120), own)),
        ("wrong aud", forge(h, dict(c, aud="backoffice"), own)),
        ("aud an array", forge(h, dict(c, aud=["frontend"]), own)),
        ("modified payload", good_access.split(".")[0] + "." +
         b64e(json.dumps(dict(c, sub=c["sub"].replace('"id_agent":', '"id_agent":1'))).encode()) +
         "." + good_access.split(".")[2]),
        ("two segments", ".".join(good_access.split(".")[:2])),
        ("four segments", good_access + ".x"),
        ("padded base64", good_access.split(".")[0] + "=." + ".".join(good_access.split(".")[1:])),
        ("a refresh token", good_refresh),
    ]
    return out


@test
def test_forged_tokens_are_refused(env):
    for name, token in forgeries(env):
        expect_error(revoke(env, "x", authorization="Bearer " + token), 401, ERR_001, name)
        expect_error(revoke(env, "x", agent="Bearer " + token), 401, ERR_4102, name + " (agent)")


@test
def test_impersonation_style_customer_token_is_not_an_agent(env):
    access, _ = login_tokens(env)
    h, c = jwt_header(access), jwt_claims(access)
    cust = forge(h, dict(c, scopes=["customer_impersonation", "customer"],
                         sub='{"id_company_user":null,"id_agent":null,"customer_reference":'
                             '"DE--1","id_customer":1,"permissions":null}',
                         act={"sub": "agent:1"}), lambda si: sign_rs256(env.key, si))
    expect_error(revoke(env, "x", authorization="Bearer " + cust), 401, ERR_4103,
                 "customer token on an agent endpoint")


@test
def test_huge_token_does_not_hurt_the_worker(env):
    """nginx refuses header lines over 8 KiB itself; the worker is asked directly."""
    pids = env.pool.worker_pids()
    for size in (8193, 16 << 20):
        status, _, body = fcgi_request(env.pool.sock, {
            "REQUEST_METHOD": "DELETE", "SCRIPT_NAME": "/auth", "PATH_INFO": "/refresh-tokens/x",
            "REMOTE_ADDR": "127.0.0.1", "HTTP_AUTHORIZATION": "Bearer " + "A" * size},
            timeout=30)
        expect_eq((status, body), (401, ERR_001), "%d-byte token" % size)
    expect_eq(sorted(env.pool.worker_pids()), sorted(pids), "no worker died")
    access, _ = login_tokens(env)
    expect_eq(revoke(env, "x", authorization="Bearer " + access).status, 204, "next request")


@test
def test_jwks_document(env):
    r = request(env.port, "GET", "/auth/.well-known/jwks.json")
    expect_eq(r.status, 200, "status")
    expect_eq(r.header("Content-Type"), "application/json", "content type")
    expect_eq(r.header("Cache-Control"), "public, max-age=300", "cache control")
    keys = r.json()["keys"]
    expect_eq(len(keys), 1, "one key")
    k = keys[0]
    expect_eq(sorted(k.keys()), ["alg", "e", "kid", "kty", "n", "use"], "members only public")
    expect_eq((k["kty"], k["use"], k["alg"], k["e"]), ("RSA", "sig", "RS256", "AQAB"), "values")
    expect(len(b64d(k["n"])) * 8 >= 2048, "modulus of at least 2048 bits")
    access, _ = login_tokens(env)
    expect_eq(jwt_header(access)["kid"], k["kid"], "kid of issued tokens")
    # an independent verifier fetches the JWKS and checks the token
    client = jwt.PyJWKClient(env.url("/auth/.well-known/jwks.json"))
    key = client.get_signing_key_from_jwt(access)
    claims = jwt.decode(access, key.key, algorithms=["RS256"], audience="frontend")
    expect_eq(claims["scopes"], ["agent"], "verified by PyJWT against the JWKS")
    r = request(env.port, "POST", "/auth/.well-known/jwks.json", "{}",
                {"Content-Type": "application/json"})
    expect_eq((r.status, r.header("Allow")), (405, "GET"), "POST")


@test
def test_health(env):
    r = request(env.port, "GET", "/auth/health")
    expect_eq((r.status, r.body), (200, b'{"status":"ok"}'), "health")
    expect_eq(r.header("Cache-Control"), "no-store", "cache control")
    expect_eq(r.header("Content-Type"), "application/json", "content type")


@test
def test_no_token_in_clear_in_the_database(env):
    access, rt = login_tokens(env)
    rt2 = refresh(env, rt).json()["data"]["attributes"]["refreshToken"]
    dump = subprocess.run(["pg_dump", "-h", env.cluster.dir, "-p", str(env.cluster.port), "-U",
                           "postgres", "-d", "agentauth", "--data-only"],
                          capture_output=True, text=True, check=True).stdout
    for name, t in (("access token", access), ("refresh token", rt), ("its successor", rt2),
                    ("the access token's signature", access.split(".")[2])):
        expect(t not in dump, name + " found in pg_dump")
    expect(hashlib.sha256(rt.encode()).hexdigest() in dump, "the SHA-256 is what is stored")


@test
def test_key_rotation(env):
    """Publish the next key, switch signing, keep the old key for verification."""
    old_access, _ = login_tokens(env)
    old_kid = jwt_header(old_access)["kid"]
    new_key = os.path.join(env.workdir, "next.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", new_key], check=True, capture_output=True)
    rotated = harness.Pool(env.workdir, env.binary, env.cluster, new_key, workers=1,
                           extra={"public_keys": env.pub}, name="rotated")
    try:
        def call(method, path, auth=None, body=b""):
            params = {"REQUEST_METHOD": method, "SCRIPT_NAME": "/auth", "PATH_INFO": path,
                      "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "example.org",
                      "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json"}
            if auth:
                params["HTTP_AUTHORIZATION"] = "Bearer " + auth
            return fcgi_request(rotated.sock, params, body)
        status, _, body = call("GET", "/.well-known/jwks.json")
        kids = [k["kid"] for k in json.loads(body)["keys"]]
        expect_eq(len(kids), 2, "both keys published")
        expect_eq(kids[1], old_kid, "the old key listed second")
        status, _, _ = call("DELETE", "/refresh-tokens/x", old_access)
        expect_eq(status, 204, "a token signed by the previous key still works")
        login = json.dumps({"data": {"type": "agent-access-tokens", "attributes": {
            "username": "agent@example.com", "password": "agent-pass"}}}).encode()
        status, _, body = call("POST", "/agent-access-tokens", body=login)
        expect_eq(status, 201, "login on the rotated pool")
        new_access = json.loads(body)["data"]["attributes"]["accessToken"]
        expect_eq(jwt_header(new_access)["kid"], kids[0], "new tokens carry the new kid")
        expect(kids[0] != old_kid, "a different kid")
        expect_eq(revoke(env, "x", authorization="Bearer " + new_access).status, 401,
                  "the old pool does not know the new key")
    finally:
        rotated.stop()
    retired = harness.Pool(env.workdir, env.binary, env.cluster, new_key, workers=1,
                           name="retired")
    try:
        status, _, _ = fcgi_request(retired.sock, {
            "REQUEST_METHOD": "DELETE", "SCRIPT_NAME": "/auth", "PATH_INFO": "/refresh-tokens/x",
            "REMOTE_ADDR": "127.0.0.1", "HTTP_AUTHORIZATION": "Bearer " + old_access})
        expect_eq(status, 401, "after the old key is retired its tokens are refused")
    finally:
        retired.stop()
