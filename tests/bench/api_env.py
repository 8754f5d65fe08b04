#!/usr/bin/python3
"""Sets up the API benchmark's environment and keeps it up until told to stop.

Usage: api_env.py BUILD_DIR STATE_FILE

Starts, with tests/lib/harness.py (through benchlib.py), a throwaway
PostgreSQL cluster (schema from sql/install.sql) with the agents
  bench@x     password "bench", bcrypt cost 4 (the token scenarios: one
              cheap login for the agent token, the refresh token pool),
  login10@x   password "bench", bcrypt cost 10 (the login scenarios),
  blocked@x   password "bench", cost 4, status blocked (a login gets 401),
($2b$ hashes, and agentauth.settings.password_hash_cost = 4: no login
re-hashes them, which checks() and api.sh verify), the agentauth pool and nginx, all on loopback or Unix sockets in one
temporary directory; beside them the bare libfcgi responder fcgi_hello
(tests/bench/fcgi_hello.c, compiled into that directory) behind a second
server block of the same nginx, with the same location settings.

Environment (read here, checked by api.sh too):
  BENCH_WORKERS    pool processes (default 4)
  BENCH_KEY        the signing key: rsa (RSA 2048, default), ec (P-256) or
                   ed25519, made with openssl genpkey.  A build that refuses
                   the key stops the set-up with a message that says so.
  BENCH_KEEP_CONN  on (default): upstreams with "keepalive 8" and
                   "keepalive_timeout 5s" and "fastcgi_keep_conn on", as
                   deploy/nginx/agentauth-upstream.conf and agentauth.conf
                   ship them; off: a new FastCGI connection per request.
The pool runs with trusted_proxies = 127.0.0.1/32 (the login scenarios
send X-Forwarded-For), account_lockout_attempts and ip_lockout_attempts at
their maxima (100000 and 1000000: the failed-login scenario measures failed
logins, not the per-username and per-address budgets; the per-pair
lock-out keeps its default, which the locked scenario relies on),
dummy_hash_cost = 10 and log_level = warn.  nginx runs 2 worker processes,
with access_log off.

Checks health, the key set, one login per agent and a search with the
agent token, then writes STATE_FILE (KEY=VALUE lines, written atomically)
and waits.  The customers are loaded by the calling script (api.sh).

Teardown, signals and BENCH_KEEP_DIR: as for login_env.py (see benchlib.py).
"""
import os
import subprocess
import sys

import benchlib
from benchlib import harness

