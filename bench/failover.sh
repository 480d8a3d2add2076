#!/usr/bin/env bash
# failover.sh: how long a device is cut off when its uplink fails (a
# benchmark, not a test).
#
#   sudo bench/failover.sh          (ENFTUN_BIN_DIR=DIR to use a given build,
#                                    BENCH_RUNS=N runs, default 5)
#
# Topology: test/netns/resilience_lib.sh, a device d with two uplinks (eth0
# preferred, wlan0) to the router namespace r. A ping runs through the tunnel
# every 10 ms (ping -D stamps each reply). One run: take eth0 down, and
# measure from that moment to the first reply after the outage (the first
# ping answered over wlan0: the first reply after the last gap in the
# sequence numbers, once 20 more have followed). Then eth0 is restored and
# the tunnel moves back before the next run. The heartbeat period is 10 minutes, so
# what is measured is the netlink path: event, coalescing window (150 ms),
# route probe, TCP + TLS handshake, the router's first answer.
# Prints every run and the median, min and max. Bounded: every wait has a
# deadline, the pinger a `timeout`; everything is removed on exit.
set -e -o pipefail
export LC_ALL=C

BENCH_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../test/netns/lib.sh
source "$BENCH_HERE/../test/netns/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../test/netns/resilience_lib.sh
source "$BENCH_HERE/../test/netns/resilience_lib.sh"
# shellcheck source=lib/common.sh
source "$BENCH_HERE/lib/common.sh"
# shellcheck source=lib/ping_gap.sh
source "$BENCH_HERE/lib/ping_gap.sh"

readonly RUNS="${BENCH_RUNS:-5}"
readonly PING_LOG_PREFIX=pinger

# one_run N: sets RUN_MS to the failover time in ms. (Not for $(...): it
# starts and reaps a daemon, which only this shell can do.)
RUN_MS=""
one_run() {
    local n="$1" name="$PING_LOG_PREFIX$1" log t0
    # Let what came before settle: enftun paces event-driven reconnects to
    # one per second (client.hpp, kRouteRetryIntervalMs) and a coalescing
    # window opened by earlier changes could still be running. Without this
    # room a run would measure the pacing or a shortened window.
    sleep 1.5
    et_daemon_start "$name" d timeout 60 ping -6 -n -D -i 0.01 -W 1 "$RS_ROUTER_ADDR"
    log="$(et_daemon_log "$name")"
    et_wait_for -d "$name" grep -q "icmp_seq=" "$log"
    t0="$(date +%s.%N)"
    et_exec d ip link set eth0 down
    et_wait_for -d c1 rs_tunnel_src_is "$RS_WLAN_LOCAL" ||
        et_die "run $n: the tunnel did not move to wlan0"
    et_wait_for -d "$name" gap_settled "$log" "$t0" ||
        et_die "run $n: no steady answers through the tunnel after the failover"
    RUN_MS="$(gap_ms "$log" "$t0")"
    et_daemon_stop "$name" 2
    # Back to the preferred uplink for the next run.
    rs_uplink_restore eth0 "$RS_ETH_LOCAL" "$RS_ETH_GW" 100
    et_wait_for -d c1 rs_tunnel_src_is "$RS_ETH_LOCAL"
    et_wait_for -d c1 rs_ping_tunnel
}

main() {
    local i
    local -a results=()
    [[ $RUNS =~ ^[1-9][0-9]?$ ]] || et_die "BENCH_RUNS must be 1..99"
    et_init
    bench_build
    rs_make_topology
    rs_make_pki
    rs_write_router_conf
    rs_write_client_conf c1 heartbeat_period=600000 heartbeat_timeout=15000
    rs_start_router
    rs_start_client c1
    et_wait_for -d c1 -d router rs_ping_tunnel
    et_wait_for -d c1 rs_tunnel_src_is "$RS_ETH_LOCAL"
    for ((i = 1; i <= RUNS; i++)); do
        one_run "$i"
        et_log "run $i: ${RUN_MS} ms"
        results+=("$RUN_MS")
    done
    printf '\nenftun failover: uplink down -> first ping answered through the tunnel\n'
    printf '(two veth uplinks, heartbeat out of play, kernel %s, %d runs)\n' "$(uname -r)" "$RUNS"
    printf '%s\n' "${results[@]}" | sort -n | awk '
        { v[NR] = $1 }
        END {
            med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%-10s %10.1f ms\n%-10s %10.1f ms\n%-10s %10.1f ms\n",
                   "median", med, "min", v[1], "max", v[NR]
        }'
    printf 'runs (ms): %s\n' "${results[*]}"
    grep -F ": reconnecting:" "$(et_daemon_log c1)" | tail -n 1 | cut -c1-160 >&2 || true
}

main "$@"
