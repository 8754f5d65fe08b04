# shellcheck shell=bash disable=SC2034  # st is read by the sourcing script
# Shared by the benchmark scripts (sourced, not run).  Expects ROOT, BUILD,
# BENCH_DIR, CORES, PYTHON and a die() function; sets tmp, helper_pid and st.

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
