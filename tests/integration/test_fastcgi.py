"""FastCGI connections (doc/security.md "FastCGI connections: smuggling and
stalls"): a body that is not read to its end must not leave its rest on a
kept connection, where libfcgi would parse it as the next request; and a
peer that stalls must not hold a worker.

Raw FastCGI over the pool's socket for what no web server sends, and nginx
with fastcgi_keep_conn on and an upstream keepalive pool for what an HTTP
client can make it send.  Each test runs its own pool of one worker, so
that "the next request is served" means "by the worker that met the
attack"."""
import os
import select
import signal
import socket
import struct
import subprocess
import threading
import time

import harness
from api import APP_413
from hosting import kept_connections
from harness import FCGI_ABORT as ABORT, FCGI_BEGIN as BEGIN, FCGI_END as END, \
    FCGI_PARAMS as PARAMS, FCGI_STDIN as STDIN, FCGI_STDOUT as STDOUT, expect, expect_eq, \
    fcgi_nv as nv, fcgi_parse as parse_records, fcgi_record as record, \
    fcgi_stdout as stdout_of
from registry import test

KEEP_CONN = 1
CANT_MPX_CONN = 1
READ_TIMEOUT = 3          # read_timeout of the deadline pools, seconds
LOGIN_BODY = (b'{"data":{"type":"agent-access-tokens","attributes":{"username":'
              b'"agent@example.com","password":"agent-pass"}}}')


# ------------------------------------------------------------ FastCGI bytes

def begin(req_id=1, keep=False):
    return record(BEGIN, struct.pack(">HB5x", 1, KEEP_CONN if keep else 0), req_id)


def params_record(params, req_id=1):
    return record(PARAMS, b"".join(nv(k, v) for k, v in params.items()), req_id) + \
        record(PARAMS, b"", req_id)


def request_bytes(params, stdin=b"", req_id=1, keep=False):
    """A whole request: BEGIN_REQUEST, PARAMS, STDIN and their ends."""
    msg = begin(req_id, keep) + params_record(params, req_id)
    if stdin:
        msg += record(STDIN, stdin, req_id)
    return msg + record(STDIN, b"", req_id)


def login_params(content_length, remote_addr="127.0.0.1"):
    return {"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/auth",
            "PATH_INFO": "/agent-access-tokens", "CONTENT_TYPE": "application/vnd.api+json",
            "CONTENT_LENGTH": str(content_length), "REMOTE_ADDR": remote_addr,
            "SERVER_PORT": "80", "HTTP_HOST": "example.org",
            "HTTP_ACCEPT": "application/vnd.api+json"}


def health_params(remote_addr="127.0.0.1"):
    return {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/auth", "PATH_INFO": "/health",
            "REMOTE_ADDR": remote_addr, "SERVER_PORT": "80", "HTTP_HOST": "example.org",
            "HTTP_ACCEPT": "application/json"}


def forged_login(marker):
    """A complete login of a known agent from the client address marker,
    asking to keep the connection."""
    return request_bytes(login_params(len(LOGIN_BODY), marker), LOGIN_BODY, keep=True)


# A record of request 2 with 8 bytes of content: libfcgi skips it (another
# request id).  A run of them is a sled: from any 8-byte-aligned position
# in it, parsing goes header, skipped content, header, ...  SLED_END then
# brings both phases of that walk to the same place: a record of 16 bytes
# of content read as a header skips 2 units, read as content it is skipped
# and the next header skips 1; either way the forged request comes next.
SLED = struct.pack(">BBHHBx", 1, STDIN, 2, 8, 0)
SLED_END = struct.pack(">BBHHBx", 1, STDIN, 2, 16, 0) + SLED + SLED
BLOCK = 2048


