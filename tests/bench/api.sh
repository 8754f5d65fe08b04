#!/usr/bin/env bash
# API benchmark: every endpoint of doc/api.md through nginx with wrk, over one
# million generated customers, after the machine's ceilings measured in the
# same run (a bare libfcgi responder behind the same nginx, signatures per
# second, the bcrypt cost 10 ceiling).  A ratio to a ceiling from another
# run means nothing: this script prints both.
#
# Usage: tests/bench/api.sh [BUILD_DIR]
#   BUILD_DIR defaults to build/release (under the source tree); if
#   BUILD_DIR/src/agentauth is missing it is built there with
#   autoreconf -fi && configure && make (a release build: no sanitizers).
# Environment (defaults):
#   BENCH_DURATION=10    seconds of each measured wrk run
#   BENCH_WARMUP=2       seconds of unmeasured wrk before the read-only
#                        scenarios (health, jwks, search_*) and the bare responder
#   BENCH_CUSTOMERS=1000000  customers loaded with search_customers.sql
#   BENCH_SCENARIOS="health jwks search_exact search_selective search_broad
#                    impersonate refresh login_ok login_bad login_locked"
#   BENCH_WORKERS=4      agentauth pool processes
#   BENCH_KEY=rsa        signing key: rsa (RSA 2048), ec (P-256) or ed25519;
#                        a build that refuses the key stops the run and says so
#   BENCH_KEEP_CONN=on   on: nginx keeps its FastCGI connections (upstream
#                        keepalive 8, keepalive_timeout 5s, fastcgi_keep_conn
#                        on, as deploy/nginx/ ships); off: one per request
# Set-up: api_env.py (the agents, pool settings and nginx it starts are
# described there); every wrk run is -t2 -c16 --latency --timeout 10s with
# api.lua, which describes each scenario.  The scenarios' inputs come from
# the loaded rows: references of 1000 random live customers (search_exact,
# impersonate: one at random per request), the email local parts of 100
# random live customers (search_selective), 4 x 16 refresh tokens from
# logins of bench@x (refresh, which then chains each answer's new token),
# and the pair (login10@x, 192.0.2.77) locked out with wrong passwords
# before login_locked.
#
# Output on stdout, CSV:
#   limit,<name>,<per_s>            the ceilings, first: bare_libfcgi (req/s),
#                                   sign_/verify_ rsa2048, ecdsap256, ed25519
#                                   (openssl speed -multi CORES -seconds 3), and
#                                   bcrypt10_ceiling (cores / one cost 10 hash,
#                                   CPU time median of 20)
#   scenario,req_s,p50_ms,p99_ms,non2xx_expected_ok
#   <scenario>,...,<non-2xx responses>/<expected status>/<ok|BAD>
#                                   ok: every answer had the expected status
#                                   and wrk saw no socket error or timeout.
#                                   The read-only scenarios' measured runs do
#                                   not hand answers to Lua (api.lua,
#                                   API_TALLY: it would cost wrk ~15 % of its
#                                   rate): there every status of their warm-up
#                                   is checked, and in the measured run that
#                                   none is 400 or above
#   rss,<pid>,<kB_before>,<kB_after>   VmRSS of each pool worker before the
#                                   first scenario and after the last (- when
#                                   the process was not there)
# Progress and details (statuses, CPU time per request) on stderr.
#
# Everything listens on loopback or on Unix sockets in a temporary directory
# and is stopped and removed on exit, Ctrl-C included.  Not part of the test
# suite: the figures depend on the machine and on whatever else runs on it.
# Takes 3 to 4 minutes with the defaults (2.5 with BENCH_DURATION=5; loading
# the 1 M customers takes 10 to 40 s of it).
# Exit status: 0, 1 if a scenario was BAD (or could not be prepared) or a
# login re-hashed an agent's password, 2 if the environment could not be set
# up.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/../.." && pwd)
BUILD=${1:-$ROOT/build/release}
BUILD=$(mkdir -p "$BUILD" && cd "$BUILD" && pwd)
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
CUSTOMERS=${BENCH_CUSTOMERS:-1000000}
CONNECTIONS=16
THREADS=2
CORES=$(nproc)
HASH_ITERATIONS=20
REFERENCES=1000
PREFIXES=100
LOCK_IP=192.0.2.77
# Debian's python3: it has the crypt module (libxcrypt, as the service uses)
# and is what the test harness runs under.
PYTHON=${PYTHON:-/usr/bin/python3}

