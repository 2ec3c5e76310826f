#!/bin/bash
# test.sh - the whole test suite from a fresh clone: installs missing Debian
# packages, bootstraps autotools, then builds and runs every test three
# times: in a plain build of the release tarball (`make distcheck`: the
# tarball holds every file git tracks, which git must be able to list:
# run it as the checkout's owner; builds and passes its tests on its own,
# installs and uninstalls cleanly), under AddressSanitizer + UBSan
# and under ThreadSanitizer; runs the tests that reach the OpenSSL 1.1.1
# code in a build that uses it, replays the fuzz corpus and, when clang's
# libFuzzer is there, fuzzes each parser briefly; runs the unit tests and
# two end-to-end tests under valgrind, each of which passes only if it
# exits with status 0 and its TAP output is whole: a plan whose count
# matches its results, no "Bail out!" (scripts/test-lib.sh, checked by
# tests/ci.test). Compiler warnings are errors in every build (configure
# --enable-werror; distcheck's own).
# Ends with one line: "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.." || exit 2
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)
# Tests run twice as many at a time as there are processors: they mostly
# wait (for the timeouts they provoke, for servers), so that at one a
# processor most of the time goes idle. Measured on 2 processors: the
# plain suite's tests used 89 s of CPU in 183 s at -j2 (24% of the
# processors), and took 111 s at -j4; the TSan suite's took 213 s at -j2
# and 137 s at -j4, where they used 51% of the processors.
test_jobs=$((jobs * 2))

scripts/deps.sh || exit 2
autoreconf -fi >/dev/null 2>&1 || { autoreconf -fi; exit 2; }

passed=0
failed=0
skipped=0
broken=0

# count OUT (a make check summary) and tap_count FILE (one test's TAP
# output, which fails when the test stopped part-way): scripts/test-lib.sh
. "$top/scripts/test-lib.sh" || exit 2

# took NAME START: say how long step NAME took since START ($SECONDS).
took() {
	echo "=== $1: $((SECONDS - $2)) s"
}

# build NAME CONFIGURE-ARGS... : configure and build in build/NAME, the
# test programs too. Warnings are errors in every build here
# (--enable-werror). Returns 1 if it failed (said, and counted).
build() {
	local name=$1 dir="$top/build/$1"
	shift
	set -- --enable-werror "$@"
	echo "=== $name: configure $*"
	mkdir -p "$dir"
	( cd "$dir" && "$top/configure" -q "$@" >configure.out 2>&1 ) ||
		{ cat "$dir/configure.out"; echo "=== $name: configure failed"; broken=1; return 1; }
	( cd "$dir" && make -s -j"$jobs" >make.out 2>&1 && make -s -j"$jobs" check TESTS= >>make.out 2>&1 ) ||
		{ tail -50 "$dir/make.out"; echo "=== $name: build failed"; broken=1; return 1; }
}

# run_tests NAME [TARGET]: run make check in build/NAME (only SUITE_TESTS,
# when set), or TARGET: the plain suite's distcheck, whose make check runs
# in a build of the release tarball (its test-suite.log is there, under
# NAME-VERSION/_build/sub/). A suite whose summary counts no test fails.
run_tests() {
	local name=$1 dir="$top/build/$1" target=${2:-check} rc log
	# shellcheck disable=SC2086
	( cd "$dir" && make -s -j"$test_jobs" "$target" ${SUITE_TESTS:+TESTS="$SUITE_TESTS"} ) >"$dir/check.out" 2>&1
	rc=$?
	grep -E '^(PASS|FAIL|ERROR|SKIP|XPASS|XFAIL):' "$dir/check.out" | grep -v '^PASS' || true
	if ! grep -q '^# TOTAL: *[1-9]' "$dir/check.out"; then
		tail -n 50 "$dir/check.out"; echo "=== $name: make $target ran no test"; broken=1; return
	fi
	count "$dir/check.out"
	if grep -q '^# \(FAIL\|ERROR\|XPASS\): *[1-9]' "$dir/check.out"; then
		log=$dir/test-suite.log
		[ "$target" = check ] || log=$(echo "$dir"/mta-sts-sync-*/_build/sub/test-suite.log)
		cat "$log"
	elif [ $rc -ne 0 ]; then
		tail -n 40 "$dir/check.out"; echo "=== $name: make $target failed"; broken=1
	fi
}

# suite NAME CONFIGURE-ARGS... : build in build/NAME and run make check.
suite() {
	local start=$SECONDS
	build "$@" && run_tests "$1"
	took "$1" "$start"
}

