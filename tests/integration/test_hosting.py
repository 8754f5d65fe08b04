"""The shipped deploy/ files, run for real: Apache + mod_fcgid, nginx +
spawn-fcgi, nginx + the built-in pool, and the systemd units (checked with
systemd-analyze; socket activation through systemd-socket-activate, since
systemd is not PID 1 here).

Each mode reads its deploy file and substitutes only paths, the socket, the
user agentauth (which does not exist on a test machine; www-data stands in)
and spawn-fcgi's process count; everything else runs as shipped.
The agentauth processes that Apache and spawn-fcgi start run as www-data,
like in production, with www-data-readable copies of the configuration and
the key, and write their sanitizer reports to env.asan_dir, which the last
test of run.py checks."""
import ctypes
import os
import pwd
import re
import shutil
import signal
import subprocess
import time

import harness
from harness import expect, expect_eq, request
import test_customers

TESTS = []


def test(fn):
    TESTS.append((fn.__name__[5:].replace("_", " "), fn))
    return fn


def tests():
    return TESTS


DEPLOY = os.path.join(harness.ROOT, "deploy")
LOGIN = "/auth/agent-access-tokens"
SEARCH = "/auth/agent-customer-search?q=sonia"
APP_413 = b'{"errors":[{"status":413,"detail":"Request body is too large."}]}'
ERR_4103 = (b'{"errors":[{"code":"4103","status":401,"detail":"Action is available to agent '
            b'user only."}]}')
RUN_USER = "www-data"   # what mod_fcgid runs agentauth as; also our stand-in for "agentauth"


# ---------------------------------------------------------------- helpers

def shipped(rel, subs):
    """The text of deploy/REL with each (old, new) of subs replaced.  Every
    old string must occur, so that a change of the shipped file that the
    substitution no longer matches fails here instead of testing something
    else."""
    with open(os.path.join(DEPLOY, rel)) as f:
        text = f.read()
    for old, new in subs:
        expect(old in text, "deploy/%s no longer contains %r" % (rel, old))
        text = text.replace(old, new)
    return text


def login_body(password="agent-pass", size=None):
    """A login document; with size, the password is padded so that the
    body has exactly that many bytes."""
    head = '{"data":{"type":"agent-access-tokens","attributes":{"username":"agent@example.com",' \
           '"password":"'
    tail = '"}}}'
    if size is not None:
        password = "x" * (size - len(head) - len(tail))
    body = (head + password + tail).encode()
    if size is not None:
        assert len(body) == size
    return body


def post_login(port, body):
    return request(port, "POST", LOGIN, body, {"Content-Type": "application/vnd.api+json"})


