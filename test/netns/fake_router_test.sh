#!/usr/bin/env bash
# fake_router_test.sh: who may be on the other end of the tunnel, and with
# which TLS (CTest: netns.fake_router_test; exit 77 = skipped).
#
# Topology: r (fd00:100::1) ═══ c (fd00:100::2), one veth pair
# (et_router_client_pair). One CA signs every certificate below.
#
# Steps:
#   a-e  a fake router at fd00:100::1 (a real enftun-router, so it would
#        gladly forward, with a wrong certificate): a serverAuth certificate
#        of the same CA for another address; a client certificate without
#        EKU; one with both EKUs for a client's address; a clientAuth-only
#        one naming the router's address; the right certificate while the
#        client pins another key. The client never logs "tunnel up", logs
#        the one reason line (again after its backoff), and the fake never
#        gets a session (no "session up": no tunnel traffic reaches it).
#   f    the real router, with a staged pin list (wrong, right) and
#        remote.server_name: tunnel up, ping works; `enftun -p` prints both
#        keys; a server_name the certificate lacks is refused.
#   g    the router refuses client certificates without EKU, with serverAuth
#        only, for router.address, for router.tun.address, and outside
#        router.client_prefixes, each with its reason, while c1 connects.
#   h    TLS 1.2 settings, router side (openssl s_client): CBC/SHA-1 suites
#        refused, TLS 1.0 and 1.1 refused, TLS 1.2 with AEAD works but issues
#        no session ticket, TLS 1.3 works.
#   i    TLS 1.2 settings, client side: an `openssl s_server` offering only
#        CBC suites, or only TLS 1.1, gets no tunnel.
#   j    no line of any private key appears in any of the logs above.
#
# Env: ENFTUN_BIN_DIR (build dir), ET_KEEP=1 keeps logs/certs.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# shellcheck disable=SC2034 # read by lib.sh
ET_WAIT_TIMEOUT=20
readonly R_ADDR=fd00:e::1 C1_ADDR=fd00:e::5 R_TUN_ADDR=fd00:f::1
readonly ROUTER=fd00:100::1
PKI=""
WRONG_PIN=""
RIGHT_PIN=""

# ---------------------------------------------------------------- PKI

# make_cert NAME CN SAN EKU: PKI/NAME.pem and .key signed by PKI's CA; an
# empty EKU leaves the extension out.
make_cert() {
    local name="$1" cn="$2" san="$3" eku="$4" cnf="$ET_TMP/$1.cnf"
    {
        printf '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = %s\n[ext]\n' "$cn"
        printf 'basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n'
        [[ -z $eku ]] || printf 'extendedKeyUsage = %s\n' "$eku"
        printf 'subjectAltName = %s\n' "$san"
    } >"$cnf"
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$PKI/$name.key" 2>/dev/null)
    openssl req -new -config "$cnf" -key "$PKI/$name.key" -out "$ET_TMP/$name.csr" 2>/dev/null
    openssl x509 -req -in "$ET_TMP/$name.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" \
        -set_serial "0x$(openssl rand -hex 16)" -days 30 -extfile "$cnf" -extensions ext \
        -out "$PKI/$name.pem" 2>/dev/null
}

# pin_of CERT: the documented way to compute remote.pin_sha256 (README).
pin_of() {
    openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER |
        openssl dgst -sha256 -r | cut -d' ' -f1
}

make_pki() {
    PKI="$ET_TMP/pki"
    "$ET_REPO/scripts/gen-test-certs" --router-ip "$ROUTER" "$PKI" c1="$C1_ADDR" >/dev/null
    make_cert other-service enftun-router "IP:fd00:100::9,DNS:other.test" serverAuth
    make_cert victim-noeku "fd00:e::7" "IP:fd00:e::7" ""
    make_cert victim-both "fd00:e::7" "IP:fd00:e::7" "serverAuth,clientAuth"
    make_cert clientonly-at-router enftun-router "IP:$ROUTER" clientAuth
    # Client certificates the router must refuse, and one it must not.
    make_cert c-noeku "fd00:e::7" "IP:fd00:e::7" ""
    make_cert c-serveronly "fd00:e::8" "IP:fd00:e::8" serverAuth
    make_cert c-own "$R_ADDR" "IP:$R_ADDR" clientAuth
    make_cert c-tunown "$R_TUN_ADDR" "IP:$R_TUN_ADDR" clientAuth
    make_cert c-outside "fd00:9::5" "IP:fd00:9::5" clientAuth
    RIGHT_PIN="$(pin_of "$PKI/router.pem")"
    WRONG_PIN="$(pin_of "$PKI/other-service.pem")"
}

