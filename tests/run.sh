#!/usr/bin/env bash
# Installs what the tests need (Debian 12, as root), builds agentauth twice
# (gcc with ASan+UBSan, clang) with warnings as errors, and runs every test:
# the Check unit tests and the integration tests (real nginx, real
# PostgreSQL, the sanitizer build).  Ends with "N passed, M failed, K skipped"
# (a skip is counted apart, never as a pass; with every package installed,
# nothing should be skipped).
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
PACKAGES="build-essential autoconf automake pkg-config clang libfcgi-dev libjson-c-dev
 libjwt-dev libcrypt-dev libssl-dev libpq-dev check postgresql postgresql-contrib
 nginx-light python3 python3-jwt python3-cryptography openssl curl procps util-linux passwd
 apache2 libapache2-mod-fcgid spawn-fcgi systemd pgbouncer nodejs node-jose"

passed=0
failed=0
skipped=0
pass() { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "not ok - $1"; }

install_packages() {
	local missing=() p
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "tests/run.sh: missing packages (run as root to install): ${missing[*]}" >&2
		return 1
	fi
	echo "installing: ${missing[*]}"
	# the tests start their own servers on loopback: keep the packages'
	# own services (apache2, nginx, postgresql on port 80/5432) from starting
	local policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		policy=/usr/sbin/policy-rc.d
	fi
	apt-get update -q >/dev/null &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			"${missing[@]}" >/dev/null
	local rc=$?
	[ -n "$policy" ] && rm -f "$policy"
	return $rc
}

# build DIR CC CONFIGURE-ARGS...: configure and make in DIR
build() {
	local dir=$1 cc=$2
	shift 2
	mkdir -p "$dir" &&
		(cd "$dir" && CC=$cc "$ROOT/configure" -q --enable-werror "$@" >/dev/null &&
			make -j"$(nproc)" -s all tests/unit/check_agentauth tests/unit/oom_issue \
				>/dev/null)
}

# unit DIR: runs the Check binary and counts its checks
unit() {
	local out summary checks failures errors
	out=$("$1/tests/unit/check_agentauth" 2>&1)
	echo "$out" | grep -vE '^[0-9]+%: Checks' | sed 's/^/# /'
	summary=$(echo "$out" | grep -E '^[0-9]+%: Checks: ' | tail -n 1)
	if [ -z "$summary" ]; then
		fail "unit tests ($1) ran to completion"
		return
	fi
	checks=$(echo "$summary" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
	failures=$(echo "$summary" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
	errors=$(echo "$summary" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
	echo "unit tests ($1): $summary"
	passed=$((passed + checks - failures - errors))
	failed=$((failed + failures + errors))
	# allocation-failure injection: its own program (it replaces malloc), TAP
	local line rc n=0 bad=0
	out=$("$1/tests/unit/oom_issue" 2>&1)
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*"# SKIP"*) echo "ok - oom_issue ($1): ${line#ok * - }"; n=$((n + 1))
			skipped=$((skipped + 1)) ;;
		"ok "*) pass "oom_issue ($1): ${line#ok * - }"; n=$((n + 1)) ;;
		"not ok "*) fail "oom_issue ($1): ${line#not ok * - }"; n=$((n + 1)); bad=1 ;;
		*) echo "# $line" ;;
		esac
	done <<<"$out"
	if [ "$(echo "$out" | grep -m 1 -E '^1\.\.')" != "1..$n" ] || { [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; }; then
		fail "oom_issue ($1) ran to completion"
	fi
}

if ! install_packages; then
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi

if autoreconf -fi >/dev/null 2>&1; then pass "autoreconf"; else fail "autoreconf"; fi

if build build/asan gcc --enable-sanitizers; then
	pass "gcc build with ASan+UBSan, -Werror"
	ASAN_OPTIONS=detect_leaks=1 unit build/asan
else
	fail "gcc build with ASan+UBSan, -Werror"
fi

if build build/clang clang; then
	pass "clang build, -Werror"
	unit build/clang
else
	fail "clang build, -Werror"
fi

# make install puts every file in its place
dest=$(mktemp -d)
if make -C build/clang -s install DESTDIR="$dest" >/dev/null 2>&1 &&
	for f in usr/local/sbin/agentauth usr/local/share/man/man8/agentauth.8 \
		usr/local/share/agentauth/sql/install.sql \
		usr/local/share/agentauth/sql/install/service.sql \
		usr/local/share/agentauth/sql/import/spryker-agents.sql \
		usr/local/etc/agentauth/agentauth.conf.sample \
		usr/local/etc/apache2/conf-available/agentauth.conf \
		usr/local/etc/nginx/snippets/agentauth.conf usr/local/etc/default/agentauth \
		usr/local/lib/systemd/system/agentauth.socket \
		usr/local/lib/systemd/system/agentauth.service \
		usr/local/lib/systemd/system/agentauth-pool.service \
		usr/local/share/doc/agentauth/api.md; do
		[ -s "$dest/$f" ] || { echo "# make install: missing $f"; false; } || exit 1
	done; then
	pass "make install"
else
	fail "make install"
fi
rm -rf "$dest"

# libfcgi's own printf cannot format %zu/%jd/%td (doc/STYLE.md "Output and
# logging")
if grep -rnE 'FCGX_FPrintF|FCGX_VFPrintF' src; then
	fail "no FCGX_FPrintF in src/"
else
	pass "no FCGX_FPrintF in src/"
fi

if [ -x build/asan/src/agentauth ]; then
	out=$(mktemp)
	# node-jose installs the jose library under /usr/share/nodejs: the
	# tokens of each key kind are verified by it too (test_tokens.py)
	JOSE_NODE_PATH=/usr/share/nodejs /usr/bin/python3 tests/integration/run.py build/asan 2>&1 |
		tee "$out"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$out" | tail -n 1)
	rm -f "$out"
	if [ -n "$line" ]; then
		passed=$((passed + ${line%% passed*}))
		f=${line#*, }
		failed=$((failed + ${f%% failed*}))
		s=$(echo "$line" | sed -nE 's/^[0-9]+ passed, [0-9]+ failed, ([0-9]+) skipped.*/\1/p')
		skipped=$((skipped + ${s:-0}))
	else
		fail "integration tests ran to completion"
	fi
else
	fail "integration tests (no sanitizer build)"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
