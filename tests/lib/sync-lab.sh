# sync-lab.sh - a whole local setup for the sync tests and the demo: a
# DNS primary (BIND, Knot or PowerDNS, tests/lib/dns.sh) with the update key, and
# nginx over HTTPS with the test CA (tests/lib/https.sh) serving both an
# "upstream" provider policy host and the policy host of each domain,
# whose document root is where mta-sts-sync publishes. Source it after
# tap.sh, dns.sh and https.sh.
#
#   lab_start bind|knot|pdns [KEYFILE...]
#                           start both servers for the domains in
#                           $DNS_GRANT; sets LAB_DNS_PORT, LAB_DIR, LAB_KEY;
#                           the KEYFILEs' keys may update too
#   lab_start_second bind|knot|pdns
#                           start a second DNS primary with the same key,
#                           zones and grants; sets LAB_DNS_PORT2
#   lab_upstream [HOST] < POLICY
#                           serve POLICY as HOST's (default
#                           mta-sts.upstream.test) policy
#   lab_upstream_url [HOST] its https URL (with the lab port)
#   lab_policy_file D       where the policy of domain D is published
#   lab_options [LINES]     print an options { } block for the lab
#                           (key, server, ca-file, resolve, policy-file,
#                           short timeouts) with LINES added inside
#   lab_domain D [LINES]    print a domain "D" { } block with LINES
#                           inside, and the lab upstream unless LINES
#                           has its own upstream or policy { }, and the
#                           lab verify-url unless LINES has its own
#   lab_sync CONF [ARGS...] run mta-sts-sync -c CONF ARGS; sets $out, $rc
#
# $LAB_CERT, when set before lab_start, names one certificate made for
# the policy hosts of all the domains of $DNS_GRANT, served for each of
# them instead of one certificate per host (quick with hundreds).

# tap.sh first: its tap_scratch keeps the functions below from writing
# outside a test's $T
declare -F tap_scratch >/dev/null ||
	{ echo "sync-lab.sh: source tests/lib/tap.sh first" >&2; return 1; }

LAB_UPSTREAM=mta-sts.upstream.test

lab_start() {
	tap_scratch || return 1
	local d
	LAB_DIR=$T/lab
	dns_port LAB_DNS_PORT || bail_out "no free port"
	LAB_KEY=$(dns_key "$LAB_DIR/dns")
	d=$1
	shift
	case "$d" in
	bind) dns_require_bind
		dns_start_bind "$LAB_DIR/dns" "$LAB_DNS_PORT" "$LAB_KEY" "$@" ;;
	knot) dns_require_knot
		dns_start_knot "$LAB_DIR/dns" "$LAB_DNS_PORT" "$LAB_KEY" "$@" ;;
	pdns) dns_require_pdns
		dns_start_pdns "$LAB_DIR/dns" "$LAB_DNS_PORT" "$LAB_KEY" "$@" ;;
	*) bail_out "lab_start: bind, knot or pdns" ;;
	esac || bail_out "$d did not start"
	https_site "$LAB_UPSTREAM"
	[ -n "${LAB_CERT:-}" ] && _lab_cert "$LAB_CERT"
	for d in $DNS_GRANT; do
		https_site "mta-sts.$d" ${LAB_CERT:+"$LAB_CERT"}
	done
	https_start || bail_out "nginx did not start"
}

# _lab_cert ID: one certificate ID for the policy hosts of $DNS_GRANT,
# signed by the test CA (https_cert would make its subject name of them
# all, longer than a CN may be).
_lab_cert() {
	local d p
	https_init || return 1
	p=$HTTPS_DIR/pki
	{
		printf '[ext]\nbasicConstraints=CA:FALSE\n'
		printf 'extendedKeyUsage=serverAuth\nsubjectAltName='
		for d in $DNS_GRANT; do printf 'DNS:mta-sts.%s\n' "$d"; done |
			paste -sd, -
	} >"$p/$1.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$p/$1.key" -out "$p/$1.csr" -subj "/CN=$1" \
		2>"$p/$1.err" &&
		openssl x509 -req -in "$p/$1.csr" -CA "$p/ca.crt" \
			-CAkey "$p/ca.key" -CAcreateserial -days 30 \
			-extfile "$p/$1.ext" -extensions ext -out "$p/$1.crt" \
			2>"$p/$1.err" ||
		bail_out "certificate $1: $(cat "$p/$1.err")"
}

lab_start_second() {
	tap_scratch || return 1
	dns_port LAB_DNS_PORT2 || bail_out "no free port"
	case "$1" in
	bind) dns_require_bind
		dns_start_bind "$LAB_DIR/dns2" "$LAB_DNS_PORT2" "$LAB_KEY" ;;
	knot) dns_require_knot
		dns_start_knot "$LAB_DIR/dns2" "$LAB_DNS_PORT2" "$LAB_KEY" ;;
	pdns) dns_require_pdns
		dns_start_pdns "$LAB_DIR/dns2" "$LAB_DNS_PORT2" "$LAB_KEY" ;;
	*) bail_out "lab_start_second: bind, knot or pdns" ;;
	esac || bail_out "the second server ($1) did not start"
}

lab_upstream() {
	https_put "${1:-$LAB_UPSTREAM}" /.well-known/mta-sts.txt
}

lab_upstream_url() { https_url "${1:-$LAB_UPSTREAM}"; }

lab_policy_file() {
	echo "$HTTPS_DIR/www/mta-sts.$1/.well-known/mta-sts.txt"
}

lab_options() {
	local d
	printf 'include "%s";\n' "$LAB_KEY"
	printf 'options {\n'
	printf '\tkey "mtasts";\n'
	printf '\tserver 127.0.0.1 port %s;\n' "$LAB_DNS_PORT"
	printf '\tca-file "%s";\n' "$HTTPS_CA"
	printf '\tresolve "%s";\n' "$(https_resolve "$LAB_UPSTREAM")"
	for d in $DNS_GRANT; do
		printf '\tresolve "%s";\n' "$(https_resolve "mta-sts.$d")"
	done
	printf '\tpolicy-file "%s/www/mta-sts.%%d/.well-known/mta-sts.txt";\n' \
		"$HTTPS_DIR"
	printf '\ttimeout 5;\n\tverify-timeout 3;\n'
	[ -n "${1:-}" ] && printf '\t%s\n' "$1"
	printf '};\n'
}

lab_domain() {
	printf 'domain "%s" {\n' "$1"
	case "${2:-}" in
	*verify-url*) ;;
	*) printf '\tverify-url "%s";\n' "$(https_url "mta-sts.$1")" ;;
	esac
	case "${2:-}" in
	*"policy {"* | *'upstream "'*) ;;
	*) printf '\tupstream "%s";\n' "$(lab_upstream_url)" ;;
	esac
	[ -n "${2:-}" ] && printf '\t%s\n' "$2"
	printf '};\n'
}

lab_sync() {
	local conf=$1
	shift
	run_cmd out rc "$MTA_STS_SYNC" -c "$conf" "$@"
}
