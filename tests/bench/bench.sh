#!/bin/bash
# bench.sh - the scale benchmark of issue 6 (not part of make check): a
# loopback lab with one BIND primary holding BENCH_N zones (default 1000,
# one domain each, all following one upstream policy over HTTPS) and
# nginx serving every mta-sts.<domain> with the test CA, then side by side:
#
#   1. mta-sts-sync first run: every domain changes (file + both records),
#      verify on; then the same with verify off (the DNS and file work
#      alone, without the N TLS handshakes);
#   2. mta-sts-sync with nothing to change (3 runs, the median; the zone
#      serials must not move: zero UPDATEs);
#   3. the same N changes sent by ONE nsupdate process (one send a zone);
#   4. the same N changes sent by one nsupdate process per domain;
#   1 and 3 alternate BENCH_ROUNDS times (default 3) and their medians
#   make the ratio: on a shared machine either may be slowed by a burst of
#   other work, and a single pair once gave nsupdate 0.9 s, then 4.6 s;
#   5. peak RSS of mta-sts-sync at N and at BENCH_RSS_N (default 10000;
#      0 skips it) domains, first run;
#   6. HTTPS requests to the shared upstream per run (nginx access log).
#
# BIND is restarted from fresh zone files before 1, 3 and 4, so that each
# does the same work. The nsupdate scripts are checked against what
# mta-sts-sync's dry run plans for the first domain (same prerequisites,
# same records), and use TCP (-v) and the TSIG key as mta-sts-sync does.
#
# The lab is kept realistic but cheap:
#  - mta-sts-sync is configured as an operator would: server and key in
#    options, the zone found by an SOA query, one upstream, a per-domain
#    tls-rpt; the domains in include files of 1000 (a configuration file
#    holds at most 1 MiB). As root, nginx listens on 127.0.44.3:443 and
#    one resolve "*:443:127.0.44.3" (libcurl 7.64+ wildcard) sends every
#    host name there, so every domain verifies at its default URL, the
#    upstream is fetched the same way for every domain (once), and the
#    configuration is exactly an operator's; otherwise nginx takes a free
#    port, which each domain's verify-url then names.
#  - nginx serves every mta-sts.<domain> with a certificate per 100 names
#    (Let's Encrypt's SAN limit) and one document root per host ($host),
#    where mta-sts-sync publishes; a worker per core.
#  - the RSS stage at BENCH_RSS_N (default 10000) runs the same first run
#    with verify on against a second lab of that size; it takes about a
#    minute today and about N times the 1000-domain first run. Prints a table with the ratios and the targets of
# issue 6 (PASS/MISS) and writes it to BENCH_RESULTS (default
# $top_builddir/bench-results.txt). Run it with `make bench`.
#
# Exit status: 0 when the benchmark ran (whatever the targets say; with
# BENCH_STRICT=1, 1 on any MISS); 1 when the lab or a run broke.
. "$top_srcdir/tests/lib/tap.sh" || exit 1
. "$top_srcdir/tests/lib/dns.sh"
. "$top_srcdir/tests/lib/https.sh"
. "$top_srcdir/tests/bench/bench-lab.sh"

N=${BENCH_N:-1000}
RSS_N=${BENCH_RSS_N:-10000}
ROUNDS=${BENCH_ROUNDS:-3}
case $ROUNDS in
'' | *[!0-9]*) ROUNDS=0 ;;
esac
[ "$ROUNDS" -ge 1 ] || bail_out "BENCH_ROUNDS must be a number of at least 1"
RESULTS=${BENCH_RESULTS:-$top_builddir/bench-results.txt}
TIME=/usr/bin/time

dns_require_bind
command -v nsupdate >/dev/null || skip_all "nsupdate not installed"
[ -x "$TIME" ] || skip_all "$TIME not installed (Debian package time)"

say() { echo "# $*" >&2; }

# now_ns: nanoseconds since the epoch.
now_ns() { date +%s%N; }

# secs NS: nanoseconds as seconds with 3 decimals.
secs() { awk -v n="$1" 'BEGIN { printf "%.3f", n / 1e9 }'; }

