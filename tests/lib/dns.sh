# dns.sh - start real authoritative servers (BIND named, Knot knotd,
# PowerDNS pdns_server) on loopback for the tests. Source it after tap.sh:
#   . "$top_srcdir/tests/lib/tap.sh"; . "$top_srcdir/tests/lib/dns.sh"
#
# A server directory DIR holds the key, the zone (zones/example.com.zone)
# and the server's configuration; the update key "mtasts" may change only
# _mta-sts.<d> TXT and _smtp._tls.<d> TXT of the domains in $DNS_GRANT
# (default "example.com"). Servers listen on 127.0.0.1 and ::1 on the
# port given and are stopped by at_exit.
#
#   dns_require_bind / _knot / _pdns         skip_all unless installed
#   dns_key DIR [ALG] [NAME]     tsig-keygen key file DIR/NAME.key (0600)
#   dns_key_secret FILE / dns_key_alg FILE   fields of a BIND key file
#   dns_start_bind DIR PORT [KEYFILE...]     named (default DIR/mtasts.key;
#                                            every key gets the grants)
#   dns_start_knot DIR PORT [KEYFILE...]     knotd
#   dns_start_pdns DIR PORT [KEYFILE...]     pdns_server (PowerDNS with
#                                            the gsqlite3 backend)
#   dns_start_pdns_bind DIR PORT [KEYFILE...] pdns_server with its bind
#                                            backend (zone files), which
#                                            takes no updates
#   dns_start_bind_secondary DIR PORT PRIMARY KEYFILE [noforward]
#                                named, a secondary of example.com that
#                                forwards updates to the BIND primary
#                                at port PRIMARY (or, with noforward,
#                                refuses them)
#   dns_key_from_yaml YAML OUT               BIND key file of a keymgr -t key
#   dns_stop DIR                             stop the server early
#   dns_port VAR                 a free port in VAR, reserved against the
#                                other tests until this one ends (freeport)
#   dns_serial PORT [ZONE]                   the zone's SOA serial
#   dns_txt PORT NAME                        the TXT records, one a line
#   dns_batch PORT TYPE NAME...              "NAME DATA" of each answer,
#                                            sorted, in one dig process
#   dns_nsupdate PORT KEYFILE < commands     nsupdate over TCP
#
# $DNS_ZONES, when set (e.g. "example.org example.net"), lists more zones
# that the servers serve beside example.com: each is the example zone with
# its origin changed, with the same grants; one whose name begins with an
# underscore (_mta-sts.example.org, _tls.example.net) is empty instead.
#
# $DNS_ZONE_LINES, when set, is added to the end of every zone (zone file
# lines, names relative to each zone's origin), e.g. a wildcard.
# $DNS_ZONE_LINES_<zone>, its dots and dashes written as underscores (e.g.
# DNS_ZONE_LINES_example_net), when set, is added to that zone instead.
#
# $DNS_FAKETIME, when set (e.g. "+2h"), runs the server under faketime.
#
# $DNS_SIGNED, when set, signs the zones of BIND (dnssec-policy default,
# inline-signing: the updates go to the unsigned copy and are served once
# signed) and of Knot (dnssec-signing on).
#
# $DNS_BIND_ZONE_OPTIONS, when set, is added to each BIND zone statement
# (e.g. "max-zone-ttl 86400;").
#
# $DNS_BIND_OPTIONS, when set, is added to BIND's options statement (e.g.
# "querylog yes;": named then logs each query to DIR/named.log).
#
# $DNS_BIND_ADMIN_KEY, when set, names a key file whose key BIND lets
# change anything in its zones (grant zonesub ANY), as an administrator's
# (the update key may change only TXT records): to make a CNAME, say.
#
# $DNS_KNOT_ACL_PER_DOMAIN, when set, gives Knot one acl per domain of
# $DNS_GRANT (as `server-config --knot` printed before it printed one
# per zone) instead of one for them all: Knot allows an UPDATE only when
# one acl allows all of it, so it refuses one carrying several domains.

