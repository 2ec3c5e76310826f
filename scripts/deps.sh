#!/bin/sh
# deps.sh - install the Debian packages mta-sts-sync needs to build and to
# run its test suite (BIND 9, Knot DNS, PowerDNS, nginx on loopback, and
# the tools of the tests), or with "demo" only those of scripts/demo.sh
# (BIND 9 and nginx).
#
#   scripts/deps.sh [demo]
#
# Installs only what is missing; safe to run again, and a run started
# while another runs waits for it. Nothing it installs is
# started: the tests and the demo run their own servers on free loopback
# ports, and a system nameserver or web server started by the install
# would hold port 53 or 80 for nothing. While apt-get runs,
# /usr/sbin/policy-rc.d answers 101 (action forbidden) to every start a
# package asks for; a policy-rc.d that was there is moved aside and put
# back exactly as it was, also when the install fails or is interrupted.
# A server unit the install created (named, knot, pdns, nginx: none of
# that name was there before) is stopped if it runs all the same, and not
# left enabled at boot, also when the install fails or is interrupted (a
# package configured before that has enabled its unit). A server that was
# there before is never touched. The units there before are listed in
# /usr/sbin/policy-rc.d.deps-units until the others are settled: a run
# killed outright (SIGKILL, a power cut) leaves it, and the next run uses
# it to settle them. The next run finishes such a run's work even when
# nothing is left to install: a policy-rc.d of ours left in place (which
# would forbid every start on the machine) is removed, and a machine's
# own left aside is named, with what to do.
#
# For its test only (tests/deps.test): $DEPS_POLICY_RC_D names the
# policy-rc.d file instead of /usr/sbin/policy-rc.d.
set -eu

BUILD="build-essential autoconf automake pkg-config
libldns-dev libcurl4-openssl-dev libssl-dev"
DEMO="bind9 bind9-dnsutils nginx-light openssl"
TESTS="bind9-utils knot knot-dnsutils pdns-server pdns-backend-sqlite3
pdns-backend-bind sqlite3 faketime clang valgrind curl ca-certificates
mandoc time python3 acl clang-format"
# the units of the servers above, which the Debian packages enable and
# start at install
UNITS="named knot pdns nginx"

POLICY=${DEPS_POLICY_RC_D:-/usr/sbin/policy-rc.d}
SAVED=$POLICY.deps-saved
# the server units there before the install, until the others are settled
BEFORE=$POLICY.deps-units
policy_set=0
units_set=0

# missing PACKAGE...: print those not installed.
missing() {
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "install ok installed" || printf ' %s' "$p"
	done
}

# units_present: print the UNITS that exist (enabled, disabled, static...).
units_present() {
	command -v systemctl >/dev/null 2>&1 || return 0
	for u in $UNITS; do
		s=$(systemctl is-enabled "$u" 2>/dev/null || true)
		case "$s" in
		'' | not-found) ;;
		*) printf ' %s' "$u" ;;
		esac
	done
}

MARK="# deps.sh: no service starts while it installs packages"

# policy_ours: is the policy-rc.d in place the one policy_forbid writes?
policy_ours() { grep -qxF "$MARK" "$POLICY" 2>/dev/null; }

# policy_forbid: put a policy-rc.d forbidding every start in place, the
# one there moved aside (a rename: its contents, mode, owner and times
# stay as they are). One of ours left by a killed run is not kept.
policy_forbid() {
	policy_left
	trap finish EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	policy_set=1
	if { [ -e "$POLICY" ] || [ -L "$POLICY" ]; } && ! policy_ours; then
		mv "$POLICY" "$SAVED"
	fi
	printf '#!/bin/sh\n%s\nexit 101\n' "$MARK" >"$POLICY.deps-new"
	chmod 755 "$POLICY.deps-new"
	mv -f "$POLICY.deps-new" "$POLICY"
}

# left_behind: has a run killed before its end left anything: the list
# of units, the machine's policy-rc.d moved aside, or ours in its place
# (which would keep forbidding every start on the machine)?
left_behind() {
	[ -e "$BEFORE" ] || [ -e "$SAVED" ] || [ -L "$SAVED" ] || policy_ours
}

# policy_left: while a policy-rc.d an earlier run moved aside is there,
# say what to do with it and exit 1 (which one is the machine's is the
# operator's call). Beside a policy-rc.d not ours, a package installed
# that one during the run (policy_restore kept both), or someone did
# since; else the run was killed before it could put the file back.
policy_left() {
	[ -e "$SAVED" ] || [ -L "$SAVED" ] || return 0
	if { [ -e "$POLICY" ] || [ -L "$POLICY" ]; } && ! policy_ours; then
		echo "deps.sh: $SAVED is the policy-rc.d there before an earlier run, and $POLICY is another one (installed by a package during that run, or by someone since): keep the one you want as $POLICY, remove the other, then run again" >&2
	else
		echo "deps.sh: $SAVED is left from an interrupted run: move it back to $POLICY, then run again" >&2
	fi
	exit 1
}