def smuggling_body(forged, size, shift):
    """size bytes of blocks of BLOCK bytes, each a sled and then forged: a
    read of libfcgi (8 KiB chunks) that starts anywhere in a sled parses
    the forged request.  The blocks are shifted by shift bytes, so that two
    bodies with shifts BLOCK/2 apart leave no read position uncovered (the
    forged request is shorter than BLOCK/2)."""
    tail = SLED_END + forged
    assert len(tail) < BLOCK // 2 and len(tail) % 8 == 0 and shift % 8 == 0
    unit = SLED * ((BLOCK - len(tail)) // 8) + tail
    body = SLED * (shift // 8) + unit * (size // len(unit) + 2)
    return body[:size]


SHIFTS = (0, BLOCK // 2)


def connect(addr):
    s = socket.socket(socket.AF_UNIX if isinstance(addr, str) else socket.AF_INET)
    s.settimeout(10)
    s.connect(addr)
    return s


def read_until_closed(s, timeout):
    """Everything s receives until the peer closes it or timeout passes.
    Returns (data, seconds until the close, or None if still open)."""
    data, t0 = b"", time.time()
    end = t0 + timeout
    while True:
        left = end - time.time()
        if left <= 0:
            return data, None
        r, _, _ = select.select([s], [], [], left)
        if not r:
            continue
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return data, time.time() - t0
        if not chunk:
            return data, time.time() - t0
        data += chunk


def exchange(addr, msg, timeout=6):
    """Sends msg on one new connection and reads until the worker closes it
    (or timeout).  Returns (records, closed)."""
    s = connect(addr)
    try:
        try:
            s.sendall(msg)
        except (BrokenPipeError, ConnectionResetError):
            pass    # the worker closed first; what it sent is still readable
        data, closed = read_until_closed(s, timeout)
    finally:
        s.close()
    return parse_records(data), closed is not None


def raw_health(addr, timeout):
    """GET /health on a new connection; returns the status (0: no answer)."""
    recs, _ = exchange(addr, request_bytes(health_params()), timeout)
    head = stdout_of(recs).partition(b"\r\n\r\n")[0].decode("latin-1")
    for line in head.split("\r\n"):
        if line.startswith("Status: "):
            return int(line.split()[1])
    return 200 if head else 0


_markers = [0]


def new_marker():
    """A client address of TEST-NET-1 that only a forged request carries."""
    _markers[0] += 1
    return "192.0.2.%d" % _markers[0]


def marker_traces(env, pool, marker):
    """What a request from marker left: audit rows and log lines."""
    rows = int(env.cluster.psql("SELECT count(*) FROM agentauth.audit_events WHERE "
                                "client_ip = '%s'" % marker))
    with open(pool.log, errors="replace") as f:
        lines = [l for l in f if "ip=%s " % marker in l or l.rstrip().endswith("ip=" + marker)]
    return rows, lines


def expect_forged_never_ran(env, pool, addr, marker, what):
    """The single worker answers a request on a new connection, so it has
    done everything sent before; then no trace of marker may exist."""
    expect_eq(raw_health(addr, 20), 200, what + ": the next request on a new connection")
    rows, lines = marker_traces(env, pool, marker)
    expect_eq(rows, 0, what + ": audit rows of the forged request (%s)" % marker)
    expect_eq(lines, [], what + ": log lines of the forged request")


def one_worker_pool(env, name, extra=None):
    return harness.Pool(env.workdir, env.binary, env.cluster, env.key, workers=1,
                        extra=extra, name=name)


# ------------------------------------------------- A. smuggling, raw FastCGI

def smuggling_case(env, pool, case, shift):
    marker = new_marker()
    body = smuggling_body(forged_login(marker), 40960, shift)
    # "declared": CONTENT_LENGTH over max_body_bytes, refused unread;
    # "longer": a small CONTENT_LENGTH, and far more than max_body_bytes sent
    cl = len(body) if case == "declared" else 100
    what = "%s, shift %d" % (case, shift)
    recs, closed = exchange(pool.sock, request_bytes(login_params(cl), body, keep=True))
    ends = [(i, c) for t, i, c in recs if t == END]
    expect_eq(len(ends), 1, what + ": END_REQUEST records (%r)" % ends)
    out = stdout_of(recs)
    expect(out.startswith(b"Status: 413"), what + ": the answer is the 413 (%r)" % out[:80])
    expect(out.endswith(APP_413), what + ": nothing after the 413's body (%r)" % out[-200:])
    expect_eq([i for t, i, c in recs if t not in (STDOUT, END)], [],
              what + ": no other records")
    expect(closed, what + ": the worker closed the connection after the 413")
    expect_forged_never_ran(env, pool, pool.sock, marker, what)


@test
def test_body_over_limit_does_not_smuggle_a_request_on_a_kept_connection(env):
    pool = one_worker_pool(env, "fcgi-smuggle")
    try:
        for case in ("declared", "longer"):
            for shift in SHIFTS:
                smuggling_case(env, pool, case, shift)
    finally:
        expect_eq(pool.stop(), 0, "pool exit status")


@test
def test_abort_request_mid_body_does_not_smuggle(env):
    """FCGI_ABORT_REQUEST in the middle of a body of allowed size, then the
    rest of the connection carrying the forged request: the request is
    dropped, the connection closed, the forged request never runs."""
    pool = one_worker_pool(env, "fcgi-abort")
    try:
        for shift in SHIFTS:
            marker = new_marker()
            smuggled = smuggling_body(forged_login(marker), 24576, shift)
            msg = begin(keep=True) + params_record(login_params(8000)) + \
                record(STDIN, b"x" * 4000) + record(ABORT, b"") + record(STDIN, smuggled)
            recs, closed = exchange(pool.sock, msg)
            expect(len([1 for t, i, c in recs if t == END]) <= 1,
                   "at most the aborted request's END_REQUEST (%r)" % recs)
            expect_eq(stdout_of(recs), b"", "no answer to an aborted request")
            expect(closed, "the worker closed the connection")
            expect_forged_never_ran(env, pool, pool.sock, marker, "abort, shift %d" % shift)
    finally:
        expect_eq(pool.stop(), 0, "pool exit status")


@test
def test_kept_connection_still_serves_requests_read_to_their_end(env):
    """The other side of the limit: a request whose body was read to its
    end keeps the connection (FCGI_KEEP_CONN), and the next BEGIN_REQUEST
    on it is served.  A BEGIN_REQUEST of a second request id in the middle
    of a body (multiplexing) is refused with FCGI_CANT_MPX_CONN and its
    records are skipped: it never runs."""
    pool = one_worker_pool(env, "fcgi-keep")
    try:
        s = connect(pool.sock)
        try:
            for n in range(3):
                s.sendall(request_bytes(login_params(len(LOGIN_BODY)), LOGIN_BODY, keep=True))
                data = b""
                while not any(t == END for t, i, c in parse_records(data)):
                    chunk = s.recv(65536)
                    expect(chunk, "request %d: the connection stays open" % n)
                    data += chunk
                out = stdout_of(parse_records(data))
                expect(out.startswith(b"Status: 201"), "request %d on the kept connection: %r"
                       % (n, out[:80]))
            # request 2 begins inside request 1's body.  Its last record has
            # content: after an empty record of another request libfcgi
            # 2.4.2 also skips the content of the next record (request 1's
            # rest here, which then gets 400), a quirk that runs nothing.
            marker = new_marker()
            half = len(LOGIN_BODY) // 2
            s.sendall(begin(keep=True) + params_record(login_params(len(LOGIN_BODY))) +
                      record(STDIN, LOGIN_BODY[:half]) +
                      begin(2) + params_record(login_params(len(LOGIN_BODY), marker), 2) +
                      record(STDIN, LOGIN_BODY, 2) +
                      record(STDIN, LOGIN_BODY[half:]) + record(STDIN, b""))
            data = b""
            while not any(t == END and i == 1 for t, i, c in parse_records(data)):
                chunk = s.recv(65536)
                expect(chunk, "multiplexed: the connection stays open")
                data += chunk
            recs = parse_records(data)
            expect(stdout_of(recs).startswith(b"Status: 201"), "request 1 is served: %r"
                   % stdout_of(recs)[:200])
            mpx = [c for t, i, c in recs if t == END and i == 2]
            expect_eq(len(mpx), 1, "END_REQUEST of request 2")
            expect_eq(mpx[0][4], CANT_MPX_CONN, "its protocolStatus")
            expect_eq(stdout_of(recs, 2), b"", "no answer for request 2")
        finally:
            s.close()
        expect_forged_never_ran(env, pool, pool.sock, marker, "multiplexed request")
    finally:
        expect_eq(pool.stop(), 0, "pool exit status")


# ------------------------------------------------- A. smuggling, via nginx

KEEP_UPSTREAM = """
    upstream agentauth_kept {
        server unix:%s;
        keepalive 4;
    }
"""

KEEP_SERVER = """
        location /auth/ {
            client_max_body_size 1m;
            include /etc/nginx/fastcgi_params;
            fastcgi_split_path_info ^(/auth)(/.*)$;
            fastcgi_param SCRIPT_NAME $fastcgi_script_name;
            fastcgi_param PATH_INFO $fastcgi_path_info;
            fastcgi_param HTTP_PROXY "";
            fastcgi_keep_conn on;
            fastcgi_pass agentauth_kept;
        }
"""


@test
def test_nginx_keep_conn_body_over_limit_does_not_smuggle(env):
    """An HTTP client's oversized body, through nginx with fastcgi_keep_conn
    on and an upstream keepalive pool: the forged request inside it never
    runs, and the next request gets its right answer."""
    pool = one_worker_pool(env, "fcgi-nginx")
    nginx = None
    try:
        nginx = harness.Nginx(env.workdir, name="nginx-keep-conn", server=KEEP_SERVER,
                              http_extra=KEEP_UPSTREAM % pool.sock)
        r = harness.request(nginx.port, "POST", "/auth/agent-access-tokens", LOGIN_BODY,
                            {"Content-Type": "application/vnd.api+json"})
        expect_eq(r.status, 201, "a login through nginx")
        expect_eq(kept_connections(pool.sock), 1, "nginx keeps the upstream connection")
        for size in (30720, 16392):
            for shift in SHIFTS:
                marker = new_marker()
                body = smuggling_body(forged_login(marker), size, shift)
                what = "%d-byte body, shift %d" % (size, shift)
                r = harness.request(nginx.port, "POST", "/auth/agent-access-tokens", body,
                                    {"Content-Type": "application/vnd.api+json"})
                expect_eq((r.status, r.body), (413, APP_413), what + ": answer")
                r = harness.request(nginx.port, "POST", "/auth/agent-access-tokens",
                                    LOGIN_BODY, {"Content-Type": "application/vnd.api+json"})
                expect_eq(r.status, 201, what + ": the next login (%r)" % r.body[:200])
                expect_eq(r.json()["data"]["type"], "agent-access-tokens", what + ": its type")
                # the single worker answered the login after anything the
                # 413's connection still held: the forged request would
                # have run by now
                rows, lines = marker_traces(env, pool, marker)
                expect_eq((rows, lines), (0, []), what + ": traces of the forged request")
    finally:
        if nginx is not None:
            nginx.stop()
        expect_eq(pool.stop(), 0, "pool exit status")


# ------------------------------------------------------ B. read deadline

def deadline_pool(env, name):
    return one_worker_pool(env, name, {"read_timeout": str(READ_TIMEOUT)})


def expect_stall_dropped(env, addr, stalled_bytes, what, log=None):
    """A peer sends stalled_bytes and stalls; a normal request on another
    connection is still served by the single worker, within the deadline,
    and the worker closes the stalled connection."""
    s = connect(addr)
    try:
        s.sendall(stalled_bytes)
        t0 = time.time()
        status = raw_health(addr, READ_TIMEOUT + 10)
        took = time.time() - t0
        expect_eq(status, 200, what + ": the next request is served")
        expect(took < READ_TIMEOUT + 5, what + ": within the deadline (%.1f s)" % took)
        data, closed = read_until_closed(s, 5)
        expect(closed is not None, what + ": the worker closed the stalled connection")
        expect_eq(data, b"", what + ": no answer on the stalled connection")
    finally:
        s.close()
    if log is not None:
        with open(log, errors="replace") as f:
            text = f.read()
        expect("connection dropped: no complete request within read_timeout (%d s)"
               % READ_TIMEOUT in text, what + ": the log line")


def half_params():
    content = b"".join(nv(k, v) for k, v in health_params().items())
    return begin() + struct.pack(">BBHHBx", 1, PARAMS, 1, len(content), 0) + \
        content[:len(content) // 2]


def half_stdin():
    return begin() + params_record(login_params(len(LOGIN_BODY))) + \
        struct.pack(">BBHHBx", 1, STDIN, 1, len(LOGIN_BODY), 0) + LOGIN_BODY[:40]


@test
def test_stall_in_params_is_dropped_after_read_timeout(env):
    pool = deadline_pool(env, "fcgi-stall-params")
    try:
        expect_stall_dropped(env, pool.sock, half_params(), "stall in PARAMS", pool.log)
    finally:
        expect_eq(pool.stop(), 0, "pool exit status")


@test
def test_stall_in_stdin_is_dropped_after_read_timeout(env):
    pool = deadline_pool(env, "fcgi-stall-stdin")
    try:
        expect_stall_dropped(env, pool.sock, half_stdin(), "stall in STDIN", pool.log)
        # and nothing of the stalled login ran: no answer was sent, and the
        # pool's log has no login line
        with open(pool.log, errors="replace") as f:
            expect("POST /agent-access-tokens" not in f.read(), "the stalled login ran")
    finally:
        expect_eq(pool.stop(), 0, "pool exit status")


@test
def test_trickling_peer_is_dropped_at_read_timeout(env):
    """The deadline is per request, not per read: a peer that sends one byte
    every 0.2 s never lets a read wait long, and is still dropped once
    read_timeout has passed since the connection was accepted."""
    pool = deadline_pool(env, "fcgi-trickle")
    try:
        msg = request_bytes(login_params(len(LOGIN_BODY)), LOGIN_BODY)
        s = connect(pool.sock)
        t0 = time.time()
        closed_at = None
        try:
            for i in range(len(msg)):
                try:
                    s.sendall(msg[i:i + 1])
                except (BrokenPipeError, ConnectionResetError):
                    closed_at = time.time() - t0
                    break
                r, _, _ = select.select([s], [], [], 0.2)
                if r:
                    try:
                        gone = s.recv(65536) == b""
                    except ConnectionResetError:
                        gone = True
                    if gone:
                        closed_at = time.time() - t0
                        break
                if time.time() - t0 > READ_TIMEOUT + 10:
                    break
        finally:
            s.close()
        expect(closed_at is not None, "the trickling connection was closed")
        expect(READ_TIMEOUT - 0.5 <= closed_at <= READ_TIMEOUT + 3,
               "closed at read_timeout (%.1f s after the connect)" % closed_at)
        expect_eq(raw_health(pool.sock, 10), 200, "the next request")
    finally:
        expect_eq(pool.stop(), 0, "pool exit status")


@test
def test_slow_peer_within_read_timeout_is_served(env):
    """The other side of the limit: a request that arrives in pieces, all
    of it within read_timeout, is served."""
    pool = deadline_pool(env, "fcgi-slow")
    try:
        msg = request_bytes(login_params(len(LOGIN_BODY)), LOGIN_BODY)
        s = connect(pool.sock)
        try:
            step = len(msg) // 5 + 1
            for i in range(0, len(msg), step):
                s.sendall(msg[i:i + step])
                time.sleep(0.25)    # the pace of the slow client, not a wait for a result
            data, closed = read_until_closed(s, 15)
        finally:
            s.close()
        out = stdout_of(parse_records(data))
        expect(out.startswith(b"Status: 201"), "the slow login is served (%r)" % out[:80])
        expect(closed is not None, "and its connection closed (no FCGI_KEEP_CONN)")
    finally:
        expect_eq(pool.stop(), 0, "pool exit status")


@test
def test_timer_of_an_earlier_request_does_not_cut_a_later_one(env):
    """The worker does not cancel its timer after each request: a timer
    armed for an earlier request fires while a later one is being read,
    and must neither cut that read short nor end its connection (the
    later request has read_timeout of its own)."""
    pool = deadline_pool(env, "fcgi-early-timer")
    try:
        s = connect(pool.sock)
        try:
            t0 = time.time()
            expect(health_on(s, "the first request").startswith(b"Status: 200"),
                   "the first request is served")
            # the next request on the kept connection arrives in pieces
            # from 1 s before the first request's timer fires until 1 s
            # after (the pace of the client, not a wait for a result)
            time.sleep(max(0.0, t0 + READ_TIMEOUT - 1.0 - time.time()))
            msg = request_bytes(health_params(), keep=True)
            step = len(msg) // 8 + 1
            for i in range(0, len(msg), step):
                s.sendall(msg[i:i + step])
                time.sleep(0.25)
            expect(time.time() - t0 > READ_TIMEOUT + 0.5,
                   "the first request's timer fired during the second's read")
            recs, data = [], b""
            s.settimeout(10)
            while not any(t == END for t, i, c in recs):
                chunk = s.recv(65536)
                expect(chunk, "an answer to the second request")
                data += chunk
                recs = parse_records(data)
            expect(stdout_of(recs).startswith(b"Status: 200"), "the second request is served")
            expect(health_on(s, "a third request").startswith(b"Status: 200"),
                   "the connection is still kept")
        finally:
            s.close()
    finally:
        expect_eq(pool.stop(), 0, "pool exit status")


def health_on(s, what):
    """GET /health on the kept connection s (which stays kept); returns the
    answer's FastCGI stdout."""
    s.sendall(request_bytes(health_params(), keep=True))
    recs, data = [], b""
    while not any(t == END for t, i, c in recs):
        chunk = s.recv(65536)
        expect(chunk, what + ": an answer on the kept connection")
        data += chunk
        recs = parse_records(data)
    return stdout_of(recs)


def keep_one_connection(addr):
    """A connection that has had one request answered and asked to be kept."""
    s = connect(addr)
    health_on(s, "the first request")
    return s


@test
def test_idle_kept_connection_does_not_hold_up_new_ones(env):
    """A kept connection with no next request does not hold the single
    worker: a request on a new connection is served at once, the kept one
    still serves its next request, and the worker closes it once it has
    been idle for read_timeout."""
    pool = deadline_pool(env, "fcgi-idle")
    try:
        s = keep_one_connection(pool.sock)
        try:
            t0 = time.time()
            expect_eq(raw_health(pool.sock, READ_TIMEOUT + 10), 200, "a request on a new "
                      "connection")
            took = time.time() - t0
            expect(took < READ_TIMEOUT - 1, "served without waiting for the idle "
                   "connection's read_timeout (%.1f s)" % took)
            head = health_on(s, "the next request").partition(b"\r\n\r\n")[0]
            expect(head.startswith(b"Status: 200"), "its answer: %r" % head[:40])
            rest, closed = read_until_closed(s, READ_TIMEOUT + 5)
            expect(closed is not None and rest == b"", "the idle kept connection was closed")
            expect(closed > READ_TIMEOUT - 1, "after read_timeout (%.1f s)" % closed)
        finally:
            s.close()
    finally:
        expect_eq(pool.stop(), 0, "pool exit status")


@test
def test_worker_holds_many_kept_connections(env):
    """One worker holds several kept connections at once and serves each
    one's requests in turn (the web server's connection pool)."""
    pool = deadline_pool(env, "fcgi-many")
    socks = []
    try:
        for i in range(6):
            socks.append(keep_one_connection(pool.sock))
        expect_eq(kept_connections(pool.sock), 6, "the worker holds six connections")
        for rnd in range(3):
            for i, s in enumerate(reversed(socks)):
                what = "connection %d, round %d" % (i, rnd)
                expect(health_on(s, what).startswith(b"Status: 200"), what + ": 200")
    finally:
        for s in socks:
            s.close()
        expect_eq(pool.stop(), 0, "pool exit status")


WORKER_CONNECTIONS = 16     # what one worker holds at most (doc/operations.md §3.1)


@test
def test_worker_at_its_connection_limit_closes_the_longest_idle(env):
    """At the limit of held connections, a new connection is still served
    at once: the worker closes the one idle longest (not one whose request
    is waiting) to take it."""
    pool = deadline_pool(env, "fcgi-limit")
    socks = []
    try:
        for i in range(WORKER_CONNECTIONS):
            socks.append(keep_one_connection(pool.sock))
        expect_eq(kept_connections(pool.sock), WORKER_CONNECTIONS, "held at the limit")
        t0 = time.time()
        expect_eq(raw_health(pool.sock, READ_TIMEOUT + 10), 200, "one connection more")
        expect(time.time() - t0 < READ_TIMEOUT - 1, "served at once (%.1f s)" % (time.time() - t0))
        rest, closed = read_until_closed(socks[0], 2)
        expect(closed is not None and rest == b"", "the connection idle longest was closed")
        expect(health_on(socks[1], "the next one").startswith(b"Status: 200"),
               "the next one still answers, with 200")
        log = open(pool.log).read()
        expect("kept connection closed to take a new one (16 held)" in log, "logged")
    finally:
        for s in socks:
            s.close()
        expect_eq(pool.stop(), 0, "pool exit status")


@test
def test_nginx_keep_conn_parallel_requests_are_not_held_up(env):
    """nginx with fastcgi_keep_conn on and an upstream keepalive pool larger
    than the worker count: parallel logins are all answered at once, none
    waits for another connection's read_timeout, and nginx reuses the
    connections."""
    pool = harness.Pool(env.workdir, env.binary, env.cluster, env.key, workers=2,
                        extra={"read_timeout": "8"}, name="fcgi-nginx-par")
    nginx = None
    try:
        nginx = harness.Nginx(env.workdir, name="nginx-keep-par", server=KEEP_SERVER,
                              http_extra=KEEP_UPSTREAM.replace("keepalive 4;", "keepalive 8;")
                              % pool.sock)
        for rnd in range(3):
            results = [None] * 6

            def login(i):
                results[i] = harness.request(nginx.port, "POST", "/auth/agent-access-tokens",
                                             LOGIN_BODY,
                                             {"Content-Type": "application/vnd.api+json"})
            t0 = time.time()
            threads = [threading.Thread(target=login, args=(i,)) for i in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            took = time.time() - t0
            expect_eq([r.status if r else None for r in results], [201] * 6,
                      "round %d: six parallel logins" % rnd)
            expect(took < 8, "round %d: none waited for an idle connection's read_timeout "
                   "(%.1f s)" % (rnd, took))
        expect(kept_connections(pool.sock) >= 1, "nginx keeps its upstream connections")
    finally:
        if nginx is not None:
            nginx.stop()
        expect_eq(pool.stop(), 0, "pool exit status")


def single_process(env, name, listener_family, extra_env=None):
    """agentauth serving a listening socket on fd 0, as spawn-fcgi, systemd
    socket activation and mod_fcgid start it.  Returns (process, address,
    log path)."""
    d = os.path.join(env.workdir, name)
    os.makedirs(d)
    conf, log = os.path.join(d, "agentauth.conf"), os.path.join(d, "agentauth.log")
    with open(env.pool.conf) as src, open(conf, "w") as out:
        for line in src:
            if line.split("=", 1)[0].strip() not in ("listen", "workers"):
                out.write(line)
        out.write("read_timeout = %d\n" % READ_TIMEOUT)
    if listener_family == socket.AF_UNIX:
        addr = os.path.join(d, "agentauth.sock")
        lsock = socket.socket(socket.AF_UNIX)
        lsock.bind(addr)
    else:
        lsock = socket.socket(socket.AF_INET)
        lsock.bind(("127.0.0.1", 0))
        addr = lsock.getsockname()
    lsock.listen(16)
    e = dict(os.environ)
    e.update(extra_env or {})
    with open(log, "w") as logf:
        proc = subprocess.Popen([env.binary, "--config", conf], stdin=lsock.fileno(),
                                stdout=logf, stderr=subprocess.STDOUT, env=e)
    lsock.close()
    return proc, addr, log


def wait_serving(proc, addr, what, timeout=10):
    """Waits until the single process answers GET /health on addr."""
    status = [0]

    def up():
        if proc.poll() is not None:
            return True
        status[0] = raw_health(addr, 5)
        return status[0] == 200
    harness.wait_for(up, timeout, 0.05)
    expect(proc.poll() is None and status[0] == 200, what + ": serving (%d)" % status[0])


def stop_single(proc):
    proc.terminate()
    try:
        return proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


@test
def test_read_timeout_on_fd_0(env):
    """The same deadline for a single process on fd 0 (spawn-fcgi, systemd
    socket activation, mod_fcgid): a Unix socket and a TCP socket."""
    for family, what in ((socket.AF_UNIX, "fd 0, Unix socket"), (socket.AF_INET, "fd 0, TCP")):
        proc, addr, log = single_process(env, "fcgi-fd0-%d" % family, family)
        try:
            wait_serving(proc, addr, what)
            expect_stall_dropped(env, addr, half_params(), what + ", stall in PARAMS", log)
            expect_stall_dropped(env, addr, half_stdin(), what + ", stall in STDIN")
        finally:
            expect_eq(stop_single(proc), 0, what + ": exit status")


@test
def test_fcgi_web_server_addrs_is_honoured(env):
    """agentauth accepts its connections itself (so that the deadline starts
    with them); libfcgi's FCGI_WEB_SERVER_ADDRS, the IPv4 addresses that may
    connect over TCP, still applies."""
    for allowed, served in (("127.0.0.2", False), ("127.0.0.2,127.0.0.1", True)):
        proc, addr, _ = single_process(env, "fcgi-wsa-%d" % served, socket.AF_INET,
                                       {"FCGI_WEB_SERVER_ADDRS": allowed})
        try:
            if served:
                wait_serving(proc, addr, "served with " + allowed)
            else:
                # the listening socket exists before the process starts: the
                # connection waits in its backlog, is accepted and closed
                recs, closed = exchange(addr, request_bytes(health_params()), 10)
                expect(closed, "the connection is closed")
                expect_eq(recs, [], "no answer with FCGI_WEB_SERVER_ADDRS=%s" % allowed)
                expect(proc.poll() is None, "still running")
        finally:
            expect_eq(stop_single(proc), 0, "exit status")


@test
def test_sigusr1_still_ends_a_serving_process(env):
    """libfcgi's graceful-exit signal ended its own accept; agentauth's
    accept must end on it too (agentauth(8), SIGUSR1): exit status 0."""
    proc, addr, _ = single_process(env, "fcgi-usr1", socket.AF_UNIX)
    try:
        wait_serving(proc, addr, "SIGUSR1")
        proc.send_signal(signal.SIGUSR1)
        try:
            rc = proc.wait(10)
        except subprocess.TimeoutExpired:
            rc = None
        expect_eq(rc, 0, "exit status after SIGUSR1")
    finally:
        if proc.poll() is None:
            stop_single(proc)
