"""Token lifecycle: refresh with rotation, revocation, the agent gate, JWKS,
health, forged tokens, key rotation, and ES256 and EdDSA signing keys beside
RS256 (doc/api.md §2.3, §3–§7, doc/security.md §1, §3 and §4)."""
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import threading
import time

import jwt  # Debian python3-jwt: an independent verifier
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

import harness
from api import ERR_001, ERR_004, ERR_4102, ERR_4103, LOGIN, add_customers, agent_token, b64d, \
    b64e, expect_error, forge, jwt_claims, jwt_header, login_tokens, refresh, sign_rs256
from harness import expect, expect_eq, fcgi_request, request, wait_for
from registry import test

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


# ------------------------------------------ ES256 and EdDSA keys beside RS256
#
# Each test starts agentauth pools of its own (harness.Pool) behind nginx
# (harness.Nginx) on the shared database, with EC P-256 and Ed25519 keys made
# by openssl genpkey, and checks them over HTTP: the JWKS, the login, the
# gated endpoints, and the tokens with PyJWT (an independent verifier).

GENPKEY = {
    "RS256": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    "ES256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "EdDSA": ["-algorithm", "ED25519"],
    "P-384": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
    "secp256k1": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"],
}


def make_key(env, kind, name=None):
    """The path of a PEM private key of kind (a key of GENPKEY) in the work
    directory, made by openssl genpkey once per name."""
    path = os.path.join(env.workdir, "key-%s.pem" % (name or kind))
    if not os.path.exists(path):
        subprocess.run(["openssl", "genpkey"] + GENPKEY[kind] + ["-out", path], check=True,
                       capture_output=True)
    return path


def public_pem(env, key):
    """The public key of the PEM private key at key, as a PEM file."""
    path = key[:-4] + ".pub.pem"
    if not os.path.exists(path):
        subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", path], check=True,
                       capture_output=True)
    return path


class Service:
    """An agentauth pool of its own (one worker) behind its own nginx, with
    the signing key key and the verification keys public_keys; on the
    shared database, so the agents of run.py log in."""

    def __init__(self, env, name, key, public_keys=()):
        extra = {"public_keys": ", ".join(public_keys)} if public_keys else None
        self.pool = harness.Pool(env.workdir, env.binary, env.cluster, key, workers=1,
                                 extra=extra, name=name)
        try:
            self.nginx = harness.Nginx(env.workdir, self.pool.sock, name="nginx-" + name)
        except Exception:
            self.pool.stop()
            raise
        self.port = self.nginx.port

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def jwks(self):
        r = request(self.port, "GET", "/auth/.well-known/jwks.json")
        expect_eq(r.status, 200, "JWKS status")
        return r.json()["keys"]

    def login(self, user="agent@example.com", pw="agent-pass"):
        """(access token, refresh token) of a login, which must answer 201."""
        r = request(self.port, "POST", LOGIN, {"data": {"type": "agent-access-tokens",
                                                       "attributes": {"username": user,
                                                                      "password": pw}}})
        expect_eq(r.status, 201, "login status")
        a = r.json()["data"]["attributes"]
        return a["accessToken"], a["refreshToken"]

    def revoke_status(self, token, header="Authorization"):
        """The status of DELETE /refresh-tokens/x with token in header: 204
        when the agent gate accepts the token."""
        return request(self.port, "DELETE", "/auth/refresh-tokens/x", None,
                       {header: "Bearer " + token}).status

    def stop(self):
        self.nginx.stop()
        expect_eq(self.pool.stop(), 0, "pool exit status")


def sign_es256(key_path, signing_input):
    """An ES256 signature (R||S, RFC 7518 §3.4) by the PEM key at key_path."""
    key = serialization.load_pem_private_key(open(key_path, "rb").read(), None)
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def sign_es256_der(key_path, signing_input):
    """The same ECDSA signature in DER, as OpenSSL makes it (not JWS)."""
    key = serialization.load_pem_private_key(open(key_path, "rb").read(), None)
    return key.sign(signing_input, ec.ECDSA(hashes.SHA256()))


def sign_eddsa(key_path, signing_input):
    """An Ed25519 signature by the PEM key at key_path."""
    key = serialization.load_pem_private_key(open(key_path, "rb").read(), None)
    return key.sign(signing_input)


