"""Which address is the client (doc/api.md §1.8, doc/security.md "Client
addresses: proxies and IPv6"): several X-Forwarded-For header lines, as
nginx and Apache pass them on, and IPv6 clients counted by their network
(ipv6_prefix)."""
import http.client
import json
import re
import time

import harness
from api import JSONAPI, LOGIN, expect_locked, expect_login_401
from harness import client_key, expect, expect_eq, new_client_ip
from hosting import Apache, Site, expect_clean_exit
from registry import test


def login(port, user, password, forwarded):
    """POST /auth/agent-access-tokens with one X-Forwarded-For header line
    per element of forwarded, in that order (http.client sends repeated
    header lines as they are)."""
    body = json.dumps({"data": {"type": "agent-access-tokens",
                                "attributes": {"username": user, "password": password}}})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest("POST", LOGIN, skip_accept_encoding=True)
    conn.putheader("Accept", "application/vnd.api+json")
    conn.putheader("Content-Type", "application/vnd.api+json")
    conn.putheader("Content-Length", str(len(body)))
    for value in forwarded:
        conn.putheader("X-Forwarded-For", value)
    conn.endheaders(body.encode())
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return harness.Response(r.status, r.getheaders(), data)


def expect_201(r, what):
    expect_eq(r.status, 201, what + ": status (%r)" % r.body[:200])
    expect_eq(r.header("Content-Type"), JSONAPI, what + ": content type")
    expect_eq(r.json()["data"]["type"], "agent-access-tokens", what + ": type")


def audited(env, user):
    """The client_ip of the last failed login of user in the audit."""
    return env.cluster.psql("SELECT host(client_ip) FROM agentauth.audit_events WHERE event = "
                            "'login_failure' AND username = '%s' ORDER BY id DESC LIMIT 1" % user)


def counted(env, scope, key, user=""):
    """The failures on one counter (login_attempts), "" when there is none."""
    return env.cluster.psql("SELECT round(failures)::int FROM agentauth.login_attempts WHERE "
                            "scope = '%s' AND client_ip = '%s' AND username = '%s'"
                            % (scope, key, user))


def logged(log_path, request_id, timeout=10):
    """The ip= of the request line with this id in a log, waiting for it."""
    pattern = re.compile(r"request id=%s .* ip=(\S+)$" % request_id, re.M)

    def line():
        with open(log_path, errors="replace") as f:
            return pattern.search(f.read())
    m = harness.wait_for(line, timeout, 0.05)
    expect(m, "no request line id=%s in %s" % (request_id, log_path))
    return m.group(1)