# ---------------------------------------------------------------- configs

# router_conf CERT [key=value]...: the router (or a fake) on fd00:100::1.
router_conf() {
    local cert="$1"
    shift
    write_router_conf "$ET_TMP/router.conf" listen="$ROUTER" address="$R_ADDR" \
        cert="$PKI/$cert.pem" key="$PKI/$cert.key" ca="$PKI/ca.pem" tun_dev= "$@"
}

# client_conf [LINE]...: c1's config; each LINE is added to the remote group.
client_conf() {
    local line
    write_client_conf "$ET_TMP/c1.conf" hosts="$ROUTER" ca="$PKI/ca.pem" \
        cert="$PKI/c1.pem" key="$PKI/c1.key" connect_timeout=2000
    for line in "$@"; do
        sed -i "s|^remote : {|&\n  $line|" "$ET_TMP/c1.conf"
    done
}

# start_router [-v]: -v logs each failed handshake with its reason (the
# warning is a summary every 10 s).
start_router() {
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf" "$@"
    et_wait_for -d router listening
}

listening() {
    [[ -n $(et_exec r ss -Hltn "src [$ROUTER]:4443") ]]
}

start_client() {
    et_daemon_start c1 c "$ET_BIN_DIR/enftun" -c "$ET_TMP/c1.conf"
}

# stop_all TAG: stop both, keep their logs as NAME-TAG.log, so that each
# step's checks read only its own lines.
stop_all() {
    local name
    for name in c1 router; do
        et_daemon_stop "$name"
        [[ ! -e $ET_TMP/$name.log ]] || mv "$ET_TMP/$name.log" "$ET_TMP/$name-$1.log"
    done
}

# route_tunnel: c reaches the router's tunnel address through enf0.
route_tunnel() {
    et_wait_for -d c1 et_link_up c enf0 && et_exec c ip -6 route replace fd00:e::/64 dev enf0
}

ping_router() {
    et_exec c ping -6 -n -c 1 -W 1 "$R_ADDR"
}

# reason_twice TEXT: the client logged TEXT on two attempts (the second
# after its backoff), one line each.
reason_twice() {
    (($(et_log_count c1 "$1") >= 2))
}

# only_refusal_lines TEXT: every line of the client's about a failed TLS
# handshake is one that gives TEXT as the reason.
only_refusal_lines() {
    ! grep -F "TLS handshake failed" "$(et_daemon_log c1)" | grep -v -F "$1" >/dev/null
}

# ----------------------------------------------------------------- steps

# fake_router CERT REASON [CLIENT-LINE]...: the client, against a fake
# router presenting CERT, refuses it with REASON and never comes up.
fake_router() {
    local cert="$1" reason="$2" ok=0
    shift 2
    router_conf "$cert"
    client_conf "$@"
    start_router
    start_client
    check "client refuses the router, twice (backoff between): \"$reason\"" \
        et_wait_for -d c1 reason_twice "$reason" || ok=1
    # The refusal is the one line of the failed handshake ("... lost: TLS
    # handshake failed: router certificate refused: ..."): no other line
    # about it.
    check "one line per refusal, no second TLS error line" only_refusal_lines "$reason" || ok=1
    check "client says it backs off" et_log_has c1 "reconnecting in" || ok=1
    check_not "client never logged 'tunnel up'" et_log_has c1 "tunnel up" || ok=1
    check_not "the fake router never got a session (no tunnel traffic)" \
        et_log_has router "session up" || ok=1
    stop_all "$cert"
    return "$ok"
}

step_a() {
    fake_router other-service "router certificate refused: wrong name: not issued for $ROUTER"
}

step_b() {
    fake_router victim-noeku "router certificate refused: no serverAuth extended key usage"
}

step_c() {
    fake_router victim-both "router certificate refused: wrong name: not issued for $ROUTER"
}

step_d() {
    fake_router clientonly-at-router \
        "router certificate refused: no serverAuth extended key usage"
}

step_e() {
    fake_router router "router certificate refused: public key $RIGHT_PIN matches no remote.pin_sha256" \
        "pin_sha256 = [ \"$WRONG_PIN\" ];"
}

