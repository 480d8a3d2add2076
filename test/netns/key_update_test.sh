#!/usr/bin/env bash
# key_update_test.sh: TLS 1.3 KeyUpdates from a peer of another make
# (CTest: netns.key_update_test; exit 77 = skipped). The router renews its
# own keys every 2^22 records (PROTOCOL.md "Key renewal"); a peer may renew
# its own at any time, and may ask the router to renew its own as well. x
# holds a valid certificate (fd00:e::7) and speaks version 1 through
# `openssl s_client`, whose "k" and "K" input lines send a KeyUpdate
# (update_not_requested, update_requested) instead of data.
#
#   a. x sends a KeyUpdate, then an echo request for the router's address:
#      the router counts the KeyUpdate (status: tls_key_updates_received 1)
#      and answers the echo under x's new key; it sent none of its own.
#   b. x sends a KeyUpdate that asks for one back, then an echo request: the
#      router's answer carries its own KeyUpdate first (s_client's message
#      trace shows it received; the router counts 1 sent), and the echo
#      reply under the router's new key reaches x; the session stays up,
#      with no TLS error in the router's log.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=hub_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hub_lib.sh"

# shellcheck disable=SC2034 # read by lib.sh
ET_WAIT_TIMEOUT=20
readonly R_ADDR=fd00:e::1 X_ADDR=fd00:e::7
PKI=""
X_IN="" # the FIFO s_client reads its input from
X_FD="" # our end of it, held open: s_client ends at end of input

# session_field FIELD: FIELD of x's session in the router's status.
session_field() {
    "$ET_BIN_DIR/enftun-router" status -c "$ET_TMP/router.conf" --json |
        python3 -c 'import json, sys
s = [s for s in json.load(sys.stdin)["session_list"] if s["address"] == sys.argv[1]]
print(s[0][sys.argv[2]] if s else "none")' "$X_ADDR" "$1"
}

# field_is FIELD VALUE
field_is() {
    [[ $(session_field "$1") == "$2" ]]
}

# replies N: x received N echo replies at least (their payload, "enftun!!").
replies() {
    (($(grep -a -o -F "enftun!!" "$ET_TMP/x.out" | wc -l) >= $1))
}

# key_update LETTER: s_client sends a KeyUpdate ("k", or "K" asking for one
# back); waits until it says so, so that the next input is a read of its own.
key_update() {
    local before
    before="$(et_log_count x KEYUPDATE)"
    printf '%s\n' "$1" >&"$X_FD"
    et_wait_for -d x log_count_above x KEYUPDATE "$before"
}

# echo_request SEQ: one version-1 frame, an echo request to the router.
echo_request() {
    et_hex_to_file "$(et_frame_hex "$(et_icmp6_echo_hex "$X_ADDR" "$R_ADDR" "$1")")" \
        "$ET_TMP/echo$1.bin"
    cat "$ET_TMP/echo$1.bin" >&"$X_FD"
}

start_x() {
    X_IN="$ET_TMP/x.in"
    mkfifo "$X_IN"
    # shellcheck disable=SC2016 # expanded by the inner bash
    ET_STDIN="$X_IN" et_daemon_start x x bash -c 'exec "$@" >"$0"' "$ET_TMP/x.out" \
        openssl s_client -connect "[fd00:102::1]:4443" -CAfile "$PKI/ca.pem" \
        -verify_return_error -cert "$PKI/x.pem" -key "$PKI/x.key" \
        -msg -msgfile "$ET_TMP/x.msg"
    exec {X_FD}>"$X_IN"
    et_wait_for -d x -d router et_log_has router "session up: $X_ADDR "
}

step_a() {
    local ok=0
    key_update k
    echo_request 1
    check "the echo reply reached x" et_wait_for -d x replies 1 || ok=1
    check "the router received x's KeyUpdate" et_wait_for -d router \
        field_is tls_key_updates_received 1 || ok=1
    check_num "the router sent none" "$(session_field tls_key_updates_sent)" -eq 0 || ok=1
    return "$ok"
}

step_b() {
    local ok=0
    key_update K
    echo_request 2
    check "the echo reply reached x" et_wait_for -d x replies 2 || ok=1
    check "the router received x's second KeyUpdate" et_wait_for -d router \
        field_is tls_key_updates_received 2 || ok=1
    check "the router sent one back" field_is tls_key_updates_sent 1 || ok=1
    check "x received it (s_client's trace)" \
        grep -q -F "<<< TLS 1.3, Handshake [length 0005], KeyUpdate" "$ET_TMP/x.msg" || ok=1
    check "x's session is still up" field_is tls_version TLSv1.3 || ok=1
    check_not "no TLS error in the router's log" et_log_has router "TLS read failed" || ok=1
    return "$ok"
}

main() {
    local -a steps=(
        "a|the peer renews its key: counted, data goes on|step_a|"
        "b|the peer asks for a renewal: the router's KeyUpdate, data goes on|step_b|a"
    )
    et_init
    echo "key_update_test: binaries from $ET_BIN_DIR, work dir $ET_TMP"
    et_require_bins enftun-router
    hub_topology
    PKI="$ET_TMP/pki"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:102::1 "$PKI" x="$X_ADDR" >/dev/null
    write_router_conf "$ET_TMP/router.conf" listen=fd00:100::1,fd00:101::1,fd00:102::1 \
        address="$R_ADDR" cert="$PKI/router.pem" key="$PKI/router.key" ca="$PKI/ca.pem" \
        tun_dev=
    if hub_start_router && start_x; then
        run_steps "${steps[@]}"
    else
        echo "setup failed: the router or x did not come up (logs below)"
        fail_steps "${steps[@]}"
    fi
    [[ -z $X_FD ]] || exec {X_FD}>&-
    et_summary key_update_test
}

main "$@"
