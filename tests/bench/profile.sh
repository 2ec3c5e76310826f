#!/bin/bash
# profile.sh - where the time of a sync run goes: builds the benchmark's
# lab (tests/bench/bench-lab.sh, BENCH_N domains, default 1000) and runs
# mta-sts-sync's first run (every domain changes) and a no-change run
# under each of:
#
#   perf stat     CPU time against wall time, context switches
#   strace -c -w  wall time spent in each system call (waiting on a
#                 socket shows up as poll/read/connect)
#   strace -tt    a timeline of the connections, DNS messages and fsyncs,
#                 to split a run into its steps (steps.txt)
#   perf record   CPU samples with call graphs (perf report --stdio)
#   massif        the heap at its peak, by allocation site (ms_print)
#
# and then untraced, with one step left out at a time (ablation.txt):
# verify off, and the zone configured (no SOA discovery per domain); and
# what the servers can do with K clients at once (limits.txt; skipped
# with BENCH_PROFILE_LIMITS=0): the N UPDATEs by K nsupdate processes,
# the no-change run's 4N queries by K dig processes, the N verify
# fetches by curl --parallel-max K: the floors a concurrent sync can
# reach on this machine, and the window where they flatten out.
#
# The zones and the published files are reset before every first run.
# Output goes to BENCH_PROFILE_DIR (default $top_builddir/bench-profile).
# Run it with `make bench-profile`. Needs perf and strace.
. "$top_srcdir/tests/lib/tap.sh" || exit 1
. "$top_srcdir/tests/lib/dns.sh"
. "$top_srcdir/tests/lib/https.sh"
. "$top_srcdir/tests/bench/bench-lab.sh"

N=${BENCH_N:-1000}
OUT=${BENCH_PROFILE_DIR:-$top_builddir/bench-profile}

dns_require_bind
command -v perf >/dev/null || skip_all "perf not installed"
command -v strace >/dev/null || skip_all "strace not installed"
mkdir -p "$OUT" || bail_out "cannot make $OUT"

say() { echo "# $*" >&2; }

policy() {
	printf 'version: STSv1\nmode: enforce\nmx: mx1.mail.bench.test\n'
	printf 'mx: *.mail.bench.test\nmax_age: 604800\n'
}

# fresh: zones and policy files as before any run.
fresh() {
	bench_bind_reset "$BENCH_DNS" "$PORT" "$N" ||
		bail_out "named did not restart"
	find "$HTTPS_DIR/www" -path '*/mta-sts.d*/.well-known' -prune \
		-exec rm -rf {} +
}

# sync_under NAME TOOL...: run mta-sts-sync under TOOL; it must succeed.
sync_under() {
	local name=$1
	shift
	"$@" "$MTA_STS_SYNC" -c "$CONF" -q >"$OUT/$name.out" 2>&1 ||
		bail_out "$name: $(tail -3 "$OUT/$name.out")"
}

