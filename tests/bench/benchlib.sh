# shellcheck shell=bash disable=SC2034  # st is read by the sourcing script
# Shared by the benchmark scripts (sourced, not run).  Expects ROOT, BUILD,
# BENCH_DIR, CORES, PYTHON and a die() function; sets tmp, helper_pid and st.
# Sourcing it sets the traps that stop wrk (wrk_pid) and the environment
# helper (helper_pid) and remove tmp on exit, Ctrl-C included.

tmp=
helper_pid=
wrk_pid=

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [[ -n $wrk_pid ]] && kill -0 "$wrk_pid" 2>/dev/null; then
		kill -TERM "$wrk_pid" 2>/dev/null || true
		wait "$wrk_pid" 2>/dev/null || true
	fi
	if [[ -n $helper_pid ]] && kill -0 "$helper_pid" 2>/dev/null; then
		kill -TERM "$helper_pid" 2>/dev/null || true
		wait "$helper_pid" 2>/dev/null || true
	fi
	if [[ -n $tmp && -f $tmp/env.log ]] && grep -q '^# teardown' "$tmp/env.log"; then
		grep '^# teardown' "$tmp/env.log" >&2
	fi
	[[ -n $tmp ]] && rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# bench_build: builds BUILD if it has no binary (autoreconf only when
# configure is missing or older than its sources: the generated files in the
# source tree are shared with other build directories), and warns when an
# existing binary is older than the sources.
bench_build() {
	local newer
	if [[ ! -x $BUILD/src/agentauth ]]; then
		echo "building $BUILD (log: $BUILD/build.log)"
		mkdir -p "$BUILD"
		{
			if [[ ! -x $ROOT/configure || $ROOT/configure.ac -nt $ROOT/configure ||
				$ROOT/Makefile.am -nt $ROOT/Makefile.in ]]; then
				(cd "$ROOT" && autoreconf -fi)
			fi &&
				(cd "$BUILD" && "$ROOT/configure" && make -j"$CORES")
		} >"$BUILD/build.log" 2>&1 || {
			tail -n 30 "$BUILD/build.log" >&2
			die "the build failed"
		}
	fi
	newer=$(find "$ROOT/src" "$ROOT/sql/install.sql" -newer "$BUILD/src/agentauth" \
		\( -name '*.[ch]' -o -name install.sql \) | head -n 3)
	if [[ -n $newer ]]; then
		echo "WARNING: $BUILD/src/agentauth is older than ${newer//$'\n'/, } (and maybe more):" \
			"run make -C $BUILD for figures of the current code" >&2
	fi
}

# bench_env HELPER.py: starts the helper that keeps the cluster, pool and
# nginx up until it gets SIGTERM (from the caller's cleanup) or the caller
# goes away; in the background, so that Ctrl-C reaches only the caller,
# whose trap stops it.  Reads its state file into the array st.
bench_env() {
	local key value
	tmp=$(mktemp -d /tmp/agentauth-bench-sh.XXXXXX)
	"$PYTHON" "$BENCH_DIR/$1" "$BUILD" "$tmp/state" >"$tmp/env.log" 2>&1 &
	helper_pid=$!
	for _ in $(seq 1 1200); do
		[[ -f $tmp/state ]] && break
		kill -0 "$helper_pid" 2>/dev/null || break
		sleep 0.1
	done
	if [[ ! -f $tmp/state ]]; then
		cat "$tmp/env.log" >&2
		die "the environment did not come up"
	fi
	declare -gA st=()
	while IFS='=' read -r key value; do
		st[$key]=$value
	done <"$tmp/state"
}

# bench_cpu_init: after bench_env, sets CLK_TCK and the pids cpu_snapshot
# needs.  cpu_snapshot FILE writes "COMPONENT PID TICKS" lines (utime + stime
# from /proc/PID/stat) for the pool's workers, PostgreSQL and nginx, and
# "machine busy|idle|steal TICKS" from /proc/stat (all CPUs together);
# cpu_diff BEFORE AFTER ("COMPONENT TICKS" used in between; a process that
# started in between counts from 0; "rest" is the machine's busy time that
# none of the three used: wrk, the script, other tenants).
bench_cpu_init() {
	CLK_TCK=$(getconf CLK_TCK)
	POSTMASTER_PID=$(head -n 1 "${st[WORKDIR]}/pg/postmaster.pid")
	NGINX_PID=$(cat "${st[WORKDIR]}/nginx/nginx.pid")
}

pids_of() {
	case $1 in
	workers) pgrep -P "${st[POOL_PID]}" || true ;;
	postgres) echo "$POSTMASTER_PID" && { pgrep -P "$POSTMASTER_PID" || true; } ;;
	nginx) echo "$NGINX_PID" && { pgrep -P "$NGINX_PID" || true; } ;;
	esac
}

cpu_snapshot() {
	local comp pid stat
	local -a f
	{
		for comp in workers postgres nginx; do
			while read -r pid; do
				stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
				read -r -a f <<<"${stat##*) }"
				echo "$comp $pid $((f[11] + f[12]))"
			done < <(pids_of "$comp")
		done
		awk '$1 == "cpu" { print "machine busy", $2 + $3 + $4 + $7 + $8
			print "machine idle", $5 + $6; print "machine steal", $9 }' /proc/stat
	} >"$1"
}

cpu_diff() {
	awk 'NR == FNR { a[$1 " " $2] = $3; next }
		{ k = $1 " " $2; d = $3 - (k in a ? a[k] : 0)
		  sum[$1 == "machine" ? $2 : $1] += d }
		END { sum["rest"] = sum["busy"] - sum["workers"] - sum["postgres"] - sum["nginx"]
		      for (k in sum) print k, sum[k] }' "$1" "$2"
}

# bench_bcrypt_ms N COST: one bcrypt hash of cost COST through libxcrypt (as
# the service computes it; Python's crypt module), the medians of N hashes in
# ms: "WALL CPU".  The CPU time is the one to divide by: other tenants that
# preempt the measurement inflate the wall time, hardly the CPU time.
bench_bcrypt_ms() {
	"$PYTHON" -W ignore - "$1" "$2" <<'PY'
import crypt, statistics, sys, time
n, cost = int(sys.argv[1]), int(sys.argv[2])
salt = crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << cost)
assert salt.startswith("$2b$%02d$" % cost), salt
crypt.crypt("warm-up", salt)
wall, cpu = [], []
for i in range(n):
    w, c = time.perf_counter(), time.process_time()
    crypt.crypt("bench-pass-%d" % i, salt)
    cpu.append(time.process_time() - c)
    wall.append(time.perf_counter() - w)
print("%.2f %.2f" % (statistics.median(wall) * 1000, statistics.median(cpu) * 1000))
PY
}
