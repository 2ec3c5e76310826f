#!/bin/bash
# demo.sh - mta-sts-sync's main job on a self-contained local setup.
# Installs what is missing of the build dependencies, BIND and nginx
# (scripts/deps.sh demo: their system services are not started), builds
# (or brings its build up to date), then starts on loopback a BIND primary
# for example.com with a generated TSIG key, and nginx over HTTPS with a
# generated test CA serving both a mail provider's ("upstream") policy and
# example.com's own policy host. It runs `mta-sts-sync sync` three times:
# first publication, nothing to do, and after the provider changed its
# policy, showing the published file and the _mta-sts id in DNS (dig).
# Everything it started is stopped at the end.
set -u
cd "$(dirname "$0")/.." || exit 2
top=$(pwd)
build=$top/build/plain

scripts/deps.sh demo || exit 2
# make runs every time (it is incremental: quick when nothing changed),
# so that the demo runs the sources as they are after a git pull, not
# the binary of an earlier run
echo "== building mta-sts-sync in build/plain"
[ -x configure ] || autoreconf -fi >/dev/null 2>&1 || exit 2
mkdir -p "$build"
(cd "$build" && { [ -f Makefile ] || "$top/configure" -q; } &&
	make -s -j"$(nproc)" >/dev/null && make -s tests/tools/freeport >/dev/null) ||
	{ echo "demo: build failed" >&2; exit 2; }

export top_srcdir=$top top_builddir=$build MTA_STS_SYNC=$build/mta-sts-sync
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/dns.sh"
. "$top/tests/lib/https.sh"
. "$top/tests/lib/sync-lab.sh"
# tap.sh speaks TAP; the demo only wants its clean-up on exit.
bail_out() { echo "demo: $1" >&2; exit 1; }
skip_all() { echo "demo: cannot run: $1" >&2; exit 1; }

step() { printf '\n== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

DNS_GRANT="example.com"
step "starting BIND (TSIG key, update-policy for _mta-sts and _smtp._tls only) and nginx with a test CA"
lab_start bind
echo "BIND primary on 127.0.0.1#$LAB_DNS_PORT, nginx (HTTPS) on 127.0.0.1:$HTTPS_PORT; scratch directory $T"

printf 'version: STSv1\nmode: enforce\nmx: mx1.example.com\nmx: mx2.example.com\nmax_age: 604800\n' | lab_upstream
conf=$T/mta-sts-sync.conf
{
	echo "# mta-sts-sync demo configuration (generated)"
	lab_options
	lab_domain example.com 'tls-rpt "mailto:tlsrpt@example.com";'
} >"$conf"
file=$(lab_policy_file example.com)
dig_sts() { show dig +short +norec -p "$LAB_DNS_PORT" @127.0.0.1 _mta-sts.example.com TXT; }

step "the configuration"
sed -e "s/secret \"[^\"]*\"/secret \"...\"/" "$conf"
step "the provider's policy at $(lab_upstream_url)"
cat "$HTTPS_DIR/www/$LAB_UPSTREAM/.well-known/mta-sts.txt"
step "DNS before the first run"
dig_sts

step "run 1: first publication (-v explains each step)"
show "$MTA_STS_SYNC" -v -c "$conf"
echo "exit status $?"
step "the published policy file (CRLF line ends shown as \\r)"
sed -n l "$file"
dig_sts
show dig +short +norec -p "$LAB_DNS_PORT" @127.0.0.1 _smtp._tls.example.com TXT

step "run 2: nothing changed upstream, so nothing is written or sent (quiet, for cron)"
show "$MTA_STS_SYNC" -c "$conf"
echo "exit status $?"

step "the provider adds an MX pattern"
printf 'version: STSv1\nmode: enforce\nmx: mx1.example.com\nmx: mx2.example.com\nmx: *.backup.example.com\nmax_age: 604800\n' | lab_upstream
step "run 3 with --dry-run: the diff and the UPDATE it would send"
show "$MTA_STS_SYNC" -n -c "$conf"
step "run 3: the file is published and served first, then the id changes in one UPDATE"
show "$MTA_STS_SYNC" -c "$conf"
echo "exit status $?"
dig_sts
echo "sha256 of the served file: $(sha256sum <"$file" | cut -c1-32)  (the id is derived from it)"

step "stopping BIND and nginx"
exit 0
