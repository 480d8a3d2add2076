#!/usr/bin/env bash
# protocol_v2_test.sh: wire protocol version 2 (PROTOCOL.md), TCP
# super-packets across the tunnel, and its interop with version 1 (CTest:
# netns.protocol_v2_test; exit 77 = skipped).
#
# Topology (hub_lib.sh): r runs enftun-router with the gateway TUN enfr0
# (fd00:f::1); c1 (fd00:e::5) and c2 (fd00:e::6) run enftun; x is a raw
# TLS peer (openssl s_client -alpn enftun/2, the impostor's certificate,
# fd00:e::8). Every transfer is iperf3 -n 20M (bounded by a timeout).
# nftables in c1, c2 and r count what their kernels receive on the TUN in
# packets longer than the MTU: only a super-packet written whole can be.
#
#   a. v2 <-> v2: both sessions say enftun/2; c1 -> router TUN, router TUN ->
#      c1, c1 -> c2, c2 -> c1 complete; c1, c2 and r's TUNs received
#      super-packets (> MTU); no kernel counts a checksum error (nstat).
#   b. malformed version-2 frames from x (lying GSO metadata: segment size
#      0, a header length that disagrees; an over-long frame): each closes
#      x's session as a protocol error, counted; c1's session stays up and
#      still carries traffic.
#   c. v2 router, v1 client (c2 with remote.protocol = 1): no enftun/2 on
#      c2's session; c1 -> c2 and router TUN -> c2 complete, split by the
#      router: nothing longer than the MTU reaches c2's TUN; no checksum errors.
#   d. v1 router (router.protocol = 1), v2 client c1: no enftun/2; c1 ->
#      router TUN and back complete; nothing longer than the MTU reaches
#      c1's TUN or the router's; no checksum errors.
set -e -o pipefail
export LC_ALL=C

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=hub_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/hub_lib.sh"
# shellcheck source-path=SCRIPTDIR source=transfer_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/transfer_lib.sh"

# shellcheck disable=SC2034 # read by lib.sh
ET_WAIT_TIMEOUT=20
readonly MTU=1500 TABLE=enftun_v2
readonly C1_ADDR=fd00:e::5 C2_ADDR=fd00:e::6 X_ADDR=fd00:e::8 GW_ADDR=fd00:f::1
PKI=""

# --------------------------------------------------------------- set-up

write_confs() {
    local router_protocol="$1" c2_protocol="$2"
    write_router_conf "$ET_TMP/router.conf" listen=fd00:100::1,fd00:101::1,fd00:102::1 \
        address=fd00:e::1 cert="$PKI/router.pem" key="$PKI/router.key" ca="$PKI/ca.pem" \
        tun_dev=enfr0 tun_address="$GW_ADDR" tun_routes=fd00:e::/64 mtu="$MTU" \
        protocol="$router_protocol"
    local -a common=("ca=$PKI/ca.pem" "prefixes=fd00:e::/64,fd00:f::/64" "mtu=$MTU")
    write_client_conf "$ET_TMP/c1.conf" "${common[@]}" hosts=fd00:100::1 \
        cert="$PKI/c1.pem" key="$PKI/c1.key" protocol=2 reconnect_max_delay=1000
    write_client_conf "$ET_TMP/c2.conf" "${common[@]}" hosts=fd00:101::1 \
        cert="$PKI/c2.pem" key="$PKI/c2.key" protocol="$c2_protocol"
}

link_gone() {
    ! et_link_exists "$1" "$2"
}

log_count_above() {
    (($(et_log_count "$1" "$2") > $3))
}

# session_line NAME ADDR: the router's last "session up" line for ADDR.
session_line() {
    grep -F "session up: $2 " "$(et_daemon_log "$1")" | tail -n 1
}

speaks_v2() {
    [[ $(session_line router "$1") == *"enftun/2"* ]]
}

speaks_v1() {
    local line
    line="$(session_line router "$1")"
    [[ -n $line && $line != *"enftun/2"* ]]
}

# ------------------------------------------------------------------ steps

step_a() {
    echo "a. v2 <-> v2"
    tally "c1's session is version 2" speaks_v2 "$C1_ADDR"
    tally "c2's session is version 2" speaks_v2 "$C2_ADDR"
    tally "c1 -> router TUN (20 MB)" tl_iperf c1 "$GW_ADDR"
    tally "router TUN -> c1 (20 MB)" tl_iperf c1 "$GW_ADDR" -R
    tally "c1 -> c2 (20 MB)" tl_iperf c1 "$C2_ADDR"
    tally "c2 -> c1 (20 MB)" tl_iperf c1 "$C2_ADDR" -R
    echo "    TUN packets > MTU: c1 $(tl_big c1) c2 $(tl_big c2) r $(tl_big r)"
    tally "super-packets reached c1's kernel whole" test "$(tl_big c1)" -gt 0
    tally "super-packets reached c2's kernel whole" test "$(tl_big c2)" -gt 0
    tally "super-packets reached the router's kernel whole" test "$(tl_big r)" -gt 0
    local ns
    for ns in c1 c2 r; do
        tally "no checksum errors in $ns" tl_no_csum_errors "$ns"
    done
}

# A TCP/IPv6 super-packet x -> c1 (60 + 3000 bytes) in a GSO frame, with
# metadata fields overridden by the arguments: gso_size hdr_len.
gso_frame() {
    python3 "$ET_REPO/test/netns/tools/v2_frames.py" --src "$X_ADDR" --dst "$C1_ADDR" \
        --payload 3000 --gso-size "$1" --hdr-len "$2"
}

