#!/usr/bin/env bash
# clock_test.sh: a client whose clock is far behind (a device booted without
# a battery-backed clock) still brings its tunnel up when the router's
# certificate began no later than its own, and says why it cannot when the
# router's is newer (README "The clock", tls/clock_floor.hpp; CTest:
# netns.clock_test). The clock is moved for the client alone with
# libfaketime (FAKETIME=-400d; the monotonic clocks, which the loop's timers
# use, left alone). Skipped for ASan builds: the ASan runtime must come
# first among the libraries, and LD_PRELOAD puts libfaketime before it.
#
# Topology: c (client) ── veth ── r (router fd00:100::1). Certificates of
# one CA: the router's "old" one and the client's from the first run of
# gen-test-certs, the router's "new" one from a second run 2 s later.
#   a. the client's clock 400 days behind, the router's certificate older
#      than the client's: checked as at the client certificate's start, the
#      tunnel comes up; the warning names the clock (without the floor:
#      "certificate is not yet valid", no tunnel);
#   b. the router's certificate newer than the client's: refused, and the
#      reason gives its validity, the clock and the time it was checked at;
#   c. the same router certificate and a right clock: the tunnel comes up
#      (b's refusal is the clock's).
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ET_WAIT_TIMEOUT=30
readonly C_ADDR=fd00:e::5
readonly FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
PKI=""

setup() {
    et_router_client_pair
    PKI="$ET_TMP/pki"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 "$PKI" c1=$C_ADDR >/dev/null
    mv "$PKI/router.pem" "$PKI/old-router.pem"
    mv "$PKI/router.key" "$PKI/old-router.key"
    # A router certificate that begins after the client's (whole seconds).
    sleep 2
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 "$PKI" >/dev/null
    write_client_conf "$ET_TMP/c1.conf" ca="$PKI/ca.pem" cert="$PKI/c1.pem" \
        key="$PKI/c1.key" connect_timeout=2000 reconnect_max_delay=1000
}

# start_router STEM: the router with PKI/STEM.pem.
start_router() {
    write_router_conf "$ET_TMP/router.conf" cert="$PKI/$1.pem" key="$PKI/$1.key" \
        ca="$PKI/ca.pem" tun_dev=""
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
}

# start_client NAME [behind]: the client, its clock 400 days behind with "behind".
start_client() {
    local -a env=()
    [[ ${2:-} != behind ]] ||
        env=(env LD_PRELOAD="$FAKETIME_LIB" FAKETIME=-400d FAKETIME_DONT_FAKE_MONOTONIC=1)
    et_daemon_start "$1" c "${env[@]}" "$ET_BIN_DIR/enftun" -c "$ET_TMP/c1.conf"
}

step_a() {
    local ok=0
    start_router old-router
    start_client behind behind
    check "the tunnel comes up" et_wait_for -d behind -d router et_log_has behind "tunnel up:" ||
        ok=1
    check "the warning names the clock" et_log_has behind \
        "before its own certificate's start" || ok=1
    check_not "nothing refused for its validity" et_log_has behind "not yet valid" || ok=1
    grep -m 1 -F "the clock is wrong" "$(et_daemon_log behind)" | sed 's/^/  info: /' || true
    et_daemon_stop behind
    et_daemon_stop router
    return "$ok"
}

step_b() {
    local ok=0
    start_router router
    start_client behind2 behind
    check "the router certificate is refused: not yet valid" et_wait_for -d behind2 -d router \
        et_log_has behind2 "certificate is not yet valid: valid from " || ok=1
    check "... the reason names the clock" et_log_has behind2 \
        "; this machine's clock says " || ok=1
    check "... and that it was checked as at our certificate's start" et_log_has behind2 \
        ", before its own certificate's start: checked as at " || ok=1
    check_not "no tunnel" et_log_has behind2 "tunnel up:" || ok=1
    grep -m 1 -F "not yet valid" "$(et_daemon_log behind2)" | sed 's/^/  info: /' || true
    et_daemon_stop behind2
    return "$ok"
}

step_c() {
    local ok=0
    start_client right
    check "with a right clock the tunnel comes up" \
        et_wait_for -d right -d router et_log_has right "tunnel up:" || ok=1
    et_daemon_stop right
    et_daemon_stop router
    return "$ok"
}

main() {
    et_init
    et_require_bins enftun enftun-router
    [[ -e $FAKETIME_LIB ]] || et_skip "libfaketime not installed"
    ! et_sanitized || et_skip "ASan build: LD_PRELOAD of libfaketime would come before ASan"
    command -v openssl >/dev/null || et_skip "openssl not installed"
    setup
    run_steps \
        "a|a clock 400 days behind, the router's certificate older than ours: up|step_a" \
        "b|the router's certificate newer than ours: refused, naming the clock|step_b" \
        "c|the same certificate and a right clock: up|step_c|b"
    et_summary clock_test
}

main "$@"
