#!/usr/bin/env bash
# keygen_test.sh: provisioning end to end with the real parts: enftun-enroll
# (the service), enftun-keygen (the device tool), enftun-router and enftun,
# in network namespaces (CTest: netns.keygen_test; exit 77 = skipped).
#
# Topology (hub_lib.sh): r holds the router (port 4443) and the service
# (port 8443) on fd00:10{0,1,2}::1, which c1, c2 and x (the devices) reach
# it at; the service's URL is the default keygen derives from remote.hosts. Pool fd00:e::/48, the router's
# own fd00:e::1 reserved. An nftables counter in r counts TCP SYNs to 8443.
# The router turns inner IPv4 on for 198.18.4.0/24 (ipv4_client_prefixes),
# which covers the ipv4_pool (198.18.4.0/29) of the service step j starts.
#
# Steps:
#  a. c1 enrolls with `auto` (over a longer, world-readable old key file,
#     --owner nobody), c2 with a /64, x with an exact address; modes, owners,
#     the addresses asked for, the old key wholly replaced
#  b. the three run enftun with their new identities: c1 pings the router,
#     c2 pings c1, x pings c2
#  c. invalid prefix (fd00::/65) and address (fd00::zz): exit 2, a message
#     naming the problem, and no connection reached the service (counter)
#  d. wrong password: exit 1, the service's message, files unchanged
#  d2. an exact address another device holds: the service's 409 message
#  d3. a second service with a one-address pool (and an ipv4_pool): the
#      first device gets it and, with --ipv4 auto, an IPv4 address in its
#      certificate, which --renew keeps; the next gets "address pool
#      exhausted" (503) and nothing is written
#  d4. --ipv4 auto from the main service, which has no ipv4_pool: its 403
#      message, exit 1, files unchanged
#  e. service down: exit 1, "cannot reach", files unchanged
#  f. a server answering 500 and one answering non-JSON (a stub with the
#     service's certificate): each message, exit 1, files unchanged; one
#     closing every connection at once, as the service refuses connections
#     when overloaded: "closed the connection in the TLS handshake ... try
#     again", exit 1, files unchanged
#  f2. a server whose certificate is from another CA: refused in the
#      handshake (no request reaches it), exit 1, files unchanged
#  g. renew c1: a new certificate (serial) for the same address, written in
#     place; the running enftun reloads it and its tunnel comes back up
#  h. files replaced by a certificate for another address, then by a key
#     that does not match: enftun says why and keeps its identity and tunnel
#  i. x signs itself a 10-day certificate offline (--ca-cert/--ca-key) and
#     restarts enftun: a warning at start that it expires in 9 or 10 days
#  j. IPv4 from enrolment to ping: a service with an ipv4_pool inside the
#     router's ipv4_client_prefixes; a (in c1) and b (in c2) enroll with
#     --ipv4 auto, n (in x) without; each runs a second enftun (enf1,
#     route.allow_ipv4, set_address by default): a's and b's TUNs carry their
#     certificates' IPv4, status --json shows each session's ipv4 (none for
#     n), a and b ping each other with ping -4; n's IPv4 (from an address it
#     put on its TUN itself) is dropped by the router as spoofed, its ping fails
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=hub_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hub_lib.sh"

# shellcheck disable=SC2034 # read by lib.sh
ET_WAIT_TIMEOUT=20
readonly R_ADDR=fd00:e::1 X_ADDR=fd00:e::77 C2_NET=fd00:e:0:2::/64
readonly SERVICE=fd00:100::1 C2_SIDE=fd00:101::1 # r as c1 and as c2 reach it
readonly STUB="$ET_LIB_DIR/keygen/stub_server.py"
readonly TABLE=keygen_test
readonly V4_POOL=198.18.4.0/29 V4_ROUTER_PREFIX=198.18.4.0/24 V4_NET=fd00:e4::/64 V4_PORT=8445
readonly N_V4=198.18.4.6 # an address n puts on its TUN; its certificate has none

KEYGEN=""
ENROLL=""
C1_ADDR=""
C2_ADDR=""

# ---------------------------------------------------------------- helpers

# The service may be built next to the other binaries or in its subfolder.
find_enroll() {
    local bin
    for bin in "$ET_BIN_DIR/enftun-enroll" "$ET_BIN_DIR/keygen/enroll/enftun-enroll"; do
        if [[ -x $bin ]]; then
            echo "$bin"
            return 0
        fi
    done
    et_die "enftun-enroll not built in $ET_BIN_DIR"
}

