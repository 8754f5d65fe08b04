#!/usr/bin/env bash
# Builds the libFuzzer targets tests/fuzz/fuzz_*.c with clang (ASan+UBSan)
# against src/*.c (not main.c), replays every saved input, then fuzzes each
# target for SECONDS (default 60).  A crash found now is copied into
# tests/fuzz/regressions/NAME/ (commit it) and printed.
#
#   tests/fuzz/run.sh [SECONDS] [NAME...]     e.g. tests/fuzz/run.sh 3600 verify
#
# Installs its packages when run as root (Debian 12).  Needs no ./configure:
# it compiles into build/fuzz/ itself.  Prints "ok - fuzz NAME (N runs in S s)"
# or "not ok - fuzz NAME: reason" per target and ends with "N passed, M failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
FUZZ=$ROOT/tests/fuzz
OUT=$ROOT/build/fuzz
CC_FUZZ=${CC_FUZZ:-clang}

secs=${1:-60}
[ $# -gt 0 ] && shift
case $secs in
''|*[!0-9]*) echo "usage: tests/fuzz/run.sh [SECONDS] [NAME...]" >&2; exit 2 ;;
esac
if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for f in "$FUZZ"/fuzz_*.c; do
		f=${f##*/fuzz_}
		targets+=("${f%.c}")
	done
fi

# -fsanitize=fuzzer (libclang_rt.fuzzer) and the ASan/UBSan runtimes are in
# libclang-rt-14-dev, which clang only recommends; libfuzzer-14-dev holds
# just a standalone libFuzzer.a that -fsanitize=fuzzer does not use.
PACKAGES="clang libclang-rt-14-dev pkg-config libjson-c-dev libpq-dev libssl-dev
 libfcgi-dev libcrypt-dev"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok - fuzz $1"; }
fail() { failed=$((failed + 1)); echo "not ok - fuzz $1"; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }
indent() { sed 's/^/# /'; }

install_packages() {
	local missing=() p
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "tests/fuzz/run.sh: missing packages (run as root to install): ${missing[*]}" >&2
		return 1
	fi
	echo "installing: ${missing[*]}"
	apt-get update -q >/dev/null &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			"${missing[@]}" >/dev/null
}

if ! install_packages; then
	for t in "${targets[@]}"; do fail "$t: the packages are missing"; done
	finish
fi

# the flags and libraries pkg-config gives (libfcgi and libxcrypt may come
# without a .pc file)
PKGS="json-c libpq libcrypto"
# shellcheck disable=SC2086 # word splitting wanted: a list of packages, of flags
if ! cflags=$(pkg-config --cflags $PKGS) || ! libs=$(pkg-config --libs $PKGS); then
	for t in "${targets[@]}"; do fail "$t: pkg-config cannot find $PKGS"; done
	finish
fi
if pkg-config --exists fcgi; then
	cflags="$cflags $(pkg-config --cflags fcgi)"
	libs="$libs $(pkg-config --libs fcgi)"
else
	libs="$libs -lfcgi"
fi
if pkg-config --exists libxcrypt; then
	cflags="$cflags $(pkg-config --cflags libxcrypt)"
	libs="$libs $(pkg-config --libs libxcrypt)"
else
	libs="$libs -lcrypt"
fi

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
BASE="-std=c11 -D_GNU_SOURCE -g -O1 -I$ROOT/src -I$FUZZ $cflags"
WARN="-Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla"
export CC_FUZZ BASE SAN WARN OUT

# The library: src/*.c but main.c, instrumented for coverage, once.  Its
# warnings are the main build's business (tests/run.sh has -Werror).
rm -rf "${OUT:?}/obj" "${OUT:?}/bin" "${OUT:?}/work"
mkdir -p "$OUT/obj" "$OUT/bin" "$OUT/work"
lib=()
for f in "$ROOT"/src/*.c; do
	[ "${f##*/}" = main.c ] || lib+=("$f")