# tap.sh first: its tap_scratch keeps the functions below from writing
# outside a test's $T
declare -F tap_scratch >/dev/null ||
	{ echo "dns.sh: source tests/lib/tap.sh first" >&2; return 1; }

: "${DNS_GRANT:=example.com}"
DNS_ZONE_TEMPLATE="$top_srcdir/zones/example.com.zone"

dns_require_bind() {
	command -v named >/dev/null 2>&1 && command -v dig >/dev/null 2>&1 &&
		command -v tsig-keygen >/dev/null 2>&1 ||
		skip_all "BIND 9 (named, dig, tsig-keygen) not installed"
}

dns_require_knot() {
	command -v knotd >/dev/null 2>&1 && command -v tsig-keygen >/dev/null 2>&1 ||
		skip_all "Knot DNS (knotd) not installed"
}

DNS_PDNS_SCHEMA=/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql
dns_require_pdns() {
	command -v pdns_server >/dev/null 2>&1 && command -v pdnsutil >/dev/null 2>&1 &&
		[ -f "$DNS_PDNS_SCHEMA" ] && command -v sqlite3 >/dev/null 2>&1 &&
		command -v tsig-keygen >/dev/null 2>&1 ||
		skip_all "PowerDNS (pdns-server, pdns-backend-sqlite3, sqlite3) not installed"
}

dns_require_pdns_bind() {
	command -v pdns_server >/dev/null 2>&1 && command -v pdnsutil >/dev/null 2>&1 &&
		ls /usr/lib/*/pdns/libbindbackend.so >/dev/null 2>&1
}

# dns_port VAR: set VAR to a free loopback port, reserved until this test
# ends (freeport).
dns_port() {
	local p
	p=$(freeport) || return 1
	eval "$1=\$p"
}

# dns_key DIR [ALG] [NAME]: generate a TSIG key as tsig-keygen writes it.
dns_key() {
	tap_scratch || return 1
	local f="$1/${3:-mtasts}.key"
	mkdir -p "$1"
	(umask 077 && tsig-keygen -a "${2:-hmac-sha256}" "${3:-mtasts}" >"$f")
	echo "$f"
}

dns_key_secret() { sed -n 's/.*secret "\([^"]*\)".*/\1/p' "$1"; }
dns_key_alg() { sed -n 's/.*algorithm \([^;]*\);.*/\1/p' "$1"; }
dns_key_name() { sed -n 's/^key "\([^"]*\)".*/\1/p' "$1"; }

# dns_key_from_yaml YAML OUT: the BIND form of a key written by keymgr -t.
dns_key_from_yaml() {
	tap_scratch || return 1
	local id alg secret
	id=$(sed -n 's/^ *- id: *//p' "$1")
	alg=$(sed -n 's/^ *algorithm: *//p' "$1")
	secret=$(sed -n 's/^ *secret: *//p' "$1")
	(umask 077 && printf 'key "%s" {\n\talgorithm %s;\n\tsecret "%s";\n};\n' \
		"$id" "$alg" "$secret" >"$2")
}

# dns_zone DIR: copy the example zone into DIR, and make the zones of
# $DNS_ZONES from it.
dns_zone() {
	tap_scratch || return 1
	local z v lines
	mkdir -p "$1"
	for z in example.com ${DNS_ZONES:-}; do
		v=DNS_ZONE_LINES_${z//[.-]/_}
		lines=${!v-${DNS_ZONE_LINES:-}}
		{
			case $z in
			_*) _dns_own_zone "$z" ;;
			*) sed 's/^\$ORIGIN example\.com\.$/$ORIGIN '"$z"'./' \
				"$DNS_ZONE_TEMPLATE" ;;
			esac
			if [ -n "$lines" ]; then
				printf '%s\n' "$lines"
			fi
		} >"$1/$z.zone"
		chmod 0644 "$1/$z.zone"
	done
}

