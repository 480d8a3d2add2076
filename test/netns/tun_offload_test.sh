#!/usr/bin/env bash
# tun_offload_test.sh: a TUN opened without offloads (tun.offload = false,
# router.tun.offload = false) behind a version-2 link: the super-packets its
# peer sends are split in user space before they are written (CTest:
# netns.tun_offload_test; exit 77 = skipped).
#
# Topology (hub_lib.sh): r runs enftun-router with the gateway TUN enfr0
# (fd00:f::1); c1 (fd00:e::5) and c2 (fd00:e::6) run enftun, all version 2.
# Every transfer is iperf3 -n 20M over IPv6 TCP (bounded by a timeout).
# nftables in c1 and r count the packets longer than the MTU that their
# kernels take in from the TUN: a TUN without offload takes none.
#
#   a. c1 with tun.offload = false, router and c2 with offloads: the status
#      of each says so (c1 "none"); router TUN -> c1, c1 -> router TUN and
#      c2 -> c1 (through the router) complete; c1's status counts
#      super-packets split in user space (the router and c2 sent them
#      whole: the split really ran); nothing longer than the MTU reached
#      c1's kernel; c1's TUN hands c1 no super-packet (the kernel segments
#      first); no checksum errors (nstat) in c1, c2 or r.
#   b. the router with router.tun.offload = false, c2 with offloads: its
#      status says "none"; c2 -> router TUN and back complete; the router
#      counts super-packets split before its TUN; nothing longer than the
#      MTU reached r's kernel; no checksum errors in r or c2.
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
readonly MTU=1500 TABLE=enftun_tun_offload
readonly C1_ADDR=fd00:e::5 C2_ADDR=fd00:e::6 GW_ADDR=fd00:f::1
PKI=""

# --------------------------------------------------------------- set-up

# write_confs ROUTER_OFFLOAD C1_OFFLOAD: true or false.
write_confs() {
    write_router_conf "$ET_TMP/router.conf" listen=fd00:100::1,fd00:101::1,fd00:102::1 \
        address=fd00:e::1 cert="$PKI/router.pem" key="$PKI/router.key" ca="$PKI/ca.pem" \
        tun_dev=enfr0 tun_address="$GW_ADDR" tun_routes=fd00:e::/64 mtu="$MTU" protocol=2
    local -a common=("ca=$PKI/ca.pem" "prefixes=fd00:e::/64,fd00:f::/64" "mtu=$MTU"
        protocol=2 reconnect_max_delay=1000)
    write_client_conf "$ET_TMP/c1.conf" "${common[@]}" hosts=fd00:100::1 \
        cert="$PKI/c1.pem" key="$PKI/c1.key"
    write_client_conf "$ET_TMP/c2.conf" "${common[@]}" hosts=fd00:101::1 \
        cert="$PKI/c2.pem" key="$PKI/c2.key"
    # The key under test, into the groups lib.sh wrote.
    sed -i "s/^  tun : {\$/&\n    offload = $1;/" "$ET_TMP/router.conf"
    sed -i "s/^tun : {\$/&\n  offload = $2;/" "$ET_TMP/c1.conf"
    grep -q "offload = $1;" "$ET_TMP/router.conf" && grep -q "offload = $2;" "$ET_TMP/c1.conf"
}

# client_status NAME JQ-FILTER / router_status JQ-FILTER: one status field.
client_status() {
    "$ET_BIN_DIR/enftun" status -c "$ET_TMP/$1.conf" --json | jq -r "$2"
}

router_status() {
    "$ET_BIN_DIR/enftun-router" status -c "$ET_TMP/router.conf" --json | jq -r "$1"
}

# tun_tx_avg NS DEV: average size of what the kernel queued to the daemon.
tun_tx_avg() {
    ip -n "$(et_ns "$1")" -s link show dev "$2" |
        awk '$1 == "TX:" { getline; if ($2 > 0) print int($1 / $2); else print 0 }'
}

# ------------------------------------------------------------------ steps

