#!/bin/sh
# deps.sh - install the Debian packages mta-sts-sync needs to build and to
# run its test suite and demo (BIND 9, Knot DNS, PowerDNS, nginx on
# loopback).
# Installs only what is missing; safe to run again.
set -eu

PACKAGES="build-essential autoconf automake pkg-config
libldns-dev libcurl4-openssl-dev libssl-dev
bind9 bind9-utils bind9-dnsutils knot knot-dnsutils nginx-light
pdns-server pdns-backend-sqlite3 pdns-backend-bind sqlite3
openssl faketime clang valgrind curl ca-certificates mandoc time python3"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing Debian packages:$missing" >&2
	echo "deps.sh: run as root, or install them with apt-get" >&2
	exit 1
fi
echo "deps.sh: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
# The packages start their daemons on a normal system: the tests and the
# demo run their own on loopback, so stop the system ones if they started.
for s in named bind9 knot pdns nginx; do
	if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$s" 2>/dev/null; then
		systemctl stop "$s" || true
	fi
done
exit 0
