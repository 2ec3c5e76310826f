# https.sh - an HTTPS lab for the shell tests: a test CA, certificates
# signed by it (good, expired, wrong name, from an untrusted CA) and an
# nginx serving one TLS virtual host per name (SNI) on 127.0.0.1:$HTTPS_PORT.
# Source it after tap.sh:
#   . "$top_srcdir/tests/lib/tap.sh"
#   . "$top_srcdir/tests/lib/https.sh"
#
# Typical use:
#   https_site mta-sts.example.com            # good certificate for the name
#   https_put mta-sts.example.com /.well-known/mta-sts.txt "$policy"
#   https_start                               # stopped by at_exit
#   url=$(https_url mta-sts.example.com)      # https://NAME:PORT/.well-known/mta-sts.txt
#   $tool --ca-file "$HTTPS_CA" --resolve "$(https_resolve mta-sts.example.com)"
#
# Variables (set by https_init, which every function calls first):
#   HTTPS_CA       PEM file of the test CA to trust (ca-file)
#   HTTPS_BADCA    PEM file of a second CA that nothing trusts
#   HTTPS_PORT     the TLS port nginx listens on (127.0.0.1), chosen free
#   HTTPS_DIR      $T/https: pki/, www/HOST/ (document roots), nginx/;
#                  never taken from the environment (dropped when this
#                  file is sourced), and refused if not $T/https
#   HTTPS_LOG      nginx access log: "HOST METHOD URI STATUS BYTES_SENT"
#
# Functions:
#   https_init                 make the CAs and pick the port (idempotent)
#   https_cert ID [-expired|-untrusted|-days N|-cn CN|-cn-only] NAME...
#                              make $HTTPS_DIR/pki/ID.{crt,key} with the
#                              DNS names (IP:ADDR: an IP address) as SANs
#                              and the first as subject CN, signed by the
#                              test CA;
#                              -expired: validity 2020-01-01..2020-02-01;
#                              -untrusted: signed by HTTPS_BADCA;
#                              -days N: expires in N days (default 365);
#                              -cn CN: subject CN CN instead;
#                              -cn-only: no subjectAltName at all, the
#                              first name in the subject CN only
#   https_site HOST [CERT_ID]  declare a virtual host HOST served with
#                              certificate CERT_ID (default: a good one
#                              made for HOST); docroot $HTTPS_DIR/www/HOST
#   https_put HOST PATH [CONTENT]
#                              write a docroot file (CONTENT, or standard
#                              input when omitted); works while running
#   https_rm HOST PATH         remove a docroot file (then nginx gives 404)
#   https_location HOST PATH DIRECTIVES
#                              add "location = PATH { DIRECTIVES }" to HOST
#   https_redirect HOST PATH TARGET   302 with Location TARGET
#   https_status HOST PATH CODE       answer with status CODE (e.g. 404)
#   https_html HOST PATH              200 text/html error page
#   https_big HOST PATH KIB           a text/plain body of KIB KiB
#   https_slow HOST PATH              200 text/plain of 2000 bytes whose
#                                     head and first bytes come at once,
#                                     then 1 byte/s (timeouts)
#   https_hang HOST PATH              the request is proxied to a TCP
#                                     listener that never answers: no
#                                     status line at all (timeouts)
#   https_silent               start (once) that listener on 127.0.0.1 and
#                              set HTTPS_SILENT_PORT: point --resolve at it
#                              for a host whose TLS handshake never ends
#   https_cut MODE HOST        start a TLS server (fetch-tool cut) with
#                              HOST's good certificate on a free port, set
#                              HTTPS_CUT_PORT: it cuts each connection
#                              after the handshake and the request as MODE
#                              says (reset, close, reset-body, close-body:
#                              a web server stopped mid-response);
#                              https_cut_stop stops it (at_exit too)
#   https_start                start nginx (registers https_stop with at_exit)
#   https_restart              restart it (locations added after https_start
#                              restart it by themselves)
#   https_stop                 stop nginx
#   https_url HOST [PATH]      print https://HOST:PORT PATH (default path
#                              /.well-known/mta-sts.txt)
#   https_resolve HOST         print HOST:PORT:127.0.0.1 (curl --resolve)
#   https_count HOST PATH      print how many requests for PATH on HOST the
#                              access log holds (logged when they end)
#   https_log HOST PATH        print those access log lines

# tap.sh first: its tap_scratch keeps the functions below from writing
# outside a test's $T
declare -F tap_scratch >/dev/null ||
	{ echo "https.sh: source tests/lib/tap.sh first" >&2; return 1; }
