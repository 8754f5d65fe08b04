"""Shared part of the benchmark environment helpers (login_env.py, search_env.py).

A helper starts, with tests/lib/harness.py, a throwaway PostgreSQL cluster
(schema from sql/install.sql, a LOGIN role agentauth_worker), the agentauth
pool and nginx, all on loopback or Unix sockets in one temporary directory;
writes a state file (KEY=VALUE lines, written atomically) for the calling
bash script and waits.

It tears everything down and removes the directory on SIGTERM or SIGHUP, or
when the process that started it goes away.  SIGINT is ignored: the calling
script sees Ctrl-C and sends SIGTERM, so that teardown happens exactly once.
The helper puts itself in a session of its own so that a terminal's signals
reach neither it nor the pool.  Set BENCH_KEEP_DIR=1 to keep the directory
(logs) after teardown.

A benchmark subclasses Env and fills in fixtures(), pool_settings() and
checks(); run(EnvClass, doc) is its main().
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402


class Stop(BaseException):
    """Raised by the SIGTERM/SIGHUP handler; not an Exception, so that nothing
    on the way catches it by accident."""


def on_stop(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    raise Stop()


def say(msg):
    print("# " + msg, file=sys.stderr, flush=True)


def keep_hash_costs(cluster, cost):
    """Makes cost the cost of new hashes, so that no fixture hash of that
    cost is re-hashed at login (a successful login re-hashes a stored hash
    weaker than new hashes: $2a$, or a cost below
    agentauth.settings.password_hash_cost)."""
    cluster.psql("UPDATE agentauth.settings SET password_hash_cost = %d" % cost)


def bcrypt_sql(password, cost):
    """A SQL expression for a $2b$ bcrypt hash of password at cost (pgcrypto
    writes $2a$, which a login would re-hash; for a password this short $2a$
    and $2b$ are the same function and work)."""
    return "'$2b$' || substr(crypt('%s', gen_salt('bf', %d)), 5)" % (password, cost)


class BenchPool(harness.Pool):
    """harness.Pool that does not leave the pool running when its socket does
    not show up (harness.Pool.__init__ would raise with the process alive and
    no object to stop it with)."""

    def start(self):
        try:
            super().start()
        except BaseException:
            if getattr(self, "proc", None) is not None:
                self.stop(timeout=5)
            raise


class Env:
    """Cluster + pool + nginx.  Subclasses set WORKERS and implement:
    fixtures(cluster): rows the benchmark needs, before the pool starts;
    pool_settings(binary, key): extra pool settings (dict);
    checks(port): sanity requests once nginx is up, returns state entries.
    They may override make_key(path) (default: RSA 2048) and start_nginx()
    (default: harness.Nginx's own configuration), and add to self.procs
    (subprocess.Popen objects, terminated at teardown after nginx)."""

    WORKERS = 2

    def __init__(self, build):
        self.build = os.path.abspath(build)
        self.workdir = None
        self.pool = None
        self.nginx = None
        self.cluster = None
        self.cluster_data = None
        self.procs = []

    def fixtures(self, cluster):
        return {}

    def pool_settings(self, binary, key):
        return {"log_level": "warn"}

    def checks(self, port):
        return {}

    def make_key(self, path):
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", path], check=True,
                       capture_output=True)

    def start_nginx(self):
        return harness.Nginx(self.workdir, self.pool.sock)

    def up(self):
        binary = os.path.join(self.build, "src", "agentauth")
        if not os.access(binary, os.X_OK):
            raise RuntimeError("%s is missing or not executable" % binary)
        self.workdir = tempfile.mkdtemp(prefix="agentauth-bench-")
        os.chmod(self.workdir, 0o755)
        self.cluster_data = os.path.join(self.workdir, "pg")
        key = os.path.join(self.workdir, "key.pem")
        say("workdir %s" % self.workdir)
        self.make_key(key)
        say("starting PostgreSQL")
        # fsync on, as PostgreSQL ships: a refresh or an impersonation
        # waits for its commit to reach the disk, as in production
        cluster = harness.Cluster(self.workdir, durable=True)
        self.cluster = cluster
        cluster.psql("CREATE DATABASE agentauth", db="postgres")
        cluster.psql_file(os.path.join(harness.ROOT, "sql", "install.sql"))
        cluster.psql("CREATE ROLE agentauth_worker LOGIN IN ROLE agentauth_app")
        state = dict(self.fixtures(cluster))
        extra = self.pool_settings(binary, key)
        say("starting the pool (%s)" % binary)
        self.pool = BenchPool(self.workdir, binary, cluster, key, workers=self.WORKERS,
                              extra=extra, name="agentauth")
        say("starting nginx")
        self.nginx = self.start_nginx()
        port = self.nginx.port
        base = {
            "PORT": str(port),
            "WORKDIR": self.workdir,
            "POOL_PID": str(self.pool.proc.pid),
            "POOL_LOG": self.pool.log,
            "NGINX_ERROR_LOG": os.path.join(self.workdir, "nginx", "error.log"),
            "PG_LOG": os.path.join(self.workdir, "pg.log"),
            "PG_HOST": cluster.dir,
            "PG_PORT": str(cluster.port),
            "WORKERS": str(self.WORKERS),
            "TRUSTED_PROXIES": extra.get("trusted_proxies", "-"),
        }
        base.update(state)
        base.update(self.checks(port))
        return base

    def knows_key(self, binary, key, name, value):
        """Whether this build's configuration accepts name = value."""
        conf = os.path.join(self.workdir, "probe.conf")
        with open(conf, "w") as f:
            f.write("private_key = %s\n%s = %s\n" % (key, name, value))
        r = subprocess.run([binary, "--config", conf, "--check-config"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True)
        os.unlink(conf)
        return r.returncode == 0

    def down(self):
        """Stops whatever up() got to start, in reverse order; never raises."""
        if self.workdir is None:
            return
        nginx_pid = os.path.join(self.workdir, "nginx", "nginx.pid")
        try:
            if self.nginx is not None:
                self.nginx.stop()
            elif os.path.exists(nginx_pid):  # started, but never answered
                os.kill(int(open(nginx_pid).read()), signal.SIGTERM)
        except Exception as e:
            say("teardown: nginx: %s" % e)
        for proc in self.procs:
            try:
                proc.terminate()
                proc.wait(5)
            except Exception as e:
                say("teardown: %s: %s" % (proc.args[0], e))
                proc.kill()
        try:
            if self.pool is not None:
                rc = self.pool.stop()
                if rc != 0:
                    say("teardown: the pool exited with %s" % rc)
        except Exception as e:
            say("teardown: pool: %s" % e)
        try:
            if os.path.exists(os.path.join(self.cluster_data, "postmaster.pid")):
                harness.as_postgres([harness.PG_BIN + "/pg_ctl", "-D", self.cluster_data,
                                     "-m", "fast", "-w", "stop"])
        except Exception as e:
            say("teardown: PostgreSQL: %s" % e)
        if os.environ.get("BENCH_KEEP_DIR"):
            say("kept %s" % self.workdir)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir = None


def write_state(path, state):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for k, v in state.items():
            if "\n" in v:
                raise ValueError("%s has a newline" % k)
            f.write("%s=%s\n" % (k, v))
    os.rename(tmp, path)


def run(env_class, doc):
    """main() of a helper: usage HELPER BUILD_DIR STATE_FILE."""
    if len(sys.argv) != 3:
        print(doc, file=sys.stderr)
        return 2
    build, state_file = sys.argv[1], sys.argv[2]
    parent = os.getppid()
    try:
        os.setsid()
    except OSError:
        pass  # already a group leader: keep going, the caller still sends SIGTERM
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGHUP, on_stop)
    # the pool takes AGENTAUTH_* variables as settings (and refuses unknown
    # ones): the benchmark's settings are those of its config file only
    for name in [n for n in os.environ if n.startswith("AGENTAUTH_")]:
        say("ignoring %s from the environment" % name)
        del os.environ[name]
    env = env_class(build)
    rc = 0
    try:
        write_state(state_file, env.up())
        say("ready")
        while os.getppid() == parent:
            time.sleep(0.5)
        say("the calling script is gone")
    except Stop:
        pass
    except Exception as e:
        say("setup failed: %s: %s" % (type(e).__name__, e))
        pool_log = os.path.join(env.workdir or "/nonexistent", "agentauth.log")
        if os.path.exists(pool_log):
            with open(pool_log, errors="replace") as f:
                for line in f.read().splitlines()[-5:]:
                    say("pool log: " + line)
        rc = 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        env.down()
    return rc
