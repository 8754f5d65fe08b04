"""agentauth behind PgBouncer 1.18 in transaction pooling mode (doc/operations.md
§6.2), through nginx: more workers than server connections, every endpoint
that writes.  With db_prepared_statements = off, as that section says; and
with it on, where the server connection PgBouncer lends may lack a
statement the worker prepared (26000), or hold one that another worker
prepared (42P05): each such answer must be sent again with its text, never
a wrong answer and never a 503."""
import json
import os
import shutil
import threading

import harness
from api import add_customers, jwt_claims
from harness import expect, expect_eq, request
from registry import test

# the two warnings of src/db.c when the server connection is not the one
# the worker prepared its statements on
MISSING = "is missing on the server"
EXISTS = "already exists on the server"


def start_pgbouncer(env, name="pgbouncer", pool_size=2, extra=""):
    """PgBouncer in transaction mode in front of the test cluster, with
    pool_size server connections and the ini lines extra; returns its
    directory (log, pid file) and port."""
    harness.need_program("pgbouncer", "pgbouncer")
    d = os.path.join(env.workdir, name)
    os.makedirs(d, exist_ok=True)
    port = harness.free_port()
    with open(os.path.join(d, "pgbouncer.ini"), "w") as f:
        f.write("[databases]\n"
                "agentauth = host=%s port=%d dbname=agentauth user=agentauth_worker\n"
                "[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = %d\nunix_socket_dir =\n"
                "auth_type = any\npool_mode = transaction\ndefault_pool_size = %d\n"
                "max_client_conn = 100\nlogfile = %s/pgbouncer.log\npidfile = %s/pgbouncer.pid\n"
                "%s" % (env.cluster.dir, env.cluster.port, port, pool_size, d, d, extra))
    if os.geteuid() == 0:
        shutil.chown(d, "postgres")
        for name in os.listdir(d):
            shutil.chown(os.path.join(d, name), "postgres")
    harness.as_postgres(["pgbouncer", "-d", os.path.join(d, "pgbouncer.ini")])
    harness.wait_port(port)
    return d, port


def stop_pgbouncer(d):
    try:
        pid = int(open(os.path.join(d, "pgbouncer.pid")).read())
    except (OSError, ValueError):
        return
    os.kill(pid, 15)
    harness.wait_for(lambda: not harness.pid_alive(pid), 5, 0.1)


class Bounced:
    """An agentauth pool whose database is PgBouncer on port, behind an
    nginx of its own."""

    def __init__(self, env, port, name, workers, prepared):
        self.pool = harness.Pool(env.workdir, env.binary, env.cluster, env.key, workers=workers,
                                 extra={"database": "host=127.0.0.1 port=%d dbname=agentauth "
                                                    "user=agentauth_worker" % port,
                                        "db_prepared_statements": prepared},
                                 name=name)
        try:
            self.nginx = harness.Nginx(env.workdir, self.pool.sock, name="nginx-" + name)
        except Exception:
            self.pool.stop()
            raise

    def stop(self):
        self.nginx.stop()
        return self.pool.stop()

    def call(self, method, path, body=None, agent=None, ip=None):
        """One request through nginx from client address ip (a new one if
        None); returns (status, parsed body or None)."""
        headers = {"X-Forwarded-For": ip or harness.new_client_ip()}
        if agent:
            headers["X-Agent-Authorization"] = "Bearer " + agent
        r = request(self.nginx.port, method, "/auth" + path, body, headers)
        return r.status, (r.json() if r.body else None)

    def login(self, ip=None):
        status, doc = self.call("POST", "/agent-access-tokens", LOGIN, ip=ip)
        expect_eq(status, 201, "login")
        return doc["data"]["attributes"]

    def search(self, access, q="sonia"):
        """The customer references of a search's first page (200 expected)."""
        status, doc = self.call("GET", "/agent-customer-search?q=" + q, agent=access)
        expect_eq(status, 200, "search %s" % q)
        return [c["customerReference"] for c in doc["data"][0]["attributes"]["customers"]]

    def warnings(self, text):
        with open(self.pool.log, errors="replace") as f:
            return sum(1 for line in f if "warn: database: prepared statement" in line and
                       text in line)


LOGIN = {"data": {"type": "agent-access-tokens",
                  "attributes": {"username": "agent@example.com", "password": "agent-pass"}}}