# keygen NS OUT-FILE ARGS...: run enftun-keygen in NS with the device's
# config, output to OUT-FILE; its exit status goes to KG_RC.
KG_RC=0
keygen() {
    local ns="$1" out="$2"
    shift 2
    KG_RC=0
    et_exec "$ns" "$KEYGEN" -c "$ET_TMP/$ns/enf0.conf" "$@" >"$out" 2>&1 </dev/null || KG_RC=$?
}

enroll_syns() {
    et_nft_counter r "$TABLE" enroll_syn
}

# sums NS: checksums and modes of the device's identity files.
sums() {
    (cd "$ET_TMP/$1" && sha256sum ./*.pem ./*.key 2>/dev/null && stat -c '%n %a %U' ./*.pem ./*.key)
}

cert_serial() {
    openssl x509 -in "$1" -noout -serial | cut -d= -f2
}

# cert_ipv4 PEM: the IPv4 addresses of its subjectAltName.
cert_ipv4() {
    openssl x509 -in "$1" -noout -ext subjectAltName |
        grep -o -E 'IP Address:[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+' | sed 's/^IP Address://' || true
}

cert_cn() {
    openssl x509 -in "$1" -noout -subject -nameopt multiline | awk '$1 == "commonName" { print $3 }'
}

ping_once() {
    et_exec "$1" ping -6 -n -c 1 -W 1 "$2"
}

# listening ADDR PORT: something in r accepts on ADDR:PORT.
listening() {
    [[ -n $(et_exec r ss -Hltn "src [$1]:$2") ]]
}

mode_owner() {
    stat -c '%a %U' "$1"
}

# ---------------------------------------------------------------- setup

setup() {
    hub_topology
    local n=0 ns
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 --router-ip fd00:101::1 \
        --router-ip fd00:102::1 "$ET_TMP/pki" >/dev/null
    et_exec r nft -f - <<NFT
table inet $TABLE {
    counter enroll_syn { }
    chain input {
        type filter hook input priority 0;
        tcp dport 8443 tcp flags & (syn | ack) == syn counter name enroll_syn
    }
}
NFT
    cat >"$ET_TMP/pki/enroll.conf" <<CONF
enroll = {
  listen = [ "fd00:100::1", "fd00:101::1", "fd00:102::1" ];
  cert_file = "router.pem";
  key_file = "router.key";
  ca_cert_file = "ca.pem";
  ca_key_file = "ca.key";
  crl_file = "crl.pem";
  pool = [ "fd00:e::/48" ];
  reserved = [ "$R_ADDR" ];
};
CONF
    printf 'correct horse\n' >"$ET_TMP/pki/ops.pw"
    printf 'wrong horse\n' >"$ET_TMP/pki/bad.pw"
    "$ENROLL" -c "$ET_TMP/pki/enroll.conf" user add ops --password-file "$ET_TMP/pki/ops.pw" \
        >/dev/null
    et_daemon_start enroll r "$ENROLL" -c "$ET_TMP/pki/enroll.conf"
    write_router_conf "$ET_TMP/pki/router.conf" listen="$(IFS=,; echo "${HUB_ROUTER_ADDRS[*]}")" \
        tun_dev= ipv4_prefixes="$V4_ROUTER_PREFIX"
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/pki/router.conf"
    for ns in c1 c2 x; do
        mkdir -p "$ET_TMP/$ns"
        cp "$ET_TMP/pki/ca.pem" "$ET_TMP/$ns/ca.pem"
        write_client_conf "$ET_TMP/$ns/enf0.conf" hosts="fd00:10$n::1" prefixes=fd00:e::/48 \
            cert=device.pem key=device.key heartbeat_period=2000 heartbeat_timeout=2000
        n=$((n + 1))
    done
    et_wait_for -d enroll listening "$SERVICE" 8443
    et_wait_for -d router hub_router_listening
}

# ---------------------------------------------------------------- steps

step_enroll() {
    local ok=0 key="$ET_TMP/c1/device.key"
    # An old key file, longer than any new one and readable by all.
    head -c 20000 /dev/zero | tr '\0' 'k' >"$key"
    chmod 0644 "$key"
    keygen c1 "$ET_TMP/c1.out" --user ops --password-file "$ET_TMP/pki/ops.pw" \
        --owner nobody --yes auto
    check_num "c1 (auto) enrolled" "$KG_RC" -eq 0 || ok=1
    C1_ADDR="$(cert_cn "$ET_TMP/c1/device.pem")"
    check "c1 got an address of the pool: $C1_ADDR" grep -q "^fd00:e:" <<<"$C1_ADDR" || ok=1
    check "key replaced in full: a PEM key, no old bytes" \
        bash -c "head -1 '$key' | grep -q 'BEGIN PRIVATE KEY' && ! grep -q kkkk '$key'" || ok=1
    check_num "key shorter than the old file" "$(stat -c %s "$key")" -lt 20000 || ok=1
    check "key 0600 owned by nobody" test "$(mode_owner "$key")" = "600 nobody" || ok=1
    check "cert 0644 owned by nobody" \
        test "$(mode_owner "$ET_TMP/c1/device.pem")" = "644 nobody" || ok=1
    check "no temporary file left" \
        test "$(find "$ET_TMP/c1" -name '.*' -type f | wc -l)" -eq 0 || ok=1
    check "the key is not printed" bash -c "! grep -q 'PRIVATE' '$ET_TMP/c1.out'" || ok=1

    keygen c2 "$ET_TMP/c2.out" --user ops --password-file "$ET_TMP/pki/ops.pw" --yes "$C2_NET"
    check_num "c2 (a /64) enrolled" "$KG_RC" -eq 0 || ok=1
    C2_ADDR="$(cert_cn "$ET_TMP/c2/device.pem")"
    check "c2's address $C2_ADDR lies in $C2_NET" grep -q "^fd00:e:0:2:" <<<"$C2_ADDR" || ok=1
    check "c2 key 0600 owned by root (no user enftun here)" \
        test "$(mode_owner "$ET_TMP/c2/device.key")" = "600 root" || ok=1

    # --server instead of the default, with a trailing slash.
    keygen x "$ET_TMP/x.out" --server "https://[fd00:102::1]:8443/" --user ops \
        --password-file "$ET_TMP/pki/ops.pw" --yes "$X_ADDR"
    check_num "x (exact $X_ADDR) enrolled" "$KG_RC" -eq 0 || ok=1
    check "x's certificate is for $X_ADDR" test "$(cert_cn "$ET_TMP/x/device.pem")" = "$X_ADDR" ||
        ok=1
    check "chain verifies for TLS clients" openssl verify -CAfile "$ET_TMP/pki/ca.pem" \
        -purpose sslclient "$ET_TMP/c1/device.pem" "$ET_TMP/c2/device.pem" \
        "$ET_TMP/x/device.pem" || ok=1
    check_num "the service saw the connections" "$(enroll_syns)" -ge 6 || ok=1
    return "$ok"
}

step_connect() {
    local ok=0 ns
    for ns in c1 c2 x; do
        et_daemon_start "enftun-$ns" "$ns" "$ET_BIN_DIR/enftun" -c "$ET_TMP/$ns/enf0.conf"
    done
    for ns in c1 c2 x; do
        check "$ns tunnel up" et_wait_for -d "enftun-$ns" et_log_has "enftun-$ns" "tunnel up" ||
            ok=1
        # What enftun-setup would do: the pool's prefix into the tunnel.
        et_exec "$ns" ip -6 route replace fd00:e::/48 dev enf0 || ok=1
    done
    check "c1 pings the router $R_ADDR" et_wait_for ping_once c1 "$R_ADDR" || ok=1
    check "c2 pings c1 $C1_ADDR" et_wait_for ping_once c2 "$C1_ADDR" || ok=1
    check "x pings c2 $C2_ADDR" et_wait_for ping_once x "$C2_ADDR" || ok=1
    return "$ok"
}

# invalid_case ARG MESSAGE: a usage error, one line with MESSAGE.
invalid_case() {
    local arg="$1" message="$2" ok=0
    keygen c2 "$ET_TMP/invalid.out" --user ops --password-file "$ET_TMP/pki/ops.pw" --yes "$arg"
    check_num "$arg: usage error" "$KG_RC" -eq 2 || ok=1
    check "$arg: one line" test "$(wc -l <"$ET_TMP/invalid.out")" -eq 1 || ok=1
    check "$arg: says $message" grep -qF "$message" "$ET_TMP/invalid.out" || ok=1
    return "$ok"
}

step_invalid() {
    local ok=0 before
    before="$(enroll_syns)"
    invalid_case fd00::/65 'fd00::/65: only a /64 can be requested' || ok=1
    invalid_case fd00::zz 'fd00::zz is not an IPv6 address, a /64 or "auto"' || ok=1
    invalid_case fd00:e:0:1::5/64 'fd00:e:0:1::5/64: bits set after the /64' || ok=1
    check_num "no connection reached the service" "$(enroll_syns)" -eq "$before" || ok=1
    return "$ok"
}

# expect_failure NAME NS TEXT ARGS...: keygen exits 1 with TEXT on one line,
# and the device's files are as they were.
expect_failure() {
    local name="$1" ns="$2" text="$3" ok=0
    shift 3
    sums "$ns" >"$ET_TMP/sums.before"
    keygen "$ns" "$ET_TMP/$name.out" "$@"
    check_num "$name: exit 1" "$KG_RC" -eq 1 || ok=1
    check "$name: says \"$text\"" grep -qF "enftun-keygen: $text" "$ET_TMP/$name.out" || ok=1
    sums "$ns" >"$ET_TMP/sums.after"
    check "$name: files unchanged" cmp -s "$ET_TMP/sums.before" "$ET_TMP/sums.after" || ok=1
    check "$name: no temporary file left" \
        test "$(find "$ET_TMP/$ns" -name '.*' -type f | wc -l)" -eq 0 || ok=1
    return "$ok"
}

step_wrong_password() {
    expect_failure wrong-password c2 "login failed (HTTP 401): wrong user or password" \
        --user ops --password-file "$ET_TMP/pki/bad.pw" --yes auto
}

step_taken_address() {
    expect_failure taken-address c2 \
        "enrollment failed (HTTP 409): address $X_ADDR is already enrolled" \
        --user ops --password-file "$ET_TMP/pki/ops.pw" --yes "$X_ADDR"
}

# start_extra_service NAME DIR PORT POOL IPV4_POOL WAIT_HOST [LISTEN...]:
# another enrollment service in r with the test's CA and router
# certificate, its own state in DIR, the user ops; daemon NAME, started and
# waited for on WAIT_HOST:PORT. LISTEN defaults to WAIT_HOST.
start_extra_service() {
    local name="$1" dir="$2" port="$3" pool="$4" ipv4_pool="$5" wait_host="$6" listen="" ip
    shift 6
    for ip in "${@:-$wait_host}"; do
        listen+="${listen:+, }\"$ip\""
    done
    mkdir -p "$dir"
    cat >"$dir/enroll.conf" <<CONF
enroll = {
  listen = [ $listen ];
  port = $port;
  cert_file = "$ET_TMP/pki/router.pem";
  key_file = "$ET_TMP/pki/router.key";
  ca_cert_file = "$ET_TMP/pki/ca.pem";
  ca_key_file = "$ET_TMP/pki/ca.key";
  crl_file = "crl.pem";
  pool = [ "$pool" ];
  ipv4_pool = "$ipv4_pool";
};
CONF
    "$ENROLL" -c "$dir/enroll.conf" user add ops --password-file "$ET_TMP/pki/ops.pw" >/dev/null
    et_daemon_start "$name" r "$ENROLL" -c "$dir/enroll.conf"
    et_wait_for -d "$name" listening "$wait_host" "$port"
}

# A second service whose pool holds one address: the first device gets it,
# the next one gets the service's 503 and writes nothing.
step_full_pool() {
    local ok=0 small="$ET_TMP/small" ns
    start_extra_service enroll-small "$small" 8444 fd00:9::5/128 198.18.0.0/30 "$C2_SIDE" || ok=1
    mkdir -p "$ET_TMP/p1" "$ET_TMP/p2"
    for ns in p1 p2; do
        cp "$ET_TMP/pki/ca.pem" "$ET_TMP/$ns/ca.pem"
        write_client_conf "$ET_TMP/$ns/enf0.conf" hosts="$C2_SIDE" cert=device.pem \
            key=device.key
    done
    KG_RC=0
    et_exec c2 "$KEYGEN" -c "$ET_TMP/p1/enf0.conf" --server "https://[$C2_SIDE]:8444" \
        --user ops --password-file "$ET_TMP/pki/ops.pw" --yes --ipv4 auto auto \
        >"$ET_TMP/p1.out" 2>&1 || KG_RC=$?
    check_num "the one address: exit 0" "$KG_RC" -eq 0 || ok=1
    check "it is fd00:9::5" test "$(cert_cn "$ET_TMP/p1/device.pem")" = fd00:9::5 || ok=1
    check "with the IPv4 address 198.18.0.1 (--ipv4 auto)" grep -qF \
        "address fd00:9::5 (IPv4 198.18.0.1): wrote" "$ET_TMP/p1.out" || ok=1
    check "... in its certificate" test "$(cert_ipv4 "$ET_TMP/p1/device.pem")" = 198.18.0.1 ||
        ok=1
    local serial
    serial="$(cert_serial "$ET_TMP/p1/device.pem")"
    KG_RC=0
    et_exec c2 "$KEYGEN" -c "$ET_TMP/p1/enf0.conf" --server "https://[$C2_SIDE]:8444" \
        --renew --yes >"$ET_TMP/p1-renew.out" 2>&1 || KG_RC=$?
    check_num "renew: exit 0" "$KG_RC" -eq 0 || ok=1
    check "renew: a new certificate" test "$(cert_serial "$ET_TMP/p1/device.pem")" != "$serial" ||
        ok=1
    check "renew: the same IPv4 address" \
        test "$(cert_ipv4 "$ET_TMP/p1/device.pem")" = 198.18.0.1 || ok=1
    sums p2 >"$ET_TMP/sums.before"
    KG_RC=0
    et_exec c2 "$KEYGEN" -c "$ET_TMP/p2/enf0.conf" --server "https://[$C2_SIDE]:8444" \
        --user ops --password-file "$ET_TMP/pki/ops.pw" --yes auto >"$ET_TMP/p2.out" 2>&1 ||
        KG_RC=$?
    check_num "full pool: exit 1" "$KG_RC" -eq 1 || ok=1
    check "full pool: says so" grep -qF \
        "enftun-keygen: enrollment failed (HTTP 503): address pool exhausted" "$ET_TMP/p2.out" ||
        ok=1
    sums p2 >"$ET_TMP/sums.after"
    check "full pool: nothing written" cmp -s "$ET_TMP/sums.before" "$ET_TMP/sums.after" || ok=1
    check "full pool: no key file" test ! -e "$ET_TMP/p2/device.key" || ok=1
    et_daemon_stop enroll-small
    return "$ok"
}

step_no_ipv4_pool() {
    expect_failure no-ipv4-pool c2 "enrollment failed (HTTP 403): this service issues no IPv4 \
addresses (no ipv4_pool configured)" \
        --user ops --password-file "$ET_TMP/pki/ops.pw" --yes --ipv4 auto auto
}

step_service_down() {
    local ok=0
    et_daemon_kill enroll
    expect_failure service-down c2 \
        "cannot reach the enrollment service at https://[fd00:101::1]:8443" \
        --user ops --password-file "$ET_TMP/pki/ops.pw" --yes auto || ok=1
    et_daemon_start enroll r "$ENROLL" -c "$ET_TMP/pki/enroll.conf"
    et_wait_for -d enroll listening "$SERVICE" 8443 || ok=1
    return "$ok"
}

step_broken_servers() {
    local ok=0 mode port=8500
    for mode in 500 html; do
        port=$((port + 1))
        et_daemon_start "stub-$mode" r python3 "$STUB" "$C2_SIDE" "$port" \
            "$ET_TMP/pki/router.pem" "$ET_TMP/pki/router.key" "$mode"
        et_wait_for -d "stub-$mode" listening "$C2_SIDE" "$port" || ok=1
    done
    expect_failure server-500 c2 "login failed (HTTP 500): database on fire" \
        --server "https://[$C2_SIDE]:8501" --user ops --password-file "$ET_TMP/pki/ops.pw" \
        --yes auto || ok=1
    expect_failure server-html c2 "the login reply is not JSON" \
        --server "https://[$C2_SIDE]:8502" --user ops --password-file "$ET_TMP/pki/ops.pw" \
        --yes auto || ok=1
    et_daemon_stop stub-500
    et_daemon_stop stub-html
    et_daemon_start stub-refuse r python3 "$STUB" "$C2_SIDE" 8504 "" "" refuse
    et_wait_for -d stub-refuse listening "$C2_SIDE" 8504 || ok=1
    expect_failure server-refuses c2 "the enrollment service at https://[$C2_SIDE]:8504 \
closed the connection in the TLS handshake, as it does when it is overloaded (too many devices at \
once): try again in a minute" \
        --server "https://[$C2_SIDE]:8504" --user ops --password-file "$ET_TMP/pki/ops.pw" \
        --yes auto || ok=1
    check "the refusing stub saw the connection" et_log_has stub-refuse "stub: refused" || ok=1
    et_daemon_stop stub-refuse
    return "$ok"
}

# An impostor: a server whose certificate names the right address but comes
# from another CA. Refused in the handshake: no password is sent to it.
step_impostor() {
    local ok=0
    "$ET_REPO/scripts/gen-test-certs" --ca-name impostor --router-ip "$C2_SIDE" \
        "$ET_TMP/impostor" >/dev/null
    et_daemon_start stub-impostor r python3 "$STUB" "$C2_SIDE" 8503 \
        "$ET_TMP/impostor/router.pem" "$ET_TMP/impostor/router.key" 500
    et_wait_for -d stub-impostor listening "$C2_SIDE" 8503 || ok=1
    expect_failure impostor c2 "refused the certificate of https://[$C2_SIDE]:8503" \
        --server "https://[$C2_SIDE]:8503" --user ops --password-file "$ET_TMP/pki/ops.pw" \
        --yes auto || ok=1
    check "the impostor got no request" \
        bash -c "! grep -q POST '$(et_daemon_log stub-impostor)'" || ok=1
    et_daemon_stop stub-impostor
    return "$ok"
}

step_renew() {
    local ok=0 old_serial new_serial ups
    old_serial="$(cert_serial "$ET_TMP/c1/device.pem")"
    ups="$(et_log_count enftun-c1 "tunnel up")"
    keygen c1 "$ET_TMP/renew.out" --renew --owner nobody --yes
    check_num "renew: exit 0" "$KG_RC" -eq 0 || ok=1
    new_serial="$(cert_serial "$ET_TMP/c1/device.pem")"
    check "renew: a new certificate ($old_serial -> $new_serial)" \
        test "$old_serial" != "$new_serial" || ok=1
    check "renew: the same address $C1_ADDR" \
        test "$(cert_cn "$ET_TMP/c1/device.pem")" = "$C1_ADDR" || ok=1
    check "renew: key 0600 owned by nobody" \
        test "$(mode_owner "$ET_TMP/c1/device.key")" = "600 nobody" || ok=1
    check "enftun reloaded the identity" \
        et_wait_for -d enftun-c1 et_log_has enftun-c1 "identity reloaded from" || ok=1
    check "enftun's tunnel came back up with it" \
        et_wait_for -d enftun-c1 log_count_above enftun-c1 "tunnel up" "$ups" || ok=1
    check "c1 pings the router again" et_wait_for ping_once c1 "$R_ADDR" || ok=1
    check "c2 pings c1 again" et_wait_for ping_once c2 "$C1_ADDR" || ok=1
    return "$ok"
}

# A certificate for another address, then a key that does not match: enftun
# logs why, keeps the identity it has, and its tunnel stays up.
step_bad_identity() {
    local ok=0 ups
    ups="$(et_log_count enftun-c1 "tunnel up")"
    cp "$ET_TMP/c1/device.pem" "$ET_TMP/c1/good.pem"
    cp "$ET_TMP/c2/device.pem" "$ET_TMP/c1/other.pem"
    mv "$ET_TMP/c1/other.pem" "$ET_TMP/c1/device.pem"
    check "another address: refused, old identity kept" et_wait_for -d enftun-c1 \
        et_log_has enftun-c1 "now holds $C2_ADDR, not $C1_ADDR: restart enftun" || ok=1
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$ET_TMP/c1/other.key" \
        2>/dev/null
    mv "$ET_TMP/c1/good.pem" "$ET_TMP/c1/device.pem"
    mv "$ET_TMP/c1/other.key" "$ET_TMP/c1/device.key"
    check "a key that does not match: refused, old identity kept" et_wait_for -d enftun-c1 \
        et_log_has enftun-c1 "changed but does not load" || ok=1
    check "c2 still pings c1" et_wait_for ping_once c2 "$C1_ADDR" || ok=1
    check_num "no reconnect for them" "$(et_log_count enftun-c1 "tunnel up")" -eq "$ups" || ok=1
    return "$ok"
}

# x signs itself a 10-day certificate offline (the CA at hand) and restarts
# enftun: a warning at start naming the file and the date, and it connects.
step_expiry_warning() {
    local ok=0
    et_daemon_stop enftun-x
    keygen x "$ET_TMP/x-offline.out" --ca-cert "$ET_TMP/pki/ca.pem" --ca-key "$ET_TMP/pki/ca.key" \
        --days 10 --yes "$X_ADDR"
    check_num "offline signing: exit 0" "$KG_RC" -eq 0 || ok=1
    et_daemon_start enftun-x x "$ET_BIN_DIR/enftun" -c "$ET_TMP/x/enf0.conf"
    check "warning at start: expires in 9 or 10 days" et_wait_for -d enftun-x grep -q -E \
        "^warning: certificate .*/x/device.pem expires in (9|10) days, on [0-9-]+ [0-9:]+ UTC: renew it" \
        "$(et_daemon_log enftun-x)" || ok=1
    check "x still connects" \
        et_wait_for -d enftun-x log_count_above enftun-x "tunnel up" 1 || ok=1
    return "$ok"
}

# ---------------------------------------------------------------- j: IPv4

# r_side_of NS: the address of r that NS (c1, c2 or x) reaches it at.
r_side_of() {
    case "$1" in
    c1) echo fd00:100::1 ;;
    c2) echo fd00:101::1 ;;
    x) echo fd00:102::1 ;;
    *) et_die "r_side_of: $1" ;;
    esac
}