done
# shellcheck disable=SC2016 # expanded by the inner sh
printf '%s\n' "${lib[@]}" | xargs -P "$(nproc)" -I{} sh -c \
	'f={}; n=${f##*/}; $CC_FUZZ $BASE $SAN -fsanitize=fuzzer-no-link $WARN -c "$f" \
	    -o "$OUT/obj/${n%.c}.o" 2>"$OUT/obj/${n%.c}.err" || exit 255' ||
	{
		cat "$OUT"/obj/*.err | indent
		for t in "${targets[@]}"; do fail "$t: src/ does not compile with $CC_FUZZ"; done
		finish
	}

# dump FILE: what a crashing input holds, readable
dump() {
	echo "# input $1 ($(wc -c <"$1") bytes):"
	od -A x -t x1z -v "$1" | head -n 32 | indent
}

for t in "${targets[@]}"; do
	src=$FUZZ/fuzz_$t.c bin=$OUT/bin/fuzz_$t work=$OUT/work/$t
	if [ ! -f "$src" ]; then
		fail "$t: no tests/fuzz/fuzz_$t.c"
		continue
	fi
	mkdir -p "$work/corpus" "$work/artifacts" "$work/replay" "$FUZZ/regressions/$t"
	# shellcheck disable=SC2086 # word splitting wanted: lists of flags
	if ! $CC_FUZZ $BASE $SAN -fsanitize=fuzzer $WARN -Werror "$src" "$OUT"/obj/*.o $libs \
	    -o "$bin" >"$work/build.log" 2>&1; then
		indent <"$work/build.log"
		fail "$t: does not build"
		continue
	fi
	opts=(-rss_limit_mb=512 -timeout=5)
	case $t in
	jsonapi) opts+=(-max_len=16384) ;;       # max_body_bytes' default
	verify | config) opts+=(-max_len=9000) ;; # past TOKEN_MAX_BYTES, a 4096-byte line
	clientip) opts+=(-max_len=12000) ;;       # past REQUEST_FORWARDED_BYTES
	esac
	[ -f "$FUZZ/dict/$t.dict" ] && opts+=("-dict=$FUZZ/dict/$t.dict")

	# 1. every saved input, once: a crash here is a regression
	saved=()
	for f in "$FUZZ/regressions/$t"/* "$FUZZ/corpus/$t"/*; do
		[ -f "$f" ] || continue
		case ${f##*/} in .gitkeep | README*) continue ;; esac
		saved+=("$f")
	done
	if [ ${#saved[@]} -gt 0 ] && ! "$bin" "${opts[@]}" -artifact_prefix="$work/replay/" \
	    "${saved[@]}" >"$work/replay.log" 2>&1; then
		bad=$(grep -E '^Running: ' "$work/replay.log" | tail -n 1 | sed 's/^Running: //')
		grep -vE '^(Running|Executed) ' "$work/replay.log" | tail -n 40 | indent
		[ -n "$bad" ] && dump "$bad"
		fail "$t: crash replaying ${bad#"$ROOT"/}"
		continue
	fi

	# 2. fuzzing, on a scratch copy of the corpus (new inputs land there)
	[ ${#saved[@]} -gt 0 ] && cp "${saved[@]}" "$work/corpus/"
	start=$(date +%s)
	"$bin" "${opts[@]}" -max_total_time="$secs" -print_final_stats=1 \
	    -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/fuzz.log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -n 1)
	if [ $rc -eq 0 ]; then
		pass "$t (${runs:-?} runs in $took s)"
		continue
	fi
	grep -vE '^#[0-9]+' "$work/fuzz.log" | tail -n 60 | indent
	found=()
	for a in "$work/artifacts"/*; do
		[ -f "$a" ] || continue
		dest=$FUZZ/regressions/$t/${a##*/}
		cp "$a" "$dest"
		found+=("${dest#"$ROOT"/}")
		dump "$a"
	done
	if [ ${#found[@]} -gt 0 ]; then
		fail "$t: crash after ${runs:-?} runs, input saved as ${found[*]}"
	else
		fail "$t: the fuzzer exited with status $rc"
	fi
done
finish
