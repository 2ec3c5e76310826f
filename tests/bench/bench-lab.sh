# bench-lab.sh - the loopback lab of the scale benchmark: one BIND primary
# with N zones (d00001.bench.test ... one domain each, with update-policy
# grants for its two names), and one nginx over HTTPS with the test CA
# that serves the shared upstream policy host and every policy host
# mta-sts.<domain>. Source it after tests/lib/tap.sh, dns.sh and https.sh.
#
# Certificates: one certificate per 100 policy hosts (Let's Encrypt's SAN
# limit, what a hosting operator would have), each in its own nginx
# server block; the document root is picked by $host, so that a single
# root directory holds www/mta-sts.<domain>/.well-known/mta-sts.txt.
#
#   bench_names N              the N domain names, one a line
#   bench_bind_start DIR PORT N
#                              fresh zone files and start named (stopped
#                              by at_exit); returns once every zone loaded
#   bench_bind_reset DIR PORT N
#                              stop named, throw away its journals, start
#                              again from fresh zone files (serial 1)
#   bench_serials PORT N       "zone serial" of every zone, one a line
#   bench_nginx_start N        certificates, nginx.conf, start nginx
#   bench_conf FILE PORT N [LINES [DOMAIN_LINES]]
#                              write the mta-sts-sync configuration; LINES
#                              go into options { }, DOMAIN_LINES into
#                              every domain { } with %d its name

BENCH_UPSTREAM=mta-sts.upstream.test
BENCH_SAN_CHUNK=100

# Where nginx listens. As root, on port 443 of an address of its own, so
# that the configuration is an operator's: every domain's verify URL is
# the default https://mta-sts.<domain>/.well-known/mta-sts.txt and one
# resolve "*:443:ADDR" sends the names to the lab. Otherwise (or with
# BENCH_PORT_443=0) on a free port of 127.0.0.1, which every domain's
# verify-url then has to name.
_bench_listen() {
	if [ "$(id -u)" = 0 ] && [ "${BENCH_PORT_443:-1}" = 1 ] &&
		! ss -Hltn 'sport = :443' 2>/dev/null | grep -q '127\.0\.44\.3:443'; then
		BENCH_HTTPS_ADDR=127.0.44.3
		BENCH_HTTPS_PORT=443
	else
		BENCH_HTTPS_ADDR=127.0.0.1
		BENCH_HTTPS_PORT=$HTTPS_PORT
	fi
}

# bench_https_url HOST: the policy URL of HOST in the lab.
bench_https_url() {
	if [ "$BENCH_HTTPS_PORT" = 443 ]; then
		printf 'https://%s/.well-known/mta-sts.txt\n' "$1"
	else
		printf 'https://%s:%s/.well-known/mta-sts.txt\n' "$1" "$BENCH_HTTPS_PORT"
	fi
}

bench_names() {
	awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
		printf "d%05d.bench.test\n", i }'
}

# _bench_zones DIR N: write DIR/zones/<domain>.zone for every domain (no
# record at the managed names yet) and DIR/zones.conf, their zone
# statements with the grants.
_bench_zones() {
	local dir=$1
	rm -rf "$dir/zones"
	mkdir -p "$dir/zones"
	bench_names "$2" | awk -v dir="$dir" '
	{
		f = dir "/zones/" $1 ".zone"
		printf "$ORIGIN %s.\n$TTL 3600\n", $1 > f
		printf "@ SOA ns.bench.test. hostmaster.bench.test. " \
			"1 3600 600 604800 300\n" > f
		printf "@ NS ns.bench.test.\n@ MX 10 mx1.mail.bench.test.\n" > f
		printf "@ MX 20 mx2.mail.bench.test.\nwww A 127.0.0.1\n" > f
		close(f)
		printf "zone \"%s\" {\n\ttype primary;\n\tfile \"%s\";\n", \
			$1, f > (dir "/zones.conf")
		printf "\tupdate-policy {\n" > (dir "/zones.conf")
		printf "\t\tgrant mtasts name _mta-sts.%s. TXT;\n", \
			$1 > (dir "/zones.conf")
		printf "\t\tgrant mtasts name _smtp._tls.%s. TXT;\n", \
			$1 > (dir "/zones.conf")
		printf "\t};\n};\n" > (dir "/zones.conf")
	}'
}

