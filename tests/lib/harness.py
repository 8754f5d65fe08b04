"""Throwaway PostgreSQL cluster, agentauth pool and nginx for the tests.

Everything lives in one temporary directory and listens on loopback or on
Unix sockets inside it.  Nothing here talks to anything but this machine.
"""
import glob
import http.client
import ipaddress
import json
import os
import shutil
import socket
import struct
import subprocess
import time

# the newest PostgreSQL installed (15 on Debian 12)
PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                key=lambda d: int(d.split("/")[-2]))[-1]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(cond, timeout, interval=0.02):
    """Polls cond() until it is true or timeout seconds have passed; returns
    its last value (true if it came true).  The one way a test waits for
    something: a condition with a deadline, never a fixed sleep."""
    end = time.time() + timeout
    while True:
        value = cond()
        if value or time.time() >= end:
            return value
        time.sleep(interval)


def need_program(name, package):
    """The path of program name, which tests/run.sh installs (package): a
    missing one is a failure, not a skip."""
    path = shutil.which(name) or next((p for p in ("/usr/sbin/" + name, "/sbin/" + name)
                                       if os.access(p, os.X_OK)), None)
    if path is None:
        raise AssertionError("%s is not installed (package %s; tests/run.sh installs it)"
                             % (name, package))
    return path


def as_postgres(cmd, **kw):
    """Runs cmd as the postgres user when we are root (initdb refuses root)."""
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
        kw.setdefault("cwd", "/")   # the checkout may be where postgres cannot go
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


class Cluster:
    """A PostgreSQL cluster in dir/pg, socket in dir, port on 127.0.0.1.
    durable: fsync on, as PostgreSQL ships (benchmarks); the tests run
    without it."""

    def __init__(self, workdir, durable=False):
        self.dir = workdir
        self.durable = durable
        self.data = os.path.join(workdir, "pg")
        self.port = free_port()
        self.log = os.path.join(workdir, "pg.log")
        if os.geteuid() == 0:
            shutil.chown(workdir, "postgres")
        as_postgres([PG_BIN + "/initdb", "-A", "trust", "-U", "postgres",
                     "-E", "UTF8", "--no-sync", "-D", self.data])
        self.start()

    def start(self):
        as_postgres([PG_BIN + "/pg_ctl", "-D", self.data, "-l", self.log, "-w",
                     "-o", "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=%s"
                     " -c max_connections=60" % (self.port, self.dir,
                                                 "on" if self.durable else "off"), "start"])

    def stop(self, mode="fast"):
        as_postgres([PG_BIN + "/pg_ctl", "-D", self.data, "-m", mode, "-w", "stop"])

    def conninfo(self, user="postgres", db="agentauth"):
        return "host=%s port=%d dbname=%s user=%s" % (self.dir, self.port, db, user)

    def psql(self, sql, db="agentauth", user="postgres", check=True, script=False):
        """Runs sql; returns stdout (unaligned, tuples only, '|' separated).
        script: sql is a psql script (statements one by one, in one
        session, backslash commands allowed) rather than one query string."""
        r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-h", self.dir, "-p", str(self.port), "-U", user, "-d", db] +
                           ([] if script else ["-c", sql]),
                           input=sql if script else None, capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError("psql failed: %s\n%s" % (sql, r.stderr))
        return r.stdout.strip() if check else r

    def psql_file(self, path, db="agentauth"):
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.dir,
                        "-p", str(self.port), "-U", "postgres", "-d", db, "-f", path],
                       check=True, capture_output=True, text=True)


class Nginx:
    """nginx on 127.0.0.1:port.  By default it mounts the pool's socket at /auth
    (split path info) and at /raw (everything in SCRIPT_NAME), with Debian's
    fastcgi_params as they are; server replaces the server block's body, and
    http_extra goes into the http block before it (an upstream block);
    workers is worker_processes."""

    def __init__(self, workdir, sock=None, server=None, user="root", name="nginx",
                 env=None, http_extra="", workers=1):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.conf = os.path.join(self.dir, "nginx.conf")
        if server is None:
            server = DEFAULT_SERVER % {"sock": sock}
        with open(self.conf, "w") as f:
            f.write(NGINX_CONF % {"dir": self.dir, "port": self.port, "user": user,
                                  "server": server, "http_extra": http_extra,
                                  "workers": workers})
        subprocess.run(["nginx", "-c", self.conf, "-p", self.dir], check=True,
                       capture_output=True, env=env)
        wait_port(self.port)

    def stop(self):
        try:
            pid = int(open(os.path.join(self.dir, "nginx.pid")).read())
        except (OSError, ValueError):
            return
        os.kill(pid, 15)
        wait_for(lambda: not pid_alive(pid), 5)