step_a() {
    local ok=0 split0 split1 split2
    check "c1's status: tun offload none" test "$(client_status c1 .tun.offload)" = none || ok=1
    check "c2's status: tun offload tso" \
        test "$(client_status c2 .tun.offload | cut -d+ -f1)" = tso || ok=1
    check "the router's status: TUN offload tso" \
        test "$(router_status .tun_offload | cut -d+ -f1)" = tso || ok=1
    split0="$(client_status c1 .tun.gso_rx_split)"
    check "router TUN -> c1 (20 MB)" tl_iperf c1 "$GW_ADDR" -R || ok=1
    split1="$(client_status c1 .tun.gso_rx_split)"
    check_num "c1 split the router's super-packets in user space" "$split1" -gt "$split0" || ok=1
    check "c1 -> router TUN (20 MB)" tl_iperf c1 "$GW_ADDR" || ok=1
    check "c2 -> c1 through the router (20 MB)" tl_iperf c2 "$C1_ADDR" || ok=1
    split2="$(client_status c1 .tun.gso_rx_split)"
    check_num "c1 split c2's super-packets in user space" "$split2" -gt "$split1" || ok=1
    check_num "c1 wrote none of them whole" "$(client_status c1 .tun.gso_rx_whole)" -eq 0 || ok=1
    check_num "nothing longer than the MTU reached c1's kernel" "$(tl_big c1)" -eq 0 || ok=1
    check_num "c1's TUN handed c1 no super-packet (average bytes)" \
        "$(tun_tx_avg c1 enf0)" -le "$MTU" || ok=1
    local ns
    for ns in c1 c2 r; do
        check "no checksum errors in $ns" tl_no_csum_errors "$ns" || ok=1
    done
    return "$ok"
}

step_b() {
    local ok=0 ups split0
    ups="$(et_log_count router "session up: $C2_ADDR ")"
    et_daemon_stop router
    write_confs false true
    hub_start_router
    check "c2 reconnected" \
        et_wait_for -t 30 -d router log_count_above router "session up: $C2_ADDR " "$ups" || ok=1
    tl_load_counters r enfr0
    et_wait_for -d c2 et_exec c2 ping -6 -n -c 1 -W 1 "$GW_ADDR" >/dev/null || ok=1
    check "the router's status: TUN offload none" test "$(router_status .tun_offload)" = none ||
        ok=1
    split0="$(router_status .tun_gso.split)"
    check "c2 -> router TUN (20 MB)" tl_iperf c2 "$GW_ADDR" || ok=1
    check_num "the router split c2's super-packets before its TUN" \
        "$(router_status .tun_gso.split)" -gt "$split0" || ok=1
    check_num "it wrote none of them whole" "$(router_status .tun_gso.whole)" -eq 0 || ok=1
    check "router TUN -> c2 (20 MB)" tl_iperf c2 "$GW_ADDR" -R || ok=1
    check_num "nothing longer than the MTU reached r's kernel" "$(tl_big r)" -eq 0 || ok=1
    local ns
    for ns in r c2; do
        check "no checksum errors in $ns" tl_no_csum_errors "$ns" || ok=1
    done
    return "$ok"
}

main() {
    et_init
    local tool
    for tool in iperf3 nstat jq nft; do
        command -v "$tool" >/dev/null || et_skip "$tool not installed"
    done
    et_require_bins enftun enftun-router
    hub_topology
    PKI="$ET_TMP/pki"
    "$ET_REPO/scripts/gen-test-certs" --router-ip fd00:100::1 --router-ip fd00:101::1 \
        --router-ip fd00:102::1 "$PKI" c1="$C1_ADDR" c2="$C2_ADDR" >/dev/null
    write_confs true false
    hub_start_router
    hub_start_client c1
    hub_start_client c2
    tl_load_counters c1 enf0
    et_daemon_start ip3r r iperf3 -s -B "$GW_ADDR"
    et_daemon_start ip3c1 c1 iperf3 -s -B "$C1_ADDR"
    et_daemon_start ip3c2 c2 iperf3 -s -B "$C2_ADDR"
    et_wait_for -d ip3r tl_iperf_listening r "$GW_ADDR"
    et_wait_for -d ip3c1 tl_iperf_listening c1 "$C1_ADDR"
    et_wait_for -d ip3c2 tl_iperf_listening c2 "$C2_ADDR"
    run_step a "client without TUN offload, router and client with" step_a
    run_step b "router TUN without offload, client with" step_b
    et_summary tun_offload_test
}

main "$@"