SIGNERS = {"RS256": sign_rs256, "ES256": sign_es256, "EdDSA": sign_eddsa}

JWK_MEMBERS = {
    "RS256": ["kty", "use", "alg", "kid", "n", "e"],
    "ES256": ["kty", "use", "alg", "kid", "crv", "x", "y"],
    "EdDSA": ["kty", "use", "alg", "kid", "crv", "x"],
}


def thumbprint(jwk):
    """The RFC 7638 thumbprint of jwk, computed here (required members in
    lexicographic order, no white space)."""
    required = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"),
                "OKP": ("crv", "kty", "x")}[jwk["kty"]]
    text = json.dumps({m: jwk[m] for m in required}, separators=(",", ":"), sort_keys=True)
    return b64e(hashlib.sha256(text.encode()).digest())


def expect_jwk(jwk, alg, what):
    """jwk is a public JWK of alg: its members in order, their values, the
    kid its thumbprint."""
    expect_eq(list(jwk.keys()), JWK_MEMBERS[alg], what + ": members")
    expect_eq((jwk["use"], jwk["alg"]), ("sig", alg), what + ": use, alg")
    if alg == "ES256":
        expect_eq((jwk["kty"], jwk["crv"]), ("EC", "P-256"), what + ": kty, crv")
        expect_eq((len(b64d(jwk["x"])), len(b64d(jwk["y"]))), (32, 32), what + ": x, y")
    elif alg == "EdDSA":
        expect_eq((jwk["kty"], jwk["crv"]), ("OKP", "Ed25519"), what + ": kty, crv")
        expect_eq(len(b64d(jwk["x"])), 32, what + ": x")
    else:
        expect_eq(jwk["kty"], "RSA", what + ": kty")
    expect_eq(jwk["kid"], thumbprint(jwk), what + ": kid is the RFC 7638 thumbprint")


def pyjwt_verify(svc, token, alg):
    """The claims of token, verified by PyJWT with the key that PyJWKClient
    fetched from svc's JWKS over HTTP for the token's kid, allowing alg
    only; and PyJWT refuses it when only the other algorithms are allowed."""
    key = jwt.PyJWKClient(svc.url("/auth/.well-known/jwks.json")).get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=[alg], audience="frontend")
    others = [a for a in SIGNERS if a != alg]
    try:
        jwt.decode(token, key.key, algorithms=others, audience="frontend")
    except jwt.InvalidTokenError:
        pass
    else:
        raise AssertionError("PyJWT accepted a %s token allowing only %s" % (alg, others))
    return claims