NGINX_CONF = """
daemon on;
user %(user)s %(user)s;
worker_processes %(workers)d;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log warn;
events { worker_connections 256; }
http {
    access_log %(dir)s/access.log;
    client_body_temp_path %(dir)s/body;
    fastcgi_temp_path %(dir)s/fastcgi;
    proxy_temp_path %(dir)s/proxy;
    uwsgi_temp_path %(dir)s/uwsgi;
    scgi_temp_path %(dir)s/scgi;
%(http_extra)s
    server {
        listen 127.0.0.1:%(port)d;
%(server)s
    }
}
"""

DEFAULT_SERVER = """
        location /auth/ {
            client_max_body_size 64k;
            include /etc/nginx/fastcgi_params;
            fastcgi_split_path_info ^(/auth)(/.*)$;
            fastcgi_param SCRIPT_NAME $fastcgi_script_name;
            fastcgi_param PATH_INFO $fastcgi_path_info;
            fastcgi_param HTTP_PROXY "";
            fastcgi_pass unix:%(sock)s;
        }
        location /raw/ {
            include /etc/nginx/fastcgi_params;
            fastcgi_param HTTP_PROXY "";
            fastcgi_pass unix:%(sock)s;
        }
"""


def pid_alive(pid):
    """Whether process pid exists (a zombie counts until it is reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def port_answers(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


def socket_answers(path):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def wait_port(port, timeout=10):
    if not wait_for(lambda: port_answers(port), timeout, 0.05):
        raise RuntimeError("nothing listens on port %d" % port)


def wait_socket(path, timeout=10):
    if not wait_for(lambda: socket_answers(path), timeout, 0.05):
        raise RuntimeError("nothing listens on %s" % path)


def log_has(path, text):
    """Whether the file at path (a log) contains text yet."""
    try:
        with open(path, errors="replace") as f:
            return text in f.read()
    except FileNotFoundError:
        return False


class Pool:
    """agentauth --listen unix:SOCK --workers N, config from a file."""

    def __init__(self, workdir, binary, cluster, key, workers=2, extra=None,
                 name="agentauth"):
        self.sock = os.path.join(workdir, name + ".sock")
        self.conf = os.path.join(workdir, name + ".conf")
        self.log = os.path.join(workdir, name + ".log")
        self.binary = binary
        settings = {
            "database": cluster.conninfo(user="agentauth_worker"),
            "private_key": key,
            "listen": "unix:" + self.sock,
            "workers": str(workers),
            "dummy_hash_cost": "4",
            "log_level": "debug",
            # nginx runs on loopback: believe its X-Forwarded-For, so that
            # each test can be its own client address
            "trusted_proxies": "127.0.0.1/32, ::1",
        }
        settings.update(extra or {})
        with open(self.conf, "w") as f:
            f.write("# written by the test harness\n")
            for k, v in settings.items():
                f.write("%s = %s\n" % (k, v))
        self.start()

    def start(self):
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        self.logf = open(self.log, "a")
        self.proc = subprocess.Popen([self.binary, "--config", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=env)
        wait_socket(self.sock)

    def stop(self, timeout=15):
        self.proc.terminate()
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.logf.close()
        return rc

    def worker_pids(self):
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                             text=True).stdout.split()
        return [int(p) for p in out]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body.decode("utf-8"))


_next_client = [0]


def new_client_ip():
    """A fresh client address from the documentation prefix 2001:db8::/32,
    each in a /64 of its own (2001:db8:PID:N::1): IPv6 clients are counted
    by their /64 (ipv6_prefix), so that unrelated tests keep their own
    counters.  It only ever appears in an X-Forwarded-For header: nothing
    is sent to it."""
    _next_client[0] += 1
    return "2001:db8:%x:%x::1" % (os.getpid() & 0xffff, _next_client[0])


def client_key(ip, prefix=64):
    """The lock-out counters' key of the client address ip (the
    login_attempts.client_ip column): an IPv6 address's network with
    ipv6_prefix bits ("2001:db8:1:2::/64"), the address itself for IPv4 and
    for prefix 128."""
    if not ip:
        return ""   # the requests without a usable address
    addr = ipaddress.ip_address(ip)
    if addr.version == 4 or prefix == 128:
        return str(addr)
    return str(ipaddress.ip_network("%s/%d" % (ip, prefix), strict=False))


def request(port, method, path, body=None, headers=None, timeout=30):
    """One HTTP/1.1 request to 127.0.0.1:port; returns a Response.  Unless
    headers name one, each request comes from a new client address (an
    X-Forwarded-For that the test pool trusts), so that lock-out counters
    of unrelated tests do not meet."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    hdrs = {"Accept": "application/vnd.api+json", "X-Forwarded-For": new_client_ip()}
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        hdrs["Content-Type"] = "application/vnd.api+json"
    hdrs.update(headers or {})
    hdrs = {k: v for k, v in hdrs.items() if v is not None}
    if isinstance(body, str):
        body = body.encode("utf-8")
    conn.request(method, path, body=body, headers=hdrs)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return Response(r.status, r.getheaders(), data)