class Site:
    """A private directory for one hosting mode, traversable by www-data,
    with a copy of the binary, a www-data-readable configuration (the test
    pool's settings, minus listen and workers) and a key only www-data can
    read."""

    def __init__(self, env, name):
        self.env = env
        self.dir = os.path.join(env.workdir, "hosting-" + name)
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        pw = pwd.getpwnam(RUN_USER)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        # a copy per mode: its path tells this mode's processes apart
        self.binary = os.path.join(self.dir, "agentauth")
        shutil.copy2(env.binary, self.binary)
        os.chmod(self.binary, 0o755)
        self.key = os.path.join(self.dir, "key.pem")
        shutil.copy2(env.key, self.key)
        os.chown(self.key, self.uid, self.gid)
        os.chmod(self.key, 0o600)
        self.conf = os.path.join(self.dir, "agentauth.conf")
        with open(env.pool.conf) as src, open(self.conf, "w") as out:
            for line in src:
                key = line.split("=", 1)[0].strip()
                if key in ("listen", "workers"):
                    continue
                if key == "private_key":
                    line = "private_key = %s\n" % self.key
                out.write(line)
        os.chown(self.conf, 0, self.gid)
        os.chmod(self.conf, 0o640)
        # sanitizer reports of processes that run as www-data
        os.chmod(env.asan_dir, 0o1777)
        self.reports_before = set(os.listdir(env.asan_dir))

    def path(self, name):
        return os.path.join(self.dir, name)

    def pids(self):
        """Live processes running this mode's copy of the binary."""
        out = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    if os.readlink("/proc/%s/exe" % d) == self.binary:
                        out.append(int(d))
                except OSError:
                    pass
        return out

    def wait_no_pids(self, timeout):
        end = time.time() + timeout
        while time.time() < end:
            if not self.pids():
                return True
            time.sleep(0.05)
        return not self.pids()

    def new_reports(self):
        """Sanitizer reports that appeared since this site was made."""
        out = []
        for name in sorted(set(os.listdir(self.env.asan_dir)) - self.reports_before):
            with open(os.path.join(self.env.asan_dir, name), errors="replace") as f:
                out.append("%s:\n%s" % (name, f.read()[:3000]))
        return out

    def log_tail(self, name, n=3000):
        try:
            with open(self.path(name), errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return "(no %s)" % name


def common_checks(env, port, what, over_app, over_front):
    """What every mode must do.  over_app: (size, status, body or None) of a
    body over max_body_bytes; over_front: the same for a body over the web
    server's own limit (body None: the web server's page, not checked)."""
    test_customers.setup(env)
    # login: 201, and the links name this server's origin and mount point
    r = post_login(port, login_body())
    expect_eq(r.status, 201, "%s: login status (%r)" % (what, r.body[:200]))
    doc = r.json()
    expect_eq(doc["data"]["links"]["self"], "http://127.0.0.1:%d%s" % (port, LOGIN),
              what + ": links.self")
    token = doc["data"]["attributes"]["accessToken"]
    # both token headers reach the app (Authorization needs CGIPassAuth
    # under Apache); without either, the app refuses
    for header in ("X-Agent-Authorization", "Authorization"):
        r = request(port, "GET", SEARCH, None, {header: "Bearer " + token})
        expect_eq(r.status, 200, "%s: search with the token in %s (%r)"
                  % (what, header, r.body[:200]))
        refs = [c["customerReference"] for c in r.json()["data"][0]["attributes"]["customers"]]
        expect_eq(refs, ["DE--21"], "%s: search result (%s)" % (what, header))
    r = request(port, "GET", SEARCH)
    expect_eq((r.status, r.body), (401, ERR_4103), what + ": search without a token")
    # bodies over the limits
    for size, status, body in (over_app, over_front):
        r = post_login(port, login_body(size=size))
        expect_eq(r.status, status, "%s: %d-byte body: status" % (what, size))
        if body is not None:
            expect_eq(r.body, body, "%s: %d-byte body: body" % (what, size))
        else:
            expect(APP_413 not in r.body, "%s: %d-byte body answered by the app, not the "
                   "web server" % (what, size))
    # and the next request is served
    r = post_login(port, login_body())
    expect_eq(r.status, 201, what + ": login after the refused bodies")


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(cmd), r.returncode, r.stdout,
                                                    r.stderr))
    return r


