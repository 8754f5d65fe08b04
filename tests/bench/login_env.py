#!/usr/bin/python3
"""Sets up the login benchmark's environment and keeps it up until told to stop.

Usage: login_env.py BUILD_DIR STATE_FILE

Starts, with tests/lib/harness.py (through benchlib.py), a throwaway
PostgreSQL cluster (schema from sql/install.sql; USERS fixture agents
bench-1@example.com ... sharing one bcrypt cost 10 hash of PASSWORD), the
agentauth pool (2 workers, dummy_hash_cost 10, log_level warn;
trusted_proxies 127.0.0.1/32 if this build knows the key, so that the
X-Forwarded-For addresses login.lua sends spread the per-IP lock-out
counters) and nginx, all on loopback or Unix sockets in one temporary
directory.  Checks one right and one wrong login, then writes STATE_FILE
(KEY=VALUE lines, written atomically) and waits.

It tears everything down and removes the directory on SIGTERM or SIGHUP, or
when the process that started it goes away.  SIGINT is ignored: the calling
script sees Ctrl-C and sends SIGTERM, so that teardown happens exactly once.
The helper puts itself in a session of its own so that a terminal's signals
reach neither it nor the pool.  Set BENCH_KEEP_DIR=1 to keep the
directory (logs) after teardown.
"""
import sys

import benchlib
from benchlib import harness

USERNAME_FORMAT = "bench-%d@example.com"
USERS = 64
PASSWORD = "bench-pass"
WORKERS = 2
HASH_COST = 10


class Env(benchlib.Env):
    WORKERS = WORKERS

    def fixtures(self, cluster):
        # one hash for all: the work per login is the same, the set-up quick;
        # of the cost of new hashes, so that no login re-hashes it
        benchlib.keep_hash_costs(cluster, HASH_COST)
        cluster.psql("INSERT INTO agentauth.agents (username, password_hash) "
                     "SELECT format('%s', i), h FROM generate_series(1, %d) i, "
                     "(SELECT %s h) s"
                     % (USERNAME_FORMAT.replace("%d", "%s"), USERS,
                        benchlib.bcrypt_sql(PASSWORD, HASH_COST)))
        stored = cluster.psql("SELECT password_hash FROM agentauth.agents "
                              "WHERE username = '%s'" % (USERNAME_FORMAT % 1))
        return {
            "USERNAME_FORMAT": USERNAME_FORMAT,
            "USERS": str(USERS),
            "PASSWORD": PASSWORD,
            "HASH_COST": str(HASH_COST),
            "STORED_HASH_PREFIX": stored[:7],
        }

    def pool_settings(self, binary, key):
        extra = {"dummy_hash_cost": str(HASH_COST), "log_level": "warn"}
        if self.knows_key(binary, key, "trusted_proxies", "127.0.0.1/32"):
            extra["trusted_proxies"] = "127.0.0.1/32"
        return extra

    def checks(self, port):
        checks = {}
        for what, password in (("ok", PASSWORD), ("bad", PASSWORD + "-wrong")):
            body = {"data": {"type": "agent-access-tokens",
                             "attributes": {"username": USERNAME_FORMAT % 1,
                                            "password": password}}}
            checks[what] = harness.request(port, "POST", "/auth/agent-access-tokens",
                                           body).status
        benchlib.say("check: right password -> %d, wrong password -> %d"
                     % (checks["ok"], checks["bad"]))
        return {
            "URL": "http://127.0.0.1:%d/auth/agent-access-tokens" % port,
            "CHECK_OK": str(checks["ok"]),
            "CHECK_BAD": str(checks["bad"]),
        }


def main():
    return benchlib.run(Env, __doc__)


if __name__ == "__main__":
    sys.exit(main())
