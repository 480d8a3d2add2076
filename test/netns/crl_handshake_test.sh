#!/usr/bin/env bash
# crl_handshake_test.sh: a certificate revoked while its handshake is under
# way gets no session (CTest: netns.crl_handshake_test; 77 = skipped).
#
# A handshake uses the TLS context in force when it started. A reload
# (SIGHUP) builds a new context with the new CRL for new handshakes; the
# old one, with the old CRL, finishes the handshakes begun on it. So the
# router checks the CRL in force again when a session comes up.
#
# Topology (hub_lib.sh; only r and x used): enftun-router in r with
# router.crl_file; in x, tools/gate_relay.py on [::1]:4443 relays to the
# router, passing a client's ClientHello at once but holding the rest of its
# handshake (its certificate) until a gate file exists; openssl s_client in
# x connects through it.
#
# Steps: a the relay works: g's handshake, held and released, comes up;
# b v's handshake starts (the router has answered its ClientHello), a
# reload then switches to a CRL that lists v, the gate opens: the router
# refuses v's session and closes the connection; c v is refused at once
# when it connects again (the new CRL is in force for new handshakes).
#
# Env: ENFTUN_BIN_DIR (build dir), ET_KEEP=1 keeps logs/certs.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=hub_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hub_lib.sh"

# shellcheck disable=SC2034 # read by lib.sh
ET_WAIT_TIMEOUT=20
readonly R_ADDR=fd00:e::1 G_ADDR=fd00:e::8 V_ADDR=fd00:e::9
PKI=""

# write_conf CRL: router.conf with router.crl_file = CRL.
write_conf() {
    write_router_conf "$ET_TMP/router.conf" listen=fd00:100::1,fd00:101::1,fd00:102::1 \
        address="$R_ADDR" cert="$PKI/router.pem" key="$PKI/router.key" ca="$PKI/ca.pem" \
        tun_dev=
    sed -i "s|^router : {|&\n  crl_file = \"$1\";|" "$ET_TMP/router.conf"
}

# ca CMD...: openssl ca with the test CA and a database in the PKI folder.
ca() {
    openssl ca -config "$PKI/ca.cnf" -keyfile "$PKI/ca.key" -cert "$PKI/ca.pem" "$@" 2>/dev/null
}

# make_pki: certificates for g and v; crl-none.pem lists nothing,
# crl-v.pem lists v.
make_pki() {
    PKI="$ET_TMP/pki"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:102::1 "$PKI" g="$G_ADDR" v="$V_ADDR"
    : >"$PKI/index.txt"
    printf '[ ca ]\ndefault_ca = d\n[ d ]\ndatabase = %s\ndefault_md = sha256\n%s\n' \
        "$PKI/index.txt" "default_crl_days = 30" >"$PKI/ca.cnf"
    ca -gencrl -out "$PKI/crl-none.pem"
    ca -revoke "$PKI/v.pem"
    ca -gencrl -out "$PKI/crl-v.pem"
}

# start_peer NAME CERT PORT-ADDR: openssl s_client in x with CERT's
# certificate, to [PORT-ADDR]:4443; it stays until the router closes it.
start_peer() {
    # shellcheck disable=SC2016 # expanded by the inner bash
    et_daemon_start "$1" x bash -c 'exec "$@" >"$0"' "$ET_TMP/$1.out" \
        openssl s_client -quiet -nocommands -connect "[$3]:4443" -CAfile "$PKI/ca.pem" \
        -verify_return_error -cert "$PKI/$2.pem" -key "$PKI/$2.key"
}

# relay_says N WHAT: the relay logged "conn N: WHAT".
relay_says() {
    et_log_has relay "conn $1: $2"
}

# through_gate NAME CERT N: NAME's handshake (the relay's connection N)
# started and held at the gate: the router has answered its ClientHello.
through_gate() {
    rm -f "$ET_TMP/gate"
    start_peer "$1" "$2" ::1
    et_wait_for -d relay relay_says "$3" "server spoke"
}

step_a() {
    local ok=0
    check "g's handshake is held at the gate" through_gate peer-g g 1 || ok=1
    touch "$ET_TMP/gate"
    check "g's session comes up" et_wait_for -d router et_log_has router "session up: $G_ADDR" ||
        ok=1
    et_daemon_stop peer-g
    return "$ok"
}

step_b() {
    local ok=0
    check "v's handshake is held at the gate" through_gate peer-v v 2 || ok=1
    write_conf "$PKI/crl-v.pem"
    check "reload to the CRL that lists v" et_reload router || ok=1
    touch "$ET_TMP/gate"
    check "the gate opened" et_wait_for -d relay relay_says 2 "gate open" || ok=1
    check "the router refuses v: revoked during its handshake" et_wait_for -d router \
        et_log_has router "certificate revoked during its handshake" || ok=1
    check "the router closed v's connection" et_wait_for et_daemon_exited peer-v || ok=1
    check_not "no session up for v" et_log_has router "session up: $V_ADDR" || ok=1
    et_daemon_stop peer-v
    return "$ok"
}

step_c() {
    local ok=0
    start_peer peer-v2 v fd00:102::1
    check "v's new connection is closed" et_wait_for et_daemon_exited peer-v2 || ok=1
    check_not "no session up for v" et_log_has router "session up: $V_ADDR" || ok=1
    et_daemon_stop peer-v2
    return "$ok"
}

main() {
    local -a steps=(
        "a|through the relay: a held handshake comes up when released|step_a|"
        "b|revoked by a reload during its handshake: no session|step_b|"
        "c|the revoked certificate is refused when it connects again|step_c|"
    )
    et_init
    echo "crl_handshake_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    et_require_bins enftun-router
    command -v python3 >/dev/null || et_skip "python3 not installed"
    hub_topology
    make_pki
    write_conf "$PKI/crl-none.pem"
    et_daemon_start relay x python3 "$ET_LIB_DIR/tools/gate_relay.py" --listen ::1 4443 \
        --upstream fd00:102::1 4443 --gate "$ET_TMP/gate"
    if hub_start_router && et_wait_for -d relay et_log_has relay "listening"; then
        run_steps "${steps[@]}"
    else
        fail_steps "setup failed" "${steps[@]}"
    fi
    et_summary crl_handshake_test
}

main "$@"