# v4_keygen NS DIR ARGS...: enftun-keygen in NS for the device in
# $ET_TMP/DIR (its enf1.conf), from the IPv4 service; exit status to KG_RC.
v4_keygen() {
    local ns="$1" dir="$2" server
    shift 2
    server="$(r_side_of "$ns")"
    KG_RC=0
    et_exec "$ns" "$KEYGEN" -c "$ET_TMP/$dir/enf1.conf" --server "https://[$server]:$V4_PORT" \
        --user ops --password-file "$ET_TMP/pki/ops.pw" --yes "$@" >"$ET_TMP/$dir.out" 2>&1 \
        </dev/null || KG_RC=$?
}

# rjson FILTER: jq -r FILTER on the router's `status --json`.
rjson() {
    "$ET_BIN_DIR/enftun-router" status -c "$ET_TMP/pki/router.conf" --json | jq -e -r "$1"
}

# session_ipv4 ADDR: the `ipv4` of ADDR's session ("none" without one; fails
# when there is no session for ADDR).
session_ipv4() {
    rjson ".session_list[] | select(.address == \"$1\") | .ipv4 // \"none\""
}

session_ipv4_is() {
    local got
    got="$(session_ipv4 "$1")" && [[ $got == "$2" ]]
}

has_v4() {
    et_exec "$1" ip -4 -o addr show dev enf1 | grep -qF " $2/32 "
}

