"""Hosting modes for the integration tests: the shipped deploy/ files with
only paths, the socket, the user and the process count substituted, run
for real in a private directory per mode (Site), behind a private nginx
or Apache + mod_fcgid.

The user agentauth does not exist on a test machine: www-data stands in.
The agentauth processes that Apache and spawn-fcgi start run as www-data,
like in production, with www-data-readable copies of the configuration and
the key, and write their sanitizer reports to env.asan_dir, which the last
test of run.py checks."""
import os
import pwd
import shutil
import subprocess

import harness
from harness import expect

DEPLOY = os.path.join(harness.ROOT, "deploy")
RUN_USER = "www-data"   # what mod_fcgid runs agentauth as; also our stand-in for "agentauth"
MOD_FCGID = "/usr/lib/apache2/modules/mod_fcgid.so"


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
        """Whether every process of this mode is gone within timeout."""
        return harness.wait_for(lambda: not self.pids(), timeout, 0.05)

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


def kept_connections(sock):
    """The connections the pool's worker has accepted on sock and still
    holds (/proc/net/unix: connected sockets bound to that path)."""
    with open("/proc/net/unix") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return sum(1 for r in rows if len(r) >= 8 and r[7] == sock and r[5] == "03")


def private_nginx(site, sock):
    """harness.Nginx (workers as RUN_USER) whose server block is the shipped
    snippet deploy/nginx/agentauth.conf and whose http block has the shipped
    upstream deploy/nginx/agentauth-upstream.conf (kept connections), with
    the socket path substituted."""
    d = site.path("nginx")
    os.makedirs(d)
    # the snippet's "include fastcgi_params" is relative to nginx.conf
    shutil.copy("/etc/nginx/fastcgi_params", d)
    snippet = os.path.join(d, "agentauth.conf")
    with open(snippet, "w") as f:
        f.write(shipped("nginx/agentauth.conf", []))
    upstream = os.path.join(d, "agentauth-upstream.conf")
    with open(upstream, "w") as f:
        f.write(shipped("nginx/agentauth-upstream.conf",
                        [("unix:/run/agentauth/agentauth.sock", "unix:" + sock)]))
    return harness.Nginx(os.path.dirname(d), server="        include %s;" % snippet,
                         http_extra="    include %s;" % upstream,
                         user=RUN_USER, name=os.path.basename(d), env=clean_environ())


def expect_sanitizer_env(pids, what):
    """The sanitizer options (log_path into env.asan_dir) reached these
    processes, so that their reports are not lost on a closed stderr."""
    for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        expect(name in os.environ, "%s is not set (run.py sets it)" % name)
        want = ("%s=%s" % (name, os.environ[name])).encode()
        for pid in pids:
            with open("/proc/%d/environ" % pid, "rb") as f:
                expect(want in f.read().split(b"\0"), "%s: %s of process %d" % (what, name, pid))


def expect_clean_exit(site, what):
    reports = site.new_reports()
    expect(not reports, "%s: sanitizer reports:\n%s" % (what, "\n".join(reports)))


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


class Apache:
    """apache2 (mpm_event, mod_fcgid) on 127.0.0.1:port in site's directory,
    with the shipped deploy/apache/agentauth.conf; agentauth's log lines land
    in site.path("error.log")."""

    def __init__(self, site):
        self.bin = harness.need_program("apache2", "apache2")
        expect(os.path.exists(MOD_FCGID), "mod_fcgid is not installed (package "
               "libapache2-mod-fcgid; tests/run.sh installs it)")
        self.site = site
        os.makedirs(site.path("htdocs"))
        snippet = site.path("apache-agentauth.conf")
        with open(snippet, "w") as f:
            f.write(shipped("apache/agentauth.conf",
                            [("/usr/sbin/agentauth", site.binary),
                             ("/etc/agentauth/agentauth.conf", site.conf)]))
        self.port = harness.free_port()
        self.conf = site.path("apache2.conf")
        with open(self.conf, "w") as f:
            f.write(APACHE_CONF % {
                "dir": site.dir, "port": self.port, "snippet": snippet,
                "asan": os.environ.get("ASAN_OPTIONS", "detect_leaks=1"),
                "ubsan": os.environ.get("UBSAN_OPTIONS", "print_stacktrace=1")})

    def check_config(self):
        """apache2 -t: the configuration, the shipped snippet included, parses."""
        run([self.bin, "-f", self.conf, "-t"], env=clean_environ())

    def start(self):
        """apache2 -k start; returns when the port answers (stopped again if
        it does not)."""
        run([self.bin, "-f", self.conf, "-k", "start"], env=clean_environ())
        try:
            harness.wait_port(self.port)
        except Exception:
            self.stop()
            raise

    def stop(self):
        """apache2 -k stop (returns at once; see Site.wait_no_pids)."""
        subprocess.run([self.bin, "-f", self.conf, "-k", "stop"], capture_output=True,
                       env=clean_environ())