def check_signing_kind(env, alg):
    """agentauth with a signing key of alg: the JWKS, login, the token's
    header and signature, PyJWT, the gated endpoints, refresh and
    impersonation; tokens of the main (RS256) pool are refused, and this
    one's by the main pool."""
    key = make_key(env, alg)
    add_customers(env)
    svc = Service(env, "signs-" + alg.lower(), key)
    try:
        keys = svc.jwks()
        expect_eq(len(keys), 1, "one key published")
        expect_jwk(keys[0], alg, "JWKS")
        access, rt = svc.login()
        expect_eq(b64d(access.split(".")[0]), b'{"typ":"JWT","alg":"%s","kid":"%s"}'
                  % (alg.encode(), keys[0]["kid"].encode()), "JOSE header, exact bytes")
        expect_eq(len(b64d(access.split(".")[2])), 64, "signature bytes")
        claims = pyjwt_verify(svc, access, alg)
        expect_eq(claims["scopes"], ["agent"], "claims verified by PyJWT")
        # the gated endpoints accept it
        expect_eq(svc.revoke_status(access), 204, "DELETE /refresh-tokens/x, Authorization")
        expect_eq(svc.revoke_status(access, "X-Agent-Authorization"), 204,
                  "DELETE /refresh-tokens/x, X-Agent-Authorization")
        r = request(svc.port, "GET", "/auth/agent-customer-search?q=sonia", None,
                    {"X-Agent-Authorization": "Bearer " + access})
        expect_eq(r.status, 200, "search status")
        expect_eq([c["customerReference"] for c in r.json()["data"][0]["attributes"]["customers"]],
                  ["DE--21"], "search result")
        r = request(svc.port, "POST", "/auth/agent-customer-impersonation-access-tokens",
                    {"data": {"type": "agent-customer-impersonation-access-tokens",
                              "attributes": {"customerReference": "DE--21"}}},
                    {"X-Agent-Authorization": "Bearer " + access})
        expect_eq(r.status, 201, "impersonation status")
        cust = r.json()["data"]["attributes"]["accessToken"]
        expect_eq(jwt_header(cust)["alg"], alg, "impersonation token alg")
        expect_eq(pyjwt_verify(svc, cust, alg)["scopes"], ["customer_impersonation", "customer"],
                  "impersonation token verified by PyJWT")
        r = refresh(svc, rt)
        expect_eq(r.status, 201, "refresh status")
        fresh = r.json()["data"]["attributes"]["accessToken"]
        expect_eq(jwt_header(fresh)["alg"], alg, "refreshed token alg")
        pyjwt_verify(svc, fresh, alg)
        # tokens of other keys are refused, both ways
        expect_error(request(svc.port, "DELETE", "/auth/refresh-tokens/x", None,
                             {"Authorization": "Bearer " + agent_token(env)}), 401, ERR_001,
                     "an RS256 token of the main pool")
        expect_error(revoke(env, "x", authorization="Bearer " + access), 401, ERR_001,
                     "this %s token at the main pool" % alg)
        h, c = jwt_header(access), jwt_claims(access)
        forged = [("one signature byte changed", access[:-2] + ("AA" if access[-2:] != "AA"
                                                               else "BA"))]
        if alg == "ES256":
            forged.append(("the signature in DER form", forge(h, c, lambda si: sign_es256_der(
                key, si))))
        forged.append(("signed by another %s key" % alg, forge(h, c, lambda si: SIGNERS[alg](
            make_key(env, alg, alg + "-other"), si))))
        for what, tok in forged:
            expect_error(request(svc.port, "DELETE", "/auth/refresh-tokens/x", None,
                                 {"Authorization": "Bearer " + tok}), 401, ERR_001, what)
        # the control: re-signed with the right key, the same claims pass
        expect_eq(svc.revoke_status(forge(h, c, lambda si: SIGNERS[alg](key, si))), 204,
                  "re-signed with the configured key")
    finally:
        svc.stop()


@test
def test_es256_signing_key(env):
    check_signing_kind(env, "ES256")


@test
def test_eddsa_signing_key(env):
    check_signing_kind(env, "EdDSA")


