#!/usr/bin/python3
"""Integration tests: the real agentauth pool behind a real nginx, against a
throwaway PostgreSQL cluster.  Usage: run.py BUILD_DIR [MODULE ...]
With MODULE names (e.g. test_login) only those modules run.
Prints TAP lines (a skipped test as "ok N - name # SKIP reason") and a last
line "N passed, M failed, K skipped"; exit 1 on failure."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import harness  # noqa: E402
import registry  # noqa: E402
from harness import expect, expect_eq, request  # noqa: E402
import test_login  # noqa: E402
import test_http  # noqa: E402
import test_database  # noqa: E402
import test_process  # noqa: E402
import test_lockout  # noqa: E402
import test_sqladmin  # noqa: E402
import test_tokens  # noqa: E402
import test_customers  # noqa: E402
import test_hosting  # noqa: E402
import test_pgbouncer  # noqa: E402
import test_hardening  # noqa: E402
import test_timing  # noqa: E402
import test_clientaddr  # noqa: E402
import test_fastcgi  # noqa: E402
import test_sessions  # noqa: E402

FIXTURES = r"""
SELECT agentauth.create_agent('admin@spryker.com', 'change123', 'Admin', 'Spryker');
INSERT INTO agentauth.agents (username, password_hash, status) VALUES
 ('agent@example.com', crypt('agent-pass', gen_salt('bf', 4)), 'active'),
 ('blocked@example.com', crypt('blocked-pass', gen_salt('bf', 4)), 'blocked'),
 ('deleted@example.com', crypt('deleted-pass', gen_salt('bf', 4)), 'deleted'),
 ('spryker@example.com', '$2y$04$abcdefghijklmnopqrstuuihJ4Y.0..nuISCyE.9oWdbu/lSS9sZS', 'active'),
 ('yescrypt@example.com', '$y$j9T$abcdefghijklmnop$y5Ig1N.I8uuoOkUxrDjuSfFV4jrkie9/i9wJ8IFbZnC', 'active'),
 ('sha512@example.com', '$6$saltsalt$Hzv5ovWvSBoMtjL.BVx3OnzaiWN6reeO7wGZBqDE2UMEmiXqZGJLfHEqg4mT.HPMkeY9IgUKPBNDluiObR0oo/', 'active'),
 ('md5@example.com', '$1$saltsalt$FKHgTyqFOookmXImT/Dsu/', 'active'),
 ('long@example.com', '$2b$04$abcdefghijklmnopqrstuubzadhGtS2zEF.gu0yd0opP6cVzb.e0i', 'active');
"""


class Env:
    """What the tests share: cluster, pool, nginx, key and paths."""

    def __init__(self, build):
        self.build = os.path.abspath(build)
        self.workdir = tempfile.mkdtemp(prefix="agentauth-it-")
        os.chmod(self.workdir, 0o755)
        self.asan_dir = os.path.join(self.workdir, "asan")
        os.makedirs(self.asan_dir)
        os.environ["ASAN_OPTIONS"] = ("detect_leaks=1:detect_stack_use_after_return=1:"
                                      "log_path=%s/asan" % self.asan_dir)
        os.environ["UBSAN_OPTIONS"] = "print_stacktrace=1:log_path=%s/ubsan" % self.asan_dir
        self.key = os.path.join(self.workdir, "key.pem")
        self.pub = os.path.join(self.workdir, "pub.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", self.key], check=True,
                       capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", self.key, "-pubout", "-out", self.pub],
                       check=True, capture_output=True)
        self.cluster = harness.Cluster(self.workdir)
        self.cluster.psql("CREATE DATABASE agentauth", db="postgres")
        self.install = os.path.join(harness.ROOT, "sql", "install.sql")
        self.cluster.psql_file(self.install)
        self.cluster.psql("CREATE ROLE agentauth_worker LOGIN IN ROLE agentauth_app")
        self.cluster.psql(FIXTURES)
        self.binary = os.path.join(self.build, "src", "agentauth")
        self.pool = harness.Pool(self.workdir, self.binary, self.cluster, self.key)
        self.nginx = harness.Nginx(self.workdir, self.pool.sock)
        self.port = self.nginx.port

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def login(self, username, password, path="/auth/agent-access-tokens", headers=None):
        body = {"data": {"type": "agent-access-tokens",
                         "attributes": {"username": username, "password": password}}}
        return request(self.port, "POST", path, body, headers)

    def close(self):
        for step in (self.nginx.stop, self.pool.stop, self.cluster.stop):
            try:
                step()
            except Exception as e:  # keep tearing down
                print("# teardown: %s" % e)
        if os.environ.get("KEEP_TEST_DIR"):
            print("# kept %s" % self.workdir)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


def sanitizer_reports(env):
    """Sanitizer reports written by any agentauth process so far."""
    out = []
    for name in sorted(os.listdir(env.asan_dir)):
        with open(os.path.join(env.asan_dir, name), errors="replace") as f:
            out.append("%s:\n%s" % (name, f.read()[:4000]))
    return out


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    only = set(sys.argv[2:])
    runner = harness.Runner()
    env = Env(sys.argv[1])
    try:
        for module in (test_http, test_login, test_lockout, test_sqladmin, test_tokens,
                       test_customers, test_sessions, test_database, test_process, test_hosting,
                       test_pgbouncer, test_hardening, test_timing, test_clientaddr, test_fastcgi):
            if only and module.__name__ not in only:
                continue
            for name, fn in registry.tests(module):
                runner.run("%s: %s" % (module.__name__, name), fn, env)

        def pool_stops_cleanly(env):
            rc = env.pool.stop()
            expect_eq(rc, 0, "pool exit status after SIGTERM")
            reports = sanitizer_reports(env)
            expect(not reports, "sanitizer reports:\n" + "\n".join(reports))
            env.pool.start()
        runner.run("pool stops on SIGTERM with no sanitizer report", pool_stops_cleanly, env)
    finally:
        env.close()
    print(runner.summary())
    return 0 if runner.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