def exercise(b, ip, lockout_user):
    """Login, refresh, search, impersonation, a lock-out (of lockout_user
    from ip) and 24 parallel searches, each with its right answer."""
    tokens = b.login()
    access = tokens["accessToken"]
    status, doc = b.call("POST", "/refresh-tokens", {"data": {
        "type": "refresh-tokens", "attributes": {"refreshToken": tokens["refreshToken"]}}})
    expect_eq(status, 201, "refresh")
    expect(doc["data"]["attributes"]["accessToken"] != access, "a new access token")
    expect_eq(b.search(access), ["DE--21"], "search")
    status, doc = b.call("POST", "/agent-customer-impersonation-access-tokens", {"data": {
        "type": "agent-customer-impersonation-access-tokens",
        "attributes": {"customerReference": "DE--21"}}}, agent=access)
    expect_eq(status, 201, "impersonation")
    sub = json.loads(jwt_claims(doc["data"]["attributes"]["accessToken"])["sub"])
    expect_eq(sub["customer_reference"], "DE--21", "the impersonated customer")
    bad = {"data": {"type": "agent-access-tokens",
                    "attributes": {"username": lockout_user, "password": "wrong"}}}
    for i in range(9):
        expect_eq(b.call("POST", "/agent-access-tokens", bad, ip=ip)[0], 401, "failure %d" % i)
    expect_eq(b.call("POST", "/agent-access-tokens", bad, ip=ip)[0], 429, "locked out")
    expect_eq(b.call("GET", "/health")[0], 200, "health")
    # more requests in flight than server connections
    answers = []

    def go():
        try:
            answers.append(b.search(access, "pager"))
        except AssertionError as e:
            answers.append(str(e))
    ts = [threading.Thread(target=go) for _ in range(24)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    want = b.search(access, "pager")
    expect(len(want) == 10, "the pager search fills a page: %r" % want)
    wrong = [a for a in answers if a != want]
    expect(len(answers) == 24 and not wrong, "parallel searches over 2 server connections: "
           "%d answers, %d wrong, such as %r" % (len(answers), len(wrong), wrong[:2]))


@test
def test_through_pgbouncer_transaction_pooling(env):
    add_customers(env)
    d, port = start_pgbouncer(env)
    b = None
    try:
        b = Bounced(env, port, "bouncer", 4, "off")
        exercise(b, "203.0.113.77", "agent@example.com")
        expect_eq((b.warnings(MISSING), b.warnings(EXISTS)), (0, 0),
                  "prepared statement warnings with db_prepared_statements = off")
        log = open(os.path.join(d, "pgbouncer.log")).read()
        expect("ERROR" not in log, "pgbouncer logged an error")
    finally:
        if b is not None:
            b.stop()
        env.cluster.psql("SELECT agentauth.unlock_ip('203.0.113.77')")
        stop_pgbouncer(d)


@test
def test_prepared_statements_on_behind_pgbouncer_transaction_pooling(env):
    # what happens when the setting is left on: the same requests, each
    # with its right answer, the statements that the lent server connection
    # lacks or already has sent again with their text
    add_customers(env)
    d, port = start_pgbouncer(env, "pgbouncer-on")
    b = None
    try:
        b = Bounced(env, port, "bouncer-on", 4, "on")
        exercise(b, "203.0.113.79", "bouncer-lockout@example.com")
        print("# db_prepared_statements = on behind PgBouncer: %d statements missing, %d "
              "already prepared on the lent server connection, all sent again with their text"
              % (b.warnings(MISSING), b.warnings(EXISTS)))
    finally:
        if b is not None:
            b.stop()
        env.cluster.psql("SELECT agentauth.unlock_ip('203.0.113.79')")
        stop_pgbouncer(d)


@test
def test_statement_another_worker_prepared_behind_pgbouncer(env):
    # one server connection, two pools of one worker: b's first Parse of a
    # statement that a prepared on it fails (42P05), and b sends the text;
    # from then on b executes a's statement by its name, which is made from
    # the text alone, so it is the same statement
    add_customers(env)
    d, port = start_pgbouncer(env, "pgbouncer-one", pool_size=1)
    a = b = None
    try:
        a = Bounced(env, port, "bouncer-a", 1, "on")
        b = Bounced(env, port, "bouncer-b", 1, "on")
        access = a.login()["accessToken"]
        expect_eq(a.search(access), ["DE--21"], "a's search")
        expect_eq(b.search(access), ["DE--21"], "b's first search")
        first = b.warnings(EXISTS)
        expect(first >= 1, "b found a's statements on the server connection")
        expect_eq(b.search(access), ["DE--21"], "b's second search")
        expect_eq(b.search(access, "pager")[:2], ["PG--1", "PG--2"], "b's search for pager")
        expect_eq(b.warnings(EXISTS), first, "b executed a's statements by their names")
        expect_eq((a.warnings(MISSING), a.warnings(EXISTS), b.warnings(MISSING)), (0, 0, 0),
                  "no other warning")
    finally:
        for p in (a, b):
            if p is not None:
                p.stop()
        stop_pgbouncer(d)


@test
def test_prepared_statements_discarded_after_each_transaction(env):
    # PgBouncer runs DISCARD ALL after every transaction: every execution by
    # name finds its statement gone (26000) and is sent again with its text;
    # the next use prepares it again
    add_customers(env)
    d, port = start_pgbouncer(env, "pgbouncer-discard", pool_size=1,
                              extra="server_reset_query = DISCARD ALL\n"
                                    "server_reset_query_always = 1\n")
    b = None
    try:
        b = Bounced(env, port, "bouncer-discard", 1, "on")
        access = b.login()["accessToken"]
        counts = []
        for i in range(4):
            expect_eq(b.search(access), ["DE--21"], "search %d" % i)
            counts.append(b.warnings(MISSING))
        # uses 1 and 3 prepare (Parse and Execute in one round trip), 2 and 4
        # execute by name, find nothing and send the text
        expect(counts[1] > counts[0] and counts[2] == counts[1] and counts[3] > counts[2],
               "statements missing after each DISCARD ALL, prepared again: %r" % counts)
        expect_eq(b.warnings(EXISTS), 0, "no statement found prepared")
    finally:
        if b is not None:
            b.stop()
        stop_pgbouncer(d)