# ratio A B: A / B with 2 decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# verdict EXPR: PASS when the awk expression holds.
verdict() { awk "BEGIN { print ($1) ? \"PASS\" : \"MISS\" }"; }

# upstream_count: requests for the upstream policy in the access log.
upstream_count() { https_count "$BENCH_UPSTREAM" /.well-known/mta-sts.txt; }

# verify_count: requests for any domain's policy host.
verify_count() {
	awk '$1 ~ /^mta-sts\.d[0-9]+\.bench\.test$/' "$HTTPS_LOG" | wc -l
}

# run_sync NAME CONF: time one mta-sts-sync run; sets SYNC_NS (wall
# nanoseconds), SYNC_KB (peak RSS) and SYNC_CPU (user + system seconds).
# A failed run ends the benchmark.
run_sync() {
	local t0 t1
	t0=$(now_ns)
	"$TIME" -f '%M %U %S' -o "$T/$1.rss" "$MTA_STS_SYNC" -c "$2" -q \
		>"$T/$1.out" 2>&1
	local rc=$?
	t1=$(now_ns)
	if [ $rc -ne 0 ]; then
		sed 's/^/# /' "$T/$1.out" | head -20 >&2
		bail_out "mta-sts-sync ($1) exited $rc"
	fi
	SYNC_NS=$((t1 - t0))
	SYNC_KB=$(tail -1 "$T/$1.rss" | cut -d' ' -f1)
	SYNC_CPU=$(tail -1 "$T/$1.rss" | awk '{ printf "%.2f", $2 + $3 }')
}

# server_cpu: user + system seconds used so far by named and by nginx
# (master and workers), as "NAMED NGINX", from /proc.
server_cpu() {
	local m pids p named=0 nginx=0 hz
	hz=$(getconf CLK_TCK)
	ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
	p=$(cat "$BENCH_DNS/server.pid" 2>/dev/null) && named=$(ticks "$p")
	m=$(cat "$HTTPS_DIR/nginx/nginx.pid" 2>/dev/null)
	pids="$m $(pgrep -P "$m" 2>/dev/null)"
	for p in $pids; do nginx=$((nginx + $(ticks "$p"))); done
	echo "$((named * 100 / hz)) $((nginx * 100 / hz))"
}

# cpu_delta BEFORE AFTER: "NAMED NGINX" seconds between two server_cpu.
cpu_delta() {
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
		printf "%.2f %.2f", (y[1] - x[1]) / 100, (y[2] - x[2]) / 100 }'
}

# median NS...: the median of the numbers (the lower middle of an even
# count).
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }

# list_secs NS...: the numbers as seconds, in the order given.
list_secs() {
	local x out=""
	for x in "$@"; do out="$out $(secs "$x")"; done
	echo "${out# }"
}

# serial_not S: how many zones do not have serial S.
serial_not() {
	bench_serials "$PORT" "$N" | awk -v s="$1" '$2 != s' | wc -l
}

# nsupdate_script D: the UPDATE mta-sts-sync sends for D's first run.
nsupdate_script() {
	printf 'zone %s\n' "$1"
	printf 'prereq nxrrset _mta-sts.%s TXT\n' "$1"
	printf 'prereq nxrrset _mta-sts.%s CNAME\n' "$1"
	printf 'prereq nxrrset _smtp._tls.%s TXT\n' "$1"
	printf 'prereq nxrrset _smtp._tls.%s CNAME\n' "$1"
	printf 'update add _mta-sts.%s 3600 TXT "v=STSv1; id=%s"\n' "$1" "$ID"
	printf 'update add _smtp._tls.%s 3600 TXT "v=TLSRPTv1; rua=mailto:tlsrpt@%s"\n' \
		"$1" "$1"
	printf 'send\n'
}

policy() {
	printf 'version: STSv1\nmode: enforce\nmx: mx1.mail.bench.test\n'
	printf 'mx: *.mail.bench.test\nmax_age: 604800\n'
}

# ----------------------------------------------------------------- lab
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
say "lab: BIND with $N zones, nginx with $N policy hosts"
bench_lab_start "$N"
CONF=$T/bench.conf
bench_conf "$CONF" "$PORT" "$N"

