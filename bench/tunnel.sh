#!/usr/bin/env bash
# tunnel.sh: a quick benchmark of one enftun tunnel (a benchmark, not a test).
#
#   sudo bench/tunnel.sh            (ENFTUN_BIN_DIR=DIR to use a given build)
#
# Two namespaces joined by a veth pair (MTU 1500, IPv6 ULA, nothing leaves
# the machine); enftun-router in r with its gateway TUN enfr0 (fd00:f::1),
# where an iperf3 server listens; the enftun client in c (fd00:e::5). It
# measures one TCP stream for BENCH_SECONDS (10) s in each direction and the
# RTT of 200 pings, then each daemon's memory (VmRSS, and Pss and private =
# Private_Clean + Private_Dirty from smaps_rollup), and prints a small table.
# bench/compare.sh is the full side-by-side run against OpenVPN and
# wireguard-go.
set -e -o pipefail
export LC_ALL=C

BENCH_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../test/netns/lib.sh
source "$BENCH_HERE/../test/netns/lib.sh"
# shellcheck source=lib/common.sh
source "$BENCH_HERE/lib/common.sh"
# shellcheck source=lib/enftun.sh
source "$BENCH_HERE/lib/enftun.sh"

ET_WAIT_TIMEOUT=20

main() {
    et_init
    "$BENCH_HERE/install-bench-deps" >&2
    bench_require_tools iperf3 jq ping cmake
    bench_build
    bench_topology
    enftun_prepare
    enftun_server_up
    enftun_client_prepare
    enftun_client_start
    et_wait_for -d enftun-client et_exec c ping -6 -n -c 1 -W 1 "$ENFTUN_TARGET"
    et_daemon_start iperf3 r iperf3 -s -B "$ENFTUN_TARGET"
    et_wait_for -d iperf3 bench_listening r "$ENFTUN_TARGET" 5201

    local up down rtt
    up="$(bench_iperf c "$ENFTUN_TARGET")"
    down="$(bench_iperf c "$ENFTUN_TARGET" -R)"
    rtt="$(bench_rtt c "$ENFTUN_TARGET")"
    printf '\nenftun, one TCP stream for %s s over a veth pair (MTU 1500), kernel %s\n' \
        "$BENCH_SECONDS" "$(uname -r)"
    printf '%-32s %12s\n' "measure" "value"
    printf '%-32s %12.1f\n' "client -> router (Mbit/s)" "${up%% *}"
    printf '%-32s %12.1f\n' "router -> client (Mbit/s)" "${down%% *}"
    printf '%-32s %12.3f\n' "ping RTT, average of 200 (ms)" "$rtt"
    local side pid
    for side in client server; do
        pid="$(et_daemon_pid "enftun-$side")"
        printf '%-36s %s / %s / %s\n' "$side VmRSS / Pss / private (KiB)" \
            "$(bench_rss_kib "$pid")" "$(bench_smaps_kib "$pid" Pss)" \
            "$(bench_smaps_kib "$pid" Private_Clean Private_Dirty)"
    done
}

main "$@"
