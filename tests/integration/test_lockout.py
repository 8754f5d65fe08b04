"""Lock-out after failed attempts (doc/api.md §2.7, doc/security.md §5),
counted in PostgreSQL."""
import subprocess
import threading
import time

from api import expect_locked as expect_429
from harness import client_key, expect, expect_eq, new_client_ip, request, wait_for
from registry import test


def login(env, user, pw, ip):
    return env.login(user, pw, headers={"X-Forwarded-For": ip})


def counter(env, scope, ip="", user=""):
    """The counter of (scope, ip, user); ip is counted by its key (its /64)."""
    # user and ip budgets drain continuously: a burst's count is its rounded level
    return env.cluster.psql("SELECT round(failures)::int FROM agentauth.login_attempts "
                            "WHERE scope = '%s' "
                            "AND client_ip = '%s' AND username = '%s'"
                            % (scope, client_key(ip), user))


def pass_time(env, ip="", user=""):
    """Moves the counters of (ip, user) into the past: their window and block
    are over, as if the block had been waited out."""
    ip = client_key(ip)
    env.cluster.psql("UPDATE agentauth.login_attempts SET window_start = window_start - "
                     "interval '2 hours', blocked_until = blocked_until - interval '2 hours' "
                     "WHERE (scope = 'ip_user' AND client_ip = '%s' AND username = '%s') OR "
                     "(scope = 'user' AND username = '%s') OR (scope = 'ip' AND client_ip = "
                     "'%s')" % (ip, user, user, ip))


@test
def test_spryker_timeline(env):
    ip, user = new_client_ip(), "agent@example.com"
    for i in range(9):
        r = login(env, user, "wrong-%d" % i, ip)
        expect_eq(r.status, 401, "failure %d" % (i + 1))
    expect_eq(counter(env, "ip_user", ip, user), "9", "counter after 9 failures")
    r = login(env, user, "agent-pass", ip)
    expect_429(r, "10th attempt with the right password")
    expect(int(r.header("Retry-After")) >= 355, "Retry-After near the block length")
    # attempts while blocked neither count nor extend the block
    until = env.cluster.psql("SELECT blocked_until FROM agentauth.login_attempts WHERE "
                             "scope = 'ip_user' AND client_ip = '%s'" % client_key(ip))
    for _ in range(3):
        expect_429(login(env, user, "wrong", ip), "attempt while blocked")
    expect_eq(counter(env, "ip_user", ip, user), "9", "counter while blocked")
    expect_eq(env.cluster.psql("SELECT blocked_until FROM agentauth.login_attempts WHERE "
                               "scope = 'ip_user' AND client_ip = '%s'" % client_key(ip)),
              until,
              "block not extended")
    expect(env.cluster.psql("SELECT count(*) FROM agentauth.audit_events WHERE event = "
                            "'lockout' AND client_ip = '%s'" % ip) == "1",
           "one lockout audit event per block")
    # another address is not blocked for this username
    expect_eq(login(env, user, "agent-pass", new_client_ip()).status, 201, "other address")
    pass_time(env, ip, user)
    expect_eq(login(env, user, "agent-pass", ip).status, 201, "after the block")
    expect_eq(counter(env, "ip_user", ip, user), "", "success clears the pair counter")
    # the count starts again: 8 failures and a success, then one more failure
    for i in range(8):
        expect_eq(login(env, user, "wrong", ip).status, 401, "again %d" % (i + 1))
    expect_eq(login(env, user, "agent-pass", ip).status, 201, "success after 8 failures")
    expect_eq(login(env, user, "wrong", ip).status, 401, "one failure after the success")
    expect_eq(counter(env, "ip_user", ip, user), "1", "counter restarted")


@test
def test_unknown_usernames_lock_the_same_way(env):
    ip, user = new_client_ip(), "no-such-agent-%d@example.com" % time.time()
    for i in range(9):
        expect_eq(login(env, user, "x", ip).status, 401, "failure %d" % (i + 1))
    r = login(env, user, "x", ip)
    expect_429(r, "unknown username after 9 failures")