# ---------------------------------------------------------- FastCGI bytes

FCGI_BEGIN, FCGI_ABORT, FCGI_END, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 2, 3, 4, 5, 6


def fcgi_record(rtype, content=b"", req_id=1):
    """One FastCGI record (several for content over 65528 bytes), padded to 8."""
    out = b""
    while True:
        chunk, content = content[:65528], content[65528:]
        pad = (8 - len(chunk) % 8) % 8
        out += struct.pack(">BBHHBx", 1, rtype, req_id, len(chunk), pad) + chunk + b"\0" * pad
        if not content:
            return out


def fcgi_nv(name, value):
    """One FastCGI name-value pair (value str or bytes)."""
    def ln(n):
        return bytes([n]) if n < 128 else (n | 0x80000000).to_bytes(4, "big")
    name = name.encode()
    value = value.encode() if isinstance(value, str) else value
    return ln(len(name)) + ln(len(value)) + name + value


def fcgi_parse(data):
    """[(type, request id, content)] of a byte string of records."""
    out, pos = [], 0
    while pos + 8 <= len(data):
        _, rtype, req_id, clen, pad = struct.unpack(">BBHHBx", data[pos:pos + 8])
        out.append((rtype, req_id, data[pos + 8:pos + 8 + clen]))
        pos += 8 + clen + pad
    return out


def fcgi_stdout(records, req_id=1):
    """The FCGI_STDOUT content of request req_id in records."""
    return b"".join(c for t, i, c in records if t == FCGI_STDOUT and i == req_id)


def fcgi_request(sock_path, params, stdin=b"", timeout=10):
    """A raw FastCGI request on a Unix socket, for what no web server sends
    (lying CONTENT_LENGTH and the like).  Returns (status, headers, body)."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(sock_path)
    msg = fcgi_record(FCGI_BEGIN, bytes([0, 1, 0, 0, 0, 0, 0, 0]))  # responder
    msg += fcgi_record(FCGI_PARAMS, b"".join(fcgi_nv(k, v) for k, v in params.items()))
    msg += fcgi_record(FCGI_PARAMS, b"")
    if stdin:
        msg += fcgi_record(FCGI_STDIN, stdin)
    msg += fcgi_record(FCGI_STDIN, b"")
    s.sendall(msg)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    out = fcgi_stdout(fcgi_parse(data))
    head, _, body = out.partition(b"\r\n\r\n")
    headers = dict(l.split(": ", 1) for l in head.decode().split("\r\n") if ": " in l)
    status = int(headers.get("Status", "200").split()[0])
    return status, headers, body


class Skip(Exception):
    """Raised by a test that cannot check what it is about on this machine
    (a capability of the kernel or the environment, not a package: what
    tests/run.sh installs is required, see need_program).  Reported as
    "ok N - name # SKIP reason" and counted apart, never as a pass."""


class Runner:
    """Counts and prints test results as TAP lines; summary() is the last
    line, "N passed, M failed, K skipped"."""

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.failures = []

    def run(self, name, fn, *args):
        n = self.passed + self.failed + self.skipped + 1
        try:
            fn(*args)
        except Skip as e:
            self.skipped += 1
            print("ok %d - %s # SKIP %s" % (n, name, e), flush=True)
            return None
        except Exception as e:  # an assertion or an unexpected error
            self.failed += 1
            self.failures.append(name)
            print("not ok %d - %s\n#   %s: %s" % (n, name, type(e).__name__, e), flush=True)
            return False
        self.passed += 1
        print("ok %d - %s" % (n, name), flush=True)
        return True

    def summary(self):
        return "%d passed, %d failed, %d skipped" % (self.passed, self.failed, self.skipped)


def expect(cond, msg="assertion failed"):
    if not cond:
        raise AssertionError(msg)


def expect_eq(got, want, what="value"):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))