# malformed NAME FILE REASON: x sends FILE after the handshake; the router
# must close that session with a protocol error and count it.
malformed() {
    local name="$1" file="$2" reason="$3" ups closed errors
    ups="$(et_log_count router "session up: $X_ADDR ")"
    closed="$(et_log_count router "session closed: $X_ADDR ")"
    errors="$(et_daemon_stat router protocol-errors)"
    ET_STDIN="$file" et_daemon_start "$name" x timeout 60 openssl s_client -quiet -nocommands \
        -alpn enftun/2 -connect "[fd00:102::1]:4443" -CAfile "$PKI/ca.pem" \
        -verify_return_error -cert "$PKI/impostor.pem" -key "$PKI/impostor.key"
    tally "$reason: x's session came up as version 2" \
        et_wait_for -d router log_count_above router "session up: $X_ADDR " "$ups"
    tally "$reason: the router closed x's session" \
        et_wait_for -d router log_count_above router "session closed: $X_ADDR " "$closed"
    tally "$reason: logged as a protocol error" et_log_has router "$reason"
    tally "$reason: counted" test "$(et_daemon_stat router protocol-errors)" -eq "$((errors + 1))"
    et_daemon_stop "$name"
}

step_b() {
    echo "b. malformed version-2 frames close only that session"
    local c1_ups
    c1_ups="$(et_log_count router "session up: $C1_ADDR ")"
    gso_frame 0 60 >"$ET_TMP/zero_mss.bin"
    malformed bad1 "$ET_TMP/zero_mss.bin" "GSO segment size out of range"
    gso_frame 1440 72 >"$ET_TMP/hdr_len.bin"
    malformed bad2 "$ET_TMP/hdr_len.bin" "GSO header length disagrees with the headers"
    printf '\001\377\377\377' >"$ET_TMP/long.bin"
    malformed bad3 "$ET_TMP/long.bin" "frame longer than maximum"
    tally "router still running" et_daemon_running router
    tally "c1's session was never replaced" \
        test "$(et_log_count router "session up: $C1_ADDR ")" -eq "$c1_ups"
    tally "c1 still carries traffic (c1 -> c2, 20 MB)" tl_iperf c1 "$C2_ADDR"
}

step_c() {
    echo "c. v2 router, v1 client (remote.protocol = 1)"
    et_daemon_stop c2
    et_wait_for -t 10 link_gone c2 enf0 || true
    write_confs 2 1
    hub_start_client c2
    tl_load_counters c2 enf0
    et_daemon_start ip3c2 c2 iperf3 -s -B "$C2_ADDR"
    et_wait_for -d ip3c2 tl_iperf_listening c2 "$C2_ADDR"
    tally "c2's session is version 1" speaks_v1 "$C2_ADDR"
    tally "c1 -> c2 (20 MB)" tl_iperf c1 "$C2_ADDR"
    tally "c2 -> c1 (20 MB)" tl_iperf c1 "$C2_ADDR" -R
    tally "router TUN -> c2 (20 MB)" tl_iperf r "$C2_ADDR"
    echo "    c2 TUN packets > MTU: $(tl_big c2)"
    tally "nothing longer than the MTU reached c2's TUN" test "$(tl_big c2)" -eq 0
    tally "no checksum errors in c2" tl_no_csum_errors c2
    tally "no checksum errors in c1" tl_no_csum_errors c1
}

step_d() {
    echo "d. v1 router (router.protocol = 1), v2 client"
    local ups
    ups="$(et_log_count router "session up: $C1_ADDR ")"
    et_daemon_stop router
    write_confs 1 1
    hub_start_router
    tally "c1 reconnected" \
        et_wait_for -t 30 -d router log_count_above router "session up: $C1_ADDR " "$ups"
    tally "c1's session is version 1" speaks_v1 "$C1_ADDR"
    tl_load_counters c1 enf0
    tl_load_counters r enfr0
    et_wait_for -d c1 et_exec c1 ping -6 -n -c 1 -W 1 "$GW_ADDR" >/dev/null
    tally "c1 -> router TUN (20 MB)" tl_iperf c1 "$GW_ADDR"
    tally "router TUN -> c1 (20 MB)" tl_iperf c1 "$GW_ADDR" -R
    echo "    TUN packets > MTU: c1 $(tl_big c1) r $(tl_big r)"
    tally "nothing longer than the MTU reached c1's TUN" test "$(tl_big c1)" -eq 0
    tally "nothing longer than the MTU reached the router's TUN" test "$(tl_big r)" -eq 0
    tally "no checksum errors in c1" tl_no_csum_errors c1
    tally "no checksum errors in r" tl_no_csum_errors r
}

main() {
    et_init
    command -v iperf3 >/dev/null || et_skip "iperf3 not installed"
    command -v nstat >/dev/null || et_skip "nstat not installed"
    command -v python3 >/dev/null || et_skip "python3 not installed"
    et_require_bins enftun enftun-router
    hub_topology
    PKI="$ET_TMP/pki"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 --router-ip fd00:101::1 \
        --router-ip fd00:102::1 "$PKI" c1="$C1_ADDR" c2="$C2_ADDR" impostor="$X_ADDR" >/dev/null
    write_confs 2 2
    hub_start_router
    hub_start_client c1
    hub_start_client c2
    tl_load_counters c1 enf0
    tl_load_counters c2 enf0
    tl_load_counters r enfr0
    et_daemon_start ip3r r iperf3 -s -B "$GW_ADDR"
    et_daemon_start ip3c2 c2 iperf3 -s -B "$C2_ADDR"
    et_wait_for -d ip3r tl_iperf_listening r "$GW_ADDR"
    et_wait_for -d ip3c2 tl_iperf_listening c2 "$C2_ADDR"
    step_a
    step_b
    et_daemon_stop ip3c2
    step_c
    step_d
    et_check_summary protocol_v2_test
}

main "$@"