@test
def test_username_case_variants_share_a_counter(env):
    ip = new_client_ip()
    for i, user in enumerate(["Agent@Example.com", "agent@example.com", "AGENT@EXAMPLE.COM"] * 3):
        expect_eq(login(env, user, "wrong", ip).status, 401, "failure %d" % (i + 1))
    expect_429(login(env, "aGeNt@example.com", "agent-pass", ip), "10th, another case")
    env.cluster.psql("SELECT agentauth.unlock('agent@example.com')")


@test
def test_malformed_credentials_count_too(env):
    ip = new_client_ip()
    for i in range(9):
        r = request(env.port, "POST", "/auth/agent-access-tokens",
                    {"data": {"type": "agent-access-tokens",
                              "attributes": {"username": "agent@example.com", "password": ""}}},
                    {"X-Forwarded-For": ip})
        expect_eq(r.status, 401, "empty password %d" % (i + 1))
    expect_429(login(env, "agent@example.com", "agent-pass", ip), "after 9 empty passwords")
    env.cluster.psql("SELECT agentauth.unlock('agent@example.com')")


@test
def test_per_username_ceiling_across_addresses(env):
    user = "spread-%d@example.com" % time.time()
    for i in range(100):  # account_lockout_attempts, one try per address
        expect_eq(login(env, user, "x", new_client_ip()).status, 401, "failure %d" % (i + 1))
    expect_eq(counter(env, "user", "", user), "100", "username counter")
    expect_429(login(env, user, "x", new_client_ip()), "fresh address, same username")


@test
def test_per_address_ceiling_across_usernames(env):
    ip = new_client_ip()
    for i in range(100):  # ip_lockout_attempts
        expect_eq(login(env, "stuff-%d@example.com" % i, "x", ip).status, 401,
                  "failure %d" % (i + 1))
    expect_eq(counter(env, "ip", ip, ""), "100", "address counter")
    expect_429(login(env, "agent@example.com", "agent-pass", ip), "right password, same address")
    expect_eq(login(env, "agent@example.com", "agent-pass", new_client_ip()).status, 201,
              "other address")
    expect_eq(env.cluster.psql("SELECT agentauth.unlock_ip('%s')" % ip), "101",
              "unlock_ip removes the address row and its 100 address+username rows")
    expect_eq(login(env, "agent@example.com", "agent-pass", ip).status, 201, "after unlock_ip")