def check_forwarded_lines(env, port, log_path, what, big):
    """A client sends its own X-Forwarded-For lines, and the last line is the
    one its (trusted) proxy appended: the proxy's address is the client,
    counted and audited, whatever the client's lines say.  big: the lines
    of the client together have about this many bytes."""
    cases = [
        ("the client's line first", ["203.0.113.9"], None),
        ("two lines and a list from the client",
         ["198.51.100.1, 203.0.113.9", "192.0.2.77"], None),
        ("a trusted hop after the client in the proxy's line", ["203.0.113.9"], "127.0.0.1"),
        ("20 lines from the client", ["203.0.113.9"] * 20, None),
        ("%d bytes from the client" % big, ["203.0.113.9, " * (big // 39)] * 3, None),
        ("garbage from the client", ["garbage", "unknown", ""], None),
    ]
    for n, (name, client_lines, trusted_after) in enumerate(cases):
        ip = new_client_ip()
        user = "xff-%s-%d-%d@example.com" % (what.lower(), n, time.time() * 1000)
        proxy_line = ip if trusted_after is None else "%s, %s" % (ip, trusted_after)
        forged_before = counted(env, "ip", "203.0.113.9")
        r = login(port, user, "wrong", client_lines + [proxy_line])
        expect_login_401(r, "%s: %s" % (what, name))
        expect_eq(audited(env, user), ip, "%s: %s: audited client" % (what, name))
        expect_eq(logged(log_path, r.header("X-Request-Id")), ip,
                  "%s: %s: logged client" % (what, name))
        expect_eq(counted(env, "ip_user", client_key(ip), user), "1",
                  "%s: %s: counted for the proxy's client" % (what, name))
        expect_eq(counted(env, "ip_user", "203.0.113.9", user), "",
                  "%s: %s: counted for the forged address" % (what, name))
        expect_eq(counted(env, "ip", "203.0.113.9"), forged_before,
                  "%s: %s: the forged address's counter" % (what, name))


@test
def test_several_forwarded_for_lines_through_nginx(env):
    # nginx 1.22 passes each header line as its own HTTP_X_FORWARDED_FOR
    # param, in the order received
    # (over REQUEST_FORWARDED_BYTES, 8192, in all: only the right-most part
    # is read)
    check_forwarded_lines(env, env.port, env.pool.log, "nginx", 9000)


@test
def test_several_forwarded_for_lines_through_apache(env):
    # Apache joins the lines into one HTTP_X_FORWARDED_FOR with ", "
    site = Site(env, "apache-xff")
    apache = Apache(site)
    apache.start()
    port = apache.port
    try:
        # agentauth's log lines land in Apache's error log
        check_forwarded_lines(env, port, site.path("error.log"), "Apache", 6000)
        # Apache refuses a joined header over its LimitRequestFieldSize
        # (8190 bytes) itself: such lines never reach agentauth
        user = "xff-apache-big-%d@example.com" % (time.time() * 1000)
        r = login(port, user, "wrong", ["203.0.113.9, " * 250] * 3 + [new_client_ip()])
        expect_eq(r.status, 400, "Apache: 9000 bytes: status")
        expect(b"errors" not in r.body, "Apache: 9000 bytes: answered by agentauth")
        expect_eq(audited(env, user), "", "Apache: 9000 bytes: audited")
    finally:
        apache.stop()
        gone = site.wait_no_pids(15)
    expect(gone, "agentauth processes left after apache2 -k stop: %s" % site.pids())
    expect_clean_exit(site, "Apache")


def same_net(ip, n):
    """Address n in the /64 of ip (2001:db8:PID:N::n)."""
    return "%s%x" % (ip[:-1], n)


@test
def test_ipv6_addresses_of_one_64_share_the_address_and_username_counter(env):
    ip, user = new_client_ip(), "v6-pair-%d@example.com" % (time.time() * 1000)
    for i in range(9):  # lockout_attempts, each from another address of the /64
        expect_login_401(login(env.port, user, "wrong", [same_net(ip, i + 1)]),
                         "failure %d" % (i + 1))
    expect_eq(counted(env, "ip_user", client_key(ip), user), "9", "one counter for the /64")
    expect_eq(env.cluster.psql("SELECT count(DISTINCT client_ip) FROM agentauth.audit_events "
                               "WHERE event = 'login_failure' AND username = '%s'" % user), "9",
              "the audit keeps each full address")
    expect_eq(audited(env, user), same_net(ip, 9), "last audited address")
    expect_locked(login(env.port, user, "wrong", [same_net(ip, 0xabcd)]), "10th, a new address")
    expect_login_401(login(env.port, user, "wrong", [new_client_ip()]), "another /64")


@test
def test_ipv6_addresses_of_one_64_share_the_address_counter(env):
    ip, stamp = new_client_ip(), int(time.time() * 1000)
    for i in range(100):  # ip_lockout_attempts, every one a new address and username
        r = login(env.port, "v6-net-%d-%d@example.com" % (stamp, i), "x", [same_net(ip, i + 1)])
        expect_login_401(r, "failure %d" % (i + 1))
    key = client_key(ip)
    expect_eq(key, "2001:db8:%s::/64" % ":".join(ip.split(":")[2:4]), "the key's text")
    expect_eq(counted(env, "ip", key), "100", "address counter of the /64")
    r = login(env.port, "agent@example.com", "agent-pass", [same_net(ip, 0xffff)])
    expect_locked(r, "right password, a new address of the /64")
    expect_eq(env.cluster.psql("SELECT count(*) FROM agentauth.current_lockouts WHERE scope = "
                               "'ip' AND client_ip = '%s'" % key), "1", "current_lockouts")
    expect_201(login(env.port, "agent@example.com", "agent-pass", [new_client_ip()]),
               "an address of another /64")
    # DB admins lift it by any address in it, or by the network
    expect_eq(env.cluster.psql("SELECT agentauth.unlock_ip('%s')" % same_net(ip, 7)), "101",
              "unlock_ip of one address removes the /64's address row and its 100 pair rows")
    expect_201(login(env.port, "agent@example.com", "agent-pass", [same_net(ip, 0xffff)]),
               "after unlock_ip")


@test
def test_ipv6_prefix_128_counts_every_address(env):
    pool = harness.Pool(env.workdir, env.binary, env.cluster, env.key,
                        extra={"ipv6_prefix": "128"}, name="agentauth-v6-128")
    nginx = harness.Nginx(env.workdir, pool.sock, name="nginx-v6-128")
    try:
        ip, user = new_client_ip(), "v6-128-%d@example.com" % (time.time() * 1000)
        for i in range(9):
            expect_login_401(login(nginx.port, user, "wrong", [same_net(ip, i + 1)]),
                             "failure %d" % (i + 1))
            expect_eq(counted(env, "ip_user", same_net(ip, i + 1), user), "1",
                      "counted for the address itself")
        expect_eq(counted(env, "ip_user", client_key(ip), user), "", "nothing for the /64")
        expect_login_401(login(nginx.port, user, "wrong", [same_net(ip, 0xabcd)]),
                         "10th, a new address of the /64")
        for i in range(8):  # the Spryker rule, per address
            expect_login_401(login(nginx.port, user, "wrong", [ip]), "again %d" % (i + 2))
        expect_locked(login(nginx.port, user, "agent-pass", [ip]), "10th from one address")
        expect_eq(audited(env, user), ip, "audited")
    finally:
        nginx.stop()
        expect_eq(pool.stop(), 0, "the ipv6_prefix = 128 pool's exit status")
