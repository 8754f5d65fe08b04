"""Failed logins take the same time whoever the username names: unknown
usernames, wrong passwords against bcrypt of cost 4, 10 and 12, yescrypt
and sha512crypt hashes, blocked agents, unusable and refused hashes
(doc/security.md §6, "Timing").  50 interleaved attempts each through nginx;
the medians may differ by less than 5 ms."""
import os
import statistics
import time

import harness
from harness import expect, new_client_ip, request
from registry import test

ROUNDS = int(os.environ.get("TIMING_ROUNDS", "50"))


AGENTS = [
    ("bcrypt4", "crypt('right-4', gen_salt('bf', 4))", "active"),
    ("bcrypt10", "crypt('right-10', gen_salt('bf', 10))", "active"),
    ("bcrypt12", "crypt('right-12', gen_salt('bf', 12))", "active"),
    ("yescrypt", "'$y$j9T$abcdefghijklmnop$y5Ig1N.I8uuoOkUxrDjuSfFV4jrkie9/i9wJ8IFbZnC'", "active"),
    ("sha512", "'$6$saltsalt$Hzv5ovWvSBoMtjL.BVx3OnzaiWN6reeO7wGZBqDE2UMEmiXqZGJLfHEqg4mT."
               "HPMkeY9IgUKPBNDluiObR0oo/'", "active"),
    ("blocked", "crypt('right-b', gen_salt('bf', 4))", "blocked"),
    ("unusable", "'$2b$12$tooshort'", "active"),
    ("md5", "'$1$saltsalt$FKHgTyqFOookmXImT/Dsu/'", "active"),
]


@test
def test_failed_logins_take_the_same_time(env):
    tag = "t%d" % os.getpid()
    values = ", ".join("('%s-%s@example.com', %s, '%s')" % (n, tag, h, s) for n, h, s in AGENTS)
    env.cluster.psql("INSERT INTO agentauth.agents (username, password_hash, status) VALUES "
                     + values)
    # the shipped setting: the dummy hash at the cost of new hashes (12)
    pool = harness.Pool(env.workdir, env.binary, env.cluster, env.key, workers=2,
                        extra={"dummy_hash_cost": "12", "log_level": "warn"}, name="timing")
    nginx = harness.Nginx(env.workdir, pool.sock, name="nginx-timing")
    names = ["unknown"] + [n for n, _, _ in AGENTS]
    times = {n: [] for n in names}
    try:
        def attempt(name):
            user = ("nobody-%s@example.com" % tag) if name == "unknown" else \
                "%s-%s@example.com" % (name, tag)
            body = {"data": {"type": "agent-access-tokens",
                             "attributes": {"username": user, "password": "wrong-password"}}}
            t0 = time.perf_counter()
            r = request(nginx.port, "POST", "/auth/agent-access-tokens", body,
                        {"X-Forwarded-For": new_client_ip()})
            dt = (time.perf_counter() - t0) * 1000
            expect(r.status == 401, "%s: status %d" % (name, r.status))
            return dt
        for _ in range(6):           # each worker measures its dummy check
            for n in names:
                attempt(n)
        for i in range(ROUNDS):
            order = names[i % len(names):] + names[:i % len(names)]
            for n in order:
                times[n].append(attempt(n))
    finally:
        nginx.stop()
        pool.stop()
        env.cluster.psql("UPDATE agentauth.agents SET status = 'deleted' WHERE username LIKE "
                         "'%%-%s@example.com'" % tag)
    med = {n: statistics.median(v) for n, v in times.items()}
    print("# medians ms: " + ", ".join("%s %.1f" % (n, med[n]) for n in names))
    base = med["unknown"]
    worst = max(names, key=lambda n: abs(med[n] - base))
    expect(abs(med[worst] - base) < 5.0,
           "median of %s is %.1f ms, unknown usernames %.1f ms" % (worst, med[worst], base))