def burst(env, n, conns, make):
    """n requests over conns threads; make(i) returns (user, password, ip).
    Returns the list of statuses."""
    statuses = []
    lock = threading.Lock()
    todo = list(range(n))

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                i = todo.pop()
            u, p, ip = make(i)
            s = login(env, u, p, ip).status
            with lock:
                statuses.append(s)

    threads = [threading.Thread(target=worker) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return statuses


@test
def test_parallel_wrong_attempts_are_counted_exactly(env):
    ip, user = new_client_ip(), "race-%d@example.com" % time.time()
    statuses = burst(env, 200, 32, lambda i: (user, "wrong-%d" % i, ip))
    n401 = statuses.count(401)
    expect_eq(len(statuses), 200, "answers")
    expect_eq(statuses.count(401) + statuses.count(429), 200,
              "only 401 and 429: %r" % sorted(set(statuses)))
    expect_eq(n401, 9, "password checks let through")
    expect_eq(counter(env, "ip_user", ip, user), str(n401), "pair counter = 401s")
    expect_eq(counter(env, "user", "", user), str(n401), "username counter = 401s")
    expect_eq(counter(env, "ip", ip, ""), str(n401), "address counter = 401s")
    # with higher limits nothing blocks: every parallel failure is counted
    user2 = "race2-%d@example.com" % time.time()
    statuses = burst(env, 80, 32, lambda i: (user2, "wrong", new_client_ip()))
    expect_eq(statuses.count(401), 80, "80 parallel failures from 80 addresses")
    expect_eq(counter(env, "user", "", user2), "80", "username counter = 80")


@test
def test_right_password_in_a_parallel_burst_after_the_limit(env):
    ip = new_client_ip()
    for i in range(9):
        expect_eq(login(env, "agent@example.com", "wrong", ip).status, 401, "failure")
    statuses = burst(env, 200, 32, lambda i: ("agent@example.com",
                                              "agent-pass" if i % 20 == 0 else "wrong", ip))
    expect_eq(statuses.count(201), 0, "no 201 in the burst")
    expect_eq(statuses.count(429), 200, "all refused")
    env.cluster.psql("SELECT agentauth.unlock('agent@example.com')")


@test
def test_counter_row_lock_gives_503_never_401_or_201(env):
    ip, user = new_client_ip(), "agent@example.com"
    expect_eq(login(env, user, "wrong", ip).status, 401, "first failure")
    holder = subprocess.Popen(
        ["psql", "-X", "-q", "-h", env.cluster.dir, "-p", str(env.cluster.port), "-U",
         "postgres", "-d", "agentauth", "-c",
         "BEGIN; SELECT 1 FROM agentauth.login_attempts WHERE scope = 'ip_user' AND "
         "client_ip = '%s' FOR UPDATE; SELECT pg_sleep(4); COMMIT;" % client_key(ip)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # the holder has the row once its statement sleeps, after FOR UPDATE
        expect(wait_for(lambda: env.cluster.psql(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND "
            "query LIKE '%FOR UPDATE%' AND pid <> pg_backend_pid()") == "1", 10),
            "the row lock is held")
        t0 = time.time()
        r = login(env, user, "agent-pass", ip)
        expect_eq(r.status, 503, "while the counter row is locked")
        expect(time.time() - t0 < 3, "answered after lock_timeout")
    finally:
        holder.wait(10)
    expect_eq(login(env, user, "agent-pass", ip).status, 201, "after the lock is gone")


@test
def test_expired_rows_are_removed(env):
    env.cluster.psql("INSERT INTO agentauth.login_attempts (scope, client_ip, username, "
                     "failures, window_start) SELECT 'ip_user', '192.0.2.1', 'old-' || g, 1, "
                     "now() - interval '3 hours' FROM generate_series(1, 40) g")
    for _ in range(20):
        login(env, "flood-%d@example.com" % time.time(), "x", new_client_ip())
    expect_eq(env.cluster.psql("SELECT count(*) FROM agentauth.login_attempts WHERE username "
                               "LIKE 'old-%'"), "0", "expired rows left")


@test
def test_forwarded_for_only_from_trusted_peers(env):
    from harness import fcgi_request
    body = ('{"data":{"type":"agent-access-tokens","attributes":{"username":'
            '"agent@example.com","password":"agent-pass"}}}').encode()
    base = {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/auth", "PATH_INFO":
            "/agent-access-tokens", "CONTENT_LENGTH": str(len(body)), "SERVER_PORT": "80",
            "HTTP_HOST": "example.org"}
    for remote, xff, want in (("198.51.100.7", "203.0.113.5", "198.51.100.7"),
                              ("127.0.0.1", "203.0.113.5", "203.0.113.5"),
                              ("127.0.0.1", "203.0.113.6, 127.0.0.1", "203.0.113.6"),
                              ("::1", "198.51.100.1, 2001:db8::77", "2001:db8::77")):
        status, _, _ = fcgi_request(env.pool.sock, dict(base, REMOTE_ADDR=remote,
                                                        HTTP_X_FORWARDED_FOR=xff), body)
        expect_eq(status, 201, "%s via %s" % (xff, remote))
        expect_eq(env.cluster.psql("SELECT host(client_ip) FROM agentauth.audit_events "
                                   "ORDER BY id DESC LIMIT 1"), want, "client of %s via %s"
                  % (xff, remote))


@test
def test_rotating_forwarded_for_from_untrusted_peer_does_not_help(env):
    from harness import fcgi_request
    user = "rotate-%d@example.com" % time.time()
    body = ('{"data":{"type":"agent-access-tokens","attributes":{"username":"%s",'
            '"password":"x"}}}' % user).encode()
    statuses = []
    for i in range(10):
        status, _, _ = fcgi_request(env.pool.sock, {
            "REQUEST_METHOD": "POST", "SCRIPT_NAME": "/auth", "PATH_INFO": "/agent-access-tokens",
            "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "198.51.100.9",
            "HTTP_X_FORWARDED_FOR": "203.0.113.%d" % i}, body)
        statuses.append(status)
    expect_eq(statuses, [401] * 9 + [429], "one counter for the untrusted peer")
