#!/bin/bash
# test.sh - the whole test suite from a fresh clone: installs missing Debian
# packages, bootstraps autotools, then builds and runs every test twice
# (a plain build, and one under AddressSanitizer + UBSan), replays the fuzz
# corpus and, when clang's libFuzzer is there, fuzzes each parser briefly;
# finally `make distcheck` checks the release tarball.
# Ends with one line: "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.." || exit 2
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

scripts/deps.sh || exit 2
autoreconf -fi >/dev/null 2>&1 || { autoreconf -fi; exit 2; }

passed=0
failed=0
skipped=0
broken=0

# count LOG: add a test-suite.log's totals to the counters.
count() {
	local p f e s
	p=$(sed -n 's/^# PASS: *//p' "$1" | head -1)
	f=$(sed -n 's/^# FAIL: *//p' "$1" | head -1)
	e=$(sed -n 's/^# ERROR: *//p' "$1" | head -1)
	s=$(sed -n 's/^# SKIP: *//p' "$1" | head -1)
	x=$(sed -n 's/^# XPASS: *//p' "$1" | head -1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0} + ${e:-0} + ${x:-0}))
	skipped=$((skipped + ${s:-0}))
}

# suite NAME CONFIGURE-ARGS... : configure and build in build/NAME, run make check.
suite() {
	local name=$1 dir="$top/build/$1"
	shift
	echo "=== $name: configure $*"
	mkdir -p "$dir"
	( cd "$dir" && "$top/configure" -q "$@" >configure.out 2>&1 ) ||
		{ cat "$dir/configure.out"; echo "=== $name: configure failed"; broken=1; return; }
	( cd "$dir" && make -s -j"$jobs" >make.out 2>&1 && make -s -j"$jobs" check TESTS= >>make.out 2>&1 ) ||
		{ tail -50 "$dir/make.out"; echo "=== $name: build failed"; broken=1; return; }
	( cd "$dir" && make -s -j"$jobs" check $SUITE_MAKE_ARGS ) >"$dir/check.out" 2>&1
	grep -E '^(PASS|FAIL|ERROR|SKIP|XPASS|XFAIL):' "$dir/check.out" | grep -v '^PASS' || true
	if [ -f "$dir/test-suite.log" ]; then
		count "$dir/test-suite.log"
		grep -q '^# \(FAIL\|ERROR\): *[1-9]' "$dir/test-suite.log" && cat "$dir/test-suite.log"
	else
		cat "$dir/check.out"; echo "=== $name: no test ran"; broken=1
	fi
}

SUITE_MAKE_ARGS=""
suite plain
suite asan --enable-asan --enable-ubsan
if command -v clang >/dev/null 2>&1; then
	SUITE_MAKE_ARGS="TESTS=tests/fuzz.test"
	suite fuzz --enable-fuzz CC=clang
fi

# The release tarball must build and pass its tests on its own.
echo "=== distcheck"
if [ -f "$top/build/plain/Makefile" ]; then
	( cd "$top/build/plain" && make -s -j"$jobs" distcheck ) >"$top/build/distcheck.out" 2>&1 ||
		{ tail -40 "$top/build/distcheck.out"; echo "=== distcheck failed"; broken=1; }
fi

if [ $broken -ne 0 ]; then
	failed=$((failed + 1))
	echo "a build step failed (counted as one failure)"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
