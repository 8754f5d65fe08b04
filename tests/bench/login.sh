#!/usr/bin/env bash
# Login benchmark: POST /agent-access-tokens through nginx with wrk, right and
# wrong password, against the bcrypt ceiling measured in the same run.
#
# Usage: tests/bench/login.sh [BUILD_DIR]
#   BUILD_DIR defaults to build/release (under the source tree); if
#   BUILD_DIR/src/agentauth is missing it is built there with
#   autoreconf -fi && configure && make.
# Environment: BENCH_DURATION (seconds per wrk phase, default 10).
#
# Everything listens on loopback or on Unix sockets in a temporary directory
# (PostgreSQL, the agentauth pool, nginx: see login_env.py) and is stopped and
# removed on exit, Ctrl-C included.  Not part of the test suite: the figures
# depend on the machine and on whatever else runs on it.
# Exit status: 0, or 1 if a phase had unexpected responses or socket errors,
# 2 if the environment could not be set up.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/../.." && pwd)
BUILD=${1:-$ROOT/build/release}
BUILD=$(mkdir -p "$BUILD" && cd "$BUILD" && pwd)
DURATION=${BENCH_DURATION:-10}
CONNECTIONS=16
THREADS=2
CORES=$(nproc)
HASH_ITERATIONS=20
# Debian's python3: it has the crypt module (libxcrypt, as the service uses)
# and is what the test harness runs under.
PYTHON=${PYTHON:-/usr/bin/python3}

die() {
	echo "login.sh: $*" >&2
	exit 2
}

for tool in wrk nginx "$PYTHON" awk; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done

# --- build and environment (benchlib.sh) --------------------------------------
# shellcheck source=tests/bench/benchlib.sh
. "$BENCH_DIR/benchlib.sh"
bench_build
bench_env login_env.py

# --- bcrypt cost on this machine ------------------------------------------
# The same scheme and cost as the fixture (pgcrypto's gen_salt writes $2a$10$,
# the same algorithm and work as $2b$10$), through libxcrypt like the service.
# Prints two medians in ms: wall time and CPU time.  The ceiling comes from
# the CPU time: on a quiet machine the two agree, and when other tenants
# preempt the measurement they inflate the wall time (and so would make the
# ceiling look lower than it is), hardly the CPU time.
hash_ms() {
	"$PYTHON" -W ignore - "$HASH_ITERATIONS" <<'EOF'
import crypt, statistics, sys, time
n = int(sys.argv[1])
salt = crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 10)
assert salt.startswith("$2b$10$"), salt
crypt.crypt("warm-up", salt)
wall, cpu = [], []
for i in range(n):
    w, c = time.perf_counter(), time.process_time()
    crypt.crypt("bench-pass-%d" % i, salt)
    cpu.append(time.process_time() - c)
    wall.append(time.perf_counter() - w)
print("%.2f %.2f" % (statistics.median(wall) * 1000, statistics.median(cpu) * 1000))
EOF
}

# --- CPU accounting (benchlib.sh) ---------------------------------------------
bench_cpu_init

# --- one wrk phase ----------------------------------------------------------
# run_phase NAME PASSWORD [MODE]: writes $tmp/NAME.out (its RESULT line is
# parsed later) and $tmp/NAME.cpu (cpu_diff over the phase).
run_phase() {
	local name=$1 password=$2 mode=${3:-}
	cpu_snapshot "$tmp/$name.cpu0"
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s \
		-s "$BENCH_DIR/login.lua" "${st[URL]}" -- "${st[USERNAME_FORMAT]}" "${st[USERS]}" \
		"$password" ${mode:+"$mode"} \
		>"$tmp/$name.out" 2>&1 &
	wrk_pid=$!
	wait "$wrk_pid" || {
		cat "$tmp/$name.out" >&2
		die "wrk failed in phase $name"
	}
	wrk_pid=
	cpu_snapshot "$tmp/$name.cpu1"
	cpu_diff "$tmp/$name.cpu0" "$tmp/$name.cpu1" >"$tmp/$name.cpu"
	grep -q '^RESULT ' "$tmp/$name.out" || {
		cat "$tmp/$name.out" >&2
		die "wrk printed no RESULT line in phase $name"
	}
}