step_f() {
    local ok=0
    router_conf router
    client_conf "pin_sha256 = [ \"$WRONG_PIN\", \"$RIGHT_PIN\" ];" \
        'server_name = "enftun-router";'
    check "enftun -p remote.pin_sha256 prints both pins" test \
        "$("$ET_BIN_DIR/enftun" -c "$ET_TMP/c1.conf" -p remote.pin_sha256)" == \
        "$WRONG_PIN $RIGHT_PIN" || ok=1
    check "enftun -p remote.server_name" test \
        "$("$ET_BIN_DIR/enftun" -c "$ET_TMP/c1.conf" -p remote.server_name)" == \
        "enftun-router" || ok=1
    start_router
    start_client
    check "tunnel up with the right certificate and a staged pin list" \
        et_wait_for -d c1 -d router et_log_has c1 "tunnel up" || ok=1
    route_tunnel
    check "ping through the tunnel" et_wait_for -d c1 -d router ping_router || ok=1
    check_not "no refusal logged" et_log_has c1 "certificate refused" || ok=1
    et_daemon_stop c1
    client_conf 'server_name = "other.test";'
    start_client
    check "a server_name the certificate lacks is refused" \
        et_wait_for -d c1 et_log_has c1 "wrong name: not issued for other.test" || ok=1
    stop_all f
    return "$ok"
}

# raw_client CERT: one TLS 1.3 handshake from c with CERT, nothing sent.
raw_client() {
    et_exec c timeout 10 openssl s_client -connect "[$ROUTER]:4443" -CAfile "$PKI/ca.pem" \
        -cert "$PKI/$1.pem" -key "$PKI/$1.key" -verify_return_error </dev/null >/dev/null 2>&1 ||
        true
}

# refused_client CERT REASON
refused_client() {
    local before
    before="$(et_log_count router "$2")"
    raw_client "$1"
    et_wait_for -d router log_count_above router "$2" "$before"
}

# summary_names TEXT...: one summary line ("N handshakes failed in the last
# 10 s (REASON COUNT, ...)") holds every TEXT.
summary_names() {
    local line text
    line="$(grep -a 'handshakes failed in the last' "$(et_daemon_log router)" | tail -n 1)"
    for text in "$@"; do
        [[ $line == *"$text"* ]] || return 1
    done
}

step_g() {
    local ok=0
    router_conf router tun_dev=enfr0 tun_address="$R_TUN_ADDR"
    sed -i 's|^router : {|&\n  client_prefixes = [ "fd00:e::/64" ];|' "$ET_TMP/router.conf"
    start_router -v
    check "no EKU: refused" refused_client c-noeku \
        "client certificate refused: no clientAuth extended key usage" || ok=1
    check "serverAuth only: refused" refused_client c-serveronly \
        "client certificate refused: no clientAuth extended key usage" || ok=1
    check "CN = router.address: refused" refused_client c-own \
        "client certificate refused: address $R_ADDR is the router's own" || ok=1
    check "CN = router.tun.address: refused" refused_client c-tunown \
        "client certificate refused: address $R_TUN_ADDR is the router's own" || ok=1
    check "outside client_prefixes: refused" refused_client c-outside \
        "client certificate refused: address fd00:9::5 outside router.client_prefixes" || ok=1
    check_not "none of them got a session" et_log_has router "session up" || ok=1
    check "the warning summary names the reasons" et_wait_for -t 30 -d router summary_names \
        "no clientAuth extended key usage 2" "is the router's own 1" \
        "outside router.client_prefixes 1" || ok=1
    client_conf
    start_client
    route_tunnel
    check "c1 connects meanwhile" et_wait_for -d c1 -d router ping_router || ok=1
    stop_all g
    return "$ok"
}

# s_client ARG...: a handshake with the router as c1; output to
# $ET_TMP/s_client.N.out (N counts the calls).
S_CLIENT_RUNS=0
s_client() {
    S_CLIENT_RUNS=$((S_CLIENT_RUNS + 1))
    S_CLIENT_OUT="$ET_TMP/s_client.$S_CLIENT_RUNS.out"
    echo "openssl s_client $*" >"$S_CLIENT_OUT"
    et_exec c timeout 10 openssl s_client -connect "[$ROUTER]:4443" -CAfile "$PKI/ca.pem" \
        -cert "$PKI/c1.pem" -key "$PKI/c1.key" "$@" </dev/null >>"$S_CLIENT_OUT" 2>&1
}

# handshake_ok ARG...: s_client completed a handshake: "New, V, Cipher
# is X" with a real cipher (V is the cipher's own minimum version, so a
# TLS 1.2 session with a CBC suite says "TLSv1.0"), not "(NONE)".
handshake_ok() {
    s_client "$@" && grep -q -E '^New, [^,]+, Cipher is [A-Z]' "$S_CLIENT_OUT"
}

