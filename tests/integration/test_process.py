"""The process side: --check-config, the prefork pool's restarts and its
graceful stop."""
import os
import signal
import subprocess
import threading
import time

import harness
from harness import expect, expect_eq, log_has, wait_for
from registry import test


def run_agentauth(env, *args, conf_text=None, extra_env=None):
    cmd = [env.binary] + list(args)
    if conf_text is not None:
        path = os.path.join(env.workdir, "check.conf")
        with open(path, "w") as f:
            f.write(conf_text)
        cmd += ["--config", path]
    e = {k: v for k, v in os.environ.items() if not k.startswith("AGENTAUTH_")}
    e.update(extra_env or {})
    return subprocess.run(cmd + ["--check-config"], capture_output=True, text=True, env=e)


@test
def test_check_config_accepts_a_good_file(env):
    r = run_agentauth(env, conf_text="# comment\nprivate_key = %s\naudience = \"frontend\"\n"
                      % env.key)
    expect_eq(r.returncode, 0, "exit status (%s)" % r.stderr.strip())
    expect("configuration OK" in r.stdout, "message: %r" % r.stdout)


@test
def test_check_config_names_file_and_line(env):
    for text, want in (("private_key = %s\nfrobnicate = 1\n", ":2: unknown key \"frobnicate\""),
                       ("private_key = %s\n\nworkers = many\n", ":3: workers must be an integer"),
                       ("private_key = %s\nworkers = 0\n", ":2: workers must be an integer"),
                       ("private_key = %s\nlog_level = loud\n", ":2: log_level must be"),
                       ("private_key = %s\nprivate_key = x\n", ":2: private_key is set twice"),
                       ("private_key = %s\njust words\n", ":2: expected key = value")):
        r = run_agentauth(env, conf_text=text % env.key)
        expect_eq(r.returncode, 1, "exit status for %r" % text)
        expect(want in r.stderr, "message for %r: %r" % (text, r.stderr))


@test
def test_check_config_environment_overrides(env):
    r = run_agentauth(env, conf_text="private_key = /nonexistent.pem\n",
                      extra_env={"AGENTAUTH_PRIVATE_KEY": env.key})
    expect_eq(r.returncode, 0, "AGENTAUTH_PRIVATE_KEY wins over the file: %s" % r.stderr)
    r = run_agentauth(env, conf_text="private_key = %s\n" % env.key,
                      extra_env={"AGENTAUTH_WORKERS": "lots"})
    expect(r.returncode == 1 and "AGENTAUTH_WORKERS" in r.stderr, "bad env value: %r" % r.stderr)
    r = run_agentauth(env, conf_text="private_key = %s\n" % env.key,
                      extra_env={"AGENTAUTH_NO_SUCH_KEY": "1"})
    expect(r.returncode == 1 and "AGENTAUTH_NO_SUCH_KEY" in r.stderr, "unknown env variable")


@test
def test_check_config_refuses_bad_keys(env):
    weak = os.path.join(env.workdir, "weak.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:1024", "-out", weak], check=True, capture_output=True)
    enc = os.path.join(env.workdir, "encrypted.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-aes256", "-pass", "pass:secret", "-out", enc], check=True, capture_output=True)
    for path, want in ((weak, "at least 2048"), (env.pub, "not a PEM private key"),
                       (enc, "encrypted one: not supported"),
                       ("/nonexistent.pem", "cannot open")):
        r = run_agentauth(env, conf_text="private_key = %s\n" % path)
        expect(r.returncode == 1 and want in r.stderr, "%s: %r" % (path, r.stderr))
    r = run_agentauth(env, conf_text="audience = x\n")
    expect(r.returncode == 1 and "private_key is not set" in r.stderr, "missing key")