# field NAME KEY: a value from the phase's RESULT line
field() {
	sed -n 's/^RESULT //p' "$tmp/$1.out" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

echo "agentauth login benchmark: $(uname -m), $CORES cores ($(nproc --all) online), \
${st[WORKERS]} workers, bcrypt cost ${st[HASH_COST]}"
echo "wrk via nginx, $CONNECTIONS connections, $THREADS threads, ${DURATION} s per phase; build $BUILD"
echo "${st[USERS]} fixture agents sharing one ${st[STORED_HASH_PREFIX]}... hash; requests rotate \
over them and over X-Forwarded-For addresses (pool trusted_proxies: ${st[TRUSTED_PROXIES]})"
echo "sanity: right password -> ${st[CHECK_OK]}, wrong password -> ${st[CHECK_BAD]}"

hash_before=$(hash_ms)
run_phase ok "${st[PASSWORD]}"
run_phase failed "${st[PASSWORD]}-wrong"
hash_after=$(hash_ms)
# The lock-out path (429, no hash): block agent 1 from one address, then
# send the right password from there.
# shellcheck disable=SC2059 # the fixture names are a printf pattern
user1=$(printf "${st[USERNAME_FORMAT]}" 1)
psql -X -q -h "${st[PG_HOST]}" -p "${st[PG_PORT]}" -U postgres -d agentauth -c \
	"INSERT INTO agentauth.login_attempts (scope, client_ip, username, failures, window_start,
	 blocked_until) VALUES ('ip_user', '198.19.255.254', lower('$user1'), 9, now(),
	 now() + interval '1 hour')" >/dev/null || die "cannot lock the fixture out"
run_phase locked "${st[PASSWORD]}" locked

# Lines the pool logged at warn or above during the run (0 expected).
pool_log_lines=$(wc -l <"${st[POOL_LOG]}")
nginx_errors=$(grep -c -E '\[(error|crit|alert|emerg)\]' "${st[NGINX_ERROR_LOG]}" || true)

read -r hash_before cpu_before <<<"$hash_before"
read -r hash_after cpu_after <<<"$hash_after"
hash_wall=$(awk -v a="$hash_before" -v b="$hash_after" 'BEGIN { printf "%.2f", (a + b) / 2 }')
hash=$(awk -v a="$cpu_before" -v b="$cpu_after" 'BEGIN { printf "%.2f", (a + b) / 2 }')
ceiling=$(awk -v c="$CORES" -v h="$hash" 'BEGIN { printf "%.1f", c * 1000 / h }')

echo
echo "bcrypt \$2b\$10\$ one hash: $hash ms CPU, $hash_wall ms wall (medians of \
$HASH_ITERATIONS before the run: $cpu_before / $hash_before ms, after: $cpu_after / $hash_after ms)"
echo "ceiling: $CORES cores / $hash ms = $ceiling logins/s"
echo
printf '%-13s %9s %6s %6s %5s %5s %6s %7s\n' phase responses 201 401 429 5xx other "sock err"
unexpected=0
for phase in ok failed; do
	errs=0
	for k in connect_err read_err write_err timeout_err; do
		errs=$((errs + $(field "$phase" "$k")))
	done
	printf '%-13s %9d %6d %6d %5d %5d %6d %7d\n' "login $phase" \
		"$(field "$phase" requests)" "$(field "$phase" s201)" "$(field "$phase" s401)" \
		"$(field "$phase" s429)" "$(field "$phase" s5xx)" "$(field "$phase" sother)" "$errs"
	want=s201
	[[ $phase == failed ]] && want=s401
	if [[ $(field "$phase" "$want") -ne $(field "$phase" requests) || $errs -ne 0 ||
		$(field "$phase" requests) -eq 0 ]]; then
		unexpected=1
	fi