ALL_SCENARIOS="health jwks search_exact search_selective search_broad impersonate refresh \
login_ok login_bad login_locked"
declare -A EXPECT=([health]=200 [jwks]=200 [search_exact]=200 [search_selective]=200
	[search_broad]=200 [impersonate]=201 [refresh]=201 [login_ok]=201 [login_bad]=401
	[login_locked]=429)
read -r -a SCENARIOS <<<"${BENCH_SCENARIOS:-$ALL_SCENARIOS}"

usage_error() {
	echo "api.sh: $*" >&2
	exit 2
}
for s in "${SCENARIOS[@]}"; do
	[[ -n ${EXPECT[$s]:-} ]] || usage_error "unknown scenario $s in BENCH_SCENARIOS ($ALL_SCENARIOS)"
done
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || usage_error "BENCH_DURATION must be whole seconds"
[[ $WARMUP =~ ^[0-9]+$ ]] || usage_error "BENCH_WARMUP must be whole seconds"
[[ $CUSTOMERS =~ ^[1-9][0-9]*$ && $CUSTOMERS -le 100000000 ]] ||
	usage_error "BENCH_CUSTOMERS must be a number from 1 to 100000000"
[[ ${BENCH_WORKERS:-4} =~ ^[1-9][0-9]*$ && ${BENCH_WORKERS:-4} -le 256 ]] ||
	usage_error "BENCH_WORKERS must be a number from 1 to 256"
[[ ${BENCH_KEY:-rsa} =~ ^(rsa|ec|ed25519)$ ]] || usage_error "BENCH_KEY must be rsa, ec or ed25519"
[[ ${BENCH_KEEP_CONN:-on} =~ ^(on|off)$ ]] || usage_error "BENCH_KEEP_CONN must be on or off"

die() {
	# api_env.py's word on a refused signing key, last and plain
	if [[ -n ${tmp:-} && -f $tmp/env.log ]] && grep -q 'refuses the signing key' "$tmp/env.log"; then
		echo "api.sh: $(sed -n 's/^# setup failed: RuntimeError: //p' "$tmp/env.log")" >&2
	fi
	echo "api.sh: $*" >&2
	exit 2
}

log() { echo "[$(date +%T)] $*" >&2; }

for tool in wrk nginx psql cc openssl "$PYTHON" awk; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done

# --- build and environment (benchlib.sh) --------------------------------------
# shellcheck source=tests/bench/benchlib.sh
. "$BENCH_DIR/benchlib.sh"
bench_build >&2
log "starting PostgreSQL, the pool (BENCH_KEY=${BENCH_KEY:-rsa}), fcgi_hello and nginx"
bench_env api_env.py
bench_cpu_init

# sql ARGS...: psql as the cluster's superuser, unaligned, tuples only
sql() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 -h "${st[PG_HOST]}" -p "${st[PG_PORT]}" \
		-U postgres -d agentauth "$@"
}

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

log "agentauth API benchmark: $(uname -m), $CORES cores, ${st[WORKERS]} workers, key ${st[KEY]} \
(JWKS alg ${st[ALG]}), nginx ${st[NGINX_WORKERS]} workers, keep-conn ${st[KEEP_CONN]}, \
PostgreSQL $(sql -c 'SHOW server_version' | cut -d' ' -f1); wrk -t$THREADS -c$CONNECTIONS, \
${WARMUP} s warm-up (read-only scenarios) + ${DURATION} s; build $BUILD"

# --- customers ------------------------------------------------------------------
t0=$(now)
sql -v customers="$CUSTOMERS" -f "$BENCH_DIR/search_customers.sql" >/dev/null ||
	die "loading the customers failed"
t1=$(now)
sql -c 'VACUUM (ANALYZE)' || die "VACUUM failed"
# the load's pages reach the disk now, not in the checkpoint of the first
# scenario that writes (whose CPU per request it would inflate)
sql -c 'CHECKPOINT' || die "CHECKPOINT failed"
log "loaded $CUSTOMERS customers in $(seconds "$t0" "$t1") s, VACUUM (ANALYZE) and CHECKPOINT $(seconds "$t1" "$(now)") s"

sql -c "SELECT customer_reference FROM agentauth.customers WHERE deleted_at IS NULL
	ORDER BY random() LIMIT $REFERENCES" >"$tmp/references"
sql -c "SELECT split_part(lower(email), '@', 1) FROM agentauth.customers
	WHERE deleted_at IS NULL ORDER BY random() LIMIT $PREFIXES" >"$tmp/prefixes"