ping4_once() {
    et_exec "$1" ping -4 -n -c 1 -W 1 "$2"
}

spoofed_above() {
    (($(rjson .dropped.spoofed) > $1))
}

step_ipv4_fleet() {
    local ok=0 svc="$ET_TMP/v4svc" ns dir a6 b6 n6 a4 b4 spoofed
    local -A ns_of=([v4a]=c1 [v4b]=c2 [v4n]=x)
    start_extra_service enroll-v4 "$svc" "$V4_PORT" "$V4_NET" "$V4_POOL" "$SERVICE" \
        fd00:100::1 fd00:101::1 fd00:102::1 || ok=1
    for dir in v4a v4b v4n; do
        mkdir -p "$ET_TMP/$dir"
        cp "$ET_TMP/pki/ca.pem" "$ET_TMP/$dir/ca.pem"
        write_client_conf "$ET_TMP/$dir/enf1.conf" dev=enf1 hosts="$(r_side_of "${ns_of[$dir]}")" \
            prefixes="$V4_NET" cert=device.pem key=device.key allow_ipv4=true
    done
    v4_keygen c1 v4a --ipv4 auto auto
    check_num "a enrolled with --ipv4 auto" "$KG_RC" -eq 0 || ok=1
    v4_keygen c2 v4b --ipv4 auto auto
    check_num "b enrolled with --ipv4 auto" "$KG_RC" -eq 0 || ok=1
    v4_keygen x v4n auto
    check_num "n enrolled without --ipv4" "$KG_RC" -eq 0 || ok=1
    a6="$(cert_cn "$ET_TMP/v4a/device.pem")" a4="$(cert_ipv4 "$ET_TMP/v4a/device.pem")"
    b6="$(cert_cn "$ET_TMP/v4b/device.pem")" b4="$(cert_ipv4 "$ET_TMP/v4b/device.pem")"
    n6="$(cert_cn "$ET_TMP/v4n/device.pem")"
    check "a got $a6 and $a4 of $V4_POOL" grep -qE '^198\.18\.4\.[1-6]$' <<<"$a4" || ok=1
    check "b got $b6 and $b4 of $V4_POOL" grep -qE '^198\.18\.4\.[1-6]$' <<<"$b4" || ok=1
    check "a's and b's IPv4 differ" test "$a4" != "$b4" || ok=1
    check "n's certificate ($n6) has no IPv4" test -z "$(cert_ipv4 "$ET_TMP/v4n/device.pem")" ||
        ok=1
    ((ok == 0)) || return 1 # nothing to run the tunnels with

    for dir in v4a v4b v4n; do
        ns="${ns_of[$dir]}"
        et_daemon_start "enftun-$dir" "$ns" "$ET_BIN_DIR/enftun" -c "$ET_TMP/$dir/enf1.conf"
    done
    for dir in v4a v4b v4n; do
        ns="${ns_of[$dir]}"
        check "$dir tunnel up" et_wait_for -d "enftun-$dir" et_log_has "enftun-$dir" "tunnel up" ||
            ok=1
        # What the host would add: the IPv4 network into the tunnel.
        et_exec "$ns" ip -4 route replace "$V4_ROUTER_PREFIX" dev enf1 || ok=1
    done
    et_exec x ip -4 addr add "$N_V4/32" dev enf1 || ok=1
    check "a's TUN has its certificate's IPv4 $a4" has_v4 c1 "$a4" || ok=1
    check "b's TUN has its certificate's IPv4 $b4" has_v4 c2 "$b4" || ok=1
    check "status --json: a's session has ipv4 $a4" \
        et_wait_for -d router session_ipv4_is "$a6" "$a4" || ok=1
    check "status --json: b's session has ipv4 $b4" \
        et_wait_for -d router session_ipv4_is "$b6" "$b4" || ok=1
    check "status --json: n's session has none" \
        et_wait_for -d router session_ipv4_is "$n6" none || ok=1
    check "a pings b's $b4 (ping -4)" et_wait_for -d router ping4_once c1 "$b4" || ok=1
    check "b pings a's $a4 (ping -4)" et_wait_for -d router ping4_once c2 "$a4" || ok=1

    spoofed="$(rjson .dropped.spoofed)" || ok=1
    check_not "n's ping -4 to a fails" et_exec x ping -4 -n -c 2 -i 0.2 -W 1 "$a4" || ok=1
    check "the router dropped n's IPv4 as spoofed (was $spoofed)" \
        et_wait_for -d router spoofed_above "${spoofed:-0}" || ok=1
    for dir in v4a v4b v4n; do
        et_daemon_stop "enftun-$dir"
    done
    et_daemon_stop enroll-v4
    return "$ok"
}

