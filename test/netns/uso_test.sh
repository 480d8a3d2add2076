#!/usr/bin/env bash
# uso_test.sh: UDP super-packets (UDP_SEGMENT, the TUN's USO) across the
# tunnel in protocol version 2, and split for a version-1 peer (CTest:
# netns.uso_test; exit 77 = skipped).
#
# Topology (hub_lib.sh): r runs enftun-router (version 2) with the gateway
# TUN enfr0 (fd00:f::1); c1 (fd00:e::5) runs enftun in version 2, c2
# (fd00:e::6) in version 1 (remote.protocol = 1). A sender
# (tools/udp_gso.py) sends 40 UDP_SEGMENT super-packets of 20 datagrams of
# 1400 bytes; the receiver must get all 800 datagrams intact (content
# checked per datagram). nftables count the UDP packets longer than the
# MTU that each kernel takes in from its TUN: only a UDP super-packet
# written whole can be one.
#
#   a. v2 <-> v2: c1 -> router TUN and router TUN -> c1: all datagrams
#      intact, and the receiving TUN took UDP super-packets whole (fails
#      without USO: the sending kernel then segments before its TUN).
#   b. through a version-1 peer: c1 -> c2 and router TUN -> c2 (the router
#      splits them in user space): all datagrams intact, nothing longer
#      than the MTU reaches c2's TUN.
#   c. no kernel counts a UDP checksum error (nstat).
#   d. a version-2 receiver whose TUN has no USO: c2 restarted in version 2
#      under tools/no_uso.py (seccomp: TUNSETOFFLOAD with the USO bits fails
#      with EINVAL, as on a kernel before 6.2). c2 -> router TUN reaches
#      the router's kernel in MTU-sized packets only (c2's kernel segments:
#      the wrapper works); c1 -> c2 arrives whole at c2's daemon, which
#      splits it in user space: all datagrams intact, nothing longer than
#      the MTU reaches c2's TUN (a daemon that wrote it whole would make
#      this fail: this kernel takes the write), no UDP checksum errors.
#   A receiver with no offload at all (no IFF_VNET_HDR) cannot be made from
#   the test: no kernel here refuses the flag, and seccomp cannot see it
#   (it is inside the ifreq that TUNSETIFF points to).
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
readonly MTU=1500 TABLE=enftun_uso PORT=5301
readonly SENDS=40 SEGS=20 SIZE=1400
readonly C1_ADDR=fd00:e::5 C2_ADDR=fd00:e::6 GW_ADDR=fd00:f::1
TOOL="$(dirname "${BASH_SOURCE[0]}")/tools/udp_gso.py"
TOOL_NO_USO="$(dirname "${BASH_SOURCE[0]}")/tools/no_uso.py"
readonly TOOL TOOL_NO_USO
PKI=""

# transfer SRC_NS DST_NS DST_ADDR: the datagrams SRC_NS -> DST_ADDR all
# arrived intact at the receiver in DST_NS.
transfer() {
    local src="$1" dst="$2" addr="$3" name="rx-$2-$RANDOM"
    et_daemon_start "$name" "$dst" python3 "$TOOL" recv "$addr" "$PORT" \
        "$((SENDS * SEGS))" "$SIZE"
    et_wait_for -d "$name" et_log_has "$name" "ready"
    et_exec "$src" timeout 30 python3 "$TOOL" send "$addr" "$PORT" "$SENDS" "$SEGS" "$SIZE"
    ET_WAIT_TIMEOUT=40 et_wait_for_exit "$name" || true
    et_daemon_stop "$name"
    grep -F "good=" "$(et_daemon_log "$name")" | sed 's/^/    /'
    [[ $ET_LAST_STATUS -eq 0 ]]
}

session_is_v2() {
    grep -F "session up: $1 " "$(et_daemon_log router)" | tail -n 1 | grep -q -F "enftun/2"
}

