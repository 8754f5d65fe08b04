"""agentauth behind PgBouncer in transaction pooling mode (doc/operations.md
§6.2): more workers than server connections, every endpoint that writes."""
import json
import os
import shutil

import harness
from api import add_customers
from harness import expect, expect_eq, fcgi_request
from registry import test


def start_pgbouncer(env):
    d = os.path.join(env.workdir, "pgbouncer")
    os.makedirs(d, exist_ok=True)
    port = harness.free_port()
    with open(os.path.join(d, "pgbouncer.ini"), "w") as f:
        f.write("[databases]\n"
                "agentauth = host=%s port=%d dbname=agentauth user=agentauth_worker\n"
                "[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = %d\nunix_socket_dir =\n"
                "auth_type = any\npool_mode = transaction\ndefault_pool_size = 2\n"
                "max_client_conn = 100\nlogfile = %s/pgbouncer.log\npidfile = %s/pgbouncer.pid\n"
                % (env.cluster.dir, env.cluster.port, port, d, d))
    if os.geteuid() == 0:
        shutil.chown(d, "postgres")
        for name in os.listdir(d):
            shutil.chown(os.path.join(d, name), "postgres")
    harness.as_postgres(["pgbouncer", "-d", os.path.join(d, "pgbouncer.ini")])
    harness.wait_port(port)
    return d, port


def call(pool, method, path, body=None, agent=None, ip="203.0.113.77"):
    data = json.dumps(body).encode() if body is not None else b""
    params = {"REQUEST_METHOD": method, "SCRIPT_NAME": "/auth", "PATH_INFO": path.split("?")[0],
              "QUERY_STRING": path.split("?")[1] if "?" in path else "",
              "CONTENT_LENGTH": str(len(data)), "CONTENT_TYPE": "application/json",
              "REMOTE_ADDR": ip, "HTTP_HOST": "example.org"}
    if agent:
        params["HTTP_X_AGENT_AUTHORIZATION"] = "Bearer " + agent
    status, _, out = fcgi_request(pool.sock, params, data)
    return status, (json.loads(out) if out else None)


@test
def test_through_pgbouncer_transaction_pooling(env):
    harness.need_program("pgbouncer", "pgbouncer")
    add_customers(env)
    d, port = start_pgbouncer(env)
    pool = None
    try:
        pool = harness.Pool(env.workdir, env.binary, env.cluster, env.key, workers=4,
                            extra={"database": "host=127.0.0.1 port=%d dbname=agentauth "
                                               "user=agentauth_worker" % port},
                            name="bouncer")
        login = {"data": {"type": "agent-access-tokens",
                          "attributes": {"username": "agent@example.com",
                                         "password": "agent-pass"}}}
        status, doc = call(pool, "POST", "/agent-access-tokens", login, ip="203.0.113.78")
        expect_eq(status, 201, "login")
        access = doc["data"]["attributes"]["accessToken"]
        rt = doc["data"]["attributes"]["refreshToken"]
        status, doc = call(pool, "POST", "/refresh-tokens", {"data": {
            "type": "refresh-tokens", "attributes": {"refreshToken": rt}}})
        expect_eq(status, 201, "refresh")
        status, doc = call(pool, "GET", "/agent-customer-search?q=sonia", agent=access)
        expect_eq((status, [c["customerReference"] for c in
                            doc["data"][0]["attributes"]["customers"]]), (200, ["DE--21"]), "search")
        status, _ = call(pool, "POST", "/agent-customer-impersonation-access-tokens", {"data": {
            "type": "agent-customer-impersonation-access-tokens",
            "attributes": {"customerReference": "DE--21"}}}, agent=access)
        expect_eq(status, 201, "impersonation")
        bad = json.loads(json.dumps(login))
        bad["data"]["attributes"]["password"] = "wrong"
        for i in range(9):
            expect_eq(call(pool, "POST", "/agent-access-tokens", bad)[0], 401, "failure %d" % i)
        expect_eq(call(pool, "POST", "/agent-access-tokens", login)[0], 429, "locked out")
        expect_eq(call(pool, "GET", "/health")[0], 200, "health")
        # more requests in flight than server connections
        import threading
        statuses = []

        def go():
            statuses.append(call(pool, "GET", "/agent-customer-search?q=pager", agent=access)[0])
        ts = [threading.Thread(target=go) for _ in range(24)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        expect_eq(statuses, [200] * 24, "parallel searches over 2 server connections")
        log = open(os.path.join(d, "pgbouncer.log")).read()
        expect("ERROR" not in log, "pgbouncer logged an error")
    finally:
        if pool is not None:
            pool.stop()
        env.cluster.psql("SELECT agentauth.unlock_ip('203.0.113.77')")
        pid = int(open(os.path.join(d, "pgbouncer.pid")).read())
        os.kill(pid, 15)
        harness.wait_for(lambda: not harness.pid_alive(pid), 5, 0.1)