@test
def test_rotation_across_algorithms(env):
    """RS256 -> ES256 -> EdDSA: during each overlap the tokens of both keys
    pass; a header whose alg is not its kid's key's algorithm never does."""
    ec_key, ed_key = make_key(env, "ES256"), make_key(env, "EdDSA")
    rsa_access, _ = login_tokens(env)
    rsa_kid = jwt_header(rsa_access)["kid"]
    svc = Service(env, "rotate-es256", ec_key, [env.pub])     # step 2: ES256 signs
    try:
        keys = svc.jwks()
        expect_eq([k["alg"] for k in keys], ["ES256", "RS256"], "the new key first")
        expect_eq(keys[1]["kid"], rsa_kid, "the old key second")
        for k, a in zip(keys, ("ES256", "RS256")):
            expect_jwk(k, a, "JWKS " + a)
        ec_access, _ = svc.login()
        expect_eq(jwt_header(ec_access)["kid"], keys[0]["kid"], "new tokens: the EC kid")
        for what, tok in (("ES256 token", ec_access), ("RS256 token of the old key", rsa_access)):
            expect_eq(svc.revoke_status(tok), 204, "overlap: " + what)
            expect_eq(svc.revoke_status(tok, "X-Agent-Authorization"), 204,
                      "overlap, agent header: " + what)
        pyjwt_verify(svc, ec_access, "ES256")
        pyjwt_verify(svc, rsa_access, "RS256")
        ec_kid = keys[0]["kid"]
        c = jwt_claims(ec_access)
        t = lambda h, s: forge(h, c, s)  # noqa: E731
        rs = lambda si: sign_rs256(env.key, si)  # noqa: E731
        es = lambda si: sign_es256(ec_key, si)  # noqa: E731
        cross = [
            ("alg ES256, kid of the RSA key, RS256 signature",
             t({"typ": "JWT", "alg": "ES256", "kid": rsa_kid}, rs)),
            ("alg RS256, kid of the EC key, ES256 signature",
             t({"typ": "JWT", "alg": "RS256", "kid": ec_kid}, es)),
            ("alg ES256, no kid, RS256 signature", t({"typ": "JWT", "alg": "ES256"}, rs)),
            ("alg RS256, no kid, ES256 signature", t({"typ": "JWT", "alg": "RS256"}, es)),
            ("alg EdDSA, kid of the RSA key, RS256 signature",
             t({"typ": "JWT", "alg": "EdDSA", "kid": rsa_kid}, rs)),
            ("alg EdDSA, no kid, ES256 signature", t({"typ": "JWT", "alg": "EdDSA"}, es)),
            ("alg ES384, kid of the EC key", t({"typ": "JWT", "alg": "ES384", "kid": ec_kid}, es)),
            ("alg HS256 keyed with the EC public PEM",
             t({"typ": "JWT", "alg": "HS256", "kid": ec_kid}, lambda si: hmac.new(
                 open(public_pem(env, ec_key), "rb").read(), si, hashlib.sha256).digest())),
            ("alg none", t({"typ": "JWT", "alg": "none"}, lambda si: b"")),
        ]
        for what, tok in cross:
            expect_error(request(svc.port, "DELETE", "/auth/refresh-tokens/x", None,
                                 {"Authorization": "Bearer " + tok}), 401, ERR_001, what)
        # the controls: the same claims under each key's own alg, with and
        # without kid, pass
        for what, tok in (("ES256, kid", t({"typ": "JWT", "alg": "ES256", "kid": ec_kid}, es)),
                          ("ES256, no kid", t({"typ": "JWT", "alg": "ES256"}, es)),
                          ("RS256, kid", t({"typ": "JWT", "alg": "RS256", "kid": rsa_kid}, rs)),
                          ("RS256, no kid", t({"typ": "JWT", "alg": "RS256"}, rs))):
            expect_eq(svc.revoke_status(tok), 204, "control " + what)
    finally:
        svc.stop()
    # EdDSA signs, ES256 and RS256 (as a public key file) still verify
    svc = Service(env, "rotate-eddsa", ed_key, [public_pem(env, ec_key), env.pub])
    try:
        keys = svc.jwks()
        expect_eq([k["alg"] for k in keys], ["EdDSA", "ES256", "RS256"], "three kinds")
        ed_access, _ = svc.login()
        for what, tok, alg in (("EdDSA", ed_access, "EdDSA"), ("ES256", ec_access, "ES256"),
                               ("RS256", rsa_access, "RS256")):
            expect_eq(svc.revoke_status(tok), 204, "three kinds: " + what)
            pyjwt_verify(svc, tok, alg)
    finally:
        svc.stop()
    # the older keys retired
    svc = Service(env, "rotate-retired", ed_key)
    try:
        expect_eq([k["alg"] for k in svc.jwks()], ["EdDSA"], "one key left")
        expect_eq(svc.revoke_status(ed_access), 204, "EdDSA token")
        for what, tok in (("ES256", ec_access), ("RS256", rsa_access)):
            expect_error(request(svc.port, "DELETE", "/auth/refresh-tokens/x", None,
                                 {"Authorization": "Bearer " + tok}), 401, ERR_001,
                         "retired: " + what)
    finally:
        svc.stop()


@test
def test_other_curves_refused_at_start(env):
    """Only P-256 among EC keys: a P-384 or secp256k1 key stops start-up
    with the curve named, as private_key and in public_keys."""
    for kind, curve in (("P-384", "secp384r1"), ("secp256k1", "secp256k1")):
        bad = make_key(env, kind)
        want = "the EC key is on curve %s; only P-256 (ES256) is supported" % curve
        for what, conf in (("private_key", "private_key = %s\n" % bad),
                           ("public_keys", "private_key = %s\npublic_keys = %s\n"
                            % (env.key, public_pem(env, bad)))):
            path = os.path.join(env.workdir, "curve.conf")
            with open(path, "w") as f:
                f.write(conf)
            e = {k: v for k, v in os.environ.items() if not k.startswith("AGENTAUTH_")}
            r = subprocess.run([env.binary, "--config", path, "--check-config"],
                               capture_output=True, text=True, env=e)
            expect_eq(r.returncode, 1, "%s %s: exit status" % (kind, what))
            expect(want in r.stderr, "%s %s: %r" % (kind, what, r.stderr))