# ---------------------------------------------------------------- main

et_init
et_require_bins enftun enftun-router enftun-keygen
KEYGEN="$ET_BIN_DIR/enftun-keygen"
ENROLL="$(find_enroll)"
command -v python3 >/dev/null || et_skip "python3 not installed (the broken-server stub)"
command -v nft >/dev/null || et_skip "nft not installed"
command -v jq >/dev/null || et_skip "jq not installed (the router's status --json)"
setup

run_steps \
    "a|enroll auto, a /64 and an exact address: files, modes, owners|step_enroll|" \
    "b|the new identities connect and ping the router and each other|step_connect|a" \
    "c|an invalid prefix or address is refused before any request|step_invalid|a" \
    "d|wrong password: message, exit 1, files unchanged|step_wrong_password|a" \
    "d2|an address already enrolled: 409, exit 1, files unchanged|step_taken_address|a" \
    "d3|a full pool: 503, exit 1, nothing written; --ipv4 auto and renew|step_full_pool|a" \
    "d4|--ipv4 from a service without ipv4_pool: 403, exit 1, files unchanged|step_no_ipv4_pool|a" \
    "e|service down: message, exit 1, files unchanged|step_service_down|a" \
    "f|a server answering 500 or non-JSON, or refusing: message, exit 1, files unchanged|step_broken_servers|a" \
    "f2|a server with a certificate of another CA is refused, gets nothing|step_impostor|a" \
    "g|renew: new certificate, same address, the tunnel comes back with it|step_renew|b" \
    "h|a renewed identity that does not load is refused, the old one kept|step_bad_identity|g" \
    "i|enftun warns at start about a certificate expiring within 30 days|step_expiry_warning|b" \
    "j|IPv4 from enrolment to ping: --ipv4 auto devices ping -4, one without IPv4 dropped|step_ipv4_fleet|"
et_summary keygen_test