# no_ticket FILE: the TLS 1.2 session s_client printed in FILE (its
# SSL-Session block) holds no session ticket; with tickets it would show
# "TLS session ticket lifetime hint" and the ticket.
no_ticket() {
    grep -q -E '^ *Protocol *: TLSv1\.2' "$1" && grep -q 'Master-Key' "$1" &&
        ! grep -q -i 'session ticket' "$1"
}

step_h() {
    local ok=0
    router_conf router
    start_router
    check_not "TLS 1.2 with CBC and SHA-1 suites only: refused" handshake_ok -tls1_2 \
        -cipher 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256:AES128-SHA:AES256-SHA' ||
        ok=1
    check_not "TLS 1.1 only: refused" handshake_ok -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' || ok=1
    check_not "TLS 1.0 only: refused" handshake_ok -tls1 -cipher 'DEFAULT:@SECLEVEL=0' || ok=1
    check "TLS 1.2 with ECDHE-ECDSA-AES128-GCM-SHA256 works" handshake_ok -tls1_2 \
        -cipher ECDHE-ECDSA-AES128-GCM-SHA256 || ok=1
    check "no session ticket issued under TLS 1.2" no_ticket "$S_CLIENT_OUT" || ok=1
    check "TLS 1.2 with ECDHE-ECDSA-CHACHA20-POLY1305 works" handshake_ok -tls1_2 \
        -cipher ECDHE-ECDSA-CHACHA20-POLY1305 || ok=1
    check "TLS 1.3 works (unchanged)" handshake_ok -tls1_3 || ok=1
    stop_all h
    return "$ok"
}

# fake_s_server ARG...: openssl s_server with the real router certificate
# at the router's address; the client must not come up.
fake_s_server() {
    local ok=0 before
    # -www: answers without reading stdin, so it stays up for every attempt.
    et_daemon_start fake r openssl s_server -www -accept "[$ROUTER]:4443" \
        -cert "$PKI/router.pem" -key "$PKI/router.key" -CAfile "$PKI/ca.pem" -Verify 1 "$@"
    et_wait_for -d fake listening
    client_conf
    start_client
    check "the client tried and failed (twice)" et_wait_for -d c1 \
        log_count_above c1 "reconnecting in" 1 || ok=1
    check_not "no tunnel up" et_log_has c1 "tunnel up" || ok=1
    check_not "no TLS session logged" et_log_has c1 "TLS session with" || ok=1
    et_daemon_stop fake
    stop_all "s_server$*"
    return "$ok"
}

step_i() {
    local ok=0
    check "s_server with CBC/SHA-1 suites only (TLS 1.2)" fake_s_server -tls1_2 \
        -cipher 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256' || ok=1
    check "s_server with TLS 1.1 only" fake_s_server -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' ||
        ok=1
    return "$ok"
}

# no_key_in_logs: no line of any private key's PEM body (nor its header)
# appears in any log this test wrote.
no_key_in_logs() {
    local pattern="$ET_TMP/key-lines"
    grep -h -v -e '-----END' "$PKI"/*.key | sort -u >"$pattern"
    ! grep -a -F -f "$pattern" "$ET_TMP"/*.log
}

step_j() {
    check "no private key material in any daemon log" no_key_in_logs
}

main() {
    et_init
    et_require_bins enftun enftun-router
    command -v openssl >/dev/null || et_skip "openssl not installed"
    echo "fake_router_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    et_router_client_pair
    make_pki
    run_step a "fake router: serverAuth certificate of the same CA for another address" step_a
    run_step b "fake router: a client certificate without EKU" step_b
    run_step c "fake router: both EKUs, for a client's address" step_c
    run_step d "fake router: clientAuth only, naming the router's address" step_d
    run_step e "fake router: the right name, another key than the pin" step_e
    run_step f "real router: staged pins and server_name, tunnel up, ping" step_f
    run_step g "router refuses client certificates: no EKU, serverAuth only, own addresses, outside client_prefixes" step_g
    run_step h "router TLS: no CBC/SHA-1, no TLS 1.0/1.1, no TLS 1.2 tickets, TLS 1.3 works" step_h
    run_step i "client TLS: a fake s_server with CBC only or TLS 1.1 only gets no tunnel" step_i
    run_step j "no private key in the logs of every run above" step_j
    et_summary fake_router_test
}

main "$@"
