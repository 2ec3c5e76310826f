# tap.sh - TAP helpers for the shell tests. Source it first:
#   . "$top_srcdir/tests/lib/tap.sh"
# Provides ok/not_ok/is/like/skip_all/done_testing, a per-test scratch
# directory $T removed on exit, and cleanup hooks run by the trap.

: "${top_srcdir:?run the tests through make check}"
: "${top_builddir:?run the tests through make check}"
: "${MTA_STS_SYNC:=$top_builddir/mta-sts-sync}"

_tap_n=0
_tap_failed=0
_tap_cleanups=""

T=$(mktemp -d "${TMPDIR:-/tmp}/mta-sts-test.XXXXXX") || exit 1

# tap_scratch: whether $T, the test's scratch directory, may be written
# in: it must be set, not empty, a directory and not /. Every function of
# tests/lib that writes under $T, or starts a server whose files live
# there, calls it first and returns 1 when it says no, so that one called
# with $T empty (the lib sourced outside a test, or T emptied) writes no
# named.conf, key or zone file to / but says so on standard error and
# fails. A check and not `set -u`: a caller may not use that.
tap_scratch() {
	local why
	if [ -z "${T:-}" ]; then
		why="\$T is unset or empty"
	elif [ ! -d "$T" ]; then
		why="\$T ($T) is not a directory"
	elif [ "$T" -ef / ]; then
		why="\$T is the root directory"
	else
		return 0
	fi
	# the chain names the function called, not only the one that checks
	echo "${FUNCNAME[1]:-tests/lib}: refused, as $why: it writes under \$T" \
		"(called from ${FUNCNAME[*]:2}); source tests/lib/tap.sh (with" \
		"top_srcdir and top_builddir set), which makes \$T a scratch" \
		"directory, before calling it" >&2
	return 1
}

# at_exit CMD: run CMD (a shell string) when the test ends, last first.
at_exit() {
	_tap_cleanups="$1
$_tap_cleanups"
}

_tap_exit() {
	local rc=$?
	set +e
	printf '%s\n' "$_tap_cleanups" | while IFS= read -r c; do
		[ -n "$c" ] && eval "$c" >/dev/null 2>&1
	done
	# the ports freeport reserved, once the servers on them are stopped
	[ -f "$T.ports" ] && xargs -d '\n' rmdir <"$T.ports" >/dev/null 2>&1
	rm -rf "$T" "$T.ports"
	exit $rc
}
trap _tap_exit EXIT
trap 'exit 130' INT TERM

ok() { # ok DESCRIPTION  (status of the previous command)
	local rc=$?
	_tap_n=$((_tap_n + 1))
	if [ $rc -eq 0 ]; then
		echo "ok $_tap_n - $1"
	else
		_tap_failed=$((_tap_failed + 1))
		echo "not ok $_tap_n - $1"
	fi
	return 0
}

pass() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $1"; }
fail() {
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_n - $1"
	shift
	for l in "$@"; do echo "#   $l"; done
}

# is GOT WANT DESCRIPTION
is() {
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		fail "$3" "got:  '$1'" "want: '$2'"
	fi
}

# like TEXT PATTERN DESCRIPTION  (grep -E pattern)
like() {
	if printf '%s\n' "$1" | grep -qE -- "$2"; then
		pass "$3"
	else
		fail "$3" "pattern '$2' not found in:" "$(printf '%s' "$1" | head -20)"
	fi
}

# unlike TEXT PATTERN DESCRIPTION
unlike() {
	if printf '%s\n' "$1" | grep -qE -- "$2"; then
		fail "$3" "pattern '$2' unexpectedly found in:" "$(printf '%s' "$1" | head -20)"
	else
		pass "$3"
	fi
}

skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n # SKIP $1"; }

skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}

bail_out() {
	echo "Bail out! $1"
	exit 1
}

done_testing() {
	echo "1..$_tap_n"
	[ "$_tap_n" -gt 0 ] || { echo "# no test was run"; exit 1; }
	[ "$_tap_failed" -eq 0 ] || exit 1
	exit 0
}

# freeport [N]: N free loopback ports, one per line, each reserved until
# the test ends. tests/tools/freeport binds a port and releases it, so two
# tests started together (-j4) could be handed the same one before either
# server has bound it; a directory per port (mkdir is atomic) keeps it
# from every other test that asks meanwhile. Works in $(...): the
# reservations are listed in $T.ports, which the exit trap removes.
freeport() {
	tap_scratch || return 1
	local n=${1:-1} p got=0 d
	for _ in $(seq 1 $((n * 50))); do
		p=$("$top_builddir/tests/tools/freeport") || return 1
		d=${TMPDIR:-/tmp}/mta-sts-port.$p
		mkdir "$d" 2>/dev/null || continue
		echo "$d" >>"$T.ports"
		echo "$p"
		got=$((got + 1))
		[ "$got" -lt "$n" ] || return 0
	done
	return 1
}

# hold_lock FILE: start a process that holds an flock(2) lock on FILE,
# as a writer holds its policy temporary, until it is killed (its pid in
# $holder) or the test ends. Returns 1 without flock(1) (util-linux).
hold_lock() {
	command -v flock >/dev/null || return 1
	(exec 9<>"$1" && flock -x 9 && exec sleep 300) &
	holder=$!
	at_exit "kill $holder"
	for _ in $(seq 100); do
		flock -n -s "$1" true || return 0
		sleep 0.05
	done
	return 1
}