# The nsupdate runs must send what mta-sts-sync sends: compare with its
# dry run for the first domain (which also gives the policy id).
first=$(bench_names 1)
"$MTA_STS_SYNC" -c "$CONF" -n "$first" >"$T/plan.out" 2>&1 ||
	bail_out "dry run failed: $(head -3 "$T/plan.out")"
ID=$(sed -n 's/^update add _mta-sts.* TXT "v=STSv1; id=\([A-Za-z0-9]*\)"$/\1/p' "$T/plan.out")
[ -n "$ID" ] || bail_out "no policy id in the dry run: $(head -3 "$T/plan.out")"
if [ "$(grep -E '^(zone|prereq|update|send)' "$T/plan.out")" != "$(nsupdate_script "$first")" ]; then
	bail_out "the nsupdate script differs from mta-sts-sync's UPDATE: $(cat "$T/plan.out")"
fi

# ------------------------------------------- first runs and nsupdate
bench_names "$N" >"$T/domains"
{
	printf 'server 127.0.0.1 %s\n' "$PORT"
	while read -r d; do nsupdate_script "$d"; done <"$T/domains"
} >"$T/all.nsupdate"
mkdir -p "$T/each"
while read -r d; do
	{
		printf 'server 127.0.0.1 %s\n' "$PORT"
		nsupdate_script "$d"
	} >"$T/each/$d"
done <"$T/domains"

# nsupdate_one: BIND from fresh zones, then the N changes by one
# nsupdate process; appends its time to ONE.
ONE=()
nsupdate_one() {
	local t0
	bench_bind_reset "$BENCH_DNS" "$PORT" "$N" || bail_out "named did not restart"
	t0=$(now_ns)
	nsupdate -v -k "$BENCH_DNS/mtasts.key" "$T/all.nsupdate" >"$T/ns.out" 2>&1 ||
		bail_out "nsupdate failed: $(head -3 "$T/ns.out")"
	ONE+=($(($(now_ns) - t0)))
	[ "$(serial_not 2)" = 0 ] || bail_out "nsupdate: not every zone got one UPDATE"
}

# fresh_lab: BIND from fresh zone files, no policy file published.
fresh_lab() {
	bench_bind_reset "$BENCH_DNS" "$PORT" "$N" || bail_out "named did not restart"
	rm -f "$HTTPS_DIR"/www/mta-sts.d*/.well-known/mta-sts.txt
}

# check_changed WHAT: every zone got one UPDATE and every file is
# published, or the benchmark ends naming WHAT.
check_changed() {
	local published
	[ "$(serial_not 2)" = 0 ] || bail_out "$1: not every zone got one UPDATE"
	published=$(find "$HTTPS_DIR/www" -path '*/mta-sts.d*/.well-known/mta-sts.txt' | wc -l)
	[ "$published" = "$N" ] || bail_out "$1: $published of $N files published"
}