# clang_warnings: every C file through clang's warnings, as the fuzz build
# (the last suite) compiles them, right after the plain build: what only
# clang rejects (split string literals in an array, -Wstring-concatenation)
# then fails CI in its first minutes instead of its last.
clang_warnings() {
	local f bad=0 flags
	command -v clang >/dev/null 2>&1 || return 0
	[ -f "$top/build/plain/config.h" ] || return 0
	echo "=== clang warnings"
	flags=$(pkg-config --cflags ldns libcurl openssl 2>/dev/null)
	for f in "$top"/src/*.c "$top"/tests/unit/*.c "$top"/tests/tools/*.c "$top"/tests/fuzz/*.c; do
		# shellcheck disable=SC2086
		clang -fsyntax-only -Wall -Wextra -Werror -Wshadow -Wformat=2 \
			-Wno-unused-parameter -Wstring-concatenation -pthread \
			-I"$top/build/plain" -I"$top/src" -I"$top/tests/unit" \
			-DSYSCONFDIR='"/etc"' $flags "$f" || bad=1
	done
	[ $bad -eq 0 ] || { echo "=== clang warnings: see above"; broken=1; }
}

# The plain build: build/plain is built for the clang warnings (right
# after it) and valgrind below, and its `make distcheck` runs the whole
# suite in a plain build of the release tarball (configured, as here,
# with --enable-werror), which must also hold every file git tracks
# (Makefile.am, distcheck-hook), install and uninstall cleanly and leave
# nothing that make distclean does not remove. The tests run once for the
# code and for the tarball: build/plain's own make check would run the
# same tests in the same configuration a second time (3 minutes).
SUITE_TESTS=""
start=$SECONDS
if build plain; then
	clang_warnings
	run_tests plain distcheck
fi
took plain "$start"
suite asan --enable-asan --enable-ubsan
# the code for OpenSSL 1.1.1 (TSIG's HMAC, the peer's certificate), built
# on this OpenSSL 3 and run by the tests that reach it; what tells it from
# the OpenSSL 3 code is HMAC_Init_ex and SSL_get_peer_certificate (which
# these headers name SSL_get1_peer_certificate). The trust store is read
# the same way by both since it is read from the ca-file's descriptor.
SUITE_TESTS="tests/unit/tsig-test tests/fetch.test tests/check.test tests/dns-bind.test tests/sync.test"
suite openssl-1.1-api --enable-openssl-1.1-api
for f in HMAC_Init_ex SSL_get1_peer_certificate; do
	nm -u "$top/build/openssl-1.1-api/mta-sts-sync" 2>/dev/null | grep -q "$f" ||
		{ echo "=== openssl-1.1-api: the program does not call $f: not the OpenSSL 1.1.1 code"; broken=1; }
done
SUITE_TESTS=""
# the workers, the HTTPS threads and what they share, under ThreadSanitizer
# (which cannot run on a kernel that randomises more address bits than it
# knows: then the suite says so and counts as skipped)
tsan_works() {
	local d rc
	d=$(mktemp -d) || return 1
	printf 'int main(void) { return 0; }\n' >"$d/t.c"
	cc -fsanitize=thread "$d/t.c" -o "$d/t" >/dev/null 2>&1 && "$d/t" >/dev/null 2>&1
	rc=$?
	rm -rf "$d"
	return $rc
}
if tsan_works; then
	suite tsan --enable-tsan
else
	echo "=== tsan: ThreadSanitizer cannot run on this machine, skipped"
	skipped=$((skipped + 1))
fi
if command -v clang >/dev/null 2>&1; then
	SUITE_TESTS="tests/fuzz.test"
	suite fuzz --enable-fuzz CC=clang
fi

# valgrind memcheck over the unit tests and two end-to-end tests (the
# program itself under valgrind), in the plain build. A publish-command's
# supervisor is a fork of the run that never execs: at its _exit the
# memory of the run's other threads (which the fork does not have) would
# look lost, so forked children are not reported on
# (--child-silent-after-fork); the run itself is. Only definite leaks are
# reported, as only they are errors: a command that ends at once with
# _exit (check or lint whose output reader went away) leaves its other
# threads' stacks "possibly lost".
valgrind_suite() {
	local dir="$top/build/plain" t rc logs="$top/build/valgrind"
	local -A pid
	command -v valgrind >/dev/null 2>&1 || { echo "=== valgrind: not installed, skipped"; return; }
	[ -x "$dir/mta-sts-sync" ] || return
	echo "=== valgrind"
	rm -rf "$logs" && mkdir -p "$logs"
	cat >"$logs/mta-sts-sync" <<EOW
#!/bin/sh
exec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --child-silent-after-fork=yes --log-file="$logs/vg.%p.log" "$dir/mta-sts-sync" "\$@"
EOW
	chmod +x "$logs/mta-sts-sync"
	export top_srcdir="$top" top_builddir="$dir"
	# the end-to-end tests side by side, the unit tests beside them:
	# valgrind runs a program's threads one at a time, so each test keeps
	# about one core busy (check.test, the longest, two: it runs its text
	# and JSON checks side by side); each one's exit status is waited for
	for t in sync check; do
		MTA_STS_SYNC="$logs/mta-sts-sync" bash "$top/tests/$t.test" >"$logs/$t.tap" 2>&1 &
		pid[$t]=$!
	done
	for t in "$dir"/tests/unit/*-test; do
		valgrind -q --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite "$t" >"$logs/$(basename "$t").tap" 2>&1
		rc=$?
		tap_count "$logs/$(basename "$t").tap" && [ $rc -eq 0 ] ||
			{ echo "valgrind: $(basename "$t") failed (status $rc)"; grep -v '^ok' "$logs/$(basename "$t").tap" | head -20; broken=1; }
	done
	for t in sync check; do
		wait "${pid[$t]}"
		rc=$?
		tap_count "$logs/$t.tap" && [ $rc -eq 0 ] ||
			{ echo "valgrind: tests/$t.test failed (status $rc)"; grep -E '^(not ok|Bail out!)' -A3 "$logs/$t.tap" | head -20; broken=1; }
	done
	if cat "$logs"/vg.*.log 2>/dev/null | grep -q .; then
		echo "valgrind reported errors:"; cat "$logs"/vg.*.log | head -40; broken=1
	fi
	unset top_srcdir top_builddir
}
start=$SECONDS
valgrind_suite
took valgrind "$start"
took all 0

if [ $broken -ne 0 ]; then
	failed=$((failed + 1))
	echo "a build step failed (counted as one failure)"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
