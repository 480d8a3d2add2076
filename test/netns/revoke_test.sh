#!/usr/bin/env bash
# revoke_test.sh: revocation end to end: enftun-enroll issues two device
# certificates, enftun-router runs with router.crl_file (the CRL the service
# writes), two real enftun clients connect; `enftun-enroll revoke` of one
# address closes that session within 5 s and the router refuses it from then
# on, while the other client keeps pinging (CTest: netns.revoke_test; exit
# 77 = skipped).
#
# Topology (hub_lib.sh): r ── c1, r ── c2 (x unused). r runs the router
# (port 4443) and the service (port 8443) on fd00:100::1 and fd00:101::1;
# c1 enrols fd00:e::5 and c2 fd00:e::6 with curl, then runs enftun.
#
# Steps: a both clients up, ping through the router; b revoke c1: closed
# within 5 s, refused afterwards, c2 unaffected; c a CRL that is not PEM,
# or not signed by the CA, is refused and the old one stays in force;
# d the router refuses to start when crl_file is missing.
#
# Env: ENFTUN_BIN_DIR (build dir), ET_KEEP=1 keeps the work dir.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=hub_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hub_lib.sh"
# shellcheck source-path=SCRIPTDIR source=enroll_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/enroll_lib.sh"

# shellcheck disable=SC2034 # read by lib.sh
ET_WAIT_TIMEOUT=20
readonly R_ADDR=fd00:e::1 C1_ADDR=fd00:e::5 C2_ADDR=fd00:e::6

ping_once() {
    et_exec "$1" ping -6 -n -c 1 -W 1 "$2"
}

# pings_answered SHORT N: N pings 0.2 s apart from SHORT to the router, each
# answered (-w and et_ping_answered: a late last answer is no loss).
pings_answered() {
    et_exec "$1" ping -6 -n -c "$2" -i 0.2 -w 10 "$R_ADDR" >"$ET_TMP/ping-$1.txt" 2>&1 || true
    et_ping_answered "$ET_TMP/ping-$1.txt" "$2"
}

# add_crl_file CONF CRL: router.crl_file (write_router_conf has no option).
add_crl_file() {
    sed -i "s|^  ca_cert_file = .*|&\n  crl_file = \"$2\";|" "$1"
}

setup() {
    hub_topology
    enroll_setup fd00:100::1 fd00:101::1
    enroll_start r fd00:100::1 || return 1
    local name ns host addr token
    for name in c1 c2; do
        ns="$name"
        host=fd00:100::1 addr="$C1_ADDR"
        [[ $name == c1 ]] || host=fd00:101::1 addr="$C2_ADDR"
        token="$(login "$ns" "$host")" || return 1
        make_csr "$name"
        [[ $(enroll "$ns" "$host" "$token" "$name" "$addr") == 200 ]] || return 1
        write_client_conf "$ET_TMP/$name.conf" ca="$ET_TMP/pki/ca.pem" hosts="$host" \
            prefixes=fd00:e::/64 cert="$ET_TMP/$name.pem" key="$ET_TMP/$name.key" \
            reconnect_max_delay=1000
    done
    write_router_conf "$ET_TMP/router.conf" listen=fd00:100::1,fd00:101::1 address="$R_ADDR" \
        cert="$ET_TMP/pki/router.pem" key="$ET_TMP/pki/router.key" ca="$ET_TMP/pki/ca.pem" \
        tun_dev=
    add_crl_file "$ET_TMP/router.conf" "$ET_TMP/crl.pem"
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    et_wait_for -d router et_log_has router "CRL $ET_TMP/crl.pem loaded" || return 1
    for name in c1 c2; do
        et_daemon_start "$name" "$name" "$ET_BIN_DIR/enftun" -c "$ET_TMP/$name.conf"
        et_wait_for -d "$name" et_link_up "$name" enf0 || return 1
        et_exec "$name" ip -6 route replace fd00:e::/64 dev enf0 || return 1
    done
}

step_a() {
    local ok=0
    check "c1 pings the router" et_wait_for ping_once c1 "$R_ADDR" || ok=1
    check "c2 pings the router" et_wait_for ping_once c2 "$R_ADDR" || ok=1
    check "c1 pings c2" et_wait_for ping_once c1 "$C2_ADDR" || ok=1
    return "$ok"
}

# now_ms: wall clock in milliseconds.
now_ms() {
    local t
    t="$(date +%s%N)"
    echo "$((t / 1000000))"
}

# refusals: how often c1 was told, by the router's TLS alert, that its
# certificate is revoked (each reconnect attempt after the revoke).
refusals() {
    et_log_count c1 "certificate revoked"
}