def worker_ages(pool):
    """The age in seconds of each worker of pool (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    ages = []
    for pid in pool.worker_pids():
        try:
            with open("/proc/%d/stat" % pid) as f:
                start = int(f.read().rsplit(")", 1)[1].split()[19])
        except (OSError, IndexError, ValueError):
            continue    # gone meanwhile
        ages.append(uptime - start / ticks)
    return ages


def wait_workers_older_than(pool, seconds, workers=2):
    """Waits until pool has its workers, each older than seconds: a worker
    that dies younger than a second is restarted after a back-off (the
    condition is the workers' age, read from /proc, not a fixed sleep)."""
    expect(wait_for(lambda: len(worker_ages(pool)) == workers and
                    min(worker_ages(pool)) > seconds, seconds + 10),
           "%d workers older than %.1f s (ages %r)" % (workers, seconds, worker_ages(pool)))


def cpu_seconds(pid):
    """User and system CPU time that process pid has used."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@test
def test_crashed_worker_is_replaced(env):
    before = env.pool.worker_pids()
    expect_eq(len(before), 2, "workers")
    os.kill(before[0], signal.SIGKILL)
    t0 = time.time()
    expect(wait_for(lambda: len(env.pool.worker_pids()) == 2 and
                    before[0] not in env.pool.worker_pids(), 3), "a new worker appears")
    expect(time.time() - t0 < 1.5, "within about a second (%.2f s)" % (time.time() - t0))
    for _ in range(4):
        expect_eq(env.login("admin@spryker.com", "change123").status, 201, "login")


@test
def test_sigterm_lets_in_flight_requests_finish(env):
    result = {}

    if env.cluster.psql("SELECT count(*) FROM agentauth.agents WHERE username = "
                        "'slow@example.com'") == "0":
        env.cluster.psql("INSERT INTO agentauth.agents (username, password_hash) VALUES "
                         "('slow@example.com', crypt('slow-pass', gen_salt('bf', 14)))")

    def slow_login():  # a cost-14 bcrypt hash: about a second
        result["status"] = env.login("slow@example.com", "slow-pass").status

    def pending():
        return int(env.cluster.psql("SELECT count(*) FROM agentauth.login_pending WHERE "
                                    "username = 'slow@example.com'"))
    before = pending()
    t = threading.Thread(target=slow_login)
    t.start()
    # the login is in flight once it has reserved its attempt (login_pending)
    # and computes the hash
    expect(wait_for(lambda: pending() > before, 10), "the slow login reached a worker")
    rc = env.pool.stop()
    t.join(10)
    expect_eq(result.get("status"), 201, "the request in flight")
    expect_eq(rc, 0, "pool exit status")
    expect(not os.path.exists(env.pool.sock), "socket removed")
    env.pool.start()
    expect_eq(env.login("admin@spryker.com", "change123").status, 201, "after restart")


def load(env, stop, results, path="/auth/health"):
    """Requests in a loop until stop is set; appends each status."""
    from harness import request
    while not stop.is_set():
        try:
            results.append(request(env.port, "GET", path, timeout=10).status)
        except Exception as e:  # a connection error counts as a failure
            results.append(repr(e))


def with_load(env, action, threads=4):
    stop = threading.Event()
    results = []
    ts = [threading.Thread(target=load, args=(env, stop, results)) for _ in range(threads)]
    for t in ts:
        t.start()
    try:
        expect(wait_for(lambda: len(results) >= 20, 10), "the load runs")
        action()
        # and goes on until the new workers have served some of it
        after = len(results)
        expect(wait_for(lambda: len(results) >= after + 40, 10), "the load runs after it")
    finally:
        stop.set()
        for t in ts:
            t.join(20)
    return results


@test
def test_kill_9_under_load_fails_at_most_the_request_in_flight(env):
    # a worker that dies within a second of starting is restarted after a
    # back-off (crash-loop protection): let the workers be older than that
    wait_workers_older_than(env.pool, 1.2)
    victim = env.pool.worker_pids()[0]
    t0 = []

    def kill():
        os.kill(victim, signal.SIGKILL)
        t0.append(time.time())
        expect(wait_for(lambda: len(env.pool.worker_pids()) == 2 and
                        victim not in env.pool.worker_pids(), 2), "a new worker appears")
        t0.append(time.time())
    results = with_load(env, kill)
    failures = [r for r in results if r != 200]
    expect(len(results) > 50, "load ran (%d requests)" % len(results))
    expect(len(failures) <= 1, "only the request in flight may fail: %r" % failures[:5])
    expect(t0[1] - t0[0] < 1.0, "replaced within a second (%.2f s)" % (t0[1] - t0[0]))


@test
def test_sighup_reloads_keys_without_failing_a_request(env):
    from harness import request
    import json as _json
    new_key = os.path.join(env.workdir, "reload.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", new_key], check=True, capture_output=True)
    original = open(env.pool.conf).read()
    old_kid = request(env.port, "GET", "/auth/.well-known/jwks.json").json()["keys"][0]["kid"]
    old_workers = env.pool.worker_pids()
    old_token = env.login("agent@example.com", "agent-pass").json()["data"]["attributes"][
        "accessToken"]
    try:
        with open(env.pool.conf, "w") as f:
            f.write(original.replace("private_key = %s" % env.key, "private_key = %s\n"
                                     "public_keys = %s" % (new_key, env.key)))

        def hup():
            env.pool.proc.send_signal(signal.SIGHUP)
            expect(wait_for(lambda: not set(old_workers) & set(env.pool.worker_pids()), 5),
                   "the old workers left")
        results = with_load(env, hup)
        failures = [r for r in results if r != 200]
        expect(len(results) > 50, "load ran (%d requests)" % len(results))
        expect_eq(failures, [], "no request failed during the reload")
        r = env.login("agent@example.com", "agent-pass")
        token = r.json()["data"]["attributes"]["accessToken"]
        import base64
        kid = _json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["kid"]
        kids = [k["kid"] for k in request(env.port, "GET",
                                          "/auth/.well-known/jwks.json").json()["keys"]]
        expect(kid != old_kid and kids == [kid, old_kid], "new tokens carry the new kid")
        for _ in range(4):  # every worker verifies tokens of both keys
            for t in (token, old_token):
                r = request(env.port, "DELETE", "/auth/refresh-tokens/x", None,
                            {"Authorization": "Bearer " + t})
                expect_eq(r.status, 204, "a token verified after the reload")
        with open(env.pool.conf, "w") as f:
            f.write(original.replace("log_level = debug", "log_level = loud"))

        def refusals():
            return len([l for l in open(env.pool.log, errors="replace").read().splitlines()
                        if "reload:" in l and "log_level" in l])
        before = refusals()
        env.pool.proc.send_signal(signal.SIGHUP)
        expect(wait_for(lambda: refusals() > before, 10), "the failed reload is logged")
        expect_eq(env.login("agent@example.com", "agent-pass").status, 201,
                  "a bad configuration on reload keeps the running one")
    finally:
        with open(env.pool.conf, "w") as f:
            f.write(original)
        workers = env.pool.worker_pids()
        env.pool.proc.send_signal(signal.SIGHUP)
        # the reload is done when the workers of before have left (the
        # checks below fail if it is not)
        wait_for(lambda: not set(workers) & set(env.pool.worker_pids()), 10)
    kids = [k["kid"] for k in request(env.port, "GET",
                                      "/auth/.well-known/jwks.json").json()["keys"]]
    expect_eq(kids, [old_kid], "back to the original key")
    for _ in range(4):
        r = request(env.port, "DELETE", "/auth/refresh-tokens/x", None,
                    {"Authorization": "Bearer " + old_token})
        expect_eq(r.status, 204, "tokens of the original key verify after the second reload")


@test
def test_max_requests_recycles_workers_and_pid_file(env):
    pid_file = os.path.join(env.workdir, "recycle.pid")
    pool = harness.Pool(env.workdir, env.binary, env.cluster, env.key, workers=2,
                        extra={"max_requests": "3", "pid_file": pid_file}, name="recycle")
    try:
        expect_eq(open(pid_file).read().strip(), str(pool.proc.pid), "pid file")
        seen = set()
        for i in range(12):
            status, headers, _ = harness.fcgi_request(pool.sock, {
                "REQUEST_METHOD": "GET", "SCRIPT_NAME": "/auth", "PATH_INFO": "/health",
                "REMOTE_ADDR": "127.0.0.1"})
            expect_eq(status, 200, "request %d" % i)
            seen.update(pool.worker_pids())
        expect(len(seen) >= 4, "workers were recycled (%d seen)" % len(seen))
        log = open(pool.log).read()
        expect("leaving for a fresh worker" in log, "recycling logged")
        expect("died" not in log and "exited with" not in log, "recycling is not a crash")
    finally:
        expect_eq(pool.stop(), 0, "exit status")
    expect(not os.path.exists(pid_file), "pid file removed at exit")


@test
def test_request_log_line(env):
    from harness import request
    r = env.login("agent@example.com", "agent-pass")
    rid = r.header("X-Request-Id")
    expect(rid is not None and len(rid) == 16, "X-Request-Id header: %r" % rid)
    rt = r.json()["data"]["attributes"]["refreshToken"]
    access = r.json()["data"]["attributes"]["accessToken"]
    r = request(env.port, "DELETE", "/auth/refresh-tokens/" + rt, None,
                {"Authorization": "Bearer " + access})
    expect_eq(r.status, 204, "revoke")
    rid2 = r.header("X-Request-Id")
    # each request's line is written after its answer: wait for both
    expect(wait_for(lambda: log_has(env.pool.log, "request id=%s" % rid) and
                    log_has(env.pool.log, "request id=%s" % rid2), 10), "the request lines")
    log = open(env.pool.log).read()
    lines = [l for l in log.splitlines() if "request id=%s" % rid in l]
    expect_eq(len(lines), 1, "one line for the login")
    expect(" POST /agent-access-tokens status=201 ms=" in lines[0] and " agent=" in lines[0] and
           " agent=-" not in lines[0], "method, route, status, latency, agent: %s" % lines[0])
    line2 = [l for l in log.splitlines() if "request id=%s" % rid2 in l][0]
    expect("DELETE /refresh-tokens/{id} status=204" in line2, "id not logged: %s" % line2)
    for secret in (rt, access, access.split(".")[2], "agent-pass"):
        expect(secret not in log, "a secret reached the log")


@test
def test_workers_dying_at_start_are_restarted_with_back_off(env):
    wait_workers_older_than(env.pool, 1.2)
    delays = []
    before = set(env.pool.worker_pids())
    victim = sorted(before)[0]
    os.kill(victim, signal.SIGKILL)
    t0 = time.time()
    expect(wait_for(lambda: len(set(env.pool.worker_pids()) - before) == 1, 10),
           "a replacement appears")
    delays.append(time.time() - t0)
    # kill the replacement while it is young: the next start waits longer
    new = (set(env.pool.worker_pids()) - before).pop()
    os.kill(new, signal.SIGKILL)
    t1 = time.time()
    expect(wait_for(lambda: new not in env.pool.worker_pids() and
                    len(env.pool.worker_pids()) == 2, 10), "replaced again")
    delays.append(time.time() - t1)
    expect(delays[0] < 1.0, "an old worker is replaced at once (%.2f s)" % delays[0])
    expect(delays[1] >= 0.9, "a worker that died young waits (%.2f s)" % delays[1])
    for _ in range(4):
        expect_eq(env.login("agent@example.com", "agent-pass").status, 201, "service goes on")


def config_key_table(src):
    """The key table of src/config.c: name -> (type, default, min, max)."""
    import re

    def number(expr):  # the bounds are literals or products such as 86400 * 7
        expect(re.fullmatch(r"[\d\s*]+", expr) is not None, "bound %r" % expr)
        value = 1
        for factor in expr.split("*"):
            value *= int(factor)
        return value

    table = {}
    for m in re.finditer(r'^\s*STR\((\w+), "([^"]*)"', src, re.M):
        table[m.group(1)] = ("string", m.group(2), None, None)
    for m in re.finditer(r'^\s*INT\((\w+), "([^"]*)", ([^,]+), ([^)]+)\)', src, re.M):
        table[m.group(1)] = ("integer", m.group(2), number(m.group(3)), number(m.group(4)))
    for m in re.finditer(r'^\s*BOOL\((\w+), "([^"]*)"', src, re.M):
        table[m.group(1)] = ("boolean", m.group(2), None, None)
    for m in re.finditer(r'^\s*\{ "(\w+)", KEY_LEVEL, offsetof\([^)]*\), "([^"]*)"', src, re.M):
        table[m.group(1)] = ("level", m.group(2), None, None)
    return table


def config_doc_drift(root, table):
    """What doc/configuration.md's key table and agentauth(8)'s key list get
    wrong about table; [] when both are in step."""
    import re
    problems = []
    doc = open(os.path.join(root, "doc", "configuration.md")).read()
    section = re.search(r"^## 1\. Keys$(.*?)^## ", doc, re.M | re.S)
    expect(section is not None, "configuration.md has a section '## 1. Keys'")
    rows = {}
    for m in re.finditer(r"^\| `(\w+)` \| (\w+) \| `([^`]*)` \| ([^|]*) \|", section.group(1),
                         re.M):
        if m.group(1) in rows:
            problems.append("configuration.md: %s has two rows" % m.group(1))
        rows[m.group(1)] = m.groups()[1:]
    for name in sorted(set(table) - set(rows)):
        problems.append("configuration.md: no row for %s" % name)
    for name in sorted(set(rows) - set(table)):
        problems.append("configuration.md: %s is not a key" % name)
    for name in sorted(set(rows) & set(table)):
        kind, default, lo, hi = table[name]
        dkind, ddefault, dbounds = rows[name]
        if dkind != kind:
            problems.append("configuration.md: %s is a %s; config.c: a %s" % (name, dkind, kind))
        if ddefault != (default if default != "" else '""'):
            problems.append("configuration.md: default of %s is %s; config.c: %r"
                            % (name, ddefault, default))
        if kind == "integer" and not dbounds.strip().startswith("%d – %d" % (lo, hi)):
            problems.append("configuration.md: bounds of %s are %r; config.c: %d – %d"
                            % (name, dbounds.strip(), lo, hi))
    man = open(os.path.join(root, "doc", "agentauth.8")).read()
    section = re.search(r'^\.\\" The key list:.*?$(.*?)^\.\\" End of the key list', man,
                        re.M | re.S)
    expect(section is not None, "agentauth.8 marks its key list with comments")
    listed = re.findall(r"^\.BR? (\w+)", section.group(1), re.M)
    for name in sorted(set(table) - set(listed)):
        problems.append("agentauth.8: the key list lacks %s" % name)
    for name in sorted(set(listed) - set(table)):
        problems.append("agentauth.8: the key list names %s, which is not a key" % name)
    return problems


def log_doc_drift(root):
    """What agentauth(8)'s DIAGNOSTICS gets wrong about the log lines of
    src/*.c: a line the program logs that the page lacks, or a line the page
    lists that no log call writes; [] when both are in step."""
    import glob
    import re
    formats = []
    for path in sorted(glob.glob(os.path.join(root, "src", "*.c"))):
        text = open(path).read()
        for m in re.finditer(r'\blog_(?:error|warn|info|debug)\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)',
                             text):
            literals = re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))
            formats.append((os.path.basename(path), "".join(literals).replace('\\"', '"')))
    man = open(os.path.join(root, "doc", "agentauth.8")).read()
    section = re.search(r"^\.SH DIAGNOSTICS$(.*?)^\.SH ", man, re.M | re.S)
    expect(section is not None, "agentauth.8 has a section DIAGNOSTICS")
    lines = []
    for block in re.findall(r"^\.nf$(.*?)^\.fi$", section.group(1), re.M | re.S):
        for line in block.strip("\n").split("\n"):
            line = re.sub(r"\\fI[^\\]*\\fP", "X", line)   # a placeholder
            line = line.replace("\\-", "-")
            lines.append(re.sub(r"^(?:error|warn|info|debug): ", "", line))

    def pattern(fmt):  # each conversion (%s, %lld, %.1f, ...) matches anything
        parts = re.split(r"%[-#0 +]*\d*(?:\.\d+)?(?:ll|l|z)?[sdiuxcf]", fmt)
        return re.compile(".*".join(re.escape(p) for p in parts) + r"\Z")
    problems = []
    for where, fmt in formats:
        if not any(pattern(fmt).match(line) for line in lines):
            problems.append("agentauth.8 lacks %r (%s)" % (fmt, where))
    for line in lines:
        if not any(pattern(fmt).match(line) for _, fmt in formats):
            problems.append("agentauth.8 lists %r, which no log call in src/ writes" % line)
    return problems


@test
def test_sample_config_documents_every_key_with_its_default(env):
    import re
    from harness import ROOT
    src = open(os.path.join(ROOT, "src", "config.c")).read()
    table = config_key_table(src)
    keys = set(re.findall(r'^\s*(?:STR|INT|BOOL)\((\w+),', src, re.M))
    keys.add("log_level")
    expect_eq(sorted(set(table) ^ keys), [], "keys the table parser missed")
    # doc/configuration.md and agentauth(8) name every key, with its
    # default and bounds, as the key table has them
    expect_eq(config_doc_drift(ROOT, table), [], "documentation out of step with src/config.c")
    sample = open(os.path.join(ROOT, "deploy", "agentauth.conf.sample")).read()
    defaults = dict(re.findall(r'^# (\w+) = ?(.*)$', sample, re.M))
    expect_eq(sorted(set(defaults) ^ keys), [], "keys missing from or unknown to the sample")
    for m in re.finditer(r'^\s*(?:STR|INT|BOOL)\((\w+), "([^"]*)"', src, re.M):
        name, default = m.group(1), m.group(2)
        if name in ("database", "private_key"):
            continue  # the sample shows an example first
        expect_eq(defaults[name], default, "default of %s" % name)
    # the sample, uncommented (with a key), is a valid configuration
    text = re.sub(r'^# (\w+ = ?.*)$', r'\1', sample, flags=re.M)
    text = re.sub(r'^(database|private_key) = /.*\n|^database = host.*\n', '', text, flags=re.M)
    text = text.replace("private_key =\n", "private_key = %s\n" % env.key)
    r = run_agentauth(env, conf_text=text)
    expect_eq(r.returncode, 0, "the sample with its defaults: %s" % r.stderr)


@test
def test_man_page_lists_every_log_line(env):
    from harness import ROOT
    # agentauth(8), DIAGNOSTICS, is the one list of the log lines
    expect_eq(log_doc_drift(ROOT), [], "agentauth.8 DIAGNOSTICS out of step with src/")


@test
def test_sighup_during_start_up_is_ignored(env):
    proc = subprocess.Popen([env.binary, "--check-config"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, AGENTAUTH_PRIVATE_KEY=env.key,
                                     AGENTAUTH_DUMMY_HASH_COST="15"))
    # past start-up, inside the cost-15 dummy hash (over a second of CPU):
    # once the process has used 0.2 s of CPU
    expect(wait_for(lambda: proc.poll() is not None or cpu_seconds(proc.pid) >= 0.2, 30),
           "the dummy hash started")
    expect(proc.poll() is None, "still running at the SIGHUP")
    proc.send_signal(signal.SIGHUP)  # while the cost-15 dummy hash is computed
    out, err = proc.communicate(timeout=60)
    expect_eq(proc.returncode, 0, "exit status after a SIGHUP at start-up (%s)" % err)
    expect(b"configuration OK" in out, "it finished its work")


def hacking_anchors(root):
    """Anchors `src/FILE:LINE` `NAME` of doc/HACKING.md whose line does not
    begin NAME's definition (or a table, for the tables it names)."""
    import re as _re
    text = open(os.path.join(root, "doc", "HACKING.md")).read().replace("\n", " ")
    bad = []
    for path, line, name in _re.findall(r"`(src/[a-z_]+\.c):(\d+)`\s+`([a-z_]+)`", text):
        lines = open(os.path.join(root, path)).read().split("\n")
        n = int(line)
        if n > len(lines) or not lines[n - 1].startswith(name + "("):
            bad.append("%s:%s is not %s" % (path, line, name))
    return bad


@test
def test_hacking_anchors_point_at_their_functions(env):
    bad = hacking_anchors(harness.ROOT)
    expect_eq(bad, [], "doc/HACKING.md anchors")