# _bench_bind_wait DIR PORT N: wait until named says it is running and
# the last zone answers.
_bench_bind_wait() {
	local last
	last=$(printf 'd%05d.bench.test' "$3")
	for _ in $(seq 1 1200); do
		if grep -q ' running$' "$1/named.log" 2>/dev/null &&
			dig +tcp +norec +short +time=2 +tries=1 -p "$2" \
				@127.0.0.1 "$last" SOA | grep -q 'bench.test'; then
			return 0
		fi
		kill -0 "$(cat "$1/server.pid" 2>/dev/null)" 2>/dev/null || break
		sleep 0.1
	done
	echo "# named did not start; the end of its log:" >&2
	tail -20 "$1/named.log" | sed 's/^/# /' >&2
	return 1
}

bench_bind_start() {
	local dir=$1 port=$2
	_bench_zones "$dir" "$3"
	cat >"$dir/named.conf" <<EOF
options {
	directory "$dir";
	pid-file "$dir/named.pid";
	session-keyfile "$dir/session.key";
	managed-keys-directory "$dir";
	listen-on port $port { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	notify no;
	dnssec-validation no;
	allow-transfer { none; };
};
controls { };
include "$dir/mtasts.key";
include "$dir/zones.conf";
EOF
	named -g -c "$dir/named.conf" >"$dir/named.log" 2>&1 &
	echo $! >"$dir/server.pid"
	at_exit "dns_stop '$dir'"
	_bench_bind_wait "$dir" "$port" "$3"
}

bench_bind_reset() {
	dns_stop "$1"
	rm -f "$1/named.log"
	bench_bind_start "$@" && return 0
	# once more: named may still hold the port while it shuts down
	echo "# named did not restart; trying once more" >&2
	dns_stop "$1"
	sleep 2
	bench_bind_start "$@"
}

# bench_serials PORT N: one dig for all the SOA queries.
bench_serials() {
	bench_names "$2" | awk '{ print $1, "SOA" }' >"$T/serials.q"
	dig +tcp +norec +noall +answer -p "$1" @127.0.0.1 -f "$T/serials.q" |
		awk '$4 == "SOA" { print $1, $7 }' | sort
}

# _bench_cert ID NAME...: a certificate for the names, from the test CA.
_bench_cert() {
	local id=$1 p=$HTTPS_DIR/pki
	shift
	printf '[ext]\nsubjectAltName=%s\nbasicConstraints=CA:FALSE\n%s\n' \
		"$(printf 'DNS:%s\n' "$@" | paste -sd, -)" \
		"extendedKeyUsage=serverAuth" >"$p/$id.ext"
	openssl req -new -key "$p/bench.key" -out "$p/$id.csr" \
		-subj "/CN=$1" 2>"$p/$id.err" &&
		openssl x509 -req -in "$p/$id.csr" -CA "$p/ca.crt" \
			-CAkey "$p/ca.key" -CAcreateserial -days 30 \
			-extfile "$p/$id.ext" -extensions ext \
			-out "$p/$id.crt" 2>"$p/$id.err" ||
		bail_out "certificate $id: $(cat "$p/$id.err")"
}

# _bench_server CERT_ID NAME...: an nginx server block for the names.
_bench_server() {
	local cert=$1
	shift
	printf 'server {\n listen %s:%s ssl;\n' "$BENCH_HTTPS_ADDR" "$BENCH_HTTPS_PORT"
	printf ' server_name %s;\n' "$*"
	printf ' root %s/www/$host;\n' "$HTTPS_DIR"
	printf ' ssl_certificate %s/pki/%s.crt;\n' "$HTTPS_DIR" "$cert"
	printf ' ssl_certificate_key %s/pki/bench.key;\n}\n' "$HTTPS_DIR"
}

bench_nginx_start() {
	local n=$HTTPS_DIR/nginx p=$HTTPS_DIR/pki chunk=0 names
	https_init
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$p/bench.key" 2>/dev/null || bail_out "no EC key"
	_bench_cert upstream "$BENCH_UPSTREAM"
	mkdir -p "$HTTPS_DIR/www/$BENCH_UPSTREAM/.well-known"
	{
		https_conf_head auto 1024 warn
		printf 'types { text/plain txt; }\ndefault_type text/plain;\n'
		printf 'server_names_hash_max_size 65536;\n'
		printf 'server_names_hash_bucket_size 128;\n'
		printf 'server_tokens off;\nkeepalive_timeout 5;\n'
		printf 'ssl_protocols TLSv1.2 TLSv1.3;\n'
		_bench_server upstream "$BENCH_UPSTREAM"
		while names=$(sed -n "$((chunk * BENCH_SAN_CHUNK + 1)),$(((chunk + 1) * BENCH_SAN_CHUNK))p" "$T/policy-hosts") &&
			[ -n "$names" ]; do
			# shellcheck disable=SC2086
			_bench_cert "hosts$chunk" $names
			# shellcheck disable=SC2086
			_bench_server "hosts$chunk" $names
			chunk=$((chunk + 1))
		done
		printf '}\n'
	} >"$n/nginx.conf"
	"$HTTPS_NGINX" -e "$n/error.log" -p "$n/" -c "$n/nginx.conf" \
		>"$n/start.out" 2>&1 ||
		bail_out "nginx did not start: $(tail -5 "$n/start.out" "$n/error.log")"
	at_exit https_stop
}

# bench_policy_hosts N: write $T/policy-hosts (mta-sts.<domain>, one a
# line) and make every host's document root.
bench_policy_hosts() {
	bench_names "$1" | sed 's/^/mta-sts./' >"$T/policy-hosts"
	(cd "$HTTPS_DIR/www" && xargs mkdir -p <"$T/policy-hosts")
}

# bench_conf FILE PORT N [LINES [DOMAIN_LINES]]: the domains go into include files of
# 1000 domains each, as a hosting operator would split them (and since
# one configuration file may hold at most 1 MiB).
bench_conf() {
	local file=$1 port=$2 n=$3 inc
	inc=${file%.conf}.d
	rm -rf "$inc"
	mkdir -p "$inc"
	{
		printf 'include "%s";\n' "$BENCH_DNS/mtasts.key"
		printf 'options {\n\tkey "mtasts";\n'
		printf '\tserver 127.0.0.1 port %s;\n' "$port"
		printf '\tca-file "%s";\n' "$HTTPS_CA"
		printf '\tresolve "*:%s:%s";\n' "$BENCH_HTTPS_PORT" "$BENCH_HTTPS_ADDR"
		printf '\tupstream "%s";\n' "$(bench_https_url "$BENCH_UPSTREAM")"
		printf '\tpolicy-file "%s/www/mta-sts.%%d/.well-known/mta-sts.txt";\n' \
			"$HTTPS_DIR"
		printf '\ttimeout 10;\n\tverify-timeout 5;\n'
		[ -n "${4:-}" ] && printf '\t%s\n' "$4"
		printf '};\n'
	} >"$file"
	bench_names "$n" | awk -v port="$BENCH_HTTPS_PORT" -v inc="$inc" -v conf="$file" \
		-v extra="${5:-}" '{
		f = sprintf("%s/%03d.conf", inc, int((NR - 1) / 1000))
		if (f != last) {
			if (last != "")
				close(last)
			printf "include \"%s\";\n", f >> conf
			last = f
		}
		printf "domain \"%s\" {\n", $1 > f
		if (port != 443)
			printf "\tverify-url \"https://mta-sts.%s:%s/.well-known/mta-sts.txt\";\n", $1, port > f
		printf "\ttls-rpt \"mailto:tlsrpt@%s\";\n", $1 > f
		if (extra != "") {
			x = extra
			gsub(/%d/, $1, x)
			printf "\t%s\n", x > f
		}
		printf "};\n" > f
	}'
}

# bench_lab_start N: the whole lab for N domains: BIND with their zones
# in $BENCH_DNS on $PORT (both set here), nginx with the policy hosts and
# the upstream serving `policy` (defined by the caller).
bench_lab_start() {
	BENCH_DNS=$T/dns
	PORT=$(freeport 1) || bail_out "no free port"
	dns_key "$BENCH_DNS" >/dev/null
	https_init
	_bench_listen
	bench_policy_hosts "$1"
	policy | https_put "$BENCH_UPSTREAM" /.well-known/mta-sts.txt
	bench_nginx_start "$1"
	bench_bind_start "$BENCH_DNS" "$PORT" "$1" ||
		bench_bind_reset "$BENCH_DNS" "$PORT" "$1" ||
		bail_out "named did not start"
}
