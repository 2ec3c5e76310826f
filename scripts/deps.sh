#!/bin/sh
# deps.sh - install the Debian packages mta-sts-sync needs to build and to
# run its test suite (BIND 9, Knot DNS, PowerDNS, nginx on loopback, and
# the tools of the tests), or with "demo" only those of scripts/demo.sh
# (BIND 9 and nginx).
#
#   scripts/deps.sh [demo]
#
# Installs only what is missing; safe to run again. Nothing it installs is
# started: the tests and the demo run their own servers on free loopback
# ports, and a system nameserver or web server started by the install
# would hold port 53 or 80 for nothing. While apt-get runs,
# /usr/sbin/policy-rc.d answers 101 (action forbidden) to every start a
# package asks for; a policy-rc.d that was there is moved aside and put
# back exactly as it was, also when the install fails or is interrupted.
# A server unit the install created (named, knot, pdns, nginx: none of
# that name was there before) is stopped if it runs all the same, and not
# left enabled at boot. A server that was there before is never touched.
#
# For its test only (tests/deps.test): $DEPS_POLICY_RC_D names the
# policy-rc.d file instead of /usr/sbin/policy-rc.d.
set -eu

BUILD="build-essential autoconf automake pkg-config
libldns-dev libcurl4-openssl-dev libssl-dev"
DEMO="bind9 bind9-dnsutils nginx-light openssl"
TESTS="bind9-utils knot knot-dnsutils pdns-server pdns-backend-sqlite3
pdns-backend-bind sqlite3 faketime clang valgrind curl ca-certificates
mandoc time python3"
# the units of the servers above, which the Debian packages enable and
# start at install
UNITS="named knot pdns nginx"

POLICY=${DEPS_POLICY_RC_D:-/usr/sbin/policy-rc.d}
SAVED=$POLICY.deps-saved
policy_set=0

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
	if [ -e "$SAVED" ] || [ -L "$SAVED" ]; then
		echo "deps.sh: $SAVED is left from an interrupted run: move it back to $POLICY (or remove it if $POLICY is yours), then run again" >&2
		exit 1
	fi
	trap policy_restore EXIT
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

# policy_restore: put back the policy-rc.d there was (or none). Runs once,
# after the install or when the script exits before its end (set -e, a
# signal), whatever step policy_forbid had reached.
policy_restore() {
	rc=$?
	trap - EXIT HUP INT TERM
	[ "$policy_set" = 1 ] || return $rc
	policy_set=0
	rm -f "$POLICY.deps-new"
	if [ -e "$POLICY" ] && ! policy_ours; then
		# a package installed one of its own meanwhile: keep both
		[ -e "$SAVED" ] && echo "deps.sh: $POLICY was replaced during the install; the one there before is $SAVED" >&2
		return $rc
	fi
	rm -f "$POLICY"
	if [ -e "$SAVED" ] || [ -L "$SAVED" ]; then
		mv "$SAVED" "$POLICY"
	fi
	return $rc
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
# shellcheck disable=SC2086
need=$(missing $packages)
[ -z "$need" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing Debian packages:$need" >&2
	echo "deps.sh: run as root, or install them with apt-get" >&2
	exit 1
fi
echo "deps.sh: installing:$need" >&2
before=$(units_present)
export DEBIAN_FRONTEND=noninteractive
policy_forbid
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $need
policy_restore
units_settle "$before"
exit 0