[[ -s $tmp/references && -s $tmp/prefixes ]] || die "no customers to take references from"
# how selective the prefixes are: live customers whose email begins with one
# (a byte range, which the lower(email) text_pattern_ops index serves: the
# prefixes hold letters, digits and dots only, all below "~")
read -r pmin pmed pmax <<<"$(sql -F ' ' -c "SELECT min(n), percentile_disc(0.5) WITHIN GROUP
	(ORDER BY n), max(n) FROM (SELECT (SELECT count(*) FROM agentauth.customers c
	WHERE c.deleted_at IS NULL AND lower(c.email) ~>=~ p.p AND lower(c.email) ~<~ (p.p || '~')) n
	FROM unnest(string_to_array('$(paste -sd ' ' "$tmp/prefixes")', ' ')) p(p)) s")"
log "search_exact/impersonate: $(wc -l <"$tmp/references") references of live customers; \
search_selective: $(wc -l <"$tmp/prefixes") email local parts (matches per prefix: min $pmin, \
median $pmed, max $pmax)"

# --- wrk ------------------------------------------------------------------------
# wrk_run SECONDS URL OUT SCENARIO [VAR=VALUE...]: api.lua with API_* variables
wrk_run() {
	local secs=$1 url=$2 out=$3 scenario=$4
	shift 4
	env API_SCENARIO="$scenario" API_EXPECT="${EXPECT[$scenario]}" API_THREADS="$THREADS" \
		API_TOKEN="${st[TOKEN]}" "$@" \
		wrk -t"$THREADS" -c"$CONNECTIONS" -d"${secs}s" --latency --timeout 10s \
		-s "$BENCH_DIR/api.lua" "$url" >"$out" 2>&1 &
	wrk_pid=$!
	wait "$wrk_pid" || {
		cat "$out" >&2
		die "wrk failed: $scenario"
	}
	wrk_pid=
	grep -q '^RESULT ' "$out" || {
		cat "$out" >&2
		die "wrk printed no RESULT line: $scenario"
	}
}

