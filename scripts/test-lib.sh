# shellcheck shell=bash
# test-lib.sh - the counting of scripts/test.sh, sourced by it and by
# tests/ci.test (which feeds it crafted input). Both functions add to the
# counters passed, failed and skipped, which the caller sets.

# count OUT: add the totals of the test-suite summary that make check
# printed in OUT to the counters.
count() {
	local p f e s x
	p=$(sed -n 's/^# PASS: *//p' "$1" | head -1)
	f=$(sed -n 's/^# FAIL: *//p' "$1" | head -1)
	e=$(sed -n 's/^# ERROR: *//p' "$1" | head -1)
	s=$(sed -n 's/^# SKIP: *//p' "$1" | head -1)
	x=$(sed -n 's/^# XPASS: *//p' "$1" | head -1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0} + ${e:-0} + ${x:-0}))
	skipped=$((skipped + ${s:-0}))
}

# tap_count FILE: add the TAP results in FILE (a test's whole output) to
# the counters; returns 1, and says why, if it holds a failure, no
# result, a "Bail out!", or not exactly one plan ("1..N") whose N is the
# number of results: a test that stopped part-way (killed, bailed out,
# exited) must not pass on the checks it ran, as automake's tap-driver
# reports it for make check. Such an incomplete stream counts as one
# failure more (tap-driver's ERROR).
tap_count() {
	local p f s plans n
	if grep -q '^1\.\.0 # SKIP' "$1" && ! grep -qE '^(not )?ok ' "$1"; then
		skipped=$((skipped + 1))
		return 0
	fi
	p=$(grep -cE '^ok [0-9]+' "$1")
	s=$(grep -cE '^ok [0-9]+.*# SKIP' "$1")
	f=$(grep -cE '^not ok [0-9]+' "$1")
	passed=$((passed + p - s))
	skipped=$((skipped + s))
	failed=$((failed + f))
	plans=$(grep -cE '^1\.\.[0-9]+ *($|#)' "$1")
	n=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$1" | head -1)
	if grep -q '^Bail out!' "$1"; then
		echo "$1: $(grep -m1 '^Bail out!' "$1")"
	elif [ "$plans" -eq 0 ]; then
		echo "$1: no plan (1..N line): the test stopped part-way"
	elif [ "$plans" -gt 1 ]; then
		echo "$1: $plans plans (1..N lines) instead of one"
	elif [ "$n" -ne $((p + f)) ]; then
		echo "$1: planned $n results, has $((p + f)): the test stopped part-way"
	else
		[ "$f" -eq 0 ] && [ "$p" -gt 0 ]
		return
	fi
	failed=$((failed + 1))
	return 1
}