done
echo "pool log lines at warn or above: $pool_log_lines; nginx error log errors: $nginx_errors"
if [[ $unexpected -ne 0 ]]; then
	echo "WARNING: some responses were not the expected status (or socket errors occurred):"
	echo "the figures below count only the expected responses"
fi

echo
echo "CPU time per response, ms (/proc, $CLK_TCK ticks/s; rest = wrk, this script, other tenants):"
printf '%-13s %8s %11s %9s %6s %6s %6s %6s\n' phase workers "above hash" postgres nginx rest \
	idle steal
for phase in ok failed; do
	awk -v label="login $phase" -v n="$(field "$phase" requests)" -v hz="$CLK_TCK" \
		-v hash="$hash" '{ c[$1] = $2 } END {
		ms = n > 0 ? 1000 / hz / n : 0
		printf "%-13s %8.1f %11.1f %9.2f %6.2f %6.1f %6.1f %6.1f\n", label,
			c["workers"] * ms, c["workers"] * ms - hash, c["postgres"] * ms,
			c["nginx"] * ms, c["rest"] * ms, c["idle"] * ms, c["steal"] * ms }' \
		"$tmp/$phase.cpu"
done
# wrk, with this script, needs about 1 % of the machine at these rates.
for phase in ok failed; do
	awk -v phase="$phase" -v cores="$CORES" '{ c[$1] = $2 } END {
		total = c["busy"] + c["idle"] + c["steal"]
		if (total > 0 && c["rest"] / total > 0.05)
			printf "NOTE: %.0f %% of the machine (%.2f of %d cores) went to other processes " \
				"during login %s: the ratios below understate the service\n",
				100 * c["rest"] / total, cores * c["rest"] / total, cores, phase }' \
		"$tmp/$phase.cpu"
done

echo
busy=$((st[WORKERS] < CORES ? st[WORKERS] : CORES))
echo "per login = $busy / rate (min(workers, cores), each busy all the time); overhead = per login - hash"
# One summary line per phase: rate of expected responses, latency percentiles,
# ratio to the ceiling, per-login time and what is not the hash.
for phase in ok failed; do
	want=s201
	label="login ok:"
	if [[ $phase == failed ]]; then
		want=s401
		label="login failed:"
	fi
	awk -v label="$label" -v n="$(field "$phase" "$want")" \
		-v us="$(field "$phase" duration_us)" -v p50="$(field "$phase" p50_us)" \
		-v p99="$(field "$phase" p99_us)" -v ceil="$ceiling" -v hash="$hash" \
		-v busy="$busy" 'BEGIN {
		rate = n / (us / 1e6)
		per = rate > 0 ? busy * 1000 / rate : 0
		printf "%-14s %6.1f/s  p50 %3.0f ms  p99 %3.0f ms  (%.2f x ceiling)  ", label,
			rate, p50 / 1000, p99 / 1000, rate / ceil
		if (rate > 0)
			printf "per login %.1f ms = hash %.1f + %.1f ms\n", per, hash, per - hash
		else
			printf "per login n/a\n"
	}'
done
# The lock-out path computes no hash: its own line, against its target in
# doc/performance.md, "Locked-out logins" (>= 5 000/s; the PHP implementation:
# 2 395/s).
awk -v n="$(field locked s429)" -v all="$(field locked requests)" \
	-v us="$(field locked duration_us)" -v p50="$(field locked p50_us)" \
	-v p99="$(field locked p99_us)" 'BEGIN {
	rate = n / (us / 1e6)
	printf "%-14s %6.0f/s  p50 %5.1f ms  p99 %5.1f ms  (%d of %d answers 429; target >= 5000/s: %s)\n",
		"login locked:", rate, p50 / 1000, p99 / 1000, n, all, (rate >= 5000 ? "PASS" : "MISS")
}'
exit "$unexpected"