JOSE_SCRIPT = r"""
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
let text = "";
for await (const chunk of process.stdin) text += chunk;
const input = JSON.parse(text);
// jose as NODE_PATH finds it: an ES module (jose 5, 6) or CommonJS (jose 4)
const m = await import(pathToFileURL(createRequire(import.meta.url).resolve("jose")).href);
const jose = typeof m.jwtVerify === "function" ? m : m.default;
const jwks = jose.createRemoteJWKSet(new URL(input.jwks));
const results = [];
for (const t of input.tokens) {
  try {
    const { payload, protectedHeader } = await jose.jwtVerify(t.token, jwks,
      { algorithms: t.algorithms, audience: "frontend" });
    results.push({ ok: true, alg: protectedHeader.alg, scopes: payload.scopes });
  } catch (e) {
    results.push({ ok: false, error: String(e.code || e.name) });
  }
}
console.log(JSON.stringify(results));
"""


def jose_node():
    """(node, environment) to run node with the npm package jose, found
    through the environment variable JOSE_NODE_PATH, a directory that holds
    the package directory jose (as NODE_PATH: /usr/share/nodejs for
    Debian's node-jose, or the node_modules directory of `npm install
    jose`); Skip if there is none."""
    node = shutil.which("node")
    if node is None:
        raise harness.Skip("node is not installed")
    d = os.environ.get("JOSE_NODE_PATH")
    if not d:
        raise harness.Skip("JOSE_NODE_PATH is not set (a directory holding the npm package "
                           "jose, such as /usr/share/nodejs with Debian's node-jose)")
    e = dict(os.environ, NODE_PATH=d)
    r = subprocess.run([node, "--input-type=module", "-e",
                        'import { createRequire } from "node:module";'
                        'createRequire(import.meta.url).resolve("jose");'],
                       capture_output=True, text=True, env=e)
    if r.returncode != 0:
        raise harness.Skip("no jose module in JOSE_NODE_PATH=%s" % d)
    return node, e


@test
def test_jose_verifies_each_kind(env):
    """The npm package jose (node) verifies a token of each kind against
    the JWKS fetched over HTTP, for the token's own algorithm only."""
    node, node_env = jose_node()
    ec_key, ed_key = make_key(env, "ES256"), make_key(env, "EdDSA")
    rsa_access, _ = login_tokens(env)
    es_svc = Service(env, "jose-es256", ec_key)
    try:
        ec_access, _ = es_svc.login()
    finally:
        es_svc.stop()
    svc = Service(env, "jose-all", ed_key, [public_pem(env, ec_key), env.pub])
    try:
        ed_access, _ = svc.login()
        tokens = [(ed_access, "EdDSA"), (ec_access, "ES256"), (rsa_access, "RS256")]
        cases = []
        for tok, alg in tokens:
            cases.append({"token": tok, "algorithms": [alg], "want": True})
            cases.append({"token": tok, "algorithms": [a for a in SIGNERS if a != alg],
                          "want": False})
        c = jwt_claims(ec_access)
        cases.append({"token": forge({"typ": "JWT", "alg": "RS256",
                                      "kid": jwt_header(ec_access)["kid"]}, c,
                                     lambda si: sign_es256(ec_key, si)),
                      "algorithms": list(SIGNERS), "want": False})
        r = subprocess.run([node, "--input-type=module", "-e", JOSE_SCRIPT],
                           input=json.dumps({"jwks": svc.url("/auth/.well-known/jwks.json"),
                                             "tokens": cases}),
                           capture_output=True, text=True, timeout=60, env=node_env)
        expect_eq(r.returncode, 0, "node exit status (%s)" % r.stderr.strip()[-500:])
        results = json.loads(r.stdout)
        for case, got in zip(cases, results):
            what = "%s allowing %s" % (jwt_header(case["token"])["alg"], case["algorithms"])
            expect_eq(got["ok"], case["want"], "jose: %s (%s)" % (what, got))
            if got["ok"]:
                expect_eq(got["alg"], case["algorithms"][0], "jose: " + what + ": alg")
    finally:
        svc.stop()
