"""The shipped deploy/ files, run for real: Apache + mod_fcgid, nginx +
spawn-fcgi, nginx + the built-in pool, and the systemd units (checked with
systemd-analyze; socket activation through systemd-socket-activate, since
systemd is not PID 1 here).

Each mode reads its deploy file and substitutes only paths, the socket, the
user agentauth (which does not exist on a test machine; www-data stands in)
and spawn-fcgi's process count; everything else runs as shipped (the
private directories, web servers and checks are in tests/lib/hosting.py)."""
import ctypes
import os
import pwd
import re
import signal
import subprocess

import harness
import hosting
from api import APP_413, ERR_4103, LOGIN, add_customers
from harness import expect, expect_eq, request
from hosting import RUN_USER, Apache, Site, clean_environ, expect_clean_exit, \
    expect_sanitizer_env, kept_connections, private_nginx, run, shipped
from registry import test

SEARCH = "/auth/agent-customer-search?q=sonia"


# ---------------------------------------------------------------- helpers

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


def common_checks(env, port, what, over_app, over_front):
    """What every mode must do.  over_app: (size, status, body or None) of a
    body over max_body_bytes; over_front: the same for a body over the web
    server's own limit (body None: the web server's page, not checked)."""
    add_customers(env)
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


# ------------------------------------------------------- Apache + mod_fcgid

@test
def test_apache_mod_fcgid(env):
    site = Site(env, "apache")
    apache = Apache(site)
    apache.check_config()
    apache.start()
    port = apache.port
    main_pid = None
    try:
        expect(harness.wait_for(lambda: os.path.exists(site.path("apache2.pid")), 5),
               "apache2 wrote its pid file")
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
        apache.stop()
        gone = site.wait_no_pids(15)
        # its error log is complete once the main process has gone
        main_gone = main_pid is None or harness.wait_for(
            lambda: not harness.pid_alive(main_pid), 10)
    expect(gone, "agentauth processes left after apache2 -k stop: %s" % site.pids())
    expect(main_gone, "apache2 (pid %s) still runs 10 s after apache2 -k stop" % main_pid)
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
    code = []

    def exited():
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                code.append(os.waitstatus_to_exitcode(status))
        except ChildProcessError:
            if not harness.pid_alive(pid):
                code.append("unknown")
        return bool(code)
    harness.wait_for(exited, timeout, 0.05)
    return code[0] if code else None


@test
def test_nginx_spawn_fcgi(env):
    harness.need_program("spawn-fcgi", "spawn-fcgi")
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
        expect_eq(request(nginx.port, "GET", "/auth/health").status, 200, "health")
        expect(kept_connections(sock) >= 1, "the shipped nginx files keep connections")
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
    expect_clean_exit(site, "spawn-fcgi")
    if not reaper:
        raise harness.Skip("the exit statuses of spawn-fcgi's children were not checked: "
                           "PR_SET_CHILD_SUBREAPER is not available")
    for pid, code in codes.items():
        expect_eq(code, 0, "exit status of child %d" % pid)


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
    units = [os.path.join(hosting.DEPLOY, "systemd", n) for n in
             ("agentauth.socket", "agentauth.service", "agentauth-pool.service")]
    analyze = harness.need_program("systemd-analyze", "systemd")
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
    activate = harness.need_program("systemd-socket-activate", "systemd")
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
        expect(harness.wait_for(lambda: os.path.exists(listen), 10),
               "systemd-socket-activate made no socket")
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