step_b() {
    local ok=0 t0 t1
    check_num "c1 not refused before the revoke" "$(refusals)" -eq 0 || ok=1
    t0="$(now_ms)"
    check "enftun-enroll revoke $C1_ADDR" enroll_cli revoke "$C1_ADDR" || return 1
    check "router closes c1's session" et_wait_for -d router \
        et_log_has router "session closed: $C1_ADDR from [fd00:100::2]" || return 1
    t1="$(now_ms)"
    grep -F "session closed: $C1_ADDR" "$(et_daemon_log router)" | tail -n 1 | sed 's/^/    | /'
    check "... because it is revoked" grep -q -F "session closed: $C1_ADDR from [fd00:100::2]" \
        <(grep -F "certificate revoked" "$(et_daemon_log router)") || ok=1
    check_num "revoke to closed session, ms" "$((t1 - t0))" -le 5000 || ok=1
    # c1 reconnects (reconnect_max_delay 1 s) and the handshake is refused
    # with a "certificate revoked" alert, again and again.
    check "c1 reconnects and is refused: revoked" et_wait_for -d router \
        log_count_above c1 "certificate revoked" 2 || ok=1
    grep -F "certificate revoked" "$(et_daemon_log c1)" | tail -n 1 | sed 's/^/    | /'
    check_num "c1's session never came back" \
        "$(et_log_count router "session up: $C1_ADDR")" -eq 1 || ok=1
    # `enftun-router status --json` counts the closed session and the refusals.
    "$ET_BIN_DIR/enftun-router" status -c "$ET_TMP/router.conf" --json >"$ET_TMP/status.json" ||
        ok=1
    check_num "status --json: closed.revoked" "$(jq .closed.revoked "$ET_TMP/status.json")" -eq 1 ||
        ok=1
    check_num "status --json: handshake_failures.certificate" \
        "$(jq .handshake_failures.certificate "$ET_TMP/status.json")" -ge 2 || ok=1
    check_not "c1 no longer reaches the router" ping_once c1 "$R_ADDR" || ok=1
    check "c2 keeps pinging the router" pings_answered c2 3 || ok=1
    check_num "c2's session was never closed" \
        "$(et_log_count router "session closed: $C2_ADDR")" -eq 0 || ok=1
    return "$ok"
}

# replace_crl FILE: put FILE in place of the CRL the way the service does
# (rename), and wait until the router has looked at it.
replace_crl() {
    local errors
    errors="$(et_log_count router "keeping the CRL in force")"
    cp "$1" "$ET_TMP/crl.new" && mv "$ET_TMP/crl.new" "$ET_TMP/crl.pem"
    et_wait_for -d router log_count_above router "keeping the CRL in force" "$errors"
}

step_c() {
    local ok=0 refused
    cp "$ET_TMP/crl.pem" "$ET_TMP/crl.good"
    printf 'not a CRL\n' >"$ET_TMP/garbage.pem"
    check "a CRL that is not PEM: error logged" replace_crl "$ET_TMP/garbage.pem" || ok=1
    # A CRL signed by another CA that lists nothing: accepting it would
    # un-revoke c1.
    "$ET_REPO/scripts/gen-test-certs" --ca-name enftun-other-ca "$ET_TMP/other" >/dev/null
    openssl ca -gencrl -keyfile "$ET_TMP/other/ca.key" -cert "$ET_TMP/other/ca.pem" \
        -out "$ET_TMP/other.crl" -config <(other_ca_conf) 2>"$ET_TMP/openssl-ca.err" || ok=1
    check "a CRL from another CA: error logged" replace_crl "$ET_TMP/other.crl" || ok=1
    check "... says why" et_log_has router "not signed by the client CA" || ok=1
    refused="$(refusals)"
    check "c1 still refused (old CRL in force)" et_wait_for -d router \
        log_count_above c1 "certificate revoked" "$refused" || ok=1
    check_num "c1's session never came back" \
        "$(et_log_count router "session up: $C1_ADDR")" -eq 1 || ok=1
    check "c2 still pings" pings_answered c2 2 || ok=1
    cp "$ET_TMP/crl.good" "$ET_TMP/crl.new" && mv "$ET_TMP/crl.new" "$ET_TMP/crl.pem"
    return "$ok"
}

# other_ca_conf: the least `openssl ca -gencrl` needs.
other_ca_conf() {
    local db="$ET_TMP/other/index.txt"
    : >"$db"
    printf '[ca]\ndefault_ca = c\n[c]\ndatabase = %s\ndefault_md = sha256\n' "$db"
    printf 'default_crl_days = 30\n'
}

step_d() {
    local ok=0
    sed "s|crl.pem|no-such-crl.pem|" "$ET_TMP/router.conf" >"$ET_TMP/router-nocrl.conf"
    sed -i "s|port = 4443|port = 4453|" "$ET_TMP/router-nocrl.conf"
    et_daemon_start router2 r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router-nocrl.conf"
    check "router with a missing crl_file exits" et_wait_for_exit router2 || ok=1
    et_daemon_reap router2
    check_num "... non-zero" "$ET_LAST_STATUS" -ne 0 || ok=1
    check "... naming the file" et_log_has router2 "no-such-crl.pem" || ok=1
    return "$ok"
}

main() {
    local -a steps=(
        "a|two enrolled clients up through the router with a CRL|step_a|"
        "b|revoke: session closed within 5 s, refused after, other client fine|step_b|a"
        "c|bad or foreign CRL refused, old one stays in force|step_c|b"
        "d|router refuses to start without its crl_file|step_d|"
    )
    et_init
    et_require_bins enftun enftun-router enftun-enroll
    command -v jq >/dev/null || et_skip "jq not installed (scripts/install-deps)"
    echo "revoke_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    if setup; then
        run_steps "${steps[@]}"
    else
        echo "setup failed (logs below)"
        fail_steps "setup failed" "${steps[@]}"
    fi
    et_summary revoke_test
}

main "$@"