# the lab's paths are made by https_init under this test's $T: one
# exported by a caller would point the writes, and https_stop's kill of
# the pid its nginx.pid holds, at another directory
unset HTTPS_DIR HTTPS_CA HTTPS_BADCA HTTPS_LOG HTTPS_PORT

# _https_scratch: tap_scratch, and HTTPS_DIR is $T/https (https_init
# made it), not empty or elsewhere; else say so (naming the caller)
# and return 1
_https_scratch() {
	tap_scratch || return 1
	[ -n "${HTTPS_DIR:-}" ] && [ "$HTTPS_DIR" = "$T/https" ] && return 0
	echo "${FUNCNAME[1]:-https.sh}: refused, as \$HTTPS_DIR" \
		"(${HTTPS_DIR:-empty}) is not \$T/https ($T/https): the lab" \
		"writes and stops servers only there; call https_init first and" \
		"do not set HTTPS_DIR (called from ${FUNCNAME[*]:2})" >&2
	return 1
}

https_init() {
	tap_scratch || return 1
	[ -n "${HTTPS_DIR:-}" ] && { _https_scratch; return; }
	command -v openssl >/dev/null || skip_all "openssl not installed"
	HTTPS_NGINX=${HTTPS_NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
	[ -x "$HTTPS_NGINX" ] || skip_all "nginx not installed"
	HTTPS_DIR=$T/https
	mkdir -p "$HTTPS_DIR/pki" "$HTTPS_DIR/www" "$HTTPS_DIR/nginx/tmp" \
		"$HTTPS_DIR/nginx/loc"
	HTTPS_CA=$HTTPS_DIR/pki/ca.crt
	HTTPS_BADCA=$HTTPS_DIR/pki/badca.crt
	HTTPS_LOG=$HTTPS_DIR/nginx/access.log
	HTTPS_PORT=$(freeport 1) || bail_out "no free port"
	_https_sites=""
	_https_running=0
	_https_mkca ca "mta-sts-sync test CA" || bail_out "cannot make test CA"
	_https_mkca badca "untrusted test CA" || bail_out "cannot make CA"
}

# _https_mkca ID CN: a self-signed EC P-256 CA.
_https_mkca() {
	_https_scratch || return 1
	local p=$HTTPS_DIR/pki
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-nodes -keyout "$p/$1.key" -out "$p/$1.crt" -days 3650 \
		-subj "/CN=$2" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>"$p/$1.err"
}

https_cert() {
	https_init || return 1
	local id=$1 kind=good days=365 san="" n p=$HTTPS_DIR/pki ca=ca cn=""
	local cnonly=0
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		-expired) kind=expired ;;
		-untrusted) ca=badca ;;
		-days) days=$2; shift ;;
		-cn) cn=$2; shift ;;
		-cn-only) cnonly=1 ;;
		IP:*) san="${san:+$san,}$1" ;;
		*) san="${san:+$san,}DNS:$1" ;;
		esac
		shift
	done
	cn=${cn:-${san#*:}}
	{
		printf '[ext]\n'
		[ $cnonly = 1 ] || printf 'subjectAltName=%s\n' "$san"
		printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n'
	} >"$p/$id.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$p/$id.key" -out "$p/$id.csr" -subj "/CN=$cn" \
		2>"$p/$id.err" || bail_out "https_cert $id: $(cat "$p/$id.err")"
	if [ $kind = expired ]; then
		_https_ca_sign "$id" "$ca" || bail_out "https_cert $id failed"
	else
		openssl x509 -req -in "$p/$id.csr" -CA "$p/$ca.crt" \
			-CAkey "$p/$ca.key" -CAcreateserial -days "$days" \
			-extfile "$p/$id.ext" -extensions ext -out "$p/$id.crt" \
			2>"$p/$id.err" || bail_out "https_cert $id: $(cat "$p/$id.err")"
	fi
}

# _https_ca_sign ID CA: sign ID.csr with fixed dates in the past
# (x509 -req in OpenSSL 3.0 cannot set them; "openssl ca" can).
_https_ca_sign() {
	_https_scratch || return 1
	local p=$HTTPS_DIR/pki
	mkdir -p "$p/ca.db"
	: >"$p/ca.db/index.txt"
	[ -f "$p/ca.db/serial" ] || echo 1000 >"$p/ca.db/serial"
	cat >"$p/ca.cnf" <<EOF
[ca]
default_ca = lab
[lab]
database = $p/ca.db/index.txt
new_certs_dir = $p/ca.db
serial = $p/ca.db/serial
default_md = sha256
policy = pol
unique_subject = no
[pol]
commonName = supplied
EOF
	openssl ca -batch -notext -config "$p/ca.cnf" -cert "$p/$2.crt" \
		-keyfile "$p/$2.key" -in "$p/$1.csr" -out "$p/$1.crt" \
		-startdate 20200101000000Z -enddate 20200201000000Z \
		-extfile "$p/$1.ext" -extensions ext 2>"$p/$1.err"
}

https_site() {
	https_init || return 1
	local host=$1 cert=${2:-}
	if [ -z "$cert" ]; then
		cert=site-$host
		[ -f "$HTTPS_DIR/pki/$cert.crt" ] || https_cert "$cert" "$host"
	fi
	mkdir -p "$HTTPS_DIR/www/$host"
	: >>"$HTTPS_DIR/nginx/loc/$host.conf"
	_https_sites="$_https_sites$host $cert
"
	_https_changed
}

https_put() {
	https_init || return 1
	local f=$HTTPS_DIR/www/$1$2
	mkdir -p "$(dirname "$f")"
	if [ $# -ge 3 ]; then
		printf '%s' "$3" >"$f.new"
	else
		cat >"$f.new"
	fi
	mv -f "$f.new" "$f"
}

https_rm() { _https_scratch && rm -f "$HTTPS_DIR/www/$1$2"; }

https_location() {
	https_init || return 1
	printf 'location = %s {\n\t%s\n}\n' "$2" "$3" \
		>>"$HTTPS_DIR/nginx/loc/$1.conf"
	_https_changed
}

https_redirect() { https_location "$1" "$2" "return 302 $3;"; }
https_status() { https_location "$1" "$2" "return $3;"; }
https_html() {
	https_location "$1" "$2" "types { } default_type text/html; return 200 '<html><body><h1>Service unavailable</h1></body></html>\n';"
}
https_big() {
	https_init || return 1
	local kib=$3
	awk -v n="$kib" 'BEGIN { for (i = 0; i < n * 16; i++)
		printf "ext%010d: %-48s\n", i, "padding" }' |
		https_put "$1" "$2"
}
https_slow() {
	https_init || return 1
	awk 'BEGIN { for (i = 0; i < 2000; i++) printf "x" }' | https_put "$1" "$2"
	# the first 512 bytes (the head, the body's start) at once
	https_location "$1" "$2" "limit_rate 1; limit_rate_after 512; sendfile off; output_buffers 1 1;"
}

https_silent() {
	https_init || return 1
	[ -n "${HTTPS_SILENT_PORT:-}" ] && return 0
	local tool=$top_builddir/tests/tools/fetch-tool
	[ -x "$tool" ] || bail_out "tests/tools/fetch-tool not built"
	HTTPS_SILENT_PORT=$(freeport 1) || bail_out "no free port"
	"$tool" listen "$HTTPS_SILENT_PORT" >"$HTTPS_DIR/silent.out" 2>&1 &
	_https_silent_pid=$!
	at_exit "kill $_https_silent_pid"
	_https_ready "$HTTPS_DIR/silent.out" "fetch-tool listen"
}
# _https_ready FILE WHAT: wait (5 s at most) for the server WHAT to say
# "ready" in FILE, its output; else bail out with that output
_https_ready() {
	local i
	for i in $(seq 100); do
		grep -q ready "$1" && return 0
		sleep 0.05
	done
	bail_out "$2 did not start: $(cat "$1")"
}
https_cut() {
	https_init || return 1
	local tool=$top_builddir/tests/tools/fetch-tool cert=site-$2
	[ -x "$tool" ] || bail_out "tests/tools/fetch-tool not built"
	[ -f "$HTTPS_DIR/pki/$cert.crt" ] || https_cert "$cert" "$2"
	[ -n "${_https_cut_pid:-}" ] && https_cut_stop
	HTTPS_CUT_PORT=$(freeport 1) || bail_out "no free port"
	# emptied here, not by the redirection, which may come after the
	# first look below: the last server's "ready" would then pass
	: >"$HTTPS_DIR/cut.out"
	"$tool" cut "$HTTPS_CUT_PORT" "$HTTPS_DIR/pki/$cert.crt" \
		"$HTTPS_DIR/pki/$cert.key" "$1" >"$HTTPS_DIR/cut.out" 2>&1 &
	_https_cut_pid=$!
	at_exit "kill $_https_cut_pid 2>/dev/null"
	_https_ready "$HTTPS_DIR/cut.out" "fetch-tool cut"
}
https_cut_stop() {
	kill "$_https_cut_pid" 2>/dev/null
	wait "$_https_cut_pid" 2>/dev/null
	_https_cut_pid=
	return 0
}
https_hang() {
	https_silent
	https_location "$1" "$2" "proxy_pass http://127.0.0.1:$HTTPS_SILENT_PORT; proxy_read_timeout 600s; proxy_connect_timeout 5s;"
}

# Restart nginx if it runs, so that a configuration change takes effect.
_https_changed() {
	[ "${_https_running:-0}" = 1 ] && https_restart
	return 0
}

# https_conf_head WORKERS CONNECTIONS LOGLEVEL: the top of an nginx.conf
# for the lab (pid, logs, temporary paths in $HTTPS_DIR/nginx, the access
# log https_count reads), up to and including "http {".
https_conf_head() {
	local n=$HTTPS_DIR/nginx t
	printf 'worker_processes %s;\ndaemon on;\npid %s/nginx.pid;\n' "$1" "$n"
	printf 'error_log %s/error.log %s;\n' "$n" "$3"
	[ "$(id -u)" = 0 ] && printf 'user root root;\n'
	printf 'events { worker_connections %s; }\nhttp {\n' "$2"
	printf "log_format lab '\$host \$request_method \$request_uri \$status \$body_bytes_sent';\n"
	printf 'access_log %s lab;\n' "$HTTPS_LOG"
	for t in client_body proxy fastcgi uwsgi scgi; do
		printf '%s_temp_path %s/tmp/%s;\n' $t "$n" $t
	done
}

# Write nginx.conf for the declared sites.
_https_conf() {
	_https_scratch || return 1
	local n=$HTTPS_DIR/nginx p=$HTTPS_DIR/pki host cert
	[ -f "$p/default.crt" ] || https_cert default unknown.invalid
	{
		https_conf_head 1 256 notice
		printf 'types { text/plain txt; text/html html; }\n'
		printf 'default_type text/plain;\nserver_tokens off;\n'
		printf 'keepalive_timeout 5;\nssl_protocols TLSv1.2 TLSv1.3;\n'
		printf 'server {\n listen 127.0.0.1:%s ssl default_server;\n' "$HTTPS_PORT"
		printf ' ssl_certificate %s/default.crt;\n' "$p"
		printf ' ssl_certificate_key %s/default.key;\n return 421;\n}\n' "$p"
		printf '%s' "$_https_sites" | while read -r host cert; do
			[ -n "$host" ] || continue
			printf 'server {\n listen 127.0.0.1:%s ssl;\n' "$HTTPS_PORT"
			printf ' server_name %s;\n root %s/www/%s;\n' "$host" \
				"$HTTPS_DIR" "$host"
			printf ' ssl_certificate %s/%s.crt;\n' "$p" "$cert"
			printf ' ssl_certificate_key %s/%s.key;\n' "$p" "$cert"
			printf ' include %s/loc/%s.conf;\n}\n' "$n" "$host"
		done
		printf '}\n'
	} >"$n/nginx.conf"
}

https_start() {
	https_init || return 1
	local n=$HTTPS_DIR/nginx i
	_https_conf
	rm -f "$n/nginx.pid"
	"$HTTPS_NGINX" -e "$n/error.log" -p "$n/" -c "$n/nginx.conf" \
		>"$n/start.out" 2>&1 ||
		bail_out "nginx did not start: $(tail -5 "$n/start.out" "$n/error.log")"
	for i in $(seq 100); do
		[ -s "$n/nginx.pid" ] && break
		sleep 0.05
	done
	[ -s "$n/nginx.pid" ] || bail_out "nginx wrote no pid file"
	if [ "${_https_atexit:-0}" = 0 ]; then
		at_exit https_stop
		_https_atexit=1
	fi
	_https_running=1
}

https_stop() {
	_https_scratch || return 1
	local n=$HTTPS_DIR/nginx pid i
	[ -s "$n/nginx.pid" ] || return 0
	pid=$(cat "$n/nginx.pid")
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	rm -f "$n/nginx.pid"
	_https_running=0
}

https_restart() {
	https_stop
	https_start
}

https_url() {
	https_init || return 1
	printf 'https://%s:%s%s\n' "$1" "$HTTPS_PORT" \
		"${2:-/.well-known/mta-sts.txt}"
}

https_resolve() {
	https_init || return 1
	printf '%s:%s:127.0.0.1\n' "$1" "$HTTPS_PORT"
}

https_log() {
	[ -f "$HTTPS_LOG" ] || return 0
	awk -v h="$1" -v u="$2" '$1 == h && $3 == u' "$HTTPS_LOG"
}

https_count() { https_log "$1" "$2" | wc -l | tr -d ' '; }
