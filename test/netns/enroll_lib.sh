# shellcheck shell=bash
# enroll_lib.sh: helpers for the tests of enftun-enroll (enroll_test.sh,
# revoke_test.sh), sourced after lib.sh. The service runs as a daemon named
# "enroll" in a namespace of the test's choice; requests are made with curl
# (a real HTTPS peer) from any namespace, and their answers read with jq.
#
# Files, all in $ET_TMP: pki/ (gen-test-certs: ca.pem/ca.key, and the
# service's TLS identity router.pem/router.key with ENROLL_IPS in its
# subjectAltName), enroll.conf, users, enrolled (state), crl.pem, pw.

ENROLL_PORT=8443
ENROLL_USER=ops@example
ENROLL_PASSWORD="correct horse battery staple"

# enroll_setup HOST_IP... : PKI, config, one login. HOST_IP: the service's
# listen addresses (also put in its certificate). ENROLL_POOL: the pool
# (libconfig list items); ENROLL_IPV4_POOL, when set: the ipv4_pool;
# ENROLL_IPV4_RESERVED, when set: an IPv4 address added to `reserved`;
# ENROLL_EXTRA: more lines for the group (e.g. "max_waiting_connections = 8;").
enroll_setup() {
    local -a ips=("$@") router_ips=()
    local ip listen="" pool="${ENROLL_POOL:-\"fd00:e::/64\"}"
    local ipv4_pool="" reserved='"fd00:e::1"'
    [[ -z ${ENROLL_IPV4_POOL:-} ]] || ipv4_pool="ipv4_pool = \"$ENROLL_IPV4_POOL\";"
    [[ -z ${ENROLL_IPV4_RESERVED:-} ]] || reserved+=", \"$ENROLL_IPV4_RESERVED\""
    for ip in "${ips[@]}"; do
        router_ips+=(--router-ip "$ip")
        listen+="${listen:+, }\"$ip\""
    done
    "$ET_REPO/scripts/gen-test-certs" "${router_ips[@]}" "$ET_TMP/pki" >/dev/null
    cat >"$ET_TMP/enroll.conf" <<CONF
enroll : {
  listen = [ $listen ];
  port = $ENROLL_PORT;
  cert_file = "pki/router.pem";
  key_file = "pki/router.key";
  ca_cert_file = "pki/ca.pem";
  ca_key_file = "pki/ca.key";
  crl_file = "crl.pem";
  pool = [ $pool ];
  reserved = [ $reserved ];
  cert_days = 30;
  $ipv4_pool
  ${ENROLL_EXTRA:-}
};
CONF
    printf '%s\n' "$ENROLL_PASSWORD" >"$ET_TMP/pw"
    enroll_cli user add "$ENROLL_USER" --password-file "$ET_TMP/pw" >/dev/null ||
        et_die "enftun-enroll user add failed"
}

# enroll_cli ARGS...: the administrative commands (no namespace needed).
enroll_cli() {
    "$ET_BIN_DIR/enftun-enroll" -c "$ET_TMP/enroll.conf" "$@"
}

# enroll_start NS HOST: start the service in NS and wait until it accepts
# TLS on HOST.
enroll_start() {
    et_daemon_start enroll "$1" "$ET_BIN_DIR/enftun-enroll" -c "$ET_TMP/enroll.conf"
    et_wait_for -d enroll enroll_listening "$1" "$2"
}

# enroll_run_steps HOST ENTRY...: the enrolment tests' body after et_init:
# the service set up and started in a namespace "e" on HOST, then the
# "id|title|fn|prereq" steps (all recorded as not run if it did not start).
enroll_run_steps() {
    local host="$1"
    shift
    et_ns_add e
    enroll_setup "$host"
    if enroll_start e "$host"; then
        run_steps "$@"
    else
        fail_steps "the service did not start" "$@"
    fi
}

enroll_listening() {
    [[ -n $(et_exec "$1" ss -Hltn "sport = :$ENROLL_PORT") ]]
}

# enroll_url HOST PATH
enroll_url() {
    if [[ $1 == *:* ]]; then
        printf 'https://[%s]:%s%s' "$1" "$ENROLL_PORT" "$2"
    else
        printf 'https://%s:%s%s' "$1" "$ENROLL_PORT" "$2"
    fi
}

