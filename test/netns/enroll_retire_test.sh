#!/usr/bin/env bash
# enroll_retire_test.sh: a renewal's old certificate is retired once the
# device shows it holds the new pair, end to end: the real enftun-keygen
# renews and confirms (POST /v1/confirm with the new pair), enftun-enroll
# revokes the address's older serials and rewrites the CRL, enftun-router
# (router.crl_file) closes a session of an old certificate, and a running
# enftun that has reloaded the new pair keeps its tunnel (CTest:
# netns.enroll_retire_test; exit 77 = skipped).
#
# Topology (hub_lib.sh): r ── c1, r ── c2 (x unused). r runs the router
# (port 4443) and the service (port 8443) on fd00:100::1 and fd00:101::1.
# c1 is the device: enftun-keygen enrols fd00:e::5 there, enftun runs with
# its files. c2 holds a copy of the device's first key and certificate.
#
# Steps: a keygen --renew stopped after storing the new pair, before its
# confirm (ENFTUN_KEYGEN_TEST_PAUSE=confirm), the service stopped, keygen
# let go: its confirm fails, a warning, exit 0 (the confirm is lost); the
# running enftun reloads the new pair and pings; the first
# certificate is not revoked, and the copy of it in c2 still connects;
# b the next keygen --renew renews from the newest certificate (which
# retires the first) and confirms its own (which retires the second):
# both on the CRL, the router closes c2's session (certificate revoked)
# and refuses it after; /v1/renew and /v1/confirm with the first: 403
# revoked; c keygen --renew again with enftun running: stopped before the
# confirm until enftun has reconnected with the new pair, then let go: the
# third certificate goes on the CRL, and enftun's session is not closed
# and keeps pinging.
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
readonly R_ADDR=fd00:e::1 ADDR=fd00:e::5 SERVICE=fd00:100::1
DEV=""
declare -a SERIALS=()

ping_once() {
    et_exec "$1" ping -6 -n -c 1 -W 1 "$R_ADDR"
}

# pings_answered SHORT N: N pings 0.2 s apart from SHORT to the router.
pings_answered() {
    et_exec "$1" ping -6 -n -c "$2" -i 0.2 -w 10 "$R_ADDR" >"$ET_TMP/ping-$1.txt" 2>&1 || true
    et_ping_answered "$ET_TMP/ping-$1.txt" "$2"
}

# keygen OUT ARGS...: enftun-keygen in c1 with the device's config, its
# output in OUT, its exit status in KG_RC.
KG_RC=0
keygen() {
    local out="$1"
    shift
    KG_RC=0
    et_exec c1 "$ET_BIN_DIR/enftun-keygen" -c "$ET_TMP/c1.conf" \
        --server "$(enroll_url "$SERVICE" "")" --owner root --yes "$@" >"$out" 2>&1 </dev/null ||
        KG_RC=$?
}

# renew_paused: keygen --renew as daemon "keygen", stopped (SIGSTOP) with
# the new pair stored and the confirm not yet sent.
# (The keygen log is appended to by every run: wait for one more line.)
renew_paused() {
    local pauses
    pauses="$(et_log_count keygen "test pause at confirm")"
    et_daemon_start keygen c1 env ENFTUN_KEYGEN_TEST_PAUSE=confirm "$ET_BIN_DIR/enftun-keygen" \
        -c "$ET_TMP/c1.conf" --server "$(enroll_url "$SERVICE" "")" --owner root --yes --renew
    et_wait_for -d keygen log_count_above keygen "test pause at confirm" "$pauses"
}

# revoked_flag SERIAL: the REVOKED field of SERIAL's state line.
revoked_flag() {
    awk -v s="$1" '$3 == s { print $5 }' "$ET_TMP/enrolled"
}

# crl_lists SERIAL: the CRL the service wrote lists SERIAL.
crl_lists() {
    openssl crl -in "$ET_TMP/crl.pem" -noout -text | grep -q -F "Serial Number: $1"
}

crl_loaded() {
    et_log_has router "CRL $ET_TMP/crl.pem loaded: $1 revoked certificate(s)"
}

add_crl_file() {
    sed -i "s|^  ca_cert_file = .*|&\n  crl_file = \"$2\";|" "$1"
}

