"""The process side: --check-config, the prefork pool's restarts and its
graceful stop."""
import os
import signal
import subprocess
import threading
import time

from harness import expect, expect_eq

TESTS = []


def test(fn):
    TESTS.append((fn.__name__[5:].replace("_", " "), fn))
    return fn


def tests():
    return TESTS


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


def wait_for(cond, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


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

    def slow_login():  # admin@spryker.com has a cost-12 bcrypt hash (~0.2 s or more)
        result["status"] = env.login("admin@spryker.com", "change123").status

    t = threading.Thread(target=slow_login)
    t.start()
    time.sleep(0.08)
    rc = env.pool.stop()
    t.join(10)
    expect_eq(result.get("status"), 201, "the request in flight")
    expect_eq(rc, 0, "pool exit status")
    expect(not os.path.exists(env.pool.sock), "socket removed")
    env.pool.start()
    expect_eq(env.login("admin@spryker.com", "change123").status, 201, "after restart")