# api NS HOST PATH BODY-FILE OUT [CURL ARGS]...: POST BODY-FILE, the answer's
# body to OUT; prints the HTTP status (000 when no answer).
api() {
    local ns="$1" host="$2" path="$3" body="$4" out="$5"
    shift 5
    et_exec "$ns" curl -sS --max-time 30 --cacert "$ET_TMP/pki/ca.pem" \
        -H 'Content-Type: application/json' --data-binary "@$body" -o "$out" \
        -w '%{http_code}' "$@" "$(enroll_url "$host" "$path")" 2>>"$ET_TMP/curl.err" || true
}

# login_body FILE [USER [PASSWORD]]
login_body() {
    jq -n --arg u "${2:-$ENROLL_USER}" --arg p "${3:-$ENROLL_PASSWORD}" \
        '{user: $u, password: $p}' >"$1"
}

# login NS HOST [CURL ARGS]...: prints a fresh token.
login() {
    local ns="$1" host="$2" code
    shift 2
    login_body "$ET_TMP/login.json"
    code="$(api "$ns" "$host" /v1/login "$ET_TMP/login.json" "$ET_TMP/login.out" "$@")"
    [[ $code == 200 ]] || return 1
    jq -r .token "$ET_TMP/login.out"
}

# make_csr NAME [OPENSSL NEWKEY ARGS]...: NAME.key and NAME.csr in $ET_TMP
# (default: EC P-256), made by openssl as a device would.
make_csr() {
    local name="$1"
    shift
    (($# > 0)) || set -- -newkey ec -pkeyopt ec_paramgen_curve:P-256
    openssl req -new "$@" -nodes -keyout "$ET_TMP/$name.key" -subj "/CN=ignored-$name" \
        -out "$ET_TMP/$name.csr" 2>/dev/null
}

# enroll_body OUT CSR-FILE REQUEST [IPV4]: IPV4, when given, is the "ipv4"
# field.
enroll_body() {
    jq -n --rawfile csr "$2" --arg r "$3" --arg v "${4:-}" \
        '{csr: $csr, request: $r} + (if $v == "" then {} else {ipv4: $v} end)' >"$1"
}

# enroll NS HOST TOKEN NAME REQUEST [IPV4]: enroll NAME.csr; the answer in
# NAME.json, the certificate in NAME.pem; prints the HTTP status.
enroll() {
    local ns="$1" host="$2" token="$3" name="$4" request="$5" ipv4="${6:-}" code
    enroll_body "$ET_TMP/$name.req" "$ET_TMP/$name.csr" "$request" "$ipv4"
    code="$(api "$ns" "$host" /v1/enroll "$ET_TMP/$name.req" "$ET_TMP/$name.json" \
        -H "Authorization: Bearer $token")"
    if [[ $code == 200 ]]; then
        jq -j .certificate "$ET_TMP/$name.json" >"$ET_TMP/$name.pem"
    fi
    echo "$code"
}

# cert_ip PEM: the IPv6 address in the certificate's subjectAltName, as
# openssl prints it (upper case, full groups).
cert_ip() {
    openssl x509 -in "$1" -noout -ext subjectAltName |
        sed -n 's/.*IP Address:\([0-9A-Fa-f]*:[0-9A-Fa-f:]*\).*/\1/p'
}

# cert_ipv4s PEM: the IPv4 addresses in the certificate's subjectAltName,
# one per line.
cert_ipv4s() {
    openssl x509 -in "$1" -noout -ext subjectAltName |
        grep -o -E 'IP Address:[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+' | sed 's/^IP Address://' || true
}

cert_serial() {
    openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'
}

# same_ipv6 A B: A and B are the same address (any text form).
same_ipv6() {
    [[ "$(norm_ipv6 "$1")" == "$(norm_ipv6 "$2")" ]]
}

# norm_ipv6 ADDR: 32 lower-case hex digits.
norm_ipv6() {
    et_ip6_hex "$(tr 'A-F' 'a-f' <<<"$1")"
}