setup() {
    hub_topology
    enroll_setup fd00:100::1 fd00:101::1
    enroll_start r "$SERVICE" || return 1
    DEV="$ET_TMP/dev"
    mkdir -p "$DEV"
    cp "$ET_TMP/pki/ca.pem" "$DEV/ca.pem"
    write_client_conf "$ET_TMP/c1.conf" ca="$DEV/ca.pem" hosts=fd00:100::1 \
        prefixes=fd00:e::/64 cert="$DEV/device.pem" key="$DEV/device.key" \
        reconnect_max_delay=1000
    keygen "$ET_TMP/enroll.out" --user "$ENROLL_USER" --password-file "$ET_TMP/pw" "$ADDR"
    if ((KG_RC != 0)); then
        cat "$ET_TMP/enroll.out" >&2
        return 1
    fi
    cp "$DEV/device.pem" "$ET_TMP/first.pem"
    cp "$DEV/device.key" "$ET_TMP/first.key"
    SERIALS+=("$(cert_serial "$DEV/device.pem")")
    write_client_conf "$ET_TMP/c2.conf" ca="$ET_TMP/pki/ca.pem" hosts=fd00:101::1 \
        prefixes=fd00:e::/64 cert="$ET_TMP/first.pem" key="$ET_TMP/first.key" \
        reconnect_max_delay=1000
    write_router_conf "$ET_TMP/router.conf" listen=fd00:100::1,fd00:101::1 address="$R_ADDR" \
        cert="$ET_TMP/pki/router.pem" key="$ET_TMP/pki/router.key" ca="$ET_TMP/pki/ca.pem" \
        tun_dev=
    add_crl_file "$ET_TMP/router.conf" "$ET_TMP/crl.pem"
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    et_wait_for -d router crl_loaded 0 || return 1
    hub_start_client c1
}

# ---------------------------------------------------------------- steps

step_a() {
    local ok=0 reloads ups
    check "c1 pings the router with the first certificate" et_wait_for ping_once c1 || return 1
    reloads="$(et_log_count c1 "identity reloaded")"
    ups="$(et_log_count router "session up: $ADDR")"
    check "keygen --renew stops after storing the new pair" renew_paused || return 1
    # The service goes away before the confirm: a warning, exit 0.
    et_daemon_stop enroll
    kill -CONT "$(et_daemon_pid keygen)"
    check "keygen goes on and exits" et_wait_for_exit keygen || return 1
    et_daemon_reap keygen
    check_num "... 0: the new pair is stored" "$ET_LAST_STATUS" -eq 0 || ok=1
    check "... with a warning that the old certificate stays valid" et_log_has keygen \
        "warning: the new certificate is stored, but the service was not told it is in use" ||
        ok=1
    grep -F "warning: the new certificate" "$(et_daemon_log keygen)" | sed 's/^/    | /'
    check "the service starts again" enroll_start r "$SERVICE" || return 1
    SERIALS+=("$(cert_serial "$DEV/device.pem")")
    check "a new certificate is stored" test "${SERIALS[1]}" != "${SERIALS[0]}" || return 1
    check "enftun reloads the new pair" et_wait_for -d c1 \
        log_count_above c1 "identity reloaded" "$reloads" || ok=1
    check "... and reconnects with it" et_wait_for -d router \
        log_count_above router "session up: $ADDR" "$ups" || ok=1
    check "c1 pings the router" et_wait_for ping_once c1 || ok=1
    check_num "no confirm: the first certificate is not revoked" \
        "$(revoked_flag "${SERIALS[0]}")" -eq 0 || ok=1
    # The gap the confirm closes: a copy of the first key still connects.
    et_daemon_stop c1
    check "the first certificate's copy connects from c2" hub_start_client c2 || ok=1
    check "... and pings" et_wait_for ping_once c2 || ok=1
    return "$ok"
}