# policy_restore: put back the policy-rc.d there was (or none). Runs once,
# whatever step policy_forbid had reached.
# shellcheck disable=SC2317 # run by finish, the trap
policy_restore() {
	[ "$policy_set" = 1 ] || return 0
	policy_set=0
	rm -f "$POLICY.deps-new"
	if [ -e "$POLICY" ] && ! policy_ours; then
		# a package installed one of its own meanwhile: keep both
		[ -e "$SAVED" ] && echo "deps.sh: $POLICY was replaced during the install; the one there before is $SAVED: keep the one you want as $POLICY and remove the other before the next run" >&2
		return 0
	fi
	rm -f "$POLICY"
	if [ -e "$SAVED" ] || [ -L "$SAVED" ]; then
		mv "$SAVED" "$POLICY"
	fi
}

# units_record: set $before to the UNITS there before the install, and
# keep them in $BEFORE until the others are settled. A $BEFORE left by a
# run that did not finish is used as it is: what that run installed is
# there now, and is not the machine's own.
units_record() {
	if [ -e "$BEFORE" ]; then
		before=$(cat "$BEFORE")
	else
		before=$(units_present)
		printf '%s\n' "$before" >"$BEFORE.new"
		mv -f "$BEFORE.new" "$BEFORE"
	fi
	units_set=1
}

# finish: the EXIT trap, on every way out once policy_forbid has begun
# (the end, an error under set -e, a signal): put the policy-rc.d back,
# then settle the units the install created, which a failed or
# interrupted install may have enabled as well; exits with the status
# the script had.
# shellcheck disable=SC2317 # run by the trap
finish() {
	rc=$?
	set +e
	trap - EXIT HUP INT TERM
	policy_restore
	if [ "$units_set" = 1 ]; then
		units_settle "$before"
		rm -f "$BEFORE"
	fi
	exit "$rc"
}

# units_settle BEFORE: of the UNITS not in BEFORE (created by the
# install), stop those running and disable those enabled at boot.
units_settle() {
	command -v systemctl >/dev/null 2>&1 || return 0
	for u in $UNITS; do
		case " $1 " in *" $u "*) continue ;; esac
		if systemctl is-active --quiet "$u" 2>/dev/null; then
			echo "deps.sh: stopping $u, which the install started" >&2
			systemctl stop "$u" || true
		fi
		if [ "$(systemctl is-enabled "$u" 2>/dev/null || true)" = enabled ]; then
			echo "deps.sh: $u (just installed) will not start at boot: systemctl enable $u to have it" >&2
			systemctl disable --quiet "$u" || true
		fi
	done
}

case "${1:-}" in
'') packages="$BUILD $DEMO $TESTS" ;;
demo) packages="$BUILD $DEMO" ;;
*) echo "usage: deps.sh [demo]" >&2; exit 2 ;;
esac
# One run at a time: a second run would put back, or remove, the
# policy-rc.d the install of the first relies on, or take the machine's,
# moved aside, for a killed run's. The lock is on the directory of
# policy-rc.d (no file made for it); apt-get does not inherit it, so a
# process a package leaves running cannot hold it.
if [ "$(id -u)" -eq 0 ]; then
	exec 9<"$(dirname "$POLICY")"
	if ! flock -n 9; then
		echo "deps.sh: waiting for another deps.sh to finish" >&2
		flock 9
	fi
fi
# shellcheck disable=SC2086
need=$(missing $packages)
if [ -z "$need" ] && ! left_behind; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	if [ -n "$need" ]; then
		echo "deps.sh: missing Debian packages:$need" >&2
		echo "deps.sh: run as root, or install them with apt-get" >&2
	elif [ -e "$SAVED" ] || [ -L "$SAVED" ]; then
		policy_left
	elif [ -e "$BEFORE" ]; then
		echo "deps.sh: an earlier run ended before it disabled the servers it installed ($BEFORE lists those there before): run deps.sh again as root" >&2
	else
		echo "deps.sh: an earlier run ended before it put $POLICY back: run deps.sh again as root" >&2
	fi
	exit 1
fi
if [ -z "$need" ]; then
	# an earlier run was killed before the end, and everything is
	# installed: finish its work (the policy-rc.d it left, then its units)
	policy_left
	if policy_ours; then
		rm -f "$POLICY"
	fi
	if [ -e "$BEFORE" ]; then
		before=$(cat "$BEFORE")
		units_settle "$before"
		rm -f "$BEFORE"
	fi
	exit 0
fi
echo "deps.sh: installing:$need" >&2
export DEBIAN_FRONTEND=noninteractive
policy_forbid
units_record
apt-get update -q 9<&-
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $need 9<&-
exit 0