# _dns_own_zone ZONE: an empty zone for a name such as _mta-sts.example.org
# that is a zone of its own (delegated from its parent's zone: put
# "_mta-sts NS ns1.example.com." in the parent with $DNS_ZONE_LINES_<zone>),
# its SOA and NS naming ns1.example.com (the example zone's host names
# below it would hold an underscore, which BIND refuses in them).
_dns_own_zone() {
	printf '$ORIGIN %s.\n$TTL 3600\n' "$1"
	printf '@\tSOA\tns1.example.com. hostmaster.example.com. 1 3600 600 604800 300\n'
	printf '@\tNS\tns1.example.com.\n'
}

# _dns_bind_zones DIR GRANTS: named.conf zone statements for $DNS_ZONES.
_dns_bind_zones() {
	local z
	for z in ${DNS_ZONES:-}; do
		printf 'zone "%s" {\n\ttype primary;\n\tfile "%s/%s.zone";\n' \
			"$z" "$1" "$z"
		_dns_bind_signing
		printf '\tupdate-policy {\n%s\n\t};\n};\n' "$2"
	done
}

# _dns_bind_signing / _dns_knot_signing: a zone's signing options, if
# $DNS_SIGNED (and BIND's $DNS_BIND_ZONE_OPTIONS).
_dns_bind_signing() {
	if [ -n "${DNS_SIGNED:-}" ]; then
		printf '\tdnssec-policy default;\n\tinline-signing yes;\n'
	fi
	if [ -n "${DNS_BIND_ZONE_OPTIONS:-}" ]; then
		printf '\t%s\n' "$DNS_BIND_ZONE_OPTIONS"
	fi
}
_dns_knot_signing() {
	if [ -n "${DNS_SIGNED:-}" ]; then
		printf '    dnssec-signing: on\n'
	fi
}

# _dns_knot_zones DIR: knot.conf zone entries for $DNS_ZONES.
_dns_knot_zones() {
	local z
	for z in ${DNS_ZONES:-}; do
		printf '  - domain: %s\n    file: "%s/%s.zone"\n' "$z" "$1" "$z"
		printf '    acl: %s\n' "$(_dns_knot_acl_ids)"
		_dns_knot_signing
	done
}

# _dns_bind_grants KEYNAME: update-policy grants for $DNS_GRANT.
_dns_bind_grants() {
	local d
	for d in $DNS_GRANT; do
		printf '\t\tgrant %s name _mta-sts.%s. TXT;\n' "$1" "$d"
		printf '\t\tgrant %s name _smtp._tls.%s. TXT;\n' "$1" "$d"
	done
}

# _dns_wait PORT DIR NAME [VERSION]: wait until the server answers the
# SOA over TCP; with VERSION, check that it is ours: it answers
# version.bind with VERSION (another test's server on the same port would
# answer with another one).
_dns_wait() {
	local i
	for i in $(seq 1 100); do
		if dig +tcp +norec +time=1 +tries=1 -p "$1" @127.0.0.1 \
			example.com SOA 2>/dev/null | grep -q 'status: NOERROR'; then
			[ -z "${4:-}" ] && return 0
			[ "$(dig +tcp +short -p "$1" @127.0.0.1 version.bind CH TXT)" = "\"$4\"" ] &&
				return 0
			echo "# port $1 is served by another server than $3 in $2" >&2
			return 1
		fi
		kill -0 "$(cat "$2/server.pid" 2>/dev/null)" 2>/dev/null || break
		sleep 0.1
	done
	echo "# $3 did not start; its log:" >&2
	sed 's/^/# /' "$2/$3.log" >&2
	return 1
}