step_b() {
    local ok=0 code
    keygen "$ET_TMP/renew-b.out" --renew
    check_num "the next keygen --renew: exit 0" "$KG_RC" -eq 0 || {
        cat "$ET_TMP/renew-b.out" >&2
        return 1
    }
    sed 's/^/    | /' "$ET_TMP/renew-b.out"
    SERIALS+=("$(cert_serial "$DEV/device.pem")")
    check "it says the service retired one older certificate" \
        grep -q -F "retired: 1 older certificate(s) of $ADDR at the service" \
        "$ET_TMP/renew-b.out" || ok=1
    check_num "the first certificate revoked (by the renewal)" \
        "$(revoked_flag "${SERIALS[0]}")" -eq 1 || ok=1
    check_num "the second revoked (by the confirm)" "$(revoked_flag "${SERIALS[1]}")" -eq 1 || ok=1
    check_num "the third, the device's, is not" "$(revoked_flag "${SERIALS[2]}")" -eq 0 || ok=1
    check "the CRL lists the first" crl_lists "${SERIALS[0]}" || ok=1
    check "... and the second" crl_lists "${SERIALS[1]}" || ok=1
    check_not "... not the third" crl_lists "${SERIALS[2]}" || ok=1
    check "no renewal copy is kept any more" test -z "$(ls -A "$ET_TMP/enrolled.renewals")" ||
        ok=1
    check "the router closes the first certificate's session (c2)" et_wait_for -d router \
        et_log_has router "session closed: $ADDR from [fd00:101::2]" || ok=1
    check "... because it is revoked" grep -q -F "session closed: $ADDR from [fd00:101::2]" \
        <(grep -F "certificate revoked" "$(et_daemon_log router)") || ok=1
    check "c2 reconnects and is refused: revoked" et_wait_for -d c2 \
        log_count_above c2 "certificate revoked" 0 || ok=1
    check_not "c2 no longer reaches the router" ping_once c2 || ok=1
    make_csr thief
    jq -n --rawfile csr "$ET_TMP/thief.csr" '{csr: $csr}' >"$ET_TMP/thief.req"
    code="$(api c2 fd00:101::1 /v1/renew "$ET_TMP/thief.req" "$ET_TMP/thief.json" \
        --cert "$ET_TMP/first.pem" --key "$ET_TMP/first.key")"
    check_num "/v1/renew with the first certificate: 403" "$code" -eq 403 || ok=1
    check "... certificate is revoked" grep -q -F '"certificate is revoked"' "$ET_TMP/thief.json" ||
        ok=1
    printf '{}' >"$ET_TMP/empty.json"
    code="$(api c2 fd00:101::1 /v1/confirm "$ET_TMP/empty.json" "$ET_TMP/confirm.json" \
        --cert "$ET_TMP/first.pem" --key "$ET_TMP/first.key")"
    check_num "/v1/confirm with the first certificate: 403" "$code" -eq 403 || ok=1
    code="$(api c2 fd00:101::1 /v1/confirm "$ET_TMP/empty.json" "$ET_TMP/confirm.json")"
    check_num "/v1/confirm without a client certificate: 401" "$code" -eq 401 || ok=1
    et_daemon_stop c2
    return "$ok"
}

step_c() {
    local ok=0 reloads ups closed
    check "c1 comes up with the third certificate" hub_start_client c1 || return 1
    check "c1 pings the router" et_wait_for ping_once c1 || return 1
    reloads="$(et_log_count c1 "identity reloaded")"
    ups="$(et_log_count router "session up: $ADDR")"
    check "keygen --renew stops before its confirm" renew_paused || return 1
    SERIALS+=("$(cert_serial "$DEV/device.pem")")
    check "enftun reloads the fourth certificate" et_wait_for -d c1 \
        log_count_above c1 "identity reloaded" "$reloads" || ok=1
    check "... and reconnects with it" et_wait_for -d router \
        log_count_above router "session up: $ADDR" "$ups" || ok=1
    check "c1 pings the router" et_wait_for ping_once c1 || ok=1
    closed="$(et_log_count router "session closed: $ADDR")"
    kill -CONT "$(et_daemon_pid keygen)"
    check "keygen goes on and exits" et_wait_for_exit keygen || ok=1
    et_daemon_reap keygen
    check_num "... 0" "$ET_LAST_STATUS" -eq 0 || ok=1
    check "... having confirmed" et_log_has keygen "retired: 1 older certificate(s) of $ADDR" ||
        ok=1
    check "the router loads the CRL with the third certificate" et_wait_for -d router \
        crl_loaded 3 || ok=1
    check "the CRL lists the third" crl_lists "${SERIALS[2]}" || ok=1
    check "c1 keeps pinging" pings_answered c1 5 || ok=1
    check_num "c1's session was not closed" "$(et_log_count router "session closed: $ADDR")" \
        -eq "$closed" || ok=1
    check_num "c1 was never refused" "$(et_log_count c1 "certificate revoked")" -eq 0 || ok=1
    return "$ok"
}

# ---------------------------------------------------------------- runner

main() {
    local -a steps=(
        "a|renewal with its confirm lost: enftun reloads; the old certificate still connects|step_a|"
        "b|the next renewal retires both older ones: the old session closed, refused after|step_b|a"
        "c|renewal with enftun running: the reloaded tunnel stays up as the CRL grows|step_c|b"
    )
    et_init
    et_require_bins enftun enftun-router enftun-enroll enftun-keygen
    command -v jq >/dev/null || et_skip "jq not installed (scripts/install-deps)"
    echo "enroll_retire_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    if setup; then
        run_steps "${steps[@]}"
    else
        echo "setup failed (logs below)"
        fail_steps "setup failed" "${steps[@]}"
    fi
    et_summary enroll_retire_test
}

main "$@"
