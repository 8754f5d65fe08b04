#!/usr/bin/python3
"""Sets up the search benchmark's environment and keeps it up until told to stop.

Usage: search_env.py BUILD_DIR STATE_FILE

Starts, with tests/lib/harness.py (through benchlib.py), a throwaway
PostgreSQL cluster (schema from sql/install.sql; one fixture agent USERNAME
with a bcrypt cost 4 hash of PASSWORD: only one login is needed, and cheaply),
the agentauth pool (2 workers, dummy_hash_cost 4, log_level warn) and nginx,
all on loopback or Unix sockets in one temporary directory.  Logs the agent
in once and checks that its access token opens GET /agent-customer-search,
then writes STATE_FILE (KEY=VALUE lines, written atomically; TOKEN is the
agent's access token, PG_HOST and PG_PORT name the cluster, whose superuser
postgres needs no password) and waits.  The customers are loaded by the
calling script (tests/bench/search.sh, from search_customers.sql).

Teardown, signals and BENCH_KEEP_DIR: as for login_env.py (see benchlib.py).
"""
import sys

import benchlib
from benchlib import harness

USERNAME = "bench-agent@example.com"
PASSWORD = "bench-pass"
WORKERS = 2
HASH_COST = 4


class Env(benchlib.Env):
    WORKERS = WORKERS

    def fixtures(self, cluster):
        cluster.psql("INSERT INTO agentauth.agents (username, password_hash) "
                     "VALUES ('%s', crypt('%s', gen_salt('bf', %d)))"
                     % (USERNAME, PASSWORD, HASH_COST))
        return {"USERNAME": USERNAME, "HASH_COST": str(HASH_COST)}

    def pool_settings(self, binary, key):
        return {"dummy_hash_cost": str(HASH_COST), "log_level": "warn"}

    def checks(self, port):
        body = {"data": {"type": "agent-access-tokens",
                         "attributes": {"username": USERNAME, "password": PASSWORD}}}
        r = harness.request(port, "POST", "/auth/agent-access-tokens", body)
        if r.status != 201:
            raise RuntimeError("login: status %d, %r" % (r.status, r.body[:200]))
        token = r.json()["data"]["attributes"]["accessToken"]
        r = harness.request(port, "GET", "/auth/agent-customer-search?q=a", None,
                            {"X-Agent-Authorization": "Bearer " + token})
        if r.status != 200:
            raise RuntimeError("search with the token: status %d, %r" % (r.status, r.body[:200]))
        benchlib.say("check: login -> 201, search with the token -> 200")
        return {
            "BASE_URL": "http://127.0.0.1:%d/auth/agent-customer-search" % port,
            "TOKEN": token,
        }


def main():
    return benchlib.run(Env, __doc__)


if __name__ == "__main__":
    sys.exit(main())