step_d() {
    echo "d. a version-2 receiver whose TUN has no USO"
    et_daemon_stop c2
    et_wait_for -t 10 link_gone c2 enf0 || true
    write_client_conf "$ET_TMP/c2.conf" "ca=$PKI/ca.pem" "prefixes=fd00:e::/64,fd00:f::/64" \
        "mtu=$MTU" hosts=fd00:101::1 cert="$PKI/c2.pem" key="$PKI/c2.key" protocol=2
    et_daemon_start c2 c2 python3 "$TOOL_NO_USO" "$ET_BIN_DIR/enftun" -c "$ET_TMP/c2.conf"
    et_wait_for -d c2 et_link_up c2 enf0
    et_exec c2 ip -6 route replace fd00:e::/64 dev enf0
    et_exec c2 ip -6 route replace fd00:f::/64 dev enf0
    et_wait_for -d c2 et_log_has c2 "tunnel up"
    tl_load_counters c2 enf0 "meta l4proto udp"
    tl_load_counters r enfr0 "meta l4proto udp"
    tally "c2's session is version 2" session_is_v2 "$C2_ADDR"
    tally "c2 -> router TUN: $((SENDS * SEGS)) datagrams intact" transfer c2 r "$GW_ADDR"
    echo "    UDP packets > MTU from the router's TUN: $(tl_big r)"
    tally "c2's TUN has no USO (its kernel segmented)" test "$(tl_big r)" -eq 0
    tally "c1 -> c2: $((SENDS * SEGS)) datagrams intact" transfer c1 c2 "$C2_ADDR"
    echo "    UDP packets > MTU from c2's TUN: $(tl_big c2)"
    tally "c2 split them: nothing longer than the MTU reached its TUN" test "$(tl_big c2)" -eq 0
    tally "no UDP checksum errors in c2" tl_no_csum_errors c2 UdpInCsumErrors Udp6InCsumErrors
}

link_gone() {
    ! et_link_exists "$1" "$2"
}

main() {
    et_init
    command -v python3 >/dev/null || et_skip "python3 not installed"
    command -v nstat >/dev/null || et_skip "nstat not installed"
    et_require_bins enftun enftun-router
    hub_topology
    PKI="$ET_TMP/pki"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 --router-ip fd00:101::1 \
        --router-ip fd00:102::1 "$PKI" c1="$C1_ADDR" c2="$C2_ADDR" >/dev/null
    write_router_conf "$ET_TMP/router.conf" listen=fd00:100::1,fd00:101::1,fd00:102::1 \
        address=fd00:e::1 cert="$PKI/router.pem" key="$PKI/router.key" ca="$PKI/ca.pem" \
        tun_dev=enfr0 tun_address="$GW_ADDR" tun_routes=fd00:e::/64 mtu="$MTU" protocol=2
    local -a common=("ca=$PKI/ca.pem" "prefixes=fd00:e::/64,fd00:f::/64" "mtu=$MTU")
    write_client_conf "$ET_TMP/c1.conf" "${common[@]}" hosts=fd00:100::1 \
        cert="$PKI/c1.pem" key="$PKI/c1.key" protocol=2
    write_client_conf "$ET_TMP/c2.conf" "${common[@]}" hosts=fd00:101::1 \
        cert="$PKI/c2.pem" key="$PKI/c2.key" protocol=1
    et_daemon_start router r "$ET_BIN_DIR/enftun-router" -c "$ET_TMP/router.conf"
    et_wait_for -d router hub_router_listening
    hub_start_client c1
    hub_start_client c2
    tl_load_counters c1 enf0 "meta l4proto udp"
    tl_load_counters c2 enf0 "meta l4proto udp"
    tl_load_counters r enfr0 "meta l4proto udp"
    tally "c1's session is version 2" session_is_v2 "$C1_ADDR"
    tally "c2's session is version 1" test -n "$(grep -F "session up: $C2_ADDR " \
        "$(et_daemon_log router)" | grep -v -F enftun/2)"

    echo "a. v2 <-> v2"
    tally "c1 -> router TUN: $((SENDS * SEGS)) datagrams intact" transfer c1 r "$GW_ADDR"
    tally "router TUN -> c1: $((SENDS * SEGS)) datagrams intact" transfer r c1 "$C1_ADDR"
    echo "    UDP packets > MTU from the TUN: r $(tl_big r) c1 $(tl_big c1)"
    tally "UDP super-packets reached the router's kernel whole" test "$(tl_big r)" -gt 0
    tally "UDP super-packets reached c1's kernel whole" test "$(tl_big c1)" -gt 0

    echo "b. through a version-1 peer"
    tally "c1 -> c2: $((SENDS * SEGS)) datagrams intact" transfer c1 c2 "$C2_ADDR"
    tally "router TUN -> c2: $((SENDS * SEGS)) datagrams intact" transfer r c2 "$C2_ADDR"
    echo "    UDP packets > MTU from c2's TUN: $(tl_big c2)"
    tally "nothing longer than the MTU reached c2's TUN" test "$(tl_big c2)" -eq 0

    echo "c. checksums"
    local ns
    for ns in r c1 c2; do
        tally "no UDP checksum errors in $ns" tl_no_csum_errors "$ns" UdpInCsumErrors Udp6InCsumErrors
    done
    step_d
    et_check_summary uso_test
}

main "$@"
