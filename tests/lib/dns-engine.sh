# dns-engine.sh - the DNS UPDATE engine cases run against both BIND and
# Knot (tests/dns-bind.test, tests/dns-knot.test) through the test driver
# tests/tools/dns-tool. Source after tap.sh and dns.sh.

# tap.sh first: its tap_scratch keeps the functions below from writing
# outside a test's $T
declare -F tap_scratch >/dev/null ||
	{ echo "dns-engine.sh: source tests/lib/tap.sh first" >&2; return 1; }

DT="$top_builddir/tests/tools/dns-tool"
DNS_ALGS="hmac-md5 hmac-sha1 hmac-sha224 hmac-sha256 hmac-sha384 hmac-sha512"

# key_arg KEYFILE: the alg:name:secret form of a BIND key file.
key_arg() {
	printf '%s:%s:%s' "$(dns_key_alg "$1")" "$(dns_key_name "$1")" \
		"$(dns_key_secret "$1")"
}

# tool ARGS...: run dns-tool, output in $out, status in $rc.
tool() { run_cmd out rc "$DT" "$@"; }

# dns_engine_keys DIR: generate the keys the server knows, one file per
# line on standard output: the main key, one key per algorithm and the
# key file formats (ddns-confgen, keymgr -t, one-line).
dns_engine_keys() {
	tap_scratch || return 1
	local dir="$1" a s
	mkdir -p "$dir/keys"
	dns_key "$dir" hmac-sha256 mtasts
	for a in $DNS_ALGS; do
		dns_key "$dir/keys" "$a" "k-${a#hmac-}"
	done
	(umask 077 && ddns-confgen -q -a hmac-sha384 -k fmt-ddns \
		>"$dir/keys/fmt-ddns.conf" 2>/dev/null)
	echo "$dir/keys/fmt-ddns.conf"
	(umask 077 && keymgr -t fmt-knot hmac-sha512 >"$dir/keys/fmt-knot.yaml")
	dns_key_from_yaml "$dir/keys/fmt-knot.yaml" "$dir/keys/fmt-knot.key"
	echo "$dir/keys/fmt-knot.key"
	# one-line keys: a secret without and one with a '/'
	for n in line slash; do
		s=$(openssl rand -base64 32 | tr -d '\n' | tr '/' 'A')
		[ "$n" = slash ] && s="/${s#?}"
		(umask 077 &&
			printf 'key "fmt-%s" {\n\talgorithm hmac-sha224;\n\tsecret "%s";\n};\n' \
				"$n" "$s" >"$dir/keys/fmt-$n.key" &&
			echo "hmac-sha224:fmt-$n:$s" >"$dir/keys/fmt-$n.txt")
		echo "$dir/keys/fmt-$n.key"
	done
}