PASSWORD = "bench"
AGENTS = (("bench@x", 4, "active"), ("login10@x", 10, "active"), ("blocked@x", 4, "blocked"))
NGINX_WORKERS = 2
# fcgi_hello keeps each kept connection in one thread: nginx holds at most 16
# (wrk's connections) busy and 2 x 8 idle ones
HELLO_THREADS = 40
KEYS = {
    "rsa": (["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"], "RSA 2048 (RS256)"),
    "ec": (["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], "EC P-256 (ES256)"),
    "ed25519": (["-algorithm", "ED25519"], "Ed25519 (EdDSA)"),
}


def setting(name, default, allowed):
    value = os.environ.get(name, default)
    if value not in allowed:
        raise RuntimeError("%s=%s: must be one of %s" % (name, value, ", ".join(allowed)))
    return value


WORKERS_TEXT = os.environ.get("BENCH_WORKERS", "4")
KEY_KIND = os.environ.get("BENCH_KEY", "rsa")
KEEP_CONN = os.environ.get("BENCH_KEEP_CONN", "on")

UPSTREAM = """
    upstream %(name)s {
        server unix:%(sock)s;
%(keepalive)s    }
"""
KEEPALIVE = """        keepalive 8;
        keepalive_timeout 5s;
"""
# deploy/nginx/agentauth.conf's location, with Debian's fastcgi_params by path
LOCATION = """
        access_log off;
        location /auth/ {
            client_max_body_size 16k;
            include /etc/nginx/fastcgi_params;
            fastcgi_split_path_info ^(/auth)(/.*)$;
            fastcgi_param SCRIPT_NAME $fastcgi_script_name;
            fastcgi_param PATH_INFO $fastcgi_path_info;
            fastcgi_param HTTP_PROXY "";
            fastcgi_read_timeout 30s;
%(keep_conn)s            fastcgi_pass %(upstream)s;
        }
"""
HELLO_SERVER = """
    server {
        listen 127.0.0.1:%(port)d;
%(location)s
    }
"""


def location(upstream):
    return LOCATION % {"upstream": upstream,
                       "keep_conn": "            fastcgi_keep_conn on;\n"
                       if KEEP_CONN == "on" else ""}


def upstream(name, sock):
    return UPSTREAM % {"name": name, "sock": sock,
                       "keepalive": KEEPALIVE if KEEP_CONN == "on" else ""}


class Env(benchlib.Env):
    WORKERS = int(WORKERS_TEXT) if WORKERS_TEXT.isdigit() else 0

    def __init__(self, build):
        setting("BENCH_KEY", "rsa", list(KEYS))
        setting("BENCH_KEEP_CONN", "on", ["on", "off"])
        if not 1 <= self.WORKERS <= 256:
            raise RuntimeError("BENCH_WORKERS=%s: must be a number from 1 to 256" % WORKERS_TEXT)
        super().__init__(build)
        self.hello_port = None

    def make_key(self, path):
        subprocess.run(["openssl", "genpkey"] + KEYS[KEY_KIND][0] + ["-out", path],
                       check=True, capture_output=True)

    def fixtures(self, cluster):
        # The agents must keep their costs (benchlib.keep_hash_costs): new
        # hashes cost 4, the lowest cost here.  checks() makes sure that no
        # hash changed.
        benchlib.keep_hash_costs(cluster, 4)
        for username, cost, status in AGENTS:
            cluster.psql("INSERT INTO agentauth.agents (username, password_hash, status) "
                         "VALUES ('%s', %s, '%s')"
                         % (username, benchlib.bcrypt_sql(PASSWORD, cost), status))
        self.hashes = self.hash_prefixes(cluster)
        return {"PASSWORD": PASSWORD, "TOKEN_AGENT": "bench@x", "LOGIN_AGENT": "login10@x",
                "BLOCKED_AGENT": "blocked@x"}

    @staticmethod
    def hash_prefixes(cluster):
        return cluster.psql("SELECT string_agg(username || '=' || left(password_hash, 7), ' ' "
                            "ORDER BY username) FROM agentauth.agents")

    def pool_settings(self, binary, key):
        # the key alone first: a build that refuses it says so here, not as
        # a pool that does not come up
        conf = os.path.join(self.workdir, "key-probe.conf")
        with open(conf, "w") as f:
            f.write("private_key = %s\n" % key)
        r = subprocess.run([binary, "--config", conf, "--check-config"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True)
        os.unlink(conf)
        if r.returncode != 0:
            raise RuntimeError(
                "this build refuses the signing key of BENCH_KEY=%s, %s (%s): %s -- only "
                "BENCH_KEY=rsa works with a build that signs RS256 only"
                % (KEY_KIND, KEYS[KEY_KIND][1], binary, (r.stderr or r.stdout).strip()))
        return {
            "trusted_proxies": "127.0.0.1/32",
            "account_lockout_attempts": "100000",
            "ip_lockout_attempts": "1000000",
            "dummy_hash_cost": "10",
            "log_level": "warn",
        }

    def start_nginx(self):
        src = os.path.join(benchlib.harness.ROOT, "tests", "bench", "fcgi_hello.c")
        hello = os.path.join(self.workdir, "fcgi_hello")
        hello_sock = os.path.join(self.workdir, "hello.sock")
        benchlib.say("building and starting fcgi_hello (%d threads)" % HELLO_THREADS)
        subprocess.run(["cc", "-O2", "-o", hello, src, "-lfcgi", "-lpthread"], check=True,
                       capture_output=True)
        log = open(os.path.join(self.workdir, "fcgi_hello.log"), "w")
        self.procs.append(subprocess.Popen([hello, str(HELLO_THREADS), hello_sock],
                                           stdin=subprocess.DEVNULL, stdout=log, stderr=log))
        log.close()
        harness.wait_socket(hello_sock)
        self.hello_port = harness.free_port()
        extra = (upstream("agentauth", self.pool.sock) + upstream("hello", hello_sock)
                 + HELLO_SERVER % {"port": self.hello_port, "location": location("hello")})
        return harness.Nginx(self.workdir, server=location("agentauth"), http_extra=extra,
                             workers=NGINX_WORKERS)

    def checks(self, port):
        def expect(what, r, status):
            if r.status != status:
                raise RuntimeError("%s: status %d, not %d: %r" % (what, r.status, status,
                                                                  r.body[:200]))

        def login(username, password=PASSWORD):
            body = {"data": {"type": "agent-access-tokens",
                             "attributes": {"username": username, "password": password}}}
            return harness.request(port, "POST", "/auth/agent-access-tokens", body)

        r = harness.request(self.hello_port, "GET", "/auth/health")
        expect("fcgi_hello", r, 200)
        if len(r.body) != 200:
            raise RuntimeError("fcgi_hello answered %d bytes, not 200" % len(r.body))
        expect("GET /health", harness.request(port, "GET", "/auth/health"), 200)
        r = harness.request(port, "GET", "/auth/.well-known/jwks.json")
        expect("GET /.well-known/jwks.json", r, 200)
        alg = r.json()["keys"][0]["alg"]
        r = login("bench@x")
        expect("login bench@x", r, 201)
        token = r.json()["data"]["attributes"]["accessToken"]
        r = harness.request(port, "GET", "/auth/agent-customer-search?q=a", None,
                            {"X-Agent-Authorization": "Bearer " + token})
        expect("search with the agent token", r, 200)
        expect("login login10@x", login("login10@x"), 201)
        expect("login blocked@x", login("blocked@x"), 401)
        hashes = self.hash_prefixes(self.cluster)
        if hashes != self.hashes:
            raise RuntimeError("the agents' hashes changed at login: %s, now %s"
                               % (self.hashes, hashes))
        benchlib.say("check: fcgi_hello 200, health 200, jwks 200 (%s), logins 201/201/401, "
                     "search 200" % alg)
        return {
            "BASE_URL": "http://127.0.0.1:%d/auth" % port,
            "HELLO_BASE_URL": "http://127.0.0.1:%d/auth" % self.hello_port,
            "TOKEN": token,
            "ALG": alg,
            "KEY": "%s, %s" % (KEY_KIND, KEYS[KEY_KIND][1]),
            "KEEP_CONN": KEEP_CONN,
            "NGINX_WORKERS": str(NGINX_WORKERS),
            "HELLO_THREADS": str(HELLO_THREADS),
            "HASHES": hashes,
        }


def main():
    return benchlib.run(Env, __doc__)


if __name__ == "__main__":
    sys.exit(main())