# steps TRACE: from an strace -f -tt -T timeline, per kind of step: DNS
# connections to the primary and the messages sent on them (an UPDATE
# when the message has opcode 5), HTTPS connections, fsyncs. "busy" is
# the wall time during which at least one connection of the kind was
# open (connections overlap once the pipeline is concurrent), "sum" the
# time of them all added up. Also when the last HTTPS connection ended.
steps() {
	awk -v dns="$PORT" -v https="$BENCH_HTTPS_PORT" '
	function t(s,   a) { split(s, a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
	function fdof(s) {
		sub(/^[a-z]+\(/, "", s)
		return match(s, /^[0-9]+/) ? substr(s, 1, RLENGTH) : ""
	}
	function opened(k, now) {
		if (open[k]++ == 0)
			since[k] = now
		conns[k]++
	}
	function closed(k, now) {
		if (--open[k] == 0)
			busy[k] += now - since[k]
	}
	NR == 1 { first = t($2) }
	{ now = t($2); last = now }
	/ connect\(/ && match($0, /sin6?_port=htons\([0-9]+\)/) {
		port = substr($0, RSTART, RLENGTH)
		sub(/.*\(/, "", port)
		sub(/\)/, "", port)
		fd = fdof($3)
		kind[fd] = port == dns ? "dns" : port == https ? "https" : ""
		if (kind[fd] != "") {
			start[fd] = now
			opened(kind[fd], now)
		}
		next
	}
	/ (sendto|write)\(/ {
		fd = fdof($3)
		if (kind[fd] != "dns")
			next
		# TCP length (2), id (2), then QR|opcode|...: UPDATE is 0x28
		if ($0 ~ /"\\x[0-9a-f][0-9a-f]\\x[0-9a-f][0-9a-f]\\x[0-9a-f][0-9a-f]\\x[0-9a-f][0-9a-f]\\x28/)
			updates++
		else
			queries++
		next
	}
	/ close\(/ {
		fd = fdof($3)
		if (fd != "" && kind[fd] != "") {
			sum[kind[fd]] += now - start[fd]
			if (kind[fd] == "https")
				https_end = now
			closed(kind[fd], now)
			kind[fd] = ""
		}
		next
	}
	/ (f(data)?sync\(|<\.\.\. f(data)?sync resumed>)/ && match($0, /<[0-9.]+>$/) {
		sum["fsync"] += substr($0, RSTART + 1, RLENGTH - 2)
		conns["fsync"]++
	}
	END {
		printf "wall (traced)   %8.3f s", last - first
		if (https_end > 0)
			printf "; the last HTTPS connection ended at %.3f s",
				https_end - first
		printf "\n%-6s %6s %10s %10s\n", "", "count", "busy", "sum"
		for (k in conns)
			printf "%-6s %6d %8.3f s %8.3f s\n", k, conns[k],
				k == "fsync" ? sum[k] : busy[k], sum[k]
		printf "DNS messages sent: %d queries, %d UPDATEs\n", queries, updates
	}' "$1"
}

say "lab: BIND with $N zones, nginx with $N policy hosts"
bench_lab_start "$N"
CONF=$T/bench.conf
bench_conf "$CONF" "$PORT" "$N"

tools=${BENCH_PROFILE_TOOLS:-stat strace timeline record}
[ -z "${BENCH_PROFILE_TOOLS:-}" ] && command -v valgrind >/dev/null &&
	tools="$tools massif"
for tool in $tools; do
	say "$tool: first run, then no-change run"
	fresh
	for run in full noop; do
		case $tool in
		stat) sync_under "$run.stat" perf stat -o "$OUT/$run.perf-stat" \
			-e task-clock,context-switches,cpu-migrations,page-faults ;;
		strace) sync_under "$run.strace" strace -f -c -w \
			-o "$OUT/$run.strace-summary" ;;
		timeline)
			sync_under "$run.timeline" strace -f -tt -T \
				-e trace=connect,close,sendto,write,fsync,fdatasync \
				-xx -s 5 \
				-o "$OUT/$run.timeline"
			steps "$OUT/$run.timeline" >"$OUT/$run.steps.txt" ;;
		record)
			sync_under "$run.record" perf record -q -F 2000 \
				--call-graph dwarf -o "$OUT/$run.perf.data"
			perf report -i "$OUT/$run.perf.data" --stdio --no-children \
				--percent-limit 1 >"$OUT/$run.perf.txt" 2>/dev/null
			perf report -i "$OUT/$run.perf.data" --stdio --no-children \
				--sort dso >"$OUT/$run.perf-dso.txt" 2>/dev/null
			perf report -i "$OUT/$run.perf.data" --stdio --children \
				--sort symbol -g none 2>/dev/null |
				grep -v '^#' >"$OUT/$run.perf-children.txt" ;;
		massif)
			sync_under "$run.massif" valgrind -q --tool=massif \
				--massif-out-file="$OUT/$run.massif"
			ms_print "$OUT/$run.massif" >"$OUT/$run.massif.txt" ;;
		esac
	done
done
# timed NAME CONF: wall seconds of one untraced run.
timed() {
	local t0 t1
	t0=$(date +%s%N)
	local out
	out=$OUT/ablation-$(echo "$1" | tr -c 'a-z0-9\n' '-').out
	"$MTA_STS_SYNC" -c "$2" -q >"$out" 2>&1 ||
		bail_out "$1: $(tail -3 "$out")"
	t1=$(date +%s%N)
	printf '%-46s %7.3f s\n' "$1" "$(awk -v n=$((t1 - t0)) 'BEGIN { print n / 1e9 }')"
}

# Ablation: the same runs untraced, one step left out at a time.
say "ablation: verify off, zone configured"
bench_conf "$T/noverify.conf" "$PORT" "$N" "verify no;"
bench_conf "$T/zone.conf" "$PORT" "$N" "" 'zone "%d";'
{
	fresh
	timed "first run" "$CONF"
	timed "no-change run" "$CONF"
	fresh
	timed "first run, verify no" "$T/noverify.conf"
	timed "no-change run, verify no" "$T/noverify.conf"
	fresh
	timed "first run, zone given (no SOA discovery)" "$T/zone.conf"
	timed "no-change run, zone given" "$T/zone.conf"
} >"$OUT/ablation.txt"
# nsupdate_script D ID: the UPDATE of D's first run (as bench.sh sends).
nsupdate_script() {
	printf 'zone %s\n' "$1"
	printf 'prereq nxrrset _mta-sts.%s TXT\n' "$1"
	printf 'prereq nxrrset _smtp._tls.%s TXT\n' "$1"
	printf 'update add _mta-sts.%s 3600 TXT "v=STSv1; id=%s"\n' "$1" "$2"
	printf 'update add _smtp._tls.%s 3600 TXT "v=TLSRPTv1; rua=mailto:tlsrpt@%s"\n' \
		"$1" "$1"
	printf 'send\n'
}

# parallel K CMD...: K copies of CMD at once, CMD's "%k" replaced by the
# copy's number (0..K-1); waits for them (not for the servers, which are
# children of this shell too).
parallel() {
	local k=$1 i a args pids=()
	shift
	for ((i = 0; i < k; i++)); do
		args=()
		for a in "$@"; do args+=("${a//%k/$i}"); done
		"${args[@]}" >"$T/parallel.$i" 2>&1 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" && continue
		echo "# $1 failed: $(head -2 "$T/parallel.$i")" >&2
		return 1
	done
}

# The servers' own limits with K clients at once: N UPDATEs (nsupdate,
# one send a zone, the zones split between K processes), the 4N reads of
# a no-change run (dig over TCP), the N verify fetches (curl --parallel,
# one process: its CA store is read once). Every client is a process of
# its own, whose start (some ms) is counted too.
limits() {
	local k d
	bench_names "$N" >"$T/domains"
	for k in 1 4 16 64; do
		[ "$k" -le "$N" ] || break
		rm -f "$T"/upd.* "$T"/dom.* "$T"/q.*
		{ printf 'server 127.0.0.1 %s\n' "$PORT" >"$T/head"; }
		awk -v k=$k -v dir="$T" '{ print > (dir "/dom." ((NR - 1) % k)) }' \
			"$T/domains"
		for ((i = 0; i < k; i++)); do
			cp "$T/head" "$T/upd.$i"
			while read -r d; do
				nsupdate_script "$d" 0123456789abcdef0123456789abcdef
			done <"$T/dom.$i" >>"$T/upd.$i"
			awk '{ print "_mta-sts." $1 " TXT"; print "_smtp._tls." $1 " TXT";
				print $1 " MX"; print "_mta-sts." $1 " SOA" }' \
				"$T/dom.$i" >"$T/q.$i"
		done
		bench_bind_reset "$BENCH_DNS" "$PORT" "$N" >/dev/null 2>&1 ||
			bail_out "named did not restart"
		timed_cmd "$N UPDATEs, $k nsupdate processes at once" \
			parallel "$k" nsupdate -v -k "$BENCH_DNS/mtasts.key" "$T/upd.%k"
		timed_cmd "$((4 * N)) TCP queries, $k dig processes at once" \
			parallel "$k" dig +tcp +norec -p "$PORT" @127.0.0.1 -f "$T/q.%k"
		timed_cmd "... the same, one TCP connection a process" \
			parallel "$k" dig +tcp +keepopen +norec -p "$PORT" @127.0.0.1 \
			-f "$T/q.%k"
		timed_cmd "... the same over UDP" \
			parallel "$k" dig +norec -p "$PORT" @127.0.0.1 -f "$T/q.%k"
	done
	: >"$T/urls"
	bench_names "$N" | sed 's/^/mta-sts./' | while read -r h; do
		printf 'url = %s\noutput = /dev/null\n' "$(bench_https_url "$h")"
	done >"$T/urls"
	for k in 1 4 16 64; do
		timed_cmd "$N HTTPS fetches, curl --parallel-max $k" \
			curl -sS --parallel --parallel-max "$k" --cacert "$HTTPS_CA" \
			--resolve "*:$BENCH_HTTPS_PORT:$BENCH_HTTPS_ADDR" -K "$T/urls"
	done
}

# timed_cmd TITLE CMD...: wall seconds of CMD.
timed_cmd() {
	local t0 t1
	t0=$(date +%s%N)
	"${@:2}" >"$T/timed.out" 2>&1 ||
		echo "# $1: failed: $(head -2 "$T/timed.out")" >&2
	t1=$(date +%s%N)
	printf '%-46s %7.3f s\n' "$1" "$(awk -v n=$((t1 - t0)) 'BEGIN { print n / 1e9 }')"
}

if [ "${BENCH_PROFILE_LIMITS:-1}" = 1 ]; then
	say "the servers' limits with K clients at once"
	limits >"$OUT/limits.txt"
fi
say "results in $OUT"
[ -f "$OUT/limits.txt" ] && echo "== the servers' limits with K clients at once" &&
	cat "$OUT/limits.txt"
echo "== wall time, untraced, one step left out at a time"
cat "$OUT/ablation.txt"
for run in full noop; do
	[ -f "$OUT/$run.perf-stat" ] && echo "== $run: perf stat" &&
		grep -E 'task-clock|elapsed|context' "$OUT/$run.perf-stat"
	[ -f "$OUT/$run.steps.txt" ] &&
		echo "== $run: time per step (strace timeline)" &&
		cat "$OUT/$run.steps.txt"
	[ -f "$OUT/$run.strace-summary" ] &&
		echo "== $run: system calls by wall time (strace -c -w)" &&
		sed -n 1,14p "$OUT/$run.strace-summary"
done
exit 0