# field OUT KEY: a value from the RESULT line of wrk output OUT
field() {
	sed -n 's/^RESULT //p' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# socket_errors OUT: wrk's connect, read and write errors and timeouts
socket_errors() {
	local k errs=0
	for k in connect_err read_err write_err timeout_err; do
		errs=$((errs + $(field "$1" "$k")))
	done
	echo "$errs"
}

# check_run OUT: whether the run had answers, all with the expected status
# (untallied: none of 400 or above), and no socket error or timeout
check_run() {
	local n
	n=$(field "$1" requests)
	[[ $n -gt 0 && $(field "$1" expected) -eq $n && $(socket_errors "$1") -eq 0 ]]
}

# explain OUT: the run's responses, statuses and socket errors, in words
explain() {
	echo "$(field "$1" requests) responses (status:count $(field "$1" statuses)), \
$(socket_errors "$1") socket errors or timeouts"
}

# worker_ticks: CPU ticks the pool's workers have used so far, together
worker_ticks() {
	local pid stat sum=0
	local -a f
	while read -r pid; do
		stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		read -r -a f <<<"${stat##*) }"
		sum=$((sum + f[11] + f[12]))
	done < <(pids_of workers)
	echo "$sum"
}

# settle: waits (up to 30 s) until PostgreSQL runs no client statement and
# the workers are idle (under 2 ticks in 0.2 s), so that requests still queued
# from the previous run do not eat into the next one.
settle() {
	local _ a b
	for _ in $(seq 1 150); do
		a=$(worker_ticks)
		sleep 0.2
		b=$(worker_ticks)
		if ((b - a < 2)) && [[ $(sql -c "SELECT count(*) FROM pg_stat_activity WHERE
			state = 'active' AND backend_type = 'client backend' AND
			pid <> pg_backend_pid()") == 0 ]]; then
			return 0
		fi
	done
	log "NOTE: the pool or PostgreSQL was still busy 30 s after the previous run"
}

# rss_snapshot FILE: "PID KB" for each pool worker
rss_snapshot() {
	local pid kb
	while read -r pid; do
		kb=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
		[[ -n $kb ]] && echo "$pid $kb"
	done < <(pids_of workers) >"$1"
}

# --- the machine's ceilings ---------------------------------------------------------
echo "limit,name,per_s"
log "bare_libfcgi: fcgi_hello (${st[HELLO_THREADS]} threads) behind the same nginx"
tally=()
if [[ $WARMUP != 0 ]]; then
	wrk_run "$WARMUP" "${st[HELLO_BASE_URL]}" "$tmp/hello.warmup" health
	check_run "$tmp/hello.warmup" || log "NOTE: fcgi_hello's warm-up: $(explain "$tmp/hello.warmup")"
	tally=(API_TALLY=0)
fi
wrk_run "$DURATION" "${st[HELLO_BASE_URL]}" "$tmp/hello.out" health "${tally[@]}"
awk -v n="$(field "$tmp/hello.out" requests)" -v us="$(field "$tmp/hello.out" duration_us)" \
	'BEGIN { printf "limit,bare_libfcgi,%.1f\n", n / (us / 1e6) }'
check_run "$tmp/hello.out" || log "NOTE: fcgi_hello: $(explain "$tmp/hello.out")"

log "openssl speed -multi $CORES -seconds 3 rsa2048 ecdsap256 ed25519 (about 20 s)"
openssl speed -multi "$CORES" -seconds 3 rsa2048 ecdsap256 ed25519 >"$tmp/speed.out" 2>/dev/null ||
	die "openssl speed failed"
# the summary rows end with "sign/s verify/s"
awk '/^rsa 2048 bits / { n = "rsa2048" } /ecdsa \(nistp256\)/ { n = "ecdsap256" }
	/EdDSA \(Ed25519\)/ { n = "ed25519" }
	n != "" { printf "limit,sign_%s,%.1f\nlimit,verify_%s,%.1f\n", n, $(NF - 1), n, $NF; n = "" }' \
	"$tmp/speed.out"

log "bcrypt cost 10: $HASH_ITERATIONS hashes"
read -r hash_wall hash_cpu <<<"$(bench_bcrypt_ms "$HASH_ITERATIONS" 10)"
awk -v c="$CORES" -v h="$hash_cpu" 'BEGIN { printf "limit,bcrypt10_ceiling,%.1f\n", c * 1000 / h }'
log "one bcrypt cost 10 hash: $hash_cpu ms CPU, $hash_wall ms wall (medians); ceiling = $CORES cores / CPU time"

# --- scenario inputs --------------------------------------------------------------
# prep refresh FILE: 4 x CONNECTIONS refresh tokens of bench@x, one a line;
# prep lock USER IP: wrong passwords for USER from IP until the first 429.
prep() {
	"$PYTHON" - "$ROOT/tests/lib" "${st[PORT]}" "${st[PASSWORD]}" "$@" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import harness  # noqa: E402
port, password, what = int(sys.argv[2]), sys.argv[3], sys.argv[4]


def login(username, password, ip=None):
    body = {"data": {"type": "agent-access-tokens",
                     "attributes": {"username": username, "password": password}}}
    return harness.request(port, "POST", "/auth/agent-access-tokens", body,
                           {"X-Forwarded-For": ip} if ip else None)


if what == "refresh":
    out, n = sys.argv[5], int(sys.argv[6])
    with open(out, "w") as f:
        for i in range(n):
            r = login("bench@x", password)
            if r.status != 201:
                sys.exit("login %d of bench@x: %d %r" % (i + 1, r.status, r.body[:200]))
            f.write(r.json()["data"]["attributes"]["refreshToken"] + "\n")
elif what == "lock":
    user, ip = sys.argv[5], sys.argv[6]
    for i in range(1, 31):
        r = login(user, password + "-wrong", ip)
        if r.status == 429:
            print("%d attempts" % i)
            break
        if r.status != 401:
            sys.exit("attempt %d: %d %r" % (i, r.status, r.body[:200]))
    else:
        sys.exit("(%s, %s) not locked out after 30 wrong passwords" % (user, ip))
PY
}

# prepare SCENARIO: prints the extra API_* settings of its wrk run
prepare() {
	case $1 in
	search_exact | impersonate) echo "API_LIST=$tmp/references" ;;
	search_selective) echo "API_LIST=$tmp/prefixes" ;;
	refresh)
		prep refresh "$tmp/refresh-tokens" $((4 * CONNECTIONS)) >&2 || return 1
		echo "API_LIST=$tmp/refresh-tokens"
		;;
	login_ok | login_bad) echo "API_USER=login10@x API_PASSWORD=${st[PASSWORD]}" ;;
	login_locked)
		local attempts
		attempts=$(prep lock login10@x "$LOCK_IP") || return 1
		log "login_locked: (login10@x, $LOCK_IP) locked out after $attempts"
		echo "API_USER=login10@x API_PASSWORD=${st[PASSWORD]} API_LOCK_IP=$LOCK_IP"
		;;
	esac
}