def clean_environ():
    """The environment for web servers and spawners: no sanitizer options
    (the shipped files must get them to agentauth) and no AGENTAUTH_*."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("AGENTAUTH_", "ASAN_", "UBSAN_", "LSAN_"))}


def private_nginx(site, sock):
    """harness.Nginx (workers as RUN_USER) whose server block is the shipped
    snippet deploy/nginx/agentauth.conf, with the socket path substituted."""
    d = site.path("nginx")
    os.makedirs(d)
    # the snippet's "include fastcgi_params" is relative to nginx.conf
    shutil.copy("/etc/nginx/fastcgi_params", d)
    snippet = os.path.join(d, "agentauth.conf")
    with open(snippet, "w") as f:
        f.write(shipped("nginx/agentauth.conf",
                        [("unix:/run/agentauth/agentauth.sock", "unix:" + sock)]))
    return harness.Nginx(os.path.dirname(d), server="        include %s;" % snippet,
                         user=RUN_USER, name=os.path.basename(d), env=clean_environ())


def expect_sanitizer_env(pids, what):
    """The sanitizer options (log_path into env.asan_dir) reached these
    processes, so that their reports are not lost on a closed stderr."""
    for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if name not in os.environ:
            continue
        want = ("%s=%s" % (name, os.environ[name])).encode()
        for pid in pids:
            with open("/proc/%d/environ" % pid, "rb") as f:
                expect(want in f.read().split(b"\0"), "%s: %s of process %d" % (what, name, pid))


def expect_clean_exit(site, what):
    reports = site.new_reports()
    expect(not reports, "%s: sanitizer reports:\n%s" % (what, "\n".join(reports)))


# ------------------------------------------------------- Apache + mod_fcgid

APACHE_CONF = """
ServerRoot "%(dir)s"
ServerName 127.0.0.1
Listen 127.0.0.1:%(port)d
PidFile %(dir)s/apache2.pid
DefaultRuntimeDir %(dir)s
Mutex file:%(dir)s default
ErrorLog %(dir)s/error.log
LogLevel warn fcgid:info
User www-data
Group www-data
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so
LoadModule setenvif_module /usr/lib/apache2/modules/mod_setenvif.so
LoadModule fcgid_module /usr/lib/apache2/modules/mod_fcgid.so
TypesConfig /etc/mime.types
DocumentRoot %(dir)s/htdocs
StartServers 1
ServerLimit 1
ThreadsPerChild 25
MaxRequestWorkers 25
MinSpareThreads 1
MaxSpareThreads 25
# server-config-only settings, as in Debian's mods-available/fcgid.conf
FcgidIPCDir %(dir)s/fcgidsock
FcgidProcessTableFile %(dir)s/fcgid_shm
# test only: sanitizer reports of the agentauth processes go to env.asan_dir
FcgidInitialEnv ASAN_OPTIONS %(asan)s
FcgidInitialEnv UBSAN_OPTIONS %(ubsan)s
Include %(snippet)s
"""


@test
def test_apache_mod_fcgid(env):
    apache2 = shutil.which("apache2") or "/usr/sbin/apache2"
    expect(os.path.exists("/usr/lib/apache2/modules/mod_fcgid.so"),
           "apache2 and libapache2-mod-fcgid are not installed (tests/run.sh installs them)")
    site = Site(env, "apache")
    os.makedirs(site.path("htdocs"))
    snippet = site.path("apache-agentauth.conf")
    with open(snippet, "w") as f:
        f.write(shipped("apache/agentauth.conf",
                        [("/usr/sbin/agentauth", site.binary),
                         ("/etc/agentauth/agentauth.conf", site.conf)]))
    port = harness.free_port()
    conf = site.path("apache2.conf")
    with open(conf, "w") as f:
        f.write(APACHE_CONF % {"dir": site.dir, "port": port, "snippet": snippet,
                               "asan": os.environ.get("ASAN_OPTIONS", "detect_leaks=1"),
                               "ubsan": os.environ.get("UBSAN_OPTIONS", "print_stacktrace=1")})
    run([apache2, "-f", conf, "-t"], env=clean_environ())
    run([apache2, "-f", conf, "-k", "start"], env=clean_environ())
    main_pid = None
    try:
        harness.wait_port(port)
        for _ in range(100):
            if os.path.exists(site.path("apache2.pid")):
                break
            time.sleep(0.05)
        main_pid = int(open(site.path("apache2.pid")).read())
        common_checks(env, port, "Apache",
                      (20 * 1024, 413, APP_413),      # FcgidMaxRequestLen lets it through
                      (70 * 1024, 500, None))         # over FcgidMaxRequestLen
        served = site.pids()
        expect(served, "agentauth processes under mod_fcgid")
        for pid in served:
            expect_eq(os.stat("/proc/%d" % pid).st_uid, site.uid,
                      "agentauth under mod_fcgid runs as " + RUN_USER)
        expect_sanitizer_env(served, "Apache")
        expect("exceeds MaxRequestLen" in site.log_tail("error.log", 20000),
               "the 500 came from mod_fcgid's FcgidMaxRequestLen:\n" + site.log_tail("error.log"))
    finally:
        subprocess.run([apache2, "-f", conf, "-k", "stop"], capture_output=True,
                       env=clean_environ())
        gone = site.wait_no_pids(15)
        if main_pid is not None:
            for _ in range(200):
                try:
                    os.kill(main_pid, 0)
                except OSError:
                    break
                time.sleep(0.05)
    expect(gone, "agentauth processes left after apache2 -k stop: %s" % site.pids())
    log = site.log_tail("error.log", 100000)
    for bad in ("terminating forcefully", "graceful kill fail", "SIGKILL",
                "End of script output before headers"):
        expect(bad not in log, "Apache error log has %r:\n%s" % (bad, log[-3000:]))
    # mod_fcgid logs each process's exit at info level: all must be 0
    codes = re.findall(r"mod_fcgid: process \S+ exit\(([^)]*)\),.*return code: (\d+)", log)
    expect(codes, "mod_fcgid logged no process exit:\n" + log[-3000:])
    expect(all(code == "0" for _, code in codes), "exit codes under mod_fcgid: %s" % codes)
    expect_clean_exit(site, "Apache")


# ------------------------------------------------------- nginx + spawn-fcgi

def set_subreaper(on):
    """Orphans of our children become our children (Linux), so that we can
    collect the exit status of spawn-fcgi's forked processes."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(36, 1 if on else 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap(pid, timeout):
    """The exit code of pid (our child thanks to set_subreaper), "unknown"
    if it exited but was not our child, or None if it is still running."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            try:
                os.kill(pid, 0)
            except OSError:
                return "unknown"
        time.sleep(0.05)
    return None


@test
def test_nginx_spawn_fcgi(env):
    expect(shutil.which("spawn-fcgi"), "spawn-fcgi is not installed (tests/run.sh installs it)")
    site = Site(env, "spawn-fcgi")
    sock, pidfile = site.path("agentauth.sock"), site.path("agentauth.pid")
    default = site.path("default-agentauth")
    with open(default, "w") as f:
        f.write(shipped("spawn-fcgi/agentauth",
                        [("/etc/agentauth/agentauth.conf", site.conf),
                         ("/run/agentauth/agentauth.sock", sock),
                         ("/run/agentauth/agentauth.pid", pidfile),
                         ("/usr/sbin/agentauth", site.binary),
                         # no user agentauth here; 2 processes are enough
                         ("-u agentauth -g agentauth", "-u %s -g %s" % (RUN_USER, RUN_USER)),
                         ("-F 4", "-F 2")]))
    # the start commands documented in the file; sanitizer options added
    # for the test (spawn-fcgi passes its environment on)
    e = clean_environ()
    e["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "detect_leaks=1")
    e["UBSAN_OPTIONS"] = os.environ.get("UBSAN_OPTIONS", "print_stacktrace=1")
    reaper = set_subreaper(True)
    try:
        run(["sh", "-c", 'set -a; . "$1"; set +a; exec spawn-fcgi $SPAWN_FCGI_OPTS -- "$DAEMON"',
             "sh", default], env=e)
    finally:
        set_subreaper(False)
    pids = []
    nginx = None
    try:
        with open(pidfile) as f:
            pids = [int(p) for p in f.read().split()]
        expect_eq(len(pids), 2, "pids in the pid file")
        st = os.stat(sock)
        expect_eq((st.st_mode & 0o777, st.st_uid, st.st_gid), (0o660, site.uid, site.gid),
                  "socket mode and owner")
        for pid in pids:
            expect_eq(os.stat("/proc/%d" % pid).st_uid, site.uid,
                      "spawn-fcgi's children run as " + RUN_USER)
        expect_sanitizer_env(pids, "spawn-fcgi")
        nginx = private_nginx(site, sock)
        # nginx's client_max_body_size equals max_body_bytes: the largest
        # body the app accepts passes nginx (and is a failed login: the
        # password is too long), one byte more is nginx's 413
        r = post_login(nginx.port, login_body(size=16384))
        expect_eq(r.status, 401, "16384-byte body reaches the app (%r)" % r.body[:200])
        r = post_login(nginx.port, login_body(size=16385))
        expect_eq(r.status, 413, "16385-byte body")
        common_checks(env, nginx.port, "nginx + spawn-fcgi",
                      (20 * 1024, 413, None),    # client_max_body_size 16k: nginx's 413
                      (100 * 1024, 413, None))
    finally:
        if nginx is not None:
            nginx.stop()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        codes = {pid: reap(pid, 15) for pid in pids}
        for pid, code in codes.items():
            if code is None:
                os.kill(pid, signal.SIGKILL)
                reap(pid, 5)
    for pid, code in codes.items():
        expect(code is not None, "child %d did not exit within 15 s of SIGTERM" % pid)
        if reaper:
            expect_eq(code, 0, "exit status of child %d" % pid)
    expect_clean_exit(site, "spawn-fcgi")


# ---------------------------------------------------- nginx + built-in pool

@test
def test_nginx_builtin_pool(env):
    # env.pool is "agentauth --listen unix:SOCK --workers 2", env.nginx the
    # harness's nginx (client_max_body_size 64k): so 20 KiB reach the app
    common_checks(env, env.port, "nginx + pool",
                  (20 * 1024, 413, APP_413),
                  (100 * 1024, 413, None))


# ------------------------------------------------------------------ systemd

def unit_value(text, key):
    m = re.search(r"^%s=(.*)$" % re.escape(key), text, re.M)
    expect(m is not None, "no %s= in the unit" % key)
    return m.group(1).strip()


@test
def test_systemd_units_verify(env):
    units = [os.path.join(DEPLOY, "systemd", n) for n in
             ("agentauth.socket", "agentauth.service", "agentauth-pool.service")]
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        print("# skip: systemd-analyze is not installed; the units were not verified")
        return
    # as shipped: only the binary, which is not installed here, may be missing
    r = subprocess.run([analyze, "verify", "--man=no"] + units, capture_output=True, text=True)
    lines = [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]
    other = [l for l in lines if "/usr/sbin/agentauth is not executable" not in l]
    expect(not other, "systemd-analyze verify:\n" + "\n".join(lines))
    # with the binary present: nothing at all to report
    d = os.path.join(env.workdir, "hosting-units")
    os.makedirs(d)
    for u in units:
        with open(os.path.join(d, os.path.basename(u)), "w") as f:
            f.write(shipped("systemd/" + os.path.basename(u), [])
                    .replace("/usr/sbin/agentauth", env.binary))
    r = subprocess.run([analyze, "verify", "--man=no"] +
                       [os.path.join(d, os.path.basename(u)) for u in units],
                       capture_output=True, text=True)
    expect_eq((r.returncode, (r.stdout + r.stderr).strip()), (0, ""),
              "systemd-analyze verify with the binary in place")


@test
def test_systemd_socket_activation(env):
    """agentauth.socket + agentauth.service without systemd: the socket's
    ListenStream and the service's ExecStart, run by systemd-socket-activate
    (which passes the socket as LISTEN_FDS=1 on fd 3, the other convention
    agentauth accepts besides StandardInput=socket), behind nginx."""
    activate = shutil.which("systemd-socket-activate")
    expect(activate, "systemd-socket-activate is not installed (package systemd)")
    site = Site(env, "systemd")
    sock = site.path("agentauth.sock")
    socket_unit = shipped("systemd/agentauth.socket",
                          [("/run/agentauth/agentauth.sock", sock)])
    service = shipped("systemd/agentauth.service",
                      [("/usr/sbin/agentauth", site.binary),
                       ("/etc/agentauth/agentauth.conf", site.conf)])
    expect_eq(unit_value(service, "StandardInput"), "socket", "StandardInput")
    expect_eq(unit_value(service, "StandardOutput"), "journal",
              "StandardOutput (the default with StandardInput=socket is the socket)")
    expect_eq(unit_value(service, "KillMode"), "mixed", "KillMode")
    exec_start = unit_value(service, "ExecStart").split()
    listen = unit_value(socket_unit, "ListenStream")
    # User=agentauth: run it as our stand-in user, by setpriv, which execs
    # in place so that LISTEN_PID stays right
    cmd = [activate, "-l", listen, "--fdname=agentauth",
           "-E", "ASAN_OPTIONS=" + os.environ.get("ASAN_OPTIONS", "detect_leaks=1"),
           "-E", "UBSAN_OPTIONS=" + os.environ.get("UBSAN_OPTIONS", "print_stacktrace=1"),
           "--", "setpriv", "--reuid", RUN_USER, "--regid", RUN_USER, "--init-groups",
           "--"] + exec_start
    log = open(site.path("agentauth.log"), "w")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            env=clean_environ())
    nginx = None
    try:
        end = time.time() + 10
        while not os.path.exists(listen) and time.time() < end:
            time.sleep(0.02)
        expect(os.path.exists(listen), "systemd-socket-activate made no socket")
        # what systemd does for SocketUser=, SocketGroup= and SocketMode=
        os.chown(listen, pwd.getpwnam(unit_value(socket_unit, "SocketUser")).pw_uid,
                 pwd.getpwnam(unit_value(socket_unit, "SocketGroup")).pw_gid)
        os.chmod(listen, int(unit_value(socket_unit, "SocketMode"), 8))
        nginx = private_nginx(site, listen)
        r = post_login(nginx.port, login_body())
        expect_eq(r.status, 201, "login through the activated service (%r)\n%s"
                  % (r.body[:200], site.log_tail("agentauth.log")))
        expect_eq(r.json()["data"]["links"]["self"],
                  "http://127.0.0.1:%d%s" % (nginx.port, LOGIN), "links.self")
        expect(proc.poll() is None, "the service is running")
        expect_eq(os.stat("/proc/%d" % proc.pid).st_uid, site.uid, "runs as " + RUN_USER)
        expect_eq(os.readlink("/proc/%d/exe" % proc.pid), site.binary,
                  "the activated process is agentauth itself (LISTEN_PID is its pid)")
        workers = int(exec_start[exec_start.index("--workers") + 1])
        expect_eq(len(site.pids()), workers + 1, "master and --workers processes")
        expect_sanitizer_env(site.pids(), "socket activation")
    finally:
        if nginx is not None:
            nginx.stop()
        # KillMode=mixed: SIGTERM to the main process only
        proc.terminate()
        try:
            rc = proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        log.close()
    expect_eq(rc, 0, "exit status after SIGTERM\n" + site.log_tail("agentauth.log"))
    expect(site.wait_no_pids(5), "workers left after the master exited")
    expect_clean_exit(site, "socket activation")