# first_run: a fresh lab (the first time, the zones are fresh already),
# then one mta-sts-sync run; appends its time to FULL, and checks that
# every zone got one UPDATE and every file is published. The first one
# also counts the HTTPS requests and keeps the peak RSS.
FULL=()
CPU_ROUNDS=()
first_run() {
	local u0 v0 c0
	[ ${#FULL[@]} -gt 0 ] && fresh_lab
	u0=$(upstream_count)
	v0=$(verify_count)
	c0=$(server_cpu)
	run_sync full "$CONF"
	CPU_ROUNDS+=("$SYNC_CPU $(cpu_delta "$c0" "$(server_cpu)")")
	if [ ${#FULL[@]} = 0 ]; then
		FULL_KB=$SYNC_KB
		FULL_UP=$(($(upstream_count) - u0))
		FULL_VERIFY=$(($(verify_count) - v0))
	fi
	FULL+=("$SYNC_NS")
	check_changed "first run"
	[ "$(sha256sum "$HTTPS_DIR/www/mta-sts.$first/.well-known/mta-sts.txt" |
		cut -c1-32)" = "$ID" ] || bail_out "first run: the file does not match id $ID"
}

# noverify_run: the same first run with `verify no`: the DNS and file
# work alone, without the N TLS handshakes of the verifies; appends its
# time to NOVERIFY and its CPU line to NOVERIFY_CPU.
NOVERIFY=()
NOVERIFY_CPU=()
noverify_run() {
	local c0
	fresh_lab
	c0=$(server_cpu)
	run_sync noverify "$T/noverify.conf"
	NOVERIFY_CPU+=("$SYNC_CPU $(cpu_delta "$c0" "$(server_cpu)")")
	NOVERIFY+=("$SYNC_NS")
	check_changed "first run without verify"
}
bench_conf "$T/noverify.conf" "$PORT" "$N" "verify no;"

# The lab's zones are fresh: the first round starts with mta-sts-sync.
# The runs with and without verify swap places every other round.
for r in $(seq 1 "$ROUNDS"); do
	say "round $r of $ROUNDS: mta-sts-sync first run ($N domains change) and the same without verify, then one nsupdate process"
	if [ $((r % 2)) = 1 ]; then
		first_run
		noverify_run
	else
		noverify_run
		first_run
	fi
	nsupdate_one
done
FULL_NS=$(median "${FULL[@]}")
NOVERIFY_NS=$(median "${NOVERIFY[@]}")
ONE_NS=$(median "${ONE[@]}")
ROUND_FULL=("${FULL[@]}")
ROUND_CPU=("${CPU_ROUNDS[@]}")

# The nothing-to-change runs follow a first run of mta-sts-sync.
first_run
say "mta-sts-sync, nothing to change (3 runs)"
before=$(bench_serials "$PORT" "$N")
u0=$(upstream_count)
NOOP=()
for _ in 1 2 3; do
	run_sync noop "$CONF"
	NOOP+=("$SYNC_NS")
done
NOOP_UP=$((($(upstream_count) - u0) / 3))
NOOP_NS=$(median "${NOOP[@]}")
NOOP_UPDATES=$(diff <(echo "$before") <(bench_serials "$PORT" "$N") |
	grep -c '^>')
[ -s "$T/noop.out" ] && bail_out "no-change run printed: $(head -3 "$T/noop.out")"

say "nsupdate, one process per domain"
bench_bind_reset "$BENCH_DNS" "$PORT" "$N" || bail_out "named did not restart"
t0=$(now_ns)
while read -r d; do
	nsupdate -v -k "$BENCH_DNS/mtasts.key" "$T/each/$d" >"$T/ns.out" 2>&1 ||
		bail_out "nsupdate $d failed: $(head -3 "$T/ns.out")"
done <"$T/domains"
EACH_NS=$(($(now_ns) - t0))
[ "$(serial_not 2)" = 0 ] || bail_out "nsupdate: not every zone got one UPDATE"

# ------------------------------------------------------ RSS at RSS_N
BIG_KB=""
BIG_NS=""
if [ "$RSS_N" -gt 0 ]; then
	say "peak RSS: lab with $RSS_N zones and policy hosts"
	https_stop
	dns_stop "$BENCH_DNS"
	N_SAVED=$N
	N=$RSS_N
	rm -rf "$HTTPS_DIR/www"/mta-sts.d*
	bench_policy_hosts "$N"
	: >"$HTTPS_LOG"
	bench_nginx_start "$N"
	bench_bind_reset "$BENCH_DNS" "$PORT" "$N" || bail_out "named did not start"
	bench_conf "$T/big.conf" "$PORT" "$N"
	say "mta-sts-sync, first run: $N domains change"
	run_sync big "$T/big.conf"
	BIG_KB=$SYNC_KB
	BIG_NS=$SYNC_NS
	BIG_UP=$(upstream_count)
	[ "$(serial_not 2)" = 0 ] || bail_out "$N domains: not every zone got one UPDATE"
	N=$N_SAVED
fi

# --------------------------------------------------------------- table

# cpu_table: the CPU seconds of each round's first run, for mta-sts-sync,
# named and nginx, and the least wall time they need on this machine's
# cores however well they overlap.
cpu_table() {
	local r
	printf '\nCPU of each first run: mta-sts-sync + named + nginx = total (wall time on %s cores: at least total / %s)\n' \
		"$(nproc)" "$(nproc)"
	cpu_lines "${ROUND_CPU[@]}"
	printf 'The same without verify (the DNS and file work alone):\n'
	cpu_lines "${NOVERIFY_CPU[@]}"
}
cpu_lines() {
	local r
	for r in "$@"; do
		echo "$r" | awk -v c="$(nproc)" '{ t = $1 + $2 + $3;
			printf "  %.2f + %.2f + %.2f = %.2f s (>= %.2f s)\n",
				$1, $2, $3, t, t / c }'
	done
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
row() { printf '| %-50s | %-10s | %-9s | %-4s |\n' "$@"; }

table() {
	local full_one each_full
	full_one=$(ratio "$FULL_NS" "$ONE_NS")
	each_full=$(ratio "$EACH_NS" "$FULL_NS")
	printf 'mta-sts-sync scale benchmark: %s domains, one zone each, one upstream\n' "$N"
	printf '%s%s\n' "$("$MTA_STS_SYNC" --version 2>&1 | head -1)" \
		"$(git -C "$top_srcdir" describe --always --dirty 2>/dev/null |
			sed 's/^/, source /')"
	printf '%s, %s; %s cores; %s\n' "$(named -v | cut -d' ' -f1-2)" \
		"$(nginx -v 2>&1 | sed 's/.*: //')" "$(nproc)" "$(date -u +%Y-%m-%d)"
	printf 'load average before %s, after %s (other work on the machine skews the times)\n\n' \
		"$LOAD_BEFORE" "$(cut -d' ' -f1-3 /proc/loadavg)"
	row "measure" "value" "target" ""
	row "$(printf '%050d' 0 | tr 0 -)" "----------" "---------" "----"
	row "first run: file + 2 records a domain, verify on *" "$(secs "$FULL_NS") s" "" ""
	row "the same first run without verify *" "$(secs "$NOVERIFY_NS") s" "" ""
	row "nsupdate, one process, one send per zone *" "$(secs "$ONE_NS") s" "" ""
	row "nsupdate, one process per domain" "$(secs "$EACH_NS") s" "" ""
	row "first run / nsupdate one process" "${full_one} x" "<= 1.0 x" \
		"$(verdict "$full_one <= 1.0")"
	row "nsupdate per domain / first run" "${each_full} x" ">= 25 x" \
		"$(verdict "$each_full >= 25")"
	row "first run without verify / nsupdate one process" \
		"$(ratio "$NOVERIFY_NS" "$ONE_NS") x" "" ""
	row "no-change run (median of 3)" "$(secs "$NOOP_NS") s" "<= 0.3 s" \
		"$(verdict "$NOOP_NS <= 300000000")"
	row "UPDATEs in the no-change runs (serials moved)" "$NOOP_UPDATES" "0" \
		"$(verdict "$NOOP_UPDATES == 0")"
	row "upstream HTTPS requests, first run" "$FULL_UP" "1" \
		"$(verdict "$FULL_UP == 1")"
	row "upstream HTTPS requests, no-change run" "$NOOP_UP" "1" \
		"$(verdict "$NOOP_UP == 1")"
	row "verify requests, first run" "$FULL_VERIFY" "" ""
	row "peak RSS, $N domains (first run)" "$(mib "$FULL_KB")" "" ""
	if [ -n "$BIG_KB" ]; then
		row "peak RSS, $RSS_N domains (first run)" "$(mib "$BIG_KB")" \
			"<= 16 MiB" "$(verdict "$BIG_KB <= 16384")"
		row "first run, $RSS_N domains (verify)" "$(secs "$BIG_NS") s" "" ""
		row "upstream HTTPS requests, $RSS_N domains" "$BIG_UP" "1" \
			"$(verdict "$BIG_UP == 1")"
	fi
	printf '\n* median of %s rounds, alternating: first runs %s s; without verify %s s; nsupdate %s s\n' \
		"$ROUNDS" "$(list_secs "${ROUND_FULL[@]}")" \
		"$(list_secs "${NOVERIFY[@]}")" "$(list_secs "${ONE[@]}")"
	cpu_table
}

table | tee "$RESULTS"
echo "# results written to $RESULTS"
if [ "${BENCH_STRICT:-0}" = 1 ] && grep -q '| MISS |' "$RESULTS"; then
	exit 1
fi
exit 0