# _dns_faketime_lib: the libfaketime preload library, or nothing.
_dns_faketime_lib() {
	local l
	for l in /usr/lib/*/faketime/libfaketime.so.1 \
		/usr/lib/faketime/libfaketime.so.1; do
		[ -f "$l" ] && { echo "$l"; return 0; }
	done
	return 1
}

# _dns_run DIR NAME CMD...: start CMD in the background (with its clock
# off by $DNS_FAKETIME through libfaketime, when set), record its pid,
# stop it at exit. The library is preloaded into CMD itself rather than
# run through the faketime program, which forks: its pid would not be
# the server's, and stopping it would leave the server running.
_dns_run() {
	tap_scratch || return 1
	local dir="$1" name="$2" lib
	shift 2
	if [ -n "${DNS_FAKETIME:-}" ]; then
		lib=$(_dns_faketime_lib) || bail_out "libfaketime not found"
		LD_PRELOAD="$lib" FAKETIME="$DNS_FAKETIME" FAKETIME_NO_CACHE=1 \
			"$@" >"$dir/$name.log" 2>&1 &
	else
		"$@" >"$dir/$name.log" 2>&1 &
	fi
	echo $! >"$dir/server.pid"
	at_exit "dns_stop '$dir'"
}

# dns_stop DIR: stop the server started in DIR and wait for it.
dns_stop() {
	tap_scratch || return 1
	local pid
	[ -f "$1/server.pid" ] || return 0
	pid=$(cat "$1/server.pid")
	rm -f "$1/server.pid"
	kill "$pid" 2>/dev/null
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
	return 0
}

# _dns_bind_options DIR PORT [LINES]: named.conf's options statement for
# a server in DIR on 127.0.0.1 port PORT (its version DIR, for
# _dns_wait), with LINES added inside, and no control channel.
_dns_bind_options() {
	cat <<EOF
options {
	directory "$1";
	version "$1";
	pid-file "$1/named.pid";
	session-keyfile "$1/session.key";
	managed-keys-directory "$1";
	listen-on port $2 { 127.0.0.1; };
	recursion no;
	notify no;
	dnssec-validation no;
${3:-}
};
controls { };
EOF
}

# dns_start_bind DIR PORT [KEYFILE...]: write DIR/named.conf and start
# named; every key may update the granted names.
dns_start_bind() {
	tap_scratch || return 1
	local dir="$1" port="$2" k includes="" grants=""
	shift 2
	[ $# -gt 0 ] || set -- "$dir/mtasts.key"
	for k in "$@"; do
		includes="$includes
include \"$k\";"
		grants="$grants
$(_dns_bind_grants "$(dns_key_name "$k")")"
	done
	if [ -n "${DNS_BIND_ADMIN_KEY:-}" ]; then
		includes="$includes
include \"$DNS_BIND_ADMIN_KEY\";"
		grants="$grants
		grant $(dns_key_name "$DNS_BIND_ADMIN_KEY") zonesub ANY;"
	fi
	dns_zone "$dir"
	cat >"$dir/named.conf" <<EOF
$(_dns_bind_options "$dir" "$port" "	listen-on-v6 port $port { ::1; };
	allow-transfer { none; };
	${DNS_BIND_OPTIONS:-}")
$includes
zone "example.com" {
	type primary;
	file "$dir/example.com.zone";
$(_dns_bind_signing)
	update-policy {
$grants
	};
};
$(_dns_bind_zones "$dir" "$grants")
EOF
	_dns_run "$dir" named named -g -c "$dir/named.conf"
	_dns_wait "$port" "$dir" named "$dir"
}

# dns_start_bind_secondary DIR PORT PRIMARY KEYFILE [noforward]: write
# DIR/named.conf and start named as a secondary of example.com, its
# primary the BIND started by dns_start_bind at port PRIMARY (whose zone
# must allow the transfer: $DNS_BIND_ZONE_OPTIONS), forwarding the
# updates it gets to it (allow-update-forwarding; with noforward, none:
# BIND then refuses them), knowing the key of KEYFILE. It takes the zone
# when it starts, and then only at the SOA refresh (an hour): the primary
# sends no NOTIFY.
dns_start_bind_secondary() {
	tap_scratch || return 1
	local dir="$1" port="$2" fwd="	allow-update-forwarding { any; };"
	[ "${5:-}" = noforward ] && fwd=""
	mkdir -p "$dir"
	cat >"$dir/named.conf" <<EOF
$(_dns_bind_options "$dir" "$port" "	listen-on-v6 { none; };")
include "$4";
zone "example.com" {
	type secondary;
	file "$dir/example.com.bk";
	primaries { 127.0.0.1 port $3; };
$fwd
};
EOF
	_dns_run "$dir" named named -g -c "$dir/named.conf"
	_dns_wait "$port" "$dir" named "$dir"
}

# _dns_knot_owners: the owner names granted, as a YAML flow list.
_dns_knot_owners() {
	local d sep=""
	printf '['
	for d in $DNS_GRANT; do
		printf '%s_mta-sts.%s., _smtp._tls.%s.' "$sep" "$d" "$d"
		sep=", "
	done
	printf ']'
}

# _dns_knot_acls KEYNAMES: the acl: section entries for the keys (a
# YAML flow list), one for all of $DNS_GRANT or one per domain of it
# ($DNS_KNOT_ACL_PER_DOMAIN).
_dns_knot_acls() {
	local d
	if [ -z "${DNS_KNOT_ACL_PER_DOMAIN:-}" ]; then
		printf '  - id: mtasts-update\n    key: [ %s ]\n    action: update\n' "$1"
		printf '    update-type: [TXT]\n    update-owner: name\n'
		printf '    update-owner-match: equal\n    update-owner-name: %s\n' \
			"$(_dns_knot_owners)"
		return
	fi
	for d in $DNS_GRANT; do
		printf '  - id: mtasts-update-%s\n    key: [ %s ]\n    action: update\n' "$d" "$1"
		printf '    update-type: [TXT]\n    update-owner: name\n'
		printf '    update-owner-match: equal\n'
		printf '    update-owner-name: [_mta-sts.%s., _smtp._tls.%s.]\n' "$d" "$d"
	done
}

# _dns_knot_acl_ids: what a zone's acl: item names, as _dns_knot_acls
# defines them.
_dns_knot_acl_ids() {
	local d sep=""
	if [ -z "${DNS_KNOT_ACL_PER_DOMAIN:-}" ]; then
		echo mtasts-update
		return
	fi
	printf '['
	for d in $DNS_GRANT; do
		printf '%smtasts-update-%s' "$sep" "$d"
		sep=", "
	done
	printf ']\n'
}

# _dns_knot_keys KEYFILE...: the key: section entries.
_dns_knot_keys() {
	local k
	for k in "$@"; do
		printf '  - id: %s\n    algorithm: %s\n    secret: %s\n' \
			"$(dns_key_name "$k")" "$(dns_key_alg "$k")" \
			"$(dns_key_secret "$k")"
	done
}

# dns_start_knot DIR PORT [KEYFILE...]: write DIR/knot.conf and start
# knotd; every key may update the granted names.
dns_start_knot() {
	tap_scratch || return 1
	local dir="$1" port="$2" k names="" sep=""
	shift 2
	[ $# -gt 0 ] || set -- "$dir/mtasts.key"
	for k in "$@"; do
		names="$names$sep$(dns_key_name "$k")"
		sep=", "
	done
	dns_zone "$dir"
	mkdir -p "$dir/storage" "$dir/run"
	cat >"$dir/knot.conf" <<EOF
server:
  version: "$dir"
  rundir: "$dir/run"
  listen: [ 127.0.0.1@$port, ::1@$port ]
log:
  - target: stderr
    any: info
database:
  storage: "$dir/storage"
control:
  listen: "$dir/run/knot.sock"
key:
$(_dns_knot_keys "$@")
acl:
$(_dns_knot_acls "$names")
zone:
  - domain: example.com
    file: "$dir/example.com.zone"
    acl: $(_dns_knot_acl_ids)
$(_dns_knot_signing)
$(_dns_knot_zones "$dir")
EOF
	_dns_run "$dir" knot knotd -c "$dir/knot.conf"
	_dns_wait "$port" "$dir" knot "$dir"
}

# _dns_pdns_policy KEYFILE...: the Lua update policy that grants what
# BIND's update-policy and Knot's acl grant: the keys may change only the
# TXT records at the granted names. (The policy server-config --pdns
# prints is tested in server-config.test; the labs write their own, as
# they write BIND's and Knot's grants.)
_dns_pdns_policy() {
	local k d
	printf 'local keys = {\n'
	for k in "$@"; do printf '  ["%s."] = true,\n' "$(dns_key_name "$k")"; done
	printf '}\nlocal names = {\n'
	for d in $DNS_GRANT; do
		printf '  ["_mta-sts.%s."] = true,\n  ["_smtp._tls.%s."] = true,\n' \
			"$d" "$d"
	done
	printf '}\nfunction updatepolicy(r)\n'
	printf '  local key = r:getTsigName()\n'
	printf '  return key:countLabels() > 0 and\n'
	printf '    keys[key:toString():lower()] == true and\n'
	printf '    r:getQType() == pdns.TXT and\n'
	printf '    names[r:getQName():toString():lower()] == true\nend\n'
}

# _dns_pdns_common DIR PORT: the pdns.conf lines of every PowerDNS lab: on
# loopback at PORT, in the foreground, logging to standard error, taking
# updates, its version the directory (for _dns_wait).
_dns_pdns_common() {
	cat <<EOF
local-address=127.0.0.1, ::1
local-port=$2
version-string=$1
dnsupdate=yes
socket-dir=$1
guardian=no
daemon=no
disable-syslog=yes
log-timestamp=no
loglevel=5
webserver=no
EOF
}

# dns_start_pdns DIR PORT [KEYFILE...]: a gsqlite3 database with the
# zones and keys in DIR, DIR/pdns.conf, and pdns_server; every key may
# update the granted names (the Lua policy; $DNS_PDNS_POLICY, when set,
# names another policy file, or is "none": no Lua policy, so that
# allow-dnsupdate-from and TSIG-ALLOW-DNSUPDATE decide), each UPDATE adds
# 1 to the serial (SOA-EDIT-DNSUPDATE INCREASE), and nothing is cached,
# so the tests read what the database holds. $DNS_PDNS_LINES, when set,
# ends pdns.conf (a later setting wins, e.g. "dnsupdate=no").
dns_start_pdns() {
	tap_scratch || return 1
	local dir="$1" port="$2" k z
	shift 2
	[ $# -gt 0 ] || set -- "$dir/mtasts.key"
	dns_zone "$dir"
	if [ "${DNS_PDNS_POLICY:-}" = none ]; then
		rm -f "$dir/update-policy.lua"
	elif [ -n "${DNS_PDNS_POLICY:-}" ]; then
		cp "$DNS_PDNS_POLICY" "$dir/update-policy.lua"
	else
		_dns_pdns_policy "$@" >"$dir/update-policy.lua"
	fi
	{
		_dns_pdns_common "$dir" "$port"
		cat <<EOF
launch=gsqlite3
gsqlite3-database=$dir/pdns.db
cache-ttl=0
query-cache-ttl=0
negquery-cache-ttl=0
zone-cache-refresh-interval=0
EOF
		if [ -e "$dir/update-policy.lua" ]; then
			echo "lua-dnsupdate-policy-script=$dir/update-policy.lua"
		fi
		if [ -n "${DNS_PDNS_LINES:-}" ]; then
			printf '%s\n' "$DNS_PDNS_LINES"
		fi
	} >"$dir/pdns.conf"
	rm -f "$dir/pdns.db"
	sqlite3 "$dir/pdns.db" <"$DNS_PDNS_SCHEMA" || return 1
	for z in example.com ${DNS_ZONES:-}; do
		pdnsutil --config-dir="$dir" load-zone "$z" "$dir/$z.zone" &&
			pdnsutil --config-dir="$dir" set-meta "$z" \
				SOA-EDIT-DNSUPDATE INCREASE || return 1
	done >"$dir/pdnsutil.log" 2>&1
	for k in "$@"; do
		pdnsutil --config-dir="$dir" import-tsig-key "$(dns_key_name "$k")" \
			"$(dns_key_alg "$k")" "$(dns_key_secret "$k")" \
			>>"$dir/pdnsutil.log" 2>&1 || return 1
	done
	_dns_run "$dir" pdns pdns_server --config-dir="$dir"
	_dns_wait "$port" "$dir" pdns "$dir"
}

# dns_start_pdns_bind DIR PORT [KEYFILE...]: pdns_server serving the
# zones from their files in DIR with its bind backend, which cannot apply
# updates (DIR/pdns.conf, DIR/named.conf). With KEYFILEs, the keys are
# kept in DIR/dnssec.db (bind-dnssec-db; without it that backend keeps no
# key) and allowed to update the zones; updates are allowed from loopback.
dns_start_pdns_bind() {
	tap_scratch || return 1
	local dir="$1" port="$2" k z
	shift 2
	dns_zone "$dir"
	for z in example.com ${DNS_ZONES:-}; do
		printf 'zone "%s" { type master; file "%s"; };\n' "$z" "$dir/$z.zone"
	done >"$dir/named.conf"
	{
		_dns_pdns_common "$dir" "$port"
		printf 'launch=bind\nbind-config=%s\n' "$dir/named.conf"
		printf 'allow-dnsupdate-from=127.0.0.0/8, ::1\n'
	} >"$dir/pdns.conf"
	if [ $# -gt 0 ]; then
		echo "bind-dnssec-db=$dir/dnssec.db" >>"$dir/pdns.conf"
		rm -f "$dir/dnssec.db"
		pdnsutil --config-dir="$dir" create-bind-db "$dir/dnssec.db" \
			>"$dir/pdnsutil.log" 2>&1 || return 1
	fi
	for k in "$@"; do
		pdnsutil --config-dir="$dir" import-tsig-key "$(dns_key_name "$k")" \
			"$(dns_key_alg "$k")" "$(dns_key_secret "$k")" || return 1
		for z in example.com ${DNS_ZONES:-}; do
			pdnsutil --config-dir="$dir" add-meta "$z" \
				TSIG-ALLOW-DNSUPDATE "$(dns_key_name "$k")" || return 1
		done
	done >>"$dir/pdnsutil.log" 2>&1
	_dns_run "$dir" pdns pdns_server --config-dir="$dir"
	_dns_wait "$port" "$dir" pdns "$dir"
}

# dns_serial PORT [ZONE]: the SOA serial the server holds.
dns_serial() {
	dig +tcp +norec +short -p "$1" @127.0.0.1 "${2:-example.com}" SOA |
		awk '{print $3}'
}

# dns_txt PORT NAME: the TXT records at NAME, sorted, one a line.
dns_txt() {
	dig +tcp +norec +short -p "$1" @127.0.0.1 "$2" TXT | sort
}

# dig_ttl PORT NAME PREFIX: the TTL of the TXT record starting with PREFIX.
dig_ttl() {
	dig +tcp +norec +noall +answer -p "$1" @127.0.0.1 "$2" TXT |
		grep -F "\"$3" | awk '{print $2}'
}

# dns_batch PORT TYPE NAME...: "NAME DATA" for each answer of type TYPE
# at the NAMEs on the server at PORT, sorted, in one dig process
dns_batch() {
	tap_scratch || return 1
	local port=$1 type=$2 n
	shift 2
	for n in "$@"; do
		printf -- '-p %s @127.0.0.1 +tcp +norec +noall +answer %s %s\n' \
			"$port" "$n" "$type"
	done >"$T/dns_batch"
	dig -f "$T/dns_batch" 2>&1 | awk -v t="$type" '$4 == t {
		n = $1; sub(/\.$/, "", n); $1 = $2 = $3 = $4 = ""
		sub(/^ +/, ""); print n " " $0 }' | sort
}

# dns_nsupdate PORT KEYFILE: run nsupdate (commands on standard input)
# against 127.0.0.1 over TCP.
dns_nsupdate() {
	{
		echo "server 127.0.0.1 $1"
		cat
		echo send
	} | nsupdate -v -k "$2"
}