# --- scenarios --------------------------------------------------------------------
rss_snapshot "$tmp/rss.before"
echo "scenario,req_s,p50_ms,p99_ms,non2xx_expected_ok"
bad=0
for s in "${SCENARIOS[@]}"; do
	exp=${EXPECT[$s]}
	settle
	if ! extra=$(prepare "$s"); then
		log "$s: could not be prepared"
		echo "$s,0,0,0,-/$exp/BAD"
		bad=1
		continue
	fi
	read -r -a vars <<<"$extra"
	verdict=ok
	case $s in
	health | jwks | search_*)
		# the warm-up tallies every status; the measured run does not
		# (api.lua: API_TALLY)
		if [[ $WARMUP != 0 ]]; then
			log "$s: warm-up, $WARMUP s"
			wrk_run "$WARMUP" "${st[BASE_URL]}" "$tmp/$s.warmup" "$s" "${vars[@]}"
			if ! check_run "$tmp/$s.warmup"; then
				log "$s: BAD warm-up: $(explain "$tmp/$s.warmup")"
				verdict=BAD
			fi
			vars+=(API_TALLY=0)
			settle
		fi
		;;
	esac
	log "$s: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, expecting $exp"
	cpu_snapshot "$tmp/$s.cpu0"
	wrk_run "$DURATION" "${st[BASE_URL]}" "$tmp/$s.out" "$s" "${vars[@]}"
	cpu_snapshot "$tmp/$s.cpu1"
	cpu_diff "$tmp/$s.cpu0" "$tmp/$s.cpu1" >"$tmp/$s.cpu"
	n=$(field "$tmp/$s.out" requests)
	check_run "$tmp/$s.out" || verdict=BAD
	[[ $verdict == ok ]] || bad=1
	awk -v s="$s" -v n="$n" -v us="$(field "$tmp/$s.out" duration_us)" \
		-v p50="$(field "$tmp/$s.out" p50_us)" -v p99="$(field "$tmp/$s.out" p99_us)" \
		-v non2xx="$(field "$tmp/$s.out" non2xx)" -v want="$exp" -v verdict="$verdict" \
		'BEGIN { printf "%s,%.1f,%.2f,%.2f,%d/%s/%s\n", s, n / (us / 1e6), p50 / 1000,
			p99 / 1000, non2xx, want, verdict }'
	awk -v s="$s: $(explain "$tmp/$s.out")" -v n="$n" -v hz="$CLK_TCK" '{ c[$1] = $2 } END {
		ms = n > 0 ? 1000 / hz / n : 0
		printf "%s; CPU ms per request: workers %.3f, PostgreSQL %.3f, nginx %.3f, " \
			"rest %.3f, idle %.3f\n", s, c["workers"] * ms, c["postgres"] * ms,
			c["nginx"] * ms, c["rest"] * ms, c["idle"] * ms }' "$tmp/$s.cpu" >&2
done
settle
rss_snapshot "$tmp/rss.after"
# rss,PID,BEFORE,AFTER over the workers of either snapshot
awk 'NR == FNR { b[$1] = $2; pids[$1] = 1; next } { a[$1] = $2; pids[$1] = 1 }
	END { for (p in pids) printf "rss,%s,%s,%s\n", p, (p in b ? b[p] : "-"),
		(p in a ? a[p] : "-") }' "$tmp/rss.before" "$tmp/rss.after" | sort -t, -k2n

hashes=$(sql -c "SELECT string_agg(username || '=' || left(password_hash, 7), ' '
	ORDER BY username) FROM agentauth.agents")
if [[ $hashes != "${st[HASHES]}" ]]; then
	log "WARNING: the agents' hashes changed during the run (re-hashed at login?):" \
		"${st[HASHES]}, now $hashes"
	bad=1
fi
pool_log_lines=$(wc -l <"${st[POOL_LOG]}")
nginx_errors=$(grep -c -E '\[(error|crit|alert|emerg)\]' "${st[NGINX_ERROR_LOG]}" || true)
log "pool log lines at warn or above: $pool_log_lines; nginx error log errors: $nginx_errors"
if [[ $bad -ne 0 ]]; then
	log "some scenario was BAD: an answer without the expected status, or socket errors"
fi
exit "$bad"
