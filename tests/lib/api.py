"""What the integration modules share about the API (doc/api.md): the error
documents they expect, assertions on answers, logins and refreshes, JWTs
taken apart and forged with OpenSSL, and the customer fixtures."""
import base64
import json
import re
import subprocess

from harness import expect, expect_eq, request

JSONAPI = "application/vnd.api+json"
LOGIN = "/auth/agent-access-tokens"

# error documents (doc/api.md §10)
ERR_001 = b'{"errors":[{"code":"001","status":401,"detail":"Invalid access token."}]}'
ERR_004 = b'{"errors":[{"code":"004","status":401,"detail":"Failed to refresh token."}]}'
ERR_4101 = b'{"errors":[{"code":"4101","status":401,"detail":"Failed to authenticate an agent."}]}'
ERR_4102 = b'{"errors":[{"code":"4102","status":401,"detail":"Agent access token is invalid."}]}'
ERR_4103 = (b'{"errors":[{"code":"4103","status":401,"detail":"Action is available to agent '
            b'user only."}]}')
LOCKED = (b'{"errors":[{"code":"4401","status":429,"detail":"Too many log in attempts from your '
          b'address. Please wait 6 minutes before trying again."}]}')
APP_413 = b'{"errors":[{"status":413,"detail":"Request body is too large."}]}'


# ------------------------------------------------------------ assertions

def expect_error(r, status, body, what):
    """An error answer of agentauth: status, exact body, media type and
    X-Content-Type-Options (doc/api.md §1.4, §1.5)."""
    expect_eq(r.status, status, what + ": status")
    expect_eq(r.body, body, what + ": body")
    expect_eq(r.header("Content-Type"), JSONAPI, what + ": content type")
    expect_eq(r.header("X-Content-Type-Options"), "nosniff", what + ": nosniff")


def expect_login_401(r, what):
    """A failed login: 401 4101 with its challenge and a request id."""
    expect_eq(r.status, 401, what + ": status")
    expect_eq(r.body, ERR_4101, what + ": body")
    expect_eq(r.header("Content-Type"), JSONAPI, what + ": content type")
    expect_eq(r.header("WWW-Authenticate"), 'Bearer realm="Access to shop API"',
              what + ": WWW-Authenticate")
    expect(re.fullmatch(r"[0-9a-f]{16}", r.header("X-Request-Id") or ""), what + ": request id")


def expect_locked(r, what, max_left=360):
    """A locked-out login: 429 4401 with 0 < Retry-After <= max_left."""
    expect_eq(r.status, 429, what + ": status")
    expect_eq(r.body, LOCKED, what + ": body")
    expect_eq(r.header("Content-Type"), JSONAPI, what + ": content type")
    left = int(r.header("Retry-After"))
    expect(0 < left <= max_left, what + ": Retry-After %d" % left)


def expect_sql_refused(r, what, needle=None):
    """A psql run (Cluster.psql with check=False) that the database refused,
    with needle in its message when given."""
    expect(r.returncode != 0, "%s: accepted: %s" % (what, r.stdout))
    if needle:
        expect(needle in r.stderr, "%s: %s" % (what, r.stderr))


# ------------------------------------------------------- logins and tokens

def login_tokens(env, user="agent@example.com", pw="agent-pass"):
    """Logs in (201 expected); returns (access token, refresh token)."""
    r = env.login(user, pw)
    expect_eq(r.status, 201, "login %s" % user)
    a = r.json()["data"]["attributes"]
    return a["accessToken"], a["refreshToken"]


def agent_token(env, user="agent@example.com", pw="agent-pass"):
    """The access token of a login (201 expected)."""
    return login_tokens(env, user, pw)[0]


def refresh(env, token, headers=None):
    """POST /refresh-tokens with token."""
    body = {"data": {"type": "refresh-tokens", "attributes": {"refreshToken": token}}}
    return request(env.port, "POST", "/auth/refresh-tokens", body, headers)


def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_header(token):
    """The decoded JOSE header of a JWT (not verified)."""
    return json.loads(b64d(token.split(".")[0]))


def jwt_claims(token):
    """The decoded claims of a JWT (not verified)."""
    return json.loads(b64d(token.split(".")[1]))


def sign_rs256(key_path, signing_input):
    """An RS256 signature by the PEM key at key_path, made by openssl."""
    r = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_path], input=signing_input,
                       capture_output=True, check=True)
    return r.stdout


def forge(header, claims, sign):
    """A JWT of header and claims (dicts, or JSON text as bytes) signed by
    sign(signing input)."""
    h = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    c = claims if isinstance(claims, bytes) else json.dumps(claims, separators=(",", ":")).encode()
    si = (b64e(h) + "." + b64e(c)).encode()
    return si.decode() + "." + b64e(sign(si))


# --------------------------------------------------------------- customers

CUSTOMERS = r"""
INSERT INTO agentauth.customers (id, customer_reference, email, first_name, last_name,
    allow_assistance, deleted_at) VALUES
 (21, 'DE--21', 'sonia@acme.com', 'Sonia', 'Wagner', true, NULL),
 (22, 'DE--22', 'spencor.hopkin@spryker.com', 'Spencor', 'Hopkin', true, NULL),
 (23, 'DE--23', 'karl@acme.com', 'Karl', 'Sonnenberg', false, NULL),
 (24, 'DE--24', 'gone@acme.com', 'Sonja', 'Deleted', true, now()),
 (25, 'DE--25', '100%_real\user@acme.com', 'Per%cent', 'Under_score', true, NULL),
 (26, 'DE--26', 'anna@zeta.com', 'ANNA', 'Zeta', true, NULL);
INSERT INTO agentauth.customers (id, customer_reference, email, first_name, last_name,
    allow_assistance)
SELECT 1000 + g, 'PG--' || g, 'paging' || g || '@page.example', 'Pager', 'Number' || g, true
FROM generate_series(1, 35) g;
"""


def add_customers(env):
    """The customers the search and impersonation tests expect (once)."""
    if env.cluster.psql("SELECT count(*) FROM agentauth.customers WHERE id = 21") == "0":
        env.cluster.psql(CUSTOMERS)