# nolock_shim: build $T/nolock.so, to be preloaded (nolocks CMD...): its
# flock(2) fails with ENOLCK on a file whose path holds ".tmp-" (a policy
# temporary), as on a file system without locks (NFSv3 without lockd);
# other files (the configuration, which a run locks) keep real locks.
# Returns 1 without a C compiler.
nolock_shim() {
	tap_scratch || return 1
	cat >"$T/nolock.c" <<'EOF'
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int
flock(int fd, int op)
{
	char link[64], path[4096];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n > 0) {
		path[n] = '\0';
		if (strstr(path, ".tmp-") != NULL) {
			errno = ENOLCK;
			return -1;
		}
	}
	return (int)syscall(SYS_flock, fd, op);
}
EOF
	${CC:-cc} -shared -fPIC -o "$T/nolock.so" "$T/nolock.c" 2>/dev/null
}

# nolocks CMD...: run CMD with nolock_shim's library preloaded (ASan,
# which wants to be loaded first, told not to mind).
nolocks() {
	tap_scratch || return 1
	env LD_PRELOAD="$T/nolock.so" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		"$@"
}

# hardlinks_shim: build $T/hardlinks.so, to be preloaded (hardlinks N
# CMD...): its open(2) of /proc/sys/fs/protected_hardlinks reads
# $T/protected_hardlinks, so that a run sees fs.protected_hardlinks as a
# test chooses, whatever the host's. Returns 1 without a C compiler.
hardlinks_shim() {
	tap_scratch || return 1
	cat >"$T/hardlinks.c" <<'EOF'
#define _GNU_SOURCE /* O_TMPFILE */
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int
open(const char *path, int flags, ...)
{
	const char *fake = getenv("FAKE_PROTECTED_HARDLINKS");
	mode_t mode = 0;
	va_list ap;

	va_start(ap, flags);
	if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE)
		mode = (mode_t)va_arg(ap, int);
	va_end(ap);
	if (fake != NULL &&
	    strcmp(path, "/proc/sys/fs/protected_hardlinks") == 0)
		path = fake;
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}
EOF
	${CC:-cc} -shared -fPIC -o "$T/hardlinks.so" "$T/hardlinks.c" 2>/dev/null
}

# hardlinks N CMD...: run CMD with hardlinks_shim's library preloaded,
# fs.protected_hardlinks read as N (ASan told not to mind the order).
hardlinks() {
	tap_scratch || return 1
	printf '%s\n' "$1" >"$T/protected_hardlinks"
	env LD_PRELOAD="$T/hardlinks.so" \
		FAKE_PROTECTED_HARDLINKS="$T/protected_hardlinks" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		"${@:2}"
}

# as_nobody CMD...: run CMD as user nobody, group nogroup and no other
# group (setpriv, util-linux); "${NOBODY[@]}" CMD... does it without a
# function, so that CMD started with & is $! itself. nobody_ok: whether
# that can be done here (root, setpriv, and the program runs as nobody at
# all).
NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
as_nobody() { "${NOBODY[@]}" "$@"; }
nobody_ok() {
	[ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
		as_nobody "$MTA_STS_SYNC" --version >/dev/null 2>&1
}

# status_owner PID: the owner (uid) of /proc/PID/status once PID, started
# as another user than root ("${NOBODY[@]}" CMD), runs the program: past
# the wrappers that run as root (env) or whose own change of user makes
# the file root's (setpriv); then 0 as soon as the program has made itself
# non-dumpable (prctl PR_SET_DUMPABLE 0), which a slow start (sanitizers,
# valgrind, a loaded machine) may delay. Each wait lasts 5 to 6 s at most:
# then the last owner read, its user's for a program that never makes itself
# non-dumpable; empty if it never got past the wrappers or ended first
# (a zombie's files are root's too).
status_owner() {
	local owner="" past="" comm uid end=$((SECONDS + 5))
	while [ "$SECONDS" -le "$end" ]; do
		comm=$(cat "/proc/$1/comm" 2>/dev/null) || break
		uid=$(sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status" 2>/dev/null)
		[ "$comm" != setpriv ] && [ -n "$uid" ] && [ "$uid" != 0 ] && past=1 && break
		sleep 0.05
	done
	end=$((SECONDS + 5))
	while [ -n "$past" ] && [ "$SECONDS" -le "$end" ]; do
		owner=$(stat -c %u "/proc/$1/status" 2>/dev/null) || { owner=""; break; }
		grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null && { owner=""; break; }
		[ "$owner" = 0 ] && break
		sleep 0.05
	done
	echo "$owner"
}

# run_cmd VAR_OUT VAR_RC CMD...: run CMD capturing stdout+stderr and status.
run_cmd() {
	local _o _r
	_o=$("${@:3}" 2>&1)
	_r=$?
	eval "$1=\$_o"
	eval "$2=\$_r"
}

# closed_pipe [-2] CMD...: run CMD with standard output (with -2, standard
# error too) a pipe whose reader has gone, as a `| head` that has
# finished leaves it; print its exit status, 128+N if signal N killed it,
# as a shell shows it. Returns 2 without python3 (the caller skips).
closed_pipe() {
	command -v python3 >/dev/null || return 2
	python3 -c '
import os, subprocess, sys
both = sys.argv[1] == "-2"
argv = sys.argv[2:] if both else sys.argv[1:]
r, w = os.pipe()
os.close(r)
rc = subprocess.run(argv, stdout=w, stderr=w if both else None).returncode
print(128 - rc if rc < 0 else rc)' "$@"
}