# engine_publish KIND PORT KEY: first publication, dry run, change, no-op.
engine_publish() {
	local kind="$1" port="$2" key="$3" s0 S
	S="--server 127.0.0.1 --port $port --zone example.com --key $key"
	s0=$(dns_serial "$port")

	tool update --domain example.com $S --sts "v=STSv1; id=20260101" \
		--tlsrpt "v=TLSRPTv1; rua=mailto:tlsrpt@example.com" --dry-run
	is "$rc" 0 "$kind: dry run succeeds"
	like "$out" '^zone example.com$' "$kind: dry run names the zone"
	like "$out" '^prereq yxrrset _mta-sts.example.com TXT "unrelated=keep-me"$' \
		"$kind: dry run: value-dependent prerequisite on the RRset as read"
	like "$out" '^prereq nxrrset _smtp._tls.example.com TXT$' \
		"$kind: dry run: RRset-does-not-exist prerequisite"
	like "$out" '^update add _mta-sts.example.com 3600 TXT "v=STSv1; id=20260101"$' \
		"$kind: dry run: add the STS record"
	like "$out" '^update add _smtp._tls.example.com 3600 TXT "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"$' \
		"$kind: dry run: add the TLS-RPT record"
	is "$(dns_serial "$port")" "$s0" "$kind: dry run sends nothing"

	tool update --domain example.com $S --sts "v=STSv1; id=20260101" \
		--tlsrpt "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"
	is "$rc" 0 "$kind: first publication succeeds"
	like "$out" '^updated$' "$kind: first publication reported"
	is "$(dns_serial "$port")" "$((s0 + 1))" \
		"$kind: both records in one message (serial +1)"
	is "$(dns_txt "$port" _mta-sts.example.com)" '"unrelated=keep-me"
"v=STSv1; id=20260101"' "$kind: STS record added, unrelated TXT kept"
	is "$(dns_txt "$port" _smtp._tls.example.com)" \
		'"v=TLSRPTv1; rua=mailto:tlsrpt@example.com"' \
		"$kind: TLS-RPT record added"

	tool read --domain example.com $S
	like "$out" '^_mta-sts.example.com TXT "v=STSv1; id=20260101"$' \
		"$kind: state read shows the STS record"
	like "$out" '^example.com MX mx1.example.com$' \
		"$kind: state read shows the MX hosts"

	tool update --domain example.com $S --sts "v=STSv1; id=20260202" \
		--ttl 300 --dry-run
	like "$out" '^update delete _mta-sts.example.com TXT "v=STSv1; id=20260101"$' \
		"$kind: dry run of a change deletes exactly the old record"
	unlike "$out" '_smtp._tls' "$kind: dry run leaves the other name alone"

	tool update --domain example.com $S --sts "v=STSv1; id=20260202" \
		--ttl 300
	is "$rc" 0 "$kind: change succeeds"
	is "$(dns_serial "$port")" "$((s0 + 2))" "$kind: change: serial +1"
	is "$(dns_txt "$port" _mta-sts.example.com)" '"unrelated=keep-me"
"v=STSv1; id=20260202"' "$kind: change replaced the STS record only"
	is "$(dig_ttl "$port" _mta-sts.example.com v=STSv1)" 300 \
		"$kind: change used the TTL"
	is "$(dns_txt "$port" _smtp._tls.example.com)" \
		'"v=TLSRPTv1; rua=mailto:tlsrpt@example.com"' \
		"$kind: change left the TLS-RPT record"

	tool update --domain example.com $S --sts "v=STSv1; id=20260202" \
		--tlsrpt "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"
	is "$rc" 0 "$kind: no-op succeeds"
	like "$out" '^no change$' "$kind: no-op reported"
	is "$(dns_serial "$port")" "$((s0 + 2))" \
		"$kind: no-op sends no UPDATE (serial unchanged)"
	is "$(dig_ttl "$port" _smtp._tls.example.com v=TLSRPTv1)" 3600 \
		"$kind: no-op without a TTL kept the records' TTLs"

	tool update --domain example.com $S --sts "v=STSv1; id=20260202" \
		--ttl 300
	like "$out" '^no change$' "$kind: the TTL they have: no change"
	tool update --domain example.com $S --sts "v=STSv1; id=20260202" \
		--ttl 900 --dry-run
	like "$out" '^update delete _mta-sts.example.com TXT "v=STSv1; id=20260202"$' \
		"$kind: dry run: another TTL deletes the record..."
	like "$out" '^update add _mta-sts.example.com 900 TXT "v=STSv1; id=20260202"$' \
		"$kind: dry run: ... and adds it with that TTL"
	tool update --domain example.com $S --sts "v=STSv1; id=20260202" \
		--ttl 900
	is "$rc" 0 "$kind: TTL change succeeds"
	[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
	is "$(dig_ttl "$port" _mta-sts.example.com v=STSv1)" 900 \
		"$kind: TTL change: the record has the new TTL"
	is "$(dns_txt "$port" _mta-sts.example.com)" '"unrelated=keep-me"
"v=STSv1; id=20260202"' "$kind: TTL change: the same records"
	is "$(dns_serial "$port")" "$((s0 + 3))" "$kind: TTL change: serial +1"
}

# engine_algs KIND PORT DIR: every TSIG algorithm, reads and updates.
engine_algs() {
	local kind="$1" port="$2" dir="$3" a k
	for a in $DNS_ALGS; do
		k="$dir/keys/k-${a#hmac-}.key"
		tool update --domain example.com --server 127.0.0.1 \
			--port "$port" --zone example.com --key "$(key_arg "$k")" \
			--sts "v=STSv1; id=${a#hmac-}"
		is "$rc" 0 "$kind: $a: signed read and update succeed"
		[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
		like "$(dns_txt "$port" _mta-sts.example.com)" \
			"^\"v=STSv1; id=${a#hmac-}\"$" "$kind: $a: record changed"
	done
}

# engine_keyfiles KIND PORT DIR: the key file formats.
engine_keyfiles() {
	local kind="$1" port="$2" dir="$3" f n=0
	for f in "$dir/mtasts.key" "$dir/keys/fmt-ddns.conf" \
		"$dir/keys/fmt-knot.yaml" "$dir/keys/fmt-line.txt"; do
		n=$((n + 1))
		tool update --domain example.com --server 127.0.0.1 \
			--port "$port" --zone example.com --key-file "$f" \
			--sts "v=STSv1; id=keyfile$n"
		is "$rc" 0 "$kind: key file ${f##*/} accepted by the server"
		[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
		like "$(dns_txt "$port" _mta-sts.example.com)" \
			"^\"v=STSv1; id=keyfile$n\"$" \
			"$kind: key file ${f##*/}: record changed"
	done
	tool update --domain example.com --server 127.0.0.1 --port "$port" \
		--zone example.com --key-file "$dir/keys/fmt-slash.txt" \
		--sts "v=STSv1; id=keyslash"
	is "$rc" 0 "$kind: one-line key file whose secret holds a '/'"
}

# engine_discovery KIND PORT KEY: zone and primary discovery.
engine_discovery() {
	local kind="$1" port="$2" key="$3"

	tool find --domain example.com --resolver "127.0.0.1#$port" \
		--port "$port" --key "$key"
	is "$rc" 0 "$kind: discovery through a resolver succeeds"
	like "$out" '^zone example.com$' "$kind: zone found by SOA walk"
	like "$out" '^server ns1.example.com$' "$kind: primary from SOA MNAME"
	like "$out" "^address 127.0.0.1 port $port$" \
		"$kind: MNAME A address"
	like "$out" "^address ::1 port $port$" "$kind: MNAME AAAA address"

	tool find --domain example.com --resolver "::1#$port" --port "$port" \
		--key "$key"
	like "$out" '^server ns1.example.com$' \
		"$kind: discovery through a resolver on IPv6"

	tool find --domain nosuch.example --resolver "127.0.0.1#$port" \
		--port "$port" --key "$key"
	is "$rc" 1 "$kind: discovery of a name nobody serves fails"
	like "$out" "resolver 127.0.0.1 port $port answered REFUSED to the query for _mta-sts.nosuch.example SOA" \
		"$kind: discovery failure names the resolver and the query"

	# a configured zone: its primary is its own SOA MNAME; a name
	# inside a zone is no zone, and the zone above it (whose SOA the
	# resolver gives) does not silently take its place
	tool find --domain example.com --zone example.com \
		--resolver "127.0.0.1#$port" --port "$port" --key "$key"
	is "$rc" 0 "$kind: a configured zone's primary found through a resolver"
	like "$out" '^server ns1.example.com$' \
		"$kind: ... from the configured zone's SOA MNAME"
	tool find --domain other.example.com --zone other.example.com \
		--resolver "127.0.0.1#$port" --port "$port" --key "$key"
	is "$rc" 1 "$kind: a configured zone that is no zone: fails"
	is "$out" "dns-tool: zone other.example.com: resolver 127.0.0.1 port $port has no SOA record at that name, only zone example.com's above it, so other.example.com is no zone there and its primary is not known; fix \`zone\` (or leave it out to have it found), or, if zone other.example.com is one that this resolver does not see, set \`server\` to its primary" \
		"$kind: ... naming both zones and what to fix"

	tool update --domain example.com --resolver "127.0.0.1#$port" \
		--port "$port" --key "$key" --sts "v=STSv1; id=discovered"
	is "$rc" 0 "$kind: update through the discovered primary"
	like "$(dns_txt "$port" _mta-sts.example.com)" \
		'^"v=STSv1; id=discovered"$' "$kind: discovered update applied"

	# a configured server named by a host name that only the
	# configured resolver knows
	tool find --domain example.com --server ns1.example.com \
		--resolver "127.0.0.1#$port" --port "$port" --key "$key"
	is "$rc" 0 "$kind: a server host name resolved by the resolver"
	[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
	like "$out" "^address 127.0.0.1 port $port$" \
		"$kind: ... to its A address"
	like "$out" "^address ::1 port $port$" "$kind: ... and its AAAA address"
	tool find --domain example.com --server nosuch.example.com \
		--resolver "127.0.0.1#$port" --port "$port" --key "$key"
	like "$out" "server nosuch.example.com has no IPv4 or IPv6 address \\(asked resolver 127.0.0.1 port $port\\)" \
		"$kind: a server host name the resolver does not know: said"

	tool find --domain example.com --server 127.0.0.1 --port "$port" \
		--key "$key"
	like "$out" '^zone example.com$' \
		"$kind: zone found by SOA walk asked of the configured server"
	like "$out" '^server 127.0.0.1$' "$kind: configured server kept"

	tool read --domain example.com --server 127.0.0.1 --port "$port" \
		--key "$key" --show-kept
	is "$rc" 0 "$kind: read with the state queries sent with the SOA query"
	like "$out" '^_mta-sts.example.com TXT "v=STSv1; id=discovered"$' \
		"$kind: records read along with the discovery"
	like "$out" '^example.com MX ' "$kind: MX read along with the discovery"
	like "$out" '^kept _mta-sts\.example\.com SOA zone example\.com$' \
		"$kind: the zone of _mta-sts, read from the discovery's SOA answer, is kept for the zone check"
	kept=$(printf '%s\n' "$out" | sed -n 's/^kept bytes //p')
	[ "$kept" = "?" ] || [ "${kept:-99999}" -lt 256 ]
	ok "$kind: what is kept of that answer is its zone's name, not the answer (~2 KiB): $kept bytes"

	tool read --domain nosuch.example --server 127.0.0.1 --port "$port" \
		--key "$key"
	is "$rc" 1 "$kind: read of a name the server does not serve fails"
	if [ "$kind" = knot ]; then # Knot does not sign this REFUSED
		like "$out" "server 127.0.0.1 port $port sent an unsigned reply \(REFUSED\) .*is it authoritative for this name" \
			"$kind: the discovery's REFUSED is reported, with what to check"
	else
		like "$out" "server 127.0.0.1 port $port answered REFUSED to the query for _mta-sts.nosuch.example SOA" \
			"$kind: the discovery's failure is reported, not the reads sent with it"
	fi

	tool update --domain example.com --server ::1 --port "$port" \
		--key "$key" --sts "v=STSv1; id=ipv6"
	is "$rc" 0 "$kind: update over IPv6 (server ::1)"
	like "$(dns_txt "$port" _mta-sts.example.com)" '^"v=STSv1; id=ipv6"$' \
		"$kind: IPv6 update applied"

	tool update --domain example.com --server localhost --port "$port" \
		--zone example.com --key "$key" --sts "v=STSv1; id=hostname"
	is "$rc" 0 "$kind: server given as a host name"
	like "$(dns_txt "$port" _mta-sts.example.com)" \
		'^"v=STSv1; id=hostname"$' "$kind: host name update applied"
}

# engine_two_domains KIND PORT KEY: two domains of one zone, one message.
engine_two_domains() {
	local kind="$1" port="$2" key="$3" s0
	s0=$(dns_serial "$port")
	tool update --server 127.0.0.1 --port "$port" --zone example.com \
		--key "$key" --domain example.com --sts "v=STSv1; id=both1" \
		--domain other.example.com --sts "v=STSv1; id=both2" \
		--tlsrpt "v=TLSRPTv1; rua=mailto:tlsrpt@other.example.com"
	is "$rc" 0 "$kind: two domains of one zone updated"
	is "$(dns_serial "$port")" "$((s0 + 1))" \
		"$kind: two domains in one message (serial +1)"
	like "$(dns_txt "$port" _mta-sts.example.com)" '^"v=STSv1; id=both1"$' \
		"$kind: first domain's record"
	is "$(dns_txt "$port" _mta-sts.other.example.com)" '"v=STSv1; id=both2"' \
		"$kind: second domain's record"
	is "$(dns_txt "$port" _smtp._tls.other.example.com)" \
		'"v=TLSRPTv1; rua=mailto:tlsrpt@other.example.com"' \
		"$kind: second domain's TLS-RPT record"
}

# engine_big KIND PORT KEY: an UPDATE of several KiB (a TLS-RPT record
# with many addresses, split into character-strings), built in a buffer
# that starts at 1 KiB and grows.
engine_big() {
	local kind="$1" port="$2" key="$3" rua i
	rua="v=TLSRPTv1; rua=mailto:tlsrpt@example.com"
	for i in $(seq 1 60); do
		rua="$rua,mailto:reports-$i@example.com"
	done
	tool update --domain example.com --server 127.0.0.1 --port "$port" \
		--zone example.com --key "$key" --tlsrpt "$rua"
	is "$rc" 0 "$kind: an UPDATE carrying a ${#rua}-byte record succeeds"
	[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
	is "$(dns_txt "$port" _smtp._tls.example.com | sed 's/" "//g; s/^"//; s/"$//')" \
		"$rua" "$kind: the whole record is on the server"
}

# dns_engine_tests KIND: start KIND (bind or knot) and run every case.
dns_engine_tests() {
	tap_scratch || return 1
	local kind="$1" dir="$T/$1" port keys
	dns_port port || bail_out "no free port"
	keys=$(dns_engine_keys "$dir")
	# shellcheck disable=SC2086
	DNS_GRANT="example.com other.example.com" \
		dns_start_$kind "$dir" "$port" $keys || bail_out "cannot start $kind"
	engine_publish "$kind" "$port" "$(key_arg "$dir/mtasts.key")"
	engine_algs "$kind" "$port" "$dir"
	engine_keyfiles "$kind" "$port" "$dir"
	engine_discovery "$kind" "$port" "$(key_arg "$dir/mtasts.key")"
	engine_two_domains "$kind" "$port" "$(key_arg "$dir/mtasts.key")"
	engine_big "$kind" "$port" "$(key_arg "$dir/mtasts.key")"
}
